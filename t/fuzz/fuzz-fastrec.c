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
#include "sm-private.h"
#include "../fastrec-compare.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const ign1[] = { "id" };
static const char *const ign3[] = { "v", "b", "scraped_at" };
static const char *const ign_many[] = { "a", "b", "id", "v", "z", "",
	"\xc3\xa9", "external_id", "ref" };
static const struct fr_conf confs[] = {
	{ NULL, 0, NULL },
	{ ign1, 1, "ref" },
	{ ign3, 3, "v" },
	{ ign_many, NELEM(ign_many), "b" },
};

static struct fr_res slow, fast;
static struct sm_buf wrap;

static void
show(const char *who, const struct fr_res *r)
{
	fprintf(stderr, "%s: rc %d reason '%s' key '%.*s' hash '%s'\n"
	    "  data '%.*s'\n", who, r->rc, r->reason, (int)r->key.len,
	    r->key.data ? r->key.data : "", r->hash, (int)r->data.len,
	    r->data.data ? r->data.data : "");
}

static void
same(const char *text, size_t len, const struct fr_conf *c)
{
	int ok = fr_agree(text, len, c, &slow, &fast);

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
	fr_init(&slow);
	fr_init(&fast);
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
