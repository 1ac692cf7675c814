/* See LICENSE file for copyright and license details. */
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* GET /sources/{id}/properties and /targets/{id}/properties */

static int
props_add(int64_t id, const char *rec, size_t len, void *arg)
{
	return api_page_add(arg, id, rec, len) == PAGE_FULL;
}

/*
 * Calls page_add for the live properties of e after pg->after (or only
 * for property id when id > 0), ordered by id.
 */
int
api_props_walk(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, struct page *pg)
{
	return sm_snap_cat_page(db, e, manual, id, pg->after,
	    pg->limit < 0 ? -1 : pg->limit + 1, props_add, pg);
}

void
api_props(struct sm_api_req *r)
{
	static const char *const keep[] = { "manual", NULL };
	struct sm_endpoint e;
	struct page pg;
	int manual = 0, rc;

	if (r->route->side == SM_TARGET &&
	    api_arg_bool(r, "manual", &manual) != 0)
		return;
	if (api_endpoint(r, r->route->side, 0, &e) != 0)
		return;
	if (api_page_open(r, &pg) == 0) {
		rc = api_props_walk(r->db, &e, manual, 0, &pg);
		api_page_close(&pg, rc, keep);
	}
	sm_endpoint_free(&e);
}

