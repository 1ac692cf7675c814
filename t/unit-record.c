/* See LICENSE file for copyright and license details. */
/*
 * The record layer of SPEC §2: the strict JSON checks (json.c), the
 * canonical form, the hash and the record key (canon.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct sm_buf out;
static char hashbuf[SM_HASH_HEX];

/* Parses text strictly; returns the value or jv_invalid() with a diag. */
static jv
parse(const char *text)
{
	struct sm_json_err err;
	jv v;

	if (sm_json_parse(text, strlen(text), &v, &err) != 0) {
		diag("parse of '%s' failed at %zu: %s", text, err.offset,
		    err.reason);
		return jv_invalid();
	}
	return v;
}

/* The canonical form of text (with ignore), or "ERROR: msg". */
static const char *
canon_ign(const char *text, const char *const *ignore, size_t n)
{
	jv v = parse(text);

	sm_buf_reset(&out);
	if (!jv_is_valid(v))
		return "PARSE ERROR";
	if (sm_canon(v, ignore, n, &out) != 0) {
		sm_buf_reset(&out);
		sm_buf_adds(&out, "ERROR: ");
		sm_buf_adds(&out, sm_errmsg());
	}
	jv_free(v);
	return out.data;
}

static const char *
canon(const char *text)
{
	return canon_ign(text, NULL, 0);
}

/* The hash of text's record (with ignore) by sm_rec_digest. */
static const char *
hash_ign(const char *text, const char *const *ignore, size_t n)
{
	struct sm_buf data;
	jv v = parse(text);

	sm_buf_init(&data);
	strcpy(hashbuf, "PARSE ERROR");
	if (jv_is_valid(v) &&
	    sm_rec_digest(v, ignore, n, &data, hashbuf) != 0)
		snprintf(hashbuf, sizeof(hashbuf), "ERROR");
	jv_free(v);
	sm_buf_free(&data);
	return hashbuf;
}

static const char *
hash(const char *text)
{
	return hash_ign(text, NULL, 0);
}

/* Checks that text is refused with a reason starting with want. */
static void
rejects(const char *text, size_t len, const char *want, const char *name)
{
	struct sm_json_err err;
	jv v = jv_null();
	int rc;

	rc = sm_json_parse(text, len, &v, &err);
	if (!ok(rc == SM_EDATA && strncmp(err.reason, want,
	    strlen(want)) == 0, "%s rejected: %s", name, want))
		diag("rc %d, reason '%s'", rc, rc ? err.reason : "");
	/* *out stays untouched on failure. */
	if (rc != 0 && jv_get_kind(v) != JV_KIND_NULL)
		ok(0, "%s: *out was touched", name);
	jv_free(v);
}

static void
rejects_at(const char *text, size_t len, size_t at, const char *want,
    const char *name)
{
	struct sm_json_err err;

	if (!ok(sm_json_check(text, len, &err) == SM_EDATA &&
	    strcmp(err.reason, want) == 0 && err.offset == at,
	    "%s: '%s' at %zu", name, want, at))
		diag("got '%s' at %zu", err.reason, err.offset);
}

static int
accepts(const char *text)
{
	struct sm_json_err err;
	jv v;

	if (sm_json_parse(text, strlen(text), &v, &err) != 0) {
		diag("'%s' refused: %s", text, err.reason);
		return 0;
	}
	jv_free(v);
	return 1;
}

/* A text of n nested arrays (or objects) around 1, in b. */
static void
nest(struct sm_buf *b, int n, int objects)
{
	int i;

	sm_buf_reset(b);
	for (i = 0; i < n; i++)
		sm_buf_adds(b, objects ? "{\"a\":" : "[");
	sm_buf_addc(b, '1');
	for (i = 0; i < n; i++)
		sm_buf_addc(b, objects ? '}' : ']');
}

static void
test_canonical_form(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "{\"z\":1,\"a\":2,\"m\":{\"y\":null,\"b\":true,\"a\":false}}",
		  "{\"a\":2,\"m\":{\"a\":false,\"b\":true,\"y\":null},"
		  "\"z\":1}" },
		{ " [ 1 , [ ] , { } , [ { } ] ]\n", "[1,[],{},[{}]]" },
		/* keys by raw bytes: "" < "B" < "a" < "ab" < "b" < "é" */
		{ "{\"b\":1,\"B\":2,\"a\":3,\"ab\":4,\"\\u00e9\":5,\"e\":6,"
		  "\"\":7}",
		  "{\"\":7,\"B\":2,\"a\":3,\"ab\":4,\"b\":1,\"e\":6,"
		  "\"\xc3\xa9\":5}" },
		{ "{\"\\ud83d\\ude00\":1,\"\\uffff\":2,\"\\u00ff\":3}",
		  "{\"\xc3\xbf\":3,\"\xef\xbf\xbf\":2,"
		  "\"\xf0\x9f\x98\x80\":1}" },
		{ "\"\\u00e9\\u20ac\\ud83d\\ude00 \xc3\xa9\"",
		  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xa9\"" },
		{ "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0001\\u001F\\u007f\"",
		  "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"" },
		{ "\"\\u0000x\"", "\"\\u0000x\"" },
		{ "[true,false,null]", "[true,false,null]" },
		{ "-0", "0" },
		{ "-0.0", "0" },
		{ "1.0", "1" },
		{ "2e2", "200" },
		{ "100e-2", "1" },
		{ "0.1", "0.1" },
		{ "1.10", "1.1" },
		{ "-1.5", "-1.5" },
		{ "123.456", "123.456" },
		{ "0.0001", "0.0001" },
		{ "1E-5", "1e-05" },
		{ "1.5e-7", "1.5e-07" },
		{ "1e300", "1e+300" },
		{ "1e21", "1e+21" },
		{ "1e15", "1000000000000000" },
		{ "5e-324", "5e-324" },
		{ "2.2250738585072014e-308", "2.2250738585072014e-308" },
		{ "1.7976931348623157e308", "1.7976931348623157e+308" },
		{ "9007199254740992", "9007199254740992" },
		{ "-9007199254740992", "-9007199254740992" },
		{ "9007199254740994.0", "9007199254740994" },
		{ "0.30000000000000004", "0.30000000000000004" },
		{ "{\"a\":[1,{\"c\":[2.5,{\"e\":\"x\",\"d\":-0}]}],\"b\":{}}",
		  "{\"a\":[1,{\"c\":[2.5,{\"d\":0,\"e\":\"x\"}]}],\"b\":{}}" },
		/* duplicate keys: the last wins, as in jq */
		{ "{\"a\":1,\"a\":2}", "{\"a\":2}" },
	};
	static const char *const ign[] = { "a", "seen" };
	char name[128];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(name, sizeof(name), "canonical form of %s",
		    cases[i].in);
		is_str(canon(cases[i].in), cases[i].want, name);
	}
	is_str(canon_ign("{\"b\":1,\"a\":2,\"c\":{\"a\":1},\"seen\":3}",
	    ign, 2), "{\"b\":1,\"c\":{\"a\":1}}",
	    "sm_canon leaves out ignored top-level members only");
	is_str(canon_ign("[{\"a\":1}]", ign, 2), "[{\"a\":1}]",
	    "the ignore list does nothing to a top-level array");
}

static void
test_independence(void)
{
	static const char *const a =
	    "{\"price\":500000,\"address\":{\"city\":\"Berlin\",\"zip\":"
	    "\"10115\"},\"rooms\":[1,2.5,3],\"id\":\"P1\"}";
	static const char *const b =
	    "\r\n { \"id\" : \"P1\" ,\t\"rooms\" : [ 1 , 2.50 , 3e0 ] , "
	    "\"address\" : { \"zip\" : \"10115\" , \"city\" : \"Berlin\" } "
	    ", \"price\" : 5e5 }\n";
	char ha[SM_HASH_HEX];
	struct sm_buf c1;

	sm_buf_init(&c1);
	sm_buf_adds(&c1, canon(a));
	is_str(canon(b), c1.data,
	    "canonical form independent of key order, whitespace, spelling");
	strcpy(ha, hash(a));
	is_str(hash(b), ha, "so is the hash");
	ok(strlen(ha) == 32 && strspn(ha, "0123456789abcdef") == 32,
	    "the hash is 32 lowercase hex digits");
	sm_buf_free(&c1);
}

static void
test_hash(void)
{
	static const struct {
		const char *in, *want;
	} known[] = {
		/* as printed by xxh128sum(1) of xxHash 0.8.1 */
		{ "", "99aa06d3014798d86001c324468d497f" },
		{ "{}", "dc7048f8f8747f561349cde127705c16" },
		{ "{\"id\":\"P1\",\"price\":500000}",
		  "3c5ae96a6851fa6e309c4f812e1dac58" },
	};
	char h[SM_HASH_HEX], cmd[256], line[128];
	struct sm_buf data;
	FILE *p;
	size_t i;
	int have = 0;
	jv v;

	if ((p = popen("command -v xxh128sum 2>/dev/null", "r")) != NULL) {
		have = fgets(line, sizeof(line), p) != NULL;
		pclose(p);
	}
	for (i = 0; i < NELEM(known); i++) {
		sm_hash_hex(known[i].in, strlen(known[i].in), h);
		is_str(h, known[i].want, "known XXH3-128 value");
		if (!have)
			continue;
		snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | xxh128sum",
		    known[i].in);
		line[0] = '\0';
		if ((p = popen(cmd, "r")) != NULL) {
			if (fgets(line, sizeof(line), p) == NULL)
				line[0] = '\0';
			pclose(p);
		}
		line[strcspn(line, " \n")] = '\0';
		is_str(line, h, "xxh128sum agrees");
	}
	if (!have)
		diag("xxh128sum not installed: not compared with it");

	/* The digest is the hash of the canonical form in data. */
	sm_buf_init(&data);
	v = parse("{\"price\": 500000, \"id\": \"P1\"}");
	ok(sm_rec_digest(v, NULL, 0, &data, h) == 0, "sm_rec_digest");
	is_str(data.data, "{\"id\":\"P1\",\"price\":500000}",
	    "sm_rec_digest: data is the canonical form");
	is_str(h, known[2].want, "sm_rec_digest: hash of the canonical form");
	jv_free(v);
	sm_buf_free(&data);
}

static void
test_ignore(void)
{
	static const char *const ign[] = { "scraped_at", "seen" };
	static const char *const keys[] = { "a", "b", "c", "d", "e" };
	const char *subset[5];
	char base[SM_HASH_HEX], h[SM_HASH_HEX];
	struct sm_buf data, form;
	unsigned mask;
	size_t i, n;
	int bad = 0;
	jv v;

	strcpy(base, hash_ign("{\"id\":1,\"price\":5}", ign, 2));
	is_str(hash_ign("{\"id\":1,\"price\":5,\"scraped_at\":\"x\"}", ign, 2),
	    base, "an ignored field does not change the hash");
	is_str(hash_ign("{\"seen\":[1],\"id\":1,\"scraped_at\":\"y\","
	    "\"price\":5}", ign, 2), base,
	    "two ignored fields do not either");
	is_str(hash_ign("{\"id\":1,\"price\":5,\"scraped_at\":null}", ign, 2),
	    base, "nor does an ignored null");
	strcpy(h, hash_ign("{\"id\":1,\"price\":5,\"x\":{\"seen\":1}}", ign,
	    2));
	ok(strcmp(h, hash_ign("{\"id\":1,\"price\":5,\"x\":{\"seen\":2}}",
	    ign, 2)) != 0, "a nested field of an ignored name is not ignored");
	ok(strcmp(hash("{\"id\":1,\"price\":5,\"scraped_at\":\"x\"}"), base)
	    != 0, "without the ignore list the field counts");

	/* Data holds everything; ignored members only leave the hash. */
	sm_buf_init(&data);
	v = parse("{\"seen\":1,\"id\":1}");
	ok(sm_rec_digest(v, ign, 2, &data, h) == 0 &&
	    strcmp(data.data, "{\"id\":1,\"seen\":1}") == 0,
	    "sm_rec_digest keeps ignored members in data");
	jv_free(v);

	/*
	 * Every subset of five members ignored, wherever they sort: the
	 * digest (one printing, spans skipped) must hash exactly what
	 * sm_canon prints with the same ignore list.
	 */
	sm_buf_init(&form);
	v = parse("{\"e\":[5],\"c\":{\"x\":3},\"a\":1,\"d\":\"4\",\"b\":null}");
	for (mask = 0; mask < 32; mask++) {
		for (i = 0, n = 0; i < 5; i++)
			if (mask & 1u << i)
				subset[n++] = keys[i];
		sm_buf_reset(&form);
		if (sm_canon(v, subset, n, &form) != 0 ||
		    sm_rec_digest(v, subset, n, &data, h) != 0) {
			bad++;
			continue;
		}
		sm_hash_hex(form.data, form.len, base);
		if (strcmp(h, base) != 0) {
			bad++;
			diag("mask %u: form %s", mask, form.data);
		}
	}
	ok(bad == 0, "digest with ignored members = hash of sm_canon, "
	    "all 32 subsets");
	sm_buf_reset(&form);
	sm_canon(v, keys, 5, &form);
	is_str(form.data, "{}", "all members ignored: {}");
	jv_free(v);

	/* Many ignore entries (beyond the on-stack span array). */
	{
		const char *many[40];
		char names[40][8];

		for (i = 0; i < 40; i++) {
			snprintf(names[i], sizeof(names[i]), "k%02zu", i);
			many[i] = names[i];
		}
		sm_buf_reset(&form);
		sm_buf_addc(&form, '{');
		for (i = 0; i < 40; i++)
			sm_buf_addf(&form, "\"k%02zu\":%zu,", i, i);
		sm_buf_adds(&form, "\"keep\":1}");
		v = parse(form.data);
		ok(sm_rec_digest(v, many, 40, &data, h) == 0 &&
		    strcmp(h, hash("{\"keep\":1}")) == 0,
		    "40 ignored members");
		jv_free(v);
	}

	/* A long record: the streaming hash over several blocks. */
	sm_buf_reset(&form);
	sm_buf_adds(&form, "{\"seen\":1,\"text\":\"");
	for (i = 0; i < 5000; i++)
		sm_buf_addc(&form, 'a' + i % 26);
	sm_buf_adds(&form, "\",\"z\":2}");
	v = parse(form.data);
	sm_buf_reset(&form);
	ok(sm_rec_digest(v, ign, 2, &data, h) == 0 &&
	    sm_canon(v, ign, 2, &form) == 0, "a 5 kB record");
	sm_hash_hex(form.data, form.len, base);
	is_str(h, base, "a 5 kB record: digest = hash of sm_canon");
	jv_free(v);
	sm_buf_free(&form);
	sm_buf_free(&data);

	/* Any other change changes the hash. */
	{
		static const char *const variants[] = {
			"{\"id\":1,\"price\":5}",
			"{\"id\":1,\"price\":6}",
			"{\"id\":1,\"price\":\"5\"}",
			"{\"id\":1,\"price\":5.5}",
			"{\"id\":1,\"price\":null}",
			"{\"id\":1}",
			"{\"id\":1,\"price\":5,\"rooms\":3}",
			"{\"id\":\"1\",\"price\":5}",
			"{\"id\":1,\"price\":[5]}",
			"{\"id\":1,\"price\":{\"v\":5}}",
			"{\"id\":1,\"price\":{\"v\":6}}",
			"{\"id\":1,\"price\":{\"v\":5,\"w\":null}}",
			"{\"id\":1,\"price\":[5,6]}",
			"{\"id\":1,\"price\":[6,5]}",
			"{\"id\":1,\"price\":true}",
			"{\"id\":1,\"price\":false}",
			"{\"id\":1,\"price\":\"\"}",
			"{\"id\":1,\"price\":\"5 \"}",
			"{\"id\":1,\"Price\":5}",
			"{\"id\":1,\"price\":-5}",
			"[1,5]",
		};
		char hs[NELEM(variants)][SM_HASH_HEX];
		size_t j;

		bad = 0;
		for (i = 0; i < NELEM(variants); i++) {
			strcpy(hs[i], hash_ign(variants[i], ign, 2));
			for (j = 0; j < i; j++)
				if (strcmp(hs[i], hs[j]) == 0) {
					bad++;
					diag("%s and %s hash alike",
					    variants[i], variants[j]);
				}
		}
		ok(bad == 0, "value, type (1 vs \"1\"), added, removed and "
		    "nested changes all change the hash (%zu variants)",
		    NELEM(variants));
	}
}

static void
key_is(const char *rec, const char *id_field, const char *want,
    const char *name)
{
	struct sm_buf key;
	jv v = parse(rec);
	int rc;

	sm_buf_init(&key);
	rc = sm_rec_key(v, id_field, &key);
	if (rc != 0)
		is_str(sm_errmsg(), want, name);
	else
		is_str(key.data, want, name);
	jv_free(v);
	sm_buf_free(&key);
}

static void
test_key(void)
{
	key_is("{\"external_id\":\"A1\",\"id\":7}", NULL, "A1",
	    "external_id first");
	key_is("{\"id\":7}", NULL, "7", "integer id");
	key_is("{\"id\":\"7\"}", NULL, "7", "string id: same key as 7");
	key_is("{\"id\":-3}", NULL, "-3", "negative integer");
	key_is("{\"id\":7.0}", NULL, "7", "7.0 is the integer 7");
	key_is("{\"id\":-0}", NULL, "0", "-0 is 0");
	key_is("{\"id\":9007199254740992}", NULL, "9007199254740992",
	    "2^53");
	key_is("{\"id\":\" x \"}", NULL, " x ", "a string is taken as it is");
	key_is("{\"sku\":\"X9\"}", "sku", "X9", "id_field");
	key_is("{\"sku\":\"X9\",\"id\":1}", "sku", "1", "id before id_field");
	key_is("{\"external_id\":null,\"id\":4}", NULL, "4",
	    "a null external_id falls through to id");
	key_is("{\"sku\":\"X9\"}", NULL,
	    "no key: record has no 'external_id' or 'id'", "no key");
	key_is("{}", "sku",
	    "no key: record has no 'external_id', 'id' or 'sku'",
	    "no key, with id_field");
	key_is("{\"id\":null}", NULL,
	    "no key: record has no 'external_id' or 'id'", "null key");
	key_is("{\"id\":1.5}", NULL, "key 'id' is not a string or integer",
	    "float key");
	key_is("{\"id\":1e20}", NULL, "key 'id' is not a string or integer",
	    "integral beyond 2^53");
	key_is("{\"external_id\":true,\"id\":1}", NULL,
	    "key 'external_id' is not a string or integer", "bool key");
	key_is("{\"id\":[1]}", NULL, "key 'id' is not a string or integer",
	    "array key");
	key_is("{\"id\":{}}", NULL, "key 'id' is not a string or integer",
	    "object key");
	key_is("{\"id\":\"\"}", NULL, "key 'id' is an empty string",
	    "empty string key");
	key_is("{\"id\":\"a\\u0000b\"}", NULL,
	    "key 'id' contains a NUL character", "NUL in key");
	key_is("{\"sku\":false}", "sku",
	    "key 'sku' is not a string or integer", "bad id_field value");
	key_is("[1]", NULL, "record is not an object", "not an object");
	key_is("\"P1\"", NULL, "record is not an object", "a bare string");
}

static void
test_rejects(void)
{
	static const struct {
		const char *text, *name;
	} utf8[] = {
		{ "\"\xc0\x80\"", "overlong 2-byte NUL" },
		{ "\"\xc1\xbf\"", "overlong 2-byte" },
		{ "\"\xe0\x80\xaf\"", "overlong 3-byte" },
		{ "\"\xf0\x80\x80\xaf\"", "overlong 4-byte" },
		{ "\"\xed\xa0\x80\"", "UTF-8 encoded surrogate U+D800" },
		{ "\"\xed\xbf\xbf\"", "UTF-8 encoded surrogate U+DFFF" },
		{ "\"\xf4\x90\x80\x80\"", "above U+10FFFF" },
		{ "\"\xf5\x80\x80\x80\"", "lead byte 0xf5" },
		{ "\"\xe2\x82\"", "truncated sequence" },
		{ "\"\xe2\x82", "truncated sequence at the end" },
		{ "\"\x80\"", "stray continuation byte" },
		{ "\"\xff\"", "byte 0xff" },
		{ "\"\xe9t\xe9\"", "ISO-8859-1" },
		{ "{\"\xe9\":1}", "invalid UTF-8 in a key" },
	};
	static const char *const lossy[] = {
		"12345678901234567890", "-12345678901234567890",
		"9007199254740993", "-9007199254740993", "9007199254740994",
		"1e400", "-1e400", "1.7976931348623159e308", "1e-400",
		"-1e-400", "0.1000000000000000055511151231257827",
		"9007199254740993.0", "0.30000000000000001",
		"1.00000000000000000000001", "[1,2,99999999999999999999]",
	};
	static const char *const exact[] = {
		"1.10", "0.1", "2e2", "1.0", "-0", "1E-5", "9007199254740992",
		"-9007199254740992", "0.30000000000000004", "1e-300",
		"123456789012345.6", "0e999999999", "5e-324",
		"1.7976931348623157e308", "[0.5,1e2,-2.25E-2]",
	};
	struct sm_json_err err;
	struct sm_buf b;
	char name[160];
	size_t i;
	int n, agree;
	jv v;

	for (i = 0; i < NELEM(utf8); i++)
		rejects(utf8[i].text, strlen(utf8[i].text), "invalid UTF-8",
		    utf8[i].name);
	rejects_at("[\"ok\",\"ab\xed\xa0\x80\"]", 17, 9, "invalid UTF-8",
	    "offset of invalid UTF-8");
	ok(accepts("\"\xf4\x8f\xbf\xbf \xef\xbf\xbf \xed\x9f\xbf\"") &&
	    accepts("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xf0\x90\x80\x80\""),
	    "boundary code points accepted (U+10FFFF, U+FFFF, U+D7FF...)");

	rejects("\"\\ud800\"", 8, "lone surrogate \\ud800", "lone high");
	rejects("\"\\uDC00\"", 8, "lone surrogate \\udc00", "lone low");
	rejects("\"\\ud800\\u0041\"", 14, "lone surrogate \\ud800",
	    "high surrogate then not a low one");
	rejects("\"\\ud800\\ud800\"", 14, "lone surrogate \\ud800",
	    "two high surrogates");
	rejects("\"\\udc00\\ud800\"", 14, "lone surrogate \\udc00",
	    "inverted pair");
	rejects("\"\\ud800\"", 8, "lone surrogate", "lone surrogate");
	rejects_at("{\"k\":\"ab\\udfaa\"}", 16, 8, "lone surrogate \\udfaa",
	    "offset of a lone surrogate");
	ok(accepts("\"\\ud83d\\ude00\\uDBFF\\uDFFF\""),
	    "surrogate pairs accepted");

	for (i = 0; i < NELEM(lossy); i++) {
		snprintf(name, sizeof(name), "lossy number %s", lossy[i]);
		rejects(lossy[i], strlen(lossy[i]), "number ", name);
	}
	rejects_at("{\"price\": 12345678901234567890}", 31, 10,
	    "number 12345678901234567890 cannot be stored exactly: quote it "
	    "as a string", "the lossy-number message names the literal");
	sm_buf_init(&b);
	sm_buf_adds(&b, "0.");
	for (i = 0; i < 200; i++)
		sm_buf_addc(&b, '1');
	ok(sm_json_check(b.data, b.len, &err) != 0 && strlen(err.reason) <
	    sizeof(err.reason) - 1 && strstr(err.reason, "...") != NULL &&
	    strstr(err.reason, "quote it as a string") != NULL,
	    "an absurdly long literal is cut short in the message");
	sm_buf_reset(&b);
	sm_buf_adds(&b, "0.");
	for (i = 0; i < 300; i++)
		sm_buf_addc(&b, '0');
	sm_buf_adds(&b, "1e300");
	ok(sm_json_check(b.data, b.len, &err) == 0, "0.(300 zeros)1e300 is "
	    "0.1: accepted");
	sm_buf_reset(&b);
	sm_buf_adds(&b, "0.");
	for (i = 0; i < 99999; i++)
		sm_buf_addc(&b, '0');
	sm_buf_adds(&b, "1e1000000");
	rejects(b.data, b.len, "number 0.000", "0.(99999 zeros)1e1000000 "
	    "overflows");
	for (i = 0; i < NELEM(exact); i++)
		ok(accepts(exact[i]), "exact number %s accepted", exact[i]);

	/* Depth: 256 nested arrays are fine, 257 are not. */
	nest(&b, 256, 0);
	ok(accepts(b.data), "256 nested arrays accepted");
	nest(&b, 257, 0);
	rejects(b.data, b.len, "nesting deeper than 256", "257 nested arrays");
	nest(&b, 128, 1);
	ok(accepts(b.data), "128 nested objects accepted");
	nest(&b, 129, 1);
	rejects(b.data, b.len, "nesting deeper than 256",
	    "129 nested objects (libjq counts an object twice)");
	nest(&b, 10000, 0);
	rejects(b.data, b.len, "nesting deeper than 256",
	    "10000 nested arrays, no crash");
	nest(&b, 10000, 1);
	rejects(b.data, b.len, "nesting deeper than 256",
	    "10000 nested objects, no crash");
	sm_buf_reset(&b);
	for (i = 0; i < 100000; i++)
		sm_buf_addc(&b, '[');
	rejects(b.data, b.len, "nesting deeper than 256",
	    "100000 '[' and nothing else");

	/* What the check accepts, libjq parses: random mixed nestings. */
	agree = 1;
	srand(1);
	for (n = 0; n < 300; n++) {
		int depth = 60 + rand() % 200, k, kinds[260];

		sm_buf_reset(&b);
		for (k = 0; k < depth; k++) {
			kinds[k] = rand() % 4 == 0;
			sm_buf_adds(&b, kinds[k] ? "{\"k\":" : "[");
		}
		sm_buf_adds(&b, "0");
		for (k = depth - 1; k >= 0; k--)
			sm_buf_addc(&b, kinds[k] ? '}' : ']');
		v = jv_parse_sized(b.data, (int)b.len);
		if ((sm_json_check(b.data, b.len, &err) == 0) !=
		    jv_is_valid(v)) {
			agree = 0;
			diag("depth %d: check and libjq disagree", depth);
		}
		jv_free(v);
	}
	ok(agree, "the depth check agrees with libjq on 300 mixed nestings");

	rejects("{} x", 4, "invalid JSON: trailing characters", "trailing");
	rejects_at("[1] [2]", 7, 4, "invalid JSON: trailing characters",
	    "two values");
	rejects("1 2", 3, "invalid JSON: trailing characters", "two numbers");
	rejects("{\"a\":1}}", 8, "invalid JSON: trailing characters",
	    "extra brace");
	rejects("\"a\tb\"", 5, "invalid JSON: unescaped control character "
	    "0x09", "raw tab in a string");
	rejects("\"a\nb\"", 5, "invalid JSON: unescaped control character "
	    "0x0a", "raw newline in a string");
	rejects("\"a\0b\"", 5, "invalid JSON: unescaped control character "
	    "0x00", "raw NUL in a string");
	rejects("[1\0]", 4, "invalid JSON: unexpected byte 0x00",
	    "NUL outside a string");
	rejects_at("[1,]", 4, 3, "invalid JSON: unexpected ']'",
	    "trailing comma");
	rejects_at("{\"a\":1,,}", 9, 7, "invalid JSON: unexpected ','",
	    "double comma");
	rejects_at("\"abc", 4, 0, "invalid JSON: unterminated string",
	    "unterminated string");
	rejects_at("[1", 2, 2, "invalid JSON: unexpected end of input",
	    "unterminated array");
	rejects("", 0, "invalid JSON: unexpected end of input", "empty");
	rejects(" \t\r\n", 4, "invalid JSON: unexpected end of input",
	    "blank");
	rejects("\f1", 2, "invalid JSON: unexpected byte 0x0c",
	    "form feed is not whitespace");
	rejects("\xef\xbb\xbf{}", 5, "invalid JSON: unexpected U+FEFF",
	    "byte order mark");
	rejects("[nan]", 5, "invalid JSON: invalid literal 'nan'", "nan");
	rejects("NaN", 3, "invalid JSON: invalid literal 'NaN'", "NaN");
	rejects("[Infinity]", 10, "invalid JSON: invalid literal 'Infinity'",
	    "Infinity");
	rejects("truex", 5, "invalid JSON: invalid literal 'truex'", "truex");
	rejects("[01]", 4, "invalid JSON: invalid number '01'",
	    "leading zero");
	rejects("[-]", 3, "invalid JSON: invalid number '-'", "bare minus");
	rejects("[2.]", 4, "invalid JSON: invalid number '2.'", "2.");
	rejects("[.5]", 4, "invalid JSON: unexpected '.'", ".5");
	rejects("[+1]", 4, "invalid JSON: unexpected '+'", "+1");
	rejects("[1e]", 4, "invalid JSON: invalid number '1e'", "1e");
	rejects("[0x10]", 6, "invalid JSON: unexpected 'x'", "hex");
	rejects("\"\\x\"", 4, "invalid JSON: invalid escape '\\x'",
	    "bad escape");
	rejects("\"\\u12g4\"", 8, "invalid JSON: invalid \\u escape",
	    "bad \\u escape");
	rejects("{\"a\" 1}", 7, "invalid JSON: unexpected '1'", "no colon");
	rejects("{1:1}", 5, "invalid JSON: unexpected '1'", "number key");
	rejects("['a']", 5, "invalid JSON: unexpected '''", "single quotes");
	rejects("[1}", 3, "invalid JSON: unexpected '}'", "mismatched");
	ok(sm_json_check("[1]", 3, NULL) == 0 &&
	    sm_json_check("[", 1, NULL) == SM_EDATA,
	    "err may be NULL");
	ok(sm_json_check("[1,2] junk", 5, &err) == 0,
	    "only len bytes are read");
	ok(sm_json_check("{}", 2, &err) == 0 &&
	    sm_json_check("[\"x\"]", 5, &err) == 0 &&
	    sm_json_check("  \"\"  ", 6, &err) == 0 &&
	    sm_json_check("null", 4, &err) == 0,
	    "small values accepted");
	sm_buf_free(&b);
}

static void
test_canon_errors(void)
{
	struct sm_buf b;
	jv v;
	int i, rc;

	sm_buf_init(&b);
	sm_buf_adds(&b, "keep");
	v = JV_ARRAY(jv_number(1), jv_number(NAN));
	rc = sm_canon(v, NULL, 0, &b);
	ok(rc == SM_EDATA && strcmp(sm_errmsg(), "non-finite number") == 0,
	    "NaN: non-finite number");
	is_str(b.data, "keep", "the buffer is as it was after an error");
	jv_free(v);
	v = jv_object_set(jv_object(), jv_string("x"), jv_number(INFINITY));
	ok(sm_canon(v, NULL, 0, &b) == SM_EDATA, "Infinity rejected");
	jv_free(v);
	v = jv_number(-INFINITY);
	ok(sm_canon(v, NULL, 0, &b) == SM_EDATA, "-Infinity rejected");
	ok(sm_canon(jv_invalid(), NULL, 0, &b) == SM_EDATA,
	    "an invalid value is rejected");
	v = jv_number(1);
	for (i = 0; i < 300; i++)
		v = JV_ARRAY(v);
	ok(sm_canon(v, NULL, 0, &b) == SM_EDATA,
	    "a value nested 300 deep (built by a program) is rejected");
	jv_free(v);
	sm_buf_free(&b);
}

/* Strings print exactly as sm_buf_add_jstr() escapes them. */
static void
test_strings(void)
{
	static const char alphabet[] = "ab \"\\/\x01\x1f\t\n\x7f\xc3\xa9";
	struct sm_buf got, want;
	char s[64];
	int i, n, k, bad = 0;
	jv v;

	sm_buf_init(&got);
	sm_buf_init(&want);
	srand(2);
	for (i = 0; i < 20000; i++) {
		n = rand() % 40;
		for (k = 0; k < n; k++) {
			s[k] = rand() % 8 ? 'a' + rand() % 26 :
			    alphabet[rand() % (sizeof(alphabet) - 1)];
			/* keep UTF-8 valid: é only as a whole */
			if ((unsigned char)s[k] >= 0x80)
				s[k] = 'z';
		}
		if (n > 2 && rand() % 4 == 0)
			memcpy(s + rand() % (n - 1), "\xc3\xa9", 2);
		v = jv_string_sized(s, n);
		sm_buf_reset(&got);
		sm_buf_reset(&want);
		sm_buf_add_jstr(&want, s, (size_t)n);
		if (sm_canon(v, NULL, 0, &got) != 0 ||
		    got.len != want.len || memcmp(got.data, want.data,
		    got.len) != 0)
			bad++;
		jv_free(v);
	}
	ok(bad == 0, "strings print as sm_buf_add_jstr escapes them (20000 "
	    "random strings)");
	sm_buf_free(&got);
	sm_buf_free(&want);
}

/* The shortest %.{p}g that reads back, straight from the definition. */
static void
num_ref(double d, char *out)
{
	int p;

	if (fabs(d) <= 9007199254740992.0 && d == (double)(int64_t)d) {
		snprintf(out, 32, "%lld", (long long)d);
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(out, 32, "%.*g", p, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static void
test_num_format(void)
{
	char got[SM_NUM_MAX], want[32];
	uint64_t x = 88172645463325252ULL, r;
	int i, bad = 0;
	double d;

	ok(sm_num_format(NAN, got) == -1 && got[0] == '\0',
	    "sm_num_format(NaN) is -1");
	ok(sm_num_format(-0.0, got) == 1 && strcmp(got, "0") == 0,
	    "sm_num_format(-0) is 0");
	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x;
		switch (i % 4) {
		case 0:		/* any bit pattern */
			memcpy(&d, &r, sizeof(d));
			break;
		case 1:		/* prices, areas: few decimals */
			d = (double)(r % 100000000) / 100.0;
			break;
		case 2:		/* coordinates */
			d = (double)(int64_t)(r % 3600000000u) / 1e7 - 180;
			break;
		default:	/* tiny, huge and subnormal */
			d = ldexp((double)(r >> 11), (int)(r % 2200) - 1100);
		}
		if (!isfinite(d))
			continue;
		sm_num_format(d, got);
		num_ref(d, want);
		if (strcmp(got, want) != 0 && bad++ < 5)
			diag("%.17g: got %s, want %s", d, got, want);
	}
	ok(bad == 0, "sm_num_format = shortest %%.{p}g on 200000 doubles");
}

int
main(void)
{
	sm_buf_init(&out);
	test_canonical_form();
	test_independence();
	test_hash();
	test_ignore();
	test_key();
	test_rejects();
	test_canon_errors();
	test_num_format();
	test_strings();
	sm_buf_free(&out);
	tap_no_plan_done();
	return tap_exit();
}
