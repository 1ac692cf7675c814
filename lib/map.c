/* See LICENSE file for copyright and license details. */
#define _GNU_SOURCE		/* clearenv(), close_range() */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jq.h>
#include <jv.h>

#include "sm.h"

/*
 * The jq program of a source, run through libjq 1.6 on every input
 * record, in a sandbox.
 *
 * libjq 1.6 cannot be interrupted, given a memory budget or kept from
 * aborting the process (include/import fail an assertion without a
 * library path; input and debug call callbacks that jq_init() leaves
 * uninitialised; an allocation that fails calls abort()).  So:
 *
 * - sm_map_new() refuses, before libjq sees the program, the names that
 *   reach outside the record (sm_map_check(): a token scan, since libjq
 *   has no AST API), then compiles it with both callbacks set and an
 *   empty library path, as a second line of defence.
 * - sm_map_run() runs the program in a worker process, forked at the
 *   first record and again after it was killed.  The worker has an empty
 *   environment, no descriptor but its socket (and /dev/null), a data
 *   limit of map_max_bytes over what it inherited, no core dumps, and
 *   dies with its parent.  The parent sends it each record and waits
 *   for the outputs with a deadline of map_timeout_ms; when the budget
 *   is exceeded or the worker dies, the worker is killed and that record
 *   rejected; a signal caught by sm_signals_catch() kills it too and the
 *   run ends with SM_EINTR.
 * - Records and outputs cross the socket in a small binary form of jv
 *   (below), so that numbers and strings arrive bit for bit as libjq
 *   holds them: the outputs are what an in-process run would emit.
 *
 * Notes on libjq 1.6: messages reported while compiling go to the error
 * callback (one per error, then "jq: N compile error(s)"); runtime
 * errors come back from jq_next() as an invalid carrying the message;
 * error(null) raises an invalid without a message, which cannot be told
 * from the end of the outputs, and "try" does not catch it; halt and
 * halt_error end the outputs with jq_halted() set, halt_error leaving
 * its message in jq_get_error_message().  The program therefore runs
 * wrapped as
 *
 *	def error(m): ...; def error: ...; try ((PROGRAM
 *	) | ["o", .]) catch ["e", .]
 *
 * where the two definitions turn a null message into the string
 * ERROR_NULL, so that every error, error(null) included, comes out as
 * ["e", message] and stops the record.  Only a program that compiles on
 * its own is wrapped, so the wrapping cannot change how it parses; the
 * line break keeps a final comment from swallowing the rest.
 */

#define ERROR_NULL	"null (null)"
#define WRAP_HEAD	"def error(m): (m | if . == null then \"" \
			    ERROR_NULL "\" else . end) | error; " \
			    "def error: error(.); try (("
#define WRAP_TAIL	"\n) | [\"o\", .]) catch [\"e\", .]"

/* The frames of the worker's replies: a byte, a 32-bit length, data. */
enum {
	F_OUT = 'o',		/* an output, as enc() writes it */
	F_ERROR = 'e',		/* the record is rejected: the message */
	F_DONE = 'd'		/* no more outputs for this record */
};

#define FRAME_HEAD	5
#define WORKER_FD	3

/* A record sent, or to be sent, to the worker. */
struct req {
	uint64_t seq;
	size_t off, len;	/* its bytes in m->out */
	int sent;		/* to the current worker */
	int done, blame;	/* for worker_failed() */
	char *why;		/* rejected: why, without running it again */
};

struct shared;

struct sm_map {
	jq_state *jq;		/* the wrapped program */
	struct sm_buf msg;	/* compile messages, "; " between them */
	int nmsg;
	int compiled;		/* later messages are dropped */
	int timeout_ms;
	size_t max_bytes;
	pid_t pid;		/* the worker, or -1 */
	int fd;			/* its socket, or -1 */
	struct shared *sh;	/* what it is doing */
	int fails;		/* worker failures with nobody to blame */
	struct req *req;	/* requests not yet answered from head */
	size_t head, nreq, cap;
	uint64_t seq;		/* of the last request */
	size_t wpos;		/* bytes sent of the first unsent one */
	size_t emitted;		/* outputs of the head request emitted */
	struct sm_buf in;	/* replies read */
	size_t used;		/* of which used */
	struct sm_buf out;	/* the requests' bytes */
};

/*
 * Names a map may not use, whatever their arguments, and why: each
 * reaches outside the record (the process's environment, files, modules,
 * other inputs, the server's log).
 */
static const struct {
	const char *name;
	const char *why;
} banned[] = {
	{ "$ENV", "a map cannot read the environment" },
	{ "debug", "a map cannot write to the log" },
	{ "env", "a map cannot read the environment" },
	{ "get_jq_origin", "a map cannot see the file system" },
	{ "get_prog_origin", "a map cannot see the file system" },
	{ "get_search_list", "a map cannot load modules" },
	{ "import", "a map cannot load modules" },
	{ "include", "a map cannot load modules" },
	{ "input", "a map sees only its own record" },
	{ "input_filename", "a map sees only its own record" },
	{ "input_line_number", "a map sees only its own record" },
	{ "inputs", "a map sees only its own record" },
	{ "module", "a map cannot load modules" },
	{ "modulemeta", "a map cannot load modules" },
	{ "stderr", "a map cannot write to the log" },
};

static int
is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* Returns the index of the first byte after white space and comments. */
static size_t
skip_blank(const char *p, size_t len, size_t i)
{
	while (i < len) {
		if (is_space((unsigned char)p[i]))
			i++;
		else if (p[i] == '#')
			while (i < len && p[i] != '\n')
				i++;
		else
			break;
	}
	return i;
}

/*
 * Returns the end of the identifier at i: letters, digits, '_', and the
 * "::" of a name from a module.
 */
static size_t
ident_end(const char *p, size_t len, size_t i)
{
	while (i < len) {
		if (is_ident((unsigned char)p[i]))
			i++;
		else if (i + 2 < len && p[i] == ':' && p[i + 1] == ':' &&
		    is_ident_start((unsigned char)p[i + 2]))
			i += 2;
		else
			break;
	}
	return i;
}

static int
refuse(const char *p, size_t at, const char *name, int n, const char *why)
{
	size_t i;
	int line = 1;

	for (i = 0; i < at; i++)
		if (p[i] == '\n')
			line++;
	return sm_error(SM_ECONFIG, "jq: error: '%.*s' is not allowed in a "
	    "map: %s at <top-level>, line %d", n, name, why, line);
}

/* Refuses the name p[i..j) when it is in banned[]. */
static int
check_name(const char *p, size_t i, size_t j)
{
	size_t k, n = j - i;

	if (memmem(p + i, n, "::", 2) != NULL)
		return refuse(p, i, p + i, (int)n, "a map cannot load "
		    "modules");
	for (k = 0; k < sizeof(banned) / sizeof(banned[0]); k++)
		if (strlen(banned[k].name) == n &&
		    memcmp(banned[k].name, p + i, n) == 0)
			return refuse(p, i, p + i, (int)n, banned[k].why);
	return 0;
}

/*
 * The scan behind sm_map_check().  The stack holds what encloses the
 * current token: '(' '[' for brackets, 'i' for the "\(...)" of a string,
 * '{' for the value of an object member and 'k' for the place of its
 * key.  An identifier is a call (or a keyword) unless it names a field
 * (".name"), a variable ("$name"), a format ("@name") or an object key;
 * a key is an identifier where a key may stand that ':', ',' or '}'
 * follows ("{env}" is {"env": .env}).
 */
int
sm_map_check(const char *p, size_t len)
{
	char stack[SM_MAX_DEPTH];
	size_t depth = 0, i = 0, j;
	int c, instr = 0, key, rc;

	while (i < len) {
		c = (unsigned char)p[i];
		if (instr) {
			if (c == '\\' && i + 1 < len && p[i + 1] == '(') {
				if (depth == SM_MAX_DEPTH)
					goto deep;
				stack[depth++] = 'i';
				instr = 0;
				i += 2;
			} else if (c == '\\')
				i += 2;
			else {
				if (c == '"')
					instr = 0;
				i++;
			}
			continue;
		}
		if (is_space(c) || c == '#') {
			i = skip_blank(p, len, i);
			continue;
		}
		key = depth > 0 && stack[depth - 1] == 'k';
		if (key)
			stack[depth - 1] = '{';
		switch (c) {
		case '"':
			instr = 1;
			i++;
			break;
		case '(':
		case '[':
		case '{':
			if (depth == SM_MAX_DEPTH)
				goto deep;
			stack[depth++] = c == '{' ? 'k' : (char)c;
			i++;
			break;
		case ')':
			if (depth > 0 && stack[depth - 1] == 'i')
				instr = 1;
			/* FALLTHROUGH */
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			i++;
			break;
		case ',':
			if (depth > 0 && stack[depth - 1] == '{')
				stack[depth - 1] = 'k';
			i++;
			break;
		case '$':
			j = skip_blank(p, len, i + 1);
			if (j < len && is_ident_start((unsigned char)p[j])) {
				i = ident_end(p, len, j);
				if (i - j == 3 && memcmp(p + j, "ENV", 3) == 0)
					return refuse(p, j, "$ENV", 4,
					    banned[0].why);
			} else
				i = j;
			break;
		case '.':
			if (i + 1 < len && p[i + 1] == '.')
				i += 2;
			else if (i + 1 < len &&
			    is_ident_start((unsigned char)p[i + 1])) {
				i++;
				while (i < len && is_ident((unsigned char)p[i]))
					i++;
			} else
				i++;
			break;
		case '@':
			i++;
			while (i < len && is_ident((unsigned char)p[i]))
				i++;
			break;
		default:
			if (is_ident_start(c)) {
				j = ident_end(p, len, i);
				if (key) {
					size_t k = skip_blank(p, len, j);

					if (k < len && (p[k] == ':' ||
					    p[k] == ',' || p[k] == '}') &&
					    memchr(p + i, ':', j - i) == NULL) {
						i = j;
						break;
					}
				}
				if ((rc = check_name(p, i, j)) != 0)
					return rc;
				i = j;
			} else if (c >= '0' && c <= '9') {
				/* A number: digits, '.', an exponent. */
				while (i < len && ((p[i] >= '0' && p[i] <= '9')
				    || p[i] == '.'))
					i++;
				if (i + 1 < len && (p[i] == 'e' || p[i] == 'E')
				    && ((p[i + 1] >= '0' && p[i + 1] <= '9') ||
				    p[i + 1] == '+' || p[i + 1] == '-')) {
					i += 2;
					while (i < len && p[i] >= '0' &&
					    p[i] <= '9')
						i++;
				}
			} else
				i++;
			break;
		}
	}
	return 0;
deep:
	return sm_error(SM_ECONFIG, "jq: error: a map may nest at most %d "
	    "brackets and strings", SM_MAX_DEPTH);
}

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

/* The debug callback: a map has no log to write to (consumes msg). */
static void
on_debug(void *arg, jv msg)
{
	(void)arg;
	jv_free(msg);
}

/* The input callback: a map sees only its own record. */
static jv
on_input(jq_state *jq, void *arg)
{
	(void)jq;
	(void)arg;
	return jv_invalid_with_msg(jv_string("input is not available in a "
	    "map"));
}

/*
 * A jq state that cannot abort the process or call an uninitialised
 * callback, with the error callback collecting into m.  NULL when
 * libjq cannot be set up.
 */
static jq_state *
jq_new(struct sm_map *m)
{
	jq_state *jq;

	if ((jq = jq_init()) == NULL)
		return NULL;
	jq_set_error_cb(jq, on_error, m);
	jq_set_debug_cb(jq, on_debug, NULL);
	jq_set_input_cb(jq, on_input, NULL);
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	return jq;
}

/*
 * Compiles program into *mp, which the caller frees with sm_map_free().
 * Returns 0, or SM_ECONFIG with a message on one line: sm_map_check()'s,
 * or jq's ("jq: error: syntax error, ... at <top-level>, line 1"), *mp
 * then NULL; SM_EINTERNAL when libjq cannot be set up.  The budgets are
 * the defaults until sm_map_budget().
 */
int
sm_map_new(struct sm_map **mp, const char *program)
{
	struct sm_map *m;
	struct sm_buf wrapped;
	jq_state *plain;
	int rc, ok;

	*mp = NULL;
	if ((rc = sm_map_check(program, strlen(program))) != 0)
		return rc;
	m = sm_xcalloc(1, sizeof(*m));
	sm_buf_init(&m->msg);
	sm_buf_init(&m->in);
	sm_buf_init(&m->out);
	m->pid = -1;
	m->fd = -1;
	m->timeout_ms = SM_MAP_TIMEOUT_MS;
	m->max_bytes = SM_MAP_MAX_BYTES;
	if ((plain = jq_new(m)) == NULL) {
		sm_map_free(m);
		return sm_error(SM_EINTERNAL, "cannot set up libjq");
	}
	ok = jq_compile(plain, program);
	jq_teardown(&plain);
	if (!ok) {
		if (m->nmsg == 0)
			sm_buf_adds(&m->msg, "jq: error: cannot compile");
		sm_error(SM_ECONFIG, "%s", m->msg.data);
		sm_map_free(m);
		return SM_ECONFIG;
	}
	if ((m->jq = jq_new(m)) == NULL) {
		sm_map_free(m);
		return sm_error(SM_EINTERNAL, "cannot set up libjq");
	}
	sm_buf_init(&wrapped);
	sm_buf_addf(&wrapped, "%s%s%s", WRAP_HEAD, program, WRAP_TAIL);
	ok = jq_compile(m->jq, wrapped.data);
	sm_buf_free(&wrapped);
	if (!ok) {
		/* Definitions without an expression, for one. */
		sm_map_free(m);
		return sm_error(SM_ECONFIG, "jq: error: a map must end with "
		    "an expression");
	}
	sm_buf_reset(&m->msg);
	m->compiled = 1;
	*mp = m;
	return 0;
}

void
sm_map_budget(struct sm_map *m, int timeout_ms, size_t max_bytes)
{
	m->timeout_ms = timeout_ms > 0 ? timeout_ms : SM_MAP_TIMEOUT_MS;
	m->max_bytes = max_bytes > 0 ? max_bytes : SM_MAP_MAX_BYTES;
}

/*
 * The binary form of a jv: 'n', 't', 'f'; 'd' and the 8 bytes of the
 * double; 's', a 32-bit length and the bytes; 'a', a count and the
 * items; 'o', a count and for each member its key (length, bytes) and
 * value.  Integers are in the byte order of the host (both ends are
 * the same program).
 */
static void
enc_u32(struct sm_buf *b, uint32_t n)
{
	sm_buf_add(b, &n, sizeof(n));
}

/*
 * Appends v (not consumed) to b.  Returns 0, or -1 when it nests deeper
 * than SM_MAX_DEPTH + 1 or a string or container is over 4 GiB.
 */
static int
enc(struct sm_buf *b, jv v, int depth)
{
	double d;
	int i, n, rc;

	switch (jv_get_kind(v)) {
	case JV_KIND_NULL:
		sm_buf_addc(b, 'n');
		return 0;
	case JV_KIND_TRUE:
		sm_buf_addc(b, 't');
		return 0;
	case JV_KIND_FALSE:
		sm_buf_addc(b, 'f');
		return 0;
	case JV_KIND_NUMBER:
		d = jv_number_value(v);
		sm_buf_addc(b, 'd');
		sm_buf_add(b, &d, sizeof(d));
		return 0;
	case JV_KIND_STRING:
		n = jv_string_length_bytes(jv_copy(v));
		sm_buf_addc(b, 's');
		enc_u32(b, (uint32_t)n);
		sm_buf_add(b, jv_string_value(v), (size_t)n);
		return 0;
	case JV_KIND_ARRAY:
		if (depth > SM_MAX_DEPTH)
			return -1;
		n = jv_array_length(jv_copy(v));
		sm_buf_addc(b, 'a');
		enc_u32(b, (uint32_t)n);
		for (i = 0; i < n; i++) {
			jv item = jv_array_get(jv_copy(v), i);

			rc = enc(b, item, depth + 1);
			jv_free(item);
			if (rc != 0)
				return rc;
		}
		return 0;
	case JV_KIND_OBJECT:
		if (depth > SM_MAX_DEPTH)
			return -1;
		sm_buf_addc(b, 'o');
		enc_u32(b, (uint32_t)jv_object_length(jv_copy(v)));
		jv_object_foreach(v, k, val) {
			n = jv_string_length_bytes(jv_copy(k));
			enc_u32(b, (uint32_t)n);
			sm_buf_add(b, jv_string_value(k), (size_t)n);
			jv_free(k);
			rc = enc(b, val, depth + 1);
			jv_free(val);
			if (rc != 0)
				return rc;
		}
		return 0;
	default:
		return -1;
	}
}

struct dec {
	const char *p;
	size_t len;
	size_t i;
};

static int
dec_u32(struct dec *d, uint32_t *n)
{
	if (d->len - d->i < sizeof(*n))
		return -1;
	memcpy(n, d->p + d->i, sizeof(*n));
	d->i += sizeof(*n);
	return 0;
}

/*
 * Reads one value of the binary form into *v (a new reference).
 * Returns 0, or -1 when the bytes are not one (nothing left to free).
 */
static int
dec(struct dec *d, jv *v, int depth)
{
	uint32_t n, i, kn;
	double num;
	jv item, k;
	int c;

	if (d->i >= d->len || depth > SM_MAX_DEPTH + 1)
		return -1;
	c = d->p[d->i++];
	switch (c) {
	case 'n':
		*v = jv_null();
		return 0;
	case 't':
		*v = jv_true();
		return 0;
	case 'f':
		*v = jv_false();
		return 0;
	case 'd':
		if (d->len - d->i < sizeof(num))
			return -1;
		memcpy(&num, d->p + d->i, sizeof(num));
		d->i += sizeof(num);
		*v = jv_number(num);
		return 0;
	case 's':
		if (dec_u32(d, &n) != 0 || d->len - d->i < n)
			return -1;
		*v = jv_string_sized(d->p + d->i, (int)n);
		d->i += n;
		return 0;
	case 'a':
		if (dec_u32(d, &n) != 0 || n > d->len - d->i)
			return -1;
		*v = jv_array_sized((int)n);
		for (i = 0; i < n; i++) {
			if (dec(d, &item, depth + 1) != 0) {
				jv_free(*v);
				return -1;
			}
			*v = jv_array_append(*v, item);
		}
		return 0;
	case 'o':
		if (dec_u32(d, &n) != 0 || n > d->len - d->i)
			return -1;
		*v = jv_object();
		for (i = 0; i < n; i++) {
			if (dec_u32(d, &kn) != 0 || d->len - d->i < kn) {
				jv_free(*v);
				return -1;
			}
			k = jv_string_sized(d->p + d->i, (int)kn);
			d->i += kn;
			if (dec(d, &item, depth + 1) != 0) {
				jv_free(k);
				jv_free(*v);
				return -1;
			}
			*v = jv_object_set(*v, k, item);
		}
		return 0;
	default:
		return -1;
	}
}

/* Writes all of p, n bytes, to fd; 0 or -1 with errno. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, s, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * What the worker is doing, in memory shared with its parent: the
 * sequence number of the record it runs and since when (CLOCK_MONOTONIC,
 * ms), busy 0 while it reads or writes.  gen is odd while the worker
 * writes the others (a sequence lock).
 */
struct shared {
	uint64_t gen;
	uint64_t seq;
	int64_t start_ms;
	int busy;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
shared_set(struct shared *sh, uint64_t seq, int busy)
{
	__atomic_add_fetch(&sh->gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&sh->seq, seq, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->start_ms, mono_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&sh->busy, busy, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sh->gen, 1, __ATOMIC_ACQ_REL);
}

static void
shared_get(struct shared *sh, uint64_t *seq, int64_t *start, int *busy)
{
	uint64_t g1, g2;

	do {
		g1 = __atomic_load_n(&sh->gen, __ATOMIC_ACQUIRE);
		*seq = __atomic_load_n(&sh->seq, __ATOMIC_RELAXED);
		*start = __atomic_load_n(&sh->start_ms, __ATOMIC_RELAXED);
		*busy = __atomic_load_n(&sh->busy, __ATOMIC_RELAXED);
		g2 = __atomic_load_n(&sh->gen, __ATOMIC_ACQUIRE);
	} while (g1 != g2 || (g1 & 1) != 0);
}

/*
 * The worker's answer to an allocation that failed (its data limit
 * reached): it exits at once, without allocating; the parent reads the
 * status.
 */
static void
on_nomem(void *arg)
{
	(void)arg;
	_exit(3);
}

/* Appends a frame of type t holding n bytes of p to b. */
static void
frame(struct sm_buf *b, int t, const void *p, size_t n)
{
	sm_buf_addc(b, t);
	enc_u32(b, (uint32_t)n);
	sm_buf_add(b, p, n);
}

/* The frame of an error whose message is msg (consumed). */
static void
frame_error(struct sm_buf *b, jv msg)
{
	struct sm_buf t;
	const char *s;
	int n;

	sm_buf_init(&t);
	if (jv_get_kind(msg) == JV_KIND_STRING &&
	    strcmp(jv_string_value(msg), ERROR_NULL) != 0) {
		s = jv_string_value(msg);
		n = jv_string_length_bytes(jv_copy(msg));
		while (n > 0 && s[n - 1] == '\n')
			n--;
		sm_buf_addf(&t, "jq: error: %.*s", n, s);
	} else if (jv_get_kind(msg) == JV_KIND_STRING) {
		sm_buf_adds(&t, "jq: error (not a string): null");
	} else {
		msg = jv_dump_string(msg, 0);
		sm_buf_addf(&t, "jq: error (not a string): %s",
		    jv_string_value(msg));
	}
	jv_free(msg);
	frame(b, F_ERROR, t.data, t.len);
	sm_buf_free(&t);
}

/*
 * Runs the program on rec (consumed) and appends the reply frames to b:
 * an F_OUT per output, then F_DONE or F_ERROR.  A long reply is written
 * to the socket as it grows.
 */
static void
worker_run(struct sm_map *m, jv rec, struct sm_buf *b)
{
	struct sm_buf t;
	jv out, tag, v, code, msg;

	sm_buf_init(&t);
	jq_start(m->jq, rec, 0);
	for (;;) {
		out = jq_next(m->jq);
		if (!jv_is_valid(out)) {
			if (jv_invalid_has_msg(jv_copy(out))) {
				frame_error(b, jv_invalid_get_msg(out));
				goto out;
			}
			jv_free(out);
			break;
		}
		/* ["o", output] or ["e", message], from the wrapping. */
		tag = jv_array_get(jv_copy(out), 0);
		v = jv_array_get(out, 1);
		if (strcmp(jv_string_value(tag), "e") == 0) {
			jv_free(tag);
			frame_error(b, v);
			goto out;
		}
		jv_free(tag);
		sm_buf_reset(&t);
		if (enc(&t, v, 0) != 0) {
			jv_free(v);
			frame_error(b, jv_string_fmt("an output nests deeper "
			    "than %d levels", SM_MAX_DEPTH));
			goto out;
		}
		jv_free(v);
		frame(b, F_OUT, t.data, t.len);
		if (b->len > 65536) {
			if (write_all(WORKER_FD, b->data, b->len) != 0)
				_exit(0);
			sm_buf_reset(b);
		}
	}
	if (!jq_halted(m->jq)) {
		frame(b, F_DONE, NULL, 0);
		goto out;
	}
	code = jq_get_exit_code(m->jq);
	msg = jq_get_error_message(m->jq);
	if (jv_get_kind(msg) != JV_KIND_INVALID &&
	    jv_get_kind(msg) != JV_KIND_NULL) {
		jv_free(code);
		frame_error(b, msg);
		goto out;
	}
	jv_free(msg);
	jv_free(code);
	frame_error(b, jv_string("a map cannot halt"));
out:
	sm_buf_free(&t);
}

#if defined(__SANITIZE_ADDRESS__)
#define SM_SANITIZED
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SM_SANITIZED
#endif
#endif

/*
 * The data limit of the worker: what it has now and map_max_bytes
 * more.  VmData counts what RLIMIT_DATA limits (Linux 4.7 and later):
 * the heap and private writable mappings, what malloc() takes.
 */
static void
worker_limit(size_t max_bytes)
{
	struct rlimit rl;
	char buf[4096], *s;
	ssize_t n;
	unsigned long long kb = 0;
	int fd;

	if ((fd = open("/proc/self/status", O_RDONLY)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if ((s = strstr(buf, "\nVmData:")) != NULL)
				kb = strtoull(s + 8, NULL, 10);
		}
	}
	rl.rlim_cur = rl.rlim_max = (rlim_t)(kb * 1024 + max_bytes);
	/*
	 * AddressSanitizer keeps freed memory in quarantine and maps its
	 * own regions: under it the limit would fail every map, so a
	 * sanitizer build does without the memory budget.
	 */
#ifndef SM_SANITIZED
	setrlimit(RLIMIT_DATA, &rl);
#endif
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
}

/*
 * The worker, in the child of fork(): reads requests (a 32-bit length,
 * a 64-bit sequence number, a record in binary form) from its socket
 * and answers each in order, writing its replies when it has no
 * complete request left.  Uses no descriptor of its parent (a database,
 * a client's connection) and never returns.
 */
static void
worker(struct sm_map *m, int fd, pid_t parent)
{
	struct sm_buf b, req;
	struct sigaction sa;
	struct dec d;
	size_t used;
	ssize_t r;
	uint64_t seq;
	uint32_t n;
	sigset_t all;
	int null;
	jv rec;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);	/* the parent decides */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	if (fd != WORKER_FD) {
		if (dup2(fd, WORKER_FD) < 0)
			_exit(1);
		close(fd);
	}
	if ((null = open("/dev/null", O_RDWR)) < 0)
		_exit(1);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (close_range(WORKER_FD + 1, ~0U, 0) != 0) {
		long i, max = sysconf(_SC_OPEN_MAX);

		for (i = WORKER_FD + 1; i < max && i < 65536; i++)
			close((int)i);
	}
	clearenv();
	worker_limit(m->max_bytes);
	jq_set_nomem_handler(m->jq, on_nomem, NULL);
	sm_buf_init(&b);
	sm_buf_init(&req);
	used = 0;
	for (;;) {
		while (req.len - used >= sizeof(n) + sizeof(seq)) {
			memcpy(&n, req.data + used, sizeof(n));
			if (req.len - used - sizeof(n) - sizeof(seq) < n)
				break;
			memcpy(&seq, req.data + used + sizeof(n), sizeof(seq));
			shared_set(m->sh, seq, 1);
			d.p = req.data + used + sizeof(n) + sizeof(seq);
			d.len = n;
			d.i = 0;
			used += sizeof(n) + sizeof(seq) + n;
			if (dec(&d, &rec, 0) != 0 || d.i != d.len)
				_exit(2);
			worker_run(m, rec, &b);
			shared_set(m->sh, seq, 0);
		}
		if (b.len > 0 && write_all(WORKER_FD, b.data, b.len) != 0)
			_exit(0);
		sm_buf_reset(&b);
		if (used > 0) {
			memmove(req.data, req.data + used, req.len - used);
			req.len -= used;
			used = 0;
		}
		sm_buf_grow(&req, 65536);
		if ((r = read(WORKER_FD, req.data + req.len,
		    req.cap - req.len - 1)) <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			_exit(0);
		}
		req.len += (size_t)r;
	}
}

/* Forks the worker.  Returns 0 or SM_EINTERNAL. */
static int
worker_start(struct sm_map *m)
{
	int sv[2];
	pid_t pid, parent = getpid();

	if (m->sh == NULL) {
		m->sh = mmap(NULL, sizeof(*m->sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m->sh == MAP_FAILED) {
			m->sh = NULL;
			return sm_error(SM_EINTERNAL, "map: cannot share "
			    "memory: %s", strerror(errno));
		}
	}
	memset(m->sh, 0, sizeof(*m->sh));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return sm_error(SM_EINTERNAL, "map: cannot make a socket: %s",
		    strerror(errno));
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return sm_error(SM_EINTERNAL, "map: cannot fork: %s",
		    strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		worker(m, sv[1], parent);
		_exit(0);
	}
	close(sv[1]);
	m->pid = pid;
	m->fd = sv[0];
	m->wpos = 0;
	return 0;
}

/*
 * Kills and reaps the worker, if any; returns its wait status.  The
 * requests it was sent are to be sent again.
 */
static int
worker_stop(struct sm_map *m)
{
	size_t i;
	int status = 0;

	for (i = m->head; i < m->nreq; i++)
		m->req[i].sent = 0;
	m->wpos = 0;

	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		while (waitpid(m->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (m->fd >= 0)
		close(m->fd);
	m->pid = -1;
	m->fd = -1;
	return status;
}

/*
 * Walks the complete frames of m->in from m->used: returns how many
 * records they answer in full, and in *end where the last of those
 * ends.
 */
static size_t
replies_complete(struct sm_map *m, size_t *end)
{
	size_t pos = m->used, k = 0;
	uint32_t n;
	int t;

	*end = pos;
	while (m->in.len - pos >= FRAME_HEAD) {
		t = (unsigned char)m->in.data[pos];
		memcpy(&n, m->in.data + pos + 1, sizeof(n));
		if (m->in.len - pos - FRAME_HEAD < n)
			break;
		pos += FRAME_HEAD + n;
		if (t == F_DONE || t == F_ERROR) {
			k++;
			*end = pos;
		}
	}
	return k;
}

/*
 * The worker failed (why: the budget exceeded, or NULL: it died): kills
 * it, keeps the replies it had written, and decides for each record not
 * yet answered: the one it was running is rejected with the reason, the
 * others go to the next worker.  Returns 0, or SM_EINTERNAL when
 * workers keep failing with nothing to blame.
 */
static int
worker_failed(struct sm_map *m, const char *why)
{
	char buf[160];
	uint64_t seq;
	int64_t start;
	size_t i, k, end;
	ssize_t r;
	int status, busy, blamed = 0;

	shared_get(m->sh, &seq, &start, &busy);
	if (m->pid > 0)
		kill(m->pid, SIGKILL);
	/* What it wrote before it died is still in the socket. */
	for (;;) {
		sm_buf_grow(&m->in, 65536);
		r = read(m->fd, m->in.data + m->in.len, m->in.cap - m->in.len
		    - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		m->in.len += (size_t)r;
	}
	k = replies_complete(m, &end);
	m->in.len = end;
	for (i = m->head; i < m->nreq; i++) {
		struct req *q = &m->req[i];

		if (q->why != NULL || !q->sent)
			continue;
		if (k > 0) {
			k--;
			q->done = 1;	/* its replies are in m->in */
			continue;
		}
		if ((busy && q->seq == seq) ||
		    (i == m->head && m->emitted > 0))
			q->blame = 1;
	}
	status = worker_stop(m);
	if (why == NULL) {
		why = buf;
		if (WIFEXITED(status) && (WEXITSTATUS(status) == 3 ||
		    WEXITSTATUS(status) == 70))
			/* on_nomem(), sm_xmalloc() */
			snprintf(buf, sizeof(buf), "memory budget of %zu "
			    "bytes exceeded", m->max_bytes);
		else if (WIFSIGNALED(status))
			snprintf(buf, sizeof(buf), "the map's process died "
			    "(%s)", strsignal(WTERMSIG(status)));
		else
			snprintf(buf, sizeof(buf), "the map's process ended "
			    "(status %d)", WEXITSTATUS(status));
	}
	for (i = m->head; i < m->nreq; i++) {
		struct req *q = &m->req[i];

		if (q->done)
			q->sent = 1;
		q->done = 0;
		if (q->blame) {
			q->why = sm_xstrdup(why);
			blamed = 1;
		}
		q->blame = 0;
	}
	if (blamed)
		m->fails = 0;
	else if (++m->fails > 2)
		return sm_error(SM_EINTERNAL, "map: its process keeps "
		    "failing: %s", why);
	return 0;
}

/* Drops the oldest request, answered. */
static void
req_pop(struct sm_map *m)
{
	struct req *q = &m->req[m->head++];

	free(q->why);
	q->why = NULL;
	m->emitted = 0;
	m->fails = 0;
	if (m->head == m->nreq) {
		m->head = m->nreq = 0;
		sm_buf_reset(&m->out);
		m->wpos = 0;
	}
}

int
sm_map_submit(struct sm_map *m, jv rec)
{
	struct req *q;
	size_t off, i;
	uint32_t len;
	int rc;

	/* Room at the end: the answered requests go. */
	if (m->nreq == m->cap && m->head > 0) {
		off = m->req[m->head].off;
		memmove(m->out.data, m->out.data + off, m->out.len - off);
		m->out.len -= off;
		memmove(m->req, m->req + m->head, (m->nreq - m->head) *
		    sizeof(*m->req));
		m->nreq -= m->head;
		m->head = 0;
		for (i = 0; i < m->nreq; i++)
			m->req[i].off -= off;
	}
	if (m->nreq == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->req = sm_xrealloc(m->req, m->cap * sizeof(*m->req));
	}
	q = &m->req[m->nreq++];
	memset(q, 0, sizeof(*q));
	q->seq = ++m->seq;
	q->off = m->out.len;
	enc_u32(&m->out, 0);
	sm_buf_add(&m->out, &q->seq, sizeof(q->seq));
	rc = enc(&m->out, rec, 0);
	jv_free(rec);
	if (rc != 0) {
		m->out.len = q->off;
		q->why = sm_xstrdup("jq: error: the record nests too deeply");
		return 0;
	}
	q->len = m->out.len - q->off;
	len = (uint32_t)(q->len - sizeof(len) - sizeof(q->seq));
	memcpy(m->out.data + q->off, &len, sizeof(len));
	return 0;
}

/*
 * Writes what it can of the requests not yet sent, without blocking.
 * Returns 0, or -1 when the worker is gone.
 */
static int
send_some(struct sm_map *m)
{
	struct req *q;
	size_t i;
	ssize_t w;

	for (i = m->head; i < m->nreq; i++) {
		q = &m->req[i];
		if (q->sent || q->why != NULL)
			continue;
		while (m->wpos < q->len) {
			w = send(m->fd, m->out.data + q->off + m->wpos,
			    q->len - m->wpos, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 0;
				return -1;
			}
			m->wpos += (size_t)w;
		}
		q->sent = 1;
		m->wpos = 0;
	}
	return 0;
}

/* Whether a request is waiting to be sent. */
static int
unsent(struct sm_map *m)
{
	size_t i;

	for (i = m->head; i < m->nreq; i++)
		if (!m->req[i].sent && m->req[i].why == NULL)
			return 1;
	return 0;
}

int
sm_map_collect(struct sm_map *m, int (*emit)(jv, void *), void *arg)
{
	struct pollfd pfd;
	struct req *q;
	struct dec d;
	char why[128];
	int64_t start, now;
	uint64_t seq;
	uint32_t n;
	ssize_t r;
	int rc, type, busy, wait;
	jv out;

	if (m->head == m->nreq)
		return sm_error(SM_EINTERNAL, "map: nothing submitted");
	for (;;) {
		q = &m->req[m->head];
		if (q->why != NULL) {
			rc = sm_error(SM_EDATA, "%s", q->why);
			req_pop(m);
			return rc;
		}
		/* The replies to this request, as far as they came. */
		while (q->sent && m->in.len - m->used >= FRAME_HEAD) {
			type = (unsigned char)m->in.data[m->used];
			memcpy(&n, m->in.data + m->used + 1, sizeof(n));
			if (m->in.len - m->used - FRAME_HEAD < n)
				break;
			d.p = m->in.data + m->used + FRAME_HEAD;
			d.len = n;
			d.i = 0;
			m->used += FRAME_HEAD + n;
			if (m->used == m->in.len) {
				sm_buf_reset(&m->in);
				m->used = 0;
			}
			switch (type) {
			case F_OUT:
				if (dec(&d, &out, 0) != 0 || d.i != d.len)
					goto bad;
				m->emitted++;
				if ((rc = emit(out, arg)) != 0) {
					/* Its other outputs are not wanted. */
					m->in.len = m->used = 0;
					worker_stop(m);
					req_pop(m);
					return rc;
				}
				break;
			case F_ERROR:
				rc = sm_error(SM_EDATA, "%.*s", (int)n, d.p);
				req_pop(m);
				return rc;
			case F_DONE:
				req_pop(m);
				return 0;
			default:
				goto bad;
			}
		}
		if (sm_interrupted()) {
			worker_stop(m);
			return sm_error(SM_EINTR, "interrupted: nothing was "
			    "written");
		}
		if (m->pid < 0 && (rc = worker_start(m)) != 0)
			return rc;
		if (send_some(m) != 0) {
			if ((rc = worker_failed(m, NULL)) != 0)
				return rc;
			continue;
		}
		shared_get(m->sh, &seq, &start, &busy);
		now = mono_ms();
		wait = 100;
		if (busy) {
			if (now - start >= m->timeout_ms) {
				snprintf(why, sizeof(why), "time budget of %d "
				    "ms exceeded", m->timeout_ms);
				if ((rc = worker_failed(m, why)) != 0)
					return rc;
				continue;
			}
			if (m->timeout_ms - (now - start) < wait)
				wait = (int)(m->timeout_ms - (now - start));
		}
		pfd.fd = m->fd;
		pfd.events = POLLIN | (unsent(m) ? POLLOUT : 0);
		if (poll(&pfd, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			return sm_error(SM_EINTERNAL, "map: poll: %s",
			    strerror(errno));
		}
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		sm_buf_grow(&m->in, 65536);
		r = read(m->fd, m->in.data + m->in.len, m->in.cap - m->in.len
		    - 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			if ((rc = worker_failed(m, NULL)) != 0)
				return rc;
			continue;
		}
		m->in.len += (size_t)r;
	}
bad:
	worker_stop(m);
	m->in.len = m->used = 0;
	req_pop(m);
	return sm_error(SM_EINTERNAL, "map: its process sent a bad reply");
}

int
sm_map_pending(const struct sm_map *m)
{
	return (int)(m->nreq - m->head);
}

/*
 * Runs the program on rec (see sm.h): sm_map_submit() and
 * sm_map_collect() of that one record.
 */
int
sm_map_run(struct sm_map *m, jv rec, int (*emit)(jv, void *), void *arg)
{
	int rc;

	if ((rc = sm_map_submit(m, rec)) != 0)
		return rc;
	return sm_map_collect(m, emit, arg);
}

/* Frees m, its jq state and its worker; NULL is fine. */
void
sm_map_free(struct sm_map *m)
{
	size_t i;

	if (m == NULL)
		return;
	worker_stop(m);
	if (m->jq != NULL)
		jq_teardown(&m->jq);
	for (i = m->head; i < m->nreq; i++)
		free(m->req[i].why);
	free(m->req);
	if (m->sh != NULL)
		munmap(m->sh, sizeof(*m->sh));
	sm_buf_free(&m->msg);
	sm_buf_free(&m->in);
	sm_buf_free(&m->out);
	free(m);
}
