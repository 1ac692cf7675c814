/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"

/*
 * What differs, field by field (SPEC §5.4).  Every mode comes down to a
 * pair (old, new) of versions of one property, either of which may be
 * absent, printed as one record with the RFC 6902 operations that turn
 * old into new:
 *
 *	old	new	op	changes
 *	absent	absent	-	(nothing printed)
 *	absent	data	create	[{"op":"add","path":"","value":new}]
 *	data	absent	delete	[{"op":"remove","path":"","from":old}]
 *	data	data	update	field by field; nothing printed when equal
 *
 * Source against target is the exception: the op is the one sync would
 * take (sm_sync_decide, so that diff says exactly what sync would do),
 * old is the target's current data and new the source's, and a property
 * is printed whenever sync would act or refuse to, equal or not.
 *
 * Nothing here writes: each mode reads inside one read transaction, so
 * that it sees one consistent state of the tenant file.
 */

/* The state of one sm_diff_json() call. */
struct jdiff {
	struct sm_buf path;	/* JSON Pointer of the values compared */
	struct sm_buf *out;
	int n;			/* operations written */
};

/* The state of one diff run. */
struct differ {
	struct sm_db *db;
	const struct sm_diff_opts *o;
	struct sm_diff_stats *st;
	struct sm_buf line, changes, ids, msg;
	int64_t source_id;	/* sm_diff_sync */
	int64_t since;		/* sm_diff_since */
};

/* A key of an object, for sorting. */
struct okey {
	jv key;
	const char *s;
	size_t len;
};

static int jvalue(struct jdiff *, jv, jv);

/* Appends one RFC 6901 reference token to the path; returns the old length. */
static size_t
path_push(struct sm_buf *path, const char *s, size_t len)
{
	size_t old = path->len, i;

	sm_buf_addc(path, '/');
	for (i = 0; i < len; i++) {
		if (s[i] == '~')
			sm_buf_add(path, "~0", 2);
		else if (s[i] == '/')
			sm_buf_add(path, "~1", 2);
		else
			sm_buf_addc(path, s[i]);
	}
	return old;
}

static size_t
path_push_index(struct sm_buf *path, int i)
{
	size_t old = path->len;

	sm_buf_addf(path, "/%d", i);
	return old;
}

static void
path_pop(struct sm_buf *path, size_t len)
{
	path->len = len;
	path->data[len] = '\0';
}

/* Writes one operation; from and value are left out when invalid. */
static int
jop(struct jdiff *d, const char *op, jv from, jv value)
{
	int rc;

	if (d->n++ > 0)
		sm_buf_addc(d->out, ',');
	sm_buf_adds(d->out, "{\"op\":");
	sm_buf_add_jstr(d->out, op, strlen(op));
	sm_buf_adds(d->out, ",\"path\":");
	sm_buf_add_jstr(d->out, d->path.data, d->path.len);
	if (jv_is_valid(from)) {
		sm_buf_adds(d->out, ",\"from\":");
		if ((rc = sm_canon(from, NULL, 0, d->out)) != 0)
			return rc;
	}
	if (jv_is_valid(value)) {
		sm_buf_adds(d->out, ",\"value\":");
		if ((rc = sm_canon(value, NULL, 0, d->out)) != 0)
			return rc;
	}
	sm_buf_addc(d->out, '}');
	return 0;
}

static int
okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r;

	if ((r = memcmp(x->s, y->s, n)) != 0)
		return r;
	return (x->len > y->len) - (x->len < y->len);
}

/* The keys of object v (borrowed) sorted by their bytes; see keys_free. */
static struct okey *
keys_sorted(jv v, size_t *n)
{
	struct okey *k;
	size_t i = 0;
	int it;

	*n = (size_t)jv_object_length(jv_copy(v));
	k = sm_xcalloc(*n + 1, sizeof(*k));
	for (it = jv_object_iter(v); jv_object_iter_valid(v, it);
	    it = jv_object_iter_next(v, it)) {
		k[i].key = jv_object_iter_key(v, it);
		k[i].s = jv_string_value(k[i].key);
		k[i].len = (size_t)jv_string_length_bytes(jv_copy(k[i].key));
		i++;
	}
	*n = i;
	qsort(k, *n, sizeof(*k), okey_cmp);
	return k;
}

static void
keys_free(struct okey *k, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		jv_free(k[i].key);
	free(k);
}

/* Objects a and b (borrowed): their keys merged in sorted order. */
static int
jobject(struct jdiff *d, jv a, jv b)
{
	struct okey *ka, *kb;
	size_t na, nb, i = 0, j = 0, saved;
	jv x, y;
	int c, rc = 0;

	ka = keys_sorted(a, &na);
	kb = keys_sorted(b, &nb);
	while (rc == 0 && (i < na || j < nb)) {
		if (i == na)
			c = 1;
		else if (j == nb)
			c = -1;
		else
			c = okey_cmp(&ka[i], &kb[j]);
		if (c < 0) {
			saved = path_push(&d->path, ka[i].s, ka[i].len);
			x = jv_object_get(jv_copy(a), jv_copy(ka[i].key));
			rc = jop(d, "remove", x, jv_invalid());
			jv_free(x);
			i++;
		} else if (c > 0) {
			saved = path_push(&d->path, kb[j].s, kb[j].len);
			y = jv_object_get(jv_copy(b), jv_copy(kb[j].key));
			rc = jop(d, "add", jv_invalid(), y);
			jv_free(y);
			j++;
		} else {
			saved = path_push(&d->path, ka[i].s, ka[i].len);
			x = jv_object_get(jv_copy(a), jv_copy(ka[i].key));
			y = jv_object_get(jv_copy(b), jv_copy(kb[j].key));
			rc = jvalue(d, x, y);
			jv_free(x);
			jv_free(y);
			i++;
			j++;
		}
		path_pop(&d->path, saved);
	}
	keys_free(ka, na);
	keys_free(kb, nb);
	return rc;
}

/*
 * Arrays a and b (borrowed), element by element by index; then the new
 * elements added at the end, or the surplus removed from the highest index
 * down, so that the operations apply in order.
 */
static int
jarray(struct jdiff *d, jv a, jv b)
{
	int na = jv_array_length(jv_copy(a)), nb = jv_array_length(jv_copy(b));
	int i, rc = 0;
	size_t saved;
	jv x, y;

	for (i = 0; rc == 0 && i < na && i < nb; i++) {
		saved = path_push_index(&d->path, i);
		x = jv_array_get(jv_copy(a), i);
		y = jv_array_get(jv_copy(b), i);
		rc = jvalue(d, x, y);
		jv_free(x);
		jv_free(y);
		path_pop(&d->path, saved);
	}
	for (i = na; rc == 0 && i < nb; i++) {
		saved = path_push_index(&d->path, i);
		y = jv_array_get(jv_copy(b), i);
		rc = jop(d, "add", jv_invalid(), y);
		jv_free(y);
		path_pop(&d->path, saved);
	}
	for (i = na - 1; rc == 0 && i >= nb; i--) {
		saved = path_push_index(&d->path, i);
		x = jv_array_get(jv_copy(a), i);
		rc = jop(d, "remove", x, jv_invalid());
		jv_free(x);
		path_pop(&d->path, saved);
	}
	return rc;
}

/* Any two values (borrowed) at the current path. */
static int
jvalue(struct jdiff *d, jv a, jv b)
{
	jv_kind ka = jv_get_kind(a), kb = jv_get_kind(b);

	if (ka == JV_KIND_OBJECT && kb == JV_KIND_OBJECT)
		return jobject(d, a, b);
	if (ka == JV_KIND_ARRAY && kb == JV_KIND_ARRAY)
		return jarray(d, a, b);
	if (ka == kb && jv_equal(jv_copy(a), jv_copy(b)))
		return 0;
	return jop(d, "replace", a, b);
}

int
sm_diff_json(jv old, jv new, struct sm_buf *out)
{
	struct jdiff d;
	int rc;

	d.out = out;
	d.n = 0;
	sm_buf_init(&d.path);
	sm_buf_add(&d.path, "", 0);
	sm_buf_addc(out, '[');
	if (!jv_is_valid(old) && !jv_is_valid(new))
		rc = 0;
	else if (!jv_is_valid(old))
		rc = jop(&d, "add", jv_invalid(), new);
	else if (!jv_is_valid(new))
		rc = jop(&d, "remove", old, jv_invalid());
	else
		rc = jvalue(&d, old, new);
	sm_buf_addc(out, ']');
	sm_buf_free(&d.path);
	return rc != 0 ? rc : d.n;
}

/*
 * Parses stored canonical data (text NULL: absent) into *v; an absent
 * version is jv_invalid().
 */
static int
parse_stored(const char *text, size_t len, const char *ext, jv *v)
{
	if (text == NULL) {
		*v = jv_invalid();
		return 0;
	}
	*v = jv_parse_sized(text, (int)len);
	if (!jv_is_valid(*v)) {
		jv_free(*v);
		*v = jv_invalid();
		return sm_error(SM_EDATA, "stored property '%s' does not "
		    "parse: the tenant file is damaged (sm-tenant check)", ext);
	}
	return 0;
}

/* The record of one property in df->line, its changes in df->changes. */
static void
line(struct differ *df, const char *ext, const char *op, const char *warning)
{
	sm_jw_begin(&df->line);
	sm_jw_str(&df->line, "external_id", ext);
	sm_jw_str(&df->line, "op", op);
	if (warning != NULL)
		sm_jw_str(&df->line, "warning", warning);
	sm_jw_raw(&df->line, "changes", df->changes.data);
	sm_jw_end(&df->line);
}

/*
 * Builds in df->line the record of one property: op (NULL: from the
 * versions, and nothing when they are equal), warning (or NULL) and the
 * changes from old to new.  Consumes old and new.  Returns 1 when there
 * is a record, 0 when not, or an error.
 */
static int
build(struct differ *df, const char *ext, const char *op,
    const char *warning, jv old, jv new)
{
	int n;

	sm_buf_reset(&df->changes);
	n = sm_diff_json(old, new, &df->changes);
	if (op == NULL && n > 0)
		op = !jv_is_valid(old) ? "create" : !jv_is_valid(new) ?
		    "delete" : "update";
	jv_free(old);
	jv_free(new);
	if (n < 0)
		return sm_error(n, "cannot print property '%s'", ext);
	if (op == NULL)
		return 0;
	line(df, ext, op, warning);
	return 1;
}

/* Prints the record of one property, as build() builds it. */
static int
emit(struct differ *df, const char *ext, const char *op, const char *warning,
    jv old, jv new)
{
	int rc;

	if ((rc = build(df, ext, op, warning, old, new)) <= 0)
		return rc;
	if ((rc = sm_jw_put(&df->line, df->o->out)) != 0)
		return rc;
	df->st->differ++;
	return 0;
}

/* Prints the record of a pair of stored versions (NULL: absent). */
static int
emit_stored(struct differ *df, const char *ext, const char *op,
    const char *warning, const char *old, size_t oldlen, const char *new,
    size_t newlen)
{
	jv a, b;
	int rc;

	if ((rc = parse_stored(old, oldlen, ext, &a)) != 0)
		return rc;
	if ((rc = parse_stored(new, newlen, ext, &b)) != 0) {
		jv_free(a);
		return rc;
	}
	return emit(df, ext, op, warning, a, b);
}

static void
differ_init(struct differ *df, struct sm_db *db, const struct sm_diff_opts *o,
    struct sm_diff_stats *st)
{
	memset(df, 0, sizeof(*df));
	memset(st, 0, sizeof(*st));
	df->db = db;
	df->o = o;
	df->st = st;
	sm_buf_init(&df->line);
	sm_buf_init(&df->changes);
	sm_buf_init(&df->ids);
	sm_buf_init(&df->msg);
}

static void
differ_free(struct differ *df)
{
	sm_buf_free(&df->line);
	sm_buf_free(&df->changes);
	sm_buf_free(&df->ids);
	sm_buf_free(&df->msg);
}

/* The --id list as a JSON array for json_each(), or NULL for all. */
static const char *
ids_json(struct differ *df)
{
	size_t i;

	if (df->o->ids == NULL || df->o->ids[0] == NULL)
		return NULL;
	sm_buf_reset(&df->ids);
	sm_buf_addc(&df->ids, '[');
	for (i = 0; df->o->ids[i] != NULL; i++) {
		if (i > 0)
			sm_buf_addc(&df->ids, ',');
		sm_buf_add_jstr(&df->ids, df->o->ids[i],
		    strlen(df->o->ids[i]));
	}
	sm_buf_addc(&df->ids, ']');
	return df->ids.data;
}

static int
wanted(const struct differ *df, const char *key)
{
	size_t i;

	if (df->o->ids == NULL || df->o->ids[0] == NULL)
		return 1;
	for (i = 0; df->o->ids[i] != NULL; i++)
		if (strcmp(df->o->ids[i], key) == 0)
			return 1;
	return 0;
}

/* One read transaction around a mode, for a consistent view. */
static int
read_begin(struct differ *df)
{
	return sm_db_exec(df->db, "BEGIN");
}

static int
read_end(struct differ *df, int rc)
{
	sm_db_rollback(df->db);
	return rc;
}

/* One source property and its target row, as sync.c's sync_one sees it. */
static int
pair_one(const struct sm_prop_pair *p, void *arg)
{
	struct differ *df = arg;
	struct sm_sync_case c;
	enum sm_sync_op op;
	const char *sdata = NULL, *tdata = NULL;
	size_t slen = 0, tlen = 0;

	df->st->examined++;
	memset(&c, 0, sizeof(c));
	c.source_deleted = p->source_deleted;
	c.source_hash = p->source_hash;
	c.source_id = df->source_id;
	c.target_exists = p->target_exists;
	c.target_deleted = p->target_deleted;
	c.target_hash = p->target_hash;
	c.synced_hash = p->synced_hash;
	c.taken_hash = p->taken_hash;
	c.target_source_id = p->target_source_id;
	c.overwrite_manual = df->o->overwrite_manual;
	c.accept_manual = df->o->accept_manual;
	op = sm_sync_decide(&c);
	if (sm_sync_op_name(op) == NULL)
		return 0;
	if (!c.source_deleted) {
		sdata = p->source_data;
		slen = p->source_len;
	}
	if (c.target_exists && !c.target_deleted) {
		tdata = p->target_data;
		tlen = p->target_len;
	}
	return emit_stored(df, p->external_id, sm_sync_op_name(op),
	    sm_sync_op_warning(op), tdata, tlen, sdata, slen);
}

int
sm_diff_sync(struct sm_db *db, const struct sm_endpoint *source,
    const struct sm_endpoint *target, const struct sm_diff_opts *o,
    struct sm_diff_stats *st)
{
	struct differ df;
	int rc;

	differ_init(&df, db, o, st);
	if (o->overwrite_manual && o->accept_manual) {
		differ_free(&df);
		return sm_error(SM_EUSAGE, "{overwrite_manual} and "
		    "{accept_manual} exclude each other");
	}
	if ((rc = sm_db_cache(db, SM_CACHE_KEYS_MIB)) != 0 ||
	    (rc = read_begin(&df)) != 0) {
		differ_free(&df);
		return rc;
	}
	df.source_id = source->id;
	rc = sm_prop_pairs(db, source->id, target->id, ids_json(&df), pair_one,
	    &df);
	rc = read_end(&df, rc);
	differ_free(&df);
	return rc;
}

/*
 * The keys an input has named, in the order first named, each with the
 * record importing would print for it (line NULL: none).  sm_import()
 * decides a key named twice as if only the later record had been there,
 * with one event at the place of the first, so the records are printed
 * only once the input has been read.  An open-addressing index maps a key
 * to its entry.
 */
struct pending {
	char *key;
	char *line;
};

struct pendings {
	struct pending *v;
	size_t n, cap;
	size_t *index;		/* entry + 1; 0: free slot */
	size_t icap;
};

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The index slot of key: its entry's, or the free one it would take. */
static size_t *
pending_slot(struct pendings *t, const char *key, size_t n)
{
	size_t i = (size_t)fnv1a(key, n) & (t->icap - 1);

	while (t->index[i] != 0 && strcmp(t->v[t->index[i] - 1].key, key) != 0)
		i = (i + 1) & (t->icap - 1);
	return &t->index[i];
}

/* The entry of key, created (line NULL) when new; *dup says which. */
static struct pending *
pending_get(struct pendings *t, const char *key, size_t n, int *dup)
{
	size_t *slot, i;

	if (2 * (t->n + 1) > t->icap) {
		free(t->index);
		t->icap = t->icap ? 2 * t->icap : 1024;
		t->index = sm_xcalloc(t->icap, sizeof(*t->index));
		for (i = 0; i < t->n; i++)
			*pending_slot(t, t->v[i].key, strlen(t->v[i].key)) =
			    i + 1;
	}
	slot = pending_slot(t, key, n);
	if ((*dup = *slot != 0))
		return &t->v[*slot - 1];
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->v = sm_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n].key = sm_xstrndup(key, n);
	t->v[t->n].line = NULL;
	*slot = ++t->n;
	return &t->v[t->n - 1];
}

static void
pendings_free(struct pendings *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].key);
		free(t->v[i].line);
	}
	free(t->v);
	free(t->index);
}

/* The state of sm_diff_input(): the callbacks of the record loop. */
struct indiff {
	struct differ df;
	const struct sm_endpoint *e;
	struct pendings pend;
	struct sm_prop row;
};

/* A record refused: counted (unless the map failed on it), reported. */
static int
in_reject(const struct sm_reject *j, void *arg)
{
	struct indiff *in = arg;

	if (j->code != SM_REJECT_MAP)
		in->df.st->examined++;
	in->df.st->rejected++;
	return in->df.o->reject(j, in->df.o->arg);
}

/*
 * One record, decided as import decides it (sm_import_decide) against
 * the stored row, a later record of a key replacing the earlier.
 */
static int
in_record(const struct sm_record *rec, void *arg)
{
	struct indiff *in = arg;
	struct sm_import_case c;
	struct sm_warning w;
	struct pending *p;
	const char *op;
	jv old, new;
	int rc, dup;

	in->df.st->examined++;
	if (!wanted(&in->df, rec->key))
		return 0;
	p = pending_get(&in->pend, rec->key, rec->keylen, &dup);
	if (dup) {
		sm_buf_reset(&in->df.msg);
		sm_buf_addf(&in->df.msg, "duplicate key '%s': the later "
		    "record wins", rec->key);
		w.file = rec->file;
		w.line = rec->line;
		w.rawno = rec->rawno;
		w.detail = in->df.msg.data;
		in->df.o->warn(&w, in->df.o->arg);
		free(p->line);
		p->line = NULL;
	}
	if ((rc = sm_prop_get(in->df.db, &in->row, rec->key,
	    rec->keylen)) < 0)
		return rc;
	/* Nothing is written: each record meets the row as stored. */
	memset(&c, 0, sizeof(c));
	c.exists = rc == 1;
	c.deleted = in->row.deleted_at >= 0;
	c.hash = in->row.hash;
	c.incoming = rec->hash;
	switch (sm_import_decide(&c)) {
	case SM_IMPORT_CREATE:
	case SM_IMPORT_REVIVE:
		op = "create";
		break;
	case SM_IMPORT_UPDATE:
	case SM_IMPORT_RECHANGE:
		op = "update";
		break;
	default:
		return 0;
	}
	if (*op == 'c') {
		/*
		 * The one operation of a creation adds the whole record,
		 * whose canonical form the loop gave: no need to parse it.
		 */
		sm_buf_reset(&in->df.changes);
		sm_buf_adds(&in->df.changes, "[{\"op\":\"add\",\"path\":\"\","
		    "\"value\":");
		sm_buf_add(&in->df.changes, rec->data, rec->len);
		sm_buf_adds(&in->df.changes, "}]");
		line(&in->df, rec->key, op, NULL);
		p->line = sm_xstrndup(in->df.line.data, in->df.line.len);
		return 0;
	}
	if ((rc = parse_stored(in->row.data, strlen(in->row.data), rec->key,
	    &old)) != 0)
		return rc;
	if ((rc = parse_stored(rec->data, rec->len, rec->key, &new)) != 0) {
		jv_free(old);
		return rc;
	}
	rc = build(&in->df, rec->key, op, NULL, old, new);
	if (rc > 0) {
		p->line = sm_xstrndup(in->df.line.data, in->df.line.len);
		rc = 0;
	}
	return rc;
}

/* Prints the records of the input, in the order their keys came. */
static int
in_flush(struct indiff *in)
{
	struct pending *p;
	size_t i, len;

	for (i = 0; i < in->pend.n; i++) {
		p = &in->pend.v[i];
		if (p->line == NULL)
			continue;
		len = strlen(p->line);
		if (fwrite(p->line, 1, len, in->df.o->out) != len)
			return sm_error(SM_EIO, "write error: %s",
			    strerror(errno));
		in->df.st->differ++;
	}
	return 0;
}

int
sm_diff_input(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, char *const *files, size_t nfiles,
    const struct sm_diff_opts *o, struct sm_diff_stats *st)
{
	struct sm_records_spec spec;
	struct sm_records *loop = NULL;
	struct indiff in;
	int rc;

	memset(&in, 0, sizeof(in));
	differ_init(&in.df, db, o, st);
	in.e = e;
	sm_prop_init(&in.row, e->side, e->id);
	memset(&spec, 0, sizeof(spec));
	spec.files = files;
	spec.nfiles = nfiles;
	spec.cfg = cfg;
	spec.e = e;
	spec.record = in_record;
	spec.reject = in_reject;
	spec.arg = &in;
	if ((rc = sm_records_open(&loop, &spec)) != 0)
		goto out;
	if ((rc = read_begin(&in.df)) != 0)
		goto out;
	if ((rc = sm_records_each(loop)) == 0)
		rc = in_flush(&in);
	rc = read_end(&in.df, rc);
out:
	sm_records_close(loop);
	pendings_free(&in.pend);
	sm_prop_free(&in.row);
	differ_free(&in.df);
	return rc;
}

/*
 * One property that changed after df->since: its version then (from the
 * earliest snapshot since, absent when created after) against now.  A
 * property whose version then is in no snapshot and that was written
 * after lost that history to cleanup.
 */
static int
since_one(const struct sm_prop_then *t, void *arg)
{
	struct differ *df = arg;
	struct sm_warning w;
	const char *then = NULL, *now = NULL;
	size_t thenlen = 0, nowlen = 0;
	char tm[SM_TIME_MAX];

	df->st->examined++;
	if (!t->deleted) {
		now = t->data;
		nowlen = t->len;
	}
	if (t->created_after)
		;	/* created after T: absent then */
	else if (t->snapshot) {
		then = t->then;
		thenlen = t->thenlen;
	} else if (t->updated_after) {
		sm_time_format(df->since, tm);
		sm_buf_reset(&df->msg);
		sm_buf_addf(&df->msg, "'%s' changed after %s but no snapshot "
		    "of it is left from then (removed by cleanup?): left out",
		    t->external_id, tm);
		memset(&w, 0, sizeof(w));
		w.detail = df->msg.data;
		df->o->warn(&w, df->o->arg);
		return 0;
	} else
		return 0;	/* a "take" only: unchanged */
	return emit_stored(df, t->external_id, NULL, NULL, then, thenlen, now,
	    nowlen);
}

int
sm_diff_since(struct sm_db *db, const struct sm_endpoint *e, int64_t since,
    const struct sm_diff_opts *o, struct sm_diff_stats *st)
{
	struct differ df;
	int rc;

	differ_init(&df, db, o, st);
	if ((rc = read_begin(&df)) != 0) {
		differ_free(&df);
		return rc;
	}
	df.since = since;
	rc = sm_prop_since(db, e->side, e->id, since, ids_json(&df), since_one,
	    &df);
	rc = read_end(&df, rc);
	differ_free(&df);
	return rc;
}

int
sm_diff_snapshots(struct sm_db *db, int64_t id1, int64_t id2,
    const struct sm_diff_opts *o, struct sm_diff_stats *st)
{
	struct differ df;
	struct sm_version a, b;
	int rc;

	differ_init(&df, db, o, st);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if ((rc = read_begin(&df)) != 0)
		goto out;
	if ((rc = sm_snap_version(db, id1, &a)) != 0)
		goto out;
	if (id2 != 0 && (rc = sm_snap_version(db, id2, &b)) != 0)
		goto out;
	if (id2 != 0 && (a.source_id != b.source_id ||
	    a.target_id != b.target_id || a.property_id != b.property_id)) {
		rc = sm_error(SM_EUSAGE, "snapshots %lld ('%s') and %lld "
		    "('%s') are not of the same property", (long long)id1,
		    a.external_id, (long long)id2, b.external_id);
		goto out;
	}
	if (id2 == 0 && (rc = sm_prop_version_now(db, &a, &b)) != 0)
		goto out;
	st->examined++;
	rc = emit_stored(&df, a.external_id, NULL, NULL, a.data,
	    a.data != NULL ? strlen(a.data) : 0, b.data,
	    b.data != NULL ? strlen(b.data) : 0);
out:
	sm_version_free(&a);
	sm_version_free(&b);
	rc = read_end(&df, rc);
	differ_free(&df);
	return rc;
}
