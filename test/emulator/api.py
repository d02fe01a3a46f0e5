"""The Copernica REST API v2 endpoints, on top of a Store.

Owns: routing of /v2/<path> (sections 2 and 7.1 of copernica-api-v2.md),
authentication, request bodies, and the responses of reads and writes
(sections 3, 5 and 6). No sockets here: handle() takes a parsed request and
returns a Response.
"""

import json

import filters
import mailings
import phpish
from store import Database, Profile, dumps, envelope

JSON_TYPE = 'application/json'


class Response:
    __slots__ = ('status', 'headers', 'body', 'content_type')

    def __init__(self, status=200, body=b'', content_type=None, headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []

    @property
    def is_json(self):
        return self.content_type == JSON_TYPE and bool(self.body)


def json_response(text, status=200):
    if not isinstance(text, (str, bytes)):
        text = dumps(text)
    if isinstance(text, str):
        text = text.encode('utf-8')
    return Response(status, text, JSON_TYPE)


class ApiError(Exception):
    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message


def error_response(message):
    return json_response({'error': {'message': message}}, 400)


class Request:
    """What the API needs from an HTTP request."""

    def __init__(self, method, path, raw_query, body, content_type, base_url):
        self.method = method
        self.path = path              # decoded path after /v2/
        self.raw_query = raw_query
        self.params = phpish.parse_str(raw_query)
        self.body = body or b''
        self.content_type = (content_type or '').split(';')[0].strip().lower()
        self.base_url = base_url      # http://127.0.0.1:PORT
        self._data = None

    @property
    def data(self):
        """The body as a PHP value: dict/list (JSON or form), else {}."""
        if self._data is None:
            self._data = self._parse_body()
        return self._data

    def _parse_body(self):
        raw = self.body
        if not raw:
            return {}
        text = raw.decode('utf-8', errors='replace')
        ctype = self.content_type
        if ctype == 'application/x-www-form-urlencoded':
            return phpish.parse_str(text)
        if ctype == JSON_TYPE or ctype.endswith('+json') or text.lstrip()[:1] in ('{', '['):
            try:
                value = json.loads(text)
            except ValueError:
                return {}
            return value if isinstance(value, (dict, list)) else {}
        return phpish.parse_str(text)

    def location(self, entity_path):
        """v2 PUT answers: the URL without /v2, query string (and token) kept."""
        url = '%s/%s' % (self.base_url, entity_path)
        if self.raw_query:
            url += '?' + self.raw_query
        return url


def _is_array(v):
    return isinstance(v, (dict, list))


def _as_map(v):
    """A PHP array from JSON/form as a mapping (lists -> index keys)."""
    if isinstance(v, dict):
        return v
    if isinstance(v, list):
        return {str(i): x for i, x in enumerate(v)}
    return {}


def _is_list(v):
    if isinstance(v, list):
        return True
    return isinstance(v, phpish.PhpArray) and v.is_list()


def _php_bool(v):
    """PHP (bool)."""
    if isinstance(v, str):
        return v not in ('', '0')
    return bool(v)


def _positive_id(s):
    return s.isdigit() and not s.startswith('0')


class Api:
    def __init__(self, store, token, now=phpish.now_string):
        self.store = store
        self.token = token
        self.now = now

    # -- entry point -----------------------------------------------------------

    def handle(self, req):
        try:
            tok = req.params.get('access_token')
            if not isinstance(tok, str) or tok != self.token:
                raise ApiError('Invalid access token')
            return self.route(req)
        except ApiError as e:
            return error_response(e.message)

    def route(self, req):
        parts = req.path.split('/')
        while parts and parts[-1] == '':
            parts.pop()
        if not parts or req.method not in ('GET', 'POST', 'PUT', 'DELETE'):
            raise ApiError('Invalid method')
        head = parts[0]
        m = req.method
        if head == 'identity':
            if m == 'GET' and len(parts) == 1:
                return json_response(self.store.identity)
            raise ApiError('Invalid method')
        if head == 'databases':
            if m == 'GET':
                return self.list_plain(req, [d.to_api() for d in self.store.databases.values()])
            if m == 'POST':
                return self.create_database(req)
            raise ApiError('Invalid method')
        if head in ('database', 'collection', 'profile', 'subprofile', 'view', 'miniview'):
            if len(parts) < 2:
                raise ApiError("Invalid request, element 1 is missing in 'directory' path")
            return getattr(self, 'route_' + head)(req, parts[1], parts[2:])
        if head in ('publisher', 'ms'):
            if m == 'GET':
                try:
                    out = mailings.route(self.store, head, parts[1:], req.params)
                    if isinstance(out, mailings.Body):
                        return Response(200, out.text.encode('utf-8'), out.content_type)
                    return json_response(out)
                except mailings.MailingError as e:
                    raise ApiError(e.message)
            raise ApiError('Invalid method')
        raise ApiError('Invalid method')

    # -- generic lists -------------------------------------------------------

    def list_plain(self, req, items):
        """Envelope around a small list of API objects (structure listings)."""
        p = req.params
        start = phpish.param_int(p, 'start', 0)
        limit = phpish.param_int(p, 'limit', 100)
        if limit > 1000:
            limit = 1000
        want_total = 'total' not in p or phpish.is_true(p['total'])
        page = [] if start < 0 or limit <= 0 else items[start:start + limit]
        return json_response(envelope([dumps(x) for x in page], start, limit,
                                      len(items) if want_total else None))

    def list_entities(self, req, ids, lookup, schema, extra=()):
        p = req.params
        start, limit, page, total = filters.select(ids, lookup, schema, p, extra)
        dataonly = 'dataonly' in p and phpish.is_true(p['dataonly'])
        if dataonly:
            items = [e.data_json() for e in page]
        else:
            items = [e.full_json() for e in page]
        return json_response(envelope(items, start, limit, total))

    def list_ids(self, req, ids):
        p = req.params
        start = phpish.param_int(p, 'start', 0)
        limit = phpish.param_int(p, 'limit', 1000) if 'limit' in p else None
        sel = ids[start:] if start > 0 else list(ids)
        if limit is not None:
            sel = sel[:max(limit, 0)]
        return json_response('[' + ','.join('"%d"' % i for i in sel) + ']')

    def entity_mailings(self, req, kind, eid, system, parts):
        try:
            return json_response(mailings.route_entity(self.store, kind, eid, system, parts,
                                                       req.params))
        except mailings.MailingError as e:
            raise ApiError(e.message)

    # -- databases -------------------------------------------------------------

    def create_database(self, req):
        data = _as_map(req.data)
        name = data.get('name')
        if not isinstance(name, str) or not name or name.isdigit():
            raise ApiError('Invalid database name')
        if self.store.find_database(name) is not None:
            raise ApiError('Database with this name already exists')
        st = self.store
        db = Database(st.next_database_id, name,
                      phpish.php_string(data.get('description', ''))
                      if phpish.is_scalar(data.get('description', '')) else '',
                      phpish.is_true(data.get('archived', False)), self.now())
        st.add_database(db)
        return Response(201, headers=[('X-Created', str(db.id)),
                                      ('X-location',
                                       'https://api.copernica.com/v2/database/%d' % db.id)])

    def route_database(self, req, key, rest):
        db = self.store.find_database(key)
        if db is None:
            raise ApiError('No database with supplied ID')
        m = req.method
        sub = rest[0] if rest else None
        if m == 'GET':
            if sub is None:
                return json_response(db.to_api())
            if sub == 'fields':
                return self.list_plain(req, [f.to_api() for f in db.schema.fields])
            if sub == 'collections':
                return self.list_plain(req, [c.to_api() for c in db.collections])
            if sub == 'interests':
                return self.list_plain(req, [i.to_api() for i in db.interests])
            if sub == 'views':
                return self.list_plain(req, [v.to_api() for v in db.views])
            if sub == 'profiles':
                return self.list_entities(req, db.live_ids, self.store.profiles, db.schema)
            if sub == 'profileids':
                return self.list_ids(req, db.live_ids)
            if sub == 'unsubscribe':
                return json_response(_unsubscribe_api(db.unsubscribe))
            raise ApiError('Invalid method')
        if m in ('POST', 'PUT'):
            if sub == 'unsubscribe':
                db.unsubscribe = _unsubscribe_input(req.data, db.unsubscribe)
                return Response(303, headers=[('Location',
                                               req.location('database/%d/unsubscribe' % db.id))])
            if sub == 'profiles':
                if m == 'POST':
                    return self.create_profile(req, db)
                return self.bulk_update_profiles(req, db)
            if sub is None:
                return self.update_database(req, db, m)
            raise ApiError('Invalid method')
        if m == 'DELETE' and sub == 'profiles':
            return self.bulk_delete_profiles(req, db)
        raise ApiError('Invalid method')

    def update_database(self, req, db, method):
        data = _as_map(req.data)
        if not data and method == 'POST':
            return Response(200)
        if isinstance(data.get('name'), str) and data['name'] and not data['name'].isdigit():
            db.name = data['name']
        if phpish.is_scalar(data.get('description')):
            db.description = phpish.php_string(data['description'])
        if 'archived' in data:
            db.archived = phpish.is_true(data['archived'])
        return Response(303, headers=[('Location', req.location('database/%d' % db.id))])

    # -- collections -----------------------------------------------------------

    def route_collection(self, req, key, rest):
        coll = self.store.collections.get(int(key)) if _positive_id(key) else None
        if coll is None:
            raise ApiError('No collection with given ID')
        m = req.method
        sub = rest[0] if rest else None
        if m == 'GET':
            if sub is None:
                return json_response(coll.to_api())
            if sub == 'fields':
                return self.list_plain(req, [f.to_api() for f in coll.schema.fields])
            if sub == 'subprofiles':
                return self.list_entities(req, coll.live_ids, self.store.subprofiles,
                                          coll.schema)
            if sub == 'subprofileids':
                return json_response('[' + ','.join('"%d"' % i for i in coll.live_ids) + ']')
            if sub == 'unsubscribe':
                return json_response(_unsubscribe_api(coll.unsubscribe))
            if sub == 'miniviews':
                return self.list_plain(req, [m.to_api() for m in coll.miniviews])
            raise ApiError('Invalid method')
        if m in ('POST', 'PUT') and sub == 'unsubscribe':
            coll.unsubscribe = _unsubscribe_input(req.data, coll.unsubscribe)
            return Response(303, headers=[('Location',
                                           req.location('collection/%d/unsubscribe' % coll.id))])
        if m in ('POST', 'PUT') and sub is None:
            data = _as_map(req.data)
            if not data and m == 'POST':
                return Response(200)
            if isinstance(data.get('name'), str) and data['name']:
                coll.name = data['name']
            return Response(303, headers=[('Location',
                                           req.location('collection/%d' % coll.id))])
        raise ApiError('Invalid method')

    # -- views -----------------------------------------------------------------

    def route_view(self, req, key, rest):
        view = self.store.views.get(int(key)) if _positive_id(key) else None
        if view is None:
            raise ApiError('No view with supplied ID')
        sub = rest[0] if rest else None
        if req.method == 'GET':
            db = self.store.databases[view.database]
            if sub is None:
                return json_response(view.to_api())
            rules = filters.parse_conditions(
                dict(enumerate(self.store.selection_rules(view, self.store.views))), db.schema)
            if sub == 'views' and len(rest) == 1:
                return self.list_plain(req, [v.to_api() for v in view.children])
            if sub == 'profiles':
                return self.list_entities(req, db.live_ids, self.store.profiles, db.schema,
                                          rules)
            if sub == 'profileids':
                pred = filters.compile_predicate(rules)
                ids = [i for i in db.live_ids if pred is None or pred(self.store.profiles[i])]
                return json_response('[' + ','.join('"%d"' % i for i in ids) + ']')
        raise ApiError('Invalid method')

    def route_miniview(self, req, key, rest):
        mv = self.store.miniviews.get(int(key)) if _positive_id(key) else None
        if mv is None:
            raise ApiError('No miniview with supplied ID')
        sub = rest[0] if rest else None
        if req.method == 'GET':
            coll = self.store.collections[mv.collection]
            if sub is None:
                return json_response(mv.to_api())
            rules = filters.parse_conditions(
                dict(enumerate(self.store.selection_rules(mv, self.store.miniviews))),
                coll.schema)
            if sub == 'views' and len(rest) == 1:
                return self.list_plain(req, [m.to_api() for m in mv.children])
            if sub == 'subprofiles':
                return self.list_entities(req, coll.live_ids, self.store.subprofiles,
                                          coll.schema, rules)
            if sub == 'subprofileids':
                pred = filters.compile_predicate(rules)
                ids = [i for i in coll.live_ids
                       if pred is None or pred(self.store.subprofiles[i])]
                return json_response('[' + ','.join('"%d"' % i for i in ids) + ']')
        raise ApiError('Invalid method')

    # -- profiles --------------------------------------------------------------

    def _interest_ids(self, db, spec, current=(), mode='set'):
        """Apply an interests list or map to a set of interest IDs.

        mode 'set': a list replaces everything; a map sets/unsets the named
        ones and keeps the others. mode 'add': a list adds.
        """
        cur = set(current)
        if _is_list(spec):
            names = spec if isinstance(spec, list) else list(spec.values())
            chosen = set()
            for n in names:
                it = db.interest_by_name(n)
                if it is not None:
                    chosen.add(it.id)
            return cur | chosen if mode == 'add' else chosen
        if isinstance(spec, dict):
            for n, flag in spec.items():
                it = db.interest_by_name(n)
                if it is None:
                    continue
                if _php_bool(flag):
                    cur.add(it.id)
                else:
                    cur.discard(it.id)
            return cur
        return cur

    def create_profile(self, req, db):
        data = req.data
        if isinstance(data, list):
            data = {}
        if 'fields' in data and not _is_array(data['fields']):
            raise ApiError('Invalid data provided')
        values = db.schema.normalize_input(_as_map(data.get('fields')))
        interests = self._interest_ids(db, data.get('interests'), (), 'add') \
            if 'interests' in data else set()
        p = self.store.create_profile(db, values, interests, self.now())
        return Response(201, headers=[('X-Created', str(p.id)),
                                      ('X-location',
                                       'https://api.copernica.com/v2/profile/%d' % p.id)])

    def _unsubscribe(self, entity, config, schema):
        """Run the database's (or collection's) unsubscribe behaviour."""
        if entity.removed is not False:
            return
        behavior = config.get('behavior')
        now = self.now()
        if behavior == 'remove':
            if isinstance(entity, Profile):
                self.store.remove_profile(entity, now)
            else:
                self.store.remove_subprofile(entity, now)
        elif behavior == 'update':
            self._apply_values(entity, schema.normalize_input(config.get('fields') or {}), now)

    def _apply_values(self, entity, values, now):
        """Set normalised values; returns True if something changed."""
        if not values:
            return False
        if entity.removed is not False:
            # Observed quirk: the fields stay empty, 'modified' moves anyway.
            entity.modified = now
            entity.invalidate()
            return True
        changed = False
        vals = entity.values
        is_profile = isinstance(entity, Profile)
        for i, v in values.items():
            if vals[i] != v:
                vals[i] = v
                changed = True
                if is_profile:
                    self.store.reindex_value(entity, i)
        if changed:
            entity.modified = now
            entity.invalidate()
        return changed

    def bulk_update_profiles(self, req, db):
        data = req.data
        if isinstance(data, list):
            data = {}
        if 'fields' in data and not _is_array(data['fields']):
            raise ApiError('Invalid data provided')
        if not isinstance(req.params.get('fields'), dict):
            raise ApiError('URL parameter fields is required')
        st = self.store
        conds = filters.parse_conditions(req.params['fields'], db.schema)
        pred = filters.compile_predicate(conds)
        # an equality on a text field narrows the candidates (an index, for
        # speed only: every candidate is still checked)
        eq = [c for c in conds if c.op == '==' and c.kind == 'text' and c.index >= 0]
        if eq:
            cands = sorted(st.eq_candidates(db, eq[0].index, eq[0].value))
            matches = [st.profiles[i] for i in cands
                       if st.profiles[i].removed is False and pred(st.profiles[i])]
        else:
            matches = [st.profiles[i] for i in db.live_ids
                       if pred is None or pred(st.profiles[i])]
        values = db.schema.normalize_input(_as_map(data.get('fields')))
        now = self.now()
        if not matches:
            if 'create' in req.params and phpish.is_true(req.params['create']):
                interests = self._interest_ids(db, data.get('interests'), (), 'add') \
                    if 'interests' in data else set()
                p = st.create_profile(db, values, interests, now)
                return Response(303, headers=[
                    ('X-Created', str(p.id)),
                    ('Location', req.location('profile/%d' % p.id))])
            return Response(200)
        for p in matches:
            self._apply_values(p, values, now)
            if 'interests' in data:
                new = tuple(sorted(self._interest_ids(db, data['interests'], p.interests)))
                if new != p.interests:
                    p.interests = new
                    p.invalidate()
        return Response(200)

    def bulk_delete_profiles(self, req, db):
        data = req.data
        ids = data.get('profiles') if isinstance(data, dict) else None
        if not _is_array(ids):
            raise ApiError('Invalid data provided')
        ids = ids if isinstance(ids, list) else list(ids.values())
        now = self.now()
        for raw in ids:
            pid = phpish.php_int(raw)
            p = self.store.profiles.get(pid)
            if p is not None and p.db is db and p.removed is False:
                self.store.remove_profile(p, now)
        return Response(200)

    def route_profile(self, req, key, rest):
        p = self.store.profiles.get(int(key)) if _positive_id(key) else None
        if p is None:
            raise ApiError('No entity with supplied ID')
        m = req.method
        sub = rest[0] if rest else None
        if m == 'DELETE':
            if p.removed is not False:
                raise ApiError('This profile has already been removed')
            if sub is not None:
                raise ApiError('Invalid method')
            self.store.remove_profile(p, self.now())
            return Response(200, headers=[('X-deleted', 'profile %d' % p.id)])
        if sub in ('publisher', 'ms') and m == 'GET':
            return self.entity_mailings(req, 'profile', p.id, sub, rest[1:])
        if sub == 'subprofiles':
            if len(rest) < 2:
                raise ApiError("Invalid request, element 3 is missing in 'directory' path")
            return self.profile_subprofiles(req, p, rest[1])
        if sub == 'unsubscribe' and m in ('POST', 'PUT'):
            self._unsubscribe(p, p.db.unsubscribe, p.db.schema)
            return Response(303, headers=[('Location', req.location('profile/%d' % p.id))])
        if m == 'GET':
            if sub is None:
                return json_response(p.full_json())
            if sub == 'fields':
                return json_response(dumps(p.fields_api()))
            if sub == 'interests':
                return self.get_interests(req, p)
            raise ApiError('Invalid method')
        # POST and PUT (POST on a single entity acts as PUT)
        if sub is None:
            return self.update_profile(req, p)
        if sub == 'fields':
            self._apply_values(p, p.db.schema.normalize_input(_as_map(req.data)), self.now())
            return Response(303, headers=[('Location', req.location('profile/%d' % p.id))])
        if sub == 'interests':
            # POST adds (a map sets/unsets the named ones); PUT overwrites all
            if m == 'POST':
                new = self._interest_ids(p.db, req.data, p.interests, 'add')
            else:
                new = self._interest_ids(p.db, req.data, (), 'set')
            new = tuple(sorted(new))
            if new != p.interests:
                p.interests = new
                p.invalidate()
            return Response(303, headers=[('Location', req.location('profile/%d' % p.id))])
        raise ApiError('Invalid method')

    def get_interests(self, req, p):
        ret = req.params.get('return')
        by_id = {i.id: i for i in p.db.interests}
        its = [by_id[i] for i in p.interests if i in by_id]
        if ret == 'ids':
            return json_response([str(i.id) for i in its])
        if ret == 'objects':
            return json_response([i.to_api() for i in its])
        return json_response([i.name for i in its])

    def update_profile(self, req, p):
        data = req.data if isinstance(req.data, dict) else {}
        now = self.now()
        fields = data.get('fields')
        if _is_array(fields):     # a non-array 'fields' is silently ignored
            self._apply_values(p, p.db.schema.normalize_input(_as_map(fields)), now)
        if 'interests' in data:
            new = tuple(sorted(self._interest_ids(p.db, data['interests'], p.interests)))
            if new != p.interests:
                p.interests = new
                p.invalidate()
        if 'secret' in data and data['secret'] is not None:
            p.secret = _normalize_secret(data['secret'])
            p.invalidate()
        return Response(303, headers=[('Location', req.location('profile/%d' % p.id))])

    def profile_subprofiles(self, req, p, ckey):
        st = self.store
        coll = st.find_collection_in(p.db, ckey) if ckey else None
        m = req.method
        if m == 'DELETE':
            raise ApiError('Invalid method')
        if coll is None:
            if m == 'POST':
                raise ApiError('Subprofile could not be created')
            raise ApiError('No collection with given ID')
        ids = [sid for sid in (p.subs or ()) if st.subprofiles[sid].coll is coll
               and st.subprofiles[sid].removed is False]
        if m == 'GET':
            return self.list_entities(req, ids, st.subprofiles, coll.schema)
        data = req.data
        if m == 'POST':
            values = coll.schema.normalize_input(data if isinstance(data, dict) else {})
            s = st.create_subprofile(coll, p.id, values, self.now())
            return Response(201, headers=[('X-Created', str(s.id)),
                                          ('X-location',
                                           'https://api.copernica.com/v2/subprofile/%d' % s.id)])
        # PUT: bulk update / upsert within this profile; flat body
        if not isinstance(data, dict):
            raise ApiError('Invalid data provided')
        if not isinstance(req.params.get('fields'), dict):
            raise ApiError('URL parameter fields is required')
        pred = filters.compile_predicate(
            filters.parse_conditions(req.params['fields'], coll.schema))
        matches = [st.subprofiles[i] for i in ids if pred is None or pred(st.subprofiles[i])]
        values = coll.schema.normalize_input(data)
        now = self.now()
        if not matches:
            if 'create' in req.params and phpish.is_true(req.params['create']):
                s = st.create_subprofile(coll, p.id, values, now)
                return Response(303, headers=[
                    ('X-Created', str(s.id)),
                    ('Location', req.location('subprofile/%d' % s.id))])
            return Response(200)
        for s in matches:
            self._apply_values(s, values, now)
        return Response(200)

    # -- subprofiles -------------------------------------------------------------

    def route_subprofile(self, req, key, rest):
        s = self.store.subprofiles.get(int(key)) if _positive_id(key) else None
        if s is None:
            raise ApiError('No subprofile with supplied ID')
        m = req.method
        sub = rest[0] if rest else None
        if m == 'DELETE':
            if s.removed is not False:
                raise ApiError('This subprofile has already been removed')
            if sub is not None:
                raise ApiError('Invalid method')
            self.store.remove_subprofile(s, self.now())
            return Response(200, headers=[('X-deleted', 'subprofile %d' % s.id)])
        if sub in ('publisher', 'ms') and m == 'GET':
            return self.entity_mailings(req, 'subprofile', s.id, sub, rest[1:])
        if m == 'GET':
            if sub is None:
                return json_response(s.full_json())
            if sub == 'fields':
                return json_response(dumps(s.fields_api()))
            raise ApiError('Invalid method')
        loc = [('Location', req.location('subprofile/%d' % s.id))]
        if sub == 'unsubscribe':
            self._unsubscribe(s, s.coll.unsubscribe, s.coll.schema)
            return Response(303, headers=loc)
        if sub is None:
            data = req.data if isinstance(req.data, dict) else {}
            fields = data.get('fields')
            if _is_array(fields):
                self._apply_values(s, s.coll.schema.normalize_input(_as_map(fields)),
                                   self.now())
            if 'secret' in data and data['secret'] is not None:
                s.secret = _normalize_secret(data['secret'])
                s.invalidate()
            return Response(303, headers=loc)
        if sub == 'fields':
            self._apply_values(s, s.coll.schema.normalize_input(_as_map(req.data)), self.now())
            return Response(303, headers=loc)
        raise ApiError('Invalid method')


def _unsubscribe_api(config):
    """The behaviour as GET shows it: an empty fields map is PHP's []."""
    fields = config.get('fields') or {}
    return {'behavior': config.get('behavior', 'nothing'),
            'fields': fields if fields else []}


def _unsubscribe_input(data, current):
    """PUT database|collection/$id/unsubscribe: behavior and fields [inferred:
    an unknown behavior is refused, fields must be a map for 'update']."""
    data = data if isinstance(data, dict) else {}
    behavior = data.get('behavior', current.get('behavior', 'nothing'))
    if behavior not in ('nothing', 'remove', 'update'):
        raise ApiError('Invalid behavior')
    fields = data.get('fields', current.get('fields', {}))
    fields = _as_map(fields) if _is_array(fields) else {}
    return {'behavior': behavior,
            'fields': {str(k): phpish.php_string(v) if phpish.is_scalar(v) else ''
                       for k, v in fields.items()}}


def _normalize_secret(value):
    """Section 5.3: non-ASCII -> '?', non-scalars -> '1'."""
    if not phpish.is_scalar(value):
        return '1'
    return ''.join(c if ord(c) < 128 else '?' for c in phpish.php_string(value))
