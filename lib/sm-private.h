/* See LICENSE file for copyright and license details. */
/*
 * sm-private.h: lib's own plumbing, beneath what sm.h offers: statements
 * and the store's rows, runs' internals, migrations, the raw reader, the
 * fast path, the decisions of import and sync.  Included by lib's files
 * and the unit tests, never by a front end (bin/, lib/api/): what those
 * need is in sm.h.  In sm.h's order of layers.
 */
#ifndef SM_PRIVATE_H
#define SM_PRIVATE_H

#include "sm.h"

/* util.c: the signals of a committed run (see sm_signals_catch) */
void sm_signals_committed(void);

/* canon.c: the core of the key rule, shared with fastrec.c */

/*
 * The key rule itself, over any representation of a record: get(name,
 * v, arg) says what the record holds under name (kind ABSENT for absent
 * or null; a string's bytes unescaped in s and len; a number's value in
 * d, or, for an integer literal, its text in s and len).  Writes the key
 * (reset first) and the name of the member used (may be NULL: not
 * wanted; set on failure too when a member was found).  Returns 0 or
 * SM_EDATA with the message of sm_rec_key().
 */
enum { SM_KEY_ABSENT, SM_KEY_STRING, SM_KEY_NUMBER, SM_KEY_OTHER };
struct sm_keyval {
	int kind;
	const char *s;
	size_t len;
	double d;
};
int sm_key_pick(const char *id_field,
    void (*get)(const char *name, struct sm_keyval *v, void *arg), void *arg,
    struct sm_buf *key, const char **field);

/* fastrec.c: the single-pass record path of import, without libjq */

/*
 * From the raw text of one record (len bytes), what sm_json_parse(),
 * sm_rec_key(rec, id_field, key) and sm_rec_digest(rec, ignore, n, data,
 * hash) give, to the byte: the same key, canonical form and hash, or the
 * same refusal.  key and data are reset first.  Returns 0, or SM_EDATA
 * with the reason in err (offset 0 unless the text is malformed) and, not
 * truncated, in sm_errmsg(): the message the slow path reports; data
 * and hash are then empty, and key too unless the key was found.  key
 * NULL: no key is looked for (the caller knows it).  Keeps scratch memory
 * per thread, freed by sm_rec_fast_free().
 */
int sm_rec_fast(const char *text, size_t len, const char *const *ignore,
    size_t n, const char *id_field, struct sm_buf *data,
    char hash[SM_HASH_HEX], struct sm_buf *key, struct sm_json_err *err);
/* The same for text known to pass sm_json_check() (struct sm_rawrec valid). */
int sm_rec_fast_checked(const char *text, size_t len,
    const char *const *ignore, size_t n, const char *id_field,
    struct sm_buf *data, char hash[SM_HASH_HEX], struct sm_buf *key,
    struct sm_json_err *err);
void sm_rec_fast_free(void);

/* input.c: the one splitter of an input (records.c walks it) */

/*
 * One record as read: text is the raw bytes without the line end and the
 * whitespace around it (valid until the next sm_input_next), file is the
 * operand name ("-" for stdin), line the 1-based line where the record
 * starts.  error, when not NULL, is why the reader could not make a
 * record of these bytes (a structural fault of the input: a line break
 * inside a string, an unclosed value, a missing ','); the record is then
 * to be rejected with that reason, its text (possibly empty, for a fault
 * between records) being what the input held there.
 */
struct sm_rawrec {
	const char *text;
	size_t len;
	const char *file;
	size_t line;
	int overlong;	/* longer than max bytes: text holds only a prefix */
	const char *error;
	int valid;	/* text is known to pass sm_json_check() */
	uint64_t offset;	/* of its first byte in the file */
};

struct sm_input;

/*
 * Opens the input over the operands (NULL or empty: stdin; "-": stdin).
 * Each file is a sequence of JSON texts separated by whitespace, as jq
 * reads them: NDJSON, a JSON array (its elements are the records), a
 * pretty-printed object, several of these in a row; an optional UTF-8
 * BOM and CRLF line ends are accepted.  max is the longest record kept
 * whole (max_record_bytes; 0: 16 MiB).  spill, when not NULL, receives
 * the raw bytes of each over-long record followed by a newline (a CRLF
 * line end written as LF), so --rejects loses nothing; its write errors
 * are left for the caller's ferror().  Memory stays bounded by max
 * whatever the input size.  The names are copied.  Returns 0, or
 * SM_ENOENT (missing, unreadable, a directory) / SM_EIO with a message
 * when a file cannot be opened (checked for every operand before any
 * record is read); *in is then NULL.
 */
int sm_input_open(struct sm_input **in, char *const *files, size_t nfiles,
    size_t max, FILE *spill);
/*
 * The same over len bytes at buf (an HTTP body), read as a file named
 * name; buf must stay until sm_input_close().  Cannot fail.
 */
void sm_input_open_mem(struct sm_input **in, const char *name,
    const char *buf, size_t len, size_t max, FILE *spill);
/*
 * Makes the input exactly one JSON array (an HTTP body's records): what
 * is not whitespace before or after it is one fault, the last record.
 */
void sm_input_one_array(struct sm_input *in);
/*
 * Reads the next record.  Returns 1 with *rec filled, 0 at the end, or a
 * negative code: SM_EIO (read error; the rest of that file is skipped
 * and the next call continues with the next file), SM_EINTR when a
 * signal caught by sm_signals_catch() interrupted a read (nothing is
 * lost: the next call goes on).  Every byte of the input that is not
 * whitespace comes back in a record, with an error when it could not be
 * read as one (see struct sm_rawrec): the reader never skips the rest of
 * a file.
 */
int sm_input_next(struct sm_input *in, struct sm_rawrec *rec);
/* Bytes consumed so far and total size when known (-1), for progress. */
void sm_input_progress(struct sm_input *in, uint64_t *done, int64_t *total);
void sm_input_close(struct sm_input *in);

/* db.c: statements, the page cache, meta values, the schema */

/* The SQLite handle, for lib code only. */
struct sqlite3 *sm_db_handle(struct sm_db *db);

/*
 * Returns a prepared statement for sql, reset and with bindings cleared,
 * from a cache keyed by the address of sql: callers pass string literals.
 * The statement stays owned by the db.  Returns NULL with a message
 * (sm_errmsg) when it cannot be prepared.
 */
struct sqlite3_stmt *sm_db_stmt(struct sm_db *db, const char *sql);
/* Maps the last SQLite error of db to an SM_E* code and records its message. */
int sm_db_error(struct sm_db *db, int sqlite_rc, const char *what);

/* Runs a statement without results (DDL, pragmas); for lib code only. */
int sm_db_exec(struct sm_db *db, const char *sql);
/*
 * The page cache, in MiB.  SM_CACHE_MIB holds what most runs come back to
 * (upper b-tree levels, the pages being appended to); a larger cache only
 * buys fresh memory, which costs more to touch than the reads it saves on
 * pages a run visits once (an incremental sync).  SM_CACHE_KEYS_MIB is for
 * runs that probe every key of an endpoint (an import, a diff of a pair):
 * the key index of a million listings, about 21 MiB, is their working set.
 */
#define SM_CACHE_MIB		16
#define SM_CACHE_KEYS_MIB	40
int sm_db_cache(struct sm_db *db, int mib);

/* Meta values of the tenant file (name, key hash, ...); NULL if unset. */
char *sm_db_meta_get(struct sm_db *db, const char *key);
int sm_db_meta_set(struct sm_db *db, const char *key, const char *value);
/* The schema version the file is at, and the one this build knows. */
int sm_db_schema_version(struct sm_db *db);
int sm_schema_latest(void);

/* schema.c (generated from schema/NNN-*.sql) */
struct sm_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct sm_migration sm_migrations[];
extern const size_t sm_nmigrations;

/* check.c: an endpoint's hash_ignore */

/*
 * The effective hash_ignore of an endpoint: the config's global list plus
 * the endpoint's own (e may be NULL: targets use the global list only).
 * Returns a new NULL-terminated list (sm_strv_free) and its length in *n.
 */
char **sm_ignore_list(const struct sm_config *cfg,
    const struct sm_endpoint *e, size_t *n);

/* store.c: property rows, snapshots and the change log */

/* A property row of a source or target, as stored. */
struct sm_prop {
	enum sm_side side;
	int64_t owner;		/* source_id or target_id */
	int64_t id;		/* 0: no row yet */
	char *external_id;
	char *data;		/* canonical JSON */
	char hash[SM_HASH_HEX];
	int64_t seq;
	int64_t prev_seq;	/* for sm_change_log: seq before it; 0 none */
	int64_t deleted_at;	/* -1: live */
	int64_t created_at;
	int64_t updated_at;
	/* target rows only */
	char synced_hash[SM_HASH_HEX];	/* "" when never synced */
	int64_t source_id;	/* 0: none */
	char source_hash[SM_HASH_HEX];	/* "" when none */
	int manual;		/* has_manual_changes */
	char *warning;
};

void sm_prop_init(struct sm_prop *p, enum sm_side side, int64_t owner);
void sm_prop_free(struct sm_prop *p);
/*
 * Loads the row of external_id (n bytes) into p (freed first).  Returns 1
 * when found, 0 when not (p->id == 0), or an SM_E* code.
 */
int sm_prop_get(struct sm_db *db, struct sm_prop *p, const char *external_id,
    size_t n);
/* Loads the row with id; 1, 0 or an error as sm_prop_get. */
int sm_prop_get_id(struct sm_db *db, struct sm_prop *p, int64_t id);
/*
 * Writes p: an insert when p->id is 0 (p->id is set), else an update of
 * every column.  The caller has set data, hash, seq and the times.
 */
int sm_prop_put(struct sm_db *db, struct sm_prop *p);
/*
 * Snapshots property prop_id as it is stored now (data NULL when it is a
 * tombstone), with reason "update", "delete", "restore" or "take" and an
 * optional label; a "restore" snapshot also keeps the row's updated_at,
 * deleted_at and target bookkeeping (row_state) for sm-snapshot restore
 * --undo.  Returns 0 or an error; *id gets the snapshot id when id is not
 * NULL.
 */
int sm_snap_take(struct sm_run *run, enum sm_side side, int64_t prop_id,
    const char *reason, const char *label, int64_t *id);
/*
 * Appends a change of p to the log under number p->seq, which the caller
 * took from run->next_seq++ and wrote with the row (sm_prop_put first, so
 * that the row has its id).  prev_hash and warning may be NULL; p->prev_seq,
 * when not 0, is the seq the row had before, which an import puts back
 * when a later duplicate key undoes the change.
 */
int sm_change_log(struct sm_run *run, struct sm_prop *p, const char *op,
    const char *prev_hash, const char *warning);

/*
 * The rest of the store: every statement that names the property,
 * snapshot and change log tables (source_properties, target_properties,
 * snapshots, changes, sync_state) is in store.c.  Iterators call fn for
 * each row with strings valid until fn returns; fn's non-zero return
 * stops them and is returned (sm_prop_page: a positive one stops
 * quietly).
 */

/* A stored row as read: a source row, or a row or snapshot checked. */
struct sm_prop_row {
	int64_t id;
	const char *external_id;
	const char *data;	/* NULL: a snapshot of an absent property */
	size_t len;
	const char *hash;
	int deleted;		/* sync's source rows only */
	int64_t seq;		/* sync's source rows only */
};

/* A target row as sync decides on it, without its data. */
struct sm_target_row {
	int64_t id;		/* 0: none */
	char hash[SM_HASH_HEX];
	char synced_hash[SM_HASH_HEX];
	char source_hash[SM_HASH_HEX];
	int64_t source_id;
	int deleted;
	int64_t seq;
};

/* For sync.c: the source row of external_id, or of id, into fn (or none). */
int sm_prop_source_row(struct sm_db *db, int64_t source_id,
    const char *external_id, int (*fn)(const struct sm_prop_row *, void *),
    void *arg);
int sm_prop_source_row_id(struct sm_db *db, int64_t id,
    int (*fn)(const struct sm_prop_row *, void *), void *arg);
/* Fills r with the target row of external_id; r->id 0 when none. */
int sm_prop_target_row(struct sm_db *db, int64_t target_id,
    const char *external_id, struct sm_target_row *r);
/*
 * Target row *id (0: a new one, *id set) = source row s with the target's
 * hash, fed by source_id, at change seq and time now; clears any flag.
 */
int sm_prop_sync_write(struct sm_db *db, int64_t target_id, int64_t *id,
    const struct sm_prop_row *s, const char *hash, int64_t source_id,
    int64_t seq, int64_t now);
/* Makes target row id a tombstone that sync wrote, at seq and now. */
int sm_prop_sync_delete(struct sm_db *db, int64_t id, int64_t seq,
    int64_t now);
/* Flags target row id as a manual change with warning. */
int sm_prop_flag(struct sm_db *db, int64_t id, const char *warning);
/*
 * Takes target row id as it is as what sync last wrote, fed by source_id
 * (source_hash NULL: what sync took is the source's deletion).
 */
int sm_prop_sync_accept(struct sm_db *db, int64_t id, const char *source_hash,
    int64_t source_id);
/* The flagged rows of a target: their external_ids. */
int sm_prop_flagged_each(struct sm_db *db, int64_t target_id,
    int (*fn)(const char *, void *), void *arg);
/* The flagged rows of a target fed by source_id or none: id, external_id. */
int sm_prop_flagged_pair_each(struct sm_db *db, int64_t source_id,
    int64_t target_id, int (*fn)(int64_t, const char *, void *), void *arg);
int sm_prop_flagged_count(struct sm_db *db, int64_t source_id,
    int64_t target_id, uint64_t *n);
/* *ext = the external_id (malloc'd) of target row id if at seq, else NULL. */
int sm_prop_target_at_seq(struct sm_db *db, int64_t id, int64_t seq,
    char **ext);

/* The live rows of a source or target (flagged ones only with manual). */
int sm_prop_count(struct sm_db *db, enum sm_side side, int64_t owner,
    int manual, int64_t *n);
/* The created_at of the first row of a source or target; -1: no rows. */
int sm_prop_first_created(struct sm_db *db, enum sm_side side, int64_t owner,
    int64_t *at);

/* A property in a version: as it was at a time, and as it is now. */
struct sm_prop_view {
	int64_t id;
	const char *external_id;
	int present;		/* the version exists */
	const char *data;	/* of the version, when present */
	const char *hash;
	int64_t updated_at;	/* when the version was written */
	int64_t snap_id;	/* the snapshot holding it; 0: the row */
	int historical;		/* not the row as it is now */
	int cur_present;	/* the row is live */
	const char *cur_data;
	const char *cur_hash;
	/* target rows, as they are now */
	const char *synced_hash;
	const char *source;
	int manual;
	const char *warning;
};

/*
 * The rows of e (at < 0: every live one as it is now; else every row,
 * with its version at time at) of the external_ids in ids (a JSON array,
 * or NULL for all), flagged ones only with manual, by external_id.
 */
int sm_prop_versions(struct sm_db *db, const struct sm_endpoint *e,
    const char *ids, int manual, int64_t at,
    int (*fn)(const struct sm_prop_view *, void *), void *arg);
/*
 * A page of the live rows of e by id: after the id after, at most limit
 * (-1: all), flagged ones only with manual, only row id when id > 0.
 */
int sm_prop_page(struct sm_db *db, const struct sm_endpoint *e, int manual,
    int64_t id, int64_t after, int64_t limit,
    int (*fn)(const struct sm_prop_view *, void *), void *arg);
/*
 * The property record of sm-snapshot cat and the API's lists (SPEC §5.5),
 * one NDJSON line in b: id, external_id, data, hash, updated_at of the
 * version, and for a target its bookkeeping now (null for a version
 * older than the row's current one).
 */
void sm_prop_record(struct sm_buf *b, enum sm_side side,
    const struct sm_prop_view *v);

/* A snapshot as listed. */
struct sm_snap_rec {
	int64_t id;
	int is_source;
	const char *owner_name;	/* the source's or target's */
	const char *external_id;
	const char *hash;
	const char *reason;
	const char *label;
	int64_t taken_at;
	const char *data;
	int64_t property_id;
	int64_t run_id;		/* 0: not taken by a run */
};

/* The snapshots q selects (ids: q's as a JSON array, or NULL), by id. */
int sm_snap_each(struct sm_db *db, const struct sm_snap_query *q,
    const char *ids, int (*fn)(const struct sm_snap_rec *, void *),
    void *arg);
/* Snapshot id into fn; SM_ENOENT when there is none. */
int sm_snap_rec_get(struct sm_db *db, int64_t id,
    int (*fn)(const struct sm_snap_rec *, void *), void *arg);

/* A snapshot as restore needs it. */
struct sm_snap {
	int64_t id;
	enum sm_side side;
	int64_t owner;
	int64_t property_id;
	char *external_id;
	char *data;		/* NULL: the property did not exist */
	char hash[SM_HASH_HEX];
};

/* Loads snapshot id into s (sm_snap_free); SM_ENOENT when there is none. */
int sm_snap_get(struct sm_db *db, int64_t id, struct sm_snap *s);
void sm_snap_free(struct sm_snap *s);
/* Snapshots every live row of e (reason "take"); *n gets how many. */
int sm_snap_take_live(struct sm_db *db, const struct sm_endpoint *e,
    const char *label, int64_t taken_at, int64_t *n);
/* The restore snapshot of the absence row p replaced (it was created). */
int sm_snap_absent(struct sm_run *run, const struct sm_prop *p);

/* A restore snapshot with the row state it kept (row_state), for --undo. */
struct sm_snap_undo {
	int64_t property_id;
	const char *external_id;
	const char *data;	/* NULL: absent */
	size_t len;
	const char *hash;
	int has_state;		/* the rest is set */
	int64_t updated_at;
	int64_t deleted_at;	/* -1: live */
	const char *synced_hash;
	int64_t source_id;
	const char *source_hash;
	int manual;
	const char *warning;
};

/* The restore snapshots of e taken by run run_id, started at started. */
int sm_snap_restore_each(struct sm_db *db, const struct sm_endpoint *e,
    int64_t run_id, int64_t started,
    int (*fn)(const struct sm_snap_undo *, void *), void *arg);

/* The next change number: one past the log's last. */
int sm_change_next(struct sm_db *db, int64_t *seq);
/* The run that made change seq (*run_id 0: none logged) and its kind. */
int sm_change_run(struct sm_db *db, int64_t seq, int64_t *run_id,
    char *kind, size_t n);

/* A change of a run, as its event line prints it. */
struct sm_event {
	const char *op, *source, *target, *external_id, *hash, *prev_hash;
	const char *warning;
	const char *data;	/* a live target row's, now */
};

int sm_change_each_event(struct sm_db *db, const struct sm_run *run,
    int (*fn)(const struct sm_event *, void *), void *arg);

/* A change as sync reads the log. */
struct sm_change {
	int64_t seq;
	int64_t property_id;
	int target;		/* of a target row, else of a source row */
};

/*
 * Reads into v up to max changes of source_id or target_id numbered in
 * (from, before), in order; *n gets how many.
 */
int sm_change_read(struct sm_db *db, int64_t from, int64_t before,
    int64_t source_id, int64_t target_id, struct sm_change *v, size_t max,
    size_t *n);
/* How far the pair has read the log (sync_state); left as is when never. */
int sm_change_pos_get(struct sm_db *db, int64_t source_id, int64_t target_id,
    int64_t *source_seq, int64_t *target_seq);
/* The pair has seen everything up to seq, in run run_id. */
int sm_change_pos_put(struct sm_db *db, int64_t source_id, int64_t target_id,
    int64_t seq, int64_t run_id);

/*
 * sm-tenant check: every row (or with snapshots every snapshot) of a
 * source or target, not cached (what names a failure); the messages of
 * rows that break the tables' invariants, of the change log against the
 * rows.
 */
int sm_prop_each_stored(struct sm_db *db, enum sm_side side, int64_t owner,
    int snapshots, const char *what,
    int (*fn)(const struct sm_prop_row *, void *), void *arg);
int sm_prop_orphans(struct sm_db *db, int (*fn)(const char *, void *),
    void *arg);
int sm_change_log_check(struct sm_db *db, int (*fn)(const char *, void *),
    void *arg);

/*
 * sm-cleanup's deletes (the rules in cleanup.c) in the caller's
 * transaction: snapshots and tombstones before snap_cut (keep newest
 * snapshots kept per property), change log rows and runs before runs_cut.
 * Adds to st.
 */
int sm_prop_purge(struct sm_db *db, int64_t snap_cut, int64_t runs_cut,
    int keep, struct sm_cleanup_stats *st);

/* store.c, for import.c and diff.c */

/*
 * Loads only what an import decides on into p (side and owner set): id
 * (0: no row), hash, seq, deleted_at (0 for a tombstone, -1 live) and,
 * on a target, synced_hash.  Returns 1, 0 or an error as sm_prop_get.
 */
int sm_prop_head(struct sm_db *db, struct sm_prop *p, const char *key,
    size_t n);
/* A version of a property as an import writes it. */
struct sm_prop_version {
	const char *key;
	size_t keylen;
	const char *data;
	size_t len;
	const char *hash;
	int64_t seq;
	int64_t at;		/* updated_at, and created_at when new */
	int manual;		/* targets: has_manual_changes */
};
/*
 * Writes v into row p->id (live again), or inserts it when p->id is 0
 * (p->id set); on a target, a row no longer manual loses its warning.
 */
int sm_prop_write_version(struct sm_db *db, struct sm_prop *p,
    const struct sm_prop_version *v);
/* The change row seq: 1 with its prev_hash ("" none) and prev_seq, or 0. */
int sm_change_get(struct sm_db *db, int64_t seq, char prev_hash[SM_HASH_HEX],
    int64_t *prev_seq);
int sm_change_set_hash(struct sm_db *db, int64_t seq, const char *hash);
int sm_change_drop(struct sm_db *db, int64_t seq);
/* Removes the snapshots the run took of property p (key: its external_id). */
int sm_snap_drop_run(struct sm_run *run, const struct sm_prop *p,
    const char *key, size_t n);
/* The largest property id of a side (0: none). */
int sm_prop_max_id(struct sm_db *db, enum sm_side side, int64_t *max);
/* fn(id) for each live row of owner; a non-zero return stops with it. */
int sm_prop_live_ids(struct sm_db *db, enum sm_side side, int64_t owner,
    int (*fn)(int64_t id, void *arg), void *arg);

/* A source property and the target row of its external_id (diff). */
struct sm_prop_pair {
	const char *external_id;
	int source_deleted;
	const char *source_hash, *source_data;
	size_t source_len;
	int target_exists, target_deleted;
	const char *target_hash, *synced_hash, *taken_hash;
	int64_t target_source_id;
	const char *target_data;	/* NULL: none */
	size_t target_len;
};
/*
 * fn for every property of source with its row in target, by external_id,
 * only those of ids (a JSON array text) when not NULL.
 */
int sm_prop_pairs(struct sm_db *db, int64_t source_id, int64_t target_id,
    const char *ids, int (*fn)(const struct sm_prop_pair *, void *),
    void *arg);
/* A property that changed after a time, and its earliest snapshot since. */
struct sm_prop_then {
	const char *external_id;
	int created_after, updated_after, deleted;
	const char *data;	/* now */
	size_t len;
	int snapshot;		/* a snapshot was taken after the time */
	const char *then;	/* its data (NULL: a tombstone) */
	size_t thenlen;
};
/* fn for each property of owner written or snapshotted after since (ms). */
int sm_prop_since(struct sm_db *db, enum sm_side side, int64_t owner,
    int64_t since, const char *ids,
    int (*fn)(const struct sm_prop_then *, void *), void *arg);
/* A snapshot, or the current version of its property. */
struct sm_version {
	int64_t source_id, target_id, property_id;
	char *external_id;
	char *data;		/* NULL: absent */
};
/* Loads snapshot id; SM_ENOENT when there is none. */
int sm_snap_version(struct sm_db *db, int64_t id, struct sm_version *v);
/* The property of snapshot s as it is now (data NULL when gone). */
int sm_prop_version_now(struct sm_db *db, const struct sm_version *s,
    struct sm_version *v);
void sm_version_free(struct sm_version *v);

/* import.c: its write path under sm-pull's hooks (pull.c) */

struct sm_import_hooks {
	const char *kind;	/* of the run: "pull" */
	/* The input (struct sm_records_spec's feed). */
	int (*feed)(struct sm_records *l, void *arg);
	/*
	 * A record before it is decided against its row r (r->id 0: none):
	 * 0 imports it, 1 leaves it (its row, if any, is seen and counted
	 * unchanged), < 0 stops the run.
	 */
	int (*gate)(const struct sm_record *rec, const struct sm_prop *r,
	    void *arg);
	/* complete: the rows that can be absent (as sm_prop_live_ids). */
	int (*rows)(struct sm_db *db, enum sm_side side, int64_t owner,
	    int (*fn)(int64_t id, void *arg), void *arg);
	/*
	 * complete: row id was not seen: 0 tombstones it (always a manual
	 * change), 1 leaves it, < 0 stops the run.
	 */
	int (*absent)(int64_t id, void *arg);
	/* The run's stats as its runs row keeps them (b is reset). */
	void (*stats)(const struct sm_import_stats *st, struct sm_buf *b,
	    void *arg);
	void *arg;
};

/* sm_import() over h's input, under its hooks, with o->complete as set. */
int sm_import_with(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, const struct sm_import_hooks *h,
    const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run);

/* store.c: the outbox of a target with a connection (schema/007) */

/*
 * sync.c: queues a change it decided (action "create", "update" or
 * "delete") of target row prop_id at change number seq (force: over a
 * manual change, --overwrite-manual, delivered without comparing with
 * what the target holds): one row per
 * record, the newest decision winning (pending again, its place in the
 * queue kept).
 */
int sm_outbox_queue(struct sm_db *db, int64_t target_id, int64_t prop_id,
    const char *external_id, const char *action, int force, int64_t seq,
    int64_t now);

/* A pending change with its target row as it is now. */
struct sm_outbox_row {
	const char *external_id;
	int64_t property_id;
	int64_t seq;		/* the newest decision's change number */
	int64_t first_seq;	/* its place in the queue */
	int64_t queued_at;
	const char *action;	/* as sync decided it last */
	const char *sent_hash;	/* sent, not acknowledged: NULL none, else
				   hashes ("-" a delete) separated by ' ' */
	const char *data;	/* the row's now (NULL: a tombstone) */
	size_t len;
	const char *hash;
	int deleted;		/* a tombstone, or the row is gone */
	const char *delivered_hash;	/* NULL: none */
	int manual;		/* flagged: held */
	const char *warning;
	int force;		/* deliver without comparing */
};

/*
 * Pending rows of target_id after first_seq after, oldest first, at most
 * limit; fn's positive return stops quietly (0), a negative one is
 * returned.
 */
int sm_outbox_each(struct sm_db *db, int64_t target_id, int64_t after,
    int64_t limit, int (*fn)(const struct sm_outbox_row *, void *),
    void *arg);
/*
 * Notes a hash of target row prop_id about to be sent ("-": a delete;
 * NULL: forget them), in the sent table (schema/008).
 */
int sm_outbox_sent(struct sm_db *db, int64_t prop_id, const char *sent_hash);
/*
 * The sent hashes' list (space-separated, "-" a delete), the one format
 * of sm_outbox_sent: whether it has hash (list may be NULL), and hash
 * added to *list (a malloc'd string or NULL) unless it has it.
 */
int sm_sent_has(const char *list, const char *hash);
void sm_sent_add(char **list, const char *hash);
/*
 * The target acknowledged version hash (NULL: a delete) of row prop_id:
 * its delivered_hash, and the outbox row goes unless a newer decision
 * (another seq) took it over.
 */
int sm_outbox_delivered(struct sm_db *db, int64_t target_id,
    const char *external_id, int64_t prop_id, int64_t seq,
    const char *hash);
/*
 * The target refused the change at seq: failed, with error; the hashes
 * sent of target row prop_id forgotten.
 */
int sm_outbox_fail(struct sm_db *db, int64_t target_id,
    const char *external_id, int64_t prop_id, int64_t seq,
    const char *error);
/*
 * The target no longer holds what was last delivered of row prop_id: a
 * manual change, flagged with warning (sync holds it back from now on).
 */
int sm_outbox_conflict(struct sm_db *db, int64_t prop_id,
    const char *warning);
/* Failed rows of target_id (0: all) pending again; *n how many. */
int sm_outbox_retry(struct sm_db *db, int64_t target_id, int64_t *n);

struct sm_outbox_status {
	int64_t pending, held, failed;
	int64_t oldest_pending;	/* queued_at; -1: none */
};
int sm_outbox_status(struct sm_db *db, int64_t target_id,
    struct sm_outbox_status *st);
/*
 * What sm_outbox_status counts as pending, alone, from the indexes: the
 * pending rows less the held ones (few, in the index of flagged rows),
 * where sm_outbox_status reads the target row of each.  0 or an error.
 */
int sm_outbox_pending(struct sm_db *db, int64_t target_id, int64_t *n);
/* The failed rows of target_id, oldest first, with their reason. */
int sm_outbox_failed_each(struct sm_db *db, int64_t target_id,
    int (*fn)(const char *external_id, const char *error, void *),
    void *arg);

/* store.c: what sm-pull reads of a target row's delivery */

/*
 * A row's sent hashes are a few at most (one per push killed in
 * flight); longer lists are cut, which can only make pull see a manual
 * change where a lost acknowledgement was.
 */
#define SM_PULL_SENT_MAX	(8 * SM_HASH_HEX)

struct sm_pull_row {
	char delivered[SM_HASH_HEX];	/* "" when none */
	int64_t seq;		/* of its outbox row; 0: none */
	int del;		/* the outbox row is a delete */
	int has_sent;
	char sent[SM_PULL_SENT_MAX];	/* its sent hashes (schema/008) */
};
/*
 * Two reads, so that a record found as delivered costs one: the
 * delivered hash of row prop_id into r (the rest of r cleared), then,
 * when pull needs them, its outbox row's fields (target_id, external_id).
 * 0 or an error.
 */
int sm_pull_delivered(struct sm_db *db, int64_t prop_id,
    struct sm_pull_row *r);
int sm_pull_outbox(struct sm_db *db, int64_t target_id,
    const char *external_id, struct sm_pull_row *r);
/* The target rows (tombstones too) with a delivered hash: fn(id). */
int sm_pull_delivered_ids(struct sm_db *db, enum sm_side side,
    int64_t target_id, int (*fn)(int64_t id, void *arg), void *arg);

/* push.c: its pure parts */

/* What delivering a row is: "delete", else "create" when none was. */
const char *sm_push_action(int deleted, const char *delivered_hash);
/*
 * The wait before try (1, 2, ...) in ms: base doubling, at most 30 s,
 * jittered over its upper half by rnd (any non-negative number).
 */
long sm_push_backoff(long base, int try, long rnd);

/* run.c: a run's beginning and end, inside its transaction */

/*
 * Starts a run inside the caller's open transaction: reads the next change
 * number and inserts the runs row (status running).  Returns 0 or an
 * SM_E* code.
 */
int sm_run_begin(struct sm_db *db, struct sm_run *run, const char *kind,
    const struct sm_endpoint *source, const struct sm_endpoint *target);
/* Sets status, stats (a JSON object text) and finished_at of the row. */
int sm_run_finish(struct sm_run *run, const char *status, const char *stats,
    const char *error);
/*
 * After a rollback: logs the run that did not happen, in a transaction of
 * its own, with status "failed" or "interrupted" and the error.
 */
int sm_run_log_failure(struct sm_run *run, const char *status,
    const char *error);
/*
 * Ends a run whose transaction is open, with rc the outcome of its work.
 * When rc is 0 and no signal is pending (sm_interrupted()): commits, or
 * in a dry run rolls back, and calls done(db, run, arg) (may be NULL)
 * once the outcome is final and before it is reported: after the commit,
 * before a dry run's rollback.  Once committed, signals no longer
 * interrupt (sm_signals_committed()): done runs to its end.  Otherwise,
 * or when the commit fails: rolls back and logs the run as failed or
 * interrupted (not a dry run, not a run never begun, not a busy tenant).
 * Returns 0 or the error, its message kept for sm_errmsg().
 */
int sm_run_end(struct sm_db *db, struct sm_run *run, int rc, int dry_run,
    int (*done)(struct sm_db *, const struct sm_run *, void *), void *arg);

/* conn.c: a target's connection (the rest is in driver.h) */

struct sm_conn;
/*
 * 1 when target t has a connection: its config, filled in by the config
 * file's targets.NAME, says where (url, or path for a website or file).
 */
int sm_conn_has(const struct sm_config *cfg, const struct sm_endpoint *t);
/*
 * Checks the stored config of target t when it is added or changed
 * (endpoint.c): no literal secret; when it says where, the keys of its
 * type, a url a driver reads, a table, the driver's check.  0 or
 * SM_ECONFIG naming the key.
 */
int sm_conn_check_stored(const struct sm_endpoint *t);
/*
 * The connection of t as it is used: the merged config, checked, with
 * ${NAME} expanded and password_file/header_file read, and its driver.
 * SM_ECONFIG for no connection, an unset variable, an unreadable file,
 * no driver.  Freed with sm_conn_free().
 */
int sm_conn_open(const struct sm_config *cfg, const struct sm_endpoint *t,
    struct sm_conn *c);
void sm_conn_free(struct sm_conn *c);
/* The string value of key in c's config, or NULL; valid while c is. */
const char *sm_conn_str(const struct sm_conn *c, const char *key);

/* import.c: the decision of an import */

/*
 * The mass-delete guard of import --complete and of a point-in-time
 * restore (SPEC §5.2, §5.5): returns 1 when deleting n of the live rows an
 * endpoint had is more than ratio (import.max_delete_ratio) allows, else
 * 0.  Deleting nothing is always allowed.
 */
int sm_delete_guard(uint64_t n, uint64_t live, double ratio);
/*
 * What an import does with one record against the stored row of its key
 * (the table at the top of import.c), and with --complete with a live row
 * the input did not name.
 */
enum sm_import_op {
	SM_IMPORT_CREATE,	/* no row: a new one */
	SM_IMPORT_REVIVE,	/* a tombstone: snapshot, live again, "create" */
	SM_IMPORT_UPDATE,	/* a live row, another hash: snapshot, "update" */
	SM_IMPORT_UNCHANGED,	/* a live row, the same hash: nothing */
	SM_IMPORT_AGAIN,	/* a key named again, the hash stored now */
	SM_IMPORT_RECHANGE,	/* a key named again, found unchanged first,
				   another hash now: an update after all */
	SM_IMPORT_REWRITE,	/* a key named again whose row this run wrote:
				   the row and its change take the new hash */
	SM_IMPORT_UNDO,		/* ... back to the hash before the run: the
				   change and its snapshot go */
	SM_IMPORT_DELETE,	/* --complete: a live row not named */
	SM_IMPORT_KEEP		/* --complete: named, or a tombstone */
};

/* One record (or row, for --complete) as import sees it. */
struct sm_import_case {
	int exists, deleted;	/* a row of the key; a tombstone */
	const char *hash;	/* its hash */
	const char *incoming;	/* the record's hash; NULL: --complete */
	int seen;		/* the input named the key before */
	int written;		/* this run wrote the row (seen only) */
	int logged;		/* and its change row is there */
	const char *before;	/* that change's prev_hash (NULL: none) */
};

/* The decision for c (pure: no I/O). */
enum sm_import_op sm_import_decide(const struct sm_import_case *c);

/* sync.c: the decision of a sync */

/* What sync does with one property: the table at the top of sync.c. */
enum sm_sync_op {
	SM_SYNC_NONE,		/* nothing to do */
	SM_SYNC_CREATE,
	SM_SYNC_UPDATE,
	SM_SYNC_DELETE,
	SM_SYNC_CONFLICT,	/* manual change kept, the source changed too */
	SM_SYNC_SKIP,		/* manual change kept */
	SM_SYNC_SKIP_GONE,	/* source deleted it, manual change kept */
	SM_SYNC_SKIP_OTHER,	/* the row is fed by another source */
	SM_SYNC_ACCEPT		/* --accept-manual: the manual version stays */
};

/*
 * One property as sync sees it.  Hashes are "" when absent: target_hash
 * for no row, synced_hash when sync never wrote the row (or deleted it),
 * taken_hash when sync never took a source version.
 */
struct sm_sync_case {
	int source_deleted;
	const char *source_hash;
	int64_t source_id;
	int target_exists, target_deleted;
	const char *target_hash, *synced_hash, *taken_hash;
	int64_t target_source_id;	/* 0: unlinked */
	int overwrite_manual, accept_manual;
};

/* The decision for c (pure: no I/O). */
enum sm_sync_op sm_sync_decide(const struct sm_sync_case *c);
/* "create", "update", "delete", "conflict", "skip", or NULL for NONE/ACCEPT. */
const char *sm_sync_op_name(enum sm_sync_op op);
/* The warning of a skip or conflict, else NULL. */
const char *sm_sync_op_warning(enum sm_sync_op op);

/* diff.c: the difference of two JSON values */

/*
 * Appends to out a JSON array of the RFC 6902 operations that turn old
 * into new: objects compared key by key in byte order, arrays element by
 * element by index (then "add" at the end, or "remove" from the highest
 * index down), anything else "replace"d.  Each operation is {"op","path",
 * "from","value"}: path a JSON Pointer (RFC 6901), from the old value of
 * a "replace" or "remove", value the new one of an "add" or "replace",
 * both in canonical form.  An invalid old or new is an absent document:
 * the whole is one add (path "") or remove.  Does not consume old or new.
 * Returns the number of operations (0: equal), or SM_EDATA when a value
 * has no canonical form.
 */
int sm_diff_json(jv old, jv new, struct sm_buf *out);

/* patch.c: JSON merge patch (RFC 7386) */

/* Applies patch to target; consumes both, returns a new reference. */
jv sm_merge_patch(jv target, jv patch);

#endif
