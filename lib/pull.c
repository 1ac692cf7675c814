/* See LICENSE file for copyright and license details. */
/*
 * pull.c: a target's real system read back as its observed state (SPEC
 * §5.9).  It is sm-import -t --complete over the driver's list: the
 * records go through the one record loop (records.c: form, hash) and
 * import.c's write path (snapshot first, change log, one transaction, a
 * run of kind pull); the hooks below decide what is a manual change.
 *
 * Of a record the target holds, with hash h, against its target row R
 * ("own": R holds what sync wrote, i.e. not an observed version already
 * flagged or to be flagged; D the hash last delivered; S the hashes a
 * push sent and did not see acknowledged):
 *
 *	R		h			what pull does
 *	none		-			foreign: reported, left alone
 *	own		= D			nothing (a pending change of R
 *						is not an edit)
 *	any		in S			the delivery landed: D = h;
 *						its outbox row done when h is
 *						R's version; own: nothing more
 *	own, live	= R's hash		delivered by other means: D = h,
 *						its outbox row done
 *	otherwise	-			a manual change: imported (R
 *						snapshotted first); the next
 *						sync flags it, push holds it
 *
 * and of a row with a delivered hash whose record the target lacks:
 *
 *	R		outbox			what pull does
 *	tombstone, own	-			the delete landed: D gone, its
 *						outbox row done
 *	any		S holds a delete	the same (D gone)
 *	tombstone	-			D gone (the target holds none)
 *	live		-			deleted by hand: D gone, R a
 *						tombstone flagged as manual
 *
 * Records never delivered and absent are no deletions.  An item that is
 * no record (a file that does not parse) is a reject, and then, as with
 * sm-import --complete, nothing is taken as deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"

struct puller {
	struct sm_db *db;
	const struct sm_endpoint *t;
	const struct sm_pull_opts *o;
	struct sm_pull_stats *st;
	const struct sm_driver *drv;
	void *d;
	struct sm_records *loop;	/* during the list */
	struct sm_buf why;
	struct sm_prop row;
};

/* Whether a push sent version hash ("-": a delete) of w's row. */
static int
sent_has(const struct sm_pull_row *w, const char *hash)
{
	return w->has_sent && sm_sent_has(w->sent, hash);
}

/* R holds what sync wrote (sync.c's "manual", negated). */
static int
own(const struct sm_prop *r)
{
	return strcmp(r->deleted_at >= 0 ? "" : r->hash, r->synced_hash) == 0;
}

/*
 * The target holds version hash (NULL: nothing) of row id: delivered;
 * the outbox row goes when done (it holds that very change).
 */
static int
confirm(struct puller *p, int64_t id, const char *key,
    const struct sm_pull_row *w, int done, const char *hash)
{
	return sm_outbox_delivered(p->db, p->t->id, key, id,
	    done && w->seq != 0 ? w->seq : -1, hash);
}

static int
gate(const struct sm_record *rec, const struct sm_prop *r, void *arg)
{
	struct puller *p = arg;
	struct sm_pull_row w;
	int rc, mine, live, landed;

	if (r->id == 0) {
		p->st->foreign++;
		if (p->o->foreign != NULL &&
		    (rc = p->o->foreign(rec->key, rec->hash, p->o->arg)) != 0)
			return rc < 0 ? rc : SM_EINTERNAL;
		return 1;
	}
	if ((rc = sm_pull_delivered(p->db, r->id, &w)) != 0)
		return rc;
	mine = own(r);
	live = r->deleted_at < 0;
	if (mine && strcmp(rec->hash, w.delivered) == 0)
		return 1;
	if ((rc = sm_pull_outbox(p->db, p->t->id, rec->key, &w)) != 0)
		return rc;
	landed = sent_has(&w, rec->hash);
	if (landed || (mine && live && strcmp(rec->hash, r->hash) == 0)) {
		p->st->confirmed++;
		if ((rc = confirm(p, r->id, rec->key, &w, live && !w.del &&
		    strcmp(rec->hash, r->hash) == 0, rec->hash)) != 0)
			return rc;
		if (mine)
			return 1;
	}
	return 0;
}

static int
absent(int64_t id, void *arg)
{
	struct puller *p = arg;
	struct sm_pull_row w;
	int rc, dead, landed;

	if ((rc = sm_prop_get_id(p->db, &p->row, id)) < 0)
		return rc;
	if (rc == 0)
		return 1;
	if ((rc = sm_pull_delivered(p->db, id, &w)) != 0 ||
	    (rc = sm_pull_outbox(p->db, p->t->id, p->row.external_id,
	    &w)) != 0)
		return rc;
	dead = p->row.deleted_at >= 0;
	landed = sent_has(&w, "-") || (dead && own(&p->row));
	if (landed)
		p->st->confirmed++;
	/* Whatever follows, the target holds nothing of it now. */
	if ((rc = confirm(p, id, p->row.external_id, &w, dead && w.del &&
	    landed, NULL)) != 0)
		return rc;
	return dead || landed;
}

/* One item of the driver's list into the record loop. */
static int
item(const struct sm_drec *r, void *arg)
{
	struct puller *p = arg;

	return sm_records_feed(p->loop, r->external_id, r->data,
	    r->data != NULL ? r->len : 0, r->error);
}

static int
feed(struct sm_records *l, void *arg)
{
	struct puller *p = arg;
	int rc;

	p->loop = l;
	sm_buf_reset(&p->why);
	rc = p->drv->list(p->d, item, p, &p->why);
	p->loop = NULL;
	if (rc <= 0)
		return rc;
	if (rc == SM_TRANSIENT)
		return sm_error(SM_EBUSY, "target '%s' is unreachable: %s "
		    "(nothing was written)", p->t->name, p->why.data != NULL ?
		    p->why.data : "");
	return sm_error(SM_EIO, "target '%s' cannot be read: %s (nothing "
	    "was written)", p->t->name, p->why.data != NULL ? p->why.data :
	    "");
}

void
sm_pull_stats_json(const struct sm_pull_stats *st, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "records", (int64_t)st->records);
	sm_jw_int(b, "created", (int64_t)st->created);
	sm_jw_int(b, "updated", (int64_t)st->updated);
	sm_jw_int(b, "unchanged", (int64_t)st->unchanged);
	sm_jw_int(b, "deleted", (int64_t)st->deleted);
	sm_jw_int(b, "rejected", (int64_t)st->rejected);
	sm_jw_int(b, "foreign", (int64_t)st->foreign);
	sm_jw_int(b, "confirmed", (int64_t)st->confirmed);
	sm_buf_addc(b, '}');
}

/* The import's counts into the pull's. */
static void
take(struct sm_pull_stats *st, const struct sm_import_stats *im)
{
	st->records = im->records;
	st->created = im->created;
	st->updated = im->updated;
	st->unchanged = im->unchanged;
	st->deleted = im->deleted;
	st->rejected = im->rejected;
}

static void
stats(const struct sm_import_stats *im, struct sm_buf *b, void *arg)
{
	struct puller *p = arg;

	take(p->st, im);
	sm_pull_stats_json(p->st, b);
}

static void
progress(uint64_t bytes, int64_t total, uint64_t records, void *arg)
{
	const struct sm_pull_opts *o = arg;

	(void)bytes;
	(void)total;
	o->progress(records, o->arg);
}

/* The import's done, under the pull's argument. */
static int
done(struct sm_db *db, const struct sm_run *run, void *arg)
{
	const struct sm_pull_opts *o = arg;

	return o->done != NULL ? o->done(db, run, o->arg) : 0;
}

static int
reject(const struct sm_reject *j, void *arg)
{
	const struct sm_pull_opts *o = arg;

	return o->reject != NULL ? o->reject(j, o->arg) : 0;
}

static void
warn(const struct sm_warning *w, void *arg)
{
	const struct sm_pull_opts *o = arg;

	if (o->warn != NULL)
		o->warn(w, o->arg);
}

int
sm_pull(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, const struct sm_pull_opts *o,
    struct sm_pull_stats *st, struct sm_run *run)
{
	struct sm_import_hooks h;
	struct sm_import_opts io;
	struct sm_import_stats ist;
	struct sm_conn c;
	struct puller p;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(run, 0, sizeof(*run));
	if (!sm_conn_has(cfg, t))
		return sm_error(SM_ECONFIG, "target '%s' has no connection: "
		    "sm-pull reads only a target with one (its config's %s)",
		    t->name, strcmp(t->type, "website") == 0 ||
		    strcmp(t->type, "file") == 0 ? "path" : "url");
	if ((rc = sm_conn_open(cfg, t, &c)) != 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.db = db;
	p.t = t;
	p.o = o;
	p.st = st;
	p.drv = sm_driver_of(&c);
	sm_buf_init(&p.why);
	sm_prop_init(&p.row, SM_TARGET, t->id);
	/* Reached before the tenant is locked: a dead target costs no lock. */
	if ((rc = p.drv->open(&p.d, &c, &p.why)) != 0) {
		p.d = NULL;
		if (rc == SM_TRANSIENT)
			rc = sm_error(SM_EBUSY, "target '%s' is unreachable: "
			    "%s (nothing was written)", t->name,
			    p.why.data != NULL ? p.why.data : "");
		else if (rc > 0)
			rc = sm_error(SM_ECONFIG, "target '%s': %s", t->name,
			    p.why.data != NULL ? p.why.data : "");
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.kind = "pull";
	h.feed = feed;
	h.gate = gate;
	h.rows = sm_pull_delivered_ids;
	h.absent = absent;
	h.stats = stats;
	h.arg = &p;
	memset(&io, 0, sizeof(io));
	io.complete = 1;
	io.dry_run = o->dry_run;
	io.allow_mass_delete = o->allow_mass_delete;
	io.reject = reject;
	io.warn = warn;
	io.progress = o->progress != NULL ? progress : NULL;
	io.done = done;
	io.arg = (void *)o;
	rc = sm_import_with(db, cfg, t, &h, &io, &ist, run);
	take(st, &ist);
out:
	if (p.d != NULL)
		p.drv->close(p.d);
	sm_prop_free(&p.row);
	sm_conn_free(&c);
	sm_buf_free(&p.why);
	return rc;
}
