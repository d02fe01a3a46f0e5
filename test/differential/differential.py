#!/usr/bin/env python3
"""Differential test: the foreign table and a local copy of it must agree.

Pushdown must never change a result.  This copies the emulator's data into
a local table (straight from the emulator's control API, not through the
wrapper, so that a conversion bug cannot show on both sides) and runs several hundred queries generated from a fixed seed
against both: comparisons with every operator on every column type, with
constants drawn from the data (in other cases, padded, accent-stripped,
absent, NULL, with % and _), LIKE / ILIKE (with escapes and ESCAPE),
IS NULL, IN lists and id = ANY, AND / OR / NOT, equality under a
nondeterministic collation, ORDER BY (ties broken on id) with LIMIT and
OFFSET, joins and lateral subqueries with a local table, rescans, cursors,
prepared statements (custom and generic plans) and aggregates.  Each query's
output must be the same on both, row for row when it is ordered, as a
sorted list of rows otherwise.  One round runs on the emulator's
`generate 300` dataset, one on `demo`.

Needs the PG* variables of a cluster where copernica_fdw can be created (as
test/run-tests.sh sets them inside pg_virtualenv), COPERNICA_EMULATOR_URL,
COPERNICA_EMULATOR_CONTROL (the reference data is read there), COPERNICA_TOKEN
and EMUCTL (which reads COPERNICA_EMULATOR_CONTROL too).  It resets the
emulator, and creates and drops the database "differential".
Python 3 standard library only; psql does the talking, one session per
table and round, so the whole run takes seconds.

Prints one line per failing query (the query and both outputs, cut short),
then "differential: N passed, M failed" as its last line, each generated
query counting as one test; exits 1 when anything failed.

    test/differential/differential.py [--seed S] [--queries N]
        [--keep DIR] [--verbose]

--keep leaves the psql scripts and their outputs in DIR, to rerun a
failing query by hand.
"""

import argparse
import datetime
import decimal
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
import urllib.request

SEED = 20240611
DB = 'differential'
FS = '\x1f'                 # psql field separator
RS = '\x1e'                 # psql record separator
NULL = '<NULL>'
MARK = re.compile(r'^@@(Q|E) (\d+)@@(.*)$')

# (column, type); the same for the foreign table and its local copy
COLUMNS = [
    ('id', 'bigint'), ('email', 'text'), ('firstname', 'text'), ('lastname', 'text'),
    ('city', 'text'), ('age', 'integer'), ('score', 'numeric'), ('birthday', 'date'),
    ('signup', 'date'), ('lastvisit', 'timestamp'), ('segment', 'text'), ('notes', 'text'),
    ('referrer', 'bigint'), ('newsletter', 'text'), ('modified', 'timestamp'),
]
CTYPE = dict(COLUMNS)
# (label, emuctl reset arguments, queries)
ROUNDS = [('generate', ['generate', '300', '--seed', '1'], 400), ('demo', ['demo'], 200)]

# ---------------------------------------------------------------------------
# psql


def psql_path():
    pg_config = os.environ.get('PG_CONFIG')
    if pg_config:
        try:
            bindir = subprocess.run([pg_config, '--bindir'], capture_output=True, text=True,
                                    check=True).stdout.strip()
            cand = os.path.join(bindir, 'psql')
            if os.access(cand, os.X_OK):
                return cand
        except (OSError, subprocess.CalledProcessError):
            pass
    return 'psql'


PSQL = psql_path()
PSQL_ARGS = ['-X', '-q', '-A', '-t', '-F', FS, '-R', RS, '-P', 'null=' + NULL,
             '-v', 'ON_ERROR_STOP=0']


def psql(sql, db=DB, check=True, variables=()):
    """Run sql (stopping at the first error) and return its output."""
    args = [PSQL] + PSQL_ARGS + ['-v', 'ON_ERROR_STOP=1', '-d', db]
    for name, value in variables:
        args += ['-v', '%s=%s' % (name, value)]
    p = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError('psql failed (%d): %s' % (p.returncode, p.stderr.strip()))
    return p.stdout


def rows_of(out):
    out = out[:-1] if out.endswith('\n') else out
    if out == '':
        return []
    return [[None if v == NULL else v for v in r.split(FS)] for r in out.split(RS)]


def strip_accents(s):
    return ''.join(c for c in unicodedata.normalize('NFKD', s) if not unicodedata.combining(c))


def lit(s):
    """A SQL string literal for s ('NULL' for None)."""
    if s is None:
        return 'NULL'
    if any(ord(c) < 32 for c in s):
        out = []
        for c in s:
            if c == '\\':
                out.append('\\\\')
            elif c == "'":
                out.append("''")
            elif c == '\n':
                out.append('\\n')
            elif c == '\t':
                out.append('\\t')
            elif c == '\r':
                out.append('\\r')
            elif ord(c) < 32:
                out.append('\\x%02x' % ord(c))
            else:
                out.append(c)
        return "E'" + ''.join(out) + "'"
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# the query generator


class Test:
    __slots__ = ('n', 'stmts', 'ordered', 'kind')

    def __init__(self, stmts, ordered, kind):
        self.n = 0
        self.stmts = stmts          # SQL statements with {T} for the table
        self.ordered = ordered      # output order is deterministic
        self.kind = kind

    def text(self, table='customers'):
        return ' '.join(s.replace('{T}', table) for s in self.stmts)


class Generator:
    def __init__(self, rng, rows, nondet_collations):
        self.r = rng
        self.collations = nondet_collations
        self.values = {c: [] for c, _ in COLUMNS}
        for row in rows:
            for (c, _), v in zip(COLUMNS, row):
                if v is not None:
                    self.values[c].append(v)
        self.ids = [int(v) for v in self.values['id']]
        mods = self.values['modified']
        self.modified_unique = len(set(mods)) == len(mods)

    # -- helpers -----------------------------------------------------------

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def data_value(self, col):
        vals = self.values[col]
        return self.pick(vals) if vals else None

    def case_variant(self, s):
        k = self.r.randrange(4)
        if k == 0:
            return s.upper()
        if k == 1:
            return s.lower()
        if k == 2:
            return s.swapcase()
        return s[:1].lower() + s[1:].upper() if s else s

    def text_value(self, col):
        """A text constant: present, in another case, padded, absent, odd."""
        v = self.data_value(col) or ''
        k = self.r.random()
        if k < 0.40:
            return v
        if k < 0.55:
            return self.case_variant(v)
        if k < 0.62:
            return v + ' '
        if k < 0.65:
            return ' ' + v
        if k < 0.67:
            return v + '\u00a0'
        if k < 0.69:
            return strip_accents(self.case_variant(v) if self.chance(0.5) else v)
        if k < 0.72:
            return v[:max(1, len(v) // 2)]
        if k < 0.76:
            return ''
        return self.pick(['Nowhere', 'amsterdamx', 'x', '%', '_', '50%', 'a_b', 'O\'Brien',
                          'Zoe', 'ZOË', 'zoë', 'juergen', 'Jürgen', 'AMSTERDAM', 'amsterdam',
                          'Amsterdam', 'gold', 'GOLD', 'Gold', 'yes', 'YES', 'no', '東京',
                          'line1\nline2', 'path C:\\data', 'Path C:\\temp\\orders', 'VIP',
                          'vip', '100%_match', 'code_SAVE_10', 'said "hello"', '\\', "'",
                          'example.com', 'Den Haag', 'den haag', 'Kraków', 'KRAKÓW',
                          'Tab\there', 'multi\nline', "'s-Hertogenbosch", 'São Paulo'])

    def int_value(self, col):
        vals = self.values[col]
        k = self.r.random()
        if vals and k < 0.6:
            return self.pick(vals)
        if vals and k < 0.8:
            return str(int(self.pick(vals)) + self.pick([-1, 1]))
        return self.pick(['0', '-1', '1', '2', '18', '80', '81', '150', '299', '300', '301',
                          '3000000000', '-9223372036854775808', '9223372036854775807'])

    def int_literal(self, col):
        v = self.int_value(col)
        big = abs(int(v)) > 2147483647
        k = self.r.random()
        if k < 0.6 or (big and CTYPE[col] == 'integer' and k < 0.9):
            return v if int(v) >= 0 else '(%s)' % v
        if k < 0.7:
            return lit(v)                       # unknown-typed: the column's type
        if k < 0.8 and not big:
            return '%s::bigint' % lit(v)
        if k < 0.9 and abs(int(v)) < 32768:
            return '%s::smallint' % lit(v)
        if k < 0.95:
            return '%s::numeric' % lit(v)
        return '(%s + 0)' % (v if int(v) >= 0 else '(%s)' % v)

    def numeric_literal(self):
        vals = self.values['score']
        k = self.r.random()
        if vals and k < 0.5:
            v = self.pick(vals)
        elif vals and k < 0.7:
            v = str(decimal.Decimal(self.pick(vals)) + decimal.Decimal('0.005'))
        elif vals and k < 0.8:
            v = self.pick(vals)
            v = v + '0' if '.' in v else v + '.00'      # the same number, written longer
        else:
            v = self.pick(['0', '5', '7.5', '7.50', '9.99', '100', '-1', '0.07'])
        if self.chance(0.3):
            return lit(v)
        if self.chance(0.2):
            return '%s::float8' % lit(v)
        return v

    def date_value(self):
        vals = self.values['birthday'] + self.values['signup']
        k = self.r.random()
        if vals and k < 0.55:
            return self.pick(vals)
        if vals and k < 0.8:
            d = datetime.date.fromisoformat(self.pick(vals))
            return (d + datetime.timedelta(days=self.pick([-1, 1, 365]))).isoformat()
        return self.pick(['1950-01-01', '1970-01-01', '2000-02-29', '2015-01-01', '2024-01-01',
                          '0001-01-01', '9999-12-31', 'infinity', '-infinity',
                          '0044-03-15 BC', '10000-01-01'])

    def date_literal(self):
        v = self.date_value()
        k = self.r.random()
        if k < 0.5:
            return lit(v)
        if k < 0.8:
            return 'DATE ' + lit(v)
        if k < 0.9 and v not in ('infinity', '-infinity') and 'BC' not in v \
                and not v.startswith('1000'):
            return "(DATE %s + %d)" % (lit(v), self.r.randrange(-3, 4))
        return '%s::date' % lit(v)

    def ts_value(self, col):
        vals = self.values[col] or self.values['modified']
        k = self.r.random()
        if vals and k < 0.45:
            return self.pick(vals)
        if vals and k < 0.75:
            t = datetime.datetime.fromisoformat(self.pick(vals))
            delta = self.pick([-1, 1, -0.5, 0.5, 0.25, 86400, -86400, 0.000001])
            t = t + datetime.timedelta(seconds=delta)
            return t.isoformat(' ')
        if vals and k < 0.8:
            return self.pick(vals)[:10]
        return self.pick(['2019-12-31 23:59:59', '2020-01-01', '2021-06-15 12:00:00',
                          '2022-01-01 00:00:00.5', '2024-01-15 10:30:00', 'infinity',
                          '-infinity', '1999-01-01 00:00:00', '10000-01-01 00:00:00',
                          '0010-01-01 00:00:00 BC'])

    def ts_day(self, col):
        return self.ts_value(col).split(' ')[0]

    def ts_literal(self, col):
        v = self.ts_value(col)
        k = self.r.random()
        if k < 0.45:
            return lit(v)
        if k < 0.75:
            return 'TIMESTAMP ' + lit(v)
        if k < 0.85 and v not in ('infinity', '-infinity') and 'BC' not in v \
                and not v.startswith('1000'):
            # stable: evaluated at scan start
            return "(%s::timestamptz)::timestamp" % lit(v)
        if k < 0.95 and v not in ('infinity', '-infinity') and 'BC' not in v \
                and not v.startswith('1000'):
            return "(TIMESTAMP %s + interval '%d seconds')" % (lit(v), self.r.randrange(-2, 3))
        return '%s::timestamp' % lit(v)

    def literal(self, col):
        t = CTYPE[col]
        if self.chance(0.02):
            return self.pick(['NULL', 'NULL::%s' % t])
        if t == 'text':
            return lit(self.text_value(col))
        if t in ('integer', 'bigint'):
            return self.int_literal(col)
        if t == 'numeric':
            return self.numeric_literal()
        if t == 'date':
            return self.date_literal()
        return self.ts_literal(col)

    # -- predicates ----------------------------------------------------------

    def like_pattern(self, col):
        v = self.data_value(col) or 'x'
        k = self.r.randrange(14)
        if k == 0:
            p = v[:self.r.randrange(0, len(v) + 1)] + '%'
        elif k == 1:
            p = '%' + v[self.r.randrange(0, len(v) + 1):]
        elif k == 2:
            i = self.r.randrange(0, len(v) + 1)
            p = '%' + v[i:i + self.r.randrange(1, 4)] + '%'
        elif k == 3:
            i = self.r.randrange(0, max(1, len(v)))
            p = v[:i] + '_' + v[i + 1:]
        elif k == 4:
            p = v
        elif k == 5:
            p = self.case_variant(v[:max(1, len(v) // 2)]) + '%'
        elif k == 6:
            # escaped wildcards: a literal % or _
            p = v.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
            if self.chance(0.5):
                p = p[:max(1, len(p) // 2)]
                p = p[:-1] if p.endswith('\\') else p
                p += '%'
        elif k == 7:
            p = v[:3] + '% '
        elif k == 8:
            p = self.pick(['%', '', '_', '__%', '%_', '%\\%%', '%\\_%', '%\\\\%', '%%',
                           '%.nl', '%.NL', '%@example.com', '%\n%', '%"%', "%'%", '%é%',
                           '%ë%', '%東%', '_____', '%0%', '50\\% %', '%\\_SAVE\\_%',
                           '100\\%\\_match', '%a%b%', '%C:\\\\%'])
        elif k == 9:
            p = '%' + self.case_variant(v[len(v) // 2:])
        elif k == 10:
            p = v + '%'
        elif k == 11:
            p = v[:1] + '%' + v[-1:] if v else '%'
        elif k == 12:
            p = ''.join('_' if self.chance(0.3) else c for c in v)
        else:
            p = v.replace(' ', '%')
        return p

    def like_atom(self, a, col):
        p = self.like_pattern(col)
        op = self.pick(['LIKE', 'LIKE', 'LIKE', 'ILIKE', 'NOT LIKE', 'NOT ILIKE'])
        k = self.r.random()
        if k < 0.08:
            # ESCAPE: another escape character, or none
            esc = self.pick(['!', ''])
            if esc == '!':
                p = p.replace('\\', '!')
            return '%s%s %s %s ESCAPE %s' % (a, col, op, lit(p), lit(esc))
        if k < 0.12:
            return '%s%s %s %s' % (a, col, op.replace('NOT LIKE', '!~~').replace(
                'NOT ILIKE', '!~~*').replace('ILIKE', '~~*').replace('LIKE', '~~'), lit(p))
        if k < 0.15:
            return '%s%s %s %s COLLATE "C"' % (a, col, op, lit(p))
        return '%s%s %s %s' % (a, col, op, lit(p))

    def cmp_atom(self, a, col):
        t = CTYPE[col]
        if t == 'text':
            op = self.pick(['=', '=', '=', '=', '<>', '!=', '<', '>', '<=', '>='])
        else:
            op = self.pick(['=', '<>', '<', '>', '<=', '>='])
        v = self.literal(col)
        coll = ''
        if t == 'text' and op == '=' and self.collations and self.chance(0.2):
            # nondeterministic: equal to more than the API finds
            coll = ' COLLATE %s' % self.pick(self.collations)
            if self.chance(0.7):
                v = lit(strip_accents(self.case_variant(self.data_value(col) or '')))
        elif t == 'text' and self.chance(0.04):
            coll = ' COLLATE "C"'
        if self.chance(0.2):
            flip = {'<': '>', '>': '<', '<=': '>=', '>=': '<='}.get(op, op)
            return '%s %s %s%s' % (v, flip, a + col, coll)
        return '%s%s %s %s%s' % (a, col, op, v, coll)

    def null_atom(self, a, col):
        k = self.r.random()
        if k < 0.4:
            return '%s%s IS NULL' % (a, col)
        if k < 0.8:
            return '%s%s IS NOT NULL' % (a, col)
        return '%s%s IS %sDISTINCT FROM %s' % (a, col, self.pick(['', 'NOT ']),
                                               self.literal(col))

    def in_atom(self, a, col):
        n = self.r.randrange(1, 6)
        items = [self.literal(col) for _ in range(n)]
        if col == 'id' and self.chance(0.6):
            ids = [str(self.pick(self.ids)) if self.chance(0.7)
                   else self.pick(['0', '-1', '99999', 'NULL']) for _ in range(n)]
            if self.chance(0.2):
                ids.append(ids[0])
            k = self.r.random()
            neg = 'NOT ' if self.chance(0.1) else ''
            if k < 0.4:
                return '%s%s %sIN (%s)' % (a, col, neg, ', '.join(ids))
            if k < 0.7:
                small = all(i == 'NULL' or abs(int(i)) < 32768 for i in ids)
                return '%s%s = ANY (ARRAY[%s]::%s[])' % (
                    a, col, ', '.join(ids),
                    self.pick(['bigint', 'int'] + (['smallint'] if small else [])))
            if k < 0.85:
                return "%s%s = ANY (%s::bigint[])" % (
                    a, col, lit('{' + ','.join(i for i in ids) + '}'))
            return '%s%s <> ALL (ARRAY[%s]::bigint[])' % (a, col, ', '.join(ids))
        neg = 'NOT ' if self.chance(0.2) else ''
        return '%s%s %sIN (%s)' % (a, col, neg, ', '.join(items))

    def between_atom(self, a, col):
        x, y = self.literal(col), self.literal(col)
        return '%s%s %sBETWEEN %s%s AND %s' % (a, col, self.pick(['', '', 'NOT ']),
                                               self.pick(['', 'SYMMETRIC ']), x, y)

    def expr_atom(self, a, col):
        t = CTYPE[col]
        if t == 'text':
            return self.pick([
                'lower(%s%s) = lower(%s)' % (a, col, lit(self.text_value(col))),
                'upper(%s%s) LIKE %s' % (a, col, lit(self.like_pattern(col).upper())),
                'length(%s%s) %s %d' % (a, col, self.pick(['<', '>', '=']),
                                        self.r.randrange(0, 20)),
                "coalesce(%s%s, '') = %s" % (a, col, lit(self.text_value(col))),
                "%s%s ~ %s" % (a, col, lit(self.pick(['^A', 'a$', '[0-9]', '^$', ' ']))),
                "%s%s || 'x' = %s" % (a, col, lit((self.data_value(col) or '') + 'x')),
                "%s%s = %s::varchar" % (a, col, lit(self.text_value(col))),
                "%s%s = %s::name" % (a, col, lit(self.text_value(col))),
                "%s%s::varchar(4) = %s" % (a, col, lit((self.data_value(col) or '')[:4])),
            ])
        if t in ('integer', 'bigint'):
            return self.pick([
                '%s%s + 1 > %s' % (a, col, self.int_value(col)),
                '%s%s %% 7 = %d' % (a, col, self.r.randrange(7)),
                '%s%s::text = %s' % (a, col, lit(self.int_value(col))),
                '%s%s = %s' % (a, col, self.numeric_literal()),
                "%s%s > (SELECT min(%s) FROM picks)" % (a, col, self.pick(['age', 'pid'])),
            ])
        if t == 'numeric':
            return self.pick([
                'round(%s%s) = %s' % (a, col, self.pick(['5', '7', '8'])),
                '%s%s::float8 > %s' % (a, col, self.numeric_literal()),
                '%s%s * 2 < %s' % (a, col, self.numeric_literal()),
            ])
        if t == 'date':
            return self.pick([
                'extract(year from %s%s) = %d' % (a, col, self.r.randrange(1950, 2025)),
                "%s%s::text LIKE %s" % (a, col, lit(self.date_value()[:4] + '%')),
                '%s%s > %s::timestamp' % (a, col, lit(self.date_value())),
                "%s%s < now()" % (a, col),
                '%s%s = %s::timestamp' % (a, col, lit(self.date_value())),
            ])
        return self.pick([
            '%s%s::date = %s' % (a, col, lit(self.ts_day(col))),
            "date_trunc('day', %s%s) = %s" % (a, col, lit(self.ts_day(col))),
            '%s%s > %s::date' % (a, col, lit(self.ts_day(col))),
            "%s%s >= %s::timestamptz" % (a, col, lit(self.ts_value(col))),
            "%s%s < now()" % (a, col),
            "%s%s > TIMESTAMP %s + interval '1 day'" % (a, col, lit(self.ts_value(col))),
        ])

    def atom(self, a='', cols=None):
        col = self.pick(cols or [c for c, _ in COLUMNS])
        t = CTYPE[col]
        k = self.r.random()
        if t == 'text' and k < 0.25:
            return self.like_atom(a, col)
        if k < 0.70:
            return self.cmp_atom(a, col)
        if k < 0.80:
            return self.null_atom(a, col)
        if k < 0.87:
            return self.in_atom(a, col)
        if k < 0.92 and t != 'text':
            return self.between_atom(a, col)
        return self.expr_atom(a, col)

    def pred(self, a='', depth=2):
        k = self.r.random()
        if depth == 0 or k < 0.6:
            return self.atom(a)
        if k < 0.8:
            return '(%s OR %s)' % (self.pred(a, depth - 1), self.pred(a, depth - 1))
        if k < 0.9:
            return '(%s AND %s)' % (self.pred(a, depth - 1), self.pred(a, depth - 1))
        return 'NOT (%s)' % self.pred(a, depth - 1)

    def where(self, a='', nmax=3):
        n = self.r.randrange(1, nmax + 1)
        return ' AND '.join(self.pred(a) for _ in range(n))

    def select_list(self, a=''):
        lists = [['*'] if not a else [a + '*'],
                 ['id'], ['id', 'email'], ['id', 'city', 'age'],
                 ['id', 'firstname', 'lastname', 'modified'],
                 ['id', 'score', 'birthday', 'signup', 'lastvisit'],
                 ['id', 'segment', 'notes', 'referrer', 'newsletter'],
                 ['id', 'upper(city)', 'age * 2', 'lastvisit::date']]
        cols = self.pick(lists)
        if cols == ['*'] or cols == [a + '*']:
            return cols[0]
        return ', '.join(c if '(' in c or ' ' in c else a + c for c in cols)

    # -- order ---------------------------------------------------------------

    def order_by(self, a=''):
        """A total ORDER BY (ties broken on id)."""
        k = self.r.random()
        d = lambda: self.pick(['', '', ' ASC', ' DESC'])
        nulls = lambda: self.pick(['', '', ' NULLS FIRST', ' NULLS LAST'])
        if k < 0.25:
            return '%sid%s%s' % (a, d(), self.pick(['', '', ' NULLS FIRST', ' NULLS LAST']))
        if k < 0.40 and self.modified_unique:
            return '%smodified%s' % (a, d())
        if k < 0.50:
            return '%smodified%s, %sid%s' % (a, d(), a, d())
        key = self.pick(['city', 'email', 'firstname', 'lastname', 'age', 'score', 'birthday',
                         'signup', 'lastvisit', 'segment', 'referrer', 'notes',
                         'lower(%scity)' % a, '%sage %% 10' % a, '%sscore::int' % a,
                         'length(%snotes)' % a, 'city COLLATE "C"'])
        if '(' not in key and ' ' not in key:
            key = a + key
        elif key.startswith('city '):
            key = a + key
        return '%s%s%s, %sid%s' % (key, d(), nulls(), a, d())

    def limit_offset(self):
        parts = []
        k = self.r.random()
        if k < 0.85:
            parts.append('LIMIT %s' % self.pick(['0', '1', '2', '3', '5', '7', '10', '17',
                                                 '25', '49', '50', '51', '100', '1000',
                                                 'ALL', 'NULL']))
        if k > 0.4:
            parts.append('OFFSET %s' % self.pick(['0', '1', '3', '10', '24', '49', '50',
                                                  '51', '299', '1000']))
        return ' '.join(parts)

    # -- queries -------------------------------------------------------------

    def q_filter(self):
        return Test(['SELECT %s FROM {T} WHERE %s;' % (self.select_list(), self.where())],
                    False, 'filter')

    def q_atom(self):
        """One condition alone: what is pushed, with nothing to help it."""
        col = self.pick([c for c, _ in COLUMNS])
        a = self.atom(cols=[col])
        if self.chance(0.5):
            return Test(['SELECT id, %s FROM {T} WHERE %s ORDER BY id;' % (col, a)], True,
                        'atom')
        return Test(['SELECT id, %s FROM {T} WHERE %s ORDER BY %s %s;' % (
            col, a, self.order_by(), self.limit_offset())], True, 'atom')

    def q_order(self):
        w = ' WHERE %s' % self.where(nmax=2) if self.chance(0.7) else ''
        return Test(['SELECT %s FROM {T}%s ORDER BY %s %s;' % (
            self.select_list(), w, self.order_by(), self.limit_offset())], True, 'order')

    def q_exact_limit(self):
        """Conditions the API applies exactly, so the LIMIT goes along."""
        conds = []
        for _ in range(self.r.randrange(0, 3)):
            col = self.pick(['id', 'age', 'referrer', 'modified', 'age', 'id'])
            op = self.pick(['=', '<>', '<', '>', '<=', '>='])
            conds.append('%s %s %s' % (col, op, self.literal(col)))
        w = (' WHERE ' + ' AND '.join(conds)) if conds else ''
        k = self.r.random()
        if k < 0.6:
            order = self.pick(['id', 'id DESC'] + (['modified', 'modified DESC']
                                                   if self.modified_unique else []))
            return Test(['SELECT id, age, referrer, modified FROM {T}%s ORDER BY %s %s;' % (
                w, order, self.limit_offset())], True, 'exact-limit')
        if k < 0.8:
            return Test(['SELECT count(*) FROM (SELECT id FROM {T}%s %s) s;' % (
                w, self.limit_offset())], True, 'exact-limit')
        return Test(['SELECT id FROM {T}%s ORDER BY id FETCH FIRST %d ROWS WITH TIES;' % (
            w, self.r.randrange(1, 8))], True, 'exact-limit')

    def q_aggregate(self):
        w = ' WHERE %s' % self.where(nmax=2) if self.chance(0.8) else ''
        k = self.r.random()
        if k < 0.4:
            col = self.pick([c for c, _ in COLUMNS])
            aggs = ['count(*)', 'count(%s)' % col, 'min(%s)' % col, 'max(%s)' % col]
            if CTYPE[col] in ('integer', 'bigint', 'numeric'):
                aggs += ['sum(%s)' % col, 'avg(%s)::numeric(20,6)' % col]
            return Test(['SELECT %s FROM {T}%s;' % (', '.join(aggs), w)], True, 'aggregate')
        if k < 0.7:
            g = self.pick(['city', 'segment', 'newsletter', 'lower(city)', 'age / 10',
                           'birthday IS NULL', 'extract(year from modified)', 'referrer'])
            having = ' HAVING count(*) > 1' if self.chance(0.3) else ''
            return Test(['SELECT %s, count(*), max(id) FROM {T}%s GROUP BY 1%s;' % (
                g, w, having)], False, 'aggregate')
        if k < 0.85:
            return Test(["SELECT string_agg(id::text, ',' ORDER BY id) FROM {T}%s;" % w],
                        True, 'aggregate')
        return Test(['SELECT count(DISTINCT lower(city)), bool_or(age > 50), '
                     'count(*) FILTER (WHERE email LIKE %s) FROM {T}%s;' % (
                         lit(self.like_pattern('email')), w)], True, 'aggregate')

    def q_in(self):
        col = self.pick(['id', 'id', 'id', 'city', 'email', 'segment', 'age', 'firstname'])
        a = self.in_atom('', col)
        extra = (' AND ' + self.pred()) if self.chance(0.4) else ''
        return Test(['SELECT id, %s FROM {T} WHERE %s%s ORDER BY %s %s;' % (
            col, a, extra, self.pick(['id', 'id DESC', self.order_by()]),
            self.limit_offset() if self.chance(0.4) else '')], True, 'in')

    def q_join(self):
        k = self.r.random()
        w = (' AND ' + self.where('c.', nmax=2)) if self.chance(0.6) else ''
        sel = self.pick(['c.id, c.city, p.k, p.note', 'c.*, p.k', 'c.id, c.email, c.age, p.k'])
        nl = self.chance(0.35)
        if k < 0.25:
            q = 'SELECT %s FROM picks p JOIN {T} c ON c.id = p.pid%s' % (sel, w)
        elif k < 0.4:
            q = 'SELECT %s FROM picks p LEFT JOIN {T} c ON c.id = p.pid%s' % (sel, w)
        elif k < 0.5:
            q = 'SELECT %s FROM picks p JOIN {T} c ON %s%s' % (sel, self.pick([
                'lower(c.city) = lower(p.city)', 'c.city = p.city', 'c.age = p.age',
                'c.age > p.age AND c.id < 40', 'c.referrer = p.pid', 'c.id = p.pid + 1',
                'c.email LIKE p.note', 'c.city = p.city AND c.age >= p.age']), w)
        elif k < 0.6:
            q = 'SELECT c.id, c.city FROM {T} c WHERE %s%s' % (self.pick([
                'c.id IN (SELECT pid FROM picks)',
                'EXISTS (SELECT 1 FROM picks p WHERE p.city = c.city)',
                'NOT EXISTS (SELECT 1 FROM picks p WHERE p.pid = c.id)',
                'c.age IN (SELECT age FROM picks)',
                'c.id = ANY (SELECT pid FROM picks WHERE pid IS NOT NULL)']), w)
        elif k < 0.75:
            inner = self.pick([
                ('c.age > p.age', 'c.id'), ('c.id > p.pid', 'c.id'),
                ('c.city = p.city', 'c.id DESC'), ('c.age >= p.age', 'c.modified DESC'),
                ('c.id >= p.pid', 'c.modified'), ('c.age < p.age AND c.id > 3', 'c.id DESC'),
                ('c.referrer = p.pid', 'c.id'), ('c.id = p.pid', 'c.id'),
                ('c.email LIKE p.note', 'c.id')])
            order = inner[1]
            if 'modified' in order and not self.modified_unique:
                order += ', c.id'
            q = ('SELECT p.k, x.* FROM picks p CROSS JOIN LATERAL (SELECT c.id, c.age, '
                 'c.modified FROM {T} c WHERE %s%s ORDER BY %s LIMIT %d) x' % (
                     inner[0], w, order, self.r.randrange(1, 4)))
        elif k < 0.85:
            q = ('SELECT c.id, r.id, r.email FROM {T} c JOIN {T} r ON r.id = c.referrer '
                 'WHERE c.referrer <> 0%s' % w)
        elif k < 0.92:
            q = ('SELECT c.id FROM {T} c JOIN local_copy l ON l.id = c.id WHERE '
                 '(c.email, c.firstname, c.lastname, c.city, c.age, c.score, c.birthday, '
                 'c.signup, c.lastvisit, c.segment, c.notes, c.referrer, c.newsletter, '
                 'c.modified) IS DISTINCT FROM (l.email, l.firstname, l.lastname, l.city, '
                 'l.age, l.score, l.birthday, l.signup, l.lastvisit, l.segment, l.notes, '
                 'l.referrer, l.newsletter, l.modified)%s' % w)
        else:
            q = ('SELECT p.k, c.id FROM picks p JOIN {T} c ON c.id = p.pid%s '
                 'ORDER BY p.k, c.id LIMIT %d' % (w, self.r.randrange(1, 6)))
            return self.maybe_nestloop(q + ';', True, nl)
        return self.maybe_nestloop(q + ';', False, nl)

    def q_subquery(self, n):
        """Rescans with new parameter values, CTEs, UNION, cursors."""
        k = self.r.random()
        w = (' AND ' + self.where('c.', nmax=1)) if self.chance(0.5) else ''
        if k < 0.3:
            cond, order = self.pick([
                ('c.age > p.age', 'c.id'), ('c.id > p.pid', 'c.id DESC'),
                ('c.city = p.city', 'c.id'), ('c.email LIKE p.note', 'c.id'),
                ('c.age <= p.age', 'c.modified DESC, c.id'), ('c.referrer = p.pid', 'c.id')])
            return Test(['SELECT p.k, (SELECT c.id FROM {T} c WHERE %s%s ORDER BY %s '
                         'LIMIT 1) FROM picks p ORDER BY p.k;' % (cond, w, order)], True,
                        'subquery')
        if k < 0.5:
            return Test(['WITH x AS MATERIALIZED (SELECT * FROM {T} c WHERE %s ORDER BY %s %s) '
                         'SELECT x.id, x.city, x.age FROM x ORDER BY x.id;' % (
                             self.where('c.', nmax=2), self.order_by('c.'),
                             self.limit_offset())], True, 'subquery')
        if k < 0.7:
            return Test(['(SELECT id, 1 AS part FROM {T} WHERE %s ORDER BY %s %s) UNION ALL '
                         '(SELECT id, 2 FROM {T} WHERE %s ORDER BY %s %s);' % (
                             self.where(nmax=1), self.order_by(), self.limit_offset(),
                             self.where(nmax=1), self.order_by(), self.limit_offset())],
                        False, 'subquery')
        if k < 0.85:
            w = (' WHERE ' + self.where(nmax=2)) if self.chance(0.6) else ''
            if self.chance(0.5):
                w = ' WHERE id IN (SELECT id FROM {T}%s)' % w
            return Test(['SELECT id, age FROM {T}%s ORDER BY id %s;' % (
                w, self.pick(['LIMIT 5', 'LIMIT 5 OFFSET 2', 'FETCH FIRST 3 ROWS ONLY']))],
                True, 'subquery')
        # a foreign scan runs forward only: moving back needs SCROLL (which
        # materializes), a plain cursor over the local table would not
        name = 'dc%d' % n
        w = (' WHERE ' + self.where(nmax=2)) if self.chance(0.6) else ''
        scroll = self.chance(0.5)
        stmts = ['BEGIN;', 'DECLARE %s %sCURSOR FOR SELECT id, email, modified FROM {T}%s '
                 'ORDER BY %s %s;' % (name, 'SCROLL ' if scroll else 'NO SCROLL ', w,
                                      self.order_by(), self.pick(['', 'LIMIT 20']))]
        moves = ['NEXT', '3', 'FORWARD 10', 'ALL']
        if scroll:
            moves += ['PRIOR', 'BACKWARD 4', 'ABSOLUTE 5', 'RELATIVE -2', 'LAST', 'FIRST', '0']
        for _ in range(self.r.randrange(2, 6)):
            stmts.append('FETCH %s FROM %s;' % (self.pick(moves), name))
        stmts += ['CLOSE %s;' % name, 'COMMIT;']
        return Test(stmts, True, 'cursor')

    def maybe_nestloop(self, q, ordered, nl):
        if nl:
            return Test(['SET enable_hashjoin = off; SET enable_mergejoin = off;', q,
                         'RESET enable_hashjoin; RESET enable_mergejoin;'], ordered, 'join')
        return Test([q], ordered, 'join')

    PREPARED = [
        # (parameter types, WHERE, value generators)
        (['bigint'], 'id = $1', ['id']),
        (['int'], 'id = $1', ['id']),
        (['text'], 'city = $1', ['city']),
        (['text'], 'email = $1', ['email']),
        (['text'], 'segment = $1', ['segment']),
        (['text', 'int'], 'city = $1 AND age > $2', ['city', 'age']),
        (['int'], 'age >= $1', ['age']),
        (['bigint'], 'referrer = $1', ['referrer']),
        (['text'], 'email LIKE $1', ['like:email']),
        (['text'], 'notes LIKE $1', ['like:notes']),
        (['text'], 'lastname ILIKE $1', ['like:lastname']),
        (['timestamp'], 'modified > $1', ['modified']),
        (['timestamp'], 'modified <= $1', ['modified']),
        (['timestamp'], 'lastvisit >= $1', ['lastvisit']),
        (['date'], 'birthday < $1', ['date']),
        (['date', 'date'], 'signup BETWEEN $1 AND $2', ['date', 'date']),
        (['bigint[]'], 'id = ANY ($1)', ['ids']),
        (['int[]'], 'id = ANY ($1)', ['ids']),
        (['int', 'text'], 'age < $1 OR city = $2', ['age', 'city']),
        (['numeric'], 'score > $1', ['score']),
    ]

    def param_value(self, kind):
        if self.chance(0.05):
            return 'NULL'
        if kind == 'ids':
            ids = [str(self.pick(self.ids)) if self.chance(0.8) else
                   self.pick(['0', '-3', '99999', 'NULL']) for _ in range(self.r.randrange(0, 5))]
            return lit('{' + ','.join(ids) + '}')
        if kind.startswith('like:'):
            return lit(self.like_pattern(kind[5:]))
        if kind == 'date':
            return lit(self.date_value())
        if kind in ('modified', 'lastvisit'):
            return lit(self.ts_value(kind))
        if kind == 'score':
            return self.numeric_literal()
        if CTYPE.get(kind) == 'text':
            return lit(self.text_value(kind))
        return self.int_literal(kind)

    def q_prepared(self, n):
        types, cond, kinds = self.pick(self.PREPARED)
        name = 'dq%d' % n
        k = self.r.random()
        if k < 0.5:
            tail = 'ORDER BY id'
        elif k < 0.8:
            tail = 'ORDER BY %s %s' % (self.order_by(), self.limit_offset())
        else:
            tail = 'ORDER BY id LIMIT $%d' % (len(types) + 1)
            types = types + ['bigint']
            kinds = kinds + ['limit']
        if self.chance(0.3):
            cond = '(%s) AND %s' % (cond, self.pred())
        stmts = []
        generic = self.chance(0.5)
        if generic:
            stmts.append('SET plan_cache_mode = force_generic_plan;')
        stmts.append('PREPARE %s(%s) AS SELECT %s FROM {T} WHERE %s %s;' % (
            name, ', '.join(types), self.select_list(), cond, tail))
        # six or more executions: the plan cache may switch to a generic plan
        for _ in range(self.r.randrange(3, 9) if generic else self.r.randrange(6, 9)):
            args = [self.pick(['0', '1', '3', '10', '100']) if kd == 'limit'
                    else self.param_value(kd) for kd in kinds]
            stmts.append('EXECUTE %s(%s);' % (name, ', '.join(args)))
        stmts.append('DEALLOCATE %s;' % name)
        if generic:
            stmts.append('RESET plan_cache_mode;')
        return Test(stmts, True, 'prepared')

    def generate(self, count):
        kinds = [(self.q_filter, 16), (self.q_atom, 20), (self.q_order, 14),
                 (self.q_exact_limit, 10), (self.q_aggregate, 10), (self.q_in, 8),
                 (self.q_join, 12), (self.q_subquery, 6), (None, 10)]
        total = sum(w for _, w in kinds)
        tests = []
        for n in range(1, count + 1):
            x = self.r.uniform(0, total)
            for f, w in kinds:
                x -= w
                if x <= 0:
                    break
            if f is None:
                t = self.q_prepared(n)
            elif f == self.q_subquery:
                t = f(n)
            else:
                t = f()
            t.n = n
            tests.append(t)
        return tests


# ---------------------------------------------------------------------------
# running and comparing

PREAMBLE = """SET datestyle = 'ISO, YMD';
SET timezone = 'UTC';
SET intervalstyle = 'postgres';
SET extra_float_digits = 0;
SET statement_timeout = '60s';
"""
ERRCHECK = '\\if :ERROR\n\\echo @@E 0@@ :SQLSTATE :LAST_ERROR_MESSAGE\n\\endif\n'


def script(tests, table):
    out = [PREAMBLE]
    for t in tests:
        out.append('\\echo @@Q %d@@\n' % t.n)
        for s in t.stmts:
            out.append(s.replace('{T}', table) + '\n')
            out.append(ERRCHECK)
    out.append('\\echo @@Q 0@@\n')
    return ''.join(out)


def run_script(text, workdir, name):
    """Start psql on the script; its output goes to files in workdir."""
    path = os.path.join(workdir, name)
    with open(path + '.sql', 'w', encoding='utf-8') as f:
        f.write(text)
    out = open(path + '.out', 'wb')
    err = open(path + '.err', 'wb')
    try:
        return subprocess.Popen([PSQL] + PSQL_ARGS + ['-d', DB, '-f', path + '.sql'],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    finally:
        out.close()
        err.close()


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def split_output(out):
    """psql output -> {test number: (rows, errors)}."""
    results = {}
    cur = None
    body = []

    def close():
        if cur is not None:
            results[cur] = parse_block(''.join(body))

    for line in out.splitlines(keepends=True):
        m = MARK.match(line.rstrip('\n'))
        if m and m.group(1) == 'Q':
            close()
            cur = int(m.group(2))
            body = []
        else:
            body.append(line)
    close()
    results.pop(0, None)
    return results


def parse_block(text):
    """One test's output: its text without the error lines, and those."""
    kept, errors = [], []
    for line in text.splitlines(keepends=True):
        m = MARK.match(line.rstrip('\n'))
        if m:
            errors.append('ERROR ' + m.group(3).strip())
        else:
            kept.append(line)
    return ''.join(kept), errors


def normalize(block, ordered):
    """A comparable list: the output as it is, or its rows sorted."""
    text, errors = block
    if ordered:
        return [text] + errors
    # one result: rows end with RS, the last one with a newline
    if text.endswith('\n'):
        text = text[:-1]
    rows = text.split(RS) if text else []
    return sorted(rows) + errors


def short(s, n=300):
    s = s.replace('\n', '\\n').replace(RS, ' ; ').replace(FS, '|')
    return s if len(s) <= n else s[:n] + '...(%d chars)' % len(s)


def reference_value(value, typ):
    """A profile's value as SQL, converted as the README says Copernica's
    values are: "" is NULL for every type but text, and so are the zero
    dates; anything else goes through the type's input function."""
    if value is None or (value == '' and typ != 'text'):
        return 'NULL'
    if typ in ('date', 'timestamp') and value.startswith('0000-00-00'):
        return 'NULL'
    return '%s::%s' % (lit(value), typ)


def reference_rows():
    """The live profiles of Customers, read from the emulator's control
    API, as rows of SQL values in COLUMNS order."""
    url = os.environ['COPERNICA_EMULATOR_CONTROL'] + '/_control/profiles?database=Customers'
    with urllib.request.urlopen(url, timeout=300) as r:
        profiles = json.load(r)
    rows = []
    for p in profiles:
        values = []
        for col, typ in COLUMNS:
            if col == 'id':
                v = p['ID']
            elif col == 'modified':
                v = p['modified']
            else:
                v = p['fields'][col]
            values.append(reference_value(v, typ))
        rows.append('(%s)' % ', '.join(values))
    if not rows:
        raise RuntimeError('the emulator has no Customers profiles')
    return rows


def setup_round(label, reset, rng):
    emuctl = shlex.split(os.environ['EMUCTL'])
    for cmd in (['clear-faults'], ['reset'] + reset):
        p = subprocess.run(emuctl + cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError('emuctl %s failed: %s' % (' '.join(cmd), p.stderr.strip()))
    psql('DROP DATABASE IF EXISTS %s WITH (FORCE);' % DB, db='postgres')
    try:
        psql("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8';" % DB, db='postgres')
    except RuntimeError:
        psql("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';" % DB,
             db='postgres')
    cols = ',\n    '.join('%s %s' % c for c in COLUMNS)
    psql("""SET datestyle = 'ISO, YMD';
CREATE EXTENSION copernica_fdw;
CREATE SERVER emu FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'url', page_size '50');
CREATE USER MAPPING FOR CURRENT_USER SERVER emu OPTIONS (access_token :'token');
CREATE FOREIGN TABLE customers (
    %s
) SERVER emu OPTIONS (database 'Customers');
CREATE TABLE local_copy (
    %s
);
""" % (cols, cols), variables=[('url', os.environ['COPERNICA_EMULATOR_URL']),
                               ('token', os.environ['COPERNICA_TOKEN'])])
    # the reference comes from the emulator's state, not through the
    # wrapper, where a conversion bug would show on both sides alike
    psql("SET datestyle = 'ISO, YMD';\nINSERT INTO local_copy VALUES\n%s;\nANALYZE local_copy;"
         % ',\n'.join(reference_rows()))
    # nondeterministic collations (case-, and case- and accent-insensitive),
    # where ICU is there: Copernica's comparisons cannot stand in for them
    for name, level in (('ci', 2), ('ai_ci', 1)):
        psql("""DO $$BEGIN
    CREATE COLLATION %s (provider = icu, locale = 'und-u-ks-level%d', deterministic = false);
EXCEPTION WHEN OTHERS THEN NULL;
END$$;""" % (name, level))
    collations = [r[0] for r in rows_of(psql(
        "SELECT quote_ident(collname) FROM pg_collation WHERE collname IN ('ci', 'ai_ci') "
        "ORDER BY 1;"))]
    rows = rows_of(psql("SET datestyle = 'ISO, YMD'; SELECT * FROM local_copy ORDER BY id;"))
    if not rows:
        raise RuntimeError('the foreign table is empty after reset %s' % ' '.join(reset))
    # a small local table for joins: some IDs that exist, some that do not
    ids = [int(r[0]) for r in rows]
    cities = [r[4] for r in rows if r[4] is not None]
    picks = []
    for k in range(1, 13):
        pid = rng.choice(ids) if k <= 8 else rng.choice([0, -1, max(ids) + 7, None])
        city = rng.choice(cities)
        city = {0: city, 1: city.upper(), 2: city.lower()}[rng.randrange(3)] \
            if k % 4 else None
        age = rng.choice([None, 18, 25, 30, 40, 55, 70])
        note = rng.choice(['%', '%.nl', 'a%', '%@EXAMPLE.COM', None, 'x', '%example%'])
        picks.append('(%d, %s, %s, %s, %s)' % (k, 'NULL' if pid is None else pid, lit(city),
                                               'NULL' if age is None else age, lit(note)))
    psql('CREATE TABLE picks (k int PRIMARY KEY, pid bigint, city text, age int, note text);\n'
         'INSERT INTO picks VALUES %s;\nANALYZE picks;' % ',\n'.join(picks))
    return rows, collations


def run_round(label, reset, count, seed, args, workdir):
    rng = random.Random('%s/%s' % (seed, label))
    rows, collations = setup_round(label, reset, rng)
    gen = Generator(rng, rows, collations)
    tests = gen.generate(count)
    procs = {}
    for table, name in (('customers', 'foreign'), ('local_copy', 'local')):
        procs[name] = run_script(script(tests, table), workdir, '%s-%s' % (label, name))
    outs = {}
    for name, p in procs.items():
        try:
            p.wait(timeout=600)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        path = os.path.join(workdir, '%s-%s' % (label, name))
        outs[name] = (split_output(read(path + '.out')), p.returncode, read(path + '.err'))
    passed = failed = 0
    for t in tests:
        got = {}
        for name in ('foreign', 'local'):
            res, rc, err = outs[name]
            if t.n in res:
                got[name] = normalize(res[t.n], t.ordered)
            else:
                got[name] = ['(no output: psql exited with status %s: %s)' % (
                    rc, short(err.strip()[-200:], 200))]
        if got['foreign'] == got['local']:
            passed += 1
            if args.verbose:
                print('ok   [%s %d] %s' % (label, t.n, short(t.text(), 200)))
        else:
            failed += 1
            print('FAIL [%s %d] %s -- foreign: %s -- local: %s' % (
                label, t.n, short(t.text(), 1000), short(RS.join(got['foreign'])),
                short(RS.join(got['local']))))
        sys.stdout.flush()
    return passed, failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=SEED)
    ap.add_argument('--queries', type=int, default=None,
                    help='queries per round (default: 400 on generate 300, 200 on demo)')
    ap.add_argument('--keep', metavar='DIR', help='leave the scripts and outputs here')
    ap.add_argument('--verbose', action='store_true', help='list passing queries too')
    args = ap.parse_args(argv)
    for var in ('COPERNICA_EMULATOR_URL', 'COPERNICA_EMULATOR_CONTROL', 'COPERNICA_TOKEN',
                'EMUCTL'):
        if not os.environ.get(var):
            print('differential: %s is not set' % var)
            print('differential: 0 passed, 1 failed')
            return 1
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix='differential.')
        workdir = tmp.name
    passed = failed = 0
    started = time.monotonic()
    try:
        for label, reset, count in ROUNDS:
            t0 = time.monotonic()
            p, f = run_round(label, reset, args.queries or count, args.seed, args, workdir)
            print('differential: round %s (seed %d): %d passed, %d failed in %.1f s' % (
                label, args.seed, p, f, time.monotonic() - t0))
            passed += p
            failed += f
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print('differential: could not run: %s' % e)
        failed += 1
    except Exception:       # a bug here must still end with the counts
        traceback.print_exc(file=sys.stdout)
        failed += 1
    finally:
        try:
            psql('DROP DATABASE IF EXISTS %s WITH (FORCE);' % DB, db='postgres', check=False)
        except (OSError, subprocess.SubprocessError):
            pass
    print('differential: %.1f s' % (time.monotonic() - started))
    print('differential: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
