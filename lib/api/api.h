/* See LICENSE file for copyright and license details. */
#ifndef SM_API_PRIV_H
#define SM_API_PRIV_H

/*
 * What the files of the API share, and no one else (sm-api.h is what
 * bin/ sees):
 *
 *	route.c		routing, keys, the request steps, the decoy tenant,
 *			/health, /openapi.json and /docs
 *	body.c		query arguments, request bodies: limits, JSON
 *			objects, the spool of an import and its
 *			{"data":[...]} splitter
 *	reply.c		answers, errors, lists paged
 *	tenants.c endpoints.c properties.c import.c snapshots.c runs.c
 *			the handlers, by resource
 *	serve.c		the HTTP server (libmicrohttpd) around the steps
 *	desk.c		the conflict desk: its page, GET /overview,
 *			POST .../resolve
 *	openapi.c docs.c desk-*.c	generated from schema/openapi.json
 *			and lib/www/ by make
 *
 * Include after sm.h and sm-api.h.
 */

#include <sodium.h>

/*
 * The REST API without the HTTP library (route.c).  The server hands
 * each request over in three steps, sm_api_begin (request line and
 * headers), sm_api_feed (each piece of the body, as it comes) and
 * sm_api_finish (the body is complete: the work is done), and after any
 * step at which sm_api_response() is no longer NULL it sends that
 * response and stops calling the other steps.  One struct sm_api serves
 * every thread; a request is used by one thread at a time.
 */
struct sm_api_req;

enum { SM_API_HEADER, SM_API_QUERY };	/* kinds of sm_api_begin's get */

/* What the server sends back; owned by the request. */
struct sm_api_resp {
	int status;		/* HTTP status */
	const char *type;	/* Content-Type */
	char *allow;		/* Allow of a 405, or NULL */
	int retry_after;	/* seconds, of a 503; 0: none */
	char *link;		/* Link to the next page of a list, or NULL */
	char *location;		/* Location of what a 201 created, or NULL */
	char *detail;		/* the cause of a 500, for the log only */
	const char *csp;	/* Content-Security-Policy of a page, or
				   NULL: the server's default */
	struct sm_buf body;	/* the body, when fd < 0 */
	int fd;			/* else the body is this file from offset 0; */
	uint64_t size;		/* the server may take it (then sets fd -1) */
};

/*
 * Starts a request for method and path (decoded, without the query);
 * get(arg, SM_API_HEADER or SM_API_QUERY, name) returns a header or query
 * argument, or NULL, and is called during each step.  Routing, the key
 * and a Content-Length over the limit are checked here.  Never NULL.
 */
struct sm_api_req *sm_api_begin(struct sm_api *api, const char *method,
    const char *path, const char *(*get)(void *, int, const char *),
    void *arg);
/* Takes n bytes of the body; 1 when a response is ready (stop), else 0. */
int sm_api_feed(struct sm_api_req *req, const char *data, size_t n);
/* Does the work of a request whose body is complete. */
void sm_api_finish(struct sm_api_req *req);
/* The response once decided, else NULL. */
struct sm_api_resp *sm_api_response(struct sm_api_req *req);
/* The tenant the key of the request named, or NULL (for the log). */
const char *sm_api_tenant(const struct sm_api_req *req);
/*
 * 1 when the request, not yet answered, will write to its tenant: the
 * server may run such requests of one tenant one at a time.
 */
int sm_api_writes(const struct sm_api_req *req);
/*
 * 1 when the request writes and may share one transaction with others
 * of its tenant that wait to write: sm_api_finish_group() does the work
 * of n such requests, all of one tenant, in order, as sm_api_finish() would
 * one by one, but commits once, at the end.  Each answer is what the
 * request would have answered alone, except that a request whose work
 * the transaction held answers the transaction's failure instead of
 * success; the server must send none of the answers before it returns.
 */
int sm_api_groups(const struct sm_api_req *req);
void sm_api_finish_group(struct sm_api_req **reqs, size_t n);
/* The bytes of the request's body. */
uint64_t sm_api_body_size(const struct sm_api_req *req);
/* Frees the request, its response and its temporary files. */
void sm_api_end(struct sm_api_req *req);

/* Below: the inside of the API, for its own files. */

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
	FILE *spool;		/* BODY_RECORDS: the body as it came */
	const char *spool_map;	/* the spool, mapped once the body ended */
	size_t spool_size;
	int envelope;		/* the body is {"data":[...]} (its type) */
	int sniffing;		/* its first bytes will tell */
	struct sm_db *db;
	int ready;
	struct sm_api_resp resp;
};

/* route.c */

/* The texts of GET /openapi.json and GET /docs (openapi.c, docs.c). */
extern const char sm_api_openapi_text[];
extern const char sm_api_docs_html[];
/* The desk's page, script and style sheet (desk-*.c). */
extern const char sm_api_desk_html[];
extern const char sm_api_desk_js[];
extern const char sm_api_desk_css[];

/* body.c: query arguments */

const char *api_query(struct sm_api_req *r, const char *name);
const char *api_header(struct sm_api_req *r, const char *name);
/* An id: all digits, within int64_t.  Returns 1 and *v, or 0. */
int api_parse_id(const char *s, int64_t *v);
/* The id of path segment i, parsed. */
int64_t api_id_of(struct sm_api_req *r, int i);
/*
 * A boolean argument: absent or "false"/"0" is 0, "true"/"1"/"" is 1.
 * Returns 0, or -1 with a 400 answered.
 */
int api_arg_bool(struct sm_api_req *r, const char *name, int *v);
/*
 * A number argument in [min, max]; *v untouched when absent.  Returns 1
 * when given, 0 when absent, -1 with a 400 answered.
 */
int api_arg_num(struct sm_api_req *r, const char *name, int64_t min,
    int64_t max, int64_t *v);
/* A time argument (SPEC §4 forms); *ms untouched when absent. */
int api_arg_time(struct sm_api_req *r, const char *name, int64_t *ms);

/* body.c: bodies */

/*
 * Gets ready for the body: refuses an announced size over the limit
 * and opens the spool of an import.  Returns 1, or 0 with an answer.
 */
int api_body_open(struct sm_api_req *r);
/* Takes n bytes of the body; 1 when a response is ready, else 0. */
int api_body_feed(struct sm_api_req *r, const char *data, size_t n);
/* Closes the spool at the end of the body.  Returns 1, or 0 answered. */
int api_spool_close(struct sm_api_req *r);
/*
 * The records of the spooled body: *p and *n, and whether they are one
 * JSON array (the data of {"data":[...]}, or a bare array) rather than
 * NDJSON.  Returns 0, or -1 answered (a body that is no {"data":[...]}).
 */
int api_records(struct sm_api_req *r, const char **p, size_t *n,
    int *one_array);
/*
 * The JSON body as an object: 0 with a new reference in *v, or -1 with
 * 400 (malformed) or 422 (not an object) answered.
 */
int api_body_object(struct sm_api_req *r, jv *v);
/* Answers 422 when o has a member not in names (NULL-terminated). */
int api_members_known(struct sm_api_req *r, jv o, const char *const *names);
/*
 * Member name of o as a new string in *s (NULL when absent or null).
 * Returns 0, or -1 with 422 answered.
 */
int api_member_str(struct sm_api_req *r, jv o, const char *name, char **s);
/* Member name of o, an object, as canonical JSON in *s (or NULL). */
int api_member_obj(struct sm_api_req *r, jv o, const char *name, char **s);
/* hash_ignore: an array of strings, or a string "a,b"; *list never NULL. */
int api_member_strv(struct sm_api_req *r, jv o, const char *name,
    char ***list, size_t *n);

/* reply.c: answers */

extern const char api_bad_key[];

void api_resp_clear(struct sm_api_resp *p);
/* Answers with the JSON text in b (an object line), which is taken. */
void api_reply(struct sm_api_req *r, int status, struct sm_buf *b);
/* Answers {"error":...,"detail":...} with status. */
void api_fail(struct sm_api_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answers with the error of a lib call (the cause of a 500: log only). */
void api_fail_rc(struct sm_api_req *r, int rc);
/* A file for a response body or a spool, gone from the directory. */
FILE *api_anon_file(void);
/* Makes the file f (consumed) the response body. */
void api_reply_file(struct sm_api_req *r, int status, FILE *f);
/* Replaces each "from" in s by "to"; returns a new string. */
char *api_replace(const char *s, const char *from, const char *to);

/* reply.c: lists, paged */

/*
 * A list answer being written: items with an id above after, at most
 * limit of them (all when limit < 0); more is set when one more item
 * was offered than the page holds.
 */
struct page {
	struct sm_api_req *r;
	struct sm_buf mem;	/* the answer, while it is short */
	FILE *out;		/* the answer, once it is long (or NULL) */
	char *vbuf;		/* out's buffer */
	int failed;		/* out could not be made or written */
	int64_t after, limit;
	int64_t n, last;
	int more;
};

#define PAGE_FULL 1	/* returned by walks that stop at a full page */
/*
 * A page is written in memory (a file costs five system calls and a
 * copy through the page cache for each answer) up to PAGE_MEM bytes;
 * a longer one, such as a whole list, goes on in a file.
 */
#define PAGE_MEM (1024 * 1024)
#define PAGE_BUF (64 * 1024)

/* Reads after and limit, opens the answer.  0, or -1 answered. */
int api_page_open(struct sm_api_req *r, struct page *pg);
/* Opens an answer of every item, without reading after and limit. */
void api_page_start(struct sm_api_req *r, struct page *pg);
/* Writes n bytes of the answer. */
void api_page_put(struct page *pg, const void *p, size_t n);
/* Answers what was written (200), or 500 if it could not be kept. */
void api_page_reply(struct page *pg);
/* Drops the answer (after an error answered otherwise). */
void api_page_abort(struct page *pg);
/* Offers the item id, JSON text (a trailing newline is dropped). */
int api_page_add(struct page *pg, int64_t id, const char *json, size_t len);
/* Ends the list: answers it, with a Link keeping keep, or the error rc. */
void api_page_close(struct page *pg, int rc, const char *const *keep);
/* Pages the NDJSON lines a lib call printed to raw.  Closes raw. */
int api_page_lines(struct page *pg, FILE *raw);
/* A file for the NDJSON a lib call prints; NULL with 500 answered. */
FILE *api_raw_open(struct sm_api_req *r);

/* The handlers: the tenant's database is open in r->db when they run. */

/* tenants.c */
void api_tenant_create(struct sm_api_req *);
/* endpoints.c: sources and targets alike, by the route's side */
void api_ep_list(struct sm_api_req *);
void api_ep_create(struct sm_api_req *);
void api_ep_show(struct sm_api_req *);
void api_ep_delete(struct sm_api_req *);
/* Loads the source or target of id segment i; 0, or -1 with 404. */
int api_endpoint(struct sm_api_req *r, enum sm_side side, int i,
    struct sm_endpoint *e);
/* properties.c */
void api_props(struct sm_api_req *);
/*
 * Calls api_page_add for the live properties of e after pg->after (or
 * only for property id when id > 0), ordered by id.
 */
int api_props_walk(struct sm_db *db, const struct sm_endpoint *e,
    int manual, int64_t id, struct page *pg);
/* import.c: an import, and a PATCH (an import of one merge patch) */
void api_import(struct sm_api_req *);
void api_patch(struct sm_api_req *);
/* snapshots.c */
void api_snap_list(struct sm_api_req *);
void api_snap_show(struct sm_api_req *);
void api_snap_restore(struct sm_api_req *);
/* runs.c: sync, diff, cleanup, the run log */
void api_sync(struct sm_api_req *);
void api_diff(struct sm_api_req *);
void api_cleanup(struct sm_api_req *);
void api_runs(struct sm_api_req *);
/* desk.c: the conflict desk's page and what it alone needs */
void api_desk_file(struct sm_api_req *);
void api_overview(struct sm_api_req *);
void api_resolve(struct sm_api_req *);

#endif
