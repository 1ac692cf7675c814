/* See LICENSE file for copyright and license details. */
/*
 * unit-cleanup-plan FILE: prints the query plan of every statement
 * sm-cleanup runs, on the tenant file FILE, one line per plan step:
 * "NAME<TAB>DETAIL".  The statements are store.c's own (included
 * here), so t/6001-sm-cleanup-cost.t checks what really runs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "../lib/store.c"

static const struct {
	const char *name;
	const char *const *sql;
} stmts[] = {
	{ "source_snaps", &sql_source_snaps },
	{ "source_rows", &sql_source_rows },
	{ "target_snaps", &sql_target_snaps },
	{ "target_rows", &sql_target_rows },
	{ "source_old", &sql_source_old },
	{ "target_old", &sql_target_old },
	{ "changes", &sql_changes },
	{ "runs_snaps", &sql_runs_snaps },
	{ "runs_changes", &sql_runs_changes },
	{ "runs_state", &sql_runs_state },
	{ "runs", &sql_runs },
};

int
main(int argc, char *argv[])
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char *sql;
	size_t i;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: unit-cleanup-plan file\n");
		return 64;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "cannot open '%s'\n", argv[1]);
		return 66;
	}
	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", *stmts[i].sql);
		if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
			fprintf(stderr, "%s: %s\n", stmts[i].name,
			    sqlite3_errmsg(db));
			rc = 70;
		} else {
			while (sqlite3_step(stmt) == SQLITE_ROW)
				printf("%s\t%s\n", stmts[i].name,
				    sqlite3_column_text(stmt, 3));
			sqlite3_finalize(stmt);
		}
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	return rc;
}
