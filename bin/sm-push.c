/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int nflag, statsflag, statusflag, retryflag, historyflag;
static long long limit = -1;
static const char *target_ref;
static struct sm_cli cli;
static struct sm_progress progress;

enum { OPT_STATS = 256, OPT_STATUS, OPT_RETRY, OPT_HISTORY, OPT_LIMIT };

static const struct option longopts[] = {
	SM_CLI_LONGOPTS,
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "history",     no_argument,       NULL, OPT_HISTORY },
	{ "limit",       required_argument, NULL, OPT_LIMIT },
	{ "retry",       no_argument,       NULL, OPT_RETRY },
	{ "stats",       no_argument,       NULL, OPT_STATS },
	{ "status",      no_argument,       NULL, OPT_STATUS },
	{ "target",      required_argument, NULL, 't' },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-push [-nq] [-c file] [-D dir] [-T slug] [--limit n] "
    "[--stats] target\n"
    "       sm-push [-c file] [-D dir] [-T slug] --status [target]\n"
    "       sm-push [-q] [-c file] [-D dir] [-T slug] --retry [target]\n"
    "       sm-push [-c file] [-D dir] [-T slug] --history [target]\n";

static void
on_progress(uint64_t done, double share, void *arg)
{
	(void)arg;
	sm_progress_show(&progress, done, "delivered", share);
}

static int
push(struct sm_db *db, const struct sm_endpoint *t, int *failed)
{
	struct sm_push_opts o;
	struct sm_push_stats st;
	struct sm_buf b, stats;
	int64_t run;
	int rc, sig;

	memset(&o, 0, sizeof(o));
	o.dry_run = nflag;
	o.limit = limit;
	o.events = statsflag ? NULL : stdout;
	sm_progress_init(&progress, "sm-push", t->name);
	if (!cli.quiet && isatty(STDERR_FILENO))
		o.progress = on_progress;
	sm_signals_catch();
	rc = sm_push(db, &cli.cfg, t, &o, &st, &run);
	sm_progress_clear(&progress);
	if ((sig = sm_signals_deferred()) != 0)
		warnx("%s after a batch was recorded: it stands",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
	if (rc != 0)
		return rc;
	*failed = st.failed > 0;
	if (statsflag) {
		sm_buf_init(&b);
		sm_buf_init(&stats);
		sm_push_stats_json(&st, &stats);
		sm_jw_result(&b, st.failed > 0 ? "partial" : "success",
		    nflag ? 0 : run, stats.data);
		rc = sm_jw_put(&b, stdout);
		sm_buf_free(&b);
		sm_buf_free(&stats);
	}
	if (!cli.quiet)
		fprintf(stderr, "sm-push: %s: %llu delivered (%llu created, "
		    "%llu updated, %llu deleted), %llu failed, %llu held, "
		    "%llu pending in %.2f s%s\n", t->name,
		    (unsigned long long)st.delivered,
		    (unsigned long long)st.created,
		    (unsigned long long)st.updated,
		    (unsigned long long)st.deleted,
		    (unsigned long long)st.failed,
		    (unsigned long long)st.held,
		    (unsigned long long)st.pending,
		    sm_progress_elapsed(&progress),
		    nflag ? " (dry run: nothing delivered)" : "");
	return rc;
}

static int
run(struct sm_db *db, int *failed)
{
	struct sm_endpoint t;
	int64_t n;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	if (target_ref != NULL &&
	    (rc = sm_endpoint_get(db, SM_TARGET, target_ref, &t)) != 0)
		return rc;
	if (statusflag)
		rc = sm_push_status(db, &cli.cfg, target_ref ? &t : NULL,
		    stdout);
	else if (historyflag)
		rc = sm_run_history(db, "push", 0, t.id, stdout);
	else if (retryflag) {
		if ((rc = sm_push_retry(db, target_ref ? &t : NULL, &n)) == 0 &&
		    !cli.quiet)
			fprintf(stderr, "sm-push: %lld failed deliveries "
			    "pending again\n", (long long)n);
	} else
		rc = push(db, &t, failed);
	sm_endpoint_free(&t);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct sm_db *db;
	int c, rc, failed = 0;

	while ((c = getopt_long(argc, argv, "c:D:hnqt:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-push"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case 't': target_ref = optarg; break;
		case OPT_HISTORY: historyflag = 1; break;
		case OPT_LIMIT:
			limit = sm_cli_number(usage, "--limit", optarg, 0,
			    INT64_MAX, "expected a count of records", NULL);
			break;
		case OPT_RETRY: retryflag = 1; break;
		case OPT_STATS: statsflag = 1; break;
		case OPT_STATUS: statusflag = 1; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	sm_cli_target(usage, &target_ref, argc, argv);
	if (statusflag + retryflag + historyflag > 1)
		sm_cli_usage(usage, "--status, --retry and --history exclude "
		    "each other");
	if (statusflag + retryflag + historyflag == 0 && target_ref == NULL)
		sm_cli_usage(usage, "missing operand: TARGET");
	if ((rc = sm_cli_start(&cli, usage, statusflag || historyflag ?
	    SM_DB_READONLY : 0, &db)) != 0)
		return rc;
	rc = sm_cli_finish(&cli, db, run(db, &failed));
	return rc == 0 && failed ? 1 : rc;
}
