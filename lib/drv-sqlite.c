/* See LICENSE file for copyright and license details. */
/*
 * drv-sqlite.c: a table of an SQLite file as a target (url "sqlite:PATH",
 * SPEC §5.8).  By default the table is sm's own, created when missing:
 *
 *	external_id TEXT PRIMARY KEY, data TEXT, hash TEXT, updated_at TEXT
 *
 * or "columns" maps record fields onto the columns of an existing table,
 * {"FIELD": "COLUMN", ...}: FIELD a top-level field of the record, or one
 * of external_id (the key: required), @data (the whole record, canonical
 * JSON), @hash (sm's hash: without it nothing is compared before a write)
 * and @updated_at (the time of the write), as drv-pg.c's.
 *
 * A batch is one transaction (BEGIN IMMEDIATE ... COMMIT).  Before each
 * write the row's hash is compared with what was last delivered: a row
 * that holds something else was changed by hand, SM_CONFLICT, left alone.
 * SQLITE_BUSY, a read-only or unopenable file are transient; a
 * constraint or a type the column refuses is the record's fault.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"

#define BUSY_MS		1000

enum { C_KEY, C_DATA, C_HASH, C_TIME, C_FIELD };

struct col {
	int kind;
	char *field;		/* C_FIELD: the record's field */
	char *name;		/* the column */
};

struct drv {
	sqlite3 *db;
	char *table;
	struct col *cols;
	size_t ncols;
	int hashcol;		/* index of C_HASH, or -1 */
	int keycol;
	sqlite3_stmt *get, *put, *del;
	struct sm_buf sql;
};

static int
ident_ok(const char *s)
{
	const char *p;

	if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_'))
			return 0;
	return p - s <= 63;
}

static int
check(const struct sm_conn *c)
{
	const char *url = sm_conn_str(c, "url");
	const char *table = sm_conn_str(c, "table");
	jv cols, v;
	int it, rc = 0, haskey = 0;

	if (url == NULL || strncmp(url, "sqlite:", 7) != 0 || url[7] == '\0')
		return sm_error(SM_ECONFIG, "target '%s': invalid 'url': "
		    "expected sqlite:PATH", c->target);
	/* Before expansion a name may still be ${NAME}: checked at use. */
	if (table == NULL)
		return sm_error(SM_ECONFIG, "target '%s': a database "
		    "connection needs 'table'", c->target);
	if (!ident_ok(table) && strstr(table, "${") == NULL)
		return sm_error(SM_ECONFIG, "target '%s': invalid 'table' "
		    "'%s': expected a name of letters, digits and '_'",
		    c->target, table);
	cols = jv_object_get(jv_copy(c->config), jv_string("columns"));
	if (!jv_is_valid(cols) || jv_get_kind(cols) == JV_KIND_NULL) {
		jv_free(cols);
		return 0;
	}
	if (jv_get_kind(cols) != JV_KIND_OBJECT) {
		jv_free(cols);
		return sm_error(SM_ECONFIG, "target '%s': 'columns' must be an "
		    "object of record fields to column names", c->target);
	}
	for (it = jv_object_iter(cols); rc == 0 && jv_object_iter_valid(cols,
	    it); it = jv_object_iter_next(cols, it)) {
		jv k = jv_object_iter_key(cols, it);

		v = jv_object_iter_value(cols, it);
		if (strcmp(jv_string_value(k), "external_id") == 0)
			haskey = 1;
		if (jv_get_kind(v) != JV_KIND_STRING ||
		    !ident_ok(jv_string_value(v)))
			rc = sm_error(SM_ECONFIG, "target '%s': invalid "
			    "'columns' entry '%s': expected a column name of "
			    "letters, digits and '_'", c->target,
			    jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	jv_free(cols);
	if (rc == 0 && !haskey)
		rc = sm_error(SM_ECONFIG, "target '%s': 'columns' must map "
		    "external_id to the key column", c->target);
	return rc;
}

/* The verdict of an SQLite error, its message in why. */
static int
verdict(struct drv *d, int rc, struct sm_buf *why)
{
	sm_buf_reset(why);
	sm_buf_addf(why, "%s", sqlite3_errmsg(d->db));
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		return SM_PERMANENT;
	default:
		return SM_TRANSIENT;
	}
}

static void
add_col(struct drv *d, int kind, const char *field, const char *name)
{
	struct col *c;

	d->cols = sm_xrealloc(d->cols, (d->ncols + 1) * sizeof(*d->cols));
	c = &d->cols[d->ncols++];
	c->kind = kind;
	c->field = field != NULL ? sm_xstrdup(field) : NULL;
	c->name = sm_xstrdup(name);
	if (kind == C_HASH)
		d->hashcol = (int)d->ncols - 1;
	if (kind == C_KEY)
		d->keycol = (int)d->ncols - 1;
}

static int
prepare(struct drv *d, sqlite3_stmt **st, struct sm_buf *why)
{
	int rc = sqlite3_prepare_v2(d->db, d->sql.data, -1, st, NULL);

	if (rc != SQLITE_OK) {
		/* A table or column that is not there: the config's. */
		sm_buf_reset(why);
		sm_buf_addf(why, "%s", sqlite3_errmsg(d->db));
		return rc == SQLITE_BUSY ? SM_TRANSIENT :
		    sm_error(SM_ECONFIG, "table '%s': %s", d->table,
		    sqlite3_errmsg(d->db));
	}
	return 0;
}

/* The statements of the table: read a row's hash, upsert, delete. */
static int
statements(struct drv *d, struct sm_buf *why)
{
	const char *key = d->cols[d->keycol].name;
	size_t i;
	int rc, first = 1;

	sm_buf_reset(&d->sql);
	sm_buf_addf(&d->sql, "SELECT \"%s\" FROM \"%s\" WHERE \"%s\" = ?1",
	    d->hashcol >= 0 ? d->cols[d->hashcol].name : key, d->table, key);
	if ((rc = prepare(d, &d->get, why)) != 0)
		return rc;
	sm_buf_reset(&d->sql);
	sm_buf_addf(&d->sql, "INSERT INTO \"%s\" (", d->table);
	for (i = 0; i < d->ncols; i++)
		sm_buf_addf(&d->sql, "%s\"%s\"", i ? ", " : "", d->cols[i].name);
	sm_buf_adds(&d->sql, ") VALUES (");
	for (i = 0; i < d->ncols; i++)
		sm_buf_addf(&d->sql, "%s?%zu", i ? ", " : "", i + 1);
	sm_buf_addf(&d->sql, ") ON CONFLICT (\"%s\") DO UPDATE SET ", key);
	for (i = 0; i < d->ncols; i++)
		if ((int)i != d->keycol) {
			sm_buf_addf(&d->sql, "%s\"%s\" = excluded.\"%s\"",
			    first ? "" : ", ", d->cols[i].name,
			    d->cols[i].name);
			first = 0;
		}
	if (d->ncols == 1)
		sm_buf_addf(&d->sql, "\"%s\" = excluded.\"%s\"", key, key);
	if ((rc = prepare(d, &d->put, why)) != 0)
		return rc;
	sm_buf_reset(&d->sql);
	sm_buf_addf(&d->sql, "DELETE FROM \"%s\" WHERE \"%s\" = ?1", d->table,
	    key);
	return prepare(d, &d->del, why);
}

static void
close_drv(void *p)
{
	struct drv *d = p;
	size_t i;

	if (d == NULL)
		return;
	sqlite3_finalize(d->get);
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->del);
	if (d->db != NULL && !sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(d->db);
	for (i = 0; i < d->ncols; i++) {
		free(d->cols[i].field);
		free(d->cols[i].name);
	}
	free(d->cols);
	free(d->table);
	sm_buf_free(&d->sql);
	free(d);
}

static int
open_drv(void **out, const struct sm_conn *c, struct sm_buf *why)
{
	const char *path = sm_conn_str(c, "url") + 7;
	struct drv *d;
	jv cols;
	int it, rc;

	*out = NULL;
	d = sm_xcalloc(1, sizeof(*d));
	d->hashcol = -1;
	sm_buf_init(&d->sql);
	d->table = sm_xstrdup(sm_conn_str(c, "table"));
	if (!ident_ok(d->table)) {
		rc = sm_error(SM_ECONFIG, "target '%s': invalid 'table' '%s'",
		    c->target, d->table);
		close_drv(d);
		return rc;
	}
	cols = jv_object_get(jv_copy(c->config), jv_string("columns"));
	if (jv_get_kind(cols) == JV_KIND_OBJECT) {
		for (it = jv_object_iter(cols); jv_object_iter_valid(cols, it);
		    it = jv_object_iter_next(cols, it)) {
			jv k = jv_object_iter_key(cols, it);
			jv v = jv_object_iter_value(cols, it);
			const char *f = jv_string_value(k);

			add_col(d, strcmp(f, "external_id") == 0 ? C_KEY :
			    strcmp(f, "@data") == 0 ? C_DATA :
			    strcmp(f, "@hash") == 0 ? C_HASH :
			    strcmp(f, "@updated_at") == 0 ? C_TIME : C_FIELD,
			    f, jv_string_value(v));
			jv_free(k);
			jv_free(v);
		}
	} else {
		add_col(d, C_KEY, NULL, "external_id");
		add_col(d, C_DATA, NULL, "data");
		add_col(d, C_HASH, NULL, "hash");
		add_col(d, C_TIME, NULL, "updated_at");
	}
	jv_free(cols);
	rc = sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		sm_buf_reset(why);
		sm_buf_addf(why, "cannot open '%s': %s", path,
		    d->db ? sqlite3_errmsg(d->db) : "out of memory");
		close_drv(d);
		return SM_TRANSIENT;
	}
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, BUSY_MS);
	if (!jv_object_has(jv_copy(c->config), jv_string("columns"))) {
		sm_buf_reset(&d->sql);
		sm_buf_addf(&d->sql, "CREATE TABLE IF NOT EXISTS \"%s\" ("
		    "external_id TEXT PRIMARY KEY, data TEXT, hash TEXT, "
		    "updated_at TEXT)", d->table);
		if ((rc = sqlite3_exec(d->db, d->sql.data, NULL, NULL,
		    NULL)) != SQLITE_OK) {
			rc = verdict(d, rc, why);
			close_drv(d);
			return rc;
		}
	}
	if ((rc = statements(d, why)) != 0) {
		close_drv(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int
exec(struct drv *d, const char *sql, struct sm_buf *why)
{
	int rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : verdict(d, rc, why);
}

static int
begin(void *p, struct sm_buf *why)
{
	return exec(p, "BEGIN IMMEDIATE", why);
}

static int
commit(void *p, struct sm_buf *why)
{
	return exec(p, "COMMIT", why);
}

static void
rollback(void *p)
{
	struct drv *d = p;

	if (!sqlite3_get_autocommit(d->db))
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * Compare before write: 0 when the row holds what was last delivered
 * (expect; NULL: no compare), or already what is being written (want: a
 * delivery whose acknowledgement was lost); else SM_CONFLICT.
 */
static int
compare(struct drv *d, const struct sm_drec *r, const char *want,
    struct sm_buf *why)
{
	const char *h;
	int rc, out = 0;

	if (r->expect == NULL || d->hashcol < 0)
		return 0;
	sqlite3_bind_text(d->get, 1, r->external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(d->get);
	if (rc == SQLITE_ROW) {
		h = (const char *)sqlite3_column_text(d->get, 0);
		if (h == NULL || (strcmp(h, r->expect) != 0 &&
		    (want == NULL || strcmp(h, want) != 0))) {
			sm_buf_reset(why);
			sm_buf_addf(why, "the target holds another version "
			    "than the one last delivered");
			out = SM_CONFLICT;
		}
	} else if (rc == SQLITE_DONE) {
		/* Gone from the target: deleted by hand (a put). */
		if (want != NULL) {
			sm_buf_reset(why);
			sm_buf_addf(why, "the record was deleted on the "
			    "target");
			out = SM_CONFLICT;
		}
	} else
		out = verdict(d, rc, why);
	sqlite3_reset(d->get);
	sqlite3_clear_bindings(d->get);
	return out;
}

/* Binds a field of the record as the column's natural value. */
static void
bind_field(sqlite3_stmt *st, int i, jv rec, const char *field,
    struct sm_buf *tmp)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(field));
	double x;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		sqlite3_bind_text(st, i, jv_string_value(v), -1,
		    SQLITE_TRANSIENT);
		break;
	case JV_KIND_NUMBER:
		x = jv_number_value(v);
		if (x == (double)(int64_t)x && x > -9007199254740992.0 &&
		    x < 9007199254740992.0)
			sqlite3_bind_int64(st, i, (int64_t)x);
		else
			sqlite3_bind_double(st, i, x);
		break;
	case JV_KIND_TRUE:
		sqlite3_bind_int(st, i, 1);
		break;
	case JV_KIND_FALSE:
		sqlite3_bind_int(st, i, 0);
		break;
	case JV_KIND_OBJECT:
	case JV_KIND_ARRAY:
		sm_buf_reset(tmp);
		sm_canon(v, NULL, 0, tmp);
		sqlite3_bind_text(st, i, tmp->data, (int)tmp->len,
		    SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_bind_null(st, i);
	}
	jv_free(v);
}

static int
put(void *p, const struct sm_drec *r, struct sm_buf *why)
{
	struct drv *d = p;
	char now[SM_TIME_MAX];
	struct sm_buf tmp;
	jv rec = jv_null();
	size_t i;
	int rc;

	if ((rc = compare(d, r, r->hash, why)) != 0)
		return rc;
	sm_time_format(sm_now(), now);
	sm_buf_init(&tmp);
	for (i = 0; i < d->ncols; i++) {
		switch (d->cols[i].kind) {
		case C_KEY:
			sqlite3_bind_text(d->put, (int)i + 1, r->external_id,
			    -1, SQLITE_STATIC);
			break;
		case C_DATA:
			sqlite3_bind_text(d->put, (int)i + 1, r->data,
			    (int)r->len, SQLITE_STATIC);
			break;
		case C_HASH:
			sqlite3_bind_text(d->put, (int)i + 1, r->hash, -1,
			    SQLITE_STATIC);
			break;
		case C_TIME:
			sqlite3_bind_text(d->put, (int)i + 1, now, -1,
			    SQLITE_TRANSIENT);
			break;
		default:
			if (jv_get_kind(rec) == JV_KIND_NULL) {
				jv_free(rec);
				rec = jv_parse_sized(r->data, (int)r->len);
			}
			bind_field(d->put, (int)i + 1, rec, d->cols[i].field,
			    &tmp);
		}
	}
	jv_free(rec);
	sm_buf_free(&tmp);
	rc = sqlite3_step(d->put);
	rc = rc == SQLITE_DONE ? 0 : verdict(d, rc, why);
	sqlite3_reset(d->put);
	sqlite3_clear_bindings(d->put);
	return rc;
}

static int
del(void *p, const struct sm_drec *r, struct sm_buf *why)
{
	struct drv *d = p;
	int rc;

	if ((rc = compare(d, r, NULL, why)) != 0)
		return rc;
	sqlite3_bind_text(d->del, 1, r->external_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(d->del);
	rc = rc == SQLITE_DONE ? 0 : verdict(d, rc, why);
	sqlite3_reset(d->del);
	return rc;
}

/* A row as a record: its data column, or an object of the mapped fields. */
static int
list(void *p, int (*fn)(const struct sm_drec *, void *), void *arg,
    struct sm_buf *why)
{
	struct drv *d = p;
	struct sm_buf out;
	sqlite3_stmt *st;
	struct sm_drec r;
	size_t i;
	int rc, stop = 0, datacol = -1;
	jv rec;

	sm_buf_reset(&d->sql);
	sm_buf_adds(&d->sql, "SELECT ");
	for (i = 0; i < d->ncols; i++) {
		sm_buf_addf(&d->sql, "%s\"%s\"", i ? ", " : "", d->cols[i].name);
		if (d->cols[i].kind == C_DATA)
			datacol = (int)i;
	}
	sm_buf_addf(&d->sql, " FROM \"%s\" ORDER BY \"%s\"", d->table,
	    d->cols[d->keycol].name);
	if ((rc = prepare(d, &st, why)) != 0)
		return rc;
	sm_buf_init(&out);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.external_id = (const char *)sqlite3_column_text(st,
		    d->keycol);
		if (r.external_id == NULL)
			continue;
		if (datacol >= 0) {
			r.data = (const char *)sqlite3_column_text(st,
			    datacol);
			r.len = (size_t)sqlite3_column_bytes(st, datacol);
		} else {
			rec = jv_object();
			for (i = 0; i < d->ncols; i++) {
				const char *t;
				jv v;

				if (d->cols[i].kind != C_FIELD &&
				    d->cols[i].kind != C_KEY)
					continue;
				switch (sqlite3_column_type(st, (int)i)) {
				case SQLITE_INTEGER:
					v = jv_number((double)
					    sqlite3_column_int64(st, (int)i));
					break;
				case SQLITE_FLOAT:
					v = jv_number(sqlite3_column_double(st,
					    (int)i));
					break;
				case SQLITE_NULL:
					v = jv_null();
					break;
				default:
					t = (const char *)
					    sqlite3_column_text(st, (int)i);
					v = jv_string(t != NULL ? t : "");
				}
				rec = jv_object_set(rec, jv_string(
				    d->cols[i].kind == C_KEY ? "external_id" :
				    d->cols[i].field), v);
			}
			sm_buf_reset(&out);
			sm_canon(rec, NULL, 0, &out);
			jv_free(rec);
			r.data = out.data;
			r.len = out.len;
		}
		if (r.data == NULL)
			continue;
		if ((stop = fn(&r, arg)) != 0)
			break;
	}
	if (stop != 0)
		rc = stop;
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = verdict(d, rc, why);
	sqlite3_finalize(st);
	sm_buf_free(&out);
	return rc;
}

const struct sm_driver sm_driver_sqlite = {
	"sqlite",
	check,
	open_drv,
	begin,
	put,
	del,
	commit,
	rollback,
	list,
	close_drv,
	NULL
};
