/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sm.h"

static void
key(struct sm_buf *b, const char *k)
{
	if (b->len > 1)
		sm_buf_addc(b, ',');
	sm_buf_add_jstr(b, k, strlen(k));
	sm_buf_addc(b, ':');
}

void
sm_jw_begin(struct sm_buf *b)
{
	sm_buf_reset(b);
	sm_buf_addc(b, '{');
}

void
sm_jw_str(struct sm_buf *b, const char *k, const char *val)
{
	key(b, k);
	if (val == NULL)
		sm_buf_add(b, "null", 4);
	else
		sm_buf_add_jstr(b, val, strlen(val));
}

void
sm_jw_int(struct sm_buf *b, const char *k, int64_t val)
{
	char d[24];
	size_t i = sizeof(d);
	uint64_t u = val < 0 ? -(uint64_t)val : (uint64_t)val;

	/* By hand: printf's machinery was a tenth of an API list's time. */
	key(b, k);
	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (val < 0)
		d[--i] = '-';
	sm_buf_add(b, d + i, sizeof(d) - i);
}

void
sm_jw_bool(struct sm_buf *b, const char *k, int val)
{
	key(b, k);
	sm_buf_adds(b, val ? "true" : "false");
}

void
sm_jw_double(struct sm_buf *b, const char *k, double val)
{
	jv n = jv_number(val);

	key(b, k);
	if (sm_canon(n, NULL, 0, b) != 0)
		sm_buf_add(b, "null", 4);
	jv_free(n);
}

void
sm_jw_null(struct sm_buf *b, const char *k)
{
	key(b, k);
	sm_buf_add(b, "null", 4);
}

void
sm_jw_time(struct sm_buf *b, const char *k, int64_t ms)
{
	char t[SM_TIME_MAX];

	if (ms < 0) {
		sm_jw_null(b, k);
		return;
	}
	sm_time_format(ms, t);
	sm_jw_str(b, k, t);
}

void
sm_jw_raw(struct sm_buf *b, const char *k, const char *json)
{
	key(b, k);
	sm_buf_adds(b, json != NULL ? json : "null");
}

void
sm_jw_end(struct sm_buf *b)
{
	sm_buf_add(b, "}\n", 2);
}

void
sm_jw_result_open(struct sm_buf *b, const char *status, int64_t run,
    const char *stats)
{
	sm_jw_begin(b);
	sm_jw_str(b, "status", status);
	if (run > 0)
		sm_jw_int(b, "run", run);
	else
		sm_jw_null(b, "run");
	sm_jw_raw(b, "stats", stats);
}

void
sm_jw_result(struct sm_buf *b, const char *status, int64_t run,
    const char *stats)
{
	sm_jw_result_open(b, status, run, stats);
	sm_jw_end(b);
}

int
sm_jw_put(struct sm_buf *b, FILE *f)
{
	if (fwrite(b->data, 1, b->len, f) != b->len)
		return sm_error(SM_EIO, "write error: %s", strerror(errno));
	return 0;
}
