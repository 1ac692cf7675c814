/* See LICENSE file for copyright and license details. */
/*
 * sm_rec_fast() against the slow path it replaces, sm_json_parse() +
 * sm_rec_key() + sm_rec_digest(): the same return code, reason, key,
 * canonical form and hash on JSONTestSuite, on hand cases and on
 * generated records.  $FASTREC_N sets the number of generated records
 * (200000), $FASTREC_SEED the seed; argv[1] the JSONTestSuite directory.
 */
#include <sys/types.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"
#include "sm-private.h"
#include "tap.h"
#include "fastrec-compare.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const ign1[] = { "id" };
static const char *const ign3[] = { "v", "b", "scraped_at" };
static const char *const ign_all[] = { "a", "b", "c", "d", "id", "v", "z",
	"\xc3\xa9", "aa", "external_id", "ref", "abcdefghij1", "x" };
static const struct fr_conf confs[] = {
	{ NULL, 0, NULL },
	{ ign1, 1, "ref" },
	{ ign3, 3, "v" },
	{ ign_all, NELEM(ign_all), "b" },
};

static struct fr_res slow, fast;
static int nfail;
static size_t ncompared;

static void
show(const char *what, const char *text, size_t len,
    const struct fr_conf *c)
{
	diag("%s: text (%zu bytes) '%.*s'%s, id_field %s, %zu ignored", what,
	    len, len > 300 ? 300 : (int)len, text, len > 300 ? "..." : "",
	    c->id_field ? c->id_field : "NULL", c->n);
	diag("  slow: rc %d reason '%s' key '%s' hash %s", slow.rc,
	    slow.reason, slow.key.data ? slow.key.data : "", slow.hash);
	diag("        data '%.300s'", slow.data.data ? slow.data.data : "");
	diag("  fast: rc %d reason '%s' key '%s' hash %s", fast.rc,
	    fast.reason, fast.key.data ? fast.key.data : "", fast.hash);
	diag("        data '%.300s'", fast.data.data ? fast.data.data : "");
}

/* Compares both paths on text under c; returns 1 when they agree. */
static int
same1(const char *text, size_t len, const struct fr_conf *c)
{
	int ok = fr_agree(text, len, c, &slow, &fast);

	ncompared++;
	if (!ok && nfail++ < 10)
		show("MISMATCH", text, len, c);
	return ok;
}

/* Under every configuration. */
static int
same(const char *text, size_t len)
{
	size_t i;
	int ok = 1;

	for (i = 0; i < NELEM(confs); i++)
		ok &= same1(text, len, &confs[i]);
	return ok;
}

static int
sames(const char *text)
{
	return same(text, strlen(text));
}

/* Reads a whole file into b; 0 or -1. */
static int
slurp(const char *path, struct sm_buf *b)
{
	char buf[8192];
	FILE *f;
	size_t n;

	sm_buf_reset(b);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sm_buf_add(b, buf, n);
	fclose(f);
	return 0;
}

static void
jsontestsuite(const char *dir)
{
	struct sm_buf text, wrap, path;
	struct dirent *d;
	DIR *dp;
	int nfiles = 0, bad = 0, wrapped = 0;

	if ((dp = opendir(dir)) == NULL) {
		ok(1, "# SKIP no JSONTestSuite at %s", dir);
		ok(1, "# SKIP no JSONTestSuite at %s", dir);
		return;
	}
	sm_buf_init(&text);
	sm_buf_init(&wrap);
	sm_buf_init(&path);
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		sm_buf_reset(&path);
		sm_buf_addf(&path, "%s/%s", dir, d->d_name);
		if (slurp(path.data, &text) != 0)
			continue;
		nfiles++;
		if (!same(text.data, text.len))
			bad++;
		if (memchr(text.data, '\n', text.len) != NULL)
			continue;
		sm_buf_reset(&wrap);
		sm_buf_adds(&wrap, "{\"id\":\"x\",\"v\":");
		sm_buf_add(&wrap, text.data, text.len);
		sm_buf_addc(&wrap, '}');
		wrapped++;
		if (!same(wrap.data, wrap.len))
			bad++;
	}
	closedir(dp);
	ok(nfiles > 300 && bad == 0, "JSONTestSuite: %d files raw and %d "
	    "wrapped, %d differ", nfiles, wrapped, bad);
	/* And every one of them nested in a record as a member value. */
	ok(wrapped > 250, "JSONTestSuite: most files are one line (%d)",
	    wrapped);
	sm_buf_free(&text);
	sm_buf_free(&wrap);
	sm_buf_free(&path);
}

static const char *const hand[] = {
	/* escapes */
	"{\"id\":\"a\",\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
	"{\"id\":\"a\",\"s\":\"\\u0000\\u0001\\u001f\\u0020\\u007f\\u0080\"}",
	"{\"id\":\"a\",\"s\":\"\\u00e9\\u00E9\\u20ac\\uFFFF\\ufeff\"}",
	"{\"id\":\"a\",\"s\":\"\\ud834\\udd1e \\uD83D\\uDE00\"}",
	"{\"id\":\"a\",\"s\":\"\\u0022\\u005c\\u002f\"}",
	"{\"id\":\"a\",\"s\":\"raw \xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \x7f\"}",
	"{\"id\":\"a\",\"\\u0000\":1,\"\\u0000a\":2,\"\":3}",
	"{\"id\":\"a\",\"k\\u0000\":1,\"k\":2}",
	"{\"id\":\"a\",\"\\ud834\\udd1e\":1,\"\\uffff\":2,\"\\u00e9\":3}",
	/* key order by bytes, é after z, escaped keys sorted unescaped */
	"{\"z\":1,\"\xc3\xa9\":2,\"id\":\"a\",\"a\":3,\"A\":4,\"_\":5}",
	"{\"\\u00e9\":1,\"z\":2,\"id\":\"a\",\"\\u007a\":3}",
	"{\"abcdefgh\":1,\"abcdefghi\":2,\"abcdefg\":3,\"abcdefghij1\":4,"
	    "\"abcdefghij0\":5,\"abcdefghij\":6,\"id\":\"a\"}",
	/* duplicate keys, the last wins, at every level */
	"{\"id\":\"a\",\"id\":\"b\"}",
	"{\"id\":\"a\",\"x\":1,\"x\":2,\"x\":{\"y\":1,\"y\":[1,{\"z\":1,"
	    "\"z\":2}]}}",
	"{\"id\":\"a\",\"x\":{\"a\":1,\"b\":2,\"a\":3},\"x\":{\"c\":1,\"c\":"
	    "{\"d\":1,\"d\":2}}}",
	"{\"id\":\"a\",\"x\":1,\"\\u0078\":2}",
	"{\"id\":\"a\",\"n\":1e400,\"n\":1}",
	"{\"id\":\"a\",\"n\":9007199254740994.0,\"n\":1}",
	"{\"id\":\"a\",\"n\":1,\"n\":9007199254740994.0}",
	"{\"id\":null,\"id\":\"b\"}",
	"{\"id\":\"b\",\"id\":null}",
	/* numbers */
	"{\"id\":\"a\",\"n\":[-0,0,1.0,1e2,0.1,1e-7,123456789012345,"
	    "1234567890123456,9007199254740992,-9007199254740992]}",
	"{\"id\":\"a\",\"n\":9007199254740993}",
	"{\"id\":\"a\",\"n\":-9007199254740993}",
	"{\"id\":\"a\",\"n\":[1e308,1.7976931348623157e308,1e-307,4.9e-324,"
	    "5e-324,2.2250738585072014e-308,1e-320,1E+2,1e+02,1.5E-3]}",
	"{\"id\":\"a\",\"n\":[1e16,1e15,1.8e16,9007199254740994.0,"
	    "9007199254740992.0,1e22,1e21,123456789012345678e-2]}",
	"{\"id\":\"a\",\"n\":9007199254740994.0}",
	"{\"id\":\"a\",\"n\":[9007199254740994.0]}",
	"{\"id\":\"a\",\"m\":{\"n\":1.2e17}}",
	"{\"id\":\"a\",\"n\":[-0.0,0.0,0e0,-0e-5,0.000,1.50,1.5000e1,"
	    "100e-2,0.30000000000000004,2.5e-3,1.2345678901234567e89]}",
	"{\"id\":\"a\",\"n\":[0.1e1,12.5,-12.5e-3,1e0,1e1,1e-4,1e-5,"
	    "123456789012345.6,12345678901234.56]}",
	"{\"id\":\"a\",\"n\":1e400}",
	"{\"id\":\"a\",\"n\":12345678901234567890}",
	"{\"id\":\"a\",\"n\":0.10000000000000001}",
	"{\"id\":\"a\",\"n\":0.0000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000001}",
	"{\"id\":\"a\",\"n\":1.0000000000000000000000000000000000000000000000"
	    "00000000000000000000000000000000000}",
	"{\"id\":\"a\",\"n\":1000000000000000000000000000000000000000000000000"
	    "00000000000000e-60}",
	/* the key */
	"{\"id\":7}",
	"{\"id\":\"7\"}",
	"{\"id\":-0}",
	"{\"id\":1.0}",
	"{\"id\":1e2}",
	"{\"id\":1.5}",
	"{\"id\":1e300}",
	"{\"id\":9007199254740992}",
	"{\"id\":9007199254740992.0}",
	"{\"id\":9007199254740994.0}",
	"{\"id\":true}",
	"{\"id\":false}",
	"{\"id\":[]}",
	"{\"id\":{}}",
	"{\"id\":\"\"}",
	"{\"id\":\"a\\u0000b\"}",
	"{\"id\":\"\\u00e9\"}",
	"{\"id\":null}",
	"{\"id\":null,\"external_id\":null,\"ref\":\"r\"}",
	"{\"external_id\":\"e\",\"id\":\"i\",\"ref\":\"r\"}",
	"{\"external_id\":null,\"id\":\"i\"}",
	"{\"ref\":5}",
	"{\"ref\":\"\"}",
	"{\"v\":\"x\"}",
	"{\"b\":1}",
	"{}",
	"{\"external_\\u0069d\":\"e\"}",
	"{\"i\\u0064\":\"i\"}",
	"[]",
	"[{\"id\":1}]",
	"\"id\"",
	"1",
	"null",
	/* ignore lists and their commas */
	"{\"id\":\"a\",\"v\":1,\"b\":2,\"scraped_at\":3}",
	"{\"a\":0,\"b\":2,\"id\":\"a\",\"v\":1}",
	"{\"b\":2,\"scraped_at\":3,\"v\":1}",
	"{\"b\":2,\"id\":\"q\",\"ref\":\"r\"}",
	"{\"v\":\"only\"}",
	"{\"0\":1,\"b\":2,\"c\":3,\"v\":4,\"w\":5,\"id\":\"x\"}",
	/* whitespace, and what the check refuses */
	" \t\r\n{ \"id\" : \"a\" , \"x\" : [ 1 , 2 ] , \"y\" : { } } \n",
	"{\"id\":\"a\",}",
	"{\"id\":\"a\"} x",
	"{\"id\":\"\xff\"}",
	"{\"id\":\"\\ud800\"}",
	"{\"id\":\"\\udc00\\ud800\"}",
	"{\"id\":\"a\",\"n\":NaN}",
	"{\"id\":\"a\",\"n\":nan}",
	"{\"id\":\"a\",\"n\":01}",
	"{\"id\":\"a\",\"s\":\"\t\"}",
	"",
	"   ",
};

static void
hand_cases(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < NELEM(hand); i++)
		if (!sames(hand[i]))
			bad++;
	ok(bad == 0, "%zu hand cases, %d differ", NELEM(hand), bad);
}

/* Nesting: 256 arrays pass, 257 do not; objects count twice. */
static void
deep_cases(void)
{
	struct sm_buf b;
	int depth, bad = 0, i;

	sm_buf_init(&b);
	for (depth = 250; depth <= 260; depth++) {
		sm_buf_reset(&b);
		sm_buf_adds(&b, "{\"id\":1,\"d\":");
		for (i = 0; i < depth; i++)
			sm_buf_addc(&b, '[');
		sm_buf_adds(&b, "1.5");
		for (i = 0; i < depth; i++)
			sm_buf_addc(&b, ']');
		sm_buf_addc(&b, '}');
		bad += !same(b.data, b.len);
		sm_buf_reset(&b);
		sm_buf_adds(&b, "{\"id\":1,\"d\":");
		for (i = 0; i < depth / 2; i++)
			sm_buf_adds(&b, i % 2 ? "[" : "{\"k\":");
		sm_buf_adds(&b, "{\"z\":1,\"a\":1e-7}");
		for (i = depth / 2 - 1; i >= 0; i--)
			sm_buf_adds(&b, i % 2 ? "]" : "}");
		sm_buf_addc(&b, '}');
		bad += !same(b.data, b.len);
	}
	ok(bad == 0, "nesting around the limit: %d differ", bad);
	/* A big record: many members (qsort), long strings and numbers. */
	sm_buf_reset(&b);
	sm_buf_adds(&b, "{\"id\":\"big\"");
	for (i = 0; i < 5000; i++)
		sm_buf_addf(&b, ",\"k%d\":[%d.25,\"%s\\n\",{\"x%d\":%de3}]",
		    (i * 7919) % 5003, i, i % 3 ? "\\u00e9" : "plain",
		    i % 40, i);
	sm_buf_adds(&b, ",\"long\":\"");
	for (i = 0; i < 100000; i++)
		sm_buf_addc(&b, "abz"[i % 3]);
	sm_buf_adds(&b, "\"}");
	ok(same(b.data, b.len), "a record of %zu bytes, 5000 members",
	    b.len);
	sm_buf_free(&b);
}

/* xorshift64*: deterministic, good enough here. */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* One character of a string, raw or escaped in any legal way. */
static void
gen_char(struct sm_buf *b)
{
	static const uint32_t pool[] = {
		'a', 'b', 'z', 'A', ' ', '0', '"', '\\', '/', '\b', '\f',
		'\n', '\r', '\t', 0, 1, 0x1f, 0x7f, 0x80, 0xe9, 0xff, 0x100,
		0x7ff, 0x800, 0x20ac, 0xfeff, 0xfffd, 0xffff, 0x10000,
		0x1d11e, 0x1f600, 0x10ffff
	};
	static const char hexu[] = "0123456789ABCDEF";
	static const char hexl[] = "0123456789abcdef";
	uint32_t c = pool[rn(NELEM(pool))], hi, lo;
	const char *h = rn(2) ? hexu : hexl;
	char u[13];

	if (c < 0x80 && rn(4) == 0 && c >= 0x20 && c != '"' && c != '\\') {
		sm_buf_addc(b, (int)c);
		return;
	}
	switch (rn(3)) {
	case 0:		/* raw where it may be */
		if (c >= 0x20 && c != '"' && c != '\\') {
			char o[4];
			int n = 0;

			if (c < 0x80)
				o[n++] = (char)c;
			else if (c < 0x800) {
				o[n++] = (char)(0xc0 | c >> 6);
				o[n++] = (char)(0x80 | (c & 0x3f));
			} else if (c < 0x10000) {
				o[n++] = (char)(0xe0 | c >> 12);
				o[n++] = (char)(0x80 | (c >> 6 & 0x3f));
				o[n++] = (char)(0x80 | (c & 0x3f));
			} else {
				o[n++] = (char)(0xf0 | c >> 18);
				o[n++] = (char)(0x80 | (c >> 12 & 0x3f));
				o[n++] = (char)(0x80 | (c >> 6 & 0x3f));
				o[n++] = (char)(0x80 | (c & 0x3f));
			}
			sm_buf_add(b, o, (size_t)n);
			return;
		}
		/* FALLTHROUGH */
	case 1:		/* the short escape, if any */
		switch (c) {
		case '"': sm_buf_adds(b, "\\\""); return;
		case '\\': sm_buf_adds(b, "\\\\"); return;
		case '/': sm_buf_adds(b, "\\/"); return;
		case '\b': sm_buf_adds(b, "\\b"); return;
		case '\f': sm_buf_adds(b, "\\f"); return;
		case '\n': sm_buf_adds(b, "\\n"); return;
		case '\r': sm_buf_adds(b, "\\r"); return;
		case '\t': sm_buf_adds(b, "\\t"); return;
		}
		/* FALLTHROUGH */
	default:	/* \u, a pair above the BMP */
		if (c < 0x10000) {
			snprintf(u, sizeof(u), "\\u%c%c%c%c", h[c >> 12],
			    h[c >> 8 & 15], h[c >> 4 & 15], h[c & 15]);
			sm_buf_adds(b, u);
			return;
		}
		hi = 0xd800 + ((c - 0x10000) >> 10);
		lo = 0xdc00 + ((c - 0x10000) & 0x3ff);
		snprintf(u, sizeof(u), "\\u%c%c%c%c", h[hi >> 12],
		    h[hi >> 8 & 15], h[hi >> 4 & 15], h[hi & 15]);
		sm_buf_adds(b, u);
		snprintf(u, sizeof(u), "\\u%c%c%c%c", h[lo >> 12],
		    h[lo >> 8 & 15], h[lo >> 4 & 15], h[lo & 15]);
		sm_buf_adds(b, u);
	}
}

static void
gen_string(struct sm_buf *b)
{
	unsigned n, i;

	sm_buf_addc(b, '"');
	switch (rn(4)) {
	case 0:
		n = 0;
		break;
	case 1:
		n = rn(40);
		for (i = 0; i < n; i++)
			sm_buf_addc(b, "abcdefghij KLM.-_:/"[rn(19)]);
		n = 0;
		break;
	default:
		n = rn(12);
	}
	for (i = 0; i < n; i++)
		gen_char(b);
	sm_buf_addc(b, '"');
}

/* A key from a small pool (so that keys repeat), spelled in any way. */
static void
gen_key(struct sm_buf *b)
{
	static const char *const keys[] = {
		"a", "b", "c", "d", "z", "aa", "A", "_", "", "id",
		"external_id", "ref", "v", "x", "abcdefgh", "abcdefghi",
		"abcdefghij0", "abcdefghij1", "\xc3\xa9", "\xc3\xa9z",
		"a\x01", "k\x0a", "scraped_at", "\xf0\x9d\x84\x9e", "\"q\"",
		"price", "\x7f"
	};
	const char *k;
	size_t i;

	if (rn(16) == 0) {
		gen_string(b);
		return;
	}
	k = keys[rn(NELEM(keys))];
	sm_buf_addc(b, '"');
	for (i = 0; k[i] != '\0'; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c < 0x20 || c == '"' || (rn(4) == 0 && c < 0x80))
			sm_buf_addf(b, "\\u%04x", c);
		else if (c == 0xc3 && rn(2) == 0) {
			sm_buf_addf(b, "\\u%04X", (c & 0x1f) << 6 |
			    ((unsigned char)k[i + 1] & 0x3f));
			i++;
		} else
			sm_buf_addc(b, (int)c);
	}
	if (rn(64) == 0)
		sm_buf_adds(b, "\\u0000");
	sm_buf_addc(b, '"');
}

/* Digits of d's shortest form respelt: moved point, zeros, exponents. */
static void
respell(struct sm_buf *b, double d)
{
	char num[SM_NUM_MAX], dig[40];
	int n = 0, exp10 = 0, i, pt, zeros, e;
	const char *p;

	if (d == 0) {
		static const char *const z[] = { "0", "-0", "0.0", "-0.000",
			"0e0", "0E+5", "-0e-7", "0.00e12" };

		sm_buf_adds(b, z[rn(NELEM(z))]);
		return;
	}
	sm_num_format(d, num);
	p = num;
	if (*p == '-') {
		sm_buf_addc(b, '-');
		p++;
	}
	/* Collect the digits and the exponent of num. */
	{
		int seen = 0, before = 0;

		for (; *p != '\0' && *p != 'e'; p++) {
			if (*p == '.') {
				seen = 1;
				continue;
			}
			dig[n++] = *p;
			if (!seen)
				before++;
		}
		exp10 = before;
		if (*p == 'e')
			exp10 += atoi(p + 1);
	}
	/* value = 0.dig * 10^exp10; drop leading zeros */
	while (n > 1 && dig[0] == '0') {
		memmove(dig, dig + 1, (size_t)--n);
		exp10--;
	}
	zeros = rn(3) == 0 ? (int)rn(4) : 0;
	for (i = 0; i < zeros && n < 30; i++)
		dig[n++] = '0';
	if (rn(3) == 0 && exp10 >= -6 && exp10 <= n) {
		/* plain, without an exponent */
		if (exp10 <= 0) {
			sm_buf_adds(b, "0.");
			for (i = exp10; i < 0; i++)
				sm_buf_addc(b, '0');
			sm_buf_add(b, dig, (size_t)n);
			return;
		}
		sm_buf_add(b, dig, (size_t)exp10);
		if (exp10 < n) {
			sm_buf_addc(b, '.');
			sm_buf_add(b, dig + exp10, (size_t)(n - exp10));
		}
		return;
	}
	/* As dig[0..pt) . dig[pt..n) e (exp10 - pt). */
	pt = (int)rn((unsigned)n + 1);
	e = exp10 - pt;
	if (pt == 0)
		sm_buf_addc(b, '0');
	else
		sm_buf_add(b, dig, (size_t)pt);
	if (pt < n) {
		sm_buf_addc(b, '.');
		sm_buf_add(b, dig + pt, (size_t)(n - pt));
	}
	if (e != 0 || rn(4) == 0)
		sm_buf_addf(b, "%s%s%d", rn(2) ? "e" : "E",
		    e >= 0 && rn(2) ? "+" : "", e);
}

static void
gen_number(struct sm_buf *b)
{
	static const char *const lits[] = {
		"0", "-0", "1", "-1", "1.0", "-0.0", "0.0", "1e2", "1E2",
		"1e+2", "0.1", "1e-7", "123456789012345", "1234567890123456",
		"9007199254740992", "-9007199254740992", "9007199254740993",
		"9007199254740994.0", "1.8e16", "1e16", "1e15", "1e308",
		"1e309", "1e-400", "4.9e-324", "5e-324", "1e-320",
		"2.2250738585072014e-308", "0.30000000000000004",
		"0.10000000000000001", "12345678901234567890",
		"1.7976931348623157e308", "1.7976931348623159e308", "100e-2",
		"0.000001", "0.0000001", "123.456", "-98765.4321e-3",
		"1.5e300", "0e0", "-0e-0", "12345678901234.5", "1e21", "1e22",
		"1e23", "123456789012345678e-2", "0.0000000000000000000001"
	};
	uint64_t bits;
	double d;

	switch (rn(6)) {
	case 0:
		sm_buf_adds(b, lits[rn(NELEM(lits))]);
		return;
	case 1:		/* an integer, sometimes near 2^53 */
		if (rn(2))
			sm_buf_addf(b, "%s%llu", rn(2) ? "-" : "",
			    (unsigned long long)(rnd() >> rn(64)));
		else
			sm_buf_addf(b, "%lld", (long long)rn(100000) - 50000);
		return;
	case 2:		/* a price-like decimal */
		sm_buf_addf(b, "%u.%0*u", rn(1000000), (int)rn(7) + 1,
		    rn(1000000));
		return;
	case 3:		/* any double, %.17g: often more digits than needed */
		do {
			bits = rnd();
			memcpy(&d, &bits, sizeof(d));
		} while (!isfinite(d));
		sm_buf_addf(b, rn(2) ? "%.17g" : "%.15g", d);
		return;
	default:	/* any double, its shortest form respelt */
		do {
			bits = rnd();
			if (rn(2))	/* a modest exponent, most of the time */
				bits = (bits & 0x800fffffffffffffULL) |
				    (uint64_t)(1023 + (int)rn(120) - 60) << 52;
			memcpy(&d, &bits, sizeof(d));
			if (rn(4) == 0 && fabs(d) < 1e38)	/* fewer digits */
				d = (double)(float)d;
		} while (!isfinite(d));
		respell(b, d);
		return;
	}
}

static void gen_value(struct sm_buf *, int);

static void
gen_object(struct sm_buf *b, int depth, int top)
{
	unsigned n, i;

	sm_buf_addc(b, '{');
	n = rn(8) == 0 ? rn(40) : rn(6) + top;
	for (i = 0; i < n; i++) {
		if (i > 0)
			sm_buf_addc(b, ',');
		if (top && i == 0 && rn(10) != 0) {
			sm_buf_adds(b, rn(2) ? "\"id\":" : "\"external_id\":");
			if (rn(8) == 0)
				gen_value(b, 255);
			else if (rn(2))
				sm_buf_addf(b, "\"L%09u\"", rn(1000000000));
			else
				sm_buf_addf(b, "%u", rn(1000000000));
			continue;
		}
		if (rn(16) == 0)
			sm_buf_addc(b, ' ');
		gen_key(b);
		sm_buf_adds(b, rn(16) == 0 ? " : " : ":");
		gen_value(b, depth + 1);
	}
	sm_buf_addc(b, '}');
}

static void
gen_value(struct sm_buf *b, int depth)
{
	unsigned n, i, k = rn(depth >= 6 ? 6 : 9);

	switch (k) {
	case 0: sm_buf_adds(b, "null"); return;
	case 1: sm_buf_adds(b, rn(2) ? "true" : "false"); return;
	case 2: case 3: gen_number(b); return;
	case 4: case 5: gen_string(b); return;
	case 6: case 7:
		sm_buf_addc(b, '[');
		n = rn(5);
		for (i = 0; i < n; i++) {
			if (i > 0)
				sm_buf_adds(b, rn(8) ? "," : " , ");
			gen_value(b, depth + 1);
		}
		sm_buf_addc(b, ']');
		return;
	default:
		gen_object(b, depth, 0);
	}
}

static void
generated(unsigned long count)
{
	struct sm_buf b;
	unsigned long i, accepted = 0;
	int bad = 0;
	size_t pos;

	sm_buf_init(&b);
	for (i = 0; i < count; i++) {
		sm_buf_reset(&b);
		if (rn(50) == 0)
			gen_value(&b, 1);
		else
			gen_object(&b, 1, 1);
		/* Now and then a byte broken: the refusals must agree too. */
		if (rn(20) == 0 && b.len > 0) {
			pos = rn((unsigned)b.len);
			b.data[pos] = "\"\\{}[],:0e.-\x80\xff\x01 u"[rn(17)];
		}
		if (!same1(b.data, b.len, &confs[i % NELEM(confs)]))
			bad++;
		accepted += slow.rc == 0;
	}
	ok(bad == 0, "%lu generated records, %lu accepted, %d differ", count,
	    accepted, bad);
	ok(accepted > count / 3 && accepted < count,
	    "generated records both accepted and refused");
	sm_buf_free(&b);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] :
	    "../../shared/testdata/JSONTestSuite/test_parsing";
	const char *s;
	unsigned long count = 200000;

	if ((s = getenv("FASTREC_N")) != NULL)
		count = strtoul(s, NULL, 10);
	if ((s = getenv("FASTREC_SEED")) != NULL && *s != '\0')
		rng ^= strtoull(s, NULL, 10) * 0x9e3779b97f4a7c15ULL;
	fr_init(&slow);
	fr_init(&fast);
	tap_plan(8);
	hand_cases();
	jsontestsuite(dir);
	deep_cases();
	generated(count);
	sm_rec_fast_free();
	ok(sames("{\"id\":\"after free\",\"x\":[1.5,{\"b\":1,\"a\":2}]}"),
	    "works again after sm_rec_fast_free");
	diag("%zu comparisons", ncompared);
	sm_rec_fast_free();
	sm_buf_free(&slow.key);
	sm_buf_free(&slow.data);
	sm_buf_free(&fast.key);
	sm_buf_free(&fast.data);
	return tap_exit();
}
