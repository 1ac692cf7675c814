/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"

/*
 * The one record loop (in the manner of mblaze's blaze822_loop): the
 * input, read by input.c's splitter, record by record, each parsed,
 * mapped, keyed and put in canonical form, and handed to the caller as a
 * record or a reject.  import and diff are its callbacks.  The input is
 * files, a buffer, or records the caller feeds one by one (sm-pull: a
 * driver's list), each named by its origin: its key is that name.
 *
 * Two paths lead from raw bytes to a record, with the same outcome to
 * the byte: without a map or a patch, fastrec.c's single pass; else
 * libjq (parse, the map, the key, the patch, the form).  Records cross
 * to the map's process AHEAD_MAX at a time and come back in order.
 */

#define AHEAD_MAX	256		/* records */
#define AHEAD_BYTES	(1 << 20)	/* of their text */

/*
 * A raw record on its way through the map: a copy (the reader reuses
 * its buffer) and whether it was given to the map.
 */
struct ahead {
	struct sm_rawrec raw;
	uint64_t rawno;
	char *text;
	char *error;
	int submitted;
};

struct sm_records {
	const struct sm_records_spec *r;
	struct sm_map *map;
	char **ignore;
	size_t nignore;
	struct sm_buf key, data, why;
	const struct sm_rawrec *raw;	/* the raw record being handled */
	uint64_t rawno;
	int emit_rc;		/* what a callback returned to the map */
	const char *given;	/* the key a fed record is named by */
	uint64_t nfed;
};

/* Hands on a reject of the current raw record. */
static int
reject(struct sm_records *l, enum sm_reject_code code, const char *detail)
{
	struct sm_reject j;
	char why[512];

	/* detail may be sm_errmsg(), which the callback may reuse. */
	snprintf(why, sizeof(why), "%s", detail);
	memset(&j, 0, sizeof(j));
	j.code = code;
	j.file = l->raw->file;
	j.line = l->raw->line;
	j.offset = l->raw->offset;
	j.text = l->raw->text;
	j.len = l->raw->len;
	j.overlong = l->raw->overlong;
	j.rawno = l->rawno;
	j.detail = why;
	return l->r->reject(&j, l->r->arg);
}

/* Hands on a record whose key, form and hash are in l. */
static int
record(struct sm_records *l, const char *hash)
{
	struct sm_record rec;

	rec.file = l->raw->file;
	rec.line = l->raw->line;
	rec.rawno = l->rawno;
	rec.key = l->key.data;
	rec.keylen = l->key.len;
	rec.data = l->data.data;
	rec.len = l->data.len;
	rec.hash = hash;
	return l->r->record(&rec, l->r->arg);
}

/* One parsed record (consumed), after the map: key, patch, form. */
static int
parsed(jv rec, void *arg)
{
	struct sm_records *l = arg;
	char hash[SM_HASH_HEX];
	int rc;

	if (l->given != NULL) {
		sm_buf_reset(&l->key);
		sm_buf_adds(&l->key, l->given);
	} else if (sm_rec_key(rec, l->r->e->id_field, &l->key) != 0) {
		jv_free(rec);
		return reject(l, SM_REJECT_RECORD, sm_errmsg());
	}
	if (l->r->patch != NULL) {
		sm_buf_reset(&l->why);
		if ((rc = l->r->patch(&rec, l->key.data, l->key.len, &l->why,
		    l->r->arg)) != 0) {
			jv_free(rec);
			return rc < 0 ? rc : reject(l, SM_REJECT_PATCH,
			    l->why.data);
		}
	}
	rc = sm_rec_digest(rec, (const char *const *)l->ignore, l->nignore,
	    &l->data, hash);
	jv_free(rec);
	if (rc != 0)
		return reject(l, SM_REJECT_RECORD, sm_errmsg());
	return record(l, hash);
}

/* parsed() as the map's callback, its failure kept apart from jq's. */
static int
mapped_one(jv rec, void *arg)
{
	struct sm_records *l = arg;

	return l->emit_rc = parsed(rec, arg);
}

/* The outcome of the oldest record given to the map. */
static int
collect(struct sm_records *l)
{
	char why[256];
	int rc;

	l->emit_rc = 0;
	rc = sm_map_collect(l->map, mapped_one, l);
	if (rc == SM_EDATA && l->emit_rc == 0) {
		snprintf(why, sizeof(why), "map: %s", sm_errmsg());
		return reject(l, SM_REJECT_MAP, why);
	}
	return rc;
}

/* One raw record that was not given to the map. */
static int
raw_record(struct sm_records *l)
{
	const struct sm_rawrec *raw = l->raw;
	struct sm_json_err jerr;
	char why[256], hash[SM_HASH_HEX];
	jv rec;
	int rc;

	if (raw->error != NULL)
		return reject(l, SM_REJECT_INPUT, raw->error);
	if (raw->overlong) {
		snprintf(why, sizeof(why), "record longer than "
		    "max_record_bytes (%zu)", l->r->cfg->max_record_bytes);
		return reject(l, SM_REJECT_TOO_LONG, why);
	}
	if (l->map == NULL && l->r->patch == NULL) {
		if (!raw->valid && sm_json_check(raw->text, raw->len,
		    &jerr) != 0)
			return reject(l, SM_REJECT_JSON, sm_errmsg());
		if (sm_rec_fast_checked(raw->text, raw->len,
		    (const char *const *)l->ignore, l->nignore,
		    l->r->e->id_field, &l->data, hash, l->given != NULL ?
		    NULL : &l->key, &jerr) != 0)
			return reject(l, SM_REJECT_RECORD, sm_errmsg());
		if (l->given != NULL) {
			sm_buf_reset(&l->key);
			sm_buf_adds(&l->key, l->given);
		}
		return record(l, hash);
	}
	if (sm_json_parse(raw->text, raw->len, &rec, &jerr) != 0)
		return reject(l, SM_REJECT_JSON, jerr.reason);
	if (l->map == NULL)
		return parsed(rec, l);
	if ((rc = sm_map_submit(l->map, rec)) != 0)
		return rc;
	return collect(l);
}

/* The oldest record ahead: its outcome, then it is dropped. */
static int
ahead_finish(struct sm_records *l, struct ahead *a)
{
	int rc;

	l->raw = &a->raw;
	l->rawno = a->rawno;
	rc = a->submitted ? collect(l) : raw_record(l);
	free(a->text);
	free(a->error);
	return rc;
}

/*
 * Takes raw into the records ahead: parsed and given to the map when it
 * would be, else kept for raw_record() to reject in its turn.
 */
static void
ahead_add(struct sm_records *l, struct ahead *a, const struct sm_rawrec *raw,
    uint64_t rawno)
{
	struct sm_json_err jerr;
	jv rec;

	a->raw = *raw;
	a->rawno = rawno;
	a->text = sm_xstrndup(raw->text, raw->len);
	a->raw.text = a->text;
	a->error = raw->error != NULL ? sm_xstrdup(raw->error) : NULL;
	a->raw.error = a->error;
	a->submitted = 0;
	if (raw->error != NULL || raw->overlong)
		return;
	if (sm_json_parse(raw->text, raw->len, &rec, &jerr) != 0)
		return;
	sm_map_submit(l->map, rec);
	a->submitted = 1;
}

/* The loop over an open input. */
static int
each(struct sm_records *l, struct sm_input *in)
{
	const struct sm_records_spec *r = l->r;
	struct sm_rawrec raw;
	struct ahead *ahead = NULL;
	size_t head = 0, n = 0, bytes_ahead = 0, i;
	uint64_t bytes, rawno = 0;
	int64_t total;
	int rc, done = 0;

	if (l->map != NULL)
		ahead = sm_xcalloc(AHEAD_MAX, sizeof(*ahead));
	for (;;) {
		if (!done && (rc = sm_input_next(in, &raw)) == 0)
			done = 1;
		if (sm_interrupted()) {
			rc = sm_interrupt_check();
			break;
		}
		if (!done && rc < 0)
			break;
		if (ahead == NULL) {
			if (done)
				break;
			l->raw = &raw;
			l->rawno = rawno++;
			if ((rc = raw_record(l)) != 0)
				break;
		} else {
			if (!done) {
				ahead_add(l, &ahead[(head + n) % AHEAD_MAX],
				    &raw, rawno++);
				bytes_ahead += raw.len;
				n++;
			}
			rc = 0;
			while (n > 0 && (done || n == AHEAD_MAX ||
			    bytes_ahead >= AHEAD_BYTES)) {
				bytes_ahead -= ahead[head].raw.len;
				rc = ahead_finish(l, &ahead[head]);
				head = (head + 1) % AHEAD_MAX;
				n--;
				if (rc != 0)
					break;
			}
			if (rc != 0 || (done && n == 0))
				break;
		}
		if (r->progress != NULL) {
			sm_input_progress(in, &bytes, &total);
			r->progress(bytes, total, r->arg);
		}
	}
	for (i = 0; i < n; i++) {
		free(ahead[(head + i) % AHEAD_MAX].text);
		free(ahead[(head + i) % AHEAD_MAX].error);
	}
	free(ahead);
	return rc;
}

/*
 * Compiles the map of the endpoint, so that a program that does not
 * compile fails before the caller begins its work.
 */
int
sm_records_open(struct sm_records **lp, const struct sm_records_spec *spec)
{
	struct sm_records *l;
	int rc;

	l = sm_xcalloc(1, sizeof(*l));
	l->r = spec;
	sm_buf_init(&l->key);
	sm_buf_init(&l->data);
	sm_buf_init(&l->why);
	l->ignore = sm_ignore_list(spec->cfg, spec->e->side == SM_SOURCE ?
	    spec->e : NULL, &l->nignore);
	*lp = l;
	if (spec->e->side == SM_SOURCE && spec->e->map != NULL &&
	    (rc = sm_map_new(&l->map, spec->e->map)) != 0)
		return rc;
	if (l->map != NULL)
		sm_map_budget(l->map, spec->cfg->map_timeout_ms,
		    spec->cfg->map_max_bytes);
	return 0;
}

/* Opens the input and walks it (see sm.h). */
int
sm_records_each(struct sm_records *l)
{
	const struct sm_records_spec *r = l->r;
	struct sm_input *in;
	int rc;

	if (r->feed != NULL)
		return r->feed(l, r->arg);
	if (r->buf != NULL) {
		sm_input_open_mem(&in, r->name != NULL ? r->name : "-",
		    r->buf, r->len, r->cfg->max_record_bytes, r->spill);
		if (r->one_array)
			sm_input_one_array(in);
	} else if ((rc = sm_input_open(&in, r->files, r->nfiles,
	    r->cfg->max_record_bytes, r->spill)) != 0)
		return rc;
	rc = each(l, in);
	sm_input_close(in);
	return rc;
}

/*
 * One record fed by the caller (see sm.h): through raw_record() as a raw
 * record read from a file would go, so that its form, hash and rejects
 * are the loop's.  A source's map runs on it in step (no records ahead).
 */
int
sm_records_feed(struct sm_records *l, const char *name, const char *text,
    size_t len, const char *error)
{
	struct sm_rawrec raw;
	int rc;

	if (sm_interrupted())
		return sm_interrupt_check();
	memset(&raw, 0, sizeof(raw));
	raw.text = text != NULL ? text : "";
	raw.len = text != NULL ? len : 0;
	raw.file = name;
	raw.error = error;
	if (error == NULL && raw.len > l->r->cfg->max_record_bytes)
		raw.overlong = 1;
	l->raw = &raw;
	l->rawno = l->nfed++;
	l->given = name;
	rc = raw_record(l);
	l->given = NULL;
	l->raw = NULL;
	if (rc == 0 && l->r->progress != NULL)
		l->r->progress(0, -1, l->r->arg);
	return rc;
}

void
sm_records_close(struct sm_records *l)
{
	if (l == NULL)
		return;
	sm_map_free(l->map);
	sm_rec_fast_free();
	sm_strv_free(l->ignore);
	sm_buf_free(&l->key);
	sm_buf_free(&l->data);
	sm_buf_free(&l->why);
	free(l);
}
