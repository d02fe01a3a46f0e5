/*-------------------------------------------------------------------------
 *
 * identity.c
 *		  copernica_identity(server): check a server's credentials by asking
 *		  Copernica whose they are (GET identity).
 *
 * The request goes out exactly as a scan's would: with the current user's
 * user mapping token, else the server's.  Calling it needs USAGE on the
 * server, as a scan of one of its tables would.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "copernica_fdw.h"

/* The keys of GET identity, in the order of the function's columns. */
static const CopernicaValuePath identity_paths[] = {
	{COPERNICA_SRC_PROPERTY, "id"},
	{COPERNICA_SRC_PROPERTY, "name"},
	{COPERNICA_SRC_PROPERTY, "description"},
	{COPERNICA_SRC_PROPERTY, "company"}
};

PG_FUNCTION_INFO_V1(copernica_identity);

Datum
copernica_identity(PG_FUNCTION_ARGS)
{
	Name		servername = PG_GETARG_NAME(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ForeignServer *server;
	AclResult	aclresult;
	Oid			userid = GetUserId();
	CopernicaOptions *opts;
	CopernicaConnection *conn;
	CopernicaRequest req = {0};
	CopernicaResponse resp = {0};
	CopernicaPage *page;
	CopernicaColumnType idtype;
	Datum		values[lengthof(identity_paths)];
	bool		nulls[lengthof(identity_paths)];
	int			i;

	server = GetForeignServerByName(NameStr(*servername), false);
	aclresult = copernica_foreign_server_aclcheck(server->serverid, userid, ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);

	/* another wrapper's server has other options: none of ours to use */
	if (!copernica_wrapper_is_ours(server->fdwid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" does not use foreign-data wrapper copernica_fdw",
						server->servername)));

	opts = copernica_get_server_options(server->serverid, userid);
	conn = copernica_get_connection(server->serverid, userid, opts);

	req.method = "GET";
	req.path = "identity";
	copernica_perform(conn, &req, &resp, NULL);
	page = copernica_parse_page(resp.body.data, resp.body.len, false,
								identity_paths, lengthof(identity_paths));
	if (page->nitems != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("unexpected answer from Copernica"),
				 errdetail("GET identity did not answer with one object.")));

	copernica_column_type_init(&idtype, INT8OID, -1);
	values[0] = copernica_item_value_to_datum(&idtype, page->values[0],
											  page->is_json[0], opts->timezone,
											  &nulls[0]);
	for (i = 1; i < lengthof(identity_paths); i++)
	{
		nulls[i] = page->values[i] == NULL;
		values[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum(page->values[i]);
	}

	InitMaterializedSRF(fcinfo, 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
