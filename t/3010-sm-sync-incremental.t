#!/bin/sh -e
# sm-sync: the cost grows with the changes, not with the data (SPEC §5.3).
# 10,000 properties; the stats' "examined" counts the properties a run
# looked at.
cd "$(dirname "$0")"
. ./lib.sh
plan 17

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
check 'examines 0' test "$(stat examined)" = 0
done_testing
