/* See LICENSE file for copyright and license details. */
/*
 * sm.h: the library (lib/libsm.a) as its front ends use it: the commands
 * (bin/) and the HTTP API (lib/api/), from the bottom layer up:
 *
 *   base        util.c: errors, wording, allocation, buffers, time, slugs,
 *               signals, string lists
 *   config      config.c: the settings of SPEC §3 (YAML, environment)
 *   records     json.c the strict parser; canon.c the canonical form, the
 *               hash and the key rule (SPEC §2); records.c the one record
 *               loop (input.c splits, fastrec.c or libjq parses); map.c a
 *               source's jq map, run in a process of its own
 *   output      jw.c NDJSON, keys in SPEC §4's order; events.c a run's
 *               events
 *   store       db.c opens, migrates (schema/NNN-*.sql), transactions;
 *               tenant.c, endpoint.c; store.c the only SQL on properties,
 *               snapshots, the change log and the sync cursor
 *   runs        run.c the run log, a run's clock and change numbers
 *   operations  import.c, sync.c (each decision in a table at its top),
 *               diff.c, snapshot.c (cat, history, restore), cleanup.c,
 *               check.c
 *   delivery    conn.c a target's connection (SPEC §5.8) and the table of
 *               drivers; push.c the outbox delivered, pull.c the target
 *               system read back; one file a driver behind driver.h:
 *               drv-pg.c, drv-sqlite.c, drv-files.c, drv-http.c
 *
 * lib/ writes only to a FILE it is given (stderr only when out of memory)
 * and words no option: errors are SM_E* codes with sm_errmsg(), options
 * named by marks that each front end words (sm_wording_set).  Its own
 * plumbing (statements, store rows, runs' internals, migrations, the fast
 * path, the raw reader, the decisions) is in sm-private.h, for lib/ and
 * the unit tests only.
 */
#ifndef SM_H
#define SM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jv.h>

#define SM_VERSION		"0.1.0"
#define SM_CANON_VERSION	1
#define SM_HASH_ALGORITHM	"xxh3-128"
#define SM_HASH_HEX		33	/* 32 hex digits and a NUL */
#define SM_SLUG_MAX		63
#define SM_MAX_DEPTH		256

/* Declared below, used before. */
struct sm_db;
struct sm_endpoint;
struct sm_run;

/*
 * Error codes.  A lib function returns 0 on success or one of these; each
 * is the negated sysexits(3) status that the commands exit with, so that
 * sm_exitcode() is the only mapping (SPEC §4).
 */
enum {
	SM_OK = 0,
	SM_EUSAGE = -64,	/* bad option value, destructive verb without --yes */
	SM_EDATA = -65,		/* bad input data, newer schema */
	SM_ENOENT = -66,	/* no such tenant, source, target, snapshot, file */
	SM_EINTERNAL = -70,	/* internal error, broken invariant */
	SM_EEXIST = -73,	/* cannot create; the name exists already */
	SM_EIO = -74,		/* read or write failure, SQLITE_IOERR, SQLITE_FULL */
	SM_EBUSY = -75,		/* tenant busy: try again later */
	SM_EPERM = -77,		/* bad API key, permission */
	SM_ECONFIG = -78,	/* configuration error */
	SM_EINTR = -130		/* interrupted by SIGINT or SIGTERM */
};

/*
 * util.c: errors, wording, allocation, buffers, files, time, slugs,
 * signals, string lists
 */

/*
 * Records the message of the last error of this thread and returns rc, so
 * that "return sm_error(SM_ENOENT, "no source '%s'", name);" reads well.
 * The message is fetched with sm_errmsg(); it is valid until the next
 * sm_error() of the same thread.
 */
int sm_error(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *sm_errmsg(void);
/*
 * Diagnostics are worded by their front end: a lib message names an
 * option or parameter by a mark, "{allow_mass_delete}", and each front end
 * gives its words for the marks ("--allow-mass-delete" on the command
 * line, "allow_mass_delete=true" in the API) with sm_wording_set(), once,
 * before any work.  Only a format is worded, never its arguments.
 */
struct sm_wording {
	const char *mark;	/* without braces; NULL ends the table */
	const char *words;
};
void sm_wording_set(const struct sm_wording *w);
/* Writes fmt with its marks worded into out; -1 if it does not fit. */
int sm_word(const char *fmt, char *out, size_t size);
/*
 * The code of that last error (SM_EINTERNAL when there was none): for a
 * caller that got only NULL back, as from sm_db_stmt().
 */
int sm_errcode(void);
/* Maps an SM_E* code to the process exit status; 0 stays 0. */
int sm_exitcode(int rc);

/* Allocators that never return NULL: they print and exit 70 when out of memory. */
void *sm_xmalloc(size_t n);
void *sm_xcalloc(size_t nmemb, size_t size);
void *sm_xrealloc(void *p, size_t n);
char *sm_xstrdup(const char *s);
char *sm_xstrndup(const char *s, size_t n);

/* A growable byte buffer; always NUL-terminated after any append. */
struct sm_buf {
	char *data;
	size_t len;
	size_t cap;
};
void sm_buf_init(struct sm_buf *b);
void sm_buf_free(struct sm_buf *b);
void sm_buf_reset(struct sm_buf *b);
void sm_buf_grow(struct sm_buf *b, size_t extra);
void sm_buf_add(struct sm_buf *b, const void *p, size_t n);
void sm_buf_addc(struct sm_buf *b, int c);
void sm_buf_adds(struct sm_buf *b, const char *s);
void sm_buf_addf(struct sm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* sm_buf_addf() of a format with marks, worded. */
void sm_buf_addw(struct sm_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string with the escaping of the canonical form. */
void sm_buf_add_jstr(struct sm_buf *b, const char *s, size_t n);
/*
 * The whole of the file at path: returns in *out a new NUL-terminated
 * string.  SM_ENOENT when it cannot be opened, SM_EIO when not read.
 */
int sm_file_read(const char *path, char **out);

/*
 * Time, in milliseconds since the epoch, UTC.  sm_now() is $SM_NOW when it
 * is set and not empty, else the real clock.  sm_now_check() returns 0
 * when $SM_NOW is unset, empty or a full ISO 8601 UTC time
 * ("2026-11-29T05:00:00Z", with optional fraction), else SM_ECONFIG with
 * a message naming the variable and its value; sm_config_load() calls it,
 * so that no command runs on the real clock when SM_NOW is mistyped.
 * sm_time_parse() accepts ISO 8601 UTC ("2026-11-29T05:00:00Z", with
 * optional fraction), a date ("2026-11-29"), or an age before now ("30d",
 * "12h", "15m", "10s"); returns 0 or SM_EUSAGE with a message.
 * sm_time_format() writes "2026-11-29T05:00:00Z" (".123" before the Z when
 * the milliseconds are not zero) into out, which holds SM_TIME_MAX bytes.
 */
#define SM_TIME_MAX 32
int64_t sm_now(void);
int sm_now_check(void);
int sm_time_parse(const char *s, int64_t now, int64_t *ms);
void sm_time_format(int64_t ms, char out[SM_TIME_MAX]);

/* Returns 1 when s is a valid tenant slug: [a-z0-9][a-z0-9-]{0,62}. */
int sm_slug_valid(const char *s);
/*
 * Derives a slug from a display name (UTF-8): lower case, the letters of
 * Latin-1 Supplement and Latin Extended-A to their ASCII base ("Peñalver"
 * gives "penalver", "ß" "ss", "Æ" "ae", "Ł" "l"), combining marks dropped,
 * runs of anything else (punctuation, CJK, emoji) one '-', no leading or
 * trailing '-', at most 63 bytes.  Returns 0, or SM_EUSAGE with a message
 * naming the name when nothing usable is left.
 */
int sm_slug_from_name(const char *name, char out[SM_SLUG_MAX + 1]);

/*
 * Signal handling for runs (SPEC §4 "Atomicity"): sm_signals_catch()
 * installs SIGINT/SIGTERM handlers that only set a flag; sm_interrupted()
 * reads it.  Long loops poll it and roll back with SM_EINTR.  Once the
 * run's COMMIT succeeded, sm_signals_committed() (sm_run_end() calls it)
 * ends that: sm_interrupted() is 0 from then on, so the run's output is
 * printed to the end and its exit status is the committed run's; writes
 * are restarted after a signal (SA_RESTART) instead of failing with
 * EINTR; the first signal after the commit is only remembered, for
 * sm_signals_deferred() (its number, or 0), and a second one takes the
 * default action (ends the process).  sm_signals_committed() does nothing
 * when sm_signals_catch() was never called (sm-serve's runs).
 */
void sm_signals_catch(void);
int sm_interrupted(void);
/* SM_EINTR ("interrupted: nothing was written") when sm_interrupted(). */
int sm_interrupt_check(void);
int sm_signals_deferred(void);
/* Raises the flag a caught signal raises (a server that waits for its
 * signals itself uses it to stop the runs in progress). */
void sm_interrupt(void);

/* Splits "a,b,c" into a NULL-terminated list (empty items dropped). */
char **sm_strv_split(const char *s, size_t *n);
void sm_strv_free(char **v);
/* strcmp of two char * elements, for qsort of a string list. */
int sm_strp_cmp(const void *a, const void *b);

/* config.c */

/* A tolerance: at most count, or at most percent of a total. */
struct sm_limit {
	uint64_t count;
	double percent;		/* < 0: count applies */
};

/*
 * The settings of SPEC §3.  Strings and lists are owned by the struct and
 * freed by sm_config_free().
 */
struct sm_config {
	char *path;			/* file loaded, or NULL when none */
	char *data_dir;
	int retention_days;		/* 30 */
	int keep_snapshots;		/* 1 */
	char **hash_ignore;		/* NULL-terminated list */
	size_t nhash_ignore;
	int busy_timeout_ms;		/* 5000 */
	size_t max_record_bytes;	/* 16 MiB */
	double import_max_delete_ratio;	/* 0.5 */
	struct sm_limit import_max_rejects;	/* 0 */
	int runs_days;			/* 90 */
	char *serve_listen;		/* "127.0.0.1:8000" */
	int serve_threads;		/* 4 */
	size_t serve_max_body_bytes;	/* 64 MiB */
	char *serve_admin_key_file;	/* NULL */
	int map_timeout_ms;		/* 1000 */
	size_t map_max_bytes;		/* 64 MiB */
	int serve_tenant_requests;	/* 8: of one tenant at once */
	int serve_timeout_s;		/* 15: to send a request, and more */
	int serve_max_connections;	/* 1000 */
	int serve_open_registration;	/* 0: POST /tenants needs the admin
					   key */
	int push_retries;		/* 5: tries of a transient failure */
	int push_parallel;		/* 4: HTTP requests in flight */
	/*
	 * targets.NAME: the connections of this machine, a JSON object of
	 * objects (YAML scalars as strings), or NULL when none.
	 */
	char *targets;
};

/*
 * Loads the configuration: defaults, then the first file found of path
 * (from -c; an error if it does not exist), $SM_CONFIG,
 * $XDG_CONFIG_HOME/sm/config.yaml (or ~/.config/sm/config.yaml),
 * /etc/sm/config.yaml, then the environment ($SM_DATA_DIR,
 * $SM_RETENTION_DAYS, ... one SM_ variable per key, dots as '_'), and
 * checks $SM_NOW.  Command-line options are applied by the caller
 * afterwards.  Returns 0, or SM_ECONFIG with a message naming file, line
 * and key, or the variable.
 * On error *cfg is still valid (defaults) and must be freed.
 */
int sm_config_load(struct sm_config *cfg, const char *path);
/* Same, from a YAML text in memory (for tests); name is used in messages. */
int sm_config_load_string(struct sm_config *cfg, const char *name,
    const char *text, size_t len);
void sm_config_defaults(struct sm_config *cfg);
/*
 * A tolerance from its text: a count ("5") or a percentage from 0 to
 * 100 ("1%").  Returns 0, or -1 when s is neither.
 */
int sm_limit_parse(const char *s, struct sm_limit *l);
/* Whether n of total is within l. */
int sm_limit_allows(const struct sm_limit *l, uint64_t n, uint64_t total);
void sm_config_free(struct sm_config *cfg);
/* Replaces data_dir (from -D). */
void sm_config_set_data_dir(struct sm_config *cfg, const char *dir);

/* json.c: the strict pre-scan and parser */

/*
 * Where and why a text was refused.  offset is the byte offset in the text
 * of the problem, reason a short lower-case message ("invalid UTF-8",
 * "number 1e400 cannot be stored exactly: quote it as a string", ...).
 */
struct sm_json_err {
	size_t offset;
	char reason[160];
};

/*
 * Checks that text is exactly one RFC 8259 JSON value (with surrounding
 * whitespace) that libjq 1.6 would read without altering it: valid UTF-8,
 * no lone surrogate escapes, nesting of at most SM_MAX_DEPTH, and no
 * number that a double cannot hold exactly (SPEC §2).
 * Returns 0 or SM_EDATA with *err filled.
 */
int sm_json_check(const char *text, size_t len, struct sm_json_err *err);

/*
 * sm_json_check() and then libjq's parser.  On success returns 0 and
 * stores a new reference in *out; on failure SM_EDATA, *err filled and *out
 * untouched.
 */
int sm_json_parse(const char *text, size_t len, jv *out,
    struct sm_json_err *err);

/* canon.c: canonical form, hash and the key rule */

/*
 * Appends the canonical form (version 1, SPEC §2) of v to b.  Top-level
 * object members whose key is in ignore (n entries) are left out.  Does
 * not consume v.  Returns 0, or SM_EDATA when v holds something the form
 * cannot express (a non-finite number, an invalid value).
 */
int sm_canon(jv v, const char *const *ignore, size_t n, struct sm_buf *b);

/*
 * Writes the canonical form of the number d into out, NUL-terminated:
 * an integral value with |d| <= 2^53 as a plain integer, any other the
 * shortest "%.{p}g" (p = 1...17) that reads back as d.  Returns its
 * length, or -1 when d is NaN or infinite (out is then "").
 */
#define SM_NUM_MAX 32
int sm_num_format(double d, char out[SM_NUM_MAX]);

/* XXH3-128 of the bytes, as 32 lowercase hex digits, canonical byte order. */
void sm_hash_hex(const void *p, size_t n, char out[SM_HASH_HEX]);

/*
 * The canonical form of rec in data (reset first) and the hash of rec
 * without the ignored top-level fields in hash.  Does not consume rec.
 * Returns 0, or SM_EDATA as sm_canon() and for an integral number beyond
 * 2^53 that the form would print without an exponent (stored, it would
 * not read back: SPEC §2 refuses such literals).
 */
int sm_rec_digest(jv rec, const char *const *ignore, size_t n,
    struct sm_buf *data, char hash[SM_HASH_HEX]);

/*
 * The key of a record (SPEC §2): external_id, else id, else id_field (may
 * be NULL).  Strings are taken as they are, integers printed in decimal,
 * so 7 and "7" give "7".  Writes the key into key (reset first).  Returns 0,
 * or SM_EDATA with a message when there is no usable key (missing, empty,
 * null, non-integral number, or another type).
 */
int sm_rec_key(jv rec, const char *id_field, struct sm_buf *key);
/* The same, and in *field (when not NULL) the member that named it. */
int sm_rec_key_field(jv rec, const char *id_field, struct sm_buf *key,
    const char **field);

/* records.c: the one record loop over an input */

/* A record as the loop hands it on: its key, canonical form and hash. */
struct sm_record {
	const char *file;	/* the operand ("-": stdin), or the buffer's name */
	size_t line;		/* where its raw record starts */
	uint64_t rawno;		/* which raw record (0, 1, ...): a map may
				   make several records of one */
	const char *key;
	size_t keylen;
	const char *data;	/* canonical form, everything */
	size_t len;
	const char *hash;	/* of the form without the ignored fields */
};

/*
 * A warning of a run, as data for its front end to word: where (file
 * NULL: about the whole run) and what.
 */
struct sm_warning {
	const char *file;
	size_t line;
	uint64_t rawno;
	const char *detail;
};

/* Why the loop refused a raw record or a record the map made of it. */
enum sm_reject_code {
	SM_REJECT_INPUT = 1,	/* a structural fault of the input */
	SM_REJECT_TOO_LONG,	/* longer than max_record_bytes */
	SM_REJECT_JSON,		/* not one valid JSON text */
	SM_REJECT_MAP,		/* the map failed on it */
	SM_REJECT_RECORD,	/* no object, no usable key, no canonical form */
	SM_REJECT_PATCH		/* the spec's patch refused it */
};

/*
 * A reject: where (file, line, the byte offset of the raw record in its
 * file and its text), code and detail: a reason worded for any front end
 * (no option names).  text is the raw record (a prefix when overlong;
 * empty for a fault between records), valid during the callback.
 */
struct sm_reject {
	enum sm_reject_code code;
	const char *file;
	size_t line;
	uint64_t offset;
	const char *text;
	size_t len;
	int overlong;
	uint64_t rawno;
	const char *detail;
};

struct sm_records;

/*
 * What to walk and whom to call.  The input: the files (see
 * sm_input_open; none: stdin), or, when buf is not NULL, len bytes in
 * memory read as a file called name (an HTTP body).  e gives the map (a
 * source's), id_field and, with cfg, the ignore list; cfg the limits.
 * spill as in sm_input_open (--rejects).  Every raw record ends in calls
 * of record (one for each record it makes: the map may make none or
 * several) or reject; a non-zero return stops the loop with that code.
 * patch, when not NULL, sees each parsed record (and may replace it)
 * with its key before its form is made: 0 goes on, 1 refuses it (the
 * reason in why), < 0 stops.  progress, when not NULL, is called after
 * each raw record with the bytes read and the total (-1: unknown).
 */
struct sm_records_spec {
	char *const *files;
	size_t nfiles;
	const char *buf;
	size_t len;
	const char *name;
	int one_array;		/* buf is one array (sm_input_one_array) */
	const struct sm_config *cfg;
	const struct sm_endpoint *e;
	FILE *spill;
	int (*record)(const struct sm_record *rec, void *arg);
	int (*reject)(const struct sm_reject *rej, void *arg);
	int (*patch)(jv *rec, const char *key, size_t keylen,
	    struct sm_buf *why, void *arg);
	void (*progress)(uint64_t bytes, int64_t total, void *arg);
	/*
	 * When not NULL, the input instead of files or buf: called once by
	 * sm_records_each(), it hands each record it has to
	 * sm_records_feed() (sm-pull: a driver's list); its return is the
	 * walk's.
	 */
	int (*feed)(struct sm_records *l, void *arg);
	void *arg;
};

/*
 * Makes the loop of spec (kept, not copied): compiles the map, so that a
 * bad one fails before the caller starts (SM_ECONFIG).  *l is set even
 * then, for sm_records_close().
 */
int sm_records_open(struct sm_records **l, const struct sm_records_spec *spec);
/*
 * Opens the input and walks it through the one splitter (input.c),
 * each raw record by the fast path (fastrec.c: no map, no patch) or by
 * libjq (parse, map, key, patch, form), to the callbacks.  Returns 0 at
 * the end, the code a callback stopped it with, SM_ENOENT/SM_EIO (a
 * file), SM_EINTR ("interrupted: nothing was written").
 */
int sm_records_each(struct sm_records *l);
/*
 * From spec's feed: one record of len bytes of JSON text named name by
 * its origin (a target's key, a file name).  name is its key (the key
 * rule is not applied: the origin holds the record under that name) and
 * the file of its reject; error, when not NULL, says why the origin's
 * item is no record (text may then be NULL): it is rejected with it.
 * Returns what the callbacks returned, or SM_EINTR.
 */
int sm_records_feed(struct sm_records *l, const char *name, const char *text,
    size_t len, const char *error);
void sm_records_close(struct sm_records *l);

/* map.c: the jq program of a source */

struct sm_map;

#define SM_MAP_TIMEOUT_MS	1000		/* map_timeout_ms */
#define SM_MAP_MAX_BYTES	((size_t)64 << 20)	/* map_max_bytes */

/*
 * Refuses a program (len bytes) that names what a map may not use:
 * include, import, module, modulemeta, get_search_list, input, inputs,
 * input_filename, input_line_number, debug, stderr, env, $ENV,
 * get_prog_origin, get_jq_origin, a name from a module (a::b), or that
 * nests brackets deeper than SM_MAX_DEPTH.  A token scan (libjq 1.6 has
 * no syntax tree to walk): string literals and comments are skipped,
 * the code inside "\(...)" is not, and a name is allowed where it is a
 * field (.env), a variable ($env), a format (@text) or an object key
 * ({env: 1}).  Returns 0, or SM_ECONFIG with a message that names the
 * name, why, and the line.
 */
int sm_map_check(const char *program, size_t len);
/*
 * Compiles a jq program: sm_map_check(), then libjq.  Returns 0, or
 * SM_ECONFIG with the message; SM_EINTERNAL when libjq cannot be set up.
 * No process is started until the first sm_map_run().
 */
int sm_map_new(struct sm_map **m, const char *program);
/*
 * Sets the budget of one record: timeout_ms of wall-clock time and
 * max_bytes of memory (map_timeout_ms, map_max_bytes); 0 keeps the
 * default.
 */
void sm_map_budget(struct sm_map *m, int timeout_ms, size_t max_bytes);
/*
 * Runs the program on rec (consumed), in a separate process.  For each
 * output calls emit(output, arg) with a new reference the callee owns;
 * an emit returning non-zero stops the run with that code.  Returns 0,
 * the code of emit, SM_EDATA with the reason to reject the record (jq's
 * runtime error message, also for error(null), halt and halt_error;
 * "time budget of N ms exceeded"; "memory budget of N bytes exceeded";
 * the process dying), outputs emitted before it staying emitted;
 * SM_EINTR when sm_interrupted() (the process is killed at once);
 * SM_EINTERNAL when no process can be started.
 */
int sm_map_run(struct sm_map *m, jv rec, int (*emit)(jv, void *), void *arg);
/*
 * The same in two halves, so that many records cross to the process at
 * once: sm_map_submit() queues rec (consumed) and returns 0;
 * sm_map_collect() waits for the oldest record queued and not yet
 * collected, and returns as sm_map_run() does for it (SM_EINTERNAL when
 * none is queued).  sm_map_pending() is how many are queued.
 */
int sm_map_submit(struct sm_map *m, jv rec);
int sm_map_collect(struct sm_map *m, int (*emit)(jv, void *), void *arg);
int sm_map_pending(const struct sm_map *m);
/* Frees m and stops its process; NULL is fine. */
void sm_map_free(struct sm_map *m);

/* jw.c: NDJSON output with keys in the order written */

/*
 * A tiny writer of JSON objects into a buffer.  Keys come out in the order
 * they are added (schema order, SPEC §4), values in canonical form.
 */
void sm_jw_begin(struct sm_buf *b);		/* resets b, writes '{' */
void sm_jw_str(struct sm_buf *b, const char *key, const char *val); /* NULL: null */
void sm_jw_int(struct sm_buf *b, const char *key, int64_t val);
void sm_jw_bool(struct sm_buf *b, const char *key, int val);
void sm_jw_double(struct sm_buf *b, const char *key, double val);
void sm_jw_null(struct sm_buf *b, const char *key);
void sm_jw_time(struct sm_buf *b, const char *key, int64_t ms); /* <0: null */
void sm_jw_raw(struct sm_buf *b, const char *key, const char *json); /* NULL: null */
void sm_jw_end(struct sm_buf *b);		/* writes "}\n" */
/*
 * Resets b to the result line of a run, {"status":…,"run":…,"stats":…}
 * (SPEC §4, --stats and the API); run 0 (a dry run) prints null.
 */
void sm_jw_result(struct sm_buf *b, const char *status, int64_t run,
    const char *stats);
/* The same, left open for more members: the caller ends it. */
void sm_jw_result_open(struct sm_buf *b, const char *status, int64_t run,
    const char *stats);
/* Writes b to f; returns 0 or SM_EIO. */
int sm_jw_put(struct sm_buf *b, FILE *f);

/* events.c: the events of a run */

/*
 * Prints the events of a run from the change log, in order, as NDJSON
 * (SPEC §4): op, source or target, external_id, hash, prev_hash, warning,
 * and with with_data the target's data.  The run's changes are the
 * numbers it took, first_seq to next_seq: a run holds the write lock from
 * its first number to its last.  Returns 0 or SM_EIO.
 */
int sm_events_print(struct sm_db *db, const struct sm_run *run,
    int with_data, FILE *f);

/* db.c: opening a tenant's store, and its transactions */

enum {
	SM_DB_CREATE = 1,	/* create the file; SM_EEXIST if it exists */
	SM_DB_READONLY = 2	/* open for reading only (sm-diff, list, show) */
};

/* Path of a tenant's file: DATA_DIR/<slug>.db.  SM_EUSAGE for a bad slug. */
int sm_db_path(const struct sm_config *cfg, const char *slug,
    struct sm_buf *path);
/* Creates DATA_DIR (mode 0700) if needed; idempotent.  SM_EIO on failure. */
int sm_db_init_dir(const struct sm_config *cfg);

/*
 * Opens (or with SM_DB_CREATE creates, mode 0600) the tenant file of slug,
 * sets WAL, synchronous=FULL, foreign_keys=ON and the busy timeout, and
 * applies pending migrations in one transaction.  Returns 0; SM_EUSAGE for
 * a bad slug; SM_ENOENT when the tenant does not exist; SM_EEXIST when
 * creating one that does; SM_EDATA for a file of a newer schema; SM_EBUSY;
 * SM_EIO.
 */
int sm_db_open(const struct sm_config *cfg, const char *slug, int flags,
    struct sm_db **db);
void sm_db_close(struct sm_db *db);
/*
 * For a server: after sm_db_keep(), sm_db_open_cached() gives the handle
 * the calling thread released last for this tenant and mode, when the
 * file is still the one it opened (same device and inode: a tenant
 * deleted is SM_ENOENT, one made again a new handle) and no transaction
 * is open on it; else it opens one as sm_db_open() does (no migration
 * check on reuse).  sm_db_release() keeps up to SM_DB_KEPT handles a
 * thread, the least recently used closed first, and closes the rest;
 * a thread's are closed when it exits, or by sm_db_kept_close().
 * Without sm_db_keep() (the commands), these are sm_db_open() and
 * sm_db_close().
 */
#define SM_DB_KEPT	8
void sm_db_keep(void);
int sm_db_open_cached(const struct sm_config *cfg, const char *slug,
    int flags, struct sm_db **db);
void sm_db_release(struct sm_db *db);
void sm_db_kept_close(void);
const char *sm_db_slug(const struct sm_db *db);
/* Path of the open tenant file. */
const char *sm_db_file(const struct sm_db *db);

/*
 * One write transaction per run: BEGIN IMMEDIATE takes the write lock up
 * front, so a busy tenant gives SM_EBUSY before any work is done.
 */
int sm_db_begin(struct sm_db *db);
int sm_db_commit(struct sm_db *db);
void sm_db_rollback(struct sm_db *db);
/*
 * Group commit, for a server: after sm_db_group(), the runs on db share
 * one write transaction.  sm_db_begin begins it when none is open
 * (BEGIN IMMEDIATE, as alone); sm_db_commit leaves the run's work
 * waiting in it, not yet durable; sm_db_rollback rolls back the whole
 * transaction, the work of the runs before as well.
 * sm_db_group_txn() names the transaction open (0: none): when it
 * changed during a run, the runs before it in that transaction were
 * rolled back (by the run's failure, a dry run, or SQLite on some
 * errors: a full disk, an interrupt), and are for the caller to run
 * again.  sm_db_group_end() commits the transaction open, the one
 * durable point of the runs in it, and ends the group; returns 0 or the
 * commit's error, the transaction then rolled back.  What sm_run_end
 * does after a commit (its done callback) then comes before the run is
 * durable: a server groups only runs that have none.
 */
void sm_db_group(struct sm_db *db);
unsigned long sm_db_group_txn(struct sm_db *db);
int sm_db_group_end(struct sm_db *db);

/* tenant.c: tenants */

/*
 * Creates tenant slug (derived from name when slug is NULL) with a new API
 * key.  Writes the key into key (32 + slug bytes; caller gives
 * SM_KEY_MAX).  Returns 0; SM_EEXIST when the slug exists; SM_EUSAGE for a
 * bad slug or a name that is empty or holds a control character; SM_EIO.
 */
#define SM_KEY_MAX 128
int sm_tenant_create(const struct sm_config *cfg, const char *name,
    const char *slug, char *slug_out, char key[SM_KEY_MAX],
    int64_t *created_at);
/*
 * sm_tenant_create with the key given, when not NULL: the caller's own
 * (the original's POST /tenants), stored hashed like ours and entered in
 * the key index of DATA_DIR, since it does not name its tenant.  It must
 * be printable ASCII, SM_KEY_MIN to SM_KEY_MAX - 1 characters, and not
 * begin with "sm_": else SM_EUSAGE, saying why.  SM_EEXIST also when
 * another tenant has that key.
 */
#define SM_KEY_MIN 16
int sm_tenant_create_key(const struct sm_config *cfg, const char *name,
    const char *slug, const char *given, char *slug_out,
    char key[SM_KEY_MAX], int64_t *created_at);
/*
 * The slug of the tenant key names: sm_<slug>_... for ours, the key index
 * for a key of the caller's choosing.  Returns 0 with a valid slug, or
 * SM_EPERM with slug "" (without a message).  Whether the key is right is
 * sm_tenant_auth's to say.
 */
int sm_tenant_key_slug(const struct sm_config *cfg, const char *key,
    char slug[SM_SLUG_MAX + 1]);
/* Replaces the key of an open tenant; writes the new one into key. */
int sm_tenant_rotate_key(struct sm_db *db, char key[SM_KEY_MAX]);
/*
 * Checks an API key against the tenant it names (sm_<slug>_..., or the
 * key index for a key of the caller's choosing).  Returns
 * 0 with the slug in slug_out when it matches; SM_EPERM otherwise, in time
 * independent of whether the tenant exists.
 */
int sm_tenant_auth(const struct sm_config *cfg, const char *key,
    char slug_out[SM_SLUG_MAX + 1]);
/*
 * Deletes the tenant file and its WAL once it holds the tenant's write
 * lock (waiting busy_timeout_ms, as a run does).  Returns 0; SM_ENOENT
 * when there is none; SM_EBUSY when another run keeps the lock; SM_EIO.
 */
int sm_tenant_delete(const struct sm_config *cfg, const char *slug);
/*
 * Lists the slugs of DATA_DIR, sorted; *slugs is a NULL-terminated array
 * the caller frees with sm_strv_free().  A missing DATA_DIR is no tenant.
 */
int sm_tenant_list(const struct sm_config *cfg, char ***slugs, size_t *n);
/*
 * Appends the tenant's description as one NDJSON line to b: id, name,
 * created_at, schema, canonical_version, hash_algorithm, sources,
 * targets, file.
 */
int sm_tenant_describe(struct sm_db *db, const struct sm_config *cfg,
    struct sm_buf *b);

/* endpoint.c: sources and targets */

enum sm_side { SM_SOURCE, SM_TARGET };

/* A source or target row. */
struct sm_endpoint {
	enum sm_side side;
	int64_t id;
	char *name;
	char *type;
	char *config;		/* canonical JSON object */
	char *map;		/* jq program or NULL (sources) */
	char *id_field;		/* or NULL (sources) */
	char **hash_ignore;	/* NULL-terminated (sources) */
	size_t nhash_ignore;
	int64_t created_at;
	int64_t updated_at;
};
void sm_endpoint_free(struct sm_endpoint *e);

/*
 * Finds a source or target by name or, when ref is all digits, by id.
 * Returns 0 and fills *e; SM_ENOENT with "no source 'x'" otherwise.
 */
int sm_endpoint_get(struct sm_db *db, enum sm_side side, const char *ref,
    struct sm_endpoint *e);
/*
 * Adds e (name, type, config, map, id_field, hash_ignore; side set) and
 * fills e->id and the times.  Returns 0; SM_EEXIST for a taken name;
 * SM_EUSAGE for a bad type, config or name; SM_ECONFIG when the map does
 * not compile.
 */
int sm_endpoint_add(struct sm_db *db, struct sm_endpoint *e);
/* Writes every field of e back to its row (by e->id), same errors. */
int sm_endpoint_update(struct sm_db *db, struct sm_endpoint *e);
/* Removes the row, its properties and snapshots.  SM_ENOENT if absent. */
int sm_endpoint_remove(struct sm_db *db, enum sm_side side, int64_t id);
/* Appends e as one NDJSON line to b (with the count of live properties). */
int sm_endpoint_describe(struct sm_db *db, const struct sm_endpoint *e,
    struct sm_buf *b);

/*
 * 1 when target t (api or cms) would be reached over plain http:// at a
 * host other than loopback, its records and token unencrypted: the
 * warning is written into why (reset first).  0 otherwise.
 */
int sm_target_cleartext(const struct sm_endpoint *t, struct sm_buf *why);
/*
 * Calls fn for every source or target, ordered by id.  fn's non-zero
 * return stops the walk and is returned.
 */
int sm_endpoint_each(struct sm_db *db, enum sm_side side,
    int (*fn)(struct sm_endpoint *, void *), void *arg);
/*
 * The outbox of target id in numbers (sm-push --status): changes pending,
 * held back by a manual edit, failed, and when the oldest pending one
 * was queued (-1: none); all 0 for a target without a connection.
 * Returns 0 or an error of the store.
 */
int sm_endpoint_outbox(struct sm_db *db, int64_t id, int64_t *pending,
    int64_t *held, int64_t *failed, int64_t *oldest_pending);

/* store.c: a property by id, for front ends */

/*
 * The external_id (a new string in *ext) of the live property id of e.  Returns 1, 0 when e has no such live
 * property (*ext NULL), or an SM_E* code.
 */
int sm_prop_external_id(struct sm_db *db, const struct sm_endpoint *e,
    int64_t id, char **ext);

/* run.c: the run log */

/*
 * One import, sync or restore: a row of the runs table written inside the
 * run's transaction, the time every write of the run carries, and the
 * next change sequence number (the run holds the write lock, so numbers
 * are handed out here rather than read back after each insert).
 */
struct sm_run {
	struct sm_db *db;
	int64_t id;		/* runs.id; 0 when not logged (dry run) */
	const char *kind;	/* "import", "sync", "restore" */
	int64_t source_id;	/* or 0 */
	int64_t target_id;	/* or 0 */
	const char *source_name;
	const char *target_name;
	int64_t started_at;
	int64_t next_seq;
	int64_t first_seq;	/* the first number of this run */
};

/*
 * Prints the run log as NDJSON records of SPEC §5.3 to f: runs of kind
 * (NULL: all), of source/target ids when not 0, oldest first.
 */
int sm_run_history(struct sm_db *db, const char *kind, int64_t source_id,
    int64_t target_id, FILE *f);

/* import.c: records into a source, or observed state into a target */

struct sm_import_stats {
	uint64_t created, updated, unchanged, deleted, rejected;
	uint64_t duplicates;	/* keys seen twice in the input */
	uint64_t records;	/* records read (after the map) */
};

struct sm_import_opts {
	int complete;		/* absent properties are deleted */
	int strict;		/* the first bad record aborts the run */
	int dry_run;		/* roll back at the end */
	int merge;		/* targets: records are RFC 7386 merge patches */
	int allow_mass_delete;	/* no max_delete_ratio guard */
	int one_array;		/* sm_import_buf: the buffer is one array */
	FILE *rejects;		/* raw lines of rejected records, or NULL */
	/*
	 * A rejected record, its detail worded for the front end (always
	 * called); a non-zero return stops the run with that code, nothing
	 * written.
	 */
	int (*reject)(const struct sm_reject *rej, void *arg);
	/* A warning about the run (a duplicate key, ...). */
	void (*warn)(const struct sm_warning *w, void *arg);
	/* Progress, every few thousand records; may be NULL. */
	void (*progress)(uint64_t bytes, int64_t total, uint64_t records,
	    void *arg);
	/*
	 * Called once the outcome is final and before it is reported:
	 * after the commit, or, in a dry run, before the rollback, so that
	 * the caller can print the run's events (sm_events_print).
	 */
	int (*done)(struct sm_db *db, const struct sm_run *run, void *arg);
	void *arg;
};

/*
 * Imports the records of files (see sm_input_open) into e, a source or a
 * target (SPEC §5.2), in one transaction with a run logged.  Returns 0
 * (records may have been rejected: see st->rejected), SM_EDATA (--strict
 * and a bad record, or the mass-delete guard: nothing written), SM_EINTR,
 * SM_EBUSY, SM_EIO, SM_ENOENT (a file).  On failure nothing is written
 * and the run is logged as failed or interrupted (not in a dry run).
 */
int sm_import(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, char *const *files, size_t nfiles,
    const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run);
/* The same over len bytes in memory (an HTTP body) named name. */
int sm_import_buf(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, const char *name, const char *buf,
    size_t len, const struct sm_import_opts *o, struct sm_import_stats *st,
    struct sm_run *run);
/* The run's stats as the JSON object of its runs row; b is reset. */
void sm_import_stats_json(const struct sm_import_stats *st, struct sm_buf *b);

/* sync.c: a source into a target */

struct sm_sync_stats {
	uint64_t created, updated, deleted, unchanged, skipped, warnings;
	uint64_t conflicts;	/* skips where the source changed as well */
	uint64_t accepted;	/* manual versions adopted (--accept-manual) */
	uint64_t flagged;	/* target rows of this source flagged manual */
	uint64_t examined;	/* properties looked at: the cost of the run */
};

struct sm_sync_opts {
	int dry_run;
	int overwrite_manual;	/* apply the source over manual changes */
	int accept_manual;	/* adopt manual changes as the new baseline */
	char **ids;		/* NULL-terminated external ids, or NULL: all */
	/* As in sm_import_opts: after commit, or before a dry run's rollback. */
	int (*done)(struct sm_db *db, const struct sm_run *run, void *arg);
	/*
	 * Every few thousand changes when not NULL: properties examined so
	 * far and the share of the change log read (0 to 1).
	 */
	void (*progress)(uint64_t examined, double done, void *arg);
	void *arg;
};

/*
 * Syncs source into target (SPEC §5.3) in one transaction with a run
 * logged, examining only what changed since the pair last synced (or the
 * properties of ids).  Returns 0, SM_EUSAGE (both manual options),
 * SM_EINTR, SM_EBUSY, SM_EIO; on failure nothing is written and the run
 * is logged as failed or interrupted (not in a dry run).
 */
int sm_sync(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *source, const struct sm_endpoint *target,
    const struct sm_sync_opts *o, struct sm_sync_stats *st,
    struct sm_run *run);

/* The stats as a JSON object (not a line); b is reset. */
void sm_sync_stats_json(const struct sm_sync_stats *st, struct sm_buf *b);

/* push.c: a target's changes delivered to its real system */

struct sm_push_stats {
	uint64_t delivered, created, updated, deleted;
	uint64_t failed;	/* refused by the target: failed, with why */
	uint64_t held;		/* changes of rows flagged as manual */
	uint64_t conflicts;	/* rows found changed on the target */
	uint64_t retries;	/* tries again after a transient failure */
	uint64_t pending;	/* left pending at the end */
};

struct sm_push_opts {
	int dry_run;		/* say what would be delivered: no target */
	int64_t limit;		/* at most this many records; -1: all */
	FILE *events;		/* deliver, fail, held events; NULL: none */
	/* After each batch: records done and their share (-1: unknown). */
	void (*progress)(uint64_t done, double share, void *arg);
	void *arg;
};

/*
 * Delivers the outbox of target t (SPEC §5.8), oldest first, in batches;
 * each batch's events are written to o->events once sm has recorded it.
 * A run of kind push is logged (*run_id; 0 in a dry run).  Returns 0
 * (some records may have failed: st->failed), SM_ECONFIG (no connection,
 * a bad one, no driver), SM_EBUSY (the target unreachable after
 * push.retries tries, or another push of the tenant running: the rest
 * stays pending), SM_EINTR, SM_EIO.
 */
int sm_push(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, const struct sm_push_opts *o,
    struct sm_push_stats *st, int64_t *run_id);
/* The stats as a JSON object (not a line); b is reset. */
void sm_push_stats_json(const struct sm_push_stats *st, struct sm_buf *b);
/*
 * {"target","pending","held","failed","oldest_pending"} of t, or of
 * every target with a connection when t is NULL.  SM_ECONFIG when t has
 * none.
 */
int sm_push_status(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, FILE *f);
/* The failed deliveries of t (NULL: all targets) pending again. */
int sm_push_retry(struct sm_db *db, const struct sm_endpoint *t, int64_t *n);

/* pull.c: a target's real system read back as its observed state */

struct sm_pull_stats {
	uint64_t records;	/* read from the target */
	uint64_t created;	/* deleted in sm, present again by hand */
	uint64_t updated;	/* manual changes imported */
	uint64_t unchanged;
	uint64_t deleted;	/* delivered records gone: deleted by hand */
	uint64_t rejected;	/* items of the target that are no record */
	uint64_t foreign;	/* records unknown to sm: left alone */
	uint64_t confirmed;	/* deliveries found done (their record lost) */
};

struct sm_pull_opts {
	int dry_run;		/* roll back at the end */
	int allow_mass_delete;	/* no max_delete_ratio guard on deletions */
	/*
	 * A record of the target unknown to sm (its key and hash), and an
	 * item of the target that is no record (a reject: file is its name
	 * on the target): called during the run, to be reported once done.
	 * A non-zero return stops the run.
	 */
	int (*foreign)(const char *external_id, const char *hash, void *arg);
	int (*reject)(const struct sm_reject *rej, void *arg);
	void (*warn)(const struct sm_warning *w, void *arg);
	/* Records read so far, every few thousand; may be NULL. */
	void (*progress)(uint64_t records, void *arg);
	/* As struct sm_import_opts's done: the run's events go out here. */
	int (*done)(struct sm_db *db, const struct sm_run *run, void *arg);
	void *arg;
};

/*
 * Reads target t's real system through its connection's driver and
 * imports it as t's observed state (SPEC §5.9), in one transaction with
 * a run of kind pull logged: a record that differs from what was last
 * delivered, from what a push sent, and from sm's own version is a
 * manual change; a delivered record gone is a deletion by hand.  Returns
 * 0, SM_ECONFIG (no connection, a bad one), SM_EBUSY (the target cannot
 * be reached, or the tenant is busy), SM_EDATA (the mass-delete guard:
 * nothing written), SM_EIO (the target failed), SM_EINTR.
 */
int sm_pull(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *t, const struct sm_pull_opts *o,
    struct sm_pull_stats *st, struct sm_run *run);
/* The stats as a JSON object (not a line); b is reset. */
void sm_pull_stats_json(const struct sm_pull_stats *st, struct sm_buf *b);

/* diff.c: what would change, what changed */

struct sm_diff_opts {
	char **ids;		/* NULL-terminated external ids, or NULL: all */
	int overwrite_manual;	/* source vs target: as sm-sync's options */
	int accept_manual;
	FILE *out;		/* the NDJSON records */
	/* sm_diff_input: a rejected record; non-zero stops the diff. */
	int (*reject)(const struct sm_reject *rej, void *arg);
	/* A warning: a duplicate key, a version lost to cleanup. */
	void (*warn)(const struct sm_warning *w, void *arg);
	void *arg;
};

struct sm_diff_stats {
	uint64_t examined;	/* properties or records looked at */
	uint64_t differ;	/* records printed */
	uint64_t rejected;	/* input records refused */
};

/*
 * The four modes of sm-diff (SPEC §5.4).  Each prints to o->out one
 * record per property that differs, {"external_id","op","warning"
 * (only for skip and conflict),"changes"}, ordered by external_id, and
 * never writes to the tenant: it reads in one read transaction.  All return 0 (st->differ says whether anything
 * differed), SM_EIO (o->out), SM_EBUSY, SM_EINTERNAL; and as below.
 *
 * sm_diff_sync: what sm_sync() would do (decided by sm_sync_decide) for
 * every source property, not only the changed ones; changes turn the
 * target's current data into the source's.  SM_EUSAGE for both manual
 * options.
 * sm_diff_input: what importing files into e (a source, or the observed
 * state of a target) would change, decided as sm_import() decides; bad
 * records go to o->reject and are counted in st->rejected.  A key named
 * twice is decided as if only the later record were there; the records
 * are printed, in the order the keys first came, once the input has been
 * read (its keys and changes are held in memory till then).  SM_ENOENT
 * for a file that cannot be opened, SM_ECONFIG for a map that does not
 * compile.
 * sm_diff_since: each property of e whose version at since (ms) differs
 * from its current one, from the snapshots.
 * sm_diff_snapshots: snapshot id1 against its property now (id2 0) or
 * against snapshot id2.  SM_ENOENT for a missing snapshot, SM_EUSAGE when
 * the two are not of the same property.
 */
int sm_diff_sync(struct sm_db *db, const struct sm_endpoint *source,
    const struct sm_endpoint *target, const struct sm_diff_opts *o,
    struct sm_diff_stats *st);
int sm_diff_input(struct sm_db *db, const struct sm_config *cfg,
    const struct sm_endpoint *e, char *const *files, size_t nfiles,
    const struct sm_diff_opts *o, struct sm_diff_stats *st);
int sm_diff_since(struct sm_db *db, const struct sm_endpoint *e,
    int64_t since, const struct sm_diff_opts *o, struct sm_diff_stats *st);
int sm_diff_snapshots(struct sm_db *db, int64_t id1, int64_t id2,
    const struct sm_diff_opts *o, struct sm_diff_stats *st);

/* snapshot.c: history, the state at a time, rollback */

/*
 * Which snapshots sm_snap_list() prints: of one source or target (owner
 * not 0) or of all, of some external_ids, taken in [since, until).
 */
struct sm_snap_query {
	enum sm_side side;
	int64_t owner;		/* source or target id; 0: all of them */
	char *const *ids;	/* external_ids, nids of them; 0: all */
	size_t nids;
	int64_t since;		/* taken_at >= since; -1: no bound */
	int64_t until;		/* taken_at < until; -1: no bound */
	int with_data;
};

/*
 * Prints the snapshots q selects to f, ordered by id, one NDJSON record
 * each (SPEC §5.5): id, source or target (its name), external_id, hash,
 * reason, label, taken_at, and data with q->with_data.  hash and data are
 * null for a snapshot of a property that did not exist.  Returns 0,
 * SM_EIO, or an error of the store.
 */
int sm_snap_list(struct sm_db *db, const struct sm_snap_query *q, FILE *f);
/*
 * Prints snapshot id to f as a list record with data, property_id and run
 * (null when not taken by a run).  Returns 0, SM_ENOENT when there is no
 * such snapshot, SM_EIO.
 */
int sm_snap_show(struct sm_db *db, int64_t id, FILE *f);
/*
 * Fills *e (freed by the caller with sm_endpoint_free) with the source or
 * target snapshot id belongs to.  Returns 0 or SM_ENOENT.
 */
int sm_snap_endpoint(struct sm_db *db, int64_t id, struct sm_endpoint *e);
/*
 * Prints to f the properties of e as they are now (at < 0: the live rows)
 * or as they were at time at (the version of each row at that time: rows
 * created after it, or deleted at or before it, left out), one NDJSON
 * record each ordered by external_id: id, external_id, data, hash,
 * updated_at, and for a target synced_hash, source, has_manual_changes,
 * warning (null for a version older than the row's current one: snapshots
 * do not keep them).  ids (nids; 0: all) limits the external_ids, manual
 * (targets) to rows flagged as manual changes now.  Returns 0, SM_EIO, or
 * an error of the store.
 */
int sm_snap_cat(struct sm_db *db, const struct sm_endpoint *e,
    char *const *ids, size_t nids, int manual, int64_t at, FILE *f);
/*
 * A page of sm_snap_cat's records of the live rows of e, by id (the API's
 * lists): after the id after, at most limit (-1: all), flagged ones only
 * with manual, only row id when id > 0.  fn gets each row's id and its
 * record (one NDJSON line with its newline, valid until fn returns); its
 * non-zero return stops the walk and is returned, but a positive one
 * stops quietly (0).
 */
int sm_snap_cat_page(struct sm_db *db, const struct sm_endpoint *e,
    int manual, int64_t id, int64_t after, int64_t limit,
    int (*fn)(int64_t id, const char *rec, size_t len, void *arg),
    void *arg);
/*
 * Snapshots every live property of e with reason "take" and label (may be
 * NULL), in one transaction (rolled back when dry_run).  *n gets the
 * number of snapshots, *taken_at their time.  Returns 0, SM_EBUSY,
 * SM_EINTR, SM_EIO.
 */
int sm_snap_take_all(struct sm_db *db, const struct sm_endpoint *e,
    const char *label, int dry_run, int64_t *n, int64_t *taken_at);

struct sm_restore_stats {
	uint64_t restored;	/* rows given back an older version */
	uint64_t deleted;	/* rows tombstoned: absent in that version */
	uint64_t unchanged;	/* live rows that held that version already */
};

struct sm_restore_opts {
	int64_t undo;		/* undo this restore run of e, or 0 */
	int64_t snapshot;	/* else restore this snapshot's version, or 0 */
	int64_t at;		/* else: the state at this time */
	char *const *ids;	/* with at: only these external_ids */
	size_t nids;
	int dry_run;		/* roll back at the end */
	/* With at: the mass-delete guard (import.max_delete_ratio). */
	double max_delete_ratio;
	int allow_mass_delete;
	/* As in sm_import_opts: after commit, or before a dry run's rollback. */
	int (*done)(struct sm_db *db, const struct sm_run *run, void *arg);
	/* With at, every 1024 properties: how many done, and their share. */
	void (*progress)(uint64_t done, double share, void *arg);
	void *arg;
};

/*
 * Restores properties of e (SPEC §5.5) in one transaction with a run of
 * kind "restore" logged: one property to the version of snapshot
 * o->snapshot (which must be of e), or every property to its version at
 * o->at (what sm_snap_cat prints for that time).  A row that holds the
 * version already is left alone; any other is snapshotted first (reason
 * "restore", so that the restore can be undone), gets the version (or
 * becomes a tombstone when the version is an absence; a row that no longer
 * exists is created again) and a new change number, and its change is
 * logged as "restore" or "delete".  A target row is also marked as a
 * manual change with the warning "restored from snapshot N".
 * A point-in-time restore is refused (SM_EDATA) when o->at is before the
 * first row of e, or when it would delete more than o->max_delete_ratio
 * of e's live rows (sm_delete_guard) unless o->allow_mass_delete.
 * With o->undo, every row that restore run changed gets back what it held
 * just before it (version, updated_at, deleted_at, target bookkeeping);
 * refused (SM_EDATA) when that run did not succeed, when sm-cleanup removed
 * some of its snapshots, or when another run changed one of its rows
 * since (the message names it).  Returns 0, SM_EDATA, SM_ENOENT (no such
 * snapshot or restore run, or not of e), SM_EINTR, SM_EBUSY, SM_EIO; on
 * failure nothing is written and the run is logged as failed or
 * interrupted (not in a dry run).
 */
int sm_snap_restore(struct sm_db *db, const struct sm_endpoint *e,
    const struct sm_restore_opts *o, struct sm_restore_stats *st,
    struct sm_run *run);
/*
 * Fills *e (freed by the caller with sm_endpoint_free) with the source or
 * target of restore run id.  Returns 0, or SM_ENOENT when there is no run
 * id, when it is not a restore, or when its source or target was removed.
 */
int sm_restore_run_endpoint(struct sm_db *db, int64_t id,
    struct sm_endpoint *e);
/* The stats as the JSON object of the run's row; b is reset. */
void sm_restore_stats_json(const struct sm_restore_stats *st,
    struct sm_buf *b);

/* cleanup.c */

/* What sm_cleanup() removes (SPEC §5.6). */
struct sm_cleanup_opts {
	int days;		/* snapshots, tombstones older than this go */
	int keep;		/* newest snapshots always kept per property */
	int runs_days;		/* run log and change log older than this go */
	int dry_run;		/* count, then roll back */
};

struct sm_cleanup_stats {
	uint64_t snapshots, tombstones, runs;
	uint64_t changes;	/* change log rows */
};

/*
 * Deletes, in one transaction, what is past retention (see the table in
 * cleanup.c): snapshots older than days except the newest keep of each
 * property, tombstones older than days that no sync still needs (with
 * their snapshots), runs and change log rows older than runs_days.
 * "Now" is sm_now().  Fills *st; with dry_run rolls back, so *st tells
 * what would go.  Returns 0, SM_EUSAGE, SM_EBUSY, SM_EINTR, SM_EIO.
 */
int sm_cleanup(struct sm_db *db, const struct sm_cleanup_opts *o,
    struct sm_cleanup_stats *st);
/* VACUUM and truncate the WAL, outside a transaction; 0 or an SM_E* code. */
int sm_cleanup_vacuum(struct sm_db *db);
/* {"tenant":…,"snapshots_deleted":…,…} as one NDJSON line; b is reset. */
void sm_cleanup_stats_json(const char *slug,
    const struct sm_cleanup_stats *st, struct sm_buf *b);

/* check.c: sm-tenant check */

/*
 * PRAGMA integrity_check and the toolkit's invariants; calls found(line,
 * arg) with one NDJSON object per finding.  Returns 0 when clean, SM_EDATA
 * when something was found, or another error.
 */
int sm_tenant_check(struct sm_db *db, const struct sm_config *cfg,
    int (*found)(const char *json, void *), void *arg);


/* The HTTP front end, lib/api/libsmapi.a, declares itself in lib/api/sm-api.h. */

#endif