"""PHP-flavoured value handling, as Copernica (a PHP application) does it.

Owns: PHP casts ((int), (float), (string)), PHP's query-string/array parsing,
Copernica's boolean truthiness for parameters, and the strtotime()-like
date normalisation of section 5.3 of copernica-api-v2.md.
"""

import datetime
import re
import time
from urllib.parse import unquote_plus

# ---------------------------------------------------------------------------
# Query strings and form bodies (PHP parse_str semantics, simplified)
# ---------------------------------------------------------------------------


class PhpArray(dict):
    """A PHP array: ordered keys (int or str); `[]` appends at max int key+1."""

    def append(self, value):
        ints = [k for k in self.keys() if isinstance(k, int)]
        self[max(ints) + 1 if ints else 0] = value

    def is_list(self):
        return list(self.keys()) == list(range(len(self)))


_INT_KEY = re.compile(r'^(0|-?[1-9][0-9]*)$')


def _php_key(key):
    return int(key) if _INT_KEY.match(key) else key


def parse_str(qs):
    """Parse a query string or form body like PHP: a[]=1&a[x]=2&b=3."""
    result = PhpArray()
    if not qs:
        return result
    for part in qs.split('&'):
        if not part:
            continue
        raw_key, _sep, raw_val = part.partition('=')
        key = unquote_plus(raw_key, errors='replace')
        val = unquote_plus(raw_val, errors='replace')
        base, _b, rest = key.partition('[')
        if not base:
            continue
        if not _b:
            result[_php_key(base)] = val
            continue
        # Collect bracket segments; an unterminated bracket ends the chain.
        subkeys = []
        rest = '[' + rest
        while rest.startswith('['):
            end = rest.find(']')
            if end < 0:
                break
            subkeys.append(rest[1:end])
            rest = rest[end + 1:]
        if not subkeys:
            result[_php_key(base)] = val
            continue
        node = result
        key = _php_key(base)
        for sub in subkeys:
            child = node.get(key) if key is not None else None
            if not isinstance(child, PhpArray):
                child = PhpArray()
                if key is None:
                    node.append(child)
                else:
                    node[key] = child
            node = child
            key = None if sub == '' else _php_key(sub)
        if key is None:
            node.append(val)
        else:
            node[key] = val
    return result


def remove_param(raw_query, name):
    """The raw query string without parameters called `name` (else as is)."""
    if not raw_query:
        return ''
    kept = []
    for part in raw_query.split('&'):
        key = unquote_plus(part.partition('=')[0], errors='replace')
        if key == name:
            continue
        kept.append(part)
    return '&'.join(kept)


# ---------------------------------------------------------------------------
# Casts
# ---------------------------------------------------------------------------

_WS = ' \t\n\r\x0b\x0c'
_NUM_PREFIX = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?')
_NUMERIC = re.compile(r'^[ \t\n\r\x0b\x0c]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)'
                      r'(?:[eE][+-]?[0-9]+)?[ \t\n\r\x0b\x0c]*$')
INT_MAX = 2 ** 63 - 1
INT_MIN = -2 ** 63


def is_numeric(s):
    """PHP is_numeric() for strings (PHP 8: leading and trailing blanks)."""
    return bool(_NUMERIC.match(s))


def php_float(value):
    """PHP (float) cast."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, (list, dict)):
        return 1.0 if value else 0.0
    m = _NUM_PREFIX.match(str(value).lstrip(_WS))
    if not m:
        return 0.0
    try:
        return float(m.group(0))
    except (ValueError, OverflowError):
        return 0.0


def php_int(value):
    """PHP (int) cast (64-bit)."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return max(INT_MIN, min(INT_MAX, value))
    if isinstance(value, float):
        if value != value or value in (float('inf'), float('-inf')):
            return 0
        return max(INT_MIN, min(INT_MAX, int(value)))
    if value is None:
        return 0
    if isinstance(value, (list, dict)):
        return 1 if value else 0
    s = str(value).lstrip(_WS)
    m = _NUM_PREFIX.match(s)
    if not m:
        return 0
    text = m.group(0)
    if re.fullmatch(r'[+-]?[0-9]+', text):
        return max(INT_MIN, min(INT_MAX, int(text)))
    return php_int(float(text))


def php_float_str(f):
    """PHP (string) of a float: precision 14, "3" for 3.0, "2.5"."""
    if f != f:
        return 'NAN'
    if f in (float('inf'), float('-inf')):
        return 'INF' if f > 0 else '-INF'
    s = '%.14G' % f
    if 'E' in s:
        mant, exp = s.split('E')
        if '.' not in mant:
            mant += '.0'
        sign = exp[0]
        digits = exp[1:].lstrip('0') or '0'
        s = '%sE%s%s' % (mant, sign, digits)
    return s


def php_string(value):
    """PHP (string) of a scalar (callers handle non-scalars)."""
    if isinstance(value, bool):
        return '1' if value else ''
    if value is None:
        return ''
    if isinstance(value, float):
        return php_float_str(value)
    return str(value)


def is_scalar(value):
    return isinstance(value, (str, int, float, bool))


def is_true(value):
    """Copernica's truthiness for boolean parameters (total, dataonly, create).

    Non-numeric strings are true only for yes/true (case-insensitive, no
    surrounding blanks); numbers are true if |n| >= 1; arrays are true.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return True
    if isinstance(value, list):
        return True
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return abs(value) >= 1
    s = str(value)
    if is_numeric(s):
        return abs(float(s)) >= 1
    return s.lower() in ('yes', 'true')


def param_int(params, name, default):
    """start/limit parameters: absent or [] -> default, else PHP (int)."""
    if name not in params:
        return default
    value = params[name]
    if isinstance(value, dict) and not value:
        return default
    return php_int(value)


# ---------------------------------------------------------------------------
# Dates (a strtotime() subset)
# ---------------------------------------------------------------------------


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _compose(y, mo, d, h=0, mi=0, s=0):
    """Normalise overflowing parts like PHP does; returns a tuple."""
    if not (0 <= mo <= 12 and 0 <= d <= 31 and 0 <= h <= 24 and 0 <= mi <= 59
            and 0 <= s <= 60):
        return None
    total_months = y * 12 + (mo - 1)
    y, mo = total_months // 12, total_months % 12 + 1
    days = _days_from_civil(y, mo, 1) + (d - 1)
    secs = h * 3600 + mi * 60 + s
    days += secs // 86400
    secs %= 86400
    y, mo, d = _civil_from_days(days)
    return (y, mo, d, secs // 3600, secs % 3600 // 60, secs % 60)


_TIME = r'(?:[ tT]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?'
_TZ = r'\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?'
_DATE_PATTERNS = [
    # YYYY-MM-DD[ T]hh:mm[:ss][tz]
    (re.compile(r'^(\d{4})-(\d{1,2})-(\d{1,2})' + _TIME + _TZ + r'$'), 'ymd'),
    # YYYY/MM/DD
    (re.compile(r'^(\d{4})/(\d{1,2})/(\d{1,2})' + _TIME + _TZ + r'$'), 'ymd'),
    # DD-MM-YYYY and DD.MM.YYYY
    (re.compile(r'^(\d{1,2})[-.](\d{1,2})[-.](\d{4})' + _TIME + _TZ + r'$'), 'dmy'),
    # MM/DD/YYYY (American)
    (re.compile(r'^(\d{1,2})/(\d{1,2})/(\d{4})' + _TIME + _TZ + r'$'), 'mdy'),
    # YYYYMMDD
    (re.compile(r'^(\d{4})(\d{2})(\d{2})' + _TIME + _TZ + r'$'), 'ymd'),
    # YYYY-MM (first day of the month)
    (re.compile(r'^(\d{4})-(\d{1,2})$'), 'ym'),
]


def _local_now():
    return time.localtime()


def _parse_date(s):
    """Parse like strtotime(); returns (y, m, d, h, i, s) or None."""
    low = s.lower()
    if low in ('now', 'today', 'midnight', 'tomorrow', 'yesterday'):
        t = _local_now()
        parts = _compose(t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
        if low == 'now':
            return parts
        shift = {'today': 0, 'midnight': 0, 'tomorrow': 1, 'yesterday': -1}[low]
        return _civil_plus(parts, shift)
    m = re.match(r'^@(-?\d+)$', s)
    if m:
        try:
            t = time.localtime(int(m.group(1)))
        except (OverflowError, OSError, ValueError):
            return None
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    for rx, kind in _DATE_PATTERNS:
        m = rx.match(s)
        if not m:
            continue
        g = m.groups()
        if kind == 'ym':
            return _compose(int(g[0]), int(g[1]), 1)
        if kind == 'ymd':
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
        elif kind == 'dmy':
            d, mo, y = int(g[0]), int(g[1]), int(g[2])
        else:
            mo, d, y = int(g[0]), int(g[1]), int(g[2])
        h = int(g[3]) if g[3] else 0
        mi = int(g[4]) if g[4] else 0
        sec = int(g[5]) if g[5] else 0
        parts = _compose(y, mo, d, h, mi, sec)
        if parts is None:
            return None
        tz = g[6]
        if tz and 1 <= parts[0] <= 9999:
            parts = _to_local(parts, tz)
        return parts
    return None


def _civil_plus(parts, days):
    y, mo, d = _civil_from_days(_days_from_civil(parts[0], parts[1], parts[2]) + days)
    return (y, mo, d, 0, 0, 0)


def _to_local(parts, tz):
    if tz.upper() in ('Z', 'UTC', 'GMT'):
        offset = datetime.timedelta(0)
    else:
        sign = -1 if tz[0] == '-' else 1
        digits = tz[1:].replace(':', '')
        hours = int(digits[:2])
        minutes = int(digits[2:4]) if len(digits) > 2 else 0
        offset = sign * datetime.timedelta(hours=hours, minutes=minutes)
    try:
        dt = datetime.datetime(*parts, tzinfo=datetime.timezone(offset)).astimezone()
    except (ValueError, OverflowError, OSError):
        return parts
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def normalize_date(value, ftype):
    """Section 5.3: date/datetime/empty_date/empty_datetime input values."""
    with_time = ftype.endswith('datetime')
    mandatory = not ftype.startswith('empty_')
    zero = '0000-00-00 00:00:00' if with_time else '0000-00-00'
    if isinstance(value, str):
        value = value.strip(' \t\n\r\x0b\x00')
    if value is None or value is False or value == '' or not is_scalar(value) \
            or (isinstance(value, str) and value.startswith('0000-00-00')):
        return zero if mandatory else ''
    parts = _parse_date(php_string(value))
    if parts is None:
        return zero if mandatory else ''
    y, mo, d, h, mi, s = parts
    if y < 0:
        return zero
    if y > 9999:
        return zero if mandatory else ''
    if with_time:
        return '%04d-%02d-%02d %02d:%02d:%02d' % (y, mo, d, h, mi, s)
    return '%04d-%02d-%02d' % (y, mo, d)


def now_string():
    """Local time as Copernica writes created/modified/removed."""
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime())
