/*-------------------------------------------------------------------------
 *
 * import.c
 *		  IMPORT FOREIGN SCHEMA: foreign tables for Copernica's databases and
 *		  collections, typed from their field definitions; and whether a
 *		  wrapper is this one (copernica_wrapper_is_ours).
 *
 * The remote schema is a database, named (or numbered) as Copernica knows
 * it.  It gives one table for its profiles, named after the database, and
 * one per collection, named <database>_<collection>, then one per view of
 * the database, <database>_view_<view>, and one per miniview of a
 * collection, <database>_<collection>_miniview_<miniview>; views of a view
 * and miniviews of a miniview follow, named after their parent's table:
 * <database>_view_<view>_view_<view>, and so on.  The remote schema
 * "_all" gives those tables for every database, plus the read-only listing
 * databases and the mailing tables; "_mailings" gives the mailing tables
 * alone (see mailing.c).
 *
 * Every generated name is a plain lower-case identifier: letters a-z,
 * digits and underscores, not starting with a digit, at most 63 bytes.  Two
 * names that come out the same are told apart by _2, _3, ... in a fixed
 * order (fields by field ID, tables by database ID and then collection ID),
 * so importing the same structure twice gives the same names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "copernica_fdw.h"

/* The remote schema that imports every database and the listings. */
#define IMPORT_ALL			"_all"

/* The remote schema that imports the mailing tables (mailing_resources.c) alone. */
#define IMPORT_MAILINGS		"_mailings"

/*
 * Views of views are followed this deep (a database's own views are level
 * 1); a selection nested deeper is an error, as are more selections in all.
 * They bound what a hostile answer can make an import do.
 */
#define IMPORT_MAX_DEPTH		10
#define IMPORT_MAX_SELECTIONS	10000


/* One database, collection or field: the parts of it import needs. */
typedef struct ImportItem
{
	char	   *id;
	int64		numeric_id;		/* for sorting; 0 when not numeric */
	char	   *name;
	char	   *type;			/* fields only */
} ImportItem;

/* A table to create, once its name is known. */
typedef struct ImportTable
{
	char	   *name;			/* the local table name */
	ImportItem *database;
	ImportItem *collection;		/* NULL for a profile table */
	ImportItem *view;			/* a view's profiles (collection NULL) */
	ImportItem *miniview;		/* a miniview's subprofiles */
	int			depth;			/* of a selection: 1 for a database's or
								 * collection's own, 2 for theirs, ... */
} ImportTable;

/* A column: its name, type, and the field it shows when the name differs. */
typedef struct ImportColumn
{
	const char *name;
	const char *type;
	const char *field;			/* NULL: the name says it all */
} ImportColumn;

/*
 * Names the FDW reads as entity properties (copernica_resource_property)
 * or treats specially ("fields").  A field whose name comes out as one of
 * these gets a suffixed column and an explicit 'field' option.
 */
static const char *const profile_reserved[] = {
	"id", "secret", "created", "modified", "interests", "database", "removed",
	"fields", NULL
};
static const char *const subprofile_reserved[] = {
	"id", "profile", "secret", "created", "modified", "collection", "removed",
	"fields", NULL
};

/* The listings that "_all" adds, with their columns. */
typedef struct ImportListing
{
	const char *name;			/* table name and 'resource' option */
	const char *columns;		/* already quoted where needed */
} ImportListing;

static const ImportListing import_listings[] = {
	{"databases",
	 "id bigint, name text, description text, archived boolean, created timestamp"},
	{NULL}
};

static const CopernicaValuePath id_name_paths[] = {
	{COPERNICA_SRC_PROPERTY, "ID"},
	{COPERNICA_SRC_PROPERTY, "name"}
};

static const CopernicaValuePath field_paths[] = {
	{COPERNICA_SRC_PROPERTY, "ID"},
	{COPERNICA_SRC_PROPERTY, "name"},
	{COPERNICA_SRC_PROPERTY, "type"}
};

/*
 * Every item of a structure listing, all pages of it, in the order
 * Copernica gives them.  Items without an ID or a name are skipped.
 */
static List *
fetch_items(CopernicaConnection *conn, const char *path,
			const CopernicaValuePath *paths, int npaths)
{
	List	   *items = NIL;
	ListCell   *lc;

	foreach(lc, copernica_fetch_listing(conn, path, paths, npaths, NULL))
	{
		char	  **v = lfirst(lc);
		ImportItem *item;

		if (v[0] == NULL || v[1] == NULL)
			continue;
		item = palloc0(sizeof(ImportItem));
		/* it goes into paths and options: a plain integer only */
		item->id = copernica_checked_id(v[0]);
		item->name = v[1];
		item->type = npaths > 2 ? v[2] : NULL;
		if (!copernica_parse_id(item->id, &item->numeric_id))
			item->numeric_id = 0;
		items = lappend(items, item);
	}
	return items;
}

static int
item_cmp(const ListCell *a, const ListCell *b)
{
	const ImportItem *x = lfirst(a);
	const ImportItem *y = lfirst(b);

	if (x->numeric_id != y->numeric_id)
		return x->numeric_id < y->numeric_id ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Sorted by ID: the order that decides who gets a suffix. */
static List *
fetch_sorted(CopernicaConnection *conn, const char *path,
			 const CopernicaValuePath *paths, int npaths)
{
	List	   *items = fetch_items(conn, path, paths, npaths);

	list_sort(items, item_cmp);
	return items;
}

/*
 * A database's or collection's fields, asked once per import: a view's or
 * miniview's table has its owner's (*cache: path, fields, path, ...).
 */
static List *
fetch_fields(CopernicaConnection *conn, const char *path, List **cache)
{
	List	   *fields;
	int			i;

	for (i = 0; i + 1 < list_length(*cache); i += 2)
		if (strcmp((const char *) list_nth(*cache, i), path) == 0)
			return (List *) list_nth(*cache, i + 1);
	fields = fetch_sorted(conn, path, field_paths, lengthof(field_paths));
	*cache = lappend(lappend(*cache, pstrdup(path)), fields);
	return fields;
}

/*
 * A Copernica name as an identifier: ASCII letters lower-cased, every other
 * character but digits and '_' (a multibyte one counting once) replaced by
 * '_', '_' in front of a leading digit, and at most NAMEDATALEN - 1 bytes.
 */
static char *
make_identifier(const char *name)
{
	StringInfoData buf;
	const char *p = name;

	initStringInfo(&buf);
	if (*p >= '0' && *p <= '9')
		appendStringInfoChar(&buf, '_');
	while (*p)
	{
		unsigned char c = (unsigned char) *p;
		int			len = pg_mblen(p);
		int			i;

		if (c >= 'A' && c <= 'Z')
			appendStringInfoChar(&buf, (char) (c - 'A' + 'a'));
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfoChar(&buf, '_');

		/* never step past the end of a cut-off multibyte character */
		for (i = 0; i < len && *p; i++)
			p++;
	}
	if (buf.len == 0)
		appendStringInfoChar(&buf, '_');
	if (buf.len > NAMEDATALEN - 1)
		buf.data[NAMEDATALEN - 1] = '\0';
	return buf.data;
}

static bool
name_taken(const char *name, List *used)
{
	ListCell   *lc;

	foreach(lc, used)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * base itself if nobody has it yet, else base_2, base_3, ...: the first one
 * free, cut so that it still fits in NAMEDATALEN - 1 bytes.  The name is
 * added to *used.
 */
static char *
claim_name(const char *base, List **used)
{
	char	   *name = pstrdup(base);
	int			n;

	for (n = 2; name_taken(name, *used); n++)
	{
		char		suffix[16];
		int			keep;

		snprintf(suffix, sizeof(suffix), "_%d", n);
		keep = Min((int) strlen(base), NAMEDATALEN - 1 - (int) strlen(suffix));
		name = psprintf("%.*s%s", keep, base, suffix);
	}
	*used = lappend(*used, name);
	return name;
}

/* The column type for a Copernica field type; unknown types read as text. */
static const char *
column_type(const char *copernica_type)
{
	static const struct
	{
		const char *copernica;
		const char *pg;
	}			map[] = {
		{"integer", "bigint"},
		{"foreign_key", "bigint"},
		{"float", "double precision"},
		{"date", "date"},
		{"empty_date", "date"},
		{"datetime", "timestamp"},
		{"empty_datetime", "timestamp"},
		{NULL, NULL}
	};
	int			i;

	if (copernica_type == NULL)
		return "text";
	for (i = 0; map[i].copernica; i++)
		if (pg_strcasecmp(map[i].copernica, copernica_type) == 0)
			return map[i].pg;
	/* text, email, phone, phone_fax, phone_gsm, select, big, and the unknown */
	return "text";
}

static ImportColumn *
make_column(const char *name, const char *type, const char *field)
{
	ImportColumn *col = palloc(sizeof(ImportColumn));

	col->name = name;
	col->type = type;
	col->field = field;
	return col;
}

/*
 * The columns of a profile or subprofile table: the ID (and the owning
 * profile), then one column per field in field-ID order, then the other
 * properties.  Property columns keep their names; fields make way.
 */
static List *
table_columns(List *fields, bool subprofile)
{
	const char *const *reserved = subprofile ? subprofile_reserved : profile_reserved;
	const char *const *r;
	List	   *used = NIL;
	List	   *columns = NIL;
	ListCell   *lc;

	for (r = reserved; *r; r++)
		used = lappend(used, (char *) *r);

	columns = lappend(columns, make_column("id", "bigint", NULL));
	if (subprofile)
		columns = lappend(columns, make_column("profile", "bigint", NULL));

	foreach(lc, fields)
	{
		ImportItem *f = lfirst(lc);
		char	   *name = claim_name(make_identifier(f->name), &used);

		columns = lappend(columns,
						  make_column(name, column_type(f->type),
									  strcmp(name, f->name) == 0 ? NULL : f->name));
	}

	columns = lappend(columns, make_column("secret", "text", NULL));
	columns = lappend(columns, make_column("created", "timestamp", NULL));
	columns = lappend(columns, make_column("modified", "timestamp", NULL));
	if (!subprofile)
		columns = lappend(columns, make_column("interests", "text[]", NULL));
	return columns;
}

static char *
create_table_sql(const char *table, List *columns, const char *server,
				 const char *options)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n", quote_identifier(table));
	foreach(lc, columns)
	{
		ImportColumn *col = lfirst(lc);

		appendStringInfo(&buf, "  %s %s", quote_identifier(col->name), col->type);
		if (col->field)
			appendStringInfo(&buf, " OPTIONS (field %s)",
							 quote_literal_cstr(col->field));
		appendStringInfoString(&buf, lnext(columns, lc) ? ",\n" : "\n");
	}
	appendStringInfo(&buf, ") SERVER %s\nOPTIONS (%s)",
					 quote_identifier(server), options);
	return buf.data;
}

/* The database the remote schema names: by name (exactly, then ignoring case) or ID. */
static ImportItem *
find_database(List *databases, const char *remote)
{
	ListCell   *lc;

	foreach(lc, databases)
	{
		ImportItem *db = lfirst(lc);

		if (strcmp(db->name, remote) == 0)
			return db;
	}
	foreach(lc, databases)
	{
		ImportItem *db = lfirst(lc);

		if (pg_strcasecmp(db->name, remote) == 0 || strcmp(db->id, remote) == 0)
			return db;
	}
	return NULL;
}

static void
report_unknown_database(const char *remote, List *databases)
{
	CopernicaNameList names;
	ListCell   *lc;
	char	   *list;

	copernica_name_list_init(&names);
	foreach(lc, databases)
	{
		ImportItem *db = lfirst(lc);

		copernica_name_list_add(&names, db->name);
	}
	list = copernica_name_list_text(&names);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
			 errmsg("Copernica has no database \"%s\"", remote),
			 list ? errdetail("The databases are: %s.", list)
			 : errdetail("There are no databases."),
			 errhint("Name a database, or import every database with IMPORT FOREIGN SCHEMA \"%s\".",
					 IMPORT_ALL)));
}

List *
copernicaImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	Oid			userid = GetUserId();
	CopernicaOptions *opts;
	CopernicaConnection *conn;
	bool		all = strcmp(stmt->remote_schema, IMPORT_ALL) == 0;
	List	   *databases;
	List	   *chosen;
	List	   *tables = NIL;
	List	   *used = NIL;
	List	   *commands = NIL;
	List	   *field_cache = NIL;
	List	   *seen_views = NIL;
	List	   *seen_miniviews = NIL;
	ListCell   *lc;
	int			i;

	if (stmt->options != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\"",
						((DefElem *) linitial(stmt->options))->defname),
				 errhint("IMPORT FOREIGN SCHEMA of copernica_fdw takes no options.")));

	/* the mailing tables' columns are known without asking */
	if (strcmp(stmt->remote_schema, IMPORT_MAILINGS) == 0)
		return copernica_mailing_import(stmt, server->servername, &used);

	opts = copernica_get_server_options(serverOid, userid);
	conn = copernica_get_connection(serverOid, userid, opts);

	databases = fetch_sorted(conn, "databases", id_name_paths,
							 lengthof(id_name_paths));
	if (all)
		chosen = databases;
	else
	{
		ImportItem *db = find_database(databases, stmt->remote_schema);

		if (db == NULL)
			report_unknown_database(stmt->remote_schema, databases);
		chosen = list_make1(db);
	}

	/* the listings first: their names are fixed */
	if (all)
	{
		const ImportListing *l;

		for (l = import_listings; l->name; l++)
		{
			used = lappend(used, (char *) l->name);
			if (!IsImportableForeignTable(l->name, stmt))
				continue;
			commands = lappend(commands,
							   psprintf("CREATE FOREIGN TABLE %s (%s) SERVER %s\nOPTIONS (resource %s)",
										quote_identifier(l->name), l->columns,
										quote_identifier(server->servername),
										quote_literal_cstr(l->name)));
		}
		commands = list_concat(commands,
							   copernica_mailing_import(stmt, server->servername, &used));
	}

	/* every table's name, before any is skipped, so that names stay put */
	foreach(lc, chosen)
	{
		ImportItem *db = lfirst(lc);
		char	   *dbname = make_identifier(db->name);
		ImportTable *t;
		List	   *collections;
		ListCell   *lc2;

		t = palloc0(sizeof(ImportTable));
		t->name = claim_name(dbname, &used);
		t->database = db;
		tables = lappend(tables, t);

		collections = fetch_sorted(conn,
								   psprintf("database/%s/collections",
											copernica_escape_path_segment(db->id)),
								   id_name_paths, lengthof(id_name_paths));
		foreach(lc2, collections)
		{
			ImportItem *coll = lfirst(lc2);
			char	   *base = psprintf("%s_%s", dbname, make_identifier(coll->name));

			if (strlen(base) > NAMEDATALEN - 1)
				base[NAMEDATALEN - 1] = '\0';
			t = palloc0(sizeof(ImportTable));
			t->name = claim_name(base, &used);
			t->database = db;
			t->collection = coll;
			tables = lappend(tables, t);
		}
	}

	/*
	 * Then the selections: a database's views (<database>_view_<view>) and
	 * each collection's miniviews (<database>_<collection>_miniview_<name>),
	 * named after every database and collection so that those names stay;
	 * then, level by level, the views of each view and the miniviews of each
	 * miniview (view/$id/views, miniview/$id/views), named after their
	 * parent's table.  A selection met before (a loop in a hostile answer,
	 * or one listed under its database too) keeps its first table.
	 */
	for (i = 0; i < list_length(tables); i++)
	{
		ImportTable *owner = list_nth(tables, i);
		bool		mini = owner->collection != NULL;
		const char *path;
		List	   *items;
		ListCell   *lc2;

		if (owner->view)
			path = psprintf("view/%s/views", copernica_escape_path_segment(owner->view->id));
		else if (owner->miniview)
			path = psprintf("miniview/%s/views",
							copernica_escape_path_segment(owner->miniview->id));
		else
			path = psprintf(mini ? "collection/%s/miniviews" : "database/%s/views",
							copernica_escape_path_segment(mini ? owner->collection->id :
														  owner->database->id));
		items = fetch_sorted(conn, path, id_name_paths, lengthof(id_name_paths));
		foreach(lc2, items)
		{
			ImportItem *item = lfirst(lc2);
			List	  **seen = mini ? &seen_miniviews : &seen_views;
			char	   *base;
			ImportTable *t;

			if (name_taken(item->id, *seen))
				continue;
			if (owner->depth >= IMPORT_MAX_DEPTH)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("Copernica's %s are nested more than %d levels deep",
								mini ? "miniviews" : "views", IMPORT_MAX_DEPTH),
						 errdetail("%s %s, listed by %s, would be level %d.",
								   mini ? "Miniview" : "View", item->id, path,
								   owner->depth + 1),
						 errhint("Create the tables of the selections you need with CREATE FOREIGN TABLE and the option \"%s\".",
								 mini ? "miniview" : "view")));
			if (list_length(seen_views) + list_length(seen_miniviews) >= IMPORT_MAX_SELECTIONS)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("Copernica has more than %d views and miniviews to import",
								IMPORT_MAX_SELECTIONS),
						 errhint("Create the tables of the selections you need with CREATE FOREIGN TABLE and the option \"view\" or \"miniview\".")));
			*seen = lappend(*seen, item->id);
			base = psprintf("%s_%s_%s", owner->name, mini ? "miniview" : "view",
							make_identifier(item->name));
			if (strlen(base) > NAMEDATALEN - 1)
				base[NAMEDATALEN - 1] = '\0';
			t = palloc0(sizeof(ImportTable));
			t->name = claim_name(base, &used);
			t->database = owner->database;
			t->collection = owner->collection;
			if (mini)
				t->miniview = item;
			else
				t->view = item;
			t->depth = owner->depth + 1;
			tables = lappend(tables, t);
		}
	}

	/* fields only for the tables LIMIT TO / EXCEPT let through */
	foreach(lc, tables)
	{
		ImportTable *t = lfirst(lc);
		List	   *fields;
		char	   *options;

		if (!IsImportableForeignTable(t->name, stmt))
			continue;

		if (t->collection == NULL)
		{
			fields = fetch_fields(conn,
								  psprintf("database/%s/fields",
										   copernica_escape_path_segment(t->database->id)),
								  &field_cache);
			options = psprintf("database %s",
							   quote_literal_cstr(t->database->name));
			if (t->view)
				options = psprintf("resource 'view_profiles', %s, view %s", options,
								   quote_literal_cstr(t->view->id));
		}
		else
		{
			fields = fetch_fields(conn,
								  psprintf("collection/%s/fields",
										   copernica_escape_path_segment(t->collection->id)),
								  &field_cache);
			options = psprintf("database %s, collection %s",
							   quote_literal_cstr(t->database->name),
							   quote_literal_cstr(t->collection->id));
			if (t->miniview)
				options = psprintf("resource 'miniview_subprofiles', %s, miniview %s", options,
								   quote_literal_cstr(t->miniview->id));
		}
		commands = lappend(commands,
						   create_table_sql(t->name,
											table_columns(fields, t->collection != NULL),
											server->servername, options));
	}
	return commands;
}

/*
 * Whether a foreign-data wrapper is copernica_fdw (its handler gives our
 * IMPORT): the functions that take a table or a server refuse another
 * wrapper's, whose options mean something else.
 */
bool
copernica_wrapper_is_ours(Oid fdwid)
{
	ForeignDataWrapper *fdw = GetForeignDataWrapper(fdwid);

	return OidIsValid(fdw->fdwhandler) &&
		GetFdwRoutine(fdw->fdwhandler)->ImportForeignSchema ==
		copernicaImportForeignSchema;
}
