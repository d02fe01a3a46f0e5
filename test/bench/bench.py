#!/usr/bin/python3
"""The driver of test/bench/scan.sh, insert.sh and upsert.sh.

Run by those scripts inside a throwaway cluster (libpq's PG* variables set,
copernica_fdw installable) with the emulator running
(COPERNICA_EMULATOR_URL, COPERNICA_EMULATOR_CONTROL, COPERNICA_TOKEN, EMUCTL
and BENCH_EMU_PID exported).  Needs Debian's python3-psycopg2, curl, and
perf for --profile.  Reads /proc/<pid>/stat and /proc/<pid>/status of the
PostgreSQL backends and of the emulator, which are world-readable, but perf
needs root (or kernel.perf_event_paranoid <= 1 and the same user).

    bench.py scan [--runs N] [--rows N] [--shapes S,...] [--latencies MS,...]
                  [--quick] [--profile]
    bench.py insert [--runs N] [--rows N] [--latency MS]
    bench.py upsert [--runs N] [--rows N] [--latency MS]
    bench.py events [--profiles N] [--mailings M]
    bench.py update [--runs N] [--rows N] [--latency MS]
    bench.py collection [--rows N] [--shapes S,...] [--latencies MS,...]
    bench.py parts [--profiles N] [--mailings M] [--latency MS]
    bench.py own_rows [--rows N]
"""

import argparse
import io
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'out')
API = os.environ['COPERNICA_EMULATOR_URL']
TOKEN = os.environ['COPERNICA_TOKEN']
EMUCTL = shlex.split(os.environ['EMUCTL'])
EMU_PID = int(os.environ['BENCH_EMU_PID'])

# id and the 13 fields of the emulator's Customers database, with the types
# copy_profiles.py uses for its table
PROFILE_COLUMNS = '''
    id bigint, email text, firstname text, lastname text, city text,
    age integer, score numeric, birthday date, signup date,
    lastvisit timestamp, segment text, notes text, referrer bigint,
    newsletter text'''

CLK_TCK = os.sysconf('SC_CLK_TCK')


def log(msg):
    print('-- ' + msg, flush=True)


# -- processes ---------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process, all its threads, from /proc/PID/stat."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def backend_cpu_seconds(pid):
    """CPU time (user and system) of a backend, a single-threaded process,
    from /proc/PID/schedstat: the scheduler's own count in nanoseconds,
    where /proc/PID/stat counts clock ticks (10 ms, 4% of a 100,000-row
    scan).  Only the main thread's, which is all a backend runs."""
    with open('/proc/%d/schedstat' % pid) as f:
        return int(f.read().split()[0]) / 1e9


def minor_faults(pid):
    """Page faults of a process that needed no disk, from /proc/PID/stat:
    each first touch of a page of memory, also of shared buffers."""
    with open('/proc/%d/stat' % pid) as f:
        return int(f.read().rsplit(')', 1)[1].split()[7])


def runq_seconds(pid):
    """Time the (single-threaded) process spent runnable but waiting for a
    CPU, from /proc/PID/schedstat: high when the machine is busy."""
    with open('/proc/%d/schedstat' % pid) as f:
        return int(f.read().split()[1]) / 1e9


def status_kb(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


class AnonSampler(threading.Thread):
    """Peak RssAnon of a process, polled every 5 ms.

    VmHWM is the peak of the whole resident set, shared memory included, and
    a backend that writes a table touches shared buffers: RssAnon is the
    backend's private memory, where the wrapper's allocations live.
    """

    def __init__(self, pid):
        threading.Thread.__init__(self, daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, status_kb(self.pid, 'RssAnon'))
            except OSError:
                break
            self.done.wait(0.005)

    def stop(self):
        self.done.set()
        self.join()
        return self.peak


def emuctl(*args):
    out = subprocess.run(EMUCTL + [str(a) for a in args], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True)
    return out.stdout.strip()


def emu_requests():
    return int(emuctl('log', '--count').split()[-1])


def connect():
    conn = psycopg2.connect('')
    conn.autocommit = True
    return conn


def backend():
    """A fresh connection, its cursor and its backend's PID (to measure)."""
    conn = connect()
    cur = conn.cursor()
    cur.execute('SELECT pg_backend_pid()')
    return conn, cur, cur.fetchone()[0]


def sql(*statements):
    conn = connect()
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)
    conn.close()


def setup_server():
    sql('DROP EXTENSION IF EXISTS copernica_fdw CASCADE',
        'CREATE EXTENSION copernica_fdw',
        "CREATE SERVER emulator FOREIGN DATA WRAPPER copernica_fdw "
        "OPTIONS (url '%s', access_token '%s')" % (API, TOKEN))


class Measure:
    """Wall time, the CPU time of a backend (or none) and of the emulator,
    and the emulator's request count, around one statement or command."""

    def __init__(self, backend=None):
        self.backend = backend

    def __enter__(self):
        emuctl('clear-log')
        self.sampler = None
        if self.backend:
            self.sampler = AnonSampler(self.backend)
            self.sampler.start()
            self.backend_cpu0 = backend_cpu_seconds(self.backend)
            self.backend_runq0 = runq_seconds(self.backend)
            self.backend_faults0 = minor_faults(self.backend)
        self.emu_cpu0 = cpu_seconds(EMU_PID)
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.emu_cpu = cpu_seconds(EMU_PID) - self.emu_cpu0
        if self.backend:
            self.backend_cpu = backend_cpu_seconds(self.backend) - self.backend_cpu0
            self.backend_runq = runq_seconds(self.backend) - self.backend_runq0
            self.backend_faults = minor_faults(self.backend) - self.backend_faults0
            self.anon_kb = self.sampler.stop()
            self.hwm_kb = status_kb(self.backend, 'VmHWM')
        if exc[0] is None:
            self.requests = emu_requests()
        return False

    def result(self, **kw):
        r = {'wall': self.wall, 'emu_pct': 100.0 * self.emu_cpu / self.wall,
             'requests': self.requests}
        if self.backend:
            r.update(backend_cpu=self.backend_cpu, backend_runq=self.backend_runq,
                     backend_faults=self.backend_faults,
                     hwm_mb=self.hwm_kb / 1024.0,
                     anon_mb=self.anon_kb / 1024.0)
        r.update(kw)
        return r


def run_children(argvs):
    """Run commands at once; their summed user+system CPU time."""
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL) for a in argvs]
    cpu = 0.0
    failed = []
    for p in procs:
        _pid, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += ru.ru_utime + ru.ru_stime
        if p.returncode != 0:
            failed.append(p.args)
    if failed:
        raise RuntimeError('failed: %r' % failed)
    return cpu


# -- the scan benchmark --------------------------------------------------------

def fdw_ctas(table, keep=False):
    """CREATE TABLE fdw_local AS SELECT * FROM table, on a fresh connection
    so that VmHWM is this statement's."""
    conn, cur, pid = backend()
    with Measure(pid) as m:
        cur.execute('CREATE TABLE fdw_local AS SELECT * FROM %s' % table)
        rows = cur.rowcount
    conn.close()
    if not keep:
        sql('DROP TABLE fdw_local')
    return m.result(rows=rows)


def local_ctas(table):
    """CREATE TABLE local_copy AS SELECT * FROM a local table, on a fresh
    connection: the backend memory of the same statement without the wrapper."""
    conn, cur, pid = backend()
    with Measure(pid) as m:
        cur.execute('CREATE TABLE local_copy AS SELECT * FROM %s' % table)
        rows = cur.rowcount
    conn.close()
    sql('DROP TABLE local_copy')
    return m.result(rows=rows)


def python_copy(keep=False):
    argv = [sys.executable, os.path.join(HERE, 'copy_profiles.py'), '--url', API,
            '--token', TOKEN, '--database', '1', '--table', 'python_local', '--stats']
    with Measure() as m:
        out = subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
    if not keep:
        sql('DROP TABLE python_local')
    s = json.loads(out.strip().splitlines()[-1])
    # the script's own wall time: from its connect to its commit, as for the
    # wrapper (interpreter start and imports left out)
    r = m.result(rows=s['rows'], client_cpu=s['client_cpu'], backend_cpu=s['backend_cpu'],
                 backend_faults=s['backend_faults'],
                 hwm_mb=s['backend_hwm_kb'] / 1024.0)
    r['emu_pct'] = 100.0 * m.emu_cpu / m.wall
    r['wall'] = s['wall']
    return r


def curl_config(urls, path):
    with open(path, 'w') as f:
        for u in urls:
            f.write('url = "%s"\noutput = "/dev/null"\n' % u)
    return path


def curl_replay(urls, conns, rows, tmp):
    """The same requests with curl: conns processes, each on one keep-alive
    connection, process k taking every conns-th request from the k-th."""
    argvs = []
    for k in range(conns):
        cfg = curl_config(urls[k::conns], os.path.join(tmp, 'curl%d.cfg' % k))
        argvs.append(['curl', '--silent', '--show-error', '--fail', '--globoff',
                      '--config', cfg])
    with Measure() as m:
        cpu = run_children(argvs)
    return m.result(rows=rows, client_cpu=cpu)


def wrapper_requests():
    """The requests of the last wrapper scan, from the emulator's log."""
    lines = emuctl('log').splitlines()
    urls = []
    for line in lines:
        method, rest = line.split(' ', 1)
        if method != 'GET':
            continue
        path, _q, query = rest.partition('?')
        sep = '&' if query else ''
        urls.append('%s%s?access_token=%s%s%s' % (API[:-len('/v2')], path, TOKEN, sep, query))
    return urls


def median_of(runs, field):
    vals = [r[field] for r in runs if r.get(field) is not None]
    return statistics.median(vals) if vals else None


# (heading, width, format, value of (medians, limit 1, limit 4, python))
SCAN_COLUMNS = [
    ('wall s', 7, '%.2f', lambda m, l1, l4, py: m['wall']),
    ('rows/s', 7, '%.0f', lambda m, l1, l4, py: m['rows'] / m['wall']),
    ('/curl1', 6, '%.2f', lambda m, l1, l4, py: m['wall'] / l1),
    ('/curl4', 6, '%.2f', lambda m, l1, l4, py: m['wall'] / l4),
    ('py/x', 5, '%.1f', lambda m, l1, l4, py: py / m['wall']),
    ('reqs', 4, '%.0f', lambda m, l1, l4, py: m['requests']),
    ('/min', 5, '%.2f', lambda m, l1, l4, py: m['requests'] / m['min_requests']),
    ('be CPU', 6, '%.2f', lambda m, l1, l4, py: m['backend_cpu']),
    ('us/row', 6, '%.2f', lambda m, l1, l4, py: 1e6 * m['backend_cpu'] / m['rows']),
    ('be runq', 7, '%.2f', lambda m, l1, l4, py: m['backend_runq']),
    ('flt/kr', 6, '%.0f', lambda m, l1, l4, py: 1e3 * m['backend_faults'] / m['rows']),
    ('be HWM', 6, '%.1f', lambda m, l1, l4, py: m['hwm_mb']),
    ('be anon', 7, '%.1f', lambda m, l1, l4, py: m['anon_mb']),
    ('cl CPU', 6, '%.2f', lambda m, l1, l4, py: m['client_cpu']),
    ('emu CPU', 7, '%.0f%%', lambda m, l1, l4, py: m['emu_pct']),
]
FIELDS = ('wall', 'rows', 'requests', 'min_requests', 'backend_cpu', 'backend_runq',
          'backend_faults',
          'hwm_mb', 'anon_mb', 'client_cpu', 'emu_pct')


def print_scan_table(results, latencies, runs):
    header = '%7s  %-30s  ' % ('latency', 'method') + '  '.join(
        h.rjust(w) for h, w, _f, _v in SCAN_COLUMNS)
    print(header)
    print('-' * len(header))
    for lat in latencies:
        med = {k: {f: median_of(v, f) for f in FIELDS} for k, v in results[lat].items()}
        l1, l4, py = med['curl1']['wall'], med['curl4']['wall'], med['python']['wall']
        for key, label in SCAN_METHODS:
            cells = []
            for _h, w, f, value in SCAN_COLUMNS:
                try:
                    cells.append((f % value(med[key], l1, l4, py)).rjust(w))
                except TypeError:       # a None: not measured for this method
                    cells.append('-'.rjust(w))
            print('%7s  %-30s  ' % ('%d ms' % lat, label) + '  '.join(cells))
    print('(medians of %d run%s; times in s, memory in MB)' % (runs, '' if runs == 1 else 's'))


SCAN_METHODS = [
    ('curl1', 'raw: same GETs, curl, 1 conn'),
    ('curl4', 'raw: same GETs, curl, 4 conns'),
    ('fdw1', 'fdw, max_concurrency 1'),
    ('fdw4', 'fdw, max_concurrency 4 (def.)'),
    ('python', 'python urllib + COPY'),
]


# inclusive shares of the backend's CPU samples worth naming (they overlap:
# the lexer is part of the parser); for "a|b", the larger of the two (the
# compiler may make copernica_parse_page a jump to parse_page)
PROFILE_PARTS = [
    ('copernica_parse_page|parse_page', 'JSON page parsing (common/jsonapi.h + callbacks)'),
    ('json_lex', '  of it: the PG15 JSON lexer'),
    ('appendStringInfoChar', '    of that: appendStringInfoChar (de-escaping strings)'),
    ('InputFunctionCall', 'values to datums (type input functions)'),
    ('date_in', '  of it: date_in'),
    ('timestamp_in', '  of it: timestamp_in'),
    ('numeric_in', '  of it: numeric_in'),
    ('heap_insert', 'writing the local table (heap_insert, WAL)'),
    ('curl_multi_perform', 'HTTP: libcurl (curl_multi_perform)'),
]


def perf_report(data, *args):
    return subprocess.run(['perf', 'report', '-i', data, '--stdio'] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True).stdout


def perf_profile(table):
    """perf record (DWARF call graphs) of the backend during one CREATE TABLE
    AS; returns the report: the shares of named parts, the shares by
    library, the top symbols."""
    out = []
    data = os.path.join(OUT, 'perf-scan.data')
    conn, cur, pid = backend()
    if os.path.exists(data):
        os.unlink(data)
    perf_err = tempfile.TemporaryFile(mode='w+')
    perf = subprocess.Popen(['perf', 'record', '-e', 'cpu-clock', '-F', '2000',
                             '--call-graph', 'dwarf,16384', '-p', str(pid), '-o', data],
                            stdout=subprocess.DEVNULL, stderr=perf_err)
    time.sleep(1.0)         # let perf attach
    with Measure(pid) as m:
        cur.execute('CREATE TABLE fdw_local AS SELECT * FROM %s' % table)
    perf.send_signal(signal.SIGINT)
    perf.wait()
    conn.close()
    sql('DROP TABLE fdw_local')
    if perf.returncode not in (0, -signal.SIGINT) or not os.path.exists(data):
        perf_err.seek(0)
        return 'perf record failed (it needs root, or kernel.perf_event_paranoid <= 1):\n' + \
            perf_err.read()
    out.append('CREATE TABLE AS under perf: %.2f s wall, backend CPU %.2f s, run-queue wait'
               ' %.2f s, emulator CPU %.0f%% of the wall time (%s)'
               % (m.wall, m.backend_cpu, m.backend_runq, 100.0 * m.emu_cpu / m.wall, data))
    out.append('')
    inclusive = {}
    for line in perf_report(data, '--children', '--sort', 'sym', '-g', 'none').splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].endswith('%') and f[2] in ('[.]', '[k]'):
            inclusive.setdefault(f[3], float(f[0][:-1]))
    out.append('share of the backend\'s CPU samples, inclusive of callees:')
    for syms, label in PROFILE_PARTS:
        share = max(inclusive.get(sym, 0.0) for sym in syms.split('|'))
        out.append('  %5.1f%%  %s' % (share, label))
    out.append('')
    out.append('by library (self):')
    for line in perf_report(data, '--no-children', '--sort', 'dso', '-g', 'none',
                            '--percent-limit', '0.5').splitlines():
        if line.strip() and not line.startswith('#'):
            out.append('  ' + line.strip())
    out.append('')
    out.append('top symbols (self):')
    n = 0
    for line in perf_report(data, '--no-children', '--sort', 'dso,sym', '-g', 'none',
                            '--percent-limit', '1').splitlines():
        if line.strip() and not line.startswith('#') and n < 15:
            out.append('  ' + line.strip())
            n += 1
    return '\n'.join(out)


def scan_shape(args, shape, latencies):
    """The scan benchmark on one shape of IDs: {latency: {method: [runs]}}."""
    log('emuctl reset generate %d --shape %s' % (args.rows, shape))
    emuctl('reset', 'generate', args.rows, '--shape', shape)
    emuctl('latency', 0)
    sql('SELECT copernica_forget_metadata()')

    # warm-up: the emulator builds each profile's JSON the first time it is
    # served; the wrapper's requests are then what curl replays
    log('warm-up (the emulator caches the JSON of each profile)')
    fdw_ctas('profiles', keep=True)
    urls = wrapper_requests()
    python_copy(keep=True)
    conn = connect()
    cur = conn.cursor()
    cur.execute('SELECT (SELECT count(*) FROM (TABLE fdw_local EXCEPT ALL TABLE python_local) a),'
                ' (SELECT count(*) FROM (TABLE python_local EXCEPT ALL TABLE fdw_local) b)')
    only_fdw, only_py = cur.fetchone()
    conn.close()
    sql('DROP TABLE fdw_local', 'DROP TABLE python_local')
    if only_fdw or only_py:
        raise RuntimeError('the wrapper and the script read different rows: %d only in the'
                           ' wrapper\'s table, %d only in the script\'s' % (only_fdw, only_py))
    log('the wrapper\'s table and the script\'s hold the same rows')
    log('curl replays the wrapper\'s %d GETs, e.g. %s'
        % (len(urls), urls[len(urls) // 2].split('?')[0] + '?' +
           urls[len(urls) // 2].split('?')[1].split('&', 1)[1]))

    # the fewest requests that can read the table: its pages, and planning's
    # (size, fields, smallest and largest ID)
    min_requests = math.ceil(args.rows / 1000.0) + 4
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lat in latencies:
            emuctl('latency', lat)
            results[lat] = {k: [] for k, _l in SCAN_METHODS}
            for run in range(args.runs):
                log('%s, latency %d ms, run %d of %d' % (shape, lat, run + 1, args.runs))
                results[lat]['curl1'].append(curl_replay(urls, 1, args.rows, tmp))
                results[lat]['curl4'].append(curl_replay(urls, 4, args.rows, tmp))
                results[lat]['fdw1'].append(fdw_ctas('profiles_c1'))
                results[lat]['fdw4'].append(fdw_ctas('profiles'))
                results[lat]['python'].append(python_copy())
                for k in ('fdw1', 'fdw4', 'python'):
                    got = results[lat][k][-1]['rows']
                    if got != args.rows:
                        raise RuntimeError('%s read %d rows, not %d' % (k, got, args.rows))
                for k in results[lat]:
                    results[lat][k][-1]['min_requests'] = min_requests
    emuctl('latency', 0)
    return results


def scan(args):
    latencies = [int(x) for x in args.latencies.split(',')]
    shapes = args.shapes.split(',')
    setup_server()
    sql("CREATE FOREIGN TABLE profiles (%s) SERVER emulator "
        "OPTIONS (database 'Customers')" % PROFILE_COLUMNS,
        "CREATE FOREIGN TABLE profiles_c1 (%s) SERVER emulator "
        "OPTIONS (database 'Customers', max_concurrency '1')" % PROFILE_COLUMNS)
    by_shape = {shape: scan_shape(args, shape, latencies) for shape in shapes}
    results = by_shape[shapes[0]]

    # a fresh backend that has only run SELECT 1: the floor of VmHWM and RssAnon
    conn, cur, pid = backend()
    idle = (status_kb(pid, 'VmHWM') / 1024.0, status_kb(pid, 'RssAnon') / 1024.0)
    conn.close()

    profile = None
    if args.profile:
        log('perf record of the backend during CREATE TABLE AS of %d rows at 0 ms' % args.rows)
        profile = perf_profile('profiles')

    small = results[latencies[0]]['fdw4']
    memory = [(args.rows, median_of(small, 'wall'), max(r['hwm_mb'] for r in small),
               max(r['anon_mb'] for r in small), median_of(small, 'emu_pct'),
               '%d ms latency, emulator cache warm' % latencies[0])]
    if not args.quick:
        big = 1000000
        log('emuctl reset generate %d (about 20 s)' % big)
        emuctl('reset', 'generate', big, '--shape', shapes[0])
        emuctl('latency', latencies[0])
        r = fdw_ctas('profiles', keep=True)
        if r['rows'] != big:
            raise RuntimeError('read %d rows, not %d' % (r['rows'], big))
        memory.append((big, r['wall'], r['hwm_mb'], r['anon_mb'], r['emu_pct'],
                       '%d ms latency, emulator cache cold: its first serve of every page'
                       % latencies[0]))
        # what the same statement costs without the wrapper: the rows just
        # read, as a local table, copied by CREATE TABLE AS on a fresh backend
        log('the same %d rows from a local table' % big)
        r = local_ctas('fdw_local')
        memory.append((big, r['wall'], r['hwm_mb'], r['anon_mb'], None,
                       'no wrapper: CREATE TABLE AS SELECT * FROM a local table of the same rows'))
        sql('DROP TABLE fdw_local')
        emuctl('reset', 'empty')

    for shape in shapes:
        print()
        print('== scan: CREATE TABLE AS SELECT * (id + 13 fields) of %d profiles, IDs %s'
              % (args.rows, shape))
        print()
        print_scan_table(by_shape[shape], latencies, args.runs)
    print('(/min: requests against the fewest possible, ceil(rows / 1000) pages + 4 at'
          ' planning; us/row: backend CPU per row, storing included)')
    print()
    print('== peak backend memory: CREATE TABLE AS, max_concurrency 4, a fresh connection each')
    print()
    print('%9s  %7s  %8s  %10s  %7s' % ('rows', 'wall s', 'VmHWM MB', 'RssAnon MB', 'emu CPU'))
    print('%9s  %7s  %8.1f  %10.1f  %7s  (a fresh backend after SELECT 1)'
          % ('0', '-', idle[0], idle[1], '-'))
    for n, wall, hwm, anon, emu, note in memory:
        print('%9d  %7.2f  %8.1f  %10.1f  %7s  (%s)'
              % (n, wall, hwm, anon, '-' if emu is None else '%.0f%%' % emu, note))
    if profile:
        print()
        print('== where the backend\'s CPU time goes: CREATE TABLE AS of %d profiles, 0 ms,'
              ' max_concurrency 4' % args.rows)
        print()
        print(profile)


# -- the events benchmark ------------------------------------------------------

DELIVERY_COLUMNS = '''
    id bigint, "timestamp" timestamp, attempt integer, smtp_response text,
    emailing bigint, destination bigint, profile bigint, subprofile bigint'''


def api_total(path):
    """The listing's total, asked of the emulator directly (limit=0)."""
    with urllib.request.urlopen('%s/%s?access_token=%s&limit=0' % (API, path, TOKEN)) as r:
        return json.loads(r.read().decode())['total']


def events(args):
    """CREATE TABLE AS of the account-wide publisher_deliveries at two
    sizes, and of the profiles beside them: requests against their bound
    (one per page, plus one for the size) and the backend's peak memory."""
    setup_server()
    sql('CREATE FOREIGN TABLE deliveries (%s) SERVER emulator '
        "OPTIONS (resource 'publisher_deliveries')" % DELIVERY_COLUMNS,
        "CREATE FOREIGN TABLE profiles (%s) SERVER emulator "
        "OPTIONS (database 'Customers')" % PROFILE_COLUMNS)
    rows = []
    for mailings in (1, args.mailings):
        log('emuctl reset generate %d --mailings %d (a minute for the largest)'
            % (args.profiles, mailings))
        emuctl('reset', 'generate', args.profiles, '--mailings', mailings)
        want = api_total('publisher/deliveries')
        r = fdw_ctas('deliveries', keep=True)
        conn = connect()
        cur = conn.cursor()
        cur.execute('SELECT count(DISTINCT id) FROM fdw_local')
        distinct = cur.fetchone()[0]
        conn.close()
        sql('DROP TABLE fdw_local')
        if r['rows'] != want or distinct != want:
            raise RuntimeError('read %d rows (%d distinct), the emulator has %d'
                               % (r['rows'], distinct, want))
        rows.append(('publisher_deliveries', r, (want + 999) // 1000 + 1))
        if mailings == 1:
            p = fdw_ctas('profiles')
            rows.append(('profiles (for comparison)', p, None))
    emuctl('reset', 'empty')

    print()
    print('== events: CREATE TABLE AS SELECT * of the account-wide Publisher deliveries '
          '(%d profiles)' % args.profiles)
    print()
    header = '%-26s  %9s  %7s  %8s  %6s  %6s  %8s  %10s  %7s' % (
        'table', 'rows', 'wall s', 'rows/s', 'reqs', 'bound', 'VmHWM MB', 'RssAnon MB',
        'emu CPU')
    print(header)
    print('-' * len(header))
    for name, r, bound in rows:
        print('%-26s  %9d  %7.2f  %8.0f  %6d  %6s  %8.1f  %10.1f  %6.0f%%' % (
            name, r['rows'], r['wall'], r['rows'] / r['wall'], r['requests'],
            '-' if bound is None else str(bound), r['hwm_mb'], r['anon_mb'], r['emu_pct']))
    print('(bound: one request per page of 1000 and one for the size; the profiles read '
          'also asks for their metadata at planning)')


# -- the parts benchmark -------------------------------------------------------

PARTS_QUERIES = [
    ('publisher_clicks (account-wide)', 'SELECT count(*) FROM clicks{mc}'),
    ('publisher_statistics (each emailing)', 'SELECT count(*), sum(clicks_total) FROM statistics{mc}'),
    ('publisher_destinations (each emailing)', 'SELECT count(*), count(DISTINCT id) FROM destinations{mc}'),
    ('destinations, emailing = ANY(200 keys)',
     'SELECT count(*), count(DISTINCT id) FROM destinations{mc} WHERE emailing = ANY({keys})'),
]


def request_lines():
    """The emulator's log of the parts' requests, sorted.  The emailings'
    own listing is left out: its pager asks for pages ahead by
    max_concurrency (its size is not asked first), as before the parts
    overlapped."""
    return sorted(l for l in emuctl('log').splitlines()
                  if not l.startswith('GET /v2/publisher/emailings?'))


def parts(args):
    """The per-key parts of a mailing scan (one listing or object per
    emailing) at a latency, read one at a time (max_concurrency 1) and with
    the default 4 in flight: wall time, requests, and that both send the
    same requests and read the same rows."""
    setup_server()
    stmts = []
    for mc in (1, 4):
        for name, resource, cols in (
                ('clicks', 'publisher_clicks', 'id bigint, emailing bigint'),
                ('statistics', 'publisher_statistics', 'emailing bigint, clicks_total integer'),
                ('destinations', 'publisher_destinations', 'id text, emailing bigint')):
            stmts.append("CREATE FOREIGN TABLE %s%d (%s) SERVER emulator OPTIONS "
                         "(resource '%s', max_concurrency '%d')" % (name, mc, cols, resource, mc))
    sql(*stmts)
    log('emuctl reset generate %d --mailings %d' % (args.profiles, args.mailings))
    emuctl('reset', 'generate', args.profiles, '--mailings', args.mailings)
    with urllib.request.urlopen('%s/publisher/emailings?access_token=%s&limit=200'
                                % (API, TOKEN)) as r:
        keys = [int(e.get('ID', e.get('id'))) for e in json.loads(r.read().decode())['data']]
    keys_sql = "'{%s}'::bigint[]" % ','.join(str(k) for k in keys)
    nemailings = api_total('publisher/emailings')
    emuctl('latency', args.latency)
    results = []
    try:
        for label, q in PARTS_QUERIES:
            got = {}
            for mc in (1, 4):
                conn, cur, pid = backend()
                with Measure(pid) as m:
                    cur.execute(q.format(mc=mc, keys=keys_sql))
                    rows = cur.fetchall()
                conn.close()
                got[mc] = (m.result(), rows, request_lines())
            # the same requests; a retry (the emulator dropping a connection
            # under load) repeats one, so the distinct ones are compared
            if got[1][1] != got[4][1] or set(got[1][2]) != set(got[4][2]):
                raise RuntimeError('%s: max_concurrency 4 read %r in %d requests, 1 read %r in %d'
                                   % (label, got[4][1], len(got[4][2]), got[1][1], len(got[1][2])))
            results.append((label, got[1][0], got[4][0], got[4][1][0][0],
                            len(set(got[4][2]))))
    finally:
        emuctl('latency', 0)
    emuctl('reset', 'empty')

    print()
    print('== parts: per-emailing scans, %d Publisher emailings, %d ms latency'
          % (nemailings, args.latency))
    print()
    header = '%-40s  %8s  %8s  %6s  %6s  %9s  %9s  %8s' % (
        'query', 'rows', 'distinct', 'mc1 n', 'mc4 n', 'mc 1 s', 'mc 4 s', 'speed-up')
    print(header)
    print('-' * len(header))
    for label, r1, r4, n, distinct in results:
        print('%-40s  %8d  %8d  %6d  %6d  %9.2f  %9.2f  %7.2fx' % (
            label, n, distinct, r1['requests'], r4['requests'], r1['wall'], r4['wall'],
            r1['wall'] / r4['wall']))
    print('(rows: the count read; distinct: the requests, the same set with either setting, '
          'checked against the emulator log; mc1 n, mc4 n: all requests, retries included)')


# -- the insert benchmark ------------------------------------------------------

INSERT_CONFIGS = [
    ('one at a time: batch_size 1, max_concurrency 1', {'batch_size': '1', 'max_concurrency': '1'}),
    ('default: batch_size 100, max_concurrency 4', {}),
    ('batch_size 100, max_concurrency 8', {'max_concurrency': '8'}),
    ('batch_size 100, max_concurrency 16', {'max_concurrency': '16'}),
]


def print_write_table(configs, results, args, check_header='emuctl profiles 1', note=True):
    """The insert, upsert and update results: medians per configuration, the
    speed-up against the first, and the check of the last run."""
    print()
    header = '%-46s  %7s  %7s  %8s  %6s  %8s  %7s  %s' % (
        'configuration', 'wall s', 'rows/s', 'speed-up', 'reqs', 'be CPU s', 'emu CPU',
        check_header)
    print(header)
    print('-' * len(header))
    base = statistics.median(r['wall'] for r in results[0])
    for (label, _o), rs in zip(configs, results):
        wall = statistics.median(r['wall'] for r in rs)
        print('%-46s  %7.2f  %7.0f  %7.2fx  %6d  %8.2f  %6.0f%%  %s' % (
            label, wall, args.rows / wall, base / wall,
            statistics.median(r['requests'] for r in rs),
            statistics.median(r['backend_cpu'] for r in rs),
            statistics.median(r['emu_pct'] for r in rs), rs[-1]['check']))
    if note:
        print('(medians of %d run%s)' % (args.runs, '' if args.runs == 1 else 's'))


def insert(args):
    setup_server()
    stmts = ['CREATE TABLE local_source AS SELECT '
             "'user' || i || '@example.com' AS email, 'Name' || i AS firstname, "
             '18 + i %% 60 AS age FROM generate_series(1, %d) i' % args.rows]
    for i, (_label, opts) in enumerate(INSERT_CONFIGS):
        o = ["database 'Customers'"] + ["%s '%s'" % kv for kv in sorted(opts.items())]
        stmts.append('CREATE FOREIGN TABLE ins%d (id bigint, email text, firstname text, '
                     'age integer) SERVER emulator OPTIONS (%s)' % (i, ', '.join(o)))
    sql('DROP TABLE IF EXISTS local_source', *stmts)

    results = [[] for _c in INSERT_CONFIGS]
    for run in range(args.runs):
        for i, (label, _opts) in enumerate(INSERT_CONFIGS):
            log('run %d of %d: %s' % (run + 1, args.runs, label))
            emuctl('reset', 'empty')
            emuctl('latency', args.latency)
            conn, cur, pid = backend()
            with Measure(pid) as m:
                cur.execute('INSERT INTO ins%d (email, firstname, age) '
                            'SELECT email, firstname, age FROM local_source' % i)
                n = cur.rowcount
            conn.close()
            emuctl('latency', 0)
            check = emuctl('profiles', 1)
            log('emuctl profiles 1: %s' % check)
            if n != args.rows or not check.startswith('count=%d ' % args.rows):
                raise RuntimeError('%s: INSERT said %d rows, emulator: %s' % (label, n, check))
            results[i].append(m.result(rows=n, check=check))

    print()
    print('== insert: INSERT INTO foreign_profiles (email, firstname, age) SELECT ... '
          'of %d rows, %d ms latency' % (args.rows, args.latency))
    print_write_table(INSERT_CONFIGS, results, args)
    sql('DROP TABLE local_source')


# -- the upsert benchmark ------------------------------------------------------

UPSERT_CONFIGS = [
    ('max_concurrency 1 (batch_size 100)', {'max_concurrency': '1'}),
    ('default: batch_size 100, max_concurrency 4', {}),
    ('batch_size 100, max_concurrency 8', {'max_concurrency': '8'}),
]


def upsert(args):
    """A sync: half of the rows' keys exist already (updated), half are new
    (created).  The emulator is reset and seeded (without latency) before
    each run; afterwards it must hold exactly one profile per key, with the
    upserted values."""
    setup_server()
    seeded = args.rows // 2
    stmts = ['CREATE TABLE local_source AS SELECT '
             "'user' || i || '@example.com' AS email, 'Synced' || i AS firstname, "
             '18 + i %% 60 AS age FROM generate_series(1, %d) i' % args.rows,
             "CREATE FOREIGN TABLE seed (id bigint, email text, firstname text) "
             "SERVER emulator OPTIONS (database 'Customers', max_concurrency '16')"]
    for i, (_label, opts) in enumerate(UPSERT_CONFIGS):
        o = ["database 'Customers'", "upsert_key 'email'"] + \
            ["%s '%s'" % kv for kv in sorted(opts.items())]
        stmts.append('CREATE FOREIGN TABLE ups%d (id bigint, email text, firstname text, '
                     'age integer) SERVER emulator OPTIONS (%s)' % (i, ', '.join(o)))
    sql('DROP TABLE IF EXISTS local_source', 'DROP FOREIGN TABLE IF EXISTS seed', *stmts)

    results = [[] for _c in UPSERT_CONFIGS]
    for run in range(args.runs):
        for i, (label, _opts) in enumerate(UPSERT_CONFIGS):
            log('run %d of %d: %s' % (run + 1, args.runs, label))
            emuctl('reset', 'empty')
            sql("INSERT INTO seed (email, firstname) SELECT email, 'Old' "
                'FROM local_source LIMIT %d' % seeded)
            emuctl('latency', args.latency)
            conn, cur, pid = backend()
            with Measure(pid) as m:
                cur.execute('INSERT INTO ups%d (email, firstname, age) '
                            'SELECT email, firstname, age FROM local_source' % i)
                n = cur.rowcount
            emuctl('latency', 0)
            cur.execute("SELECT count(*), count(*) FILTER (WHERE firstname LIKE 'Synced%%') "
                        'FROM seed')
            total, synced = cur.fetchone()
            conn.close()
            check = emuctl('profiles', 1)
            log('emuctl profiles 1: %s; synced %d of %d' % (check, synced, total))
            if (n != args.rows or not check.startswith('count=%d ' % args.rows)
                    or synced != args.rows):
                raise RuntimeError('%s: INSERT said %d rows, emulator: %s, synced %d'
                                   % (label, n, check, synced))
            results[i].append(m.result(rows=n, check=check))

    print()
    print('== upsert: INSERT INTO foreign_profiles (email, firstname, age) SELECT ... '
          'with upsert_key email, %d rows (%d keys exist, %d new), %d ms latency'
          % (args.rows, seeded, args.rows - seeded, args.latency))
    print_write_table(UPSERT_CONFIGS, results, args)
    sql('DROP TABLE local_source', 'DROP FOREIGN TABLE seed')
def update(args):
    """UPDATE of args.rows profiles at args.latency ms: one request at a time
    (max_concurrency 1) against the default 4 in flight."""
    setup_server()
    configs = [('max_concurrency 1', '1'), ('max_concurrency 4 (default)', '4')]
    for i, (_label, mc) in enumerate(configs):
        sql("CREATE FOREIGN TABLE upd%d (id bigint, age integer) SERVER emulator "
            "OPTIONS (database 'Customers', max_concurrency '%s')" % (i, mc))
    results = [[] for _c in configs]
    for run in range(args.runs):
        for i, (label, _mc) in enumerate(configs):
            log('run %d of %d: %s' % (run + 1, args.runs, label))
            emuctl('reset', 'generate', args.rows * 3, '--shape', 'sparse')
            sql('SELECT copernica_forget_metadata()')
            conn = connect()
            cur = conn.cursor()
            cur.execute('SELECT id FROM upd%d ORDER BY id OFFSET %d LIMIT 1'
                        % (i, args.rows - 1))
            last = cur.fetchone()[0]
            emuctl('latency', args.latency)
            cur.execute('SELECT pg_backend_pid()')
            pid = cur.fetchone()[0]
            with Measure(pid) as m:
                cur.execute('UPDATE upd%d SET age = age + 1000 WHERE id <= %d' % (i, last))
                n = cur.rowcount
            emuctl('latency', 0)
            puts = sum(1 for line in emuctl('log').splitlines() if line.startswith('PUT '))
            cur.execute('SELECT count(*) FROM upd%d WHERE age >= 1000' % i)
            changed = cur.fetchone()[0]
            conn.close()
            if n != args.rows or puts != args.rows or changed != args.rows:
                raise RuntimeError('%s: UPDATE said %d, %d PUTs, %d rows changed, not %d'
                                   % (label, n, puts, changed, args.rows))
            results[i].append(m.result(rows=n, check='%d PUTs, %d changed' % (puts, changed)))
    print()
    print('== update: UPDATE foreign_profiles SET age = age + 1000 WHERE id <= ... of %d rows'
          ' (of %d, sparse IDs), %d ms latency' % (args.rows, args.rows * 3, args.latency))
    print()
    print_write_table(configs, results, args, check_header='checked', note=False)
    print('(medians of %d run%s; every run checked: the statement\'s count, the PUTs in the'
          ' log and the rows changed)' % (args.runs, '' if args.runs == 1 else 's'))


def collection(args):
    """A full scan of the Orders collection on each ID shape: about args.rows
    subprofiles (the generated dataset gives profile i i % 3 orders, so as
    many profiles are generated), read once with every row checked against
    the emulator, its data requests against the issue's bound
    1.1 * ceil(rows / page_size) + 2 * max_concurrency, and how many
    requests were in flight when the last max_concurrency of them began."""
    page_size, mc = 1000, 4
    latencies = [int(x) for x in args.latencies.split(',')]
    setup_server()
    sql("CREATE FOREIGN TABLE orders (id bigint, profile bigint, ordernumber text,"
        " total float8, placed timestamp, status text) SERVER emulator"
        " OPTIONS (database 'Customers', collection 'Orders')")
    lines = []
    failed = []
    for shape in args.shapes.split(','):
        log('emuctl reset generate %d --shape %s' % (args.rows, shape))
        emuctl('reset', 'generate', args.rows, '--shape', shape)
        emuctl('latency', 0)
        want = dict(kv.split('=') for kv in emuctl('subprofiles', '1').split())
        rows, idsum = int(want['count']), int(want['idsum'])
        least = math.ceil(rows / float(page_size))
        bound = 1.1 * least + 2 * mc
        # warm-up: the emulator builds each subprofile's JSON the first time
        sql('SELECT copernica_forget_metadata()', 'SELECT count(id) FROM orders')
        for lat in latencies:
            sql('SELECT copernica_forget_metadata()')
            emuctl('latency', lat)
            conn, cur, pid = backend()
            with Measure(pid) as m:
                # count(id), not count(*): count(*) is Copernica's total
                cur.execute('SELECT count(id), count(DISTINCT id), sum(id) FROM orders')
                got = cur.fetchone()
            emuctl('latency', 0)
            conn.close()
            data = sum(1 for line in emuctl('log').splitlines()
                       if line.startswith('GET /v2/collection/1/subprofiles?start='))
            at_end = int(emuctl('log', '--in-flight-at-end', mc))
            ok = got == (rows, rows, idsum) and data <= bound
            if not ok:
                failed.append('%s at %d ms' % (shape, lat))
            lines.append('%-9s %5d ms %8d %8s %6d %6d %7.1f %6s %9d %7.2f %7.2f %5d'
                         % (shape, lat, rows, 'yes' if got == (rows, rows, idsum) else 'NO',
                            data, least, bound, 'yes' if data <= bound else 'NO', at_end,
                            m.wall, m.backend_cpu, m.requests))
    print()
    print('== collection: SELECT count(id), count(DISTINCT id), sum(id) FROM orders'
          ' (collection Orders, page_size %d, max_concurrency %d, a fresh connection each)'
          % (page_size, mc))
    print()
    print('shape     latency     rows  rows ok   data  least   bound within  at end   wall s  be CPU  reqs')
    print('-' * 98)
    for line in lines:
        print(line)
    print('(data: GETs of the collection\'s pages and cuts, planning\'s left out; least:'
          ' ceil(rows / page_size); bound: 1.1 * least + 2 * max_concurrency; at end: the most'
          ' requests in flight when one of the last %d began; reqs: all requests, planning\'s'
          ' included)' % mc)
    if failed:
        raise RuntimeError('rows or requests out of bounds: %s' % ', '.join(failed))


# -- the own-rows benchmark ----------------------------------------------------

OWN_SHAPES = [
    ('consecutive IDs (no other client)', None),
    ("interleaved: another client's profile after each", ('1', '1', '--into', 'Customers')),
]
OWN_CONTEXT = 'copernica_fdw own rows'


def own_rows(args):
    """COPY of N profiles in one transaction: the memory the registry of the
    rows it created takes (src/own_rows.c, its context and any child), and
    the backend CPU of a scan that checks every row against it (a cursor
    declared before the COPY, which must read none of them) and of one that
    checks none (declared after it)."""
    setup_server()
    sql('DROP FOREIGN TABLE IF EXISTS own_t',
        "CREATE FOREIGN TABLE own_t (id bigint, email text) SERVER emulator "
        "OPTIONS (database 'Customers')")
    data = ''.join('own%d@example.com\n' % i for i in range(args.rows))
    results = []
    for label, gaps in OWN_SHAPES:
        log('%s: COPY of %d rows' % (label, args.rows))
        emuctl('reset', 'empty')
        if gaps:
            emuctl('id-gaps', *gaps)
        conn, cur, pid = backend()
        conn.autocommit = False
        cur.execute('DECLARE before_copy CURSOR FOR SELECT id FROM own_t')
        with Measure(pid) as copy_m:
            cur.copy_expert('COPY own_t (email) FROM STDIN', io.StringIO(data))
        copied = cur.rowcount
        cur.execute('SELECT coalesce(sum(total_bytes), 0), coalesce(sum(used_bytes), 0) '
                    'FROM pg_backend_memory_contexts WHERE %s IN (name, ident, parent)',
                    (OWN_CONTEXT,))
        total_bytes, used_bytes = cur.fetchone()
        cur.execute('DECLARE after_copy CURSOR FOR SELECT id FROM own_t')
        with Measure(pid) as checked:
            cur.execute('FETCH ALL FROM before_copy')
            read_before = len(cur.fetchall())
        with Measure(pid) as unchecked:
            cur.execute('FETCH ALL FROM after_copy')
            read_after = len(cur.fetchall())
        conn.commit()
        conn.close()
        emuctl('id-gaps', 0, 0)
        others = args.rows if gaps else 0
        if copied != args.rows or read_before != others or read_after != args.rows + others:
            raise RuntimeError('%s: COPY said %d rows; the cursor declared before it read %d '
                               '(expected %d), the one after %d (expected %d)'
                               % (label, copied, read_before, others, read_after,
                                  args.rows + others))
        results.append((label, copy_m.result(), total_bytes, used_bytes,
                        checked.result(), unchecked.result(), read_after))
    emuctl('reset', 'empty')

    print()
    print('== own_rows: COPY of %d profiles in one transaction, then two scans of them'
          % args.rows)
    print()
    header = '%-50s  %6s  %8s  %10s  %10s  %8s  %8s  %8s' % (
        'IDs', 'COPY s', 'COPY CPU', 'ctx bytes', 'used bytes', 'rows', 'chk CPU', 'CPU')
    print(header)
    print('-' * len(header))
    for label, c, total, used, chk, unchk, rows in results:
        print('%-50s  %6.1f  %8.2f  %10d  %10d  %8d  %8.3f  %8.3f' % (
            label, c['wall'], c['backend_cpu'], total, used, rows, chk['backend_cpu'],
            unchk['backend_cpu']))
    print('(ctx bytes, used bytes: the "%s" memory context and its children after the COPY, '
          'from pg_backend_memory_contexts; rows: read by the scan after the COPY; chk CPU: '
          'backend CPU s of the scan declared before the COPY, which checks every row and '
          'drops the copied ones; CPU: the one declared after, which checks none)' % OWN_CONTEXT)


def main():
    ap = argparse.ArgumentParser(description='copernica_fdw benchmarks (run by test/bench/*.sh)')
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('scan')
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--rows', type=int, default=100000)
    p.add_argument('--latencies', default='0,20,100')
    p.add_argument('--shapes', default='dense,sparse,clustered,skewed,removed',
                   help='ID shapes of the generated profiles (emuctl reset generate --shape)')
    p.add_argument('--quick', action='store_true', help='skip the 1,000,000-row memory run')
    p.add_argument('--profile', action='store_true', help='perf record the backend')
    for name in ('insert', 'upsert'):
        p = sub.add_parser(name)
        p.add_argument('--runs', type=int, default=3)
        p.add_argument('--rows', type=int, default=10000)
        p.add_argument('--latency', type=int, default=20)
    p = sub.add_parser('events')
    p.add_argument('--profiles', type=int, default=100000)
    p.add_argument('--mailings', type=int, default=10)
    p = sub.add_parser('update')
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--rows', type=int, default=1000)
    p.add_argument('--latency', type=int, default=20)
    p = sub.add_parser('collection')
    p.add_argument('--rows', type=int, default=150000)
    p.add_argument('--shapes', default='dense,sparse,clustered,skewed,removed',
                   help='ID shapes of the generated dataset (emuctl reset generate --shape)')
    p.add_argument('--latencies', default='0,20')
    p = sub.add_parser('parts')
    p.add_argument('--profiles', type=int, default=100)
    p.add_argument('--mailings', type=int, default=1200)
    p.add_argument('--latency', type=int, default=20)
    p = sub.add_parser('own_rows')
    p.add_argument('--rows', type=int, default=100000)
    args = ap.parse_args()
    if getattr(args, 'runs', 1) < 1 or getattr(args, 'rows', 1) < 1:
        ap.error('--runs and --rows must be positive')
    os.makedirs(OUT, exist_ok=True)
    load0 = os.getloadavg()[0]
    if args.cmd == 'scan':
        scan(args)
    elif args.cmd == 'upsert':
        upsert(args)
    elif args.cmd == 'events':
        events(args)
    elif args.cmd == 'update':
        update(args)
    elif args.cmd == 'collection':
        collection(args)
    elif args.cmd == 'parts':
        parts(args)
    elif args.cmd == 'own_rows':
        own_rows(args)
    else:
        insert(args)
    print('load average (1 min): %.2f at the start, %.2f at the end, on %d CPUs'
          % (load0, os.getloadavg()[0], os.cpu_count()))


if __name__ == '__main__':
    main()
