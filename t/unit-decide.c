/* See LICENSE file for copyright and license details. */
/*
 * The two pure decisions as decision tables: sm_import_decide() (the
 * table at the top of lib/import.c) and sm_sync_decide() (the table at
 * the top of lib/sync.c), one test a row.
 */
#include <stdio.h>
#include <string.h>

#include "sm.h"
#include "sm-private.h"
#include "tap.h"

#define A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C	"cccccccccccccccccccccccccccccccc"

static const char *
import_name(enum sm_import_op op)
{
	static const char *const names[] = {
		"create", "revive", "update", "unchanged", "again",
		"rechange", "rewrite", "undo", "delete", "keep"
	};

	return names[op];
}

/* exists deleted hash incoming seen written logged before -> op */
static const struct {
	struct sm_import_case c;
	enum sm_import_op want;
	const char *what;
} imports[] = {
	{ { 0, 0, "", A, 0, 0, 0, NULL }, SM_IMPORT_CREATE,
	    "no row: create" },
	{ { 1, 1, A, A, 0, 0, 0, NULL }, SM_IMPORT_REVIVE,
	    "tombstone, same hash: create (of the absence)" },
	{ { 1, 1, A, B, 0, 0, 0, NULL }, SM_IMPORT_REVIVE,
	    "tombstone, other hash: create (of the absence)" },
	{ { 1, 0, A, A, 0, 0, 0, NULL }, SM_IMPORT_UNCHANGED,
	    "live, same hash: nothing written" },
	{ { 1, 0, A, B, 0, 0, 0, NULL }, SM_IMPORT_UPDATE,
	    "live, hash differs: update" },
	{ { 1, 0, A, A, 1, 0, 0, NULL }, SM_IMPORT_AGAIN,
	    "duplicate, not written by the run, same hash: nothing" },
	{ { 1, 0, B, B, 1, 1, 1, A }, SM_IMPORT_AGAIN,
	    "duplicate, written by the run, same hash: nothing" },
	{ { 1, 0, A, B, 1, 0, 0, NULL }, SM_IMPORT_RECHANGE,
	    "duplicate of an unchanged row, hash differs: update after all" },
	{ { 1, 0, B, C, 1, 1, 1, A }, SM_IMPORT_REWRITE,
	    "duplicate of an updated row, a third hash: rewritten in place" },
	{ { 1, 0, B, C, 1, 1, 1, NULL }, SM_IMPORT_REWRITE,
	    "duplicate of a created row, another hash: rewritten in place" },
	{ { 1, 0, B, A, 1, 1, 1, A }, SM_IMPORT_UNDO,
	    "duplicate back to the hash before the run: undone" },
	{ { 1, 0, B, C, 1, 1, 0, NULL }, SM_IMPORT_RECHANGE,
	    "duplicate written by the run, no change row: a plain change" },
	{ { 1, 0, A, NULL, 0, 0, 0, NULL }, SM_IMPORT_DELETE,
	    "--complete: live, not named: delete" },
	{ { 1, 0, A, NULL, 1, 0, 0, NULL }, SM_IMPORT_KEEP,
	    "--complete: live, named: kept" },
	{ { 1, 1, A, NULL, 0, 0, 0, NULL }, SM_IMPORT_KEEP,
	    "--complete: tombstone: kept" },
};

static const char *
sync_name(enum sm_sync_op op)
{
	static const char *const names[] = {
		"none", "create", "update", "delete", "conflict", "skip",
		"skip-gone", "skip-other", "accept"
	};

	return names[op];
}

/*
 * source_deleted source_hash source_id target_exists target_deleted
 * target_hash synced_hash taken_hash target_source_id overwrite accept
 * -> op.  Source 1; "manual": the target's hash is not synced_hash;
 * "changed": the source's hash is not taken_hash.
 */
static const struct {
	struct sm_sync_case c;
	enum sm_sync_op want;
	const char *what;
} syncs[] = {
	{ { 0, A, 1, 0, 0, "", "", "", 0, 0, 0 }, SM_SYNC_CREATE,
	    "live, no row: create" },
	{ { 0, B, 1, 1, 1, "", "", A, 1, 0, 0 }, SM_SYNC_CREATE,
	    "live, tombstone, !manual, changed: create" },
	{ { 0, A, 1, 1, 1, "", "", A, 1, 0, 0 }, SM_SYNC_NONE,
	    "live, tombstone, !manual, !changed: nothing" },
	{ { 0, A, 1, 1, 0, A, A, A, 2, 0, 0 }, SM_SYNC_SKIP_OTHER,
	    "live, fed by another source: skip" },
	{ { 1, "", 1, 1, 0, A, A, A, 2, 0, 0 }, SM_SYNC_NONE,
	    "gone, fed by another source: nothing" },
	{ { 0, B, 1, 1, 0, C, A, A, 1, 0, 0 }, SM_SYNC_CONFLICT,
	    "live, manual, changed: conflict" },
	{ { 0, A, 1, 1, 0, C, A, A, 1, 0, 0 }, SM_SYNC_SKIP,
	    "live, manual, !changed: skip" },
	{ { 0, B, 1, 1, 0, A, A, A, 1, 0, 0 }, SM_SYNC_UPDATE,
	    "live, !manual, changed: update" },
	{ { 0, A, 1, 1, 0, A, A, A, 1, 0, 0 }, SM_SYNC_NONE,
	    "live, !manual, !changed: nothing" },
	{ { 1, "", 1, 1, 0, A, A, A, 1, 0, 0 }, SM_SYNC_DELETE,
	    "gone, live, !manual: delete" },
	{ { 1, "", 1, 1, 0, C, A, A, 1, 0, 0 }, SM_SYNC_SKIP_GONE,
	    "gone, live, manual: skip" },
	{ { 1, "", 1, 0, 0, "", "", "", 0, 0, 0 }, SM_SYNC_NONE,
	    "gone, no row: nothing" },
	{ { 1, "", 1, 1, 1, "", "", A, 1, 0, 0 }, SM_SYNC_NONE,
	    "gone, tombstone: nothing" },
	{ { 0, B, 1, 1, 0, C, A, A, 1, 1, 0 }, SM_SYNC_UPDATE,
	    "--overwrite-manual: manual, changed: update" },
	{ { 0, A, 1, 1, 1, "", A, A, 1, 1, 0 }, SM_SYNC_CREATE,
	    "--overwrite-manual: manual tombstone: create" },
	{ { 1, "", 1, 1, 0, C, A, A, 1, 1, 0 }, SM_SYNC_DELETE,
	    "--overwrite-manual: gone, manual: delete" },
	{ { 0, B, 1, 1, 0, C, A, A, 1, 0, 1 }, SM_SYNC_ACCEPT,
	    "--accept-manual: manual: accepted" },
	{ { 1, "", 1, 1, 0, C, A, A, 1, 0, 1 }, SM_SYNC_ACCEPT,
	    "--accept-manual: gone, manual: accepted" },
};

int
main(void)
{
	enum sm_import_op iop;
	enum sm_sync_op sop;
	size_t i;

	tap_plan((int)(sizeof(imports) / sizeof(imports[0]) +
	    sizeof(syncs) / sizeof(syncs[0])));
	for (i = 0; i < sizeof(imports) / sizeof(imports[0]); i++) {
		iop = sm_import_decide(&imports[i].c);
		if (!ok(iop == imports[i].want, "import: %s", imports[i].what))
			diag("got %s, want %s", import_name(iop),
			    import_name(imports[i].want));
	}
	for (i = 0; i < sizeof(syncs) / sizeof(syncs[0]); i++) {
		sop = sm_sync_decide(&syncs[i].c);
		if (!ok(sop == syncs[i].want, "sync: %s", syncs[i].what))
			diag("got %s, want %s", sync_name(sop),
			    sync_name(syncs[i].want));
	}
	return tap_exit();
}
