/* See LICENSE file for copyright and license details. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/*
 * The conflict desk: a page for the people who decide on manual edits
 * (lib/www/desk.*), and the two things it needs that the rest of the API
 * does not give: a tenant's state in one answer (GET /overview), and a
 * decision on chosen flagged rows (POST .../resolve), which is sm-sync
 * --id of each row's own source with --accept-manual or
 * --overwrite-manual.  The page does everything else through the routes
 * any client has.
 */

/*
 * The page and its files come from this server only, and talk to it
 * only: no other host, no inline script or style (the page builds its
 * elements with textContent), no frames, no form posts.  data: images
 * are the empty icon that spares the browser a request of /favicon.ico.
 */
static const char desk_csp[] = "default-src 'none'; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static const struct {
	const char *path;
	const char *text;
	const char *type;
} desk_files[] = {
	{ "/", sm_api_desk_html, "text/html; charset=utf-8" },
	{ "/desk", sm_api_desk_html, "text/html; charset=utf-8" },
	{ "/desk.js", sm_api_desk_js, "text/javascript; charset=utf-8" },
	{ "/desk.css", sm_api_desk_css, "text/css; charset=utf-8" },
};

void
api_desk_file(struct sm_api_req *r)
{
	struct sm_buf b;
	size_t i;

	for (i = 0; i < sizeof(desk_files) / sizeof(desk_files[0]); i++)
		if (strcmp(r->route->path, desk_files[i].path) == 0)
			break;
	if (i == sizeof(desk_files) / sizeof(desk_files[0])) {
		api_fail(r, 404, "no such resource: %s", r->path);
		return;
	}
	sm_buf_init(&b);
	sm_buf_adds(&b, desk_files[i].text);
	api_reply(r, 200, &b);
	r->resp.type = desk_files[i].type;
	r->resp.csp = desk_csp;
}

/* GET /overview */

/*
 * The last run of the run log that names source or target id (one of
 * them 0), as JSON in *run, or "null".  The log is read whole: it is kept
 * runs_days (90) and a desk asks once a visit.
 */
static int
last_run(struct sm_db *db, enum sm_side side, int64_t id, struct sm_buf *run)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc;

	sm_buf_reset(run);
	sm_buf_adds(run, "null");
	if ((f = api_anon_file()) == NULL)
		return sm_error(SM_EIO, "cannot make a temporary file");
	rc = sm_run_history(db, NULL, side == SM_SOURCE ? id : 0,
	    side == SM_TARGET ? id : 0, f);
	if (rc == 0 && (fflush(f) != 0 || fseeko(f, 0, SEEK_SET) != 0))
		rc = sm_error(SM_EIO, "cannot read the run log back");
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		sm_buf_reset(run);
		sm_buf_add(run, line, (size_t)n);
	}
	free(line);
	fclose(f);
	return rc;
}

struct overview {
	struct sm_db *db;
	struct sm_buf out, item, run;
	int n;
};

/* Appends e's description with its outbox and last run to the list. */
static int
ov_item(struct sm_endpoint *e, void *arg)
{
	struct overview *ov = arg;
	int64_t pending, held, failed, oldest;
	int rc;

	if ((rc = sm_endpoint_describe(ov->db, e, &ov->item)) != 0 ||
	    (rc = last_run(ov->db, e->side, e->id, &ov->run)) != 0)
		return rc;
	/* The description without its "}\n", then ours. */
	while (ov->item.len > 0 && ov->item.data[ov->item.len - 1] != '}')
		ov->item.len--;
	ov->item.data[--ov->item.len] = '\0';
	if (e->side == SM_TARGET) {
		if ((rc = sm_endpoint_outbox(ov->db, e->id, &pending, &held,
		    &failed, &oldest)) != 0)
			return rc;
		sm_buf_addf(&ov->item, ",\"pending\":%" PRId64 ",\"held\":%"
		    PRId64 ",\"failed\":%" PRId64, pending, held, failed);
		sm_jw_time(&ov->item, "oldest_pending", oldest);
	}
	sm_jw_raw(&ov->item, "last_run", ov->run.data);
	sm_buf_addc(&ov->item, '}');
	sm_buf_addf(&ov->out, "%s%s", ov->n++ ? "," : "", ov->item.data);
	return 0;
}

void
api_overview(struct sm_api_req *r)
{
	struct overview ov;
	struct sm_buf b;
	int rc;

	ov.db = r->db;
	sm_buf_init(&ov.out);
	sm_buf_init(&ov.item);
	sm_buf_init(&ov.run);
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "tenant", r->slug);
	ov.n = 0;
	sm_buf_adds(&ov.out, "[");
	rc = sm_endpoint_each(r->db, SM_SOURCE, ov_item, &ov);
	sm_buf_adds(&ov.out, "]");
	sm_jw_raw(&b, "sources", ov.out.data);
	ov.n = 0;
	sm_buf_reset(&ov.out);
	sm_buf_adds(&ov.out, "[");
	if (rc == 0)
		rc = sm_endpoint_each(r->db, SM_TARGET, ov_item, &ov);
	sm_buf_adds(&ov.out, "]");
	sm_jw_raw(&b, "targets", ov.out.data);
	sm_jw_end(&b);
	if (rc != 0)
		api_fail_rc(r, rc);
	else
		api_reply(r, 200, &b);
	sm_buf_free(&b);
	sm_buf_free(&ov.out);
	sm_buf_free(&ov.item);
	sm_buf_free(&ov.run);
}

/* POST /targets/{id}/properties/{pid}/resolve, /targets/{id}/resolve */

/* At most this many rows in one decision: a page's worth, not a table. */
#define RESOLVE_MAX	1000

/* A row to decide on, as its record in the store says. */
struct row {
	int64_t id;
	char *external_id;
	char *source;		/* the source that feeds it, or NULL */
	int manual;
	int64_t run;
};

static int
row_cb(int64_t id, const char *rec, size_t len, void *arg)
{
	struct row *w = arg;
	jv v, f;

	(void)id;
	v = jv_parse_sized(rec, (int)len);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return sm_error(SM_EINTERNAL, "a stored record does not parse");
	}
	f = jv_object_get(jv_copy(v), jv_string("external_id"));
	if (jv_get_kind(f) == JV_KIND_STRING)
		w->external_id = sm_xstrdup(jv_string_value(f));
	jv_free(f);
	f = jv_object_get(jv_copy(v), jv_string("source"));
	if (jv_get_kind(f) == JV_KIND_STRING)
		w->source = sm_xstrdup(jv_string_value(f));
	jv_free(f);
	f = jv_object_get(v, jv_string("has_manual_changes"));
	w->manual = jv_get_kind(f) == JV_KIND_TRUE;
	jv_free(f);
	return 1;
}

/*
 * Loads row w->id of target t.  Returns 0, or -1 answered: 404 no such
 * live row in t, 409 nothing to decide (not flagged), 422 no source
 * feeds it any more.
 */
static int
row_load(struct sm_api_req *r, const struct sm_endpoint *t, struct row *w)
{
	int rc;

	rc = sm_snap_cat_page(r->db, t, 0, w->id, 0, 1, row_cb, w);
	if (rc != 0) {
		api_fail_rc(r, rc);
		return -1;
	}
	if (w->external_id == NULL) {
		api_fail(r, 404, "no property %" PRId64 " on target '%s'",
		    w->id, t->name);
		return -1;
	}
	if (!w->manual) {
		api_fail(r, 409, "property %" PRId64 " ('%s') of target '%s' "
		    "has no manual changes to resolve", w->id, w->external_id,
		    t->name);
		return -1;
	}
	if (w->source == NULL) {
		api_fail(r, 422, "property %" PRId64 " ('%s') of target '%s' "
		    "is fed by no source (it was removed): nothing to apply or "
		    "keep", w->id, w->external_id, t->name);
		return -1;
	}
	return 0;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->source, y->source);

	return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

static int
id_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/*
 * The property ids of the request: the path's {pid}, or the body's
 * "properties", sorted and without repeats.  Returns the count, or -1
 * answered (422).
 */
static int
resolve_ids(struct sm_api_req *r, jv o, int64_t **ids)
{
	int64_t *v;
	double d;
	int i, n, k;
	jv a, x;

	if (strstr(r->route->path, "{pid}") != NULL) {
		*ids = sm_xmalloc(sizeof(**ids));
		(*ids)[0] = api_id_of(r, 1);
		return 1;
	}
	a = jv_object_get(jv_copy(o), jv_string("properties"));
	if (jv_get_kind(a) != JV_KIND_ARRAY || (n = jv_array_length(
	    jv_copy(a))) == 0 || n > RESOLVE_MAX) {
		jv_free(a);
		api_fail(r, 422, "properties must be an array of 1 to %d "
		    "property ids", RESOLVE_MAX);
		return -1;
	}
	v = sm_xmalloc((size_t)n * sizeof(*v));
	for (i = 0; i < n; i++) {
		x = jv_array_get(jv_copy(a), i);
		d = jv_get_kind(x) == JV_KIND_NUMBER ? jv_number_value(x) : 0;
		jv_free(x);
		if (d < 1 || d > 9007199254740992.0 || d != (double)(int64_t)d) {
			jv_free(a);
			free(v);
			api_fail(r, 422, "properties[%d] is no property id (a "
			    "positive integer)", i);
			return -1;
		}
		v[i] = (int64_t)d;
	}
	jv_free(a);
	qsort(v, (size_t)n, sizeof(*v), id_cmp);
	for (i = k = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	*ids = v;
	return k;
}

/*
 * Runs the sync of source s into t for the rows w[0..n) (all fed by s)
 * with o, and notes its run in them and in runs.  0, or -1 answered.
 */
static int
resolve_run(struct sm_api_req *r, const struct sm_endpoint *t,
    struct row *w, size_t n, struct sm_sync_opts *o, struct sm_buf *runs)
{
	struct sm_sync_stats st;
	struct sm_endpoint s;
	struct sm_buf stats, item;
	struct sm_run run;
	char **ids;
	size_t i;
	int rc;

	if ((rc = sm_endpoint_get(r->db, SM_SOURCE, w[0].source, &s)) != 0) {
		api_fail_rc(r, rc);
		return -1;
	}
	ids = sm_xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = w[i].external_id;
	o->ids = ids;
	rc = sm_sync(r->db, r->api->cfg, &s, t, o, &st, &run);
	free(ids);
	o->ids = NULL;
	if (rc != 0) {
		sm_endpoint_free(&s);
		api_fail_rc(r, rc);
		return -1;
	}
	for (i = 0; i < n; i++)
		w[i].run = run.id;
	sm_buf_init(&stats);
	sm_buf_init(&item);
	sm_sync_stats_json(&st, &stats);
	sm_jw_begin(&item);
	sm_jw_int(&item, "run", run.id);
	sm_jw_str(&item, "source", s.name);
	sm_jw_raw(&item, "stats", stats.data);
	sm_jw_end(&item);
	item.data[--item.len] = '\0';
	sm_buf_addf(runs, "%s%s", runs->len > 1 ? "," : "", item.data);
	sm_buf_free(&stats);
	sm_buf_free(&item);
	sm_endpoint_free(&s);
	return 0;
}

/*
 * Every row is checked before anything is written, so a request naming
 * one wrong row changes nothing.  Rows of one source are decided by one
 * sync run; rows of several sources by one run each, in order of source
 * name (a failure of a later one leaves the earlier ones done, as
 * separate sm-sync commands would).
 */
void
api_resolve(struct sm_api_req *r)
{
	static const char *const one[] = { "action", NULL };
	static const char *const set[] = { "action", "properties", NULL };
	struct sm_sync_opts o;
	struct sm_endpoint t;
	struct sm_buf b, runs, props, item;
	struct row *w = NULL;
	int64_t *ids = NULL;
	char *action = NULL;
	int n = 0, i, j;
	jv body;

	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	sm_buf_init(&runs);
	sm_buf_init(&props);
	sm_buf_init(&item);
	if (api_body_object(r, &body) != 0)
		return;
	if (api_members_known(r, body, strstr(r->route->path, "{pid}") ?
	    one : set) != 0 || api_member_str(r, body, "action",
	    &action) != 0)
		goto out;
	if (action != NULL && strcmp(action, "accept_manual") == 0)
		o.accept_manual = 1;
	else if (action != NULL && strcmp(action, "overwrite_manual") == 0)
		o.overwrite_manual = 1;
	else {
		api_fail(r, 422, "action must be \"accept_manual\" (keep the "
		    "edit) or \"overwrite_manual\" (apply the source)");
		goto out;
	}
	if (api_endpoint(r, SM_TARGET, 0, &t) != 0 ||
	    (n = resolve_ids(r, body, &ids)) < 0)
		goto out;
	w = sm_xcalloc((size_t)n, sizeof(*w));
	for (i = 0; i < n; i++) {
		w[i].id = ids[i];
		if (row_load(r, &t, &w[i]) != 0)
			goto out;
	}
	qsort(w, (size_t)n, sizeof(*w), row_cmp);
	sm_buf_adds(&runs, "[");
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n; j++)
			if (strcmp(w[j].source, w[i].source) != 0)
				break;
		if (resolve_run(r, &t, w + i, (size_t)(j - i), &o, &runs) != 0)
			goto out;
	}
	sm_buf_adds(&runs, "]");
	sm_buf_adds(&props, "[");
	for (i = 0; i < n; i++) {
		sm_jw_begin(&item);
		sm_jw_int(&item, "id", w[i].id);
		sm_jw_str(&item, "external_id", w[i].external_id);
		sm_jw_str(&item, "source", w[i].source);
		sm_jw_int(&item, "run", w[i].run);
		sm_jw_end(&item);
		item.data[--item.len] = '\0';
		sm_buf_addf(&props, "%s%s", i ? "," : "", item.data);
	}
	sm_buf_adds(&props, "]");
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "status", "success");
	sm_jw_str(&b, "action", action);
	sm_jw_raw(&b, "properties", props.data);
	sm_jw_raw(&b, "runs", runs.data);
	sm_jw_end(&b);
	api_reply(r, 200, &b);
out:
	for (i = 0; w != NULL && i < n; i++) {
		free(w[i].external_id);
		free(w[i].source);
	}
	free(w);
	free(ids);
	free(action);
	sm_buf_free(&runs);
	sm_buf_free(&props);
	sm_buf_free(&item);
	sm_endpoint_free(&t);
	jv_free(body);
}
