/* See LICENSE file for copyright and license details. */
/*
 * The outbox and sm-push's pure parts: what a delivery is, the backoff,
 * and the coalescing of the outbox (the newest decision wins, an older
 * acknowledgement never removes a newer change), on a scratch tenant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm.h"
#include "sm-private.h"
#include "tap.h"

struct seen {
	int n;
	int64_t seq, first_seq;
	char action[16];
};

static int
count(const struct sm_outbox_row *r, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->seq = r->seq;
	s->first_seq = r->first_seq;
	snprintf(s->action, sizeof(s->action), "%s", r->action);
	return 0;
}

static struct seen
pending(struct sm_db *db, int64_t tid)
{
	struct seen s;

	memset(&s, 0, sizeof(s));
	if (sm_outbox_each(db, tid, 0, 100, count, &s) != 0)
		s.n = -1;
	return s;
}

int
main(void)
{
	char tmp[] = "/tmp/sm-unit-push.XXXXXX";
	struct sm_config cfg;
	struct sm_endpoint t;
	struct sm_outbox_status st;
	struct sm_db *db;
	struct seen s;
	int64_t n;
	long ms;
	int i, ok_all;

	tap_plan(20);
	is_str(sm_push_action(0, NULL), "create", "never delivered: create");
	is_str(sm_push_action(0, "abc"), "update", "delivered: update");
	is_str(sm_push_action(1, "abc"), "delete", "a tombstone: delete");
	is_str(sm_push_action(1, NULL), "delete",
	    "a tombstone never delivered: delete (a killed put may be there)");
	ok(sm_push_backoff(500, 1, 0) == 250, "first wait: 250 to 500 ms");
	ok(sm_push_backoff(500, 1, 250) == 500, "... at most 500");
	ok(sm_push_backoff(500, 3, 0) == 1000, "third: doubled twice");
	ok_all = 1;
	for (i = 1; i < 40; i++) {
		ms = sm_push_backoff(500, i, 123456789L);
		if (ms < 0 || ms > 30000)
			ok_all = 0;
	}
	ok(ok_all, "never over 30 s, however many tries");

	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	sm_config_defaults(&cfg);
	sm_config_set_data_dir(&cfg, tmp);
	if (sm_db_open(&cfg, "t", SM_DB_CREATE, &db) != 0) {
		fprintf(stderr, "%s\n", sm_errmsg());
		return 1;
	}
	memset(&t, 0, sizeof(t));
	t.side = SM_TARGET;
	t.name = sm_xstrdup("db");
	t.type = sm_xstrdup("database");
	t.config = sm_xstrdup("{\"url\":\"sqlite:x.db\",\"table\":\"t\"}");
	ok(sm_endpoint_add(db, &t) == 0, "a target with a connection");
	ok(sm_conn_has(&cfg, &t), "has a connection");

	sm_db_begin(db);
	sm_outbox_queue(db, t.id, 1, "7", "create", 0, 10, 1000);
	sm_outbox_queue(db, t.id, 1, "7", "update", 0, 11, 2000);
	sm_outbox_queue(db, t.id, 1, "7", "update", 0, 12, 3000);
	sm_outbox_queue(db, t.id, 2, "8", "create", 0, 13, 3000);
	sm_db_commit(db);
	s = pending(db, t.id);
	ok(s.n == 2, "three decisions on one record are one row");
	sm_outbox_status(db, t.id, &st);
	ok(st.pending == 2 && st.oldest_pending == 1000,
	    "its place and age are the first decision's");
	ok(sm_outbox_pending(db, t.id, &n) == 0 && n == 2,
	    "pending alone counts the same");
	memset(&s, 0, sizeof(s));
	sm_outbox_each(db, t.id, 0, 1, count, &s);
	ok(s.seq == 12 && s.first_seq == 10, "the newest decision, in the "
	    "first one's place (seq %lld, first %lld)", (long long)s.seq,
	    (long long)s.first_seq);

	/* A push read seq 11, a sync queued 12 since: 7 stays. */
	sm_db_begin(db);
	sm_outbox_delivered(db, t.id, "7", 1, 11, "h11");
	sm_db_commit(db);
	ok(pending(db, t.id).n == 2, "an older acknowledgement leaves the "
	    "newer change");
	sm_db_begin(db);
	sm_outbox_fail(db, t.id, "7", 1, 11, "refused");
	sm_db_commit(db);
	sm_outbox_status(db, t.id, &st);
	ok(st.failed == 0 && st.pending == 2, "nor fails it");
	sm_db_begin(db);
	sm_outbox_fail(db, t.id, "7", 1, 12, "refused");
	sm_db_commit(db);
	sm_outbox_status(db, t.id, &st);
	ok(st.failed == 1 && st.pending == 1, "the newest fails");
	sm_db_begin(db);
	sm_outbox_queue(db, t.id, 1, "7", "update", 0, 14, 4000);
	sm_db_commit(db);
	sm_outbox_status(db, t.id, &st);
	ok(st.failed == 0 && st.pending == 2, "a new change of a failed "
	    "record makes it pending");
	sm_db_begin(db);
	sm_outbox_fail(db, t.id, "7", 1, 14, "refused");
	sm_outbox_retry(db, t.id, &n);
	sm_db_commit(db);
	ok(n == 1, "--retry makes the failed one pending");
	sm_db_begin(db);
	sm_outbox_delivered(db, t.id, "7", 1, 14, "h14");
	sm_outbox_delivered(db, t.id, "8", 2, 13, "h13");
	sm_db_commit(db);
	ok(pending(db, t.id).n == 0, "acknowledged: the outbox is empty");

	sm_db_close(db);
	sm_endpoint_free(&t);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			diag("cannot remove %s", tmp);
	}
	sm_config_free(&cfg);
	return tap_failed != 0;
}
