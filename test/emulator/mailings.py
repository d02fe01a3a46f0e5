"""Mailing data: destinations, statistics and events (section 11).

Owns: generating destinations and events for the stored emailings from the
profiles they target (deterministic: random.Random(emailing ID)), and the
read-only endpoints of section 11 under publisher/..., ms/...,
profile/$id/{publisher,ms}/... and subprofile/$id/{publisher,ms}/....

Emulator choices where the doc is silent (copernica-api-v2.md 11.14):
- date bounds (fromdate, todate, begintime, endtime, from, to) are inclusive;
- listings come in ID order (emailings in the stored order), envelope and
  paging as in section 3;
- fields[] on these listings knows only `timestamp` (events), `timestampsent`
  (destinations) and `id` (Publisher events); other names are ignored;
- an unknown emailing, destination or template is HTTP 400
  "No emailing with supplied ID" (destination, template likewise);
- ms/destinations without both `from` and `to` is HTTP 400
  "Parameters from and to are required";
- keys of an emailing starting with "_" are internal ("_test",
  "_followup") and never shown;
- a Publisher emailing with "testgroups": N > 0 has N test groups (IDs
  emailing ID * 10 + 1..N), each sent to its own slice of the first fifth
  of the destinations; a test group's events are the emailing's events of
  those destinations; testgroup/$id/clicks?unique=true keeps the first
  click per destination;
- publisher/destination/$id/content gives html, text and subject (html
  null for a text mailing, text null for an html one; amp only when asked
  for, always null);
- the scheduled emailings are fixed (PUBLISHER_SCHEDULED, MS_SCHEDULED);
  their filters: Publisher type (from "_type"), test (test|normal|both),
  fromdate (next >= it); Marketing Suite active, repeated, mass,
  nextrunbefore, nextrunafter (inclusive);
- ms/template/$id/statistics adds up the template's emailings;
- publisher/emailing/$id/finalgroup of a split run (testgroups > 0) is its
  final group: ID emailing ID * 10, the destinations no test group had,
  the first test group's subject; of any other emailing it is `[]` (what
  PHP writes for nothing; the doc does not say);
- message bodies (publisher/destination/$id/body[/html|/mime|/text],
  ms/destination/$id/body[...], ms/template/$id/body/$type) are not JSON:
  UTF-8 text with non-ASCII (text/html, text/plain, message/rfc822); no
  type is HTML; an HTML body of a text mailing (or a text body of an HTML
  one) is empty, as the content endpoint's null; the MIME message holds
  the parts there are; another type is "Invalid method".
"""

import base64
import hashlib
import random

import filters
import phpish
from store import dumps, envelope

PUBLISHER_KINDS = ('abuses', 'clicks', 'deliveries', 'errors', 'impressions', 'unsubscribes')
MS_KINDS = ('abuses', 'clicks', 'deliveries', 'errors', 'impressions')

LINKS = [('901', 'https://shop.example/sale', 'Sale'),
         ('902', 'https://shop.example/new', 'New arrivals'),
         ('903', '{webversion}', 'Web version')]
AGENTS = ['Apple Mail', 'Mozilla/5.0', 'Outlook 16', 'Gmail']
DEVICES = ['desktop', 'mobile', 'tablet', 'unknown']
ERRORS = [('5.1.1', 'user unknown', 'error', 'Rejected by the receiving server'),
          ('4.2.2', 'mailbox full', 'mailerror', 'The mailbox is full'),
          ('', 'host not found', 'nohost', 'The domain has no mail server')]

PUBLISHER_TEMPLATES = {'621': 'Seasonal layout', '630': 'Summer layout'}
PUBLISHER_DOCUMENTS = {'114': 'Spring sale', '115': 'Reminder', '120': 'Zomer'}
MS_TEMPLATES = [
    {'id': '579', 'name': 'Welcome layout',
     'from_address': {'name': 'Test', 'email': 'test@example.com'},
     'subject': 'Welcome', 'type': 'json', '_created': '2023-12-01 10:00:00'},
    {'id': '580', 'name': 'Order mail',
     'from_address': {'name': 'Shop', 'email': 'shop@example.com'},
     'subject': 'Your order', 'type': 'html', '_created': '2024-01-20 10:00:00'},
    {'id': '590', 'name': 'Newsletter',
     'from_address': {'name': 'Newsletter', 'email': 'letter@example.com'},
     'subject': 'Newsletter', 'type': 'json', '_created': '2024-05-01 10:00:00'},
]

PUBLISHER_SCHEDULED = [
    {'id': '456', 'next': '2024-09-01 08:00:00', 'previous': '2024-08-01 08:00:00',
     'interval': {'count': 1, 'unit': 'month'}, 'iterations': -1,
     'processed_iterations': '7', 'scheduled_iterations': '-1', 'document': 114,
     'template': 621, 'subject': 'Monthly news',
     'from_address': {'name': 'Demo Shop', 'email': 'news@example.com'}, 'testgroups': 0,
     'emailing_type': 'normal', 'contenttype': 'html',
     'target': {'type': 'database', 'sources': [{'id': '1', 'type': 'database'}]},
     '_type': 'mass', '_test': False},
    {'id': '457', 'next': '2024-07-15 06:00:00', 'previous': None,
     'interval': {'count': 1, 'unit': 'week'}, 'iterations': 4,
     'processed_iterations': '0', 'scheduled_iterations': '4', 'document': 115,
     'template': 621, 'subject': 'Gold weekly',
     'from_address': {'name': 'Demo Shop', 'email': 'news@example.com'}, 'testgroups': 2,
     'emailing_type': 'splitrun', 'contenttype': 'both',
     'target': {'type': 'view', 'sources': [{'id': '1', 'type': 'view'},
                                            {'id': '1', 'type': 'database'}]},
     '_type': 'individual', '_test': False},
    {'id': '460', 'next': '2024-06-30 12:00:00', 'previous': '2024-06-29 12:00:00',
     'interval': {'count': 1, 'unit': 'day'}, 'iterations': 3,
     'processed_iterations': '2', 'scheduled_iterations': '1', 'document': 120,
     'template': 630, 'subject': 'Test run',
     'from_address': {'name': 'Demo Winkel', 'email': 'info@example.nl'}, 'testgroups': 0,
     'emailing_type': 'normal', 'contenttype': 'text',
     'target': {'type': 'database', 'sources': [{'id': '2', 'type': 'database'}]},
     '_type': 'mass', '_test': True},
]
MS_SCHEDULED = [
    {'id': '1742', 'start': '2024-06-27 17:30:00', 'rrule': 'FREQ=DAILY;COUNT=2',
     'template': '579', 'next': '2024-06-28 17:30:00', 'previous': '2024-06-27 17:30:00',
     'subject': 'Daily welcome', 'from_address': {'name': 'Test', 'email': 'test@example.com'},
     'type': 'mass',
     'target': {'type': 'database', 'sources': [{'id': '1', 'type': 'database'}]},
     '_active': True},
    {'id': '1750', 'start': '2024-08-01 09:00:00', 'rrule': '', 'template': '590',
     'next': '2024-08-01 09:00:00', 'previous': None, 'subject': 'August letter',
     'from_address': {'name': 'Newsletter', 'email': 'letter@example.com'},
     'type': 'individual',
     'target': {'type': 'collection', 'sources': [{'id': '1', 'type': 'collection'},
                                                  {'id': '1', 'type': 'database'}]},
     '_active': False},
]


BODY_TYPES = {'html': 'text/html; charset=utf-8', 'text': 'text/plain; charset=utf-8',
              'mime': 'message/rfc822'}


class Body:
    """A message body: not JSON, served as text of its own type."""

    def __init__(self, text, content_type):
        self.text = text
        self.content_type = content_type


def _mime(key, subject, sender, html, text):
    """A plausible MIME message of the parts there are (8bit UTF-8)."""
    boundary = '----=_Part_%s' % key
    head = ['MIME-Version: 1.0', 'From: %s' % sender,
            'Subject: =?UTF-8?B?%s?=' % base64.b64encode(subject.encode()).decode(),
            'Message-ID: <%s@mail.example>' % key]
    parts = [(t, v) for t, v in (('text/plain', text), ('text/html', html)) if v]
    if len(parts) == 1:
        return '\r\n'.join(head + ['Content-Type: %s; charset=utf-8' % parts[0][0],
                                    'Content-Transfer-Encoding: 8bit', '', parts[0][1]])
    lines = head + ['Content-Type: multipart/alternative; boundary="%s"' % boundary, '']
    for t, v in parts:
        lines += ['--' + boundary, 'Content-Type: %s; charset=utf-8' % t,
                  'Content-Transfer-Encoding: 8bit', '', v]
    return '\r\n'.join(lines + ['--%s--' % boundary, ''])


def _body(kind, key, subject, sender, html, text):
    if kind not in BODY_TYPES:
        raise MailingError('Invalid method')
    if kind == 'mime':
        return Body(_mime(key, subject, sender, html, text), BODY_TYPES[kind])
    return Body((html if kind == 'html' else text) or '', BODY_TYPES[kind])


def _finalgroup(system, e):
    groups = system.testgroups.get(e['id'], [])
    if not groups:
        return '[]'
    dests = system.dests.get(e['id'], [])
    tested = set().union(*(g['_dests'] for g in groups))
    return dumps({'ID': str(int(e['id']) * 10), 'document': e.get('document'),
                  'template': e.get('template'), 'name': 'Final group',
                  'from_address': _sender(e), 'subject': groups[0]['subject'],
                  'timestamp': from_seconds(to_seconds(e['timestamp']) + 86400),
                  'destinations': str(sum(1 for d in dests if d['internal'] not in tested))})


def _template_body(t, kind):
    subject = t['subject']
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title></head>'
            '<body><h1>%s – „%s“</h1><p>Prijzen vanaf 5 € · Grüße aus Köln</p>'
            '<p>{$profile.firstname}</p></body></html>' % (subject, t['name'], subject))
    text = '%s – „%s“\n\nPrijzen vanaf 5 € · Grüße aus Köln\n{$profile.firstname}\n' % (
        t['name'], subject)
    sender = '"%s" <%s>' % (t['from_address']['name'], t['from_address']['email'])
    return _body(kind, 'template-%s' % t['id'], subject, sender, html, text)


class MailingError(Exception):
    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message


# -- time ----------------------------------------------------------------------

def to_seconds(stamp):
    y, mo, d = int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10])
    h, mi, s = (int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19])) \
        if len(stamp) >= 19 else (0, 0, 0)
    return phpish._days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s


def from_seconds(secs):
    days, rest = divmod(secs, 86400)
    y, mo, d = phpish._civil_from_days(days)
    return '%04d-%02d-%02d %02d:%02d:%02d' % (y, mo, d, rest // 3600, rest // 60 % 60,
                                              rest % 60)


def norm_stamp(value):
    """A parameter's date or datetime as 'YYYY-MM-DD hh:mm:ss', or None."""
    v = value.strip() if isinstance(value, str) else ''
    if len(v) == 10:
        v += ' 00:00:00'
    if len(v) != 19:
        return None
    try:
        return from_seconds(to_seconds(v))
    except ValueError:
        return None


def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith('_')}


# -- generation ------------------------------------------------------------------

def _recipients(st, target):
    """(profile ID, subprofile ID or None) of a target, in ID order."""
    t = target.get('type')
    sources = target.get('sources') or [{}]
    key = int(sources[0].get('id', '0') or 0)
    if t == 'database' and key in st.databases:
        return [(pid, None) for pid in st.databases[key].live_ids]
    if t == 'view' and key in st.views:
        view = st.views[key]
        db = st.databases[view.database]
        pred = filters.compile_predicate(
            filters.parse_conditions(dict(enumerate(view.rules)), db.schema))
        return [(pid, None) for pid in db.live_ids
                if pred is None or pred(st.profiles[pid])]
    if t == 'collection' and key in st.collections:
        return [(st.subprofiles[sid].profile, sid) for sid in st.collections[key].live_ids]
    return []


def _pick(rng, items, n):
    n = max(0, min(n, len(items)))
    return sorted(rng.sample(range(len(items)), n))


class System:
    """One mailing system (publisher or ms): its emailings and their events."""

    def __init__(self, name, emailings):
        self.name = name
        self.emailings = emailings              # the store's list (dicts)
        self.by_id = {e['id']: e for e in emailings}
        self.dests = {}                         # emailing id -> [destination dicts]
        self.dest_by_key = {}                   # ID / internal / messageID -> dict
        self.all_dests = []
        self.events = {}                        # kind -> [event dicts], ID order
        self.counts = {}                        # emailing id -> {kind: unsubscribes...}
        self.testgroups = {}                    # emailing id -> [testgroup dicts]
        self.tg_by_id = {}

    def kinds(self):
        return PUBLISHER_KINDS if self.name == 'publisher' else MS_KINDS


def _gen_system(st, system, scale):
    pub = system.name == 'publisher'
    kinds = system.kinds()
    raw = {k: [] for k in kinds}
    next_dest = 7340001 if pub else 1840001
    for e in system.emailings:
        rng = random.Random(int(e['id']))
        members = _recipients(st, e.get('target') or {})
        declared = phpish.php_int(e.get('destinations', 0))
        if scale and e.get('type') == 'mass':
            chosen = members
        else:
            chosen = members[:declared] if declared <= len(members) else members
        sent = to_seconds(e['timestamp'])
        dests = []
        for i, (pid, sid) in enumerate(chosen):
            internal = next_dest
            next_dest += 1
            digest = hashlib.md5(('%s-%d' % (system.name, internal)).encode()).hexdigest()
            ts = from_seconds(sent + 1 + i * 2)
            if pub:
                d = {'ID': digest, 'timestampsent': ts, 'internal': str(internal),
                     'profile': str(pid), 'subprofile': None if sid is None else str(sid),
                     'mailing': e['id']}
            else:
                d = {'ID': str(internal), 'timestampsent': ts, 'profile': str(pid),
                     'subprofile': None if sid is None else str(sid), 'mailing': e['id'],
                     '_message': digest[:16], '_unsubscribed': False}
            dests.append(d)
        n = len(dests)
        if pub and not scale and 'impressions' in e:
            want = {k: phpish.php_int(e.get(k, 0)) for k in
                    ('errors', 'impressions', 'clicks', 'unsubscribes', 'abuses')}
        else:
            want = {'errors': int(n * 0.03 + 0.5), 'impressions': int(n * 0.35 + 0.5),
                    'clicks': int(n * 0.12 + 0.5), 'unsubscribes': int(n * 0.01 + 0.5),
                    'abuses': int(n * 0.003 + 0.5)}
        failed = set(_pick(rng, dests, want['errors']))
        delivered = [i for i in range(n) if i not in failed]

        def ev(kind, i, secs, extra):
            raw[kind].append((secs, e['id'], i, dests[i], extra))

        for i in failed:
            code, desc, etype, etdesc = ERRORS[rng.randrange(len(ERRORS))]
            ev('errors', i, to_seconds(dests[i]['timestampsent']) + rng.randint(5, 120),
               (code, desc, etype, etdesc))
        for i in delivered:
            attempts = 2 if rng.random() < 0.05 else 1
            ev('deliveries', i, to_seconds(dests[i]['timestampsent']) + rng.randint(2, 30),
               attempts)
        opened = [delivered[j] for j in _pick(rng, delivered, want['impressions'])]
        for i in opened:
            for _ in range(rng.randint(1, 3)):
                ev('impressions', i, to_seconds(dests[i]['timestampsent'])
                   + rng.randint(300, 3 * 86400),
                   (rng.randrange(256), AGENTS[rng.randrange(len(AGENTS))],
                    DEVICES[rng.randrange(len(DEVICES))]))
        clicked = [delivered[j] for j in _pick(rng, delivered, want['clicks'])]
        for i in clicked:
            for _ in range(rng.randint(1, 2)):
                ev('clicks', i, to_seconds(dests[i]['timestampsent'])
                   + rng.randint(600, 3 * 86400),
                   (LINKS[rng.randrange(len(LINKS))], rng.randrange(256),
                    AGENTS[rng.randrange(len(AGENTS))]))
        unsubscribed = [delivered[j] for j in _pick(rng, delivered, want['unsubscribes'])]
        if pub:
            for i in unsubscribed:
                ev('unsubscribes', i, to_seconds(dests[i]['timestampsent'])
                   + rng.randint(3600, 4 * 86400), None)
        else:
            if not unsubscribed and n >= 20:
                # at least one, so that the Unsubscribed filter has something
                # to find (chosen without the rng: the other events stay)
                unsubscribed = [delivered[len(delivered) // 2]]
            for i in unsubscribed:
                dests[i]['_unsubscribed'] = True
        for i in [delivered[j] for j in _pick(rng, delivered, want['abuses'])]:
            ev('abuses', i, to_seconds(dests[i]['timestampsent']) + rng.randint(3600, 5 * 86400),
               None)
        if pub:
            _gen_testgroups(system, e, dests)
        system.dests[e['id']] = dests
        system.counts[e['id']] = {'unsubscribes': len(unsubscribed)}
        for d in dests:
            system.all_dests.append(d)
            system.dest_by_key[d['ID']] = d
            if pub:
                system.dest_by_key[d['internal']] = d
            else:
                system.dest_by_key[d['_message']] = d
        if scale and pub:
            e['destinations'] = str(n)
        elif scale:
            e['destinations'] = n

    # IDs rise with time in every kind, so id>N and timestamp>T both follow it
    for kind in kinds:
        rows = sorted(raw[kind], key=lambda r: (r[0], int(r[1]), r[2]))
        out = []
        for eid, (secs, mailing, _i, d, extra) in enumerate(rows, 1):
            out.append(_event(pub, kind, eid, from_seconds(secs), mailing, d, extra))
        system.events[kind] = out
    if pub and scale:
        for e in system.emailings:
            for kind in ('clicks', 'impressions', 'errors', 'unsubscribes', 'abuses'):
                dests = {ev['destination'] for ev in system.events[kind]
                         if ev['emailing'] == e['id']}
                e[kind] = str(len(dests))
    system.all_dests.sort(key=lambda d: int(d['internal'] if pub else d['ID']))


def _sender(e):
    f = e.get('from_address') or {}
    return '"%s" <%s>' % (f.get('name', ''), f.get('email', ''))


def _gen_testgroups(system, e, dests):
    """A split run's test groups: each gets a slice of the first fifth."""
    t = phpish.php_int(e.get('testgroups', 0))
    groups = []
    if t > 0 and dests:
        size = max(1, len(dests) // 5 // t)
        for k in range(t):
            members = dests[k * size:(k + 1) * size]
            g = {'ID': str(int(e['id']) * 10 + k + 1), 'document': e.get('document'),
                 'name': 'Testgroup %d' % (k + 1), 'from_address': _sender(e),
                 'subject': '%s (%s)' % (e.get('subject', ''), chr(65 + k)),
                 'timestamp': e['timestamp'], 'destinations': str(len(members)),
                 '_emailing': e['id'], '_dests': {d['internal'] for d in members}}
            groups.append(g)
            system.tg_by_id[g['ID']] = g
    system.testgroups[e['id']] = groups


def _message(system, d):
    """A destination's message: subject, html and text (None: not sent)."""
    e = system.by_id[d['mailing']]
    ctype = e.get('contenttype', 'both' if system.name == 'ms' else 'html')
    subject = e.get('subject', '')
    html = None if ctype == 'text' else (
        '<html><body><h1>%s</h1><p>Dear customer %s,</p>'
        '<a href="https://shop.example/sale">Sale</a></body></html>' % (subject, d['profile']))
    text = None if ctype == 'html' else '%s\n\nDear customer %s,\n' % (subject, d['profile'])
    return subject, html, text


def _dest_body(system, d, kind):
    e = system.by_id[d['mailing']]
    subject, html, text = _message(system, d)
    greeting = ' Met vriendelijke groet, Démo Winkel – 5 € korting'
    if html is not None:
        html = html.replace('</body>', '<p>%s</p></body>' % greeting.strip())
    if text is not None:
        text += greeting.strip() + '\n'
    key = d['internal'] if system.name == 'publisher' else d['ID']
    return _body(kind or 'html', 'dest-%s' % key, subject, _sender(e), html, text)


def _content(system, d, params, wanted):
    subject, html, text = _message(system, d)
    full = {'html': html, 'text': text, 'subject': subject}
    if not wanted:
        return full
    out = {}
    for t in wanted.split('+'):
        if t not in ('html', 'amp', 'text', 'subject'):
            raise MailingError('Invalid content type')
        out[t] = full.get(t)
    return out


def _scheduled(system, params):
    if system.name == 'publisher':
        items = PUBLISHER_SCHEDULED
        t = params.get('type')
        if t in ('mass', 'individual'):
            items = [x for x in items if x['_type'] == t]
        if params.get('test') == 'test':
            items = [x for x in items if x['_test']]
        elif params.get('test') == 'normal':
            items = [x for x in items if not x['_test']]
        lo = norm_stamp(params.get('fromdate')) if isinstance(params.get('fromdate'), str) \
            else None
        return [x for x in items if lo is None or (x['next'] or '') >= lo]
    items = MS_SCHEDULED
    for name, test in (('active', lambda x: x['_active']), ('repeated', lambda x: bool(x['rrule'])),
                       ('mass', lambda x: x['type'] == 'mass')):
        v = params.get(name)
        if v in ('true', '1'):
            items = [x for x in items if test(x)]
        elif v in ('false', '0') and name != 'mass':
            items = [x for x in items if not test(x)]
    for name, cmp in (('nextrunbefore', lambda a, b: a <= b),
                      ('nextrunafter', lambda a, b: a >= b)):
        v = norm_stamp(params.get(name)) if isinstance(params.get(name), str) else None
        if v is not None:
            items = [x for x in items if x['next'] and cmp(x['next'], v)]
    return items


def _template_statistics(system, template, params):
    """ms/template/$id/statistics: the template's emailings added up."""
    out = {'destinations': 0}
    sums = {}
    for e in system.emailings:
        if e.get('template') != template:
            continue
        s = _statistics(system, e, params)
        out['destinations'] += phpish.php_int(s['destinations'])
        for kind, v in s.items():
            if isinstance(v, dict):
                acc = sums.setdefault(kind, {})
                for k, n in v.items():
                    acc[k] = acc.get(k, 0) + n
    out['destinations'] = str(out['destinations'])
    for kind in ('abuses', 'clicks', 'deliveries', 'errors', 'impressions', 'retries',
                 'unsubscribes'):
        acc = sums.get(kind, {'total': 0, 'unique': 0})
        if kind in ('abuses', 'errors', 'retries', 'deliveries'):
            out[kind] = {'total': acc.get('total', 0)}
        else:
            out[kind] = {'total': acc.get('total', 0), 'unique': acc.get('unique', 0)}
    return out


def _event(pub, kind, eid, ts, mailing, d, extra):
    dest = d['internal'] if pub else d['ID']
    links = {'destination': dest, 'profile': d['profile'], 'subprofile': d['subprofile']}
    if pub:
        if kind == 'deliveries':
            body = {'ID': str(eid), 'timestamp': ts, 'attempt': str(extra - 1),
                    'smtp-response': '250 2.0.0 queued'}
        elif kind == 'impressions':
            body = {'ID': str(eid), 'timestamp': ts, 'ip': '198.51.100.%d' % extra[0],
                    'useragent': extra[1], 'device': extra[2], 'referer': None}
        elif kind == 'clicks':
            (lid, link, title), octet, agent = extra
            body = {'ID': str(eid), 'link_id': lid, 'link': link, 'link_title': title,
                    'timestamp': ts, 'ip': '198.51.100.%d' % octet, 'useragent': agent,
                    'referer': None}
        elif kind == 'errors':
            body = {'ID': str(eid), 'timestamp': ts, 'errorcode': extra[0],
                    'description': extra[1], 'errortype': extra[2],
                    'errortypedescription': extra[3]}
        elif kind == 'unsubscribes':
            body = {'ID': str(eid), 'timestamp': ts, 'source': 'link', 'success': True}
        else:
            body = {'ID': str(eid), 'timestamp': ts, 'recognized_as': 'arf',
                    'feedback_type': 'abuse', 'arf_version': '1', 'details': ''}
        body['emailing'] = mailing
        body.update(links)
        return body
    body = {'ID': str(eid), 'mailing': mailing}
    if kind == 'deliveries':
        body.update({'timestamp': ts, 'attempts': extra})
    elif kind == 'impressions':
        body.update({'timestamp': ts, 'ip': '2001:db8::%x' % extra[0], 'useragent': extra[1],
                     'device': extra[2]})
    elif kind == 'clicks':
        (_lid, link, _title), octet, agent = extra
        body.update({'link': link, 'timestamp': ts, 'ip': '2001:db8::%x' % octet,
                     'useragent': agent})
    elif kind == 'errors':
        body.update({'timestamp': ts, 'status': None, 'errorcode': extra[0],
                     'description': extra[1], 'errortype': extra[2]})
    else:
        body.update({'timestamp': ts, 'report': {}})
    body.update(links)
    if kind == 'impressions':
        # the doc's one example shows profile as a bare number here
        body['profile'] = int(d['profile'])
    return body


class Mailings:
    def __init__(self, st, scale):
        self.publisher = System('publisher', st.publisher_emailings)
        self.ms = System('ms', st.ms_emailings)
        _gen_system(st, self.publisher, scale)
        _gen_system(st, self.ms, scale)

    def system(self, name):
        return self.publisher if name == 'publisher' else self.ms


def attach(st, scale=False):
    """Generate the mailing data of a store whose profiles are in place."""
    st.mailing_scale = scale
    st.mailings = Mailings(st, scale)


# -- serving -------------------------------------------------------------------

def _page(params, items):
    start = phpish.param_int(params, 'start', 0)
    limit = phpish.param_int(params, 'limit', 100)
    if limit > 1000:
        limit = 1000
    want_total = 'total' not in params or phpish.is_true(params['total'])
    page = [] if start < 0 or limit <= 0 else items[start:start + limit]
    return envelope([dumps(public(x)) for x in page], start, limit,
                    len(items) if want_total else None)


def _special_filter(params, names):
    """fields[] conditions on the special names (lower case -> item key)."""
    raw = params.get('fields')
    tests = []
    if not isinstance(raw, dict):
        return tests
    for expr in raw.values():
        if not isinstance(expr, str):
            continue
        m = filters.EXPR.match(expr.strip(filters.PHP_TRIM))
        if not m or m.group(2) not in filters.OPERATORS or m.group(2) in ('=~', '!~'):
            continue
        key = names.get(m.group(1).lower())
        if key is None:
            continue            # unknown names are ignored
        op, value = m.group(2), m.group(3)
        if key == 'ID':
            n = phpish.php_int(value)
            tests.append(lambda x, op=op, n=n: filters._cmp(op, int(x.get('ID') or x.get('id')), n))
        else:
            v = norm_stamp(value)
            if v is None:
                continue
            tests.append(lambda x, op=op, v=v, k=key: filters._cmp(op, x[k], v))
    return tests


def _range(params, lo_name, hi_name, key, items):
    lo = norm_stamp(params.get(lo_name)) if isinstance(params.get(lo_name), str) else None
    hi = norm_stamp(params.get(hi_name)) if isinstance(params.get(hi_name), str) else None
    if hi is not None and len(str(params.get(hi_name)).strip()) == 10:
        hi = hi[:10] + ' 23:59:59'      # a bare date: the whole day
    if lo is None and hi is None:
        return items
    return [x for x in items if (lo is None or x[key] >= lo) and (hi is None or x[key] <= hi)]


def _apply(tests, items):
    if not tests:
        return items
    return [x for x in items if all(t(x) for t in tests)]


def _emailing_filter(params, system, items):
    out = list(items)
    t = params.get('type')
    if isinstance(t, str) and t in ('mass', 'individual'):
        out = [e for e in out if e.get('type') == t]
    for name, flag in (('followups', '_followup'), ('test', '_test')):
        if name == 'test' and system.name != 'publisher':
            continue
        v = params.get(name)
        if v == 'yes':
            out = [e for e in out if e.get(flag)]
        elif v == 'no':
            out = [e for e in out if not e.get(flag)]
    for name, cmp in (('mindestinations', lambda a, b: a >= b),
                      ('maxdestinations', lambda a, b: a <= b)):
        if isinstance(params.get(name), str) and params[name] != '':
            n = phpish.php_int(params[name])
            out = [e for e in out if cmp(phpish.php_int(e.get('destinations', 0)), n)]
    return _range(params, 'fromdate', 'todate', 'timestamp', out)


def _events(system, kind, params, items):
    if system.name == 'publisher':
        return _apply(_special_filter(params, {'timestamp': 'timestamp', 'id': 'ID'}), items)
    items = _range(params, 'begintime', 'endtime', 'timestamp', items)
    if kind == 'clicks' and phpish.is_true(params.get('unique', False)):
        seen = set()
        out = []
        for x in items:
            k = (x['destination'], x['link'])
            if k not in seen:
                seen.add(k)
                out.append(x)
        items = out
    return items


def _statistics(system, emailing, params):
    lo = norm_stamp(params.get('begintime')) if isinstance(params.get('begintime'), str) else None
    hi = norm_stamp(params.get('endtime')) if isinstance(params.get('endtime'), str) else None
    key = 'emailing' if system.name == 'publisher' else 'mailing'
    out = {}
    if system.name == 'ms':
        out['destinations'] = str(len(system.dests.get(emailing['id'], [])))
    for kind in ('abuses', 'clicks', 'deliveries', 'errors', 'impressions', 'unsubscribes'):
        if kind == 'deliveries' and system.name == 'publisher':
            continue
        evs = [x for x in system.events.get(kind, []) if x[key] == emailing['id']
               and (lo is None or x['timestamp'] >= lo) and (hi is None or x['timestamp'] <= hi)]
        if kind == 'unsubscribes' and system.name == 'ms':
            n = system.counts[emailing['id']]['unsubscribes']
            out[kind] = {'total': n, 'unique': n}
        elif kind == 'deliveries':
            out[kind] = {'total': len(evs)}
        else:
            out[kind] = {'total': len(evs), 'unique': len({x['destination'] for x in evs})}
        if kind == 'deliveries' and system.name == 'ms':
            retried = [x for x in evs if x['attempts'] > 1]
            out['retries'] = {'total': len(retried),
                              'unique': len({x['destination'] for x in retried})}
    if system.name == 'publisher':
        out['unknown'] = {'total': 0}
    return out


def _single_emailing(system, e):
    obj = public(e)
    if system.name == 'publisher':
        for k in ('errors', 'unsubscribes', 'abuses'):
            obj.pop(k, None)
    else:
        # only the single object has them [doc]: made up from the subject
        obj['tags'] = e['tags'] if 'tags' in e else \
            [e.get('subject', '').lower(), 'promo'] if e.get('type') == 'mass' else []
    return obj


def route(st, head, parts, params):
    """GET publisher/... or ms/...; parts[0] is the word after the head.
    Returns a JSON text; raises MailingError."""
    system = st.mailings.system(head)
    kinds = system.kinds()
    what = parts[0] if parts else None
    if what == 'emailings' and len(parts) == 1:
        return _page(params, _emailing_filter(params, system, system.emailings))
    if what == 'emailing' and len(parts) >= 2:
        e = system.by_id.get(parts[1])
        if e is None:
            raise MailingError('No emailing with supplied ID')
        rest = parts[2:]
        if not rest:
            return dumps(_single_emailing(system, e))
        if rest == ['destinations']:
            items = system.dests.get(e['id'], [])
            if system.name == 'ms' and phpish.is_true(params.get('unsubscribed',
                                                                 params.get('Unsubscribed'))):
                items = [d for d in items if d['_unsubscribed']]
            return _page(params, _apply(_special_filter(params,
                                                        {'timestampsent': 'timestampsent'}),
                                        items))
        if rest == ['statistics']:
            return dumps(_statistics(system, e, params))
        if rest == ['snapshot'] and system.name == 'publisher':
            return dumps({'document': e.get('document'),
                          'name': e.get('description') or e.get('subject', ''),
                          'from_address': _sender(e), 'subject': e.get('subject', '')})
        if rest == ['testgroups'] and system.name == 'publisher':
            return _page(params, system.testgroups.get(e['id'], []))
        if rest == ['finalgroup'] and system.name == 'publisher':
            return _finalgroup(system, e)
        if len(rest) == 1 and rest[0] in kinds:
            key = 'emailing' if system.name == 'publisher' else 'mailing'
            items = [x for x in system.events[rest[0]] if x[key] == e['id']]
            return _page(params, _events(system, rest[0], params, items))
        raise MailingError('Invalid method')
    if what == 'destination' and len(parts) >= 2:
        d = system.dest_by_key.get(parts[1])
        if d is None:
            raise MailingError('No destination with supplied ID')
        rest = parts[2:]
        dest = d['internal'] if system.name == 'publisher' else d['ID']
        if not rest:
            obj = public(d)
            if system.name == 'ms':
                obj = {'ID': d['ID'], 'messageID': d['_message'],
                       'timestampsent': d['timestampsent'], 'profile': d['profile'],
                       'subprofile': d['subprofile'], 'mailing': d['mailing']}
            return dumps(obj)
        if len(rest) == 1 and rest[0] in kinds:
            items = [x for x in system.events[rest[0]] if x['destination'] == dest]
            return _page(params, _events(system, rest[0], params, items))
        if rest == ['statistics']:
            out = {'ID': dest}
            for kind in kinds + ('unsubscribes',):
                if kind in system.events:
                    out[kind] = {'total': sum(1 for x in system.events[kind]
                                              if x['destination'] == dest)}
            out.setdefault('unsubscribes', {'total': 0})
            out['retries'] = {'total': 0}
            if system.name == 'ms':
                out['clicks']['unique'] = len({x['link'] for x in system.events['clicks']
                                               if x['destination'] == dest})
                n = 1 if d['_unsubscribed'] else 0
                out['unsubscribes'] = {'total': n, 'unique': n}
                out['retries'] = {'total': sum(x['attempts'] - 1
                                               for x in system.events['deliveries']
                                               if x['destination'] == dest)}
            return dumps(out)
        if rest and rest[0] == 'body' and len(rest) <= 2:
            return _dest_body(system, d, rest[1] if len(rest) == 2 else None)
        if rest and rest[0] == 'content' and len(rest) <= 2 and system.name == 'publisher':
            return dumps(_content(system, d, params, rest[1] if len(rest) == 2 else None))
        raise MailingError('Invalid method')
    if what == 'testgroup' and len(parts) >= 2 and system.name == 'publisher':
        g = system.tg_by_id.get(parts[1])
        if g is None:
            raise MailingError('No testgroup with supplied ID')
        rest = parts[2:]
        if not rest:
            return dumps(public(g))
        if len(rest) == 1 and rest[0] in kinds:
            items = [x for x in system.events[rest[0]] if x['destination'] in g['_dests']]
            if rest[0] == 'clicks' and phpish.is_true(params.get('unique', False)):
                seen = set()
                items = [x for x in items
                         if not (x['destination'] in seen or seen.add(x['destination']))]
            return _page(params, items)
        raise MailingError('Invalid method')
    if what == 'scheduledemailings' and len(parts) == 1:
        return _page(params, _scheduled(system, params))
    if what == 'destinations' and len(parts) == 1 and system.name == 'ms':
        lo, hi = params.get('from'), params.get('to')
        if not (isinstance(lo, str) and lo and isinstance(hi, str) and hi):
            raise MailingError('Parameters from and to are required')
        items = _range(params, 'from', 'to', 'timestampsent', system.all_dests)
        if phpish.is_true(params.get('unsubscribed', params.get('Unsubscribed'))):
            items = [d for d in items if d['_unsubscribed']]
        items = [{'id': d['ID'], 'messageID': d['_message'], 'timestampsent': d['timestampsent'],
                  'profile': d['profile'], 'subprofile': d['subprofile'], 'mailing': d['mailing'],
                  'unsubscribed': d['_unsubscribed']} for d in items]
        return _page(params, items)
    if what in kinds and len(parts) == 1:
        return _page(params, _events(system, what, params, system.events[what]))
    if what == 'templates' and len(parts) == 1:
        if system.name == 'publisher':
            return _page(params, [{'id': k, 'name': v, 'description': ''}
                                  for k, v in sorted(PUBLISHER_TEMPLATES.items())])
        items = MS_TEMPLATES
        for name, key in (('name', 'name'), ('keyword', 'subject')):
            v = params.get(name)
            if isinstance(v, str) and v:
                items = [t for t in items if v.lower() in t[key].lower()]
        if params.get('type') in ('json', 'html'):
            items = [t for t in items if t['type'] == params['type']]
        b = norm_stamp(params.get('created_before')) if params.get('created_before') else None
        a = norm_stamp(params.get('created_after')) if params.get('created_after') else None
        items = [t for t in items if (b is None or t['_created'] < b)
                 and (a is None or t['_created'] > a)]
        return _page(params, items)
    if what == 'documents' and len(parts) == 1 and system.name == 'publisher':
        return _page(params, [{'id': k, 'name': v, 'description': ''}
                              for k, v in sorted(PUBLISHER_DOCUMENTS.items())])
    if what in ('template', 'document') and len(parts) >= 2:
        if what == 'template' and system.name == 'ms':
            t = [x for x in MS_TEMPLATES if x['id'] == parts[1]]
            if not t:
                raise MailingError('No template with supplied ID')
            if len(parts) == 2:
                return dumps(public(t[0]))
            if parts[2:] == ['statistics']:
                return dumps(_template_statistics(system, parts[1], params))
            if len(parts) == 4 and parts[2] == 'body':
                return _template_body(t[0], parts[3])
            raise MailingError('Invalid method')
        known = PUBLISHER_TEMPLATES if what == 'template' else PUBLISHER_DOCUMENTS
        if system.name != 'publisher' or parts[1] not in known:
            raise MailingError('No %s with supplied ID' % what)
        if parts[2:] == ['emailings']:
            return _page(params, [e for e in system.emailings if e.get(what) == parts[1]])
        if len(parts) == 2:
            return dumps({'id': parts[1], 'name': known[parts[1]], 'description': ''})
    raise MailingError('Invalid method')


def route_entity(st, kind, entity_id, system_name, parts, params):
    """profile/$id/{publisher,ms}/{emailings,destinations} and the subprofile ones."""
    system = st.mailings.system(system_name)
    what = parts[0] if parts else None
    if kind == 'profile':
        include = 'include_subprofiles' not in params or \
            phpish.is_true(params['include_subprofiles'])
        mine = [d for d in system.all_dests if d['profile'] == str(entity_id)
                and (include or d['subprofile'] is None or what == 'destinations')]
    else:
        mine = [d for d in system.all_dests if d['subprofile'] == str(entity_id)]
    if what == 'destinations' and len(parts) == 1:
        items = [{'ID': d['ID'], 'timestampsent': d['timestampsent'], 'profile': d['profile'],
                  'subprofile': d['subprofile'], 'mailing': d['mailing']}
                 if system.name == 'ms' else d for d in mine]
        return _page(params, _apply(_special_filter(params, {'timestampsent': 'timestampsent'}),
                                    items))
    if what == 'emailings' and len(parts) == 1:
        ids = {d['mailing'] for d in mine}
        items = []
        for e in system.emailings:
            if e['id'] in ids:
                obj = dict(e)
                obj.pop('description', None)
                items.append(obj)
        return _page(params, _emailing_filter(params, system, items))
    raise MailingError('Invalid method')
