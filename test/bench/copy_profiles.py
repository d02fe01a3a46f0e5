#!/usr/bin/python3
"""What users do without copernica_fdw: page through the Copernica API and
COPY the profiles into a local table.

Standard library (urllib, json) plus Debian's python3-psycopg2.  It connects
to PostgreSQL through the usual libpq environment (PGHOST, PGPORT, ...),
creates TABLE (dropped first if it exists), asks for pages of 1000 profiles
(limit=1000&total=false&dataonly=true) one after the other until a short
page, and COPYs each page into the table as it arrives, in one transaction.
Values are mapped the way copernica_fdw maps them: Copernica has no NULL, so
an empty string is NULL for every column but text, and 0000-00-00 is a NULL
date.

    copy_profiles.py --url http://127.0.0.1:PORT/v2 --token TOKEN \
        [--database 1] [--table python_profiles] [--stats]

With --stats it prints one JSON line with its wall time, rows, pages, its own
CPU time and its PostgreSQL backend's CPU time and peak memory (for
test/bench/bench.py).
"""

import argparse
import io
import json
import resource
import sys
import time
import urllib.parse
import urllib.request

import psycopg2

# (column, SQL type, Copernica field); the same columns and types as the
# foreign table test/bench/bench.py creates.
COLUMNS = [
    ('id', 'bigint', None),
    ('email', 'text', 'email'),
    ('firstname', 'text', 'firstname'),
    ('lastname', 'text', 'lastname'),
    ('city', 'text', 'city'),
    ('age', 'integer', 'age'),
    ('score', 'numeric', 'score'),
    ('birthday', 'date', 'birthday'),
    ('signup', 'date', 'signup'),
    ('lastvisit', 'timestamp', 'lastvisit'),
    ('segment', 'text', 'segment'),
    ('notes', 'text', 'notes'),
    ('referrer', 'bigint', 'referrer'),
    ('newsletter', 'text', 'newsletter'),
]

PAGE_SIZE = 1000

# COPY's text format: backslash, tab, newline and carriage return escaped
ESCAPES = str.maketrans({'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'})


def copy_value(value, sqltype):
    if value is None:
        return '\\N'
    if sqltype != 'text':
        if value == '' or (sqltype in ('date', 'timestamp') and value.startswith('0000-00-00')):
            return '\\N'
    return value.translate(ESCAPES)


def fetch_page(url, token, database, start):
    query = urllib.parse.urlencode({
        'access_token': token, 'start': start, 'limit': PAGE_SIZE,
        'total': 'false', 'dataonly': 'true'})
    with urllib.request.urlopen('%s/database/%s/profiles?%s' % (url, database, query),
                                timeout=300) as resp:
        return json.loads(resp.read())


def backend_usage(pid):
    """The backend's CPU seconds (/proc/PID/schedstat, in nanoseconds) and
    minor page faults (/proc/PID/stat), as bench.py measures the wrapper's."""
    with open('/proc/%d/schedstat' % pid) as f:
        cpu = int(f.read().split()[0]) / 1e9
    with open('/proc/%d/stat' % pid) as f:
        faults = int(f.read().rsplit(')', 1)[1].split()[7])
    return cpu, faults


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--url', required=True, help='the API, e.g. https://api.copernica.com/v2')
    ap.add_argument('--token', required=True)
    ap.add_argument('--database', default='1', help='database ID (default 1)')
    ap.add_argument('--table', default='python_profiles')
    ap.add_argument('--stats', action='store_true')
    args = ap.parse_args()

    t0 = time.perf_counter()
    conn = psycopg2.connect('')
    cur = conn.cursor()
    cur.execute('SELECT pg_backend_pid()')
    backend = cur.fetchone()[0]
    cur.execute('DROP TABLE IF EXISTS %s' % args.table)
    cur.execute('CREATE TABLE %s (%s)' % (
        args.table, ', '.join('%s %s' % (c, t) for c, t, _f in COLUMNS)))

    cpu0, faults0 = backend_usage(backend)
    start = rows = pages = 0
    while True:
        page = fetch_page(args.url.rstrip('/'), args.token, args.database, start)
        items = page['data']
        pages += 1
        buf = io.StringIO()
        for item in items:
            fields = item['fields']
            buf.write('\t'.join(
                copy_value(item['ID'] if f is None else fields.get(f), t)
                for _c, t, f in COLUMNS))
            buf.write('\n')
        buf.seek(0)
        cur.copy_expert('COPY %s FROM STDIN' % args.table, buf)
        rows += len(items)
        start += len(items)
        if len(items) < PAGE_SIZE:
            break
    conn.commit()
    wall = time.perf_counter() - t0

    if args.stats:
        cpu, faults = backend_usage(backend)
        with open('/proc/%d/status' % backend) as f:
            hwm = [int(line.split()[1]) for line in f if line.startswith('VmHWM:')][0]
        me = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({
            'wall': wall, 'rows': rows, 'pages': pages,
            'client_cpu': me.ru_utime + me.ru_stime,
            'backend_cpu': cpu - cpu0, 'backend_faults': faults - faults0,
            'backend_hwm_kb': hwm}))
    else:
        print('%d rows in %d pages, %.2f s' % (rows, pages, wall))
    conn.close()


if __name__ == '__main__':
    sys.exit(main())
