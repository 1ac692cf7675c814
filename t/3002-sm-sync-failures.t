#!/bin/sh -e
# sm-sync: a run that fails writes nothing and is logged; a busy tenant;
# a write error on stdout.
cd "$(dirname "$0")"
. ./lib.sh
plan 15

SM_NOW=2026-11-29T05:00:00Z
SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add website --type website >/dev/null
printf '{"id":"A%s","p":%s}\n' 1 1 2 2 3 3 | sm-import -q -s portal >/dev/null

# property_state: everything a sync may write, but the run log.
property_state() {
	sqlite3 data/acme.db "SELECT * FROM target_properties; \
	    SELECT * FROM snapshots; SELECT * FROM changes; \
	    SELECT * FROM sync_state"
}

# A failure in the middle of the run: the third write fails.
sqlite3 data/acme.db "CREATE TRIGGER fail BEFORE INSERT ON target_properties \
    WHEN NEW.external_id = 'A3' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
property_state >before
check_exit 'a failing run exits 70' 70 sm-sync portal website
check 'says why' grep_q "cannot write a target property: disk on fire" err
check 'prints no events' test ! -s out
property_state >after
check_same 'writes nothing' before after
sm-sync --history portal website | jq -c '{run, status, error}' >got
cat >want <<'EOF'
{"run":2,"status":"failed","error":"tenant 'acme': cannot write a target property: disk on fire"}
EOF
check_same 'is logged as failed, after the rollback' want got
sqlite3 data/acme.db "DROP TRIGGER fail"
check_exit 'the next run does all of it' 0 sm-sync -q portal website --stats
check 'created 3' grep_q '"created":3,' out

# A busy tenant: exit 75 at once, nothing logged.
echo '{"id":"A4","p":4}' | sm-import -q -s portal >/dev/null
property_state >before
# Another process holds the write lock until the file "release" exists.
{
	echo 'BEGIN IMMEDIATE;'
	while [ ! -e release ] && [ -e data ]; do sleep 0.1; done
	echo 'COMMIT;'
} | sqlite3 -cmd '.timeout 10000' data/acme.db &
n=0
while [ $n -lt 200 ] && sqlite3 data/acme.db 'BEGIN IMMEDIATE; ROLLBACK' \
    2>/dev/null; do
	n=$((n + 1))
	sleep 0.1
done
check_exit 'a busy tenant exits 75' 75 env SM_BUSY_TIMEOUT_MS=100 \
    sm-sync portal website
touch release
wait
check 'says to try again' grep_q "busy.*try again later" err
property_state >after
check_same 'writes nothing' before after
check 'and is not logged' test "$(sm-sync --history | wc -l)" = 2

# A write error on stdout: exit 74.  The run committed before its events
# were printed: output can be lost, never invented.
set +e
sm-sync portal website >/dev/full 2>err
rc=$?
set -e
check 'stdout full exits 74' test "$rc" = 74
check 'says so' grep_q 'write error' err
check_exit 'the run happened' 0 sm-sync --history portal website
check 'and is logged as a success' \
    test "$(tail -n 1 out | jq -c '[.status, .stats.created]')" = '["success",1]'
done_testing
