/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* GET /snapshots, /snapshots/{id}; POST /snapshots/{id}/restore */

void
api_snap_list(struct sm_api_req *r)
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
	if (api_arg_time(r, "since", &q.since) < 0 ||
	    api_arg_time(r, "until", &q.until) < 0 ||
	    api_arg_bool(r, "data", &q.with_data) != 0)
		return;
	if (api_query(r, "source") != NULL && api_query(r, "target") != NULL) {
		api_fail(r, 400, "give source or target, not both");
		return;
	}
	q.side = api_query(r, "target") != NULL ? SM_TARGET : SM_SOURCE;
	if ((ref = api_query(r, q.side == SM_SOURCE ? "source" : "target")) !=
	    NULL) {
		if (!api_parse_id(ref, NULL)) {
			api_fail(r, 400, "invalid %s value '%s': expected an "
			    "id", q.side == SM_SOURCE ? "source" : "target",
			    ref);
			return;
		}
		if ((rc = sm_endpoint_get(r->db, q.side, ref, &e)) != 0) {
			api_fail_rc(r, rc);
			return;
		}
		q.owner = e.id;
	}
	if ((ext = api_query(r, "external_id")) != NULL) {
		ids[0] = (char *)ext;
		q.ids = ids;
		q.nids = 1;
	}
	if (api_page_open(r, &pg) == 0) {
		if ((raw = api_raw_open(r)) == NULL) {
			api_page_abort(&pg);
		} else {
			if ((rc = sm_snap_list(r->db, &q, raw)) == 0)
				rc = api_page_lines(&pg, raw);
			else
				fclose(raw);
			api_page_close(&pg, rc, keep);
		}
	}
	sm_endpoint_free(&e);
}

void
api_snap_show(struct sm_api_req *r)
{
	FILE *f;
	int rc;

	if ((f = api_raw_open(r)) == NULL)
		return;
	if ((rc = sm_snap_show(r->db, api_id_of(r, 0), f)) != 0) {
		fclose(f);
		api_fail_rc(r, rc);
		return;
	}
	api_reply_file(r, 200, f);
}

void
api_snap_restore(struct sm_api_req *r)
{
	struct sm_restore_stats st;
	struct sm_restore_opts o;
	struct sm_endpoint e;
	struct sm_buf b, stats;
	struct sm_run run;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&e, 0, sizeof(e));
	if (api_arg_bool(r, "dry_run", &o.dry_run) != 0)
		return;
	o.snapshot = api_id_of(r, 0);
	o.max_delete_ratio = r->api->cfg->import_max_delete_ratio;
	if ((rc = sm_snap_endpoint(r->db, o.snapshot, &e)) != 0 ||
	    (rc = sm_snap_restore(r->db, &e, &o, &st, &run)) != 0) {
		api_fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_buf_init(&stats);
	sm_restore_stats_json(&st, &stats);
	sm_jw_result(&b, "success", o.dry_run ? 0 : run.id, stats.data);
	sm_buf_free(&stats);
	api_reply(r, 200, &b);
out:
	sm_endpoint_free(&e);
}

