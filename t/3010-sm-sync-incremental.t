#!/bin/sh -e
# sm-sync: the cost grows with the changes, not with the data (SPEC §5.3).
# 10,000 properties; the stats' "examined" counts the properties a run
# looked at.
cd "$(dirname "$0")"
. ./lib.sh
plan 36

SM_NOW=2026-11-29T05:00:00Z
SM_TENANT=big
export SM_NOW SM_TENANT
sm-tenant create Big --slug big >/dev/null 2>&1
sm-tenant source add portal --type scraped >/dev/null
sm-tenant target add website --type website >/dev/null

# listings CHANGED: 10,000 records; every 1000th gets a new price when
# CHANGED is 1.
listings() {
	awk -v changed="$1" 'BEGIN {
		for (i = 1; i <= 10000; i++)
			printf "{\"id\":\"P%05d\",\"title\":\"Listing %d\"," \
			    "\"price\":%d,\"bedrooms\":%d}\n", i, i,
			    100000 + i + (changed && i % 1000 == 0 ? 5000 : 0),
			    i % 5 + 1
	}'
}
# stat KEY: one key of the --stats output in out.
stat() { jq ".stats.$1" out; }

listings 0 >day1.ndjson
listings 1 >day2.ndjson
check_exit 'import 10,000' 0 sm-import -q -s portal --stats day1.ndjson
check 'created 10000' test "$(stat created)" = 10000
check_exit 'first sync' 0 sm-sync -q portal website --stats
check 'examines and creates all 10000' \
    test "$(stat examined),$(stat created)" = 10000,10000

check_exit 're-import with 10 changed' 0 sm-import -q -s portal --stats day2.ndjson
check 'updated 10, unchanged 9990' \
    test "$(stat updated),$(stat unchanged)" = 10,9990
check_exit 'sync the 10' 0 sm-sync -q portal website --stats
echo "# examined $(stat examined), updated $(stat updated)"
check 'examined is on the order of 10, not 10000' test "$(stat examined)" -le 20
check 'updated 10' test "$(stat updated)" = 10

# A manual change of 3 rows on the target.
awk 'NR % 3000 == 0 { sub(/"price":[0-9]*/, "\"price\":1"); print }' \
    day2.ndjson >edit.ndjson
check_exit 'edit 3 rows of the website' 0 \
    sm-import -q -t website --merge --stats edit.ndjson
check_exit 'sync' 0 sm-sync -q portal website --stats
echo "# examined $(stat examined), skipped $(stat skipped)"
check 'examines the 3 edited rows' test "$(stat examined)" -le 5
check 'and skips them with warnings' \
    test "$(stat skipped),$(stat warnings)" = 3,3

check_exit 'an identical re-import' 0 sm-import -q -s portal --stats day2.ndjson
check 'changes nothing' test "$(stat unchanged)" = 10000
check_exit 'then a sync' 0 sm-sync -q portal website --stats
# The 3 rows held back stay warnings on every run until someone decides
# (SPEC §5.3): they are the only rows examined.
check 'examines only the 3 flagged rows, warnings 3' \
    test "$(stat examined),$(stat skipped),$(stat warnings)" = 3,3,3

# Sync finds a changed row by the change log row its seq names. Two ways
# that row could go missing, each of which would hide a change from sync:
price() { sm-snapshot cat -t website --id "$1" | jq -r .data.price; }
one() { printf '{"id":"P00001","title":"Listing 1","price":%d,"bedrooms":2}\n' "$@"; }
# 1. A duplicate key that puts a row back to its version from before the
#    run: the row must get back that version's change number.
one 200001 | sm-import -q -s portal >/dev/null
check_exit 'sync price 200001' 0 sm-sync -q portal website
check 'the website has it' test "$(price P00001)" = 200001
one 200002 | sm-import -q -s portal >/dev/null
one 200003 >dup.ndjson
one 200002 >>dup.ndjson
check_exit 'a duplicate key undoes a change' 0 \
    sm-import -q -s portal --stats dup.ndjson
check 'nothing changed in that run' \
    test "$(stat updated),$(stat unchanged)" = 0,1
check_exit 'sync' 0 sm-sync -q portal website --stats
check 'the unsynced change before it is synced' test "$(price P00001)" = 200002
check 'one examined, one updated (and the 3 flagged)' \
    test "$(stat examined),$(stat updated)" = 4,1
# 2. sm-cleanup of the change log spares the latest change of every row.
one 200004 | sm-import -q -s portal >/dev/null
check_exit 'cleanup the whole change log' 0 \
    env SM_NOW=2026-12-30T00:00:00Z sm-cleanup --runs-days 0
check 'deleted older changes' grep_q ' [1-9][0-9]* change log rows deleted' err
check_exit 'sync after the cleanup' 0 sm-sync -q portal website --stats
check 'the change is synced' test "$(price P00001)" = 200004
check_exit 'tenant check is clean' 0 sm-tenant check big

# A property whose change log row is gone is what check reports.
printf '{"id":"P00002","title":"Listing 2","price":1,"bedrooms":3}\n' |
    sm-import -q -s portal >/dev/null
sqlite3 "$SM_DATA_DIR/big.db" "DELETE FROM changes WHERE seq =
    (SELECT seq FROM source_properties WHERE external_id = 'P00002')"
check_exit 'check finds a row without its change' 65 sm-tenant check big
check 'and names it' \
    grep_q 'has no change log row for its change number' out

# A tenant file of schema 1 (seq indexes, no prev_seq) is upgraded: the
# row without a change row gets one back, and sync sees it.
sqlite3 "$SM_DATA_DIR/big.db" "
DROP INDEX source_properties_tombstones;
DROP INDEX target_properties_tombstones; DROP INDEX snapshots_run;
DROP INDEX snapshots_source; DROP INDEX snapshots_target;
CREATE INDEX snapshots_source ON snapshots (source_id, external_id, taken_at);
CREATE INDEX snapshots_target ON snapshots (target_id, external_id, taken_at);
CREATE INDEX source_properties_seq ON source_properties (source_id, seq);
CREATE INDEX target_properties_seq ON target_properties (target_id, seq);
CREATE INDEX changes_run ON changes (run_id);
DROP INDEX target_properties_flagged;
CREATE INDEX target_properties_manual ON target_properties (target_id)
	WHERE has_manual_changes;
ALTER TABLE changes DROP COLUMN prev_seq;
ALTER TABLE snapshots DROP COLUMN row_state;
PRAGMA user_version = 1"
check_exit 'a schema 1 file opens' 0 sm-sync -q portal website --stats
latest=$(ls "$TOP"/schema/[0-9][0-9][0-9]-*.sql | sed -n '$s|.*/0*\([0-9]*\)-.*|\1|p')
check 'and is at the latest schema' \
    test "$(sqlite3 "$SM_DATA_DIR/big.db" 'PRAGMA user_version')" = "$latest"
check 'the change of the row without its change row is synced' \
    test "$(stat examined),$(stat updated),$(price P00002)" = 4,1,1
check 'without the seq and run indexes' test "$(sqlite3 \
    "$SM_DATA_DIR/big.db" "SELECT count(*) FROM sqlite_master
    WHERE name LIKE '%_seq' OR name = 'changes_run'")" = 0
check_exit 'and its check is clean' 0 sm-tenant check big
done_testing
