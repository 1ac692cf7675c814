/* See LICENSE file for copyright and license details. */
/*
 * driver.h: how sm reaches a target for real (SPEC §5.8, §5.9).  A kind of
 * target system is one file, lib/drv-NAME.c, that fills in a struct
 * sm_driver and is listed in the table of conn.c; push.c and pull.c
 * call nothing else.  Included by lib/ and the unit tests only.
 *
 * The verdict of an operation is its return value: 0 delivered (or read),
 * SM_TRANSIENT (the target is unreachable or busy: try again later; the
 * change stays pending), SM_PERMANENT (the target refused this record: it
 * is marked failed with the reason, the push goes on with the others),
 * SM_CONFLICT (the target no longer holds what was last delivered: a
 * manual edit, flagged, never overwritten).  The reason is written to why
 * and never holds a password or token.
 */
#ifndef SM_DRIVER_H
#define SM_DRIVER_H

#include "sm-private.h"

enum {
	SM_TRANSIENT = 1,
	SM_PERMANENT = 2,
	SM_CONFLICT = 3
};

/*
 * A target's connection: its stored config (a JSON object) with the
 * config file's targets.NAME filled in under it and every ${NAME}
 * expanded from the environment, *_file values read.  Secrets live here
 * only in memory, never in the tenant file, stdout, stderr or a log.
 */
struct sm_conn {
	const char *target;	/* the target's name, for messages */
	const char *type;	/* website, database, api, cms, file */
	const char *driver;	/* the driver's name: "postgresql", "sqlite",
				   "files", "http" */
	jv config;		/* the expanded object; owned */
	/*
	 * The target's hash_ignore (the config's global list, SPEC §2):
	 * nignore entries, NULL when none.  For a driver that computes sm's
	 * hash of what the target holds (files) to compare before writing.
	 */
	const char *const *ignore;
	size_t nignore;
	int parallel;		/* push.parallel: requests in flight */
};

/* One record as the real target holds it (list) or is to hold it (put). */
struct sm_drec {
	const char *external_id;
	const char *data;	/* canonical JSON text of the record */
	size_t len;
	const char *hash;	/* sm's hash of data (put), or NULL */
	const char *expect;	/* put and del: the hash last delivered, to
				   compare before writing; NULL: write
				   without comparing (nothing delivered yet,
				   or sm-sync --overwrite-manual) */
	const char *action;	/* put and del: create, update, delete */
	const char *sent;	/* put and del: the hashes of versions sent
				   before and not acknowledged (a push cut
				   off), space-separated, "-" a delete;
				   NULL: none */
	const char *error;	/* list: not NULL for something the target
				   holds that is not a record (a file that
				   does not parse): why; data is then NULL
				   and external_id names it as the target
				   does (a file name) */
};

struct sm_driver {
	const char *name;
	/*
	 * Checks a connection's config without connecting (target add and
	 * change): 0, or SM_ECONFIG naming the key.
	 */
	int (*check)(const struct sm_conn *c);
	/*
	 * Connects: 0, SM_ECONFIG, or SM_TRANSIENT when the target cannot
	 * be reached now.  *d is the driver's state.
	 */
	int (*open)(void **d, const struct sm_conn *c, struct sm_buf *why);
	/* A batch of puts and dels, acknowledged as a whole by commit. */
	int (*begin)(void *d, struct sm_buf *why);
	int (*put)(void *d, const struct sm_drec *r, struct sm_buf *why);
	int (*del)(void *d, const struct sm_drec *r, struct sm_buf *why);
	/*
	 * Makes the batch durable on the target: only then are its records
	 * delivered.  A verdict for the whole batch (SM_PERMANENT: none of it
	 * was kept; push.c then delivers it in halves down to the record at
	 * fault).
	 */
	int (*commit)(void *d, struct sm_buf *why);
	/* Drops a batch not committed. */
	void (*rollback)(void *d);
	/*
	 * Calls fn for every record the target holds (pull); a non-zero
	 * return of fn stops it with that value.  The record's hash is
	 * sm's (of data), or NULL for push.c to compute.
	 */
	int (*list)(void *d, int (*fn)(const struct sm_drec *r, void *arg),
	    void *arg, struct sm_buf *why);
	void (*close)(void *d);
	/*
	 * For a driver whose operations are each durable on their own and
	 * sent several at once (HTTP), NULL for the others: put and del only
	 * queue them (0), commit sends them all (0, or a verdict for all),
	 * and this answers the verdict of the i-th put or del of the batch,
	 * its reason in why, and in *wait_ms how long the target asked to
	 * wait before another try (Retry-After), 0 when it did not.
	 */
	int (*verdict)(void *d, size_t i, long *wait_ms, struct sm_buf *why);
};

/* The drivers (drv-NAME.c). */
extern const struct sm_driver sm_driver_files;
extern const struct sm_driver sm_driver_http;
extern const struct sm_driver sm_driver_postgresql;
extern const struct sm_driver sm_driver_sqlite;

/* The driver of a connection's kind, or NULL. */
const struct sm_driver *sm_driver_of(const struct sm_conn *c);

#endif
