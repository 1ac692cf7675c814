/* See LICENSE file for copyright and license details. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"
#include "sm-api.h"
#include "api.h"

/*
 * POST /sources/{id}/import, and PATCH
 * /targets/{id}/properties/{pid}: an import of one merge patch.
 */

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
	s = api_replace(msg, prefix, "line ");
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		t = api_replace(s, words[i][0], words[i][1]);
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
	if ((l->rejects = api_anon_file()) == NULL ||
	    (l->warnings = api_anon_file()) == NULL) {
		api_fail(r, 500, "internal error");
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
		api_fail_rc(r, rc);
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

void
api_import(struct sm_api_req *r)
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
	if (api_arg_bool(r, "complete", &o.complete) != 0 ||
	    api_arg_bool(r, "strict", &o.strict) != 0 ||
	    api_arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    api_arg_bool(r, "allow_mass_delete", &o.allow_mass_delete) != 0)
		return;
	if (api_endpoint(r, SM_SOURCE, 0, &e) != 0)
		return;
	if (import_run(r, &e, &o, &l, &st, &run) != 0)
		goto out;
	if ((out = api_anon_file()) == NULL) {
		api_fail(r, 500, "internal error");
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
	api_reply_file(r, 200, out);
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

	if (api_body_object(r, &o) != 0)
		return -1;
	data = jv_object_get(jv_copy(o), jv_string("data"));
	if (api_spool_create(r) != 0)
		goto out;
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
	    strcmp(jv_string_value(ext), p->external_id) != 0)) {
		jv_free(ext);
		api_fail(r, 422, "the external_id of a property cannot be "
		    "patched");
		goto out;
	}
	jv_free(ext);
	data = jv_object_set(data, jv_string("external_id"),
	    jv_string(p->external_id));
	sm_buf_init(&b);
	if (sm_canon(data, NULL, 0, &b) != 0) {
		sm_buf_free(&b);
		api_fail(r, 422, "%s", sm_errmsg());
		goto out;
	}
	sm_buf_addc(&b, '\n');
	bad = fwrite(b.data, 1, b.len, r->spool) != b.len;
	bad |= fclose(r->spool) != 0;
	r->spool = NULL;
	sm_buf_free(&b);
	if (bad) {
		api_fail(r, 500, "internal error");
		r->resp.detail = sm_xstrdup("cannot write the spool file");
	} else
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
	struct sm_prop p;
	struct sm_run run;
	struct page pg;
	int rc;

	memset(&l, 0, sizeof(l));
	if (api_endpoint(r, SM_TARGET, 0, &e) != 0)
		return;
	sm_prop_init(&p, SM_TARGET, e.id);
	if ((rc = sm_prop_get_id(r->db, &p, api_id_of(r, 1))) < 0) {
		api_fail_rc(r, rc);
		goto out;
	}
	if (rc == 0 || p.owner != e.id || p.deleted_at >= 0) {
		api_fail(r, 404, "no property %s on target '%s'", r->ids[1],
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
	/* The answer is the property alone, not a list of it. */
	api_page_start(r, &pg);
	sm_buf_reset(&pg.mem);
	rc = api_props_walk(r->db, &e, 0, p.id, &pg);
	if (rc == 0 && pg.n == 1) {
		api_page_put(&pg, "\n", 1);
		api_page_reply(&pg);
	} else {
		api_page_abort(&pg);
		api_fail_rc(r, rc != 0 ? rc : sm_error(SM_EINTERNAL, "property "
		    "%" PRId64 " is gone after its patch", p.id));
	}
out:
	import_log_free(&l);
	sm_prop_free(&p);
	sm_endpoint_free(&e);
}
