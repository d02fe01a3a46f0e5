"""Conformance tests for the Copernica REST API v2 emulator.

Each test checks one behaviour documented in /work/shared/copernica-api-v2.md
(or the emulator contract). Run from the repository root:

    python3 -m unittest discover -s test/emulator -p 'test_*.py' -v
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import quote, urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import copernica_emulator  # noqa: E402
import datasets            # noqa: E402
from store import Store    # noqa: E402

TOKEN = 'test-token'
SERVER = None


def setUpModule():
    global SERVER
    SERVER = copernica_emulator.make_server(store=datasets.demo(), token=TOKEN)
    threading.Thread(target=SERVER.serve_forever, kwargs={'poll_interval': 0.05},
                     daemon=True).start()


def tearDownModule():
    SERVER.shutdown()
    SERVER.server_close()


class Resp:
    def __init__(self, r, body):
        self.status = r.status
        self.headers = r.headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode('utf-8'))


def build_query(params, token):
    parts = []
    if token is not None:
        parts.append('access_token=' + quote(token, safe=''))
    if isinstance(params, str):
        if params:
            parts.append(params)
    elif params:
        items = params.items() if isinstance(params, dict) else params
        parts.append(urlencode(list(items)))
    return '&'.join(parts)


def call(method, path, params=None, body=None, token=TOKEN, headers=None, conn=None,
         content_type='application/json'):
    """One request to /v2/<path>; `body` may be a dict/list (JSON) or str/bytes."""
    q = build_query(params, token)
    url = '/v2/' + path + ('?' + q if q else '')
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode('utf-8')
        elif isinstance(body, str):
            data = body.encode('utf-8')
        else:
            data = body
        if content_type:
            hdrs['Content-Type'] = content_type
    own = conn is None
    if own:
        conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=30)
    try:
        conn.request(method, url, body=data, headers=hdrs)
        r = conn.getresponse()
        return Resp(r, r.read())
    finally:
        if own:
            conn.close()


def get(path, params=None, **kw):
    return call('GET', path, params, **kw)


def control(method, what, body=None):
    conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=120)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, '/_control/' + what, body=data,
                     headers={'Content-Type': 'application/json'} if data else {})
        r = conn.getresponse()
        return r.status, json.loads(r.read().decode('utf-8'))
    finally:
        conn.close()


def ids_of(resp):
    return [int(e['ID']) for e in resp.json()['data']]


def demo_rows():
    """The demo customers as dicts (an oracle independent of filters.py)."""
    names = [f[1] for f in datasets.CUSTOMER_FIELDS]
    rows = {}
    for i, row in enumerate(datasets.DEMO_CUSTOMERS, 1):
        rows[i] = dict(zip(names, row[:13]))
    return rows


class EmulatorTestCase(unittest.TestCase):
    def setUp(self):
        control('POST', 'reset', {'dataset': 'demo'})

    def assertError(self, resp, message):
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.header('Content-Type'), 'application/json')
        self.assertEqual(resp.json(), {'error': {'message': message}})

    def listing(self, path, params):
        r = get(path, params)
        self.assertEqual(r.status, 200, r.body)
        return r


# ---------------------------------------------------------------------------
# Authentication, content type, paths
# ---------------------------------------------------------------------------


class TestAuthAndPaths(EmulatorTestCase):
    def test_missing_token_is_400_invalid_access_token(self):
        self.assertError(get('identity', token=None), 'Invalid access token')

    def test_wrong_token_is_400_invalid_access_token(self):
        self.assertError(get('database/1/profiles', token='nope'), 'Invalid access token')

    def test_token_checked_before_path(self):
        self.assertError(get('PROFILE/1', token='nope'), 'Invalid access token')

    def test_content_type_is_exactly_application_json(self):
        for r in (get('identity'), get('database/1/profiles'), get('profile/1/fields'),
                  get('profile/999999')):
            self.assertEqual(r.header('Content-Type'), 'application/json')
            self.assertEqual(int(r.header('Content-Length')), len(r.body))

    def test_identity_lowercase_id_and_strings(self):
        r = get('identity')
        self.assertEqual(r.status, 200)
        d = r.json()
        self.assertEqual(list(d), ['id', 'name', 'description', 'company'])
        self.assertEqual(d['id'], '1')
        self.assertEqual(d['name'], 'Emulator')
        self.assertTrue(all(isinstance(v, str) for v in d.values()))

    def test_paths_are_case_sensitive(self):
        self.assertError(get('PROFILE/1'), 'Invalid method')
        self.assertError(get('Database/1/profiles'), 'Invalid method')

    def test_trailing_slashes_ignored(self):
        r = get('profile/1//')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()['ID'], '1')
        self.assertEqual(get('database/1/profiles/').json()['total'], 25)

    def test_missing_element_errors(self):
        msg = "Invalid request, element %d is missing in 'directory' path"
        self.assertError(get('database'), msg % 1)
        self.assertError(get('profile/'), msg % 1)
        self.assertError(call('DELETE', 'subprofile'), msg % 1)
        self.assertError(get('profile/1/subprofiles'), msg % 3)
        self.assertError(call('POST', 'profile/1/subprofiles/', body={}), msg % 3)

    def test_unknown_entity_messages(self):
        self.assertError(get('database/99'), 'No database with supplied ID')
        self.assertError(get('database/bogus/profiles'), 'No database with supplied ID')
        self.assertError(get('database/0/fields'), 'No database with supplied ID')
        self.assertError(get('collection/99'), 'No collection with given ID')
        self.assertError(get('profile/999'), 'No entity with supplied ID')
        self.assertError(get('profile/abc'), 'No entity with supplied ID')
        self.assertError(get('subprofile/999'), 'No subprofile with supplied ID')

    def test_entity_id_checked_before_sub_path(self):
        self.assertError(get('profile/999/bogus/path'), 'No entity with supplied ID')
        self.assertError(call('DELETE', 'database//profiles'), 'No database with supplied ID')

    def test_unknown_sub_path_is_invalid_method(self):
        self.assertError(get('profile/1/bogus'), 'Invalid method')
        self.assertError(get('database/1/copy'), 'Invalid method')
        self.assertError(call('DELETE', 'database/1'), 'Invalid method')
        self.assertError(get('nonsense'), 'Invalid method')

    def test_extra_components_after_list_endpoints_ignored(self):
        a = get('database/1/profiles')
        self.assertEqual(get('database/1/profiles/bogus/path').body, a.body)
        self.assertEqual(get('profile/1/fields/bogus').body, get('profile/1/fields').body)
        r = call('POST', 'database/1/profiles//123', body={'fields': {'firstname': 'X'}})
        self.assertEqual(r.status, 201)

    def test_unsupported_http_method_is_invalid_method(self):
        self.assertError(call('PATCH', 'profile/1', body={}), 'Invalid method')


# ---------------------------------------------------------------------------
# Structure endpoints
# ---------------------------------------------------------------------------


class TestStructure(EmulatorTestCase):
    def test_databases_listing(self):
        d = self.listing('databases', None).json()
        self.assertEqual((d['start'], d['limit'], d['count'], d['total']), (0, 100, 2, 2))
        db = d['data'][0]
        self.assertEqual(list(db), ['ID', 'name', 'description', 'archived', 'created',
                                    'fields', 'interests', 'collections', 'intentions'])
        self.assertEqual((db['ID'], db['name'], db['description']),
                         ('1', 'Customers', 'Demo customer database'))
        self.assertEqual(db['fields']['limit'], 1000)
        self.assertEqual(db['fields']['count'], 13)
        self.assertEqual(db['intentions'], {'email': False, 'sms': False, 'fax': False,
                                            'pdf': False})
        self.assertEqual(d['data'][1]['name'], 'Newsletter')

    def test_post_databases_creates(self):
        r = call('POST', 'databases', body={'name': 'Extra', 'description': 'x'})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.header('X-Created'), '3')
        self.assertEqual(r.body, b'')
        self.assertEqual(get('database/3').json()['name'], 'Extra')

    def test_database_by_id_or_name_case_insensitive(self):
        by_id = get('database/2').json()
        self.assertEqual(by_id['name'], 'Newsletter')
        self.assertEqual(get('database/nEwSlEtTeR').json(), by_id)
        self.assertEqual(get('database/CUSTOMERS/profiles').json()['total'], 25)

    def test_database_fields(self):
        d = self.listing('database/1/fields', None).json()
        self.assertEqual(d['count'], 13)
        self.assertEqual([f['name'] for f in d['data']],
                         ['email', 'firstname', 'lastname', 'city', 'age', 'score', 'birthday',
                          'signup', 'lastvisit', 'segment', 'notes', 'referrer', 'newsletter'])
        self.assertEqual([f['ID'] for f in d['data']], [str(i) for i in range(1, 14)])
        age = d['data'][4]
        self.assertEqual((age['type'], age['value']), ('integer', '0'))
        self.assertEqual(list(age), ['ID', 'name', 'type', 'value', 'displayed', 'ordered',
                                     'length', 'textlines', 'hidden', 'index'])
        self.assertIsInstance(age['length'], str)
        self.assertIsInstance(age['displayed'], bool)
        self.assertEqual(d['data'][9]['value'], 'gold\r\nsilver\r\nbronze*')
        self.assertEqual(d['data'][11]['type'], 'foreign_key')

    def test_database_collections(self):
        d = self.listing('database/1/collections', None).json()
        self.assertEqual(d['count'], 1)
        c = d['data'][0]
        self.assertEqual((c['ID'], c['name'], c['database']), ('1', 'Orders', '1'))
        self.assertEqual(c['fields']['limit'], 100)
        self.assertEqual([f['ID'] for f in c['fields']['data']], ['14', '15', '16', '17'])
        c2 = get('database/2/collections').json()['data'][0]
        self.assertEqual((c2['ID'], c2['name'], c2['fields']['data'][0]['ID']),
                         ('2', 'Clicks', '20'))

    def test_database_interests(self):
        d = self.listing('database/1/interests', None).json()
        self.assertEqual(d['data'], [{'ID': '1', 'name': 'soccer', 'group': 'sports'},
                                     {'ID': '2', 'name': 'tennis', 'group': 'sports'},
                                     {'ID': '3', 'name': 'news', 'group': 'media'}])

    def test_database_views(self):
        d = self.listing('database/1/views', None).json()
        self.assertEqual([(v['ID'], v['name']) for v in d['data']],
                         [('1', 'Gold customers'), ('2', 'Amsterdam')])
        self.assertEqual(d['data'][0]['database'], '1')
        self.assertTrue(d['data'][0]['has-rules'])

    def test_collection_object_and_fields(self):
        c = get('collection/1').json()
        self.assertEqual((c['ID'], c['name'], c['database']), ('1', 'Orders', '1'))
        f = get('collection/1/fields').json()
        self.assertEqual([(x['name'], x['type']) for x in f['data']],
                         [('ordernumber', 'text'), ('total', 'float'), ('placed', 'datetime'),
                          ('status', 'select')])

    def test_view_object_and_profiles(self):
        self.assertEqual(get('view/1').json()['name'], 'Gold customers')
        gold = [i for i, r in demo_rows().items() if r['segment'] == 'gold']
        self.assertEqual(ids_of(get('view/1/profiles')), gold)
        # the Amsterdam rule compares text case-insensitively
        ams = [i for i, r in demo_rows().items() if r['city'].lower() == 'amsterdam']
        r = get('view/2/profiles', {'fields[]': 'age>40'}).json()
        self.assertEqual([int(e['ID']) for e in r['data']],
                         [i for i in ams if int(demo_rows()[i]['age']) > 40])
        self.assertError(get('view/9'), 'No view with supplied ID')

    def test_selection_listings_page_by_id(self):
        # the FDW reads views and miniviews by ID: fields[] on id bound the
        # members and orderby=id (order=desc) sorts them, as in a database
        ams = sorted(i for i, r in demo_rows().items() if r['city'].lower() == 'amsterdam')
        r = get('view/2/profiles', [('fields[]', 'id>%d' % ams[1]),
                                    ('fields[]', 'id<=%d' % ams[4]),
                                    ('orderby', 'id'), ('limit', '2')])
        self.assertEqual(ids_of(r), ams[2:4])
        r = get('view/2/profiles', {'orderby': 'id', 'order': 'desc', 'limit': '2'})
        self.assertEqual(ids_of(r), ams[::-1][:2])
        paid = [s for s, (_p, _n, _t, _pl, st) in enumerate(datasets.DEMO_ORDERS, 1)
                if st == 'paid']
        r = get('miniview/1/subprofiles', [('fields[]', 'id>%d' % paid[0]),
                                          ('orderby', 'id'), ('start', '1'), ('limit', '1')])
        self.assertEqual(ids_of(r), paid[2:3])
        r = get('miniview/1/subprofiles', {'orderby': 'id', 'order': 'desc', 'limit': '1'})
        self.assertEqual(ids_of(r), paid[-1:])

    def test_miniviews(self):
        d = self.listing('collection/1/miniviews', None).json()
        self.assertEqual([m['name'] for m in d['data']], ['Paid orders', 'Big orders'])
        self.assertEqual(d['data'][0]['parent-type'], 'collection')
        self.assertEqual(get('miniview/1').json()['collection'], '1')
        paid = [s for s, (_p, _n, _t, _pl, st) in enumerate(datasets.DEMO_ORDERS, 1)
                if st == 'paid']
        self.assertEqual(ids_of(get('miniview/1/subprofiles')), paid)
        big = [s for s, (_p, _n, t, _pl, _st) in enumerate(datasets.DEMO_ORDERS, 1)
               if float(t) > 100]
        r = get('miniview/2/subprofiles', {'fields[]': 'status==paid', 'dataonly': 'true'})
        self.assertEqual(ids_of(r), [s for s in big if s in paid])
        self.assertNotIn('secret', r.json()['data'][0])
        self.assertEqual(get('miniview/1/subprofileids').json(), [str(i) for i in paid])
        self.assertError(get('miniview/9'), 'No miniview with supplied ID')
        self.assertEqual(get('collection/2/miniviews').json()['count'], 0)

    def test_nested_views_and_miniviews(self):
        _, state = control('GET', 'state')
        db = state['databases'][0]
        db['views'].append({'ID': '3', 'name': 'Gold in Amsterdam', 'parent': '1',
                            'rules': ['city==Amsterdam']})
        db['views'].append({'ID': '4', 'name': 'Old gold in Amsterdam', 'parent': '3',
                            'rules': ['age>40']})
        db['collections'][0]['miniviews'].append({'ID': '3', 'name': 'Big paid', 'parent': '1',
                                                  'rules': ['total>100']})
        control('POST', 'reset', {'load': state})
        # a database lists its own views only; a view its nested ones
        self.assertEqual([v['ID'] for v in get('database/1/views').json()['data']], ['1', '2'])
        nested = self.listing('view/1/views', None).json()['data']
        self.assertEqual([(v['ID'], v['parent-type'], v['parent-id']) for v in nested],
                         [('3', 'view', '1')])
        self.assertTrue(get('view/1').json()['has-children'])
        self.assertEqual([v['ID'] for v in get('view/3/views').json()['data']], ['4'])
        self.assertEqual(get('view/4/views').json()['count'], 0)
        rows = demo_rows()
        both = [i for i, r in rows.items()
                if r['segment'] == 'gold' and r['city'].lower() == 'amsterdam']
        self.assertTrue(both)
        self.assertEqual(ids_of(get('view/3/profiles')), both)
        self.assertEqual(ids_of(get('view/4/profiles')),
                         [i for i in both if int(rows[i]['age']) > 40])
        self.assertEqual([m['ID'] for m in get('collection/1/miniviews').json()['data']],
                         ['1', '2'])
        self.assertEqual([(m['ID'], m['parent-type']) for m in
                          get('miniview/1/views').json()['data']], [('3', 'miniview')])
        big_paid = [s for s, (_p, _n, t, _pl, st) in enumerate(datasets.DEMO_ORDERS, 1)
                    if st == 'paid' and float(t) > 100]
        self.assertEqual(ids_of(get('miniview/3/subprofiles')), big_paid)
        # the state round-trips, nested selections after their parents
        _, again = control('GET', 'state')
        self.assertEqual([(v['ID'], v.get('parent'), v['rules'])
                          for v in again['databases'][0]['views']],
                         [(v['ID'], v.get('parent'), v['rules']) for v in db['views']])

    def test_publisher_emailings_shape(self):
        d = self.listing('publisher/emailings', None).json()
        self.assertGreaterEqual(d['count'], 3)
        e = d['data'][0]
        self.assertIn('id', e)
        self.assertNotIn('ID', e)
        self.assertIsInstance(e['id'], str)
        self.assertIsInstance(e['testgroups'], int)
        self.assertEqual(set(e['from_address']), {'name', 'email'})
        self.assertEqual(e['target']['sources'][0]['type'], 'database')

    def test_ms_emailings_shape(self):
        d = self.listing('ms/emailings', {'limit': 2}).json()
        self.assertEqual(d['count'], 2)
        self.assertGreaterEqual(d['total'], 3)
        e = d['data'][0]
        self.assertIsInstance(e['id'], str)
        self.assertIsInstance(e['destinations'], int)
        self.assertIn('from_address', e)
        self.assertIn('target', e)


# ---------------------------------------------------------------------------
# Mailings, destinations, statistics and events (section 11)
# ---------------------------------------------------------------------------


def all_items(path, params=None):
    """Every item of a listing, paging by 1000."""
    out = []
    start = 0
    while True:
        p = dict(params or {})
        p.update({'start': start, 'limit': 1000, 'total': 'false'})
        d = get(path, p).json()
        out.extend(d['data'])
        if d['count'] < 1000:
            return out
        start += 1000


class TestMailings(EmulatorTestCase):
    def test_publisher_destinations_shape_and_count(self):
        d = self.listing('publisher/emailing/1281/destinations', {'limit': 1000}).json()
        self.assertEqual(d['count'], 25)        # the emailing's "destinations"
        x = d['data'][0]
        self.assertEqual(list(x), ['ID', 'timestampsent', 'internal', 'profile', 'subprofile',
                                   'mailing'])
        self.assertRegex(x['ID'], '^[0-9a-f]{32}$')
        self.assertIsNone(x['subprofile'])
        self.assertEqual(x['mailing'], '1281')
        self.assertGreater(x['timestampsent'], '2024-03-14 15:02:14')
        # gold customers only for the view's mailing
        gold = {str(i) for i, r in demo_rows().items() if r['segment'] == 'gold'}
        self.assertEqual({x['profile'] for x in all_items('publisher/emailing/1282/destinations')},
                         gold)

    def test_events_follow_send_time_and_ratios(self):
        sent = {d['internal']: d['timestampsent']
                for d in all_items('publisher/emailing/1281/destinations')}
        for kind in ('deliveries', 'impressions', 'clicks', 'errors', 'unsubscribes'):
            evs = all_items('publisher/emailing/1281/' + kind)
            for e in evs:
                self.assertGreater(e['timestamp'], sent[e['destination']])
                self.assertEqual(e['emailing'], '1281')
        dl = all_items('publisher/emailing/1281/deliveries')
        er = all_items('publisher/emailing/1281/errors')
        self.assertEqual(len({e['destination'] for e in dl}) + len(er), 25)
        # the listing's counters are the unique counts
        em = [e for e in get('publisher/emailings').json()['data'] if e['id'] == '1281'][0]
        for kind in ('clicks', 'impressions', 'errors', 'unsubscribes', 'abuses'):
            n = len({e['destination'] for e in all_items('publisher/emailing/1281/' + kind)})
            self.assertEqual(str(n), em[kind], kind)

    def test_event_shapes(self):
        c = get('publisher/clicks', {'limit': 1}).json()['data'][0]
        self.assertEqual(list(c)[:5], ['ID', 'link_id', 'link', 'link_title', 'timestamp'])
        d = get('publisher/deliveries', {'limit': 1}).json()['data'][0]
        self.assertIn('smtp-response', d)
        self.assertIsInstance(d['attempt'], str)
        u = get('publisher/unsubscribes', {'limit': 1}).json()['data'][0]
        self.assertIs(u['success'], True)
        i = get('ms/impressions', {'limit': 1}).json()['data'][0]
        self.assertEqual(list(i)[:2], ['ID', 'mailing'])
        self.assertIsInstance(i['profile'], int)
        m = get('ms/deliveries', {'limit': 1}).json()['data'][0]
        self.assertIsInstance(m['attempts'], int)
        self.assertError(get('ms/unsubscribes'), 'Invalid method')

    def test_account_wide_events_in_id_and_time_order(self):
        evs = all_items('publisher/impressions')
        ids = [int(e['ID']) for e in evs]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual([e['timestamp'] for e in evs], sorted(e['timestamp'] for e in evs))
        self.assertEqual({e['emailing'] for e in evs}, {'1281', '1282'})

    def test_timestamp_and_id_filters(self):
        evs = all_items('publisher/clicks')
        mid = evs[len(evs) // 2]['timestamp']
        got = all_items('publisher/clicks', {'fields[]': 'timestamp>' + mid})
        self.assertEqual(got, [e for e in evs if e['timestamp'] > mid])
        got = all_items('publisher/clicks', {'fields[]': 'id>=5'})
        self.assertEqual(got, [e for e in evs if int(e['ID']) >= 5])
        # unknown names are ignored
        self.assertEqual(all_items('publisher/clicks', {'fields[]': 'nosuch==1'}), evs)
        ds = all_items('publisher/emailing/1281/destinations')
        got = all_items('publisher/emailing/1281/destinations',
                        {'fields[]': 'timestampsent<=' + ds[9]['timestampsent']})
        self.assertEqual(got, ds[:10])

    def test_ms_begintime_endtime_inclusive(self):
        evs = all_items('ms/deliveries')
        lo, hi = evs[3]['timestamp'], evs[10]['timestamp']
        got = all_items('ms/deliveries', {'begintime': lo, 'endtime': hi})
        self.assertEqual(got, [e for e in evs if lo <= e['timestamp'] <= hi])
        # ms ignores fields[]
        self.assertEqual(all_items('ms/deliveries', {'fields[]': 'timestamp>' + hi}), evs)

    def test_statistics(self):
        s = get('publisher/emailing/1281/statistics').json()
        self.assertEqual(s['clicks']['unique'], 12)
        self.assertEqual(s['clicks']['total'], len(all_items('publisher/emailing/1281/clicks')))
        self.assertEqual(s['unknown'], {'total': 0})
        self.assertNotIn('deliveries', s)
        m = get('ms/emailing/169/statistics').json()
        self.assertEqual(m['destinations'], '25')
        self.assertEqual(m['deliveries']['total'], len(all_items('ms/emailing/169/deliveries')))
        later = get('ms/emailing/169/statistics', {'begintime': '2030-01-01 00:00:00'}).json()
        self.assertEqual(later['impressions'], {'total': 0, 'unique': 0})

    def test_emailing_filters(self):
        def ids(params=None):
            return [e['id'] for e in get('publisher/emailings', params).json()['data']]
        self.assertEqual(ids(), ['1281', '1282', '1290'])
        self.assertEqual(ids({'test': 'no'}), ['1281', '1290'])
        self.assertEqual(ids({'test': 'yes'}), ['1282'])
        self.assertEqual(ids({'followups': 'no'}), ['1281', '1282'])
        self.assertEqual(ids({'fromdate': '2024-04-01 09:30:00'}), ['1282', '1290'])
        self.assertEqual(ids({'todate': '2024-04-01 09:30:00'}), ['1281', '1282'])
        self.assertEqual(ids({'mindestinations': '8'}), ['1281', '1282'])
        for k in ('_test', '_followup'):
            self.assertNotIn(k, get('publisher/emailings').body.decode())

    def test_single_objects_and_unknown_ids(self):
        e = get('publisher/emailing/1281').json()
        self.assertEqual(e['id'], '1281')
        self.assertNotIn('errors', e)
        self.assertEqual(get('ms/emailing/169').json()['tags'], ['welcome', 'promo'])
        self.assertEqual(get('ms/emailing/170').json()['tags'], [])
        for e in all_items('ms/emailings'):                 # the listing has none
            self.assertNotIn('tags', e)
            tags = get('ms/emailing/%s' % e['id']).json()['tags']
            self.assertTrue(all(isinstance(t, str) for t in tags))
        self.assertError(get('publisher/emailing/999'), 'No emailing with supplied ID')
        self.assertError(get('publisher/emailing/999/clicks'), 'No emailing with supplied ID')
        self.assertError(get('ms/emailing/1/destinations'), 'No emailing with supplied ID')
        d = all_items('publisher/emailing/1281/destinations')[0]
        self.assertEqual(get('publisher/destination/' + d['ID']).json(), d)
        self.assertEqual(get('publisher/destination/' + d['internal']).json(), d)
        self.assertEqual(get('publisher/destination/%s/statistics' % d['internal']).json()['ID'],
                         d['internal'])
        self.assertError(get('publisher/destination/1'), 'No destination with supplied ID')

    def test_ms_destinations_needs_from_and_to(self):
        self.assertError(get('ms/destinations'), 'Parameters from and to are required')
        got = all_items('ms/destinations', {'from': '2024-01-13', 'to': '2024-01-13'})
        self.assertEqual(len(got), 25)
        self.assertEqual(list(got[0]), ['id', 'messageID', 'timestampsent', 'profile',
                                        'subprofile', 'mailing', 'unsubscribed'])
        self.assertEqual(all_items('ms/destinations', {'from': '2024-01-14', 'to': '2024-02-01'}),
                         [])

    def test_profile_and_subprofile_history(self):
        got = [e['id'] for e in get('profile/1/publisher/emailings').json()['data']]
        self.assertEqual(got, ['1281', '1282'])         # profile 1 is gold
        self.assertNotIn('description', get('profile/1/publisher/emailings').json()['data'][0])
        self.assertEqual([e['id'] for e in get('profile/2/ms/emailings').json()['data']],
                         ['169'])
        ds = get('profile/1/publisher/destinations').json()['data']
        self.assertEqual([d['mailing'] for d in ds], ['1281', '1282'])
        sub = get('ms/emailing/170/destinations').json()['data'][0]
        self.assertEqual([e['id'] for e in
                          get('subprofile/%s/ms/emailings' % sub['subprofile']).json()['data']],
                         ['170'])

    def test_templates_and_documents(self):
        self.assertEqual([t['id'] for t in get('ms/templates').json()['data']],
                         ['579', '580', '590'])
        self.assertEqual([t['id'] for t in get('ms/templates', {'type': 'html'}).json()['data']],
                         ['580'])
        self.assertNotIn('_created', get('ms/templates').body.decode())
        self.assertEqual([t['id'] for t in get('publisher/documents').json()['data']],
                         ['114', '115', '120'])
        self.assertEqual([e['id'] for e in
                          get('publisher/template/621/emailings').json()['data']],
                         ['1281', '1282'])

    def test_generated_mailings_cover_every_profile(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 300})
        ds = all_items('publisher/emailing/1281/destinations')
        self.assertEqual(len(ds), 300)
        em = [e for e in get('publisher/emailings').json()['data'] if e['id'] == '1281'][0]
        self.assertEqual(em['destinations'], '300')
        opened = int(em['impressions'])
        self.assertTrue(0 < int(em['clicks']) < opened < 150, em)
        self.assertGreater(len(all_items('publisher/emailing/1281/deliveries')), 280)

    def test_extra_generated_mailings(self):
        n = datasets.MAILING_MAX_PROFILES + 1   # above the usual size cap
        control('POST', 'reset', {'dataset': 'generate', 'profiles': n, 'mailings': 1})
        ids = [e['id'] for e in get('publisher/emailings').json()['data']]
        self.assertEqual(ids[-1], '2001')
        d = get('publisher/emailing/2001/destinations', {'limit': 0}).json()
        self.assertEqual(d['total'], n)
        # 1281 and 2001 go to every profile, 3% of the messages fail
        t = get('publisher/deliveries', {'limit': 0}).json()['total']
        self.assertGreater(t, 2 * n * 0.95)

    def test_state_dump_keeps_mailings(self):
        st = get('publisher/clicks').body
        _s, state = control('GET', 'state')
        control('POST', 'reset', {'load': state})
        self.assertEqual(get('publisher/clicks').body, st)


class TestCampaignExtras(EmulatorTestCase):
    """Test groups, snapshots, contents, statistics per destination and
    template, scheduled emailings (section 11 and the pages it names)."""

    def test_testgroups_shape_and_events(self):
        d = self.listing('publisher/emailing/1281/testgroups', {}).json()
        self.assertEqual(d['count'], 2)         # the emailing's "testgroups"
        g = d['data'][0]
        self.assertEqual(list(g), ['ID', 'document', 'name', 'from_address', 'subject',
                                   'timestamp', 'destinations'])
        self.assertEqual(g['from_address'], '"Demo Shop" <news@example.com>')
        self.assertEqual(get('publisher/emailing/1282/testgroups').json()['data'], [])
        # a group's events are the emailing's events of its destinations
        mine = {e['destination'] for e in all_items('publisher/testgroup/%s/deliveries' % g['ID'])}
        self.assertEqual(len(mine), int(g['destinations']))
        clicks = all_items('publisher/testgroup/%s/clicks' % g['ID'])
        self.assertEqual(clicks, [c for c in all_items('publisher/emailing/1281/clicks')
                                  if c['destination'] in mine])
        self.assertEqual(self.listing('publisher/testgroup/' + g['ID'], {}).json()['ID'], g['ID'])
        uniq = all_items('publisher/testgroup/%s/clicks' % g['ID'], {'unique': 'true'})
        self.assertEqual(len(uniq), len({c['destination'] for c in clicks}))
        self.assertError(get('publisher/testgroup/99/clicks'), 'No testgroup with supplied ID')
        self.assertError(get('ms/testgroup/12811/clicks'), 'Invalid method')

    def test_snapshot_is_bare_with_sender_string(self):
        s = self.listing('publisher/emailing/1290/snapshot', {}).json()
        self.assertEqual(s, {'document': '120', 'name': 'Zomer 50% korting_nu',
                             'from_address': '"D\u00e9mo Winkel" <info@example.nl>',
                             'subject': 'Zomer 50% korting_nu'})
        self.assertError(get('publisher/emailing/9/snapshot'), 'No emailing with supplied ID')

    def test_destination_content(self):
        c = self.listing('publisher/destination/7340001/content', {}).json()
        self.assertEqual(sorted(c), ['html', 'subject', 'text'])
        self.assertIn('Dear customer 1,', c['html'])
        self.assertIsNone(c['text'])            # 1281 is an html mailing
        self.assertEqual(self.listing('publisher/destination/7340001/content/subject+amp',
                                      {}).json(), {'subject': 'Spring sale', 'amp': None})
        # the hex ID names the same destination
        hexid = all_items('publisher/emailing/1281/destinations')[0]['ID']
        self.assertEqual(get('publisher/destination/%s/content' % hexid).json(), c)
        self.assertError(get('publisher/destination/7340001/content/pdf'),
                         'Invalid content type')

    def test_finalgroup_of_split_runs_only(self):
        f = self.listing('publisher/emailing/1281/finalgroup', {}).json()
        self.assertEqual(list(f), ['ID', 'document', 'template', 'name', 'from_address',
                                   'subject', 'timestamp', 'destinations'])
        self.assertTrue(all(isinstance(v, str) for v in f.values()))
        self.assertEqual(f['ID'], '12810')
        groups = get('publisher/emailing/1281/testgroups').json()['data']
        tested = sum(int(g['destinations']) for g in groups)
        self.assertEqual(int(f['destinations']) + tested, 25)
        self.assertEqual(f['subject'], groups[0]['subject'])
        self.assertGreater(f['timestamp'], groups[0]['timestamp'])
        # not a split run: PHP's empty answer
        r = self.listing('publisher/emailing/1282/finalgroup', {})
        self.assertEqual(r.body, b'[]')
        self.assertError(get('publisher/emailing/9/finalgroup'), 'No emailing with supplied ID')
        self.assertError(get('ms/emailing/169/finalgroup'), 'Invalid method')

    def test_message_bodies_are_text(self):
        c = get('publisher/destination/7340001/content').json()
        for path in ('publisher/destination/7340001/body', 'publisher/destination/7340001/body/html'):
            r = self.listing(path, {})
            self.assertEqual(r.header('Content-Type'), 'text/html; charset=utf-8')
            html = r.body.decode('utf-8')
            self.assertTrue(html.startswith(c['html'].split('</body>')[0]), html)
            self.assertIn('Démo Winkel – 5 €', html)
        # 1281 is an html mailing: no text part, an empty text body
        self.assertEqual(get('publisher/destination/7340001/body/text').body, b'')
        mime = get('publisher/destination/7340001/body/mime')
        self.assertEqual(mime.header('Content-Type'), 'message/rfc822')
        self.assertIn(b'MIME-Version: 1.0\r\n', mime.body)
        self.assertIn(b'Content-Type: text/html; charset=utf-8', mime.body)
        self.assertNotIn(b'text/plain', mime.body)
        # 1290 is a text mailing; the hex ID names the same destination
        d = all_items('publisher/emailing/1290/destinations')[0]
        text = get('publisher/destination/%s/body/text' % d['internal']).body.decode()
        self.assertIn('Dear customer %s,' % d['profile'], text)
        self.assertEqual(get('publisher/destination/%s/body/text' % d['ID']).body.decode(), text)
        self.assertEqual(get('publisher/destination/%s/body' % d['internal']).body, b'')
        # Marketing Suite: both parts, a multipart message
        ms = get('ms/destination/1840001/body/mime').body.decode()
        self.assertIn('multipart/alternative', ms)
        self.assertIn('text/plain', ms)
        self.assertIn('Dear customer', get('ms/destination/1840001/body/text').body.decode())
        self.assertError(get('publisher/destination/7340001/body/pdf'), 'Invalid method')
        self.assertError(get('ms/destination/1/body'), 'No destination with supplied ID')

    def test_template_bodies(self):
        html = self.listing('ms/template/579/body/html', {}).body.decode('utf-8')
        self.assertIn('Grüße aus Köln', html)
        self.assertIn('Welcome layout', html)
        text = get('ms/template/579/body/text').body.decode('utf-8')
        self.assertIn('5 €', text)
        self.assertNotIn('<', text)
        mime = get('ms/template/579/body/mime').body.decode('utf-8')
        self.assertIn('Subject: =?UTF-8?B?', mime)
        self.assertError(get('ms/template/579/body'), 'Invalid method')
        self.assertError(get('ms/template/579/body/pdf'), 'Invalid method')
        self.assertError(get('ms/template/1/body/html'), 'No template with supplied ID')

    def test_destination_statistics_count_the_events(self):
        s = self.listing('ms/destination/1840001/statistics', {}).json()
        self.assertEqual(s['ID'], '1840001')
        clicks = all_items('ms/destination/1840001/clicks')
        self.assertEqual(s['clicks'], {'total': len(clicks),
                                       'unique': len({c['link'] for c in clicks})})
        unsub = [d for d in all_items('ms/emailing/169/destinations', {'unsubscribed': 'true'})]
        self.assertTrue(unsub)
        u = get('ms/destination/%s/statistics' % unsub[0]['ID']).json()
        self.assertEqual(u['unsubscribes'], {'total': 1, 'unique': 1})

    def test_unsubscribed_filter_on_ms_destinations(self):
        every = all_items('ms/emailing/169/destinations')
        self.assertEqual(len(every), 25)
        self.assertNotIn('unsubscribed', every[0])      # the items do not say
        for name in ('Unsubscribed', 'unsubscribed'):
            got = all_items('ms/emailing/169/destinations', {name: 'true'})
            self.assertEqual(len(got), 1, name)
            self.assertIn(got[0], every)
        self.assertEqual(all_items('ms/emailing/169/destinations', {'Unsubscribed': 'false'}),
                         every)
        rng = {'from': '2024-01-01', 'to': '2024-12-31'}
        flagged = [d['id'] for d in all_items('ms/destinations', rng) if d['unsubscribed']]
        self.assertEqual(flagged, [got[0]['ID']])
        self.assertEqual([d['id'] for d in all_items('ms/destinations',
                                                     dict(rng, Unsubscribed='true'))], flagged)

    def test_template_statistics_add_up_emailings(self):
        t = self.listing('ms/template/579/statistics', {}).json()
        ids = [e['id'] for e in all_items('ms/emailings') if e['template'] == '579']
        self.assertEqual(ids, ['169', '180'])
        stats = [get('ms/emailing/%s/statistics' % i).json() for i in ids]
        self.assertEqual(t['destinations'], str(sum(int(s['destinations']) for s in stats)))
        self.assertEqual(t['clicks']['total'], sum(s['clicks']['total'] for s in stats))
        self.assertEqual(list(t['errors']), ['total'])
        self.assertError(get('ms/template/1/statistics'), 'No template with supplied ID')

    def test_scheduled_emailings_and_their_filters(self):
        pub = all_items('publisher/scheduledemailings')
        self.assertEqual([x['id'] for x in pub], ['456', '457', '460'])
        self.assertEqual(list(pub[0])[:4], ['id', 'next', 'previous', 'interval'])
        self.assertIsInstance(pub[0]['iterations'], int)
        ids = lambda p, q: [x['id'] for x in all_items(p, q)]   # noqa: E731
        self.assertEqual(ids('publisher/scheduledemailings', {'test': 'normal'}), ['456', '457'])
        self.assertEqual(ids('publisher/scheduledemailings', {'test': 'test'}), ['460'])
        self.assertEqual(ids('publisher/scheduledemailings', {'type': 'individual'}), ['457'])
        self.assertEqual(ids('publisher/scheduledemailings', {'fromdate': '2024-07-01 00:00:00'}),
                         ['456', '457'])
        ms = all_items('ms/scheduledemailings')
        self.assertEqual([x['id'] for x in ms], ['1742', '1750'])
        self.assertEqual(ids('ms/scheduledemailings', {'active': 'false'}), ['1750'])
        self.assertEqual(ids('ms/scheduledemailings', {'repeated': 'true'}), ['1742'])
        self.assertEqual(ids('ms/scheduledemailings', {'mass': 'true'}), ['1742'])
        self.assertEqual(ids('ms/scheduledemailings', {'mass': 'false'}), ['1742', '1750'])
        self.assertEqual(ids('ms/scheduledemailings', {'nextrunafter': '2024-08-01 09:00:00'}),
                         ['1750'])
        self.assertEqual(ids('ms/scheduledemailings', {'nextrunbefore': '2024-07-01 00:00:00'}),
                         ['1742'])


# ---------------------------------------------------------------------------
# The list envelope (section 3)
# ---------------------------------------------------------------------------


class TestEnvelope(EmulatorTestCase):
    def test_key_order_and_integer_types(self):
        r = get('database/1/profiles', {'limit': 3})
        self.assertTrue(r.body.startswith(b'{"start":0,"limit":3,"count":3,"data":['))
        self.assertTrue(r.body.endswith(b'],"total":25}'))
        d = r.json()
        self.assertEqual(list(d), ['start', 'limit', 'count', 'data', 'total'])

    def test_default_limit_is_100(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 250})
        d = get('database/1/profiles').json()
        self.assertEqual((d['limit'], d['count'], d['total']), (100, 100, 250))

    def test_limit_capped_at_1000(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 1200})
        d = get('database/1/profiles', {'limit': 5000}).json()
        self.assertEqual((d['limit'], d['count'], d['total']), (1000, 1000, 1200))

    def test_total_truthiness(self):
        for v in ('false', '0', 'no', 'thisisfalse', ' true', ''):
            self.assertNotIn('total', get('database/1/profiles', {'total': v}).json(), v)
        for v in ('TRue', 'yes', '1', '-1', '2'):
            self.assertEqual(get('database/1/profiles', {'total': v}).json()['total'], 25, v)
        self.assertIn('total', get('database/1/profiles', 'total%5B%5D=no').json())

    def test_negative_start_and_limit(self):
        self.assertEqual(get('database/1/profiles', {'start': -2}).json(),
                         {'start': -2, 'limit': 100, 'count': 0, 'data': [], 'total': 25})
        self.assertEqual(get('database/1/profiles', {'limit': -2}).json(),
                         {'start': 0, 'limit': -2, 'count': 0, 'data': [], 'total': 25})

    def test_non_numeric_limit_cast_like_php(self):
        d = get('database/1/profiles', {'limit': 'abc'}).json()
        self.assertEqual((d['limit'], d['count']), (0, 0))
        self.assertEqual(get('database/1/profiles', {'limit': '2abc'}).json()['count'], 2)
        self.assertEqual(get('database/1/profiles', 'limit%5B%5D=x').json()['limit'], 1)

    def test_start_is_an_offset(self):
        d = get('database/1/profiles', {'start': 20, 'limit': 10}).json()
        self.assertEqual([int(e['ID']) for e in d['data']], [21, 22, 23, 24, 25])
        self.assertEqual((d['start'], d['count'], d['total']), (20, 5, 25))

    def test_structure_lists_page_too(self):
        d = get('database/1/fields', {'start': 10, 'limit': 2, 'total': 'false'}).json()
        self.assertEqual([f['name'] for f in d['data']], ['notes', 'referrer'])
        self.assertNotIn('total', d)


# ---------------------------------------------------------------------------
# Entities (section 5)
# ---------------------------------------------------------------------------


class TestEntities(EmulatorTestCase):
    def test_profile_shape(self):
        p = get('profile/7').json()
        self.assertEqual(list(p), ['ID', 'fields', 'interests', 'database', 'secret', 'created',
                                   'modified', 'removed'])
        self.assertEqual(p['ID'], '7')
        self.assertEqual(p['database'], '1')
        self.assertEqual(p['fields']['lastname'], "O'Brien")
        self.assertEqual(p['interests'], ['news'])
        self.assertRegex(p['secret'], r'^[0-9a-f]{28}$')
        self.assertRegex(p['created'], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertIs(p['removed'], False)
        self.assertTrue(all(isinstance(v, str) for v in p['fields'].values()))

    def test_every_field_present_in_stored_case(self):
        p = get('profile/26').json()
        self.assertEqual(p['fields'], {'email': 'alice@example.com', 'name': 'Alice'})
        self.assertEqual(p['database'], '2')
        self.assertEqual(len(get('profile/1').json()['fields']), 13)

    def test_profile_fields_is_bare_object(self):
        f = get('profile/4/fields').json()
        self.assertEqual(f['firstname'], 'Jürgen')
        self.assertEqual(f['notes'], 'Path C:\\temp\\orders')
        self.assertNotIn('data', f)

    def test_profile_interests(self):
        self.assertEqual(get('profile/11/interests').json(), ['soccer', 'tennis', 'news'])
        self.assertEqual(get('profile/11/interests', {'return': 'ids'}).json(),
                         ['1', '2', '3'])
        self.assertEqual(get('profile/1/interests', {'return': 'objects'}).json(),
                         [{'ID': '1', 'name': 'soccer', 'group': 'sports'},
                          {'ID': '3', 'name': 'news', 'group': 'media'}])

    def test_subprofile_shape(self):
        s = get('subprofile/1').json()
        self.assertEqual(list(s), ['ID', 'secret', 'fields', 'profile', 'collection', 'created',
                                   'modified', 'removed'])
        self.assertEqual((s['ID'], s['profile'], s['collection']), ('1', '1', '1'))
        self.assertEqual(s['fields'], {'ordernumber': 'ORD-1001', 'total': '99.95',
                                       'placed': '2024-01-10 12:00:00', 'status': 'paid'})
        self.assertEqual(get('subprofile/1/fields').json(), s['fields'])

    def test_dataonly_profiles(self):
        d = get('database/1/profiles', {'dataonly': 'true', 'limit': 1}).json()
        self.assertEqual(list(d['data'][0]), ['ID', 'fields', 'interests', 'modified'])
        full = get('database/1/profiles', {'dataonly': 'no', 'limit': 1}).json()
        self.assertIn('secret', full['data'][0])

    def test_dataonly_subprofiles(self):
        d = get('collection/1/subprofiles', {'dataonly': '1', 'limit': 1}).json()
        self.assertEqual(list(d['data'][0]), ['ID', 'fields', 'profile', 'collection',
                                              'modified'])

    def test_utf8_sent_unescaped(self):
        r = get('profile/8')
        self.assertIn('東京'.encode('utf-8'), r.body)


# ---------------------------------------------------------------------------
# Filtering (section 4.1)
# ---------------------------------------------------------------------------


class TestFilters(EmulatorTestCase):
    def q(self, *exprs, **extra):
        params = [('fields[]', e) for e in exprs] + list(extra.items()) + [('limit', 1000)]
        return ids_of(get('database/1/profiles', params))

    def oracle(self, pred):
        return [i for i, r in demo_rows().items() if pred(r)]

    def test_equal_text_is_case_insensitive(self):
        expect = self.oracle(lambda r: r['city'].lower() == 'amsterdam')
        self.assertEqual(len(expect), 8)
        self.assertEqual(self.q('city==amsterdam'), expect)
        self.assertEqual(self.q('city==AMSTERDAM'), expect)

    def test_not_equal_both_spellings(self):
        expect = self.oracle(lambda r: r['city'].lower() != 'amsterdam')
        self.assertEqual(self.q('city!=Amsterdam'), expect)
        self.assertEqual(self.q('city<>Amsterdam'), expect)

    def test_integer_comparisons_are_numeric(self):
        self.assertEqual(self.q('age<9'), [10])
        self.assertEqual(self.q('age>=60'), self.oracle(lambda r: int(r['age']) >= 60))
        self.assertEqual(self.q('age>60'), [7, 11, 20, 22])
        self.assertEqual(self.q('age<=18'), [10, 12])

    def test_float_comparisons_are_numeric(self):
        self.assertEqual(self.q('score>9'), self.oracle(lambda r: float(r['score']) > 9))
        self.assertEqual(self.q('score==8.0'), [8])

    def test_like_and_not_like(self):
        self.assertEqual(self.q('email=~%@example.nl'),
                         self.oracle(lambda r: r['email'].endswith('@example.nl')))
        self.assertEqual(self.q('firstname=~_an'), [1])              # Jan only
        self.assertEqual(self.q('firstname=~%an%'), self.oracle(
            lambda r: 'an' in r['firstname'].lower()))
        self.assertEqual(self.q('lastname=~de %'), [2, 10, 12, 23])
        self.assertEqual(self.q('email=~%EXAMPLE.COM'),
                         self.oracle(lambda r: r['email'].lower().endswith('example.com')))
        self.assertEqual(self.q('notes!~%'), [])
        self.assertEqual(len(self.q('notes!~%\\%%')), 23)          # literal % via backslash

    def test_select_is_case_sensitive(self):
        self.assertEqual(self.q('segment==Gold'), [])
        self.assertEqual(self.q('segment==gold'), [1, 4, 7, 11, 13, 17, 20, 24])

    def test_unknown_fields_ignored(self):
        self.assertEqual(len(self.q('nosuchfield==1')), 25)
        self.assertEqual(self.q('nosuchfield==1', 'segment==gold'),
                         [1, 4, 7, 11, 13, 17, 20, 24])

    def test_unparsable_expressions_ignored(self):
        self.assertEqual(len(self.q('city', '==x', 'city=!x')), 25)

    def test_conditions_are_anded(self):
        self.assertEqual(self.q('city==amsterdam', 'age>40', 'age<60'), [3, 16])

    def test_field_names_case_insensitive(self):
        self.assertEqual(self.q('CiTy==Dublin'), [7])

    def test_special_id_code_modified(self):
        self.assertEqual(self.q('id>22'), [23, 24, 25])
        self.assertEqual(self.q('ID<=2'), [1, 2])
        secret = get('profile/5').json()['secret']
        self.assertEqual(self.q('code==' + secret), [5])
        mod = get('profile/12').json()['modified']
        self.assertEqual(self.q('modified>=' + mod),
                         [i for i in range(1, 26)
                          if get('profile/%d' % i).json()['modified'] >= mod])

    def test_dates_normalised_and_compared_chronologically(self):
        self.assertEqual(self.q('birthday==', 'id<20'), [5, 10])
        self.assertEqual(self.q('signup==0000-00-00'), [10])
        # 2015-2 means 2015-02-01; the zero date sorts before every real date
        self.assertEqual(self.q('signup<2015-2'), [10, 11, 22])
        self.assertEqual(self.q('lastvisit>2024-06-01T12:00'),
                         self.oracle(lambda r: r['lastvisit'] > '2024-06-01 12:00:00'))

    def test_indexed_parameter_form(self):
        r = ids_of(get('database/1/profiles', 'fields%5B0%5D=city%3D%3DDublin'))
        self.assertEqual(r, [7])

    def test_spaces(self):
        self.assertEqual(self.q(' city==Dublin '), [7])          # trimmed as a whole
        self.assertEqual(len(self.q('city ==Dublin')), 25)       # field "city " unknown
        self.assertEqual(self.q('city== Dublin'), [])            # compares " Dublin"
        self.assertEqual(self.q('age== 34'), [1])                # numbers are normalised

    def test_text_ordering_comparison_case_insensitive(self):
        self.assertEqual(self.q('lastname<B'), self.oracle(lambda r: r['lastname'].lower() < 'b'))
        self.assertEqual(self.q('email>=m'), self.oracle(lambda r: r['email'].lower() >= 'm'))

    def test_total_respects_filter(self):
        d = get('database/1/profiles', [('fields[]', 'segment==gold'), ('limit', 2)]).json()
        self.assertEqual((d['count'], d['total']), (2, 8))

    def test_non_array_fields_parameter_ignored(self):
        self.assertEqual(get('database/1/profiles', {'fields': 'city==Dublin'}).json()['total'],
                         25)


# ---------------------------------------------------------------------------
# Sorting (section 4.2)
# ---------------------------------------------------------------------------


class TestOrdering(EmulatorTestCase):
    def order(self, **params):
        params.setdefault('limit', 1000)
        return ids_of(get('database/1/profiles', params))

    def test_orderby_text_case_insensitive_with_id_tiebreak(self):
        rows = demo_rows()
        expect = sorted(rows, key=lambda i: (rows[i]['city'].lower(), i))
        self.assertEqual(self.order(orderby='city'), expect)

    def test_orderby_integer_numeric(self):
        rows = demo_rows()
        self.assertEqual(self.order(orderby='age'),
                         sorted(rows, key=lambda i: (int(rows[i]['age']), i)))

    def test_orderby_float_numeric(self):
        rows = demo_rows()
        self.assertEqual(self.order(orderby='score'),
                         sorted(rows, key=lambda i: (float(rows[i]['score']), i)))

    def test_orderby_date_chronological(self):
        rows = demo_rows()
        self.assertEqual(self.order(orderby='birthday'),
                         sorted(rows, key=lambda i: (rows[i]['birthday'], i)))

    def test_order_desc_variants(self):
        asc = self.order(orderby='age')
        self.assertEqual(self.order(orderby='age', order='desc'), asc[::-1])
        self.assertEqual(self.order(orderby='age', order='DESCENDING'), asc[::-1])
        self.assertEqual(self.order(orderby='age', order='descendin'), asc)
        self.assertEqual(ids_of(get('database/1/profiles',
                                    'orderby=age&order%5B%5D=desc&limit=1000')), asc)
        self.assertEqual(self.order(order='desc'), list(range(25, 0, -1)))

    def test_orderby_unknown_falls_back_to_id(self):
        self.assertEqual(self.order(orderby='nosuchfield'), list(range(1, 26)))

    def test_orderby_field_id_and_case_insensitive_name(self):
        self.assertEqual(self.order(orderby='5'), self.order(orderby='AGE'))
        self.assertNotEqual(self.order(orderby='5'), list(range(1, 26)))

    def test_orderby_modified(self):
        ps = [get('profile/%d' % i).json() for i in range(1, 26)]
        expect = [int(p['ID']) for p in sorted(ps, key=lambda p: (p['modified'], int(p['ID'])))]
        self.assertEqual(self.order(orderby='modified'), expect)

    def test_orderby_random_returns_everything(self):
        self.assertEqual(sorted(self.order(orderby='random')), list(range(1, 26)))

    def test_order_then_page(self):
        desc = self.order(orderby='age', order='desc')
        d = get('database/1/profiles', {'orderby': 'age', 'order': 'desc', 'start': 3,
                                        'limit': 4}).json()
        self.assertEqual([int(e['ID']) for e in d['data']], desc[3:7])


# ---------------------------------------------------------------------------
# Subprofile listings
# ---------------------------------------------------------------------------


class TestSubprofileListings(EmulatorTestCase):
    def test_collection_subprofiles(self):
        d = get('collection/1/subprofiles', {'limit': 1000}).json()
        self.assertEqual(d['total'], len(datasets.DEMO_ORDERS))
        self.assertEqual([int(e['ID']) for e in d['data']],
                         list(range(1, len(datasets.DEMO_ORDERS) + 1)))
        paid = get('collection/1/subprofiles', [('fields[]', 'status==paid'),
                                                ('fields[]', 'total>=50')]).json()
        self.assertEqual([e['fields']['ordernumber'] for e in paid['data']],
                         [o[1] for o in datasets.DEMO_ORDERS
                          if o[4] == 'paid' and float(o[2]) >= 50])

    def test_profile_subprofiles_by_id_or_name(self):
        d = get('profile/4/subprofiles/1').json()
        self.assertEqual([int(e['ID']) for e in d['data']], [4, 5, 6])
        self.assertEqual(get('profile/4/subprofiles/oRdErS').body, get('profile/4/subprofiles/1').body)
        f = get('profile/4/subprofiles/1', {'fields[]': 'status==paid', 'total': 'false'}).json()
        self.assertEqual([int(e['ID']) for e in f['data']], [6])
        self.assertNotIn('total', f)
        self.assertEqual(get('profile/3/subprofiles/1').json()['total'], 0)
        self.assertError(get('profile/4/subprofiles/2'), 'No collection with given ID')

    def test_subprofiles_ordering(self):
        d = get('collection/1/subprofiles', {'orderby': 'total', 'order': 'desc',
                                             'limit': 3}).json()
        self.assertEqual([e['fields']['total'] for e in d['data']], ['1234.56', '500', '300.01'])


# ---------------------------------------------------------------------------
# Writes (section 6)
# ---------------------------------------------------------------------------


class TestWrites(EmulatorTestCase):
    def test_post_profile_201_headers_and_empty_body(self):
        r = call('POST', 'database/1/profiles', body={'fields': {'email': 'new@example.com'}})
        self.assertEqual(r.status, 201)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.header('X-Created'), '29')
        self.assertEqual(r.header('X-location'), 'https://api.copernica.com/v2/profile/29')
        self.assertIsNone(r.header('Content-Type'))
        self.assertEqual(get('profile/29').json()['fields']['email'], 'new@example.com')

    def test_new_profile_gets_defaults(self):
        r = call('POST', 'database/1/profiles', body={'fields': {'firstname': 'Def'}})
        p = get('profile/' + r.header('X-Created')).json()
        self.assertEqual(p['fields']['age'], '0')
        self.assertEqual(p['fields']['score'], '0')
        self.assertEqual(p['fields']['birthday'], '')
        self.assertEqual(p['fields']['signup'], '0000-00-00')
        self.assertEqual(p['fields']['segment'], 'bronze')
        self.assertEqual(p['fields']['newsletter'], 'no')
        self.assertEqual(p['interests'], [])
        self.assertEqual(p['created'], p['modified'])

    def test_post_profile_non_object_fields_is_invalid_data(self):
        for bad in ('x', True, 0):
            self.assertError(call('POST', 'database/1/profiles', body={'fields': bad}),
                             'Invalid data provided')
        self.assertEqual(get('database/1/profiles').json()['total'], 25)

    def test_post_profile_interests_list_and_map(self):
        r = call('POST', 'database/1/profiles', body={'fields': {}, 'interests': ['tennis', 'nope']})
        self.assertEqual(get('profile/%s' % r.header('X-Created')).json()['interests'],
                         ['tennis'])
        r = call('POST', 'database/1/profiles', body={'interests': {'soccer': 1, 'news': 0}})
        self.assertEqual(get('profile/%s' % r.header('X-Created')).json()['interests'],
                         ['soccer'])

    def test_post_profile_form_encoded(self):
        r = call('POST', 'database/1/profiles',
                 body='fields%5Bfirstname%5D=Form&fields%5Bage%5D=42&interests%5B%5D=news',
                 content_type='application/x-www-form-urlencoded')
        self.assertEqual(r.status, 201)
        p = get('profile/' + r.header('X-Created')).json()
        self.assertEqual((p['fields']['firstname'], p['fields']['age'], p['interests']),
                         ('Form', '42', ['news']))

    def test_put_profile_303_location_keeps_query_and_token(self):
        r = call('PUT', 'profile/3', 'x=1&y=%C3%A9', {'fields': {'city': 'Delft'}})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.body, b'')
        self.assertEqual(r.header('Location'), 'http://127.0.0.1:%d/profile/3?access_token=%s'
                         '&x=1&y=%%C3%%A9' % (SERVER.port, TOKEN))
        self.assertEqual(get('profile/3').json()['fields']['city'], 'Delft')

    def test_modified_bumped_only_on_real_change(self):
        before = get('profile/1').json()
        call('PUT', 'profile/1', body={'fields': {'age': '34.9', 'nosuch': 1}})
        self.assertEqual(get('profile/1').json(), before)     # (int)34.9 == 34: no change
        call('PUT', 'profile/1', body={'secret': 'abc'})
        after_secret = get('profile/1').json()
        self.assertEqual(after_secret['modified'], before['modified'])
        self.assertEqual(after_secret['secret'], 'abc')
        call('PUT', 'profile/1', body={'fields': {'age': 35}})
        changed = get('profile/1').json()
        self.assertEqual(changed['fields']['age'], '35')
        self.assertNotEqual(changed['modified'], before['modified'])
        self.assertRegex(changed['modified'], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')

    def test_put_profile_non_array_fields_silently_ignored(self):
        before = get('profile/2').json()
        r = call('PUT', 'profile/2', body={'fields': 'bogus'})
        self.assertEqual(r.status, 303)
        self.assertEqual(get('profile/2').json(), before)

    def test_post_on_profile_acts_as_put(self):
        r = call('POST', 'profile/2', body={'fields': {'firstname': 'Zoe'}})
        self.assertEqual(r.status, 303)
        self.assertIsNone(r.header('X-Created'))
        self.assertEqual(get('profile/2').json()['fields']['firstname'], 'Zoe')

    def test_put_profile_fields_resource(self):
        r = call('PUT', 'profile/2/fields', body={'LASTNAME': 'Vries', 'lastname': 'Fries'})
        self.assertEqual(r.status, 303)
        self.assertTrue(r.header('Location').endswith('/profile/2?access_token=' + TOKEN))
        self.assertEqual(get('profile/2/fields').json()['lastname'], 'Fries')

    def test_secret_normalisation(self):
        call('PUT', 'profile/1', body={'secret': 'sé"cret'})
        self.assertEqual(get('profile/1').json()['secret'], 's?"cret')
        call('PUT', 'profile/1', body={'secret': ['x']})
        self.assertEqual(get('profile/1').json()['secret'], '1')

    def test_profile_interests_post_adds_put_overwrites(self):
        call('POST', 'profile/3/interests', body=['soccer'])
        self.assertEqual(get('profile/3/interests').json(), ['soccer'])
        call('POST', 'profile/3/interests', body={'news': 1, 'soccer': 0})
        self.assertEqual(get('profile/3/interests').json(), ['news'])
        call('PUT', 'profile/3/interests', body=['tennis'])
        self.assertEqual(get('profile/3/interests').json(), ['tennis'])
        call('PUT', 'profile/11', body={'interests': ['news']})
        self.assertEqual(get('profile/11').json()['interests'], ['news'])

    def test_delete_profile_is_soft(self):
        r = call('DELETE', 'profile/4')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header('X-deleted'), 'profile 4')
        self.assertEqual(r.body, b'')
        p = get('profile/4')
        self.assertEqual(p.status, 200)
        p = p.json()
        self.assertRegex(p['removed'], r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
        self.assertEqual(set(p['fields'].values()), {''})
        self.assertEqual(len(p['fields']), 13)
        self.assertNotIn(4, ids_of(get('database/1/profiles')))
        self.assertEqual(get('database/1/profiles').json()['total'], 24)
        # the profile's subprofiles are removed too
        self.assertEqual(get('subprofile/5').json()['removed'], p['removed'])
        self.assertEqual(get('profile/4/subprofiles/1').json()['total'], 0)
        self.assertNotIn(5, ids_of(get('collection/1/subprofiles', {'limit': 100})))

    def test_second_delete_is_400(self):
        call('DELETE', 'profile/4')
        self.assertError(call('DELETE', 'profile/4'), 'This profile has already been removed')
        self.assertError(call('DELETE', 'profile/4/bogus'),
                         'This profile has already been removed')

    def test_update_of_removed_profile_keeps_fields_empty(self):
        call('DELETE', 'profile/6')
        call('PUT', 'profile/6', body={'fields': {'firstname': 'Back'}})
        p = get('profile/6').json()
        self.assertEqual(p['fields']['firstname'], '')
        self.assertIsNot(p['removed'], False)

    def test_delete_subprofile(self):
        r = call('DELETE', 'subprofile/2')
        self.assertEqual((r.status, r.header('X-deleted')), (200, 'subprofile 2'))
        self.assertIsNot(get('subprofile/2').json()['removed'], False)
        self.assertError(call('DELETE', 'subprofile/2'),
                         'This subprofile has already been removed')
        self.assertEqual(ids_of(get('profile/1/subprofiles/1')), [1])

    def test_bulk_put_requires_fields_parameter(self):
        self.assertError(call('PUT', 'database/1/profiles', None, {'fields': {'age': 1}}),
                         'URL parameter fields is required')
        self.assertError(call('PUT', 'database/1/profiles', None, {'fields': True}),
                         'Invalid data provided')

    def test_bulk_put_updates_all_matches(self):
        r = call('PUT', 'database/1/profiles', {'fields[]': 'city==amsterdam'},
                 {'fields': {'notes': 'bulk'}})
        self.assertEqual(r.status, 200)
        notes = {i: get('profile/%d' % i).json()['fields']['notes'] for i in range(1, 26)}
        ams = [i for i, r in demo_rows().items() if r['city'].lower() == 'amsterdam']
        self.assertEqual([i for i in notes if notes[i] == 'bulk'], ams)

    def test_bulk_put_with_only_unknown_fields_matches_all(self):
        call('PUT', 'database/1/profiles', {'fields[]': 'nosuch==1'},
             {'fields': {'newsletter': 'yes'}})
        self.assertEqual(get('database/1/profiles', {'fields[]': 'newsletter==no'})
                         .json()['total'], 0)
        self.assertEqual(get('database/2/profiles').json()['data'][0]['fields']['name'],
                         'Alice')

    def test_bulk_put_create_when_nothing_matches(self):
        r = call('PUT', 'database/1/profiles',
                 [('fields[]', 'email==upsert@example.com'), ('create', 'true')],
                 {'fields': {'email': 'upsert@example.com', 'age': 50}})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header('X-Created'), '29')
        self.assertIn('/profile/29?', r.header('Location'))
        r2 = call('PUT', 'database/1/profiles',
                  [('fields[]', 'email==upsert@example.com'), ('create', 'true')],
                  {'fields': {'age': 51}})
        self.assertEqual(r2.status, 200)
        self.assertIsNone(r2.header('X-Created'))
        self.assertEqual(get('profile/29').json()['fields']['age'], '51')

    def test_bulk_put_without_create_and_no_match_does_nothing(self):
        r = call('PUT', 'database/1/profiles', {'fields[]': 'email==none@example.com'},
                 {'fields': {'age': 1}})
        self.assertEqual(r.status, 200)
        self.assertEqual(get('database/1/profiles').json()['total'], 25)

    def test_bulk_delete_with_body(self):
        r = call('DELETE', 'database/1/profiles', body={'profiles': [1, '2', 26, 999]})
        self.assertEqual(r.status, 200)
        self.assertEqual(get('database/1/profiles').json()['total'], 23)
        self.assertIs(get('profile/26').json()['removed'], False)   # other database
        self.assertIsNot(get('profile/2').json()['removed'], False)

    def test_post_subprofile_flat_body(self):
        r = call('POST', 'profile/3/subprofiles/Orders',
                 body={'ordernumber': 'N-1', 'TOTAL': '12.50', 'placed': '2024-05-01T10:00',
                       'status': 'Paid', 'bogus': 1})
        self.assertEqual(r.status, 201)
        sid = r.header('X-Created')
        self.assertEqual(sid, str(len(datasets.DEMO_ORDERS) + 1))
        self.assertEqual(r.header('X-location'), 'https://api.copernica.com/v2/subprofile/' + sid)
        s = get('subprofile/' + sid).json()
        self.assertEqual(s['fields'], {'ordernumber': 'N-1', 'total': '12.5',
                                       'placed': '2024-05-01 10:00:00', 'status': ''})
        self.assertEqual((s['profile'], s['collection']), ('3', '1'))

    def test_post_subprofile_bad_collection(self):
        self.assertError(call('POST', 'profile/3/subprofiles/99', body={}),
                         'Subprofile could not be created')
        self.assertError(call('POST', 'profile/3/subprofiles/Clicks', body={}),
                         'Subprofile could not be created')

    def test_put_subprofile_and_fields(self):
        r = call('PUT', 'subprofile/3', 'a=b', {'fields': {'status': 'open'}})
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header('Location'), 'http://127.0.0.1:%d/subprofile/3?access_token=%s'
                         '&a=b' % (SERVER.port, TOKEN))
        self.assertEqual(get('subprofile/3').json()['fields']['status'], 'open')
        r = call('PUT', 'subprofile/3/fields', body={'total': '1e2'})
        self.assertEqual(r.status, 303)
        self.assertEqual(get('subprofile/3/fields').json()['total'], '100')

    def test_bulk_put_subprofiles_within_profile(self):
        self.assertError(call('PUT', 'profile/4/subprofiles/1', None, {'status': 'paid'}),
                         'URL parameter fields is required')
        r = call('PUT', 'profile/4/subprofiles/1', {'fields[]': 'status!=paid'},
                 {'status': 'shipped'})
        self.assertEqual(r.status, 200)
        self.assertEqual([s['fields']['status'] for s in
                          get('profile/4/subprofiles/1').json()['data']],
                         ['shipped', 'shipped', 'paid'])
        self.assertEqual(get('subprofile/1').json()['fields']['status'], 'paid')  # other profile
        r = call('PUT', 'profile/3/subprofiles/1',
                 [('fields[]', 'ordernumber==X-9'), ('create', 'yes')], {'ordernumber': 'X-9'})
        self.assertEqual(r.status, 303)
        self.assertEqual(get('subprofile/' + r.header('X-Created')).json()['profile'], '3')

    def test_ids_are_global_counters(self):
        r1 = call('POST', 'database/2/profiles', body={'fields': {'name': 'Dave'}})
        r2 = call('POST', 'database/1/profiles', body={'fields': {}})
        self.assertEqual((r1.header('X-Created'), r2.header('X-Created')), ('29', '30'))
        s = call('POST', 'profile/26/subprofiles/2', body={'url': 'https://x'})
        self.assertEqual(s.header('X-Created'), str(len(datasets.DEMO_ORDERS) + 1))


class TestSync(EmulatorTestCase):
    """What a sync needs: ID sets, upsert by key, unsubscribe behaviour."""

    def test_profileids_bare_array_of_live_ids(self):
        r = get('database/1/profileids')
        self.assertEqual(r.header('Content-Type'), 'application/json')
        self.assertEqual(r.body[:1], b'[')
        self.assertEqual(r.json(), [str(i) for i in range(1, 26)])
        call('DELETE', 'profile/7')
        self.assertNotIn('7', get('database/Customers/profileids').json())
        self.assertEqual(get('database/2/profileids').json(), ['26', '27', '28'])

    def test_subprofileids_bare_array_of_live_ids(self):
        ids = get('collection/1/subprofileids').json()
        self.assertEqual(ids, [str(i) for i in range(1, len(datasets.DEMO_ORDERS) + 1)])
        call('DELETE', 'subprofile/3')
        self.assertNotIn('3', get('collection/1/subprofileids').json())
        self.assertEqual(get('collection/2/subprofileids').json(), [])

    def test_upsert_matches_key_without_regard_to_case(self):
        email = get('profile/4').json()['fields']['email']
        r = call('PUT', 'database/1/profiles',
                 [('fields[]', 'email==' + email.upper()), ('create', 'true')],
                 {'fields': {'email': email.upper(), 'age': 77}})
        self.assertEqual((r.status, r.header('X-Created')), (200, None))
        self.assertEqual(get('profile/4').json()['fields']['age'], '77')
        self.assertEqual(get('database/1/profiles').json()['total'], 25)

    def test_upsert_sees_changed_and_removed_keys(self):
        # the emulator's equality index must follow every write
        key = [('fields[]', 'email==moved@example.com'), ('create', 'true')]
        call('PUT', 'database/1/profiles', key, {'fields': {'age': 1}})  # creates 29
        call('PUT', 'profile/5', body={'fields': {'email': 'Moved2@example.com'}})
        call('PUT', 'profile/29', body={'fields': {'email': 'gone@example.com'}})
        r = call('PUT', 'database/1/profiles',
                 [('fields[]', 'email==moved2@example.com'), ('create', 'true')],
                 {'fields': {'age': 2}})
        self.assertEqual((r.status, get('profile/5').json()['fields']['age']), (200, '2'))
        r = call('PUT', 'database/1/profiles', key, {'fields': {'age': 3}})
        self.assertEqual(r.header('X-Created'), '30')
        call('DELETE', 'profile/30')
        r = call('PUT', 'database/1/profiles', key, {'fields': {'age': 4}})
        self.assertEqual(r.header('X-Created'), '31')
        self.assertEqual(get('profile/29').json()['fields']['age'], '1')

    def test_unsubscribe_behaviour_is_readable(self):
        self.assertEqual(get('database/1/unsubscribe').json(),
                         {'behavior': 'update', 'fields': {'newsletter': 'no'}})
        self.assertEqual(get('database/Newsletter/unsubscribe').body,
                         b'{"behavior":"remove","fields":[]}')
        self.assertEqual(get('collection/1/unsubscribe').json(),
                         {'behavior': 'nothing', 'fields': []})
        self.assertError(get('database/9/unsubscribe'), 'No database with supplied ID')

    def test_unsubscribe_update_remove_nothing(self):
        self.assertEqual(get('profile/4').json()['fields']['newsletter'], 'yes')
        r = call('PUT', 'profile/4/unsubscribe', body=[])
        self.assertEqual(r.status, 303)
        p = get('profile/4').json()
        self.assertEqual((p['fields']['newsletter'], p['removed']), ('no', False))
        r = call('PUT', 'profile/26/unsubscribe')
        self.assertEqual(r.status, 303)
        self.assertIsNot(get('profile/26').json()['removed'], False)
        self.assertEqual(call('PUT', 'profile/26/unsubscribe').status, 303)  # no-op now
        r = call('PUT', 'database/1/unsubscribe', body={'behavior': 'nothing'})
        self.assertEqual(r.status, 303)
        before = get('profile/11').json()
        call('PUT', 'profile/11/unsubscribe')
        self.assertEqual(get('profile/11').json(), before)
        self.assertError(call('PUT', 'database/1/unsubscribe', body={'behavior': 'delete'}),
                         'Invalid behavior')
        self.assertError(call('PUT', 'profile/999/unsubscribe'), 'No entity with supplied ID')

    def test_subprofile_unsubscribe_follows_collection(self):
        call('PUT', 'collection/1/unsubscribe',
             body={'behavior': 'update', 'fields': {'status': 'open'}})
        self.assertEqual(get('collection/1/unsubscribe').json(),
                         {'behavior': 'update', 'fields': {'status': 'open'}})
        self.assertEqual(call('PUT', 'subprofile/1/unsubscribe').status, 303)
        self.assertEqual(get('subprofile/1').json()['fields']['status'], 'open')
        call('PUT', 'collection/1/unsubscribe', body={'behavior': 'remove'})
        call('PUT', 'subprofile/2/unsubscribe')
        self.assertIsNot(get('subprofile/2').json()['removed'], False)

    def test_fail_after_counts_only_the_method(self):
        control('POST', 'faults', {'fail': {'status': 503, 'count': 1, 'after': 1,
                                            'method': 'PUT'}})
        try:
            self.assertEqual(get('identity').status, 200)
            self.assertEqual(call('PUT', 'profile/1', body={}).status, 303)
            self.assertEqual(get('identity').status, 200)
            self.assertEqual(call('PUT', 'profile/1', body={}).status, 503)
            self.assertEqual(call('PUT', 'profile/1', body={}).status, 303)
        finally:
            control('DELETE', 'faults')


# ---------------------------------------------------------------------------
# Input normalisation (section 5.3)
# ---------------------------------------------------------------------------


class TestNormalisation(EmulatorTestCase):
    def put_get(self, field, value):
        call('PUT', 'profile/1', body={'fields': {field: value}})
        return get('profile/1/fields').json()[field]

    def test_integer_php_cast(self):
        cases = [('value', '0'), ('   3 ', '3'), ('true', '0'), (True, '1'), (2.99, '2'),
                 (-2.99, '-2'), ([], '0'), ([1], '1'), ('12abc', '12'), ('1e3', '1000'),
                 (None, '0')]
        for value, expect in cases:
            self.assertEqual(self.put_get('age', value), expect, repr(value))

    def test_float_php_cast(self):
        cases = [('2.50', '2.5'), (3.0, '3'), ('abc', '0'), (' 1.25x', '1.25'), (True, '1'),
                 (-0.5, '-0.5'), ('1e3', '1000')]
        for value, expect in cases:
            self.assertEqual(self.put_get('score', value), expect, repr(value))

    def test_dates(self):
        cases = [('birthday', '2020-01-02', '2020-01-02'),
                 ('birthday', '2020-01-02 13:14:15', '2020-01-02'),
                 ('birthday', 'garbage', ''),
                 ('birthday', '0000-00-00', ''),
                 ('birthday', '0000-00-01', '0000-00-00'),       # negative year
                 ('signup', 'garbage', '0000-00-00'),
                 ('signup', '', '0000-00-00'),
                 ('lastvisit', '2020-01-02t03:04:05', '2020-01-02 03:04:05'),
                 ('lastvisit', '2020-2', '2020-02-01 00:00:00'),
                 ('lastvisit', '2020 2', ''),
                 ('lastvisit', '2021-02-30 10:00', '2021-03-02 10:00:00'),
                 ('lastvisit', '  2020-03-04T05:06:07  ', '2020-03-04 05:06:07'),
                 ('lastvisit', '0000-00-00 23:59:59', '')]
        for field, value, expect in cases:
            self.assertEqual(self.put_get(field, value), expect, (field, value))

    def test_select_exact_match_only(self):
        self.assertEqual(self.put_get('segment', 'silver'), 'silver')
        self.assertEqual(self.put_get('segment', 'Gold'), '')
        self.assertEqual(self.put_get('segment', 'gold '), '')
        self.assertEqual(self.put_get('newsletter', 'yes'), 'yes')

    def test_text_from_scalars(self):
        self.assertEqual(self.put_get('notes', True), '1')
        self.assertEqual(self.put_get('notes', 2.99), '2.99')
        self.assertEqual(self.put_get('notes', 7), '7')
        self.assertEqual(self.put_get('notes', ['a']), '')
        self.assertEqual(self.put_get('notes', '  spaced  '), '  spaced  ')
        self.assertEqual(self.put_get('notes', False), '')

    def test_unknown_fields_ignored_and_last_case_variant_wins(self):
        call('PUT', 'profile/1', body={'fields': {'City': 'A', 'CITY': 'B', 'zzz': 'C'},
                                       'tonky': 1})
        f = get('profile/1/fields').json()
        self.assertEqual(f['city'], 'B')
        self.assertNotIn('zzz', f)


# ---------------------------------------------------------------------------
# HTTP behaviour
# ---------------------------------------------------------------------------


class TestHttp(EmulatorTestCase):
    def test_keep_alive_connection_reuse_visible_in_log(self):
        control('DELETE', 'log')
        conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=10)
        for _ in range(3):
            r = call('GET', 'identity', conn=conn)
            self.assertEqual(r.status, 200)
        call('PUT', 'profile/1', body={'fields': {'age': 1}}, conn=conn)   # 303 keeps it open
        call('GET', 'profile/999', conn=conn)                               # so does a 400
        call('GET', 'identity', conn=conn)
        conn.close()
        call('GET', 'identity')
        _s, log = control('GET', 'log')
        conns = [e['connection'] for e in log]
        self.assertEqual(len(set(conns[:6])), 1)
        self.assertNotEqual(conns[6], conns[0])

    def test_chunked_request_body(self):
        conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=10)
        body = json.dumps({'fields': {'firstname': 'Chunky'}}).encode()
        conn.request('POST', '/v2/database/1/profiles?access_token=' + TOKEN,
                     body=iter([body[:5], body[5:]]),
                     headers={'Content-Type': 'application/json',
                              'Transfer-Encoding': 'chunked'}, encode_chunked=True)
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 201)
        self.assertEqual(get('profile/29/fields').json()['firstname'], 'Chunky')
        conn.close()


# ---------------------------------------------------------------------------
# Control API and fault injection
# ---------------------------------------------------------------------------


class TestControl(EmulatorTestCase):
    def test_reset_datasets_answer_profile_counts(self):
        self.assertEqual(control('POST', 'reset', {'dataset': 'empty'}), (200, {'ok': True,
                                                                               'profiles': 0}))
        self.assertEqual(get('database/1/profiles').json()['total'], 0)
        self.assertEqual(get('database/1/fields').json()['count'], 13)
        self.assertEqual(control('POST', 'reset', {'dataset': 'generate', 'profiles': 7})[1],
                         {'ok': True, 'profiles': 7})
        self.assertEqual(control('POST', 'reset', {'dataset': 'demo'})[1]['profiles'], 25)

    def test_reset_clears_log_faults_and_counters(self):
        call('POST', 'database/1/profiles', body={'fields': {}})
        control('POST', 'faults', {'latency_ms': 500, 'malformed': 3})
        control('POST', 'reset', {'dataset': 'demo'})
        self.assertEqual(control('GET', 'log')[1], [])
        t = time.time()
        r = call('POST', 'database/1/profiles', body={'fields': {}})
        self.assertLess(time.time() - t, 0.4)
        self.assertEqual(r.header('X-Created'), '29')
        self.assertEqual(get('identity').json()['id'], '1')

    def test_log_entries(self):
        control('DELETE', 'log')
        call('GET', 'database/1/profiles', 'fields%5B%5D=age%3E3&limit=5&total=false')
        call('PUT', 'profile/1', 'x=1', {'fields': {'age': 2}})
        call('GET', 'profile/99999')
        _s, log = control('GET', 'log')
        self.assertEqual(log[0], {'method': 'GET', 'path': '/v2/database/1/profiles',
                                  'query': 'fields%5B%5D=age%3E3&limit=5&total=false',
                                  'connection': log[0]['connection'], 'status': 200,
                                  'body': None, 't0': log[0]['t0'], 't1': log[0]['t1']})
        self.assertLessEqual(log[0]['t0'], log[0]['t1'])
        self.assertLessEqual(log[0]['t1'], log[1]['t0'])
        self.assertEqual((log[1]['method'], log[1]['query'], log[1]['status']), ('PUT', 'x=1', 303))
        self.assertEqual(json.loads(log[1]['body']), {'fields': {'age': 2}})
        self.assertEqual(log[2]['status'], 400)
        self.assertNotIn(TOKEN, json.dumps(log))
        self.assertEqual(len(log), 3)          # control requests are not logged

    def test_log_clear(self):
        get('identity')
        self.assertEqual(control('DELETE', 'log')[0], 200)
        self.assertEqual(control('GET', 'log')[1], [])

    def test_state_roundtrip_and_load(self):
        call('DELETE', 'profile/3')
        call('POST', 'database/1/profiles', body={'fields': {'firstname': 'Saved'}})
        _s, state = control('GET', 'state')
        before = [get('profile/%d' % i).body for i in (1, 3, 29)]
        control('POST', 'reset', {'dataset': 'empty'})
        self.assertEqual(control('POST', 'reset', {'load': state})[1], {'ok': True,
                                                                        'profiles': 25})
        self.assertEqual([get('profile/%d' % i).body for i in (1, 3, 29)], before)
        r = call('POST', 'database/1/profiles', body={'fields': {}})
        self.assertEqual(r.header('X-Created'), '30')
        self.assertEqual(control('GET', 'state')[1]['databases'], state['databases'])

    def test_profiles_endpoint_matches_api(self):
        _s, arr = control('GET', 'profiles?database=1')
        self.assertEqual(len(arr), 25)
        self.assertEqual(arr, get('database/1/profiles').json()['data'])
        self.assertEqual(len(control('GET', 'profiles?database=2')[1]), 3)

    def test_bad_control_requests(self):
        self.assertEqual(control('POST', 'reset', {'dataset': 'nope'})[0], 400)
        self.assertEqual(control('POST', 'faults', {'explode': 1})[0], 400)
        self.assertEqual(control('GET', 'nothing')[0], 404)


class TestFaults(EmulatorTestCase):
    def tearDown(self):
        control('DELETE', 'faults')

    def test_latency(self):
        control('POST', 'faults', {'latency_ms': 250})
        t = time.time()
        self.assertEqual(get('identity').status, 200)
        self.assertGreaterEqual(time.time() - t, 0.24)
        control('POST', 'faults', {'latency_ms': 0})
        t = time.time()
        get('identity')
        self.assertLess(time.time() - t, 0.2)

    def test_fail_503_504_502_html(self):
        for status in (503, 504, 502):
            control('POST', 'faults', {'fail': {'status': status, 'count': 2}})
            for _ in range(2):
                r = get('identity')
                self.assertEqual(r.status, status)
                self.assertEqual(r.header('Content-Type'), 'text/html')
                self.assertIn(b'<title>Loadbalancer Error</title>', r.body)
                self.assertIn(b'too many requests to handle', r.body)
            self.assertEqual(get('identity').status, 200)
        # the failed requests did not reach the API: nothing was created
        control('POST', 'faults', {'fail': {'status': 503, 'count': 1}})
        self.assertEqual(call('POST', 'database/1/profiles', body={'fields': {}}).status, 503)
        self.assertEqual(get('database/1/profiles').json()['total'], 25)

    def test_fail_429_with_retry_after(self):
        control('POST', 'faults', {'fail': {'status': 429, 'count': 1, 'retry_after': 3}})
        r = get('identity')
        self.assertEqual(r.status, 429)
        self.assertEqual(r.header('Retry-After'), '3')
        self.assertEqual(r.header('Content-Type'), 'application/json')
        self.assertIn('message', r.json()['error'])
        self.assertEqual(get('identity').status, 200)

    def test_drop_closes_without_answer(self):
        control('POST', 'faults', {'drop': 1})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            get('identity')
        self.assertEqual(get('identity').status, 200)
        _s, log = control('GET', 'log')
        self.assertEqual([e['status'] for e in log[-2:]], [None, 200])

    def test_truncate_sends_half_the_body(self):
        control('POST', 'faults', {'truncate': 1})
        sock = socket.create_connection(('127.0.0.1', SERVER.port), timeout=10)
        sock.sendall(('GET /v2/database/1/profiles?access_token=%s HTTP/1.1\r\n'
                      'Host: x\r\n\r\n' % TOKEN).encode())
        data = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        head, _sep, body = data.partition(b'\r\n\r\n')
        length = int(re.search(rb'Content-Length: (\d+)', head).group(1))
        self.assertEqual(len(body), length // 2)
        self.assertGreater(length, 1000)
        self.assertEqual(get('database/1/profiles').status, 200)

    def test_malformed_json(self):
        control('POST', 'faults', {'malformed': 1})
        r = get('database/1/profiles')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b'{"start":0,"limit":')
        self.assertRaises(ValueError, r.json)
        self.assertEqual(get('database/1/profiles').json()['total'], 25)

    def test_invalid_utf8(self):
        control('POST', 'faults', {'invalid_utf8': 1})
        r = get('profile/1')
        self.assertIn(b'\xff', r.body)
        self.assertEqual(int(r.header('Content-Length')), len(r.body))
        self.assertRaises(UnicodeDecodeError, r.body.decode, 'utf-8')
        get('profile/1').body.decode('utf-8')

    def test_json_faults_skip_empty_answers(self):
        control('POST', 'faults', {'malformed': 1})
        self.assertEqual(call('PUT', 'profile/1', body={'fields': {}}).status, 303)
        self.assertRaises(ValueError, get('identity').json)

    def test_clear_faults(self):
        control('POST', 'faults', {'fail': {'status': 503, 'count': 5}, 'drop': 2})
        self.assertEqual(control('DELETE', 'faults')[0], 200)
        self.assertEqual(get('identity').status, 200)

    def test_answer_after_lets_the_first_matching_requests_through(self):
        control('POST', 'faults', {'answer': {
            'status': 400, 'count': 1, 'after': 2, 'match': 'identity',
            'body': '{"error":{"message":"late"}}'}})
        self.assertEqual(get('identity').status, 200)
        self.assertEqual(get('identity').status, 200)
        self.assertEqual(get('identity').json()['error']['message'], 'late')
        self.assertEqual(get('identity').status, 200)

    def test_answer_echoes_the_token_in_every_form(self):
        control('POST', 'faults', {'answer': {
            'status': 500, 'count': 2, 'content_type': 'text/plain',
            'body': 'raw={token} json={token_json} u={token_u} url={token_url}'}})
        tok = 'a/b+c d&e'
        r = get('identity', token=tok)
        self.assertEqual(r.status, 500)
        self.assertEqual(r.header('Content-Type'), 'text/plain')
        self.assertEqual(r.body.decode(),
                         'raw=a/b+c d&e json=a\\/b+c d&e '
                         'u=\\u0061\\u002f\\u0062\\u002b\\u0063\\u0020\\u0064\\u0026\\u0065 '
                         'url=a%2Fb%2Bc%20d%26e')
        # a JSON body decodes to the token itself, whichever escape it uses
        control('POST', 'faults', {'answer': {
            'status': 400, 'count': 2,
            'body': '{"error":{"message":"{token_json}|{token_u}"}}'}})
        r = get('identity', token=tok)
        self.assertEqual(r.json()['error']['message'], tok + '|' + tok)
        # the second canned answer, then the real API again
        self.assertEqual(get('identity').json()['error']['message'],
                         TOKEN + '|' + TOKEN)
        self.assertEqual(get('identity').status, 200)

    def test_answer_only_for_matching_paths(self):
        control('POST', 'faults', {'answer': {'status': 200, 'count': 1, 'match': '/profiles',
                                              'body': '{"start":0 {token}'}})
        self.assertEqual(get('identity').status, 200)
        self.assertEqual(get('database/1/profiles').body, b'{"start":0 ' + TOKEN.encode())
        self.assertEqual(get('database/1/profiles').json()['total'], 25)
        self.assertEqual(control('POST', 'faults', {'answer': {'status': 99, 'body': ''}})[0],
                         400)

    def test_answer_fills_in_the_start_asked(self):
        control('POST', 'faults', {'answer': {'status': 200, 'count': 2, 'match': '/profiles',
                                              'body': '{"start":{start},"data":[]}'}})
        try:
            self.assertEqual(get('database/1/profiles').json()['start'], 0)
            self.assertEqual(get('database/1/profiles', {'start': 1000}).json()['start'], 1000)
        finally:
            control('DELETE', 'faults')

    def test_answer_only_for_its_method(self):
        control('POST', 'faults', {'answer': {'status': 503, 'count': 1, 'method': 'POST',
                                              'body': '<html>Service Unavailable</html>',
                                              'content_type': 'text/html'}})
        try:
            self.assertEqual(get('database/1/profiles').status, 200)
            self.assertEqual(call('POST', 'database/1/profiles', body={'fields': {}}).status,
                             503)
            self.assertEqual(call('POST', 'database/1/profiles', body={'fields': {}}).status,
                             201)
            self.assertEqual(control('POST', 'faults', {'answer': {
                'status': 503, 'body': '', 'method': 'PATCH'}})[0], 400)
        finally:
            control('DELETE', 'faults')

    def test_slow_delays_only_matching_requests(self):
        control('POST', 'faults', {
            'slow': {'ms': 400, 'count': 1, 'match': 'profile/2', 'method': 'GET'},
            'answer': {'status': 400, 'count': 1, 'match': 'profile/2',
                       'body': '{"error":{"message":"no"}}'}})
        try:
            t = time.monotonic()
            self.assertEqual(get('profile/2').status, 400)      # answered: not slow
            self.assertEqual(get('profile/1').status, 200)      # no match
            self.assertLess(time.monotonic() - t, 0.3)
            t = time.monotonic()
            self.assertEqual(get('profile/2').status, 200)
            self.assertGreaterEqual(time.monotonic() - t, 0.4)
            t = time.monotonic()
            self.assertEqual(get('profile/2').status, 200)      # used up
            self.assertLess(time.monotonic() - t, 0.3)
            self.assertEqual(control('POST', 'faults', {'slow': {'count': 1}})[0], 400)
        finally:
            control('DELETE', 'faults')

    def test_ignore_param_leaves_a_parameter_out(self):
        url = 'ms/emailing/169/destinations'
        control('POST', 'faults', {'ignore_param': {'name': 'unsubscribed', 'count': 1,
                                                    'match': '/destinations'}})
        try:
            self.assertEqual(len(get('ms/emailings').json()['data']), 4)    # no match
            # both spellings are left out of one request; the log keeps them
            got = get(url, {'Unsubscribed': 'true', 'unsubscribed': 'true'}).json()
            self.assertEqual(got['total'], 25)
            self.assertEqual(get(url, {'Unsubscribed': 'true'}).json()['total'], 1)  # used up
            self.assertIn('Unsubscribed=true', control('GET', 'log')[1][-2]['query'])
            self.assertEqual(control('POST', 'faults', {'ignore_param': {'count': 1}})[0], 400)
        finally:
            control('DELETE', 'faults')

    def test_full_pages_never_end(self):
        control('POST', 'faults', {'full_pages': 3})
        for start in (0, 1000, 5000):
            r = get('database/1/fields', {'start': start, 'limit': 1000})
            page = r.json()
            self.assertEqual((page['start'], page['limit'], page['count']),
                             (start, 1000, 1000))
            self.assertEqual(len(page['data']), 1000)
            self.assertEqual(page['data'][0]['ID'], str(start + 1000))
        # entity listings are not structure listings; the counter is used up
        control('POST', 'faults', {'full_pages': 1})
        self.assertEqual(get('database/1/profiles').json()['count'], 25)
        self.assertEqual(get('databases').json()['count'], 100)
        self.assertEqual(get('databases').json()['count'], 2)

    def test_faults_do_not_apply_to_control(self):
        control('POST', 'faults', {'fail': {'status': 503, 'count': 1}, 'malformed': 1})
        status, log = control('GET', 'log')
        self.assertEqual(status, 200)
        self.assertEqual(get('identity').status, 503)


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------


class TestDatasets(unittest.TestCase):
    def test_demo_is_deterministic(self):
        self.assertEqual(datasets.demo().dump_json(), datasets.demo().dump_json())

    def test_demo_contents(self):
        st = datasets.demo()
        db1, db2 = st.databases[1], st.databases[2]
        self.assertEqual(db1.live_ids, list(range(1, 26)))
        self.assertEqual(db2.live_ids, [26, 27, 28])
        vals = [st.profiles[i].fields_api() for i in range(1, 26)]
        cities = [v['city'] for v in vals]
        self.assertGreaterEqual(cities.count('Amsterdam'), 3)
        self.assertEqual((cities.count('amsterdam'), cities.count('AMSTERDAM')), (1, 1))
        text = json.dumps(vals, ensure_ascii=False)
        for s in ('Zoë', 'Jürgen', 'Łukasz', '東京', "O'Brien"):
            self.assertIn(s, text)
        notes = ''.join(v['notes'] for v in vals)
        for ch in ('"', '\\', '%', '_'):
            self.assertIn(ch, notes)
        self.assertEqual(sum(v['email'] == '' for v in vals), 1)
        self.assertEqual(sum(v['signup'] == '0000-00-00' for v in vals), 1)
        self.assertEqual([v['age'] for v in vals].count('0'), 1)
        self.assertTrue(all(18 <= int(v['age']) <= 80 for v in vals if v['age'] != '0'))
        self.assertEqual({v['segment'] for v in vals}, {'gold', 'silver', 'bronze', ''})
        per_profile = [len(st.profiles[i].subs or ()) for i in range(1, 26)]
        self.assertTrue(all(0 <= n <= 3 for n in per_profile))
        self.assertEqual(min(st.subprofiles), 1)

    def test_generate_counts_and_id_sums(self):
        for n in (0, 1, 2500):
            st = datasets.generate(n)
            live = st.databases[1].live_ids
            self.assertEqual((len(live), sum(live)), (n, n * (n + 1) // 2))
            subs = st.collections[1].live_ids
            self.assertEqual(len(subs), sum(i % 3 for i in range(1, n + 1)))
            self.assertEqual(subs, list(range(1, len(subs) + 1)))
            self.assertEqual(st.databases[2].live_ids, [])
            self.assertEqual(st.next_profile_id, n + 1)

    def test_generate_shapes(self):
        n = 5000
        for shape in datasets.SHAPES:
            st = datasets.generate(n, 1, shape)
            live = st.databases[1].live_ids
            self.assertEqual(len(live), n, shape)
            self.assertEqual(live, sorted(set(live)), shape)
            subs = st.collections[1].live_ids
            self.assertEqual(subs, sorted(set(subs)), shape)
            self.assertEqual(st.next_profile_id, max(st.profiles) + 1, shape)
            self.assertEqual(st.next_subprofile_id, max(st.subprofiles) + 1, shape)
            span = live[-1] - live[0] + 1
            gaps = sorted(b - a for a, b in zip(live, live[1:]))
            if shape == 'dense':
                self.assertEqual(live, list(range(1, n + 1)))
                continue
            self.assertGreater(span, 1.5 * n, shape)
            if shape == 'sparse':
                self.assertLess(span, 4 * n)
                self.assertLessEqual(gaps[-1], 4)
            if shape == 'clustered':
                self.assertGreater(gaps[-1], 1000)          # runs apart
                self.assertLessEqual(gaps[n // 2], 2)       # dense inside a run
            if shape == 'skewed':
                # 90% of the rows in the last part of the ID space
                self.assertLess(live[-1] - live[n // 10], span / 4)
            if shape == 'removed':
                gone = [p for p in st.profiles.values() if p.removed]
                self.assertEqual(len(gone), n // 4)
                self.assertTrue(all(p.id not in set(live) for p in gone))
                self.assertTrue(all(s.removed for s in st.subprofiles.values()
                                    if s.profile in {p.id for p in gone}))
        # a profile's values do not depend on its IDs' shape
        a = [p.values for p in datasets.generate(50, 3, 'dense').profiles.values()]
        b = [p.values for p in datasets.generate(50, 3, 'clustered').profiles.values()]
        self.assertEqual(a, b)

    def test_generated_default_is_sparse(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 300})
        d = get('database/1/profiles', {'limit': 1000, 'orderby': 'id'}).json()
        ids = [int(e['ID']) for e in d['data']]
        self.assertEqual(len(ids), 300)
        self.assertNotEqual(ids, list(range(1, 301)))

    def test_generate_subprofiles_follow_profile_order(self):
        st = datasets.generate(10)
        self.assertEqual([(s.id, s.profile) for s in st.subprofiles.values()],
                         [(1, 1), (2, 2), (3, 2), (4, 4), (5, 5), (6, 5), (7, 7), (8, 8),
                          (9, 8), (10, 10)])

    def test_generate_is_deterministic_per_seed(self):
        a = datasets.generate(300, 1).dump_json()
        self.assertEqual(a, datasets.generate(300, 1).dump_json())
        self.assertNotEqual(a, datasets.generate(300, 2).dump_json())
        vals = [p.fields_api() for p in datasets.generate(2000).profiles.values()]
        self.assertTrue(any(v['email'] == '' for v in vals))
        self.assertTrue(any('%' in v['notes'] or '_' in v['notes'] for v in vals))
        self.assertTrue(any(v['city'] == 'amsterdam' for v in vals))
        self.assertTrue(all(v['segment'] in ('gold', 'silver', 'bronze', '') for v in vals))
        self.assertTrue(all(re.match(r'^\d{4}-\d\d-\d\d$', v['signup']) for v in vals))

    def test_generate_100k_is_fast(self):
        t = time.time()
        st = datasets.generate(100000)
        self.assertLess(time.time() - t, 10)
        self.assertEqual(len(st.profiles), 100000)

    def test_empty_has_schema_only(self):
        st = datasets.empty()
        self.assertEqual((len(st.profiles), len(st.subprofiles)), (0, 0))
        self.assertEqual([c.name for c in st.collections.values()], ['Orders', 'Clicks'])
        self.assertEqual(len(st.views), 2)

    def test_state_dump_loads_back(self):
        st = datasets.generate(50)
        again = Store.load(json.loads(st.dump_json()))
        self.assertEqual(again.dump_json(), st.dump_json())


class TestSpeed(EmulatorTestCase):
    def test_page_of_1000_profiles_is_fast(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 5000})
        conn = http.client.HTTPConnection('127.0.0.1', SERVER.port, timeout=10)
        times = []
        for _ in range(6):
            t = time.perf_counter()
            r = call('GET', 'database/1/profiles', {'limit': 1000, 'start': 2000,
                                                    'total': 'false'}, conn=conn)
            times.append(time.perf_counter() - t)
            self.assertEqual(len(r.json()['data']), 1000)
        conn.close()
        self.assertLess(sorted(times[1:])[2], 0.05)     # warm: a few ms in practice

    def test_keyset_filter_on_id(self):
        control('POST', 'reset', {'dataset': 'generate', 'profiles': 3000, 'shape': 'dense'})
        d = get('database/1/profiles', {'fields[]': 'id>2990', 'orderby': 'id',
                                        'limit': 1000}).json()
        self.assertEqual([int(e['ID']) for e in d['data']], list(range(2991, 3001)))
        self.assertEqual(d['total'], 10)


# ---------------------------------------------------------------------------
# The command line and emuctl
# ---------------------------------------------------------------------------


class TestCommandLine(unittest.TestCase):
    def start(self, *args):
        tmp = tempfile.mkdtemp()
        port_file = os.path.join(tmp, 'port')
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, 'copernica_emulator.py'),
                                 '--port-file', port_file, '--quiet'] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        return proc, line, port_file, tmp

    def test_start_port_file_sigterm_and_save(self):
        save = os.path.join(tempfile.mkdtemp(), 'state.json')
        proc, line, port_file, _tmp = self.start('--dataset', 'generate', '--profiles', '10',
                                                 '--token', 'tok', '--save-on-exit', save)
        try:
            m = re.match(r'^listening on http://127\.0\.0\.1:(\d+)\n$', line)
            self.assertTrue(m, line)
            with open(port_file) as f:
                self.assertEqual(f.read().strip(), m.group(1))
            conn = http.client.HTTPConnection('127.0.0.1', int(m.group(1)), timeout=10)
            conn.request('GET', '/v2/database/1/profiles?access_token=tok&limit=0')
            self.assertEqual(json.loads(conn.getresponse().read())['total'], 10)
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(out, '')
        self.assertEqual(err, '')
        with open(save) as f:
            state = json.load(f)
        self.assertEqual(len(state['profiles']), 10)
        proc, line, _pf, _tmp = self.start('--load', save)
        try:
            port = int(line.rsplit(':', 1)[1])
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
            conn.request('GET', '/v2/database/1/profiles?access_token=test-token&limit=0')
            self.assertEqual(json.loads(conn.getresponse().read())['total'], 10)
            conn.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0)


class TestEmuctl(EmulatorTestCase):
    def emuctl(self, *args, url=None):
        env = dict(os.environ)
        env['COPERNICA_EMULATOR_CONTROL'] = url or 'http://127.0.0.1:%d' % SERVER.port
        p = subprocess.run([sys.executable, os.path.join(HERE, 'emuctl.py')] + list(args),
                           capture_output=True, text=True, env=env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_reset_and_counts(self):
        self.assertEqual(self.emuctl('reset', 'generate', '2500', '--shape', 'dense')[1],
                         'reset: 2500 profiles\n')
        self.assertEqual(self.emuctl('profiles', '1')[1],
                         'count=2500 idsum=%d\n' % (2500 * 2501 // 2))
        self.assertEqual(self.emuctl('subprofiles', '1')[1], 'count=2500 idsum=%d\n'
                         % (2500 * 2501 // 2))
        self.assertEqual(self.emuctl('reset', 'demo')[1], 'reset: 25 profiles\n')
        self.assertEqual(self.emuctl('reset', 'empty')[1], 'reset: 0 profiles\n')

    def test_log_formats(self):
        self.emuctl('clear-log')
        get('database/1/profiles', 'limit=2')
        get('identity')
        call('GET', 'profile/99999')
        rc, out, _err = self.emuctl('log')
        self.assertEqual((rc, out), (0, 'GET /v2/database/1/profiles?limit=2\n'
                                        'GET /v2/identity\nGET /v2/profile/99999\n'))
        self.assertEqual(self.emuctl('log', '--count')[1], 'requests: 3\n')
        self.assertEqual(self.emuctl('log', '--connections')[1], 'connections: 3\n')
        self.assertEqual(self.emuctl('log', '--status')[1].splitlines()[-1],
                         'GET /v2/profile/99999 -> 400')
        # one after another: never two in flight
        self.assertEqual(self.emuctl('log', '--in-flight-at-end', '3')[1], '1\n')
        self.assertEqual(self.emuctl('clear-log'), (0, '', ''))
        self.assertEqual(self.emuctl('log', '--count')[1], 'requests: 0\n')

    def test_log_in_flight_at_end(self):
        self.emuctl('clear-log')
        self.emuctl('latency', '200')
        try:
            threads = [threading.Thread(target=get, args=('identity',)) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            self.emuctl('latency', '0')
        get('identity')
        # the three overlapped; the last, alone, is one of the last two
        self.assertEqual(self.emuctl('log', '--in-flight-at-end', '4')[1], '3\n')
        self.assertEqual(self.emuctl('log', '--in-flight-at-end', '1')[1], '1\n')

    def test_fault_commands(self):
        self.assertEqual(self.emuctl('fail', '429', '1', '--retry-after', '2'), (0, '', ''))
        r = get('identity')
        self.assertEqual((r.status, r.header('Retry-After')), (429, '2'))
        for cmd in (('latency', '0'), ('drop', '0'), ('truncate', '0'), ('malformed', '1'),
                    ('invalid-utf8', '0')):
            self.assertEqual(self.emuctl(*cmd), (0, '', ''))
        self.assertRaises(ValueError, get('identity').json)
        self.assertEqual(self.emuctl('clear-faults'), (0, '', ''))
        self.assertEqual(get('identity').status, 200)

    def test_hostile_fault_commands(self):
        self.assertEqual(self.emuctl('answer', '500', '1', 'x{token_url}y',
                                     '--match', 'identity', '--content-type', 'text/plain'),
                         (0, '', ''))
        self.assertEqual(get('database/1/profiles').status, 200)
        r = get('identity')
        self.assertEqual((r.status, r.body), (500, ('x%sy' % TOKEN).encode()))
        self.assertEqual(self.emuctl('full-pages', '1'), (0, '', ''))
        self.assertEqual(get('database/1/collections').json()['count'], 100)
        self.assertEqual(self.emuctl('clear-faults'), (0, '', ''))

    def test_renumber(self):
        for new in (9223372036854775807, -5):
            self.emuctl('reset', 'demo')
            self.assertEqual(self.emuctl('renumber', '4', str(new)), (0, '', ''))
            ids = ids_of(get('database/1/profiles', {'orderby': 'id', 'limit': 1000}))
            self.assertEqual(ids, sorted([i for i in range(1, 26) if i != 4] + [new]))
            if new > 0:     # a path takes positive IDs only
                self.assertEqual(get('profile/%d' % new).json()['fields']['firstname'],
                                 demo_rows()[4]['firstname'])
                # its orders went with it
                subs = get('profile/%d/subprofiles/1' % new).json()['data']
                self.assertEqual(len(subs), 3)
                self.assertTrue(all(sub['profile'] == str(new) for sub in subs))
            # filters on the ID see it
            r = get('database/1/profiles', [('fields[]', 'id>=%d' % new)])
            self.assertIn(new, ids_of(r))
            self.assertEqual(json.loads(self.emuctl('profile', str(new))[1])['ID'], str(new))
            # new profiles are numbered as before
            self.assertEqual(call('POST', 'database/1/profiles',
                                  body={'fields': {}}).header('X-Created'), '29')
        rc, _out, err = self.emuctl('renumber', '12345', '1')
        self.assertNotEqual(rc, 0)
        self.assertIn('no profile', err)

    def test_id_gaps(self):
        self.emuctl('reset', 'demo')
        self.assertEqual(self.emuctl('id-gaps', '2', '3'), (0, '', ''))
        made = [call('POST', 'database/1/profiles', body={'fields': {}}).header('X-Created')
                for _i in range(5)]
        # 29, 30, then 3 IDs for others, 34, 35, 3 more, 39
        self.assertEqual(made, ['29', '30', '34', '35', '39'])
        # subprofiles are counted apart
        subs = [call('POST', 'profile/1/subprofiles/1', body={'fields': {}}).header('X-Created')
                for _i in range(3)]
        self.assertEqual(subs, ['31', '32', '36'])
        self.emuctl('id-gaps', '0', '0')
        self.assertEqual(call('POST', 'database/1/profiles', body={'fields': {}}).header('X-Created'),
                         '40')
        # a reset turns it off
        self.emuctl('id-gaps', '1', '1')
        self.emuctl('reset', 'demo')
        made = [call('POST', 'database/1/profiles', body={'fields': {}}).header('X-Created')
                for _i in range(2)]
        self.assertEqual(made, ['29', '30'])
        rc, _out, err = self.emuctl('id-gaps', '-1', '1')
        self.assertNotEqual(rc, 0)
        # into a database: the skipped IDs are other clients' profiles there
        self.emuctl('id-gaps', '1', '2', '--into', 'Customers')
        made = [call('POST', 'database/2/profiles', body={'fields': {}}).header('X-Created')
                for _i in range(2)]
        self.assertEqual(made, ['31', '34'])
        ids = ids_of(get('database/1/profiles', {'orderby': 'id', 'limit': 1000}))
        self.assertEqual(ids[-4:], [32, 33, 35, 36])
        self.assertEqual(ids_of(get('database/2/profiles', {'orderby': 'id'}))[-2:], [31, 34])
        rc, _out, err = self.emuctl('id-gaps', '1', '1', '--into', 'Nowhere')
        self.assertNotEqual(rc, 0)
        self.assertIn('no such database', err)

    def test_slow_before_handles_later(self):
        self.emuctl('reset', 'demo')
        self.emuctl('slow', '400', '1', '--method', 'POST', '--before')
        made = {}

        def post(name):
            made[name] = call('POST', 'database/1/profiles',
                              body={'fields': {}}).header('X-Created')
        first = threading.Thread(target=post, args=('first',))
        first.start()
        time.sleep(0.1)
        post('second')
        first.join()
        self.assertEqual((made['second'], made['first']), ('29', '30'))

    def test_profile_and_state(self):
        rc, out, _ = self.emuctl('profile', '7')
        p = json.loads(out)
        self.assertEqual(p['fields']['lastname'], "O'Brien")
        self.assertEqual(out, json.dumps(get('profile/7').json(), sort_keys=True,
                                         ensure_ascii=False) + '\n')
        self.assertEqual(self.emuctl('profile', '12345')[1], 'absent\n')
        state = json.loads(self.emuctl('state')[1])
        self.assertEqual(len(state['profiles']), 28)

    def test_unreachable_is_an_error(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        rc, out, err = self.emuctl('log', url='http://127.0.0.1:%d' % port)
        self.assertNotEqual(rc, 0)
        self.assertEqual(out, '')
        self.assertIn('unreachable', err)
        self.assertNotIn(str(port), err)


if __name__ == '__main__':
    unittest.main()
