/* See LICENSE file for copyright and license details. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/*
 * The REST API of SPEC §5.7, without the HTTP library.  The server hands
 * a request over in three steps, sm_api_begin (request line and headers),
 * sm_api_feed (each piece of the body) and sm_api_finish, and sends the
 * response it is given.  A request is refused as early as it can be:
 *
 *	step	refusal
 *	begin	404 unknown path, 405 known path and another method,
 *		401 no or bad key, 413 a Content-Length over the limit
 *	feed	413 once the bytes read pass the limit
 *	finish	400 malformed JSON (a records body that is no
 *		{"data":[...]}), 404 no such id in this tenant,
 *		409 a taken name, 422 valid JSON of the wrong content,
 *		503 tenant busy; 500 anything else
 *
 * Records are never held in memory: an import body streams into a spool
 * file as it comes, which the one reader of records (input.c) reads,
 * mapped, through sm_import_buf(); of a {"data":[...]} body it reads the
 * data array, and a rejected record is named by its position in data.
 * Long lists go to a file too, which the server sends as the response
 * body.
 */

static void h_health(struct sm_api_req *);
static void h_openapi(struct sm_api_req *);
static void h_docs(struct sm_api_req *);

#define RO 0
#define RW 1
/*
 * Writes, and may share one transaction with others of their tenant
 * that wait to write (sm_api_finish_group): an import is one run, begun
 * and ended by sm_import_buf, whose answer does not depend on when it
 * becomes durable, only that it has.
 */
#define RG 2

/* Every route the server answers; GET /openapi.json describes the same. */
static const struct route routes[] = {
	{ "GET", "/health", AUTH_NONE, BODY_NONE, RO, 0, h_health },
	{ "GET", "/openapi.json", AUTH_NONE, BODY_NONE, RO, 0, h_openapi },
	{ "GET", "/docs", AUTH_NONE, BODY_NONE, RO, 0, h_docs },
	{ "POST", "/tenants", AUTH_ADMIN, BODY_JSON, RW, 0,
	    api_tenant_create },
	{ "GET", "/sources", AUTH_TENANT, BODY_NONE, RO, SM_SOURCE,
	    api_ep_list },
	{ "POST", "/sources", AUTH_TENANT, BODY_JSON, RW, SM_SOURCE,
	    api_ep_create },
	{ "GET", "/sources/{id}", AUTH_TENANT, BODY_NONE, RO, SM_SOURCE,
	    api_ep_show },
	{ "DELETE", "/sources/{id}", AUTH_TENANT, BODY_NONE, RW, SM_SOURCE,
	    api_ep_delete },
	{ "POST", "/sources/{id}/import", AUTH_TENANT, BODY_RECORDS, RG,
	    SM_SOURCE, api_import },
	{ "GET", "/sources/{id}/properties", AUTH_TENANT, BODY_NONE, RO,
	    SM_SOURCE, api_props },
	{ "GET", "/targets", AUTH_TENANT, BODY_NONE, RO, SM_TARGET,
	    api_ep_list },
	{ "POST", "/targets", AUTH_TENANT, BODY_JSON, RW, SM_TARGET,
	    api_ep_create },
	{ "GET", "/targets/{id}", AUTH_TENANT, BODY_NONE, RO, SM_TARGET,
	    api_ep_show },
	{ "DELETE", "/targets/{id}", AUTH_TENANT, BODY_NONE, RW, SM_TARGET,
	    api_ep_delete },
	{ "GET", "/targets/{id}/properties", AUTH_TENANT, BODY_NONE, RO,
	    SM_TARGET, api_props },
	{ "PATCH", "/targets/{id}/properties/{pid}", AUTH_TENANT, BODY_JSON,
	    RW, SM_TARGET, api_patch },
	{ "POST", "/sync/{source_id}/{target_id}", AUTH_TENANT, BODY_NONE, RW,
	    0, api_sync },
	{ "POST", "/cleanup", AUTH_TENANT, BODY_NONE, RW, 0, api_cleanup },
	{ "GET", "/snapshots", AUTH_TENANT, BODY_NONE, RO, 0, api_snap_list },
	{ "GET", "/snapshots/{id}", AUTH_TENANT, BODY_NONE, RO, 0,
	    api_snap_show },
	{ "POST", "/snapshots/{id}/restore", AUTH_TENANT, BODY_NONE, RW, 0,
	    api_snap_restore },
	{ "GET", "/diff/{source_id}/{target_id}", AUTH_TENANT, BODY_NONE, RO,
	    0, api_diff },
	{ "GET", "/runs", AUTH_TENANT, BODY_NONE, RO, 0, api_runs },
	/* The conflict desk: its page, and what it alone needs. */
	{ "GET", "/", AUTH_NONE, BODY_NONE, RO, 0, api_desk_file },
	{ "GET", "/desk", AUTH_NONE, BODY_NONE, RO, 0, api_desk_file },
	{ "GET", "/desk.js", AUTH_NONE, BODY_NONE, RO, 0, api_desk_file },
	{ "GET", "/desk.css", AUTH_NONE, BODY_NONE, RO, 0, api_desk_file },
	{ "GET", "/overview", AUTH_TENANT, BODY_NONE, RO, 0, api_overview },
	{ "POST", "/targets/{id}/properties/{pid}/resolve", AUTH_TENANT,
	    BODY_JSON, RW, SM_TARGET, api_resolve },
	{ "POST", "/targets/{id}/resolve", AUTH_TENANT, BODY_JSON, RW,
	    SM_TARGET, api_resolve },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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
			if (!api_parse_id(ids[n++], NULL))
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
		api_fail(r, 404, "no such resource: %s", r->path);
		return 0;
	}
	sm_buf_init(&allow);
	for (k = 0; k < 4; k++)
		if (allowed[k])
			sm_buf_addf(&allow, "%s%s", allow.len ? ", " : "",
			    methods[k]);
	api_fail(r, 405, "method %s is not allowed on %s: use %s", method,
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
		if (tenant_auth(r, api_header(r, "X-API-Key")) != 0) {
			api_fail(r, 401, "%s", api_bad_key);
			return 0;
		}
		return 1;
	case AUTH_ADMIN:
		/*
		 * serve.open_registration: no admin key needed (the
		 * original's way, for a machine of one user); one given
		 * must still be right.
		 */
		key = api_header(r, "X-Admin-Key");
		if (r->api->cfg->serve_open_registration &&
		    (key == NULL || !r->api->admin))
			return 1;
		if (!r->api->admin) {
			api_fail(r, 401, "creating tenants over HTTP needs the "
			    "admin key (X-Admin-Key), and none is set: set "
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
			api_fail(r, 401, "invalid or missing admin key: "
			    "X-Admin-Key must be the key of "
			    "serve.admin_key_file (or set "
			    "serve.open_registration: true)");
			return 0;
		}
		return 1;
	default:
		return 1;
	}
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
	api_reply(r, 200, &b);
}

static void
h_openapi(struct sm_api_req *r)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_adds(&b, r->api->openapi);
	api_reply(r, 200, &b);
}

static void
h_docs(struct sm_api_req *r)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_adds(&b, sm_api_docs_html);
	api_reply(r, 200, &b);
	r->resp.type = "text/html; charset=utf-8";
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

/*
 * The API's words for the marks of lib messages (sm_wording_set): its
 * query parameters and body members.
 */
static const struct sm_wording api_wording[] = {
	{ "accept_manual", "accept_manual" },
	{ "allow_mass_delete", "allow_mass_delete=true" },
	{ "complete", "complete=true" },
	{ "config", "\"config\"" },
	{ "merge", "the merge patch" },
	{ "overwrite_manual", "overwrite_manual" },
	{ "restore_at", "sm-snapshot restore --at TIME" },
	{ "strict", "strict=true" },
	{ "with_slug", "in \"slug\"" },
	{ NULL, NULL }
};

int
sm_api_new(struct sm_api **out, const struct sm_config *cfg)
{
	struct sm_api *api;
	char *key = NULL, *p;
	size_t n;
	int rc;

	*out = NULL;
	sm_wording_set(api_wording);
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
	/*
	 * schema/openapi.json as served: its line breaks taken out (JSON
	 * has none inside a string: it is the same document, on one line,
	 * as before it was a file) and the version put in.
	 */
	p = api_replace(sm_api_openapi_text, "\n", "");
	api->openapi = api_replace(p, "@SM_VERSION@", SM_VERSION);
	free(p);
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
	sm_buf_init(&r->body);
	sm_buf_init(&r->resp.body);
	if (find_route(r, method) && authorize(r))
		api_body_open(r);
	return r;
}

int
sm_api_feed(struct sm_api_req *r, const char *data, size_t n)
{
	if (r->ready)
		return 1;
	if (r->route->body == BODY_NONE)
		return 0;
	return api_body_feed(r, data, n);
}

/*
 * Readies r for its handler: its body spooled, its tenant's handle open
 * in *db unless one is there already.  Returns 0, or -1 answered.
 */
static int
prepare(struct sm_api_req *r, struct sm_db **db)
{
	int rc;

	if (r->route->body == BODY_RECORDS && !api_spool_close(r))
		return -1;
	if (r->route->auth != AUTH_TENANT || *db != NULL)
		return 0;
	rc = sm_db_open_cached(r->api->cfg, r->slug, r->route->write ? 0 :
	    SM_DB_READONLY, db);
	/* A tenant deleted since its key was checked is no tenant. */
	if (rc != 0) {
		api_fail_rc(r, rc == SM_ENOENT ? SM_EPERM : rc);
		return -1;
	}
	return 0;
}

/* Runs the handler of r on db; r is answered after. */
static void
handle(struct sm_api_req *r, struct sm_db *db)
{
	r->db = db;
	r->route->fn(r);
	r->db = NULL;
	if (!r->ready) {
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("a handler gave no answer");
	}
}

void
sm_api_finish(struct sm_api_req *r)
{
	struct sm_db *db = NULL;

	if (r->ready || prepare(r, &db) != 0)
		return;
	handle(r, db);
	sm_db_release(db);
}

/*
 * The requests marked in held lost the transaction that held their work
 * (its commit failed): those that answered success answer error rc
 * instead (its message in sm_errmsg); the others failed on their own,
 * and keep their answer, as they would alone.
 */
static void
lost(struct sm_api_req **rs, const char *held, size_t n, int rc)
{
	char *msg = sm_xstrdup(sm_errmsg());
	size_t i;

	for (i = 0; i < n; i++) {
		if (!held[i] || rs[i]->resp.status / 100 != 2)
			continue;
		sm_error(rc, "%s", msg);
		api_fail_rc(rs[i], rc);
	}
	free(msg);
}

/* Runs r's handler again on db, its first answer dropped. */
static void
again(struct sm_api_req *r, struct sm_db *db)
{
	api_resp_clear(&r->resp);
	r->resp.status = 0;
	r->ready = 0;
	handle(r, db);
}

/*
 * rs[i] ended the transaction that held the work of the requests marked
 * in held (by its own failure, as a dry run, or SQLite's rollback on an
 * error): they run again, and rs[i] after them, each alone, in order,
 * so that each answers as it would have alone.  Rare, and then dear.
 */
static void
run_alone(struct sm_api_req **rs, char *held, size_t i, struct sm_db *db)
{
	size_t j;

	sm_db_rollback(db);
	sm_db_group_end(db);
	for (j = 0; j <= i; j++) {
		if (held[j] || j == i)
			again(rs[j], db);
		held[j] = 0;
	}
	sm_db_group(db);
}

/*
 * Group commit: the requests run one after the other on one handle of
 * their tenant, each import its own run in the one transaction
 * (sm_db_group), which commits once, at the end.  No savepoint keeps a
 * run apart: when one ends the transaction, those before it and it run
 * again alone (run_alone).  A commit that fails takes the success of
 * every run it held.
 */
void
sm_api_finish_group(struct sm_api_req **rs, size_t n)
{
	struct sm_db *db = NULL;
	unsigned long txn, now;
	char *held = sm_xcalloc(n, 1);
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (rs[i]->ready || prepare(rs[i], &db) != 0)
			continue;
		sm_db_group(db);
		txn = sm_db_group_txn(db);
		handle(rs[i], db);
		now = sm_db_group_txn(db);
		if (txn != 0 && now != txn)
			run_alone(rs, held, i, db);
		else
			held[i] = now != 0;
	}
	if (db != NULL) {
		if ((rc = sm_db_group_end(db)) != 0)
			lost(rs, held, n, rc);
		sm_db_release(db);
	}
	free(held);
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

int
sm_api_groups(const struct sm_api_req *r)
{
	return sm_api_writes(r) && r->route->write == RG;
}

uint64_t
sm_api_body_size(const struct sm_api_req *r)
{
	return r->body_len;
}

void
sm_api_end(struct sm_api_req *r)
{
	if (r == NULL)
		return;
	if (r->spool != NULL)
		fclose(r->spool);
	if (r->spool_map != NULL)
		munmap((void *)r->spool_map, r->spool_size);
	sm_db_close(r->db);
	api_resp_clear(&r->resp);
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
