/* See LICENSE file for copyright and license details. */
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* GET /sources/{id}/properties and /targets/{id}/properties */

/*
 * The rows of GET .../properties, as sm-snapshot cat prints them: ?1
 * owner, ?2 after this id, ?3 at most so many (-1: all), ?4 only manual
 * changes, ?5 only this id (NULL: any).
 */
#define PROPS_SOURCE "SELECT id, external_id, data, hash, updated_at " \
	"FROM source_properties WHERE source_id = ?1 AND deleted_at IS NULL " \
	"AND id > ?2 AND (?5 IS NULL OR id = ?5) ORDER BY id LIMIT ?3"
#define PROPS_TARGET "SELECT p.id, p.external_id, p.data, p.hash, " \
	"p.updated_at, p.synced_hash, s.name, p.has_manual_changes, " \
	"p.warning FROM target_properties p " \
	"LEFT JOIN sources s ON s.id = p.source_id " \
	"WHERE p.target_id = ?1 AND p.deleted_at IS NULL AND p.id > ?2 " \
	"AND (?4 = 0 OR p.has_manual_changes) AND (?5 IS NULL OR p.id = ?5) " \
	"ORDER BY p.id LIMIT ?3"

static const char *
col(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static void
prop_json(sqlite3_stmt *stmt, enum sm_side side, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "id", sqlite3_column_int64(stmt, 0));
	sm_jw_str(b, "external_id", col(stmt, 1));
	sm_jw_raw(b, "data", col(stmt, 2));
	sm_jw_str(b, "hash", col(stmt, 3));
	sm_jw_time(b, "updated_at", sqlite3_column_int64(stmt, 4));
	if (side == SM_TARGET) {
		sm_jw_str(b, "synced_hash", col(stmt, 5));
		sm_jw_str(b, "source", col(stmt, 6));
		sm_jw_bool(b, "has_manual_changes",
		    sqlite3_column_int(stmt, 7));
		sm_jw_str(b, "warning", col(stmt, 8));
	}
	sm_jw_end(b);
}

/*
 * Calls page_add for the live properties of e after pg->after (or only
 * for property id when id > 0), ordered by id.
 */
int
api_props_walk(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, struct page *pg)
{
	sqlite3_stmt *stmt;
	struct sm_buf b;
	int rc;

	stmt = sm_db_stmt(db, e->side == SM_SOURCE ? PROPS_SOURCE :
	    PROPS_TARGET);
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, e->id);
	sqlite3_bind_int64(stmt, 2, pg->after);
	sqlite3_bind_int64(stmt, 3, pg->limit < 0 ? -1 : pg->limit + 1);
	sqlite3_bind_int(stmt, 4, manual);
	if (id > 0)
		sqlite3_bind_int64(stmt, 5, id);
	sm_buf_init(&b);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		prop_json(stmt, e->side, &b);
		if (api_page_add(pg, sqlite3_column_int64(stmt, 0), b.data,
		    b.len) == PAGE_FULL)
			break;
	}
	sqlite3_reset(stmt);
	sm_buf_free(&b);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	return sm_db_error(db, rc, "cannot read properties");
}

void
api_props(struct sm_api_req *r)
{
	static const char *const keep[] = { "manual", NULL };
	struct sm_endpoint e;
	struct page pg;
	int manual = 0, rc;

	if (r->route->side == SM_TARGET &&
	    api_arg_bool(r, "manual", &manual) != 0)
		return;
	if (api_endpoint(r, r->route->side, 0, &e) != 0)
		return;
	if (api_page_open(r, &pg) == 0) {
		rc = api_props_walk(r->db, &e, manual, 0, &pg);
		api_page_close(&pg, rc, keep);
	}
	sm_endpoint_free(&e);
}

