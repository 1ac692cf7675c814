/* See LICENSE file for copyright and license details. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "sm.h"
#include "sm-private.h"

#define TWO53		9007199254740992.0
#define LOCAL_KEYS	256	/* keys sorted without touching the heap */
#define LOCAL_SPANS	16	/* ignored members tracked likewise */
#define INSERTION_MAX	24	/* below this, insertion sort beats qsort */

/* A member of an object being printed: its key and its iterator slot. */
struct kent {
	const char *k;
	size_t len;
	int it;
};

/* Bytes of the full form that the hash leaves out (an ignored member). */
struct span {
	size_t off;
	size_t len;
};

/*
 * The state of one sm_canon()/sm_rec_digest() call.  Keys of all the
 * objects on the current path live in one array used as a stack: an
 * object pushes its keys on top, sorts them, prints its members (whose
 * objects push above) and pops them.  Indices, not pointers, survive a
 * reallocation.
 */
struct canon {
	struct sm_buf *b;
	struct kent *keys;
	size_t cap;
	size_t top;
	int heap;			/* keys was malloc'ed */
	const char *const *ignore;
	size_t nignore;
	struct span *spans;		/* NULL: leave ignored members out */
	size_t nspans;
	int records;			/* refuse what must not be stored */
};

static const double pow10tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Writes the decimal digits of u at p; returns how many. */
static int
utoa(uint64_t u, char *p)
{
	char tmp[20];
	int n = 0, i;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/*
 * The shortest significant digits (no trailing zeros) that read back as
 * a, a finite double > 0, into dig; returns their count and the decimal
 * exponent of the first digit in *exp10 (a = d.ddd * 10^exp10).
 */
static int
shortest(double a, char dig[24], int *exp10)
{
	char buf[40];
	double m;
	int k, n, p, first;

#if FLT_EVAL_METHOD == 0
	/*
	 * Fast path: the smallest k for which a * 10^k is an integer m that
	 * divides back into a.  m and 10^k are exact and the division is
	 * correctly rounded, so "m e-k" reads back as a.  When it has at
	 * most 15 digits it is the shortest: two different decimals of 15
	 * digits or fewer never read as the same (normal) double.
	 */
	if (a < TWO53) {
		for (k = 1; k <= 17; k++) {
			m = a * pow10tab[k];
			if (m >= TWO53)
				break;
			if (m != (double)(uint64_t)m || m / pow10tab[k] != a)
				continue;
			n = utoa((uint64_t)m, dig);
			*exp10 = n - 1 - k;
			while (n > 1 && dig[n - 1] == '0')
				n--;
			if (n <= 15)
				return n;
			break;
		}
	}
#endif
	/*
	 * The general case, by the definition: %.{p}e with the smallest p
	 * that reads back.  For a normal double, p = 15 reading back
	 * already gives the shortest after trailing zeros are dropped (by
	 * the argument above), so only 15, 16, 17 need a try.
	 */
	first = a >= DBL_MIN ? 15 : 1;
	for (p = first; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, a);
		if (p == 17 || strtod(buf, NULL) == a)
			break;
	}
	/* buf is "d.ddde+XX" or, for p == 1, "de+XX". */
	dig[0] = buf[0];
	n = 1;
	for (k = 2; buf[k] >= '0' && buf[k] <= '9'; k++)
		dig[n++] = buf[k];
	if (buf[1] != '.')
		k = 1;
	*exp10 = atoi(buf + k + 1);
	while (n > 1 && dig[n - 1] == '0')
		n--;
	return n;
}

int
sm_num_format(double d, char out[SM_NUM_MAX])
{
	char dig[24];
	char *p = out;
	int n, x, i, e;

	if (!isfinite(d)) {
		out[0] = '\0';
		return -1;
	}
	if (d < 0) {
		*p++ = '-';
		d = -d;
	}
	if (d <= TWO53 && d == (double)(int64_t)d) {
		if (d == 0)		/* -0 is 0 */
			p = out;
		p += utoa((uint64_t)d, p);
		*p = '\0';
		return (int)(p - out);
	}
	n = shortest(d, dig, &x);
	/* What %.{n}g prints, n being the count of significant digits. */
	if (x < -4 || x >= n) {
		*p++ = dig[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		e = x < 0 ? -x : x;
		if (e < 10)
			*p++ = '0';
		p += utoa((uint64_t)e, p);
	} else if (x >= 0) {
		memcpy(p, dig, x + 1);
		p += x + 1;
		if (n > x + 1) {
			*p++ = '.';
			memcpy(p, dig + x + 1, n - x - 1);
			p += n - x - 1;
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (i = -1; i > x; i--)
			*p++ = '0';
		memcpy(p, dig, n);
		p += n;
	}
	*p = '\0';
	return (int)(p - out);
}

static int
kcmp(const void *a, const void *b)
{
	const struct kent *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r;

	if ((r = memcmp(x->k, y->k, n)) != 0)
		return r;
	return (x->len > y->len) - (x->len < y->len);
}

static void
sortkeys(struct kent *v, size_t n)
{
	struct kent t;
	size_t i, j;

	if (n > INSERTION_MAX) {
		qsort(v, n, sizeof(*v), kcmp);
		return;
	}
	for (i = 1; i < n; i++) {
		t = v[i];
		for (j = i; j > 0 && kcmp(&v[j - 1], &t) > 0; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/* Makes room for n more keys on the key stack. */
static void
reserve(struct canon *c, size_t n)
{
	struct kent *k;
	size_t want;

	if (c->top + n <= c->cap)
		return;
	want = c->cap * 2;
	while (want < c->top + n)
		want *= 2;
	if (c->heap)
		k = sm_xrealloc(c->keys, want * sizeof(*k));
	else {
		k = sm_xmalloc(want * sizeof(*k));
		memcpy(k, c->keys, c->top * sizeof(*k));
	}
	c->keys = k;
	c->cap = want;
	c->heap = 1;
}

static int
ignored(const struct canon *c, const char *k, size_t len)
{
	size_t i;

	for (i = 0; i < c->nignore; i++)
		if (strlen(c->ignore[i]) == len &&
		    memcmp(c->ignore[i], k, len) == 0)
			return 1;
	return 0;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL
#define HASZERO(x)	(((x) - ONES) & ~(x) & HIGHS)

/*
 * Appends s as a JSON string.  Most strings need no escape at all: those
 * are found 8 bytes at a time and copied whole; the others go to
 * sm_buf_add_jstr(), the one definition of the escaping.
 */
static void
addstr(struct sm_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint64_t x;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		if ((HASZERO(x ^ (ONES * '"')) | HASZERO(x ^ (ONES * '\\')) |
		    ((x - ONES * 0x20) & ~x & HIGHS)) != 0)
			goto escape;
	}
	for (; i < n; i++)
		if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\')
			goto escape;
	sm_buf_grow(b, n + 2);
	b->data[b->len] = '"';
	memcpy(b->data + b->len + 1, s, n);
	b->len += n + 2;
	b->data[b->len - 1] = '"';
	b->data[b->len] = '\0';
	return;
escape:
	sm_buf_add_jstr(b, s, n);
}

static int value(struct canon *, jv, int);

/*
 * Prints object v with its members sorted by key.  At the top level
 * (depth 1) members named in the ignore list are either left out or, when
 * c->spans is set, printed and recorded as spans for the hash to skip.
 */
static int
object(struct canon *c, jv v, int depth)
{
	struct sm_buf *b = c->b;
	struct kent *e;
	struct span *sp;
	jv k, mv;
	size_t base = c->top, n = 0, i, start, printed = 0, kept = 0;
	int it, rc = 0, top = depth == 1 && c->nignore > 0, skip;

	for (it = jv_object_iter(v); jv_object_iter_valid(v, it);
	    it = jv_object_iter_next(v, it)) {
		reserve(c, 1);
		e = &c->keys[c->top++];
		k = jv_object_iter_key(v, it);
		/* The object keeps its own reference: the bytes stay put. */
		e->k = jv_string_value(k);
		e->len = (size_t)jv_string_length_bytes(k);
		e->it = it;
		n++;
	}
	sortkeys(c->keys + base, n);
	sm_buf_addc(b, '{');
	for (i = 0; i < n && rc == 0; i++) {
		e = &c->keys[base + i];
		skip = top && ignored(c, e->k, e->len);
		if (skip && c->spans == NULL)
			continue;
		if (printed++ > 0)
			sm_buf_addc(b, ',');
		start = b->len;
		addstr(b, e->k, e->len);
		sm_buf_addc(b, ':');
		/* e may move when a nested object grows the key stack. */
		mv = jv_object_iter_value(v, c->keys[base + i].it);
		rc = value(c, mv, depth + 1);
		jv_free(mv);
		if (!skip) {
			kept++;
			continue;
		}
		/*
		 * Left out of the hash: with the comma before it when a kept
		 * member precedes it, else with the comma after it, if any
		 * (written by the next turn, before the hash is taken).
		 */
		sp = &c->spans[c->nspans++];
		sp->off = kept > 0 ? start - 1 : start;
		sp->len = b->len - sp->off + (kept == 0 && i + 1 < n);
	}
	sm_buf_addc(b, '}');
	c->top = base;
	return rc;
}

static int
array(struct canon *c, jv v, int depth)
{
	jv e;
	int i, n, rc = 0;

	sm_buf_addc(c->b, '[');
	n = jv_array_length(jv_copy(v));
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			sm_buf_addc(c->b, ',');
		e = jv_array_get(jv_copy(v), i);
		rc = value(c, e, depth + 1);
		jv_free(e);
	}
	sm_buf_addc(c->b, ']');
	return rc;
}

/* Prints v (not consumed) at nesting depth (1 for the top). */
static int
value(struct canon *c, jv v, int depth)
{
	char num[SM_NUM_MAX];
	int n;

	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		sm_buf_add(c->b, "null", 4);
		return 0;
	case JV_KIND_TRUE:
		sm_buf_add(c->b, "true", 4);
		return 0;
	case JV_KIND_FALSE:
		sm_buf_add(c->b, "false", 5);
		return 0;
	case JV_KIND_NUMBER:
		if ((n = sm_num_format(jv_number_value(v), num)) < 0)
			return sm_error(SM_EDATA, "non-finite number");
		/*
		 * A record's integer beyond 2^53 that prints without an
		 * exponent (9007199254740994, from 9007199254740994.0 or a
		 * map) would be stored as a literal that sm_json_check()
		 * refuses, and fail sm-tenant check.
		 */
		if (c->records && fabs(jv_number_value(v)) > TWO53 &&
		    strpbrk(num, ".e") == NULL)
			return sm_error(SM_EDATA, "number %s is an integer "
			    "beyond 2^53: quote it as a string", num);
		sm_buf_add(c->b, num, (size_t)n);
		return 0;
	case JV_KIND_STRING:
		addstr(c->b, jv_string_value(v),
		    (size_t)jv_string_length_bytes(jv_copy(v)));
		return 0;
	case JV_KIND_ARRAY:
		if (depth > SM_MAX_DEPTH)
			return sm_error(SM_EDATA, "nesting deeper than %d",
			    SM_MAX_DEPTH);
		return array(c, v, depth);
	case JV_KIND_OBJECT:
		if (depth > SM_MAX_DEPTH)
			return sm_error(SM_EDATA, "nesting deeper than %d",
			    SM_MAX_DEPTH);
		return object(c, v, depth);
	default:
		return sm_error(SM_EDATA, "invalid value");
	}
}

/* Prints v into b; spans, when not NULL, receives the ignored members. */
static int
canon(jv v, const char *const *ignore, size_t n, struct sm_buf *b,
    struct span *spans, size_t *nspans, int records)
{
	struct kent local[LOCAL_KEYS];
	struct canon c;
	size_t start = b->len;
	int rc;

	c.b = b;
	c.keys = local;
	c.cap = LOCAL_KEYS;
	c.top = 0;
	c.heap = 0;
	c.ignore = ignore;
	c.nignore = ignore != NULL ? n : 0;
	c.spans = spans;
	c.nspans = 0;
	c.records = records;
	rc = value(&c, v, 1);
	if (c.heap)
		free(c.keys);
	if (rc != 0) {
		b->len = start;
		if (b->data != NULL)
			b->data[start] = '\0';
	}
	if (nspans != NULL)
		*nspans = c.nspans;
	return rc;
}

/*
 * Appends the canonical form of v to b, leaving out ignored top-level
 * members.  Does not consume v.  Returns 0, or SM_EDATA with a message
 * (non-finite number, nesting deeper than SM_MAX_DEPTH, invalid value);
 * b is then as it was.
 */
int
sm_canon(jv v, const char *const *ignore, size_t n, struct sm_buf *b)
{
	return canon(v, ignore, n, b, NULL, NULL, 0);
}

/* XXH3-128 of the bytes as 32 lowercase hex digits, big-endian order. */
void
sm_hash_hex(const void *p, size_t n, char out[SM_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	XXH128_canonical_t cf;
	int i;

	XXH128_canonicalFromHash(&cf, XXH3_128bits(p, n));
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[cf.digest[i] >> 4];
		out[2 * i + 1] = hex[cf.digest[i] & 15];
	}
	out[32] = '\0';
}

static void
hash_state_hex(XXH3_state_t *st, char out[SM_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	XXH128_canonical_t cf;
	int i;

	XXH128_canonicalFromHash(&cf, XXH3_128bits_digest(st));
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[cf.digest[i] >> 4];
		out[2 * i + 1] = hex[cf.digest[i] & 15];
	}
	out[32] = '\0';
}

/*
 * Resets data to the canonical form of rec (everything) and writes the
 * hash of the form without the ignored top-level members into hash.  The
 * form is printed once: ignored members are recorded as spans that the
 * streaming hash skips.  Does not consume rec.  Returns 0, or SM_EDATA as
 * sm_canon() or for an integer beyond 2^53 that the form would print
 * without an exponent (stored, it would not read back: SPEC §2 refuses
 * such literals); data is then empty and hash "".
 */
int
sm_rec_digest(jv rec, const char *const *ignore, size_t n,
    struct sm_buf *data, char hash[SM_HASH_HEX])
{
	struct span local[LOCAL_SPANS], *spans = local;
	XXH3_state_t st;
	size_t nspans = 0, i, off;
	int rc;

	sm_buf_reset(data);
	hash[0] = '\0';
	if (ignore == NULL || n == 0 || jv_get_kind(rec) != JV_KIND_OBJECT) {
		if ((rc = canon(rec, NULL, 0, data, NULL, NULL, 1)) != 0)
			return rc;
		sm_hash_hex(data->data, data->len, hash);
		return 0;
	}
	/* An object holds each key once: at most n members are ignored. */
	if (n > LOCAL_SPANS)
		spans = sm_xmalloc(n * sizeof(*spans));
	rc = canon(rec, ignore, n, data, spans, &nspans, 1);
	if (rc == 0) {
		XXH3_INITSTATE(&st);
		XXH3_128bits_reset(&st);
		for (i = 0, off = 0; i < nspans; i++) {
			XXH3_128bits_update(&st, data->data + off,
			    spans[i].off - off);
			off = spans[i].off + spans[i].len;
		}
		XXH3_128bits_update(&st, data->data + off, data->len - off);
		hash_state_hex(&st, hash);
	}
	if (spans != local)
		free(spans);
	return rc;
}

/*
 * The key rule (SPEC §2), the one place it is written: the first of
 * external_id, id and id_field that get() finds present and not null
 * names the record; it must be a non-empty string without NUL bytes, or
 * an integer of at most 2^53 in magnitude, printed in decimal (so 7 and
 * "7" give "7").  An integer literal (v->s set) is taken as written,
 * -0 as 0.
 */
int
sm_key_pick(const char *id_field,
    void (*get)(const char *name, struct sm_keyval *v, void *arg), void *arg,
    struct sm_buf *key, const char **field)
{
	const char *names[3] = { "external_id", "id", id_field };
	char num[SM_NUM_MAX];
	struct sm_keyval v;
	size_t nnames = 2, i;
	int n;

	sm_buf_reset(key);
	if (field != NULL)
		*field = NULL;
	if (id_field != NULL && *id_field != '\0' &&
	    strcmp(id_field, "external_id") != 0 && strcmp(id_field, "id") != 0)
		nnames = 3;
	for (i = 0; i < nnames; i++) {
		memset(&v, 0, sizeof(v));
		get(names[i], &v, arg);
		if (v.kind == SM_KEY_ABSENT)
			continue;
		if (field != NULL)
			*field = names[i];
		switch (v.kind) {
		case SM_KEY_STRING:
			if (v.len == 0)
				return sm_error(SM_EDATA, "key '%s' is an "
				    "empty string", names[i]);
			if (memchr(v.s, '\0', v.len) != NULL)
				return sm_error(SM_EDATA, "key '%s' contains "
				    "a NUL character", names[i]);
			sm_buf_add(key, v.s, v.len);
			return 0;
		case SM_KEY_NUMBER:
			if (v.s != NULL) {
				if (v.len == 2 && v.s[0] == '-' && v.s[1] == '0')
					sm_buf_addc(key, '0');
				else
					sm_buf_add(key, v.s, v.len);
				return 0;
			}
			if (fabs(v.d) <= TWO53 && v.d == (double)(int64_t)v.d) {
				n = sm_num_format(v.d, num);
				sm_buf_add(key, num, (size_t)n);
				return 0;
			}
			/* FALLTHROUGH */
		default:
			return sm_error(SM_EDATA, "key '%s' is not a string or "
			    "integer", names[i]);
		}
	}
	if (nnames == 3)
		return sm_error(SM_EDATA, "no key: record has no "
		    "'external_id', 'id' or '%s'", id_field);
	return sm_error(SM_EDATA,
	    "no key: record has no 'external_id' or 'id'");
}

/* sm_key_pick()'s look-up in a jv object. */
static void
jv_member(const char *name, struct sm_keyval *kv, void *arg)
{
	jv *rec = arg, v;

	v = jv_object_get(jv_copy(*rec), jv_string(name));
	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		kv->kind = SM_KEY_ABSENT;
		break;
	case JV_KIND_STRING:
		kv->kind = SM_KEY_STRING;
		/* Borrowed: rec holds the value while the rule runs. */
		kv->s = jv_string_value(v);
		kv->len = (size_t)jv_string_length_bytes(jv_copy(v));
		break;
	case JV_KIND_NUMBER:
		kv->kind = SM_KEY_NUMBER;
		kv->d = jv_number_value(v);
		break;
	default:
		kv->kind = SM_KEY_OTHER;
		break;
	}
	jv_free(v);
}

int
sm_rec_key_field(jv rec, const char *id_field, struct sm_buf *key,
    const char **field)
{
	int rc;

	if (jv_get_kind(rec) != JV_KIND_OBJECT) {
		sm_buf_reset(key);
		if (field != NULL)
			*field = NULL;
		return sm_error(SM_EDATA, "record is not an object");
	}
	if ((rc = sm_key_pick(id_field, jv_member, &rec, key, field)) != 0)
		sm_buf_reset(key);
	return rc;
}

int
sm_rec_key(jv rec, const char *id_field, struct sm_buf *key)
{
	return sm_rec_key_field(rec, id_field, key, NULL);
}
