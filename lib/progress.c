/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sm.h"

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sm_progress_init(struct sm_progress *p, const char *cmd, const char *what)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->what = what;
	p->started = seconds();
}

void
sm_progress_show(struct sm_progress *p, uint64_t count, const char *unit,
    double done)
{
	double now = seconds(), elapsed = now - p->started;

	/* Short runs stay quiet; a redraw 4 times a second is enough. */
	if (elapsed < 1 || now - p->last < 0.25)
		return;
	p->last = now;
	fprintf(stderr, "\r\033[K%s: %s: %llu %s, %.0f/s", p->cmd, p->what,
	    (unsigned long long)count, unit, (double)count / elapsed);
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
