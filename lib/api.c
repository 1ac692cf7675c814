/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <dirent.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "sm.h"

/*
 * The REST API of SPEC §5.7, without the HTTP library.  The server hands
 * a request over in three steps, sm_api_begin (request line and headers),
 * sm_api_feed (each piece of the body) and sm_api_finish, and sends the
 * response it is given.  A request is refused as early as it can be:
 *
 *	step	refusal
 *	begin	404 unknown path, 405 known path and another method,
 *		401 no or bad key, 413 a Content-Length over the limit
 *	feed	413 once the bytes read pass the limit, 400 a records
 *		body that is no {"data":[...]}
 *	finish	400 malformed JSON, 404 no such id in this tenant,
 *		409 a taken name, 422 valid JSON of the wrong content,
 *		503 tenant busy; 500 anything else
 *
 * Records are never held in memory: an import body streams into a spool
 * file, one record a line, which sm_import() then reads like any input
 * file.  A {"data":[...]} body is split element by element on the way
 * (split_byte below), so that a rejected record is reported with its
 * position in data as its line.  Lists stream into a file too, which
 * the server sends as the response body.
 */

#define JSON_BODY_MAX	(1024 * 1024)	/* bodies but records */
#define SNIFF_MAX	65536	/* an import body's first bytes, to tell
				   {"data":[...]} from NDJSON */
#define MAX_IDS		3
#define ID_MAX		24

struct sm_api {
	const struct sm_config *cfg;
	int admin;			/* an admin key is configured */
	unsigned char admin_hash[crypto_generichash_BYTES];
	char *openapi;			/* the OpenAPI document */
	struct sm_config decoy;		/* cfg, with data_dir the decoy's */
	char *decoy_dir;
	int decoy_lock;			/* held while the server lives */
};

enum { AUTH_NONE, AUTH_TENANT, AUTH_ADMIN };
enum { BODY_NONE, BODY_JSON, BODY_RECORDS };

struct route {
	const char *method;
	const char *path;	/* "{...}" segments are ids */
	int auth;
	int body;
	int write;		/* opens the tenant for writing */
	enum sm_side side;
	void (*fn)(struct sm_api_req *);
};

/* Where the splitter of a {"data":[...]} body stands. */
enum {
	SP_START,	/* before the value */
	SP_KEY_FIRST,	/* after '{': a name or '}' */
	SP_KEY,		/* after ',': a name */
	SP_KEY_STR,	/* inside a name */
	SP_COLON,	/* after a name */
	SP_DATA,	/* after "data": the array */
	SP_ELEM_FIRST,	/* after '[': an element or ']' */
	SP_ELEM,	/* after ',': an element */
	SP_IN_ELEM,	/* inside an element: copied */
	SP_ELEM_NEXT,	/* after an element: ',' or ']' */
	SP_MEMBER_NEXT,	/* after the array: ',' or '}' */
	SP_END		/* after the value: only whitespace */
};

struct split {
	int state;
	int top_array;		/* the body is a bare array */
	int seen_data;
	int in_str, esc;
	size_t depth;
	char open[SM_MAX_DEPTH + 1];	/* '{' or '[' of each level */
	char key[8];
	size_t keylen;
	int status;		/* of the error; 0 while the body is fine */
	char err[160];
};

struct sm_api_req {
	struct sm_api *api;
	const struct route *route;
	const char *(*get)(void *, int, const char *);
	void *arg;
	char *path;
	char ids[MAX_IDS][ID_MAX];
	char slug[SM_SLUG_MAX + 1];
	size_t body_max;
	uint64_t body_len;
	struct sm_buf body;	/* BODY_JSON */
	FILE *spool;		/* BODY_RECORDS: one record a line */
	char *spool_path;
	int spool_fd;		/* -1, or what spool_path names */
	int envelope;		/* the body is {"data":[...]} */
	int sniffing;		/* envelope not known yet: r->body holds
				   the body so far */
	struct split sp;
	struct sm_db *db;
	int ready;
	struct sm_api_resp resp;
};

static void h_health(struct sm_api_req *);
static void h_openapi(struct sm_api_req *);
static void h_docs(struct sm_api_req *);
static void h_tenant_create(struct sm_api_req *);
static void h_ep_list(struct sm_api_req *);
static void h_ep_create(struct sm_api_req *);
static void h_ep_show(struct sm_api_req *);
static void h_ep_delete(struct sm_api_req *);
static void h_import(struct sm_api_req *);
static void h_props(struct sm_api_req *);
static void h_patch(struct sm_api_req *);
static void h_sync(struct sm_api_req *);
static void h_cleanup(struct sm_api_req *);
static void h_snap_list(struct sm_api_req *);
static void h_snap_show(struct sm_api_req *);
static void h_snap_restore(struct sm_api_req *);
static void h_diff(struct sm_api_req *);
static void h_runs(struct sm_api_req *);

#define RO 0
#define RW 1

/* Every route the server answers; GET /openapi.json describes the same. */
static const struct route routes[] = {
	{ "GET", "/health", AUTH_NONE, BODY_NONE, RO, 0, h_health },
	{ "GET", "/openapi.json", AUTH_NONE, BODY_NONE, RO, 0, h_openapi },
	{ "GET", "/docs", AUTH_NONE, BODY_NONE, RO, 0, h_docs },
	{ "POST", "/tenants", AUTH_ADMIN, BODY_JSON, RW, 0, h_tenant_create },
	{ "GET", "/sources", AUTH_TENANT, BODY_NONE, RO, SM_SOURCE, h_ep_list },
	{ "POST", "/sources", AUTH_TENANT, BODY_JSON, RW, SM_SOURCE,
	    h_ep_create },
	{ "GET", "/sources/{id}", AUTH_TENANT, BODY_NONE, RO, SM_SOURCE,
	    h_ep_show },
	{ "DELETE", "/sources/{id}", AUTH_TENANT, BODY_NONE, RW, SM_SOURCE,
	    h_ep_delete },
	{ "POST", "/sources/{id}/import", AUTH_TENANT, BODY_RECORDS, RW,
	    SM_SOURCE, h_import },
	{ "GET", "/sources/{id}/properties", AUTH_TENANT, BODY_NONE, RO,
	    SM_SOURCE, h_props },
	{ "GET", "/targets", AUTH_TENANT, BODY_NONE, RO, SM_TARGET, h_ep_list },
	{ "POST", "/targets", AUTH_TENANT, BODY_JSON, RW, SM_TARGET,
	    h_ep_create },
	{ "GET", "/targets/{id}", AUTH_TENANT, BODY_NONE, RO, SM_TARGET,
	    h_ep_show },
	{ "DELETE", "/targets/{id}", AUTH_TENANT, BODY_NONE, RW, SM_TARGET,
	    h_ep_delete },
	{ "GET", "/targets/{id}/properties", AUTH_TENANT, BODY_NONE, RO,
	    SM_TARGET, h_props },
	{ "PATCH", "/targets/{id}/properties/{pid}", AUTH_TENANT, BODY_JSON,
	    RW, SM_TARGET, h_patch },
	{ "POST", "/sync/{source_id}/{target_id}", AUTH_TENANT, BODY_NONE, RW,
	    0, h_sync },
	{ "POST", "/cleanup", AUTH_TENANT, BODY_NONE, RW, 0, h_cleanup },
	{ "GET", "/snapshots", AUTH_TENANT, BODY_NONE, RO, 0, h_snap_list },
	{ "GET", "/snapshots/{id}", AUTH_TENANT, BODY_NONE, RO, 0,
	    h_snap_show },
	{ "POST", "/snapshots/{id}/restore", AUTH_TENANT, BODY_NONE, RW, 0,
	    h_snap_restore },
	{ "GET", "/diff/{source_id}/{target_id}", AUTH_TENANT, BODY_NONE, RO,
	    0, h_diff },
	{ "GET", "/runs", AUTH_TENANT, BODY_NONE, RO, 0, h_runs },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char bad_key[] = "invalid or missing API key";

/* Responses */

static void
resp_clear(struct sm_api_resp *p)
{
	sm_buf_reset(&p->body);
	free(p->link);
	free(p->location);
	free(p->detail);
	free(p->allow);
	p->link = p->location = p->detail = p->allow = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->size = 0;
	p->retry_after = 0;
}

/* Answers with the JSON text in b (an object line), which is taken. */
static void
reply(struct sm_api_req *r, int status, struct sm_buf *b)
{
	resp_clear(&r->resp);
	sm_buf_free(&r->resp.body);
	r->resp.body = *b;
	sm_buf_init(b);
	r->resp.status = status;
	r->resp.type = "application/json";
	r->ready = 1;
}

static void
fail(struct sm_api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct sm_api_req *r, int status, const char *fmt, ...)
{
	char msg[1024];
	struct sm_buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* detail is the original's key (FastAPI's): its clients read it. */
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "error", msg);
	sm_jw_str(&b, "detail", msg);
	sm_jw_end(&b);
	reply(r, status, &b);
	if (status == 503)
		r->resp.retry_after = 1;
}

static int
http_status(int rc)
{
	switch (rc) {
	case SM_EUSAGE:
	case SM_EDATA:
	case SM_ECONFIG:
		return 422;
	case SM_ENOENT:
		return 404;
	case SM_EEXIST:
		return 409;
	case SM_EBUSY:
	case SM_EINTR:
		return 503;
	case SM_EPERM:
		return 401;
	default:
		return 500;
	}
}

/*
 * Answers with the error of a lib call.  The cause of a 500 goes to the
 * log only: it may name files of the server.
 */
static void
fail_rc(struct sm_api_req *r, int rc)
{
	char *msg = sm_xstrdup(sm_errmsg());
	int status = http_status(rc);

	if (status == 500) {
		fail(r, 500, "internal error");
		r->resp.detail = msg;
		return;
	}
	if (status == 401)
		fail(r, 401, "%s", bad_key);
	else
		fail(r, status, "%s", msg);
	free(msg);
}

/* A file for a response body or a spool, gone from the directory. */
static FILE *
anon_file(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	FILE *f = NULL;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	path = sm_xmalloc(strlen(dir) + 32);
	sprintf(path, "%s/sm-serve.XXXXXX", dir);
	if ((fd = mkstemp(path)) >= 0) {
		unlink(path);
		if ((f = fdopen(fd, "w+")) == NULL)
			close(fd);
	}
	free(path);
	return f;
}

/* Makes the file f (consumed) the response body. */
static void
reply_file(struct sm_api_req *r, int status, FILE *f)
{
	off_t size;
	int fd;

	if (fflush(f) != 0 || ferror(f) || (size = ftello(f)) < 0 ||
	    (fd = dup(fileno(f))) < 0) {
		fclose(f);
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write a response file");
		return;
	}
	fclose(f);
	resp_clear(&r->resp);
	r->resp.fd = fd;
	r->resp.size = (uint64_t)size;
	r->resp.status = status;
	r->resp.type = "application/json";
	r->ready = 1;
}

/* Request arguments */

static const char *
query(struct sm_api_req *r, const char *name)
{
	return r->get(r->arg, SM_API_QUERY, name);
}

static const char *
header(struct sm_api_req *r, const char *name)
{
	return r->get(r->arg, SM_API_HEADER, name);
}

/* An id: all digits, within int64_t.  Returns 1 and *v, or 0. */
static int
parse_id(const char *s, int64_t *v)
{
	size_t n = strlen(s);
	char *end;
	long long x;

	if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
		return 0;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	if (v != NULL)
		*v = x;
	return 1;
}

static int64_t
id_of(struct sm_api_req *r, int i)
{
	int64_t v = 0;

	parse_id(r->ids[i], &v);
	return v;
}

/*
 * A boolean argument: absent or "false"/"0" is 0, "true"/"1"/"" is 1.
 * Returns 0, or -1 with a 400 answered.
 */
static int
arg_bool(struct sm_api_req *r, const char *name, int *v)
{
	const char *s = query(r, name);

	*v = 0;
	if (s == NULL || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || s[0] == '\0') {
		*v = 1;
		return 0;
	}
	fail(r, 400, "invalid %s value '%s': expected true or false", name, s);
	return -1;
}

/*
 * A number argument in [min, max]; *v untouched when absent.  Returns 1
 * when given, 0 when absent, -1 with a 400 answered.
 */
static int
arg_num(struct sm_api_req *r, const char *name, int64_t min, int64_t max,
    int64_t *v)
{
	const char *s = query(r, name);
	int64_t x;

	if (s == NULL)
		return 0;
	if (!parse_id(s, &x)) {
		fail(r, 400, "invalid %s value '%s': expected a number", name,
		    s);
		return -1;
	}
	if (x < min || x > max) {
		fail(r, 400, "invalid %s value '%s': expected %" PRId64
		    " to %" PRId64, name, s, min, max);
		return -1;
	}
	*v = x;
	return 1;
}

/* A time argument (SPEC §4 forms); *ms untouched when absent. */
static int
arg_time(struct sm_api_req *r, const char *name, int64_t *ms)
{
	const char *s = query(r, name);

	if (s == NULL)
		return 0;
	if (sm_time_parse(s, sm_now(), ms) != 0) {
		fail(r, 400, "invalid %s value: %s", name, sm_errmsg());
		return -1;
	}
	return 1;
}

/* Routing and authentication */

/* Matches path against pattern, collecting the ids; 1 when it matches. */
static int
match(const char *pattern, const char *path, char ids[MAX_IDS][ID_MAX])
{
	const char *p = pattern, *q = path, *pe, *qe;
	size_t qlen;
	int n = 0;

	while (*p == '/' && *q == '/') {
		p++, q++;
		pe = p + strcspn(p, "/");
		qe = q + strcspn(q, "/");
		qlen = (size_t)(qe - q);
		if (*p == '{') {
			if (qlen == 0 || qlen >= ID_MAX || n == MAX_IDS)
				return 0;
			memcpy(ids[n], q, qlen);
			ids[n][qlen] = '\0';
			if (!parse_id(ids[n++], NULL))
				return 0;
		} else if ((size_t)(pe - p) != qlen ||
		    memcmp(p, q, qlen) != 0)
			return 0;
		p = pe, q = qe;
	}
	return *p == '\0' && *q == '\0';
}

/*
 * Finds the route of method and r->path.  Returns 1, or 0 with 404 (no
 * route has that path) or 405 (others have it; Allow lists them).
 */
static int
find_route(struct sm_api_req *r, const char *method)
{
	static const char *const methods[] = { "GET", "POST", "PATCH",
	    "DELETE" };
	char ids[MAX_IDS][ID_MAX];
	struct sm_buf allow;
	size_t i, k, len;
	int allowed[4] = { 0, 0, 0, 0 }, known = 0;

	/* One trailing slash is forgiven: "/sources/" is "/sources". */
	len = strlen(r->path);
	if (len > 1 && r->path[len - 1] == '/')
		r->path[len - 1] = '\0';
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].path, r->path, ids))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			r->route = &routes[i];
			memcpy(r->ids, ids, sizeof(ids));
			return 1;
		}
		known = 1;
		for (k = 0; k < 4; k++)
			if (strcmp(routes[i].method, methods[k]) == 0)
				allowed[k] = 1;
	}
	if (!known) {
		fail(r, 404, "no such resource: %s", r->path);
		return 0;
	}
	sm_buf_init(&allow);
	for (k = 0; k < 4; k++)
		if (allowed[k])
			sm_buf_addf(&allow, "%s%s", allow.len ? ", " : "",
			    methods[k]);
	fail(r, 405, "method %s is not allowed on %s: use %s", method,
	    r->path, allow.data);
	r->resp.allow = allow.data;
	return 0;
}

/*
 * Checks a tenant's API key.  sm_tenant_auth() compares in constant time,
 * but opening a tenant's file costs more than finding there is none, so
 * the key of a tenant that does not exist is checked against the decoy,
 * a tenant file of our own whose key nobody knows: the same work either
 * way.  Returns 0 with r->slug set, or SM_EPERM.
 */
static int
tenant_auth(struct sm_api_req *r, const char *key)
{
	const struct sm_config *cfg = r->api->cfg;
	char slug[SM_SLUG_MAX + 1] = "", *decoy;
	const char *q;
	struct sm_buf path;
	struct stat st;
	int exists, rc;

	sm_tenant_key_slug(cfg, key, slug);
	sm_buf_init(&path);
	exists = sm_db_path(cfg, slug, &path) == 0 &&
	    stat(path.data, &st) == 0;
	sm_buf_free(&path);
	if (exists)
		return sm_tenant_auth(cfg, key, r->slug);
	decoy = sm_xmalloc(strlen(key != NULL ? key : "") + 16);
	sprintf(decoy, "sm_decoy_%s", key != NULL && (q = strrchr(key,
	    '_')) != NULL ? q + 1 : "");
	rc = sm_tenant_auth(&r->api->decoy, decoy, slug);
	sodium_memzero(decoy, strlen(decoy));
	free(decoy);
	r->slug[0] = '\0';
	return rc == 0 ? sm_error(SM_EINTERNAL, "the decoy key matched") :
	    SM_EPERM;
}

/* Checks the key the route needs.  Returns 1, or 0 with 401/403. */
static int
authorize(struct sm_api_req *r)
{
	unsigned char h[crypto_generichash_BYTES];
	const char *key;

	switch (r->route->auth) {
	case AUTH_TENANT:
		/* Same answer, same work, whether the tenant exists or not. */
		if (tenant_auth(r, header(r, "X-API-Key")) != 0) {
			fail(r, 401, "%s", bad_key);
			return 0;
		}
		return 1;
	case AUTH_ADMIN:
		/*
		 * serve.open_registration: no admin key needed (the
		 * original's way, for a machine of one user); one given
		 * must still be right.
		 */
		key = header(r, "X-Admin-Key");
		if (r->api->cfg->serve_open_registration &&
		    (key == NULL || !r->api->admin))
			return 1;
		if (!r->api->admin) {
			fail(r, 401, "creating tenants over HTTP needs the admin "
			    "key (X-Admin-Key), and none is set: set "
			    "serve.admin_key_file, or serve.open_registration: "
			    "true to let anyone who reaches the port create "
			    "tenants");
			return 0;
		}
		if (key == NULL)
			key = "";
		crypto_generichash(h, sizeof(h), (const unsigned char *)key,
		    strlen(key), NULL, 0);
		if (sodium_memcmp(h, r->api->admin_hash, sizeof(h)) != 0) {
			fail(r, 401, "invalid or missing admin key: X-Admin-Key "
			    "must be the key of serve.admin_key_file (or set "
			    "serve.open_registration: true)");
			return 0;
		}
		return 1;
	default:
		return 1;
	}
}

/* Request bodies */

static void
too_large(struct sm_api_req *r)
{
	if (r->route->body == BODY_JSON)
		fail(r, 413, "request body larger than %zu bytes", r->body_max);
	else
		fail(r, 413, "request body larger than %zu bytes "
		    "(serve.max_body_bytes)", r->body_max);
}

/*
 * Creates the spool file, named (sm_import reads files by name) and
 * removed by sm_api_end.  Where the system can name an open file
 * (/dev/fd), the file is unlinked at once and named by its descriptor, so
 * that a crash of the server leaves nothing behind.  Returns 0, or -1
 * with 500 answered.
 */
static int
spool_create(struct sm_api_req *r)
{
	const char *dir = getenv("TMPDIR");
	struct stat a, b;
	char byfd[32];
	int fd, wfd = -1;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	r->spool_path = sm_xmalloc(strlen(dir) + 32);
	sprintf(r->spool_path, "%s/sm-serve.XXXXXX", dir);
	if ((fd = mkstemp(r->spool_path)) >= 0 &&
	    (wfd = dup(fd)) >= 0 &&
	    (r->spool = fdopen(wfd, "w")) != NULL) {
		snprintf(byfd, sizeof(byfd), "/dev/fd/%d", fd);
		if (fstat(fd, &a) == 0 && stat(byfd, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			unlink(r->spool_path);
			free(r->spool_path);
			r->spool_path = sm_xstrdup(byfd);
			r->spool_fd = fd;
		} else
			close(fd);
		return 0;
	}
	if (wfd >= 0)
		close(wfd);
	if (fd >= 0) {
		close(fd);
		unlink(r->spool_path);
	}
	free(r->spool_path);
	r->spool_path = NULL;
	fail(r, 500, "internal error");
	r->resp.detail = sm_xstrdup("cannot create a spool file");
	return -1;
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ndjson_type(const char *);

/*
 * Gets ready for the body: refuses an announced size over the limit
 * and opens the spool of an import.  Returns 1, or 0 with an answer.
 */
static int
body_open(struct sm_api_req *r)
{
	const char *cl, *ct;
	unsigned long long n;
	char *end;

	r->body_max = r->api->cfg->serve_max_body_bytes;
	if (r->route->body == BODY_JSON && r->body_max > JSON_BODY_MAX)
		r->body_max = JSON_BODY_MAX;
	if (r->route->body == BODY_NONE)
		return 1;
	if ((cl = header(r, "Content-Length")) != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (end != cl && (errno == ERANGE || n > r->body_max)) {
			too_large(r);
			return 0;
		}
	}
	if (r->route->body != BODY_RECORDS)
		return 1;
	if (spool_create(r) != 0)
		return 0;
	/*
	 * application/json (with parameters, not application/jsonl) is one
	 * document: {"data":[...]} or a bare array, else 422 as the
	 * original's.  A type of NDJSON is NDJSON.  Any other type, or none,
	 * is what the body's first bytes say (SPEC §5.7).
	 */
	ct = header(r, "Content-Type");
	r->envelope = ct != NULL && strncasecmp(ct, "application/json",
	    16) == 0 && strchr("; \t", ct[16]) != NULL;
	r->sniffing = !r->envelope && !ndjson_type(ct);
	return 1;
}

/*
 * 1 when the media type ct names NDJSON or JSON Lines (application/
 * x-ndjson, application/jsonl, ...): such a body is never sniffed.
 */
static int
ndjson_type(const char *ct)
{
	static const char *const ends[] = { "ndjson", "jsonl", "jsonlines" };
	size_t i, n, k;

	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		k = strlen(ends[i]);
		if (n > k && strncasecmp(ct + n - k, ends[i], k) == 0 &&
		    strchr("/-+.", ct[n - k - 1]) != NULL)
			return 1;
	}
	return 0;
}

/*
 * What the first bytes p (n) of an import body say it is, whatever its
 * Content-Type (SPEC §5.7, as the original): 1 for {"data":[...]} (the
 * first member is "data") or a bare array, 0 for NDJSON (anything else,
 * a record of NDJSON being an object whose first member is not "data"),
 * -1 when it cannot be told yet.
 */
static int
sniff(const char *p, size_t n)
{
	static const char data[] = "data\"";
	size_t i = 0, k;

	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i == n)
		return -1;
	if (p[i] == '[')
		return 1;
	if (p[i++] != '{')
		return 0;
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i == n)
		return -1;
	if (p[i++] != '"')
		return 0;
	for (k = 0; k < sizeof(data) - 1; k++) {
		if (i + k == n)
			return -1;
		if (p[i + k] != data[k])
			return 0;
	}
	return 1;
}

static int
split_error(struct split *sp, int status, const char *msg)
{
	sp->status = status;
	snprintf(sp->err, sizeof(sp->err), "%s", msg);
	return -1;
}

static void
split_end_elem(struct split *sp, struct sm_buf *out)
{
	sm_buf_addc(out, '\n');
	sp->state = SP_ELEM_NEXT;
}

static int
split_after_array(struct split *sp)
{
	sp->state = sp->top_array ? SP_END : SP_MEMBER_NEXT;
	return 0;
}

/*
 * One byte inside an element: copied to out, whitespace outside strings
 * as one space, so that the element stays on its line without two
 * tokens becoming one ("[1 2]" must not turn into "[12]").  Brackets are
 * matched so that the element's end is found; the rest of JSON is left
 * to the parser of each record, so that a bad record is one reject and
 * not the whole body.
 */
static int
split_elem_byte(struct split *sp, int c, struct sm_buf *out)
{
	if (sp->in_str) {
		if (c == '\n' || c == '\r')
			return split_error(sp, 400, "malformed JSON: a line "
			    "break inside a string");
		sm_buf_addc(out, c);
		if (sp->esc)
			sp->esc = 0;
		else if (c == '\\')
			sp->esc = 1;
		else if (c == '"')
			sp->in_str = 0;
		return 0;
	}
	switch (c) {
	case '"':
		sp->in_str = 1;
		sm_buf_addc(out, c);
		return 0;
	case '{':
	case '[':
		if (sp->depth == sizeof(sp->open))
			return split_error(sp, 422, "a record nests deeper "
			    "than 256 levels");
		sp->open[sp->depth++] = (char)c;
		sm_buf_addc(out, c);
		return 0;
	case '}':
	case ']':
		if (sp->depth == 0) {
			/* A scalar element, ended by the array's ']'. */
			if (c == '}')
				return split_error(sp, 400, "malformed JSON: "
				    "unexpected '}'");
			split_end_elem(sp, out);
			return split_after_array(sp);
		}
		if (sp->open[--sp->depth] != (c == '}' ? '{' : '['))
			return split_error(sp, 400, "malformed JSON: "
			    "mismatched brackets");
		sm_buf_addc(out, c);
		if (sp->depth == 0)
			split_end_elem(sp, out);
		return 0;
	case ',':
		if (sp->depth > 0) {
			sm_buf_addc(out, c);
			return 0;
		}
		split_end_elem(sp, out);
		sp->state = SP_ELEM;
		return 0;
	default:
		if (is_ws(c)) {
			if (sp->depth == 0)
				split_end_elem(sp, out);
			else if (out->len == 0 || out->data[out->len - 1] != ' ')
				sm_buf_addc(out, ' ');
			return 0;
		}
		sm_buf_addc(out, c);
		return 0;
	}
}

/*
 * Feeds one byte of a {"data":[...]} body (or of a bare array) to the
 * splitter, which writes each element of the array to out as one line.
 * Returns 0, or -1 with sp->status and sp->err set.
 */
static int
split_byte(struct split *sp, int c, struct sm_buf *out)
{
	switch (sp->state) {
	case SP_START:
		if (is_ws(c))
			return 0;
		if (c == '[') {
			sp->top_array = 1;
			sp->state = SP_ELEM_FIRST;
			return 0;
		}
		if (c == '{') {
			sp->state = SP_KEY_FIRST;
			return 0;
		}
		return split_error(sp, 400, "malformed JSON: expected "
		    "{\"data\":[...]}");
	case SP_KEY_FIRST:
	case SP_KEY:
		if (is_ws(c))
			return 0;
		if (c == '"') {
			sp->keylen = 0;
			sp->esc = 0;
			sp->state = SP_KEY_STR;
			return 0;
		}
		if (c == '}' && sp->state == SP_KEY_FIRST) {
			sp->state = SP_END;
			return 0;
		}
		return split_error(sp, 400, "malformed JSON: expected a "
		    "member name");
	case SP_KEY_STR:
		if ((unsigned char)c < 0x20)
			return split_error(sp, 400, "malformed JSON: a "
			    "control character inside a string");
		if (!sp->esc && c == '"') {
			sp->key[sp->keylen < sizeof(sp->key) ? sp->keylen :
			    sizeof(sp->key) - 1] = '\0';
			sp->state = SP_COLON;
			return 0;
		}
		sp->esc = !sp->esc && c == '\\';
		if (sp->keylen < sizeof(sp->key) - 1)
			sp->key[sp->keylen] = (char)c;
		sp->keylen++;
		return 0;
	case SP_COLON:
		if (is_ws(c))
			return 0;
		if (c != ':')
			return split_error(sp, 400, "malformed JSON: expected "
			    "':'");
		if (sp->keylen != 4 || memcmp(sp->key, "data", 4) != 0)
			return split_error(sp, 422, "unexpected member: the "
			    "body is {\"data\":[...]}");
		if (sp->seen_data)
			return split_error(sp, 422, "data given twice");
		sp->seen_data = 1;
		sp->state = SP_DATA;
		return 0;
	case SP_DATA:
		if (is_ws(c))
			return 0;
		if (c != '[')
			return split_error(sp, 422, "data must be an array of "
			    "records");
		sp->state = SP_ELEM_FIRST;
		return 0;
	case SP_ELEM_FIRST:
	case SP_ELEM:
		if (is_ws(c))
			return 0;
		if (c == ']') {
			if (sp->state == SP_ELEM)
				return split_error(sp, 400, "malformed JSON: "
				    "a comma before ']'");
			return split_after_array(sp);
		}
		sp->state = SP_IN_ELEM;
		sp->depth = 0;
		sp->in_str = sp->esc = 0;
		return split_elem_byte(sp, c, out);
	case SP_IN_ELEM:
		return split_elem_byte(sp, c, out);
	case SP_ELEM_NEXT:
		if (is_ws(c))
			return 0;
		if (c == ',') {
			sp->state = SP_ELEM;
			return 0;
		}
		if (c == ']')
			return split_after_array(sp);
		return split_error(sp, 400, "malformed JSON: expected ',' or "
		    "']' after a record");
	case SP_MEMBER_NEXT:
		if (is_ws(c))
			return 0;
		if (c == ',') {
			sp->state = SP_KEY;
			return 0;
		}
		if (c == '}') {
			sp->state = SP_END;
			return 0;
		}
		return split_error(sp, 400, "malformed JSON: expected ',' or "
		    "'}'");
	default:
		if (is_ws(c))
			return 0;
		return split_error(sp, 400, "malformed JSON: data after the "
		    "end of the body");
	}
}

/* The body has ended: 0 when it was whole, else -1 as split_byte. */
static int
split_finish(struct split *sp)
{
	if (sp->state != SP_END)
		return split_error(sp, 400, "malformed JSON: the body ends "
		    "too early");
	if (!sp->top_array && !sp->seen_data)
		return split_error(sp, 422, "no data member: the body is "
		    "{\"data\":[...]}");
	return 0;
}

/*
 * One piece of an import body, its kind known: split into the spool, or
 * copied there.  Returns 0, or 1 with an answer.
 */
static int
records_feed(struct sm_api_req *r, const char *data, size_t n)
{
	struct sm_buf out;
	size_t i;

	if (!r->envelope) {
		if (fwrite(data, 1, n, r->spool) != n)
			goto ioerr;
		return 0;
	}
	sm_buf_init(&out);
	for (i = 0; i < n; i++) {
		if (split_byte(&r->sp, (unsigned char)data[i], &out) != 0) {
			sm_buf_free(&out);
			fail(r, r->sp.status, "%s", r->sp.err);
			return 1;
		}
	}
	/* out.data is NULL when no record ended in this piece. */
	i = out.len > 0 ? fwrite(out.data, 1, out.len, r->spool) : 0;
	n = out.len;
	sm_buf_free(&out);
	if (i == n)
		return 0;
ioerr:
	fail(r, 500, "internal error");
	r->resp.detail = sm_xstrdup("cannot write the spool file");
	return 1;
}

/*
 * The kind of an import body is known (envelope or not): what was held
 * back while it was not goes its way.  Returns 0, or 1 with an answer.
 */
static int
records_decide(struct sm_api_req *r, int envelope)
{
	int rc;

	r->sniffing = 0;
	r->envelope = envelope;
	rc = records_feed(r, r->body.data != NULL ? r->body.data : "",
	    r->body.len);
	sm_buf_free(&r->body);
	sm_buf_init(&r->body);
	return rc;
}

/* Closes the spool at the end of the body.  Returns 1, or 0 answered. */
static int
spool_close(struct sm_api_req *r)
{
	int bad;

	/* A body too short to tell is NDJSON (an empty one is no record). */
	if (r->sniffing && records_decide(r, r->body.len > 0 &&
	    sniff(r->body.data, r->body.len) > 0) != 0)
		return 0;
	if (r->envelope && split_finish(&r->sp) != 0) {
		fail(r, r->sp.status, "%s", r->sp.err);
		return 0;
	}
	bad = fclose(r->spool) != 0;
	r->spool = NULL;
	if (bad) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write the spool file");
		return 0;
	}
	return 1;
}

/*
 * The JSON body as an object: 0 with a new reference in *v, or -1 with
 * 400 (malformed) or 422 (not an object) answered.
 */
static int
body_object(struct sm_api_req *r, jv *v)
{
	struct sm_json_err jerr;

	if (r->body.len == 0) {
		fail(r, 400, "a JSON object body is required");
		return -1;
	}
	if (sm_json_parse(r->body.data, r->body.len, v, &jerr) != 0) {
		fail(r, 400, "malformed JSON at byte %zu: %s", jerr.offset,
		    jerr.reason);
		return -1;
	}
	if (jv_get_kind(*v) != JV_KIND_OBJECT) {
		jv_free(*v);
		fail(r, 422, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/* Answers 422 when o has a member not in names (NULL-terminated). */
static int
members_known(struct sm_api_req *r, jv o, const char *const *names)
{
	size_t i;
	int bad = 0;

	jv_object_foreach(o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], jv_string_value(k)) == 0)
				break;
		if (names[i] == NULL && !bad) {
			bad = 1;
			fail(r, 422, "unknown member '%s'",
			    jv_string_value(k));
		}
		jv_free(k);
		jv_free(v);
	}
	return bad ? -1 : 0;
}

/*
 * Member name of o as a new string in *s (NULL when absent or null).
 * Returns 0, or -1 with 422 when it is not a string, or holds a NUL (a
 * C string would end there: the rest would be dropped unseen).
 */
static int
member_str(struct sm_api_req *r, jv o, const char *name, char **s)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	int kind = jv_get_kind(v);

	*s = NULL;
	if (kind == JV_KIND_STRING && strlen(jv_string_value(v)) !=
	    (size_t)jv_string_length_bytes(jv_copy(v))) {
		jv_free(v);
		fail(r, 422, "%s must not hold a NUL character (\\u0000)",
		    name);
		return -1;
	}
	if (kind == JV_KIND_STRING)
		*s = sm_xstrdup(jv_string_value(v));
	jv_free(v);
	if (kind == JV_KIND_STRING || kind == JV_KIND_INVALID ||
	    kind == JV_KIND_NULL)
		return 0;
	fail(r, 422, "%s must be a string", name);
	return -1;
}

/* Member name of o, an object, as canonical JSON in *s (or NULL). */
static int
member_obj(struct sm_api_req *r, jv o, const char *name, char **s)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	struct sm_buf b;
	int kind = jv_get_kind(v), rc = 0;

	*s = NULL;
	if (kind == JV_KIND_OBJECT) {
		sm_buf_init(&b);
		if (sm_canon(v, NULL, 0, &b) == 0)
			*s = b.data;
		else
			sm_buf_free(&b);
	} else if (kind != JV_KIND_INVALID && kind != JV_KIND_NULL) {
		fail(r, 422, "%s must be a JSON object", name);
		rc = -1;
	}
	jv_free(v);
	return rc;
}

/* hash_ignore: an array of strings, or a string "a,b"; *list never NULL. */
static int
member_strv(struct sm_api_req *r, jv o, const char *name, char ***list,
    size_t *n)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	int i, len, kind = jv_get_kind(v);

	*list = NULL;
	*n = 0;
	if (kind == JV_KIND_STRING)
		*list = sm_strv_split(jv_string_value(v), n);
	else if (kind == JV_KIND_ARRAY) {
		len = jv_array_length(jv_copy(v));
		*list = sm_xcalloc((size_t)len + 1, sizeof(**list));
		for (i = 0; i < len; i++) {
			jv s = jv_array_get(jv_copy(v), i);

			if (jv_get_kind(s) != JV_KIND_STRING) {
				jv_free(s);
				jv_free(v);
				fail(r, 422, "%s must be an array of strings",
				    name);
				return -1;
			}
			(*list)[(*n)++] = sm_xstrdup(jv_string_value(s));
			jv_free(s);
		}
	} else if (kind != JV_KIND_INVALID && kind != JV_KIND_NULL) {
		jv_free(v);
		fail(r, 422, "%s must be an array of strings", name);
		return -1;
	}
	jv_free(v);
	if (*list == NULL)
		*list = sm_xcalloc(1, sizeof(**list));
	return 0;
}

/* Lists, paged */

/*
 * A list answer being written: items with an id above after, at most
 * limit of them (all when limit < 0); more is set when one more item
 * was offered than the page holds.
 */
struct page {
	struct sm_api_req *r;
	FILE *out;
	char *vbuf;		/* out's buffer, of page_open */
	int64_t after, limit;
	int64_t n, last;
	int more;
};

#define PAGE_FULL 1	/* returned by walks that stop at a full page */
/* A page of 100 listings (85 kB) in two writes, not one for each 4 kB. */
#define PAGE_BUF (64 * 1024)

static int
page_open(struct sm_api_req *r, struct page *pg)
{
	memset(pg, 0, sizeof(*pg));
	pg->r = r;
	pg->limit = -1;
	if (arg_num(r, "after", 0, INT64_MAX, &pg->after) < 0 ||
	    arg_num(r, "limit", 1, 1000000000, &pg->limit) < 0)
		return -1;
	if ((pg->out = anon_file()) == NULL) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot create a response file");
		return -1;
	}
	pg->vbuf = sm_xmalloc(PAGE_BUF);
	setvbuf(pg->out, pg->vbuf, _IOFBF, PAGE_BUF);
	putc('[', pg->out);
	return 0;
}

/* Offers the item id, JSON text (a trailing newline is dropped). */
static int
page_add(struct page *pg, int64_t id, const char *json, size_t len)
{
	if (id <= pg->after)
		return 0;
	if (pg->limit >= 0 && pg->n == pg->limit) {
		pg->more = 1;
		return PAGE_FULL;
	}
	if (len > 0 && json[len - 1] == '\n')
		len--;
	if (pg->n++ > 0)
		putc(',', pg->out);
	fwrite(json, 1, len, pg->out);
	pg->last = id;
	return 0;
}

static void
url_encode(struct sm_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			sm_buf_addc(b, *s);
		else
			sm_buf_addf(b, "%%%02X", (unsigned char)*s);
	}
}

/*
 * Ends the list: answers it (with a Link to the next page when there is
 * one, keeping the query arguments named in keep) or, when rc < 0, the
 * error.
 */
static void
page_close(struct page *pg, int rc, const char *const *keep)
{
	struct sm_api_req *r = pg->r;
	struct sm_buf link;
	const char *v;
	size_t i;

	if (rc < 0) {
		fclose(pg->out);
		free(pg->vbuf);
		fail_rc(r, rc);
		return;
	}
	fputs("]\n", pg->out);
	reply_file(r, 200, pg->out);
	free(pg->vbuf);
	if (!pg->more || r->resp.status != 200)
		return;
	sm_buf_init(&link);
	sm_buf_addf(&link, "<%s?after=%" PRId64 "&limit=%" PRId64, r->path,
	    pg->last, pg->limit);
	for (i = 0; keep != NULL && keep[i] != NULL; i++) {
		if ((v = query(r, keep[i])) == NULL)
			continue;
		sm_buf_addf(&link, "&%s=", keep[i]);
		url_encode(&link, v);
	}
	sm_buf_adds(&link, ">; rel=\"next\"");
	r->resp.link = link.data;
}

/*
 * Pages the NDJSON lines a lib call printed to raw; each line's first
 * member is its id ({"id":N,... or {"run":N,...).  Closes raw.
 */
static int
page_lines(struct page *pg, FILE *raw)
{
	char *line = NULL, *colon;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	rewind(raw);
	while ((n = getline(&line, &cap, raw)) > 0) {
		colon = strchr(line, ':');
		if (page_add(pg, colon ? strtoll(colon + 1, NULL, 10) : 0,
		    line, (size_t)n) == PAGE_FULL)
			break;
	}
	if (ferror(raw))
		rc = sm_error(SM_EIO, "cannot read a list file");
	free(line);
	fclose(raw);
	return rc;
}

/* A file for the NDJSON a lib call prints; NULL with 500 answered. */
static FILE *
raw_open(struct sm_api_req *r)
{
	FILE *f;

	if ((f = anon_file()) == NULL) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot create a list file");
	}
	return f;
}

/* Replaces each "from" in s by "to"; returns a new string. */
static char *
replace(const char *s, const char *from, const char *to)
{
	struct sm_buf b;
	const char *p;
	size_t n = strlen(from);

	sm_buf_init(&b);
	sm_buf_add(&b, "", 0);
	while (n > 0 && (p = strstr(s, from)) != NULL) {
		sm_buf_add(&b, s, (size_t)(p - s));
		sm_buf_adds(&b, to);
		s = p + n;
	}
	sm_buf_adds(&b, s);
	return b.data;
}

/* Handlers: the tenant's database is open in r->db when they run */

static void
h_health(struct sm_api_req *r)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "status", "healthy");	/* the original's word */
	sm_jw_str(&b, "version", SM_VERSION);
	sm_jw_end(&b);
	reply(r, 200, &b);
}

static void
h_openapi(struct sm_api_req *r)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_adds(&b, r->api->openapi);
	reply(r, 200, &b);
}

static void
h_docs(struct sm_api_req *r)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_adds(&b, sm_api_docs_html);
	reply(r, 200, &b);
	r->resp.type = "text/html; charset=utf-8";
}

static void
h_tenant_create(struct sm_api_req *r)
{
	static const char *const names[] = { "name", "slug", "api_key", NULL };
	char key[SM_KEY_MAX], slug[SM_SLUG_MAX + 1], *name = NULL;
	char *want = NULL, *given = NULL, *msg;
	struct sm_buf b;
	int64_t created;
	int rc;
	jv o;

	if (body_object(r, &o) != 0)
		return;
	if (members_known(r, o, names) != 0 ||
	    member_str(r, o, "name", &name) != 0 ||
	    member_str(r, o, "slug", &want) != 0 ||
	    member_str(r, o, "api_key", &given) != 0)
		goto out;
	if (name == NULL) {
		fail(r, 422, "a tenant needs a name");
		goto out;
	}
	/* An api_key of the caller's (the original's body), else ours. */
	if ((rc = sm_tenant_create_key(r->api->cfg, name, want, given, slug,
	    key, &created)) != 0) {
		/* The lib words it for the command line: --slug is "slug". */
		if (rc == SM_EUSAGE) {
			msg = replace(sm_errmsg(), "give one with --slug",
			    "give one in \"slug\"");
			fail(r, 422, "%s", msg);
			free(msg);
		} else
			fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "id", slug);
	sm_jw_str(&b, "name", name);
	sm_jw_str(&b, "api_key", key);
	sm_jw_time(&b, "created_at", created);
	sm_jw_end(&b);
	sodium_memzero(key, sizeof(key));
	reply(r, 201, &b);
out:
	free(name);
	free(want);
	if (given != NULL)
		sodium_memzero(given, strlen(given));
	free(given);
	jv_free(o);
}

struct ep_walk {
	struct sm_db *db;
	struct page *pg;
	struct sm_buf b;
};

static int
ep_item(struct sm_endpoint *e, void *arg)
{
	struct ep_walk *w = arg;

	sm_endpoint_describe(w->db, e, &w->b);
	return page_add(w->pg, e->id, w->b.data, w->b.len);
}

static void
h_ep_list(struct sm_api_req *r)
{
	struct ep_walk w;
	struct page pg;
	int rc;

	if (page_open(r, &pg) != 0)
		return;
	w.db = r->db;
	w.pg = &pg;
	sm_buf_init(&w.b);
	rc = sm_endpoint_each(r->db, r->route->side, ep_item, &w);
	sm_buf_free(&w.b);
	page_close(&pg, rc, NULL);
}

/* Loads the source or target of id segment i; 0, or -1 with 404. */
static int
endpoint(struct sm_api_req *r, enum sm_side side, int i,
    struct sm_endpoint *e)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = sm_endpoint_get(r->db, side, r->ids[i], e)) != 0) {
		fail_rc(r, rc);
		return -1;
	}
	return 0;
}

static void
h_ep_show(struct sm_api_req *r)
{
	struct sm_endpoint e;
	struct sm_buf b;

	if (endpoint(r, r->route->side, 0, &e) != 0)
		return;
	sm_buf_init(&b);
	sm_endpoint_describe(r->db, &e, &b);
	reply(r, 200, &b);
	sm_endpoint_free(&e);
}

/* Runs add (or remove) of e in a transaction of its own. */
static int
ep_write(struct sm_db *db, struct sm_endpoint *e, int add)
{
	int rc;

	if ((rc = sm_db_begin(db)) != 0)
		return rc;
	rc = add ? sm_endpoint_add(db, e) : sm_endpoint_remove(db, e->side,
	    e->id);
	if (rc == 0)
		rc = sm_db_commit(db);
	if (rc != 0)
		sm_db_rollback(db);
	return rc;
}

static void
h_ep_create(struct sm_api_req *r)
{
	static const char *const source_names[] = { "name", "type", "config",
	    "map", "id_field", "hash_ignore", NULL };
	static const char *const target_names[] = { "name", "type", "config",
	    NULL };
	enum sm_side side = r->route->side;
	struct sm_endpoint e;
	struct sm_buf b;
	int rc;
	jv o;

	memset(&e, 0, sizeof(e));
	e.side = side;
	if (body_object(r, &o) != 0)
		return;
	if (members_known(r, o, side == SM_SOURCE ? source_names :
	    target_names) != 0 ||
	    member_str(r, o, "name", &e.name) != 0 ||
	    member_str(r, o, "type", &e.type) != 0 ||
	    member_obj(r, o, "config", &e.config) != 0 ||
	    member_str(r, o, "map", &e.map) != 0 ||
	    member_str(r, o, "id_field", &e.id_field) != 0 ||
	    member_strv(r, o, "hash_ignore", &e.hash_ignore,
	    &e.nhash_ignore) != 0)
		goto out;
	if (e.name == NULL || e.type == NULL) {
		fail(r, 422, "a %s needs a name and a type",
		    side == SM_SOURCE ? "source" : "target");
		goto out;
	}
	if ((rc = ep_write(r->db, &e, 1)) != 0) {
		fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_endpoint_describe(r->db, &e, &b);
	reply(r, 201, &b);
	sm_buf_addf(&b, "/%s/%" PRId64, side == SM_SOURCE ? "sources" :
	    "targets", e.id);
	r->resp.location = b.data;
out:
	sm_endpoint_free(&e);
	jv_free(o);
}

static void
h_ep_delete(struct sm_api_req *r)
{
	struct sm_endpoint e;
	struct sm_buf b;
	int rc;

	if (endpoint(r, r->route->side, 0, &e) != 0)
		return;
	if ((rc = ep_write(r->db, &e, 0)) != 0)
		fail_rc(r, rc);
	else {
		sm_buf_init(&b);
		sm_jw_begin(&b);
		sm_jw_int(&b, "id", e.id);
		sm_jw_str(&b, "name", e.name);
		sm_jw_bool(&b, "deleted", 1);
		sm_jw_end(&b);
		reply(r, 200, &b);
	}
	sm_endpoint_free(&e);
}

/*
 * The rows of GET .../properties, as sm-snapshot cat prints them: ?1
 * owner, ?2 after this id, ?3 at most so many (-1: all), ?4 only manual
 * changes, ?5 only this id (NULL: any).
 */
#define PROPS_SOURCE "SELECT id, external_id, data, hash, updated_at " \
	"FROM source_properties WHERE source_id = ?1 AND deleted_at IS NULL " \
	"AND id > ?2 AND (?5 IS NULL OR id = ?5) ORDER BY id LIMIT ?3"
#define PROPS_TARGET "SELECT p.id, p.external_id, p.data, p.hash, " \
	"p.updated_at, p.synced_hash, s.name, p.has_manual_changes, " \
	"p.warning FROM target_properties p " \
	"LEFT JOIN sources s ON s.id = p.source_id " \
	"WHERE p.target_id = ?1 AND p.deleted_at IS NULL AND p.id > ?2 " \
	"AND (?4 = 0 OR p.has_manual_changes) AND (?5 IS NULL OR p.id = ?5) " \
	"ORDER BY p.id LIMIT ?3"

static const char *
col(sqlite3_stmt *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static void
prop_json(sqlite3_stmt *stmt, enum sm_side side, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "id", sqlite3_column_int64(stmt, 0));
	sm_jw_str(b, "external_id", col(stmt, 1));
	sm_jw_raw(b, "data", col(stmt, 2));
	sm_jw_str(b, "hash", col(stmt, 3));
	sm_jw_time(b, "updated_at", sqlite3_column_int64(stmt, 4));
	if (side == SM_TARGET) {
		sm_jw_str(b, "synced_hash", col(stmt, 5));
		sm_jw_str(b, "source", col(stmt, 6));
		sm_jw_bool(b, "has_manual_changes",
		    sqlite3_column_int(stmt, 7));
		sm_jw_str(b, "warning", col(stmt, 8));
	}
	sm_jw_end(b);
}

/*
 * Calls page_add for the live properties of e after pg->after (or only
 * for property id when id > 0), ordered by id.
 */
static int
props_walk(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, struct page *pg)
{
	sqlite3_stmt *stmt;
	struct sm_buf b;
	int rc;

	stmt = sm_db_stmt(db, e->side == SM_SOURCE ? PROPS_SOURCE :
	    PROPS_TARGET);
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, e->id);
	sqlite3_bind_int64(stmt, 2, pg->after);
	sqlite3_bind_int64(stmt, 3, pg->limit < 0 ? -1 : pg->limit + 1);
	sqlite3_bind_int(stmt, 4, manual);
	if (id > 0)
		sqlite3_bind_int64(stmt, 5, id);
	sm_buf_init(&b);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		prop_json(stmt, e->side, &b);
		if (page_add(pg, sqlite3_column_int64(stmt, 0), b.data,
		    b.len) == PAGE_FULL)
			break;
	}
	sqlite3_reset(stmt);
	sm_buf_free(&b);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return 0;
	return sm_db_error(db, rc, "cannot read properties");
}

static void
h_props(struct sm_api_req *r)
{
	static const char *const keep[] = { "manual", NULL };
	struct sm_endpoint e;
	struct page pg;
	int manual = 0, rc;

	if (r->route->side == SM_TARGET && arg_bool(r, "manual", &manual) != 0)
		return;
	if (endpoint(r, r->route->side, 0, &e) != 0)
		return;
	if (page_open(r, &pg) == 0) {
		rc = props_walk(r->db, &e, manual, 0, &pg);
		page_close(&pg, rc, keep);
	}
	sm_endpoint_free(&e);
}

/*
 * What an import reports back: rejects and warnings are spooled to files
 * as comma-separated JSON items, so that a body of a million bad records
 * costs disk, not memory.
 */
struct import_log {
	const char *spool;	/* its name in messages becomes "line" */
	FILE *rejects, *warnings;
	uint64_t nrejects, nwarnings;
	struct sm_buf b;
};

static void
log_item(FILE *f, uint64_t *n, struct sm_buf *b)
{
	if ((*n)++ > 0)
		putc(',', f);
	fwrite(b->data, 1, b->len - 1, f);	/* without the newline */
}

static void
on_reject(const char *file, size_t line, const char *reason, void *arg)
{
	struct import_log *l = arg;

	sm_jw_begin(&l->b);
	if (file != NULL)
		sm_jw_int(&l->b, "line", (int64_t)line);
	else
		sm_jw_null(&l->b, "line");
	sm_jw_str(&l->b, "error", reason);
	sm_jw_end(&l->b);
	log_item(l->rejects, &l->nrejects, &l->b);
}

/* Turns the command-line wording of a lib message into the API's. */
static char *
api_words(const char *msg, const char *spool)
{
	static const char *const words[][2] = {
		{ "--allow-mass-delete", "allow_mass_delete=true" },
		{ "--complete", "complete=true" },
		{ "--strict", "strict=true" },
	};
	char *s, *t, prefix[4096];
	size_t i;

	snprintf(prefix, sizeof(prefix), "%s:", spool);
	s = replace(msg, prefix, "line ");
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		t = replace(s, words[i][0], words[i][1]);
		free(s);
		s = t;
	}
	return s;
}

static void
on_warn(const char *msg, void *arg)
{
	struct import_log *l = arg;
	size_t n = strlen(l->spool);
	char *end, *text;
	long long line = -1;

	/* "SPOOL:LINE: what" becomes {"line":LINE,"warning":"what"}. */
	if (strncmp(msg, l->spool, n) == 0 && msg[n] == ':') {
		line = strtoll(msg + n + 1, &end, 10);
		if (end[0] == ':' && end[1] == ' ')
			msg = end + 2;
		else
			line = -1;
	}
	text = api_words(msg, l->spool);
	sm_jw_begin(&l->b);
	if (line >= 0)
		sm_jw_int(&l->b, "line", line);
	else
		sm_jw_null(&l->b, "line");
	sm_jw_str(&l->b, "warning", text);
	sm_jw_end(&l->b);
	free(text);
	log_item(l->warnings, &l->nwarnings, &l->b);
}

/* Appends the items spooled in f as the array member name of out. */
static void
copy_items(FILE *out, const char *name, FILE *f)
{
	char chunk[8192];
	size_t n;

	fprintf(out, ",\"%s\":[", name);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, out);
	putc(']', out);
}

/* Runs sm_import on the spool; 0, or -1 answered. */
static int
import_run(struct sm_api_req *r, const struct sm_endpoint *e,
    struct sm_import_opts *o, struct import_log *l,
    struct sm_import_stats *st, struct sm_run *run)
{
	char *msg;
	int rc;

	memset(l, 0, sizeof(*l));
	l->spool = r->spool_path;
	sm_buf_init(&l->b);
	if ((l->rejects = anon_file()) == NULL ||
	    (l->warnings = anon_file()) == NULL) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot create a log file");
		return -1;
	}
	o->reject = on_reject;
	o->warn = on_warn;
	o->arg = l;
	if ((rc = sm_import(r->db, r->api->cfg, e, &r->spool_path, 1, o, st,
	    run)) != 0) {
		msg = api_words(sm_errmsg(), r->spool_path);
		sm_error(rc, "%s", msg);
		free(msg);
		fail_rc(r, rc);
		return -1;
	}
	return 0;
}

static void
import_log_free(struct import_log *l)
{
	if (l->rejects != NULL)
		fclose(l->rejects);
	if (l->warnings != NULL)
		fclose(l->warnings);
	sm_buf_free(&l->b);
}

static void
h_import(struct sm_api_req *r)
{
	struct sm_import_opts o;
	struct sm_import_stats st;
	struct sm_endpoint e;
	struct import_log l;
	struct sm_buf b, stats;
	struct sm_run run;
	FILE *out;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	if (arg_bool(r, "complete", &o.complete) != 0 ||
	    arg_bool(r, "strict", &o.strict) != 0 ||
	    arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    arg_bool(r, "allow_mass_delete", &o.allow_mass_delete) != 0)
		return;
	if (endpoint(r, SM_SOURCE, 0, &e) != 0)
		return;
	if (import_run(r, &e, &o, &l, &st, &run) != 0)
		goto out;
	if ((out = anon_file()) == NULL) {
		fail(r, 500, "internal error");
		goto out;
	}
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_import_stats_json(&st, &stats);
	/* Open: the rejects and warnings follow, copied from their spools. */
	sm_jw_result_open(&b, st.rejected ? "partial" : "success",
	    o.dry_run ? 0 : run.id, stats.data);
	fwrite(b.data, 1, b.len, out);
	copy_items(out, "rejects", l.rejects);
	copy_items(out, "warnings", l.warnings);
	fputs("}\n", out);
	sm_buf_free(&b);
	sm_buf_free(&stats);
	reply_file(r, 200, out);
out:
	import_log_free(&l);
	sm_endpoint_free(&e);
}

/*
 * Writes the one record of a PATCH to the spool: the merge patch with
 * the external_id that picks the row.  Returns 0, or -1 answered.
 */
static int
patch_spool(struct sm_api_req *r, const struct sm_prop *p)
{
	static const char *const names[] = { "data", NULL };
	struct sm_buf b;
	jv o, data, ext;
	int bad, rc = -1;

	if (body_object(r, &o) != 0)
		return -1;
	data = jv_object_get(jv_copy(o), jv_string("data"));
	if (spool_create(r) != 0)
		goto out;
	if (members_known(r, o, names) != 0)
		goto out;
	if (jv_get_kind(data) != JV_KIND_OBJECT) {
		fail(r, 422, "the body is {\"data\":{...}}: a merge patch "
		    "object");
		goto out;
	}
	ext = jv_object_get(jv_copy(data), jv_string("external_id"));
	if (jv_get_kind(ext) != JV_KIND_INVALID &&
	    (jv_get_kind(ext) != JV_KIND_STRING ||
	    strcmp(jv_string_value(ext), p->external_id) != 0)) {
		jv_free(ext);
		fail(r, 422, "the external_id of a property cannot be patched");
		goto out;
	}
	jv_free(ext);
	data = jv_object_set(data, jv_string("external_id"),
	    jv_string(p->external_id));
	sm_buf_init(&b);
	if (sm_canon(data, NULL, 0, &b) != 0) {
		sm_buf_free(&b);
		fail(r, 422, "%s", sm_errmsg());
		goto out;
	}
	sm_buf_addc(&b, '\n');
	bad = fwrite(b.data, 1, b.len, r->spool) != b.len;
	bad |= fclose(r->spool) != 0;
	r->spool = NULL;
	sm_buf_free(&b);
	if (bad) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write the spool file");
	} else
		rc = 0;
out:
	jv_free(data);
	jv_free(o);
	return rc;
}

static void
h_patch(struct sm_api_req *r)
{
	struct sm_import_opts o;
	struct sm_import_stats st;
	struct sm_endpoint e;
	struct import_log l;
	struct sm_prop p;
	struct sm_run run;
	struct page pg;
	int rc;

	memset(&l, 0, sizeof(l));
	if (endpoint(r, SM_TARGET, 0, &e) != 0)
		return;
	sm_prop_init(&p, SM_TARGET, e.id);
	if ((rc = sm_prop_get_id(r->db, &p, id_of(r, 1))) < 0) {
		fail_rc(r, rc);
		goto out;
	}
	if (rc == 0 || p.owner != e.id || p.deleted_at >= 0) {
		fail(r, 404, "no property %s on target '%s'", r->ids[1],
		    e.name);
		goto out;
	}
	/* The edit is an import of one merge patch: snapshot, run, log. */
	if (patch_spool(r, &p) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.merge = 1;
	o.strict = 1;
	if (import_run(r, &e, &o, &l, &st, &run) != 0)
		goto out;
	memset(&pg, 0, sizeof(pg));
	pg.r = r;
	pg.limit = -1;
	if ((pg.out = anon_file()) == NULL) {
		fail(r, 500, "internal error");
		goto out;
	}
	rc = props_walk(r->db, &e, 0, p.id, &pg);
	if (rc == 0 && pg.n == 1) {
		putc('\n', pg.out);
		reply_file(r, 200, pg.out);
	} else {
		fclose(pg.out);
		fail_rc(r, rc != 0 ? rc : sm_error(SM_EINTERNAL, "property "
		    "%" PRId64 " is gone after its patch", p.id));
	}
out:
	import_log_free(&l);
	sm_prop_free(&p);
	sm_endpoint_free(&e);
}

static void
h_sync(struct sm_api_req *r)
{
	struct sm_endpoint s, t;
	struct sm_sync_stats st;
	struct sm_sync_opts o;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc;

	memset(&o, 0, sizeof(o));
	if (arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    arg_bool(r, "overwrite_manual", &o.overwrite_manual) != 0 ||
	    arg_bool(r, "accept_manual", &o.accept_manual) != 0)
		return;
	if (o.overwrite_manual && o.accept_manual) {
		fail(r, 400, "overwrite_manual and accept_manual exclude each "
		    "other");
		return;
	}
	if (endpoint(r, SM_SOURCE, 0, &s) != 0)
		return;
	if (endpoint(r, SM_TARGET, 1, &t) != 0)
		goto out;
	if ((rc = sm_sync(r->db, r->api->cfg, &s, &t, &o, &st, &run)) != 0) {
		fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_sync_stats_json(&st, &stats);
	sm_jw_result(&b, "success", o.dry_run ? 0 : run.id, stats.data);
	sm_buf_free(&stats);
	reply(r, 200, &b);
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
}

static void
h_snap_list(struct sm_api_req *r)
{
	static const char *const keep[] = { "source", "target", "external_id",
	    "since", "until", "data", NULL };
	struct sm_snap_query q;
	struct sm_endpoint e;
	const char *ext, *ref = NULL;
	char *ids[2] = { NULL, NULL };
	struct page pg;
	FILE *raw;
	int rc;

	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	q.since = q.until = -1;
	if (arg_time(r, "since", &q.since) < 0 ||
	    arg_time(r, "until", &q.until) < 0 ||
	    arg_bool(r, "data", &q.with_data) != 0)
		return;
	if (query(r, "source") != NULL && query(r, "target") != NULL) {
		fail(r, 400, "give source or target, not both");
		return;
	}
	q.side = query(r, "target") != NULL ? SM_TARGET : SM_SOURCE;
	if ((ref = query(r, q.side == SM_SOURCE ? "source" : "target")) !=
	    NULL) {
		if (!parse_id(ref, NULL)) {
			fail(r, 400, "invalid %s value '%s': expected an id",
			    q.side == SM_SOURCE ? "source" : "target", ref);
			return;
		}
		if ((rc = sm_endpoint_get(r->db, q.side, ref, &e)) != 0) {
			fail_rc(r, rc);
			return;
		}
		q.owner = e.id;
	}
	if ((ext = query(r, "external_id")) != NULL) {
		ids[0] = (char *)ext;
		q.ids = ids;
		q.nids = 1;
	}
	if (page_open(r, &pg) == 0) {
		if ((raw = raw_open(r)) == NULL) {
			fclose(pg.out);
			free(pg.vbuf);
		} else {
			if ((rc = sm_snap_list(r->db, &q, raw)) == 0)
				rc = page_lines(&pg, raw);
			else
				fclose(raw);
			page_close(&pg, rc, keep);
		}
	}
	sm_endpoint_free(&e);
}

static void
h_snap_show(struct sm_api_req *r)
{
	FILE *f;
	int rc;

	if ((f = raw_open(r)) == NULL)
		return;
	if ((rc = sm_snap_show(r->db, id_of(r, 0), f)) != 0) {
		fclose(f);
		fail_rc(r, rc);
		return;
	}
	reply_file(r, 200, f);
}

static void
h_snap_restore(struct sm_api_req *r)
{
	struct sm_restore_stats st;
	struct sm_restore_opts o;
	struct sm_endpoint e;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&e, 0, sizeof(e));
	if (arg_bool(r, "dry_run", &o.dry_run) != 0)
		return;
	o.snapshot = id_of(r, 0);
	o.max_delete_ratio = r->api->cfg->import_max_delete_ratio;
	if ((rc = sm_snap_endpoint(r->db, o.snapshot, &e)) != 0 ||
	    (rc = sm_snap_restore(r->db, &e, &o, &st, &run)) != 0) {
		fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_restore_stats_json(&st, &stats);
	sm_jw_result(&b, "success", o.dry_run ? 0 : run.id, stats.data);
	sm_buf_free(&stats);
	reply(r, 200, &b);
out:
	sm_endpoint_free(&e);
}

static void
h_runs(struct sm_api_req *r)
{
	static const char *const keep[] = { "kind", "source", "target", NULL };
	static const char *const kinds[] = { "import", "sync", "restore" };
	const char *kind = query(r, "kind");
	int64_t source = 0, target = 0;
	struct page pg;
	FILE *raw;
	size_t i;
	int rc;

	for (i = 0; kind != NULL && i < 3; i++)
		if (strcmp(kind, kinds[i]) == 0)
			break;
	if (i == 3) {
		fail(r, 400, "invalid kind value '%s': expected import, sync "
		    "or restore", kind);
		return;
	}
	if (arg_num(r, "source", 0, INT64_MAX, &source) < 0 ||
	    arg_num(r, "target", 0, INT64_MAX, &target) < 0 ||
	    page_open(r, &pg) != 0)
		return;
	if ((raw = raw_open(r)) == NULL) {
		fclose(pg.out);
		free(pg.vbuf);
		return;
	}
	if ((rc = sm_run_history(r->db, kind, source, target, raw)) == 0)
		rc = page_lines(&pg, raw);
	else
		fclose(raw);
	page_close(&pg, rc, keep);
}

static void
h_cleanup(struct sm_api_req *r)
{
	const struct sm_config *cfg = r->api->cfg;
	struct sm_cleanup_stats st;
	struct sm_cleanup_opts o;
	int64_t days = cfg->retention_days, keep = cfg->keep_snapshots;
	int64_t runs_days = cfg->runs_days;
	struct sm_buf b, ours;
	int rc, vacuum;

	memset(&o, 0, sizeof(o));
	if (arg_num(r, "days", 0, INT32_MAX, &days) < 0 ||
	    arg_num(r, "keep", 0, INT32_MAX, &keep) < 0 ||
	    arg_num(r, "runs_days", 0, INT32_MAX, &runs_days) < 0 ||
	    arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    arg_bool(r, "vacuum", &vacuum) != 0)
		return;
	o.days = (int)days;
	o.keep = (int)keep;
	o.runs_days = (int)runs_days;
	if ((rc = sm_cleanup(r->db, &o, &st)) == 0 && vacuum && !o.dry_run)
		rc = sm_cleanup_vacuum(r->db);
	if (rc != 0) {
		fail_rc(r, rc);
		return;
	}
	/* The original's status, deleted and days, then ours. */
	sm_buf_init(&ours);
	sm_cleanup_stats_json(r->slug, &st, &ours);
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "status", "success");
	sm_jw_int(&b, "deleted", (int64_t)st.snapshots);
	sm_jw_int(&b, "days", days);
	sm_buf_addc(&b, ',');
	sm_buf_add(&b, ours.data + 1, ours.len - 1);
	sm_buf_free(&ours);
	reply(r, 200, &b);
}

static void
diff_reject(const char *file, size_t line, const char *reason, void *arg)
{
	(void)file;
	(void)line;
	(void)reason;
	(void)arg;
}

static void
diff_warn(const char *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

/* The records of sm-diff SOURCE TARGET, as a JSON array. */
static void
h_diff(struct sm_api_req *r)
{
	struct sm_diff_stats st;
	struct sm_diff_opts o;
	struct sm_endpoint s, t;
	struct page pg;
	FILE *raw;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	if (arg_bool(r, "overwrite_manual", &o.overwrite_manual) != 0 ||
	    arg_bool(r, "accept_manual", &o.accept_manual) != 0)
		return;
	if (o.overwrite_manual && o.accept_manual) {
		fail(r, 400, "overwrite_manual and accept_manual exclude each "
		    "other");
		return;
	}
	if (endpoint(r, SM_SOURCE, 0, &s) != 0)
		return;
	if (endpoint(r, SM_TARGET, 1, &t) != 0 || (raw = raw_open(r)) == NULL)
		goto out;
	o.out = raw;
	o.reject = diff_reject;
	o.warn = diff_warn;
	/* Diff records have no id: the list is one page, by external_id. */
	memset(&pg, 0, sizeof(pg));
	pg.r = r;
	pg.limit = -1;
	pg.after = -1;
	if ((pg.out = anon_file()) == NULL) {
		fclose(raw);
		fail(r, 500, "internal error");
		goto out;
	}
	putc('[', pg.out);
	if ((rc = sm_diff_sync(r->db, &s, &t, &o, &st)) == 0)
		rc = page_lines(&pg, raw);
	else
		fclose(raw);
	page_close(&pg, rc, NULL);
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
}

/* The interface */

#define DECOY_PREFIX	".sm-serve."
#define DECOY_LOCK	"lock"
#define DECOY_GRACE	60	/* seconds a new decoy has to take its lock */

/*
 * Takes the write lock of the lock file of decoy directory dir (at fd
 * dfd) without waiting.  Returns the locked descriptor, or -1 when the
 * file is missing, cannot be opened, or another process holds it.
 */
static int
decoy_lock(int dfd, int create)
{
	struct flock fl;
	int fd;

	fd = openat(dfd, DECOY_LOCK, O_RDWR | O_CLOEXEC |
	    (create ? O_CREAT : 0), 0600);
	if (fd < 0)
		return -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Removes the decoy directories of servers that are gone (a crash, kill
 * -9): a server holds the lock of its own for as long as it runs, so one
 * that can be locked, or (made by an older server) has no lock file and
 * is older than DECOY_GRACE, is stale.  Best effort: what cannot be
 * removed stays.
 */
static void
decoy_sweep(const char *data_dir)
{
	struct dirent *de, *fe;
	struct stat st;
	DIR *d, *fd;
	int dfd, lock, stale;

	if ((d = opendir(data_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, DECOY_PREFIX,
		    strlen(DECOY_PREFIX)) != 0)
			continue;
		dfd = openat(dirfd(d), de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		if (fstat(dfd, &st) != 0 ||
		    time(NULL) - st.st_mtime < DECOY_GRACE) {
			close(dfd);
			continue;
		}
		lock = decoy_lock(dfd, 0);
		stale = lock >= 0 || (faccessat(dfd, DECOY_LOCK, F_OK, 0) != 0
		    && errno == ENOENT);
		if (stale && (fd = fdopendir(dfd)) != NULL) {
			while ((fe = readdir(fd)) != NULL)
				if (strcmp(fe->d_name, ".") != 0 &&
				    strcmp(fe->d_name, "..") != 0)
					unlinkat(dfd, fe->d_name, 0);
			closedir(fd);		/* closes dfd */
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		} else
			close(dfd);
		if (lock >= 0)
			close(lock);
	}
	closedir(d);
}

/*
 * Makes the decoy tenant of tenant_auth in a directory of its own,
 * DATA_DIR/.sm-serve.XXXXXX (hidden from sm-tenant list), with a key
 * that is thrown away, after removing those of servers gone.  The
 * directory's lock file stays locked until sm_api_free.  Returns 0 or
 * SM_EIO.
 */
static int
decoy_create(struct sm_api *api)
{
	char key[SM_KEY_MAX], slug[SM_SLUG_MAX + 1];
	int64_t t;
	int dfd, rc;

	api->decoy_lock = -1;
	decoy_sweep(api->cfg->data_dir);
	api->decoy = *api->cfg;
	api->decoy_dir = sm_xmalloc(strlen(api->cfg->data_dir) + 32);
	sprintf(api->decoy_dir, "%s/" DECOY_PREFIX "XXXXXX",
	    api->cfg->data_dir);
	if (mkdtemp(api->decoy_dir) == NULL) {
		rc = sm_error(SM_EIO, "cannot create a directory in '%s': %s",
		    api->cfg->data_dir, strerror(errno));
		free(api->decoy_dir);
		api->decoy_dir = NULL;
		return rc;
	}
	if ((dfd = open(api->decoy_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		api->decoy_lock = decoy_lock(dfd, 1);
		close(dfd);
	}
	if (api->decoy_lock < 0)
		return sm_error(SM_EIO, "cannot lock '%s/" DECOY_LOCK "': %s",
		    api->decoy_dir, strerror(errno));
	api->decoy.data_dir = api->decoy_dir;
	rc = sm_tenant_create(&api->decoy, "decoy", "decoy", slug, key, &t);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
sm_api_new(struct sm_api **out, const struct sm_config *cfg)
{
	struct sm_api *api;
	char *key = NULL, *p;
	size_t n;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return sm_error(SM_EINTERNAL, "cannot initialise libsodium");
	api = sm_xcalloc(1, sizeof(*api));
	api->cfg = cfg;
	if (cfg->serve_admin_key_file != NULL) {
		if ((rc = sm_file_read(cfg->serve_admin_key_file,
		    &key)) != 0) {
			free(api);
			p = sm_xstrdup(sm_errmsg());
			rc = sm_error(SM_ECONFIG, "serve.admin_key_file: %s",
			    p);
			free(p);
			return rc;
		}
		n = strlen(key);
		while (n > 0 && isspace((unsigned char)key[n - 1]))
			key[--n] = '\0';
		if (n == 0) {
			free(key);
			free(api);
			return sm_error(SM_ECONFIG, "serve.admin_key_file "
			    "'%s' is empty", cfg->serve_admin_key_file);
		}
		crypto_generichash(api->admin_hash, sizeof(api->admin_hash),
		    (const unsigned char *)key, n, NULL, 0);
		sodium_memzero(key, n);
		free(key);
		api->admin = 1;
	}
	if ((rc = decoy_create(api)) != 0) {
		sm_api_free(api);
		return rc;
	}
	/* The document is written with ' for " (see apidoc.c). */
	api->openapi = sm_xstrdup(sm_api_openapi_text);
	for (p = api->openapi; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	*out = api;
	return 0;
}

void
sm_api_free(struct sm_api *api)
{
	char *p;

	if (api == NULL)
		return;
	if (api->decoy_dir != NULL) {
		sm_tenant_delete(&api->decoy, "decoy");
		p = sm_xmalloc(strlen(api->decoy_dir) + sizeof(DECOY_LOCK) + 1);
		sprintf(p, "%s/" DECOY_LOCK, api->decoy_dir);
		unlink(p);
		free(p);
		rmdir(api->decoy_dir);
		free(api->decoy_dir);
	}
	if (api->decoy_lock >= 0)
		close(api->decoy_lock);
	free(api->openapi);
	free(api);
}

struct sm_api_req *
sm_api_begin(struct sm_api *api, const char *method, const char *path,
    const char *(*get)(void *, int, const char *), void *arg)
{
	struct sm_api_req *r;

	r = sm_xcalloc(1, sizeof(*r));
	r->api = api;
	r->get = get;
	r->arg = arg;
	r->path = sm_xstrdup(path);
	r->resp.fd = -1;
	r->spool_fd = -1;
	sm_buf_init(&r->body);
	sm_buf_init(&r->resp.body);
	if (find_route(r, method) && authorize(r))
		body_open(r);
	return r;
}

int
sm_api_feed(struct sm_api_req *r, const char *data, size_t n)
{
	int k;

	if (r->ready)
		return 1;
	if (r->route->body == BODY_NONE)
		return 0;
	if (n > r->body_max - r->body_len) {
		too_large(r);
		return 1;
	}
	r->body_len += n;
	if (r->route->body == BODY_JSON) {
		sm_buf_add(&r->body, data, n);
		return 0;
	}
	if (!r->sniffing)
		return records_feed(r, data, n);
	sm_buf_add(&r->body, data, n);
	if ((k = sniff(r->body.data, r->body.len)) < 0 &&
	    r->body.len < SNIFF_MAX)
		return 0;
	return records_decide(r, k > 0);
}

void
sm_api_finish(struct sm_api_req *r)
{
	int rc;

	if (r->ready)
		return;
	if (r->route->body == BODY_RECORDS && !spool_close(r))
		return;
	if (r->route->auth == AUTH_TENANT) {
		rc = sm_db_open_cached(r->api->cfg, r->slug,
		    r->route->write ? 0 : SM_DB_READONLY, &r->db);
		/* A tenant deleted since its key was checked is no tenant. */
		if (rc != 0) {
			fail_rc(r, rc == SM_ENOENT ? SM_EPERM : rc);
			return;
		}
	}
	r->route->fn(r);
	sm_db_release(r->db);
	r->db = NULL;
	if (!r->ready) {
		fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("a handler gave no answer");
	}
}

struct sm_api_resp *
sm_api_response(struct sm_api_req *r)
{
	return r->ready ? &r->resp : NULL;
}

const char *
sm_api_tenant(const struct sm_api_req *r)
{
	return r->slug[0] != '\0' ? r->slug : NULL;
}

int
sm_api_writes(const struct sm_api_req *r)
{
	return !r->ready && r->route->auth == AUTH_TENANT && r->route->write;
}

void
sm_api_end(struct sm_api_req *r)
{
	if (r == NULL)
		return;
	if (r->spool != NULL)
		fclose(r->spool);
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	else if (r->spool_path != NULL)
		unlink(r->spool_path);
	free(r->spool_path);
	sm_db_close(r->db);
	resp_clear(&r->resp);
	sm_buf_free(&r->resp.body);
	sm_buf_free(&r->body);
	free(r->path);
	free(r);
}

int
sm_api_routes(FILE *f)
{
	size_t i;

	for (i = 0; i < NROUTES; i++)
		if (fprintf(f, "%s %s\n", routes[i].method,
		    routes[i].path) < 0)
			return sm_error(SM_EIO, "write error");
	return 0;
}
