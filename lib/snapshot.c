/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

/*
 * The version of a property at time T (SPEC §5.5).  Every write of a
 * property first snapshots the version it replaces, with taken_at the time
 * of the write, so:
 *
 *	the row's created_at > T	absent (created after T)
 *	snapshots of the row with	the earliest of them (by taken_at,
 *	taken_at > T			then id); data NULL: absent
 *	none of them			the row as it is now; a tombstone:
 *					absent
 *
 * A "take" snapshot records the version current when it was taken; being
 * later than T it can only be the earliest when nothing was written in
 * between, so it gives the right answer too.  A point-in-time restore
 * writes this version into every row where it differs from the row.
 * The statements that find the version are store.c's (sm_prop_versions).
 */

static const char *
side_key(enum sm_side side)
{
	return side == SM_SOURCE ? "source" : "target";
}

/* The external_ids as a JSON array in b, or NULL when there are none. */
static const char *
ids_json(char *const *ids, size_t nids, struct sm_buf *b)
{
	size_t i;

	if (nids == 0)
		return NULL;
	sm_buf_reset(b);
	sm_buf_addc(b, '[');
	for (i = 0; i < nids; i++) {
		if (i > 0)
			sm_buf_addc(b, ',');
		sm_buf_add_jstr(b, ids[i], strlen(ids[i]));
	}
	sm_buf_addc(b, ']');
	return b->data;
}

static const char *
col_text(sqlite3_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

struct cat {
	enum sm_side side;
	struct sm_buf b;
	FILE *f;
};

static int
cat_one(const struct sm_prop_view *v, void *arg)
{
	struct cat *c = arg;

	if (!v->present)
		return 0;
	sm_prop_record(&c->b, c->side, v);
	return sm_jw_put(&c->b, c->f);
}

int
sm_snap_cat(struct sm_db *db, const struct sm_endpoint *e, char *const *ids,
    size_t nids, int manual, int64_t at, FILE *f)
{
	struct sm_buf idb;
	struct cat c;
	int rc;

	sm_buf_init(&idb);
	sm_buf_init(&c.b);
	c.side = e->side;
	c.f = f;
	rc = sm_prop_versions(db, e, ids_json(ids, nids, &idb), manual, at,
	    cat_one, &c);
	sm_buf_free(&c.b);
	sm_buf_free(&idb);
	return rc;
}

struct cat_page {
	enum sm_side side;
	struct sm_buf b;
	int (*fn)(int64_t, const char *, size_t, void *);
	void *arg;
};

static int
cat_page_one(const struct sm_prop_view *v, void *arg)
{
	struct cat_page *c = arg;

	sm_prop_record(&c->b, c->side, v);
	return c->fn(v->id, c->b.data, c->b.len, c->arg);
}

int
sm_snap_cat_page(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, int64_t after, int64_t limit,
    int (*fn)(int64_t, const char *, size_t, void *), void *arg)
{
	struct cat_page c;
	int rc;

	c.side = e->side;
	c.fn = fn;
	c.arg = arg;
	sm_buf_init(&c.b);
	rc = sm_prop_page(db, e, manual, id, after, limit, cat_page_one, &c);
	sm_buf_free(&c.b);
	return rc;
}

/* A snapshot record of the list (SPEC §5.5), or of show with full. */
static void
snap_record(const struct sm_snap_rec *r, int with_data, int full,
    struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "id", r->id);
	sm_jw_str(b, r->is_source ? "source" : "target", r->owner_name);
	sm_jw_str(b, "external_id", r->external_id);
	sm_jw_str(b, "hash", r->hash);
	sm_jw_str(b, "reason", r->reason);
	sm_jw_str(b, "label", r->label);
	sm_jw_time(b, "taken_at", r->taken_at);
	if (with_data)
		sm_jw_raw(b, "data", r->data);
	if (full) {
		sm_jw_int(b, "property_id", r->property_id);
		if (r->run_id == 0)
			sm_jw_null(b, "run");
		else
			sm_jw_int(b, "run", r->run_id);
	}
	sm_jw_end(b);
}

struct snap_printer {
	struct sm_buf b;
	int with_data, full;
	FILE *f;
};

static int
print_snap(const struct sm_snap_rec *r, void *arg)
{
	struct snap_printer *p = arg;

	snap_record(r, p->with_data, p->full, &p->b);
	return sm_jw_put(&p->b, p->f);
}

int
sm_snap_list(struct sm_db *db, const struct sm_snap_query *q, FILE *f)
{
	struct snap_printer p;
	struct sm_buf idb;
	int rc;

	sm_buf_init(&p.b);
	sm_buf_init(&idb);
	p.with_data = q->with_data;
	p.full = 0;
	p.f = f;
	rc = sm_snap_each(db, q, ids_json(q->ids, q->nids, &idb), print_snap,
	    &p);
	sm_buf_free(&p.b);
	sm_buf_free(&idb);
	return rc;
}

int
sm_snap_show(struct sm_db *db, int64_t id, FILE *f)
{
	struct snap_printer p;
	int rc;

	sm_buf_init(&p.b);
	p.with_data = p.full = 1;
	p.f = f;
	rc = sm_snap_rec_get(db, id, print_snap, &p);
	sm_buf_free(&p.b);
	return rc;
}

int
sm_snap_endpoint(struct sm_db *db, int64_t id, struct sm_endpoint *e)
{
	struct sm_snap s;
	char ref[24];
	int rc;

	if ((rc = sm_snap_get(db, id, &s)) != 0)
		return rc;
	snprintf(ref, sizeof(ref), "%lld", (long long)s.owner);
	rc = sm_endpoint_get(db, s.side, ref, e);
	sm_snap_free(&s);
	return rc;
}

int
sm_snap_take_all(struct sm_db *db, const struct sm_endpoint *e,
    const char *label, int dry_run, int64_t *n, int64_t *taken_at)
{
	int rc;

	*n = 0;
	*taken_at = sm_now();
	if ((rc = sm_db_begin(db)) != 0)
		return rc;
	if ((rc = sm_snap_take_live(db, e, label, *taken_at, n)) != 0) {
		sm_db_rollback(db);
		return rc;
	}
	if (sm_interrupted()) {
		sm_db_rollback(db);
		return sm_error(SM_EINTR, "interrupted: nothing was written");
	}
	if (dry_run) {
		sm_db_rollback(db);
		return 0;
	}
	if ((rc = sm_db_commit(db)) != 0)
		sm_db_rollback(db);
	else
		sm_signals_committed();
	return rc;
}

/*
 * The row state a restore replaced (snapshots.row_state), which --undo
 * puts back with the data: updated_at, deleted_at (-1: live) and, for a
 * target row, its sync bookkeeping.
 */
struct prior {
	int64_t updated_at;
	int64_t deleted_at;
	char synced_hash[SM_HASH_HEX];
	int64_t source_id;
	char source_hash[SM_HASH_HEX];
	int manual;
	char *warning;
};

/*
 * Writes a version into row p: data and hash, or a tombstone when data is
 * NULL.  p->id 0 means there is no row any more: one is created with p's
 * external_id.  Unless the row holds that version already, the current
 * version is snapshotted first (reason "restore"; for a row created here,
 * a snapshot of its absence is taken once it has an id), the change gets a
 * new number and is logged ("restore", or "delete" for a tombstone), and a
 * target row is marked as a manual change with warning.  With pr (--undo)
 * the row gets pr's times and bookkeeping instead of the run's time and
 * the manual mark, and a target's event carries the warning it gets back.
 */
static int
restore_row(struct sm_run *run, struct sm_prop *p, const char *data,
    const char *hash, const char *warning, const struct prior *pr,
    struct sm_restore_stats *st)
{
	char prev[SM_HASH_HEX];
	const char *op;
	int rc, created = p->id == 0, live = p->id != 0 && p->deleted_at < 0;

	if ((data == NULL && !live) || (data != NULL && live &&
	    strcmp(p->data, data) == 0 && strcmp(p->hash, hash) == 0)) {
		st->unchanged++;
		return 0;
	}
	if (!created && (rc = sm_snap_take(run, p->side, p->id, "restore",
	    NULL, NULL)) != 0)
		return rc;
	snprintf(prev, sizeof(prev), "%s", live ? p->hash : "");
	if (data == NULL) {
		op = "delete";
		p->deleted_at = pr != NULL && pr->deleted_at >= 0 ?
		    pr->deleted_at : run->started_at;
		st->deleted++;
	} else {
		op = "restore";
		free(p->data);
		p->data = sm_xstrdup(data);
		snprintf(p->hash, sizeof(p->hash), "%s", hash);
		p->deleted_at = -1;
		st->restored++;
	}
	if (created)
		p->created_at = run->started_at;
	p->updated_at = pr != NULL ? pr->updated_at : run->started_at;
	p->seq = run->next_seq++;
	if (p->side == SM_TARGET && pr != NULL) {
		p->manual = pr->manual;
		memcpy(p->synced_hash, pr->synced_hash, sizeof(p->synced_hash));
		p->source_id = pr->source_id;
		memcpy(p->source_hash, pr->source_hash, sizeof(p->source_hash));
		free(p->warning);
		p->warning = pr->warning != NULL ? sm_xstrdup(pr->warning) :
		    NULL;
		warning = pr->warning;
	} else if (p->side == SM_TARGET) {
		p->manual = 1;
		free(p->warning);
		p->warning = sm_xstrdup(warning);
	}
	if ((rc = sm_prop_put(run->db, p)) != 0)
		return rc;
	if (created && (rc = sm_snap_absent(run, p)) != 0)
		return rc;
	return sm_change_log(run, p, op, prev[0] != '\0' ? prev : NULL,
	    p->side == SM_TARGET ? warning : NULL);
}

/*
 * Loads into p the row a snapshot of external_id was taken of: by id
 * while that row still holds the property, else by external_id (the row
 * was removed and maybe created anew); p->id is 0 when there is none.
 */
static int
find_row(struct sm_db *db, struct sm_prop *p, int64_t id,
    const char *external_id)
{
	int rc;

	if ((rc = sm_prop_get_id(db, p, id)) < 0)
		return rc;
	if (rc == 1 && strcmp(p->external_id, external_id) == 0)
		return 0;
	rc = sm_prop_get(db, p, external_id, strlen(external_id));
	if (rc == 0)
		p->external_id = sm_xstrdup(external_id);
	return rc < 0 ? rc : 0;
}

static int
restore_snapshot(struct sm_run *run, const struct sm_endpoint *e,
    int64_t id, struct sm_restore_stats *st)
{
	struct sm_prop p;
	struct sm_snap s;
	char warning[64];
	int rc;

	if ((rc = sm_snap_get(run->db, id, &s)) != 0)
		return rc;
	if (s.side != e->side || s.owner != e->id) {
		sm_snap_free(&s);
		return sm_error(SM_ENOENT, "snapshot %lld is not of %s '%s'",
		    (long long)id, side_key(e->side), e->name);
	}
	sm_prop_init(&p, s.side, s.owner);
	snprintf(warning, sizeof(warning), "restored from snapshot %lld",
	    (long long)id);
	if ((rc = find_row(run->db, &p, s.property_id, s.external_id)) == 0)
		rc = restore_row(run, &p, s.data, s.hash, warning, NULL, st);
	sm_prop_free(&p);
	sm_snap_free(&s);
	return rc;
}

/* The rows whose version at a time differs from what they hold now. */
struct diffs {
	struct {
		int64_t prop_id;
		int64_t snap_id;	/* 0: absent (created after) */
	} *v;
	size_t n, cap;
	uint64_t deletes;	/* of them, live rows absent at that time */
	struct sm_restore_stats *st;
};

static int
collect(const struct sm_prop_view *v, void *arg)
{
	struct diffs *d = arg;

	if (v->present == v->cur_present && (!v->present ||
	    (strcmp(v->data, v->cur_data) == 0 &&
	    strcmp(v->hash, v->cur_hash) == 0))) {
		if (v->present)
			d->st->unchanged++;
		return 0;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->v = sm_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->n].prop_id = v->id;
	d->v[d->n++].snap_id = v->snap_id;
	if (!v->present)
		d->deletes++;
	return 0;
}

/*
 * The guards of a point-in-time restore (SPEC §5.5): a time before the
 * first record of e (its earliest row) would give back nothing, and more
 * deletes than max_delete_ratio of e's live rows need allow_mass_delete.
 * Returns 0 or SM_EDATA with the message.
 */
static int
guard_at(struct sm_db *db, const struct sm_endpoint *e,
    const struct sm_restore_opts *o, const struct diffs *d)
{
	char t[SM_TIME_MAX], first[SM_TIME_MAX];
	int64_t n;
	int rc;

	if ((rc = sm_prop_first_created(db, e->side, e->id, &n)) != 0)
		return rc;
	if (n >= 0 && o->at < n) {
		sm_time_format(o->at, t);
		sm_time_format(n, first);
		return sm_error(SM_EDATA, "restore to %s is before the first "
		    "record of %s '%s': nothing written (the earliest time "
		    "there is: %s)", t, side_key(e->side), e->name, first);
	}
	if (d->deletes == 0 || o->allow_mass_delete)
		return 0;
	if ((rc = sm_prop_count(db, e->side, e->id, 0, &n)) != 0)
		return rc;
	if (!sm_delete_guard(d->deletes, (uint64_t)n, o->max_delete_ratio))
		return 0;
	sm_time_format(o->at, t);
	return sm_error(SM_EDATA, "restore to %s would delete %llu of %lld "
	    "properties of '%s', more than max_delete_ratio %g allows: "
	    "nothing written (use {allow_mass_delete} if this is right)", t,
	    (unsigned long long)d->deletes, (long long)n, e->name,
	    o->max_delete_ratio);
}

static int
restore_at(struct sm_run *run, const struct sm_endpoint *e,
    const struct sm_restore_opts *o, const char *ids,
    struct sm_restore_stats *st)
{
	struct diffs d;
	struct sm_prop p;
	struct sm_snap s;
	char warning[SM_TIME_MAX + 48], t[SM_TIME_MAX];
	size_t i;
	int rc;

	memset(&d, 0, sizeof(d));
	d.st = st;
	/* Collected first: the writes move rows in the index scanned. */
	if ((rc = sm_prop_versions(run->db, e, ids, 0, o->at, collect,
	    &d)) != 0 ||
	    (rc = guard_at(run->db, e, o, &d)) != 0) {
		free(d.v);
		return rc;
	}
	sm_time_format(o->at, t);
	sm_prop_init(&p, e->side, e->id);
	memset(&s, 0, sizeof(s));
	for (i = 0; i < d.n && rc == 0; i++) {
		if (o->progress != NULL && i % 1024 == 0)
			o->progress(i, (double)i / (double)d.n, o->arg);
		if ((rc = sm_interrupt_check()) != 0)
			break;
		if ((rc = sm_prop_get_id(run->db, &p, d.v[i].prop_id)) < 0)
			break;
		if (rc == 0) {
			rc = sm_error(SM_EINTERNAL, "property %lld vanished",
			    (long long)d.v[i].prop_id);
			break;
		}
		if (d.v[i].snap_id != 0) {
			if ((rc = sm_snap_get(run->db, d.v[i].snap_id,
			    &s)) != 0)
				break;
			snprintf(warning, sizeof(warning), "restored from "
			    "snapshot %lld", (long long)s.id);
		} else
			snprintf(warning, sizeof(warning), "restored to %s: "
			    "created after it", t);
		rc = restore_row(run, &p, s.data, s.hash, warning, NULL, st);
		sm_snap_free(&s);
	}
	sm_prop_free(&p);
	free(d.v);
	return rc;
}

/* A row a restore run changed and what it held before, for --undo. */
struct undo_row {
	int64_t prop_id;
	char *external_id;
	char *data;		/* NULL: absent */
	char hash[SM_HASH_HEX];
	int has_prior;		/* the snapshot kept the row's state */
	struct prior pr;
};

struct undo {
	struct undo_row *v;
	size_t n, cap;
};

static void
undo_free(struct undo *u)
{
	size_t i;

	for (i = 0; i < u->n; i++) {
		free(u->v[i].external_id);
		free(u->v[i].data);
		free(u->v[i].pr.warning);
	}
	free(u->v);
}

static int
undo_add(const struct sm_snap_undo *s, void *arg)
{
	struct undo *u = arg;
	struct undo_row *r;

	if (u->n == u->cap) {
		u->cap = u->cap ? 2 * u->cap : 64;
		u->v = sm_xrealloc(u->v, u->cap * sizeof(*u->v));
	}
	r = &u->v[u->n++];
	memset(r, 0, sizeof(*r));
	r->prop_id = s->property_id;
	r->external_id = sm_xstrdup(s->external_id);
	if (s->data != NULL)
		r->data = sm_xstrndup(s->data, s->len);
	snprintf(r->hash, sizeof(r->hash), "%s", s->hash != NULL ? s->hash :
	    "");
	if ((r->has_prior = s->has_state) == 0)
		return 0;
	r->pr.updated_at = s->updated_at;
	r->pr.deleted_at = s->deleted_at;
	snprintf(r->pr.synced_hash, sizeof(r->pr.synced_hash), "%s",
	    s->synced_hash != NULL ? s->synced_hash : "");
	r->pr.source_id = s->source_id;
	snprintf(r->pr.source_hash, sizeof(r->pr.source_hash), "%s",
	    s->source_hash != NULL ? s->source_hash : "");
	r->pr.manual = s->manual;
	if (s->warning != NULL)
		r->pr.warning = sm_xstrdup(s->warning);
	return 0;
}

/* Loads the restore snapshots of run id, started at started, into u. */
static int
undo_load(struct sm_db *db, const struct sm_endpoint *e, int64_t id,
    int64_t started, struct undo *u)
{
	return sm_snap_restore_each(db, e, id, started, undo_add, u);
}

/*
 * Whether row p, which run id changed, was changed since by another run:
 * its last change is not the one run id made.  Fills who with which run
 * when so ("changed by run 12 (import)").  Returns 1, 0, or an error of the store.
 */
static int
changed_since(struct sm_db *db, const struct sm_prop *p, int64_t id,
    char *who, size_t n)
{
	char kind[16];
	int64_t by;
	int rc;

	if ((rc = sm_change_run(db, p->seq, &by, kind, sizeof(kind))) != 0)
		return rc;
	if (by != 0)
		snprintf(who, n, "changed by run %lld (%s)", (long long)by,
		    kind);
	else
		snprintf(who, n, "changed by a run no longer logged");
	return by != id;
}

/*
 * --undo: every row restore run id changed gets back the version, times
 * and bookkeeping it had just before that run, from the run's own restore
 * snapshots.  Refused (SM_EDATA, nothing written) when the run did not
 * succeed, when sm-cleanup has removed some of its snapshots or rows, or
 * when a row was changed by another run since: undoing would throw that
 * change away, which a point-in-time restore does knowingly.
 */
static int
restore_undo(struct sm_run *run, const struct sm_endpoint *e, int64_t id,
    struct sm_restore_stats *st)
{
	sqlite3_stmt *stmt;
	struct undo u;
	struct sm_prop p;
	char who[64], warning[64], more[48], *status = NULL, *first = NULL;
	int64_t started = 0, changed = 0;
	size_t i, nconflict = 0;
	int rc;

	stmt = sm_db_stmt(run->db, "SELECT status, started_at, "
	    "coalesce(json_extract(stats, '$.restored'), 0) + "
	    "coalesce(json_extract(stats, '$.deleted'), 0) FROM runs "
	    "WHERE id = ?1 AND kind = 'restore' AND (source_id = ?2 "
	    "OR target_id = ?3)");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, e->side == SM_SOURCE ? e->id : 0);
	sqlite3_bind_int64(stmt, 3, e->side == SM_TARGET ? e->id : 0);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		status = sm_xstrdup(col_text(stmt, 0));
		started = sqlite3_column_int64(stmt, 1);
		changed = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW) {
		free(status);
		return rc == SQLITE_DONE ? sm_error(SM_ENOENT, "no restore run "
		    "%lld of %s '%s'", (long long)id, side_key(e->side),
		    e->name) : sm_db_error(run->db, rc, "cannot read the run log");
	}
	if (strcmp(status, "success") != 0) {
		rc = sm_error(SM_EDATA, "restore run %lld %s: it changed "
		    "nothing, so there is nothing to undo", (long long)id,
		    strcmp(status, "running") == 0 ? "is running" : status);
		free(status);
		return rc;
	}
	free(status);
	memset(&u, 0, sizeof(u));
	if ((rc = undo_load(run->db, e, id, started, &u)) != 0)
		goto out;
	if ((int64_t)u.n < changed) {
		rc = sm_error(SM_EDATA, "sm-cleanup has removed %lld of the "
		    "%lld snapshots of restore run %lld: it cannot be undone "
		    "(use {restore_at} to go back to a point in time)",
		    (long long)(changed - (int64_t)u.n), (long long)changed,
		    (long long)id);
		goto out;
	}
	/* Checked before anything is written, to name every conflict. */
	sm_prop_init(&p, e->side, e->id);
	for (i = 0; i < u.n; i++) {
		if ((rc = sm_prop_get_id(run->db, &p, u.v[i].prop_id)) < 0)
			break;
		if (rc == 0)
			snprintf(who, sizeof(who), "removed by sm-cleanup");
		else if ((rc = changed_since(run->db, &p, id, who,
		    sizeof(who))) < 0)
			break;
		if (rc == 0)
			continue;
		if (nconflict++ == 0) {
			first = sm_xmalloc(strlen(u.v[i].external_id) +
			    strlen(who) + 32);
			sprintf(first, "'%s' was %s",
			    u.v[i].external_id, who);
		}
	}
	if (rc >= 0 && nconflict > 0) {
		more[0] = '\0';
		if (nconflict > 1)
			snprintf(more, sizeof(more), " (and %zu more rows "
			    "since)", nconflict - 1);
		rc = sm_error(SM_EDATA, "cannot undo restore run %lld: %s "
		    "after it%s: nothing written (use {restore_at} to go "
		    "back to a point in time instead)", (long long)id, first,
		    more);
	}
	for (i = 0, rc = rc < 0 ? rc : 0; i < u.n && rc == 0; i++) {
		if ((rc = sm_interrupt_check()) != 0)
			break;
		if ((rc = sm_prop_get_id(run->db, &p, u.v[i].prop_id)) < 0)
			break;
		snprintf(warning, sizeof(warning), "undo of restore run %lld",
		    (long long)id);
		rc = restore_row(run, &p, u.v[i].data, u.v[i].hash, warning,
		    u.v[i].has_prior ? &u.v[i].pr : NULL, st);
	}
	sm_prop_free(&p);
out:
	free(first);
	undo_free(&u);
	return rc;
}

int
sm_restore_run_endpoint(struct sm_db *db, int64_t id, struct sm_endpoint *e)
{
	sqlite3_stmt *stmt;
	char kind[16], ref[24];
	int64_t source = 0, target = 0;
	int rc;

	stmt = sm_db_stmt(db, "SELECT kind, source_id, target_id FROM runs "
	    "WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		snprintf(kind, sizeof(kind), "%s", col_text(stmt, 0));
		source = sqlite3_column_int64(stmt, 1);
		target = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return sm_error(SM_ENOENT, "no run %lld in tenant '%s'",
		    (long long)id, sm_db_slug(db));
	if (rc != SQLITE_ROW)
		return sm_db_error(db, rc, "cannot read the run log");
	if (strcmp(kind, "restore") != 0)
		return sm_error(SM_ENOENT, "run %lld is %s %s, not a restore: "
		    "only a restore can be undone", (long long)id,
		    kind[0] == 'i' ? "an" : "a", kind);
	if (source == 0 && target == 0)
		return sm_error(SM_ENOENT, "the source or target of restore "
		    "run %lld was removed", (long long)id);
	snprintf(ref, sizeof(ref), "%lld", (long long)(source != 0 ? source :
	    target));
	return sm_endpoint_get(db, source != 0 ? SM_SOURCE : SM_TARGET, ref, e);
}

void
sm_restore_stats_json(const struct sm_restore_stats *st, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "restored", (int64_t)st->restored);
	sm_jw_int(b, "deleted", (int64_t)st->deleted);
	sm_jw_int(b, "unchanged", (int64_t)st->unchanged);
	sm_buf_addc(b, '}');	/* an object, not a line */
}

int
sm_snap_restore(struct sm_db *db, const struct sm_endpoint *e,
    const struct sm_restore_opts *o, struct sm_restore_stats *st,
    struct sm_run *run)
{
	struct sm_buf b;
	int rc, began = 0;

	memset(st, 0, sizeof(*st));
	memset(run, 0, sizeof(*run));
	sm_buf_init(&b);
	if ((rc = sm_db_begin(db)) != 0)
		goto out;
	began = 1;
	if ((rc = sm_run_begin(db, run, "restore",
	    e->side == SM_SOURCE ? e : NULL,
	    e->side == SM_TARGET ? e : NULL)) != 0)
		goto out;
	if (o->undo > 0)
		rc = restore_undo(run, e, o->undo, st);
	else if (o->snapshot > 0)
		rc = restore_snapshot(run, e, o->snapshot, st);
	else
		rc = restore_at(run, e, o, ids_json(o->ids, o->nids, &b), st);
	if (rc != 0)
		goto out;
	if (sm_interrupted()) {
		rc = sm_error(SM_EINTR, "interrupted: nothing was written");
		goto out;
	}
	sm_restore_stats_json(st, &b);
	rc = sm_run_finish(run, "success", b.data, NULL);
out:
	if (began)
		rc = sm_run_end(db, run, rc, o->dry_run, o->done, o->arg);
	sm_buf_free(&b);
	return rc;
}
