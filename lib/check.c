/* See LICENSE file for copyright and license details. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"

char **
sm_ignore_list(const struct sm_config *cfg, const struct sm_endpoint *e,
    size_t *n)
{
	size_t i, k = 0, ne = e != NULL ? e->nhash_ignore : 0;
	char **v;

	v = sm_xcalloc(cfg->nhash_ignore + ne + 1, sizeof(*v));
	for (i = 0; i < cfg->nhash_ignore; i++)
		v[k++] = sm_xstrdup(cfg->hash_ignore[i]);
	for (i = 0; i < ne; i++)
		v[k++] = sm_xstrdup(e->hash_ignore[i]);
	*n = k;
	return v;
}

struct checker {
	struct sm_db *db;
	const struct sm_config *cfg;
	int (*found)(const char *, void *);
	void *arg;
	struct sm_buf out, data;
	int nfound;
	int rc;
};

static int
report(struct checker *c, const char *check, const char *where,
    const char *external_id, int64_t id, const char *message)
{
	sm_jw_begin(&c->out);
	sm_jw_str(&c->out, "tenant", sm_db_slug(c->db));
	sm_jw_str(&c->out, "check", check);
	if (where != NULL)
		sm_jw_str(&c->out, "where", where);
	if (external_id != NULL)
		sm_jw_str(&c->out, "external_id", external_id);
	if (id >= 0)
		sm_jw_int(&c->out, "id", id);
	sm_jw_str(&c->out, "message", message);
	sm_jw_end(&c->out);
	c->nfound++;
	return c->found(c->out.data, c->arg);
}

static int
pragma_rows(struct checker *c, const char *sql, const char *check)
{
	sqlite3_stmt *stmt;
	struct sm_buf msg;
	int rc, i, ncol;

	if ((stmt = sm_db_stmt(c->db, sql)) == NULL)
		return SM_EINTERNAL;
	sm_buf_init(&msg);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ncol = sqlite3_column_count(stmt);
		sm_buf_reset(&msg);
		for (i = 0; i < ncol; i++) {
			const unsigned char *s = sqlite3_column_text(stmt, i);

			sm_buf_addf(&msg, "%s%s", i ? " " : "",
			    s ? (const char *)s : "null");
		}
		if (strcmp(msg.data, "ok") == 0)
			continue;
		if ((rc = report(c, check, NULL, NULL, -1, msg.data)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	sm_buf_free(&msg);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(c->db, rc, check) : rc;
}

static int
meta_is(struct checker *c, const char *key, const char *want)
{
	char *got = sm_db_meta_get(c->db, key), msg[256];
	int rc = 0;

	if (got == NULL || strcmp(got, want) != 0) {
		snprintf(msg, sizeof(msg), "meta '%s' is '%s', expected '%s'",
		    key, got ? got : "(missing)", want);
		rc = report(c, "meta", NULL, NULL, -1, msg);
	}
	free(got);
	return rc;
}

/* Recomputes canonical form and hash of one stored row. */
static int
check_row(struct checker *c, const char *what, const char *where,
    sqlite3_stmt *stmt, char *const *ignore, size_t nignore)
{
	const char *data = (const char *)sqlite3_column_text(stmt, 2);
	const char *hash = (const char *)sqlite3_column_text(stmt, 3);
	const char *ext = (const char *)sqlite3_column_text(stmt, 1);
	int64_t id = sqlite3_column_int64(stmt, 0);
	struct sm_json_err jerr;
	char got[SM_HASH_HEX];
	jv v;

	if (data == NULL)	/* a snapshot of an absent property */
		return 0;
	if (sm_json_parse(data, (size_t)sqlite3_column_bytes(stmt, 2), &v,
	    &jerr) != 0)
		return report(c, what, where, ext, id, jerr.reason);
	if (sm_rec_digest(v, (const char *const *)ignore, nignore, &c->data,
	    got) != 0) {
		jv_free(v);
		return report(c, what, where, ext, id, sm_errmsg());
	}
	jv_free(v);
	if (strcmp(c->data.data, data) != 0)
		return report(c, what, where, ext, id,
		    "stored data is not in canonical form");
	if (hash == NULL || strcmp(got, hash) != 0)
		return report(c, what, where, ext, id, "stored hash does not "
		    "match the data (was hash_ignore changed?)");
	return 0;
}

static int
check_rows(struct checker *c, const char *what, const char *sql,
    int64_t owner, const char *where, char *const *ignore, size_t nignore)
{
	sqlite3_stmt *stmt;
	int rc;

	/* Prepared here, not cached: the caller's statement is still live. */
	rc = sqlite3_prepare_v2(sm_db_handle(c->db), sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return sm_db_error(c->db, rc, "cannot prepare a check");
	sqlite3_bind_int64(stmt, 1, owner);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = check_row(c, what, where, stmt, ignore, nignore)) != 0)
			break;
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(c->db, rc, what) : rc;
}

static int
check_source(struct sm_endpoint *e, void *arg)
{
	struct checker *c = arg;
	size_t n;
	char **ignore = sm_ignore_list(c->cfg, e, &n);
	int rc;

	rc = check_rows(c, "source_property", "SELECT id, external_id, data, "
	    "hash FROM source_properties WHERE source_id = ?", e->id, e->name,
	    ignore, n);
	if (rc == 0)
		rc = check_rows(c, "snapshot", "SELECT id, external_id, data, "
		    "hash FROM snapshots WHERE source_id = ?", e->id, e->name,
		    ignore, n);
	sm_strv_free(ignore);
	return rc;
}

static int
check_target(struct sm_endpoint *e, void *arg)
{
	struct checker *c = arg;
	size_t n;
	char **ignore = sm_ignore_list(c->cfg, NULL, &n);
	int rc;

	rc = check_rows(c, "target_property", "SELECT id, external_id, data, "
	    "hash FROM target_properties WHERE target_id = ?", e->id, e->name,
	    ignore, n);
	if (rc == 0)
		rc = check_rows(c, "snapshot", "SELECT id, external_id, data, "
		    "hash FROM snapshots WHERE target_id = ?", e->id, e->name,
		    ignore, n);
	sm_strv_free(ignore);
	return rc;
}

static int
check_orphans(struct checker *c)
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
		"SELECT 'run ' || id || ' is still marked running' FROM runs "
		    "WHERE status = 'running'",
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if ((rc = pragma_rows(c, sql[i], "orphan")) != 0)
			return rc;
	return 0;
}

/*
 * The change log against what it names: a property's latest change (its
 * seq, the one change that cleanup always keeps) carries the hash the
 * property has now, or none for a deletion that left a tombstone.  (A
 * prev_hash is not checked against the change before: a sync's is the
 * target's hash as it found it, which a manual edit may have changed
 * without a change row.)
 */
static int
check_changes(struct checker *c)
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
	size_t i;
	int rc;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if ((rc = pragma_rows(c, sql[i], "change_log")) != 0)
			return rc;
	return 0;
}

int
sm_tenant_check(struct sm_db *db, const struct sm_config *cfg,
    int (*found)(const char *json, void *), void *arg)
{
	struct checker c;
	char canon[8];
	int rc;

	memset(&c, 0, sizeof(c));
	c.db = db;
	c.cfg = cfg;
	c.found = found;
	c.arg = arg;
	sm_buf_init(&c.out);
	sm_buf_init(&c.data);
	snprintf(canon, sizeof(canon), "%d", SM_CANON_VERSION);
	if ((rc = sm_db_exec(db, "BEGIN")) != 0)
		goto out;
	/* Each step runs only while the previous ones succeeded. */
	(void)((rc = pragma_rows(&c, "PRAGMA integrity_check", "integrity")) ||
	    (rc = pragma_rows(&c, "PRAGMA foreign_key_check", "foreign_key")) ||
	    (rc = meta_is(&c, "slug", sm_db_slug(db))) ||
	    (rc = meta_is(&c, "canonical_version", canon)) ||
	    (rc = meta_is(&c, "hash_algorithm", SM_HASH_ALGORITHM)) ||
	    (rc = sm_endpoint_each(db, SM_SOURCE, check_source, &c)) ||
	    (rc = sm_endpoint_each(db, SM_TARGET, check_target, &c)) ||
	    (rc = check_orphans(&c)) ||
	    (rc = check_changes(&c)));
	sm_db_rollback(db);
out:
	sm_buf_free(&c.out);
	sm_buf_free(&c.data);
	if (rc == 0 && c.nfound > 0)
		rc = sm_error(SM_EDATA, "tenant '%s': %d problem%s found",
		    sm_db_slug(db), c.nfound, c.nfound == 1 ? "" : "s");
	return rc;
}
