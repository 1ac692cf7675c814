/* See LICENSE file for copyright and license details. */
/*
 * drv-http.c: targets of type api and cms, an HTTP JSON API reached with
 * libcurl (SPEC §5.8, §5.9).  The connection:
 *
 *	url		the collection, http:// or https://
 *	create, update, delete
 *			{"method", "path", "headers"} of each operation;
 *			path a template appended to url, of {external_id}
 *			and {FIELD} (a top-level field of the record), each
 *			URL-encoded; by default PUT url/{external_id} with
 *			the record as body, DELETE url/{external_id}
 *	headers		{"Name": "value"} sent with every request
 *	token		"${NAME}": sent as Authorization: Bearer
 *	header_file	a file of "Name: value" lines, sent with every request
 *	pull		{"path", "member", "key", "page_param",
 *			"limit_param", "limit"}: the collection read back
 *	compare		false: no GET before an update or a delete
 *	timeout, connect_timeout (seconds), max_redirects, cainfo
 *
 * A batch's operations are queued by put and del and sent by commit,
 * push.parallel at a time over kept-alive connections (the multi
 * interface); each is durable on its own, so each gets its own verdict
 * (driver.h: verdict).  An operation may take two requests:
 *
 *	update, delete	GET first (compare; of the update's URL): the
 *			record as the target holds it must hash to what
 *			was last delivered (or to a version sent and not
 *			acknowledged); anything else is a manual edit,
 *			SM_CONFLICT.  The write then carries If-Match
 *			with the GET's strong ETag: 412 is a manual edit
 *			made in between.  Gone (404): a delete is done, an
 *			update a conflict (or, after a delete sent, a
 *			create).
 *	create		GET first only when it may have been sent before
 *			(a push cut off): a POST is not idempotent.  There
 *			already: an update.
 *
 * Verdicts: 2xx delivered; 408, 425, 429 and 5xx transient (Retry-After
 * honoured), as are connection errors and timeouts; 412 a conflict; any
 * other 4xx permanent, its status and the first 200 bytes of its body the
 * reason.  A redirect is followed within the same origin only, up to
 * max_redirects: to another host it is refused, so that headers and the
 * token never go there.  Reasons name the method and the external_id,
 * never the URL (which may hold a ${NAME}) nor a header.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"

#define REASON_BYTES	200
#define BODY_MAX	(64u << 20)	/* of a page or a record read back */
#define WAIT_MAX_MS	300000L		/* the most of a Retry-After obeyed */

enum { OP_CREATE, OP_UPDATE, OP_DELETE, NOPS };
enum { S_PROBE = NOPS };		/* the GET before a write */

static void drv_close(void *d);

static const char *const op_names[NOPS] = { "create", "update", "delete" };
static const char *const op_default_method[NOPS] = { "PUT", "PUT",
    "DELETE" };

struct op {
	char *method;
	char *path;		/* template */
	struct curl_slist *headers;	/* the base ones and its own */
};

/* One transfer's answer. */
struct xfer {
	struct sm_buf body;
	size_t body_max;
	char *etag;
	char *next;		/* Link: rel="next" */
	long wait_ms;		/* Retry-After */
	int truncated;
};

/* One record's operation, copied out of the batch. */
struct req {
	char *id, *data, *hash, *expect, *sent;
	size_t len;
	int action;		/* OP_*: the change */
	int sending;		/* OP_* or S_PROBE: the request in flight */
	int probed;
	int redirects;
	char *url;		/* of the request in flight */
	char *if_match;
	struct curl_slist *own;	/* headers with If-Match */
	struct xfer x;
	int verdict;
	long wait_ms;
	char *why;
};

struct http {
	const char *target;
	char *url;
	struct op ops[NOPS];
	struct curl_slist *base;	/* every request's headers */
	char *pull_path, *pull_member, *pull_key;
	char *page_param, *limit_param;
	long limit;
	int compare;
	long timeout_ms, connect_timeout_ms, max_redirects;
	char *cainfo;
	char **ignore;
	size_t nignore;
	CURLM *multi;
	CURL **pool;
	size_t npool;
	struct req *v;
	size_t n, cap;
	struct sm_buf tmp;
};

static int
config_error(const struct sm_conn *c, const char *key, const char *what)
{
	return sm_error(SM_ECONFIG, "target '%s': '%s' %s", c->target, key,
	    what);
}

/* The config's key, null when it has none. */
static jv
get(const struct sm_conn *c, const char *key)
{
	jv v = jv_object_get(jv_copy(c->config), jv_string(key));

	if (jv_is_valid(v))
		return v;
	jv_free(v);
	return jv_null();
}

static int
token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isupper((unsigned char)*s))
			return 0;
	return 1;
}

static int
header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

/* No line end in a header value: it would start a header of its own. */
static int
value_ok(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

/*
 * l with the header line (Name: value) set: one of the same name before
 * it is dropped, so that a configured Content-Type replaces sm's.
 */
static struct curl_slist *
set_header(struct curl_slist *l, const char *line)
{
	struct curl_slist *r = NULL, *p;
	size_t n = strcspn(line, ":");

	for (p = l; p != NULL; p = p->next)
		if (strncasecmp(p->data, line, n) != 0 || p->data[n] != ':')
			r = curl_slist_append(r, p->data);
	curl_slist_free_all(l);
	return curl_slist_append(r, line);
}

/* The headers object v (of key; consumed): checked, set in *l. */
static int
headers_of(const struct sm_conn *c, const char *key, jv v,
    struct curl_slist **l, struct sm_buf *b)
{
	int it, rc = 0;

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return config_error(c, key, "must be an object of header "
		    "names and values");
	}
	for (it = jv_object_iter(v); rc == 0 && jv_object_iter_valid(v, it);
	    it = jv_object_iter_next(v, it)) {
		jv k = jv_object_iter_key(v, it);
		jv x = jv_object_iter_value(v, it);

		if (!header_name_ok(jv_string_value(k)) ||
		    jv_get_kind(x) != JV_KIND_STRING ||
		    !value_ok(jv_string_value(x)))
			rc = sm_error(SM_ECONFIG, "target '%s': '%s': header "
			    "'%s' needs a name of letters, digits and '-' "
			    "and a string value of one line", c->target, key,
			    jv_string_value(k));
		else if (l != NULL) {
			sm_buf_reset(b);
			sm_buf_addf(b, "%s: %s", jv_string_value(k),
			    jv_string_value(x));
			*l = set_header(*l, b->data);
		}
		jv_free(k);
		jv_free(x);
	}
	jv_free(v);
	return rc;
}

/* A non-negative integer option (seconds or a count), or def. */
static int
number(const struct sm_conn *c, const char *key, long def, long max,
    long *out)
{
	jv v = get(c, key);
	double d;

	*out = def;
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER || (d = jv_number_value(v)) < 0 ||
	    d > (double)max || d != (double)(long)d) {
		jv_free(v);
		return sm_error(SM_ECONFIG, "target '%s': '%s' must be a "
		    "whole number from 0 to %ld", c->target, key, max);
	}
	*out = (long)d;
	jv_free(v);
	return 0;
}

static const char *const op_keys[] = { "method", "path", "headers", NULL };
static const char *const pull_keys[] = { "path", "member", "key",
    "page_param", "limit_param", "limit", NULL };

static int
in(const char *const *v, const char *s)
{
	for (; *v != NULL; v++)
		if (strcmp(*v, s) == 0)
			return 1;
	return 0;
}

/* An object of key with only the keys of allowed, strings but headers. */
static int
object_of(const struct sm_conn *c, const char *key, jv v,
    const char *const *allowed)
{
	int it, rc = 0;

	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return config_error(c, key, "must be an object");
	for (it = jv_object_iter(v); rc == 0 && jv_object_iter_valid(v, it);
	    it = jv_object_iter_next(v, it)) {
		jv k = jv_object_iter_key(v, it);
		jv x = jv_object_iter_value(v, it);
		const char *ks = jv_string_value(k);

		if (!in(allowed, ks))
			rc = sm_error(SM_ECONFIG, "target '%s': unknown key "
			    "'%s' in '%s'", c->target, ks, key);
		else if (strcmp(ks, "headers") == 0)
			rc = headers_of(c, key, jv_copy(x), NULL, NULL);
		else if (strcmp(ks, "limit") == 0 ? jv_get_kind(x) !=
		    JV_KIND_NUMBER : jv_get_kind(x) != JV_KIND_STRING)
			rc = sm_error(SM_ECONFIG, "target '%s': '%s.%s' must "
			    "be a %s", c->target, key, ks, strcmp(ks,
			    "limit") == 0 ? "number" : "string");
		else if (strcmp(ks, "method") == 0 &&
		    !token_ok(jv_string_value(x)))
			rc = sm_error(SM_ECONFIG, "target '%s': '%s.method' "
			    "must be an HTTP method in capitals (PUT, POST, "
			    "PATCH, ...)", c->target, key);
		else if (strcmp(ks, "path") == 0 && *jv_string_value(x) !=
		    '\0' && *jv_string_value(x) != '/' &&
		    *jv_string_value(x) != '?')
			rc = sm_error(SM_ECONFIG, "target '%s': '%s.path' "
			    "must be empty or begin with '/' or '?'",
			    c->target, key);
		jv_free(k);
		jv_free(x);
	}
	jv_free(v);
	return rc;
}

/* The url: http or https, a host, no user:password. */
static int
url_ok(const struct sm_conn *c, const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *pw = NULL;
	int rc = 0;

	/* ${NAME} is expanded at use: checked then. */
	if (strstr(url, "${") != NULL)
		return 0;
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		rc = sm_error(SM_ECONFIG, "target '%s': invalid 'url' '%s': "
		    "expected http://HOST/PATH or https://HOST/PATH",
		    c->target, url);
	else if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
		rc = sm_error(SM_ECONFIG, "target '%s': 'url' holds a "
		    "password: give a token (\"token\": \"${NAME}\") or "
		    "headers instead", c->target);
	curl_free(scheme);
	curl_free(host);
	curl_free(pw);
	curl_url_cleanup(u);
	return rc;
}

static int
check(const struct sm_conn *c)
{
	const char *url = sm_conn_str(c, "url");
	jv v;
	long n;
	int i, rc;

	if (url == NULL)
		return config_error(c, "url", "must be a string");
	if ((rc = url_ok(c, url)) != 0)
		return rc;
	for (i = 0; i < NOPS; i++) {
		v = get(c, op_names[i]);
		if (jv_get_kind(v) == JV_KIND_NULL)
			jv_free(v);
		else if ((rc = object_of(c, op_names[i], v, op_keys)) != 0)
			return rc;
	}
	v = get(c, "pull");
	if (jv_get_kind(v) == JV_KIND_NULL)
		jv_free(v);
	else if ((rc = object_of(c, "pull", v, pull_keys)) != 0)
		return rc;
	v = get(c, "headers");
	if (jv_get_kind(v) != JV_KIND_NULL &&
	    (rc = headers_of(c, "headers", jv_copy(v), NULL, NULL)) != 0) {
		jv_free(v);
		return rc;
	}
	jv_free(v);
	v = get(c, "compare");
	if (jv_get_kind(v) != JV_KIND_NULL && jv_get_kind(v) != JV_KIND_TRUE &&
	    jv_get_kind(v) != JV_KIND_FALSE)
		rc = config_error(c, "compare", "must be true or false");
	jv_free(v);
	if (rc == 0)
		rc = number(c, "timeout", 30, 86400, &n);
	if (rc == 0)
		rc = number(c, "connect_timeout", 10, 3600, &n);
	if (rc == 0)
		rc = number(c, "max_redirects", 3, 20, &n);
	v = get(c, "cainfo");
	if (rc == 0 && jv_get_kind(v) != JV_KIND_NULL &&
	    jv_get_kind(v) != JV_KIND_STRING)
		rc = config_error(c, "cainfo", "must be a file name");
	jv_free(v);
	return rc;
}

/* The string key of object obj, or def: a copy. */
static char *
str_in(jv obj, const char *key, const char *def)
{
	jv v = jv_get_kind(obj) == JV_KIND_OBJECT ?
	    jv_object_get(jv_copy(obj), jv_string(key)) : jv_null();
	/* A missing key is invalid: its kind is neither. */
	char *s = jv_get_kind(v) == JV_KIND_STRING ?
	    sm_xstrdup(jv_string_value(v)) : def != NULL ? sm_xstrdup(def) :
	    NULL;

	jv_free(v);
	return s;
}

static struct curl_slist *
copy_list(const struct curl_slist *l)
{
	struct curl_slist *r = NULL;

	for (; l != NULL; l = l->next)
		r = curl_slist_append(r, l->data);
	return r;
}

/* header_file's lines (read by conn.c into "header") onto *l. */
static int
header_lines(const struct sm_conn *c, struct curl_slist **l)
{
	const char *s = sm_conn_str(c, "header"), *e, *colon;
	char *line;

	for (; s != NULL && *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		e = s + strcspn(s, "\n");
		line = sm_xstrndup(s, (size_t)(e - s));
		if (*line != '\0' && line[strlen(line) - 1] == '\r')
			line[strlen(line) - 1] = '\0';
		colon = strchr(line, ':');
		if (*line == '\0' || *line == '#') {
			free(line);
			continue;
		}
		if (colon == NULL || colon == line) {
			free(line);
			return sm_error(SM_ECONFIG, "target '%s': header_file: "
			    "a line is not \"Name: value\"", c->target);
		}
		*l = set_header(*l, line);
		free(line);
	}
	return 0;
}

static void
xfer_reset(struct xfer *x, size_t max)
{
	sm_buf_reset(&x->body);
	x->body_max = max;
	free(x->etag);
	free(x->next);
	x->etag = x->next = NULL;
	x->wait_ms = 0;
	x->truncated = 0;
}

static void
xfer_free(struct xfer *x)
{
	sm_buf_free(&x->body);
	free(x->etag);
	free(x->next);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, keep = len;

	if (x->body.len + keep > x->body_max) {
		keep = x->body_max > x->body.len ? x->body_max - x->body.len : 0;
		x->truncated = 1;
	}
	sm_buf_add(&x->body, p, keep);
	return len;
}

/* The value of header name in the line p (n bytes), trimmed, or NULL. */
static char *
header_value(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
		return NULL;
	p += k + 1;
	n -= k + 1;
	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	return sm_xstrndup(p, n);
}

/* Whether the n bytes at p hold s. */
static int
holds(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (; n >= k; p++, n--)
		if (memcmp(p, s, k) == 0)
			return 1;
	return 0;
}

/* The URL of rel="next" in a Link header's value, or NULL. */
static char *
link_next(const char *v)
{
	const char *lt, *gt, *end;

	for (; (lt = strchr(v, '<')) != NULL; v = end) {
		if ((gt = strchr(lt, '>')) == NULL)
			return NULL;
		end = gt + strcspn(gt, ",");
		if (holds(gt, (size_t)(end - gt), "rel=\"next\"") ||
		    holds(gt, (size_t)(end - gt), "rel=next"))
			return sm_xstrndup(lt + 1, (size_t)(gt - lt - 1));
		if (*end == '\0')
			break;
	}
	return NULL;
}

/* Retry-After: seconds or an HTTP date, in milliseconds from now. */
static long
retry_after(const char *v)
{
	time_t t, now = time(NULL);
	char *end;
	long s;

	s = strtol(v, &end, 10);
	if (end != v && *end == '\0' && s >= 0)
		return s > WAIT_MAX_MS / 1000 ? WAIT_MAX_MS : s * 1000;
	if ((t = curl_getdate(v, NULL)) < 0 || t <= now)
		return 0;
	return t - now > WAIT_MAX_MS / 1000 ? WAIT_MAX_MS :
	    (long)(t - now) * 1000;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	char *v;

	/* A new answer (after a 100 Continue, a redirect): its own. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		free(x->etag);
		free(x->next);
		x->etag = x->next = NULL;
		x->wait_ms = 0;
	} else if ((v = header_value(p, len, "ETag")) != NULL) {
		free(x->etag);
		x->etag = v;
	} else if ((v = header_value(p, len, "Retry-After")) != NULL) {
		x->wait_ms = retry_after(v);
		free(v);
	} else if ((v = header_value(p, len, "Link")) != NULL) {
		free(x->next);
		x->next = link_next(v);
		free(v);
	}
	return len;
}

static int
drv_open(void **dp, const struct sm_conn *c, struct sm_buf *why)
{
	struct http *h;
	struct curl_slist *base = NULL;
	jv v, pull;
	const char *token;
	size_t i;
	int rc;

	(void)why;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return sm_error(SM_EIO, "cannot initialise libcurl");
	h = sm_xcalloc(1, sizeof(*h));
	sm_buf_init(&h->tmp);
	h->target = c->target;
	h->url = sm_xstrdup(sm_conn_str(c, "url"));
	while (*h->url != '\0' && h->url[strlen(h->url) - 1] == '/')
		h->url[strlen(h->url) - 1] = '\0';
	if ((rc = url_ok(c, h->url)) != 0)
		goto fail;
	base = curl_slist_append(base, "Content-Type: application/json");
	base = curl_slist_append(base, "Accept: application/json");
	base = curl_slist_append(base, "Expect:");
	if ((token = sm_conn_str(c, "token")) != NULL) {
		if (!value_ok(token) || *token == '\0') {
			rc = config_error(c, "token", "must be one line, not "
			    "empty");
			goto fail;
		}
		sm_buf_reset(&h->tmp);
		sm_buf_addf(&h->tmp, "Authorization: Bearer %s", token);
		base = set_header(base, h->tmp.data);
	}
	v = get(c, "headers");
	rc = jv_get_kind(v) == JV_KIND_NULL ? 0 : headers_of(c, "headers",
	    jv_copy(v), &base, &h->tmp);
	jv_free(v);
	if (rc != 0 || (rc = header_lines(c, &base)) != 0)
		goto fail;
	h->base = base;
	base = NULL;
	for (i = 0; i < NOPS; i++) {
		v = get(c, op_names[i]);
		h->ops[i].method = str_in(v, "method", op_default_method[i]);
		h->ops[i].path = str_in(v, "path", "/{external_id}");
		h->ops[i].headers = copy_list(h->base);
		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			jv hv = jv_object_get(jv_copy(v), jv_string("headers"));

			rc = !jv_is_valid(hv) || jv_get_kind(hv) ==
			    JV_KIND_NULL ? 0 :
			    headers_of(c, op_names[i], jv_copy(hv),
			    &h->ops[i].headers, &h->tmp);
			jv_free(hv);
		}
		jv_free(v);
		if (rc != 0)
			goto fail;
	}
	pull = get(c, "pull");
	h->pull_path = str_in(pull, "path", "");
	h->pull_member = str_in(pull, "member", NULL);
	h->pull_key = str_in(pull, "key", NULL);
	h->page_param = str_in(pull, "page_param", NULL);
	h->limit_param = str_in(pull, "limit_param", NULL);
	v = jv_get_kind(pull) == JV_KIND_OBJECT ? jv_object_get(jv_copy(pull),
	    jv_string("limit")) : jv_null();
	h->limit = jv_get_kind(v) == JV_KIND_NUMBER ?
	    (long)jv_number_value(v) : 100;
	jv_free(v);
	jv_free(pull);
	v = get(c, "compare");
	h->compare = jv_get_kind(v) != JV_KIND_FALSE;
	jv_free(v);
	if ((rc = number(c, "timeout", 30, 86400, &h->timeout_ms)) != 0 ||
	    (rc = number(c, "connect_timeout", 10, 3600,
	    &h->connect_timeout_ms)) != 0 ||
	    (rc = number(c, "max_redirects", 3, 20, &h->max_redirects)) != 0)
		goto fail;
	h->timeout_ms *= 1000;
	h->connect_timeout_ms *= 1000;
	h->cainfo = sm_conn_str(c, "cainfo") != NULL ?
	    sm_xstrdup(sm_conn_str(c, "cainfo")) : NULL;
	h->ignore = sm_xcalloc(c->nignore + 1, sizeof(*h->ignore));
	for (i = 0; i < c->nignore; i++)
		h->ignore[i] = sm_xstrdup(c->ignore[i]);
	h->nignore = c->nignore;
	h->npool = c->parallel > 0 ? (size_t)c->parallel : 4;
	h->pool = sm_xcalloc(h->npool, sizeof(*h->pool));
	if ((h->multi = curl_multi_init()) == NULL) {
		rc = sm_error(SM_EIO, "cannot initialise libcurl");
		goto fail;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)h->npool);
	for (i = 0; i < h->npool; i++)
		if ((h->pool[i] = curl_easy_init()) == NULL) {
			rc = sm_error(SM_EIO, "cannot initialise libcurl");
			goto fail;
		}
	*dp = h;
	return 0;
fail:
	curl_slist_free_all(base);
	*dp = h;
	drv_close(h);
	*dp = NULL;
	return rc;
}

/* h->url and the template path of op for r, in *url: 0 or SM_PERMANENT. */
static int
url_for(struct http *h, const char *path, const struct req *r, char **url,
    struct sm_buf *why)
{
	struct sm_buf b;
	const char *p, *e;
	char *name, *esc;
	jv rec = jv_invalid(), v;
	struct sm_json_err err;
	int rc = 0;

	sm_buf_init(&b);
	sm_buf_adds(&b, h->url);
	for (p = path; rc == 0 && *p != '\0'; p = e + 1) {
		if (*p != '{' || (e = strchr(p, '}')) == NULL) {
			e = p;
			sm_buf_addc(&b, *p);
			continue;
		}
		name = sm_xstrndup(p + 1, (size_t)(e - p - 1));
		v = jv_invalid();
		if (strcmp(name, "external_id") == 0)
			v = jv_string(r->id);
		else if (r->data != NULL) {
			if (!jv_is_valid(rec) && sm_json_parse(r->data, r->len,
			    &rec, &err) != 0)
				rec = jv_null();
			if (jv_get_kind(rec) == JV_KIND_OBJECT)
				v = jv_object_get(jv_copy(rec),
				    jv_string(name));
		}
		if (jv_get_kind(v) == JV_KIND_NUMBER) {
			char num[SM_NUM_MAX];

			sm_num_format(jv_number_value(v), num);
			jv_free(v);
			v = jv_string(num);
		}
		if (jv_get_kind(v) != JV_KIND_STRING) {
			sm_buf_reset(why);
			sm_buf_addf(why, "the path of %s needs {%s}: the "
			    "record has no such string or number",
			    op_names[r->sending == S_PROBE ? OP_UPDATE :
			    r->sending], name);
			rc = SM_PERMANENT;
		} else {
			esc = curl_easy_escape(NULL, jv_string_value(v),
			    jv_string_length_bytes(jv_copy(v)));
			sm_buf_adds(&b, esc);
			curl_free(esc);
		}
		jv_free(v);
		free(name);
	}
	jv_free(rec);
	if (rc == 0)
		*url = sm_xstrdup(b.data);
	sm_buf_free(&b);
	return rc;
}

/* 1 when u is of the origin (scheme, host, port) of base. */
static int
same_origin(const char *base, const char *u)
{
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST,
	    CURLUPART_PORT };
	CURLU *a = curl_url(), *b = curl_url();
	char *x, *y;
	size_t i;
	int same = curl_url_set(a, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(b, CURLUPART_URL, u, 0) == CURLUE_OK;

	for (i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
		x = y = NULL;
		curl_url_get(a, parts[i], &x, CURLU_DEFAULT_PORT);
		curl_url_get(b, parts[i], &y, CURLU_DEFAULT_PORT);
		same = x != NULL && y != NULL && strcasecmp(x, y) == 0;
		curl_free(x);
		curl_free(y);
	}
	curl_url_cleanup(a);
	curl_url_cleanup(b);
	return same;
}

/* The options of one request on e. */
static void
setup(struct http *h, CURL *e, const char *method, const char *url,
    const char *body, size_t len, const struct curl_slist *headers,
    struct xfer *x, void *priv)
{
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sm-push/1");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (h->cainfo != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cainfo);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, priv);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		}
	}
}

/*
 * The verdict of an answer that is not a redirect: 0 (2xx), or a
 * verdict with its reason in why, naming what (the method and the id).
 */
static int
verdict_of(const struct xfer *x, CURLcode cc, long status, const char *what,
    struct sm_buf *why)
{
	size_t i, n;

	sm_buf_reset(why);
	if (cc != CURLE_OK) {
		sm_buf_addf(why, "%s: %s", what, curl_easy_strerror(cc));
		return SM_TRANSIENT;
	}
	if (status >= 200 && status < 300)
		return 0;
	sm_buf_addf(why, "%s: HTTP %ld", what, status);
	n = x->body.len < REASON_BYTES ? x->body.len : REASON_BYTES;
	if (n > 0)
		sm_buf_adds(why, ": ");
	/* The server's words, on one line. */
	for (i = 0; i < n; i++)
		sm_buf_addc(why, (unsigned char)x->body.data[i] < 0x20 ? ' ' :
		    x->body.data[i]);
	if (status == 412)
		return SM_CONFLICT;
	if (status == 408 || status == 425 || status == 429 || status >= 500)
		return SM_TRANSIENT;
	return SM_PERMANENT;
}

static void
req_free(struct req *r)
{
	free(r->id);
	free(r->data);
	free(r->hash);
	free(r->expect);
	free(r->sent);
	free(r->url);
	free(r->if_match);
	curl_slist_free_all(r->own);
	xfer_free(&r->x);
	free(r->why);
	memset(r, 0, sizeof(*r));
}

static void
clear(struct http *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		req_free(&h->v[i]);
	h->n = 0;
}

static int
drv_begin(void *d, struct sm_buf *why)
{
	(void)why;
	clear(d);
	return 0;
}

static int
queue(struct http *h, const struct sm_drec *r, int action)
{
	struct req *q;

	if (h->n == h->cap)
		h->v = sm_xrealloc(h->v, (h->cap = h->cap ? 2 * h->cap : 64) *
		    sizeof(*h->v));
	q = &h->v[h->n++];
	memset(q, 0, sizeof(*q));
	sm_buf_init(&q->x.body);
	q->id = sm_xstrdup(r->external_id);
	if (r->data != NULL) {
		q->data = sm_xstrndup(r->data, r->len);
		q->len = r->len;
	}
	q->hash = r->hash != NULL ? sm_xstrdup(r->hash) : NULL;
	q->expect = r->expect != NULL ? sm_xstrdup(r->expect) : NULL;
	q->sent = r->sent != NULL ? sm_xstrdup(r->sent) : NULL;
	q->action = action;
	q->verdict = -1;
	return 0;
}

static int
drv_put(void *d, const struct sm_drec *r, struct sm_buf *why)
{
	(void)why;
	return queue(d, r, r->expect != NULL || (r->action != NULL &&
	    strcmp(r->action, "update") == 0) ? OP_UPDATE : OP_CREATE);
}

static int
drv_del(void *d, const struct sm_drec *r, struct sm_buf *why)
{
	(void)why;
	return queue(d, r, OP_DELETE);
}

static void
settle(struct req *r, int verdict, const char *why)
{
	r->verdict = verdict;
	free(r->why);
	r->why = why != NULL ? sm_xstrdup(why) : NULL;
}

/*
 * Starts the next request of r on e: its probe or its write.  0, or the
 * request could not be made (r settled).
 */
static int
start(struct http *h, struct req *r, CURL *e)
{
	const struct op *o;
	const struct curl_slist *hdrs;
	int probe, rc;

	probe = !r->probed && ((r->action == OP_CREATE && r->sent != NULL) ||
	    (r->action != OP_CREATE && r->expect != NULL && h->compare));
	if (r->url == NULL || r->redirects == 0) {
		free(r->url);
		r->url = NULL;
		r->sending = probe ? S_PROBE : r->action;
		o = &h->ops[probe ? OP_UPDATE : r->action];
		/* The record is read where it is updated. */
		if ((rc = url_for(h, o->path, r, &r->url, &h->tmp)) != 0) {
			settle(r, rc, h->tmp.data);
			return rc;
		}
	}
	xfer_reset(&r->x, r->sending == S_PROBE ? BODY_MAX : 4096);
	if (r->sending == S_PROBE) {
		setup(h, e, "GET", r->url, NULL, 0, h->base, &r->x, r);
		return 0;
	}
	o = &h->ops[r->sending];
	hdrs = o->headers;
	if (r->if_match != NULL) {
		curl_slist_free_all(r->own);
		r->own = copy_list(o->headers);
		sm_buf_reset(&h->tmp);
		sm_buf_addf(&h->tmp, "If-Match: %s", r->if_match);
		r->own = set_header(r->own, h->tmp.data);
		hdrs = r->own;
	}
	setup(h, e, o->method, r->url, r->sending == OP_DELETE ? NULL :
	    r->data, r->len, hdrs, &r->x, r);
	return 0;
}

/* sm's hash of the record the probe read, in hash: 0, or -1. */
static int
held_hash(struct http *h, const struct xfer *x, char hash[SM_HASH_HEX])
{
	struct sm_json_err err;
	struct sm_buf data;
	jv rec;
	int rc;

	if (x->truncated || sm_json_parse(x->body.data != NULL ? x->body.data :
	    "", x->body.len, &rec, &err) != 0)
		return -1;
	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		jv_free(rec);
		return -1;
	}
	sm_buf_init(&data);
	rc = sm_rec_digest(rec, (const char *const *)h->ignore, h->nignore,
	    &data, hash);
	sm_buf_free(&data);
	jv_free(rec);
	return rc == 0 ? 0 : -1;
}

/*
 * What the probe of r found decides its write: 1 to send it now, 0 when
 * r is settled.
 */
static int
after_probe(struct http *h, struct req *r, CURLcode cc, long status)
{
	char hash[SM_HASH_HEX], what[64];
	int known, v;

	r->probed = 1;
	snprintf(what, sizeof(what), "GET %.59s", r->id);
	if (cc == CURLE_OK && (status == 404 || status == 410)) {
		if (r->action == OP_DELETE) {
			settle(r, 0, NULL);	/* gone already */
			return 0;
		}
		if (r->action == OP_UPDATE && sm_sent_has(r->sent, "-")) {
			r->action = OP_CREATE;	/* a delete sent had landed */
			return 1;
		}
		if (r->action == OP_UPDATE) {
			sm_buf_reset(&h->tmp);
			sm_buf_addf(&h->tmp, "'%s' was deleted on the target "
			    "since sm delivered it", r->id);
			settle(r, SM_CONFLICT, h->tmp.data);
			return 0;
		}
		return 1;		/* a create not sent after all */
	}
	if ((v = verdict_of(&r->x, cc, status, what, &h->tmp)) != 0) {
		/* A 412 to a GET is no edit: the server's fault. */
		settle(r, v == SM_CONFLICT ? SM_PERMANENT : v, h->tmp.data);
		r->wait_ms = r->x.wait_ms;
		return 0;
	}
	known = held_hash(h, &r->x, hash) == 0;
	if (known && r->hash != NULL && strcmp(hash, r->hash) == 0) {
		settle(r, 0, NULL);	/* holds the new version already */
		return 0;
	}
	if (r->action == OP_CREATE) {
		r->action = OP_UPDATE;	/* there, though never delivered */
		return 1;
	}
	if (!known || ((r->expect == NULL || strcmp(hash, r->expect) != 0) &&
	    !sm_sent_has(r->sent, hash))) {
		sm_buf_reset(&h->tmp);
		sm_buf_addf(&h->tmp, "'%s' was changed on the target since "
		    "sm delivered it", r->id);
		settle(r, SM_CONFLICT, h->tmp.data);
		return 0;
	}
	/* A weak ETag never matches If-Match (RFC 9110 13.1.1). */
	free(r->if_match);
	r->if_match = r->x.etag != NULL && strncmp(r->x.etag, "W/", 2) != 0 ?
	    sm_xstrdup(r->x.etag) : NULL;
	return 1;
}

/*
 * The answer to r's request: 1 when r has another request to make (a
 * write after its probe, a redirect, a create after all), 0 settled.
 */
static int
answered(struct http *h, struct req *r, CURL *e, CURLcode cc)
{
	long status = 0;
	char *loc = NULL, what[64];
	const char *method;
	int v;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	method = r->sending == S_PROBE ? "GET" : h->ops[r->sending].method;
	if (cc == CURLE_OK && (status == 301 || status == 302 ||
	    status == 307 || status == 308)) {
		curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &loc);
		sm_buf_reset(&h->tmp);
		if (loc == NULL)
			sm_buf_addf(&h->tmp, "%s %s: HTTP %ld without a "
			    "Location", method, r->id, status);
		else if (!same_origin(h->url, loc))
			sm_buf_addf(&h->tmp, "%s %s: a redirect to another "
			    "host, refused (its headers are not sent there)",
			    method, r->id);
		else if (r->redirects >= h->max_redirects)
			sm_buf_addf(&h->tmp, "%s %s: more than %ld redirects",
			    method, r->id, h->max_redirects);
		else {
			free(r->url);
			r->url = sm_xstrdup(loc);
			r->redirects++;
			return 1;
		}
		settle(r, SM_PERMANENT, h->tmp.data);
		return 0;
	}
	r->redirects = 0;
	if (r->sending == S_PROBE)
		return after_probe(h, r, cc, status);
	if (cc == CURLE_OK && r->sending == OP_DELETE && (status == 404 ||
	    status == 410)) {
		settle(r, 0, NULL);	/* gone: what a delete wants */
		return 0;
	}
	if (cc == CURLE_OK && r->sending == OP_UPDATE && (r->expect == NULL ||
	    sm_sent_has(r->sent, "-")) && (status == 404 || status == 410)) {
		/* --overwrite-manual of a deleted one, or a delete landed */
		r->action = OP_CREATE;
		r->probed = 1;
		return 1;
	}
	if (cc == CURLE_OK && r->sending == OP_CREATE && status == 409) {
		r->action = OP_UPDATE;	/* there already */
		r->probed = 1;
		return 1;
	}
	if (cc == CURLE_OK && r->sending == OP_UPDATE && r->expect != NULL &&
	    (status == 404 || status == 410)) {
		sm_buf_reset(&h->tmp);
		sm_buf_addf(&h->tmp, "'%s' was deleted on the target since "
		    "sm delivered it", r->id);
		settle(r, SM_CONFLICT, h->tmp.data);
		return 0;
	}
	snprintf(what, sizeof(what), "%.16s %.40s", method, r->id);
	v = verdict_of(&r->x, cc, status, what, &h->tmp);
	settle(r, v, v != 0 ? h->tmp.data : NULL);
	r->wait_ms = r->x.wait_ms;
	return 0;
}

/*
 * Sends the batch's requests, npool at a time, until each is settled.
 * Interrupted, the ones not settled are transient (sent again later).
 */
static int
drv_commit(void *d, struct sm_buf *why)
{
	struct http *h = d;
	size_t *ready, nready = 0, next = 0, active = 0, i, k;
	CURL **idle;
	size_t nidle = h->npool;
	CURLMsg *m;
	int left, running;

	(void)why;
	ready = sm_xcalloc(h->n + 1, sizeof(*ready));
	idle = sm_xcalloc(h->npool, sizeof(*idle));
	for (i = 0; i < h->npool; i++)
		idle[i] = h->pool[i];
	while (active > 0 || nready > 0 || next < h->n) {
		if (sm_interrupted())
			break;
		while (nidle > 0 && (nready > 0 || next < h->n)) {
			struct req *r = &h->v[nready > 0 ? ready[--nready] :
			    next++];
			CURL *e = idle[nidle - 1];

			if (start(h, r, e) != 0)
				continue;
			nidle--;
			curl_multi_add_handle(h->multi, e);
			active++;
		}
		curl_multi_perform(h->multi, &running);
		while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
			struct req *r;
			CURL *e = m->easy_handle;
			CURLcode cc = m->data.result;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
			curl_multi_remove_handle(h->multi, e);
			idle[nidle++] = e;
			active--;
			if (answered(h, r, e, cc))
				ready[nready++] = (size_t)(r - h->v);
		}
		/* Wait only when nothing more can start now. */
		if (active > 0 && (nidle == 0 || (nready == 0 &&
		    next >= h->n)))
			curl_multi_poll(h->multi, NULL, 0, 200, NULL);
	}
	/* Cut off by a signal: what is in flight is dropped, unsettled. */
	for (k = 0; k < h->npool; k++)
		curl_multi_remove_handle(h->multi, h->pool[k]);
	for (i = 0; i < h->n; i++)
		if (h->v[i].verdict < 0)
			settle(&h->v[i], SM_TRANSIENT, "interrupted");
	free(ready);
	free(idle);
	return 0;
}

static int
drv_verdict(void *d, size_t i, long *wait_ms, struct sm_buf *why)
{
	struct http *h = d;
	struct req *r;

	if (i >= h->n)
		return SM_TRANSIENT;
	r = &h->v[i];
	sm_buf_reset(why);
	if (r->why != NULL)
		sm_buf_adds(why, r->why);
	if (wait_ms != NULL)
		*wait_ms = r->wait_ms;
	return r->verdict;
}

static void
drv_rollback(void *d)
{
	clear(d);
}

/* The page's records (an array, or the array of member) passed to fn. */
static int
each_record(struct http *h, jv page, size_t *count,
    int (*fn)(const struct sm_drec *r, void *arg), void *arg)
{
	struct sm_drec r;
	struct sm_buf key;
	jv arr = jv_copy(page), item, text;
	int i, n, rc = 0;

	if (jv_get_kind(arr) == JV_KIND_OBJECT) {
		jv m = jv_object_get(jv_copy(arr), jv_string(h->pull_member ?
		    h->pull_member : "data"));

		if (h->pull_member == NULL && jv_get_kind(m) != JV_KIND_ARRAY) {
			jv_free(m);
			m = jv_object_get(jv_copy(arr), jv_string("items"));
		}
		jv_free(arr);
		arr = m;
	}
	if (jv_get_kind(arr) != JV_KIND_ARRAY) {
		jv_free(arr);
		return -1;
	}
	sm_buf_init(&key);
	n = jv_array_length(jv_copy(arr));
	for (i = 0; rc == 0 && i < n; i++) {
		item = jv_array_get(jv_copy(arr), i);
		memset(&r, 0, sizeof(r));
		(*count)++;
		if (jv_get_kind(item) != JV_KIND_OBJECT || sm_rec_key(item,
		    h->pull_key, &key) != 0) {
			sm_buf_reset(&key);
			sm_buf_addf(&key, "item %zu", *count);
			r.external_id = key.data;
			r.error = jv_get_kind(item) != JV_KIND_OBJECT ?
			    "not a JSON object" : "no usable key";
			rc = fn(&r, arg);
			jv_free(item);
			continue;
		}
		/*
		 * The page was checked whole (sm_json_parse): the dump reads
		 * back as the same value, and the record loop forms it.
		 */
		text = jv_dump_string(item, 0);
		r.external_id = key.data;
		r.data = jv_string_value(text);
		r.len = (size_t)jv_string_length_bytes(jv_copy(text));
		rc = fn(&r, arg);
		jv_free(text);
	}
	sm_buf_free(&key);
	jv_free(arr);
	return rc;
}

/* The first page's URL: url, pull.path, and the page parameters. */
static char *
first_page(struct http *h)
{
	sm_buf_reset(&h->tmp);
	sm_buf_addf(&h->tmp, "%s%s", h->url, h->pull_path);
	if (h->page_param != NULL)
		sm_buf_addf(&h->tmp, "%c%s=1", strchr(h->tmp.data, '?') ?
		    '&' : '?', h->page_param);
	if (h->limit_param != NULL)
		sm_buf_addf(&h->tmp, "%c%s=%ld", strchr(h->tmp.data, '?') ?
		    '&' : '?', h->limit_param, h->limit);
	return sm_xstrdup(h->tmp.data);
}

/* url with page_param's value n. */
static char *
page_url(struct http *h, const char *url, long n)
{
	const char *p = url, *e;
	size_t k = strlen(h->page_param);

	sm_buf_reset(&h->tmp);
	while ((e = strpbrk(p, "?&")) != NULL) {
		sm_buf_add(&h->tmp, p, (size_t)(e - p) + 1);
		p = e + 1;
		if (strncmp(p, h->page_param, k) == 0 && p[k] == '=') {
			sm_buf_addf(&h->tmp, "%s=%ld", h->page_param, n);
			p += k + 1 + strcspn(p + k + 1, "&");
		}
	}
	sm_buf_adds(&h->tmp, p);
	return sm_xstrdup(h->tmp.data);
}

/*
 * Every record of the collection: GET url (pull.path), then the page that
 * Link: rel="next" names, or the next page_param, until a page is empty.
 */
static int
drv_list(void *d, int (*fn)(const struct sm_drec *r, void *arg), void *arg,
    struct sm_buf *why)
{
	struct http *h = d;
	struct xfer x;
	struct sm_json_err err;
	CURL *e = h->pool[0];
	CURLcode cc;
	char *url = first_page(h), *loc, *nurl, what[64];
	long status, page = 1;
	size_t count = 0, before, redirects = 0, pages = 0;
	jv body;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	sm_buf_init(&x.body);
	while (url != NULL && rc == 0) {
		if (sm_interrupted()) {
			rc = SM_EINTR;
			break;
		}
		xfer_reset(&x, BODY_MAX);
		setup(h, e, "GET", url, NULL, 0, h->base, &x, NULL);
		cc = curl_easy_perform(e);
		status = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		if (cc == CURLE_OK && status >= 301 && status <= 308 &&
		    status != 304) {
			loc = NULL;
			curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &loc);
			if (loc == NULL || !same_origin(h->url, loc) ||
			    (long)redirects++ >= h->max_redirects) {
				sm_buf_reset(why);
				sm_buf_addf(why, "GET of page %ld: a redirect "
				    "refused (to another host, or too many)",
				    page);
				rc = SM_PERMANENT;
				break;
			}
			free(url);
			url = sm_xstrdup(loc);
			continue;
		}
		redirects = 0;
		snprintf(what, sizeof(what), "GET of page %ld", page);
		if ((rc = verdict_of(&x, cc, status, what, why)) != 0)
			break;
		if (x.truncated || sm_json_parse(x.body.data != NULL ?
		    x.body.data : "", x.body.len, &body, &err) != 0) {
			sm_buf_reset(why);
			if (x.truncated)
				sm_buf_addf(why, "page %ld is larger than "
				    "%u bytes", page, BODY_MAX);
			else
				sm_buf_addf(why, "page %ld is no JSON (byte "
				    "%zu: %s)", page, err.offset, err.reason);
			rc = SM_PERMANENT;
			break;
		}
		before = count;
		rc = each_record(h, body, &count, fn, arg);
		jv_free(body);
		if (rc < 0 && rc != -1)
			break;
		if (rc == -1) {
			sm_buf_reset(why);
			sm_buf_addf(why, "page %ld holds no array of records "
			    "(set pull.member)", page);
			rc = SM_PERMANENT;
			break;
		}
		if (rc != 0)
			break;
		if (++pages > 1000000) {
			sm_buf_reset(why);
			sm_buf_adds(why, "more than a million pages");
			rc = SM_PERMANENT;
			break;
		}
		nurl = NULL;
		if (x.next != NULL) {
			CURLU *u = curl_url();

			/* Relative to the page that names it. */
			if (curl_url_set(u, CURLUPART_URL, url, 0) ==
			    CURLUE_OK && curl_url_set(u, CURLUPART_URL, x.next,
			    0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL,
			    &loc, 0) == CURLUE_OK) {
				nurl = sm_xstrdup(loc);
				curl_free(loc);
			}
			curl_url_cleanup(u);
			if (nurl != NULL && (!same_origin(h->url, nurl) ||
			    strcmp(nurl, url) == 0)) {
				free(nurl);
				nurl = NULL;
			}
		} else if (h->page_param != NULL && count > before)
			nurl = page_url(h, url, ++page);
		if (x.next != NULL)
			page++;
		free(url);
		url = nurl;
	}
	free(url);
	xfer_free(&x);
	return rc;
}

static void
drv_close(void *d)
{
	struct http *h = d;
	size_t i;

	if (h == NULL)
		return;
	clear(h);
	free(h->v);
	for (i = 0; h->pool != NULL && i < h->npool; i++)
		if (h->pool[i] != NULL) {
			if (h->multi != NULL)
				curl_multi_remove_handle(h->multi, h->pool[i]);
			curl_easy_cleanup(h->pool[i]);
		}
	free(h->pool);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	for (i = 0; i < NOPS; i++) {
		free(h->ops[i].method);
		free(h->ops[i].path);
		curl_slist_free_all(h->ops[i].headers);
	}
	curl_slist_free_all(h->base);
	free(h->url);
	free(h->pull_path);
	free(h->pull_member);
	free(h->pull_key);
	free(h->page_param);
	free(h->limit_param);
	free(h->cainfo);
	sm_strv_free(h->ignore);
	sm_buf_free(&h->tmp);
	free(h);
	curl_global_cleanup();
}

const struct sm_driver sm_driver_http = {
	.name = "http",
	.check = check,
	.open = drv_open,
	.begin = drv_begin,
	.put = drv_put,
	.del = drv_del,
	.commit = drv_commit,
	.rollback = drv_rollback,
	.list = drv_list,
	.close = drv_close,
	.verdict = drv_verdict
};
