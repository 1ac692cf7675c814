/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* Answers: JSON objects, errors, files, and lists by pages. */

/* Responses */

const char api_bad_key[] = "invalid or missing API key";

void
api_resp_clear(struct sm_api_resp *p)
{
	sm_buf_reset(&p->body);
	free(p->link);
	free(p->location);
	free(p->detail);
	free(p->allow);
	p->link = p->location = p->detail = p->allow = NULL;
	p->csp = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->size = 0;
	p->retry_after = 0;
}

/* Answers with the JSON text in b (an object line), which is taken. */
void
api_reply(struct sm_api_req *r, int status, struct sm_buf *b)
{
	api_resp_clear(&r->resp);
	sm_buf_free(&r->resp.body);
	r->resp.body = *b;
	sm_buf_init(b);
	r->resp.status = status;
	r->resp.type = "application/json";
	r->ready = 1;
}

void
api_fail(struct sm_api_req *r, int status, const char *fmt, ...)
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
	api_reply(r, status, &b);
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
void
api_fail_rc(struct sm_api_req *r, int rc)
{
	char *msg = sm_xstrdup(sm_errmsg());
	int status = http_status(rc);

	if (status == 500) {
		api_fail(r, 500, "internal error");
		r->resp.detail = msg;
		return;
	}
	if (status == 401)
		api_fail(r, 401, "%s", api_bad_key);
	else
		api_fail(r, status, "%s", msg);
	free(msg);
}

/* A file for a response body or a spool, gone from the directory. */
FILE *
api_anon_file(void)
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
void
api_reply_file(struct sm_api_req *r, int status, FILE *f)
{
	off_t size;
	int fd;

	if (fflush(f) != 0 || ferror(f) || (size = ftello(f)) < 0 ||
	    (fd = dup(fileno(f))) < 0) {
		fclose(f);
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write a response file");
		return;
	}
	fclose(f);
	api_resp_clear(&r->resp);
	r->resp.fd = fd;
	r->resp.size = (uint64_t)size;
	r->resp.status = status;
	r->resp.type = "application/json";
	r->ready = 1;
}

/* Lists, paged */



void
api_page_start(struct sm_api_req *r, struct page *pg)
{
	memset(pg, 0, sizeof(*pg));
	pg->r = r;
	pg->limit = -1;
	sm_buf_init(&pg->mem);
	sm_buf_addc(&pg->mem, '[');
}

int
api_page_open(struct sm_api_req *r, struct page *pg)
{
	api_page_start(r, pg);
	if (api_arg_num(r, "after", 0, INT64_MAX, &pg->after) < 0 ||
	    api_arg_num(r, "limit", 1, 1000000000, &pg->limit) < 0) {
		api_page_abort(pg);
		return -1;
	}
	return 0;
}

void
api_page_put(struct page *pg, const void *p, size_t n)
{
	if (pg->failed)
		return;
	if (pg->out == NULL && pg->mem.len + n > PAGE_MEM) {
		if ((pg->out = api_anon_file()) == NULL) {
			pg->failed = 1;
			return;
		}
		pg->vbuf = sm_xmalloc(PAGE_BUF);
		setvbuf(pg->out, pg->vbuf, _IOFBF, PAGE_BUF);
		fwrite(pg->mem.data, 1, pg->mem.len, pg->out);
		sm_buf_free(&pg->mem);
		sm_buf_init(&pg->mem);
	}
	if (pg->out != NULL)
		fwrite(p, 1, n, pg->out);
	else
		sm_buf_add(&pg->mem, p, n);
}

void
api_page_abort(struct page *pg)
{
	if (pg->out != NULL)
		fclose(pg->out);
	pg->out = NULL;
	free(pg->vbuf);
	pg->vbuf = NULL;
	sm_buf_free(&pg->mem);
}

void
api_page_reply(struct page *pg)
{
	struct sm_api_req *r = pg->r;

	if (pg->failed) {
		api_page_abort(pg);
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot create a response file");
	} else if (pg->out != NULL) {
		api_reply_file(r, 200, pg->out);
		pg->out = NULL;
		api_page_abort(pg);
	} else {
		api_reply(r, 200, &pg->mem);
		r->resp.type = "application/json";
	}
}

/* Offers the item id, JSON text (a trailing newline is dropped). */
int
api_page_add(struct page *pg, int64_t id, const char *json, size_t len)
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
		api_page_put(pg, ",", 1);
	api_page_put(pg, json, len);
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
void
api_page_close(struct page *pg, int rc, const char *const *keep)
{
	struct sm_api_req *r = pg->r;
	struct sm_buf link;
	const char *v;
	size_t i;

	if (rc < 0) {
		api_page_abort(pg);
		api_fail_rc(r, rc);
		return;
	}
	api_page_put(pg, "]\n", 2);
	api_page_reply(pg);
	if (!pg->more || r->resp.status != 200)
		return;
	sm_buf_init(&link);
	sm_buf_addf(&link, "<%s?after=%" PRId64 "&limit=%" PRId64, r->path,
	    pg->last, pg->limit);
	for (i = 0; keep != NULL && keep[i] != NULL; i++) {
		if ((v = api_query(r, keep[i])) == NULL)
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
int
api_page_lines(struct page *pg, FILE *raw)
{
	char *line = NULL, *colon;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	rewind(raw);
	while ((n = getline(&line, &cap, raw)) > 0) {
		colon = strchr(line, ':');
		if (api_page_add(pg, colon ? strtoll(colon + 1, NULL, 10) : 0,
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
FILE *
api_raw_open(struct sm_api_req *r)
{
	FILE *f;

	if ((f = api_anon_file()) == NULL) {
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot create a list file");
	}
	return f;
}

/* Replaces each "from" in s by "to"; returns a new string. */
char *
api_replace(const char *s, const char *from, const char *to)
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
