/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int completeflag, strictflag, nflag, statsflag, mergeflag;
static int massflag, historyflag, rejected_any;
static const char *source_ref, *target_ref, *rejects_path, *max_rejects;
static struct sm_cli cli;
static struct sm_endpoint endpoint;
static FILE *reject_events;	/* spooled until the run commits */
static struct sm_progress progress;

enum { OPT_COMPLETE = 256, OPT_STRICT, OPT_REJECTS, OPT_STATS, OPT_MERGE,
    OPT_ALLOW_MASS_DELETE, OPT_HISTORY, OPT_MAX_REJECTS };

static const struct option longopts[] = {
	{ "allow-mass-delete", no_argument,     NULL, OPT_ALLOW_MASS_DELETE },
	{ "complete",    no_argument,       NULL, OPT_COMPLETE },
	SM_CLI_LONGOPTS,
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "history",     no_argument,       NULL, OPT_HISTORY },
	{ "max-rejects", required_argument, NULL, OPT_MAX_REJECTS },
	{ "merge",       no_argument,       NULL, OPT_MERGE },
	{ "rejects",     required_argument, NULL, OPT_REJECTS },
	{ "source",      required_argument, NULL, 's' },
	{ "stats",       no_argument,       NULL, OPT_STATS },
	{ "strict",      no_argument,       NULL, OPT_STRICT },
	{ "target",      required_argument, NULL, 't' },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-import [-nq] [-c file] [-D dir] [-T slug] -s source "
    "[--allow-mass-delete]\n"
    "                 [--complete] [--max-rejects n | n%] "
    "[--rejects file] [--stats]\n"
    "                 [--strict] [file ...]\n"
    "       sm-import [-nq] [-c file] [-D dir] [-T slug] -t target "
    "[--allow-mass-delete]\n"
    "                 [--complete] [--max-rejects n | n%] [--merge] "
    "[--rejects file]\n"
    "                 [--stats] [--strict] [file ...]\n"
    "       sm-import [-c file] [-D dir] [-T slug] --history "
    "[-s source | -t target]\n";


static int
on_reject(const struct sm_reject *j, void *arg)
{
	struct sm_buf *b = arg;
	const char *file = j->file;

	sm_progress_clear(&progress);
	/* With --strict the run stops here, and its error says this. */
	if (!strictflag)
		sm_cli_say(file, j->line, j->detail);
	sm_jw_begin(b);
	sm_jw_str(b, "op", "reject");
	sm_jw_str(b, endpoint.side == SM_SOURCE ? "source" : "target",
	    endpoint.name);
	sm_jw_str(b, "file", file);
	if (file != NULL)
		sm_jw_int(b, "line", (int64_t)j->line);
	else
		sm_jw_null(b, "line");
	sm_jw_str(b, "error", j->detail);
	sm_jw_end(b);
	if (sm_jw_put(b, reject_events) != 0)
		err(74, "cannot spool a reject event");
	return 0;
}

static void
on_warn(const struct sm_warning *w, void *arg)
{
	(void)arg;
	sm_progress_clear(&progress);
	sm_cli_say(w->file, w->line, w->detail);
}

static void
on_progress(uint64_t bytes, int64_t total, uint64_t records, void *arg)
{
	(void)arg;
	sm_progress_show(&progress, records, "records", total > 0 ?
	    (double)bytes / (double)total : -1);
}

static int
on_done(struct sm_db *db, const struct sm_run *run, void *arg)
{
	(void)arg;
	return statsflag ? 0 : sm_cli_events(db, run, reject_events);
}

static void
print_stats(const struct sm_import_stats *st, const struct sm_run *run)
{
	struct sm_buf b, stats;

	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_import_stats_json(st, &stats);
	sm_jw_result(&b, st->rejected ? "partial" : "success",
	    nflag ? 0 : run->id, stats.data);
	sm_jw_put(&b, stdout);
	sm_buf_free(&b);
	sm_buf_free(&stats);
}

static int
history(struct sm_db *db)
{
	int rc;

	if (source_ref != NULL || target_ref != NULL) {
		if ((rc = sm_endpoint_get(db, source_ref ? SM_SOURCE :
		    SM_TARGET, source_ref ? source_ref : target_ref,
		    &endpoint)) != 0)
			return rc;
	}
	return sm_run_history(db, "import", source_ref ? endpoint.id : 0,
	    target_ref ? endpoint.id : 0, stdout);
}

static int
import(struct sm_db *db, int argc, char **argv)
{
	struct sm_import_opts o;
	struct sm_import_stats st;
	struct sm_buf spool;
	struct sm_run run;
	FILE *rejects = NULL;
	int rc, sig;

	if ((rc = sm_endpoint_get(db, source_ref ? SM_SOURCE : SM_TARGET,
	    source_ref ? source_ref : target_ref, &endpoint)) != 0)
		return rc;
	if ((reject_events = tmpfile()) == NULL)
		return sm_error(SM_EIO, "cannot create a temporary file");
	/* EX_CANTCREAT (73): the output file cannot be created. */
	if (rejects_path != NULL &&
	    (rejects = fopen(rejects_path, "w")) == NULL) {
		rc = sm_error(SM_EEXIST, "cannot create '%s': %s",
		    rejects_path, strerror(errno));
		fclose(reject_events);
		return rc;
	}
	memset(&o, 0, sizeof(o));
	sm_buf_init(&spool);
	o.complete = completeflag;
	o.strict = strictflag;
	o.dry_run = nflag;
	o.merge = mergeflag;
	o.allow_mass_delete = massflag;
	o.rejects = rejects;
	o.reject = on_reject;
	o.warn = on_warn;
	o.done = on_done;
	o.arg = &spool;
	if (!cli.quiet && isatty(STDERR_FILENO))
		o.progress = on_progress;
	sm_progress_init(&progress, "sm-import", endpoint.name);
	sm_signals_catch();
	rc = sm_import(db, &cli.cfg, &endpoint, argv, (size_t)argc, &o, &st,
	    &run);
	sm_progress_clear(&progress);
	if ((sig = sm_signals_deferred()) != 0)
		warnx("%s after run %lld committed: the run stands",
		    sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)run.id);
	if (rejects != NULL && fclose(rejects) != 0 && rc == 0)
		rc = sm_error(SM_EIO, "cannot write '%s'", rejects_path);
	fclose(reject_events);
	sm_buf_free(&spool);
	if (rc != 0)
		return rc;
	if (statsflag)
		print_stats(&st, &run);
	if (!cli.quiet)
		fprintf(stderr, "sm-import: %s: %llu created, %llu updated, "
		    "%llu unchanged, %llu deleted, %llu rejected in %.2f s%s\n",
		    endpoint.name, (unsigned long long)st.created,
		    (unsigned long long)st.updated,
		    (unsigned long long)st.unchanged,
		    (unsigned long long)st.deleted,
		    (unsigned long long)st.rejected, sm_progress_elapsed(&progress),
		    nflag ? " (dry run: nothing written)" : "");
	/* Tolerated rejects were all reported; the daily job goes on. */
	rejected_any = !sm_limit_allows(&cli.cfg.import_max_rejects,
	    st.rejected, st.records);
	if (st.rejected > 0 && !rejected_any && !cli.quiet)
		warnx("%llu rejected within --max-rejects %s: exit 0",
		    (unsigned long long)st.rejected, max_rejects != NULL ?
		    max_rejects : "(import.max_rejects)");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sm_db *db;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:D:hnqs:t:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-import"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case 's': source_ref = optarg; break;
		case 't': target_ref = optarg; break;
		case OPT_ALLOW_MASS_DELETE: massflag = 1; break;
		case OPT_COMPLETE: completeflag = 1; break;
		case OPT_HISTORY: historyflag = 1; break;
		case OPT_MAX_REJECTS: max_rejects = optarg; break;
		case OPT_MERGE: mergeflag = 1; break;
		case OPT_REJECTS: rejects_path = optarg; break;
		case OPT_STATS: statsflag = 1; break;
		case OPT_STRICT: strictflag = 1; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (source_ref != NULL && target_ref != NULL)
		sm_cli_usage(usage, "give -s or -t, not both");
	if (!historyflag && source_ref == NULL && target_ref == NULL)
		sm_cli_usage(usage, "missing -s SOURCE or -t TARGET");
	if (mergeflag && target_ref == NULL)
		sm_cli_usage(usage, "--merge applies to targets (-t) only");
	if (!historyflag && argc == 0 && isatty(STDIN_FILENO))
		sm_cli_usage(usage, "missing operand: FILE (standard input is "
		    "a terminal)");
	if (sm_cli_config(&cli) == 0 && max_rejects != NULL &&
	    sm_limit_parse(max_rejects, &cli.cfg.import_max_rejects) != 0)
		sm_cli_usage(usage, "invalid --max-rejects value '%s': "
		    "expected a count, or a percentage such as 1%%",
		    max_rejects);
	if ((rc = sm_cli_start(&cli, usage, historyflag ? SM_DB_READONLY : 0,
	    &db)) != 0)
		return rc;
	rc = historyflag ? history(db) : import(db, argc, argv);
	rc = sm_cli_finish(&cli, db, rc);
	sm_endpoint_free(&endpoint);
	if (rc == 0 && rejected_any)
		return sm_exitcode(SM_EDATA);
	return rc;
}
