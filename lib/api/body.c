/* See LICENSE file for copyright and license details. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/*
 * What a request brings: its query arguments and its body.  A body is
 * refused once it passes its limit; a JSON body is kept for its handler
 * (api_body_object and the api_member_* readers); an import body streams
 * into the spool as it comes, for the one reader of records (input.c)
 * to split: a {"data":[...]} body is framed by api_records.
 */

#define JSON_BODY_MAX	(1024 * 1024)	/* bodies but records */

/* Request arguments */

const char *
api_query(struct sm_api_req *r, const char *name)
{
	return r->get(r->arg, SM_API_QUERY, name);
}

const char *
api_header(struct sm_api_req *r, const char *name)
{
	return r->get(r->arg, SM_API_HEADER, name);
}

/* An id: all digits, within int64_t.  Returns 1 and *v, or 0. */
int
api_parse_id(const char *s, int64_t *v)
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

int64_t
api_id_of(struct sm_api_req *r, int i)
{
	int64_t v = 0;

	api_parse_id(r->ids[i], &v);
	return v;
}

/*
 * A boolean argument: absent or "false"/"0" is 0, "true"/"1"/"" is 1.
 * Returns 0, or -1 with a 400 answered.
 */
int
api_arg_bool(struct sm_api_req *r, const char *name, int *v)
{
	const char *s = api_query(r, name);

	*v = 0;
	if (s == NULL || strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		return 0;
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || s[0] == '\0') {
		*v = 1;
		return 0;
	}
	api_fail(r, 400, "invalid %s value '%s': expected true or false", name,
	    s);
	return -1;
}

/*
 * A number argument in [min, max]; *v untouched when absent.  Returns 1
 * when given, 0 when absent, -1 with a 400 answered.
 */
int
api_arg_num(struct sm_api_req *r, const char *name, int64_t min, int64_t max,
    int64_t *v)
{
	const char *s = api_query(r, name);
	int64_t x;

	if (s == NULL)
		return 0;
	if (!api_parse_id(s, &x)) {
		api_fail(r, 400, "invalid %s value '%s': expected a number",
		    name, s);
		return -1;
	}
	if (x < min || x > max) {
		api_fail(r, 400, "invalid %s value '%s': expected %" PRId64
		    " to %" PRId64, name, s, min, max);
		return -1;
	}
	*v = x;
	return 1;
}

/* A time argument (SPEC §4 forms); *ms untouched when absent. */
int
api_arg_time(struct sm_api_req *r, const char *name, int64_t *ms)
{
	const char *s = api_query(r, name);

	if (s == NULL)
		return 0;
	if (sm_time_parse(s, sm_now(), ms) != 0) {
		api_fail(r, 400, "invalid %s value: %s", name, sm_errmsg());
		return -1;
	}
	return 1;
}

/* Request bodies */

static void
too_large(struct sm_api_req *r)
{
	if (r->route->body == BODY_JSON)
		api_fail(r, 413, "request body larger than %zu bytes",
		    r->body_max);
	else
		api_fail(r, 413, "request body larger than %zu bytes "
		    "(serve.max_body_bytes)", r->body_max);
}

/* Creates the spool file of r, gone from the directory.  0, or -1 answered. */
static int
spool_create(struct sm_api_req *r)
{
	if ((r->spool = api_anon_file()) != NULL)
		return 0;
	api_fail(r, 500, "internal error");
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
int
api_body_open(struct sm_api_req *r)
{
	const char *cl, *ct;
	unsigned long long n;
	char *end;

	r->body_max = r->api->cfg->serve_max_body_bytes;
	if (r->route->body == BODY_JSON && r->body_max > JSON_BODY_MAX)
		r->body_max = JSON_BODY_MAX;
	if (r->route->body == BODY_NONE)
		return 1;
	if ((cl = api_header(r, "Content-Length")) != NULL) {
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
	ct = api_header(r, "Content-Type");
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

/*
 * The records of a {"data":[...]} body (or a bare array) are the data
 * array: *off and *len are set to its bytes, from its '[' to the byte
 * before the body's closing '}', for the one reader (sm_input_one_array:
 * it reads the elements and refuses anything after the array).  Only the
 * frame around the array is checked here.  Returns 0, or -1 answered.
 */
static int
data_array(struct sm_api_req *r, const char *p, size_t n, size_t *off,
    size_t *len)
{
	size_t i = 0, end = n;

	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i < n && p[i] == '[') {
		*off = i;
		*len = n - i;
		return 0;
	}
	if (i == n || p[i++] != '{') {
		api_fail(r, 400, "malformed JSON: expected {\"data\":[...]}");
		return -1;
	}
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i < n && p[i] == '}') {
		api_fail(r, 422, "no data member: the body is "
		    "{\"data\":[...]}");
		return -1;
	}
	if (i == n || p[i] != '"') {
		api_fail(r, 400, "malformed JSON: expected a member name");
		return -1;
	}
	if (n - i < 6 || memcmp(p + i, "\"data\"", 6) != 0) {
		api_fail(r, 422, "unexpected member: the body is "
		    "{\"data\":[...]}");
		return -1;
	}
	for (i += 6; i < n && is_ws((unsigned char)p[i]); i++)
		;
	if (i == n || p[i++] != ':') {
		api_fail(r, 400, "malformed JSON: expected ':'");
		return -1;
	}
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i == n || p[i] != '[') {
		api_fail(r, 422, "data must be an array of records");
		return -1;
	}
	while (end > i && is_ws((unsigned char)p[end - 1]))
		end--;
	if (p[end - 1] != '}') {
		api_fail(r, 400, "malformed JSON: the body does not end with "
		    "the '}' of {\"data\":[...]}");
		return -1;
	}
	*off = i;
	*len = end - 1 - i;
	return 0;
}

int
api_records(struct sm_api_req *r, const char **p, size_t *n, int *one_array)
{
	size_t off, len;

	*p = r->spool_map != NULL ? r->spool_map : "";
	*n = r->spool_size;
	*one_array = r->envelope || (r->sniffing && *n > 0 &&
	    sniff(*p, *n) > 0);
	if (!*one_array)
		return 0;
	if (data_array(r, *p, *n, &off, &len) != 0)
		return -1;
	*p += off;
	*n = len;
	return 0;
}

/*
 * Closes the spool at the end of the body and maps it for the reader (an
 * import body never stays in memory: the page cache holds it).  Returns
 * 1, or 0 answered.
 */
int
api_spool_close(struct sm_api_req *r)
{
	struct stat st;
	int bad;

	bad = fflush(r->spool) != 0 || ferror(r->spool) ||
	    fstat(fileno(r->spool), &st) != 0;
	if (!bad) {
		r->spool_size = (size_t)st.st_size;
		if (r->spool_size > 0 && (r->spool_map = mmap(NULL,
		    r->spool_size, PROT_READ, MAP_PRIVATE, fileno(r->spool),
		    0)) == MAP_FAILED)
			r->spool_map = NULL;
		bad = r->spool_size > 0 && r->spool_map == NULL;
	}
	/* The map stays when the file is closed. */
	fclose(r->spool);
	r->spool = NULL;
	if (bad) {
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write the spool file");
		return 0;
	}
	return 1;
}

/*
 * Takes n bytes of the body (sm_api_feed): kept, or spooled.  Returns 1
 * when a response is ready, else 0.
 */
int
api_body_feed(struct sm_api_req *r, const char *data, size_t n)
{
	if (n > r->body_max - r->body_len) {
		too_large(r);
		return 1;
	}
	r->body_len += n;
	if (r->route->body == BODY_JSON) {
		sm_buf_add(&r->body, data, n);
		return 0;
	}
	if (fwrite(data, 1, n, r->spool) != n) {
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write the spool file");
		return 1;
	}
	return 0;
}

/*
 * The JSON body as an object: 0 with a new reference in *v, or -1 with
 * 400 (malformed) or 422 (not an object) answered.
 */
int
api_body_object(struct sm_api_req *r, jv *v)
{
	struct sm_json_err jerr;

	if (r->body.len == 0) {
		api_fail(r, 400, "a JSON object body is required");
		return -1;
	}
	if (sm_json_parse(r->body.data, r->body.len, v, &jerr) != 0) {
		api_fail(r, 400, "malformed JSON at byte %zu: %s", jerr.offset,
		    jerr.reason);
		return -1;
	}
	if (jv_get_kind(*v) != JV_KIND_OBJECT) {
		jv_free(*v);
		api_fail(r, 422, "the body must be a JSON object");
		return -1;
	}
	return 0;
}

/* Answers 422 when o has a member not in names (NULL-terminated). */
int
api_members_known(struct sm_api_req *r, jv o, const char *const *names)
{
	size_t i;
	int bad = 0;

	jv_object_foreach(o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(names[i], jv_string_value(k)) == 0)
				break;
		if (names[i] == NULL && !bad) {
			bad = 1;
			api_fail(r, 422, "unknown member '%s'",
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
int
api_member_str(struct sm_api_req *r, jv o, const char *name, char **s)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	int kind = jv_get_kind(v);

	*s = NULL;
	if (kind == JV_KIND_STRING && strlen(jv_string_value(v)) !=
	    (size_t)jv_string_length_bytes(jv_copy(v))) {
		jv_free(v);
		api_fail(r, 422, "%s must not hold a NUL character (\\u0000)",
		    name);
		return -1;
	}
	if (kind == JV_KIND_STRING)
		*s = sm_xstrdup(jv_string_value(v));
	jv_free(v);
	if (kind == JV_KIND_STRING || kind == JV_KIND_INVALID ||
	    kind == JV_KIND_NULL)
		return 0;
	api_fail(r, 422, "%s must be a string", name);
	return -1;
}

/* Member name of o, an object, as canonical JSON in *s (or NULL). */
int
api_member_obj(struct sm_api_req *r, jv o, const char *name, char **s)
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
		api_fail(r, 422, "%s must be a JSON object", name);
		rc = -1;
	}
	jv_free(v);
	return rc;
}

/* hash_ignore: an array of strings, or a string "a,b"; *list never NULL. */
int
api_member_strv(struct sm_api_req *r, jv o, const char *name, char ***list,
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
				api_fail(r, 422, "%s must be an array of "
				    "strings", name);
				return -1;
			}
			(*list)[(*n)++] = sm_xstrdup(jv_string_value(s));
			jv_free(s);
		}
	} else if (kind != JV_KIND_INVALID && kind != JV_KIND_NULL) {
		jv_free(v);
		api_fail(r, 422, "%s must be an array of strings", name);
		return -1;
	}
	jv_free(v);
	if (*list == NULL)
		*list = sm_xcalloc(1, sizeof(**list));
	return 0;
}
