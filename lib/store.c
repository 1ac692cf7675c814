/* See LICENSE file for copyright and license details. */
/*
 * The store: the only SQL that names the property tables
 * (source_properties, target_properties), the snapshots, the change log
 * (changes) and the sync cursor (sync_state).  The operations call these
 * functions (declared in sm-private.h); none writes such SQL of its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

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

/*
 * A statement of one side: sql[SM_SOURCE] names the source tables,
 * sql[SM_TARGET] the target ones.  Every choice of a table by side is
 * made through here, with the statements side by side in arrays.
 */
static sqlite3_stmt *
side_stmt(struct sm_db *db, enum sm_side side, const char *const sql[2])
{
	return sm_db_stmt(db, sql[side]);
}

/* Steps a statement that writes; 0 or the error, with what failed. */
static int
step_done(struct sm_db *db, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, what);
}

static const char *
col_text(sqlite3_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
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
	static const char *const sql[2] = {
		SOURCE_ROW " WHERE source_id = ? AND external_id = ?",
		TARGET_ROW " WHERE target_id = ? AND external_id = ?",
	};
	sqlite3_stmt *stmt;

	if ((stmt = side_stmt(db, p->side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, p->owner);
	sqlite3_bind_text(stmt, 2, external_id, (int)n, SQLITE_STATIC);
	return load(db, p, stmt);
}

int
sm_prop_get_id(struct sm_db *db, struct sm_prop *p, int64_t id)
{
	static const char *const sql[2] = {
		SOURCE_ROW " WHERE id = ?",
		TARGET_ROW " WHERE id = ?",
	};
	sqlite3_stmt *stmt;

	if ((stmt = side_stmt(db, p->side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	return load(db, p, stmt);
}

int
sm_prop_external_id(struct sm_db *db, const struct sm_endpoint *e,
    int64_t id, char **ext)
{
	struct sm_prop p;
	int rc;

	*ext = NULL;
	sm_prop_init(&p, e->side, e->id);
	if ((rc = sm_prop_get_id(db, &p, id)) == 1 &&
	    (p.owner != e->id || p.deleted_at >= 0))
		rc = 0;
	if (rc == 1) {
		*ext = p.external_id;
		p.external_id = NULL;
	}
	sm_prop_free(&p);
	return rc;
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
	static const char *const insert_sql[2] = {
		"INSERT INTO source_properties (source_id, external_id, "
		"data, hash, seq, deleted_at, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		"INSERT INTO target_properties (target_id, external_id, "
		"data, hash, seq, deleted_at, created_at, updated_at, "
		"synced_hash, source_id, source_hash, has_manual_changes, "
		"warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	};
	static const char *const update_sql[2] = {
		"UPDATE source_properties SET source_id = ?, "
		"external_id = ?, data = ?, hash = ?, seq = ?, "
		"deleted_at = ?, created_at = ?, updated_at = ? "
		"WHERE id = ?",
		"UPDATE target_properties SET target_id = ?, "
		"external_id = ?, data = ?, hash = ?, seq = ?, "
		"deleted_at = ?, created_at = ?, updated_at = ?, "
		"synced_hash = ?, source_id = ?, source_hash = ?, "
		"has_manual_changes = ?, warning = ? WHERE id = ?",
	};
	sqlite3_stmt *stmt;
	int rc, insert = p->id == 0;

	stmt = side_stmt(db, p->side, insert ? insert_sql : update_sql);
	if (stmt == NULL)
		return sm_errcode();
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
	/*
	 * Copied inside SQLite: the data never passes through us.  A
	 * restore also keeps the row's bookkeeping (row_state), for --undo.
	 */
	static const char *const sql[2] = {
		"INSERT INTO snapshots (source_id, target_id, property_id, "
		"external_id, data, hash, reason, label, run_id, taken_at, "
		"row_state) "
		"SELECT source_id, NULL, id, external_id, "
		"iif(deleted_at IS NULL, data, NULL), "
		"iif(deleted_at IS NULL, hash, NULL), ?1, ?2, ?3, ?4, "
		"iif(?1 = 'restore', json_object('updated_at', updated_at, "
		"'deleted_at', deleted_at), NULL) "
		"FROM source_properties WHERE id = ?5",
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
		"NULL) FROM target_properties WHERE id = ?5",
	};
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = side_stmt(run->db, side, sql)) == NULL)
		return sm_errcode();
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

/*
 * Sync's reads and writes.  Sync reads a source row while it writes the
 * target, so the source row is handed to a callback while its statement
 * holds it; a target row it decides on is read without its data.
 */

#define SYNC_SOURCE_ROW "SELECT id, external_id, data, hash, " \
	"deleted_at IS NOT NULL, seq FROM source_properties "

/* Steps stmt, bound to select one source row or none, into fn. */
static int
source_row(struct sm_db *db, sqlite3_stmt *stmt,
    int (*fn)(const struct sm_prop_row *, void *), void *arg)
{
	struct sm_prop_row r;
	int rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r.id = sqlite3_column_int64(stmt, 0);
		r.external_id = col_text(stmt, 1);
		r.data = col_text(stmt, 2);
		r.len = (size_t)sqlite3_column_bytes(stmt, 2);
		r.hash = col_text(stmt, 3);
		r.deleted = sqlite3_column_int(stmt, 4);
		r.seq = sqlite3_column_int64(stmt, 5);
		rc = fn(&r, arg);
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read a source property");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_prop_source_row(struct sm_db *db, int64_t source_id,
    const char *external_id, int (*fn)(const struct sm_prop_row *, void *),
    void *arg)
{
	sqlite3_stmt *stmt;

	/* A statement of its own: the caller may be iterating another. */
	stmt = sm_db_stmt(db, SYNC_SOURCE_ROW
	    "WHERE source_id = ? AND external_id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, source_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_TRANSIENT);
	return source_row(db, stmt, fn, arg);
}

int
sm_prop_source_row_id(struct sm_db *db, int64_t id,
    int (*fn)(const struct sm_prop_row *, void *), void *arg)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, SYNC_SOURCE_ROW "WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	return source_row(db, stmt, fn, arg);
}

int
sm_prop_target_row(struct sm_db *db, int64_t target_id,
    const char *external_id, struct sm_target_row *r)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT id, hash, synced_hash, source_hash, "
	    "source_id, deleted_at IS NOT NULL, seq FROM target_properties "
	    "WHERE target_id = ? AND external_id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_STATIC);
	memset(r, 0, sizeof(*r));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(stmt, 0);
		copy_hash(r->hash, stmt, 1);
		copy_hash(r->synced_hash, stmt, 2);
		copy_hash(r->source_hash, stmt, 3);
		r->source_id = sqlite3_column_int64(stmt, 4);
		r->deleted = sqlite3_column_int(stmt, 5);
		r->seq = sqlite3_column_int64(stmt, 6);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read a target property");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_prop_sync_write(struct sm_db *db, int64_t target_id, int64_t *id,
    const struct sm_prop_row *s, const char *hash, int64_t source_id,
    int64_t seq, int64_t now)
{
	sqlite3_stmt *stmt;
	int rc, insert = *id == 0;

	stmt = sm_db_stmt(db, insert ?
	    "INSERT INTO target_properties (target_id, external_id, data, "
	    "hash, synced_hash, source_id, source_hash, seq, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?8)" :
	    "UPDATE target_properties SET data = ?3, hash = ?4, "
	    "synced_hash = ?4, source_id = ?5, source_hash = ?6, seq = ?7, "
	    "updated_at = ?8, deleted_at = NULL, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?9");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, s->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, s->data, (int)s->len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, source_id);
	sqlite3_bind_text(stmt, 6, s->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, seq);
	sqlite3_bind_int64(stmt, 8, now);
	if (!insert)
		sqlite3_bind_int64(stmt, 9, *id);
	if ((rc = step_done(db, stmt, "cannot write a target property")) != 0)
		return rc;
	if (insert)
		*id = sqlite3_last_insert_rowid(sm_db_handle(db));
	return 0;
}

int
sm_prop_sync_delete(struct sm_db *db, int64_t id, int64_t seq, int64_t now)
{
	sqlite3_stmt *stmt;

	/* What sync took is the deletion: a source that comes back changed. */
	stmt = sm_db_stmt(db, "UPDATE target_properties SET "
	    "deleted_at = ?1, updated_at = ?1, synced_hash = NULL, "
	    "source_hash = NULL, seq = ?2, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?3");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, seq);
	sqlite3_bind_int64(stmt, 3, id);
	return step_done(db, stmt, "cannot delete a target property");
}

int
sm_prop_flag(struct sm_db *db, int64_t id, const char *warning)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, "UPDATE target_properties SET "
	    "has_manual_changes = ?1, warning = ?2 WHERE id = ?3");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int(stmt, 1, 1);
	sqlite3_bind_text(stmt, 2, warning, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, id);
	return step_done(db, stmt, "cannot flag a target property");
}

int
sm_prop_sync_accept(struct sm_db *db, int64_t id, const char *source_hash,
    int64_t source_id)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, "UPDATE target_properties SET "
	    "synced_hash = iif(deleted_at IS NULL, hash, NULL), "
	    "source_hash = ?1, source_id = ?2, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?3");
	if (stmt == NULL)
		return sm_errcode();
	if (source_hash != NULL)
		sqlite3_bind_text(stmt, 1, source_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, source_id);
	sqlite3_bind_int64(stmt, 3, id);
	return step_done(db, stmt, "cannot accept a target property");
}

/* Calls fn with column 0 (an id) and 1 (an external_id) of every row. */
static int
id_rows(struct sm_db *db, sqlite3_stmt *stmt,
    int (*fn)(int64_t, const char *, void *), void *arg, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = fn(sqlite3_column_int64(stmt, 0), col_text(stmt, 1),
		    arg)) != 0)
			break;
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, what) : rc;
}

int
sm_prop_flagged_each(struct sm_db *db, int64_t target_id,
    int (*fn)(const char *, void *), void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT external_id FROM target_properties "
	    "WHERE target_id = ? AND has_manual_changes");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = fn(col_text(stmt, 0), arg)) != 0)
			break;
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read target properties") :
	    rc;
}

int
sm_prop_flagged_pair_each(struct sm_db *db, int64_t source_id,
    int64_t target_id, int (*fn)(int64_t, const char *, void *), void *arg)
{
	sqlite3_stmt *stmt;

	/* A search of the covering index of schema/005 (t/3005 says so). */
	stmt = sm_db_stmt(db, "SELECT id, external_id "
	    "FROM target_properties WHERE target_id = ? AND has_manual_changes "
	    "AND (source_id IS NULL OR source_id = ?)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_int64(stmt, 2, source_id);
	return id_rows(db, stmt, fn, arg, "cannot read flagged properties");
}

int
sm_prop_flagged_count(struct sm_db *db, int64_t source_id, int64_t target_id,
    uint64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT count(*) FROM target_properties "
	    "WHERE target_id = ? AND has_manual_changes "
	    "AND (source_id IS NULL OR source_id = ?)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_int64(stmt, 2, source_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : sm_db_error(db, rc,
	    "cannot count flagged properties");
}

int
sm_prop_target_at_seq(struct sm_db *db, int64_t id, int64_t seq, char **ext)
{
	sqlite3_stmt *stmt;
	int rc;

	*ext = NULL;
	stmt = sm_db_stmt(db, "SELECT external_id FROM target_properties "
	    "WHERE id = ? AND seq = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*ext = sm_xstrdup(col_text(stmt, 0));
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sm_db_error(db, rc, "cannot read a target property");
}

/* Counts and times of the rows of one source or target. */

int
sm_prop_count(struct sm_db *db, enum sm_side side, int64_t owner, int manual,
    int64_t *n)
{
	static const char *const live_sql[2] = {
		"SELECT count(*) FROM source_properties "
		"WHERE source_id = ? AND deleted_at IS NULL",
		"SELECT count(*) FROM target_properties "
		"WHERE target_id = ? AND deleted_at IS NULL",
	};
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if (side == SM_TARGET && manual)
		stmt = sm_db_stmt(db, "SELECT count(*) FROM target_properties "
		    "WHERE target_id = ? AND deleted_at IS NULL "
		    "AND has_manual_changes");
	else
		stmt = side_stmt(db, side, live_sql);
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, owner);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : sm_db_error(db, rc,
	    "cannot read properties");
}

int
sm_prop_first_created(struct sm_db *db, enum sm_side side, int64_t owner,
    int64_t *at)
{
	static const char *const sql[2] = {
		"SELECT min(created_at) FROM source_properties "
		"WHERE source_id = ?1",
		"SELECT min(created_at) FROM target_properties "
		"WHERE target_id = ?1",
	};
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = side_stmt(db, side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, owner);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*at = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : sm_db_error(db, rc,
	    "cannot read properties");
}

/*
 * The versions of the rows of one source or target, now or at a time
 * (snapshot.c's rule, SPEC §5.5), and the property record users see.
 *
 * Columns: 0 id, 1 external_id, 2 created_at, 3 is tombstone, 4 data,
 * 5 hash, 6 updated_at, 7 snapshot id, 8 its data, 9 its hash, 10 the time
 * of the last write up to T, 11 synced_hash, 12 source name,
 * 13 has_manual_changes, 14 warning.  ?1 owner, ?2 T, ?3 a JSON array of
 * external_ids or NULL, ?4 only rows with manual changes.
 */
#define NOW_SOURCE "SELECT p.id, p.external_id, p.created_at, " \
	"p.deleted_at IS NOT NULL, p.data, p.hash, p.updated_at, NULL, " \
	"NULL, NULL, NULL, NULL, NULL, 0, NULL FROM source_properties p " \
	"WHERE p.source_id = ?1 AND p.deleted_at IS NULL AND (?3 IS NULL " \
	"OR p.external_id IN (SELECT value FROM json_each(?3))) " \
	"ORDER BY p.external_id"
#define NOW_TARGET "SELECT p.id, p.external_id, p.created_at, " \
	"p.deleted_at IS NOT NULL, p.data, p.hash, p.updated_at, NULL, " \
	"NULL, NULL, NULL, p.synced_hash, s.name, p.has_manual_changes, " \
	"p.warning FROM target_properties p " \
	"LEFT JOIN sources s ON s.id = p.source_id " \
	"WHERE p.target_id = ?1 AND p.deleted_at IS NULL AND (?3 IS NULL " \
	"OR p.external_id IN (SELECT value FROM json_each(?3))) " \
	"AND (?4 = 0 OR p.has_manual_changes) ORDER BY p.external_id"
#define AT_SOURCE "SELECT p.id, p.external_id, p.created_at, " \
	"p.deleted_at IS NOT NULL, p.data, p.hash, p.updated_at, v.id, " \
	"v.data, v.hash, (SELECT max(h.taken_at) FROM snapshots h " \
	"WHERE h.source_id = p.source_id AND h.external_id = p.external_id " \
	"AND h.property_id = p.id AND h.taken_at <= ?2 " \
	"AND h.reason <> 'take'), NULL, NULL, 0, NULL " \
	"FROM source_properties p LEFT JOIN snapshots v ON v.id = " \
	"(SELECT x.id FROM snapshots x WHERE x.source_id = p.source_id " \
	"AND x.external_id = p.external_id AND x.property_id = p.id " \
	"AND x.taken_at > ?2 ORDER BY x.taken_at, x.id LIMIT 1) " \
	"WHERE p.source_id = ?1 AND (?3 IS NULL " \
	"OR p.external_id IN (SELECT value FROM json_each(?3))) " \
	"ORDER BY p.external_id"
#define AT_TARGET "SELECT p.id, p.external_id, p.created_at, " \
	"p.deleted_at IS NOT NULL, p.data, p.hash, p.updated_at, v.id, " \
	"v.data, v.hash, (SELECT max(h.taken_at) FROM snapshots h " \
	"WHERE h.target_id = p.target_id AND h.external_id = p.external_id " \
	"AND h.property_id = p.id AND h.taken_at <= ?2 " \
	"AND h.reason <> 'take'), p.synced_hash, s.name, " \
	"p.has_manual_changes, p.warning " \
	"FROM target_properties p LEFT JOIN sources s ON s.id = p.source_id " \
	"LEFT JOIN snapshots v ON v.id = " \
	"(SELECT x.id FROM snapshots x WHERE x.target_id = p.target_id " \
	"AND x.external_id = p.external_id AND x.property_id = p.id " \
	"AND x.taken_at > ?2 ORDER BY x.taken_at, x.id LIMIT 1) " \
	"WHERE p.target_id = ?1 AND (?3 IS NULL " \
	"OR p.external_id IN (SELECT value FROM json_each(?3))) " \
	"AND (?4 = 0 OR p.has_manual_changes) ORDER BY p.external_id"

/* Fills v from a row of the statements above. */
static void
fill_view(sqlite3_stmt *stmt, int64_t at, struct sm_prop_view *v)
{
	int64_t created_at = sqlite3_column_int64(stmt, 2);

	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(stmt, 0);
	v->external_id = col_text(stmt, 1);
	v->cur_present = sqlite3_column_int(stmt, 3) == 0;
	v->cur_data = col_text(stmt, 4);
	v->cur_hash = col_text(stmt, 5);
	v->synced_hash = col_text(stmt, 11);
	v->source = col_text(stmt, 12);
	v->manual = sqlite3_column_int(stmt, 13);
	v->warning = col_text(stmt, 14);
	v->updated_at = -1;
	if (at >= 0 && created_at > at) {
		v->historical = 1;
	} else if (sqlite3_column_type(stmt, 7) != SQLITE_NULL) {
		v->historical = 1;
		v->snap_id = sqlite3_column_int64(stmt, 7);
		v->present = sqlite3_column_type(stmt, 8) != SQLITE_NULL;
		v->data = col_text(stmt, 8);
		v->hash = col_text(stmt, 9);
		v->updated_at = sqlite3_column_type(stmt, 10) == SQLITE_NULL ?
		    created_at : sqlite3_column_int64(stmt, 10);
	} else {
		v->present = v->cur_present;
		v->data = v->cur_data;
		v->hash = v->cur_hash;
		v->updated_at = sqlite3_column_int64(stmt, 6);
	}
}

int
sm_prop_versions(struct sm_db *db, const struct sm_endpoint *e,
    const char *ids, int manual, int64_t at,
    int (*fn)(const struct sm_prop_view *, void *), void *arg)
{
	static const char *const now_sql[2] = { NOW_SOURCE, NOW_TARGET };
	static const char *const at_sql[2] = { AT_SOURCE, AT_TARGET };
	sqlite3_stmt *stmt;
	struct sm_prop_view v;
	int rc;

	if ((stmt = side_stmt(db, e->side, at < 0 ? now_sql : at_sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, e->id);
	sqlite3_bind_int64(stmt, 2, at);
	sqlite3_bind_text(stmt, 3, ids, -1, SQLITE_STATIC);
	if (e->side == SM_TARGET)
		sqlite3_bind_int(stmt, 4, manual);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fill_view(stmt, at, &v);
		if ((rc = fn(&v, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read properties") : rc;
}

/*
 * The rows of a page of GET .../properties, as sm-snapshot cat prints
 * them: ?1 owner, ?2 after this id, ?3 at most so many (-1: all), ?4 only
 * manual changes, ?5 only this id (NULL: any).  The live rows in id order
 * come from the index of schema/006.
 */
#define PAGE_SOURCE "SELECT id, external_id, data, hash, updated_at " \
	"FROM source_properties WHERE source_id = ?1 AND deleted_at IS NULL " \
	"AND id > ?2 AND (?5 IS NULL OR id = ?5) ORDER BY id LIMIT ?3"
#define PAGE_TARGET "SELECT p.id, p.external_id, p.data, p.hash, " \
	"p.updated_at, p.synced_hash, s.name, p.has_manual_changes, " \
	"p.warning FROM target_properties p " \
	"LEFT JOIN sources s ON s.id = p.source_id " \
	"WHERE p.target_id = ?1 AND p.deleted_at IS NULL AND p.id > ?2 " \
	"AND (?4 = 0 OR p.has_manual_changes) AND (?5 IS NULL OR p.id = ?5) " \
	"ORDER BY p.id LIMIT ?3"

int
sm_prop_page(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, int64_t after, int64_t limit,
    int (*fn)(const struct sm_prop_view *, void *), void *arg)
{
	static const char *const sql[2] = { PAGE_SOURCE, PAGE_TARGET };
	sqlite3_stmt *stmt;
	struct sm_prop_view v;
	int rc, stop = 0;

	if ((stmt = side_stmt(db, e->side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, e->id);
	sqlite3_bind_int64(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, limit);
	sqlite3_bind_int(stmt, 4, manual);
	if (id > 0)
		sqlite3_bind_int64(stmt, 5, id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&v, 0, sizeof(v));
		v.id = sqlite3_column_int64(stmt, 0);
		v.external_id = col_text(stmt, 1);
		v.present = v.cur_present = 1;
		v.data = v.cur_data = col_text(stmt, 2);
		v.hash = v.cur_hash = col_text(stmt, 3);
		v.updated_at = sqlite3_column_int64(stmt, 4);
		if (e->side == SM_TARGET) {
			v.synced_hash = col_text(stmt, 5);
			v.source = col_text(stmt, 6);
			v.manual = sqlite3_column_int(stmt, 7);
			v.warning = col_text(stmt, 8);
		}
		if ((stop = fn(&v, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (stop != 0)
		return stop < 0 ? stop : 0;
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc,
	    "cannot read properties");
}

void
sm_prop_record(struct sm_buf *b, enum sm_side side,
    const struct sm_prop_view *v)
{
	sm_jw_begin(b);
	sm_jw_int(b, "id", v->id);
	sm_jw_str(b, "external_id", v->external_id);
	sm_jw_raw(b, "data", v->data);
	sm_jw_str(b, "hash", v->hash);
	sm_jw_time(b, "updated_at", v->updated_at);
	if (side == SM_TARGET && v->historical) {
		/* Snapshots keep data, not the sync bookkeeping. */
		sm_jw_null(b, "synced_hash");
		sm_jw_null(b, "source");
		sm_jw_null(b, "has_manual_changes");
		sm_jw_null(b, "warning");
	} else if (side == SM_TARGET) {
		sm_jw_str(b, "synced_hash", v->synced_hash);
		sm_jw_str(b, "source", v->source);
		sm_jw_bool(b, "has_manual_changes", v->manual);
		sm_jw_str(b, "warning", v->warning);
	}
	sm_jw_end(b);
}

/*
 * Snapshots as records.  Columns of a snapshot record: 0 id, 1 is of a
 * source, 2 the source's or target's name, 3 external_id, 4 hash,
 * 5 reason, 6 label, 7 taken_at, 8 data, 9 property_id, 10 run_id.
 */
#define SNAP_COLS "SELECT s.id, s.source_id IS NOT NULL, " \
	"coalesce(src.name, tgt.name), s.external_id, s.hash, s.reason, " \
	"s.label, s.taken_at, s.data, s.property_id, s.run_id " \
	"FROM snapshots s LEFT JOIN sources src ON src.id = s.source_id " \
	"LEFT JOIN targets tgt ON tgt.id = s.target_id "

static void
fill_snap_rec(sqlite3_stmt *stmt, struct sm_snap_rec *r)
{
	r->id = sqlite3_column_int64(stmt, 0);
	r->is_source = sqlite3_column_int(stmt, 1);
	r->owner_name = col_text(stmt, 2);
	r->external_id = col_text(stmt, 3);
	r->hash = col_text(stmt, 4);
	r->reason = col_text(stmt, 5);
	r->label = col_text(stmt, 6);
	r->taken_at = sqlite3_column_int64(stmt, 7);
	r->data = col_text(stmt, 8);
	r->property_id = sqlite3_column_int64(stmt, 9);
	r->run_id = sqlite3_column_type(stmt, 10) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(stmt, 10);
}

int
sm_snap_each(struct sm_db *db, const struct sm_snap_query *q,
    const char *ids, int (*fn)(const struct sm_snap_rec *, void *),
    void *arg)
{
	struct sm_snap_rec r;
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, SNAP_COLS "WHERE (?1 = 0 "
	    "OR (?2 = 0 AND s.source_id = ?1) "
	    "OR (?2 = 1 AND s.target_id = ?1)) "
	    "AND (?3 IS NULL OR s.external_id IN "
	    "(SELECT value FROM json_each(?3))) "
	    "AND (?4 IS NULL OR s.taken_at >= ?4) "
	    "AND (?5 IS NULL OR s.taken_at < ?5) ORDER BY s.id");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, q->owner);
	sqlite3_bind_int(stmt, 2, q->side == SM_TARGET);
	sqlite3_bind_text(stmt, 3, ids, -1, SQLITE_STATIC);
	if (q->since >= 0)
		sqlite3_bind_int64(stmt, 4, q->since);
	if (q->until >= 0)
		sqlite3_bind_int64(stmt, 5, q->until);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fill_snap_rec(stmt, &r);
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read snapshots") : rc;
}

static int
no_snapshot(struct sm_db *db, int64_t id)
{
	return sm_error(SM_ENOENT, "no snapshot %lld in tenant '%s'",
	    (long long)id, sm_db_slug(db));
}

int
sm_snap_rec_get(struct sm_db *db, int64_t id,
    int (*fn)(const struct sm_snap_rec *, void *), void *arg)
{
	struct sm_snap_rec r;
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, SNAP_COLS "WHERE s.id = ?")) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fill_snap_rec(stmt, &r);
		rc = fn(&r, arg);
	} else if (rc == SQLITE_DONE)
		rc = no_snapshot(db, id);
	else
		rc = sm_db_error(db, rc, "cannot read a snapshot");
	sqlite3_reset(stmt);
	return rc;
}

void
sm_snap_free(struct sm_snap *s)
{
	free(s->external_id);
	free(s->data);
	memset(s, 0, sizeof(*s));
}

int
sm_snap_get(struct sm_db *db, int64_t id, struct sm_snap *s)
{
	sqlite3_stmt *stmt;
	const char *data;
	int rc;

	stmt = sm_db_stmt(db, "SELECT source_id, target_id, property_id, "
	    "external_id, data, hash FROM snapshots WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	memset(s, 0, sizeof(*s));
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		s->id = id;
		s->side = sqlite3_column_type(stmt, 0) != SQLITE_NULL ?
		    SM_SOURCE : SM_TARGET;
		s->owner = sqlite3_column_int64(stmt, s->side == SM_SOURCE ?
		    0 : 1);
		s->property_id = sqlite3_column_int64(stmt, 2);
		s->external_id = sm_xstrdup(col_text(stmt, 3));
		if ((data = col_text(stmt, 4)) != NULL)
			s->data = sm_xstrndup(data,
			    (size_t)sqlite3_column_bytes(stmt, 4));
		copy_hash(s->hash, stmt, 5);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = no_snapshot(db, id);
	else
		rc = sm_db_error(db, rc, "cannot read a snapshot");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_snap_take_live(struct sm_db *db, const struct sm_endpoint *e,
    const char *label, int64_t taken_at, int64_t *n)
{
	/* Copied inside SQLite, in external_id order. */
	static const char *const sql[2] = {
		"INSERT INTO snapshots (source_id, target_id, property_id, "
		"external_id, data, hash, reason, label, run_id, taken_at) "
		"SELECT source_id, NULL, id, external_id, data, hash, 'take', "
		"?2, NULL, ?3 FROM source_properties WHERE source_id = ?1 "
		"AND deleted_at IS NULL ORDER BY external_id",
		"INSERT INTO snapshots (source_id, target_id, property_id, "
		"external_id, data, hash, reason, label, run_id, taken_at) "
		"SELECT NULL, target_id, id, external_id, data, hash, 'take', "
		"?2, NULL, ?3 FROM target_properties WHERE target_id = ?1 "
		"AND deleted_at IS NULL ORDER BY external_id",
	};
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if ((stmt = side_stmt(db, e->side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, e->id);
	sqlite3_bind_text(stmt, 2, label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, taken_at);
	if ((rc = step_done(db, stmt, "cannot take snapshots")) != 0)
		return rc;
	*n = sqlite3_changes64(sm_db_handle(db));
	return 0;
}

int
sm_snap_absent(struct sm_run *run, const struct sm_prop *p)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(run->db, "INSERT INTO snapshots (source_id, "
	    "target_id, property_id, external_id, data, hash, reason, label, "
	    "run_id, taken_at) VALUES (?, ?, ?, ?, NULL, NULL, 'restore', "
	    "NULL, ?, ?)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, p->side == SM_SOURCE ? 1 : 2, p->owner);
	sqlite3_bind_int64(stmt, 3, p->id);
	sqlite3_bind_text(stmt, 4, p->external_id, -1, SQLITE_STATIC);
	if (run->id != 0)
		sqlite3_bind_int64(stmt, 5, run->id);
	sqlite3_bind_int64(stmt, 6, run->started_at);
	return step_done(run->db, stmt, "cannot take a snapshot");
}

/*
 * Columns: 0 property_id, 1 external_id, 2 data, 3 hash, 4 row_state kept,
 * then from it 5 updated_at, 6 deleted_at, 7 synced_hash, 8 source_id,
 * 9 source_hash, 10 has_manual_changes, 11 warning.  ?1 the run's start
 * (the snapshots_taken index), ?2 its id, ?3 the owner: its snapshots.
 */
#define UNDO_SNAPS "SELECT property_id, external_id, data, hash, " \
	"row_state IS NOT NULL, json_extract(row_state, '$.updated_at'), " \
	"json_extract(row_state, '$.deleted_at'), " \
	"json_extract(row_state, '$.synced_hash'), " \
	"json_extract(row_state, '$.source_id'), " \
	"json_extract(row_state, '$.source_hash'), " \
	"json_extract(row_state, '$.has_manual_changes'), " \
	"json_extract(row_state, '$.warning') FROM snapshots " \
	"WHERE taken_at = ?1 AND run_id = ?2 AND reason = 'restore' AND "

int
sm_snap_restore_each(struct sm_db *db, const struct sm_endpoint *e,
    int64_t run_id, int64_t started,
    int (*fn)(const struct sm_snap_undo *, void *), void *arg)
{
	static const char *const sql[2] = {
		UNDO_SNAPS "source_id = ?3 ORDER BY id",
		UNDO_SNAPS "target_id = ?3 ORDER BY id",
	};
	struct sm_snap_undo u;
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = side_stmt(db, e->side, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, started);
	sqlite3_bind_int64(stmt, 2, run_id);
	sqlite3_bind_int64(stmt, 3, e->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		u.property_id = sqlite3_column_int64(stmt, 0);
		u.external_id = col_text(stmt, 1);
		u.data = col_text(stmt, 2);
		u.len = (size_t)sqlite3_column_bytes(stmt, 2);
		u.hash = col_text(stmt, 3);
		if ((u.has_state = sqlite3_column_int(stmt, 4)) != 0) {
			u.updated_at = sqlite3_column_int64(stmt, 5);
			u.deleted_at = sqlite3_column_type(stmt, 6) ==
			    SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 6);
			u.synced_hash = col_text(stmt, 7);
			u.source_id = sqlite3_column_int64(stmt, 8);
			u.source_hash = col_text(stmt, 9);
			u.manual = sqlite3_column_int(stmt, 10);
			u.warning = col_text(stmt, 11);
		}
		if ((rc = fn(&u, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read snapshots") : rc;
}

/*
 * The change log beyond sm_change_log(): the next number, who made a
 * change, the events of a run, and sync_state, how far each pair has
 * read the log.
 */

int
sm_change_next(struct sm_db *db, int64_t *seq)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT coalesce((SELECT seq FROM "
	    "sqlite_sequence WHERE name = 'changes'), 0) + 1");
	if (stmt == NULL)
		return sm_errcode();
	rc = sqlite3_step(stmt);
	*seq = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return sm_db_error(db, rc, "cannot read the change log");
	return 0;
}

int
sm_change_run(struct sm_db *db, int64_t seq, int64_t *run_id, char *kind,
    size_t n)
{
	sqlite3_stmt *stmt;
	int rc;

	*run_id = 0;
	stmt = sm_db_stmt(db, "SELECT c.run_id, r.kind FROM changes c "
	    "LEFT JOIN runs r ON r.id = c.run_id WHERE c.seq = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, seq);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
		*run_id = sqlite3_column_int64(stmt, 0);
		snprintf(kind, n, "%s", col_text(stmt, 1) != NULL ?
		    col_text(stmt, 1) : "?");
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot read the change log");
	return 0;
}

int
sm_change_each_event(struct sm_db *db, const struct sm_run *run,
    int (*fn)(const struct sm_event *, void *), void *arg)
{
	struct sm_event ev;
	sqlite3_stmt *stmt;
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
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, run->first_seq);
	sqlite3_bind_int64(stmt, 2, run->next_seq);
	sqlite3_bind_int64(stmt, 3, run->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ev.op = col_text(stmt, 0);
		ev.source = col_text(stmt, 1);
		ev.target = col_text(stmt, 2);
		ev.external_id = col_text(stmt, 3);
		ev.hash = col_text(stmt, 4);
		ev.prev_hash = col_text(stmt, 5);
		ev.warning = col_text(stmt, 6);
		ev.data = col_text(stmt, 7);
		if ((rc = fn(&ev, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read the change log") : rc;
}

int
sm_change_read(struct sm_db *db, int64_t from, int64_t before,
    int64_t source_id, int64_t target_id, struct sm_change *v, size_t max,
    size_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT seq, target_id IS NOT NULL, "
	    "property_id FROM changes WHERE seq > ?1 AND seq < ?2 "
	    "AND (source_id = ?3 OR target_id = ?4) ORDER BY seq LIMIT ?5");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, from);
	sqlite3_bind_int64(stmt, 2, before);
	sqlite3_bind_int64(stmt, 3, source_id);
	sqlite3_bind_int64(stmt, 4, target_id);
	sqlite3_bind_int(stmt, 5, (int)max);
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		v[*n].seq = sqlite3_column_int64(stmt, 0);
		v[*n].target = sqlite3_column_int(stmt, 1);
		v[*n].property_id = sqlite3_column_int64(stmt, 2);
		(*n)++;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc,
	    "cannot read the change log");
}

int
sm_change_pos_get(struct sm_db *db, int64_t source_id, int64_t target_id,
    int64_t *source_seq, int64_t *target_seq)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT source_seq, target_seq FROM "
	    "sync_state WHERE source_id = ? AND target_id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, source_id);
	sqlite3_bind_int64(stmt, 2, target_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*source_seq = sqlite3_column_int64(stmt, 0);
		*target_seq = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sm_db_error(db, rc, "cannot read the sync state");
}

int
sm_change_pos_put(struct sm_db *db, int64_t source_id, int64_t target_id,
    int64_t seq, int64_t run_id)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(db, "INSERT INTO sync_state (source_id, "
	    "target_id, source_seq, target_seq, last_run_id) "
	    "VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (source_id, target_id) "
	    "DO UPDATE SET source_seq = ?3, target_seq = ?3, last_run_id = ?4");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, source_id);
	sqlite3_bind_int64(stmt, 2, target_id);
	sqlite3_bind_int64(stmt, 3, seq);
	sqlite3_bind_int64(stmt, 4, run_id);
	return step_done(db, stmt, "cannot write the sync state");
}

/*
 * What sm-tenant check reads: every stored row and snapshot of a source
 * or target, and the rows that break an invariant of the tables.
 */

int
sm_prop_each_stored(struct sm_db *db, enum sm_side side, int64_t owner,
    int snapshots, const char *what,
    int (*fn)(const struct sm_prop_row *, void *), void *arg)
{
	static const char *const rows_sql[2] = {
		"SELECT id, external_id, data, hash FROM source_properties "
		"WHERE source_id = ?",
		"SELECT id, external_id, data, hash FROM target_properties "
		"WHERE target_id = ?",
	};
	static const char *const snaps_sql[2] = {
		"SELECT id, external_id, data, hash FROM snapshots "
		"WHERE source_id = ?",
		"SELECT id, external_id, data, hash FROM snapshots "
		"WHERE target_id = ?",
	};
	struct sm_prop_row r;
	sqlite3_stmt *stmt;
	int rc;

	/* Prepared here, not cached: the caller's statement is still live. */
	rc = sqlite3_prepare_v2(sm_db_handle(db),
	    (snapshots ? snaps_sql : rows_sql)[side], -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sm_db_error(db, rc, "cannot prepare a check");
	sqlite3_bind_int64(stmt, 1, owner);
	memset(&r, 0, sizeof(r));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(stmt, 0);
		r.external_id = col_text(stmt, 1);
		r.data = col_text(stmt, 2);
		r.len = (size_t)sqlite3_column_bytes(stmt, 2);
		r.hash = col_text(stmt, 3);
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, what) : rc;
}

/* Calls fn with the message of every row of the statements sql. */
static int
messages(struct sm_db *db, const char *const *sql, size_t n,
    const char *what, int (*fn)(const char *, void *), void *arg)
{
	sqlite3_stmt *stmt;
	const char *s;
	size_t i;
	int rc = SQLITE_DONE;

	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		if ((stmt = sm_db_stmt(db, sql[i])) == NULL)
			return sm_errcode();
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			s = col_text(stmt, 0);
			if ((rc = fn(s != NULL ? s : "null", arg)) != 0)
				break;
		}
		sqlite3_reset(stmt);
	}
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, what) : rc;
}

int
sm_prop_orphans(struct sm_db *db, int (*fn)(const char *, void *), void *arg)
{
	static const char *const sql[] = {
		"SELECT 'snapshot ' || s.id || ' of a source property that "
		    "is gone' FROM snapshots s WHERE s.source_id IS NOT NULL "
		    "AND NOT EXISTS (SELECT 1 FROM source_properties p "
		    "WHERE p.id = s.property_id)",
		"SELECT 'snapshot ' || s.id || ' of a target property that "
		    "is gone' FROM snapshots s WHERE s.target_id IS NOT NULL "
		    "AND NOT EXISTS (SELECT 1 FROM target_properties p "
		    "WHERE p.id = s.property_id)",
		"SELECT 'source property ' || id || ' has a change number "
		    "beyond the change log' FROM source_properties WHERE seq > "
		    "(SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
		    "WHERE name = 'changes')",
		"SELECT 'target property ' || id || ' has a change number "
		    "beyond the change log' FROM target_properties WHERE seq > "
		    "(SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
		    "WHERE name = 'changes')",
		"SELECT 'source property ' || id || ' has no change log row "
		    "for its change number' FROM source_properties p "
		    "WHERE NOT EXISTS (SELECT 1 FROM changes c "
		    "WHERE c.seq = p.seq)",
		"SELECT 'target property ' || id || ' has no change log row "
		    "for its change number' FROM target_properties p "
		    "WHERE NOT EXISTS (SELECT 1 FROM changes c "
		    "WHERE c.seq = p.seq)",
	};

	return messages(db, sql, sizeof(sql) / sizeof(sql[0]), "orphan", fn,
	    arg);
}

/*
 * The change log against what it names: a property's latest change (its
 * seq, the one change that cleanup always keeps) carries the hash the
 * property has now, or none for a deletion that left a tombstone.  (A
 * prev_hash is not checked against the change before: a sync's is the
 * target's hash as it found it, which a manual edit may have changed
 * without a change row.)
 */
int
sm_change_log_check(struct sm_db *db, int (*fn)(const char *, void *),
    void *arg)
{
	static const char *const sql[] = {
		"SELECT 'change ' || c.seq || ' of source property ' || p.id || "
		    "' has hash ' || coalesce(c.hash, 'null') || ', the "
		    "property ' || p.hash FROM source_properties p "
		    "JOIN changes c ON c.seq = p.seq AND c.source_id = "
		    "p.source_id AND c.property_id = p.id "
		    "WHERE CASE WHEN c.hash IS NULL THEN p.deleted_at IS NULL "
		    "ELSE c.hash <> p.hash END",
		"SELECT 'change ' || c.seq || ' of target property ' || p.id || "
		    "' has hash ' || coalesce(c.hash, 'null') || ', the "
		    "property ' || p.hash FROM target_properties p "
		    "JOIN changes c ON c.seq = p.seq AND c.target_id = "
		    "p.target_id AND c.property_id = p.id "
		    "WHERE CASE WHEN c.hash IS NULL THEN p.deleted_at IS NULL "
		    "ELSE c.hash <> p.hash END",
	};

	return messages(db, sql, sizeof(sql) / sizeof(sql[0]), "change_log",
	    fn, arg);
}

/*
 * Retention: the statements of sm-cleanup (the rules are in cleanup.c),
 * run in order by sm_prop_purge() inside the caller's transaction.
 * Every statement starts from what may go, found through an index, and
 * reaches the rows around it through an index (schema/004): the cost is
 * in what is looked at for deletion, never a scan of the properties or
 * the snapshots (t/6001-sm-cleanup-cost.t holds the query plans to it).
 */

/*
 * Source tombstones old enough that no sync still needs (?1 cutoff).  A
 * target row fed by the source is looked up per target, by the unique
 * (target_id, external_id): there is no index on source_id (see
 * schema/001), and a scan per tombstone made cleanup quadratic.
 */
#define SOURCE_GONE_FROM "source_properties p " \
	"INDEXED BY source_properties_tombstones"
#define SOURCE_GONE_WHERE "p.deleted_at IS NOT NULL AND p.deleted_at < ?1 " \
	"AND NOT EXISTS (SELECT 1 FROM sync_state ss " \
	"WHERE ss.source_id = p.source_id AND ss.source_seq < p.seq) " \
	"AND NOT EXISTS (SELECT 1 FROM targets g CROSS JOIN " \
	"target_properties t WHERE t.target_id = g.id " \
	"AND t.external_id = p.external_id AND t.source_id = p.source_id " \
	"AND t.deleted_at IS NULL)"

/* Target tombstones old enough that are not a kept manual deletion. */
#define TARGET_GONE_FROM "target_properties p " \
	"INDEXED BY target_properties_tombstones"
#define TARGET_GONE_WHERE "p.deleted_at IS NOT NULL AND p.deleted_at < ?1 " \
	"AND NOT p.has_manual_changes"

/* A property's snapshots, by the index on its side's (id, external_id). */
static const char *const sql_source_snaps =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM " SOURCE_GONE_FROM
    " CROSS JOIN snapshots s WHERE " SOURCE_GONE_WHERE
    " AND s.source_id IS NOT NULL AND s.source_id = p.source_id "
    "AND s.external_id = p.external_id AND s.property_id = p.id)";
static const char *const sql_source_rows =
    "DELETE FROM source_properties WHERE id IN (SELECT p.id FROM "
    SOURCE_GONE_FROM " WHERE " SOURCE_GONE_WHERE ")";
static const char *const sql_target_snaps =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM " TARGET_GONE_FROM
    " CROSS JOIN snapshots s WHERE " TARGET_GONE_WHERE
    " AND s.target_id IS NOT NULL AND s.target_id = p.target_id "
    "AND s.external_id = p.external_id AND s.property_id = p.id)";
static const char *const sql_target_rows =
    "DELETE FROM target_properties WHERE id IN (SELECT p.id FROM "
    TARGET_GONE_FROM " WHERE " TARGET_GONE_WHERE ")";
/*
 * Snapshots older than ?1 with at least ?2 newer ones (by taken_at, then
 * id) of the same property: the old ones come from the taken_at index,
 * the newer ones from the property's side index, at most ?2 of them.
 */
#define NEWER(side) "(SELECT count(*) FROM (SELECT 1 FROM snapshots n " \
	"WHERE n." side " IS NOT NULL AND n." side " = s." side " " \
	"AND n.external_id = s.external_id " \
	"AND n.property_id = s.property_id AND n.taken_at >= s.taken_at " \
	"AND (n.taken_at > s.taken_at OR n.id > s.id) LIMIT ?2)) >= ?2"
static const char *const sql_source_old =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM snapshots s "
    "INDEXED BY snapshots_taken WHERE s.taken_at < ?1 "
    "AND s.source_id IS NOT NULL AND " NEWER("source_id") ")";
static const char *const sql_target_old =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM snapshots s "
    "INDEXED BY snapshots_taken WHERE s.taken_at < ?1 "
    "AND s.target_id IS NOT NULL AND " NEWER("target_id") ")";
/* Sync finds a changed row by its latest change: that one stays. */
static const char *const sql_changes = "DELETE FROM changes WHERE at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM source_properties p "
    "WHERE changes.source_id IS NOT NULL AND p.id = changes.property_id "
    "AND p.seq = changes.seq) "
    "AND NOT EXISTS (SELECT 1 FROM target_properties p "
    "WHERE changes.target_id IS NOT NULL AND p.id = changes.property_id "
    "AND p.seq = changes.seq)";
/*
 * The ON DELETE SET NULL of the references to runs, done by hand: SQLite
 * would scan the change log (run_id has no index there, to keep the
 * inserts of every run cheap) once per run deleted, one scan does here.
 * The snapshots of a run are found by the index snapshots_run.
 */
#define OLD_RUNS "(SELECT id FROM runs WHERE started_at < ?1)"
static const char *const sql_runs_snaps =
    "UPDATE snapshots INDEXED BY snapshots_run SET run_id = NULL "
    "WHERE run_id IN " OLD_RUNS;
static const char *const sql_runs_changes =
    "UPDATE changes SET run_id = NULL WHERE run_id IN " OLD_RUNS;
static const char *const sql_runs_state =
    "UPDATE sync_state SET last_run_id = NULL WHERE last_run_id IN " OLD_RUNS;
static const char *const sql_runs = "DELETE FROM runs WHERE started_at < ?1";

/*
 * Runs one of the statements above with the cutoff (and keep) bound and
 * adds the number of rows it deleted (or changed) to *n.  Returns 0 or an
 * SM_E* code.
 */
static int
purge(struct sm_db *db, const char *sql, int64_t cutoff, int keep,
    uint64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, sql)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, cutoff);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int(stmt, 2, keep);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot delete old rows");
	*n += (uint64_t)sqlite3_changes(sm_db_handle(db));
	return 0;
}

int
sm_prop_purge(struct sm_db *db, int64_t snap_cut, int64_t runs_cut, int keep,
    struct sm_cleanup_stats *st)
{
	uint64_t refs = 0;
	int rc;

	/* Each step runs only while the previous ones succeeded. */
	(void)((rc = purge(db, sql_source_snaps, snap_cut, 0,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_source_rows, snap_cut, 0, &st->tombstones)) ||
	    (rc = purge(db, sql_target_snaps, snap_cut, 0, &st->snapshots)) ||
	    (rc = purge(db, sql_target_rows, snap_cut, 0, &st->tombstones)) ||
	    (rc = purge(db, sql_source_old, snap_cut, keep,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_target_old, snap_cut, keep,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_changes, runs_cut, 0, &st->changes)) ||
	    (rc = purge(db, sql_runs_snaps, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs_changes, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs_state, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs, runs_cut, 0, &st->runs)));
	return rc;
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
		return sm_errcode();
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

/*
 * ---- The SQL of import.c and diff.c ----------------------------------
 * What the record loop's callbacks read and write: the lean row an import
 * decides on, the version it writes, its change row when a duplicate key
 * comes back, the rows --complete looks at; the pairs and histories diff
 * prints.
 */

int
sm_prop_head(struct sm_db *db, struct sm_prop *p, const char *key, size_t n)
{
	sqlite3_stmt *stmt;
	int rc;

	if (p->side == SM_SOURCE)
		stmt = sm_db_stmt(db, "SELECT id, hash, deleted_at IS NOT "
		    "NULL, seq, NULL FROM source_properties "
		    "WHERE source_id = ? AND external_id = ?");
	else
		stmt = sm_db_stmt(db, "SELECT id, hash, deleted_at IS NOT "
		    "NULL, seq, synced_hash FROM target_properties "
		    "WHERE target_id = ? AND external_id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, p->owner);
	sqlite3_bind_text(stmt, 2, key, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		p->id = sqlite3_column_int64(stmt, 0);
		copy_hash(p->hash, stmt, 1);
		p->deleted_at = sqlite3_column_int(stmt, 2) ? 0 : -1;
		p->seq = sqlite3_column_int64(stmt, 3);
		copy_hash(p->synced_hash, stmt, 4);
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		p->id = 0;
		rc = 0;
	} else
		rc = sm_db_error(db, rc, "cannot read a property");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_prop_write_version(struct sm_db *db, struct sm_prop *p,
    const struct sm_prop_version *v)
{
	sqlite3_stmt *stmt;
	int rc;

	if (p->id == 0 && p->side == SM_SOURCE)
		stmt = sm_db_stmt(db, "INSERT INTO source_properties "
		    "(source_id, external_id, data, hash, seq, created_at, "
		    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
	else if (p->id == 0)
		stmt = sm_db_stmt(db, "INSERT INTO target_properties "
		    "(target_id, external_id, data, hash, seq, created_at, "
		    "updated_at, has_manual_changes) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)");
	else if (p->side == SM_SOURCE)
		stmt = sm_db_stmt(db, "UPDATE source_properties SET "
		    "data = ?3, hash = ?4, seq = ?5, updated_at = ?6, "
		    "deleted_at = NULL WHERE id = ?8");
	else
		stmt = sm_db_stmt(db, "UPDATE target_properties SET "
		    "data = ?3, hash = ?4, seq = ?5, updated_at = ?6, "
		    "deleted_at = NULL, has_manual_changes = ?7, "
		    "warning = iif(?7, warning, NULL) WHERE id = ?8");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, p->owner);
	sqlite3_bind_text(stmt, 2, v->key, (int)v->keylen, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, v->data, (int)v->len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, v->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, v->seq);
	sqlite3_bind_int64(stmt, 6, v->at);
	if (p->side == SM_TARGET)
		sqlite3_bind_int(stmt, 7, v->manual);
	if (p->id != 0)
		sqlite3_bind_int64(stmt, 8, p->id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot write a property");
	if (p->id == 0)
		p->id = sqlite3_last_insert_rowid(sm_db_handle(db));
	return 0;
}

int
sm_change_get(struct sm_db *db, int64_t seq, char prev_hash[SM_HASH_HEX],
    int64_t *prev_seq)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, "SELECT prev_hash, prev_seq FROM changes "
	    "WHERE seq = ?1")) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, seq);
	rc = sqlite3_step(stmt);
	prev_hash[0] = '\0';
	*prev_seq = 0;
	if (rc == SQLITE_ROW) {
		copy_hash(prev_hash, stmt, 0);
		*prev_seq = sqlite3_column_int64(stmt, 1);
		rc = 1;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read the change log");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_change_set_hash(struct sm_db *db, int64_t seq, const char *hash)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, "UPDATE changes SET hash = ?2 "
	    "WHERE seq = ?1")) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, seq);
	sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, "cannot log a change");
}

int
sm_change_drop(struct sm_db *db, int64_t seq)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, "DELETE FROM changes WHERE seq = ?1")) ==
	    NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, seq);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, "cannot log a change");
}

int
sm_snap_drop_run(struct sm_run *run, const struct sm_prop *p, const char *key,
    size_t n)
{
	/* By external_id, which the snapshot indexes lead with. */
	static const char *const sql[2] = {
		"DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
		"AND source_id = ?3 AND external_id = ?4",
		"DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
		"AND target_id = ?3 AND external_id = ?4"
	};
	sqlite3_stmt *stmt;
	int rc;

	stmt = side_stmt(run->db, p->side, sql);
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, run->id);
	sqlite3_bind_int64(stmt, 2, p->id);
	sqlite3_bind_int64(stmt, 3, p->owner);
	sqlite3_bind_text(stmt, 4, key, (int)n, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 :
	    sm_db_error(run->db, rc, "cannot take a snapshot");
}

int
sm_prop_max_id(struct sm_db *db, enum sm_side side, int64_t *max)
{
	static const char *const sql[2] = {
		"SELECT coalesce(max(id), 0) FROM source_properties",
		"SELECT coalesce(max(id), 0) FROM target_properties"
	};
	sqlite3_stmt *stmt;
	int rc;

	*max = 0;
	if ((stmt = side_stmt(db, side, sql)) == NULL)
		return sm_errcode();
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*max = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : sm_db_error(db, rc,
	    "cannot read properties");
}

int
sm_prop_live_ids(struct sm_db *db, enum sm_side side, int64_t owner,
    int (*fn)(int64_t id, void *arg), void *arg)
{
	static const char *const sql[2] = {
		"SELECT id FROM source_properties WHERE source_id = ? "
		"AND deleted_at IS NULL",
		"SELECT id FROM target_properties WHERE target_id = ? "
		"AND deleted_at IS NULL"
	};
	sqlite3_stmt *stmt;
	int rc;

	stmt = side_stmt(db, side, sql);
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, owner);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = fn(sqlite3_column_int64(stmt, 0), arg)) != 0)
			break;
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc < 0 ? rc : sm_db_error(db, rc, "cannot read properties");
}

static const char *
col_hash(sqlite3_stmt *stmt, int col)
{
	const char *s = col_text(stmt, col);

	return s != NULL ? s : "";
}

/*
 * Every source property with the target row of the same external_id,
 * ordered by external_id.  ?1 source, ?2 target, ?3 a JSON array of
 * external_ids or NULL.
 */
#define PAIR_SQL "SELECT s.external_id, s.data, s.hash, " \
	"s.deleted_at IS NOT NULL, t.id, t.data, t.hash, t.synced_hash, " \
	"t.source_hash, t.source_id, t.deleted_at IS NOT NULL " \
	"FROM source_properties s LEFT JOIN target_properties t " \
	"ON t.target_id = ?2 AND t.external_id = s.external_id " \
	"WHERE s.source_id = ?1 AND (?3 IS NULL OR s.external_id IN " \
	"(SELECT value FROM json_each(?3))) ORDER BY s.external_id"

int
sm_prop_pairs(struct sm_db *db, int64_t source_id, int64_t target_id,
    const char *ids, int (*fn)(const struct sm_prop_pair *, void *),
    void *arg)
{
	struct sm_prop_pair p;
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, PAIR_SQL)) == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, source_id);
	sqlite3_bind_int64(stmt, 2, target_id);
	if (ids != NULL)
		sqlite3_bind_text(stmt, 3, ids, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		p.external_id = col_text(stmt, 0);
		p.source_deleted = sqlite3_column_int(stmt, 3);
		p.source_hash = col_hash(stmt, 2);
		p.source_data = col_text(stmt, 1);
		p.source_len = (size_t)sqlite3_column_bytes(stmt, 1);
		p.target_exists = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
		p.target_deleted = sqlite3_column_int(stmt, 10);
		p.target_hash = col_hash(stmt, 6);
		p.synced_hash = col_hash(stmt, 7);
		p.taken_hash = col_hash(stmt, 8);
		p.target_source_id = sqlite3_column_int64(stmt, 9);
		p.target_data = col_text(stmt, 5);
		p.target_len = (size_t)sqlite3_column_bytes(stmt, 5);
		if ((rc = fn(&p, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc < 0 ? rc : sm_db_error(db, rc, "cannot read properties");
}

/*
 * Columns: 0 external_id, 1 created after T, 2 is tombstone, 3 data now,
 * 4 the earliest snapshot taken after T (NULL: none), 5 its data,
 * 6 written after T.  ?1 owner, ?2 T, ?3 a JSON array of external_ids or
 * NULL.
 */
#define SINCE_SOURCE "SELECT p.external_id, p.created_at > ?2, " \
	"p.deleted_at IS NOT NULL, p.data, v.id, v.data, " \
	"p.updated_at > ?2 FROM source_properties p " \
	"LEFT JOIN snapshots v ON v.id = (SELECT x.id FROM snapshots x " \
	"WHERE x.source_id = p.source_id AND x.external_id = p.external_id " \
	"AND x.property_id = p.id AND x.taken_at > ?2 " \
	"ORDER BY x.taken_at, x.id LIMIT 1) " \
	"WHERE p.source_id = ?1 AND (p.created_at > ?2 OR " \
	"p.updated_at > ?2 OR v.id IS NOT NULL) AND (?3 IS NULL OR " \
	"p.external_id IN (SELECT value FROM json_each(?3))) " \
	"ORDER BY p.external_id"
#define SINCE_TARGET "SELECT p.external_id, p.created_at > ?2, " \
	"p.deleted_at IS NOT NULL, p.data, v.id, v.data, " \
	"p.updated_at > ?2 FROM target_properties p " \
	"LEFT JOIN snapshots v ON v.id = (SELECT x.id FROM snapshots x " \
	"WHERE x.target_id = p.target_id AND x.external_id = p.external_id " \
	"AND x.property_id = p.id AND x.taken_at > ?2 " \
	"ORDER BY x.taken_at, x.id LIMIT 1) " \
	"WHERE p.target_id = ?1 AND (p.created_at > ?2 OR " \
	"p.updated_at > ?2 OR v.id IS NOT NULL) AND (?3 IS NULL OR " \
	"p.external_id IN (SELECT value FROM json_each(?3))) " \
	"ORDER BY p.external_id"
static const char *const since_sql[2] = { SINCE_SOURCE, SINCE_TARGET };

int
sm_prop_since(struct sm_db *db, enum sm_side side, int64_t owner,
    int64_t since, const char *ids,
    int (*fn)(const struct sm_prop_then *, void *), void *arg)
{
	struct sm_prop_then t;
	sqlite3_stmt *stmt;
	int rc;

	stmt = side_stmt(db, side, since_sql);
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, owner);
	sqlite3_bind_int64(stmt, 2, since);
	if (ids != NULL)
		sqlite3_bind_text(stmt, 3, ids, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		t.external_id = col_text(stmt, 0);
		t.created_after = sqlite3_column_int(stmt, 1);
		t.deleted = sqlite3_column_int(stmt, 2);
		t.data = col_text(stmt, 3);
		t.len = (size_t)sqlite3_column_bytes(stmt, 3);
		t.snapshot = sqlite3_column_type(stmt, 4) != SQLITE_NULL;
		t.then = col_text(stmt, 5);
		t.thenlen = (size_t)sqlite3_column_bytes(stmt, 5);
		t.updated_after = sqlite3_column_int(stmt, 6);
		if ((rc = fn(&t, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc < 0 ? rc : sm_db_error(db, rc, "cannot read properties");
}

int
sm_snap_version(struct sm_db *db, int64_t id, struct sm_version *v)
{
	sqlite3_stmt *stmt;
	const char *s;
	int rc;

	memset(v, 0, sizeof(*v));
	stmt = sm_db_stmt(db, "SELECT source_id, target_id, property_id, "
	    "external_id, data FROM snapshots WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		v->source_id = sqlite3_column_int64(stmt, 0);
		v->target_id = sqlite3_column_int64(stmt, 1);
		v->property_id = sqlite3_column_int64(stmt, 2);
		v->external_id = sm_xstrdup(col_text(stmt, 3));
		if ((s = col_text(stmt, 4)) != NULL)
			v->data = sm_xstrdup(s);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = sm_error(SM_ENOENT, "no snapshot %lld", (long long)id);
	else
		rc = sm_db_error(db, rc, "cannot read a snapshot");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_prop_version_now(struct sm_db *db, const struct sm_version *s,
    struct sm_version *v)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(v, 0, sizeof(*v));
	stmt = sm_db_stmt(db, s->source_id != 0 ?
	    "SELECT data FROM source_properties WHERE id = ?1 AND "
	    "source_id = ?2 AND deleted_at IS NULL" :
	    "SELECT data FROM target_properties WHERE id = ?1 AND "
	    "target_id = ?2 AND deleted_at IS NULL");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, s->property_id);
	sqlite3_bind_int64(stmt, 2, s->source_id != 0 ? s->source_id :
	    s->target_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		v->data = sm_xstrdup(col_text(stmt, 0));
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read a property");
	sqlite3_reset(stmt);
	return rc;
}

void
sm_version_free(struct sm_version *v)
{
	free(v->external_id);
	free(v->data);
	memset(v, 0, sizeof(*v));
}

/*
 * The outbox (schema/007): the changes sync decided for a target with a
 * connection and sm-push has not delivered, one row per record, and the
 * hash the real system holds of each target row (the delivered table).
 */

int
sm_outbox_queue(struct sm_db *db, int64_t target_id, int64_t prop_id,
    const char *external_id, const char *action, int force, int64_t seq,
    int64_t now)
{
	sqlite3_stmt *stmt;

	/*
	 * The newest decision takes the row over and makes it pending
	 * again (a failed record changed is worth another try); it keeps
	 * its place in the queue (first_seq, queued_at) and what a
	 * delivery in progress sent.
	 */
	stmt = sm_db_stmt(db, "INSERT INTO outbox (target_id, external_id, "
	    "property_id, action, first_seq, seq, queued_at, force) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) "
	    "ON CONFLICT (target_id, external_id) DO UPDATE SET "
	    "property_id = excluded.property_id, action = excluded.action, "
	    "seq = excluded.seq, state = 'pending', error = NULL, "
	    "attempts = 0, force = excluded.force");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, prop_id);
	sqlite3_bind_text(stmt, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, seq);
	sqlite3_bind_int64(stmt, 6, now);
	sqlite3_bind_int(stmt, 7, force);
	return step_done(db, stmt, "cannot queue a change");
}

int
sm_outbox_each(struct sm_db *db, int64_t target_id, int64_t after,
    int64_t limit, int (*fn)(const struct sm_outbox_row *, void *),
    void *arg)
{
	struct sm_outbox_row r;
	sqlite3_stmt *stmt;
	int rc, stop = 0;

	/* A row whose property cleanup removed is a delete to deliver. */
	stmt = sm_db_stmt(db, "SELECT o.external_id, o.property_id, o.seq, "
	    "o.first_seq, o.action, s.hashes, p.data, p.hash, "
	    "p.id IS NULL OR p.deleted_at IS NOT NULL, d.hash, "
	    "coalesce(p.has_manual_changes, 0), p.warning, o.queued_at, "
	    "o.force FROM outbox o LEFT JOIN target_properties p "
	    "ON p.id = o.property_id LEFT JOIN delivered d "
	    "ON d.property_id = o.property_id LEFT JOIN sent s "
	    "ON s.property_id = o.property_id "
	    "WHERE o.target_id = ?1 AND o.state = 'pending' AND "
	    "o.first_seq > ?2 ORDER BY o.first_seq LIMIT ?3");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_int64(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.external_id = col_text(stmt, 0);
		r.property_id = sqlite3_column_int64(stmt, 1);
		r.seq = sqlite3_column_int64(stmt, 2);
		r.first_seq = sqlite3_column_int64(stmt, 3);
		r.action = col_text(stmt, 4);
		r.sent_hash = col_text(stmt, 5);
		r.data = col_text(stmt, 6);
		r.len = (size_t)sqlite3_column_bytes(stmt, 6);
		r.hash = col_text(stmt, 7);
		r.deleted = sqlite3_column_int(stmt, 8);
		r.delivered_hash = col_text(stmt, 9);
		r.manual = sqlite3_column_int(stmt, 10);
		r.warning = col_text(stmt, 11);
		r.queued_at = sqlite3_column_int64(stmt, 12);
		r.force = sqlite3_column_int(stmt, 13);
		if ((stop = fn(&r, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	if (stop != 0)
		return stop > 0 ? 0 : stop;
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read the outbox") : rc;
}

int
sm_sent_has(const char *list, const char *hash)
{
	size_t n = strlen(hash);
	const char *p;

	for (p = list; p != NULL && (p = strstr(p, hash)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' ||
		    p[n] == '\0'))
			return 1;
	return 0;
}

void
sm_sent_add(char **list, const char *hash)
{
	char *s;

	if (sm_sent_has(*list, hash))
		return;
	if (*list == NULL) {
		*list = sm_xstrdup(hash);
		return;
	}
	s = sm_xmalloc(strlen(*list) + strlen(hash) + 2);
	sprintf(s, "%s %s", *list, hash);
	free(*list);
	*list = s;
}

int
sm_outbox_sent(struct sm_db *db, int64_t prop_id, const char *sent_hash)
{
	sqlite3_stmt *stmt;

	if (sent_hash == NULL) {
		stmt = sm_db_stmt(db, "DELETE FROM sent WHERE property_id = ?1");
		if (stmt == NULL)
			return sm_errcode();
		sqlite3_bind_int64(stmt, 1, prop_id);
		return step_done(db, stmt, "cannot write the sent hashes");
	}
	/*
	 * Every hash sent since the last acknowledgement is kept ("h1 h2",
	 * "-" a delete): any of them may be what the target holds.  A row
	 * cleanup removed (a delete to deliver) has none: nothing can
	 * be compared with a row the target is to lose anyway.
	 */
	stmt = sm_db_stmt(db, "INSERT INTO sent (property_id, hashes) "
	    "SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM target_properties "
	    "WHERE id = ?1) ON CONFLICT (property_id) DO UPDATE SET "
	    "hashes = iif(instr(' ' || hashes || ' ', ' ' || ?2 || ' ') > 0, "
	    "hashes, hashes || ' ' || ?2)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, prop_id);
	sqlite3_bind_text(stmt, 2, sent_hash, -1, SQLITE_STATIC);
	return step_done(db, stmt, "cannot write the sent hashes");
}

int
sm_outbox_delivered(struct sm_db *db, int64_t target_id,
    const char *external_id, int64_t prop_id, int64_t seq,
    const char *hash)
{
	sqlite3_stmt *stmt;
	int rc;

	/* A row cleanup removed since is delivered with nothing to keep. */
	stmt = sm_db_stmt(db, hash != NULL ?
	    "INSERT INTO delivered (property_id, hash) SELECT ?1, ?2 "
	    "WHERE EXISTS (SELECT 1 FROM target_properties WHERE id = ?1) "
	    "ON CONFLICT (property_id) DO UPDATE SET hash = excluded.hash" :
	    "DELETE FROM delivered WHERE property_id = ?1");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, prop_id);
	if (hash != NULL)
		sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
	if ((rc = step_done(db, stmt, "cannot write a delivered hash")) != 0)
		return rc;
	/*
	 * Done, unless a sync queued a newer change since it was read:
	 * that one stays, and what the target holds is known again.
	 */
	stmt = sm_db_stmt(db, "DELETE FROM outbox WHERE target_id = ?1 AND "
	    "external_id = ?2 AND seq = ?3");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, seq);
	if ((rc = step_done(db, stmt, "cannot write the outbox")) != 0)
		return rc;
	/* Acknowledged: what was sent is known now. */
	return sm_outbox_sent(db, prop_id, NULL);
}

int
sm_outbox_fail(struct sm_db *db, int64_t target_id, const char *external_id,
    int64_t prop_id, int64_t seq, const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "UPDATE outbox SET state = iif(seq = ?3, "
	    "'failed', state), error = iif(seq = ?3, ?4, error) "
	    "WHERE target_id = ?1 AND external_id = ?2");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, seq);
	sqlite3_bind_text(stmt, 4, error, -1, SQLITE_STATIC);
	if ((rc = step_done(db, stmt, "cannot write the outbox")) != 0)
		return rc;
	/* Nothing of it was kept: the target holds what it held. */
	return sm_outbox_sent(db, prop_id, NULL);
}

int
sm_outbox_retry(struct sm_db *db, int64_t target_id, int64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "UPDATE outbox SET state = 'pending', "
	    "error = NULL, attempts = 0 WHERE state = 'failed' AND "
	    "(?1 = 0 OR target_id = ?1)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	if ((rc = step_done(db, stmt, "cannot write the outbox")) != 0)
		return rc;
	*n = sqlite3_changes64(sm_db_handle(db));
	return 0;
}

int
sm_outbox_status(struct sm_db *db, int64_t target_id,
    struct sm_outbox_status *st)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(st, 0, sizeof(*st));
	st->oldest_pending = -1;
	stmt = sm_db_stmt(db, "SELECT "
	    "count(*) FILTER (WHERE o.state = 'pending' AND "
	    "NOT coalesce(p.has_manual_changes, 0)), "
	    "count(*) FILTER (WHERE o.state = 'pending' AND "
	    "coalesce(p.has_manual_changes, 0)), "
	    "count(*) FILTER (WHERE o.state = 'failed'), "
	    "min(o.queued_at) FILTER (WHERE o.state = 'pending' AND "
	    "NOT coalesce(p.has_manual_changes, 0)) "
	    "FROM outbox o LEFT JOIN target_properties p "
	    "ON p.id = o.property_id WHERE o.target_id = ?1");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		st->pending = sqlite3_column_int64(stmt, 0);
		st->held = sqlite3_column_int64(stmt, 1);
		st->failed = sqlite3_column_int64(stmt, 2);
		if (sqlite3_column_type(stmt, 3) != SQLITE_NULL)
			st->oldest_pending = sqlite3_column_int64(stmt, 3);
		rc = 0;
	} else
		rc = sm_db_error(db, rc, "cannot read the outbox");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_outbox_pending(struct sm_db *db, int64_t target_id, int64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	/*
	 * A row's external_id is its property's (the outbox row names the
	 * target row of its key): the join then probes the outbox by its
	 * key for each flagged row, rather than a target row for each
	 * pending one.
	 */
	*n = 0;
	stmt = sm_db_stmt(db, "SELECT (SELECT count(*) FROM outbox "
	    "WHERE target_id = ?1 AND state = 'pending') - "
	    "(SELECT count(*) FROM target_properties p JOIN outbox o "
	    "ON o.target_id = p.target_id AND o.external_id = p.external_id "
	    "AND o.property_id = p.id WHERE p.target_id = ?1 AND "
	    "p.has_manual_changes AND o.state = 'pending')");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*n = sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else
		rc = sm_db_error(db, rc, "cannot read the outbox");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_outbox_failed_each(struct sm_db *db, int64_t target_id,
    int (*fn)(const char *external_id, const char *error, void *),
    void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "SELECT external_id, error FROM outbox "
	    "WHERE target_id = ?1 AND state = 'failed' ORDER BY first_seq");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = fn(col_text(stmt, 0), col_text(stmt, 1), arg)) != 0)
			break;
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read the outbox") : rc;
}

int
sm_outbox_conflict(struct sm_db *db, int64_t prop_id, const char *warning)
{
	sqlite3_stmt *stmt;

	/*
	 * Flagged, and no longer as sync wrote it (synced_hash gone), so
	 * that every sync holds it back as a manual change until someone
	 * decides, as one seen by sm-pull would be.
	 */
	stmt = sm_db_stmt(db, "UPDATE target_properties SET "
	    "has_manual_changes = 1, warning = ?2, synced_hash = NULL "
	    "WHERE id = ?1");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, prop_id);
	sqlite3_bind_text(stmt, 2, warning, -1, SQLITE_STATIC);
	return step_done(db, stmt, "cannot flag a target property");
}

/*
 * sm-pull (pull.c): what sm knows of a target row's delivery, to tell
 * what the real target holds from a manual change.
 */

int
sm_pull_delivered(struct sm_db *db, int64_t prop_id, struct sm_pull_row *r)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(r, 0, sizeof(*r));
	stmt = sm_db_stmt(db, "SELECT hash FROM delivered "
	    "WHERE property_id = ?1");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, prop_id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		copy_hash(r->delivered, stmt, 0);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read a delivered hash");
	sqlite3_reset(stmt);
	return rc;
}

int
sm_pull_outbox(struct sm_db *db, int64_t target_id, const char *external_id,
    struct sm_pull_row *r)
{
	sqlite3_stmt *stmt;
	const char *s;
	int rc;

	r->seq = 0;
	r->del = r->has_sent = 0;
	r->sent[0] = '\0';
	stmt = sm_db_stmt(db, "SELECT o.seq, o.action = 'delete', s.hashes "
	    "FROM outbox o LEFT JOIN sent s ON s.property_id = o.property_id "
	    "WHERE o.target_id = ?1 AND o.external_id = ?2");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	sqlite3_bind_text(stmt, 2, external_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r->seq = sqlite3_column_int64(stmt, 0);
		r->del = sqlite3_column_int(stmt, 1);
		s = col_text(stmt, 2);
		if (s != NULL)
			snprintf(r->sent, sizeof(r->sent), "%s", s);
		r->has_sent = s != NULL;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(db, rc, "cannot read the outbox");
	sqlite3_reset(stmt);
	return rc;
}

/*
 * Two scans in key order, each reading its pages once: the ids of the
 * target's rows (its index) into a bitmap, then the delivered hashes.  A
 * join probes one table per row of the other, in the other's order: at a
 * million rows, a page read each.
 */
int
sm_pull_delivered_ids(struct sm_db *db, enum sm_side side, int64_t target_id,
    int (*fn)(int64_t id, void *arg), void *arg)
{
	sqlite3_stmt *stmt;
	unsigned char *mine = NULL;
	size_t bits = 0, old;
	int64_t id;
	int rc;

	if (side != SM_TARGET)
		return sm_error(SM_EINTERNAL, "delivered rows of a source");
	/* Its unique index (target_id, external_id) covers it. */
	stmt = sm_db_stmt(db, "SELECT id FROM target_properties "
	    "WHERE target_id = ?1");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, target_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((id = sqlite3_column_int64(stmt, 0)) < 0)
			continue;
		if ((size_t)id >= bits) {
			old = (bits + 7) / 8;
			bits = 2 * (size_t)id + 64;
			mine = sm_xrealloc(mine, (bits + 7) / 8);
			memset(mine + old, 0, (bits + 7) / 8 - old);
		}
		mine[id / 8] |= (unsigned char)(1u << (id % 8));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(mine);
		return sm_db_error(db, rc, "cannot read properties");
	}
	stmt = sm_db_stmt(db, "SELECT property_id FROM delivered");
	if (stmt == NULL) {
		free(mine);
		return sm_errcode();
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (id < 0 || (size_t)id >= bits ||
		    (mine[id / 8] & (1u << (id % 8))) == 0)
			continue;
		if ((rc = fn(id, arg)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	free(mine);
	if (rc == SQLITE_DONE)
		return 0;
	return rc < 0 ? rc : sm_db_error(db, rc, "cannot read the delivered "
	    "hashes");
}
