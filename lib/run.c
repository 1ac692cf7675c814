/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

static int
step_done(struct sm_db *db, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? 0 : sm_db_error(db, rc, what);
}

static void
bind_ids(sqlite3_stmt *stmt, int col, const struct sm_run *run)
{
	if (run->source_id)
		sqlite3_bind_int64(stmt, col, run->source_id);
	if (run->target_id)
		sqlite3_bind_int64(stmt, col + 1, run->target_id);
	sqlite3_bind_text(stmt, col + 2, run->source_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, col + 3, run->target_name, -1, SQLITE_STATIC);
}

int
sm_run_begin(struct sm_db *db, struct sm_run *run, const char *kind,
    const struct sm_endpoint *source, const struct sm_endpoint *target)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(run, 0, sizeof(*run));
	run->db = db;
	run->kind = kind;
	run->started_at = sm_now();
	if (source != NULL) {
		run->source_id = source->id;
		run->source_name = source->name;
	}
	if (target != NULL) {
		run->target_id = target->id;
		run->target_name = target->name;
	}
	if ((rc = sm_change_next(db, &run->first_seq)) != 0)
		return rc;
	run->next_seq = run->first_seq;
	stmt = sm_db_stmt(db, "INSERT INTO runs (kind, source_id, target_id, "
	    "source_name, target_name, started_at, status) "
	    "VALUES (?, ?, ?, ?, ?, ?, 'running')");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	bind_ids(stmt, 2, run);
	sqlite3_bind_int64(stmt, 6, run->started_at);
	if ((rc = step_done(db, stmt, "cannot log the run")) != 0)
		return rc;
	run->id = sqlite3_last_insert_rowid(sm_db_handle(db));
	return 0;
}

int
sm_run_finish(struct sm_run *run, const char *status, const char *stats,
    const char *error)
{
	sqlite3_stmt *stmt;

	stmt = sm_db_stmt(run->db, "UPDATE runs SET status = ?, stats = ?, "
	    "error = ?, finished_at = ? WHERE id = ?");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_text(stmt, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, stats, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, sm_now());
	sqlite3_bind_int64(stmt, 5, run->id);
	return step_done(run->db, stmt, "cannot log the run");
}

int
sm_run_log_failure(struct sm_run *run, const char *status, const char *error)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = sm_db_begin(run->db)) != 0)
		return rc;
	stmt = sm_db_stmt(run->db, "INSERT INTO runs (kind, source_id, "
	    "target_id, source_name, target_name, started_at, finished_at, "
	    "status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		rc = sm_errcode();
		sm_db_rollback(run->db);
		return rc;
	}
	sqlite3_bind_text(stmt, 1, run->kind, -1, SQLITE_STATIC);
	bind_ids(stmt, 2, run);
	sqlite3_bind_int64(stmt, 6, run->started_at);
	sqlite3_bind_int64(stmt, 7, sm_now());
	sqlite3_bind_text(stmt, 8, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 9, error, -1, SQLITE_STATIC);
	if ((rc = step_done(run->db, stmt, "cannot log the run")) != 0 ||
	    (rc = sm_db_commit(run->db)) != 0) {
		sm_db_rollback(run->db);
		return rc;
	}
	return 0;
}

int
sm_run_end(struct sm_db *db, struct sm_run *run, int rc, int dry_run,
    int (*done)(struct sm_db *, const struct sm_run *, void *), void *arg)
{
	char *msg;

	/* A signal that came after the work's last look rolls back too. */
	if (rc == 0 && sm_interrupted())
		rc = sm_error(SM_EINTR, "interrupted: nothing was written");
	if (rc == 0 && dry_run) {
		if (done != NULL)
			rc = done(db, run, arg);
		sm_db_rollback(db);
		/* A write broken by the signal (EINTR) is the signal's. */
		if (rc != 0 && sm_interrupted())
			rc = sm_error(SM_EINTR, "interrupted: nothing was "
			    "written");
		return rc;
	}
	if (rc == 0 && (rc = sm_db_commit(db)) == 0) {
		/* Committed: whatever signal comes, the output goes on. */
		sm_signals_committed();
		return done != NULL ? done(db, run, arg) : 0;
	}
	msg = sm_xstrdup(sm_errmsg());
	sm_db_rollback(db);
	/* A busy tenant would refuse the log too; a dry run is never logged. */
	if (!dry_run && run->kind != NULL && rc != SM_EBUSY)
		sm_run_log_failure(run, rc == SM_EINTR ? "interrupted" :
		    "failed", msg);
	sm_error(rc, "%s", msg);
	free(msg);
	return rc;
}

int
sm_run_history(struct sm_db *db, const char *kind, int64_t source_id,
    int64_t target_id, FILE *f)
{
	sqlite3_stmt *stmt;
	struct sm_buf b;
	int rc;

	stmt = sm_db_stmt(db, "SELECT id, kind, source_name, target_name, "
	    "started_at, finished_at, status, error, stats FROM runs "
	    "WHERE (?1 IS NULL OR kind = ?1) AND (?2 = 0 OR source_id = ?2) "
	    "AND (?3 = 0 OR target_id = ?3) ORDER BY id");
	if (stmt == NULL)
		return sm_errcode();
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, source_id);
	sqlite3_bind_int64(stmt, 3, target_id);
	sm_buf_init(&b);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sm_jw_begin(&b);
		sm_jw_int(&b, "run", sqlite3_column_int64(stmt, 0));
		sm_jw_str(&b, "kind", (const char *)sqlite3_column_text(stmt, 1));
		sm_jw_str(&b, "source",
		    (const char *)sqlite3_column_text(stmt, 2));
		sm_jw_str(&b, "target",
		    (const char *)sqlite3_column_text(stmt, 3));
		sm_jw_time(&b, "started_at", sqlite3_column_int64(stmt, 4));
		sm_jw_time(&b, "finished_at",
		    sqlite3_column_type(stmt, 5) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(stmt, 5));
		sm_jw_str(&b, "status", (const char *)sqlite3_column_text(stmt, 6));
		if (sqlite3_column_type(stmt, 7) != SQLITE_NULL)
			sm_jw_str(&b, "error",
			    (const char *)sqlite3_column_text(stmt, 7));
		sm_jw_raw(&b, "stats", (const char *)sqlite3_column_text(stmt, 8));
		sm_jw_end(&b);
		if ((rc = sm_jw_put(&b, f)) != 0)
			break;
	}
	sqlite3_reset(stmt);
	sm_buf_free(&b);
	if (rc == SQLITE_DONE)
		return 0;
	return rc > 0 ? sm_db_error(db, rc, "cannot read the run log") : rc;
}
