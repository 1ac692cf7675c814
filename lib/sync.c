/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"

/*
 * The decision for one source property S against the target row R of the
 * same external_id (SPEC §5.3).  "manual" means R's current hash (none
 * for a tombstone) differs from synced_hash, the hash of what sync last
 * wrote or accepted (none after sync deleted it); "changed" means S.hash
 * differs from R.source_hash, the source hash sync last took or accepted
 * (none when what it took was the source's deletion).
 *
 *	S	R				op		write
 *	live	none				create		R = S
 *	live	tombstone, !manual, changed	create		R = S
 *	live	tombstone, !manual, !changed	-		-
 *	live	fed by another source		skip		flag only
 *	live	manual, changed			conflict	flag only
 *	live	manual, !changed		skip		flag only
 *	live	!manual, changed		update		R = S
 *	live	!manual, !changed		-		-
 *	gone	live, !manual			delete		tombstone R
 *	gone	live, manual			skip		flag only
 *	gone	none or tombstone		-		-
 *
 * --overwrite-manual turns every manual row into update (or delete);
 * --accept-manual makes R's current version the baseline instead.  Both
 * snapshot R before they change its data.
 */

#define WARN_CONFLICT "source has changes but target has manual modifications"
#define WARN_MANUAL "target has manual modifications"
#define WARN_GONE "source deleted it but target has manual modifications"
#define WARN_OTHER "target property is fed by another source"

struct syncer {
	struct sm_db *db;
	const struct sm_endpoint *src, *tgt;
	const struct sm_sync_opts *o;
	struct sm_sync_stats *st;
	struct sm_run *run;
	char **ignore;		/* the target's: the global list */
	size_t nignore;
	int64_t source_seq, target_seq;	/* how far the pair had got */
	int64_t *kept;		/* target rows held back by this run */
	size_t nkept, capkept;
	int kept_sorted;
	struct sm_buf data, msg;
};

struct srow {
	int64_t id;
	const char *external_id;
	const char *data;
	size_t len;
	const char *hash;
	int deleted;
	int64_t seq;
};

struct trow {
	int64_t id;
	char hash[SM_HASH_HEX];
	char synced_hash[SM_HASH_HEX];
	char source_hash[SM_HASH_HEX];
	int64_t source_id;
	int deleted;
	int64_t seq;
};

static void
text_copy(char dst[SM_HASH_HEX], sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	snprintf(dst, SM_HASH_HEX, "%s", s != NULL ? (const char *)s : "");
}

static int
find_target(struct syncer *sy, const char *ext, struct trow *r)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT id, hash, synced_hash, source_hash, "
	    "source_id, deleted_at IS NOT NULL, seq FROM target_properties "
	    "WHERE target_id = ? AND external_id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->tgt->id);
	sqlite3_bind_text(stmt, 2, ext, -1, SQLITE_STATIC);
	memset(r, 0, sizeof(*r));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(stmt, 0);
		text_copy(r->hash, stmt, 1);
		text_copy(r->synced_hash, stmt, 2);
		text_copy(r->source_hash, stmt, 3);
		r->source_id = sqlite3_column_int64(stmt, 4);
		r->deleted = sqlite3_column_int(stmt, 5);
		r->seq = sqlite3_column_int64(stmt, 6);
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(sy->db, rc, "cannot read a target property");
	sqlite3_reset(stmt);
	return rc;
}

/* The target's hash of canonical data: only the global hash_ignore. */
static int
target_hash(struct syncer *sy, const struct srow *s, char out[SM_HASH_HEX])
{
	jv v;
	int rc;

	if (sy->nignore == 0) {
		/* The data is canonical already: its hash is the hash. */
		sm_hash_hex(s->data, s->len, out);
		return 0;
	}
	v = jv_parse_sized(s->data, (int)s->len);
	if (!jv_is_valid(v)) {
		jv_free(v);
		return sm_error(SM_EDATA, "stored property '%s' does not "
		    "parse: the tenant file is damaged (sm-tenant check)",
		    s->external_id);
	}
	rc = sm_rec_digest(v, (const char *const *)sy->ignore, sy->nignore,
	    &sy->data, out);
	jv_free(v);
	return rc;
}

static int
log_event(struct syncer *sy, const struct trow *r, const char *ext,
    const char *op, const char *hash, const char *prev, const char *warning,
    int64_t seq)
{
	struct sm_prop p;

	sm_prop_init(&p, SM_TARGET, sy->tgt->id);
	p.id = r->id;
	p.seq = seq;
	p.prev_seq = r->seq;
	p.external_id = (char *)ext;
	snprintf(p.hash, sizeof(p.hash), "%s", hash != NULL ? hash : "");
	return sm_change_log(sy->run, &p, op, prev, warning);
}

static int
step(struct syncer *sy, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(sy->db, rc, what);
}

/* R = S: an insert (r->id 0), or an update that clears any manual flag. */
static int
write_target(struct syncer *sy, struct trow *r, const struct srow *s,
    const char *op)
{
	char hash[SM_HASH_HEX], prev[SM_HASH_HEX];
	sqlite3_stmt *stmt;
	int64_t seq, now = sy->run->started_at;
	int rc, insert = r->id == 0;

	if ((rc = target_hash(sy, s, hash)) != 0)
		return rc;
	if (!insert && (rc = sm_snap_take(sy->run, SM_TARGET, r->id,
	    "update", NULL, NULL)) != 0)
		return rc;
	seq = sy->run->next_seq++;
	stmt = sm_db_stmt(sy->db, insert ?
	    "INSERT INTO target_properties (target_id, external_id, data, "
	    "hash, synced_hash, source_id, source_hash, seq, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?8)" :
	    "UPDATE target_properties SET data = ?3, hash = ?4, "
	    "synced_hash = ?4, source_id = ?5, source_hash = ?6, seq = ?7, "
	    "updated_at = ?8, deleted_at = NULL, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?9");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->tgt->id);
	sqlite3_bind_text(stmt, 2, s->external_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, s->data, (int)s->len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, sy->src->id);
	sqlite3_bind_text(stmt, 6, s->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, seq);
	sqlite3_bind_int64(stmt, 8, now);
	if (!insert)
		sqlite3_bind_int64(stmt, 9, r->id);
	if ((rc = step(sy, stmt, "cannot write a target property")) != 0)
		return rc;
	if (insert)
		r->id = sqlite3_last_insert_rowid(sm_db_handle(sy->db));
	memcpy(prev, r->hash, sizeof(prev));
	if (strcmp(op, "update") == 0)
		sy->st->updated++;
	else
		sy->st->created++;
	return log_event(sy, r, s->external_id, op, hash,
	    strcmp(op, "update") == 0 ? prev : NULL, NULL, seq);
}

static int
delete_target(struct syncer *sy, struct trow *r, const struct srow *s)
{
	sqlite3_stmt *stmt;
	int64_t seq;
	int rc;

	if ((rc = sm_snap_take(sy->run, SM_TARGET, r->id, "delete", NULL,
	    NULL)) != 0)
		return rc;
	seq = sy->run->next_seq++;
	/* What sync took is the deletion: a source that comes back changed. */
	stmt = sm_db_stmt(sy->db, "UPDATE target_properties SET "
	    "deleted_at = ?1, updated_at = ?1, synced_hash = NULL, "
	    "source_hash = NULL, seq = ?2, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?3");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->run->started_at);
	sqlite3_bind_int64(stmt, 2, seq);
	sqlite3_bind_int64(stmt, 3, r->id);
	if ((rc = step(sy, stmt, "cannot delete a target property")) != 0)
		return rc;
	sy->st->deleted++;
	return log_event(sy, r, s->external_id, "delete", NULL, r->hash, NULL,
	    seq);
}

/* Keeps R, flags it and says why: a skip or a conflict. */
static int
keep_target(struct syncer *sy, struct trow *r, const char *ext,
    const char *op, const char *warning)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "UPDATE target_properties SET "
	    "has_manual_changes = ?1, warning = ?2 WHERE id = ?3");
	if (stmt == NULL)
		return SM_EINTERNAL;
	/* A row of another source is not a manual change: only warn. */
	sqlite3_bind_int(stmt, 1, r->source_id == 0 ||
	    r->source_id == sy->src->id);
	sqlite3_bind_text(stmt, 2, warning, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, r->id);
	if (r->source_id == 0 || r->source_id == sy->src->id)
		if ((rc = step(sy, stmt, "cannot flag a target property")) != 0)
			return rc;
	sqlite3_reset(stmt);
	if (sy->nkept == sy->capkept)
		sy->kept = sm_xrealloc(sy->kept, (sy->capkept = sy->capkept ?
		    2 * sy->capkept : 16) * sizeof(*sy->kept));
	sy->kept[sy->nkept++] = r->id;
	sy->kept_sorted = 0;
	sy->st->skipped++;
	sy->st->warnings++;
	if (strcmp(op, "conflict") == 0)
		sy->st->conflicts++;
	return log_event(sy, r, ext, op, r->deleted ? NULL : r->hash,
	    r->synced_hash[0] ? r->synced_hash : NULL, warning,
	    sy->run->next_seq++);
}

/* --accept-manual: R as it is becomes what sync last wrote. */
static int
accept_target(struct syncer *sy, struct trow *r, const struct srow *s)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "UPDATE target_properties SET "
	    "synced_hash = iif(deleted_at IS NULL, hash, NULL), "
	    "source_hash = ?1, source_id = ?2, has_manual_changes = 0, "
	    "warning = NULL WHERE id = ?3");
	if (stmt == NULL)
		return SM_EINTERNAL;
	if (!s->deleted)
		sqlite3_bind_text(stmt, 1, s->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, sy->src->id);
	sqlite3_bind_int64(stmt, 3, r->id);
	if ((rc = step(sy, stmt, "cannot accept a target property")) != 0)
		return rc;
	sy->st->accepted++;
	return 0;
}

enum sm_sync_op
sm_sync_decide(const struct sm_sync_case *c)
{
	const char *current = c->target_exists && !c->target_deleted ?
	    c->target_hash : "";
	int manual = c->target_exists && strcmp(current, c->synced_hash) != 0;
	int changed = strcmp(c->source_hash, c->taken_hash) != 0;

	if (c->target_exists && !c->target_deleted &&
	    c->target_source_id != 0 && c->target_source_id != c->source_id)
		return c->source_deleted ? SM_SYNC_NONE : SM_SYNC_SKIP_OTHER;
	if (c->source_deleted) {
		if (!c->target_exists || c->target_deleted)
			return SM_SYNC_NONE;
		if (manual && c->accept_manual)
			return SM_SYNC_ACCEPT;
		if (manual && !c->overwrite_manual)
			return SM_SYNC_SKIP_GONE;
		return SM_SYNC_DELETE;
	}
	/* A tombstone sync left or accepted waits for a source change. */
	if (!c->target_exists || (c->target_deleted && !manual && changed))
		return SM_SYNC_CREATE;
	if (manual) {
		if (c->overwrite_manual)
			return c->target_deleted ? SM_SYNC_CREATE :
			    SM_SYNC_UPDATE;
		if (c->accept_manual)
			return SM_SYNC_ACCEPT;
		return changed ? SM_SYNC_CONFLICT : SM_SYNC_SKIP;
	}
	return changed ? SM_SYNC_UPDATE : SM_SYNC_NONE;
}

const char *
sm_sync_op_name(enum sm_sync_op op)
{
	switch (op) {
	case SM_SYNC_CREATE: return "create";
	case SM_SYNC_UPDATE: return "update";
	case SM_SYNC_DELETE: return "delete";
	case SM_SYNC_CONFLICT: return "conflict";
	case SM_SYNC_SKIP:
	case SM_SYNC_SKIP_GONE:
	case SM_SYNC_SKIP_OTHER: return "skip";
	default: return NULL;
	}
}

const char *
sm_sync_op_warning(enum sm_sync_op op)
{
	switch (op) {
	case SM_SYNC_CONFLICT: return WARN_CONFLICT;
	case SM_SYNC_SKIP: return WARN_MANUAL;
	case SM_SYNC_SKIP_GONE: return WARN_GONE;
	case SM_SYNC_SKIP_OTHER: return WARN_OTHER;
	default: return NULL;
	}
}

static int
sync_one(struct syncer *sy, const struct srow *s)
{
	struct sm_sync_case c;
	struct trow r;
	enum sm_sync_op op;
	int rc;

	sy->st->examined++;
	if ((rc = find_target(sy, s->external_id, &r)) != 0)
		return rc;
	c.source_deleted = s->deleted;
	c.source_hash = s->hash;
	c.source_id = sy->src->id;
	c.target_exists = r.id != 0;
	c.target_deleted = r.deleted;
	c.target_hash = r.hash;
	c.synced_hash = r.synced_hash;
	c.taken_hash = r.source_hash;
	c.target_source_id = r.source_id;
	c.overwrite_manual = sy->o->overwrite_manual;
	c.accept_manual = sy->o->accept_manual;
	switch ((op = sm_sync_decide(&c))) {
	case SM_SYNC_NONE:
		sy->st->unchanged++;
		return 0;
	case SM_SYNC_CREATE:
	case SM_SYNC_UPDATE:
		return write_target(sy, &r, s, sm_sync_op_name(op));
	case SM_SYNC_DELETE:
		return delete_target(sy, &r, s);
	case SM_SYNC_ACCEPT:
		return accept_target(sy, &r, s);
	default:
		return keep_target(sy, &r, s->external_id,
		    sm_sync_op_name(op), sm_sync_op_warning(op));
	}
}

#define SOURCE_ROW "SELECT id, external_id, data, hash, " \
	"deleted_at IS NOT NULL, seq FROM source_properties "

static void
srow_fill(sqlite3_stmt *stmt, struct srow *s)
{
	s->id = sqlite3_column_int64(stmt, 0);
	s->external_id = (const char *)sqlite3_column_text(stmt, 1);
	s->data = (const char *)sqlite3_column_text(stmt, 2);
	s->len = (size_t)sqlite3_column_bytes(stmt, 2);
	s->hash = (const char *)sqlite3_column_text(stmt, 3);
	s->deleted = sqlite3_column_int(stmt, 4);
	s->seq = sqlite3_column_int64(stmt, 5);
}

/*
 * Steps stmt, bound to select one source row (SOURCE_ROW) or none, and
 * syncs the row when its seq lies in (lo, hi].  Resets stmt.
 */
static int
sync_source_row(struct syncer *sy, sqlite3_stmt *stmt, int64_t lo,
    int64_t hi)
{
	struct srow s;
	int rc;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		srow_fill(stmt, &s);
		rc = s.seq > lo && s.seq <= hi ? sync_one(sy, &s) : 0;
	} else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sm_db_error(sy->db, rc, "cannot read a source property");
	sqlite3_reset(stmt);
	return rc;
}

/*
 * Syncs the source property ext, whatever its change number, or with
 * only_unseen unless it changed since the pair's position (the pass over
 * the change log synced those already).
 */
static int
sync_id(struct syncer *sy, const char *ext, int only_unseen)
{
	sqlite3_stmt *stmt;

	/* A statement of its own: the caller may be iterating another. */
	stmt = sm_db_stmt(sy->db, SOURCE_ROW
	    "WHERE source_id = ? AND external_id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->src->id);
	sqlite3_bind_text(stmt, 2, ext, -1, SQLITE_TRANSIENT);
	return sync_source_row(sy, stmt, INT64_MIN,
	    only_unseen ? sy->source_seq : INT64_MAX);
}

/* External ids of target rows to look at once the changes are synced. */
struct idlist {
	char **v;
	size_t n, cap;
};

static void
idlist_add(struct idlist *l, const char *id)
{
	if (l->n == l->cap)
		l->v = sm_xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 16) *
		    sizeof(*l->v));
	l->v[l->n++] = sm_xstrdup(id);
}

static void
idlist_free(struct idlist *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
}

/* Sorted, each id once: a row can be both changed and flagged. */
static void
idlist_unique(struct idlist *l)
{
	size_t i, n = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), sm_strp_cmp);
	for (i = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[n]) == 0)
			free(l->v[i]);
		else
			l->v[++n] = l->v[i];
	}
	l->n = n + 1;
}

/* --overwrite-manual and --accept-manual decide every flagged row. */
static int
flagged_rows(struct syncer *sy, struct idlist *l)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT external_id FROM target_properties "
	    "WHERE target_id = ? AND has_manual_changes");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->tgt->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		idlist_add(l, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(sy->db, rc,
	    "cannot read target properties");
}

/*
 * A change of the log counts only when it is its row's latest (the one
 * the row's seq names): the earlier changes of the same row are history.
 * A source row's latest change is synced at once.
 */
static int
source_change(struct syncer *sy, int64_t id, int64_t seq)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(sy->db, SOURCE_ROW "WHERE id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, id);
	return sync_source_row(sy, stmt, seq - 1, seq);
}

/*
 * A target row's latest change is noted: the row is looked at after the
 * source's changes, unless one of those took care of it (a write gives
 * the row a new seq, so a later change row of it no longer counts).
 */
static int
target_change(struct syncer *sy, int64_t id, int64_t seq, struct idlist *l)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT external_id FROM target_properties "
	    "WHERE id = ? AND seq = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		idlist_add(l, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sm_db_error(sy->db, rc, "cannot read a target property");
}

static int
read_state(struct syncer *sy)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT source_seq, target_seq FROM "
	    "sync_state WHERE source_id = ? AND target_id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->src->id);
	sqlite3_bind_int64(stmt, 2, sy->tgt->id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sy->source_seq = sqlite3_column_int64(stmt, 0);
		sy->target_seq = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sm_db_error(sy->db, rc, "cannot read the sync state");
}

/* Everything up to this run's own writes has been seen by the pair. */
static int
write_state(struct syncer *sy)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(sy->db, "INSERT INTO sync_state (source_id, "
	    "target_id, source_seq, target_seq, last_run_id) "
	    "VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (source_id, target_id) "
	    "DO UPDATE SET source_seq = ?3, target_seq = ?3, last_run_id = ?4");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->src->id);
	sqlite3_bind_int64(stmt, 2, sy->tgt->id);
	sqlite3_bind_int64(stmt, 3, sy->run->next_seq - 1);
	sqlite3_bind_int64(stmt, 4, sy->run->id);
	return step(sy, stmt, "cannot write the sync state");
}

/* Changes read from the log at a time: no cursor stays open on it. */
#define CHANGE_BATCH 4096

struct change {
	int64_t seq;
	int64_t property_id;
	int target;
};

/*
 * Reads the next batch of the pair's changes after *from (up to this
 * run's own first number) into batch; *n gets how many.
 */
static int
read_changes(struct syncer *sy, int64_t from, struct change *batch,
    size_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT seq, target_id IS NOT NULL, "
	    "property_id FROM changes WHERE seq > ?1 AND seq < ?2 "
	    "AND (source_id = ?3 OR target_id = ?4) ORDER BY seq LIMIT ?5");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, from);
	sqlite3_bind_int64(stmt, 2, sy->run->first_seq);
	sqlite3_bind_int64(stmt, 3, sy->src->id);
	sqlite3_bind_int64(stmt, 4, sy->tgt->id);
	sqlite3_bind_int(stmt, 5, CHANGE_BATCH);
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		batch[*n].seq = sqlite3_column_int64(stmt, 0);
		batch[*n].target = sqlite3_column_int(stmt, 1);
		batch[*n].property_id = sqlite3_column_int64(stmt, 2);
		(*n)++;
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(sy->db, rc,
	    "cannot read the change log");
}

/*
 * What changed since the pair last ran, found in the change log (a range
 * of its primary key): the source's changes are synced in their order,
 * then the target rows that changed on their own are looked at.
 */
static int
sync_changed(struct syncer *sy)
{
	struct change *batch;
	struct idlist later;
	int64_t from = sy->source_seq < sy->target_seq ? sy->source_seq :
	    sy->target_seq, first = from;
	size_t n, i;
	int rc = 0;

	memset(&later, 0, sizeof(later));
	if (sy->o->overwrite_manual || sy->o->accept_manual)
		rc = flagged_rows(sy, &later);
	batch = sm_xcalloc(CHANGE_BATCH, sizeof(*batch));
	while (rc == 0 && (rc = read_changes(sy, from, batch, &n)) == 0) {
		if (sy->o->progress != NULL && n > 0)
			sy->o->progress(sy->st->examined, (double)(batch[0].seq -
			    first) / (double)(sy->run->first_seq - first),
			    sy->o->arg);
		for (i = 0; rc == 0 && i < n; i++) {
			if ((rc = sm_interrupt_check()) != 0)
				break;
			if (batch[i].target && batch[i].seq > sy->target_seq)
				rc = target_change(sy, batch[i].property_id,
				    batch[i].seq, &later);
			else if (!batch[i].target &&
			    batch[i].seq > sy->source_seq)
				rc = source_change(sy, batch[i].property_id,
				    batch[i].seq);
		}
		if (n < CHANGE_BATCH)
			break;
		from = batch[n - 1].seq;
	}
	free(batch);
	idlist_unique(&later);
	for (i = 0; rc == 0 && i < later.n; i++)
		if ((rc = sm_interrupt_check()) == 0)
			rc = sync_id(sy, later.v[i], 1);
	idlist_free(&later);
	return rc;
}

static int
id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* 1 when this run has held target row id back already. */
static int
kept_already(struct syncer *sy, int64_t id)
{
	if (!sy->kept_sorted) {
		if (sy->nkept > 0)
			qsort(sy->kept, sy->nkept, sizeof(*sy->kept), id_cmp);
		sy->kept_sorted = 1;
	}
	return sy->nkept > 0 && bsearch(&id, sy->kept, sy->nkept,
	    sizeof(*sy->kept), id_cmp) != NULL;
}

/*
 * Manual changes stay flagged on the target until someone decides, and
 * every run holds them back again (SPEC §5.3: warnings keeps the
 * original's meaning): each flagged row of the pair that the change pass
 * did not meet is decided again, which gives it its skip or conflict
 * event and counts it in skipped and warnings, so that a daily job
 * alerts for as long as any is left.  The flagged rows are found through
 * their partial index (schema/005): O(flagged), whatever the size of the
 * target.  A partial run (--id) looks at its ids only.
 */
static int
report_flagged(struct syncer *sy)
{
	sqlite3_stmt *stmt;
	struct idlist l;
	size_t i;
	int rc;

	if (sy->o->ids != NULL)
		return 0;
	stmt = sm_db_stmt(sy->db, "SELECT id, external_id "
	    "FROM target_properties WHERE target_id = ? AND has_manual_changes "
	    "AND (source_id IS NULL OR source_id = ?)");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->tgt->id);
	sqlite3_bind_int64(stmt, 2, sy->src->id);
	memset(&l, 0, sizeof(l));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (!kept_already(sy, sqlite3_column_int64(stmt, 0)))
			idlist_add(&l, (const char *)sqlite3_column_text(stmt,
			    1));
	sqlite3_reset(stmt);
	rc = rc == SQLITE_DONE ? 0 : sm_db_error(sy->db, rc,
	    "cannot read flagged properties");
	/* Decided after the walk: a decision writes to the rows walked. */
	for (i = 0; rc == 0 && i < l.n; i++)
		if ((rc = sm_interrupt_check()) == 0)
			rc = sync_id(sy, l.v[i], 0);
	idlist_free(&l);
	return rc;
}

/* The flagged rows of the pair left after the run (its stats' flagged). */
static int
count_flagged(struct syncer *sy)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(sy->db, "SELECT count(*) FROM target_properties "
	    "WHERE target_id = ? AND has_manual_changes "
	    "AND (source_id IS NULL OR source_id = ?)");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, sy->tgt->id);
	sqlite3_bind_int64(stmt, 2, sy->src->id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		sy->st->flagged = (uint64_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : sm_db_error(sy->db, rc,
	    "cannot count flagged properties");
}

void
sm_sync_stats_json(const struct sm_sync_stats *st, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "created", (int64_t)st->created);
	sm_jw_int(b, "updated", (int64_t)st->updated);
	sm_jw_int(b, "deleted", (int64_t)st->deleted);
	sm_jw_int(b, "unchanged", (int64_t)st->unchanged);
	sm_jw_int(b, "skipped", (int64_t)st->skipped);
	sm_jw_int(b, "warnings", (int64_t)st->warnings);
	sm_jw_int(b, "conflicts", (int64_t)st->conflicts);
	sm_jw_int(b, "accepted", (int64_t)st->accepted);
	sm_jw_int(b, "flagged", (int64_t)st->flagged);
	sm_jw_int(b, "examined", (int64_t)st->examined);
	sm_buf_addc(b, '}');
}

int
sm_sync(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *source, const struct sm_endpoint *target,
    const struct sm_sync_opts *o, struct sm_sync_stats *st,
    struct sm_run *run)
{
	struct syncer sy;
	size_t i;
	int rc, began = 0;

	memset(&sy, 0, sizeof(sy));
	memset(st, 0, sizeof(*st));
	memset(run, 0, sizeof(*run));
	if (o->overwrite_manual && o->accept_manual)
		return sm_error(SM_EUSAGE, "--overwrite-manual and "
		    "--accept-manual exclude each other");
	sy.db = db;
	sy.src = source;
	sy.tgt = target;
	sy.o = o;
	sy.st = st;
	sy.run = run;
	sy.ignore = sm_ignore_list(cfg, NULL, &sy.nignore);
	sm_buf_init(&sy.data);
	sm_buf_init(&sy.msg);
	if ((rc = sm_db_begin(db)) != 0)
		goto out;
	began = 1;
	if ((rc = sm_run_begin(db, run, "sync", source, target)) != 0 ||
	    (rc = read_state(&sy)) != 0)
		goto out;
	if (o->ids != NULL) {
		/* A partial run: the pair's position does not move. */
		for (i = 0; o->ids[i] != NULL && rc == 0; i++)
			if ((rc = sm_interrupt_check()) == 0)
				rc = sync_id(&sy, o->ids[i], 0);
	} else if ((rc = sync_changed(&sy)) == 0)
		rc = write_state(&sy);
	if (rc != 0)
		goto out;
	if ((rc = report_flagged(&sy)) != 0 ||
	    (rc = count_flagged(&sy)) != 0)
		goto out;
	sm_sync_stats_json(st, &sy.msg);
	rc = sm_run_finish(run, "success", sy.msg.data, NULL);
out:
	if (began)
		rc = sm_run_end(db, run, rc, o->dry_run, o->done, o->arg);
	sm_strv_free(sy.ignore);
	free(sy.kept);
	sm_buf_free(&sy.data);
	sm_buf_free(&sy.msg);
	return rc;
}
