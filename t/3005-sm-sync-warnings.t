#!/bin/sh -e
# sm-sync: warnings keeps the original's meaning (SPEC §5.3).  Every row
# the run holds back because of a manual edit counts, on every run, with
# its event, until someone decides; found through an index of the flagged
# rows, never by a scan of the target.
cd "$(dirname "$0")"
. ./lib.sh
plan 24

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant source add other --type json >/dev/null
sm-tenant target add website --type website >/dev/null
printf '{"id":"A%s","p":%s}\n' 1 1 2 2 3 3 | sm-import -q -s portal >/dev/null
sm-sync -q portal website >/dev/null

# stats KEY...: those keys of the --stats line in out, joined by commas.
stats() {
	jq -r "[.stats | $(printf '.%s,' "$@" | sed 's/,$//')] | join(\",\")" out
}
# events: "op id" of each event in out.
events() { jq -r '[.op, .external_id] | join(" ")' out; }

# Day 1: A1 edited on the website, and changed in the source: a conflict.
printf '{"id":"A1","p":10}\n' | sm-import -q -t website --merge >/dev/null
printf '{"id":"A1","p":11}\n' | sm-import -q -s portal >/dev/null
check_exit 'day 1: --fail-on-warnings exits 1' 1 \
    sm-sync portal website --fail-on-warnings
check 'day 1: one conflict event' test "$(events)" = 'conflict A1'
check_exit 'day 1 --stats' 1 sm-sync -n -q portal website --stats \
    --fail-on-warnings
check 'day 1: warnings 1, skipped 1, conflicts 1, flagged 1' \
    test "$(stats warnings skipped conflicts flagged)" = 1,1,1,1

# Day 2: nothing changed, the conflict unresolved: the same warning again.
check_exit 'day 2: --fail-on-warnings exits 1 again' 1 \
    sm-sync portal website --fail-on-warnings
check 'day 2: its conflict event again, once' test "$(events)" = 'conflict A1'
check 'with the warning' test "$(jq -r .warning out)" = \
    'source has changes but target has manual modifications'
check_exit 'day 2 --stats' 1 sm-sync -q portal website --stats \
    --fail-on-warnings
check 'day 2: warnings 1, skipped 1, examined 1' \
    test "$(stats warnings skipped examined)" = 1,1,1
check 'the history keeps each run'"'"'s warnings' test "$(sm-sync --history \
    portal website | jq -s -c 'map(.stats.warnings)')" = '[0,1,1,1]'

# Day 3: A1 edited and changed again, A2 newly edited: each row once.
printf '{"id":"A1","p":12}\n{"id":"A2","p":20}\n' |
    sm-import -q -t website --merge >/dev/null
printf '{"id":"A1","p":13}\n' | sm-import -q -s portal >/dev/null
check_exit 'day 3' 1 sm-sync portal website --fail-on-warnings
check 'each held-back row has one event' test "$(events | sort |
    tr '\n' ,)" = 'conflict A1,skip A2,'
check_exit 'day 3 again, --stats' 1 sm-sync -q portal website --stats \
    --fail-on-warnings
check 'warnings 2, skipped 2, conflicts 1' \
    test "$(stats warnings skipped conflicts)" = 2,2,1

# Another pair's flagged rows are not this pair's warnings.
printf '{"id":"B1","p":1}\n' | sm-import -q -s other >/dev/null
check_exit 'the other source' 0 sm-sync -q other website --stats \
    --fail-on-warnings
check 'has no warnings' test "$(stats warnings flagged)" = 0,0
# --id: a partial run looks at its ids only.
check_exit '--id A3' 0 sm-sync -q portal website --id A3 --stats \
    --fail-on-warnings
check 'no warnings for the rows it did not look at' \
    test "$(stats warnings flagged)" = 0,2

# Someone decides: --accept-manual.  Then the alerts stop.
check_exit '--accept-manual' 0 sm-sync -q portal website --accept-manual \
    --stats
check 'accepted 2, warnings 0' test "$(stats accepted warnings)" = 2,0
check_exit 'the day after: exit 0' 0 sm-sync portal website \
    --fail-on-warnings --stats
check 'warnings 0, flagged 0, examined 0' \
    test "$(stats warnings flagged examined)" = 0,0,0

# The walk of the flagged rows is a search of their index, which holds
# every column it reads: O(flagged rows).  The statement of lib/sync.c
# report_flagged(), word for word.
sqlite3 data/acme.db "EXPLAIN QUERY PLAN SELECT id, external_id \
    FROM target_properties WHERE target_id = 1 AND has_manual_changes \
    AND (source_id IS NULL OR source_id = 1)" >plan
check 'the flagged rows: a search of a covering index' grep_q \
    'SEARCH target_properties USING COVERING INDEX target_properties_flagged (target_id=?)' plan
check 'no scan' sh -c '! grep -q SCAN plan'
done_testing
