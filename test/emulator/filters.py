"""Listing semantics: the `fields[]` filter, `orderby`/`order`, paging.

Owns section 4 of copernica-api-v2.md (and the paging rules of section 3)
for profile and subprofile listings.
"""

import random
import re
from bisect import bisect_left, bisect_right

import phpish

EXPR = re.compile(r'^(.+?)([=<>!~]{1,2})(.*)$', re.S)
OPERATORS = frozenset(['==', '!=', '<>', '<', '>', '<=', '>=', '=~', '!~'])

# what PHP's trim() removes; Python's strip() would also take Unicode spaces
PHP_TRIM = ' \t\n\r\0\x0b'

# Special pseudo-fields usable in fields[] (a real field of that name wins).
ID, CODE, MODIFIED = -1, -2, -3
SPECIALS = {'id': ID, 'code': CODE, 'modified': MODIFIED}


class Condition:
    __slots__ = ('index', 'op', 'kind', 'value', 'num', 'regex', 'getter')

    def __repr__(self):
        return 'Condition(%r %s %r)' % (self.index, self.op, self.value)


def like_regex(pattern, ignore_case):
    """SQL LIKE: % any sequence, _ one character, backslash escapes."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == '\\' and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == '%':
            out.append('.*')
        elif c == '_':
            out.append('.')
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(''.join(out) + r'\Z', re.S | (re.I if ignore_case else 0))


def _getter(index):
    if index >= 0:
        return lambda e: e.values[index]
    if index == ID:
        return lambda e: e.id
    if index == CODE:
        return lambda e: e.secret
    return lambda e: e.modified


def parse_conditions(raw, schema):
    """fields[] values -> list of Conditions. Bad/unknown ones are ignored."""
    conds = []
    if not isinstance(raw, dict):
        return conds            # a non-array `fields` parameter is ignored
    for expr in raw.values():
        if not isinstance(expr, str):
            continue
        m = EXPR.match(expr.strip(PHP_TRIM))
        if not m:
            continue
        name, op, value = m.group(1), m.group(2), m.group(3)
        if op not in OPERATORS:
            continue
        idx = schema.index_of(name)
        if idx is not None:
            field = schema.fields[idx]
            kind, ftype = field.kind, field.type
        elif name.lower() in SPECIALS:
            idx = SPECIALS[name.lower()]
            kind, ftype = {ID: ('int', 'integer'), CODE: ('text', 'text'),
                           MODIFIED: ('date', 'datetime')}[idx]
        else:
            continue
        c = Condition()
        c.index, c.op, c.kind = idx, op, kind
        c.getter = _getter(idx)
        c.num = None
        c.regex = None
        if op in ('=~', '!~'):
            # LIKE works on the stored string; text compares case-insensitively
            c.regex = like_regex(value, kind == 'text')
            c.value = value
        elif kind == 'int':
            c.num = phpish.php_int(value)
        elif kind == 'float':
            c.num = phpish.php_float(value)
        elif kind == 'date':
            c.value = phpish.normalize_date(value, ftype)
        elif kind == 'text':
            c.value = value.lower()
        else:
            c.value = value     # select: case-sensitive
        conds.append(c)
    return conds


def _cmp(op, a, b):
    if op == '==':
        return a == b
    if op == '!=' or op == '<>':
        return a != b
    if op == '<':
        return a < b
    if op == '>':
        return a > b
    if op == '<=':
        return a <= b
    return a >= b


def compile_predicate(conds):
    """A function entity -> bool for ANDed conditions (None if no conditions)."""
    if not conds:
        return None
    tests = []
    for c in conds:
        get = c.getter
        op = c.op
        if c.regex is not None:
            rx = c.regex
            if op == '=~':
                tests.append(lambda e, g=get, rx=rx: rx.match(str(g(e))) is not None)
            else:
                tests.append(lambda e, g=get, rx=rx: rx.match(str(g(e))) is None)
        elif c.kind == 'int':
            if c.index == ID:
                tests.append(lambda e, g=get, op=op, n=c.num: _cmp(op, g(e), n))
            else:
                tests.append(lambda e, g=get, op=op, n=c.num: _cmp(op, phpish.php_int(g(e)), n))
        elif c.kind == 'float':
            tests.append(lambda e, g=get, op=op, n=c.num: _cmp(op, phpish.php_float(g(e)), n))
        elif c.kind == 'text':
            tests.append(lambda e, g=get, op=op, v=c.value: _cmp(op, g(e).lower(), v))
        else:
            tests.append(lambda e, g=get, op=op, v=c.value: _cmp(op, g(e), v))
    if len(tests) == 1:
        return tests[0]
    return lambda e: all(t(e) for t in tests)


def id_bounds(conds):
    """Split off ID range conditions: returns (lo, hi, remaining conds).

    lo/hi are inclusive ID bounds usable with bisect on a sorted ID list.
    """
    lo, hi = None, None
    rest = []
    for c in conds:
        if c.index != ID or c.regex is not None or c.op in ('!=', '<>'):
            rest.append(c)
            continue
        n = c.num
        if c.op == '==':
            lo = n if lo is None else max(lo, n)
            hi = n if hi is None else min(hi, n)
        elif c.op == '>':
            lo = n + 1 if lo is None else max(lo, n + 1)
        elif c.op == '>=':
            lo = n if lo is None else max(lo, n)
        elif c.op == '<':
            hi = n - 1 if hi is None else min(hi, n - 1)
        elif c.op == '<=':
            hi = n if hi is None else min(hi, n)
    return lo, hi, rest


def sort_key_for(orderby, schema):
    """orderby value -> (key function or None for ID order, is_random)."""
    if not isinstance(orderby, str):
        return None, False
    low = orderby.lower()
    if low == 'id' or low == '':
        return None, False
    if low == 'random':
        return None, True
    if low == 'modified':
        return (lambda e: (e.modified, e.id)), False
    idx = schema.index_of(orderby)
    if idx is None and orderby.isdigit():
        idx = schema.by_id.get(int(orderby))
    if idx is None:
        return None, False
    kind = schema.fields[idx].kind
    if kind == 'int':
        return (lambda e: (phpish.php_int(e.values[idx]), e.id)), False
    if kind == 'float':
        return (lambda e: (phpish.php_float(e.values[idx]), e.id)), False
    if kind == 'date':
        return (lambda e: (e.values[idx], e.id)), False
    return (lambda e: (e.values[idx].lower(), e.id)), False


def is_descending(order):
    return isinstance(order, str) and order.lower() in ('desc', 'descending')


def select(ids, lookup, schema, params, extra_conds=(), paging=True):
    """Run a listing over `ids` (sorted list of live entity IDs).

    Returns (start, limit, page entities, total-or-None).
    """
    start = phpish.param_int(params, 'start', 0)
    limit = phpish.param_int(params, 'limit', 100)
    if limit > 1000:
        limit = 1000
    want_total = 'total' not in params or phpish.is_true(params['total'])
    conds = list(extra_conds) + parse_conditions(params.get('fields'), schema)
    keyf, rand = sort_key_for(params.get('orderby'), schema)
    desc = is_descending(params.get('order'))

    lo, hi, rest = id_bounds(conds)
    i0 = 0 if lo is None else bisect_left(ids, lo)
    i1 = len(ids) if hi is None else bisect_right(ids, hi)
    if i1 < i0:
        i1 = i0
    pred = compile_predicate(rest)
    empty_page = start < 0 or limit <= 0

    if keyf is None and not rand:
        if pred is None:
            # pure ID range: no per-entity work at all
            total = i1 - i0
            page_ids = []
            if not empty_page:
                if not desc:
                    a = i0 + start
                    page_ids = ids[a:min(a + limit, i1)] if a < i1 else []
                else:
                    b = i1 - start
                    if b > i0:
                        page_ids = ids[max(b - limit, i0):b][::-1]
            return start, limit, [lookup[i] for i in page_ids], total if want_total else None
        if not want_total:
            # stream in ID order, stop as soon as the page is full
            page = []
            if not empty_page:
                skip = start
                rng = range(i0, i1) if not desc else range(i1 - 1, i0 - 1, -1)
                for k in rng:
                    e = lookup[ids[k]]
                    if pred(e):
                        if skip:
                            skip -= 1
                            continue
                        page.append(e)
                        if len(page) >= limit:
                            break
            return start, limit, page, None
    # general case: materialise the matches
    ents = [lookup[i] for i in ids[i0:i1]]
    if pred is not None:
        ents = [e for e in ents if pred(e)]
    total = len(ents)
    if empty_page:
        return start, limit, [], total if want_total else None
    if rand:
        random.shuffle(ents)
    elif keyf is not None:
        ents.sort(key=keyf, reverse=desc)
    elif desc:
        ents.reverse()
    return start, limit, ents[start:start + limit], total if want_total else None
