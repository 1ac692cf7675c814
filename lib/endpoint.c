/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

static const char *const source_types[] = {
	"json", "scraped", "manual", "api", NULL
};
static const char *const target_types[] = {
	"website", "database", "api", "cms", "file", NULL
};

static const char *
side_name(enum sm_side side)
{
	return side == SM_SOURCE ? "source" : "target";
}

void
sm_endpoint_free(struct sm_endpoint *e)
{
	free(e->name);
	free(e->type);
	free(e->config);
	free(e->map);
	free(e->id_field);
	sm_strv_free(e->hash_ignore);
	memset(e, 0, sizeof(*e));
}

static char *
col_dup(sqlite3_stmt *stmt, int i)
{
	const unsigned char *s = sqlite3_column_text(stmt, i);

	return s != NULL ? sm_xstrdup((const char *)s) : NULL;
}

/* Parses the stored JSON array of hash_ignore (written by us, trusted). */
static char **
ignore_from_json(const char *json, size_t *n)
{
	char **v;
	jv arr;
	int i, len;
	size_t k = 0;

	arr = jv_parse(json != NULL ? json : "[]");
	len = jv_get_kind(arr) == JV_KIND_ARRAY ? jv_array_length(jv_copy(arr))
	    : 0;
	v = sm_xcalloc((size_t)len + 1, sizeof(*v));
	for (i = 0; i < len; i++) {
		jv s = jv_array_get(jv_copy(arr), i);

		if (jv_get_kind(s) == JV_KIND_STRING)
			v[k++] = sm_xstrdup(jv_string_value(s));
		jv_free(s);
	}
	jv_free(arr);
	*n = k;
	return v;
}

static void
ignore_to_json(char *const *v, struct sm_buf *b)
{
	size_t i;

	sm_buf_reset(b);
	sm_buf_addc(b, '[');
	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if (i > 0)
			sm_buf_addc(b, ',');
		sm_buf_add_jstr(b, v[i], strlen(v[i]));
	}
	sm_buf_addc(b, ']');
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void
fill(sqlite3_stmt *stmt, enum sm_side side, struct sm_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->side = side;
	e->id = sqlite3_column_int64(stmt, 0);
	e->name = col_dup(stmt, 1);
	e->type = col_dup(stmt, 2);
	e->config = col_dup(stmt, 3);
	e->created_at = sqlite3_column_int64(stmt, 4);
	e->updated_at = sqlite3_column_int64(stmt, 5);
	if (side == SM_SOURCE) {
		e->map = col_dup(stmt, 6);
		e->id_field = col_dup(stmt, 7);
		e->hash_ignore = ignore_from_json(
		    (const char *)sqlite3_column_text(stmt, 8),
		    &e->nhash_ignore);
	} else
		e->hash_ignore = sm_xcalloc(1, sizeof(char *));
}

#define SOURCE_COLS "id, name, type, config, created_at, updated_at, map, " \
	"id_field, hash_ignore FROM sources"
#define TARGET_COLS "id, name, type, config, created_at, updated_at FROM targets"

int
sm_endpoint_get(struct sm_db *db, enum sm_side side, const char *ref,
    struct sm_endpoint *e)
{
	sqlite3_stmt *stmt;
	int byid = all_digits(ref), rc;

	if (side == SM_SOURCE)
		stmt = sm_db_stmt(db, byid ?
		    "SELECT " SOURCE_COLS " WHERE id = ?" :
		    "SELECT " SOURCE_COLS " WHERE name = ?");
	else
		stmt = sm_db_stmt(db, byid ?
		    "SELECT " TARGET_COLS " WHERE id = ?" :
		    "SELECT " TARGET_COLS " WHERE name = ?");
	if (stmt == NULL)
		return sm_errcode();
	if (byid)
		sqlite3_bind_int64(stmt, 1, strtoll(ref, NULL, 10));
	else
		sqlite3_bind_text(stmt, 1, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		fill(stmt, side, e);
		sqlite3_reset(stmt);
		return 0;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot read");
	return sm_error(SM_ENOENT, "no %s '%s' in tenant '%s'",
	    side_name(side), ref, sm_db_slug(db));
}

static int
check_fields(struct sm_endpoint *e)
{
	const char *const *types = e->side == SM_SOURCE ? source_types :
	    target_types;
	struct sm_json_err jerr;
	struct sm_buf canon;
	char *why;
	struct sm_map *map;
	const char *p;
	size_t i;
	jv v;
	int rc;

	if (e->name == NULL || e->name[0] == '\0')
		return sm_error(SM_EUSAGE, "a %s needs a name",
		    side_name(e->side));
	for (p = e->name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			return sm_error(SM_EUSAGE, "invalid %s name: control "
			    "characters are not allowed", side_name(e->side));
	if (all_digits(e->name))
		return sm_error(SM_EUSAGE, "invalid %s name '%s': all digits "
		    "would read as an id", side_name(e->side), e->name);
	for (i = 0; types[i] != NULL; i++)
		if (e->type != NULL && strcmp(e->type, types[i]) == 0)
			break;
	if (types[i] == NULL) {
		struct sm_buf list;

		sm_buf_init(&list);
		for (i = 0; types[i] != NULL; i++)
			sm_buf_addf(&list, "%s%s", i ? ", " : "", types[i]);
		rc = sm_error(SM_EUSAGE, "invalid %s type '%s': expected one "
		    "of %s", side_name(e->side), e->type ? e->type : "",
		    list.data);
		sm_buf_free(&list);
		return rc;
	}
	if (e->config == NULL)
		e->config = sm_xstrdup("{}");
	if (sm_json_parse(e->config, strlen(e->config), &v, &jerr) != 0)
		return sm_error(SM_EUSAGE, "invalid {config}: %s", jerr.reason);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return sm_error(SM_EUSAGE, "invalid {config}: not a JSON "
		    "object");
	}
	sm_buf_init(&canon);
	rc = sm_canon(v, NULL, 0, &canon);
	jv_free(v);
	if (rc != 0) {
		sm_buf_free(&canon);
		/* The reason is copied: sm_error writes where it is. */
		why = sm_xstrdup(sm_errmsg());
		rc = sm_error(SM_EUSAGE, "invalid {config}: %s", why);
		free(why);
		return rc;
	}
	free(e->config);
	e->config = canon.data;
	if (e->map != NULL && e->map[0] == '\0') {
		free(e->map);
		e->map = NULL;
	}
	if (e->id_field != NULL && e->id_field[0] == '\0') {
		free(e->id_field);
		e->id_field = NULL;
	}
	if (e->map != NULL) {
		if ((rc = sm_map_new(&map, e->map)) != 0)
			return rc;
		sm_map_free(map);
	}
	/* A target's connection is checked where it is written (conn.c). */
	if (e->side == SM_TARGET)
		return sm_conn_check_stored(e);
	return 0;
}

static int
write_row(struct sm_db *db, struct sm_endpoint *e, int insert)
{
	sqlite3_stmt *stmt;
	struct sm_buf ignore;
	int rc;

	if ((rc = check_fields(e)) != 0)
		return rc;
	e->updated_at = sm_now();
	if (insert)
		e->created_at = e->updated_at;
	if (e->side == SM_SOURCE)
		stmt = sm_db_stmt(db, insert ?
		    "INSERT INTO sources (name, type, config, created_at, "
		    "updated_at, map, id_field, hash_ignore) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)" :
		    "UPDATE sources SET name = ?, type = ?, config = ?, "
		    "created_at = ?, updated_at = ?, map = ?, id_field = ?, "
		    "hash_ignore = ? WHERE id = ?");
	else
		stmt = sm_db_stmt(db, insert ?
		    "INSERT INTO targets (name, type, config, created_at, "
		    "updated_at) VALUES (?, ?, ?, ?, ?)" :
		    "UPDATE targets SET name = ?, type = ?, config = ?, "
		    "created_at = ?, updated_at = ? WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sm_buf_init(&ignore);
	sqlite3_bind_text(stmt, 1, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, e->config, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, e->created_at);
	sqlite3_bind_int64(stmt, 5, e->updated_at);
	if (e->side == SM_SOURCE) {
		ignore_to_json(e->hash_ignore, &ignore);
		sqlite3_bind_text(stmt, 6, e->map, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 7, e->id_field, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 8, ignore.data, -1, SQLITE_STATIC);
		if (!insert)
			sqlite3_bind_int64(stmt, 9, e->id);
	} else if (!insert)
		sqlite3_bind_int64(stmt, 6, e->id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sm_buf_free(&ignore);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return sm_error(SM_EEXIST, "%s '%s' exists already",
		    side_name(e->side), e->name);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot write");
	if (insert)
		e->id = sqlite3_last_insert_rowid(sm_db_handle(db));
	return 0;
}

int
sm_endpoint_add(struct sm_db *db, struct sm_endpoint *e)
{
	return write_row(db, e, 1);
}

int
sm_endpoint_update(struct sm_db *db, struct sm_endpoint *e)
{
	return write_row(db, e, 0);
}

int
sm_endpoint_remove(struct sm_db *db, enum sm_side side, int64_t id)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, side == SM_SOURCE ?
	    "DELETE FROM sources WHERE id = ?" :
	    "DELETE FROM targets WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot remove");
	if (sqlite3_changes(sm_db_handle(db)) == 0)
		return sm_error(SM_ENOENT, "no %s %lld", side_name(side),
		    (long long)id);
	return 0;
}

/* A count for the description; -1 when it cannot be read. */
static int64_t
count_props(struct sm_db *db, const struct sm_endpoint *e, int manual)
{
	int64_t n;

	return sm_prop_count(db, e->side, e->id, manual, &n) == 0 ? n : -1;
}

int
sm_endpoint_describe(struct sm_db *db, const struct sm_endpoint *e,
    struct sm_buf *b)
{
	struct sm_buf ignore;

	sm_jw_begin(b);
	sm_jw_int(b, "id", e->id);
	sm_jw_str(b, "name", e->name);
	sm_jw_str(b, "type", e->type);
	sm_jw_raw(b, "config", e->config);
	if (e->side == SM_SOURCE) {
		sm_buf_init(&ignore);
		ignore_to_json(e->hash_ignore, &ignore);
		sm_jw_str(b, "map", e->map);
		sm_jw_str(b, "id_field", e->id_field);
		sm_jw_raw(b, "hash_ignore", ignore.data);
		sm_buf_free(&ignore);
	}
	sm_jw_int(b, "properties", count_props(db, e, 0));
	if (e->side == SM_TARGET)
		sm_jw_int(b, "manual_changes", count_props(db, e, 1));
	sm_jw_time(b, "created_at", e->created_at);
	sm_jw_time(b, "updated_at", e->updated_at);
	sm_jw_end(b);
	return 0;
}

int
sm_endpoint_each(struct sm_db *db, enum sm_side side,
    int (*fn)(struct sm_endpoint *, void *), void *arg)
{
	struct sm_endpoint *v = NULL, e;
	sqlite3_stmt *stmt;
	size_t n = 0, cap = 0, i;
	int rc;

	stmt = sm_db_stmt(db, side == SM_SOURCE ?
	    "SELECT " SOURCE_COLS " ORDER BY id" :
	    "SELECT " TARGET_COLS " ORDER BY id");
	if (stmt == NULL)
		return sm_errcode();
	/* Collected first: fn may run statements of its own. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		fill(stmt, side, &e);
		if (n == cap)
			v = sm_xrealloc(v, (cap = cap ? 2 * cap : 8) *
			    sizeof(*v));
		v[n++] = e;
	}
	sqlite3_reset(stmt);
	rc = rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, "cannot read");
	for (i = 0; i < n; i++) {
		if (rc == 0)
			rc = fn(&v[i], arg);
		sm_endpoint_free(&v[i]);
	}
	free(v);
	return rc;
}

/* A front end's view of sm_outbox_status(), which is lib's own. */
int
sm_endpoint_outbox(struct sm_db *db, int64_t id, int64_t *pending,
    int64_t *held, int64_t *failed, int64_t *oldest_pending)
{
	struct sm_outbox_status st;
	int rc;

	if ((rc = sm_outbox_status(db, id, &st)) != 0)
		return rc;
	*pending = st.pending;
	*held = st.held;
	*failed = st.failed;
	*oldest_pending = st.oldest_pending;
	return 0;
}
