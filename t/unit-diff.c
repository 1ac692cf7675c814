/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"
#include "sm-private.h"
#include "tap.h"

/* JSON text to jv; "-" is an absent document. */
static jv
parse(const char *s)
{
	jv v;

	if (strcmp(s, "-") == 0)
		return jv_invalid();
	v = jv_parse(s);
	if (!jv_is_valid(v)) {
		fprintf(stderr, "bad test JSON: %s\n", s);
		exit(2);
	}
	return v;
}

/* Checks the exact changes and the count returned. */
static void
t(const char *name, const char *old, const char *new, const char *want,
    int wantn)
{
	struct sm_buf b;
	jv a = parse(old), z = parse(new);
	int n;

	sm_buf_init(&b);
	n = sm_diff_json(a, z, &b);
	is_str(b.data, want, name);
	if (n != wantn)
		diag("%s: returned %d, want %d", name, n, wantn);
	ok(n == wantn, "%s: count", name);
	jv_free(a);
	jv_free(z);
	sm_buf_free(&b);
}

/*
 * A tiny RFC 6902 applier (add, remove, replace) that also checks that
 * each "from" is the value found at the path before the operation.
 */

/* The reference tokens of a JSON Pointer, unescaped: an array of strings. */
static jv
tokens(const char *p)
{
	jv v = jv_array();
	struct sm_buf t;

	sm_buf_init(&t);
	if (*p == '\0')
		return v;
	p++;			/* the leading '/' */
	for (;;) {
		sm_buf_reset(&t);
		sm_buf_add(&t, "", 0);
		for (; *p != '\0' && *p != '/'; p++) {
			if (p[0] == '~' && p[1] == '0')
				sm_buf_addc(&t, '~'), p++;
			else if (p[0] == '~' && p[1] == '1')
				sm_buf_addc(&t, '/'), p++;
			else
				sm_buf_addc(&t, *p);
		}
		v = jv_array_append(v, jv_string_sized(t.data, (int)t.len));
		if (*p == '\0')
			break;
		p++;
	}
	sm_buf_free(&t);
	return v;
}

static int
index_of(jv tok, int len, int add)
{
	const char *s = jv_string_value(tok);
	char *end;
	long i;

	if (*s < '0' || *s > '9')
		return -1;
	i = strtol(s, &end, 10);
	if (*end != '\0' || i > len || (!add && i == len))
		return -1;
	return (int)i;
}

/* Applies op at toks[i...] inside doc; consumes doc and value. */
static jv
apply_at(jv doc, jv toks, int i, const char *op, jv from, jv value, int *bad)
{
	int n = jv_array_length(jv_copy(toks)), len, k, j;
	jv tok, child, out;

	if (i == n) {
		if (jv_is_valid(from) && !jv_equal(jv_copy(doc), jv_copy(from)))
			*bad = 1;
		jv_free(doc);
		return strcmp(op, "remove") == 0 ? jv_invalid() : value;
	}
	tok = jv_array_get(jv_copy(toks), i);
	if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		int has = jv_object_has(jv_copy(doc), jv_copy(tok));

		if (!has && (i + 1 < n || strcmp(op, "add") != 0)) {
			*bad = 1;
			jv_free(tok);
			jv_free(value);
			return doc;
		}
		child = has ? jv_object_get(jv_copy(doc), jv_copy(tok)) :
		    jv_null();
		child = apply_at(child, toks, i + 1, op, from, value, bad);
		if (!jv_is_valid(child)) {
			jv_free(child);
			return jv_object_delete(doc, tok);
		}
		return jv_object_set(doc, tok, child);
	}
	if (jv_get_kind(doc) == JV_KIND_ARRAY) {
		len = jv_array_length(jv_copy(doc));
		k = index_of(tok, len, i + 1 == n && strcmp(op, "add") == 0);
		jv_free(tok);
		if (k < 0) {
			*bad = 1;
			jv_free(value);
			return doc;
		}
		if (i + 1 == n && strcmp(op, "add") == 0) {
			out = jv_array();
			for (j = 0; j < len; j++) {
				if (j == k)
					out = jv_array_append(out,
					    jv_copy(value));
				out = jv_array_append(out,
				    jv_array_get(jv_copy(doc), j));
			}
			if (k == len)
				out = jv_array_append(out, jv_copy(value));
			jv_free(value);
			jv_free(doc);
			return out;
		}
		child = jv_array_get(jv_copy(doc), k);
		child = apply_at(child, toks, i + 1, op, from, value, bad);
		if (jv_is_valid(child))
			return jv_array_set(doc, k, child);
		jv_free(child);
		out = jv_array();
		for (j = 0; j < len; j++)
			if (j != k)
				out = jv_array_append(out,
				    jv_array_get(jv_copy(doc), j));
		jv_free(doc);
		return out;
	}
	*bad = 1;
	jv_free(tok);
	jv_free(value);
	return doc;
}

/* Applies the patch text to doc (consumed); *bad set on any failure. */
static jv
apply(jv doc, const char *patch, int *bad)
{
	jv ops = jv_parse(patch), o, op, path, from, value, toks;
	int i, n;

	if (jv_get_kind(ops) != JV_KIND_ARRAY) {
		*bad = 1;
		jv_free(ops);
		return doc;
	}
	n = jv_array_length(jv_copy(ops));
	for (i = 0; i < n; i++) {
		o = jv_array_get(jv_copy(ops), i);
		op = jv_object_get(jv_copy(o), jv_string("op"));
		path = jv_object_get(jv_copy(o), jv_string("path"));
		from = jv_object_has(jv_copy(o), jv_string("from")) ?
		    jv_object_get(jv_copy(o), jv_string("from")) : jv_invalid();
		value = jv_object_has(jv_copy(o), jv_string("value")) ?
		    jv_object_get(jv_copy(o), jv_string("value")) : jv_null();
		/* remove and replace carry the old value, add does not. */
		if (strcmp(jv_string_value(op), "add") == 0 ?
		    jv_is_valid(from) : !jv_is_valid(from))
			*bad = 1;
		toks = tokens(jv_string_value(path));
		if (!jv_is_valid(doc)) {
			/* Only a whole-document add applies to nothing. */
			if (jv_array_length(jv_copy(toks)) != 0 ||
			    strcmp(jv_string_value(op), "add") != 0)
				*bad = 1;
			jv_free(doc);
			doc = jv_copy(value);
		} else
			doc = apply_at(doc, toks, 0, jv_string_value(op),
			    from, jv_copy(value), bad);
		jv_free(toks);
		jv_free(op);
		jv_free(path);
		jv_free(from);
		jv_free(value);
		jv_free(o);
	}
	jv_free(ops);
	return doc;
}

/* A small deterministic generator of JSON values with colliding keys. */
static uint64_t seed = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const keys[] = {
	"a", "b", "price", "a/b", "~", "~1", "/", "", "é", "名前", "c~/d"
};

static jv
gen(int depth)
{
	static const char *const strs[] = { "x", "y", "Zürich", "a\"b", "" };
	jv v;
	unsigned i, n;

	switch (rnd(depth > 0 ? 10 : 6)) {
	case 0: return jv_null();
	case 1: return jv_true();
	case 2: return jv_false();
	case 3: return jv_number((double)rnd(4));
	case 4: return jv_number(0.5 * rnd(3));
	case 5: return jv_string(strs[rnd(5)]);
	case 6:
	case 7:
		v = jv_array();
		for (i = 0, n = rnd(5); i < n; i++)
			v = jv_array_append(v, gen(depth - 1));
		return v;
	default:
		v = jv_object();
		for (i = 0, n = rnd(6); i < n; i++)
			v = jv_object_set(v,
			    jv_string(keys[rnd(NKEYS)]),
			    gen(depth - 1));
		return v;
	}
}

/* Changes some parts of v (consumed), keeping the rest. */
static jv
mutate(jv v, int depth)
{
	jv out, k;
	int i, n;

	if (rnd(5) == 0)
		return jv_free(v), gen(depth);
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		out = jv_object();
		jv_object_foreach(v, key, val) {
			if (rnd(6) == 0) {
				jv_free(key);
				jv_free(val);
				continue;
			}
			out = jv_object_set(out, key, mutate(val, depth - 1));
		}
		if (rnd(3) == 0) {
			k = jv_string(keys[rnd(NKEYS)]);
			out = jv_object_set(out, k, gen(depth - 1));
		}
		jv_free(v);
		return out;
	}
	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		out = jv_array();
		n = jv_array_length(jv_copy(v));
		if (rnd(3) == 0)
			n = (int)rnd((unsigned)n + 1);
		for (i = 0; i < n; i++)
			out = jv_array_append(out, mutate(jv_array_get(
			    jv_copy(v), i), depth - 1));
		for (i = (int)rnd(3); i > 0; i--)
			out = jv_array_append(out, gen(depth - 1));
		jv_free(v);
		return out;
	}
	return v;
}

/* The applier itself: it must catch a wrong "from" and insert in place. */
static void
applier_check(void)
{
	struct sm_buf b;
	jv got;
	int bad = 0;

	got = apply(parse("{\"a\":1}"), "[{\"op\":\"replace\",\"path\":"
	    "\"/a\",\"from\":2,\"value\":3}]", &bad);
	ok(bad, "the applier refuses a replace whose from is wrong");
	jv_free(got);
	bad = 0;
	got = apply(parse("{\"f\":[1,3]}"), "[{\"op\":\"add\",\"path\":"
	    "\"/f/1\",\"value\":2},{\"op\":\"remove\",\"path\":"
	    "\"/f/0\",\"from\":1}]", &bad);
	sm_buf_init(&b);
	if (!bad)
		sm_canon(got, NULL, 0, &b);
	is_str(b.data, "{\"f\":[2,3]}", "the applier inserts and removes "
	    "in place");
	sm_buf_free(&b);
	jv_free(got);
}

/* Diffs random pairs and applies each patch to the old value. */
static void
property(int rounds)
{
	struct sm_buf b, c1, c2;
	jv a, z, got;
	int i, bad, failed = 0, equal_ok = 1, n;

	sm_buf_init(&b);
	sm_buf_init(&c1);
	sm_buf_init(&c2);
	for (i = 0; i < rounds; i++) {
		a = rnd(20) == 0 ? jv_invalid() : gen(4);
		z = rnd(20) == 0 ? jv_invalid() :
		    mutate(jv_is_valid(a) ? jv_copy(a) : gen(4), 4);
		sm_buf_reset(&b);
		n = sm_diff_json(a, z, &b);
		bad = n < 0;
		got = apply(jv_copy(a), b.data, &bad);
		if (!jv_is_valid(z)) {
			if (jv_is_valid(got))
				bad = 1;
		} else if (!jv_is_valid(got) ||
		    !jv_equal(jv_copy(got), jv_copy(z)))
			bad = 1;
		/* Equal values give no operation, and only they. */
		if (jv_is_valid(a) && jv_is_valid(z) &&
		    (n == 0) != jv_equal(jv_copy(a), jv_copy(z)))
			equal_ok = 0;
		if (bad && failed++ < 3) {
			sm_buf_reset(&c1);
			sm_buf_reset(&c2);
			if (jv_is_valid(a))
				sm_canon(a, NULL, 0, &c1);
			if (jv_is_valid(z))
				sm_canon(z, NULL, 0, &c2);
			diag("old %s new %s patch %s", c1.len ? c1.data : "-",
			    c2.len ? c2.data : "-", b.data);
		}
		jv_free(got);
		jv_free(a);
		jv_free(z);
	}
	ok(failed == 0, "applying the patch to old gives new (%d random pairs, "
	    "%d failed)", rounds, failed);
	ok(equal_ok, "no operation exactly when the values are equal");
	sm_buf_free(&b);
	sm_buf_free(&c1);
	sm_buf_free(&c2);
}

int
main(void)
{
	tap_plan(40);
	t("equal objects", "{\"a\":1,\"b\":[1,{\"c\":null}]}",
	    "{\"b\":[1,{\"c\":null}],\"a\":1.0}", "[]", 0);
	t("scalar replaced", "{\"price\":500000}", "{\"price\":520000}",
	    "[{\"op\":\"replace\",\"path\":\"/price\",\"from\":500000,"
	    "\"value\":520000}]", 1);
	t("nested objects",
	    "{\"z\":1,\"a\":{\"b\":{\"d\":2,\"c\":1}}}",
	    "{\"a\":{\"b\":{\"c\":1,\"d\":3,\"e\":[1]}}}",
	    "[{\"op\":\"replace\",\"path\":\"/a/b/d\",\"from\":2,\"value\":3},"
	    "{\"op\":\"add\",\"path\":\"/a/b/e\",\"value\":[1]},"
	    "{\"op\":\"remove\",\"path\":\"/z\",\"from\":1}]", 3);
	t("array grows", "{\"f\":[\"a\"]}", "{\"f\":[\"a\",\"b\",\"c\"]}",
	    "[{\"op\":\"add\",\"path\":\"/f/1\",\"value\":\"b\"},"
	    "{\"op\":\"add\",\"path\":\"/f/2\",\"value\":\"c\"}]", 2);
	t("array shrinks from the end", "{\"f\":[1,2,3,4]}", "{\"f\":[1]}",
	    "[{\"op\":\"remove\",\"path\":\"/f/3\",\"from\":4},"
	    "{\"op\":\"remove\",\"path\":\"/f/2\",\"from\":3},"
	    "{\"op\":\"remove\",\"path\":\"/f/1\",\"from\":2}]", 3);
	t("array elements compared in place",
	    "[{\"a\":1},{\"a\":2}]", "[{\"a\":1},{\"b\":true,\"a\":3}]",
	    "[{\"op\":\"replace\",\"path\":\"/1/a\",\"from\":2,\"value\":3},"
	    "{\"op\":\"add\",\"path\":\"/1/b\",\"value\":true}]", 2);
	t("nested arrays", "[[1,2],[3]]", "[[1],[3,4]]",
	    "[{\"op\":\"remove\",\"path\":\"/0/1\",\"from\":2},"
	    "{\"op\":\"add\",\"path\":\"/1/1\",\"value\":4}]", 2);
	t("type changes",
	    "{\"x\":1,\"y\":[1],\"z\":{\"a\":1},\"w\":true,\"v\":null}",
	    "{\"x\":\"1\",\"y\":{\"0\":1},\"z\":[1],\"w\":false,\"v\":0}",
	    "[{\"op\":\"replace\",\"path\":\"/v\",\"from\":null,\"value\":0},"
	    "{\"op\":\"replace\",\"path\":\"/w\",\"from\":true,"
	    "\"value\":false},"
	    "{\"op\":\"replace\",\"path\":\"/x\",\"from\":1,\"value\":\"1\"},"
	    "{\"op\":\"replace\",\"path\":\"/y\",\"from\":[1],"
	    "\"value\":{\"0\":1}},"
	    "{\"op\":\"replace\",\"path\":\"/z\",\"from\":{\"a\":1},"
	    "\"value\":[1]}]", 5);
	t("keys with ~ and /",
	    "{\"a/b\":1,\"m~n\":2,\"~1\":3}",
	    "{\"a/b\":2,\"m~n\":2,\"~1\":4,\"/\":0}",
	    "[{\"op\":\"add\",\"path\":\"/~1\",\"value\":0},"
	    "{\"op\":\"replace\",\"path\":\"/a~1b\",\"from\":1,\"value\":2},"
	    "{\"op\":\"replace\",\"path\":\"/~01\",\"from\":3,"
	    "\"value\":4}]", 3);
	t("the empty key", "{\"\":{\"\":1}}", "{\"\":{\"\":2}}",
	    "[{\"op\":\"replace\",\"path\":\"//\",\"from\":1,\"value\":2}]", 1);
	t("unicode keys in byte order, control characters escaped",
	    "{\"ville\":\"Z\u00fcrich\",\"\u540d\u524d\":\"\u6771\u4eac\"}",
	    "{\"ville\":\"Gen\u00e8ve\",\"\u540d\u524d\":\"\u5927\u962a\","
	    "\"\u00e9\":\"\\u0001\\n\"}",
	    "[{\"op\":\"replace\",\"path\":\"/ville\",\"from\":\"Z\u00fcrich\","
	    "\"value\":\"Gen\u00e8ve\"},"
	    "{\"op\":\"add\",\"path\":\"/\u00e9\",\"value\":\"\\u0001\\n\"},"
	    "{\"op\":\"replace\",\"path\":\"/\u540d\u524d\","
	    "\"from\":\"\u6771\u4eac\",\"value\":\"\u5927\u962a\"}]", 3);
	t("a key with a quote and a backslash", "{\"a\\\"b\\\\\":1}",
	    "{}", "[{\"op\":\"remove\",\"path\":\"/a\\\"b\\\\\",\"from\":1}]",
	    1);
	t("numbers in canonical form", "{\"n\":1.5,\"m\":1}",
	    "{\"n\":2e2,\"m\":1.0}",
	    "[{\"op\":\"replace\",\"path\":\"/n\",\"from\":1.5,"
	    "\"value\":200}]", 1);
	t("created", "-", "{\"b\":2,\"a\":1}",
	    "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"a\":1,\"b\":2}}]", 1);
	t("deleted", "{\"a\":[1]}", "-",
	    "[{\"op\":\"remove\",\"path\":\"\",\"from\":{\"a\":[1]}}]", 1);
	t("both absent", "-", "-", "[]", 0);
	t("the root changes type", "[1]", "{\"a\":1}",
	    "[{\"op\":\"replace\",\"path\":\"\",\"from\":[1],"
	    "\"value\":{\"a\":1}}]", 1);
	t("empty containers", "{\"a\":{},\"b\":[]}", "{\"a\":[],\"b\":[null]}",
	    "[{\"op\":\"replace\",\"path\":\"/a\",\"from\":{},\"value\":[]},"
	    "{\"op\":\"add\",\"path\":\"/b/0\",\"value\":null}]", 2);
	applier_check();
	property(3000);
	return tap_exit();
}
