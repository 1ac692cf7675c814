/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int dataflag, historyflag, manualflag, massflag, nflag;
static const char *source_ref, *target_ref, *at_opt, *since_opt, *until_opt;
static const char *label_opt, *undo_opt;
static char **ids;
static size_t nids;
static int64_t at = -1, since = -1, until = -1;
static struct sm_cli cli;
static struct sm_endpoint endpoint;
static struct sm_progress progress;

enum { OPT_ALLOW_MASS = 256, OPT_AT, OPT_DATA, OPT_HISTORY, OPT_ID,
    OPT_LABEL, OPT_MANUAL, OPT_SINCE, OPT_UNDO, OPT_UNTIL };

static const struct option longopts[] = {
	{ "allow-mass-delete", no_argument, NULL, OPT_ALLOW_MASS },
	{ "at",          required_argument, NULL, OPT_AT },
	SM_CLI_LONGOPTS,
	{ "data",        no_argument,       NULL, OPT_DATA },
	{ "dry-run",     no_argument,       NULL, 'n' },
	{ "history",     no_argument,       NULL, OPT_HISTORY },
	{ "id",          required_argument, NULL, OPT_ID },
	{ "label",       required_argument, NULL, OPT_LABEL },
	{ "manual",      no_argument,       NULL, OPT_MANUAL },
	{ "since",       required_argument, NULL, OPT_SINCE },
	{ "source",      required_argument, NULL, 's' },
	{ "target",      required_argument, NULL, 't' },
	{ "undo",        required_argument, NULL, OPT_UNDO },
	{ "until",       required_argument, NULL, OPT_UNTIL },
	{ NULL,          0,                 NULL, 0 }
};

/* The options that select or filter, and the verbs they apply to. */
enum { O_SIDE = 1, O_AT = 2, O_DATA = 4, O_ID = 8, O_LABEL = 16,
    O_MANUAL = 32, O_SINCE = 64, O_UNTIL = 128, O_MASS = 256, O_UNDO = 512 };
static const char *const optnames[] = { "-s/-t", "--at", "--data", "--id",
    "--label", "--manual", "--since", "--until", "--allow-mass-delete",
    "--undo" };
static int given;

static const char usage[] =
    "usage: sm-snapshot [-nq] [-c file] [-D dir] [-T slug] verb ...\n"
    "       sm-snapshot cat -s source | -t target [--manual] "
    "[--at time] [--id ext]\n"
    "       sm-snapshot list [-s source | -t target] [--data] "
    "[--id ext] [--since time]\n"
    "                        [--until time]\n"
    "       sm-snapshot show id\n"
    "       sm-snapshot restore [-n] id\n"
    "       sm-snapshot restore [-n] -s source | -t target --at time "
    "[--allow-mass-delete]\n"
    "                           [--id ext]\n"
    "       sm-snapshot restore [-n] --undo run\n"
    "       sm-snapshot take -s source | -t target [--label label]\n"
    "       sm-snapshot --history [-s source | -t target]\n";

static void
fail(int rc)
{
	if (rc == SM_EUSAGE)
		sm_cli_usage(usage, "%s", sm_errmsg());
	warnx("%s", sm_errmsg());
	exit(sm_exitcode(rc));
}

/* A snapshot or run id: what names it in the message. */
static int64_t
positive_id(const char *what, const char *s)
{
	return sm_cli_number(usage, what, s, 1, LLONG_MAX - 1,
	    "expected a positive integer", NULL);
}

static void
on_progress(uint64_t done, double share, void *arg)
{
	(void)arg;
	sm_progress_show(&progress, done, "restored", share);
}

static int
on_done(struct sm_db *db, const struct sm_run *run, void *arg)
{
	(void)arg;
	sm_progress_clear(&progress);
	return sm_events_print(db, run, 0, stdout);
}

static int
do_restore(struct sm_db *db, int64_t id)
{
	struct sm_restore_opts o;
	struct sm_restore_stats st;
	struct sm_run run;
	int rc, sig;

	memset(&o, 0, sizeof(o));
	if (undo_opt != NULL) {
		o.undo = id;
		if ((rc = sm_restore_run_endpoint(db, id, &endpoint)) != 0)
			return rc;
	} else if (id > 0) {
		o.snapshot = id;
		if ((rc = sm_snap_endpoint(db, id, &endpoint)) != 0)
			return rc;
	}
	o.at = at;
	o.ids = ids;
	o.nids = nids;
	o.dry_run = nflag;
	o.max_delete_ratio = cli.cfg.import_max_delete_ratio;
	o.allow_mass_delete = massflag;
	o.done = on_done;
	sm_progress_init(&progress, "sm-snapshot", endpoint.name);
	if (!cli.quiet && isatty(STDERR_FILENO))
		o.progress = on_progress;
	sm_signals_catch();
	rc = sm_snap_restore(db, &endpoint, &o, &st, &run);
	sm_progress_clear(&progress);
	if ((sig = sm_signals_deferred()) != 0)
		warnx("%s after run %lld committed: the run stands",
		    sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)run.id);
	if (rc != 0)
		return rc;
	if (!cli.quiet)
		fprintf(stderr, "sm-snapshot: %s: %llu restored, %llu deleted "
		    "in %.2f s%s\n", endpoint.name,
		    (unsigned long long)st.restored,
		    (unsigned long long)st.deleted, sm_progress_elapsed(&progress),
		    nflag ? " (dry run: nothing written)" : "");
	return 0;
}

static int
do_take(struct sm_db *db, int64_t id)
{
	struct sm_buf b;
	int64_t n, taken_at;
	int rc;

	(void)id;
	sm_signals_catch();
	if ((rc = sm_snap_take_all(db, &endpoint, label_opt, nflag, &n,
	    &taken_at)) != 0)
		return rc;
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, endpoint.side == SM_SOURCE ? "source" : "target",
	    endpoint.name);
	sm_jw_str(&b, "label", label_opt);
	sm_jw_int(&b, "snapshots", n);
	sm_jw_time(&b, "taken_at", taken_at);
	sm_jw_end(&b);
	rc = sm_jw_put(&b, stdout);
	sm_buf_free(&b);
	return rc;
}

static int
do_cat(struct sm_db *db, int64_t id)
{
	(void)id;
	return sm_snap_cat(db, &endpoint, ids, nids, manualflag, at, stdout);
}

static int
do_show(struct sm_db *db, int64_t id)
{
	return sm_snap_show(db, id, stdout);
}

static int
do_list(struct sm_db *db, int64_t id)
{
	struct sm_snap_query q;

	(void)id;
	memset(&q, 0, sizeof(q));
	q.side = endpoint.side;
	q.owner = endpoint.id;
	q.ids = ids;
	q.nids = nids;
	q.since = since;
	q.until = until;
	q.with_data = dataflag;
	return sm_snap_list(db, &q, stdout);
}

/* Refuses the options given that verb does not take. */
static void
check_allowed(const char *verb, int allowed)
{
	size_t i;

	for (i = 0; i < sizeof(optnames) / sizeof(optnames[0]); i++)
		if ((given & ~allowed) & (1 << i))
			sm_cli_usage(usage, "%s does not apply to '%s'",
			    optnames[i], verb);
	if (source_ref != NULL && target_ref != NULL)
		sm_cli_usage(usage, "give -s or -t, not both");
}

/*
 * The forms of restore: an id operand, -s/-t with --at, or --undo; returns
 * the snapshot or run id, or 0 for --at.
 */
static int64_t
check_restore(int argc, char **argv)
{
	int side = source_ref != NULL || target_ref != NULL;

	if (undo_opt != NULL) {
		if (given & ~O_UNDO)
			sm_cli_usage(usage, "'restore --undo' takes no -s, "
			    "-t, --at, --id or --allow-mass-delete: the run "
			    "names them");
		if (argc != 0)
			sm_cli_usage(usage, "unexpected operand '%s'", argv[0]);
		return positive_id("run id", undo_opt);
	}
	if (!side && at_opt == NULL) {
		if (argc == 0)
			sm_cli_usage(usage, "'restore' needs a snapshot id, "
			    "-s or -t and --at, or --undo");
		if (argc > 1)
			sm_cli_usage(usage, "unexpected operand '%s'",
			    argv[1]);
		if (given & (O_ID | O_MASS))
			sm_cli_usage(usage, "%s applies to 'restore --at' only",
			    given & O_ID ? "--id" : "--allow-mass-delete");
		return positive_id("snapshot id", argv[0]);
	}
	if (argc != 0)
		sm_cli_usage(usage, "unexpected operand '%s'", argv[0]);
	if (!side)
		sm_cli_usage(usage, "'restore --at' needs -s source or -t "
		    "target");
	if (at_opt == NULL)
		sm_cli_usage(usage, "'restore' needs a snapshot id or --at");
	at = sm_cli_time(usage, "--at", at_opt);
	return 0;
}

/* Checks the options and operands of verb; returns its snapshot id or 0. */
static int64_t
check_verb(const char *verb, int allowed, int argc, char **argv)
{
	check_allowed(verb, allowed);
	if (strcmp(verb, "restore") == 0)
		return check_restore(argc, argv);
	if (strcmp(verb, "show") == 0) {
		if (argc == 0)
			sm_cli_usage(usage, "'show' needs a snapshot id");
		if (argc > 1)
			sm_cli_usage(usage, "unexpected operand '%s'",
			    argv[1]);
		return positive_id("snapshot id", argv[0]);
	}
	if (argc != 0)
		sm_cli_usage(usage, "unexpected operand '%s'", argv[0]);
	if (strcmp(verb, "list") != 0 && source_ref == NULL &&
	    target_ref == NULL)
		sm_cli_usage(usage, "'%s' needs -s source or -t target", verb);
	if (manualflag && target_ref == NULL)
		sm_cli_usage(usage, "--manual applies to targets (-t) only");
	at = sm_cli_time(usage, "--at", at_opt);
	since = sm_cli_time(usage, "--since", since_opt);
	until = sm_cli_time(usage, "--until", until_opt);
	return 0;
}

/* --history: the restore runs, of -s/-t when given. */
static int
do_history(struct sm_db *db, int64_t id)
{
	(void)id;
	return sm_run_history(db, "restore", endpoint.side == SM_SOURCE ?
	    endpoint.id : 0, endpoint.side == SM_TARGET ? endpoint.id : 0,
	    stdout);
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int allowed;
		int readonly;
		int (*fn)(struct sm_db *, int64_t);
	} verbs[] = {
		{ "cat", O_SIDE | O_AT | O_ID | O_MANUAL, 1, do_cat },
		{ "list", O_SIDE | O_DATA | O_ID | O_SINCE | O_UNTIL, 1,
		    do_list },
		{ "restore", O_SIDE | O_AT | O_ID | O_MASS | O_UNDO, 0,
		    do_restore },
		{ "show", 0, 1, do_show },
		{ "take", O_SIDE | O_LABEL, 0, do_take },
	};
	struct sm_db *db;
	const char *verb;
	int64_t id;
	const size_t nverbs = sizeof(verbs) / sizeof(verbs[0]);
	size_t v;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:D:hnqs:t:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-snapshot"))
			continue;
		switch (c) {
		case 'n': nflag = 1; break;
		case 's': source_ref = optarg; given |= O_SIDE; break;
		case 't': target_ref = optarg; given |= O_SIDE; break;
		case OPT_ALLOW_MASS: massflag = 1; given |= O_MASS; break;
		case OPT_AT: at_opt = optarg; given |= O_AT; break;
		case OPT_DATA: dataflag = 1; given |= O_DATA; break;
		case OPT_HISTORY: historyflag = 1; break;
		case OPT_ID:
			ids = sm_xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = optarg;
			given |= O_ID;
			break;
		case OPT_LABEL: label_opt = optarg; given |= O_LABEL; break;
		case OPT_MANUAL: manualflag = 1; given |= O_MANUAL; break;
		case OPT_SINCE: since_opt = optarg; given |= O_SINCE; break;
		case OPT_UNDO: undo_opt = optarg; given |= O_UNDO; break;
		case OPT_UNTIL: until_opt = optarg; given |= O_UNTIL; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (historyflag) {
		if (argc > 0)
			sm_cli_usage(usage, "--history takes no verb: '%s'",
			    argv[0]);
		check_allowed("--history", O_SIDE);
		v = nverbs;
		id = 0;
	} else {
		if (argc < 1)
			sm_cli_usage(usage, "missing verb: cat, list, show, "
			    "restore or take");
		verb = argv[0];
		for (v = 0; v < nverbs; v++)
			if (strcmp(verb, verbs[v].name) == 0)
				break;
		if (v == nverbs)
			sm_cli_usage(usage, "unknown verb '%s'", verb);
		id = check_verb(verb, verbs[v].allowed, argc - 1, argv + 1);
	}
	if ((rc = sm_cli_config(&cli)) != 0 || (rc = sm_cli_open(&cli,
	    v == nverbs || verbs[v].readonly ? SM_DB_READONLY : 0, &db)) != 0)
		fail(rc);
	if ((source_ref != NULL || target_ref != NULL) &&
	    (rc = sm_endpoint_get(db, source_ref != NULL ? SM_SOURCE :
	    SM_TARGET, source_ref != NULL ? source_ref : target_ref,
	    &endpoint)) != 0)
		fail(rc);
	rc = sm_cli_finish(&cli, db, (v == nverbs ? do_history :
	    verbs[v].fn)(db, id));
	sm_endpoint_free(&endpoint);
	free(ids);
	return rc;
}
