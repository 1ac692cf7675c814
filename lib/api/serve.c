/* See LICENSE file for copyright and license details. */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
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
#include "sm-api.h"
#include "api.h"

/*
 * The server of sm-serve(1): libmicrohttpd around the request steps of
 * route.c.  One a process: its state is this file's.  It logs to stderr
 * (a line a request, unless quiet), as the command it runs in.
 *
 * How sm-serve stands up to clients that mean harm (sm-serve(1), HOSTILE
 * CLIENTS):
 *
 * - Its own thread accepts connections and never stops: up to
 *   serve.max_connections they are served; past it, a reserve of
 *   connections gets a 503 as soon as its request arrives, and past
 *   the reserve a connection is closed at once.  (libmicrohttpd, at its
 *   own limit, stops accepting: every later client would wait in the
 *   kernel's queue until a connection ended.)
 * - A watchdog closes a connection that has not sent its request's
 *   headers within serve.timeout_s of opening or of its last answer,
 *   whose body comes slower than that (timeout_s, and a second more for
 *   every BODY_RATE bytes), or that reads its answer slower.
 * - The work of a request runs in a pool of serve.threads workers,
 *   never in the threads that do the I/O: a long import holds a worker
 *   and no connection of anyone else.  A tenant has at most
 *   serve.tenant_requests requests past their headers (more: 503 at
 *   once), at most threads - 1 of them running, and its writes run one
 *   at a time, as SQLite would make them anyway.  The others wait,
 *   suspended (no thread), in order of arrival, at most timeout_s
 *   (then 503); one whose client has gone is dropped, never run.
 * - Imports of a tenant that wait for its write lock run together, in
 *   one transaction, when one of them can run (group commit, route.c):
 *   one commit instead of one each, and the pages they share (the
 *   properties, the index of snapshots) written once.  Each is answered
 *   after the commit, as it would have been alone.
 * - A request ends in on_completed whatever happened to it, and that is
 *   where its tenant's count is given back.
 */

#define BODY_RATE	(16 * 1024)	/* bytes a second a body must keep */
#define OVER_TIMEOUT	2	/* seconds for a connection past the limit */
#define DRAIN_MAX	(16 * 1024 * 1024)
#define TICK_MS		100	/* of the watchdog */
/* A group commit: what one client may wait for besides its own import. */
#define GROUP_MAX	16	/* requests */
#define GROUP_BYTES	(1024 * 1024)	/* of their bodies */

/* Where a connection stands, for its deadline. */
enum { C_HEADERS, C_BODY, C_BUSY, C_SEND };

/* One connection, from accept to close (libmicrohttpd's socket context). */
struct conn {
	int fd;
	int over;		/* past max_connections: answered 503 */
	int phase;		/* C_* */
	int killed;		/* shut down by the watchdog */
	struct timespec since;	/* the phase began */
	uint64_t bytes;		/* of the body so far, or of the answer */
	struct conn *prev, *next;
};

/* Where a request stands. */
enum { R_NEW, R_QUEUED, R_RUNNING, R_DONE };

/* One request as the HTTP layer sees it: the API's request and a clock. */
struct request {
	struct sm_api_req *req;	/* NULL when refused before it */
	struct conn *cn;
	struct MHD_Connection *mc;
	struct timespec start, queued;
	char method[16];
	char *url;
	uint64_t drained;	/* bytes of a refused body read and dropped */
	struct tenant *tenant;	/* counted in its tenant's requests */
	int state;		/* R_*, under lock */
	int writes;
	int groups;		/* may share a transaction (sm_api_groups) */
	int status;		/* of a refusal by the server */
	char refusal[160];	/* its message; "" when none */
	struct request *next;	/* in the run queue */
};

/* The tenants with requests past their headers. */
struct tenant {
	char slug[SM_SLUG_MAX + 1];
	int requests;		/* admitted, not yet completed */
	int running;		/* of them, in a worker */
	int writing;		/* one of them is a write, running */
	struct tenant *next;
};

/* Of sm_serve_limits and sm_serve_start. */
static const struct sm_config *cfg;
static int quiet;
static unsigned int nworkers;
static pthread_t *workers, acc, dog;
static struct sm_api *api;
static struct MHD_Daemon *httpd;
static int timeout_s, max_conns, reserve, tenant_max, run_max;
static atomic_int inflight;	/* requests begun and not completed */
static atomic_int draining;	/* SIGTERM seen: connections close */
static atomic_int nconns;	/* connections libmicrohttpd holds */
static atomic_int nrunning;	/* requests in a worker */

/* Guards every list below and the state of every request. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static struct conn *conns;
static struct tenant *tenants;
static struct request *qhead, *qtail;	/* waiting to run, in order */
static int stopping;		/* workers and watchdog end */

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
	if (quiet)
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

/* Connections and their deadlines */

/* cn enters phase; bytes: of the answer, for C_SEND. */
static void
set_phase(struct conn *cn, int phase, uint64_t bytes)
{
	if (cn == NULL)
		return;
	pthread_mutex_lock(&lock);
	cn->phase = phase;
	cn->bytes = bytes;
	clock_gettime(CLOCK_MONOTONIC, &cn->since);
	pthread_mutex_unlock(&lock);
}

/* 1 when cn is past its deadline (under lock). */
static int
late(const struct conn *cn)
{
	double limit;

	switch (cn->phase) {
	case C_HEADERS:
		limit = cn->over ? OVER_TIMEOUT : timeout_s;
		break;
	case C_BODY:
	case C_SEND:
		limit = timeout_s + (double)cn->bytes / BODY_RATE;
		break;
	default:
		return 0;
	}
	return elapsed(&cn->since) > limit;
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *cn;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		cn = sm_xcalloc(1, sizeof(*cn));
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		cn->fd = ci != NULL ? ci->connect_fd : -1;
		cn->over = atomic_fetch_add(&nconns, 1) >= max_conns;
		clock_gettime(CLOCK_MONOTONIC, &cn->since);
		pthread_mutex_lock(&lock);
		if ((cn->next = conns) != NULL)
			conns->prev = cn;
		conns = cn;
		pthread_mutex_unlock(&lock);
		*socket_context = cn;
		return;
	}
	if ((cn = *socket_context) == NULL)
		return;
	/* Before libmicrohttpd closes the socket: the watchdog's shutdown
	 * never reaches a reused descriptor. */
	pthread_mutex_lock(&lock);
	if (cn->prev != NULL)
		cn->prev->next = cn->next;
	else
		conns = cn->next;
	if (cn->next != NULL)
		cn->next->prev = cn->prev;
	pthread_mutex_unlock(&lock);
	free(cn);
	*socket_context = NULL;
	atomic_fetch_sub(&nconns, 1);
}

static struct conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* Answers */

static enum MHD_Result
send_response(struct MHD_Connection *c, struct request *rq)
{
	struct sm_api_resp *p = sm_api_response(rq->req);
	struct MHD_Response *m;
	enum MHD_Result ret;
	char retry[16];
	uint64_t size;

	if (p->fd >= 0) {
		size = p->size;
		m = MHD_create_response_from_fd(p->size, p->fd);
		if (m == NULL)
			close(p->fd);
		p->fd = -1;
	} else {
		size = p->body.len;
		m = MHD_create_response_from_buffer(p->body.len, p->body.data,
		    MHD_RESPMEM_MUST_COPY);
	}
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
	if (p->csp != NULL)
		add_header(m, "Content-Security-Policy", p->csp);
	else if (strcmp(p->type, "application/json") != 0)
		add_header(m, "Content-Security-Policy", "default-src 'none'; "
		    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
		    "connect-src 'self'");
	if (atomic_load(&draining))
		add_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
	set_phase(rq->cn, C_SEND, size);
	ret = MHD_queue_response(c, (unsigned int)p->status, m);
	MHD_destroy_response(m);
	return ret;
}

/*
 * Answers rq with the server's own 503 (the message in rq->refusal),
 * Retry-After 1, and closes the connection.
 */
static enum MHD_Result
refuse(struct MHD_Connection *c, struct request *rq)
{
	struct MHD_Response *m;
	enum MHD_Result ret;
	struct sm_buf b;

	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "error", rq->refusal);
	sm_jw_end(&b);
	rq->status = 503;
	m = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_COPY);
	sm_buf_free(&b);
	if (m == NULL)
		return MHD_NO;
	add_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	add_header(m, "X-Content-Type-Options", "nosniff");
	add_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	add_header(m, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	add_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
	set_phase(rq->cn, C_SEND, b.len);
	ret = MHD_queue_response(c, 503, m);
	MHD_destroy_response(m);
	return ret;
}

/* Tenants and the run queue */

/*
 * Counts rq in its tenant's requests.  Returns 1, or 0 when the tenant
 * has tenant_max already (rq->refusal says so).
 */
static int
admit(struct request *rq)
{
	const char *slug = sm_api_tenant(rq->req);
	struct tenant *t;
	int ok = 1;

	pthread_mutex_lock(&lock);
	for (t = tenants; t != NULL && strcmp(t->slug, slug) != 0;
	    t = t->next)
		;
	if (t == NULL) {
		t = sm_xcalloc(1, sizeof(*t));
		snprintf(t->slug, sizeof(t->slug), "%s", slug);
		t->next = tenants;
		tenants = t;
	}
	if (t->requests >= tenant_max) {
		snprintf(rq->refusal, sizeof(rq->refusal), "tenant '%s' has "
		    "%d requests in progress (serve.tenant_requests): try "
		    "again later", slug, t->requests);
		ok = 0;
	} else {
		t->requests++;
		rq->tenant = t;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

/* Gives rq's place back to its tenant (under lock). */
static void
release(struct request *rq)
{
	struct tenant **tp, *t = rq->tenant;

	if (t == NULL)
		return;
	rq->tenant = NULL;
	if (--t->requests > 0)
		return;
	for (tp = &tenants; *tp != NULL; tp = &(*tp)->next)
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	free(t);
}

/* Takes rq out of the run queue (under lock). */
static void
unqueue(struct request *rq)
{
	struct request **pp, *prev = NULL;

	for (pp = &qhead; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == rq) {
			*pp = rq->next;
			if (qtail == rq)
				qtail = prev;
			rq->next = NULL;
			return;
		}
}

/*
 * Puts rq in the run queue and suspends its connection (which holds no
 * thread while it waits).  Returns 0, or -1 when the server is shutting
 * down (rq->refusal says so).
 */
static int
enqueue(struct request *rq, struct MHD_Connection *c)
{
	pthread_mutex_lock(&lock);
	if (atomic_load(&draining)) {
		pthread_mutex_unlock(&lock);
		snprintf(rq->refusal, sizeof(rq->refusal),
		    "the server is shutting down: try again later");
		return -1;
	}
	rq->writes = sm_api_writes(rq->req);
	rq->groups = sm_api_groups(rq->req);
	rq->state = R_QUEUED;
	clock_gettime(CLOCK_MONOTONIC, &rq->queued);
	rq->next = NULL;
	if (qtail != NULL)
		qtail->next = rq;
	else
		qhead = rq;
	qtail = rq;
	/* Under the lock: no worker can resume it before this. */
	MHD_suspend_connection(c);
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	set_phase(rq->cn, C_BUSY, 0);
	return 0;
}

/* Ends the wait of a queued rq with a 503 (under lock). */
static void
cancel(struct request *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cancel(struct request *rq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rq->refusal, sizeof(rq->refusal), fmt, ap);
	va_end(ap);
	unqueue(rq);
	rq->state = R_DONE;
	MHD_resume_connection(rq->mc);
}

/* 1 when rq may run now (under lock). */
static int
runnable(const struct request *rq)
{
	const struct tenant *t = rq->tenant;

	return t == NULL || (t->running < run_max &&
	    (!rq->writes || !t->writing));
}

/*
 * The requests to run with rq, the first of its tenant in the queue, in
 * g (rq first): the imports of that tenant queued after it, in order,
 * up to the first write of another kind (writes keep their order), as
 * many as GROUP_MAX and GROUP_BYTES allow.  Returns how many (under
 * lock).
 */
static size_t
gather(struct request *rq, struct request **g)
{
	struct request *q;
	uint64_t bytes = sm_api_body_size(rq->req);
	size_t n = 1;

	g[0] = rq;
	if (!rq->groups || rq->tenant == NULL)
		return 1;
	for (q = rq->next; q != NULL && n < GROUP_MAX; q = q->next) {
		if (q->tenant != rq->tenant || !q->writes)
			continue;
		if (!q->groups ||
		    (bytes += sm_api_body_size(q->req)) > GROUP_BYTES)
			break;
		g[n++] = q;
	}
	return n;
}

/* A worker: runs the requests of the queue, the first that may run. */
static void *
worker(void *arg)
{
	struct request *rq, *g[GROUP_MAX];
	struct sm_api_req *reqs[GROUP_MAX];
	size_t i, n;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		for (rq = qhead; rq != NULL && !runnable(rq); rq = rq->next)
			;
		if (rq == NULL) {
			pthread_cond_wait(&work, &lock);
			continue;
		}
		n = gather(rq, g);
		for (i = 0; i < n; i++) {
			unqueue(g[i]);
			g[i]->state = R_RUNNING;
			reqs[i] = g[i]->req;
		}
		if (rq->tenant != NULL) {
			rq->tenant->running++;
			rq->tenant->writing |= rq->writes;
		}
		atomic_fetch_add(&nrunning, (int)n);
		pthread_mutex_unlock(&lock);
		if (n == 1)
			sm_api_finish(rq->req);
		else
			sm_api_finish_group(reqs, n);
		pthread_mutex_lock(&lock);
		if (rq->tenant != NULL) {
			rq->tenant->running--;
			if (rq->writes)
				rq->tenant->writing = 0;
		}
		/* Every answer of a group after its commit, not before. */
		for (i = 0; i < n; i++) {
			g[i]->state = R_DONE;
			MHD_resume_connection(g[i]->mc);
		}
		atomic_fetch_sub(&nrunning, (int)n);
		/* Another request of that tenant may run now. */
		pthread_cond_broadcast(&work);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* 1 when the client of a suspended connection has closed it. */
static int
gone(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char ch;

	if (fd < 0 || poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR))
		return 1;
	return recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * The watchdog: closes the connections past their deadline, and ends
 * the wait of queued requests that waited too long, whose client has
 * gone, or when the server shuts down.
 */
static void *
watchdog(void *arg)
{
	struct timespec tick = { 0, TICK_MS * 1000 * 1000 };
	struct request *rq, *next;
	struct conn *cn;

	(void)arg;
	for (;;) {
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&lock);
		if (stopping) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		for (cn = conns; cn != NULL; cn = cn->next)
			if (!cn->killed && cn->fd >= 0 && late(cn)) {
				/* libmicrohttpd reads the end, and closes. */
				shutdown(cn->fd, SHUT_RDWR);
				cn->killed = 1;
			}
		for (rq = qhead; rq != NULL; rq = next) {
			next = rq->next;
			if (atomic_load(&draining))
				cancel(rq, "the server is shutting down: try "
				    "again later");
			else if (elapsed(&rq->queued) >= timeout_s)
				cancel(rq, "tenant '%s' is busy: the request "
				    "waited %d s (serve.timeout_s): try again "
				    "later", rq->tenant != NULL ?
				    rq->tenant->slug : "", timeout_s);
			else if (gone(rq->cn != NULL ? rq->cn->fd : -1))
				cancel(rq, "the client has gone");
		}
		pthread_mutex_unlock(&lock);
	}
}

/* Requests */

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
		rq->mc = c;
		rq->cn = conn_of(c);
		atomic_fetch_add(&inflight, 1);
		*con_cls = rq;
		set_phase(rq->cn, C_BODY, 0);
		if (rq->cn != NULL && rq->cn->over) {
			snprintf(rq->refusal, sizeof(rq->refusal), "too many "
			    "connections (serve.max_connections): try again "
			    "later");
			return refuse(c, rq);
		}
		if (atomic_load(&draining)) {
			snprintf(rq->refusal, sizeof(rq->refusal), "the "
			    "server is shutting down: try again later");
			return refuse(c, rq);
		}
		rq->req = sm_api_begin(api, method, url, get_value, c);
		/* Refused before the body: MHD skips whatever was sent. */
		if (sm_api_response(rq->req) != NULL)
			return send_response(c, rq);
		if (sm_api_tenant(rq->req) != NULL && !admit(rq))
			return refuse(c, rq);
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
		if (rq->cn != NULL) {
			pthread_mutex_lock(&lock);
			rq->cn->bytes += *upload_data_size;
			pthread_mutex_unlock(&lock);
		}
		if (sm_api_feed(rq->req, upload_data, *upload_data_size) &&
		    (rq->drained += *upload_data_size) > DRAIN_MAX)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (rq->state) {
	case R_NEW:
		if (sm_api_response(rq->req) != NULL)
			return send_response(c, rq);
		/* /health and the documents, cheap: at once. */
		if (sm_api_tenant(rq->req) == NULL &&
		    strcmp(rq->method, "GET") == 0) {
			sm_api_finish(rq->req);
			return send_response(c, rq);
		}
		if (enqueue(rq, c) != 0)
			return refuse(c, rq);
		return MHD_YES;
	case R_DONE:
		if (rq->refusal[0] != '\0')
			return refuse(c, rq);
		return send_response(c, rq);
	default:	/* suspended: not called */
		return MHD_YES;
	}
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	struct sm_api_resp *p;
	const char *tenant, *detail;
	int status;

	(void)cls;
	(void)c;
	if (rq == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (rq->state == R_QUEUED)	/* at shutdown only */
		unqueue(rq);
	release(rq);
	pthread_mutex_unlock(&lock);
	if (!quiet) {
		p = rq->req != NULL ? sm_api_response(rq->req) : NULL;
		tenant = rq->req != NULL ? sm_api_tenant(rq->req) : NULL;
		status = rq->status != 0 ? rq->status : p != NULL ?
		    p->status : 0;
		detail = rq->refusal[0] != '\0' ? rq->refusal :
		    p != NULL ? p->detail : NULL;
		fprintf(stderr, "sm-serve: %s%s%s %s %d %.3f s%s%s%s\n",
		    tenant ? tenant : "", tenant ? " " : "", rq->method,
		    rq->url, status, elapsed(&rq->start),
		    toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ?
		    " (connection closed early)" : "",
		    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	}
	set_phase(rq->cn, C_HEADERS, 0);
	sm_api_end(rq->req);
	free(rq->url);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_sub(&inflight, 1);
}

/* Returns the listening socket of ai, or -1 with errno set. */
static int
listen_on(const struct addrinfo *ai)
{
	int fd, on = 1, e;

	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0)
		return -1;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int listen_fd = -1, wake[2] = { -1, -1 };

/*
 * Accepts every connection as it comes, so that none waits in the
 * kernel's queue: up to max_conns + reserve they go to libmicrohttpd,
 * past that they are closed at once.  When the process is out of file
 * descriptors, a spare one is given up to accept and close the
 * connection, since a connection left pending would wake poll forever.
 */
static void *
acceptor(void *arg)
{
	struct pollfd p[2];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, spare;

	(void)arg;
	spare = open("/dev/null", O_RDONLY);
	p[0].fd = listen_fd;
	p[0].events = POLLIN;
	p[1].fd = wake[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents != 0)
			break;
		if ((p[0].revents & POLLIN) == 0)
			continue;
		len = sizeof(ss);
		if ((fd = accept(listen_fd, (struct sockaddr *)&ss,
		    &len)) < 0) {
			if ((errno == EMFILE || errno == ENFILE) &&
			    spare >= 0) {
				close(spare);
				if ((fd = accept(listen_fd, NULL, NULL)) >= 0)
					close(fd);
				spare = open("/dev/null", O_RDONLY);
			}
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (atomic_load(&nconns) >= max_conns + reserve) {
			close(fd);
			continue;
		}
		/* Closes fd when it cannot take it. */
		MHD_add_connection(httpd, fd, (struct sockaddr *)&ss, len);
	}
	if (spare >= 0)
		close(spare);
	return NULL;
}

static struct MHD_Daemon *
start(int family, unsigned int threads)
{
	struct MHD_OptionItem ops[] = {
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)logger, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection,
		    NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, max_conns + reserve, NULL },
		{ MHD_OPTION_THREAD_POOL_SIZE, threads, NULL },
		{ MHD_OPTION_END, 0, NULL }
	};
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
	    MHD_USE_NO_LISTEN_SOCKET;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (threads < 2)
		ops[5].option = MHD_OPTION_END;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
}

/*
 * Waits up to secs for cond() to hold.  Returns 1 when it does, 0 when
 * the time is up; a second signal exits at once (every run in progress
 * is rolled back by SQLite).
 */
static int
wait_until(int (*cond)(void), double secs, const sigset_t *set)
{
	struct timespec t0, tick = { 0, 20 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!cond()) {
		if (elapsed(&t0) >= secs)
			return 0;
		if (sigtimedwait(set, NULL, &tick) > 0) {
			warnx("second signal: stopping now");
			_exit(130);
		}
	}
	return 1;
}

static int no_requests(void) { return atomic_load(&inflight) == 0; }
static int none_running(void) { return atomic_load(&nrunning) == 0; }

/* The interface (sm-api.h) */

int
sm_serve_stop(int sig, const sigset_t *set)
{
	unsigned int i;
	int rc = 0;

	atomic_store(&draining, 1);
	if (write(wake[1], "x", 1) < 0)
		warn("cannot stop accepting");
	pthread_join(acc, NULL);
	close(listen_fd);
	if (!quiet)
		warnx("%s: finishing %d request%s in progress", strsignal(sig),
		    atomic_load(&inflight), atomic_load(&inflight) == 1 ?
		    "" : "s");
	if (!wait_until(no_requests, timeout_s, set) &&
	    atomic_load(&nrunning) > 0) {
		warnx("%d request%s still running after %d s: "
		    "interrupting them", atomic_load(&nrunning),
		    atomic_load(&nrunning) == 1 ? "" : "s", timeout_s);
		sm_interrupt();
		rc = 130;
		if (!wait_until(none_running, cfg->busy_timeout_ms / 1000.0 +
		    5, set)) {
			warnx("stopping with %d requests running",
			    atomic_load(&nrunning));
			_exit(130);
		}
		/* The answers of the interrupted, on their way. */
		wait_until(no_requests, 1, set);
	}
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&work);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	pthread_join(dog, NULL);
	free(workers);
	workers = NULL;
	/* Nothing is suspended: the watchdog answered every queued one. */
	MHD_stop_daemon(httpd);
	return rc;
}

/*
 * Sets the limits from the configuration.  The file descriptors must
 * cover every connection, and a few for each worker (a tenant file, its
 * WAL, a spool), with the tenant handles each worker and I/O thread
 * keeps (sm_db_open_cached: three descriptors at most each): the soft
 * limit is raised as far as the hard one, and max_connections lowered,
 * with a warning, when even that is short.
 */
void
sm_serve_limits(const struct sm_config *c, unsigned int threads, int q)
{
	struct rlimit rl;
	rlim_t need, spare = 64 + (8 + 6 * SM_DB_KEPT) * (rlim_t)threads;

	cfg = c;
	quiet = q;
	nworkers = threads;
	timeout_s = cfg->serve_timeout_s;
	tenant_max = cfg->serve_tenant_requests;
	/* One tenant never takes every worker. */
	run_max = threads > 1 ? (int)threads - 1 : 1;
	if (run_max > tenant_max)
		run_max = tenant_max;
	max_conns = cfg->serve_max_connections;
	reserve = max_conns / 8 + 16;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	need = (rlim_t)max_conns + (rlim_t)reserve + spare;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur >= need)
		return;
	max_conns = rl.rlim_cur > spare + 16 ?
	    (int)((rl.rlim_cur - spare - 16) * 8 / 9) : 1;
	if (max_conns < 1)
		max_conns = 1;
	reserve = max_conns / 8 + 16;
	warnx("warning: serve.max_connections lowered to %d: the process may "
	    "open %llu files (ulimit -n)", max_conns,
	    (unsigned long long)rl.rlim_cur);
}

int
sm_serve_start(struct sm_api *a, const struct addrinfo *ai)
{
	unsigned int i;

	api = a;
	/*
	 * Answers of 100 listings are buffers of 85 kB to 1 MiB, allocated
	 * and freed by each request: glibc would give their memory back to
	 * the system after each (madvise, then page faults to get it back).
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	if ((listen_fd = listen_on(ai)) < 0 || pipe(wake) != 0 ||
	    (httpd = start(ai->ai_family, nworkers < 8 ? nworkers : 8)) ==
	    NULL)
		return sm_error(SM_EIO, "cannot listen");
	workers = sm_xcalloc(nworkers, sizeof(*workers));
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i], NULL, worker, NULL) != 0)
			return sm_error(SM_EINTERNAL, "cannot start a thread");
	if (pthread_create(&dog, NULL, watchdog, NULL) != 0 ||
	    pthread_create(&acc, NULL, acceptor, NULL) != 0)
		return sm_error(SM_EINTERNAL, "cannot start a thread");
	return 0;
}

unsigned int
sm_serve_port(void)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (getsockname(listen_fd, (struct sockaddr *)&ss, &sslen) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}
