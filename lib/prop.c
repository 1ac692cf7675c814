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
		return SM_EINTERNAL;
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
		return SM_EINTERNAL;
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
		return SM_EINTERNAL;
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
		return SM_EINTERNAL;
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
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, seq);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, "cannot log a change");
}

int
sm_snap_drop_run(struct sm_run *run, const struct sm_prop *p, const char *key,
    size_t n)
{
	sqlite3_stmt *stmt;
	int rc;

	/* By external_id, which the snapshot indexes lead with. */
	stmt = sm_db_stmt(run->db, p->side == SM_SOURCE ?
	    "DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
	    "AND source_id = ?3 AND external_id = ?4" :
	    "DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
	    "AND target_id = ?3 AND external_id = ?4");
	if (stmt == NULL)
		return SM_EINTERNAL;
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
	sqlite3_stmt *stmt;
	int rc;

	*max = 0;
	stmt = sm_db_stmt(db, side == SM_SOURCE ?
	    "SELECT coalesce(max(id), 0) FROM source_properties" :
	    "SELECT coalesce(max(id), 0) FROM target_properties");
	if (stmt == NULL)
		return SM_EINTERNAL;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*max = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

int
sm_prop_live_ids(struct sm_db *db, enum sm_side side, int64_t owner,
    int (*fn)(int64_t id, void *arg), void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, side == SM_SOURCE ?
	    "SELECT id FROM source_properties WHERE source_id = ? "
	    "AND deleted_at IS NULL" :
	    "SELECT id FROM target_properties WHERE target_id = ? "
	    "AND deleted_at IS NULL");
	if (stmt == NULL)
		return SM_EINTERNAL;
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
col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s != NULL ? (const char *)s : NULL;
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

int
sm_prop_since(struct sm_db *db, enum sm_side side, int64_t owner,
    int64_t since, const char *ids,
    int (*fn)(const struct sm_prop_then *, void *), void *arg)
{
	struct sm_prop_then t;
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, side == SM_SOURCE ? SINCE_SOURCE : SINCE_TARGET);
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
		return SM_EINTERNAL;
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
