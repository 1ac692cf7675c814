#!/bin/sh -e
# sm-cleanup: retention of snapshots, tombstones and run logs, with the
# clock set by SM_NOW so that every age and every count is exact.
cd "$(dirname "$0")"
. ./lib.sh
plan 69

q() { sqlite3 "data/$1.db" "$2"; }
# imp TENANT DAY [ARGS]: imports stdin into source feed on 2026-01-DAY.
imp() {
	t=$1 d=$2; shift 2
	SM_NOW=2026-01-${d}T00:00:00Z sm-import -q -T "$t" -s feed "$@" >/dev/null
}
day() { printf '{"id":1,"v":"%s"}\n{"id":2,"v":"%s"}\n{"id":3,"v":"x"}\n' "$1" "$1"; }
at20() { SM_NOW=2026-01-20T00:00:00Z "$@"; }

sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant create Beta --slug beta >/dev/null 2>&1
sm-tenant -T acme source add feed --type json >/dev/null
sm-tenant -T acme target add web --type website >/dev/null
sm-tenant -T beta source add feed --type json >/dev/null

# acme: three properties on day 1, synced; 1 and 2 change every day up to
# day 6, when 3 disappears (a tombstone the target has not seen yet).
day 01 | imp acme 01
SM_NOW=2026-01-01T00:00:00Z sm-sync -q -T acme feed web >/dev/null
for d in 02 03 04 05; do day $d | imp acme $d; done
printf '{"id":1,"v":"06"}\n{"id":2,"v":"06"}\n' | imp acme 06 --complete
check 'setup: 11 source snapshots' test "$(q acme 'select count(*) from snapshots')" = 11
check 'setup: 7 runs' test "$(q acme 'select count(*) from runs')" = 7
check 'setup: one tombstone' \
    test "$(q acme 'select external_id from source_properties where deleted_at is not null')" = 3

echo '{"tenant":"acme","snapshots_deleted":8,"tombstones_deleted":0,"runs_deleted":0}' >want
check_exit '--dry-run' 0 at20 sm-cleanup -T acme --days 10 --dry-run
check_same 'dry run: what would go (newest per property kept, tombstone still needed)' want out
check 'dry run: summary on stderr' grep_q 'would be deleted.*dry run: nothing deleted' err
check 'dry run deletes nothing' test "$(q acme 'select count(*) from snapshots')" = 11
check_exit '-n with --keep 2' 0 at20 sm-cleanup -T acme --days 10 --keep 2 -n
check 'keep 2: 3 of 5 per property' grep_q '"snapshots_deleted":6,' out
check_exit 'snapshots not yet old enough' 0 at20 sm-cleanup -T acme --days 30 -n
check 'nothing older than 30 days' grep_q '"snapshots_deleted":0,"tombstones_deleted":0,"runs_deleted":0}' out

check_exit 'cleanup --days 10' 0 at20 sm-cleanup -T acme --days 10
check_same 'deleted as the dry run said' want out
check 'summary line' grep_q '^sm-cleanup: acme: 8 snapshots, 0 tombstones, 0 runs, 0 change log rows deleted in ' err
check 'the newest snapshot of each property is kept' \
    test "$(q acme "select group_concat(external_id || ':' || strftime('%d', taken_at / 1000, 'unixepoch'), ' ') from (select * from snapshots order by external_id)")" = '1:06 2:06 3:06'
check 'properties themselves untouched' \
    test "$(q acme 'select count(*) from source_properties')" = 3
check 'the unsynced tombstone stays' \
    test "$(q acme 'select count(*) from source_properties where deleted_at is not null')" = 1
check_exit 'a second run finds nothing' 0 at20 sm-cleanup -T acme --days 10 -q
check 'zero counts' grep_q '"snapshots_deleted":0,"tombstones_deleted":0,"runs_deleted":0}' out
check '-q: no summary' test ! -s err

# Day 7: the sync carries out the delete; both tombstones can now go.
SM_NOW=2026-01-07T00:00:00Z sm-sync -q -T acme feed web >/dev/null
check 'target tombstone made by sync' \
    test "$(q acme 'select count(*) from target_properties where deleted_at is not null')" = 1
check 'sync snapshotted the target: 3 more' test "$(q acme 'select count(*) from snapshots')" = 6
echo '{"tenant":"acme","snapshots_deleted":2,"tombstones_deleted":2,"runs_deleted":5}' >want
check_exit 'tombstones, and runs older than --runs-days' 0 \
    at20 sm-cleanup -T acme --days 10 --runs-days 15
check_same 'tombstones purged with their snapshots; runs of days 1-4 gone' want out
check 'no tombstone left' test "$(q acme 'select (select count(*) from source_properties where deleted_at is not null) + (select count(*) from target_properties where deleted_at is not null)')" = 0
check 'no snapshot of property 3 left' \
    test "$(q acme "select count(*) from snapshots where external_id = '3'")" = 0
check 'runs from day 5 on are kept' \
    test "$(q acme "select group_concat(strftime('%d', started_at / 1000, 'unixepoch'), ' ') from (select * from runs order by id)")" = '05 06 07'
check 'change log older than the runs cutoff gone' \
    test "$(q acme 'select count(*) from changes where at < 1767571200000')" = 0
check 'change log since then kept' \
    test "$(q acme 'select count(*) from changes where at >= 1767571200000')" -gt 0
check_exit 'check is clean afterwards' 0 sm-tenant check acme

# The purged tombstone does not get in the way of the property's return.
day 21 | imp acme 21
check 'property 3 comes back as a new row' \
    test "$(q acme "select count(*) from source_properties where external_id = '3' and deleted_at is null")" = 1
check_exit 'sync after the purge' 0 env SM_NOW=2026-01-21T00:00:00Z sm-sync -T acme feed web
check 'sync creates it on the target again' \
    grep_q '"op":"create","target":"web","external_id":"3"' out
check 'and updates the others' test "$(grep -c '"op":"update"' out)" = 2

# A deletion seen on the target (import -t --complete) is a manual change
# the next sync keeps: that tombstone is state, not history.
printf '{"id":1,"v":"21"}\n{"id":2,"v":"21"}\n' | SM_NOW=2026-01-22T00:00:00Z \
    sm-import -q -T acme -t web --complete >/dev/null
check 'manual deletion on the target' \
    test "$(q acme "select has_manual_changes from target_properties where external_id = '3' and deleted_at is not null")" = 1
check_exit '--days 0 --keep 0: everything older than now' 0 \
    env SM_NOW=2026-02-01T00:00:00Z sm-cleanup -T acme --days 0 --keep 0
check 'every snapshot gone' test "$(q acme 'select count(*) from snapshots')" = 0
check 'the manual target tombstone is kept' grep_q '"tombstones_deleted":0,' out
check 'still there' \
    test "$(q acme "select count(*) from target_properties where deleted_at is not null")" = 1
check_exit 'sync still keeps the manual deletion' 0 \
    env SM_NOW=2026-02-01T00:00:00Z sm-sync -T acme feed web --stats
check 'nothing recreated' grep_q '"created":0,' out
check '--days 0 spares what is not older than now' \
    test "$(SM_NOW=2026-01-22T00:00:00Z sm-cleanup -q -T acme --days 0 --keep 0 -n)" = \
    '{"tenant":"acme","snapshots_deleted":0,"tombstones_deleted":0,"runs_deleted":0}'

# Defaults from the configuration: retention_days, keep_snapshots, runs_days.
printf '{"id":1,"v":"a"}\n' | imp beta 01
printf '{"id":1,"v":"b"}\n' | imp beta 02
printf '{"id":1,"v":"c"}\n' | imp beta 03
cat >cfg.yaml <<EOF
retention_days: 5
keep_snapshots: 0
runs_days: 6
EOF
check_exit 'defaults from the config file' 0 env SM_NOW=2026-01-08T00:00:00Z \
    sm-cleanup -c cfg.yaml -T beta -n
check 'retention_days 5 and keep_snapshots 0: day 2 goes, day 3 stays; runs_days 6: day 1 goes' \
    grep_q '"snapshots_deleted":1,"tombstones_deleted":0,"runs_deleted":1}' out
check_exit 'options override the config' 0 env SM_NOW=2026-01-08T00:00:00Z \
    sm-cleanup -c cfg.yaml -T beta -n --days 30 --runs-days 30
check 'nothing then' grep_q '"snapshots_deleted":0,"tombstones_deleted":0,"runs_deleted":0}' out
check_exit 'built-in defaults (30 days, keep 1, runs 90)' 0 env SM_NOW=2026-03-01T00:00:00Z \
    sm-cleanup -T beta -n
check 'keeps the newest one' grep_q '"snapshots_deleted":1,"tombstones_deleted":0,"runs_deleted":0}' out

# Runs go, the snapshots they took stay, no longer pointing to them.
check 'beta: snapshots taken by runs' \
    test "$(q beta 'select count(*) from snapshots where run_id is not null')" = 2
check_exit '--runs-days 0: every run' 0 env SM_NOW=2026-01-09T00:00:00Z \
    sm-cleanup -T beta --runs-days 0 --days 1000
check 'three runs, no snapshot' grep_q '"snapshots_deleted":0,"tombstones_deleted":0,"runs_deleted":3}' out
check 'the snapshots no longer name a run' \
    test "$(q beta 'select count(*) from snapshots where run_id is null')" = 2
check_exit 'foreign keys consistent: check clean' 0 sm-tenant check beta

# --all: every tenant, one line each, a broken one reported and skipped.
check_exit '--all' 0 env SM_NOW=2026-03-01T00:00:00Z sm-cleanup --all --days 0 --keep 0 --vacuum
check 'one line per tenant, in order' \
    test "$(sed 's/,.*//' out | tr '\n' ' ')" = '{"tenant":"acme" {"tenant":"beta" '
check 'beta cleaned' grep_q '^{"tenant":"beta","snapshots_deleted":2,' out
check 'vacuum said' grep_q 'beta: .*, vacuumed$' err
check 'WAL truncated by the vacuum' test ! -s data/beta.db-wal
echo 'not a database at all, but long enough to be read as one..........' >data/broken.db
check_exit '--all with a broken tenant: its status, the others done' 65 \
    sm-cleanup --all -q
check 'the good tenants still reported' test "$(wc -l <out)" = 2
check 'the broken one named' grep_q 'broken' err
rm data/broken.db
check_exit 'check all tenants clean' 0 sm-tenant check

check_exit 'no tenant: usage' 64 sm-cleanup
check_exit '-T and --all' 64 sm-cleanup -T acme --all
check_exit 'negative --days' 64 sm-cleanup -T acme --days -1
check 'names the value' grep_q "invalid --days value '-1'" err
check_exit 'missing tenant' 66 sm-cleanup -T nosuch
check_exit 'an operand' 64 sm-cleanup -T acme acme
check 'says why, then the usage' test "$(sed -n 1p err)" = \
    "sm-cleanup: extra operand 'acme'" -a "$(sed -n 2p err | cut -c1-17)" = \
    'usage: sm-cleanup'
done_testing
