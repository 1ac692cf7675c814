/* See LICENSE file for copyright and license details. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"

/*
 * The strict pre-scan of SPEC §2.  libjq 1.6 reads far more than RFC 8259
 * allows (nan, invalid UTF-8 turned into U+FFFD, lone surrogates, numbers
 * it rounds), so every text goes through sm_json_check() first: one pass
 * over the bytes, no allocation, no recursion (an explicit stack bounded
 * by SM_MAX_DEPTH).
 */

#define LIT_MAX		64	/* bytes of a literal quoted in a message */
#define SIG_MAX		17	/* significant digits a double can need */

/* Byte classes inside a string: 0 is a byte copied as it is. */
enum { C_PLAIN, C_QUOTE, C_BSLASH, C_CTRL, C_HIGH };

static const unsigned char strclass[256] = {
	/* 0x00-0x1f: control characters must be escaped */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x80-0xff: UTF-8 sequences, checked one by one */
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4
};

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL
#define HASZERO(x)	(((x) - ONES) & ~(x) & HIGHS)

/* Whether any of 8 bytes is '"', '\\', below 0x20 or above 0x7f. */
static inline int
special8(const unsigned char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return (HASZERO(x ^ (ONES * '"')) | HASZERO(x ^ (ONES * '\\')) |
	    ((x - ONES * 0x20) & ~x) | x) & HIGHS ? 1 : 0;
}

static inline const unsigned char *
skipws(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'))
		p++;
	return p;
}

/* Records where and why; returns SM_EDATA. */
static int __attribute__((format(printf, 4, 5)))
fail(struct sm_json_err *err, const unsigned char *s,
    const unsigned char *at, const char *fmt, ...)
{
	struct sm_json_err dummy;
	va_list ap;

	if (err == NULL)
		err = &dummy;
	err->offset = (size_t)(at - s);
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return sm_error(SM_EDATA, "%s", err->reason);
}

/*
 * The length (2 to 4) of the well-formed UTF-8 sequence at p, or 0 when it
 * is not one: a stray continuation byte, an overlong form, a surrogate,
 * a code point above U+10FFFF, or a sequence cut short.
 */
static inline int
utf8len(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		return avail >= 3 && p[1] >= lo && p[1] <= hi &&
		    (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		return avail >= 4 && p[1] >= lo && p[1] <= hi &&
		    (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* The value of four hex digits at p, or -1. */
static inline long
hex4(const unsigned char *p)
{
	long v = 0;
	int i, c;

	for (i = 0; i < 4; i++) {
		c = p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return -1;
		v = v << 4 | c;
	}
	return v;
}

/* Reports the byte at p as unexpected, naming it as well as we can. */
static int
unexpected(struct sm_json_err *err, const unsigned char *s,
    const unsigned char *p, const unsigned char *end)
{
	long cp;
	int n;

	if (p == end)
		return fail(err, s, p, "invalid JSON: unexpected end of input");
	if (*p >= 0x20 && *p < 0x7f)
		return fail(err, s, p, "invalid JSON: unexpected '%c'", *p);
	if (*p < 0x80)
		return fail(err, s, p, "invalid JSON: unexpected byte 0x%02x",
		    *p);
	if ((n = utf8len(p, end)) == 0)
		return fail(err, s, p, "invalid UTF-8");
	/* Named by code point: U+FEFF (a byte order mark) prints blank. */
	if (n == 2)
		cp = (p[0] & 0x1fL) << 6 | (p[1] & 0x3f);
	else if (n == 3)
		cp = (p[0] & 0x0fL) << 12 | (p[1] & 0x3fL) << 6 | (p[2] & 0x3f);
	else
		cp = (p[0] & 0x07L) << 18 | (p[1] & 0x3fL) << 12 |
		    (p[2] & 0x3fL) << 6 | (p[3] & 0x3f);
	return fail(err, s, p, "invalid JSON: unexpected U+%04lX", cp);
}

/*
 * Scans the string whose opening quote is at *pp and leaves *pp after
 * its closing quote.  Returns 0 or SM_EDATA.
 */
static int
string(const unsigned char **pp, const unsigned char *s,
    const unsigned char *end, struct sm_json_err *err)
{
	const unsigned char *p = *pp + 1;
	long cp, lo;
	int n;

	for (;;) {
		while (end - p >= 8 && !special8(p))
			p += 8;
		while (p < end && strclass[*p] == C_PLAIN)
			p++;
		if (p == end)
			return fail(err, s, *pp,
			    "invalid JSON: unterminated string");
		switch (strclass[*p]) {
		case C_QUOTE:
			*pp = p + 1;
			return 0;
		case C_CTRL:
			return fail(err, s, p, "invalid JSON: unescaped "
			    "control character 0x%02x in string", *p);
		case C_HIGH:
			if ((n = utf8len(p, end)) == 0)
				return fail(err, s, p, "invalid UTF-8");
			p += n;
			continue;
		}
		/* A backslash. */
		if (end - p < 2)
			return fail(err, s, *pp,
			    "invalid JSON: unterminated string");
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			if (p[1] >= 0x20 && p[1] < 0x7f)
				return fail(err, s, p, "invalid JSON: invalid "
				    "escape '\\%c'", p[1]);
			return fail(err, s, p, "invalid JSON: invalid escape");
		}
		if (end - p < 6 || (cp = hex4(p + 2)) < 0)
			return fail(err, s, p, "invalid JSON: invalid \\u "
			    "escape");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
			    (lo = hex4(p + 8)) >= 0xdc00 && lo <= 0xdfff) {
				p += 12;
				continue;
			}
			return fail(err, s, p, "lone surrogate \\u%04lx", cp);
		}
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(err, s, p, "lone surrogate \\u%04lx", cp);
		p += 6;
	}
}

/* Reports the literal at p as one that a double cannot hold. */
static int
lossy(struct sm_json_err *err, const unsigned char *s,
    const unsigned char *p, size_t n)
{
	if (n > LIT_MAX)
		return fail(err, s, p, "number %.*s... cannot be stored "
		    "exactly: quote it as a string", LIT_MAX, (const char *)p);
	return fail(err, s, p, "number %.*s cannot be stored exactly: "
	    "quote it as a string", (int)n, (const char *)p);
}

/*
 * The significant digits of a number literal (no leading or trailing
 * zeros) and the decimal exponent of the first: 12.5e3 is "125", 4.
 * nd is 0 for zero and SIG_MAX + 1 when there are more than SIG_MAX.
 */
struct decimal {
	char dig[SIG_MAX + 1];
	int nd;
	int64_t exp;
};

static void
decimal(const unsigned char *p, const unsigned char *end, struct decimal *d)
{
	int64_t intlen = 0, idx = 0, first = -1, last = -1, e = 0;
	int neg = 0, inint = 1;

	d->nd = 0;
	if (p < end && *p == '-')
		p++;
	for (; p < end; p++) {
		if (*p == '.') {
			inint = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		if (*p != '0') {
			if (first < 0)
				first = idx;
			last = idx;
		}
		if (first >= 0 && idx - first < SIG_MAX + 1)
			d->dig[idx - first] = (char)*p;
		if (inint)
			intlen++;
		idx++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			neg = *p++ == '-';
		/*
		 * Saturated far beyond any digit count, so that the sign of
		 * the exponent below stays right.
		 */
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (e < INT64_C(100000000000000000))
				e = e * 10 + (*p - '0');
		if (neg)
			e = -e;
	}
	if (first < 0) {
		d->exp = 0;
		return;
	}
	d->nd = last - first + 1 > SIG_MAX ? SIG_MAX + 1 :
	    (int)(last - first + 1);
	d->exp = intlen - 1 - first + e;
}

/*
 * Whether the literal p (n bytes, not an integer literal) reads as a
 * double that represents exactly its value: the shortest form of that
 * double must have the same significant digits and exponent.
 */
static int
exact(const unsigned char *p, size_t n)
{
	struct decimal lit, back;
	char buf[SIG_MAX + 32], num[SM_NUM_MAX];
	double v;
	int len;

	decimal(p, p + n, &lit);
	if (lit.nd == 0)
		return 1;
	if (lit.nd > SIG_MAX)
		return 0;
	/* Up to 15 digits survive the trip in the normal range. */
	if (lit.nd <= 15 && lit.exp >= -307 && lit.exp <= 307)
		return 1;
	if (lit.exp > 308 || lit.exp < -324)
		return 0;
	/* The literal rebuilt short, "d.ddde-x", for strtod. */
	snprintf(buf, sizeof(buf), "%c.%.*se%d", lit.dig[0], lit.nd - 1,
	    lit.dig + 1, (int)lit.exp);
	v = strtod(buf, NULL);
	if (!isfinite(v) || v == 0)
		return 0;
	len = sm_num_format(v, num);
	decimal((const unsigned char *)num, (const unsigned char *)num + len,
	    &back);
	return back.nd == lit.nd && back.exp == lit.exp &&
	    memcmp(back.dig, lit.dig, (size_t)lit.nd) == 0;
}

/*
 * Scans the number at *pp (RFC 8259 grammar) and checks that a double
 * holds it exactly; leaves *pp after it.  Returns 0 or SM_EDATA.
 */
static int
number(const unsigned char **pp, const unsigned char *s,
    const unsigned char *end, struct sm_json_err *err)
{
	const unsigned char *start = *pp, *p = *pp, *q, *digits;
	int integer = 1;
	size_t nd;

	if (*p == '-')
		p++;
	digits = p;
	if (p < end && *p == '0')
		p++;
	else if (p < end && *p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		goto bad;
	nd = (size_t)(p - digits);
	if (p < end && *p >= '0' && *p <= '9')
		goto bad;		/* a leading zero */
	if (p < end && *p == '.') {
		integer = 0;
		if (++p == end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integer = 0;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	*pp = p;
	if (integer) {
		/* |v| <= 2^53 = 9007199254740992 */
		if (nd < 16 || (nd == 16 &&
		    memcmp(digits, "9007199254740992", 16) <= 0))
			return 0;
		return lossy(err, s, start, (size_t)(p - start));
	}
	if (!exact(start, (size_t)(p - start)))
		return lossy(err, s, start, (size_t)(p - start));
	return 0;
bad:
	for (q = start; q < end && q - start < LIT_MAX &&
	    ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' ||
	    *q == '.' || *q == 'e' || *q == 'E'); q++)
		;
	if (q == start)
		return unexpected(err, s, start, end);
	return fail(err, s, start, "invalid JSON: invalid number '%.*s'",
	    (int)(q - start), (const char *)start);
}

/* Checks for the literal word (true, false, null) at *pp. */
static int
literal(const unsigned char **pp, const unsigned char *s,
    const unsigned char *end, struct sm_json_err *err, const char *word,
    size_t n)
{
	const unsigned char *p = *pp, *q;

	if ((size_t)(end - p) >= n && memcmp(p, word, n) == 0 &&
	    (p + n == end || !((p[n] >= 'a' && p[n] <= 'z') ||
	    (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))) {
		*pp = p + n;
		return 0;
	}
	for (q = p; q < end && q - p < LIT_MAX && ((*q >= 'a' && *q <= 'z') ||
	    (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')); q++)
		;
	return fail(err, s, p, "invalid JSON: invalid literal '%.*s'",
	    (int)(q - p), (const char *)p);
}

/*
 * Checks that text is exactly one JSON value that libjq reads without
 * altering it (see sm.h).  Returns 0, or SM_EDATA with err (when not
 * NULL) holding the byte offset and the reason; the reason is also the
 * message of sm_errmsg().
 *
 * Depth is counted as libjq 1.6 counts it, so that what passes here never
 * fails in jv_parse: a container may open when the arrays enclosing it
 * plus twice the objects enclosing it (an object and its pending key)
 * number fewer than SM_MAX_DEPTH.  For arrays alone that is a nesting of
 * at most SM_MAX_DEPTH.
 */
int
sm_json_check(const char *text, size_t len, struct sm_json_err *err)
{
	const unsigned char *s = (const unsigned char *)text, *end = s + len;
	const unsigned char *p;
	unsigned char stack[SM_MAX_DEPTH];
	int depth = 0, weight = 0, rc;

	p = skipws(s, end);
value:
	if (p == end)
		return unexpected(err, s, p, end);
	switch (*p) {
	case '{':
	case '[':
		if (weight >= SM_MAX_DEPTH) {
			if (depth >= SM_MAX_DEPTH)
				return fail(err, s, p, "nesting deeper than %d",
				    SM_MAX_DEPTH);
			return fail(err, s, p, "nesting deeper than %d (an "
			    "object counts as two levels)", SM_MAX_DEPTH);
		}
		stack[depth++] = *p;
		weight += *p == '{' ? 2 : 1;
		p = skipws(p + 1, end);
		if (p < end && *p == (stack[depth - 1] == '{' ? '}' : ']')) {
			p++;
			weight -= stack[--depth] == '{' ? 2 : 1;
			goto after;
		}
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	case '"':
		if ((rc = string(&p, s, end, err)) != 0)
			return rc;
		goto after;
	case 't':
		if ((rc = literal(&p, s, end, err, "true", 4)) != 0)
			return rc;
		goto after;
	case 'f':
		if ((rc = literal(&p, s, end, err, "false", 5)) != 0)
			return rc;
		goto after;
	case 'n':
		if ((rc = literal(&p, s, end, err, "null", 4)) != 0)
			return rc;
		goto after;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if ((rc = number(&p, s, end, err)) != 0)
			return rc;
		goto after;
	default:
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			return literal(&p, s, end, err, "", 0);
		return unexpected(err, s, p, end);
	}
key:
	if (p == end || *p != '"')
		return unexpected(err, s, p, end);
	if ((rc = string(&p, s, end, err)) != 0)
		return rc;
	p = skipws(p, end);
	if (p == end || *p != ':')
		return unexpected(err, s, p, end);
	p = skipws(p + 1, end);
	goto value;
after:
	p = skipws(p, end);
	if (depth == 0) {
		if (p != end)
			return fail(err, s, p, "invalid JSON: trailing "
			    "characters");
		return 0;
	}
	if (p == end)
		return unexpected(err, s, p, end);
	if (*p == ',') {
		p = skipws(p + 1, end);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if (*p == (stack[depth - 1] == '{' ? '}' : ']')) {
		p++;
		weight -= stack[--depth] == '{' ? 2 : 1;
		goto after;
	}
	return unexpected(err, s, p, end);
}

/*
 * sm_json_check() and then jv_parse_sized().  On success returns 0 and
 * stores a new reference in *out.  On failure returns SM_EDATA with err
 * (when not NULL) filled, the reason also in sm_errmsg(), and *out
 * untouched.
 */
int
sm_json_parse(const char *text, size_t len, jv *out, struct sm_json_err *err)
{
	struct sm_json_err dummy;
	const char *m;
	jv v, msg;
	int rc;

	if (err == NULL)
		err = &dummy;
	if (len > INT_MAX) {
		err->offset = 0;
		snprintf(err->reason, sizeof(err->reason), "text too long "
		    "(%zu bytes)", len);
		return sm_error(SM_EDATA, "%s", err->reason);
	}
	if ((rc = sm_json_check(text, len, err)) != 0)
		return rc;
	v = jv_parse_sized(text, (int)len);
	if (jv_is_valid(v)) {
		*out = v;
		return 0;
	}
	/* Not expected after the check, but libjq has the last word. */
	msg = jv_invalid_get_msg(v);
	m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) :
	    "rejected by libjq";
	err->offset = 0;
	snprintf(err->reason, sizeof(err->reason), "invalid JSON: %s", m);
	jv_free(msg);
	return sm_error(SM_EDATA, "%s", err->reason);
}
