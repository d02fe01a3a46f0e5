#!/usr/bin/env python3
"""emuctl: drive the Copernica emulator's /_control/ API from tests.

The control base URL comes from --url or $COPERNICA_EMULATOR_CONTROL
(e.g. http://127.0.0.1:PORT). Output is deterministic and never contains
ports or URLs, so pg_regress tests can call it with psql's \\!.

  emuctl.py reset demo|empty            -> reset: N profiles
  emuctl.py reset generate N [--seed S] [--shape dense|sparse|clustered|skewed|removed]
                              [--mailings M]
                                        -> reset: N profiles (IDs sparse by default)
  emuctl.py log [--count|--connections|--status|--bodies|--in-flight-at-end N]
  emuctl.py clear-log
  emuctl.py latency MS | fail STATUS COUNT [--retry-after S] [--after N] [--method M] | drop N
  emuctl.py truncate N | malformed N | invalid-utf8 N | clear-faults
  emuctl.py answer STATUS COUNT BODY [--match S] [--content-type CT] [--method M]
  emuctl.py full-pages N | renumber ID NEW_ID | id-gaps EVERY SKIP [--into DB]
  emuctl.py slow MS COUNT [--match S] [--method M] [--before]
  emuctl.py ignore-param NAME COUNT [--match S]
  emuctl.py profiles DB | subprofiles COLLECTION   -> count=N idsum=S
      [--sum FIELD]                               -> ... FIELD_sum=X
  emuctl.py profile ID                              -> JSON, or "absent"
  emuctl.py state                                   -> the state JSON
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


class Unreachable(Exception):
    pass


def call(base, method, path, body=None, accept_status=(200,)):
    data = None if body is None else json.dumps(body).encode('utf-8')
    req = urllib.request.Request(base.rstrip('/') + '/_control/' + path, data=data,
                                 method=method)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise Unreachable(str(getattr(e, 'reason', e)))
    if status not in accept_status:
        try:
            msg = json.loads(raw.decode('utf-8')).get('error', '')
        except ValueError:
            msg = raw.decode('utf-8', 'replace')
        sys.stderr.write('emuctl: %s %s failed (%d): %s\n' % (method, path, status, msg))
        sys.exit(1)
    return status, raw.decode('utf-8')


def in_flight_at_end(log, n):
    """The most requests in flight (arrived, not yet answered) at the moment
    one of the last n requests arrived: whether a scan kept its requests
    overlapping to the end, not how long anything took."""
    timed = [e for e in log if e.get('t1') is not None]
    most = 0
    for e in timed[-n:] if n > 0 else []:
        most = max(most, sum(1 for o in timed if o['t0'] <= e['t0'] < o['t1']))
    return most


def request_line(entry):
    q = entry.get('query') or ''
    return '%s %s%s' % (entry['method'], entry['path'], '?' + q if q else '')


def _num(x):
    return str(int(x)) if x == int(x) else repr(x)


def main(argv=None):
    ap = argparse.ArgumentParser(prog='emuctl.py')
    ap.add_argument('--url', default=os.environ.get('COPERNICA_EMULATOR_CONTROL'))
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('reset')
    p.add_argument('dataset', choices=('demo', 'empty', 'generate'))
    p.add_argument('profiles', nargs='?', type=int)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--shape', default='sparse',
                   choices=('dense', 'sparse', 'clustered', 'skewed', 'removed'))
    p.add_argument('--mailings', type=int, default=0,
                   help='extra mass Publisher emailings to every generated profile')
    p = sub.add_parser('log')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--count', action='store_true')
    g.add_argument('--connections', action='store_true')
    g.add_argument('--status', action='store_true')
    g.add_argument('--bodies', action='store_true',
                   help='the writes (not GET), each with its body')
    g.add_argument('--in-flight-at-end', type=int, metavar='N',
                   help='the most requests in flight when one of the last N began')
    sub.add_parser('clear-log')
    p = sub.add_parser('latency')
    p.add_argument('ms', type=int)
    p = sub.add_parser('fail')
    p.add_argument('status', type=int)
    p.add_argument('count', type=int)
    p.add_argument('--retry-after')
    p.add_argument('--after', type=int)
    p.add_argument('--method', choices=('GET', 'POST', 'PUT', 'DELETE'))
    for name in ('drop', 'truncate', 'malformed', 'invalid-utf8'):
        p = sub.add_parser(name)
        p.add_argument('n', type=int)
    sub.add_parser('clear-faults')
    p = sub.add_parser('answer')
    p.add_argument('status', type=int)
    p.add_argument('count', type=int)
    p.add_argument('body')
    p.add_argument('--match', default='')
    p.add_argument('--content-type', default='application/json')
    p.add_argument('--method', choices=('GET', 'POST', 'PUT', 'DELETE'))
    p.add_argument('--after', type=int, default=0,
                   help='answer the first N matching requests normally')
    p = sub.add_parser('slow')
    p.add_argument('ms', type=int)
    p.add_argument('count', type=int)
    p.add_argument('--match', default='')
    p.add_argument('--method', choices=('GET', 'POST', 'PUT', 'DELETE'))
    p.add_argument('--before', action='store_true',
                   help='wait before handling the request, not before answering it')
    p = sub.add_parser('ignore-param')
    p.add_argument('name')
    p.add_argument('count', type=int)
    p.add_argument('--match', default='')
    p = sub.add_parser('full-pages')
    p.add_argument('n', type=int)
    p = sub.add_parser('renumber')
    p.add_argument('id', type=int)
    p.add_argument('new_id', type=int)
    p = sub.add_parser('id-gaps')
    p.add_argument('every', type=int)
    p.add_argument('skip', type=int)
    p.add_argument('--into', metavar='DB', help="the skipped profile IDs are other clients' "
                   'new profiles in this database')
    p = sub.add_parser('profiles')
    p.add_argument('database')
    p.add_argument('--sum', metavar='FIELD', help='also the sum of an integer field')
    p.add_argument('--ids-with', metavar='FIELD=PREFIX',
                   help='instead, the IDs (one a line, ascending) of the profiles '
                   'whose FIELD starts with PREFIX')
    p = sub.add_parser('subprofiles')
    p.add_argument('collection')
    p.add_argument('--sum', metavar='FIELD', help='also the sum of a numeric field')
    p = sub.add_parser('profile')
    p.add_argument('id')
    sub.add_parser('state')
    args = ap.parse_args(argv)

    if not args.url:
        sys.stderr.write('emuctl: set COPERNICA_EMULATOR_CONTROL or pass --url\n')
        return 2
    base = args.url
    out = sys.stdout
    try:
        c = args.cmd
        if c == 'reset':
            body = {'dataset': args.dataset}
            if args.dataset == 'generate':
                if args.profiles is None:
                    ap.error('reset generate needs a profile count')
                body.update(profiles=args.profiles, seed=args.seed, shape=args.shape,
                            mailings=args.mailings)
            _s, text = call(base, 'POST', 'reset', body)
            out.write('reset: %d profiles\n' % json.loads(text)['profiles'])
        elif c == 'log':
            _s, text = call(base, 'GET', 'log')
            log = json.loads(text)
            if args.count:
                out.write('requests: %d\n' % len(log))
            elif args.connections:
                out.write('connections: %d\n' % len({e['connection'] for e in log}))
            elif args.in_flight_at_end is not None:
                out.write('%d\n' % in_flight_at_end(log, args.in_flight_at_end))
            else:
                for e in log:
                    if args.bodies:
                        if e['method'] != 'GET':
                            out.write('%s %s\n' % (request_line(e), e.get('body') or ''))
                    elif args.status:
                        st = 'dropped' if e['status'] is None else str(e['status'])
                        out.write('%s -> %s\n' % (request_line(e), st))
                    else:
                        out.write(request_line(e) + '\n')
        elif c == 'clear-log':
            call(base, 'DELETE', 'log')
        elif c == 'latency':
            call(base, 'POST', 'faults', {'latency_ms': args.ms})
        elif c == 'fail':
            spec = {'status': args.status, 'count': args.count}
            if args.retry_after is not None:
                spec['retry_after'] = args.retry_after
            if args.after is not None:
                spec['after'] = args.after
            if args.method is not None:
                spec['method'] = args.method
            call(base, 'POST', 'faults', {'fail': spec})
        elif c in ('drop', 'truncate', 'malformed', 'invalid-utf8'):
            call(base, 'POST', 'faults', {c.replace('-', '_'): args.n})
        elif c == 'clear-faults':
            call(base, 'DELETE', 'faults')
        elif c == 'answer':
            spec = {'status': args.status, 'count': args.count, 'body': args.body,
                    'match': args.match, 'content_type': args.content_type}
            if args.method is not None:
                spec['method'] = args.method
            if args.after:
                spec['after'] = args.after
            call(base, 'POST', 'faults', {'answer': spec})
        elif c == 'slow':
            spec = {'ms': args.ms, 'count': args.count, 'match': args.match}
            if args.method is not None:
                spec['method'] = args.method
            if args.before:
                spec['before'] = True
            call(base, 'POST', 'faults', {'slow': spec})
        elif c == 'ignore-param':
            call(base, 'POST', 'faults', {'ignore_param': {'name': args.name, 'count': args.count,
                                                           'match': args.match}})
        elif c == 'full-pages':
            call(base, 'POST', 'faults', {'full_pages': args.n})
        elif c == 'renumber':
            call(base, 'POST', 'renumber', {'profile': args.id, 'to': args.new_id})
        elif c == 'id-gaps':
            spec = {'every': args.every, 'skip': args.skip}
            if args.into is not None:
                spec['into'] = args.into
            call(base, 'POST', 'id_gaps', spec)
        elif c in ('profiles', 'subprofiles'):
            key = 'database' if c == 'profiles' else 'collection'
            _s, text = call(base, 'GET', '%s?%s=%s' % (c, key, urllib.request.quote(
                getattr(args, key))))
            ents = json.loads(text)
            if getattr(args, 'ids_with', None):
                field, _eq, prefix = args.ids_with.partition('=')
                for i in sorted(int(e['ID']) for e in ents
                                if str(e['fields'].get(field) or '').startswith(prefix)):
                    out.write('%d\n' % i)
                out.flush()
                return 0
            line = 'count=%d idsum=%d' % (len(ents), sum(int(e['ID']) for e in ents))
            if args.sum:
                line += ' %s_sum=%s' % (args.sum, _num(sum(
                    float(e['fields'].get(args.sum) or 0) for e in ents)))
            out.write(line + '\n')
        elif c == 'profile':
            status, text = call(base, 'GET', 'profile?id=' + urllib.request.quote(args.id),
                                accept_status=(200, 404))
            if status == 404:
                out.write('absent\n')
            else:
                out.write(json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
                          + '\n')
        elif c == 'state':
            _s, text = call(base, 'GET', 'state')
            out.write(text + '\n')
    except Unreachable:
        sys.stderr.write('emuctl: the emulator is unreachable\n')
        return 1
    out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
