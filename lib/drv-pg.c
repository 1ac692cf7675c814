/* See LICENSE file for copyright and license details. */
/*
 * drv-pg.c: the PostgreSQL driver (SPEC §5.8) over libpq.
 *
 * Config: url (a postgresql:// URL or a conninfo string), table (default
 * "listings", or "schema.table"), password (put there by conn.c from
 * password_file; given to libpq as a parameter, never in a string), and
 * optionally columns, an object of record field -> column of an existing
 * table:
 *
 *	{"external_id": "ref", "price": "price_eur", "@hash": "sm_hash"}
 *
 * "external_id" names the key column (unique: ON CONFLICT needs it); the
 * pseudo-fields "@hash" (sm's hash: compare before write), "@data" (the
 * whole record as JSON) and "@updated_at" (now()) are optional.  Without
 * "@hash" nothing can be compared: puts and deletes are unconditional.
 * A put or del without expect (a create, or sm-sync --overwrite-manual)
 * writes or removes whatever the row holds, as the other drivers do; with
 * it, the row must hold that hash or already the one being written (a
 * batch delivered but not acknowledged, sent again), else SM_CONFLICT.
 * Values reach their columns through jsonb_populate_record(), so the
 * server converts each to its column's type (a bad one is 22xxx).
 *
 * Without columns, the table is created when missing with the shape of
 * SPEC §5.8 and a trigger that clears hash when data is changed without
 * it: a hand edit then fails the comparison of the next put.
 *
 * A batch is one transaction sent in pipeline mode: its statements go
 * out as they come and their results are read at commit (and every
 * DRAIN statements, to bound memory), so 1,000 records cost a few round
 * trips.  A put or del therefore returns 0 once queued; its verdict is
 * commit's.  A record refused in a batch (a conflict, a bad value) rolls
 * the whole batch back: commit then answers SM_PERMANENT naming it (the
 * record's own verdict when the batch is that one record), and push.c
 * delivers the batch in halves down to that record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "driver.h"

#define TEXTOID		25	/* every parameter is sent as text */
#define DRAIN		1024	/* statements in flight before a sync */
#define IDENT_MAX	63	/* NAMEDATALEN - 1 */
#define NPARAM		5	/* of every statement, unused ones NULL */

enum { S_INS, S_UPD, S_DEL, NSTMT };
static const char *const stmt_name[NSTMT] = { "sm_ins", "sm_upd", "sm_del" };
enum { OP_CMD, OP_PUT, OP_DEL };

struct op {
	int kind;
	char *id;		/* OP_PUT, OP_DEL: for messages */
};

struct pg {
	PGconn *conn;
	char *url, *password;
	char *secret[3];	/* scrubbed from every message */
	char *sql[NSTMT];
	char *list_sql;
	char *map;		/* columns as JSON text, or NULL */
	int list_map;		/* list_sql takes map as $1 */
	char *keycol;		/* columns: the key column's name */
	int hashed;		/* compare before write */
	/* The batch. */
	struct op *op;
	size_t nop, cap, head;	/* queued, allocated, results read */
	size_t unsynced;	/* statements since the last sync */
	size_t nrec;		/* puts and dels */
	int verdict;		/* the first refusal, or 0 */
	char *bad_id;
	struct sm_buf bad_why;
	struct sm_buf data;	/* put's copy of the record */
};

/*
 * Verdicts of SQLSTATE classes and codes, the longest prefix first.  A
 * connection or a server in trouble is transient, and so is a table gone
 * or a permission lost: these hold for every record, so the changes stay
 * pending rather than all fail.  What the server refuses of this record
 * (a constraint, a value, a trigger's RAISE) is permanent, as is what
 * this table does not know.
 */
static const struct {
	const char *state;
	int verdict;
} states[] = {
	{ "40002", SM_PERMANENT },	/* a deferred constraint at commit */
	{ "08", SM_TRANSIENT },		/* connection exception */
	{ "25", SM_TRANSIENT },		/* invalid transaction state */
	{ "28", SM_TRANSIENT },		/* authorization */
	{ "3D", SM_TRANSIENT },		/* no such database */
	{ "3F", SM_TRANSIENT },		/* no such schema */
	{ "40", SM_TRANSIENT },		/* serialization, deadlock */
	{ "42", SM_TRANSIENT },		/* table or column gone, privilege */
	{ "53", SM_TRANSIENT },		/* insufficient resources */
	{ "55", SM_TRANSIENT },		/* lock not available, object in use */
	{ "57", SM_TRANSIENT },		/* shutdown, cannot connect now */
	{ "58", SM_TRANSIENT },		/* system error */
	{ "XX", SM_TRANSIENT },		/* internal error */
};

static int
verdict_of(const char *state)
{
	size_t i;

	if (state == NULL)	/* libpq's own: the connection */
		return SM_TRANSIENT;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strncmp(state, states[i].state,
		    strlen(states[i].state)) == 0)
			return states[i].verdict;
	return SM_PERMANENT;
}

/*
 * Copies s into b with every secret replaced by "***", and whatever
 * looks like one too: the value of a password= keyword and the password
 * of a URL's user:password@ (libpq's messages may quote the conninfo).
 */
static void
scrub_into(struct sm_buf *b, const char *s, char *const *secret, size_t n)
{
	size_t i, len;
	const char *p, *e;

	while (*s != '\0') {
		for (i = 0; i < n; i++) {
			if (secret[i] == NULL || *secret[i] == '\0')
				continue;
			len = strlen(secret[i]);
			if (strncmp(s, secret[i], len) == 0)
				break;
		}
		if (i < n) {
			sm_buf_adds(b, "***");
			s += len;
		} else if (strncasecmp(s, "password", 8) == 0) {
			p = s + 8;
			while (*p == ' ')
				p++;
			if (*p != '=') {
				sm_buf_add(b, s, 8);
				s += 8;
				continue;
			}
			p++;
			while (*p == ' ')
				p++;
			if (*p == '\'') {
				for (p++; *p != '\0' && *p != '\''; p++)
					if (*p == '\\' && p[1] != '\0')
						p++;
				if (*p == '\'')
					p++;
			} else
				while (*p != '\0' &&
				    strchr(" \t\n\"&", *p) == NULL)
					p++;
			sm_buf_adds(b, "password=***");
			s = p;
		} else if (strncmp(s, "://", 3) == 0) {
			/* ://user:password@host */
			sm_buf_adds(b, "://");
			s += 3;
			e = s + strcspn(s, "@/?# \t\n\"");
			p = memchr(s, ':', e - s);
			if (*e == '@' && p != NULL) {
				sm_buf_add(b, s, p - s);
				sm_buf_adds(b, ":***");
				s = e;
			}
		} else
			sm_buf_addc(b, *s++);
	}
}

/*
 * The password of a URL as written (percent-encoded, maybe broken): what
 * lies between "user:" and "@"; a new string or NULL.
 */
static char *
url_password(const char *url)
{
	const char *s, *e, *p;

	if ((s = strstr(url, "://")) == NULL)
		return NULL;
	s += 3;
	e = s + strcspn(s, "@/?#");
	if (*e != '@' || (p = memchr(s, ':', e - s)) == NULL || p + 1 == e)
		return NULL;
	return sm_xstrndup(p + 1, e - p - 1);
}

/* libpq's messages run over lines: one line, spaces squeezed. */
static void
oneline(struct sm_buf *b)
{
	size_t i, j;

	for (i = j = 0; i < b->len; i++) {
		if (b->data[i] == '\n' || b->data[i] == '\t')
			b->data[i] = ' ';
		if (b->data[i] == ' ' && (j == 0 || b->data[j - 1] == ' '))
			continue;
		b->data[j++] = b->data[i];
	}
	while (j > 0 && b->data[j - 1] == ' ')
		j--;
	b->len = j;
	if (b->data != NULL)
		b->data[j] = '\0';
}

/* Writes the formatted, scrubbed message into why; returns verdict. */
static int __attribute__((format(printf, 4, 5)))
fail(struct pg *d, struct sm_buf *why, int verdict, const char *fmt, ...)
{
	struct sm_buf raw;
	va_list ap;
	int n;

	sm_buf_init(&raw);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	sm_buf_grow(&raw, n + 1);
	va_start(ap, fmt);
	vsnprintf(raw.data, n + 1, fmt, ap);
	va_end(ap);
	raw.len = n;
	if (why != NULL) {
		sm_buf_reset(why);
		scrub_into(why, raw.data, d->secret, 3);
		oneline(why);
	}
	sm_buf_free(&raw);
	return verdict;
}

/* libpq's or the server's message without its trailing newline. */
static const char *
msg_of(const char *m, int *len)
{
	*len = (int)strlen(m);
	while (*len > 0 && (m[*len - 1] == '\n' || m[*len - 1] == ' '))
		(*len)--;
	if (*len > 0)
		return m;
	*len = (int)strlen("connection lost");
	return "connection lost";
}

static int
conn_fail(struct pg *d, struct sm_buf *why, const char *what)
{
	int n;
	const char *m = msg_of(PQerrorMessage(d->conn), &n);

	return fail(d, why, SM_TRANSIENT, "%s: %.*s", what, n, m);
}

/* The verdict of a failed result, its primary message into why. */
static int
res_fail(struct pg *d, const PGresult *res, struct sm_buf *why)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	int n, v = verdict_of(state);

	if (m == NULL)
		m = msg_of(PQerrorMessage(d->conn), &n);
	else
		n = (int)strlen(m);
	if (state == NULL || PQstatus(d->conn) == CONNECTION_BAD)
		v = SM_TRANSIENT;
	return fail(d, why, v, "%.*s%s%s%s", n, m, state ? " (SQLSTATE " : "",
	    state ? state : "", state ? ")" : "");
}

/* An identifier: a letter or _, then letters, digits, _; at most 63. */
static int
ident_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > IDENT_MAX || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] != '_' && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9'))
			return 0;
	return 1;
}

static int
table_ok(const char *t)
{
	const char *dot = strchr(t, '.');

	if (dot == NULL)
		return ident_ok(t, strlen(t));
	return ident_ok(t, dot - t) && ident_ok(dot + 1, strlen(dot + 1));
}

/* As libpq tells a conninfo or a URL from a database name. */
static int
conninfo(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0 || strchr(url, '=') != NULL;
}

/* The string value of key, or NULL when absent; -1 when not a string. */
static int
str_of(jv config, const char *key, char **out)
{
	jv v = jv_object_get(jv_copy(config), jv_string(key));
	int rc = 0;

	*out = NULL;
	if (jv_get_kind(v) == JV_KIND_STRING)
		*out = sm_xstrdup(jv_string_value(v));
	else if (jv_get_kind(v) != JV_KIND_INVALID &&
	    jv_get_kind(v) != JV_KIND_NULL)
		rc = -1;
	jv_free(v);
	return rc;
}

static int
check_columns(const struct sm_conn *c, jv cols)
{
	int n = 0, key = 0, rc = 0, iter;
	jv k, v, seen = jv_object();
	const char *f, *col;

	if (jv_get_kind(cols) != JV_KIND_OBJECT) {
		jv_free(seen);
		return sm_error(SM_ECONFIG, "target '%s': 'columns' must be "
		    "an object of record field to column", c->target);
	}
	for (iter = jv_object_iter(cols); rc == 0 &&
	    jv_object_iter_valid(cols, iter);
	    iter = jv_object_iter_next(cols, iter)) {
		k = jv_object_iter_key(cols, iter);
		v = jv_object_iter_value(cols, iter);
		f = jv_string_value(k);
		if (jv_get_kind(v) != JV_KIND_STRING ||
		    !ident_ok(jv_string_value(v), jv_string_length_bytes(
		    jv_copy(v))))
			rc = sm_error(SM_ECONFIG, "target '%s': 'columns': "
			    "field '%s' must map to a column name (letters, "
			    "digits, _)", c->target, f);
		else if (*f == '\0' || (*f == '@' && strcmp(f, "@hash") != 0 &&
		    strcmp(f, "@data") != 0 && strcmp(f, "@updated_at") != 0))
			rc = sm_error(SM_ECONFIG, "target '%s': 'columns': "
			    "unknown field '%s' (the fields of sm are @hash, "
			    "@data and @updated_at)", c->target, f);
		else {
			col = jv_string_value(v);
			if (jv_object_has(jv_copy(seen), jv_string(col)))
				rc = sm_error(SM_ECONFIG, "target '%s': "
				    "'columns': column '%s' is named twice",
				    c->target, col);
			seen = jv_object_set(seen, jv_string(col), jv_true());
			key |= strcmp(f, "external_id") == 0;
			n++;
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(seen);
	if (rc == 0 && !key)
		rc = sm_error(SM_ECONFIG, "target '%s': 'columns' must name "
		    "the key column: \"external_id\": COLUMN", c->target);
	if (rc == 0 && n < 2)
		rc = sm_error(SM_ECONFIG, "target '%s': 'columns' must map a "
		    "field besides external_id", c->target);
	return rc;
}

/*
 * Checks c's config without connecting: returns 0, or SM_ECONFIG naming
 * the key (the message never holds the URL nor the password).
 */
static int
pg_check(const struct sm_conn *c)
{
	char *url = NULL, *table = NULL, *pw = NULL, *err = NULL;
	char *secret[3] = { NULL, NULL, NULL };
	PQconninfoOption *opt = NULL;
	struct sm_buf b;
	jv cols;
	int rc = 0;

	if (jv_get_kind(c->config) != JV_KIND_OBJECT)
		return sm_error(SM_ECONFIG, "target '%s': the connection must "
		    "be an object", c->target);
	if (str_of(c->config, "password", &pw) < 0)
		rc = sm_error(SM_ECONFIG, "target '%s': 'password' must be a "
		    "string", c->target);
	else if (str_of(c->config, "url", &url) < 0 || url == NULL ||
	    *url == '\0')
		rc = sm_error(SM_ECONFIG, "target '%s': 'url' must be a "
		    "postgresql:// URL or a conninfo string", c->target);
	else if (str_of(c->config, "table", &table) < 0 ||
	    (table != NULL && !table_ok(table)))
		rc = sm_error(SM_ECONFIG, "target '%s': 'table' must be a "
		    "table name (letters, digits, _; \"schema.table\")",
		    c->target);
	else if (conninfo(url) && (opt = PQconninfoParse(url, &err)) ==
	    NULL) {
		sm_buf_init(&b);
		secret[0] = pw;
		secret[1] = url_password(url);
		scrub_into(&b, err ? err : "out of memory", secret, 3);
		while (b.len > 0 && b.data[b.len - 1] == '\n')
			b.data[--b.len] = '\0';
		rc = sm_error(SM_ECONFIG, "target '%s': 'url': %s", c->target,
		    b.data);
		sm_buf_free(&b);
		free(secret[1]);
		PQfreemem(err);
	} else if (conninfo(url))
		PQconninfoFree(opt);
	if (rc == 0) {
		cols = jv_object_get(jv_copy(c->config), jv_string("columns"));
		if (jv_get_kind(cols) != JV_KIND_INVALID &&
		    jv_get_kind(cols) != JV_KIND_NULL)
			rc = check_columns(c, cols);
		jv_free(cols);
	}
	free(url);
	free(table);
	free(pw);
	return rc;
}

/* Prepares the statements: 0, SM_ECONFIG (a table or column is
 * wrong) or SM_TRANSIENT. */
static int
prepare(struct pg *d, struct sm_buf *why)
{
	static const Oid types[] = { TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	    TEXTOID };
	PGresult *res;
	int i, rc;

	for (i = 0; i < NSTMT; i++) {
		res = PQprepare(d->conn, stmt_name[i], d->sql[i], NPARAM,
		    types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = res_fail(d, res, why);
			PQclear(res);
			if (rc == SM_TRANSIENT &&
			    PQstatus(d->conn) == CONNECTION_BAD)
				return rc;
			return fail(d, why, SM_ECONFIG, "%s", why->data);
		}
		PQclear(res);
		/* The planner finds what parsing does not (ON CONFLICT). */
		sm_buf_reset(&d->data);
		sm_buf_addf(&d->data, "EXPLAIN (COSTS OFF) EXECUTE %s(NULL, "
		    "NULL, NULL, NULL, NULL)", stmt_name[i]);
		res = PQexec(d->conn, d->data.data);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			rc = res_fail(d, res, why);
			PQclear(res);
			if (rc == SM_TRANSIENT &&
			    PQstatus(d->conn) == CONNECTION_BAD)
				return rc;
			return fail(d, why, SM_ECONFIG, "%s", why->data);
		}
		PQclear(res);
	}
	return 0;
}

/*
 * Connects anew with the stored parameters and prepares the statements
 * when they are made: 0, SM_ECONFIG or SM_TRANSIENT.
 */
static int
connect_db(struct pg *d, struct sm_buf *why)
{
	const char *key[5], *val[5];
	int n = 0;

	if (d->conn != NULL)
		PQfinish(d->conn);
	/* dbname is expanded: the URL's keys, then ours override them. */
	key[n] = "dbname", val[n++] = d->url;
	if (d->password != NULL)
		key[n] = "password", val[n++] = d->password;
	key[n] = "fallback_application_name", val[n++] = "sm";
	key[n] = "connect_timeout", val[n++] = "10";
	key[n] = val[n] = NULL;
	d->conn = PQconnectdbParams(key, val, 1);
	if (d->conn == NULL)
		return fail(d, why, SM_TRANSIENT, "out of memory");
	if (PQstatus(d->conn) != CONNECTION_OK) {
		if (PQconnectionNeedsPassword(d->conn))
			return fail(d, why, SM_ECONFIG, "cannot connect: the "
			    "server asks for a password and none was given "
			    "('password_file')");
		return conn_fail(d, why, "cannot connect");
	}
	return d->sql[S_INS] != NULL ? prepare(d, why) : 0;
}

static char *
quote(PGconn *conn, const char *s, size_t n)
{
	char *q = PQescapeIdentifier(conn, s, n), *r;

	if (q == NULL)
		return NULL;
	r = sm_xstrdup(q);
	PQfreemem(q);
	return r;
}

/*
 * The statements of the default table (see the top of the file): $1 the
 * key, $2 the data, $3 the hash, $4 (upd) or $2 (del) the hash expected.
 */
static void
table_sql(struct pg *d, const char *t)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_addf(&b, "INSERT INTO %s AS t (external_id, data, hash, "
	    "updated_at) VALUES ($1, $2::jsonb, $3, now()) "
	    "ON CONFLICT (external_id) DO UPDATE SET data = EXCLUDED.data, "
	    "hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at", t);
	d->sql[S_INS] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	sm_buf_addf(&b, "UPDATE %s SET data = $2::jsonb, hash = $3, "
	    "updated_at = now() WHERE external_id = $1 AND "
	    "(hash = $4 OR hash = $3)", t);
	d->sql[S_UPD] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	sm_buf_addf(&b, "WITH d AS (DELETE FROM %s WHERE external_id = $1 "
	    "AND ($2::text IS NULL OR hash = $2) RETURNING 1) SELECT (SELECT count(*) FROM d), "
	    "EXISTS (SELECT 1 FROM %s WHERE external_id = $1)", t, t);
	d->sql[S_DEL] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	sm_buf_addf(&b, "SELECT external_id, data::text FROM %s", t);
	d->list_sql = b.data;
	d->hashed = 1;
}

/*
 * The statements of a columns mapping.  The record, with its key as
 * external_id and sm's fields as @data, @hash, @updated_at, is turned
 * into a row of the table by the mapping ($4, the columns object), and
 * jsonb_populate_record() gives each value its column's type.
 */
static int
columns_sql(struct pg *d, const char *t, jv cols, struct sm_buf *why)
{
	struct sm_buf b, set, names, vals;
	char *q, *key = NULL, *hash = NULL;
	const char *src;
	int iter, nq = 0;
	jv k, v;

	sm_buf_init(&b);
	sm_buf_init(&set);
	sm_buf_init(&names);
	sm_buf_init(&vals);
	for (iter = jv_object_iter(cols); jv_object_iter_valid(cols, iter);
	    iter = jv_object_iter_next(cols, iter)) {
		k = jv_object_iter_key(cols, iter);
		v = jv_object_iter_value(cols, iter);
		q = quote(d->conn, jv_string_value(v),
		    strlen(jv_string_value(v)));
		if (q == NULL) {
			jv_free(k);
			jv_free(v);
			goto oom;
		}
		sm_buf_addf(&names, "%s%s", nq ? ", " : "", q);
		sm_buf_addf(&vals, "%sr.%s", nq ? ", " : "", q);
		if (strcmp(jv_string_value(k), "external_id") == 0) {
			key = q;
			d->keycol = sm_xstrdup(jv_string_value(v));
		} else {
			sm_buf_addf(&set, "%s%s = EXCLUDED.%s",
			    set.len ? ", " : "", q, q);
			if (strcmp(jv_string_value(k), "@hash") == 0)
				hash = sm_xstrdup(q);
			free(q);
		}
		nq++;
		jv_free(k);
		jv_free(v);
	}
	d->hashed = hash != NULL;
	src = "jsonb_populate_record(NULL::%s, (SELECT "
	    "jsonb_object_agg(m.value, x.r -> m.key) FROM "
	    "jsonb_each_text($4::jsonb) m, (SELECT $2::jsonb || "
	    "jsonb_build_object('external_id', $1::text, '@data', $2::jsonb, "
	    "'@hash', $3::text, '@updated_at', now())) x(r))) r";

	sm_buf_addf(&b, "INSERT INTO %s AS t (%s) SELECT %s FROM ", t,
	    names.data, vals.data);
	sm_buf_addf(&b, src, t);
	sm_buf_addf(&b, " ON CONFLICT (%s) DO UPDATE SET %s", key, set.data);
	d->sql[S_INS] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	if (hash != NULL) {
		/* SET (a, b) = (r.a, r.b) wants two columns at least. */
		sm_buf_addf(&b, "UPDATE %s AS t SET (%s) = ROW(%s) FROM ", t,
		    names.data, vals.data);
		sm_buf_addf(&b, src, t);
		sm_buf_addf(&b, " WHERE t.%s = r.%s AND (t.%s::text = $5 OR "
		    "t.%s = r.%s)", key, key, hash, hash, hash);
	} else
		sm_buf_addf(&b, "%s", d->sql[S_INS]);
	d->sql[S_UPD] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	sm_buf_addf(&b, "WITH k AS (SELECT r.%s FROM jsonb_populate_record("
	    "NULL::%s, jsonb_build_object($3::text, $1::text)) r), "
	    "d AS (DELETE FROM %s t USING k WHERE t.%s = k.%s", key, t, t,
	    key, key);
	if (hash != NULL)
		sm_buf_addf(&b, " AND ($2::text IS NULL OR t.%s::text = $2)",
		    hash);
	sm_buf_addf(&b, " RETURNING 1) SELECT (SELECT count(*) FROM d), ");
	if (hash != NULL)
		sm_buf_addf(&b, "EXISTS (SELECT 1 FROM %s t, k WHERE "
		    "t.%s = k.%s)", t, key, key);
	else
		sm_buf_adds(&b, "false");
	d->sql[S_DEL] = sm_xstrdup(b.data);
	sm_buf_reset(&b);
	if (jv_object_has(jv_copy(cols), jv_string("@data"))) {
		v = jv_object_get(jv_copy(cols), jv_string("@data"));
		q = quote(d->conn, jv_string_value(v),
		    strlen(jv_string_value(v)));
		jv_free(v);
		if (q == NULL)
			goto oom;
		sm_buf_addf(&b, "SELECT t.%s::text, t.%s::text FROM %s t",
		    key, q, t);
		free(q);
	} else {
		d->list_map = 1;
		sm_buf_addf(&b, "SELECT t.%s::text, jsonb_strip_nulls((SELECT "
		    "jsonb_object_agg(m.key, to_jsonb(t) -> m.value) FROM "
		    "jsonb_each_text($1::jsonb) m WHERE m.key NOT LIKE '@%%'))"
		    "::text FROM %s t", key, t);
	}
	d->list_sql = sm_xstrdup(b.data);
	v = jv_dump_string(jv_copy(cols), 0);
	d->map = sm_xstrdup(jv_string_value(v));
	jv_free(v);
	free(key);
	free(hash);
	sm_buf_free(&b);
	sm_buf_free(&set);
	sm_buf_free(&names);
	sm_buf_free(&vals);
	return 0;
oom:
	free(key);
	free(hash);
	sm_buf_free(&b);
	sm_buf_free(&set);
	sm_buf_free(&names);
	sm_buf_free(&vals);
	return conn_fail(d, why, "cannot quote a column");
}

/*
 * The default table, created when missing with its guard: a change of
 * data that leaves hash as it was (a hand edit) clears hash.
 */
static int
create_table(struct pg *d, const char *t, const char *table,
    struct sm_buf *why)
{
	const char *dot = strchr(table, '.');
	char *schema = NULL;
	const char *val[1] = { t };
	struct sm_buf b;
	PGresult *res;
	int rc = 0;

	res = PQexecParams(d->conn, "SELECT to_regclass($1) IS NULL", 1,
	    NULL, val, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = res_fail(d, res, why);
		PQclear(res);
		return rc;
	}
	rc = *PQgetvalue(res, 0, 0) == 't';
	PQclear(res);
	if (!rc)
		return 0;
	if (dot != NULL && (schema = quote(d->conn, table, dot - table)) ==
	    NULL)
		return conn_fail(d, why, "cannot quote the schema");
	sm_buf_init(&b);
	sm_buf_addf(&b, "CREATE TABLE IF NOT EXISTS %s (external_id TEXT "
	    "PRIMARY KEY, data JSONB, hash TEXT, updated_at TIMESTAMPTZ);\n"
	    "CREATE OR REPLACE FUNCTION %s%ssm_hash_guard() RETURNS trigger "
	    "LANGUAGE plpgsql AS $$BEGIN NEW.hash := NULL; RETURN NEW; "
	    "END$$;\n"
	    "CREATE OR REPLACE TRIGGER sm_hash_guard BEFORE UPDATE ON %s "
	    "FOR EACH ROW WHEN (NEW.data IS DISTINCT FROM OLD.data AND "
	    "NEW.hash IS NOT DISTINCT FROM OLD.hash) "
	    "EXECUTE FUNCTION %s%ssm_hash_guard()", t,
	    schema ? schema : "", schema ? "." : "", t,
	    schema ? schema : "", schema ? "." : "");
	res = PQexec(d->conn, b.data);
	rc = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = res_fail(d, res, why);
		if (rc != SM_TRANSIENT)
			rc = fail(d, why, SM_ECONFIG, "cannot create the "
			    "table: %s", why->data);
	}
	PQclear(res);
	sm_buf_free(&b);
	free(schema);
	return rc;
}

static void
pg_close(void *p)
{
	struct pg *d = p;
	size_t i;

	if (d == NULL)
		return;
	if (d->conn != NULL)
		PQfinish(d->conn);
	for (i = 0; i < d->nop; i++)
		free(d->op[i].id);
	free(d->op);
	for (i = 0; i < NSTMT; i++)
		free(d->sql[i]);
	for (i = 0; i < 3; i++)
		free(d->secret[i]);
	free(d->list_sql);
	free(d->map);
	free(d->keycol);
	free(d->url);
	free(d->password);
	free(d->bad_id);
	sm_buf_free(&d->bad_why);
	sm_buf_free(&d->data);
	free(d);
}

/*
 * Connects, creates the default table when missing, prepares the
 * statements: 0, SM_ECONFIG (the config, the table or a column is
 * wrong, the password is missing) or SM_TRANSIENT (cannot connect now).
 */
static int
pg_open(void **p, const struct sm_conn *c, struct sm_buf *why)
{
	struct pg *d;
	char *table = NULL, *t = NULL;
	const char *dot;
	PQconninfoOption *opt, *o;
	jv cols;
	int rc;

	*p = NULL;
	if ((rc = pg_check(c)) != 0) {
		sm_buf_reset(why);
		sm_buf_adds(why, sm_errmsg());
		return rc;
	}
	d = sm_xcalloc(1, sizeof(*d));
	sm_buf_init(&d->bad_why);
	sm_buf_init(&d->data);
	str_of(c->config, "url", &d->url);
	str_of(c->config, "password", &d->password);
	str_of(c->config, "table", &table);
	if (table == NULL)
		table = sm_xstrdup("listings");
	d->secret[0] = d->password ? sm_xstrdup(d->password) : NULL;
	d->secret[1] = url_password(d->url);
	if ((opt = PQconninfoParse(d->url, NULL)) != NULL) {
		for (o = opt; o->keyword != NULL; o++)
			if (strcmp(o->keyword, "password") == 0 &&
			    o->val != NULL)
				d->secret[2] = sm_xstrdup(o->val);
		PQconninfoFree(opt);
	}
	if ((rc = connect_db(d, why)) != 0)
		goto out;
	if ((dot = strchr(table, '.')) == NULL)
		t = quote(d->conn, table, strlen(table));
	else if ((t = quote(d->conn, table, dot - table)) != NULL) {
		char *u = quote(d->conn, dot + 1, strlen(dot + 1));

		if (u == NULL) {
			free(t);
			t = NULL;
		} else {
			t = sm_xrealloc(t, strlen(t) + strlen(u) + 2);
			strcat(strcat(t, "."), u);
			free(u);
		}
	}
	if (t == NULL) {
		rc = conn_fail(d, why, "cannot quote the table name");
		goto out;
	}
	cols = jv_object_get(jv_copy(c->config), jv_string("columns"));
	if (jv_get_kind(cols) == JV_KIND_OBJECT) {
		rc = columns_sql(d, t, cols, why);
		if (rc == 0)
			rc = prepare(d, why);
	} else {
		table_sql(d, t);
		if ((rc = create_table(d, t, table, why)) == 0)
			rc = prepare(d, why);
	}
	jv_free(cols);
out:
	free(table);
	free(t);
	if (rc != 0) {
		pg_close(d);
		return rc;
	}
	*p = d;
	return 0;
}

static void
batch_reset(struct pg *d)
{
	size_t i;

	for (i = 0; i < d->nop; i++)
		free(d->op[i].id);
	d->nop = d->head = d->unsynced = d->nrec = 0;
	d->verdict = 0;
	free(d->bad_id);
	d->bad_id = NULL;
	sm_buf_reset(&d->bad_why);
}

static void
queue(struct pg *d, int kind, const char *id)
{
	if (d->nop == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->op = sm_xrealloc(d->op, d->cap * sizeof(*d->op));
	}
	d->op[d->nop].kind = kind;
	d->op[d->nop].id = id ? sm_xstrdup(id) : NULL;
	d->nop++;
	d->unsynced++;
}

/* The batch's first refusal is kept: the verdict of commit. */
static void
refuse(struct pg *d, int verdict, const char *id, const char *why)
{
	if (d->verdict != 0 && !(verdict == SM_TRANSIENT &&
	    d->verdict != SM_TRANSIENT))
		return;
	d->verdict = verdict;
	free(d->bad_id);
	d->bad_id = id ? sm_xstrdup(id) : NULL;
	sm_buf_reset(&d->bad_why);
	sm_buf_adds(&d->bad_why, why);
}

static void
result(struct pg *d, struct op *op, PGresult *res)
{
	struct sm_buf why;
	ExecStatusType st = PQresultStatus(res);
	int v;

	if (st == PGRES_PIPELINE_ABORTED)	/* after a refusal */
		return;
	if (st == PGRES_FATAL_ERROR) {
		sm_buf_init(&why);
		v = res_fail(d, res, &why);
		refuse(d, v, op->id, why.data);
		sm_buf_free(&why);
		return;
	}
	if (op->kind == OP_PUT && strcmp(PQcmdTuples(res), "0") == 0)
		refuse(d, SM_CONFLICT, op->id, "the row was changed or "
		    "deleted on the target since it was last delivered");
	else if (op->kind == OP_DEL && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "0") == 0 &&
	    *PQgetvalue(res, 0, 1) == 't')
		refuse(d, SM_CONFLICT, op->id, "the row was changed on the "
		    "target since it was last delivered");
}

/*
 * Sends a sync and reads every result up to it.  Returns 0, or
 * SM_TRANSIENT when the connection is lost (the batch is then refused).
 */
static int
drain(struct pg *d)
{
	PGresult *res;
	int nulls = 0;

	if (PQpipelineSync(d->conn) != 1)
		goto lost;
	d->unsynced = 0;
	for (;;) {
		res = PQgetResult(d->conn);
		if (res == NULL) {
			if (PQstatus(d->conn) == CONNECTION_BAD || ++nulls > 1)
				goto lost;
			d->head++;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return 0;
		}
		if (d->head < d->nop)
			result(d, &d->op[d->head], res);
		else if (PQresultStatus(res) == PGRES_FATAL_ERROR)
			refuse(d, SM_TRANSIENT, NULL, "an unexpected result");
		PQclear(res);
		if (PQstatus(d->conn) == CONNECTION_BAD)
			goto lost;
	}
lost:
	{
		int n;
		const char *m = msg_of(PQerrorMessage(d->conn), &n);
		struct sm_buf why;

		sm_buf_init(&why);
		fail(d, &why, SM_TRANSIENT, "connection lost: %.*s", n, m);
		refuse(d, SM_TRANSIENT, NULL, why.data);
		sm_buf_free(&why);
	}
	return SM_TRANSIENT;
}

/* Starts a batch: reconnects when the connection was lost. */
static int
pg_begin(void *p, struct sm_buf *why)
{
	struct pg *d = p;
	int rc;

	batch_reset(d);
	if (PQstatus(d->conn) != CONNECTION_OK &&
	    (rc = connect_db(d, why)) != 0)
		return rc;
	if (PQenterPipelineMode(d->conn) != 1 ||
	    PQsendQueryParams(d->conn, "BEGIN", 0, NULL, NULL, NULL, NULL,
	    0) != 1) {
		rc = conn_fail(d, why, "cannot begin");
		if (PQpipelineStatus(d->conn) != PQ_PIPELINE_OFF)
			drain(d), PQexitPipelineMode(d->conn);
		return rc;
	}
	queue(d, OP_CMD, NULL);
	return 0;
}

static int
queue_stmt(struct pg *d, int stmt, const char *const *val, int kind,
    const struct sm_drec *r, struct sm_buf *why)
{
	if (PQpipelineStatus(d->conn) != PQ_PIPELINE_ON)
		return fail(d, why, SM_TRANSIENT, "no batch was begun");
	if (d->verdict == SM_TRANSIENT) {
		sm_buf_reset(why);
		sm_buf_adds(why, d->bad_why.data);
		return SM_TRANSIENT;
	}
	if (d->verdict != 0)	/* refused already: commit says so */
		return 0;
	if (PQsendQueryPrepared(d->conn, stmt_name[stmt], NPARAM, val, NULL,
	    NULL, 0) != 1) {
		refuse(d, SM_TRANSIENT, NULL, "cannot send");
		return conn_fail(d, why, "cannot send");
	}
	queue(d, kind, r->external_id);
	d->nrec++;
	if (d->unsynced >= DRAIN && drain(d) != 0) {
		sm_buf_reset(why);
		sm_buf_adds(why, d->bad_why.data);
		return SM_TRANSIENT;
	}
	return 0;
}

static int
pg_put(void *p, const struct sm_drec *r, struct sm_buf *why)
{
	struct pg *d = p;
	const char *val[NPARAM] = { NULL, NULL, NULL, NULL, NULL };
	int n = 0;

	/* Text parameters end with a NUL, which r->data may not have. */
	sm_buf_reset(&d->data);
	sm_buf_add(&d->data, r->data, r->len);
	val[n++] = r->external_id;
	val[n++] = d->data.data;
	val[n++] = r->hash;
	if (d->map != NULL)
		val[n++] = d->map;
	if (r->expect == NULL || !d->hashed)
		return queue_stmt(d, S_INS, val, OP_PUT, r, why);
	val[n++] = r->expect;
	return queue_stmt(d, S_UPD, val, OP_PUT, r, why);
}

static int
pg_del(void *p, const struct sm_drec *r, struct sm_buf *why)
{
	struct pg *d = p;
	const char *val[NPARAM] = { NULL, NULL, NULL, NULL, NULL };

	val[0] = r->external_id;
	val[1] = r->expect;
	val[2] = d->keycol;
	return queue_stmt(d, S_DEL, val, OP_DEL, r, why);
}

/* Leaves pipeline mode and ends the transaction, whatever its state. */
static void
end_batch(struct pg *d, const char *sql)
{
	PGresult *res;

	if (PQstatus(d->conn) != CONNECTION_OK)
		return;
	if (PQpipelineStatus(d->conn) != PQ_PIPELINE_OFF) {
		if (d->head < d->nop || d->unsynced > 0)
			drain(d);
		PQexitPipelineMode(d->conn);
	}
	if (sql != NULL && PQstatus(d->conn) == CONNECTION_OK &&
	    PQtransactionStatus(d->conn) != PQTRANS_IDLE) {
		res = PQexec(d->conn, sql);
		PQclear(res);
	}
}

static int
pg_commit(void *p, struct sm_buf *why)
{
	struct pg *d = p;
	PGresult *res;
	int rc;

	if (PQstatus(d->conn) != CONNECTION_OK)
		refuse(d, SM_TRANSIENT, NULL, "connection lost");
	else if (PQpipelineStatus(d->conn) != PQ_PIPELINE_ON)
		return fail(d, why, SM_TRANSIENT, "no batch was begun");
	else
		drain(d);
	if (d->verdict == 0) {
		PQexitPipelineMode(d->conn);
		res = PQexec(d->conn, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = res_fail(d, res, why);
			PQclear(res);
			end_batch(d, "ROLLBACK");
			return rc;
		}
		PQclear(res);
		batch_reset(d);
		return 0;
	}
	end_batch(d, "ROLLBACK");
	rc = d->verdict;
	if (d->bad_id != NULL && d->nrec > 1) {
		fail(d, why, rc == SM_TRANSIENT ? rc : SM_PERMANENT,
		    "the batch was refused: external_id '%s': %s", d->bad_id,
		    d->bad_why.data);
		if (rc != SM_TRANSIENT)
			rc = SM_PERMANENT;
	} else {
		sm_buf_reset(why);
		sm_buf_adds(why, d->bad_why.data);
	}
	batch_reset(d);
	return rc;
}

static void
pg_rollback(void *p)
{
	struct pg *d = p;

	end_batch(d, "ROLLBACK");
	batch_reset(d);
}

/*
 * Streams the table row by row (single-row mode: memory is one row's).
 * The hash is left NULL: the caller hashes the canonical form of data,
 * which a hand edit cannot fool.
 */
/* The rows a FETCH of the list's cursor reads at once (as text). */
#define LIST_FETCH	"FETCH 1000 FROM sm_list"
#define LIST_ROWS	1000
#define LIST_READ	32	/* rows imported between reads of the socket */

/* One statement of the list, its result checked: 0 or a verdict. */
static int
list_exec(struct pg *d, const char *sql, int nparams, const char *const *val,
    struct sm_buf *why)
{
	PGresult *res = PQexecParams(d->conn, sql, nparams, NULL, val, NULL,
	    NULL, 0);
	int rc;

	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		PQclear(res);
		return 0;
	}
	rc = res != NULL ? res_fail(d, res, why) : conn_fail(d, why,
	    "cannot list");
	PQclear(res);
	return rc;
}

/* The result of the FETCH sent, the connection ready for the next. */
static int
list_result(struct pg *d, PGresult **out, struct sm_buf *why)
{
	PGresult *res = PQgetResult(d->conn), *extra;
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = res != NULL ? res_fail(d, res, why) : conn_fail(d, why,
		    "cannot list");
	while ((extra = PQgetResult(d->conn)) != NULL)
		PQclear(extra);
	if (rc != 0) {
		PQclear(res);
		return rc;
	}
	*out = res;
	return 0;
}

/*
 * Every row of the table, through a cursor read LIST_ROWS at a time in a
 * read-only transaction: one result a thousand rows, where single-row
 * mode makes (and frees) one a row.  The next FETCH is sent before the
 * rows of one are passed on, so that the server reads while sm imports.
 */
static int
pg_list(void *p, int (*fn)(const struct sm_drec *r, void *arg), void *arg,
    struct sm_buf *why)
{
	struct pg *d = p;
	struct sm_drec r;
	struct sm_buf sql;
	const char *val[1];
	PGresult *res;
	int i, n, rc;

	if (PQstatus(d->conn) != CONNECTION_OK && connect_db(d, why) != 0)
		return SM_TRANSIENT;
	if (PQpipelineStatus(d->conn) != PQ_PIPELINE_OFF)
		return fail(d, why, SM_PERMANENT, "list during a batch");
	val[0] = d->map;
	sm_buf_init(&sql);
	sm_buf_addf(&sql, "DECLARE sm_list NO SCROLL CURSOR FOR %s",
	    d->list_sql);
	if ((rc = list_exec(d, "BEGIN READ ONLY", 0, NULL, why)) != 0 ||
	    (rc = list_exec(d, sql.data, d->list_map, val, why)) != 0) {
		sm_buf_free(&sql);
		PQclear(PQexec(d->conn, "ROLLBACK"));
		return rc;
	}
	sm_buf_free(&sql);
	if (PQsendQuery(d->conn, LIST_FETCH) != 1)
		rc = conn_fail(d, why, "cannot list");
	while (rc == 0) {
		if ((rc = list_result(d, &res, why)) != 0)
			break;
		/* The next rows are read while these are imported. */
		n = PQntuples(res);
		if (n == LIST_ROWS && PQsendQuery(d->conn, LIST_FETCH) != 1)
			rc = conn_fail(d, why, "cannot list");
		for (i = 0; rc == 0 && i < n; i++) {
			if (PQgetisnull(res, i, 0))
				continue;
			memset(&r, 0, sizeof(r));
			r.external_id = PQgetvalue(res, i, 0);
			r.data = PQgetisnull(res, i, 1) ? "null" :
			    PQgetvalue(res, i, 1);
			r.len = (size_t)PQgetlength(res, i, 1);
			if (PQgetisnull(res, i, 1))
				r.len = 4;
			rc = fn(&r, arg);
			/*
			 * The next rows taken off the socket as they come:
			 * its buffer holds a few dozen, and a server that
			 * cannot write them waits for sm to finish these.
			 */
			if (rc == 0 && n == LIST_ROWS && i % LIST_READ == 0 &&
			    PQconsumeInput(d->conn) != 1)
				rc = conn_fail(d, why, "cannot list");
		}
		PQclear(res);
		if (n < LIST_ROWS)
			break;
	}
	/* A FETCH sent and not read (the import stopped): read it off. */
	while (rc != 0 && (res = PQgetResult(d->conn)) != NULL)
		PQclear(res);
	/* Read only: the end of the transaction keeps or undoes nothing. */
	PQclear(PQexec(d->conn, "ROLLBACK"));
	return rc;
}

const struct sm_driver sm_driver_postgresql = {
	"postgresql", pg_check, pg_open, pg_begin, pg_put, pg_del, pg_commit,
	pg_rollback, pg_list, pg_close, NULL
};
