/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"

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
 *
 * sm_import_decide() is this table; the records come from the one record
 * loop (records.c), of which import is the callbacks.
 *
 * sm-pull (pull.c) is this import over a driver's list, with hooks: its
 * gate leaves what is no manual change (a foreign record, the version
 * last delivered or in flight), and --complete looks only at the rows
 * the target was given, each an absence the hook may explain (a delete
 * delivered) or a deletion by hand: a tombstone, always manual.
 */

struct importer {
	struct sm_db *db;
	const struct sm_config *cfg;
	const struct sm_endpoint *e;
	const struct sm_import_opts *o;
	struct sm_import_stats *st;
	struct sm_run *run;
	struct sm_buf msg;
	uint64_t rejected_raw;	/* 1 + the raw record last sent to --rejects */
	unsigned char *seen;	/* bitmap of property ids named by the input */
	size_t nseen;		/* bits */
	int64_t *gone;		/* --complete: the rows to delete */
	size_t ngone, capgone;
	int64_t live;
	const struct sm_import_hooks *h;	/* sm-pull's, or NULL */
};

enum sm_import_op
sm_import_decide(const struct sm_import_case *c)
{
	if (c->incoming == NULL)
		return c->exists && !c->deleted && !c->seen ? SM_IMPORT_DELETE :
		    SM_IMPORT_KEEP;
	if (!c->exists)
		return SM_IMPORT_CREATE;
	if (c->seen && strcmp(c->hash, c->incoming) == 0)
		return SM_IMPORT_AGAIN;
	/*
	 * Without its change row (not expected: an undo puts the row's
	 * earlier number back), the safe reading is a plain change.
	 */
	if (c->seen && c->written && c->logged)
		return c->before != NULL && strcmp(c->before,
		    c->incoming) == 0 ? SM_IMPORT_UNDO : SM_IMPORT_REWRITE;
	if (c->deleted)
		return SM_IMPORT_REVIVE;
	if (strcmp(c->hash, c->incoming) == 0)
		return SM_IMPORT_UNCHANGED;
	return c->seen ? SM_IMPORT_RECHANGE : SM_IMPORT_UPDATE;
}

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
 * A rejected record: counted, reported (a patch refused is the merge's:
 * the front end names it), its raw text to --rejects once.
 */
static int
on_reject(const struct sm_reject *j, void *arg)
{
	struct importer *im = arg;
	struct sm_reject worded = *j;
	int rc;

	sm_buf_reset(&im->msg);
	if (j->code == SM_REJECT_PATCH)
		sm_buf_addw(&im->msg, "{merge}: %s", j->detail);
	else
		sm_buf_adds(&im->msg, j->detail);
	worded.detail = im->msg.data;
	/* An over-long record or a map's failure is no record read. */
	if (j->code != SM_REJECT_TOO_LONG && j->code != SM_REJECT_MAP)
		im->st->records++;
	im->st->rejected++;
	if ((rc = im->o->reject(&worded, im->o->arg)) != 0)
		return rc;
	if (im->o->rejects != NULL && im->rejected_raw != j->rawno + 1 &&
	    !j->overlong && j->len > 0) {
		fwrite(j->text, 1, j->len, im->o->rejects);
		fputc('\n', im->o->rejects);
	}
	im->rejected_raw = j->rawno + 1;
	if (im->o->strict)
		return sm_error(SM_EDATA, "%s:%zu: %s ({strict}: nothing "
		    "written)", j->file, j->line, worded.detail);
	return 0;
}

/* Writes the record into row p (new when id 0) under change number seq. */
static int
write_row(struct importer *im, struct sm_prop *p, const struct sm_record *rec,
    int64_t seq)
{
	struct sm_prop_version v;

	v.key = rec->key;
	v.keylen = rec->keylen;
	v.data = rec->data;
	v.len = rec->len;
	v.hash = rec->hash;
	v.seq = seq;
	v.at = im->run->started_at;
	v.manual = p->synced_hash[0] == '\0' ||
	    strcmp(rec->hash, p->synced_hash) != 0;
	return sm_prop_write_version(im->db, p, &v);
}

static int
log_change(struct importer *im, const struct sm_record *rec, int64_t id,
    int64_t seq, int64_t prev_seq, const char *op, const char *prev_hash)
{
	struct sm_prop p;

	sm_prop_init(&p, im->e->side, im->e->id);
	p.id = id;
	p.seq = seq;
	p.prev_seq = prev_seq;
	p.external_id = (char *)rec->key;
	snprintf(p.hash, sizeof(p.hash), "%s", rec->hash);
	return sm_change_log(im->run, &p, op, prev_hash, NULL);
}

/*
 * The patch of --merge: the record becomes the merged data of its
 * stored row.  Returns 0, 1 refused (why), or an error.
 */
static int
merge(jv *rec, const char *keytext, size_t keylen, struct sm_buf *why,
    void *arg)
{
	struct importer *im = arg;
	struct sm_prop p;
	struct sm_json_err jerr;
	struct sm_buf key;
	const char *field, *pfield;
	jv old, patch;
	int rc;

	sm_prop_init(&p, im->e->side, im->e->id);
	rc = sm_prop_get(im->db, &p, keytext, keylen);
	if (rc < 0)
		return rc;
	if (rc == 0 || p.deleted_at >= 0) {
		sm_prop_free(&p);
		sm_buf_addf(why, "no property '%s' on target '%s' to patch",
		    keytext, im->e->name);
		return 1;
	}
	if (sm_json_parse(p.data, strlen(p.data), &old, &jerr) != 0) {
		sm_prop_free(&p);
		return sm_error(SM_EDATA, "stored property '%s' does not "
		    "parse (%s): the tenant file is damaged (sm-tenant check)",
		    keytext, jerr.reason);
	}
	sm_prop_free(&p);
	sm_buf_init(&key);
	/* The field that names the record picks the row; it is not data. */
	(void)sm_rec_key_field(*rec, im->e->id_field, &key, &pfield);
	patch = jv_object_delete(*rec, jv_string(pfield != NULL ? pfield :
	    im->e->id_field));
	(void)sm_rec_key_field(old, im->e->id_field, &key, &field);
	if (field == NULL)
		field = im->e->id_field;
	*rec = sm_merge_patch(old, patch);
	/* The row keeps its key: a patch may repeat it, never change it. */
	if (sm_rec_key(*rec, im->e->id_field, &key) != 0 ||
	    strcmp(key.data, keytext) != 0) {
		if (key.len == 0)
			sm_buf_addf(why, "the patch removes the key of "
			    "property '%s' (its '%s')", keytext,
			    field != NULL ? field : "id");
		else
			sm_buf_addf(why, "the patch changes the key of "
			    "property '%s' (its '%s') to '%s'", keytext,
			    field != NULL ? field : "id", key.data);
		sm_buf_free(&key);
		return 1;
	}
	sm_buf_free(&key);
	return 0;
}

/* One record: decided against its stored row and written. */
static int
on_record(const struct sm_record *rec, void *arg)
{
	struct importer *im = arg;
	struct sm_import_case c;
	struct sm_warning w;
	struct sm_prop r;
	char before[SM_HASH_HEX];
	int64_t seq, prev_seq = 0;
	enum sm_import_op op;
	int rc, update;

	im->st->records++;
	sm_prop_init(&r, im->e->side, im->e->id);
	if ((rc = sm_prop_head(im->db, &r, rec->key, rec->keylen)) < 0)
		return rc;
	if (im->h != NULL && im->h->gate != NULL) {
		if ((rc = im->h->gate(rec, &r, im->h->arg)) < 0)
			return rc;
		if (rc > 0) {
			if (r.id != 0) {
				im->st->unchanged++;
				mark_seen(im, r.id);
			}
			return 0;
		}
	}
	memset(&c, 0, sizeof(c));
	c.exists = r.id != 0;
	c.deleted = r.deleted_at >= 0;
	c.hash = r.hash;
	c.incoming = rec->hash;
	c.seen = r.id != 0 && was_seen(im, r.id);
	c.written = c.seen && r.seq >= im->run->first_seq;
	if (c.written) {
		if ((rc = sm_change_get(im->db, r.seq, before,
		    &prev_seq)) < 0)
			return rc;
		c.logged = rc;
		c.before = before[0] != '\0' ? before : NULL;
	}
	if (c.seen) {
		im->st->duplicates++;
		sm_buf_reset(&im->msg);
		sm_buf_addf(&im->msg, "duplicate key '%s': the later record "
		    "wins", rec->key);
		w.file = rec->file;
		w.line = rec->line;
		w.rawno = rec->rawno;
		w.detail = im->msg.data;
		im->o->warn(&w, im->o->arg);
	}
	switch ((op = sm_import_decide(&c))) {
	case SM_IMPORT_AGAIN:
		return 0;
	case SM_IMPORT_UNCHANGED:
		im->st->unchanged++;
		mark_seen(im, r.id);
		return 0;
	case SM_IMPORT_REWRITE:
		if ((rc = write_row(im, &r, rec, r.seq)) != 0)
			return rc;
		return sm_change_set_hash(im->db, r.seq, rec->hash);
	case SM_IMPORT_UNDO:
		/*
		 * Back to the version stored before the run: no change after
		 * all.  The row takes back the number of its change before
		 * the run: sync finds a row by the change row its seq names.
		 */
		if ((rc = write_row(im, &r, rec, prev_seq)) != 0 ||
		    (rc = sm_change_drop(im->db, r.seq)) != 0 ||
		    (rc = sm_snap_drop_run(im->run, &r, rec->key,
		    rec->keylen)) != 0)
			return rc;
		im->st->updated--;
		im->st->unchanged++;
		return 0;
	case SM_IMPORT_RECHANGE:
		/* Counted unchanged when first named: now it is not. */
		im->st->unchanged--;
		break;
	default:
		break;
	}
	update = op == SM_IMPORT_UPDATE || op == SM_IMPORT_RECHANGE;
	if (r.id != 0 && (rc = sm_snap_take(im->run, im->e->side, r.id,
	    "update", NULL, NULL)) != 0)
		return rc;
	prev_seq = r.id != 0 ? r.seq : 0;
	seq = im->run->next_seq++;
	if ((rc = write_row(im, &r, rec, seq)) != 0)
		return rc;
	mark_seen(im, r.id);
	if (update)
		im->st->updated++;
	else
		im->st->created++;
	return log_change(im, rec, r.id, seq, prev_seq, update ? "update" :
	    "create", update ? r.hash : NULL);
}

static void
on_progress(uint64_t bytes, int64_t total, void *arg)
{
	struct importer *im = arg;

	if (im->o->progress != NULL && im->st->records % 4096 == 0)
		im->o->progress(bytes, total, im->st->records, im->o->arg);
}

int
sm_delete_guard(uint64_t n, uint64_t live, double ratio)
{
	return n > 0 && (double)n > ratio * (double)live;
}

/* --complete: a live row, gone when the input did not name it. */
static int
complete_row(int64_t id, void *arg)
{
	struct importer *im = arg;
	struct sm_import_case c;

	im->live++;
	memset(&c, 0, sizeof(c));
	c.exists = 1;
	c.seen = was_seen(im, id);
	if (sm_import_decide(&c) != SM_IMPORT_DELETE)
		return 0;
	if (im->ngone == im->capgone)
		im->gone = sm_xrealloc(im->gone, (im->capgone = im->capgone ?
		    2 * im->capgone : 64) * sizeof(*im->gone));
	im->gone[im->ngone++] = id;
	return 0;
}

/* --complete: every live row the input did not name is deleted. */
static int
complete(struct importer *im)
{
	struct sm_warning w;
	int64_t live;
	size_t i, n;
	struct sm_prop p;
	int rc;

	if (im->st->rejected > 0) {
		sm_buf_reset(&im->msg);
		/* sm-pull has no option to name: it always completes. */
		if (im->h == NULL)
			sm_buf_addw(&im->msg, "{complete}: ");
		sm_buf_addf(&im->msg, "%llu record%s rejected, so "
		    "nothing is deleted (a rejected record is not an absent "
		    "one)", (unsigned long long)im->st->rejected,
		    im->st->rejected == 1 ? "" : "s");
		memset(&w, 0, sizeof(w));
		w.detail = im->msg.data;
		im->o->warn(&w, im->o->arg);
		return 0;
	}
	/* Collected first: tombstoning moves rows in the index scanned. */
	if ((rc = (im->h != NULL ? im->h->rows : sm_prop_live_ids)(im->db,
	    im->e->side, im->e->id, complete_row, im)) != 0)
		return rc;
	/* What the hook explains is no deletion. */
	for (i = 0, n = 0; im->h != NULL && i < im->ngone; i++) {
		if ((rc = im->h->absent(im->gone[i], im->h->arg)) < 0)
			return rc;
		if (rc == 0)
			im->gone[n++] = im->gone[i];
	}
	if (im->h != NULL)
		im->ngone = n;
	/*
	 * The ratio is of the properties the source had before this run:
	 * a scrape whose keys all changed must not pass the guard by
	 * counting the rows it just created.
	 */
	live = im->live - (int64_t)im->st->created;
	if (!im->o->allow_mass_delete && im->h != NULL &&
	    sm_delete_guard(im->ngone, (uint64_t)live,
	    im->cfg->import_max_delete_ratio))
		return sm_error(SM_EDATA, "target '%s' lacks %zu of the %lld "
		    "records delivered to it, more than max_delete_ratio %g "
		    "allows: nothing written (use {allow_mass_delete} if they "
		    "were deleted by hand)", im->e->name, im->ngone,
		    (long long)live, im->cfg->import_max_delete_ratio);
	if (!im->o->allow_mass_delete && sm_delete_guard(im->ngone,
	    (uint64_t)live, im->cfg->import_max_delete_ratio))
		return sm_error(SM_EDATA, "{complete} would delete %zu of %lld "
		    "properties of '%s', more than max_delete_ratio %g allows: "
		    "nothing written (use {allow_mass_delete} if this is "
		    "right)", im->ngone, (long long)live, im->e->name,
		    im->cfg->import_max_delete_ratio);
	sm_prop_init(&p, im->e->side, im->e->id);
	for (i = 0, rc = 0; i < im->ngone && rc == 0; i++) {
		char prev[SM_HASH_HEX];

		if ((rc = sm_prop_get_id(im->db, &p, im->gone[i])) < 0)
			break;
		if ((rc = sm_snap_take(im->run, p.side, p.id, "delete", NULL,
		    NULL)) != 0)
			break;
		memcpy(prev, p.hash, sizeof(prev));
		p.deleted_at = im->run->started_at;
		p.updated_at = im->run->started_at;
		p.prev_seq = p.seq;
		p.seq = im->run->next_seq++;
		/* Gone from a target it was delivered to: by hand. */
		if (p.side == SM_TARGET)
			p.manual = p.synced_hash[0] != '\0' || im->h != NULL;
		if ((rc = sm_prop_put(im->db, &p)) != 0 ||
		    (rc = sm_change_log(im->run, &p, "delete", prev, NULL)) != 0)
			break;
		im->st->deleted++;
	}
	sm_prop_free(&p);
	return rc;
}

/* The hooks' input, under their own argument. */
static int
feed(struct sm_records *l, void *arg)
{
	struct importer *im = arg;

	return im->h->feed(l, im->h->arg);
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

/* sm_import() over the input of spec (its files or buffer set). */
static int
import(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, struct sm_records_spec *spec,
    const struct sm_import_hooks *h, const struct sm_import_opts *o,
    struct sm_import_stats *st, struct sm_run *run)
{
	struct importer im;
	struct sm_records *loop = NULL;
	int64_t max;
	int rc, began = 0;

	memset(&im, 0, sizeof(im));
	memset(st, 0, sizeof(*st));
	im.db = db;
	im.cfg = cfg;
	im.e = e;
	im.o = o;
	im.st = st;
	im.run = run;
	im.h = h;
	sm_buf_init(&im.msg);
	memset(run, 0, sizeof(*run));
	spec->cfg = cfg;
	spec->e = e;
	spec->spill = o->rejects;
	spec->record = on_record;
	spec->reject = on_reject;
	spec->patch = o->merge ? merge : NULL;
	spec->progress = on_progress;
	spec->feed = h != NULL ? feed : NULL;
	spec->arg = &im;
	if ((rc = sm_records_open(&loop, spec)) != 0)
		goto out;
	if ((rc = sm_db_cache(db, SM_CACHE_KEYS_MIB)) != 0 ||
	    (rc = sm_db_begin(db)) != 0)
		goto out;
	began = 1;
	if ((rc = sm_run_begin(db, run, h != NULL ? h->kind : "import",
	    e->side == SM_SOURCE ? e : NULL,
	    e->side == SM_TARGET ? e : NULL)) != 0)
		goto out;
	/* Sized once from the largest id, grown as rows are created. */
	if ((rc = sm_prop_max_id(db, e->side, &max)) != 0)
		goto out;
	seen_reserve(&im, (size_t)max + 64);
	if ((rc = sm_records_each(loop)) != 0)
		goto out;
	if (o->complete && (rc = complete(&im)) != 0)
		goto out;
	if (h != NULL)
		h->stats(st, &im.msg, h->arg);
	else
		sm_import_stats_json(st, &im.msg);
	rc = sm_run_finish(run, st->rejected ? "partial" : "success",
	    im.msg.data, NULL);
out:
	if (began)
		rc = sm_run_end(db, run, rc, o->dry_run, o->done, o->arg);
	sm_records_close(loop);
	free(im.seen);
	free(im.gone);
	sm_buf_free(&im.msg);
	return rc;
}

int
sm_import(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, char *const *files, size_t nfiles,
    const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run)
{
	struct sm_records_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.files = files;
	spec.nfiles = nfiles;
	return import(db, cfg, e, &spec, NULL, o, st, run);
}

int
sm_import_buf(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, const char *name, const char *buf,
    size_t len, const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run)
{
	struct sm_records_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.buf = buf != NULL ? buf : "";
	spec.len = len;
	spec.name = name;
	spec.one_array = o->one_array;
	return import(db, cfg, e, &spec, NULL, o, st, run);
}

int
sm_import_with(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, const struct sm_import_hooks *h,
    const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run)
{
	struct sm_records_spec spec;

	memset(&spec, 0, sizeof(spec));
	return import(db, cfg, e, &spec, h, o, st, run);
}
