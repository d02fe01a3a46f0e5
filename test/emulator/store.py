"""The emulator's state: databases, collections, fields, interests, views,
profiles, subprofiles and emailings, with cached JSON serialisation.

Owns: the data model, input normalisation of field values (section 5.3),
entity JSON shapes (sections 2.9, 5.1, 5.2), and the state dump/load format.
"""

import gc
import hashlib
import json
import os
from bisect import bisect_left, insort

import phpish

INTENTIONS = {'email': False, 'sms': False, 'fax': False, 'pdf': False}

TEXT_TYPES = frozenset(['text', 'email', 'big', 'phone', 'phone_fax', 'phone_gsm'])
INT_TYPES = frozenset(['integer', 'foreign_key'])
DATE_TYPES = frozenset(['date', 'datetime', 'empty_date', 'empty_datetime'])
FIELD_TYPES = TEXT_TYPES | INT_TYPES | DATE_TYPES | frozenset(['float', 'select'])


def dumps(obj):
    """Compact JSON, UTF-8 kept as is (not \\u-escaped)."""
    return json.dumps(obj, ensure_ascii=False, separators=(',', ':'))


def envelope(items_json, start, limit, total):
    """The list envelope, from already serialised items, as a str."""
    head = '{"start":%d,"limit":%d,"count":%d,"data":[' % (start, limit, len(items_json))
    tail = ']}' if total is None else '],"total":%d}' % total
    return head + ','.join(items_json) + tail


class Field:
    __slots__ = ('id', 'name', 'type', 'value', 'displayed', 'ordered', 'length',
                 'textlines', 'hidden', 'index', 'choices', 'default', 'kind')

    def __init__(self, fid, name, ftype, value='', displayed=True, ordered=False,
                 length='255', textlines='1', hidden=False, index=False):
        if ftype not in FIELD_TYPES:
            raise ValueError('unknown field type %r' % ftype)
        self.id = int(fid)
        self.name = name
        self.type = ftype
        self.value = '' if value is None else str(value)
        self.displayed = bool(displayed)
        self.ordered = bool(ordered)
        self.length = str(length)
        self.textlines = str(textlines)
        self.hidden = bool(hidden)
        self.index = bool(index)
        # kind: how values compare and sort
        if ftype in TEXT_TYPES:
            self.kind = 'text'
        elif ftype == 'select':
            self.kind = 'select'
        elif ftype in INT_TYPES:
            self.kind = 'int'
        elif ftype == 'float':
            self.kind = 'float'
        else:
            self.kind = 'date'
        self.choices = ()
        if ftype == 'select':
            opts = [o.rstrip() for o in self.value.split('\r\n')]
            default = ''
            choices = []
            for o in opts:
                if o.endswith('*'):
                    o = o[:-1].rstrip()
                    default = o
                choices.append(o)
            self.choices = frozenset(choices)
            self.default = default
        else:
            self.default = self.normalize(self.value)

    def normalize(self, value):
        """Section 5.3: coerce an input value to the stored string."""
        t = self.type
        if t in TEXT_TYPES:
            return phpish.php_string(value) if phpish.is_scalar(value) else ''
        if t == 'select':
            if phpish.is_scalar(value):
                s = phpish.php_string(value)
                if s in self.choices:
                    return s
            return ''
        if t in INT_TYPES:
            return str(phpish.php_int(value))
        if t == 'float':
            return phpish.php_float_str(phpish.php_float(value))
        return phpish.normalize_date(value, t)

    def to_api(self):
        return {'ID': str(self.id), 'name': self.name, 'type': self.type, 'value': self.value,
                'displayed': self.displayed, 'ordered': self.ordered, 'length': self.length,
                'textlines': self.textlines, 'hidden': self.hidden, 'index': self.index}

    def to_state(self):
        return self.to_api()

    @classmethod
    def from_state(cls, d):
        return cls(d['ID'], d['name'], d['type'], d.get('value', ''), d.get('displayed', True),
                   d.get('ordered', False), d.get('length', '255'), d.get('textlines', '1'),
                   d.get('hidden', False), d.get('index', False))


class Schema:
    """An ordered list of fields with case-insensitive lookup by name."""

    def __init__(self, fields=()):
        self.fields = list(fields)
        self._reindex()

    def _reindex(self):
        self.by_lower = {f.name.lower(): i for i, f in enumerate(self.fields)}
        self.by_id = {f.id: i for i, f in enumerate(self.fields)}
        self.names = [f.name for f in self.fields]
        self.defaults = [f.default for f in self.fields]

    def index_of(self, name):
        return self.by_lower.get(str(name).lower())

    def normalize_input(self, data):
        """Unknown names ignored; case-insensitive; last one wins.

        Returns {field index: normalised value}.
        """
        out = {}
        if isinstance(data, dict):
            for name, value in data.items():
                i = self.by_lower.get(str(name).lower())
                if i is not None:
                    out[i] = self.fields[i].normalize(value)
        return out


class Interest:
    __slots__ = ('id', 'name', 'group')

    def __init__(self, iid, name, group=''):
        self.id = int(iid)
        self.name = name
        self.group = group

    def to_api(self):
        return {'ID': str(self.id), 'name': self.name, 'group': self.group}


class View:
    """A selection of profiles; `parent` is the view it is nested in (its
    members are the parent's that match its rules too), or None."""
    __slots__ = ('id', 'name', 'description', 'database', 'rules', 'last_built', 'parent',
                 'children')

    def __init__(self, vid, name, database, rules=(), description='', last_built='',
                 parent=None):
        self.id = int(vid)
        self.name = name
        self.database = int(database)
        self.rules = list(rules)
        self.description = description
        self.last_built = last_built
        self.parent = None if parent is None else int(parent)
        self.children = []          # nested View objects, in ID order

    def to_api(self):
        return {'ID': str(self.id), 'name': self.name, 'description': self.description,
                'parent-type': 'database' if self.parent is None else 'view',
                'parent-id': str(self.database if self.parent is None else self.parent),
                'has-children': bool(self.children), 'has-referred': False,
                'has-rules': bool(self.rules),
                'database': str(self.database), 'last-built': self.last_built,
                'intentions': dict(INTENTIONS)}

    def to_state(self):
        out = {'ID': str(self.id), 'name': self.name, 'description': self.description,
               'database': str(self.database), 'rules': list(self.rules),
               'last-built': self.last_built}
        if self.parent is not None:
            out['parent'] = str(self.parent)
        return out


class Miniview:
    """A selection of subprofiles in a collection (section 11.12)."""
    __slots__ = ('id', 'name', 'description', 'collection', 'rules', 'last_built', 'parent',
                 'children')

    def __init__(self, mid, name, collection, rules=(), description='', last_built='',
                 parent=None):
        self.id = int(mid)
        self.name = name
        self.collection = int(collection)
        self.rules = list(rules)
        self.description = description
        self.last_built = last_built
        self.parent = None if parent is None else int(parent)
        self.children = []          # nested Miniview objects, in ID order

    def to_api(self):
        return {'ID': str(self.id), 'name': self.name, 'description': self.description,
                'parent-type': 'collection' if self.parent is None else 'miniview',
                'parent-id': str(self.collection if self.parent is None else self.parent),
                'collection': str(self.collection), 'last-built': self.last_built}

    def to_state(self):
        out = {'ID': str(self.id), 'name': self.name, 'description': self.description,
               'rules': list(self.rules), 'last-built': self.last_built}
        if self.parent is not None:
            out['parent'] = str(self.parent)
        return out


class Collection:
    def __init__(self, cid, name, database, fields=()):
        self.id = int(cid)
        self.name = name
        self.database = int(database)
        self.schema = Schema(fields)
        self.live_ids = []          # sorted IDs of non-removed subprofiles
        self.unsubscribe = {'behavior': 'nothing', 'fields': {}}
        self.miniviews = []         # Miniview objects, in ID order

    def to_api(self):
        fields = [f.to_api() for f in self.schema.fields]
        return {'ID': str(self.id), 'name': self.name, 'database': str(self.database),
                'fields': {'start': 0, 'limit': 100, 'count': len(fields), 'data': fields,
                           'total': len(fields)},
                'intentions': dict(INTENTIONS)}


class Database:
    def __init__(self, did, name, description='', archived=False, created='', fields=()):
        self.id = int(did)
        self.name = name
        self.description = description
        self.archived = bool(archived)
        self.created = created
        self.schema = Schema(fields)
        self.interests = []
        self.collections = []       # Collection objects, in ID order
        self.views = []             # View objects, in ID order
        self.live_ids = []          # sorted IDs of non-removed profiles
        # what PUT profile/$id/unsubscribe does (section 11.11)
        self.unsubscribe = {'behavior': 'nothing', 'fields': {}}
        # field index -> {lower-cased value: set of profile IDs}, built on
        # first use by a bulk PUT; may hold stale IDs, never misses one
        self.eq_index = {}

    def interest_by_name(self, name):
        name = phpish.php_string(name) if phpish.is_scalar(name) else None
        if name is None:
            return None
        for it in self.interests:
            if it.name == name:
                return it
        low = name.lower()
        for it in self.interests:
            if it.name.lower() == low:
                return it
        return None

    def to_api(self):
        def env(items):
            return {'start': 0, 'limit': 1000, 'count': len(items), 'data': items,
                    'total': len(items)}
        return {'ID': str(self.id), 'name': self.name, 'description': self.description,
                'archived': self.archived, 'created': self.created,
                'fields': env([f.to_api() for f in self.schema.fields]),
                'interests': env([i.to_api() for i in self.interests]),
                'collections': env([c.to_api() for c in self.collections]),
                'intentions': dict(INTENTIONS)}


class Profile:
    __slots__ = ('id', 'db', 'values', 'interests', 'secret', 'created', 'modified',
                 'removed', 'subs', '_full', '_data')

    def __init__(self, pid, db, values, interests, secret, created, modified, removed=False):
        self.id = pid
        self.db = db                # Database object
        self.values = values        # list of strings, in schema order
        self.interests = interests  # tuple of interest IDs, sorted
        self.secret = secret
        self.created = created
        self.modified = modified
        self.removed = removed      # False or timestamp string
        self.subs = None            # list of subprofile IDs, or None
        self._full = None
        self._data = None

    def invalidate(self):
        self._full = None
        self._data = None

    def interest_names(self):
        if not self.interests:
            return []
        by_id = {i.id: i.name for i in self.db.interests}
        return [by_id[i] for i in self.interests if i in by_id]

    def _fields_json(self):
        return dumps(dict(zip(self.db.schema.names, self.values)))

    def full_json(self):
        s = self._full
        if s is None:
            s = '{"ID":"%d","fields":%s,"interests":%s,"database":"%d","secret":%s,' \
                '"created":"%s","modified":"%s","removed":%s}' % (
                    self.id, self._fields_json(), dumps(self.interest_names()), self.db.id,
                    dumps(self.secret), self.created, self.modified,
                    dumps(self.removed))
            self._full = s
        return s

    def data_json(self):
        s = self._data
        if s is None:
            s = '{"ID":"%d","fields":%s,"interests":%s,"modified":"%s"}' % (
                self.id, self._fields_json(), dumps(self.interest_names()), self.modified)
            self._data = s
        return s

    def to_api(self):
        return json.loads(self.full_json())

    def fields_api(self):
        return dict(zip(self.db.schema.names, self.values))

    def to_state(self):
        return {'ID': str(self.id), 'database': str(self.db.id), 'fields': self.fields_api(),
                'interests': self.interest_names(), 'secret': self.secret,
                'created': self.created, 'modified': self.modified, 'removed': self.removed}


class Subprofile:
    __slots__ = ('id', 'coll', 'profile', 'values', 'secret', 'created', 'modified',
                 'removed', '_full', '_data')

    def __init__(self, sid, coll, profile, values, secret, created, modified, removed=False):
        self.id = sid
        self.coll = coll            # Collection object
        self.profile = profile      # profile ID (int)
        self.values = values
        self.secret = secret
        self.created = created
        self.modified = modified
        self.removed = removed
        self._full = None
        self._data = None

    def invalidate(self):
        self._full = None
        self._data = None

    def _fields_json(self):
        return dumps(dict(zip(self.coll.schema.names, self.values)))

    def full_json(self):
        s = self._full
        if s is None:
            s = '{"ID":"%d","secret":%s,"fields":%s,"profile":"%d","collection":"%d",' \
                '"created":"%s","modified":"%s","removed":%s}' % (
                    self.id, dumps(self.secret), self._fields_json(), self.profile,
                    self.coll.id, self.created, self.modified, dumps(self.removed))
            self._full = s
        return s

    def data_json(self):
        s = self._data
        if s is None:
            s = '{"ID":"%d","fields":%s,"profile":"%d","collection":"%d","modified":"%s"}' % (
                self.id, self._fields_json(), self.profile, self.coll.id, self.modified)
            self._data = s
        return s

    def to_api(self):
        return json.loads(self.full_json())

    def fields_api(self):
        return dict(zip(self.coll.schema.names, self.values))

    def to_state(self):
        return {'ID': str(self.id), 'collection': str(self.coll.id),
                'profile': str(self.profile), 'fields': self.fields_api(),
                'secret': self.secret, 'created': self.created, 'modified': self.modified,
                'removed': self.removed}


def random_secret():
    return os.urandom(14).hex()


def fixed_secret(kind, eid):
    """Deterministic 28-hex secret for seeded data."""
    return hashlib.sha1(('%s-%d' % (kind, eid)).encode()).hexdigest()[:28]


class Store:
    """All state. Not thread-safe by itself: the server holds a lock."""

    def __init__(self):
        self.identity = {'id': '1', 'name': 'Emulator',
                         'description': 'Copernica REST API v2 emulator for copernica_fdw tests',
                         'company': 'copernica_fdw'}
        self.databases = {}         # id -> Database (dict keeps ID order if added in order)
        self.collections = {}       # id -> Collection
        self.views = {}             # id -> View
        self.miniviews = {}         # id -> Miniview
        self.profiles = {}          # id -> Profile (global ID space)
        self.subprofiles = {}       # id -> Subprofile (global ID space)
        self.publisher_emailings = []
        self.ms_emailings = []
        self.mailings = None        # mailings.Mailings: destinations and events
        self.mailing_scale = False
        self.next_profile_id = 1
        self.next_subprofile_id = 1
        self.next_database_id = 1
        self.next_collection_id = 1
        self.next_field_id = 1
        self.next_interest_id = 1
        self.next_view_id = 1
        # other clients of the account, whose new entities take IDs from
        # the same counters: (every, skip) or None, see set_id_gaps
        self.id_gaps = None
        self.id_gap_made = {}
        self.id_gaps_into = None    # Database the skipped profile IDs go to

    # -- structure ---------------------------------------------------------

    def add_database(self, db):
        self.databases[db.id] = db
        self.next_database_id = max(self.next_database_id, db.id + 1)
        for f in db.schema.fields:
            self.next_field_id = max(self.next_field_id, f.id + 1)
        for i in db.interests:
            self.next_interest_id = max(self.next_interest_id, i.id + 1)
        return db

    def add_interest(self, db, interest):
        db.interests.append(interest)
        self.next_interest_id = max(self.next_interest_id, interest.id + 1)

    def add_collection(self, coll):
        self.collections[coll.id] = coll
        self.databases[coll.database].collections.append(coll)
        self.next_collection_id = max(self.next_collection_id, coll.id + 1)
        for f in coll.schema.fields:
            self.next_field_id = max(self.next_field_id, f.id + 1)
        return coll

    def add_view(self, view):
        """A database's own view, or (parent set, added before) a nested one."""
        self.views[view.id] = view
        if view.parent is None:
            self.databases[view.database].views.append(view)
        else:
            self.views[view.parent].children.append(view)
        self.next_view_id = max(self.next_view_id, view.id + 1)
        return view

    def add_miniview(self, mv):
        self.miniviews[mv.id] = mv
        if mv.parent is None:
            self.collections[mv.collection].miniviews.append(mv)
        else:
            self.miniviews[mv.parent].children.append(mv)
        return mv

    def selection_rules(self, sel, table):
        """A view's or miniview's rules and its ancestors' (table: self.views
        or self.miniviews); the members match them all."""
        rules = []
        seen = set()
        while sel is not None and sel.id not in seen:
            seen.add(sel.id)
            rules = list(sel.rules) + rules
            sel = table.get(sel.parent) if sel.parent is not None else None
        return rules

    def find_database(self, key):
        """By positive integer ID, or by name (case-insensitive)."""
        if key.isdigit() and not key.startswith('0'):
            return self.databases.get(int(key))
        if key.isdigit():
            return None
        low = key.lower()
        for db in self.databases.values():
            if db.name.lower() == low:
                return db
        return None

    def find_collection_in(self, db, key):
        if key.isdigit():
            c = self.collections.get(int(key)) if not key.startswith('0') else None
            return c if c is not None and c.database == db.id else None
        low = key.lower()
        for c in db.collections:
            if c.name.lower() == low:
                return c
        return None

    # -- entities ------------------------------------------------------------

    def insert_profile(self, p):
        """Add a profile object (its ID already set)."""
        self.profiles[p.id] = p
        for idx, ix in p.db.eq_index.items():
            ix.setdefault(p.values[idx].lower(), set()).add(p.id)
        if p.removed is False:
            live = p.db.live_ids
            if not live or live[-1] < p.id:
                live.append(p.id)
            else:
                insort(live, p.id)
        if p.id >= self.next_profile_id:
            self.next_profile_id = p.id + 1

    def insert_subprofile(self, s):
        self.subprofiles[s.id] = s
        if s.removed is False:
            live = s.coll.live_ids
            if not live or live[-1] < s.id:
                live.append(s.id)
            else:
                insort(live, s.id)
        owner = self.profiles.get(s.profile)
        if owner is not None:
            if owner.subs is None:
                owner.subs = [s.id]
            elif owner.subs[-1] < s.id:
                owner.subs.append(s.id)
            else:
                insort(owner.subs, s.id)
        if s.id >= self.next_subprofile_id:
            self.next_subprofile_id = s.id + 1

    def create_profile(self, db, field_input, interest_ids, now):
        values = list(db.schema.defaults)
        for i, v in field_input.items():
            values[i] = v
        p = Profile(self.next_profile_id, db, values, tuple(sorted(interest_ids)),
                    random_secret(), now, now)
        self.insert_profile(p)
        self._other_clients('next_profile_id', now)
        return p

    def create_subprofile(self, coll, profile_id, field_input, now):
        values = list(coll.schema.defaults)
        for i, v in field_input.items():
            values[i] = v
        s = Subprofile(self.next_subprofile_id, coll, profile_id, values, random_secret(),
                       now, now)
        self.insert_subprofile(s)
        self._other_clients('next_subprofile_id', now)
        return s

    def set_id_gaps(self, every, skip, into=None):
        """From now on, after every `every`-th profile (subprofile) the API
        creates, the next `skip` profile (subprofile) IDs go to other
        clients: Copernica hands out IDs across the account, so one
        client's new IDs have gaps.  With `into` (a database's ID or name)
        the skipped profile IDs are profiles other clients created there,
        with the database's default values.  0 for every or skip turns it
        off."""
        if every < 0 or skip < 0:
            raise ValueError('every and skip must be 0 or more')
        db = None
        if into is not None:
            db = self.find_database(str(into))
            if db is None:
                raise ValueError('no such database')
        self.id_gaps = (every, skip) if every > 0 and skip > 0 else None
        self.id_gaps_into = db
        self.id_gap_made = {}

    def _other_clients(self, counter, now):
        if self.id_gaps is None:
            return
        every, skip = self.id_gaps
        made = self.id_gap_made.get(counter, 0) + 1
        if made >= every:
            made = 0
            for _i in range(skip):
                db = self.id_gaps_into
                if counter == 'next_profile_id' and db is not None:
                    self.insert_profile(Profile(self.next_profile_id, db,
                                                list(db.schema.defaults), (),
                                                random_secret(), now, now))
                else:
                    setattr(self, counter, getattr(self, counter) + 1)
        self.id_gap_made[counter] = made

    def eq_candidates(self, db, idx, folded):
        """IDs of profiles whose field idx may equal folded (lower-cased):
        a superset, to be checked by the caller."""
        ix = db.eq_index.get(idx)
        if ix is None:
            ix = {}
            for pid in db.live_ids:
                ix.setdefault(self.profiles[pid].values[idx].lower(), set()).add(pid)
            db.eq_index[idx] = ix
        return ix.get(folded, ())

    def reindex_value(self, p, idx):
        """A profile's field idx changed: keep the equality index complete."""
        ix = p.db.eq_index.get(idx)
        if ix is not None:
            ix.setdefault(p.values[idx].lower(), set()).add(p.id)

    @staticmethod
    def _unlive(lst, eid):
        i = bisect_left(lst, eid)
        if i < len(lst) and lst[i] == eid:
            del lst[i]

    def renumber_profile(self, old, new):
        """Give profile `old` the ID `new` (any integer, even one no real
        Copernica would hand out), keeping its subprofiles with it."""
        p = self.profiles.get(old)
        if p is None:
            raise ValueError('no profile %d' % old)
        if new in self.profiles:
            raise ValueError('profile %d exists' % new)
        next_id = self.next_profile_id
        del self.profiles[old]
        if p.removed is False:
            self._unlive(p.db.live_ids, old)
        p.id = new
        p.invalidate()
        self.insert_profile(p)
        # an ID outside what Copernica would give does not move the counter
        self.next_profile_id = max(next_id, new + 1) if 0 < new < 2 ** 31 else next_id
        for sid in p.subs or ():
            sub = self.subprofiles.get(sid)
            if sub is not None:
                sub.profile = new
                sub.invalidate()
        return p

    def remove_subprofile(self, s, now):
        s.removed = now
        s.values = [''] * len(s.values)
        s.invalidate()
        self._unlive(s.coll.live_ids, s.id)

    def remove_profile(self, p, now):
        p.removed = now
        p.values = [''] * len(p.values)
        p.invalidate()
        self._unlive(p.db.live_ids, p.id)
        for sid in p.subs or ():
            s = self.subprofiles.get(sid)
            if s is not None and s.removed is False:
                self.remove_subprofile(s, now)

    def count_profiles(self, db_id=1):
        db = self.databases.get(db_id)
        return len(db.live_ids) if db else 0

    # -- dump / load -----------------------------------------------------------

    @staticmethod
    def _nested(selections):
        """Selections and their nested ones, each parent before its children."""
        out = []
        todo = list(selections)
        while todo:
            sel = todo.pop(0)
            out.append(sel)
            todo.extend(sel.children)
        return out

    def dump(self):
        dbs = []
        for db in self.databases.values():
            dbs.append({
                'ID': str(db.id), 'name': db.name, 'description': db.description,
                'archived': db.archived, 'created': db.created,
                'fields': [f.to_state() for f in db.schema.fields],
                'interests': [i.to_api() for i in db.interests],
                'collections': [{'ID': str(c.id), 'name': c.name,
                                 'fields': [f.to_state() for f in c.schema.fields],
                                 'miniviews': [m.to_state() for m in self._nested(c.miniviews)]}
                                for c in db.collections],
                'views': [v.to_state() for v in self._nested(db.views)],
                'unsubscribe': db.unsubscribe,
                'collection_unsubscribe': {str(c.id): c.unsubscribe for c in db.collections},
            })
        return {
            'format': 'copernica-emulator-state-1',
            'identity': self.identity,
            'counters': {'profile': self.next_profile_id, 'subprofile': self.next_subprofile_id,
                         'database': self.next_database_id,
                         'collection': self.next_collection_id,
                         'field': self.next_field_id, 'interest': self.next_interest_id,
                         'view': self.next_view_id},
            'databases': dbs,
            'profiles': [self.profiles[k].to_state() for k in sorted(self.profiles)],
            'subprofiles': [self.subprofiles[k].to_state() for k in sorted(self.subprofiles)],
            'publisher_emailings': self.publisher_emailings,
            'ms_emailings': self.ms_emailings,
            'mailing_scale': self.mailing_scale,
        }

    def dump_json(self):
        return dumps(self.dump())

    @classmethod
    def load(cls, state):
        """Build a Store from a dump (see dump()). Raises ValueError if bad."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return cls._load(state)
        finally:
            if enabled:
                gc.enable()

    @classmethod
    def _load(cls, state):
        if not isinstance(state, dict):
            raise ValueError('state must be a JSON object')
        st = cls()
        if isinstance(state.get('identity'), dict):
            st.identity = state['identity']
        for d in state.get('databases', []):
            db = Database(d['ID'], d['name'], d.get('description', ''), d.get('archived', False),
                          d.get('created', ''), [Field.from_state(f) for f in d.get('fields', [])])
            st.add_database(db)
            for i in d.get('interests', []):
                st.add_interest(db, Interest(i['ID'], i['name'], i.get('group', '')))
            if isinstance(d.get('unsubscribe'), dict):
                db.unsubscribe = d['unsubscribe']
            cu = d.get('collection_unsubscribe') or {}
            for c in d.get('collections', []):
                coll = Collection(c['ID'], c['name'], db.id,
                                  [Field.from_state(f) for f in c.get('fields', [])])
                if isinstance(cu.get(str(coll.id)), dict):
                    coll.unsubscribe = cu[str(coll.id)]
                st.add_collection(coll)
                for m in c.get('miniviews', []):
                    st.add_miniview(Miniview(m['ID'], m['name'], coll.id, m.get('rules', []),
                                             m.get('description', ''),
                                             m.get('last-built', ''), m.get('parent')))
            for v in d.get('views', []):
                st.add_view(View(v['ID'], v['name'], db.id, v.get('rules', []),
                                 v.get('description', ''), v.get('last-built', ''),
                                 v.get('parent')))
        profs = sorted(state.get('profiles', []), key=lambda p: int(p['ID']))
        for p in profs:
            db = st.databases[int(p['database'])]
            values = list(db.schema.defaults)
            for name, value in (p.get('fields') or {}).items():
                i = db.schema.index_of(name)
                if i is not None:
                    values[i] = '' if value is None else str(value)
            ids = []
            for name in p.get('interests', []):
                it = db.interest_by_name(name)
                if it is not None:
                    ids.append(it.id)
            removed = p.get('removed', False) or False
            st.insert_profile(Profile(int(p['ID']), db, values, tuple(sorted(set(ids))),
                                      p.get('secret') or fixed_secret('profile', int(p['ID'])),
                                      p.get('created', ''), p.get('modified', ''), removed))
        subs = sorted(state.get('subprofiles', []), key=lambda s: int(s['ID']))
        for s in subs:
            coll = st.collections[int(s['collection'])]
            values = list(coll.schema.defaults)
            for name, value in (s.get('fields') or {}).items():
                i = coll.schema.index_of(name)
                if i is not None:
                    values[i] = '' if value is None else str(value)
            removed = s.get('removed', False) or False
            st.insert_subprofile(Subprofile(int(s['ID']), coll, int(s['profile']), values,
                                            s.get('secret') or fixed_secret('sub', int(s['ID'])),
                                            s.get('created', ''), s.get('modified', ''),
                                            removed))
        st.publisher_emailings = list(state.get('publisher_emailings', []))
        st.ms_emailings = list(state.get('ms_emailings', []))
        import mailings     # here: mailings imports this module
        mailings.attach(st, bool(state.get('mailing_scale', False)))
        counters = state.get('counters') or {}
        for key, attr in (('profile', 'next_profile_id'), ('subprofile', 'next_subprofile_id'),
                          ('database', 'next_database_id'),
                          ('collection', 'next_collection_id'), ('field', 'next_field_id'),
                          ('interest', 'next_interest_id'), ('view', 'next_view_id')):
            if key in counters:
                setattr(st, attr, max(getattr(st, attr), int(counters[key])))
        return st
