/* See LICENSE file for copyright and license details. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/*
 * POST /sources/{id}/import, and PATCH
 * /targets/{id}/properties/{pid}: an import of one merge patch.
 */

/*
 * What an import reports back: rejects and warnings are written as
 * comma-separated JSON items to pages (memory, then a file past
 * PAGE_MEM), so that a body of a million bad records costs disk, not
 * memory.  A record is named by its line, or in a {"data":[...]} body by
 * its position in data.
 */
struct import_log {
	int one_array;
	struct page rejects, warnings;
	uint64_t nrejects, nwarnings;
	struct sm_buf b;
	char *malformed;	/* the body's structure is broken: why */
	uint64_t last;		/* where the last reject was (strict=true) */
	char *lastwhy;
};

/* A page of r written as it comes: no '[' of a list. */
static void
raw_page(struct sm_api_req *r, struct page *pg)
{
	api_page_start(r, pg);
	sm_buf_reset(&pg->mem);
}

static void
log_item(struct page *pg, uint64_t *n, struct sm_buf *b)
{
	if ((*n)++ > 0)
		api_page_put(pg, ",", 1);
	api_page_put(pg, b->data, b->len - 1);	/* without the newline */
}

static uint64_t
where(const struct import_log *l, size_t line, uint64_t rawno)
{
	return l->one_array ? rawno + 1 : line;
}

static int
on_reject(const struct sm_reject *j, void *arg)
{
	struct import_log *l = arg;

	/* A body whose structure is broken is refused whole, as JSON. */
	if (l->one_array && j->code == SM_REJECT_INPUT) {
		l->malformed = sm_xstrdup(j->detail);
		return SM_EDATA;
	}
	sm_jw_begin(&l->b);
	if (j->file != NULL)
		sm_jw_int(&l->b, "line", (int64_t)where(l, j->line, j->rawno));
	else
		sm_jw_null(&l->b, "line");
	sm_jw_str(&l->b, "error", j->detail);
	sm_jw_end(&l->b);
	log_item(&l->rejects, &l->nrejects, &l->b);
	l->last = where(l, j->line, j->rawno);
	free(l->lastwhy);
	l->lastwhy = sm_xstrdup(j->detail);
	return 0;
}

static void
on_warn(const struct sm_warning *w, void *arg)
{
	struct import_log *l = arg;

	sm_jw_begin(&l->b);
	if (w->file != NULL)
		sm_jw_int(&l->b, "line", (int64_t)where(l, w->line, w->rawno));
	else
		sm_jw_null(&l->b, "line");
	sm_jw_str(&l->b, "warning", w->detail);
	sm_jw_end(&l->b);
	log_item(&l->warnings, &l->nwarnings, &l->b);
}

/* Appends the items of log as the array member name of out. */
static void
copy_items(struct page *out, const char *name, struct page *log)
{
	char chunk[8192];
	size_t n;

	api_page_put(out, ",\"", 2);
	api_page_put(out, name, strlen(name));
	api_page_put(out, "\":[", 3);
	if (log->out == NULL)
		api_page_put(out, log->mem.data, log->mem.len);
	else {
		if (fflush(log->out) != 0)
			out->failed = 1;
		rewind(log->out);
		while ((n = fread(chunk, 1, sizeof(chunk), log->out)) > 0)
			api_page_put(out, chunk, n);
		if (ferror(log->out))
			out->failed = 1;
	}
	out->failed |= log->failed;
	api_page_put(out, "]", 1);
}

/* Imports the records p (n) into e; 0, or -1 answered. */
static int
import_run(struct sm_api_req *r, const struct sm_endpoint *e,
    const char *p, size_t n, struct sm_import_opts *o, struct import_log *l,
    struct sm_import_stats *st, struct sm_run *run)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->one_array = o->one_array;
	sm_buf_init(&l->b);
	raw_page(r, &l->rejects);
	raw_page(r, &l->warnings);
	o->reject = on_reject;
	o->warn = on_warn;
	o->arg = l;
	if ((rc = sm_import_buf(r->db, r->api->cfg, e, "body", p, n, o, st,
	    run)) == 0)
		return 0;
	if (l->malformed != NULL)
		api_fail(r, 400, "malformed JSON: %s", l->malformed);
	else if (rc == SM_EDATA && o->strict && l->lastwhy != NULL)
		api_fail(r, 422, "line %" PRIu64 ": %s (strict=true: nothing "
		    "written)", l->last, l->lastwhy);
	else
		api_fail_rc(r, rc);
	return -1;
}

static void
import_log_free(struct import_log *l)
{
	api_page_abort(&l->rejects);
	api_page_abort(&l->warnings);
	sm_buf_free(&l->b);
	free(l->malformed);
	free(l->lastwhy);
}

void
api_import(struct sm_api_req *r)
{
	struct sm_import_opts o;
	struct sm_import_stats st;
	struct sm_endpoint e;
	struct import_log l;
	struct sm_buf b, stats;
	struct sm_run run;
	const char *p;
	struct page out;
	size_t n;

	memset(&o, 0, sizeof(o));
	memset(&l, 0, sizeof(l));
	if (api_arg_bool(r, "complete", &o.complete) != 0 ||
	    api_arg_bool(r, "strict", &o.strict) != 0 ||
	    api_arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    api_arg_bool(r, "allow_mass_delete", &o.allow_mass_delete) != 0)
		return;
	if (api_endpoint(r, SM_SOURCE, 0, &e) != 0)
		return;
	if (api_records(r, &p, &n, &o.one_array) != 0 ||
	    import_run(r, &e, p, n, &o, &l, &st, &run) != 0)
		goto out;
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_import_stats_json(&st, &stats);
	/* Open: the rejects and warnings follow, copied from their pages. */
	sm_jw_result_open(&b, st.rejected ? "partial" : "success",
	    o.dry_run ? 0 : run.id, stats.data);
	raw_page(r, &out);
	api_page_put(&out, b.data, b.len);
	copy_items(&out, "rejects", &l.rejects);
	copy_items(&out, "warnings", &l.warnings);
	api_page_put(&out, "}\n", 2);
	sm_buf_free(&b);
	sm_buf_free(&stats);
	api_page_reply(&out);
out:
	import_log_free(&l);
	sm_endpoint_free(&e);
}

/*
 * Makes the one record of a PATCH in b: the merge patch with the
 * external_id that picks the row.  Returns 0, or -1 answered.
 */
static int
patch_record(struct sm_api_req *r, const char *key, struct sm_buf *b)
{
	static const char *const names[] = { "data", NULL };
	jv o, data, ext;
	int rc = -1;

	if (api_body_object(r, &o) != 0)
		return -1;
	data = jv_object_get(jv_copy(o), jv_string("data"));
	if (api_members_known(r, o, names) != 0)
		goto out;
	if (jv_get_kind(data) != JV_KIND_OBJECT) {
		api_fail(r, 422, "the body is {\"data\":{...}}: a merge patch "
		    "object");
		goto out;
	}
	ext = jv_object_get(jv_copy(data), jv_string("external_id"));
	if (jv_get_kind(ext) != JV_KIND_INVALID &&
	    (jv_get_kind(ext) != JV_KIND_STRING ||
	    strcmp(jv_string_value(ext), key) != 0)) {
		jv_free(ext);
		api_fail(r, 422, "the external_id of a property cannot be "
		    "patched");
		goto out;
	}
	jv_free(ext);
	data = jv_object_set(data, jv_string("external_id"),
	    jv_string(key));
	if (sm_canon(data, NULL, 0, b) != 0) {
		api_fail(r, 422, "%s", sm_errmsg());
		goto out;
	}
	rc = 0;
out:
	jv_free(data);
	jv_free(o);
	return rc;
}

void
api_patch(struct sm_api_req *r)
{
	struct sm_import_opts o;
	struct sm_import_stats st;
	struct sm_endpoint e;
	struct import_log l;
	struct sm_run run;
	struct sm_buf rec;
	int64_t id = api_id_of(r, 1);
	char *key = NULL;
	struct page pg;
	int rc;

	memset(&l, 0, sizeof(l));
	sm_buf_init(&rec);
	if (api_endpoint(r, SM_TARGET, 0, &e) != 0)
		return;
	if ((rc = sm_prop_external_id(r->db, &e, id, &key)) < 0) {
		api_fail_rc(r, rc);
		goto out;
	}
	if (rc == 0) {
		api_fail(r, 404, "no property %s on target '%s'", r->ids[1],
		    e.name);
		goto out;
	}
	/* The edit is an import of one merge patch: snapshot, run, log. */
	if (patch_record(r, key, &rec) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.merge = 1;
	o.strict = 1;
	if (import_run(r, &e, rec.data, rec.len, &o, &l, &st, &run) != 0)
		goto out;
	/* The answer is the property alone, not a list of it. */
	api_page_start(r, &pg);
	sm_buf_reset(&pg.mem);
	rc = api_props_walk(r->db, &e, 0, id, &pg);
	if (rc == 0 && pg.n == 1) {
		api_page_put(&pg, "\n", 1);
		api_page_reply(&pg);
	} else {
		api_page_abort(&pg);
		api_fail_rc(r, rc != 0 ? rc : sm_error(SM_EINTERNAL, "property "
		    "%" PRId64 " is gone after its patch", id));
	}
out:
	import_log_free(&l);
	sm_buf_free(&rec);
	free(key);
	sm_endpoint_free(&e);
}
