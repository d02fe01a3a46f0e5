/*-------------------------------------------------------------------------
 *
 * analyze.c
 *		  ANALYZE: one pass over the table, a reservoir sample of its rows.
 *
 * Copernica has no cheap random access to a table's rows (orderby=random
 * repeats rows across requests), so the sample is drawn from one full read,
 * the same paging a scan uses; nothing is fetched twice.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/vacuum.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"

#include "copernica_fdw.h"

static int
acquire_sample_rows(Relation rel, int elevel, HeapTuple *rows, int targrows,
					double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	CopernicaOptions *opts = copernica_get_options(relid, GetUserId());
	CopernicaResource *res = copernica_resolve_resource(opts);
	CopernicaConnection *conn;
	CopernicaStats stats = {0};
	CopernicaPagerSpec spec = {0};
	CopernicaPager *pager;
	CopernicaValuePath *paths;
	CopernicaColumnType *types;
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * tupdesc->natts);
	MemoryContext page_cxt;
	MemoryContext old;
	ReservoirStateData rstate;
	double		seen = 0;
	double		rowstoskip = -1;
	int			nsampled = 0;
	int			npaths = tupdesc->natts + 1;
	bool		dataonly = res->has_fields;
	int			i;

	paths = palloc0(sizeof(CopernicaValuePath) * npaths);
	types = palloc0(sizeof(CopernicaColumnType) * tupdesc->natts);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);

		if (attr->attisdropped)
		{
			/* a path that never matches: the column stays NULL */
			paths[i].source = COPERNICA_SRC_PROPERTY;
			paths[i].name = "";
			continue;
		}
		paths[i] = copernica_column_source(res, relid, attr);
		if (paths[i].source == COPERNICA_SRC_PROPERTY &&
			copernica_property_needs_full(paths[i].name))
			dataonly = false;
		copernica_column_type_init(&types[i], attr->atttypid, attr->atttypmod);
	}
	paths[tupdesc->natts].source = COPERNICA_SRC_PROPERTY;
	paths[tupdesc->natts].name = "ID";

	conn = copernica_get_connection(GetForeignTable(relid)->serverid,
									GetUserId(), opts);
	copernica_resource_bind(res, conn, opts, &stats);

	spec.path = res->list_path;
	spec.params = dataonly ? "&dataonly=true" : "";
	spec.order = (res->kind == COPERNICA_PROFILES ||
				  res->kind == COPERNICA_SUBPROFILES) ? "&orderby=id" : "";
	spec.page_size = opts->page_size;
	spec.max_concurrency = opts->max_concurrency;
	{
		const CopernicaMetadata *md = copernica_get_metadata(conn, res, opts,
															 GetForeignTable(relid)->serverid,
															 GetUserId());

		/* as planning passes it on: a total beyond int64 is not cast */
		spec.size_hint = (int64) Min(md->total, (double) PG_INT32_MAX);
		spec.min_id_hint = md->min_id;
		spec.max_id_hint = md->max_id;
	}
	spec.rows_hint = spec.size_hint;
	spec.by_id = spec.order[0] != '\0';
	pager = copernica_pager_begin(conn, &stats, &spec);

	page_cxt = AllocSetContextCreate(CurrentMemoryContext,
									 "copernica_fdw analyze page",
									 ALLOCSET_DEFAULT_SIZES);
	reservoir_init_selection_state(&rstate, targrows);

	for (;;)
	{
		CopernicaPage *page;
		int			item;

		copernica_vacuum_delay_point();
		MemoryContextReset(page_cxt);
		/* the scan's page loop, checks included; the ID is the last path */
		page = copernica_next_page(pager, res, paths, npaths, npaths - 1,
								   page_cxt);
		if (page == NULL)
			break;

		for (item = 0; item < page->nitems; item++)
		{
			char	  **v = page->values + (size_t) item * npaths;
			bool	   *isj = page->is_json + (size_t) item * npaths;
			int			slot;

			if (nsampled < targrows)
				slot = nsampled++;
			else
			{
				/* Vitter's algorithm: skip some rows, then replace one */
				if (rowstoskip < 0)
					rowstoskip = reservoir_get_next_S(&rstate, seen, targrows);
				if (rowstoskip > 0)
				{
					rowstoskip -= 1;
					seen += 1;
					continue;
				}
				rowstoskip -= 1;
				slot = (int) (targrows * sampler_random_fract(&rstate.randstate));
				heap_freetuple(rows[slot]);
			}
			seen += 1;

			old = MemoryContextSwitchTo(page_cxt);
			for (i = 0; i < tupdesc->natts; i++)
			{
				if (TupleDescAttr(tupdesc, i)->attisdropped)
				{
					nulls[i] = true;
					continue;
				}
				values[i] = copernica_item_value_to_datum(&types[i], v[i], isj[i],
														  opts->timezone, &nulls[i]);
			}
			MemoryContextSwitchTo(old);
			rows[slot] = heap_form_tuple(tupdesc, values, nulls);
		}
	}
	copernica_pager_end(pager);

	*totalrows = seen;
	*totaldeadrows = 0;
	ereport(elevel,
			(errmsg_plural("\"%s\": Copernica sent %.0f rows in " INT64_FORMAT " request; %d rows in sample",
						   "\"%s\": Copernica sent %.0f rows in " INT64_FORMAT " requests; %d rows in sample",
						   stats.requests,
						   RelationGetRelationName(rel), seen, stats.requests, nsampled)));
	return nsampled;
}

bool
copernicaAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
							 BlockNumber *totalpages)
{
	CopernicaOptions *opts = copernica_get_options(RelationGetRelid(relation), GetUserId());

	/* mailing tables read by their conditions: no sample without them */
	if (copernica_is_mailing_resource(opts->resource))
		return false;
	/* one request reads a bare resource whole: nothing worth sampling */
	if (copernica_resolve_resource(opts)->bare)
		return false;
	*func = acquire_sample_rows;
	*totalpages = 1;
	return true;
}
