/* See LICENSE file for copyright and license details. */
#include <stdlib.h>
#include <string.h>

#include <jq.h>
#include <jv.h>

#include "sm.h"

/*
 * The jq program of a source, run through libjq 1.6 on every input
 * record.  Notes on that version: messages reported while compiling go to
 * the error callback (one per error, then "jq: N compile error(s)");
 * runtime errors come back from jq_next() as an invalid carrying the
 * message; error(null) cannot be told from the end of the outputs and so
 * acts as empty; halt and halt_error end the outputs with jq_halted() set
 * (jq_start() clears it), and halt_error leaves its message in
 * jq_get_error_message().
 */

struct sm_map {
	jq_state *jq;
	struct sm_buf msg;	/* compile messages, "; " between them */
	int nmsg;
	int compiled;		/* later messages are dropped */
};

/*
 * Appends the first line of a message to b, without the ':' that ends
 * it when jq continues with the program text on the next line.
 */
static void
add_line(struct sm_buf *b, const char *s, size_t n)
{
	const char *nl;

	if ((nl = memchr(s, '\n', n)) != NULL)
		n = (size_t)(nl - s);
	while (n > 0 && (s[n - 1] == ':' || s[n - 1] == ' '))
		n--;
	sm_buf_add(b, s, n);
}

/*
 * The error callback of jq: collects the messages of the compile and
 * drops any later one (lib never prints); consumes msg.
 */
static void
on_error(void *arg, jv msg)
{
	struct sm_map *m = arg;
	const char *s;

	if (m->compiled) {
		jv_free(msg);
		return;
	}
	if (jv_get_kind(msg) != JV_KIND_STRING)
		msg = jv_dump_string(msg, 0);
	s = jv_string_value(msg);
	/* The count that closes a failed compile says nothing new. */
	if (m->nmsg > 0 && strncmp(s, "jq: ", 4) == 0 &&
	    strstr(s, " compile error") != NULL) {
		jv_free(msg);
		return;
	}
	if (m->nmsg++ > 0)
		sm_buf_add(&m->msg, "; ", 2);
	add_line(&m->msg, s, (size_t)jv_string_length_bytes(jv_copy(msg)));
	jv_free(msg);
}

/*
 * Compiles program into *mp, which the caller frees with sm_map_free().
 * Returns 0, or SM_ECONFIG with jq's message on one line ("jq: error:
 * syntax error, ... at <top-level>, line 1"), *mp then NULL;
 * SM_EINTERNAL when libjq cannot be set up.
 */
int
sm_map_new(struct sm_map **mp, const char *program)
{
	struct sm_map *m;

	*mp = NULL;
	m = sm_xcalloc(1, sizeof(*m));
	sm_buf_init(&m->msg);
	if ((m->jq = jq_init()) == NULL) {
		free(m);
		return sm_error(SM_EINTERNAL, "cannot set up libjq");
	}
	jq_set_error_cb(m->jq, on_error, m);
	if (!jq_compile(m->jq, program)) {
		if (m->nmsg == 0)
			sm_buf_adds(&m->msg, "jq: error: cannot compile");
		sm_error(SM_ECONFIG, "%s", m->msg.data);
		sm_map_free(m);
		return SM_ECONFIG;
	}
	sm_buf_free(&m->msg);
	m->compiled = 1;
	*mp = m;
	return 0;
}

/*
 * Records a runtime error whose message is msg (consumed): a string as
 * it is, anything else dumped, as jq(1) prints them.
 */
static int
run_error(jv msg)
{
	const char *s;
	int n, rc;

	if (jv_get_kind(msg) == JV_KIND_STRING) {
		s = jv_string_value(msg);
		n = jv_string_length_bytes(jv_copy(msg));
		while (n > 0 && s[n - 1] == '\n')
			n--;
		rc = sm_error(SM_EDATA, "jq: error: %.*s", n, s);
	} else {
		msg = jv_dump_string(msg, 0);
		rc = sm_error(SM_EDATA, "jq: error (not a string): %s",
		    jv_string_value(msg));
	}
	jv_free(msg);
	return rc;
}

/*
 * Runs the program on rec (see sm.h).  A halt ends the outputs quietly;
 * halt_error rejects the record with its message, like error().
 */
int
sm_map_run(struct sm_map *m, jv rec, int (*emit)(jv, void *), void *arg)
{
	jv out, code, msg;
	int rc;

	jq_start(m->jq, rec, 0);
	for (;;) {
		out = jq_next(m->jq);
		if (jv_is_valid(out)) {
			if ((rc = emit(out, arg)) != 0)
				return rc;
			continue;
		}
		if (jv_invalid_has_msg(jv_copy(out)))
			return run_error(jv_invalid_get_msg(out));
		jv_free(out);
		break;
	}
	if (!jq_halted(m->jq))
		return 0;
	code = jq_get_exit_code(m->jq);
	msg = jq_get_error_message(m->jq);
	if (jv_get_kind(msg) != JV_KIND_INVALID &&
	    jv_get_kind(msg) != JV_KIND_NULL) {
		jv_free(code);
		return run_error(msg);
	}
	jv_free(msg);
	rc = jv_get_kind(code) == JV_KIND_NUMBER &&
	    jv_number_value(code) != 0;
	jv_free(code);
	if (rc)
		return sm_error(SM_EDATA, "jq: error: halted with a "
		    "non-zero status");
	return 0;
}

/* Frees m and its jq state; NULL is fine. */
void
sm_map_free(struct sm_map *m)
{
	if (m == NULL)
		return;
	jq_teardown(&m->jq);
	sm_buf_free(&m->msg);
	free(m);
}
