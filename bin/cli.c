/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The command line's words for the marks of lib messages (sm_wording_set). */
static const struct sm_wording cli_words[] = {
	{ "accept_manual", "--accept-manual" },
	{ "allow_mass_delete", "--allow-mass-delete" },
	{ "complete", "--complete" },
	{ "config", "--config" },
	{ "merge", "--merge" },
	{ "overwrite_manual", "--overwrite-manual" },
	{ "restore_at", "restore --at TIME" },
	{ "strict", "--strict" },
	{ "with_slug", "with --slug" },
	{ NULL, NULL }
};

int
sm_cli_config(struct sm_cli *cli)
{
	const char *env;
	int rc;

	/* A command may look at the configuration before sm_cli_start. */
	if (cli->configured)
		return cli->config_rc;
	cli->configured = 1;
	sm_wording_set(cli_words);
	rc = cli->config_rc = sm_config_load(&cli->cfg, cli->config_file);
	if (rc != 0)
		return rc;
	if (cli->data_dir != NULL)
		sm_config_set_data_dir(&cli->cfg, cli->data_dir);
	if (cli->tenant == NULL && (env = getenv("SM_TENANT")) != NULL &&
	    *env != '\0')
		cli->tenant = env;
	return 0;
}

int
sm_cli_open(struct sm_cli *cli, int flags, struct sm_db **db)
{
	*db = NULL;
	if (cli->tenant == NULL)
		return sm_error(SM_EUSAGE, "no tenant: give -T SLUG or set "
		    "SM_TENANT");
	return sm_db_open(&cli->cfg, cli->tenant, flags, db);
}

int
sm_cli_start(struct sm_cli *cli, const char *usage, int flags,
    struct sm_db **db)
{
	int rc;

	*db = NULL;
	if ((rc = sm_cli_config(cli)) == 0 &&
	    (rc = sm_cli_open(cli, flags, db)) == SM_EUSAGE)
		sm_cli_usage(usage, "%s", sm_errmsg());
	if (rc == 0)
		return 0;
	warnx("%s", sm_errmsg());
	return sm_exitcode(rc);
}

int
sm_cli_finish(struct sm_cli *cli, struct sm_db *db, int rc)
{
	if (rc != 0)
		warnx("%s", sm_errmsg());
	sm_db_close(db);
	sm_cli_free(cli);
	if (sm_stdout_close() != 0) {
		warnx("%s", sm_errmsg());
		return 74;
	}
	return sm_exitcode(rc);
}

void
sm_cli_free(struct sm_cli *cli)
{
	sm_config_free(&cli->cfg);
}

int
sm_cli_read_arg(const char *arg, char **out)
{
	if (arg[0] == '@')
		return sm_file_read(arg + 1, out);
	*out = sm_xstrdup(arg);
	return 0;
}

int
sm_cli_events(struct sm_db *db, const struct sm_run *run, FILE *rejects)
{
	char chunk[8192];
	size_t n;
	int rc;

	if ((rc = sm_events_print(db, run, 0, stdout)) != 0 || rejects == NULL)
		return rc;
	rewind(rejects);
	while ((n = fread(chunk, 1, sizeof(chunk), rejects)) > 0)
		if (fwrite(chunk, 1, n, stdout) != n)
			return sm_error(SM_EIO, "write error on stdout");
	return 0;
}

void
sm_cli_target(const char *usage, const char **ref, int argc, char **argv)
{
	if (argc > 0 && *ref != NULL && strcmp(argv[0], *ref) != 0)
		sm_cli_usage(usage, "-t '%s' and operand '%s' name different "
		    "targets", *ref, argv[0]);
	if (argc > 0)
		*ref = argv[0];
	if (argc > 1)
		sm_cli_usage(usage, "extra operand '%s'", argv[1]);
}

void
sm_cli_say(const char *file, size_t line, const char *detail)
{
	if (file != NULL)
		warnx("%s:%zu: %s", file, line, detail);
	else
		warnx("%s", detail);
}

void
sm_cli_usage(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vwarnx(fmt, ap);
		va_end(ap);
	}
	fputs(usage, stderr);
	exit(64);
}

void
sm_cli_help(const char *usage)
{
	fputs(usage, stdout);
	exit(0);
}

long long
sm_cli_number(const char *usage, const char *what, const char *s,
    long long min, long long max, const char *expect, const char *big)
{
	char *end;
	long long n;

	/* Digits only: strtoll's blanks and signs are no count. */
	errno = 0;
	n = strtoll(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || n < min)
		sm_cli_usage(usage, "invalid %s '%s': %s", what, s, expect);
	if (errno == ERANGE || n > max)
		sm_cli_usage(usage, "invalid %s '%s': %s", what, s,
		    big != NULL ? big : expect);
	return n;
}

int64_t
sm_cli_time(const char *usage, const char *what, const char *s)
{
	int64_t ms;

	if (s == NULL)
		return -1;
	if (sm_time_parse(s, sm_now(), &ms) != 0) {
		if (what == NULL)
			sm_cli_usage(usage, "%s", sm_errmsg());
		sm_cli_usage(usage, "invalid %s value: %s", what, sm_errmsg());
	}
	return ms;
}

int
sm_stdout_close(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return sm_error(SM_EIO, "write error on stdout: %s",
		    strerror(errno));
	if (fclose(stdout) != 0)
		return sm_error(SM_EIO, "write error on stdout: %s",
		    strerror(errno));
	return 0;
}

int
sm_cli_common(struct sm_cli *cli, int c, const char *arg, const char *usage,
    const char *name)
{
	switch (c) {
	case 'c': cli->config_file = arg; return 1;
	case 'D': cli->data_dir = arg; return 1;
	case 'h': sm_cli_help(usage);
	case 'q': cli->quiet = 1; return 1;
	case 'T': cli->tenant = arg; return 1;
	case 'V':
		printf("%s %s\n", name, SM_VERSION);
		exit(0);
	}
	return 0;
}
