/* See LICENSE file for copyright and license details. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "api/sm-api.h"

static int routesflag;
static const char *listen_opt, *threads_opt;
static struct sm_cli cli;

enum { OPT_LISTEN = 256, OPT_ROUTES, OPT_THREADS };

static const struct option longopts[] = {
	{ "config-file", required_argument, NULL, 'c' },
	{ "data-dir",    required_argument, NULL, 'D' },
	{ "help",        no_argument,       NULL, 'h' },
	{ "listen",      required_argument, NULL, OPT_LISTEN },
	{ "quiet",       no_argument,       NULL, 'q' },
	{ "routes",      no_argument,       NULL, OPT_ROUTES },
	{ "threads",     required_argument, NULL, OPT_THREADS },
	{ "version",     no_argument,       NULL, 'V' },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-serve [-q] [-c file] [-D dir] [--listen addr:port] "
    "[--threads n]\n"
    "       sm-serve --routes\n";


/* Listening and accepting */

/*
 * Splits "HOST:PORT" ("[v6]:PORT") and resolves it.  Port 0 (from
 * --listen only) lets the system pick one.  Returns the addresses.
 */
static struct addrinfo *
resolve(const char *listen)
{
	struct addrinfo hints, *res;
	const char *colon;
	char host[256], *end;
	long port;
	size_t n;
	int rc;

	if ((colon = strrchr(listen, ':')) == NULL || colon == listen ||
	    (n = (size_t)(colon - listen)) >= sizeof(host))
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		goto bad;
	if (listen[0] == '[') {
		if (n < 3 || listen[n - 1] != ']')
			goto bad;
		memcpy(host, listen + 1, n - 2);
		host[n - 2] = '\0';
	} else {
		memcpy(host, listen, n);
		host[n] = '\0';
		if (strchr(host, ':') != NULL)
			goto bad;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		errx(64, "cannot resolve '%s': %s", host, gai_strerror(rc));
	return res;
bad:
	sm_cli_usage(usage, "invalid --listen value '%s': expected HOST:PORT",
	    listen);
}

static unsigned int
threads_value(void)
{
	if (threads_opt == NULL)
		return (unsigned int)cli.cfg.serve_threads;
	return (unsigned int)sm_cli_number(usage, "--threads value",
	    threads_opt, 1, 256, "expected 1 to 256", NULL);
}

/* The admin key file must not be readable by others than its owner. */
static void
check_key_file(void)
{
	const char *path = cli.cfg.serve_admin_key_file;
	struct stat st;

	if (path != NULL && stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		warnx("warning: '%s' is readable by others: chmod 600 it",
		    path);
}

int
main(int argc, char *argv[])
{
	struct sm_api *api;
	struct addrinfo *ai;
	unsigned int threads;
	sigset_t set;
	int c, rc, sig;

	while ((c = getopt_long(argc, argv, "c:D:hqV", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-serve"))
			continue;
		switch (c) {
		case OPT_LISTEN: listen_opt = optarg; break;
		case OPT_ROUTES: routesflag = 1; break;
		case OPT_THREADS: threads_opt = optarg; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		sm_cli_usage(usage, "extra operand '%s'", argv[0]);
	if (routesflag) {
		if (sm_api_routes(stdout) != 0 || sm_stdout_close() != 0)
			err(74, "stdout");
		return 0;
	}
	if ((rc = sm_cli_config(&cli)) != 0)
		errx(sm_exitcode(rc), "%s", sm_errmsg());
	threads = threads_value();
	sm_serve_limits(&cli.cfg, threads, cli.quiet);
	ai = resolve(listen_opt != NULL ? listen_opt : cli.cfg.serve_listen);
	/* Each thread keeps the tenant handles it opened (issue 13). */
	sm_db_keep();
	if ((rc = sm_db_init_dir(&cli.cfg)) != 0 ||
	    (rc = sm_api_new(&api, &cli.cfg)) != 0)
		errx(sm_exitcode(rc), "%s", sm_errmsg());
	check_key_file();
	/* Blocked in every thread: only sigwait, below, takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = sm_serve_start(api, ai)) == SM_EIO) {
		sm_api_free(api);
		errx(74, "cannot listen on %s", listen_opt != NULL ?
		    listen_opt : cli.cfg.serve_listen);
	}
	if (rc != 0)
		errx(70, "%s", sm_errmsg());
	freeaddrinfo(ai);
	if (!cli.quiet)
		fprintf(stderr, "sm-serve: listening on port %u (%s), %u "
		    "thread%s, data in %s\n", sm_serve_port(),
		    listen_opt != NULL ? listen_opt : cli.cfg.serve_listen,
		    threads, threads == 1 ? "" : "s", cli.cfg.data_dir);
	while (sigwait(&set, &sig) != 0)
		;
	rc = sm_serve_stop(sig, &set);
	sm_api_free(api);
	sm_cli_free(&cli);
	return rc;
}
