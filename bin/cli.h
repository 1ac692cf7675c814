/* See LICENSE file for copyright and license details. */
/*
 * The commands' own layer (bin/libcli.a), between their main() and
 * lib/libsm.a: the shared options, the refusal of a command line, option
 * values, stdout's closing and the progress line.  Only these print by
 * themselves (lib/ reports, bin/ decides); lib/ never calls them.
 */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "sm.h"

/* cli.c: what every command does before and after its work */

/* The long options of sm_cli_common, first in each command's table. */
#define SM_CLI_LONGOPTS \
	{ "config-file", required_argument, NULL, 'c' }, \
	{ "data-dir",    required_argument, NULL, 'D' }, \
	{ "help",        no_argument,       NULL, 'h' }, \
	{ "quiet",       no_argument,       NULL, 'q' }, \
	{ "tenant",      required_argument, NULL, 'T' }, \
	{ "version",     no_argument,       NULL, 'V' }

/*
 * The shared options of SPEC §4, filled by a command's getopt loop, and
 * the configuration they lead to.
 */
struct sm_cli {
	const char *config_file;	/* -c, --config-file */
	const char *data_dir;		/* -D, --data-dir */
	const char *tenant;		/* -T, --tenant */
	int quiet;			/* -q, --quiet */
	struct sm_config cfg;
	int configured, config_rc;	/* sm_cli_config was called: its result */
};

/*
 * Loads the configuration (sm_config_load), applies -D, and takes the
 * tenant from $SM_TENANT when -T was not given.  Returns 0 or SM_ECONFIG.
 */
int sm_cli_config(struct sm_cli *cli);
/* Opens the tenant of -T/$SM_TENANT; SM_EUSAGE when none was given. */
int sm_cli_open(struct sm_cli *cli, int flags, struct sm_db **db);
/*
 * sm_cli_config, then sm_cli_open with flags: 0, or the exit code once the
 * reason is said on stderr (no tenant given refuses the command line).
 */
int sm_cli_start(struct sm_cli *cli, const char *usage, int flags,
    struct sm_db **db);
/*
 * The end of a command that ran with sm_cli_start: the message of a run
 * that failed (rc) on stderr, the tenant closed, cli freed, stdout
 * closed.  Returns the exit code: rc's, or 74 when stdout failed.
 */
int sm_cli_finish(struct sm_cli *cli, struct sm_db *db, int rc);
void sm_cli_free(struct sm_cli *cli);
/*
 * An option value that may be "@FILE": returns in *out a new string, the
 * value itself or the contents of FILE.  SM_ENOENT/SM_EIO when unreadable.
 */
int sm_cli_read_arg(const char *arg, char **out);

/*
 * Refuses the command line: "cmd: why" (fmt), then the usage text, on
 * stderr; exits 64.  A NULL fmt prints the usage alone, after getopt's
 * own "unrecognized option" or "requires an argument".
 */
/* A reject or warning on stderr: "cmd: file:line: detail" (file NULL: none). */
void sm_cli_say(const char *file, size_t line, const char *detail);
/*
 * The events of run on stdout, then the reject events spooled in rejects
 * (NULL: none): what a command prints once its run has committed.
 */
int sm_cli_events(struct sm_db *db, const struct sm_run *run, FILE *rejects);
/*
 * The one target of sm-push and sm-pull: -t ref (*ref) or the operand
 * argv[0]; refuses two that differ, and a second operand.
 */
void sm_cli_target(const char *usage, const char **ref, int argc,
    char **argv);
_Noreturn void sm_cli_usage(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* -h, --help: the usage text on stdout; exits 0. */
_Noreturn void sm_cli_help(const char *usage);
/*
 * The options every command takes, from getopt_long's c and optarg:
 * -c, -D, -q and -T set in cli, -h prints usage and -V "name VERSION"
 * and exit 0.  1 when c was one of them, 0 when it is the command's own.
 */
int sm_cli_common(struct sm_cli *cli, int c, const char *arg,
    const char *usage, const char *name);
/*
 * The value s of an option, a decimal integer from min to max; else
 * refuses the command line with "invalid WHAT 'S': " and why: expect, or
 * big when the number is past max and big is not NULL.
 */
long long sm_cli_number(const char *usage, const char *what, const char *s,
    long long min, long long max, const char *expect, const char *big);
/*
 * The time of an option (sm_time_parse, ages counting back from
 * sm_now()), or -1 when s is NULL; else refuses the command line with
 * "invalid WHAT value: " and the parser's message (its message alone
 * when what is NULL).
 */
int64_t sm_cli_time(const char *usage, const char *what, const char *s);
/* Flushes and closes stdout; returns 0 or SM_EIO (SIGPIPE stays default). */
int sm_stdout_close(void);

/*
 * progress.c: the live progress line of a long run (SPEC §4), which the
 * commands show only when stderr is a terminal and not -q; lib/'s runs
 * report their progress through a callback of their options.
 */
struct sm_progress {
	const char *cmd;	/* "sm-sync" */
	const char *what;	/* what the run works on: "portal -> web" */
	double started, last;
	double delay;		/* seconds before the line first shows */
	int shown;
};

/* Starts the clock; $SM_PROGRESS_DELAY (ms) replaces the second's wait. */
void sm_progress_init(struct sm_progress *p, const char *cmd,
    const char *what);
/*
 * Redraws "cmd: what: count unit, rate/s[, NN%]" once the run is past the
 * delay (a second), at most 4 times a second; done < 0 when the share is
 * unknown.
 */
void sm_progress_show(struct sm_progress *p, uint64_t count,
    const char *unit, double done);
/* Erases the line, if shown, before anything else goes to stderr. */
void sm_progress_clear(struct sm_progress *p);
/* Seconds since sm_progress_init, for the summary line. */
double sm_progress_elapsed(const struct sm_progress *p);

#endif
