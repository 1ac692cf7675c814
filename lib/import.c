/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"

/*
 * The decision for one input record against its stored row:
 *
 *	stored row		input hash	op	snapshot first
 *	none			-		create	no
 *	tombstone		-		create	yes (of the absence)
 *	live			same		-	no (nothing written)
 *	live			differs		update	yes
 *
 * A key the input names again (a duplicate: the later record wins, with a
 * warning) is decided as if only the later record had been there: when
 * this run wrote the row already, the row is rewritten in place and the
 * run's one change of it takes the new hash (no second event, no snapshot
 * of a version that never committed); when the later record puts back
 * what was stored before the run, that change and its snapshot go.
 *
 * and, with --complete, for every live row the input did not name:
 *	live, not seen		-		delete	yes
 *
 * On a target (-t) the same, and the row is a manual change whenever its
 * new hash differs from the hash sync last wrote (or it was never synced).
 */

struct importer {
	struct sm_db *db;
	const struct sm_config *cfg;
	const struct sm_endpoint *e;
	const struct sm_import_opts *o;
	struct sm_import_stats *st;
	struct sm_run *run;
	struct sm_map *map;
	char **ignore;
	size_t nignore;
	struct sm_buf key, data, msg;
	const struct sm_rawrec *raw;
	int raw_rejected;	/* this raw line went to --rejects already */
	int emit_rc;		/* what record() returned to the map, if not 0 */
	unsigned char *seen;	/* bitmap of property ids named by the input */
	size_t nseen;		/* bits */
};

/* Lean row: what the decision needs, without the data. */
struct row {
	int64_t id;
	char hash[SM_HASH_HEX];
	char synced_hash[SM_HASH_HEX];
	int deleted;
	int64_t seq;
};

static void
seen_reserve(struct importer *im, size_t bits)
{
	size_t old = (im->nseen + 7) / 8, bytes;

	if (bits <= im->nseen)
		return;
	im->nseen = bits;
	bytes = (im->nseen + 7) / 8;
	im->seen = sm_xrealloc(im->seen, bytes);
	memset(im->seen + old, 0, bytes - old);
}

static void
mark_seen(struct importer *im, int64_t id)
{
	if ((size_t)id >= im->nseen)
		seen_reserve(im, 2 * (size_t)id + 64);
	im->seen[id / 8] |= (unsigned char)(1u << (id % 8));
}

static int
was_seen(const struct importer *im, int64_t id)
{
	return (size_t)id < im->nseen &&
	    (im->seen[id / 8] & (1u << (id % 8))) != 0;
}

/*
 * Counts and reports a rejected record.  reason may be sm_errmsg(): it is
 * copied before sm_error() reuses that buffer.
 */
static int
reject(struct importer *im, const char *reason)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", reason);
	reason = why;
	im->st->rejected++;
	im->o->reject(im->raw->file, im->raw->line, reason, im->o->arg);
	if (im->o->rejects != NULL && !im->raw_rejected &&
	    !im->raw->overlong && im->raw->len > 0) {
		fwrite(im->raw->text, 1, im->raw->len, im->o->rejects);
		fputc('\n', im->o->rejects);
	}
	im->raw_rejected = 1;
	if (im->o->strict)
		return sm_error(SM_EDATA, "%s:%zu: %s (--strict: nothing "
		    "written)", im->raw->file, im->raw->line, reason);
	return 0;
}

static int
find_row(struct importer *im, struct row *r)
{
	sqlite3_stmt *stmt;
	const unsigned char *s;
	int rc;

	if (im->e->side == SM_SOURCE)
		stmt = sm_db_stmt(im->db, "SELECT id, hash, deleted_at IS NOT "
		    "NULL, seq, NULL FROM source_properties "
		    "WHERE source_id = ? AND external_id = ?");
	else
		stmt = sm_db_stmt(im->db, "SELECT id, hash, deleted_at IS NOT "
		    "NULL, seq, synced_hash FROM target_properties "
		    "WHERE target_id = ? AND external_id = ?");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, im->e->id);
	sqlite3_bind_text(stmt, 2, im->key.data, (int)im->key.len,
	    SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(stmt, 0);
		snprintf(r->hash, sizeof(r->hash), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		r->deleted = sqlite3_column_int(stmt, 2);
		r->seq = sqlite3_column_int64(stmt, 3);
		s = sqlite3_column_text(stmt, 4);
		snprintf(r->synced_hash, sizeof(r->synced_hash), "%s",
		    s != NULL ? (const char *)s : "");
		rc = 1;
	} else if (rc == SQLITE_DONE) {
		r->id = 0;
		rc = 0;
	} else
		rc = sm_db_error(im->db, rc, "cannot read a property");
	sqlite3_reset(stmt);
	return rc;
}

/*
 * Writes data and hash of the current record into row r (new when id 0)
 * under change number seq.
 */
static int
write_row(struct importer *im, struct row *r, const char *hash, int64_t seq)
{
	sqlite3_stmt *stmt;
	int64_t now = im->run->started_at;
	int manual, rc;

	manual = r->synced_hash[0] == '\0' || strcmp(hash, r->synced_hash) != 0;
	if (r->id == 0 && im->e->side == SM_SOURCE)
		stmt = sm_db_stmt(im->db, "INSERT INTO source_properties "
		    "(source_id, external_id, data, hash, seq, created_at, "
		    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
	else if (r->id == 0)
		stmt = sm_db_stmt(im->db, "INSERT INTO target_properties "
		    "(target_id, external_id, data, hash, seq, created_at, "
		    "updated_at, has_manual_changes) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)");
	else if (im->e->side == SM_SOURCE)
		stmt = sm_db_stmt(im->db, "UPDATE source_properties SET "
		    "data = ?3, hash = ?4, seq = ?5, updated_at = ?6, "
		    "deleted_at = NULL WHERE id = ?8");
	else
		stmt = sm_db_stmt(im->db, "UPDATE target_properties SET "
		    "data = ?3, hash = ?4, seq = ?5, updated_at = ?6, "
		    "deleted_at = NULL, has_manual_changes = ?7, "
		    "warning = iif(?7, warning, NULL) WHERE id = ?8");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, im->e->id);
	sqlite3_bind_text(stmt, 2, im->key.data, (int)im->key.len,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, im->data.data, (int)im->data.len,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, seq);
	sqlite3_bind_int64(stmt, 6, now);
	if (im->e->side == SM_TARGET)
		sqlite3_bind_int(stmt, 7, manual);
	if (r->id != 0)
		sqlite3_bind_int64(stmt, 8, r->id);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(im->db, rc, "cannot write a property");
	if (r->id == 0)
		r->id = sqlite3_last_insert_rowid(sm_db_handle(im->db));
	return 0;
}

static int
log_change(struct importer *im, int64_t id, int64_t seq, int64_t prev_seq,
    const char *op, const char *hash, const char *prev_hash)
{
	struct sm_prop p;
	int rc;

	sm_prop_init(&p, im->e->side, im->e->id);
	p.id = id;
	p.seq = seq;
	p.prev_seq = prev_seq;
	p.external_id = im->key.data;
	snprintf(p.hash, sizeof(p.hash), "%s", hash != NULL ? hash : "");
	rc = sm_change_log(im->run, &p, op, prev_hash, NULL);
	return rc;
}

/* The name of the member that gave rec its key (as sm_rec_key picks it). */
static const char *
key_field(jv rec, const char *id_field)
{
	const char *names[2] = { "external_id", "id" };
	jv v;
	int i, present;

	for (i = 0; i < 2; i++) {
		v = jv_object_get(jv_copy(rec), jv_string(names[i]));
		present = jv_get_kind(v) != JV_KIND_INVALID &&
		    jv_get_kind(v) != JV_KIND_NULL;
		jv_free(v);
		if (present)
			return names[i];
	}
	return id_field;
}

/* Turns a --merge record into the merged data of its stored row. */
static int
merge(struct importer *im, jv *rec)
{
	struct sm_prop p;
	struct sm_json_err jerr;
	struct sm_buf key;
	const char *field;
	jv old, patch;
	int rc;

	sm_prop_init(&p, im->e->side, im->e->id);
	rc = sm_prop_get(im->db, &p, im->key.data, im->key.len);
	if (rc < 0)
		return rc;
	if (rc == 0 || p.deleted_at >= 0) {
		sm_prop_free(&p);
		sm_buf_reset(&im->msg);
		sm_buf_addf(&im->msg, "--merge: no property '%s' on target "
		    "'%s' to patch", im->key.data, im->e->name);
		return 1;
	}
	if (sm_json_parse(p.data, strlen(p.data), &old, &jerr) != 0) {
		sm_prop_free(&p);
		return sm_error(SM_EDATA, "stored property '%s' does not "
		    "parse (%s): the tenant file is damaged (sm-tenant check)",
		    im->key.data, jerr.reason);
	}
	sm_prop_free(&p);
	/* The field that names the record picks the row; it is not data. */
	patch = jv_object_delete(*rec, jv_string(key_field(*rec,
	    im->e->id_field)));
	field = key_field(old, im->e->id_field);
	*rec = sm_merge_patch(old, patch);
	/* The row keeps its key: a patch may repeat it, never change it. */
	sm_buf_init(&key);
	if (sm_rec_key(*rec, im->e->id_field, &key) != 0 ||
	    strcmp(key.data, im->key.data) != 0) {
		sm_buf_reset(&im->msg);
		if (key.len == 0)
			sm_buf_addf(&im->msg, "--merge: the patch removes "
			    "the key of property '%s' (its '%s')",
			    im->key.data, field != NULL ? field : "id");
		else
			sm_buf_addf(&im->msg, "--merge: the patch changes "
			    "the key of property '%s' (its '%s') to '%s'",
			    im->key.data, field != NULL ? field : "id",
			    key.data);
		sm_buf_free(&key);
		return 1;
	}
	sm_buf_free(&key);
	return 0;
}

/*
 * A duplicate key whose row this run wrote already: the later record
 * replaces that write (see the table above).  Returns 0, an error, or 1
 * when the caller is to treat the record as a first change of the row.
 */
static int
rewrite(struct importer *im, struct row *r, const char *hash)
{
	sqlite3_stmt *stmt;
	int64_t prev_seq = 0;
	int rc, undo;

	if (strcmp(r->hash, hash) == 0)
		return 0;
	if ((stmt = sm_db_stmt(im->db, "SELECT prev_hash IS NOT NULL AND "
	    "prev_hash = ?2, prev_seq FROM changes WHERE seq = ?1")) == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, r->seq);
	sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	undo = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0);
	if (rc == SQLITE_ROW)
		prev_seq = sqlite3_column_int64(stmt, 1);
	sqlite3_reset(stmt);
	/*
	 * No change row under a number of this run: not expected, since an
	 * undo also puts the row's earlier number back, but the safe
	 * reading is that this record is a plain change.
	 */
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW)
		return sm_db_error(im->db, rc, "cannot read the change log");
	/*
	 * Undone, the row takes back the number of its change before the
	 * run: sync finds a row by the change row its seq names.
	 */
	if ((rc = write_row(im, r, hash, undo ? prev_seq : r->seq)) != 0)
		return rc;
	if (!undo) {
		stmt = sm_db_stmt(im->db, "UPDATE changes SET hash = ?2 "
		    "WHERE seq = ?1");
		if (stmt == NULL)
			return SM_EINTERNAL;
		sqlite3_bind_int64(stmt, 1, r->seq);
		sqlite3_bind_text(stmt, 2, hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		return rc == SQLITE_DONE ? 0 :
		    sm_db_error(im->db, rc, "cannot log a change");
	}
	/* Back to the version stored before the run: no change after all. */
	stmt = sm_db_stmt(im->db, "DELETE FROM changes WHERE seq = ?1");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, r->seq);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(im->db, rc, "cannot log a change");
	/* By external_id, which the snapshot indexes lead with. */
	stmt = sm_db_stmt(im->db, im->e->side == SM_SOURCE ?
	    "DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
	    "AND source_id = ?3 AND external_id = ?4" :
	    "DELETE FROM snapshots WHERE run_id = ?1 AND property_id = ?2 "
	    "AND target_id = ?3 AND external_id = ?4");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, im->run->id);
	sqlite3_bind_int64(stmt, 2, r->id);
	sqlite3_bind_int64(stmt, 3, im->e->id);
	sqlite3_bind_text(stmt, 4, im->key.data, (int)im->key.len,
	    SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(im->db, rc, "cannot take a snapshot");
	im->st->updated--;
	im->st->unchanged++;
	return 0;
}

/*
 * One record whose key, canonical form (im->key, im->data) and hash are
 * known: decide and write (see the table above).
 */
static int
store(struct importer *im, const char *hash)
{
	struct row r;
	int64_t seq, prev_seq;
	int rc, update, dup;

	memset(&r, 0, sizeof(r));
	if ((rc = find_row(im, &r)) < 0)
		return rc;
	if ((dup = r.id != 0 && was_seen(im, r.id))) {
		im->st->duplicates++;
		sm_buf_reset(&im->msg);
		sm_buf_addf(&im->msg, "%s:%zu: duplicate key '%s': the later "
		    "record wins", im->raw->file, im->raw->line, im->key.data);
		im->o->warn(im->msg.data, im->o->arg);
		if (r.seq >= im->run->first_seq &&
		    (rc = rewrite(im, &r, hash)) != 1)
			return rc;
	}
	if (r.id != 0 && !r.deleted && strcmp(r.hash, hash) == 0) {
		if (!dup)
			im->st->unchanged++;
		mark_seen(im, r.id);
		return 0;
	}
	/* A duplicate not written yet was counted unchanged: now it is not. */
	if (dup)
		im->st->unchanged--;
	update = r.id != 0 && !r.deleted;
	if (r.id != 0 && (rc = sm_snap_take(im->run, im->e->side, r.id,
	    "update", NULL, NULL)) != 0)
		return rc;
	prev_seq = r.id != 0 ? r.seq : 0;
	seq = im->run->next_seq++;
	if ((rc = write_row(im, &r, hash, seq)) != 0)
		return rc;
	mark_seen(im, r.id);
	if (update)
		im->st->updated++;
	else
		im->st->created++;
	return log_change(im, r.id, seq, prev_seq, update ? "update" : "create",
	    hash, update ? r.hash : NULL);
}

/* One record, after the map: its key, form and hash, then store(). */
static int
record(jv rec, void *arg)
{
	struct importer *im = arg;
	char hash[SM_HASH_HEX];
	int rc;

	im->st->records++;
	if (sm_rec_key(rec, im->e->id_field, &im->key) != 0) {
		jv_free(rec);
		return reject(im, sm_errmsg());
	}
	if (im->o->merge && (rc = merge(im, &rec)) != 0) {
		jv_free(rec);
		return rc < 0 ? rc : reject(im, im->msg.data);
	}
	rc = sm_rec_digest(rec, (const char *const *)im->ignore, im->nignore,
	    &im->data, hash);
	jv_free(rec);
	if (rc != 0)
		return reject(im, sm_errmsg());
	return store(im, hash);
}

/*
 * record() as the map's callback: its failure (--strict, a database
 * error) must not be taken for a runtime error of the program.
 */
static int
emit(jv rec, void *arg)
{
	struct importer *im = arg;

	return im->emit_rc = record(rec, arg);
}

static int mapped(struct importer *);

/*
 * One raw input record: parse, map, and hand each result to record().
 * Without a map or --merge, sm_rec_fast() does what parse and record()
 * would, with the same outcome and messages, and store() the rest.
 */
static int
raw_record(struct importer *im, const struct sm_rawrec *raw)
{
	struct sm_json_err jerr;
	char reason[256], hash[SM_HASH_HEX];
	jv rec;
	int rc;

	im->raw = raw;
	im->raw_rejected = 0;
	if (raw->error != NULL) {
		im->st->records++;
		return reject(im, raw->error);
	}
	if (raw->overlong) {
		snprintf(reason, sizeof(reason), "record longer than "
		    "max_record_bytes (%zu)", im->cfg->max_record_bytes);
		return reject(im, reason);
	}
	if (im->map == NULL && !im->o->merge) {
		im->st->records++;
		if (sm_rec_fast(raw->text, raw->len,
		    (const char *const *)im->ignore, im->nignore,
		    im->e->id_field, &im->data, hash, &im->key, &jerr) != 0)
			return reject(im, sm_errmsg());
		return store(im, hash);
	}
	if (sm_json_parse(raw->text, raw->len, &rec, &jerr) != 0) {
		im->st->records++;
		return reject(im, jerr.reason);
	}
	if (im->map == NULL)
		return record(rec, im);
	if ((rc = sm_map_submit(im->map, rec)) != 0)
		return rc;
	return mapped(im);
}

/*
 * The outcome of the oldest record given to the map: its outputs to
 * record(), or its reject.
 */
static int
mapped(struct importer *im)
{
	char reason[256];
	int rc;

	im->emit_rc = 0;
	rc = sm_map_collect(im->map, emit, im);
	if (rc == SM_EDATA && im->emit_rc == 0) {
		snprintf(reason, sizeof(reason), "map: %s", sm_errmsg());
		return reject(im, reason);
	}
	return rc;
}

/*
 * Records on their way through the map: a copy of each raw record (the
 * reader reuses its buffer) and whether it was given to the map, so that
 * many cross to the map's process at once and come back in order.
 */
struct ahead {
	struct sm_rawrec raw;
	char *text;
	char *error;
	int submitted;
};

#define AHEAD_MAX	256		/* records */
#define AHEAD_BYTES	(1 << 20)	/* of their text */

/* The oldest record ahead: its outcome, then it is dropped. */
static int
ahead_finish(struct importer *im, struct ahead *a)
{
	int rc;

	if (a->submitted) {
		im->raw = &a->raw;
		im->raw_rejected = 0;
		rc = mapped(im);
	} else
		rc = raw_record(im, &a->raw);
	free(a->text);
	free(a->error);
	return rc;
}

/*
 * Takes raw into the records ahead: parsed and given to the map when it
 * would be, else kept for raw_record() to reject in its turn.
 */
static void
ahead_add(struct importer *im, struct ahead *a, const struct sm_rawrec *raw)
{
	struct sm_json_err jerr;
	jv rec;

	a->raw = *raw;
	a->text = sm_xstrndup(raw->text, raw->len);
	a->raw.text = a->text;
	a->error = raw->error != NULL ? sm_xstrdup(raw->error) : NULL;
	a->raw.error = a->error;
	a->submitted = 0;
	if (raw->error != NULL || raw->overlong || (!im->o->merge &&
	    im->map == NULL))
		return;
	if (sm_json_parse(raw->text, raw->len, &rec, &jerr) != 0)
		return;
	sm_map_submit(im->map, rec);
	a->submitted = 1;
}

int
sm_delete_guard(uint64_t n, uint64_t live, double ratio)
{
	return n > 0 && (double)n > ratio * (double)live;
}

/* --complete: every live row the input did not name is deleted. */
static int
complete(struct importer *im)
{
	sqlite3_stmt *stmt;
	int64_t *gone = NULL, live = 0;
	size_t ngone = 0, cap = 0, i;
	struct sm_prop p;
	int rc;

	if (im->st->rejected > 0) {
		sm_buf_reset(&im->msg);
		sm_buf_addf(&im->msg, "--complete: %llu record%s rejected, so "
		    "nothing is deleted (a rejected record is not an absent "
		    "one)", (unsigned long long)im->st->rejected,
		    im->st->rejected == 1 ? "" : "s");
		im->o->warn(im->msg.data, im->o->arg);
		return 0;
	}
	stmt = sm_db_stmt(im->db, im->e->side == SM_SOURCE ?
	    "SELECT id FROM source_properties WHERE source_id = ? "
	    "AND deleted_at IS NULL" :
	    "SELECT id FROM target_properties WHERE target_id = ? "
	    "AND deleted_at IS NULL");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, im->e->id);
	/* Collected first: tombstoning moves rows in the index scanned. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);

		live++;
		if (was_seen(im, id))
			continue;
		if (ngone == cap)
			gone = sm_xrealloc(gone, (cap = cap ? 2 * cap : 64) *
			    sizeof(*gone));
		gone[ngone++] = id;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(gone);
		return sm_db_error(im->db, rc, "cannot read properties");
	}
	/*
	 * The ratio is of the properties the source had before this run:
	 * a scrape whose keys all changed must not pass the guard by
	 * counting the rows it just created.
	 */
	live -= (int64_t)im->st->created;
	if (!im->o->allow_mass_delete && sm_delete_guard(ngone,
	    (uint64_t)live, im->cfg->import_max_delete_ratio)) {
		free(gone);
		return sm_error(SM_EDATA, "--complete would delete %zu of %lld "
		    "properties of '%s', more than max_delete_ratio %g allows: "
		    "nothing written (use --allow-mass-delete if this is "
		    "right)", ngone, (long long)live, im->e->name,
		    im->cfg->import_max_delete_ratio);
	}
	sm_prop_init(&p, im->e->side, im->e->id);
	for (i = 0, rc = 0; i < ngone && rc == 0; i++) {
		char prev[SM_HASH_HEX];

		if ((rc = sm_prop_get_id(im->db, &p, gone[i])) < 0)
			break;
		if ((rc = sm_snap_take(im->run, p.side, p.id, "delete", NULL,
		    NULL)) != 0)
			break;
		memcpy(prev, p.hash, sizeof(prev));
		p.deleted_at = im->run->started_at;
		p.updated_at = im->run->started_at;
		p.prev_seq = p.seq;
		p.seq = im->run->next_seq++;
		if (p.side == SM_TARGET)
			p.manual = p.synced_hash[0] != '\0';
		if ((rc = sm_prop_put(im->db, &p)) != 0 ||
		    (rc = sm_change_log(im->run, &p, "delete", prev, NULL)) != 0)
			break;
		im->st->deleted++;
	}
	sm_prop_free(&p);
	free(gone);
	return rc;
}

void
sm_import_stats_json(const struct sm_import_stats *st, struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_int(b, "created", (int64_t)st->created);
	sm_jw_int(b, "updated", (int64_t)st->updated);
	sm_jw_int(b, "unchanged", (int64_t)st->unchanged);
	sm_jw_int(b, "deleted", (int64_t)st->deleted);
	sm_jw_int(b, "rejected", (int64_t)st->rejected);
	sm_buf_addc(b, '}');	/* an object, not a line */
}

static int
run_input(struct importer *im, char *const *files, size_t nfiles)
{
	struct sm_input *in;
	struct sm_rawrec raw;
	struct ahead *ahead = NULL;
	size_t head = 0, n = 0, bytes_ahead = 0, i;
	uint64_t bytes;
	int64_t total;
	int rc, done = 0;

	if ((rc = sm_input_open(&in, files, nfiles,
	    im->cfg->max_record_bytes, im->o->rejects)) != 0)
		return rc;
	if (im->map != NULL)
		ahead = sm_xcalloc(AHEAD_MAX, sizeof(*ahead));
	for (;;) {
		if (!done && (rc = sm_input_next(in, &raw)) == 0)
			done = 1;
		if (sm_interrupted()) {
			rc = sm_error(SM_EINTR, "interrupted: nothing was "
			    "written");
			break;
		}
		if (!done && rc < 0)
			break;
		if (ahead == NULL) {
			if (done)
				break;
			if ((rc = raw_record(im, &raw)) != 0)
				break;
		} else {
			/* Through the map, AHEAD_MAX records at a time. */
			if (!done) {
				ahead_add(im, &ahead[(head + n) % AHEAD_MAX],
				    &raw);
				bytes_ahead += raw.len;
				n++;
			}
			rc = 0;
			while (n > 0 && (done || n == AHEAD_MAX ||
			    bytes_ahead >= AHEAD_BYTES)) {
				bytes_ahead -= ahead[head].raw.len;
				rc = ahead_finish(im, &ahead[head]);
				head = (head + 1) % AHEAD_MAX;
				n--;
				if (rc != 0)
					break;
			}
			if (rc != 0 || (done && n == 0))
				break;
		}
		if (im->o->progress != NULL && im->st->records % 4096 == 0) {
			sm_input_progress(in, &bytes, &total);
			im->o->progress(bytes, total, im->st->records,
			    im->o->arg);
		}
	}
	for (i = 0; i < n; i++) {
		free(ahead[(head + i) % AHEAD_MAX].text);
		free(ahead[(head + i) % AHEAD_MAX].error);
	}
	free(ahead);
	sm_input_close(in);
	return rc;
}

int
sm_import(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, char *const *files, size_t nfiles,
    const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run)
{
	struct importer im;
	sqlite3_stmt *stmt;
	int rc, began = 0;

	memset(&im, 0, sizeof(im));
	memset(st, 0, sizeof(*st));
	im.db = db;
	im.cfg = cfg;
	im.e = e;
	im.o = o;
	im.st = st;
	im.run = run;
	sm_buf_init(&im.key);
	sm_buf_init(&im.data);
	sm_buf_init(&im.msg);
	im.ignore = sm_ignore_list(cfg, e->side == SM_SOURCE ? e : NULL,
	    &im.nignore);
	memset(run, 0, sizeof(*run));
	if (e->side == SM_SOURCE && e->map != NULL &&
	    (rc = sm_map_new(&im.map, e->map)) != 0)
		goto out;
	if (im.map != NULL)
		sm_map_budget(im.map, cfg->map_timeout_ms, cfg->map_max_bytes);
	if ((rc = sm_db_cache(db, SM_CACHE_KEYS_MIB)) != 0 ||
	    (rc = sm_db_begin(db)) != 0)
		goto out;
	began = 1;
	if ((rc = sm_run_begin(db, run, "import",
	    e->side == SM_SOURCE ? e : NULL,
	    e->side == SM_TARGET ? e : NULL)) != 0)
		goto out;
	/* Sized once from the largest id, grown as rows are created. */
	stmt = sm_db_stmt(db, e->side == SM_SOURCE ?
	    "SELECT coalesce(max(id), 0) FROM source_properties" :
	    "SELECT coalesce(max(id), 0) FROM target_properties");
	if (stmt == NULL) {
		rc = SM_EINTERNAL;
		goto out;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW)
		seen_reserve(&im, (size_t)sqlite3_column_int64(stmt, 0) + 64);
	sqlite3_reset(stmt);
	if ((rc = run_input(&im, files, nfiles)) != 0)
		goto out;
	if (o->complete && (rc = complete(&im)) != 0)
		goto out;
	sm_import_stats_json(st, &im.msg);
	rc = sm_run_finish(run, st->rejected ? "partial" : "success",
	    im.msg.data, NULL);
out:
	if (began)
		rc = sm_run_end(db, run, rc, o->dry_run, o->done, o->arg);
	sm_map_free(im.map);
	sm_rec_fast_free();
	sm_strv_free(im.ignore);
	free(im.seen);
	sm_buf_free(&im.key);
	sm_buf_free(&im.data);
	sm_buf_free(&im.msg);
	return rc;
}
