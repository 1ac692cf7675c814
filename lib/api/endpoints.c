/* See LICENSE file for copyright and license details. */
#include <inttypes.h>
#include <string.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/*
 * GET, POST /sources and /targets, GET, DELETE /sources/{id} and
 * /targets/{id}: one handler for either side, the route's.
 */

struct ep_walk {
	struct sm_db *db;
	struct page *pg;
	struct sm_buf b;
};

static int
ep_item(struct sm_endpoint *e, void *arg)
{
	struct ep_walk *w = arg;

	sm_endpoint_describe(w->db, e, &w->b);
	return api_page_add(w->pg, e->id, w->b.data, w->b.len);
}

void
api_ep_list(struct sm_api_req *r)
{
	struct ep_walk w;
	struct page pg;
	int rc;

	if (api_page_open(r, &pg) != 0)
		return;
	w.db = r->db;
	w.pg = &pg;
	sm_buf_init(&w.b);
	rc = sm_endpoint_each(r->db, r->route->side, ep_item, &w);
	sm_buf_free(&w.b);
	api_page_close(&pg, rc, NULL);
}

/* Loads the source or target of id segment i; 0, or -1 with 404. */
int
api_endpoint(struct sm_api_req *r, enum sm_side side, int i,
    struct sm_endpoint *e)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = sm_endpoint_get(r->db, side, r->ids[i], e)) != 0) {
		api_fail_rc(r, rc);
		return -1;
	}
	return 0;
}

void
api_ep_show(struct sm_api_req *r)
{
	struct sm_endpoint e;
	struct sm_buf b;

	if (api_endpoint(r, r->route->side, 0, &e) != 0)
		return;
	sm_buf_init(&b);
	sm_endpoint_describe(r->db, &e, &b);
	api_reply(r, 200, &b);
	sm_endpoint_free(&e);
}

/* Runs add (or remove) of e in a transaction of its own. */
static int
ep_write(struct sm_db *db, struct sm_endpoint *e, int add)
{
	int rc;

	if ((rc = sm_db_begin(db)) != 0)
		return rc;
	rc = add ? sm_endpoint_add(db, e) : sm_endpoint_remove(db, e->side,
	    e->id);
	if (rc == 0)
		rc = sm_db_commit(db);
	if (rc != 0)
		sm_db_rollback(db);
	return rc;
}

void
api_ep_create(struct sm_api_req *r)
{
	static const char *const source_names[] = { "name", "type", "config",
	    "map", "id_field", "hash_ignore", NULL };
	static const char *const target_names[] = { "name", "type", "config",
	    NULL };
	enum sm_side side = r->route->side;
	struct sm_endpoint e;
	struct sm_buf b;
	int rc;
	jv o;

	memset(&e, 0, sizeof(e));
	e.side = side;
	if (api_body_object(r, &o) != 0)
		return;
	if (api_members_known(r, o, side == SM_SOURCE ? source_names :
	    target_names) != 0 ||
	    api_member_str(r, o, "name", &e.name) != 0 ||
	    api_member_str(r, o, "type", &e.type) != 0 ||
	    api_member_obj(r, o, "config", &e.config) != 0 ||
	    api_member_str(r, o, "map", &e.map) != 0 ||
	    api_member_str(r, o, "id_field", &e.id_field) != 0 ||
	    api_member_strv(r, o, "hash_ignore", &e.hash_ignore,
	    &e.nhash_ignore) != 0)
		goto out;
	if (e.name == NULL || e.type == NULL) {
		api_fail(r, 422, "a %s needs a name and a type",
		    side == SM_SOURCE ? "source" : "target");
		goto out;
	}
	if ((rc = ep_write(r->db, &e, 1)) != 0) {
		api_fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_endpoint_describe(r->db, &e, &b);
	api_reply(r, 201, &b);
	sm_buf_addf(&b, "/%s/%" PRId64, side == SM_SOURCE ? "sources" :
	    "targets", e.id);
	r->resp.location = b.data;
out:
	sm_endpoint_free(&e);
	jv_free(o);
}

void
api_ep_delete(struct sm_api_req *r)
{
	struct sm_endpoint e;
	struct sm_buf b;
	int rc;

	if (api_endpoint(r, r->route->side, 0, &e) != 0)
		return;
	if ((rc = ep_write(r->db, &e, 0)) != 0)
		api_fail_rc(r, rc);
	else {
		sm_buf_init(&b);
		sm_jw_begin(&b);
		sm_jw_int(&b, "id", e.id);
		sm_jw_str(&b, "name", e.name);
		sm_jw_bool(&b, "deleted", 1);
		sm_jw_end(&b);
		api_reply(r, 200, &b);
	}
	sm_endpoint_free(&e);
}

