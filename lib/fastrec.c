/* See LICENSE file for copyright and license details. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "sm.h"
#include "sm-private.h"

/*
 * The fast path of import (SPEC §2): from the bytes of one record to its
 * key, canonical form and hash without building a libjq tree, with the
 * outcome of sm_json_parse() + sm_rec_key() + sm_rec_digest() to the
 * byte.  sm_json_check() passes on the text first, so every rule lives in
 * one place; what follows reads text known to be well formed: one pass
 * lays the values out as a flat token array, then objects are printed
 * with their members sorted through an index array (duplicates: the last
 * wins, as in jq).  The arrays live in per-thread scratch memory reused
 * from record to record.
 */

#define TWO53		9007199254740992.0
#define INSERTION_MAX	24	/* below this, insertion sort beats qsort */
#define NUM_LOCAL	64	/* number literals copied on the stack */
#define NUM_OUT		32	/* bytes a number can grow by when printed */

enum { T_NULL, T_TRUE, T_FALSE, T_NUM, T_STR, T_ARR, T_OBJ };

#define F_ESC	1	/* a string holding a backslash */
#define F_INT	1	/* a number without fraction or exponent */

/*
 * One value, or one key of an object.  A string's bytes are those between
 * its quotes; a container's n counts the tokens directly inside it (keys
 * and values for an object) and next is the index after its last token.
 */
struct tok {
	uint32_t off;
	uint32_t n;		/* scalars: length in bytes */
	uint32_t next;
	uint8_t type;
	uint8_t flags;
};

/* A member of an object: its key (unescaped) and its key's token. */
struct ment {
	uint64_t pfx;		/* the first 8 key bytes, big-endian */
	const char *k;
	uint32_t len;
	uint32_t ktok;		/* the value is ktok + 1 */
};

/* Bytes of the form that the hash leaves out (an ignored member). */
struct span {
	size_t off;
	size_t len;
};

struct scratch {
	struct tok *tok;
	size_t ctok;
	struct ment *m;
	size_t cm;
	char *kb;		/* keys with escapes, unescaped */
	size_t ckb;
	struct span *sp;
	size_t csp;
	size_t *ilen;		/* lengths of the ignored names */
	size_t cilen;
	struct sm_buf num;	/* long number literals, NUL-terminated */
};

static _Thread_local struct scratch scratch;

/* The state of one record being printed. */
struct emit {
	const char *s;		/* the text */
	struct tok *tok;
	struct ment *m;
	size_t nm;		/* members of the objects being printed */
	char *kb;
	size_t nkb;
	char *o;		/* where the output goes on */
	int rc;
};

static const char hex[] = "0123456789abcdef";

/* Whitespace and the separators the token pass steps over. */
static const unsigned char skip[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1, [','] = 1, [':'] = 1
};

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL
#define HASZERO(x)	(((x) - ONES) & ~(x) & HIGHS)

/*
 * Returns p, an array of *cap elements of size bytes, grown to hold at
 * least want of them (*cap updated).
 */
static void *
reserve(void *p, size_t *cap, size_t want, size_t size)
{
	size_t n;

	if (want <= *cap)
		return p;
	n = *cap ? *cap : 64;
	while (n < want)
		n *= 2;
	*cap = n;
	return sm_xrealloc(p, n * size);
}

/* Copies msg into err->reason, cut short when it must be. */
static void
reason(struct sm_json_err *err, const char *msg)
{
	size_t n = strlen(msg);

	if (n >= sizeof(err->reason))
		n = sizeof(err->reason) - 1;
	memcpy(err->reason, msg, n);
	err->reason[n] = '\0';
}

/* Fills err and the message of sm_errmsg(); returns SM_EDATA. */
static int __attribute__((format(printf, 2, 3)))
fail(struct sm_json_err *err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->offset = 0;
	reason(err, msg);
	return sm_error(SM_EDATA, "%s", msg);
}

/*
 * The token pass over text that sm_json_check() accepted.  Fills
 * scratch.tok and returns the number of tokens; *nfloat gets the number
 * of numbers that may be printed through sm_num_format(), *esc the bytes
 * of the strings with escapes.
 */
static size_t
tokenize(const char *text, size_t len, size_t *nfloat, size_t *esc)
{
	const unsigned char *s = (const unsigned char *)text, *p = s;
	const unsigned char *end = s + len, *q;
	uint32_t stack[SM_MAX_DEPTH + 1];
	struct tok *tok = scratch.tok, *t;
	size_t ntok = 0, nf = 0, ne = 0;
	int depth = 0, flags;
#if defined(__SSE2__)
	const __m128i quote16 = _mm_set1_epi8('"');
	const __m128i bslash16 = _mm_set1_epi8('\\');
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x, m;
#endif
	unsigned char c;

	for (;;) {
		while (p < end && skip[*p])
			p++;
		if (p == end)
			break;
		c = *p;
		if (c == '}' || c == ']') {
			tok[stack[--depth]].next = (uint32_t)ntok;
			p++;
			continue;
		}
		if (ntok == scratch.ctok)
			tok = scratch.tok = reserve(scratch.tok, &scratch.ctok,
			    ntok + 1, sizeof(*tok));
		t = &tok[ntok];
		if (depth > 0)
			tok[stack[depth - 1]].n++;
		flags = 0;
		switch (c) {
		case '{':
		case '[':
			t->type = c == '{' ? T_OBJ : T_ARR;
			t->off = (uint32_t)(p - s);
			t->n = 0;
			/* sm_json_check() bounds the nesting. */
			stack[depth++] = (uint32_t)ntok;
			p++;
			break;
		case '"':
			q = ++p;
			flags = 0;
			for (;;) {
#if defined(__SSE2__)
				while (end - q >= 16) {
					__m128i v = _mm_loadu_si128(
					    (const __m128i *)(const void *)q);
					int b = _mm_movemask_epi8(_mm_or_si128(
					    _mm_cmpeq_epi8(v, quote16),
					    _mm_cmpeq_epi8(v, bslash16)));

					if (b != 0) {
						q += __builtin_ctz((unsigned)b);
						break;
					}
					q += 16;
				}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				while (end - q >= 8) {
					memcpy(&x, q, 8);
					m = HASZERO(x ^ (ONES * '"')) |
					    HASZERO(x ^ (ONES * '\\'));
					if (m != 0) {
						/* The lowest flag is exact. */
						q += __builtin_ctzll(m) / 8;
						break;
					}
					q += 8;
				}
#endif
				while (*q != '"' && *q != '\\')
					q++;
				if (*q == '"')
					break;
				flags = F_ESC;
				q += 2;
			}
			t->type = T_STR;
			t->off = (uint32_t)(p - s);
			t->n = (uint32_t)(q - p);
			if (flags)
				ne += t->n;
			p = q + 1;
			break;
		case 't':
			t->type = T_TRUE;
			p += 4;
			break;
		case 'f':
			t->type = T_FALSE;
			p += 5;
			break;
		case 'n':
			t->type = T_NULL;
			p += 4;
			break;
		default:
			flags = F_INT;
			q = p;
			for (; q < end; q++) {
				if ((*q >= '0' && *q <= '9') || *q == '-' ||
				    *q == '+')
					continue;
				if (*q == '.' || *q == 'e' || *q == 'E') {
					flags = 0;
					continue;
				}
				break;
			}
			t->type = T_NUM;
			t->off = (uint32_t)(p - s);
			t->n = (uint32_t)(q - p);
			nf += flags == 0;
			p = q;
			break;
		}
		t->flags = (uint8_t)flags;
		ntok++;
	}
	*nfloat = nf;
	*esc = ne;
	return ntok;
}

/* The value of the four hex digits at p (checked already). */
static inline uint32_t
hex4(const unsigned char *p)
{
	uint32_t v = 0;
	int i, c;

	for (i = 0; i < 4; i++) {
		c = p[i];
		c = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
		v = v << 4 | (uint32_t)c;
	}
	return v;
}

/*
 * The code point of the \u escape at p (a pair when a high surrogate);
 * *pp is left after it.
 */
static inline uint32_t
ucode(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t cp, lo;

	cp = hex4(p + 2);
	p += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		lo = hex4(p + 2);
		p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10 | (lo - 0xdc00));
	}
	*pp = p;
	return cp;
}

/* Writes the code point cp in UTF-8 at o; returns the end. */
static inline char *
utf8(char *o, uint32_t cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Writes the character c of a string in canonical form. */
static inline char *
putchr(char *o, uint32_t c)
{
	if (c >= 0x20 && c != '"' && c != '\\')
		return utf8(o, c);
	*o++ = '\\';
	switch (c) {
	case '"':	*o++ = '"'; break;
	case '\\':	*o++ = '\\'; break;
	case '\b':	*o++ = 'b'; break;
	case '\f':	*o++ = 'f'; break;
	case '\n':	*o++ = 'n'; break;
	case '\r':	*o++ = 'r'; break;
	case '\t':	*o++ = 't'; break;
	default:
		*o++ = 'u';
		*o++ = '0';
		*o++ = '0';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	return o;
}

/*
 * Unescapes the n bytes of string text at p into o; returns the end.
 * Never longer than the text.
 */
static char *
unescape(char *o, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n, *q;

	while (p < end) {
		if ((q = memchr(p, '\\', (size_t)(end - p))) == NULL)
			q = end;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		if ((p = q) == end)
			break;
		switch (p[1]) {
		case 'b':	*o++ = '\b'; break;
		case 'f':	*o++ = '\f'; break;
		case 'n':	*o++ = '\n'; break;
		case 'r':	*o++ = '\r'; break;
		case 't':	*o++ = '\t'; break;
		case 'u':
			o = utf8(o, ucode(&p));
			continue;
		default:	*o++ = (char)p[1]; break;	/* " \ / */
		}
		p += 2;
	}
	return o;
}

/* Writes the string text at p (n bytes, with escapes) in canonical form. */
static char *
putesc(char *o, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n, *q;

	*o++ = '"';
	while (p < end) {
		if ((q = memchr(p, '\\', (size_t)(end - p))) == NULL)
			q = end;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		if ((p = q) == end)
			break;
		switch (p[1]) {
		case '/':
			*o++ = '/';
			break;
		case 'u':
			o = putchr(o, ucode(&p));
			continue;
		default:	/* " \ b f n r t stay as they are */
			*o++ = '\\';
			*o++ = (char)p[1];
			break;
		}
		p += 2;
	}
	*o++ = '"';
	return o;
}

/* Writes the raw bytes s (n of them) as a canonical string. */
static char *
putraw(char *o, const char *s, size_t n)
{
	unsigned char c;
	size_t i;

	*o++ = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			*o++ = (char)c;
		else
			o = putchr(o, c);
	}
	*o++ = '"';
	return o;
}

/*
 * The canonical form of the number literal at s (n bytes) into out, as
 * sm_num_format() prints the double it reads as, for the common literals
 * whose form follows from their digits alone: at most 15 significant
 * digits (those a double keeps whatever they are) and a value that is
 * either integral below 10^15 or not integral and within the normal
 * range.  Returns the length, or -1 for any other literal.
 */
static int
numfast(const char *s, size_t n, char out[SM_NUM_MAX])
{
	const char *end = s + n;
	char dig[15], *o = out;
	long idx = 0, first = -1, last = -1, intlen = 0, e = 0, x;
	int nd, neg = 0, eneg = 0, inint = 1, i;

	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	for (; s < end; s++) {
		if (*s == '.') {
			inint = 0;
			continue;
		}
		if (*s < '0' || *s > '9')
			break;
		if (*s != '0') {
			if (first < 0)
				first = idx;
			else if (idx - first >= 15)
				return -1;
			last = idx;
		}
		if (first >= 0 && idx - first < 15)
			dig[idx - first] = *s;
		intlen += inint;
		idx++;
	}
	if (s < end) {
		/* The exponent: "e", a sign, digits (sm_json_check()). */
		s++;
		if (*s == '-' || *s == '+')
			eneg = *s++ == '-';
		for (; s < end; s++)
			if ((e = e * 10 + (*s - '0')) > 400)
				return -1;
		if (eneg)
			e = -e;
	}
	if (first < 0) {
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	nd = (int)(last - first + 1);
	/* The value is d.ddd * 10^x. */
	x = intlen - 1 - first + e;
	if (neg)
		*o++ = '-';
	if (x >= nd - 1) {
		/* Integral: sm_num_format()'s plain integer when < 10^15. */
		if (x > 14)
			return -1;
		memcpy(o, dig, (size_t)nd);
		o += nd;
		for (i = nd - 1; i < x; i++)
			*o++ = '0';
	} else if (x < -300)
		return -1;
	else if (x < -4) {
		/* "%.{nd}g": d.ddde-XX */
		*o++ = dig[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, dig + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = '-';
		x = -x;
		if (x >= 100)
			*o++ = (char)('0' + x / 100);
		*o++ = (char)('0' + x / 10 % 10);
		*o++ = (char)('0' + x % 10);
	} else if (x >= 0) {
		memcpy(o, dig, (size_t)x + 1);
		o += x + 1;
		*o++ = '.';
		memcpy(o, dig + x + 1, (size_t)(nd - x - 1));
		o += nd - x - 1;
	} else {
		*o++ = '0';
		*o++ = '.';
		for (i = -1; i > x; i--)
			*o++ = '0';
		memcpy(o, dig, (size_t)nd);
		o += nd;
	}
	*o = '\0';
	return (int)(o - out);
}

/* The number literal at s (n bytes) as libjq reads it. */
static double
number(const char *s, size_t n)
{
	char local[NUM_LOCAL];

	if (n < sizeof(local)) {
		memcpy(local, s, n);
		local[n] = '\0';
		return strtod(local, NULL);
	}
	sm_buf_reset(&scratch.num);
	sm_buf_add(&scratch.num, s, n);
	return strtod(scratch.num.data, NULL);
}

/* The first 8 bytes of key k (zeros after its end) as a big-endian word. */
static inline uint64_t
prefix(const char *k, size_t len)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t v = 0;
	size_t i;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len >= 8) {
		memcpy(&v, p, 8);
		return __builtin_bswap64(v);
	}
#endif
	for (i = 0; i < 8 && i < len; i++)
		v |= (uint64_t)p[i] << (56 - 8 * i);
	return v;
}

/* Key order: bytes, then shorter first; then order in the text. */
static inline int
mcmp(const struct ment *a, const struct ment *b)
{
	size_t n;
	int r;

	if (a->pfx != b->pfx)
		return a->pfx < b->pfx ? -1 : 1;
	if (a->len > 8 && b->len > 8) {
		n = a->len < b->len ? a->len : b->len;
		if ((r = memcmp(a->k + 8, b->k + 8, n - 8)) != 0)
			return r;
	}
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->ktok < b->ktok ? -1 : a->ktok > b->ktok;
}

/* mcmp() for qsort(). */
static int
mcmpq(const void *a, const void *b)
{
	return mcmp(a, b);
}

/* Whether a and b have the same key. */
static inline int
samekey(const struct ment *a, const struct ment *b)
{
	return a->len == b->len && a->pfx == b->pfx &&
	    (a->len <= 8 || memcmp(a->k + 8, b->k + 8, a->len - 8) == 0);
}

/*
 * Collects the members of object i on the member stack, sorted by key,
 * only the last of each key kept.  Returns how many; they are at
 * e->m + *base.
 */
static size_t
members(struct emit *e, uint32_t i, size_t *base)
{
	const struct tok *tok = e->tok, *kt;
	struct ment *m = e->m + e->nm, t;
	size_t n = tok[i].n / 2, k, j, cnt;
	uint32_t at = i + 1;
	char *end;

	for (k = 0; k < n; k++) {
		kt = &tok[at];
		m[k].ktok = at;
		if (kt->flags & F_ESC) {
			end = unescape(e->kb + e->nkb,
			    (const unsigned char *)e->s + kt->off, kt->n);
			m[k].k = e->kb + e->nkb;
			m[k].len = (uint32_t)(end - m[k].k);
			e->nkb += m[k].len;
		} else {
			m[k].k = e->s + kt->off;
			m[k].len = kt->n;
		}
		m[k].pfx = prefix(m[k].k, m[k].len);
		at++;
		at = tok[at].type >= T_ARR ? tok[at].next : at + 1;
	}
	if (n > INSERTION_MAX)
		qsort(m, n, sizeof(*m), mcmpq);
	else
		for (k = 1; k < n; k++) {
			t = m[k];
			for (j = k; j > 0 && mcmp(&m[j - 1], &t) > 0; j--)
				m[j] = m[j - 1];
			m[j] = t;
		}
	/* Of equal keys the last in the text sorts last and stays. */
	for (k = 0, cnt = 0; k < n; k++)
		if (k + 1 == n || !samekey(&m[k], &m[k + 1]))
			m[cnt++] = m[k];
	*base = e->nm;
	e->nm += cnt;
	return cnt;
}

static uint32_t value(struct emit *, uint32_t);

/*
 * memcpy() for the short runs of a record (keys, words, numbers), which
 * a call costs more than the copy; reads and writes only [0, n).
 */
static inline char *
copy(char *o, const char *s, size_t n)
{
	uint64_t a, b;
	uint32_t c, d;

	if (n >= 8 && n <= 16) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(o, &a, 8);
		memcpy(o + n - 8, &b, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(&c, s, 4);
		memcpy(&d, s + n - 4, 4);
		memcpy(o, &c, 4);
		memcpy(o + n - 4, &d, 4);
	} else if (n < 4) {
		if (n > 0)
			o[0] = s[0];
		if (n > 1)
			o[1] = s[1];
		if (n > 2)
			o[2] = s[2];
	} else
		memcpy(o, s, n);
	return o + n;
}

/* Writes the key of member m and its colon. */
static inline void
putkey(struct emit *e, const struct ment *m)
{
	const struct tok *kt = &e->tok[m->ktok];

	if (kt->flags & F_ESC)
		e->o = putraw(e->o, m->k, m->len);
	else {
		*e->o++ = '"';
		e->o = copy(e->o, m->k, m->len);
		*e->o++ = '"';
	}
	*e->o++ = ':';
}

/* Prints object i with its members sorted; returns the index after it. */
static uint32_t
object(struct emit *e, uint32_t i)
{
	size_t base, n, k;

	n = members(e, i, &base);
	*e->o++ = '{';
	for (k = 0; k < n && e->rc == 0; k++) {
		if (k > 0)
			*e->o++ = ',';
		putkey(e, &e->m[base + k]);
		value(e, e->m[base + k].ktok + 1);
	}
	*e->o++ = '}';
	e->nm = base;
	return e->tok[i].next;
}

/*
 * Prints value i; returns the index after it.  Recursion is bounded by
 * the nesting that sm_json_check() allows.
 */
static uint32_t
value(struct emit *e, uint32_t i)
{
	const struct tok *t = &e->tok[i];
	const char *s = e->s + t->off;
	char num[SM_NUM_MAX];
	uint32_t j;
	double d;
	int n;

	switch (t->type) {
	case T_NULL:
		memcpy(e->o, "null", 4);
		e->o += 4;
		return i + 1;
	case T_TRUE:
		memcpy(e->o, "true", 4);
		e->o += 4;
		return i + 1;
	case T_FALSE:
		memcpy(e->o, "false", 5);
		e->o += 5;
		return i + 1;
	case T_STR:
		if (t->flags & F_ESC)
			e->o = putesc(e->o, (const unsigned char *)s, t->n);
		else {
			*e->o++ = '"';
			e->o = copy(e->o, s, t->n);
			*e->o++ = '"';
		}
		return i + 1;
	case T_NUM:
		if (t->flags & F_INT) {
			/* sm_json_check() let no integer beyond 2^53 pass. */
			if (t->n == 2 && s[0] == '-' && s[1] == '0')
				*e->o++ = '0';
			else
				e->o = copy(e->o, s, t->n);
			return i + 1;
		}
		if ((n = numfast(s, t->n, num)) >= 0) {
			e->o = copy(e->o, num, (size_t)n);
			return i + 1;
		}
		d = number(s, t->n);
		if ((n = sm_num_format(d, num)) < 0) {
			e->rc = sm_error(SM_EDATA, "non-finite number");
			return i + 1;
		}
		/* As sm_rec_digest(): such a literal would not read back. */
		if (fabs(d) > TWO53 && strpbrk(num, ".e") == NULL) {
			e->rc = sm_error(SM_EDATA, "number %s is an integer "
			    "beyond 2^53: quote it as a string", num);
			return i + 1;
		}
		memcpy(e->o, num, (size_t)n);
		e->o += n;
		return i + 1;
	case T_ARR:
		*e->o++ = '[';
		for (j = i + 1; j < t->next && e->rc == 0; ) {
			if (j > i + 1)
				*e->o++ = ',';
			j = value(e, j);
		}
		*e->o++ = ']';
		return t->next;
	default:
		return object(e, i);
	}
}

/* What findkey() looks in: the sorted top-level members of a record. */
struct keyfind {
	struct emit *e;
	const struct ment *m;
	size_t n;
};

/* sm_key_pick()'s look-up among the members of a keyfind. */
static void
member(const char *name, struct sm_keyval *v, void *arg)
{
	struct keyfind *f = arg;
	const struct tok *t;
	size_t len = strlen(name), k;
	char *end;

	for (k = 0; k < f->n; k++)
		if (f->m[k].len == len && memcmp(f->m[k].k, name, len) == 0)
			break;
	if (k == f->n || (t = &f->e->tok[f->m[k].ktok + 1])->type == T_NULL) {
		v->kind = SM_KEY_ABSENT;
		return;
	}
	v->s = f->e->s + t->off;
	v->len = t->n;
	switch (t->type) {
	case T_STR:
		v->kind = SM_KEY_STRING;
		if (t->flags & F_ESC) {
			sm_buf_reset(&scratch.num);
			sm_buf_grow(&scratch.num, t->n);
			end = unescape(scratch.num.data,
			    (const unsigned char *)v->s, t->n);
			v->s = scratch.num.data;
			v->len = (size_t)(end - scratch.num.data);
		}
		break;
	case T_NUM:
		v->kind = SM_KEY_NUMBER;
		/* sm_json_check() let no integer beyond 2^53 pass. */
		if (!(t->flags & F_INT)) {
			v->d = number(v->s, t->n);
			v->s = NULL;
		}
		break;
	default:
		v->kind = SM_KEY_OTHER;
		break;
	}
}

/* sm_rec_key() over the sorted top-level members m (n of them). */
static int
findkey(struct emit *e, const struct ment *m, size_t n,
    const char *id_field, struct sm_buf *key, struct sm_json_err *err)
{
	struct keyfind f;

	f.e = e;
	f.m = m;
	f.n = n;
	if (sm_key_pick(id_field, member, &f, key, NULL) == 0)
		return 0;
	return fail(err, "%s", sm_errmsg());
}

/* Whether member m is named in ignore (n names, of lengths len). */
static int
ignored(const struct ment *m, const char *const *ignore, const size_t *len,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (len[i] == m->len && memcmp(ignore[i], m->k, m->len) == 0)
			return 1;
	return 0;
}

/* XXH3-128 of the len bytes at p without the spans, as sm_hash_hex(). */
static void
hash_spans(const char *p, size_t len, const struct span *sp, size_t nsp,
    char out[SM_HASH_HEX])
{
	XXH3_state_t st;
	XXH128_canonical_t cf;
	size_t i, off;

	XXH3_INITSTATE(&st);
	XXH3_128bits_reset(&st);
	for (i = 0, off = 0; i < nsp; i++) {
		XXH3_128bits_update(&st, p + off, sp[i].off - off);
		off = sp[i].off + sp[i].len;
	}
	XXH3_128bits_update(&st, p + off, len - off);
	XXH128_canonicalFromHash(&cf, XXH3_128bits_digest(&st));
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[cf.digest[i] >> 4];
		out[2 * i + 1] = hex[cf.digest[i] & 15];
	}
	out[32] = '\0';
}

/*
 * What sm_json_parse() + sm_rec_key() + sm_rec_digest() give for the
 * record text (len bytes), without libjq (see sm.h).
 */
static int
rec_fast(const char *text, size_t len, int checked, const char *const *ignore,
    size_t n, const char *id_field, struct sm_buf *data,
    char hash[SM_HASH_HEX], struct sm_buf *key, struct sm_json_err *err)
{
	struct sm_json_err dummy;
	struct emit e;
	struct ment *m;
	struct span *sp;
	size_t ntok, nfloat, esc, base, cnt, k, nsp, start, printed, kept;
	int rc, skipit;

	if (err == NULL)
		err = &dummy;
	if (key != NULL)
		sm_buf_reset(key);
	sm_buf_reset(data);
	hash[0] = '\0';
	if (len > INT_MAX) {
		err->offset = 0;
		snprintf(err->reason, sizeof(err->reason), "text too long "
		    "(%zu bytes)", len);
		return sm_error(SM_EDATA, "%s", err->reason);
	}
	if (!checked && (rc = sm_json_check(text, len, err)) != 0)
		return rc;
	ntok = tokenize(text, len, &nfloat, &esc);
	if (scratch.tok[0].type != T_OBJ)
		return fail(err, "record is not an object");
	/* Every key once; unescaped, no longer than in the text. */
	scratch.m = reserve(scratch.m, &scratch.cm, ntok / 2 + 1,
	    sizeof(*scratch.m));
	scratch.kb = reserve(scratch.kb, &scratch.ckb, esc + 1, 1);
	e.s = text;
	e.tok = scratch.tok;
	e.m = scratch.m;
	e.nm = 0;
	e.kb = scratch.kb;
	e.nkb = 0;
	e.rc = 0;
	cnt = members(&e, 0, &base);
	m = e.m + base;
	/* No key wanted: the record's origin names it (sm-pull). */
	if (key != NULL && (rc = findkey(&e, m, cnt, id_field, key,
	    err)) != 0) {
		sm_buf_reset(key);
		return rc;
	}
	/*
	 * From here on key stays, as sm_rec_key() leaves it.  The form is
	 * never longer than the text but for numbers printed anew (1e14 is
	 * 15 bytes), so it is written without bounds checks.
	 */
	sm_buf_grow(data, len + nfloat * NUM_OUT + 2);
	e.o = data->data;
	if (ignore == NULL)
		n = 0;
	scratch.sp = reserve(scratch.sp, &scratch.csp, n > 0 ? cnt + 1 : 1,
	    sizeof(*scratch.sp));
	scratch.ilen = reserve(scratch.ilen, &scratch.cilen, n + 1,
	    sizeof(*scratch.ilen));
	for (k = 0; k < n; k++)
		scratch.ilen[k] = strlen(ignore[k]);
	sp = scratch.sp;
	nsp = 0;
	printed = kept = 0;
	*e.o++ = '{';
	for (k = 0; k < cnt && e.rc == 0; k++) {
		skipit = n > 0 && ignored(&m[k], ignore, scratch.ilen, n);
		if (printed++ > 0)
			*e.o++ = ',';
		start = (size_t)(e.o - data->data);
		putkey(&e, &m[k]);
		value(&e, m[k].ktok + 1);
		if (!skipit) {
			kept++;
			continue;
		}
		/* The same bytes as sm_rec_digest() leaves out. */
		sp[nsp].off = kept > 0 ? start - 1 : start;
		sp[nsp].len = (size_t)(e.o - data->data) - sp[nsp].off +
		    (kept == 0 && k + 1 < cnt);
		nsp++;
	}
	*e.o++ = '}';
	if (e.rc != 0) {
		reason(err, sm_errmsg());
		err->offset = 0;
		sm_buf_reset(data);
		return e.rc;
	}
	data->len = (size_t)(e.o - data->data);
	data->data[data->len] = '\0';
	if (nsp == 0)
		sm_hash_hex(data->data, data->len, hash);
	else
		hash_spans(data->data, data->len, sp, nsp, hash);
	return 0;
}

int
sm_rec_fast(const char *text, size_t len, const char *const *ignore,
    size_t n, const char *id_field, struct sm_buf *data,
    char hash[SM_HASH_HEX], struct sm_buf *key, struct sm_json_err *err)
{
	return rec_fast(text, len, 0, ignore, n, id_field, data, hash, key,
	    err);
}

int
sm_rec_fast_checked(const char *text, size_t len, const char *const *ignore,
    size_t n, const char *id_field, struct sm_buf *data,
    char hash[SM_HASH_HEX], struct sm_buf *key, struct sm_json_err *err)
{
	return rec_fast(text, len, 1, ignore, n, id_field, data, hash, key,
	    err);
}

/* Frees the scratch memory of sm_rec_fast() in the calling thread. */
void
sm_rec_fast_free(void)
{
	free(scratch.tok);
	free(scratch.m);
	free(scratch.kb);
	free(scratch.sp);
	free(scratch.ilen);
	sm_buf_free(&scratch.num);
	memset(&scratch, 0, sizeof(scratch));
}
