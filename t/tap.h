/* See LICENSE file for copyright and license details. */
/* A minimal TAP producer for the C unit tests of libsm. */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n __attribute__((unused)), tap_failed __attribute__((unused));

static void __attribute__((unused))
tap_plan(int n)
{
	printf("1..%d\n", n);
}

static void __attribute__((unused))
tap_no_plan_done(void)
{
	printf("1..%d\n", tap_n);
}

static int __attribute__((format(printf, 2, 3), unused))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

static void __attribute__((format(printf, 1, 2), unused))
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int __attribute__((unused))
is_str(const char *got, const char *want, const char *name)
{
	int same = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;

	if (!ok(same, "%s", name))
		diag("got '%s', want '%s'", got ? got : "(null)",
		    want ? want : "(null)");
	return same;
}

static int __attribute__((unused))
tap_exit(void)
{
	return tap_failed != 0;
}

#endif
