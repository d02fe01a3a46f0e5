#!/usr/bin/env python3
"""A local emulator of the Copernica REST API v2, for copernica_fdw tests.

Owns: the HTTP server (HTTP/1.1 keep-alive), the request log, fault
injection and the /_control/ endpoints, and the command line. The API
itself is in api.py, the state in store.py, listings in filters.py and the
seeded datasets in datasets.py.

    python3 test/emulator/copernica_emulator.py [--host 127.0.0.1] [--port 0]
        [--port-file PATH] [--token TOKEN] [--dataset demo|empty|generate]
        [--profiles N] [--seed S] [--shape SHAPE] [--load FILE.json] [--save-on-exit FILE.json]
        [--quiet]
"""

import argparse
import gc
import itertools
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import re
from urllib.parse import quote, unquote, unquote_plus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import api as api_mod      # noqa: E402
import datasets            # noqa: E402
import phpish              # noqa: E402
from store import Store, dumps   # noqa: E402

DEFAULT_TOKEN = 'test-token'
LOADBALANCER_HTML = (
    '<html><head><title>Loadbalancer Error</title></head><body>'
    '<h1>Loadbalancer Error</h1><p>The server has too many requests to handle at the moment. '
    'Please try again in a few minutes.</p></body></html>')

# Structure listings, which the full_pages fault answers with made-up items.
STRUCTURE_LISTING = re.compile(
    r'^/v2/(databases|(database|collection)/[^/]+/(fields|collections|interests|views))$')


def token_forms(token):
    """The placeholders of an `answer` fault: the request's token, spelled
    as a hostile server might echo it."""
    php_json = json.dumps(token)[1:-1].replace('/', '\\/')
    return {
        '{token}': token,
        '{token_json}': php_json,
        '{token_u}': ''.join('\\u%04x' % ord(c) for c in token),
        '{token_url}': quote(token, safe=''),
    }


def fill_answer(text, token, start=0):
    for k, v in token_forms(token).items():
        text = text.replace(k, v)
    # the offset asked for: pages that are each the one asked for
    return text.replace('{start}', str(start))


def full_listing_page(query):
    """A page of a structure listing that is as full as asked for, with
    made-up items that never end: what a hostile server could answer."""
    params = phpish.parse_str(query)
    start = max(0, phpish.param_int(params, 'start', 0))
    limit = phpish.param_int(params, 'limit', 100)
    limit = 100 if limit <= 0 else min(limit, 1000)
    items = ['{"ID":"%d","name":"filler%d","type":"text","value":"","displayed":true,'
             '"ordered":false,"length":50,"textlines":0,"hidden":false,"index":false}'
             % (start + i + 1000, start + i) for i in range(limit)]
    return ('{"start":%d,"limit":%d,"count":%d,"data":[%s]}'
            % (start, limit, limit, ','.join(items)))


class Faults:
    """Injected faults; every counter counts down as it is used."""

    KINDS = ('drop', 'truncate', 'malformed', 'invalid_utf8')

    def __init__(self):
        self.clear()

    def clear(self):
        self.latency_ms = 0
        self.fail_status = None
        self.fail_count = 0
        self.fail_after = 0
        self.fail_method = None
        self.retry_after = None
        self.counts = dict.fromkeys(self.KINDS, 0)
        self.answer = None          # canned answer: dict, see configure
        self.answer_count = 0
        self.full_pages = 0
        self.slow = None            # {'ms','match','method'}, see configure
        self.slow_count = 0
        self.ignore_param = None    # {'name','match'}, see configure
        self.ignore_param_count = 0

    def configure(self, spec):
        """Apply a /_control/faults body; raises ValueError if bad."""
        if not isinstance(spec, dict):
            raise ValueError('faults body must be a JSON object')
        for key in spec:
            if key not in ('latency_ms', 'fail', 'answer', 'full_pages', 'slow',
                           'ignore_param') + self.KINDS:
                raise ValueError('unknown fault %r' % key)
        if 'latency_ms' in spec:
            self.latency_ms = max(0, int(spec['latency_ms']))
        if 'fail' in spec:
            f = spec['fail']
            if not isinstance(f, dict) or 'status' not in f:
                raise ValueError('fail needs {"status":S,"count":N}')
            status = int(f['status'])
            if status not in (429, 500, 502, 503, 504):
                raise ValueError('fail status must be 429, 500, 502, 503 or 504')
            self.fail_status = status
            self.fail_count = max(0, int(f.get('count', 1)))
            ra = f.get('retry_after')
            self.retry_after = None if ra is None else str(ra)
            self.fail_after = max(0, int(f.get('after', 0)))
            m = f.get('method')
            if m is not None and m not in ('GET', 'POST', 'PUT', 'DELETE'):
                raise ValueError('fail method must be GET, POST, PUT or DELETE')
            self.fail_method = m
        for k in self.KINDS:
            if k in spec:
                self.counts[k] = max(0, int(spec[k]))
        if 'answer' in spec:
            a = spec['answer']
            if not isinstance(a, dict) or not isinstance(a.get('body'), str):
                raise ValueError('answer needs {"status":S,"body":TEXT,"count":N}')
            status = int(a.get('status', 200))
            if not 200 <= status <= 599:
                raise ValueError('answer status must be 200 to 599')
            m = a.get('method')
            if m is not None and m not in ('GET', 'POST', 'PUT', 'DELETE'):
                raise ValueError('answer method must be GET, POST, PUT or DELETE')
            self.answer = {'status': status, 'body': a['body'],
                           'content_type': str(a.get('content_type', api_mod.JSON_TYPE)),
                           'match': str(a.get('match', '')), 'method': m,
                           'after': max(0, int(a.get('after', 0)))}
            self.answer_count = max(0, int(a.get('count', 1)))
        if 'full_pages' in spec:
            self.full_pages = max(0, int(spec['full_pages']))
        if 'slow' in spec:
            w = spec['slow']
            if not isinstance(w, dict) or 'ms' not in w:
                raise ValueError('slow needs {"ms":N,"count":C}')
            m = w.get('method')
            if m is not None and m not in ('GET', 'POST', 'PUT', 'DELETE'):
                raise ValueError('slow method must be GET, POST, PUT or DELETE')
            self.slow = {'ms': max(0, int(w['ms'])), 'match': str(w.get('match', '')),
                         'method': m, 'before': bool(w.get('before', False))}
            self.slow_count = max(0, int(w.get('count', 1)))
        if 'ignore_param' in spec:
            g = spec['ignore_param']
            if not isinstance(g, dict) or not isinstance(g.get('name'), str) or not g['name']:
                raise ValueError('ignore_param needs {"name":N,"count":C}')
            self.ignore_param = {'name': g['name'], 'match': str(g.get('match', ''))}
            self.ignore_param_count = max(0, int(g.get('count', 1)))

    def take(self, kind):
        if self.counts[kind] > 0:
            self.counts[kind] -= 1
            return True
        return False

    def take_answer(self, path, method):
        """The canned answer for a request to path, if one is due."""
        if (self.answer_count > 0 and self.answer['match'] in path
                and self.answer['method'] in (None, method)):
            if self.answer['after'] > 0:
                self.answer['after'] -= 1
                return None
            self.answer_count -= 1
            return self.answer
        return None

    def take_slow(self, path, method):
        """The extra delay in seconds for a request to path, if one is due."""
        if (self.slow_count > 0 and self.slow['match'] in path
                and self.slow['method'] in (None, method)):
            self.slow_count -= 1
            return self.slow['ms'] / 1000.0, self.slow['before']
        return 0, False

    def take_ignore_param(self, path, query):
        """The query as the API sees it: a server that does not know a
        parameter ignores it (every spelling of the name is left out)."""
        if self.ignore_param_count <= 0 or self.ignore_param['match'] not in path:
            return query
        name = self.ignore_param['name'].lower()
        kept = [part for part in query.split('&') if part and
                unquote_plus(part.partition('=')[0], errors='replace').lower() != name]
        if len(kept) == len([p for p in query.split('&') if p]):
            return query
        self.ignore_param_count -= 1
        return '&'.join(kept)

    def take_full_page(self, path):
        if self.full_pages > 0 and STRUCTURE_LISTING.match(path):
            self.full_pages -= 1
            return True
        return False

    def take_fail(self, method):
        if self.fail_count > 0 and self.fail_status:
            if self.fail_method is not None and method != self.fail_method:
                return None
            if self.fail_after > 0:
                self.fail_after -= 1
                return None
            self.fail_count -= 1
            return self.fail_status, self.retry_after
        return None

    def describe(self):
        d = {'latency_ms': self.latency_ms,
             'fail': {'status': self.fail_status, 'count': self.fail_count,
                      'retry_after': self.retry_after, 'after': self.fail_after,
                      'method': self.fail_method}}
        d.update(self.counts)
        d['answer'] = dict(self.answer, count=self.answer_count) if self.answer else None
        d['full_pages'] = self.full_pages
        d['slow'] = dict(self.slow, count=self.slow_count) if self.slow else None
        d['ignore_param'] = (dict(self.ignore_param, count=self.ignore_param_count)
                             if self.ignore_param else None)
        return d


def settle_heap():
    """Exempt the (possibly millions of) state objects from cyclic GC passes.

    Entities hold no reference cycles, so reference counting still frees
    them when a reset drops the old state; without this, a full collection
    would walk the whole dataset now and then and stall a request.
    """
    gc.collect()
    gc.freeze()


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections when a client
    # opens many at once; the kernel retries them only a second later
    request_queue_size = 128

    def __init__(self, address, store, token=DEFAULT_TOKEN, quiet=True):
        ThreadingHTTPServer.__init__(self, address, Handler)
        self.lock = threading.RLock()
        self.store = store
        self.token = token
        self.api = api_mod.Api(store, token)
        self.quiet = quiet
        self.faults = Faults()
        self.log = []
        self._conn_ids = itertools.count(1)
        host, port = self.server_address[:2]
        self.base_url = 'http://%s:%d' % (host, port)

    def handle_error(self, request, client_address):
        """Clients that hang up (a cancelled query, a test) are normal here."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, TimeoutError)):
            return
        if not self.quiet:
            ThreadingHTTPServer.handle_error(self, request, client_address)
        else:
            sys.stderr.write('emulator: internal error: %r\n' % (exc,))

    @property
    def port(self):
        return self.server_address[1]

    def next_connection_id(self):
        with self.lock:
            return next(self._conn_ids)

    def replace_store(self, store):
        settle_heap()
        with self.lock:
            self.store = store
            self.api = api_mod.Api(store, self.token)
            self.log = []
            self.faults.clear()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'CopernicaEmulator/1.0'
    sys_version = ''
    disable_nagle_algorithm = True
    timeout = 600

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.conn_id = self.server.next_connection_id()

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write('emulator: ' + (fmt % args) + '\n')

    def log_request(self, code='-', size='-'):
        pass

    # -- plumbing --------------------------------------------------------------

    def read_body(self):
        te = (self.headers.get('Transfer-Encoding') or '').lower()
        if 'chunked' in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b''.join(chunks)
        length = self.headers.get('Content-Length')
        if not length:
            return b''
        n = int(length)
        if n < 0:
            raise ValueError('negative Content-Length')
        return self.rfile.read(n)

    def send(self, status, body=b'', content_type=None, headers=(), partial=None):
        reason = self.responses.get(status, ('',))[0]
        lines = ['HTTP/1.1 %d %s' % (status, reason),
                 'Server: ' + self.server_version,
                 'Date: ' + self.date_time_string()]
        if content_type:
            lines.append('Content-Type: ' + content_type)
        lines.append('Content-Length: %d' % len(body))
        for k, v in headers:
            lines.append('%s: %s' % (k, v))
        if self.close_connection:
            lines.append('Connection: close')
        elif self.request_version == 'HTTP/1.0':
            lines.append('Connection: keep-alive')
        head = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1', errors='replace')
        if self.command == 'HEAD':
            body = b''
        if partial is not None:
            body = body[:partial]
        self.wfile.write(head + body)

    def send_json(self, obj, status=200):
        body = obj if isinstance(obj, bytes) else (
            obj if isinstance(obj, str) else dumps(obj)).encode('utf-8')
        self.send(status, body, api_mod.JSON_TYPE)

    # -- dispatch --------------------------------------------------------------

    def do_any(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.send_json({'error': {'message': 'Invalid request body'}}, 400)
            return
        path, _q, query = self.path.partition('?')
        if path.startswith('http://') or path.startswith('https://'):
            path = '/' + path.split('/', 3)[-1]
        if path == '/_control' or path.startswith('/_control/'):
            self.control(path[len('/_control/'):].strip('/'), query, body)
        else:
            self.api_request(path, query, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_any

    def api_request(self, path, query, body):
        server = self.server
        entry = {'method': self.command, 'path': path,
                 'query': phpish.remove_param(query, 'access_token'),
                 'connection': self.conn_id, 'status': None,
                 't0': time.monotonic(), 't1': None,
                 'body': body.decode('utf-8', errors='replace') if body else None}
        with server.lock:
            server.log.append(entry)
            faults = server.faults
            latency = faults.latency_ms / 1000.0
            drop = faults.take('drop')
            fail = None if drop else faults.take_fail(self.command)
            answer = None if drop or fail else faults.take_answer(path, self.command)
            full_page = (not drop and not fail and not answer
                         and faults.take_full_page(path))
            slow_before = 0
            if not drop and not fail and not answer:
                slow, before = faults.take_slow(path, self.command)
                if before:
                    slow_before = slow
                else:
                    latency += slow
        if slow_before:
            # handled late: requests that came after it are handled first
            time.sleep(slow_before)
        if drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            if not server.quiet:
                self.log_message('%s %s -> dropped', self.command, path)
            return
        if fail is not None:
            status, retry_after = fail
            if status == 429:
                resp = api_mod.json_response(
                    {'error': {'message': 'Too many requests, please slow down'}}, 429)
                if retry_after is not None:
                    resp.headers.append(('Retry-After', retry_after))
            else:
                resp = api_mod.Response(status, LOADBALANCER_HTML.encode(), 'text/html')
        elif answer is not None:
            params = phpish.parse_str(query)
            token = params.get('access_token', '')
            text = fill_answer(answer['body'], token if isinstance(token, str) else '',
                               max(0, phpish.param_int(params, 'start', 0)))
            # {xff}: a byte that is never UTF-8, for damaged answers
            resp = api_mod.Response(answer['status'],
                                    text.encode('utf-8').replace(b'{xff}', b'\xff'),
                                    answer['content_type'] or None)
        elif full_page:
            resp = api_mod.json_response(full_listing_page(query))
        elif path == '/v2' or path.startswith('/v2/'):
            rel = '/'.join(unquote(seg, errors='replace') for seg in path[4:].split('/'))
            with server.lock:
                query = faults.take_ignore_param(path, query)
            req = api_mod.Request(self.command, rel, query, body,
                                  self.headers.get('Content-Type'), server.base_url)
            with server.lock:
                try:
                    resp = server.api.handle(req)
                except Exception as e:      # an emulator bug: say so, keep serving
                    resp = api_mod.json_response(
                        {'error': {'message': 'emulator internal error: %r' % (e,)}}, 500)
        else:
            resp = api_mod.error_response('Invalid method')

        partial = None
        if fail is None and resp.is_json:
            with server.lock:
                truncate = faults.take('truncate')
                malformed = not truncate and faults.take('malformed')
                bad_utf8 = (not truncate and not malformed and b'":"' in resp.body
                            and faults.take('invalid_utf8'))
            if truncate:
                partial = len(resp.body) // 2
                self.close_connection = True
            elif malformed:
                cut = resp.body.find(b'"limit":')
                cut = cut + len(b'"limit":') if cut >= 0 else max(1, len(resp.body) // 2)
                resp.body = resp.body[:cut]
            elif bad_utf8:
                i = resp.body.index(b'":"') + 3
                resp.body = resp.body[:i] + b'\xff' + resp.body[i:]
        if latency:
            time.sleep(latency)
        entry['status'] = resp.status
        entry['t1'] = time.monotonic()
        if not server.quiet:
            self.log_message('%s %s -> %d', self.command, path, resp.status)
        self.send(resp.status, resp.body, resp.content_type, resp.headers, partial)

    # -- control ---------------------------------------------------------------

    def control(self, what, query, body):
        server = self.server
        params = phpish.parse_str(query)
        m = self.command
        try:
            spec = json.loads(body.decode('utf-8')) if body.strip() else {}
        except ValueError:
            return self.send_json({'ok': False, 'error': 'body is not JSON'}, 400)
        try:
            if what == 'reset' and m == 'POST':
                return self.control_reset(spec)
            if what == 'log':
                if m == 'GET':
                    with server.lock:
                        return self.send_json(list(server.log))
                if m == 'DELETE':
                    with server.lock:
                        server.log = []
                    return self.send_json({'ok': True})
            if what == 'renumber' and m == 'POST':
                with server.lock:
                    p = server.store.renumber_profile(int(spec['profile']), int(spec['to']))
                    return self.send_json({'ok': True, 'profile': str(p.id)})
            if what == 'id_gaps' and m == 'POST':
                with server.lock:
                    server.store.set_id_gaps(int(spec.get('every', 0)), int(spec.get('skip', 0)),
                                             spec.get('into'))
                    return self.send_json({'ok': True})
            if what == 'faults':
                with server.lock:
                    if m == 'POST':
                        server.faults.configure(spec)
                    elif m == 'DELETE':
                        server.faults.clear()
                    elif m != 'GET':
                        raise ValueError('use GET, POST or DELETE')
                    return self.send_json({'ok': True, 'faults': server.faults.describe()})
            if m == 'GET':
                with server.lock:
                    st = server.store
                    if what == 'state':
                        return self.send_json(st.dump_json())
                    if what == 'profiles':
                        db = st.find_database(str(params.get('database', '1')))
                        if db is None:
                            raise ValueError('no such database')
                        return self.send_json('[' + ','.join(
                            st.profiles[i].full_json() for i in db.live_ids) + ']')
                    if what == 'subprofiles':
                        key = str(params.get('collection', '1'))
                        coll = st.collections.get(int(key)) if key.isdigit() else None
                        if coll is None:
                            raise ValueError('no such collection')
                        return self.send_json('[' + ','.join(
                            st.subprofiles[i].full_json() for i in coll.live_ids) + ']')
                    if what in ('profile', 'subprofile'):
                        key = str(params.get('id', ''))
                        table = st.profiles if what == 'profile' else st.subprofiles
                        ent = table.get(int(key)) if re.fullmatch(r'-?[0-9]+', key) else None
                        if ent is None:
                            return self.send_json({'ok': False, 'error': 'absent'}, 404)
                        return self.send_json(ent.full_json())
                    if what in ('', 'ping'):
                        return self.send_json({'ok': True, 'profiles': st.count_profiles(1)})
            return self.send_json({'ok': False, 'error': 'unknown control request'}, 404)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            return self.send_json({'ok': False, 'error': str(e)}, 400)

    def control_reset(self, spec):
        if not isinstance(spec, dict):
            raise ValueError('reset body must be a JSON object')
        if 'load' in spec:
            store = Store.load(spec['load'])
        else:
            store = datasets.build(spec.get('dataset', 'demo'), spec.get('profiles', 1000),
                                   spec.get('seed', 1), spec.get('shape', 'sparse'),
                                   spec.get('mailings', 0))
        self.server.replace_store(store)
        return self.send_json({'ok': True, 'profiles': store.count_profiles(1)})


def make_server(host='127.0.0.1', port=0, store=None, token=DEFAULT_TOKEN, quiet=True):
    """Create (not start) a server; tests call serve_forever in a thread."""
    if store is None:
        store = datasets.demo()
    settle_heap()
    return EmulatorServer((host, port), store, token, quiet)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Copernica REST API v2 emulator')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    ap.add_argument('--token', default=DEFAULT_TOKEN)
    ap.add_argument('--dataset', default='demo', choices=('demo', 'empty', 'generate'))
    ap.add_argument('--profiles', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--shape', default='sparse', choices=datasets.SHAPES,
                    help='how generated IDs are spread (default: sparse)')
    ap.add_argument('--load')
    ap.add_argument('--save-on-exit')
    ap.add_argument('--quiet', action='store_true')
    args = ap.parse_args(argv)

    if args.load:
        with open(args.load, encoding='utf-8') as f:
            store = Store.load(json.load(f))
    else:
        store = datasets.build(args.dataset, args.profiles, args.seed, args.shape)
    server = make_server(args.host, args.port, store, args.token, args.quiet)
    if args.port_file:
        tmp = args.port_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % server.port)
        os.replace(tmp, args.port_file)
    print('listening on http://%s:%d' % (args.host, server.port), flush=True)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.2},
                              daemon=True)
    thread.start()
    while not stop.is_set():
        stop.wait(1.0)
    server.shutdown()
    server.server_close()
    if args.save_on_exit:
        with server.lock:
            text = server.store.dump_json()
        with open(args.save_on_exit, 'w', encoding='utf-8') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
