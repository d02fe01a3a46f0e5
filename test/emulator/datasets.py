"""The seeded datasets: `demo`, `empty` and `generate`.

Owns the schema shared by all datasets and the exact seeded contents. FDW
tests hard-code results from these: change nothing here without updating
them.
"""

import gc
import random

import mailings
import phpish

from store import (Collection, Database, Field, Interest, Miniview, Profile, Store, Subprofile,
                   View, fixed_secret)

# ---------------------------------------------------------------------------
# Schema (identical for every dataset)
# ---------------------------------------------------------------------------

CUSTOMER_FIELDS = [
    # (ID, name, type, value)
    (1, 'email', 'email', ''),
    (2, 'firstname', 'text', ''),
    (3, 'lastname', 'text', ''),
    (4, 'city', 'text', ''),
    (5, 'age', 'integer', '0'),
    (6, 'score', 'float', '0'),
    (7, 'birthday', 'empty_date', ''),
    (8, 'signup', 'date', ''),
    (9, 'lastvisit', 'empty_datetime', ''),
    (10, 'segment', 'select', 'gold\r\nsilver\r\nbronze*'),
    (11, 'notes', 'big', ''),
    (12, 'referrer', 'foreign_key', '0'),
    (13, 'newsletter', 'select', 'yes\r\nno*'),
]
ORDER_FIELDS = [
    (14, 'ordernumber', 'text', ''),
    (15, 'total', 'float', '0'),
    (16, 'placed', 'datetime', ''),
    (17, 'status', 'select', 'open\r\npaid\r\nshipped'),
]


def _fields(spec):
    out = []
    for fid, name, ftype, value in spec:
        length = '255'
        if ftype in ('integer', 'float', 'foreign_key'):
            length = '50'
        out.append(Field(fid, name, ftype, value, displayed=fid in (1, 2, 3, 4, 14, 18, 19),
                         ordered=False, length=length,
                         textlines='5' if ftype == 'big' else '1',
                         index=name in ('email', 'ordernumber')))
    return out


PUBLISHER_EMAILINGS = [
    {'id': '1281', 'timestamp': '2024-03-14 15:02:14', 'document': '114', 'template': '621',
     'subject': 'Spring sale', 'description': 'Seasonal mailing to all customers',
     'from_address': {'name': 'Demo Shop', 'email': 'news@example.com'},
     'destinations': '25', 'testgroups': 2, 'type': 'mass', 'clicks': '12',
     'impressions': '20', 'errors': '1', 'unsubscribes': '2', 'abuses': '0',
     'contenttype': 'html',
     'target': {'type': 'database', 'sources': [{'id': '1', 'type': 'database'}]}},
    {'id': '1282', 'timestamp': '2024-04-01 09:30:00', 'document': '115', 'template': '621',
     'subject': 'Reminder', 'description': 'Reminder to gold customers',
     'from_address': {'name': 'Demo Shop', 'email': 'news@example.com'},
     'destinations': '8', 'testgroups': 0, 'type': 'individual', 'clicks': '5',
     'impressions': '2', 'errors': '0', 'unsubscribes': '1', 'abuses': '0',
     'contenttype': 'html',
     'target': {'type': 'view', 'sources': [{'id': '1', 'type': 'view'}]}},
    {'id': '1290', 'timestamp': '2024-06-20 18:45:10', 'document': '120', 'template': '630',
     'subject': 'Zomer 50% korting_nu', 'description': '',
     'from_address': {'name': 'Démo Winkel', 'email': 'info@example.nl'},
     'destinations': '3', 'testgroups': 1, 'type': 'mass', 'clicks': '0',
     'impressions': '0', 'errors': '0', 'unsubscribes': '0', 'abuses': '0',
     'contenttype': 'text',
     'target': {'type': 'database', 'sources': [{'id': '2', 'type': 'database'}]}},
]

MS_EMAILINGS = [
    {'id': '169', 'timestamp': '2024-01-13 15:09:49', 'template': '579',
     'subject': 'Welcome', 'from_address': {'name': 'Test', 'email': 'test@example.com'},
     'destinations': 25, 'type': 'mass',
     'target': {'type': 'database', 'sources': [{'id': '1', 'type': 'database'}]}},
    {'id': '170', 'timestamp': '2024-02-02 08:00:00', 'template': '580',
     'subject': 'Your order', 'from_address': {'name': 'Shop', 'email': 'shop@example.com'},
     'destinations': 1, 'type': 'individual',
     'target': {'type': 'collection', 'sources': [{'id': '1', 'type': 'collection'}]}},
    {'id': '175', 'timestamp': '2024-05-31 23:59:59', 'template': '590',
     'subject': 'Newsletter "May"', 'from_address': {'name': 'Newsletter',
                                                      'email': 'letter@example.com'},
     'destinations': 3, 'type': 'mass',
     'target': {'type': 'database', 'sources': [{'id': '2', 'type': 'database'}]}},
    {'id': '180', 'timestamp': '2024-07-01 12:00:00', 'template': '579',
     'subject': 'Gold only', 'from_address': {'name': 'Test', 'email': 'test@example.com'},
     'destinations': 8, 'type': 'mass',
     'target': {'type': 'view', 'sources': [{'id': '1', 'type': 'view'}]}},
]


def build_schema():
    st = Store()
    customers = st.add_database(Database(1, 'Customers', 'Demo customer database', False,
                                         '2019-01-01 09:00:00', _fields(CUSTOMER_FIELDS)))
    for iid, name, group in ((1, 'soccer', 'sports'), (2, 'tennis', 'sports'),
                             (3, 'news', 'media')):
        st.add_interest(customers, Interest(iid, name, group))
    customers.unsubscribe = {'behavior': 'update', 'fields': {'newsletter': 'no'}}
    st.add_collection(Collection(1, 'Orders', 1, _fields(ORDER_FIELDS)))
    newsletter = st.add_database(Database(2, 'Newsletter', 'Second database', False,
                                          '2020-06-15 12:00:00',
                                          _fields([(18, 'email', 'email', ''),
                                                   (19, 'name', 'text', '')])))
    newsletter.unsubscribe = {'behavior': 'remove', 'fields': {}}
    st.add_collection(Collection(2, 'Clicks', 2, _fields([(20, 'url', 'text', '')])))
    st.add_view(View(1, 'Gold customers', 1, ['segment==gold'], 'Profiles in segment gold',
                     '2024-01-01 00:00:00'))
    st.add_view(View(2, 'Amsterdam', 1, ['city==Amsterdam'], 'Profiles living in Amsterdam',
                     '2024-01-01 00:00:00'))
    st.add_miniview(Miniview(1, 'Paid orders', 1, ['status==paid'], 'Orders that are paid',
                             '2024-01-01 00:00:00'))
    st.add_miniview(Miniview(2, 'Big orders', 1, ['total>100'], '', '2024-01-01 00:00:00'))
    st.publisher_emailings = [dict(e) for e in PUBLISHER_EMAILINGS]
    st.ms_emailings = [dict(e) for e in MS_EMAILINGS]
    # hidden by the API's filters test=no / followups=no (never shown)
    st.publisher_emailings[1]['_test'] = True
    st.publisher_emailings[2]['_followup'] = True
    st.ms_emailings[2]['_followup'] = True
    return st


def empty():
    st = build_schema()
    mailings.attach(st)
    return st


# ---------------------------------------------------------------------------
# demo: 25 hand-written customers (IDs 1..25), 3 newsletter profiles (26..28)
# ---------------------------------------------------------------------------

# email, firstname, lastname, city, age, score, birthday, signup, lastvisit,
# segment, notes, referrer, newsletter, interests
DEMO_CUSTOMERS = [
    ('jan.jansen@example.com', 'Jan', 'Jansen', 'Amsterdam', '34', '7.5', '1990-03-14',
     '2019-05-01', '2024-01-15 10:30:00', 'gold', 'Prefers email', '0', 'yes',
     ('soccer', 'news')),
    ('zoe.devries@example.nl', 'Zoë', 'de Vries', 'Rotterdam', '28', '8.25', '1996-07-02',
     '2020-02-11', '', 'silver', '', '1', 'yes', ('tennis',)),
    ('pieter.bakker@example.com', 'Pieter', 'Bakker', 'amsterdam', '45', '6', '1979-11-23',
     '2018-09-30', '2023-12-01 08:00:00', 'bronze', 'Called about "late" delivery', '0', 'no',
     ()),
    ('juergen.mueller@example.de', 'Jürgen', 'Müller', 'Berlin', '52', '9.1', '1972-01-05',
     '2017-03-15', '2024-02-20 17:45:10', 'gold', 'Path C:\\temp\\orders', '0', 'yes',
     ('soccer', 'tennis')),
    ('lukasz.nowak@example.pl', 'Łukasz', 'Nowak', 'Kraków', '31', '5.5', '', '2021-06-06', '',
     '', '', '4', 'no', ('news',)),
    ('', 'Sanne', 'Visser', 'Utrecht', '23', '4.75', '2001-09-09', '2022-01-01',
     '2024-03-03 03:03:03', 'silver', 'No email on file', '0', 'no', ()),
    ('sean.obrien@example.ie', 'Seán', "O'Brien", 'Dublin', '67', '3.2', '1957-04-17',
     '2016-12-24', '2022-06-30 12:00:00', 'gold', '', '0', 'yes', ('news',)),
    ('yuki.tanaka@example.jp', 'Yuki', 'Tanaka', '東京', '39', '8', '1985-05-05', '2019-07-07',
     '2024-04-01 09:15:00', 'silver', 'Writes in 日本語', '0', 'yes', ('tennis', 'news')),
    ('emma.smit@example.nl', 'Emma', 'Smit', 'AMSTERDAM', '19', '2.5', '2005-02-28',
     '2023-08-19', '', 'bronze', '50% discount_code SAVE_50', '1', 'yes', ('soccer',)),
    ('lars.devries@example.com', 'Lars', 'de Vries', 'Amsterdam', '0', '0', '', '0000-00-00',
     '', '', '', '0', 'no', ()),
    ('anna.meijer@example.nl', 'Anna', 'Meijer', 'Den Haag', '80', '9.99', '1944-12-31',
     '2015-01-20', '2024-05-05 20:20:20', 'gold', 'VIP', '0', 'yes',
     ('soccer', 'tennis', 'news')),
    ('tom.degroot@example.com', 'Tom', 'de Groot', 'Eindhoven', '18', '1.25', '2006-06-18',
     '2024-01-02', '', 'silver', '', '11', 'no', ('soccer',)),
    ('fatima.elamrani@example.nl', 'Fatima', 'El Amrani', 'Amsterdam', '29', '7.75',
     '1995-10-10', '2020-10-10', '2024-06-01 11:11:11', 'gold', '', '0', 'yes', ('news',)),
    ('noah.bos@example.com', 'Noah', 'Bos', 'Groningen', '41', '6.5', '1983-08-08',
     '2018-04-04', '', 'bronze', 'Likes 100% cotton', '0', 'yes', ()),
    ('mila.mulder@example.nl', 'Mila', 'Mulder', 'Utrecht', '36', '5', '1988-02-29',
     '2019-11-11', '2023-11-11 23:59:59', '', '', '13', 'no', ('tennis',)),
    ('daan.dekker@example.com', 'Daan', 'Dekker', 'Amsterdam', '55', '4.4', '1969-07-20',
     '2016-07-20', '2021-07-20 07:20:00', 'silver', 'under_score user', '0', 'yes',
     ('soccer', 'news')),
    ('sophie.vanleeuwen@example.nl', 'Sophie', 'van Leeuwen', 'Leiden', '27', '8.8',
     '1997-03-03', '2021-03-03', '', 'gold', '', '0', 'yes', ('tennis',)),
    ('bram.jacobs@example.be', 'Bram', 'Jacobs', 'Antwerpen', '48', '3.75', '1976-09-30',
     '2017-09-30', '2024-07-04 14:00:00', 'bronze', '', '0', 'no', ()),
    ('julia.vandijk@example.nl', 'Julia', 'van Dijk', 'Haarlem', '33', '7', '1991-01-01',
     '2020-01-01', '2024-08-08 08:08:08', 'silver', 'Tab\there', '2', 'yes', ('soccer',)),
    ('ivan.petrov@example.com', 'Иван', 'Петров', 'Amsterdam', '62', '6.66', '1962-06-06',
     '2015-06-06', '', 'gold', '', '0', 'no', ('news',)),
    ('lisa.hendriks@example.nl', 'Lisa', 'Hendriks', 'Nijmegen', '25', '9.5', '1999-12-12',
     '2022-12-12', '2024-09-09 09:09:09', '', '', '0', 'yes', ('tennis', 'news')),
    ('MARK.KOK@EXAMPLE.COM', 'Mark', 'Kok', 'Zwolle', '70', '2', '1954-04-04', '2014-04-04',
     '2020-04-04 04:04:04', 'bronze', '', '0', 'no', ('soccer',)),
    ('eva.dejong@example.nl', 'Eva', 'de Jong', 'Amsterdam', '37', '8.125', '1987-07-07',
     '2019-03-21', '', 'silver', 'multi\nline', '0', 'yes', ()),
    ('ruben.peters@example.com', 'Ruben', 'Peters', 'Arnhem', '22', '5.25', '2002-02-02',
     '2023-02-02', '2024-10-10 10:10:10', 'gold', '', '21', 'yes', ('soccer', 'tennis')),
    ('nina.vos@example.nl', 'Nina', 'Vos', 'Maastricht', '58', '4', '1966-06-16', '2016-06-16',
     '2019-12-31 23:59:59', '', '', '0', 'no', ('news',)),
]

DEMO_NEWSLETTER = [
    ('alice@example.com', 'Alice'),
    ('bob@example.org', 'Bob'),
    ('', 'Carol'),
]

# (profile ID, ordernumber, total, placed, status); subprofile IDs 1.. in order
DEMO_ORDERS = [
    (1, 'ORD-1001', '99.95', '2024-01-10 12:00:00', 'paid'),
    (1, 'ORD-1002', '15.5', '2024-02-14 09:30:00', 'shipped'),
    (2, 'ORD-1003', '250', '2023-12-24 18:15:00', 'shipped'),
    (4, 'ORD-1004', '12.99', '2024-03-01 08:00:00', 'open'),
    (4, 'ORD-1005', '0', '2024-03-02 08:00:00', ''),
    (4, 'ORD-1006', '1234.56', '2024-03-03 08:00:00', 'paid'),
    (5, 'ORD-1007', '42', '2022-07-07 07:07:07', 'paid'),
    (7, 'ORD-1008', '7.25', '2022-06-30 12:05:00', 'shipped'),
    (7, 'ORD-1009', '19.99', '2023-01-15 16:45:00', 'open'),
    (8, 'ORD-1010', '88.8', '2024-04-01 09:20:00', 'paid'),
    (9, 'ORD-1011', '5', '2023-08-19 10:00:00', 'open'),
    (11, 'ORD-1012', '300.01', '2024-05-05 20:25:00', 'paid'),
    (11, 'ORD-1013', '45.45', '2024-05-06 10:00:00', 'shipped'),
    (11, 'ORD-1014', '9.95', '2024-05-07 11:30:00', 'open'),
    (12, 'ORD-1015', '19.5', '2024-01-02 13:00:00', 'paid'),
    (12, 'ORD-1016', '61', '2024-01-03 13:00:00', 'shipped'),
    (14, 'ORD-1017', '33.33', '2018-04-05 14:14:14', 'shipped'),
    (15, 'ORD-1018', '70', '2023-11-11 23:00:00', 'paid'),
    (15, 'ORD-1019', '2.5', '2023-11-12 01:00:00', 'open'),
    (16, 'ORD-1020', '150', '2021-07-20 07:30:00', 'shipped'),
    (18, 'ORD-1021', '18.75', '2024-07-04 14:30:00', 'paid'),
    (18, 'ORD-1022', '27', '2024-07-05 10:00:00', 'open'),
    (18, 'ORD-1023', '3.99', '2024-07-06 10:00:00', 'shipped'),
    (19, 'ORD-1024', '64.2', '2024-08-08 08:30:00', 'paid'),
    (20, 'ORD-1025', '500', '2015-06-07 12:00:00', 'shipped'),
    (20, 'ORD-1026', '75.5', '2016-06-07 12:00:00', 'paid'),
    (22, 'ORD-1027', '11.11', '2020-04-04 05:00:00', 'shipped'),
    (23, 'ORD-1028', '49.99', '2019-03-22 10:00:00', 'open'),
    (24, 'ORD-1029', '120', '2024-10-10 10:30:00', 'paid'),
    (24, 'ORD-1030', '8.5', '2024-10-11 10:30:00', 'open'),
]


def _stamp(day_offset, seconds):
    """Deterministic 'YYYY-MM-DD hh:mm:ss' from a fixed epoch (2020-01-01)."""
    y, m, d = phpish._civil_from_days(phpish._days_from_civil(2020, 1, 1) + day_offset)
    return '%04d-%02d-%02d %02d:%02d:%02d' % (y, m, d, seconds // 3600 % 24,
                                              seconds // 60 % 60, seconds % 60)


def demo():
    st = build_schema()
    db1 = st.databases[1]
    db2 = st.databases[2]
    by_name = {i.name: i.id for i in db1.interests}
    pid = 0
    for row in DEMO_CUSTOMERS:
        pid += 1
        values = list(row[:13])
        interests = tuple(sorted(by_name[n] for n in row[13]))
        created = _stamp(pid * 7, 9 * 3600 + pid * 61)
        modified = _stamp(pid * 7 + 30 + pid, 14 * 3600 + pid * 127)
        st.insert_profile(Profile(pid, db1, values, interests, fixed_secret('profile', pid),
                                  created, modified))
    for email, name in DEMO_NEWSLETTER:
        pid += 1
        created = _stamp(pid * 3, 8 * 3600 + pid)
        st.insert_profile(Profile(pid, db2, [email, name], (), fixed_secret('profile', pid),
                                  created, created))
    orders = st.collections[1]
    sid = 0
    for prof, number, total, placed, status in DEMO_ORDERS:
        sid += 1
        created = placed
        st.insert_subprofile(Subprofile(sid, orders, prof, [number, total, placed, status],
                                        fixed_secret('subprofile', sid), created, created))
    mailings.attach(st)
    return st


# ---------------------------------------------------------------------------
# generate: N seeded customers
# ---------------------------------------------------------------------------

FIRST = ['Jan', 'Piet', 'Klaas', 'Anna', 'Emma', 'Sophie', 'Lucas', 'Daan', 'Sem', 'Julia',
         'Zoë', 'Jürgen', 'Łukasz', 'Seán', 'Chloé', 'Björn', 'Ana', 'Mohamed', 'Fatima',
         'Yuki', 'Иван', '美咲', 'Noah', 'Mila', 'Levi', 'Tess', 'Finn', 'Sara', 'Liam', 'Eva',
         'JAN', 'anna', 'Marie-Claire', 'Ömer', 'Ines']
LAST = ['Jansen', 'de Vries', 'van den Berg', 'Bakker', 'Visser', 'Smit', 'Meijer',
        'de Boer', 'Mulder', 'de Groot', 'Bos', 'Vos', 'Peters', 'Hendriks', "O'Brien",
        'Müller', 'Nowak', 'Kowalski', 'Tanaka', 'Петров', 'García', 'Dubois', 'Rossi',
        'van Dijk', 'Dekker', 'JANSEN', 'bakker', 'El Amrani', 'Øster', 'Nguyễn']
CITIES = ['Amsterdam', 'Amsterdam', 'Amsterdam', 'amsterdam', 'AMSTERDAM', 'Rotterdam',
          'Utrecht', 'Den Haag', 'Eindhoven', 'Groningen', 'Tilburg', 'Almere', 'Breda',
          'Nijmegen', 'Haarlem', 'Arnhem', 'Leiden', 'Zwolle', 'Maastricht', 'Berlin',
          'Kraków', 'Dublin', '東京', 'São Paulo', 'Zürich', "'s-Hertogenbosch", '']
DOMAINS = ['example.com', 'example.nl', 'example.org', 'mail.example', 'test.example']
NOTES = ['', '', '', '', '', '', 'VIP', 'Prefers email', '50% off voucher', 'code_SAVE_10',
         'said "hello"', 'path C:\\data', 'Café owner', '100%_match', 'call back later',
         'line1\nline2', 'Ümlaut test']
SEGMENTS = ['gold', 'silver', 'bronze', 'bronze', '']
ORDER_STATUS = ['open', 'paid', 'shipped', 'paid', 'shipped', '']

_ASCII = str.maketrans({'ë': 'e', 'ü': 'u', 'Ł': 'L', 'á': 'a', 'é': 'e', 'ö': 'o',
                        'Ö': 'O', 'ø': 'o', 'Ø': 'O', 'ç': 'c', "'": '', ' ': '',
                        'í': 'i', 'ễ': 'e'})


def _ascii_local(s):
    out = s.translate(_ASCII).lower()
    return ''.join(ch for ch in out if 'a' <= ch <= 'z' or ch == '-')


def _date(days):
    y, m, d = _civil(days)
    return '%04d-%02d-%02d' % (y, m, d)


def _civil(days):
    return phpish._civil_from_days(days)


def _dt(days, secs):
    y, m, d = _civil(days)
    return '%04d-%02d-%02d %02d:%02d:%02d' % (y, m, d, secs // 3600, secs // 60 % 60, secs % 60)


# Above this many profiles, generated mailings keep their few declared
# destinations: millions of events would cost gigabytes.
MAILING_MAX_PROFILES = 20000


SHAPES = ('dense', 'sparse', 'clustered', 'skewed', 'removed')


def id_stream(shape, rng):
    """Ascending IDs of one database or collection, shaped like Copernica's.

    Copernica hands out IDs across all databases and accounts, so one
    database sees them with gaps: `sparse` interleaves with other databases
    at random steps (about 2.5 IDs per row), `clustered` has bulk-import
    runs separated by gaps of thousands to millions, `skewed` has its first
    tenth spread thinly and the rest dense. `dense` is 1, 2, 3, ...
    (`removed` uses the sparse steps; its holes come from removed rows).
    """
    r = rng.random
    cur = 0
    if shape == 'dense':
        while True:
            cur += 1
            yield cur
    if shape in ('sparse', 'removed'):
        cur = 1 + int(r() * 1000)
        while True:
            yield cur
            cur += 1 + int(r() * 4)
    if shape == 'clustered':
        cur = 1 + int(r() * 100000)
        while True:
            run = 1 + int(rng.expovariate(1 / 800.0))
            for _ in range(run):
                yield cur
                cur += 1 if r() < 0.9 else 2 + int(r() * 5)
            cur += int(rng.expovariate(1 / 30000.0)) if r() < 0.95 else int(r() * 3000000)
    if shape == 'skewed':
        # callers ask for n IDs; the first tenth of them is spread thinly
        k = 0
        while True:
            k += 1
            cur += 1 + (int(r() * 400) if k % 10 == 1 and r() < 0.9 else int(r() * 2))
            yield cur
    raise ValueError('unknown ID shape %r (%s)' % (shape, ', '.join(SHAPES)))


def _skewed_ids(n, rng):
    """n IDs, 90% of them in the last few percent of the ID space."""
    r = rng.random
    cur, out = 0, []
    thin = n // 10
    for k in range(n):
        cur += 1 + (int(r() * 400) if k < thin else int(r() * 2))
        out.append(cur)
    return out


def generate(n, seed=1, shape='dense', mailings=0):
    """n live Customers from random.Random(seed); profile i (in ID order)
    gets i % 3 orders. IDs follow `shape` (see id_stream); with `removed`,
    a fifth more profiles exist that were removed (with their orders)."""
    if shape not in SHAPES:
        raise ValueError('unknown ID shape %r (%s)' % (shape, ', '.join(SHAPES)))
    enabled = gc.isenabled()
    gc.disable()        # millions of small objects: the cyclic GC only slows this down
    try:
        return _generate(n, seed, shape, mailings)
    finally:
        if enabled:
            gc.enable()


def _generate(n, seed, shape='dense', extra_mailings=0):
    st = build_schema()
    # IDs from their own generator, so a profile's values do not depend on the shape
    idrng = random.Random(seed * 7919 + 17)
    total = n + n // 4 if shape == 'removed' else n
    if shape == 'skewed':
        pids = iter(_skewed_ids(total, idrng))
    else:
        pids = id_stream(shape, idrng)
    sids = id_stream(shape, random.Random(seed * 7919 + 18))
    gone = set(idrng.sample(range(1, total + 1), total - n)) if total > n else set()
    removed_at = '2024-06-01 12:00:00'
    db1 = st.databases[1]
    orders = st.collections[1]
    rng = random.Random(seed)
    r = rng.random
    bits = rng.getrandbits
    nf, nl, nc, nd, nn = len(FIRST), len(LAST), len(CITIES), len(DOMAINS), len(NOTES)
    ns, nos = len(SEGMENTS), len(ORDER_STATUS)
    local_first = [_ascii_local(x) or 'user' for x in FIRST]
    local_last = [_ascii_local(x) or 'user' for x in LAST]
    day1950 = phpish._days_from_civil(1950, 1, 1)
    day2010 = phpish._days_from_civil(2010, 1, 1)
    day2015 = phpish._days_from_civil(2015, 1, 1)
    day2020 = phpish._days_from_civil(2020, 1, 1)
    profiles = st.profiles
    subprofiles = st.subprofiles
    live = db1.live_ids
    olive = orders.live_ids
    sid = 0
    pid = 0
    for i in range(1, total + 1):
        pid = next(pids)
        removed = removed_at if i in gone else False
        fi = int(r() * nf)
        li = int(r() * nl)
        x = r()
        if x < 0.03:
            email = ''
        else:
            email = '%s.%s%d@%s' % (local_first[fi], local_last[li], i, DOMAINS[int(r() * nd)])
            if x > 0.97:
                email = email.upper()
        age = 0 if r() < 0.02 else 18 + int(r() * 63)
        score = php_score(int(r() * 10001))
        bday = '' if r() < 0.1 else _date(day1950 + int(r() * 20000))
        signup = '0000-00-00' if r() < 0.02 else _date(day2010 + int(r() * 5400))
        lastvisit = '' if r() < 0.25 else _dt(day2020 + int(r() * 1800), int(r() * 86400))
        segment = SEGMENTS[int(r() * ns)]
        notes = NOTES[int(r() * nn)]
        referrer = str(int(r() * i)) if r() < 0.2 else '0'
        newsletter = 'yes' if r() < 0.6 else 'no'
        ib = bits(3)
        interests = tuple(k + 1 for k in range(3) if ib >> k & 1)
        cday = day2015 + i // 200
        csec = (i * 37) % 86400
        created = _dt(cday, csec)
        modified = _dt(cday + int(r() * 1000), int(r() * 86400))
        secret = '%028x' % bits(112)
        p = Profile(pid, db1, [email, FIRST[fi], LAST[li], CITIES[int(r() * nc)], str(age),
                               score, bday, signup, lastvisit, segment, notes, referrer,
                               newsletter],
                    interests, secret, created, modified, removed)
        profiles[pid] = p
        if not removed:
            live.append(pid)
        k = i % 3
        if k:
            subs = []
            for _ in range(k):
                sid = next(sids)
                amount = php_score(int(r() * 50000))
                placed = _dt(day2020 + int(r() * 1800), int(r() * 86400))
                status = ORDER_STATUS[int(r() * nos)]
                ssecret = '%028x' % bits(112)
                s = Subprofile(sid, orders, pid, ['G%07d' % sid, amount, placed, status],
                               ssecret, placed, placed, removed)
                subprofiles[sid] = s
                if not removed:
                    olive.append(sid)
                subs.append(sid)
            p.subs = subs
    st.next_profile_id = pid + 1
    st.next_subprofile_id = sid + 1
    # every generated profile gets its mail, up to this size (memory), or
    # when extra mass mailings are asked for (benchmarks of event tables)
    for k in range(extra_mailings):
        e = dict(PUBLISHER_EMAILINGS[0])
        e.update(id=str(2001 + k), subject='Generated mailing %d' % (k + 1),
                 timestamp=_dt(phpish._days_from_civil(2024, 7, 1) + 7 * k, 9 * 3600))
        st.publisher_emailings.append(e)
    mailings.attach(st, scale=n <= MAILING_MAX_PROFILES or extra_mailings > 0)
    return st


def php_score(hundredths):
    """hundredths -> PHP float string ("12.5", "3", "0.07")."""
    whole, frac = divmod(hundredths, 100)
    if frac == 0:
        return str(whole)
    if frac % 10 == 0:
        return '%d.%d' % (whole, frac // 10)
    return '%d.%02d' % (whole, frac)


def build(name, profiles=1000, seed=1, shape='sparse', mailings=0):
    """A dataset by name. Generated IDs are sparse unless asked otherwise:
    that is what one Copernica database sees.  `mailings` extra mass
    Publisher emailings (IDs 2001..) go to every generated profile."""
    if name == 'demo':
        return demo()
    if name == 'empty':
        return empty()
    if name == 'generate':
        return generate(int(profiles), int(seed), shape or 'sparse', int(mailings or 0))
    raise ValueError('unknown dataset %r (demo, empty, generate)' % name)
