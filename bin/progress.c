/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * $SM_PROGRESS_DELAY, milliseconds before the line first shows (as git's
 * GIT_PROGRESS_DELAY): a test shows it on a small input with 0.  Not a
 * number of milliseconds: the default second.
 */
static double
delay(void)
{
	const char *s = getenv("SM_PROGRESS_DELAY");
	char *end;
	long ms;

	if (s == NULL || *s < '0' || *s > '9')
		return 1;
	ms = strtol(s, &end, 10);
	if (*end != '\0' || ms < 0)
		return 1;
	return (double)ms / 1000;
}

void
sm_progress_init(struct sm_progress *p, const char *cmd, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->what = what;
	p->delay = delay();
	p->started = seconds();
}

void
sm_progress_show(struct sm_progress *p, uint64_t count, const char *unit,
    double done)
{
	double now = seconds(), elapsed = now - p->started;

	/* Short runs stay quiet; a redraw 4 times a second is enough. */
	if (elapsed < p->delay || now - p->last < 0.25)
		return;
	p->last = now;
	fprintf(stderr, "\r\033[K%s: %s: %llu %s, %.0f/s", p->cmd, p->what,
	    (unsigned long long)count, unit,
	    elapsed > 0 ? (double)count / elapsed : 0.0);
	if (done >= 0)
		fprintf(stderr, ", %.0f%%", 100.0 * (done > 1 ? 1 : done));
	p->shown = 1;
}

double
sm_progress_elapsed(const struct sm_progress *p)
{
	return seconds() - p->started;
}

void
sm_progress_clear(struct sm_progress *p)
{
	if (p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = 0;
	}
}
