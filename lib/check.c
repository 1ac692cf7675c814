/* See LICENSE file for copyright and license details. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

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
		return sm_errcode();
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
    const struct sm_prop_row *r, char *const *ignore, size_t nignore)
{
	struct sm_json_err jerr;
	char got[SM_HASH_HEX];
	jv v;

	if (r->data == NULL)	/* a snapshot of an absent property */
		return 0;
	if (sm_json_parse(r->data, r->len, &v, &jerr) != 0)
		return report(c, what, where, r->external_id, r->id,
		    jerr.reason);
	if (sm_rec_digest(v, (const char *const *)ignore, nignore, &c->data,
	    got) != 0) {
		jv_free(v);
		return report(c, what, where, r->external_id, r->id,
		    sm_errmsg());
	}
	jv_free(v);
	if (strcmp(c->data.data, r->data) != 0)
		return report(c, what, where, r->external_id, r->id,
		    "stored data is not in canonical form");
	if (r->hash == NULL || strcmp(got, r->hash) != 0)
		return report(c, what, where, r->external_id, r->id,
		    "stored hash does not match the data (was hash_ignore "
		    "changed?)");
	return 0;
}

/* The rows of one check_rows() pass. */
struct rows {
	struct checker *c;
	const char *what, *where;
	char **ignore;
	size_t nignore;
};

static int
row_fn(const struct sm_prop_row *r, void *arg)
{
	struct rows *k = arg;

	return check_row(k->c, k->what, k->where, r, k->ignore, k->nignore);
}

/* Checks every row (or snapshot) of e, with e's hash_ignore (or none). */
static int
check_rows(struct checker *c, struct sm_endpoint *e, int snapshots,
    const char *what)
{
	struct rows k;
	int rc;

	k.c = c;
	k.what = what;
	k.where = e->name;
	k.ignore = sm_ignore_list(c->cfg, e->side == SM_SOURCE ? e : NULL,
	    &k.nignore);
	rc = sm_prop_each_stored(c->db, e->side, e->id, snapshots, what,
	    row_fn, &k);
	sm_strv_free(k.ignore);
	return rc;
}

static int
check_source(struct sm_endpoint *e, void *arg)
{
	struct checker *c = arg;
	int rc;

	if ((rc = check_rows(c, e, 0, "source_property")) == 0)
		rc = check_rows(c, e, 1, "snapshot");
	return rc;
}

static int
check_target(struct sm_endpoint *e, void *arg)
{
	struct checker *c = arg;
	int rc;

	if ((rc = check_rows(c, e, 0, "target_property")) == 0)
		rc = check_rows(c, e, 1, "snapshot");
	return rc;
}

static int
orphan(const char *msg, void *arg)
{
	return report(arg, "orphan", NULL, NULL, -1, msg);
}

static int
check_orphans(struct checker *c)
{
	int rc;

	if ((rc = sm_prop_orphans(c->db, orphan, c)) != 0)
		return rc;
	return pragma_rows(c, "SELECT 'run ' || id || ' is still marked "
	    "running' FROM runs WHERE status = 'running'", "orphan");
}

/* The change log against the rows it names (store.c says what it checks). */
static int
log_mismatch(const char *msg, void *arg)
{
	return report(arg, "change_log", NULL, NULL, -1, msg);
}

static int
check_changes(struct checker *c)
{
	return sm_change_log_check(c->db, log_mismatch, c);
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
