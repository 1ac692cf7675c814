/* See LICENSE file for copyright and license details. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"

void
sm_prop_init(struct sm_prop *p, enum sm_side side, int64_t owner)
{
	memset(p, 0, sizeof(*p));
	p->side = side;
	p->owner = owner;
	p->deleted_at = -1;
}

void
sm_prop_free(struct sm_prop *p)
{
	enum sm_side side = p->side;
	int64_t owner = p->owner;

	free(p->external_id);
	free(p->data);
	free(p->warning);
	sm_prop_init(p, side, owner);
}

static void
copy_hash(char dst[SM_HASH_HEX], sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, SM_HASH_HEX, "%s", s != NULL ? (const char *)s : "");
}

#define SOURCE_ROW "SELECT id, source_id, external_id, data, hash, seq, " \
	"deleted_at, created_at, updated_at FROM source_properties"
#define TARGET_ROW "SELECT id, target_id, external_id, data, hash, seq, " \
	"deleted_at, created_at, updated_at, synced_hash, source_id, " \
	"source_hash, has_manual_changes, warning FROM target_properties"

static int
load(struct sm_db *db, struct sm_prop *p, sqlite3_stmt *stmt)
{
	const unsigned char *w;
	int rc;

	sm_prop_free(p);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(stmt);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return sm_db_error(db, rc, "cannot read a property");
	}
	p->id = sqlite3_column_int64(stmt, 0);
	p->owner = sqlite3_column_int64(stmt, 1);
	p->external_id = sm_xstrdup((const char *)sqlite3_column_text(stmt, 2));
	p->data = sm_xstrndup((const char *)sqlite3_column_text(stmt, 3),
	    (size_t)sqlite3_column_bytes(stmt, 3));
	copy_hash(p->hash, stmt, 4);
	p->seq = sqlite3_column_int64(stmt, 5);
	p->deleted_at = sqlite3_column_type(stmt, 6) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(stmt, 6);
	p->created_at = sqlite3_column_int64(stmt, 7);
	p->updated_at = sqlite3_column_int64(stmt, 8);
	if (p->side == SM_TARGET) {
		copy_hash(p->synced_hash, stmt, 9);
		p->source_id = sqlite3_column_int64(stmt, 10);
		copy_hash(p->source_hash, stmt, 11);
		p->manual = sqlite3_column_int(stmt, 12);
		if ((w = sqlite3_column_text(stmt, 13)) != NULL)
			p->warning = sm_xstrdup((const char *)w);
	}
	sqlite3_reset(stmt);
	return 1;
}

int
sm_prop_get(struct sm_db *db, struct sm_prop *p, const char *external_id,
    size_t n)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, p->side == SM_SOURCE ?
	    SOURCE_ROW " WHERE source_id = ? AND external_id = ?" :
	    TARGET_ROW " WHERE target_id = ? AND external_id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, p->owner);
	sqlite3_bind_text(stmt, 2, external_id, (int)n, SQLITE_STATIC);
	return load(db, p, stmt);
}

int
sm_prop_get_id(struct sm_db *db, struct sm_prop *p, int64_t id)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, p->side == SM_SOURCE ? SOURCE_ROW " WHERE id = ?" :
	    TARGET_ROW " WHERE id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, id);
	return load(db, p, stmt);
}

static void
bind_opt_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s != NULL && s[0] != '\0')
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

int
sm_prop_put(struct sm_db *db, struct sm_prop *p)
{
	sqlite3_stmt *stmt;
	int rc, insert = p->id == 0;

	if (p->side == SM_SOURCE)
		stmt = sm_db_stmt(db, insert ?
		    "INSERT INTO source_properties (source_id, external_id, "
		    "data, hash, seq, deleted_at, created_at, updated_at) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)" :
		    "UPDATE source_properties SET source_id = ?, "
		    "external_id = ?, data = ?, hash = ?, seq = ?, "
		    "deleted_at = ?, created_at = ?, updated_at = ? "
		    "WHERE id = ?");
	else
		stmt = sm_db_stmt(db, insert ?
		    "INSERT INTO target_properties (target_id, external_id, "
		    "data, hash, seq, deleted_at, created_at, updated_at, "
		    "synced_hash, source_id, source_hash, has_manual_changes, "
		    "warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" :
		    "UPDATE target_properties SET target_id = ?, "
		    "external_id = ?, data = ?, hash = ?, seq = ?, "
		    "deleted_at = ?, created_at = ?, updated_at = ?, "
		    "synced_hash = ?, source_id = ?, source_hash = ?, "
		    "has_manual_changes = ?, warning = ? WHERE id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, p->owner);
	sqlite3_bind_text(stmt, 2, p->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, p->data, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, p->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, p->seq);
	if (p->deleted_at >= 0)
		sqlite3_bind_int64(stmt, 6, p->deleted_at);
	sqlite3_bind_int64(stmt, 7, p->created_at);
	sqlite3_bind_int64(stmt, 8, p->updated_at);
	if (p->side == SM_TARGET) {
		bind_opt_text(stmt, 9, p->synced_hash);
		if (p->source_id != 0)
			sqlite3_bind_int64(stmt, 10, p->source_id);
		bind_opt_text(stmt, 11, p->source_hash);
		sqlite3_bind_int(stmt, 12, p->manual);
		bind_opt_text(stmt, 13, p->warning);
		if (!insert)
			sqlite3_bind_int64(stmt, 14, p->id);
	} else if (!insert)
		sqlite3_bind_int64(stmt, 9, p->id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot write a property");
	if (insert)
		p->id = sqlite3_last_insert_rowid(sm_db_handle(db));
	return 0;
}

int
sm_snap_take(struct sm_run *run, enum sm_side side, int64_t prop_id,
    const char *reason, const char *label, int64_t *id)
{
	sqlite3_stmt *stmt;
	int rc;

	/*
	 * Copied inside SQLite: the data never passes through us.  A
	 * restore also keeps the row's bookkeeping (row_state), for --undo.
	 */
	stmt = sm_db_stmt(run->db, side == SM_SOURCE ?
	    "INSERT INTO snapshots (source_id, target_id, property_id, "
	    "external_id, data, hash, reason, label, run_id, taken_at, "
	    "row_state) "
	    "SELECT source_id, NULL, id, external_id, "
	    "iif(deleted_at IS NULL, data, NULL), "
	    "iif(deleted_at IS NULL, hash, NULL), ?1, ?2, ?3, ?4, "
	    "iif(?1 = 'restore', json_object('updated_at', updated_at, "
	    "'deleted_at', deleted_at), NULL) "
	    "FROM source_properties WHERE id = ?5" :
	    "INSERT INTO snapshots (source_id, target_id, property_id, "
	    "external_id, data, hash, reason, label, run_id, taken_at, "
	    "row_state) "
	    "SELECT NULL, target_id, id, external_id, "
	    "iif(deleted_at IS NULL, data, NULL), "
	    "iif(deleted_at IS NULL, hash, NULL), ?1, ?2, ?3, ?4, "
	    "iif(?1 = 'restore', json_object('updated_at', updated_at, "
	    "'deleted_at', deleted_at, 'synced_hash', synced_hash, "
	    "'source_id', source_id, 'source_hash', source_hash, "
	    "'has_manual_changes', has_manual_changes, 'warning', warning), "
	    "NULL) FROM target_properties WHERE id = ?5");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_text(stmt, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, label, -1, SQLITE_STATIC);
	if (run->id != 0)
		sqlite3_bind_int64(stmt, 3, run->id);
	sqlite3_bind_int64(stmt, 4, run->started_at);
	sqlite3_bind_int64(stmt, 5, prop_id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(run->db, rc, "cannot take a snapshot");
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(sm_db_handle(run->db));
	return 0;
}

int
sm_change_log(struct sm_run *run, struct sm_prop *p, const char *op,
    const char *prev_hash, const char *warning)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(run->db, "INSERT INTO changes (seq, run_id, "
	    "source_id, target_id, property_id, external_id, op, hash, "
	    "prev_hash, warning, at, prev_seq) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, p->seq);
	if (run->id != 0)
		sqlite3_bind_int64(stmt, 2, run->id);
	sqlite3_bind_int64(stmt, p->side == SM_SOURCE ? 3 : 4, p->owner);
	sqlite3_bind_int64(stmt, 5, p->id);
	sqlite3_bind_text(stmt, 6, p->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 7, op, -1, SQLITE_STATIC);
	bind_opt_text(stmt, 8, p->deleted_at < 0 || strcmp(op, "delete") != 0 ?
	    p->hash : NULL);
	bind_opt_text(stmt, 9, prev_hash);
	sqlite3_bind_text(stmt, 10, warning, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 11, run->started_at);
	if (p->prev_seq != 0)
		sqlite3_bind_int64(stmt, 12, p->prev_seq);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(run->db, rc, "cannot log a change");
	return 0;
}
