/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sm.h"
#include "sm-private.h"

static _Thread_local char errmsg[1024];
static _Thread_local int errcode;
/*
 * The signal state of a run (see sm_signals_catch): the signal that came
 * before the commit point, whether that point was passed, and the signal
 * that came after it.
 */
static volatile sig_atomic_t interrupted, committed, deferred, catching;

/* The front end's words for the {marks} of lib messages (sm_wording_set). */
static const struct sm_wording *wording;

void
sm_wording_set(const struct sm_wording *w)
{
	wording = w;
}

/* Whether the len bytes at p are a mark's name: [a-z_]+. */
static int
is_mark(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(p[i] >= 'a' && p[i] <= 'z') && p[i] != '_')
			return 0;
	return len > 0;
}

int
sm_word(const char *fmt, char *out, size_t size)
{
	const struct sm_wording *w;
	const char *p, *end, *words;
	size_t n = 0, len, k;

	for (p = fmt; *p != '\0'; p++) {
		if (*p != '{' || (end = strchr(p + 1, '}')) == NULL ||
		    !is_mark(p + 1, len = (size_t)(end - p - 1))) {
			if (n + 1 >= size)
				return -1;
			out[n++] = *p;
			continue;
		}
		/* A mark the front end has no words for keeps its name. */
		words = p + 1;
		k = len;
		for (w = wording; w != NULL && w->mark != NULL; w++)
			if (strlen(w->mark) == len &&
			    memcmp(w->mark, p + 1, len) == 0) {
				words = w->words;
				k = strlen(words);
				break;
			}
		if (n + k >= size)
			return -1;
		memcpy(out + n, words, k);
		n += k;
		p = end;
	}
	out[n] = '\0';
	return 0;
}

static void
buf_vaddf(struct sm_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	sm_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

/*
 * fmt with its marks worded, in worded, or fmt as it is (no marks, or
 * too long to word).  Only a format is worded: an argument (a user's
 * name) never is.
 */
#define WORDED_MAX 512
static const char *
worded_fmt(const char *fmt, char worded[WORDED_MAX])
{
	if (strchr(fmt, '{') != NULL && sm_word(fmt, worded, WORDED_MAX) == 0)
		return worded;
	return fmt;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void
sm_buf_addw(struct sm_buf *b, const char *fmt, ...)
{
	char worded[WORDED_MAX];
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, worded_fmt(fmt, worded), ap);
	va_end(ap);
}

int
sm_error(int rc, const char *fmt, ...)
{
	char worded[WORDED_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), worded_fmt(fmt, worded), ap);
	va_end(ap);
	errcode = rc;
	return rc;
}
#pragma GCC diagnostic pop

const char *
sm_errmsg(void)
{
	return errmsg;
}

int
sm_errcode(void)
{
	return errcode != 0 ? errcode : SM_EINTERNAL;
}

int
sm_exitcode(int rc)
{
	if (rc >= 0)
		return rc;
	return -rc;
}

static void
oom(void)
{
	fputs("sm: out of memory\n", stderr);
	exit(70);
}

void *
sm_xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		oom();
	return p;
}

void *
sm_xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if ((p = calloc(nmemb ? nmemb : 1, size ? size : 1)) == NULL)
		oom();
	return p;
}

void *
sm_xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		oom();
	return p;
}

char *
sm_xstrdup(const char *s)
{
	return sm_xstrndup(s, strlen(s));
}

char *
sm_xstrndup(const char *s, size_t n)
{
	char *p;

	p = sm_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
sm_buf_init(struct sm_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
sm_buf_free(struct sm_buf *b)
{
	free(b->data);
	sm_buf_init(b);
}

void
sm_buf_reset(struct sm_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
sm_buf_grow(struct sm_buf *b, size_t extra)
{
	size_t want;

	if (b->len + extra + 1 <= b->cap)
		return;
	want = b->cap ? b->cap : 256;
	while (want < b->len + extra + 1)
		want *= 2;
	b->data = sm_xrealloc(b->data, want);
	b->cap = want;
}

void
sm_buf_add(struct sm_buf *b, const void *p, size_t n)
{
	sm_buf_grow(b, n);
	if (n > 0)	/* p may be NULL then, which memcpy() forbids */
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
sm_buf_addc(struct sm_buf *b, int c)
{
	sm_buf_grow(b, 1);
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
}

void
sm_buf_adds(struct sm_buf *b, const char *s)
{
	sm_buf_add(b, s, strlen(s));
}

void
sm_buf_addf(struct sm_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
sm_buf_add_jstr(struct sm_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run;
	unsigned char c;

	sm_buf_grow(b, n + 2);
	b->data[b->len++] = '"';
	for (i = 0; i < n; ) {
		/* Copy the longest run that needs no escape in one go. */
		for (run = i; run < n; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		if (run > i) {
			sm_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		c = (unsigned char)s[i++];
		switch (c) {
		case '"':  sm_buf_add(b, "\\\"", 2); break;
		case '\\': sm_buf_add(b, "\\\\", 2); break;
		case '\b': sm_buf_add(b, "\\b", 2); break;
		case '\f': sm_buf_add(b, "\\f", 2); break;
		case '\n': sm_buf_add(b, "\\n", 2); break;
		case '\r': sm_buf_add(b, "\\r", 2); break;
		case '\t': sm_buf_add(b, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			sm_buf_add(b, u, 6);
		}
		}
	}
	sm_buf_addc(b, '"');
}

int
sm_file_read(const char *path, char **out)
{
	struct sm_buf b;
	FILE *f;
	char chunk[8192];
	size_t n;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return sm_error(SM_ENOENT, "cannot open '%s': %s", path,
		    strerror(errno));
	sm_buf_init(&b);
	sm_buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sm_buf_add(&b, chunk, n);
	if (ferror(f)) {
		fclose(f);
		sm_buf_free(&b);
		return sm_error(SM_EIO, "cannot read '%s'", path);
	}
	fclose(f);
	*out = b.data;
	return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/*
 * Matches s against pattern, where 'd' stands for a digit and any other
 * byte for itself.  Returns the length of pattern on a match, else 0.
 */
static size_t
match(const char *s, const char *pattern)
{
	size_t i;

	for (i = 0; pattern[i] != '\0'; i++)
		if (pattern[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pattern[i])
			return 0;
	return i;
}

static int
num(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * Parses "2026-11-29T05:00:00Z" (a fraction of a second may stand before
 * the Z, a space for the T) into *ms; unless need_time, a bare date
 * "2026-11-29" too.  Returns 0, or -1 when s is anything else.
 */
static int
parse_iso(const char *s, int need_time, int64_t *ms)
{
	int y, mo, d, y2, mo2, d2, h = 0, mi = 0, sec = 0, frac = 0, digits;
	int64_t days;
	const char *p;

	if (match(s, "dddd-dd-dd") == 0)
		return -1;
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	p = s + 10;
	if (need_time && *p != 'T' && *p != ' ')
		return -1;
	if (*p == 'T' || *p == ' ') {
		if (match(p + 1, "dd:dd:dd") == 0)
			return -1;
		h = num(p + 1, 2);
		mi = num(p + 4, 2);
		sec = num(p + 7, 2);
		p += 9;
		if (*p == '.') {
			for (p++, digits = 0; isdigit((unsigned char)*p); p++)
				if (digits++ < 3)
					frac = frac * 10 + (*p - '0');
			if (digits == 0)
				return -1;
			for (; digits < 3; digits++)
				frac *= 10;
		}
		if (*p != 'Z' || p[1] != '\0')
			return -1;
	} else if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	/* 2026-02-30 is no day: it does not come back from its number. */
	days = days_from_civil(y, mo, d);
	civil_from_days(days, &y2, &mo2, &d2);
	if (d2 != d)
		return -1;
	*ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 +
	    frac;
	return 0;
}

int
sm_now_check(void)
{
	const char *env;
	int64_t ms;

	if ((env = getenv("SM_NOW")) == NULL || *env == '\0' ||
	    parse_iso(env, 1, &ms) == 0)
		return 0;
	return sm_error(SM_ECONFIG, "SM_NOW: '%s' is not an ISO 8601 UTC "
	    "time (like 2026-11-29T05:00:00Z)", env);
}

int64_t
sm_now(void)
{
	struct timespec ts;
	const char *env;
	int64_t ms;

	if ((env = getenv("SM_NOW")) != NULL && *env != '\0' &&
	    parse_iso(env, 1, &ms) == 0)
		return ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
sm_time_parse(const char *s, int64_t now, int64_t *ms)
{
	char *end;
	long long n;
	int64_t unit;

	if (parse_iso(s, 0, ms) == 0)
		return 0;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (end != s && isdigit((unsigned char)*s) && errno == 0 &&
	    end[0] != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'd': unit = 86400000; break;
		case 'h': unit = 3600000; break;
		case 'm': unit = 60000; break;
		case 's': unit = 1000; break;
		default: unit = 0;
		}
		if (unit != 0 && n <= INT64_MAX / unit) {
			*ms = now - n * unit;
			return 0;
		}
	}
	return sm_error(SM_EUSAGE, "invalid time '%s': expected "
	    "2026-11-29T05:00:00Z, 2026-11-29 or an age such as 30d", s);
}

/* Writes v as n decimal digits, zero-padded. */
static void
digits(char *out, int v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
sm_time_format(int64_t ms, char out[SM_TIME_MAX])
{
	int64_t days, rem;
	int y, mo, d, msec;

	days = ms / 86400000;
	rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	msec = (int)(rem % 1000);
	rem /= 1000;
	if (y >= 0 && y <= 9999) {
		/* By hand: lists print one or two times a row. */
		digits(out, y, 4);
		out[4] = '-';
		digits(out + 5, mo, 2);
		out[7] = '-';
		digits(out + 8, d, 2);
		out[10] = 'T';
		digits(out + 11, (int)(rem / 3600), 2);
		out[13] = ':';
		digits(out + 14, (int)(rem / 60 % 60), 2);
		out[16] = ':';
		digits(out + 17, (int)(rem % 60), 2);
		if (msec != 0) {
			out[19] = '.';
			digits(out + 20, msec, 3);
			memcpy(out + 23, "Z", 2);
		} else
			memcpy(out + 19, "Z", 2);
	} else if (msec != 0)
		snprintf(out, SM_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60), msec);
	else
		snprintf(out, SM_TIME_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60));
}

int
sm_slug_valid(const char *s)
{
	size_t i;

	if (s == NULL || !(islower((unsigned char)s[0]) ||
	    isdigit((unsigned char)s[0])) || s[0] > 'z')
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= SM_SLUG_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/*
 * The ASCII base of the letters of Latin-1 Supplement (U+00C0 to U+00FF)
 * and Latin Extended-A (U+0100 to U+017F), in lower case; NULL for the
 * two signs among them (multiplication, division).  A table and not
 * iconv(3): its //TRANSLIT output depends on the locale.
 */
static const char *const latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* U+00C0 */
	"e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* U+00D0 */
	"o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* U+00E0 */
	"e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* U+00F0 */
	"o", "u", "u", "u", "u", "y", "th", "y"
};
static const char *const latin_ext_a[128] = {
	"a", "a", "a", "a", "a", "a", "c", "c",		/* U+0100 */
	"c", "c", "c", "c", "c", "c", "d", "d",
	"d", "d", "e", "e", "e", "e", "e", "e",		/* U+0110 */
	"e", "e", "e", "e", "g", "g", "g", "g",
	"g", "g", "g", "g", "h", "h", "h", "h",		/* U+0120 */
	"i", "i", "i", "i", "i", "i", "i", "i",
	"i", "i", "ij", "ij", "j", "j", "k", "k",	/* U+0130 */
	"k", "l", "l", "l", "l", "l", "l", "l",
	"l", "l", "l", "n", "n", "n", "n", "n",		/* U+0140 */
	"n", "n", "ng", "ng", "o", "o", "o", "o",
	"o", "o", "oe", "oe", "r", "r", "r", "r",	/* U+0150 */
	"r", "r", "s", "s", "s", "s", "s", "s",
	"s", "s", "t", "t", "t", "t", "t", "t",		/* U+0160 */
	"u", "u", "u", "u", "u", "u", "u", "u",
	"u", "u", "u", "u", "w", "w", "y", "y",		/* U+0170 */
	"y", "z", "z", "z", "z", "z", "z", "s"
};

/*
 * What the character at *p stands for in a slug: its letters, "" for a
 * combining mark (U+0300 to U+036F, as in a decomposed "n" and tilde),
 * NULL for a separator.  Advances *p past the character; an ASCII
 * letter or digit is returned in one, the caller's (sm-serve's threads
 * share this code).
 */
static const char *
slug_letters(const char **p, char one[2])
{
	const unsigned char *s = (const unsigned char *)*p;
	unsigned int cp;

	if (s[0] < 0x80) {
		*p += 1;
		one[0] = (char)(s[0] >= 'A' && s[0] <= 'Z' ? s[0] - 'A' + 'a' :
		    s[0]);
		one[1] = '\0';
		if ((one[0] >= 'a' && one[0] <= 'z') ||
		    (one[0] >= '0' && one[0] <= '9'))
			return one;
		return NULL;
	}
	*p += 1;
	if (s[0] < 0xc2 || s[0] > 0xdf || (s[1] & 0xc0) != 0x80)
		return NULL;	/* other lead or stray byte, one at a time */
	*p += 1;
	cp = (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
	if (cp >= 0xc0 && cp < 0x100)
		return latin1[cp - 0xc0];
	if (cp >= 0x100 && cp < 0x180)
		return latin_ext_a[cp - 0x100];
	if (cp >= 0x300 && cp < 0x370)
		return "";
	return NULL;
}

int
sm_slug_from_name(const char *name, char out[SM_SLUG_MAX + 1])
{
	const char *p = name, *t;
	char one[2];
	size_t n = 0;
	int dash = 0;

	while (*p != '\0' && n < SM_SLUG_MAX) {
		if ((t = slug_letters(&p, one)) == NULL) {
			dash = 1;
			continue;
		}
		if (*t == '\0')
			continue;
		if (dash && n > 0) {
			if (n >= SM_SLUG_MAX - 1)
				break;
			out[n++] = '-';
		}
		dash = 0;
		for (; *t != '\0' && n < SM_SLUG_MAX; t++)
			out[n++] = *t;
	}
	out[n] = '\0';
	if (n == 0)
		return sm_error(SM_EUSAGE, "cannot make a slug of '%s': "
		    "give one {with_slug}", name);
	return 0;
}

/*
 * Before the commit point a signal only sets a flag that the loops poll.
 * After it, the first is remembered and otherwise ignored (the run has
 * committed; its output is finished); a second takes the default action.
 */
static void
on_signal(int sig)
{
	if (!committed) {
		interrupted = sig;
		return;
	}
	if (deferred == 0) {
		deferred = sig;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);	/* delivered once this handler returns */
}

static void
install(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void
sm_signals_catch(void)
{
	interrupted = committed = deferred = 0;
	catching = 1;
	/* No SA_RESTART: a read blocked on a quiet pipe must give up. */
	install(0);
}

void
sm_signals_committed(void)
{
	if (!catching || committed)
		return;
	committed = 1;
	/* A signal that came during the COMMIT counts as the first after it. */
	if (deferred == 0)
		deferred = interrupted;
	/* From here on no write may fail with EINTR. */
	install(SA_RESTART);
}

int
sm_interrupted(void)
{
	return interrupted != 0 && !committed;
}

/*
 * SM_EINTR with the message of a run rolled back when a signal came
 * before the commit point, else 0: the check of every run's loops.
 */
int
sm_interrupt_check(void)
{
	return sm_interrupted() ?
	    sm_error(SM_EINTR, "interrupted: nothing was written") : 0;
}

int
sm_signals_deferred(void)
{
	return deferred;
}

void
sm_interrupt(void)
{
	interrupted = 1;
}

char **
sm_strv_split(const char *s, size_t *n)
{
	char **v;
	const char *p, *q;
	size_t k = 0, cap = 4;

	v = sm_xmalloc(cap * sizeof(*v));
	for (p = s; p != NULL && *p != '\0'; p = *q ? q + 1 : q) {
		q = strchr(p, ',');
		if (q == NULL)
			q = p + strlen(p);
		if (q == p)
			continue;
		if (k + 2 > cap)
			v = sm_xrealloc(v, (cap *= 2) * sizeof(*v));
		v[k++] = sm_xstrndup(p, (size_t)(q - p));
	}
	v[k] = NULL;
	if (n != NULL)
		*n = k;
	return v;
}

int
sm_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
sm_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
