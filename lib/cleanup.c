/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"

/*
 * Retention (SPEC §5.6), in one transaction per tenant:
 *
 *	what		goes when				with
 *	source tombstone deleted_at < cutoff, and every sync	its snapshots
 *			pair of the source has carried it out
 *			(none lags behind its seq, no live
 *			target row it fed remains)
 *	target tombstone deleted_at < cutoff, not a manual	its snapshots
 *			deletion the next sync must keep
 *	snapshot	taken_at < cutoff and not among the	-
 *			newest keep of its property (by
 *			taken_at, then id)
 *	change log row	at < runs cutoff, and not the latest	-
 *			change of a property still stored
 *			(sync finds what changed through it)
 *	run		started_at < runs cutoff		references
 *								to it cleared
 *
 * A tombstone that sync still needs is not history but state: purging it
 * would leave the delete undone on a target (or, for a manual deletion on
 * a target, let the next sync bring the property back), so it stays
 * until it is no longer needed, whatever its age.
 */

#define DAY_MS	INT64_C(86400000)

/*
 * The statements are store.c's (sm_prop_purge(), with the index each one
 * goes through); t/6001-sm-cleanup-cost.t holds their query plans.
 */

/* now - days, without overflow for any int days >= 0. */
static int64_t
cutoff(int64_t now, int days)
{
	return now - (int64_t)days * DAY_MS;
}

/*
 * Applies the retention rules of the table above to the open tenant db,
 * in one write transaction (SM_EBUSY when another run holds the tenant),
 * with now from sm_now().  o->days ages snapshots and tombstones,
 * o->keep snapshots per property are always kept, o->runs_days ages the
 * run log and the change log.  With o->dry_run the deletes are rolled
 * back: st then tells what would have gone.  Fills *st (zeroed first).
 * Returns 0, or SM_EUSAGE (a negative option), SM_EBUSY, SM_EINTR,
 * SM_EIO, SM_EINTERNAL with a message; on failure nothing is deleted.
 */
int
sm_cleanup(struct sm_db *db, const struct sm_cleanup_opts *o,
    struct sm_cleanup_stats *st)
{
	int64_t now = sm_now(), snap_cut, runs_cut;
	int rc, frc;

	memset(st, 0, sizeof(*st));
	if (o->days < 0 || o->keep < 0 || o->runs_days < 0)
		return sm_error(SM_EUSAGE, "cleanup: days, keep and runs days "
		    "must not be negative");
	snap_cut = cutoff(now, o->days);
	runs_cut = cutoff(now, o->runs_days);
	/*
	 * Foreign key actions off for the run log (store.c's statements do
	 * them by hand, see OLD_RUNS there); the pragma only takes effect
	 * outside a transaction, and is per connection.
	 */
	if ((rc = sm_db_exec(db, "PRAGMA foreign_keys = OFF")) != 0)
		return rc;
	if ((rc = sm_db_begin(db)) != 0)
		goto out;
	rc = sm_prop_purge(db, snap_cut, runs_cut, o->keep, st);
	if (rc != 0 || o->dry_run)
		sm_db_rollback(db);
	else if ((rc = sm_db_commit(db)) != 0)
		sm_db_rollback(db);
out:
	frc = sm_db_exec(db, "PRAGMA foreign_keys = ON");
	return rc != 0 ? rc : frc;
}

/*
 * Gives the space of deleted rows back to the file system: VACUUM, then a
 * checkpoint that truncates the write-ahead log VACUUM filled.  Must run
 * outside a transaction.  Returns 0, SM_EBUSY, SM_EINTR or SM_EIO.
 */
int
sm_cleanup_vacuum(struct sm_db *db)
{
	int rc;

	if ((rc = sm_db_exec(db, "VACUUM")) != 0)
		return rc;
	return sm_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
}

/* The stats as one NDJSON line of SPEC §5.6 for tenant slug; b is reset. */
void
sm_cleanup_stats_json(const char *slug, const struct sm_cleanup_stats *st,
    struct sm_buf *b)
{
	sm_jw_begin(b);
	sm_jw_str(b, "tenant", slug);
	sm_jw_int(b, "snapshots_deleted", (int64_t)st->snapshots);
	sm_jw_int(b, "tombstones_deleted", (int64_t)st->tombstones);
	sm_jw_int(b, "runs_deleted", (int64_t)st->runs);
	sm_jw_end(b);
}
