/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int nflag, statsflag, overwriteflag, acceptflag, failflag, historyflag;
static const char *source_ref, *target_ref;
static char **ids;
static size_t nids;
static struct sm_cli cli;
static struct sm_progress progress;

enum { OPT_OVERWRITE = 256, OPT_ACCEPT, OPT_ID, OPT_STATS, OPT_FAIL,
    OPT_HISTORY };

static const struct option longopts[] = {
	{ "accept-manual",    no_argument,       NULL, OPT_ACCEPT },
	SM_CLI_LONGOPTS,
	{ "dry-run",          no_argument,       NULL, 'n' },
	{ "fail-on-warnings", no_argument,       NULL, OPT_FAIL },
	{ "history",          no_argument,       NULL, OPT_HISTORY },
	{ "id",               required_argument, NULL, OPT_ID },
	{ "overwrite-manual", no_argument,       NULL, OPT_OVERWRITE },
	{ "source",           required_argument, NULL, 's' },
	{ "stats",            no_argument,       NULL, OPT_STATS },
	{ "target",           required_argument, NULL, 't' },
	{ NULL,               0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-sync [-nq] [-c file] [-D dir] [-T slug]\n"
    "               [--overwrite-manual | --accept-manual] "
    "[--fail-on-warnings]\n"
    "               [--id external-id] [--stats] source target\n"
    "       sm-sync [-nq] [-c file] [-D dir] [-T slug]\n"
    "               [--overwrite-manual | --accept-manual] "
    "[--fail-on-warnings]\n"
    "               [--id external-id] [--stats] "
    "-s source -t target\n"
    "       sm-sync [-c file] [-D dir] [-T slug] --history "
    "[source [target]]\n"
    "       sm-sync [-c file] [-D dir] [-T slug] --history "
    "[-s source] [-t target]\n";

static void
on_progress(uint64_t examined, double done, void *arg)
{
	(void)arg;
	sm_progress_show(&progress, examined, "examined", done);
}

static int
on_done(struct sm_db *db, const struct sm_run *run, void *arg)
{
	(void)arg;
	sm_progress_clear(&progress);
	if (statsflag)
		return 0;
	return sm_events_print(db, run, 1, stdout);
}

/*
 * The source and target from -s, -t and the operands.  Two operands are
 * source and target, and an option must name the same; fewer fill what
 * the options left open, the source first.
 */
static void
operands(int argc, char **argv)
{
	const char *ref[2] = { source_ref, target_ref };
	static const char *const side[2] = { "source", "target" };
	int i, j;

	if (argc > 2)
		sm_cli_usage(usage, "extra operand '%s'", argv[2]);
	for (i = j = 0; i < 2 && j < argc; i++) {
		if (argc == 2 && ref[i] != NULL &&
		    strcmp(ref[i], argv[i]) != 0)
			sm_cli_usage(usage, "-%c '%s' and operand '%s' name "
			    "different %ss", side[i][0], ref[i], argv[i],
			    side[i]);
		if (argc == 2 || ref[i] == NULL)
			ref[i] = argv[j++];
	}
	if (j < argc)
		sm_cli_usage(usage, "extra operand '%s'", argv[j]);
	if (!historyflag && ref[0] == NULL)
		sm_cli_usage(usage, ref[1] == NULL ?
		    "missing operands: SOURCE TARGET" :
		    "missing operand: SOURCE");
	if (!historyflag && ref[1] == NULL)
		sm_cli_usage(usage, "missing operand: TARGET");
	source_ref = ref[0];
	target_ref = ref[1];
}

static int
history(struct sm_db *db)
{
	struct sm_endpoint s, t;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	if (source_ref != NULL)
		rc = sm_endpoint_get(db, SM_SOURCE, source_ref, &s);
	if (rc == 0 && target_ref != NULL)
		rc = sm_endpoint_get(db, SM_TARGET, target_ref, &t);
	if (rc == 0)
		rc = sm_run_history(db, "sync", s.id, t.id, stdout);
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
	return rc;
}

static int
sync(struct sm_db *db, int *warnings)
{
	struct sm_endpoint s, t;
	struct sm_sync_opts o;
	struct sm_sync_stats st;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc, sig;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	if ((rc = sm_endpoint_get(db, SM_SOURCE, source_ref, &s)) != 0 ||
	    (rc = sm_endpoint_get(db, SM_TARGET, target_ref, &t)) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.dry_run = nflag;
	o.overwrite_manual = overwriteflag;
	o.accept_manual = acceptflag;
	o.ids = ids;
	o.done = on_done;
	sm_buf_init(&b);
	sm_buf_addf(&b, "%s -> %s", s.name, t.name);
	sm_progress_init(&progress, "sm-sync", b.data);
	if (!cli.quiet && isatty(STDERR_FILENO))
		o.progress = on_progress;
	sm_signals_catch();
	rc = sm_sync(db, &cli.cfg, &s, &t, &o, &st, &run);
	sm_progress_clear(&progress);
	sm_buf_free(&b);
	if ((sig = sm_signals_deferred()) != 0)
		warnx("%s after run %lld committed: the run stands",
		    sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)run.id);
	if (rc != 0)
		goto out;
	*warnings = st.warnings > 0;
	if (statsflag) {
		sm_buf_init(&b);
		sm_buf_init(&stats);
		sm_sync_stats_json(&st, &stats);
		sm_jw_result(&b, "success", nflag ? 0 : run.id, stats.data);
		rc = sm_jw_put(&b, stdout);
		sm_buf_free(&b);
		sm_buf_free(&stats);
	}
	if (!cli.quiet)
		fprintf(stderr, "sm-sync: %s -> %s: %llu created, %llu updated, "
		    "%llu deleted, %llu unchanged, %llu skipped, %llu warnings "
		    "in %.2f s%s\n", s.name, t.name,
		    (unsigned long long)st.created,
		    (unsigned long long)st.updated,
		    (unsigned long long)st.deleted,
		    (unsigned long long)st.unchanged,
		    (unsigned long long)st.skipped,
		    (unsigned long long)st.warnings, sm_progress_elapsed(&progress),
		    nflag ? " (dry run: nothing written)" : "");
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct sm_db *db;
	int c, rc, warnings = 0;

	ids = sm_xcalloc(1, sizeof(*ids));
	while ((c = getopt_long(argc, argv, "c:D:hnqs:t:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-sync"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case 's': source_ref = optarg; break;
		case 't': target_ref = optarg; break;
		case OPT_ACCEPT: acceptflag = 1; break;
		case OPT_FAIL: failflag = 1; break;
		case OPT_HISTORY: historyflag = 1; break;
		case OPT_ID:
			ids = sm_xrealloc(ids, (nids + 2) * sizeof(*ids));
			ids[nids++] = sm_xstrdup(optarg);
			ids[nids] = NULL;
			break;
		case OPT_OVERWRITE: overwriteflag = 1; break;
		case OPT_STATS: statsflag = 1; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	operands(argc, argv);
	if (overwriteflag && acceptflag)
		sm_cli_usage(usage, "--overwrite-manual and --accept-manual "
		    "exclude each other");
	if (nids == 0) {
		free(ids);
		ids = NULL;
	}
	if ((rc = sm_cli_start(&cli, usage, historyflag ? SM_DB_READONLY : 0,
	    &db)) != 0)
		return rc;
	rc = sm_cli_finish(&cli, db, historyflag ? history(db) :
	    sync(db, &warnings));
	sm_strv_free(ids);
	return rc == 0 && failflag && warnings ? 1 : rc;
}
