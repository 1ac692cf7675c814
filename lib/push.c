/* See LICENSE file for copyright and license details. */
/*
 * push.c: a target's outbox delivered to its real system (SPEC §5.8).
 *
 * The outbox holds one row per record with a change to deliver; the
 * version delivered is the target row as it is when the push reads it,
 * so a record is delivered once however often it changed, and never in
 * an older version than one delivered before.  Oldest first, in batches:
 *
 *	sm:	the batch's hashes noted as sent (one transaction)
 *	target:	begin, put or del each record, commit
 *	sm:	each record delivered, failed or flagged (one transaction)
 *
 * A record is marked delivered only after the target's commit.  Killed
 * between the two, the next push sends it again: the operations are
 * idempotent, and the target's compare before write accepts a row that
 * holds what was sent (the noted hashes) as well as what was last
 * delivered.  The verdicts (driver.h):
 *
 *	0		delivered
 *	SM_TRANSIENT	the batch again after a backoff, push.retries times,
 *			then left pending (SM_EBUSY: exit 75)
 *	SM_PERMANENT	the batch again in halves, and so on down to the
 *			record at fault: it is failed with the reason, the
 *			others go on (in batches still)
 *	SM_CONFLICT	the target no longer holds what was delivered: the
 *			row is flagged as a manual change, the change held
 *
 * A change of a flagged row is held: not delivered, reported (held)
 * every push until someone decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"

#define BATCH		4096	/* a batch pays 3 commits: fewer, larger ones */
/*
 * A driver of per-record verdicts pays no commit on the target: its
 * batches are smaller, so that a push cut off has recorded most of what
 * landed (what it had not is probed again, a GET a record).
 */
#define BATCH_EACH	64
#define BACKOFF_MS	500
#define BACKOFF_MAX_MS	30000

#define WARN_HELD	"target has manual modifications"
#define WARN_CONFLICT	"target no longer holds what was last delivered: " \
			"manual modifications"

/* One record of a batch: copied out of the outbox row. */
struct item {
	char *external_id;
	int64_t property_id, seq;
	char *data;		/* NULL: a delete */
	size_t len;
	char *hash;
	char *expect;		/* delivered_hash, NULL under force */
	char *sent;		/* hashes sent and not acknowledged */
	const char *action;	/* create, update, delete */
	int verdict;
	char *why;
};

struct pusher {
	struct sm_db *db;
	const struct sm_endpoint *t;
	const struct sm_push_opts *o;
	struct sm_push_stats *st;
	struct sm_run run;
	const struct sm_driver *drv;
	void *d;
	int retries;
	int64_t total;		/* pending at the start, for progress */
	int64_t left;		/* of --limit */
	int64_t after;		/* the first_seq read last */
	struct sm_buf why, line;
	struct item *v;
	size_t n, cap;
	/* held rows of this batch, for their events */
	struct item *held;
	size_t nheld, capheld;
};

static void
item_free(struct item *it)
{
	free(it->external_id);
	free(it->data);
	free(it->hash);
	free(it->expect);
	free(it->sent);
	free(it->why);
	memset(it, 0, sizeof(*it));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? sm_xstrdup(s) : NULL;
}

static void
fill(struct item *it, const struct sm_outbox_row *r)
{
	memset(it, 0, sizeof(*it));
	it->external_id = sm_xstrdup(r->external_id);
	it->property_id = r->property_id;
	it->seq = r->seq;
	if (!r->deleted && r->data != NULL) {
		it->data = sm_xstrndup(r->data, r->len);
		it->len = r->len;
		it->hash = dup_or_null(r->hash);
	}
	it->expect = r->force ? NULL : dup_or_null(r->delivered_hash);
	it->sent = dup_or_null(r->sent_hash);
	it->action = sm_push_action(it->data == NULL, r->delivered_hash);
	it->why = dup_or_null(r->warning);
}

static int
collect(const struct sm_outbox_row *r, void *arg)
{
	struct pusher *p = arg;
	struct item *it;

	p->after = r->first_seq;	/* the read cursor */
	if (r->manual) {
		if (p->nheld == p->capheld)
			p->held = sm_xrealloc(p->held, (p->capheld = p->capheld ?
			    2 * p->capheld : 16) * sizeof(*p->held));
		fill(&p->held[p->nheld++], r);
		return 0;
	}
	if (p->left == 0)
		return 1;
	if (p->left > 0)
		p->left--;
	if (p->n == p->cap)
		p->v = sm_xrealloc(p->v, (p->cap = p->cap ? 2 * p->cap : 16) *
		    sizeof(*p->v));
	it = &p->v[p->n++];
	fill(it, r);
	return 0;
}

const char *
sm_push_action(int deleted, const char *delivered_hash)
{
	if (deleted)
		return "delete";
	return delivered_hash == NULL ? "create" : "update";
}

long
sm_push_backoff(long base, int try, long rnd)
{
	long ms = base;

	while (--try > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	/* Jitter over the upper half: pushes do not retry in step. */
	return ms / 2 + (ms > 1 ? rnd % (ms / 2 + 1) : 0);
}

/* Milliseconds to wait before try (1, 2, ...). */
static long
backoff_ms(int try)
{
	const char *s = getenv("SM_PUSH_BACKOFF_MS");
	long base = BACKOFF_MS;

	if (s != NULL && *s >= '0' && *s <= '9')
		base = strtol(s, NULL, 10);
	return sm_push_backoff(base, try, (long)rand());
}

/*
 * Records a batch: BATCH, or BATCH_EACH for a driver of per-record
 * verdicts; $SM_PUSH_BATCH for tests (a kill test wants a push of a few
 * thousand records to be several batches).
 */
static size_t
batch_size(const struct sm_driver *drv)
{
	const char *s = getenv("SM_PUSH_BATCH");
	long n;

	if (s != NULL && *s >= '1' && *s <= '9' &&
	    (n = strtol(s, NULL, 10)) > 0 && n <= 1000000)
		return (size_t)n;
	return drv->verdict != NULL ? BATCH_EACH : BATCH;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR &&
	    !sm_interrupted())
		;
}

/* One put or del of it, expecting the target to hold expect. */
static int
op(struct pusher *p, const struct item *it, const char *expect)
{
	struct sm_drec r;

	memset(&r, 0, sizeof(r));
	r.external_id = it->external_id;
	r.data = it->data;
	r.len = it->len;
	r.hash = it->hash;
	r.expect = expect;
	r.action = it->action;
	r.sent = it->sent;
	return it->data != NULL ? p->drv->put(p->d, &r, &p->why) :
	    p->drv->del(p->d, &r, &p->why);
}

/* One operation, with the hashes sent before tried when it conflicts. */
static int
apply(struct pusher *p, struct item *it)
{
	char *tok, *save, *sent;
	int rc;

	rc = op(p, it, it->expect);
	if (rc != SM_CONFLICT || it->sent == NULL)
		return rc;
	/*
	 * An earlier push may have had the target commit and been killed
	 * before sm knew: the target then holds what it sent.
	 */
	sent = sm_xstrdup(it->sent);
	for (tok = strtok_r(sent, " ", &save); tok != NULL && rc ==
	    SM_CONFLICT; tok = strtok_r(NULL, " ", &save))
		rc = op(p, it, strcmp(tok, "-") == 0 ? NULL : tok);
	free(sent);
	return rc;
}

/*
 * A driver that learns the verdicts at commit (drv-pg.c pipelines its
 * statements) answers SM_CONFLICT there, for a batch of one record: the
 * hashes sent before are then tried as apply does, each in a batch of
 * its own.  0 when it was delivered or is a conflict (its verdict says
 * which), else the verdict that ended it.
 */
static int
late_conflict(struct pusher *p, struct item *it)
{
	char *tok, *save, *sent, *why;
	int rc = SM_CONFLICT;

	why = sm_xstrdup(p->why.data != NULL ? p->why.data : "");
	sent = it->sent != NULL ? sm_xstrdup(it->sent) : NULL;
	for (tok = sent != NULL ? strtok_r(sent, " ", &save) : NULL;
	    tok != NULL && rc == SM_CONFLICT; tok = strtok_r(NULL, " ",
	    &save)) {
		if ((rc = p->drv->begin(p->d, &p->why)) != 0)
			break;
		rc = op(p, it, strcmp(tok, "-") == 0 ? NULL : tok);
		if (rc == 0)
			rc = p->drv->commit(p->d, &p->why);
		if (rc != 0)
			p->drv->rollback(p->d);
	}
	free(sent);
	if (rc == 0 || rc == SM_CONFLICT) {
		it->verdict = rc;
		free(it->why);
		it->why = why;
		return 0;
	}
	free(why);
	return rc;
}

/*
 * The batch v (n records) in one transaction of the target: 0 when
 * committed (each record's verdict 0 or SM_CONFLICT), or the verdict
 * that ended it (rolled back).
 */
static int
try_batch(struct pusher *p, struct item *v, size_t n)
{
	size_t i;
	int rc;

	if ((rc = p->drv->begin(p->d, &p->why)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = apply(p, &v[i]);
		if (rc == SM_CONFLICT) {
			v[i].verdict = SM_CONFLICT;
			free(v[i].why);
			v[i].why = sm_xstrdup(p->why.data ? p->why.data : "");
			continue;
		}
		v[i].verdict = rc;
		if (rc != 0) {
			p->drv->rollback(p->d);
			return rc;
		}
	}
	if ((rc = p->drv->commit(p->d, &p->why)) != 0)
		p->drv->rollback(p->d);
	if (rc == SM_CONFLICT && n == 1)
		return late_conflict(p, &v[0]);
	if (rc == SM_CONFLICT)		/* halving finds it */
		rc = SM_PERMANENT;
	return rc;
}

/*
 * The batch v for a driver of per-record verdicts (driver.h: verdict):
 * each record's verdict set, SM_TRANSIENT for those to send again; in
 * *wait_ms the longest wait a target asked for.  0, or an error of sm's.
 */
static int
try_each(struct pusher *p, struct item *v, size_t n, long *wait_ms)
{
	size_t i;
	long w;
	int rc;

	*wait_ms = 0;
	if ((rc = p->drv->begin(p->d, &p->why)) == 0) {
		for (i = 0; rc == 0 && i < n; i++)
			rc = op(p, &v[i], v[i].expect);
		if (rc == 0)
			rc = p->drv->commit(p->d, &p->why);
	}
	if (rc < 0) {
		p->drv->rollback(p->d);
		return rc;
	}
	for (i = 0; i < n; i++) {
		v[i].verdict = rc != 0 ? rc : p->drv->verdict(p->d, i, &w,
		    &p->why);
		if (rc == 0 && w > *wait_ms)
			*wait_ms = w;
		if (v[i].verdict != 0) {
			free(v[i].why);
			v[i].why = sm_xstrdup(p->why.data ? p->why.data : "");
		}
	}
	p->drv->rollback(p->d);	/* the queue's memory */
	return 0;
}

static void
event(struct pusher *p, const char *op, const struct item *it,
    const char *key, const char *text)
{
	if (p->o->events == NULL)
		return;
	sm_jw_begin(&p->line);
	sm_jw_str(&p->line, "op", op);
	if (strcmp(op, "held") != 0)
		sm_jw_str(&p->line, "action", it->action);
	sm_jw_str(&p->line, "target", p->t->name);
	sm_jw_str(&p->line, "external_id", it->external_id);
	sm_jw_str(&p->line, "hash", it->hash);
	if (key != NULL)
		sm_jw_str(&p->line, key, text);
	sm_jw_end(&p->line);
	sm_jw_put(&p->line, p->o->events);
}

/* The outcome of v in sm, in one transaction, then its events. */
static int
record(struct pusher *p, struct item *v, size_t n)
{
	struct sm_buf stats;
	size_t i;
	int rc;

	if ((rc = sm_db_begin(p->db)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		switch (v[i].verdict) {
		case SM_TRANSIENT:
			break;		/* pending still, sent again */
		case 0:
			rc = sm_outbox_delivered(p->db, p->t->id,
			    v[i].external_id, v[i].property_id, v[i].seq,
			    v[i].hash);
			break;
		case SM_CONFLICT:
			rc = sm_outbox_conflict(p->db, v[i].property_id,
			    WARN_CONFLICT);
			break;
		default:
			rc = sm_outbox_fail(p->db, p->t->id, v[i].external_id,
			    v[i].property_id, v[i].seq, v[i].why);
		}
	}
	for (i = 0; i < n; i++) {
		if (v[i].verdict == SM_TRANSIENT)
			continue;
		if (v[i].verdict == 0) {
			p->st->delivered++;
			if (strcmp(v[i].action, "create") == 0)
				p->st->created++;
			else if (strcmp(v[i].action, "update") == 0)
				p->st->updated++;
			else
				p->st->deleted++;
		} else if (v[i].verdict == SM_CONFLICT) {
			p->st->conflicts++;
			p->st->held++;
		} else
			p->st->failed++;
	}
	sm_buf_init(&stats);
	sm_push_stats_json(p->st, &stats);
	if (rc == 0 && p->run.id != 0)
		rc = sm_run_finish(&p->run, "running", stats.data, NULL);
	sm_buf_free(&stats);
	if (rc == 0)
		rc = sm_db_commit(p->db);
	if (rc != 0) {
		sm_db_rollback(p->db);
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (v[i].verdict == SM_TRANSIENT)
			continue;
		if (v[i].verdict == 0)
			event(p, "deliver", &v[i], NULL, NULL);
		else if (v[i].verdict == SM_CONFLICT)
			event(p, "held", &v[i], "warning", WARN_CONFLICT);
		else
			event(p, "fail", &v[i], "error", v[i].why);
	}
	return 0;
}

/*
 * An error of sm's (SM_ECONFIG: a password refused) that a driver
 * answered with its reason in why alone: worded for the front end.
 */
static int
driver_error(struct pusher *p, int rc)
{
	if (rc >= 0 || p->why.len == 0 || strcmp(p->why.data,
	    sm_errmsg()) == 0)
		return rc;
	return sm_error(rc, "target '%s': %s", p->t->name, p->why.data);
}

static int
unreachable(struct pusher *p)
{
	return sm_error(SM_EBUSY, "target '%s' is unreachable: %s (tried %d "
	    "times; the changes stay pending)", p->t->name,
	    p->why.data != NULL ? p->why.data : "", p->retries + 1);
}

/*
 * Before v (n records) is tried again: their versions noted as sent, as
 * the outbox has them since note_sent, for a try that may have landed
 * is not a first one (a create is then looked for before it is sent).
 */
static void
tried(struct item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sm_sent_add(&v[i].sent, v[i].hash != NULL ? v[i].hash : "-");
}

/*
 * Delivers v (n records) to a driver of per-record verdicts: the
 * settled ones recorded, the transient ones sent again after a backoff
 * (or the wait the target asked for, if longer), push.retries times.
 */
static int
deliver_each(struct pusher *p, struct item *v, size_t n)
{
	struct item t;
	size_t i, m;
	long wait;
	int rc, try;

	for (try = 0;; try++) {
		if ((rc = sm_interrupt_check()) != 0)
			return rc;
		if ((rc = try_each(p, v, n, &wait)) != 0 ||
		    (rc = record(p, v, n)) != 0)
			return driver_error(p, rc);
		for (i = m = 0; i < n; i++)
			if (v[i].verdict == SM_TRANSIENT) {
				t = v[m];
				v[m++] = v[i];
				v[i] = t;
			}
		if (m == 0)
			return 0;
		n = m;
		sm_buf_reset(&p->why);
		sm_buf_adds(&p->why, v[0].why != NULL ? v[0].why : "");
		if (try >= p->retries)
			return unreachable(p);
		p->st->retries++;
		if (wait < backoff_ms(try + 1))
			wait = backoff_ms(try + 1);
		sleep_ms(wait);
		tried(v, n);
	}
}

/*
 * Delivers v (n records): the whole batch, again after a transient
 * failure, in halves after a permanent one (one bad record in a batch of
 * 4,096 costs 24 batches, not 4,096 of one).
 */
static int
deliver(struct pusher *p, struct item *v, size_t n)
{
	int rc, try;

	if (p->drv->verdict != NULL)
		return deliver_each(p, v, n);
	for (try = 0;; try++) {
		if ((rc = sm_interrupt_check()) != 0)
			return rc;
		rc = try_batch(p, v, n);
		if (rc == 0)
			return record(p, v, n);
		if (rc == SM_PERMANENT && n == 1) {
			free(v[0].why);
			v[0].why = sm_xstrdup(p->why.data ? p->why.data : "");
			v[0].verdict = SM_PERMANENT;
			return record(p, v, n);
		}
		if (rc == SM_PERMANENT) {
			if ((rc = deliver(p, v, n / 2)) != 0)
				return rc;
			return deliver(p, v + n / 2, n - n / 2);
		}
		if (rc != SM_TRANSIENT)
			return driver_error(p, rc);
		if (try >= p->retries)
			return unreachable(p);
		p->st->retries++;
		sleep_ms(backoff_ms(try + 1));
		tried(v, n);
	}
}

/* The hashes of the batch noted as sent, before the target sees them. */
static int
note_sent(struct pusher *p)
{
	size_t i;
	int rc;

	if ((rc = sm_db_begin(p->db)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < p->n; i++)
		rc = sm_outbox_sent(p->db, p->v[i].property_id,
		    p->v[i].hash != NULL ? p->v[i].hash : "-");
	if (rc == 0)
		rc = sm_db_commit(p->db);
	if (rc != 0)
		sm_db_rollback(p->db);
	return rc;
}

static int
open_driver(struct pusher *p, const struct sm_conn *c)
{
	int rc, try;

	for (try = 0;; try++) {
		sm_buf_reset(&p->why);
		if ((rc = p->drv->open(&p->d, c, &p->why)) != SM_TRANSIENT)
			return driver_error(p, rc);
		if (try >= p->retries)
			return unreachable(p);
		p->st->retries++;
		sleep_ms(backoff_ms(try + 1));
		if ((rc = sm_interrupt_check()) != 0)
			return rc;
	}
}

/*
 * One sm-push of a tenant at a time: two would race to deliver the same
 * records.  A lock of a file beside the tenant's, released when the
 * process ends however it ends.
 */
static int
lock(struct sm_db *db, int *fd)
{
	struct sm_buf path;
	struct flock fl;

	sm_buf_init(&path);
	sm_buf_addf(&path, "%s-push.lock", sm_db_file(db));
	*fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	sm_buf_free(&path);
	if (*fd < 0)
		return sm_error(SM_EIO, "cannot open the push lock of tenant "
		    "'%s': %s", sm_db_slug(db), strerror(errno));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(*fd, F_SETLK, &fl) != 0) {
		close(*fd);
		*fd = -1;
		return sm_error(SM_EBUSY, "another sm-push of tenant '%s' is "
		    "running: try again later", sm_db_slug(db));
	}
	return 0;
}

void
sm_push_stats_json(const struct sm_push_stats *st, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "delivered", (int64_t)st->delivered);
	sm_jw_int(b, "created", (int64_t)st->created);
	sm_jw_int(b, "updated", (int64_t)st->updated);
	sm_jw_int(b, "deleted", (int64_t)st->deleted);
	sm_jw_int(b, "failed", (int64_t)st->failed);
	sm_jw_int(b, "held", (int64_t)st->held);
	sm_jw_int(b, "conflicts", (int64_t)st->conflicts);
	sm_jw_int(b, "retries", (int64_t)st->retries);
	sm_jw_int(b, "pending", (int64_t)st->pending);
	sm_buf_addc(b, '}');
}

static void
clear_batch(struct pusher *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		item_free(&p->v[i]);
	for (i = 0; i < p->nheld; i++)
		item_free(&p->held[i]);
	p->n = p->nheld = 0;
}

/* The run log: a row at the start, its stats with each batch, its end. */
static int
run_start(struct pusher *p)
{
	int rc;

	if ((rc = sm_db_begin(p->db)) != 0)
		return rc;
	if ((rc = sm_run_begin(p->db, &p->run, "push", NULL, p->t)) != 0 ||
	    (rc = sm_db_commit(p->db)) != 0) {
		sm_db_rollback(p->db);
		p->run.id = 0;
	}
	return rc;
}

static void
run_end(struct pusher *p, int rc)
{
	struct sm_buf stats;
	char *msg = rc != 0 ? sm_xstrdup(sm_errmsg()) : NULL;

	if (p->run.id == 0)
		return;
	sm_buf_init(&stats);
	sm_push_stats_json(p->st, &stats);
	if (sm_db_begin(p->db) == 0) {
		if (sm_run_finish(&p->run, rc == SM_EINTR ? "interrupted" :
		    rc != 0 ? "failed" : p->st->failed > 0 ? "partial" :
		    "success", stats.data, msg) == 0)
			sm_db_commit(p->db);
		else
			sm_db_rollback(p->db);
	}
	sm_buf_free(&stats);
	if (msg != NULL) {
		sm_error(rc, "%s", msg);
		free(msg);
	}
}

static int
push_loop(struct pusher *p, int64_t *after)
{
	size_t i;
	size_t batch = batch_size(p->drv);
	int rc = 0, more = 1;

	while (more && rc == 0) {
		if ((rc = sm_interrupt_check()) != 0)
			break;
		clear_batch(p);
		p->after = *after;
		rc = sm_outbox_each(p->db, p->t->id, *after, (int64_t)batch,
		    collect, p);
		if (p->left == 0 || p->n + p->nheld < batch)
			more = 0;	/* --limit reached, or the end */
		if (rc != 0)
			break;
		*after = p->after;
		for (i = 0; i < p->nheld; i++) {
			p->st->held++;
			event(p, "held", &p->held[i], "warning",
			    p->held[i].why != NULL ? p->held[i].why :
			    WARN_HELD);
		}
		if (p->n == 0)
			continue;
		if (p->o->dry_run) {
			for (i = 0; i < p->n; i++) {
				p->st->delivered++;
				event(p, "deliver", &p->v[i], NULL, NULL);
			}
			continue;
		}
		if ((rc = note_sent(p)) != 0)
			break;
		rc = deliver(p, p->v, p->n);
		if (p->o->progress != NULL)
			p->o->progress(p->st->delivered + p->st->failed,
			    p->total > 0 ? (double)(p->st->delivered +
			    p->st->failed) / (double)p->total : -1, p->o->arg);
	}
	clear_batch(p);
	return rc;
}

int
sm_push(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, const struct sm_push_opts *o,
    struct sm_push_stats *st, int64_t *run_id)
{
	struct sm_conn c;
	struct pusher p;
	int64_t after = 0, pending;
	int rc, fd = -1;

	memset(st, 0, sizeof(*st));
	memset(&p, 0, sizeof(p));
	*run_id = 0;
	p.db = db;
	p.t = t;
	p.o = o;
	p.st = st;
	p.retries = cfg->push_retries;
	p.left = o->limit;
	sm_buf_init(&p.why);
	sm_buf_init(&p.line);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (!sm_conn_has(cfg, t))
		return sm_error(SM_ECONFIG, "target '%s' has no connection: "
		    "sm-push delivers only to a target with one (its "
		    "config's %s)", t->name, strcmp(t->type, "website") == 0 ||
		    strcmp(t->type, "file") == 0 ? "path" : "url");
	if ((rc = sm_conn_open(cfg, t, &c)) != 0)
		return rc;
	p.drv = sm_driver_of(&c);
	if (!o->dry_run && (rc = lock(db, &fd)) != 0)
		goto out;
	if ((rc = sm_outbox_pending(db, t->id, &p.total)) != 0)
		goto out;
	if (!o->dry_run) {
		if ((rc = run_start(&p)) != 0)
			goto out;
		*run_id = p.run.id;
		if ((rc = open_driver(&p, &c)) != 0)
			goto end;
	}
	rc = push_loop(&p, &after);
end:
	if (rc == 0 && (rc = sm_outbox_pending(db, t->id, &pending)) == 0)
		st->pending = (uint64_t)pending;
	if (!o->dry_run)
		run_end(&p, rc);
out:
	if (p.d != NULL)
		p.drv->close(p.d);
	sm_conn_free(&c);
	if (fd >= 0)
		close(fd);
	free(p.v);
	free(p.held);
	sm_buf_free(&p.why);
	sm_buf_free(&p.line);
	return rc;
}

static int
status_one(struct sm_db *db, const struct sm_endpoint *t, FILE *f)
{
	struct sm_outbox_status st;
	struct sm_buf b;
	int rc;

	if ((rc = sm_outbox_status(db, t->id, &st)) != 0)
		return rc;
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "target", t->name);
	sm_jw_int(&b, "pending", st.pending);
	sm_jw_int(&b, "held", st.held);
	sm_jw_int(&b, "failed", st.failed);
	sm_jw_time(&b, "oldest_pending", st.oldest_pending);
	sm_jw_end(&b);
	rc = sm_jw_put(&b, f);
	sm_buf_free(&b);
	return rc;
}

struct status_walk {
	struct sm_db *db;
	const struct sm_config *cfg;
	FILE *f;
};

static int
status_each(struct sm_endpoint *t, void *arg)
{
	struct status_walk *w = arg;

	if (!sm_conn_has(w->cfg, t))
		return 0;
	return status_one(w->db, t, w->f);
}

int
sm_push_status(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, FILE *f)
{
	struct status_walk w = { db, cfg, f };

	if (t == NULL)
		return sm_endpoint_each(db, SM_TARGET, status_each, &w);
	if (!sm_conn_has(cfg, t))
		return sm_error(SM_ECONFIG, "target '%s' has no connection: "
		    "it has no outbox", t->name);
	return status_one(db, t, f);
}

int
sm_push_retry(struct sm_db *db, const struct sm_endpoint *t, int64_t *n)
{
	int rc;

	if ((rc = sm_db_begin(db)) != 0)
		return rc;
	if ((rc = sm_outbox_retry(db, t != NULL ? t->id : 0, n)) != 0 ||
	    (rc = sm_db_commit(db)) != 0)
		sm_db_rollback(db);
	return rc;
}
