/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int nflag, statsflag, historyflag, massflag;
static const char *target_ref;
static struct sm_cli cli;
static struct sm_endpoint target;
static FILE *spool;		/* foreign and reject events, until done */
static struct sm_buf line;
static struct sm_progress progress;

enum { OPT_STATS = 256, OPT_HISTORY, OPT_ALLOW_MASS_DELETE };

static const struct option longopts[] = {
	{ "allow-mass-delete", no_argument, NULL, OPT_ALLOW_MASS_DELETE },
	SM_CLI_LONGOPTS,
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "history",     no_argument,       NULL, OPT_HISTORY },
	{ "stats",       no_argument,       NULL, OPT_STATS },
	{ "target",      required_argument, NULL, 't' },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-pull [-nq] [-c file] [-D dir] [-T slug] "
    "[--allow-mass-delete] [--stats] target\n"
    "       sm-pull [-c file] [-D dir] [-T slug] --history [target]\n";

static int
spooled(void)
{
	if (sm_jw_put(&line, spool) != 0)
		err(74, "cannot spool an event");
	return 0;
}

static int
on_foreign(const char *external_id, const char *hash, void *arg)
{
	(void)arg;
	sm_jw_begin(&line);
	sm_jw_str(&line, "op", "foreign");
	sm_jw_str(&line, "target", target.name);
	sm_jw_str(&line, "external_id", external_id);
	sm_jw_str(&line, "hash", hash);
	sm_jw_end(&line);
	return spooled();
}

static int
on_reject(const struct sm_reject *j, void *arg)
{
	(void)arg;
	sm_progress_clear(&progress);
	warnx("%s: %s: %s", target.name, j->file, j->detail);
	sm_jw_begin(&line);
	sm_jw_str(&line, "op", "reject");
	sm_jw_str(&line, "target", target.name);
	sm_jw_str(&line, "external_id", j->file);
	sm_jw_str(&line, "error", j->detail);
	sm_jw_end(&line);
	return spooled();
}

static void
on_warn(const struct sm_warning *w, void *arg)
{
	(void)arg;
	sm_progress_clear(&progress);
	warnx("%s: %s", target.name, w->detail);
}

static void
on_progress(uint64_t records, void *arg)
{
	(void)arg;
	sm_progress_show(&progress, records, "records", -1);
}

/* After the commit (or before a dry run's rollback): the events. */
static int
on_done(struct sm_db *db, const struct sm_run *run, void *arg)
{
	(void)arg;
	return statsflag ? 0 : sm_cli_events(db, run, spool);
}

static int
pull(struct sm_db *db)
{
	struct sm_pull_opts o;
	struct sm_pull_stats st;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc, sig;

	if ((spool = tmpfile()) == NULL)
		return sm_error(SM_EIO, "cannot create a temporary file");
	memset(&o, 0, sizeof(o));
	o.dry_run = nflag;
	o.allow_mass_delete = massflag;
	o.foreign = on_foreign;
	o.reject = on_reject;
	o.warn = on_warn;
	o.done = on_done;
	sm_progress_init(&progress, "sm-pull", target.name);
	if (!cli.quiet && isatty(STDERR_FILENO))
		o.progress = on_progress;
	sm_signals_catch();
	rc = sm_pull(db, &cli.cfg, &target, &o, &st, &run);
	sm_progress_clear(&progress);
	if ((sig = sm_signals_deferred()) != 0)
		warnx("%s after run %lld committed: the run stands",
		    sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)run.id);
	fclose(spool);
	if (rc != 0)
		return rc;
	if (statsflag) {
		sm_buf_init(&b);
		sm_buf_init(&stats);
		sm_pull_stats_json(&st, &stats);
		sm_jw_result(&b, st.rejected ? "partial" : "success",
		    nflag ? 0 : run.id, stats.data);
		rc = sm_jw_put(&b, stdout);
		sm_buf_free(&b);
		sm_buf_free(&stats);
	}
	if (!cli.quiet)
		fprintf(stderr, "sm-pull: %s: %llu read; by hand: %llu "
		    "changed, %llu deleted, %llu restored; %llu unchanged, "
		    "%llu foreign, %llu rejected in %.2f s%s\n", target.name,
		    (unsigned long long)st.records,
		    (unsigned long long)st.updated,
		    (unsigned long long)st.deleted,
		    (unsigned long long)st.created,
		    (unsigned long long)st.unchanged,
		    (unsigned long long)st.foreign,
		    (unsigned long long)st.rejected,
		    sm_progress_elapsed(&progress),
		    nflag ? " (dry run: nothing written)" : "");
	/*
	 * A target item that is no record was not read: 65 as sm-import,
	 * within import.max_rejects too.
	 */
	if (rc == 0 && !sm_limit_allows(&cli.cfg.import_max_rejects,
	    st.rejected, st.records))
		rc = sm_error(SM_EDATA, "%llu item%s of target '%s' not read "
		    "(see the reject events)", (unsigned long long)st.rejected,
		    st.rejected == 1 ? "" : "s", target.name);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct sm_db *db;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:D:hnqt:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-pull"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case 't': target_ref = optarg; break;
		case OPT_ALLOW_MASS_DELETE: massflag = 1; break;
		case OPT_HISTORY: historyflag = 1; break;
		case OPT_STATS: statsflag = 1; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	sm_cli_target(usage, &target_ref, argc, argv);
	if (!historyflag && target_ref == NULL)
		sm_cli_usage(usage, "missing operand: TARGET");
	if (historyflag && (nflag || statsflag || massflag))
		sm_cli_usage(usage, "--history takes no other option");
	if ((rc = sm_cli_start(&cli, usage, historyflag ? SM_DB_READONLY : 0,
	    &db)) != 0)
		return rc;
	sm_buf_init(&line);
	if (target_ref != NULL)
		rc = sm_endpoint_get(db, SM_TARGET, target_ref, &target);
	if (rc == 0)
		rc = historyflag ? sm_run_history(db, "pull", 0, target.id,
		    stdout) : pull(db);
	rc = sm_cli_finish(&cli, db, rc);
	sm_endpoint_free(&target);
	sm_buf_free(&line);
	return rc;
}
