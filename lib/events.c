/* See LICENSE file for copyright and license details. */
#include <stdio.h>

#include <sqlite3.h>

#include "sm.h"

int
sm_events_print(struct sm_db *db, const struct sm_run *run, int with_data,
    FILE *f)
{
	sqlite3_stmt *stmt;
	struct sm_buf b;
	const char *s;
	int rc;

	stmt = sm_db_stmt(db, "SELECT c.op, s.name, t.name, c.external_id, "
	    "c.hash, c.prev_hash, c.warning, "
	    "iif(c.target_id IS NOT NULL AND c.op <> 'delete', "
	    "(SELECT data FROM target_properties p WHERE p.id = c.property_id "
	    "AND p.deleted_at IS NULL), "
	    "NULL) FROM changes c "
	    "LEFT JOIN sources s ON s.id = c.source_id "
	    "LEFT JOIN targets t ON t.id = c.target_id "
	    "WHERE c.seq >= ?1 AND c.seq < ?2 AND c.run_id = ?3 "
	    "ORDER BY c.seq");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, run->first_seq);
	sqlite3_bind_int64(stmt, 2, run->next_seq);
	sqlite3_bind_int64(stmt, 3, run->id);
	sm_buf_init(&b);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sm_jw_begin(&b);
		sm_jw_str(&b, "op", (const char *)sqlite3_column_text(stmt, 0));
		if ((s = (const char *)sqlite3_column_text(stmt, 1)) != NULL)
			sm_jw_str(&b, "source", s);
		if ((s = (const char *)sqlite3_column_text(stmt, 2)) != NULL)
			sm_jw_str(&b, "target", s);
		sm_jw_str(&b, "external_id",
		    (const char *)sqlite3_column_text(stmt, 3));
		sm_jw_str(&b, "hash", (const char *)sqlite3_column_text(stmt, 4));
		if ((s = (const char *)sqlite3_column_text(stmt, 5)) != NULL)
			sm_jw_str(&b, "prev_hash", s);
		if ((s = (const char *)sqlite3_column_text(stmt, 6)) != NULL)
			sm_jw_str(&b, "warning", s);
		if (with_data)
			sm_jw_raw(&b, "data",
			    (const char *)sqlite3_column_text(stmt, 7));
		sm_jw_end(&b);
		if ((rc = sm_jw_put(&b, f)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	sm_buf_free(&b);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read the change log") : rc;
}
