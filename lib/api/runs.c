/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* POST /sync/{source_id}/{target_id}, /cleanup; GET /runs, /diff */

void
api_sync(struct sm_api_req *r)
{
	struct sm_endpoint s, t;
	struct sm_sync_stats st;
	struct sm_sync_opts o;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc;

	memset(&o, 0, sizeof(o));
	if (api_arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    api_arg_bool(r, "overwrite_manual", &o.overwrite_manual) != 0 ||
	    api_arg_bool(r, "accept_manual", &o.accept_manual) != 0)
		return;
	if (o.overwrite_manual && o.accept_manual) {
		api_fail(r, 400, "overwrite_manual and accept_manual exclude "
		    "each other");
		return;
	}
	if (api_endpoint(r, SM_SOURCE, 0, &s) != 0)
		return;
	if (api_endpoint(r, SM_TARGET, 1, &t) != 0)
		goto out;
	if ((rc = sm_sync(r->db, r->api->cfg, &s, &t, &o, &st, &run)) != 0) {
		api_fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_sync_stats_json(&st, &stats);
	sm_jw_result(&b, "success", o.dry_run ? 0 : run.id, stats.data);
	sm_buf_free(&stats);
	api_reply(r, 200, &b);
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
}

void
api_runs(struct sm_api_req *r)
{
	static const char *const keep[] = { "kind", "source", "target", NULL };
	static const char *const kinds[] = { "import", "sync", "restore" };
	const char *kind = api_query(r, "kind");
	int64_t source = 0, target = 0;
	struct page pg;
	FILE *raw;
	size_t i;
	int rc;

	for (i = 0; kind != NULL && i < 3; i++)
		if (strcmp(kind, kinds[i]) == 0)
			break;
	if (i == 3) {
		api_fail(r, 400, "invalid kind value '%s': expected import, "
		    "sync or restore", kind);
		return;
	}
	if (api_arg_num(r, "source", 0, INT64_MAX, &source) < 0 ||
	    api_arg_num(r, "target", 0, INT64_MAX, &target) < 0 ||
	    api_page_open(r, &pg) != 0)
		return;
	if ((raw = api_raw_open(r)) == NULL) {
		api_page_abort(&pg);
		return;
	}
	if ((rc = sm_run_history(r->db, kind, source, target, raw)) == 0)
		rc = api_page_lines(&pg, raw);
	else
		fclose(raw);
	api_page_close(&pg, rc, keep);
}

void
api_cleanup(struct sm_api_req *r)
{
	const struct sm_config *cfg = r->api->cfg;
	struct sm_cleanup_stats st;
	struct sm_cleanup_opts o;
	int64_t days = cfg->retention_days, keep = cfg->keep_snapshots;
	int64_t runs_days = cfg->runs_days;
	struct sm_buf b, ours;
	int rc, vacuum;

	memset(&o, 0, sizeof(o));
	if (api_arg_num(r, "days", 0, INT32_MAX, &days) < 0 ||
	    api_arg_num(r, "keep", 0, INT32_MAX, &keep) < 0 ||
	    api_arg_num(r, "runs_days", 0, INT32_MAX, &runs_days) < 0 ||
	    api_arg_bool(r, "dry_run", &o.dry_run) != 0 ||
	    api_arg_bool(r, "vacuum", &vacuum) != 0)
		return;
	o.days = (int)days;
	o.keep = (int)keep;
	o.runs_days = (int)runs_days;
	if ((rc = sm_cleanup(r->db, &o, &st)) == 0 && vacuum && !o.dry_run)
		rc = sm_cleanup_vacuum(r->db);
	if (rc != 0) {
		api_fail_rc(r, rc);
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
	api_reply(r, 200, &b);
}

static int
diff_reject(const struct sm_reject *rej, void *arg)
{
	(void)rej;
	(void)arg;
	return 0;
}

static void
diff_warn(const struct sm_warning *w, void *arg)
{
	(void)w;
	(void)arg;
}

/* The records of sm-diff SOURCE TARGET, as a JSON array. */
void
api_diff(struct sm_api_req *r)
{
	struct sm_diff_stats st;
	struct sm_diff_opts o;
	struct sm_endpoint s, t;
	struct page pg;
	FILE *raw;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&t, 0, sizeof(t));
	if (api_arg_bool(r, "overwrite_manual", &o.overwrite_manual) != 0 ||
	    api_arg_bool(r, "accept_manual", &o.accept_manual) != 0)
		return;
	if (o.overwrite_manual && o.accept_manual) {
		api_fail(r, 400, "overwrite_manual and accept_manual exclude "
		    "each other");
		return;
	}
	if (api_endpoint(r, SM_SOURCE, 0, &s) != 0)
		return;
	if (api_endpoint(r, SM_TARGET, 1, &t) != 0 ||
	    (raw = api_raw_open(r)) == NULL)
		goto out;
	o.out = raw;
	o.reject = diff_reject;
	o.warn = diff_warn;
	/* Diff records have no id: the list is one page, by external_id. */
	api_page_start(r, &pg);
	pg.after = -1;
	if ((rc = sm_diff_sync(r->db, &s, &t, &o, &st)) == 0)
		rc = api_page_lines(&pg, raw);
	else
		fclose(raw);
	api_page_close(&pg, rc, NULL);
out:
	sm_endpoint_free(&s);
	sm_endpoint_free(&t);
}

