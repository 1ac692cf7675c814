/* See LICENSE file for copyright and license details. */
/*
 * The differential check of the fast record path, shared by the unit test
 * (t/unit-fastrec.c) and the fuzzer (t/fuzz/fuzz-fastrec.c): sm_rec_fast()
 * must give what the slow path gives, sm_json_parse() + sm_rec_key() +
 * sm_rec_digest(): the same return code and reason, and the same key,
 * canonical form and hash.  Needs <stdio.h>, <string.h>, <jv.h>,
 * "sm-private.h".
 */

/* One outcome of either path. */
struct fr_res {
	int rc;
	char reason[1024];
	int keyed;		/* the key was found */
	struct sm_buf key, data;
	char hash[SM_HASH_HEX];
};

/* An ignore list and id field a text is tried with. */
struct fr_conf {
	const char *const *ignore;
	size_t n;
	const char *id_field;
};

static void
fr_init(struct fr_res *r)
{
	memset(r, 0, sizeof(*r));
	sm_buf_init(&r->key);
	sm_buf_init(&r->data);
}

static void
fr_slow(const char *text, size_t len, const struct fr_conf *c,
    struct fr_res *r)
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
fr_fast(const char *text, size_t len, const struct fr_conf *c,
    struct fr_res *r)
{
	struct sm_json_err err;

	r->rc = sm_rec_fast(text, len, c->ignore, c->n, c->id_field,
	    &r->data, r->hash, &r->key, &err);
	if (r->rc != 0) {
		snprintf(r->reason, sizeof(r->reason), "%s", sm_errmsg());
		/* err holds the same, cut to its size. */
		if (strncmp(err.reason, r->reason, sizeof(err.reason) - 1) != 0)
			snprintf(r->reason, sizeof(r->reason), "err.reason "
			    "'%s' differs from sm_errmsg()", err.reason);
	} else
		r->reason[0] = '\0';
	r->keyed = r->key.len > 0;
}

/* Runs both paths on text under c; 1 when they agree. */
static int
fr_agree(const char *text, size_t len, const struct fr_conf *c,
    struct fr_res *slow, struct fr_res *fast)
{
	int ok;

	fr_slow(text, len, c, slow);
	fr_fast(text, len, c, fast);
	ok = slow->rc == fast->rc && strcmp(slow->reason, fast->reason) == 0 &&
	    strcmp(slow->hash, fast->hash) == 0 &&
	    slow->data.len == fast->data.len &&
	    (slow->data.len == 0 ||
	    memcmp(slow->data.data, fast->data.data, slow->data.len) == 0);
	/* The key, whenever the slow path got to one. */
	if (slow->keyed || slow->rc == 0)
		ok = ok && slow->key.len == fast->key.len &&
		    (slow->key.len == 0 ||
		    memcmp(slow->key.data, fast->key.data, slow->key.len) == 0);
	return ok;
}
