/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int allflag, nflag, vacuumflag;
static int days = -1, keep = -1, runs_days = -1;
static struct sm_cli cli;

enum { OPT_ALL = 256, OPT_DAYS, OPT_KEEP, OPT_RUNS_DAYS, OPT_VACUUM };

static const struct option longopts[] = {
	{ "all",         no_argument,       NULL, OPT_ALL },
	SM_CLI_LONGOPTS,
	{ "days",        required_argument, NULL, OPT_DAYS },
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "keep",        required_argument, NULL, OPT_KEEP },
	{ "runs-days",   required_argument, NULL, OPT_RUNS_DAYS },
	{ "vacuum",      no_argument,       NULL, OPT_VACUUM },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-cleanup [-nq] [-c file] [-D dir] [-T slug | --all] "
    "[--days n] [--keep n]\n"
    "                  [--runs-days n] [--vacuum]\n";

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A count of days or snapshots: a decimal integer from 0 to INT_MAX. */
static int
number(const char *what, const char *s)
{
	return (int)sm_cli_number(usage, what, s, 0, INT_MAX,
	    "not a number of 0 or more", "too large");
}

/* Cleans one tenant; prints its line and summary.  Returns an SM_E* code. */
static int
cleanup(const char *slug, const struct sm_cleanup_opts *o)
{
	struct sm_cleanup_stats st;
	struct sm_db *db;
	struct sm_buf b;
	double started = seconds();
	int rc, vrc = 0;

	if ((rc = sm_db_open(&cli.cfg, slug, 0, &db)) != 0)
		return rc;
	if ((rc = sm_cleanup(db, o, &st)) == 0 && vacuumflag && !nflag)
		vrc = sm_cleanup_vacuum(db);
	sm_db_close(db);
	if (rc != 0)
		return rc;
	/* A failed vacuum leaves the deletes committed: they are reported. */
	rc = vrc;
	if (rc == SM_EINTR) {
		warnx("%s: vacuum interrupted: the deletes stand, the space "
		    "is not given back", slug);
		rc = 0;
	}
	sm_buf_init(&b);
	sm_cleanup_stats_json(slug, &st, &b);
	if (sm_jw_put(&b, stdout) != 0 && rc == 0)
		rc = SM_EIO;
	sm_buf_free(&b);
	if (!cli.quiet)
		fprintf(stderr, "sm-cleanup: %s: %llu snapshots, %llu "
		    "tombstones, %llu runs, %llu change log rows %s in "
		    "%.2f s%s\n", slug, (unsigned long long)st.snapshots,
		    (unsigned long long)st.tombstones,
		    (unsigned long long)st.runs,
		    (unsigned long long)st.changes,
		    nflag ? "would be deleted" : "deleted", seconds() - started,
		    nflag ? " (dry run: nothing deleted)" :
		    vacuumflag && vrc == 0 ? ", vacuumed" : "");
	return rc;
}

int
main(int argc, char *argv[])
{
	struct sm_cleanup_opts o;
	char **slugs = NULL;
	size_t i, n;
	int c, rc, code, worst = 0;

	while ((c = getopt_long(argc, argv, "c:D:hnqT:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-cleanup"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case OPT_ALL: allflag = 1; break;
		case OPT_DAYS: days = number("--days value", optarg); break;
		case OPT_KEEP: keep = number("--keep value", optarg); break;
		case OPT_RUNS_DAYS:
			runs_days = number("--runs-days value", optarg);
			break;
		case OPT_VACUUM: vacuumflag = 1; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		sm_cli_usage(usage, "extra operand '%s'", argv[0]);
	if (allflag && cli.tenant != NULL)
		sm_cli_usage(usage, "give -T or --all, not both");
	if ((rc = sm_cli_config(&cli)) != 0) {
		warnx("%s", sm_errmsg());
		return sm_exitcode(rc);
	}
	if (allflag)
		cli.tenant = NULL;	/* not $SM_TENANT either */
	else if (cli.tenant == NULL)
		sm_cli_usage(usage, "no tenant: give -T SLUG, --all or set "
		    "SM_TENANT");
	memset(&o, 0, sizeof(o));
	o.days = days >= 0 ? days : cli.cfg.retention_days;
	o.keep = keep >= 0 ? keep : cli.cfg.keep_snapshots;
	o.runs_days = runs_days >= 0 ? runs_days : cli.cfg.runs_days;
	o.dry_run = nflag;
	sm_signals_catch();
	if (!allflag) {
		if ((rc = cleanup(cli.tenant, &o)) != 0) {
			warnx("%s", sm_errmsg());
			worst = sm_exitcode(rc);
		}
	} else if ((rc = sm_tenant_list(&cli.cfg, &slugs, &n)) != 0) {
		warnx("%s", sm_errmsg());
		worst = sm_exitcode(rc);
	} else {
		/* One tenant's trouble does not stop the others. */
		for (i = 0; i < n && !sm_interrupted(); i++) {
			if ((rc = cleanup(slugs[i], &o)) == 0)
				continue;
			warnx("%s", sm_errmsg());
			if ((code = sm_exitcode(rc)) > worst)
				worst = code;
			if (rc == SM_EINTR)
				break;
		}
		/* The tenants cleaned so far stay cleaned, and are listed. */
		if (sm_interrupted() && i < n && rc != SM_EINTR) {
			warnx("interrupted: %zu tenant%s not cleaned", n - i,
			    n - i == 1 ? "" : "s");
			if (worst == 0)
				worst = 130;
		}
	}
	sm_strv_free(slugs);
	sm_cli_free(&cli);
	if (sm_stdout_close() != 0) {
		warnx("%s", sm_errmsg());
		return 74;
	}
	return worst;
}
