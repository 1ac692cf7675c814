/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"

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
	int outbox;		/* the target has a connection: queue changes */
	int force;		/* this change overwrites a manual one */
	struct sm_buf data, msg;
};

/* A source row (struct sm_prop_row) and its target row: store.c's. */

/* The target's hash of canonical data: only the global hash_ignore. */
static int
target_hash(struct syncer *sy, const struct sm_prop_row *s,
    char out[SM_HASH_HEX])
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
log_event(struct syncer *sy, const struct sm_target_row *r, const char *ext,
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

/* R = S: an insert (r->id 0), or an update that clears any manual flag. */
static int
write_target(struct syncer *sy, struct sm_target_row *r,
    const struct sm_prop_row *s, const char *op)
{
	char hash[SM_HASH_HEX], prev[SM_HASH_HEX];
	int64_t seq;
	int rc, insert = r->id == 0;

	if ((rc = target_hash(sy, s, hash)) != 0)
		return rc;
	if (!insert && (rc = sm_snap_take(sy->run, SM_TARGET, r->id,
	    "update", NULL, NULL)) != 0)
		return rc;
	seq = sy->run->next_seq++;
	if ((rc = sm_prop_sync_write(sy->db, sy->tgt->id, &r->id, s, hash,
	    sy->src->id, seq, sy->run->started_at)) != 0)
		return rc;
	memcpy(prev, r->hash, sizeof(prev));
	if (sy->outbox && (rc = sm_outbox_queue(sy->db, sy->tgt->id, r->id,
	    s->external_id, op, sy->force, seq, sy->run->started_at)) != 0)
		return rc;
	if (strcmp(op, "update") == 0)
		sy->st->updated++;
	else
		sy->st->created++;
	return log_event(sy, r, s->external_id, op, hash,
	    strcmp(op, "update") == 0 ? prev : NULL, NULL, seq);
}

static int
delete_target(struct syncer *sy, struct sm_target_row *r,
    const struct sm_prop_row *s)
{
	int64_t seq;
	int rc;

	if ((rc = sm_snap_take(sy->run, SM_TARGET, r->id, "delete", NULL,
	    NULL)) != 0)
		return rc;
	seq = sy->run->next_seq++;
	if ((rc = sm_prop_sync_delete(sy->db, r->id, seq,
	    sy->run->started_at)) != 0)
		return rc;
	if (sy->outbox && (rc = sm_outbox_queue(sy->db, sy->tgt->id, r->id,
	    s->external_id, "delete", sy->force, seq,
	    sy->run->started_at)) != 0)
		return rc;
	sy->st->deleted++;
	return log_event(sy, r, s->external_id, "delete", NULL, r->hash, NULL,
	    seq);
}

/* Keeps R, flags it and says why: a skip or a conflict. */
static int
keep_target(struct syncer *sy, struct sm_target_row *r, const char *ext,
    const char *op, const char *warning)
{
	int rc;

	/* A row of another source is not a manual change: only warn. */
	if ((r->source_id == 0 || r->source_id == sy->src->id) &&
	    (rc = sm_prop_flag(sy->db, r->id, warning)) != 0)
		return rc;
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
accept_target(struct syncer *sy, struct sm_target_row *r,
    const struct sm_prop_row *s)
{
	int rc;

	if ((rc = sm_prop_sync_accept(sy->db, r->id, s->deleted ? NULL :
	    s->hash, sy->src->id)) != 0)
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
sync_one(struct syncer *sy, const struct sm_prop_row *s)
{
	struct sm_sync_case c;
	struct sm_target_row r;
	enum sm_sync_op op;
	int rc;

	sy->st->examined++;
	if ((rc = sm_prop_target_row(sy->db, sy->tgt->id, s->external_id,
	    &r)) != 0)
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
	/* --overwrite-manual over a manual change: the push overwrites too. */
	sy->force = sy->o->overwrite_manual && r.id != 0 &&
	    strcmp(r.deleted ? "" : r.hash, r.synced_hash) != 0;
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

/* A source row's seq must lie in (lo, hi] for it to be synced. */
struct seq_range {
	struct syncer *sy;
	int64_t lo, hi;
};

static int
sync_in_range(const struct sm_prop_row *s, void *arg)
{
	struct seq_range *r = arg;

	return s->seq > r->lo && s->seq <= r->hi ? sync_one(r->sy, s) : 0;
}

/*
 * Syncs the source property ext, whatever its change number, or with
 * only_unseen unless it changed since the pair's position (the pass over
 * the change log synced those already).
 */
static int
sync_id(struct syncer *sy, const char *ext, int only_unseen)
{
	struct seq_range r = { sy, INT64_MIN,
	    only_unseen ? sy->source_seq : INT64_MAX };

	return sm_prop_source_row(sy->db, sy->src->id, ext, sync_in_range, &r);
}

/* External ids of target rows to look at once the changes are synced. */
struct idlist {
	char **v;
	size_t n, cap;
};

/* Adds id, which the list takes. */
static void
idlist_push(struct idlist *l, char *id)
{
	if (l->n == l->cap)
		l->v = sm_xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 16) *
		    sizeof(*l->v));
	l->v[l->n++] = id;
}

static void
idlist_add(struct idlist *l, const char *id)
{
	idlist_push(l, sm_xstrdup(id));
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

static int
add_flagged(const char *ext, void *arg)
{
	idlist_add(arg, ext);
	return 0;
}

/* --overwrite-manual and --accept-manual decide every flagged row. */
static int
flagged_rows(struct syncer *sy, struct idlist *l)
{
	return sm_prop_flagged_each(sy->db, sy->tgt->id, add_flagged, l);
}

/*
 * A change of the log counts only when it is its row's latest (the one
 * the row's seq names): the earlier changes of the same row are history.
 * A source row's latest change is synced at once.
 */
static int
source_change(struct syncer *sy, int64_t id, int64_t seq)
{
	struct seq_range r = { sy, seq - 1, seq };

	return sm_prop_source_row_id(sy->db, id, sync_in_range, &r);
}

/*
 * A target row's latest change is noted: the row is looked at after the
 * source's changes, unless one of those took care of it (a write gives
 * the row a new seq, so a later change row of it no longer counts).
 */
static int
target_change(struct syncer *sy, int64_t id, int64_t seq, struct idlist *l)
{
	char *ext;
	int rc;

	if ((rc = sm_prop_target_at_seq(sy->db, id, seq, &ext)) != 0)
		return rc;
	if (ext != NULL)
		idlist_push(l, ext);
	return 0;
}

static int
read_state(struct syncer *sy)
{
	return sm_change_pos_get(sy->db, sy->src->id, sy->tgt->id,
	    &sy->source_seq, &sy->target_seq);
}

/* Everything up to this run's own writes has been seen by the pair. */
static int
write_state(struct syncer *sy)
{
	return sm_change_pos_put(sy->db, sy->src->id, sy->tgt->id,
	    sy->run->next_seq - 1, sy->run->id);
}

/* Changes read from the log at a time: no cursor stays open on it. */
#define CHANGE_BATCH 4096

/*
 * What changed since the pair last ran, found in the change log (a range
 * of its primary key): the source's changes are synced in their order,
 * then the target rows that changed on their own are looked at.
 */
static int
sync_changed(struct syncer *sy)
{
	struct sm_change *batch;
	struct idlist later;
	int64_t from = sy->source_seq < sy->target_seq ? sy->source_seq :
	    sy->target_seq, first = from;
	size_t n, i;
	int rc = 0;

	memset(&later, 0, sizeof(later));
	if (sy->o->overwrite_manual || sy->o->accept_manual)
		rc = flagged_rows(sy, &later);
	batch = sm_xcalloc(CHANGE_BATCH, sizeof(*batch));
	while (rc == 0 && (rc = sm_change_read(sy->db, from,
	    sy->run->first_seq, sy->src->id, sy->tgt->id, batch, CHANGE_BATCH,
	    &n)) == 0) {
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

/* The flagged rows of the pair that this run has not held back yet. */
struct flagged {
	struct syncer *sy;
	struct idlist l;
};

static int
add_unkept(int64_t id, const char *ext, void *arg)
{
	struct flagged *f = arg;

	if (!kept_already(f->sy, id))
		idlist_add(&f->l, ext);
	return 0;
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
	struct flagged f = { sy, { NULL, 0, 0 } };
	size_t i;
	int rc;

	if (sy->o->ids != NULL)
		return 0;
	rc = sm_prop_flagged_pair_each(sy->db, sy->src->id, sy->tgt->id,
	    add_unkept, &f);
	/* Decided after the walk: a decision writes to the rows walked. */
	for (i = 0; rc == 0 && i < f.l.n; i++)
		if ((rc = sm_interrupt_check()) == 0)
			rc = sync_id(sy, f.l.v[i], 0);
	idlist_free(&f.l);
	return rc;
}

/* The flagged rows of the pair left after the run (its stats' flagged). */
static int
count_flagged(struct syncer *sy)
{
	return sm_prop_flagged_count(sy->db, sy->src->id, sy->tgt->id,
	    &sy->st->flagged);
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
		return sm_error(SM_EUSAGE, "{overwrite_manual} and "
		    "{accept_manual} exclude each other");
	sy.db = db;
	sy.src = source;
	sy.tgt = target;
	sy.o = o;
	sy.st = st;
	sy.run = run;
	sy.ignore = sm_ignore_list(cfg, NULL, &sy.nignore);
	/* Without a connection a target is bookkeeping: no outbox. */
	sy.outbox = sm_conn_has(cfg, target);
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
