/* See LICENSE file for copyright and license details. */
/*
 * A libFuzzer target for the fast record path: sm_rec_fast() must give
 * what the slow path gives, sm_json_parse() + sm_rec_key() +
 * sm_rec_digest(): the same return code and reason, and on success the
 * same key, canonical form and hash.  Each input is tried as a whole
 * record and wrapped as the value of a member, under a few ignore lists
 * and id fields.  A difference aborts with both outcomes on stderr.
 *
 * Built and run by "make fuzz-fastrec".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct res {
	int rc;
	char reason[1024];
	int keyed;
	struct sm_buf key, data;
	char hash[SM_HASH_HEX];
};

struct conf {
	const char *const *ignore;
	size_t n;
	const char *id_field;
};

static const char *const ign1[] = { "id" };
static const char *const ign3[] = { "v", "b", "scraped_at" };
static const char *const ign_many[] = { "a", "b", "id", "v", "z", "",
	"\xc3\xa9", "external_id", "ref" };
static const struct conf confs[] = {
	{ NULL, 0, NULL },
	{ ign1, 1, "ref" },
	{ ign3, 3, "v" },
	{ ign_many, NELEM(ign_many), "b" },
};

static struct res slow, fast;
static struct sm_buf wrap;

static void
slow_path(const char *text, size_t len, const struct conf *c, struct res *r)
{
	struct sm_json_err err;
	jv v;

	r->keyed = 0;
	r->hash[0] = '\0';
	sm_buf_reset(&r->key);
	sm_buf_reset(&r->data);
	if ((r->rc = sm_json_parse(text, len, &v, &err)) != 0) {
		snprintf(r->reason, sizeof(r->reason), "%s", err.reason);
		return;
	}
	if ((r->rc = sm_rec_key(v, c->id_field, &r->key)) != 0) {
		snprintf(r->reason, sizeof(r->reason), "%s", sm_errmsg());
		jv_free(v);
		return;
	}
	r->keyed = 1;
	if ((r->rc = sm_rec_digest(v, c->ignore, c->n, &r->data,
	    r->hash)) != 0)
		snprintf(r->reason, sizeof(r->reason), "%s", sm_errmsg());
	else
		r->reason[0] = '\0';
	jv_free(v);
}

static void
fast_path(const char *text, size_t len, const struct conf *c, struct res *r)
{
	struct sm_json_err err;

	r->rc = sm_rec_fast(text, len, c->ignore, c->n, c->id_field,
	    &r->data, r->hash, &r->key, &err);
	if (r->rc != 0) {
		snprintf(r->reason, sizeof(r->reason), "%s", sm_errmsg());
		if (strncmp(err.reason, r->reason, sizeof(err.reason) - 1) != 0)
			snprintf(r->reason, sizeof(r->reason), "err.reason "
			    "'%s' differs from sm_errmsg()", err.reason);
	} else
		r->reason[0] = '\0';
}

static void
show(const char *who, const struct res *r)
{
	fprintf(stderr, "%s: rc %d reason '%s' key '%.*s' hash '%s'\n"
	    "  data '%.*s'\n", who, r->rc, r->reason, (int)r->key.len,
	    r->key.data ? r->key.data : "", r->hash, (int)r->data.len,
	    r->data.data ? r->data.data : "");
}

static void
same(const char *text, size_t len, const struct conf *c)
{
	int ok;

	slow_path(text, len, c, &slow);
	fast_path(text, len, c, &fast);
	ok = slow.rc == fast.rc && strcmp(slow.reason, fast.reason) == 0 &&
	    strcmp(slow.hash, fast.hash) == 0 &&
	    slow.data.len == fast.data.len &&
	    (slow.data.len == 0 ||
	    memcmp(slow.data.data, fast.data.data, slow.data.len) == 0);
	if (slow.keyed)
		ok = ok && slow.key.len == fast.key.len &&
		    (slow.key.len == 0 ||
		    memcmp(slow.key.data, fast.key.data, slow.key.len) == 0);
	if (ok)
		return;
	fprintf(stderr, "fuzz-fastrec: the paths differ on %zu bytes, "
	    "id_field %s, %zu ignored\n", len,
	    c->id_field ? c->id_field : "NULL", c->n);
	show("slow", &slow);
	show("fast", &fast);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sm_buf_init(&slow.key);
	sm_buf_init(&slow.data);
	sm_buf_init(&fast.key);
	sm_buf_init(&fast.data);
	sm_buf_init(&wrap);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < NELEM(confs); i++)
		same((const char *)p, n, &confs[i]);
	sm_buf_reset(&wrap);
	sm_buf_adds(&wrap, "{\"id\":\"x\",\"v\":");
	sm_buf_add(&wrap, p, n);
	sm_buf_addc(&wrap, '}');
	same(wrap.data, wrap.len, &confs[n % NELEM(confs)]);
	return 0;
}
