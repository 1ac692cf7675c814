/* See LICENSE file for copyright and license details. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sm.h"

#define IDLE_TIMEOUT	60	/* seconds a silent connection is kept */
#define DRAIN_MAX	(16 * 1024 * 1024)

/* One request as the HTTP layer sees it: the API's request and a clock. */
struct request {
	struct sm_api_req *req;
	struct timespec start;
	char method[16];
	char *url;
	uint64_t drained;	/* bytes of a refused body read and dropped */
	int gated;		/* holds its tenant's gate */
	struct MHD_Connection *conn;	/* while waiting at the gate */
	struct request *next;
};

/*
 * Writes to one tenant run one at a time, as SQLite would make them
 * anyway, but without a thread sleeping in SQLite's busy handler for
 * each one waiting: a write that finds its tenant busy is suspended,
 * holding no thread, and resumed by the write before it.  So a queue of
 * writes to one tenant never takes the threads other tenants need, and
 * the queue moves as fast as the writes do.
 */
struct gate {
	char slug[SM_SLUG_MAX + 1];
	struct request *head, *tail;	/* suspended, in order of arrival */
	struct gate *next;
};

static int routesflag;
static const char *listen_opt, *threads_opt;
static struct sm_cli cli;
static struct sm_api *api;
static atomic_int inflight;	/* requests begun and not completed */
static atomic_int draining;	/* SIGTERM seen: connections close */
static struct gate *gates;	/* the tenants with a write running */
static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void
usage(FILE *f, int code)
{
	fputs("usage: sm-serve [-q] [-c file] [-D dir] [--listen addr:port] "
	    "[--threads n]\n"
	    "       sm-serve --routes\n", f);
	exit(code);
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	    (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (cli.quiet)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fprintf(stderr, "sm-serve: %s\n", msg);
}

/* A copy of the decoded URL fit for one log line. */
static char *
printable(const char *url)
{
	char *s = sm_xstrdup(url), *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static const char *
get_value(void *arg, int kind, const char *name)
{
	return MHD_lookup_connection_value(arg, kind == SM_API_HEADER ?
	    MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND, name);
}

static void
add_header(struct MHD_Response *m, const char *name, const char *value)
{
	if (value != NULL)
		MHD_add_response_header(m, name, value);
}

static enum MHD_Result
send_response(struct MHD_Connection *c, struct sm_api_req *req)
{
	struct sm_api_resp *p = sm_api_response(req);
	struct MHD_Response *m;
	enum MHD_Result ret;
	char retry[16];

	if (p->fd >= 0) {
		m = MHD_create_response_from_fd(p->size, p->fd);
		if (m == NULL)
			close(p->fd);
		p->fd = -1;
	} else
		m = MHD_create_response_from_buffer(p->body.len, p->body.data,
		    MHD_RESPMEM_MUST_COPY);
	if (m == NULL)
		return MHD_NO;
	add_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, p->type);
	add_header(m, "X-Content-Type-Options", "nosniff");
	add_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	add_header(m, MHD_HTTP_HEADER_ALLOW, p->allow);
	add_header(m, MHD_HTTP_HEADER_LINK, p->link);
	add_header(m, MHD_HTTP_HEADER_LOCATION, p->location);
	if (p->retry_after > 0) {
		snprintf(retry, sizeof(retry), "%d", p->retry_after);
		add_header(m, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	if (strcmp(p->type, "application/json") != 0)
		add_header(m, "Content-Security-Policy", "default-src 'none'; "
		    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		    "connect-src 'self'");
	if (atomic_load(&draining))
		add_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned int)p->status, m);
	MHD_destroy_response(m);
	return ret;
}

/* Returns 1 when rq may write now, 0 when it waits (suspended). */
static int
gate_enter(struct request *rq, struct MHD_Connection *c)
{
	const char *slug = sm_api_tenant(rq->req);
	struct gate *g;

	pthread_mutex_lock(&gates_lock);
	for (g = gates; g != NULL && strcmp(g->slug, slug) != 0; g = g->next)
		;
	if (g == NULL) {
		g = sm_xcalloc(1, sizeof(*g));
		snprintf(g->slug, sizeof(g->slug), "%s", slug);
		g->next = gates;
		gates = g;
		rq->gated = 1;
	} else {
		rq->conn = c;
		rq->next = NULL;
		if (g->tail != NULL)
			g->tail->next = rq;
		else
			g->head = rq;
		g->tail = rq;
		/* Under the lock: gate_leave cannot resume it before this. */
		MHD_suspend_connection(c);
	}
	pthread_mutex_unlock(&gates_lock);
	return rq->gated;
}

/* rq has written: the next write waiting gets the tenant. */
static void
gate_leave(struct request *rq)
{
	const char *slug = sm_api_tenant(rq->req);
	struct request *next = NULL;
	struct gate **gp, *g;

	pthread_mutex_lock(&gates_lock);
	for (gp = &gates; (g = *gp) != NULL; gp = &g->next)
		if (strcmp(g->slug, slug) == 0)
			break;
	if (g != NULL && (next = g->head) != NULL) {
		if ((g->head = next->next) == NULL)
			g->tail = NULL;
		next->gated = 1;
	} else if (g != NULL) {
		*gp = g->next;
		free(g);
	}
	pthread_mutex_unlock(&gates_lock);
	rq->gated = 0;
	if (next != NULL)
		MHD_resume_connection(next->conn);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)version;
	if (rq == NULL) {
		rq = sm_xcalloc(1, sizeof(*rq));
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		snprintf(rq->method, sizeof(rq->method), "%s", method);
		rq->url = printable(url);
		atomic_fetch_add(&inflight, 1);
		*con_cls = rq;
		rq->req = sm_api_begin(api, method, url, get_value, c);
		/* Refused before the body: MHD skips whatever was sent. */
		if (sm_api_response(rq->req) != NULL)
			return send_response(c, rq->req);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/*
		 * Once the body is refused (over the limit, malformed) the
		 * rest is read and dropped, since MHD cannot answer in the
		 * middle of an upload; past DRAIN_MAX the connection is
		 * closed instead.  A client that sends Content-Length is
		 * answered 413 before its body.
		 */
		if (sm_api_feed(rq->req, upload_data, *upload_data_size) &&
		    (rq->drained += *upload_data_size) > DRAIN_MAX)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (sm_api_writes(rq->req) && !rq->gated && !gate_enter(rq, c))
		return MHD_YES;
	sm_api_finish(rq->req);
	if (rq->gated)
		gate_leave(rq);
	return send_response(c, rq->req);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	struct sm_api_resp *p;
	const char *tenant;

	(void)cls;
	(void)c;
	if (rq == NULL)
		return;
	p = sm_api_response(rq->req);
	if (!cli.quiet) {
		tenant = sm_api_tenant(rq->req);
		fprintf(stderr, "sm-serve: %s%s%s %s %d %.3f s%s%s%s\n",
		    tenant ? tenant : "", tenant ? " " : "", rq->method,
		    rq->url, p != NULL ? p->status : 0, elapsed(&rq->start),
		    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ?
		    " (connection closed early)" : "",
		    p != NULL && p->detail ? ": " : "",
		    p != NULL && p->detail ? p->detail : "");
	}
	sm_api_end(rq->req);
	free(rq->url);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}

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
	warnx("invalid --listen value '%s': expected HOST:PORT", listen);
	usage(stderr, 64);
	return NULL;
}

static struct MHD_Daemon *
start(const struct addrinfo *ai, unsigned int threads)
{
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)logger, NULL },
		{ MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT, NULL },
		{ MHD_OPTION_THREAD_POOL_SIZE, threads, NULL },
		{ MHD_OPTION_END, 0, NULL }
	};
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (threads < 2)
		ops[4].option = MHD_OPTION_END;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
}

/*
 * Waits for SIGINT or SIGTERM, then stops accepting and lets the
 * requests in progress finish; a second signal stops at once (every
 * run in progress is rolled back by SQLite).
 */
static void
wait_for_signal(struct MHD_Daemon *d)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	sigset_t set;
	MHD_socket s;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (sigwait(&set, &sig) != 0)
		;
	atomic_store(&draining, 1);
	s = MHD_quiesce_daemon(d);
	if (!cli.quiet)
		warnx("%s: finishing %d request%s in progress", strsignal(sig),
		    atomic_load(&inflight), atomic_load(&inflight) == 1 ?
		    "" : "s");
	while (atomic_load(&inflight) > 0) {
		if (sigtimedwait(&set, NULL, &tick) > 0) {
			warnx("second signal: stopping now");
			_exit(130);
		}
	}
	MHD_stop_daemon(d);
	if (s != MHD_INVALID_SOCKET)
		close(s);
}

static unsigned int
threads_value(void)
{
	char *end;
	long n;

	if (threads_opt == NULL)
		return (unsigned int)cli.cfg.serve_threads;
	n = strtol(threads_opt, &end, 10);
	if (*threads_opt == '\0' || *end != '\0' || n < 1 || n > 256) {
		warnx("invalid --threads value '%s': expected 1 to 256",
		    threads_opt);
		usage(stderr, 64);
	}
	return (unsigned int)n;
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
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct addrinfo *ai;
	unsigned int threads;
	sigset_t set;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:D:hqV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_file = optarg; break;
		case 'D': cli.data_dir = optarg; break;
		case 'h': usage(stdout, 0); break;
		case 'q': cli.quiet = 1; break;
		case 'V': puts("sm-serve " SM_VERSION); return 0;
		case OPT_LISTEN: listen_opt = optarg; break;
		case OPT_ROUTES: routesflag = 1; break;
		case OPT_THREADS: threads_opt = optarg; break;
		default: usage(stderr, 64);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0) {
		warnx("extra operand '%s'", argv[0]);
		usage(stderr, 64);
	}
	if (routesflag) {
		if (sm_api_routes(stdout) != 0 || sm_stdout_close() != 0)
			err(74, "stdout");
		return 0;
	}
	if ((rc = sm_cli_config(&cli)) != 0)
		errx(sm_exitcode(rc), "%s", sm_errmsg());
	threads = threads_value();
	ai = resolve(listen_opt != NULL ? listen_opt : cli.cfg.serve_listen);
	if ((rc = sm_db_init_dir(&cli.cfg)) != 0 ||
	    (rc = sm_api_new(&api, &cli.cfg)) != 0)
		errx(sm_exitcode(rc), "%s", sm_errmsg());
	check_key_file();
	/* Blocked in every thread: only wait_for_signal takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d = start(ai, threads)) == NULL) {
		sm_api_free(api);
		errx(74, "cannot listen on %s", listen_opt != NULL ?
		    listen_opt : cli.cfg.serve_listen);
	}
	freeaddrinfo(ai);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!cli.quiet)
		fprintf(stderr, "sm-serve: listening on port %u (%s), %u "
		    "thread%s, data in %s\n", info ? info->port : 0,
		    listen_opt != NULL ? listen_opt : cli.cfg.serve_listen,
		    threads, threads == 1 ? "" : "s", cli.cfg.data_dir);
	wait_for_signal(d);
	sm_api_free(api);
	sm_cli_free(&cli);
	return 0;
}
