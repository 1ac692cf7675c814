/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"

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
 * Every statement starts from what may go, found through an index, and
 * reaches the rows around it through an index (schema/004): the cost is
 * in what is looked at for deletion, never a scan of the properties or
 * the snapshots (t/6001-sm-cleanup-cost.t holds the query plans to it).
 */

/*
 * Source tombstones old enough that no sync still needs (?1 cutoff).  A
 * target row fed by the source is looked up per target, by the unique
 * (target_id, external_id): there is no index on source_id (see
 * schema/001), and a scan per tombstone made cleanup quadratic.
 */
#define SOURCE_GONE_FROM "source_properties p " \
	"INDEXED BY source_properties_tombstones"
#define SOURCE_GONE_WHERE "p.deleted_at IS NOT NULL AND p.deleted_at < ?1 " \
	"AND NOT EXISTS (SELECT 1 FROM sync_state ss " \
	"WHERE ss.source_id = p.source_id AND ss.source_seq < p.seq) " \
	"AND NOT EXISTS (SELECT 1 FROM targets g CROSS JOIN " \
	"target_properties t WHERE t.target_id = g.id " \
	"AND t.external_id = p.external_id AND t.source_id = p.source_id " \
	"AND t.deleted_at IS NULL)"

/* Target tombstones old enough that are not a kept manual deletion. */
#define TARGET_GONE_FROM "target_properties p " \
	"INDEXED BY target_properties_tombstones"
#define TARGET_GONE_WHERE "p.deleted_at IS NOT NULL AND p.deleted_at < ?1 " \
	"AND NOT p.has_manual_changes"

/* A property's snapshots, by the index on its side's (id, external_id). */
static const char *const sql_source_snaps =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM " SOURCE_GONE_FROM
    " CROSS JOIN snapshots s WHERE " SOURCE_GONE_WHERE
    " AND s.source_id IS NOT NULL AND s.source_id = p.source_id "
    "AND s.external_id = p.external_id AND s.property_id = p.id)";
static const char *const sql_source_rows =
    "DELETE FROM source_properties WHERE id IN (SELECT p.id FROM "
    SOURCE_GONE_FROM " WHERE " SOURCE_GONE_WHERE ")";
static const char *const sql_target_snaps =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM " TARGET_GONE_FROM
    " CROSS JOIN snapshots s WHERE " TARGET_GONE_WHERE
    " AND s.target_id IS NOT NULL AND s.target_id = p.target_id "
    "AND s.external_id = p.external_id AND s.property_id = p.id)";
static const char *const sql_target_rows =
    "DELETE FROM target_properties WHERE id IN (SELECT p.id FROM "
    TARGET_GONE_FROM " WHERE " TARGET_GONE_WHERE ")";
/*
 * Snapshots older than ?1 with at least ?2 newer ones (by taken_at, then
 * id) of the same property: the old ones come from the taken_at index,
 * the newer ones from the property's side index, at most ?2 of them.
 */
#define NEWER(side) "(SELECT count(*) FROM (SELECT 1 FROM snapshots n " \
	"WHERE n." side " IS NOT NULL AND n." side " = s." side " " \
	"AND n.external_id = s.external_id " \
	"AND n.property_id = s.property_id AND n.taken_at >= s.taken_at " \
	"AND (n.taken_at > s.taken_at OR n.id > s.id) LIMIT ?2)) >= ?2"
static const char *const sql_source_old =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM snapshots s "
    "INDEXED BY snapshots_taken WHERE s.taken_at < ?1 "
    "AND s.source_id IS NOT NULL AND " NEWER("source_id") ")";
static const char *const sql_target_old =
    "DELETE FROM snapshots WHERE id IN (SELECT s.id FROM snapshots s "
    "INDEXED BY snapshots_taken WHERE s.taken_at < ?1 "
    "AND s.target_id IS NOT NULL AND " NEWER("target_id") ")";
/* Sync finds a changed row by its latest change: that one stays. */
static const char *const sql_changes = "DELETE FROM changes WHERE at < ?1 "
    "AND NOT EXISTS (SELECT 1 FROM source_properties p "
    "WHERE changes.source_id IS NOT NULL AND p.id = changes.property_id "
    "AND p.seq = changes.seq) "
    "AND NOT EXISTS (SELECT 1 FROM target_properties p "
    "WHERE changes.target_id IS NOT NULL AND p.id = changes.property_id "
    "AND p.seq = changes.seq)";
/*
 * The ON DELETE SET NULL of the references to runs, done by hand: SQLite
 * would scan the change log (run_id has no index there, to keep the
 * inserts of every run cheap) once per run deleted, one scan does here.
 * The snapshots of a run are found by the index snapshots_run.
 */
#define OLD_RUNS "(SELECT id FROM runs WHERE started_at < ?1)"
static const char *const sql_runs_snaps =
    "UPDATE snapshots INDEXED BY snapshots_run SET run_id = NULL "
    "WHERE run_id IN " OLD_RUNS;
static const char *const sql_runs_changes =
    "UPDATE changes SET run_id = NULL WHERE run_id IN " OLD_RUNS;
static const char *const sql_runs_state =
    "UPDATE sync_state SET last_run_id = NULL WHERE last_run_id IN " OLD_RUNS;
static const char *const sql_runs = "DELETE FROM runs WHERE started_at < ?1";

/*
 * Runs one of the statements above with the cutoff (and keep) bound and
 * adds the number of rows it deleted (or changed) to *n.  Returns 0 or an
 * SM_E* code.
 */
static int
purge(struct sm_db *db, const char *sql, int64_t cutoff, int keep,
    uint64_t *n)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = sm_db_stmt(db, sql)) == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_int64(stmt, 1, cutoff);
	if (sqlite3_bind_parameter_count(stmt) >= 2)
		sqlite3_bind_int(stmt, 2, keep);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot delete old rows");
	*n += (uint64_t)sqlite3_changes(sm_db_handle(db));
	return 0;
}

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
	uint64_t refs = 0;
	int rc, frc;

	memset(st, 0, sizeof(*st));
	if (o->days < 0 || o->keep < 0 || o->runs_days < 0)
		return sm_error(SM_EUSAGE, "cleanup: days, keep and runs days "
		    "must not be negative");
	snap_cut = cutoff(now, o->days);
	runs_cut = cutoff(now, o->runs_days);
	/*
	 * Foreign key actions off for the run log (see OLD_RUNS); the pragma
	 * only takes effect outside a transaction, and is per connection.
	 */
	if ((rc = sm_db_exec(db, "PRAGMA foreign_keys = OFF")) != 0)
		return rc;
	if ((rc = sm_db_begin(db)) != 0)
		goto out;
	/* Each step runs only while the previous ones succeeded. */
	(void)((rc = purge(db, sql_source_snaps, snap_cut, 0,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_source_rows, snap_cut, 0, &st->tombstones)) ||
	    (rc = purge(db, sql_target_snaps, snap_cut, 0, &st->snapshots)) ||
	    (rc = purge(db, sql_target_rows, snap_cut, 0, &st->tombstones)) ||
	    (rc = purge(db, sql_source_old, snap_cut, o->keep,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_target_old, snap_cut, o->keep,
	    &st->snapshots)) ||
	    (rc = purge(db, sql_changes, runs_cut, 0, &st->changes)) ||
	    (rc = purge(db, sql_runs_snaps, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs_changes, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs_state, runs_cut, 0, &refs)) ||
	    (rc = purge(db, sql_runs, runs_cut, 0, &st->runs)));
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
