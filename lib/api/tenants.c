/* See LICENSE file for copyright and license details. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sm.h"
#include "sm-api.h"
#include "api.h"

/* POST /tenants */

void
api_tenant_create(struct sm_api_req *r)
{
	static const char *const names[] = { "name", "slug", "api_key", NULL };
	char key[SM_KEY_MAX], slug[SM_SLUG_MAX + 1], *name = NULL;
	char *want = NULL, *given = NULL;
	struct sm_buf b;
	int64_t created;
	int rc;
	jv o;

	if (api_body_object(r, &o) != 0)
		return;
	if (api_members_known(r, o, names) != 0 ||
	    api_member_str(r, o, "name", &name) != 0 ||
	    api_member_str(r, o, "slug", &want) != 0 ||
	    api_member_str(r, o, "api_key", &given) != 0)
		goto out;
	if (name == NULL) {
		api_fail(r, 422, "a tenant needs a name");
		goto out;
	}
	/* An api_key of the caller's (the original's body), else ours. */
	if ((rc = sm_tenant_create_key(r->api->cfg, name, want, given, slug,
	    key, &created)) != 0) {
		if (rc == SM_EUSAGE)
			api_fail(r, 422, "%s", sm_errmsg());
		else
			api_fail_rc(r, rc);
		goto out;
	}
	sm_buf_init(&b);
	sm_jw_begin(&b);
	sm_jw_str(&b, "id", slug);
	sm_jw_str(&b, "name", name);
	sm_jw_str(&b, "api_key", key);
	sm_jw_time(&b, "created_at", created);
	sm_jw_end(&b);
	sodium_memzero(key, sizeof(key));
	api_reply(r, 201, &b);
out:
	free(name);
	free(want);
	if (given != NULL)
		sodium_memzero(given, strlen(given));
	free(given);
	jv_free(o);
}
