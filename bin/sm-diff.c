/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int overwriteflag, acceptflag, rejected_any;
static const char *source_ref, *target_ref, *since_arg;
static int64_t snaps[2], since;
static int nsnaps;
static char **ids;
static size_t nids;
static struct sm_cli cli;

enum { OPT_ACCEPT = 256, OPT_ID, OPT_OVERWRITE, OPT_SINCE, OPT_SNAPSHOT };

static const struct option longopts[] = {
	{ "accept-manual",    no_argument,       NULL, OPT_ACCEPT },
	SM_CLI_LONGOPTS,
	{ "id",               required_argument, NULL, OPT_ID },
	{ "overwrite-manual", no_argument,       NULL, OPT_OVERWRITE },
	{ "since",            required_argument, NULL, OPT_SINCE },
	{ "snapshot",         required_argument, NULL, OPT_SNAPSHOT },
	{ "source",           required_argument, NULL, 's' },
	{ "target",           required_argument, NULL, 't' },
	{ NULL,               0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-diff [-q] [-c file] [-D dir] [-T slug] "
    "[--id external-id]\n"
    "               [--overwrite-manual | --accept-manual] "
    "source target\n"
    "       sm-diff [-q] [-c file] [-D dir] [-T slug] "
    "[--id external-id]\n"
    "               -s source | -t target [file ...]\n"
    "       sm-diff [-q] [-c file] [-D dir] [-T slug] "
    "[--id external-id]\n"
    "               -s source | -t target --since time\n"
    "       sm-diff [-q] [-c file] [-D dir] [-T slug] "
    "--snapshot id [--snapshot id]\n";

static int
on_reject(const struct sm_reject *j, void *arg)
{
	(void)arg;
	sm_cli_say(j->file, j->line, j->detail);
	return 0;
}

static void
on_warn(const struct sm_warning *w, void *arg)
{
	(void)arg;
	sm_cli_say(w->file, w->line, w->detail);
}

/* The one-line summary of SPEC §4 on stderr. */
static void
summary(const char *what, const struct sm_diff_stats *st)
{
	if (cli.quiet)
		return;
	fprintf(stderr, "sm-diff: %s: %llu of %llu differ", what,
	    (unsigned long long)st->differ,
	    (unsigned long long)st->examined);
	if (st->rejected > 0)
		fprintf(stderr, ", %llu rejected",
		    (unsigned long long)st->rejected);
	fputc('\n', stderr);
}

/* Looks up the source and target of -s, -t or the two operands. */
static int
endpoints(struct sm_db *db, int *argc, char **argv, struct sm_endpoint *s,
    struct sm_endpoint *t)
{
	int rc;

	if (*argc == 2 && source_ref == NULL && target_ref == NULL) {
		source_ref = argv[0];
		target_ref = argv[1];
		*argc = 0;
	}
	if (source_ref != NULL &&
	    (rc = sm_endpoint_get(db, SM_SOURCE, source_ref, s)) != 0)
		return rc;
	if (target_ref != NULL &&
	    (rc = sm_endpoint_get(db, SM_TARGET, target_ref, t)) != 0)
		return rc;
	return 0;
}

/* Runs the mode the options chose; what gets the summary's subject. */
static int
run(struct sm_db *db, int argc, char **argv, const struct sm_diff_opts *o,
    struct sm_diff_stats *st, struct sm_buf *what)
{
	struct sm_endpoint s, t;
	int rc;

	if (nsnaps > 0) {
		sm_buf_addf(what, "snapshot %lld -> ", (long long)snaps[0]);
		if (nsnaps == 2)
			sm_buf_addf(what, "%lld", (long long)snaps[1]);
		else
			sm_buf_adds(what, "now");
		return sm_diff_snapshots(db, snaps[0], snaps[1], o, st);
	}
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	if ((rc = endpoints(db, &argc, argv, &s, &t)) != 0)
		goto out;
	if (source_ref != NULL && target_ref != NULL) {
		sm_buf_addf(what, "%s -> %s", s.name, t.name);
		rc = sm_diff_sync(db, &s, &t, o, st);
	} else if (since_arg != NULL) {
		sm_buf_addf(what, "%s since %s", source_ref ? s.name : t.name,
		    since_arg);
		rc = sm_diff_since(db, source_ref ? &s : &t, since, o, st);
	} else {
		sm_buf_adds(what, source_ref ? s.name : t.name);
		rc = sm_diff_input(db, &cli.cfg, source_ref ? &s : &t, argv,
		    (size_t)argc, o, st);
		rejected_any = st->rejected > 0;
	}
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
	return rc;
}

static int
diff(struct sm_db *db, int argc, char **argv, struct sm_diff_stats *st)
{
	struct sm_diff_opts o;
	struct sm_buf what;
	int rc;

	memset(&o, 0, sizeof(o));
	o.ids = ids;
	o.overwrite_manual = overwriteflag;
	o.accept_manual = acceptflag;
	o.out = stdout;
	o.reject = on_reject;
	o.warn = on_warn;
	sm_buf_init(&what);
	if ((rc = run(db, argc, argv, &o, st, &what)) == 0)
		summary(what.data, st);
	sm_buf_free(&what);
	return rc;
}

/* The operands and options of one of the four forms, or usage. */
static void
check_form(int argc, char **argv)
{
	int side = (source_ref != NULL) + (target_ref != NULL);

	if (overwriteflag && acceptflag)
		sm_cli_usage(usage, "--overwrite-manual and --accept-manual "
		    "exclude each other");
	if (nsnaps > 0) {
		if (side > 0 || since_arg != NULL || nids > 0 || argc > 0 ||
		    overwriteflag || acceptflag)
			sm_cli_usage(usage, "--snapshot takes no other "
			    "operand or option");
		return;
	}
	if ((overwriteflag || acceptflag) && !(side == 2 ||
	    (side == 0 && argc == 2)))
		sm_cli_usage(usage, "--overwrite-manual and --accept-manual "
		    "apply to a source against a target");
	if (since_arg != NULL) {
		if (side != 1 || argc > 0)
			sm_cli_usage(usage, "--since takes -s source or -t "
			    "target and no operand");
		return;
	}
	if (side == 0 && argc < 2)
		sm_cli_usage(usage, argc == 0 ?
		    "missing operands: SOURCE TARGET" :
		    "missing operand: TARGET");
	if ((side == 0 && argc > 2) || (side == 2 && argc > 0))
		sm_cli_usage(usage, "extra operand '%s'",
		    argv[side == 0 ? 2 : 0]);
	if (side == 1 && argc == 0 && isatty(STDIN_FILENO))
		sm_cli_usage(usage, "missing operand: FILE (standard input is "
		    "a terminal)");
}

int
main(int argc, char *argv[])
{
	struct sm_diff_stats st;
	struct sm_db *db;
	int c, rc;

	ids = sm_xcalloc(1, sizeof(*ids));
	while ((c = getopt_long(argc, argv, "c:D:hqs:t:T:V", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-diff"))
			continue;
		switch (c) {
		case 's': source_ref = optarg; break;
		case 't': target_ref = optarg; break;
		case OPT_ACCEPT: acceptflag = 1; break;
		case OPT_ID:
			ids = sm_xrealloc(ids, (nids + 2) * sizeof(*ids));
			ids[nids++] = sm_xstrdup(optarg);
			ids[nids] = NULL;
			break;
		case OPT_OVERWRITE: overwriteflag = 1; break;
		case OPT_SINCE: since_arg = optarg; break;
		case OPT_SNAPSHOT:
			if (nsnaps == 2)
				sm_cli_usage(usage, "at most two --snapshot "
				    "options");
			snaps[nsnaps++] = sm_cli_number(usage,
			    "--snapshot value", optarg, 1, LLONG_MAX,
			    "expected a snapshot id", NULL);
			break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	check_form(argc, argv);
	memset(&st, 0, sizeof(st));
	if ((rc = sm_cli_config(&cli)) != 0) {
		warnx("%s", sm_errmsg());
		return sm_exitcode(rc);
	}
	/* After the configuration: an age counts back from $SM_NOW. */
	since = sm_cli_time(usage, NULL, since_arg);
	if ((rc = sm_cli_start(&cli, usage, SM_DB_READONLY, &db)) != 0)
		return rc;
	rc = sm_cli_finish(&cli, db, diff(db, argc, argv, &st));
	sm_strv_free(ids);
	if (rc == 0 && rejected_any)
		return sm_exitcode(SM_EDATA);
	return rc == 0 ? st.differ > 0 : rc;
}
