#!/bin/sh -e
# sm-import: an interrupted import leaves the tenant as it was; no
# progress line off a terminal; concurrent imports serialize; a busy
# tenant exits 75.
cd "$(dirname "$0")"
. ./lib.sh
plan 17

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant -q create Acme --slug acme >/dev/null 2>&1
sm-tenant source add big --type scraped >/dev/null
sm-tenant source add a --type api >/dev/null
sm-tenant source add b --type api >/dev/null
state() {
	sqlite3 data/acme.db 'SELECT count(*), total(length(data)) FROM source_properties;
	    SELECT count(*) FROM snapshots; SELECT count(*) FROM changes'
}

# 200000 listings, and a first version of 1000 of them already stored.
awk 'BEGIN { for (i = 0; i < 200000; i++)
	printf "{\"id\":\"P%06d\",\"title\":\"Flat %d\",\"price\":%d,\"city\":\"Madrid\"}\n", i, i, 100000 + i }' >big.ndjson
head -n 1000 big.ndjson | sed 's/"Madrid"/"Sevilla"/' >first.ndjson
sm-import -q -s big first.ndjson >/dev/null

# SIGINT half-way: exit 130, nothing written, the run logged.  A
# background job starts with SIGINT ignored until sm-import catches it,
# so the signal is sent again until the process is gone.
state >before
set +e
sm-import -s big big.ndjson >out 2>err &
pid=$!
sleep 0.5
while kill -INT $pid 2>/dev/null; do sleep 0.2; done
wait $pid
rc=$?
set -e
check 'interrupted import exits 130' test "$rc" = 130
check 'no events' test ! -s out
echo 'sm-import: interrupted: nothing was written' >want
check_same 'says so' want err
state >after
check_same 'the tenant as it was' before after
sm-import --history -s big | tail -n 1 >got
check 'run logged as interrupted' grep_q \
    '^{"run":2,"kind":"import","source":"big",.*"status":"interrupted","error":"interrupted: nothing was written"' got

# SIGTERM too.
set +e
sm-import -s big big.ndjson >out 2>err &
pid=$!
sleep 0.5
while kill -TERM $pid 2>/dev/null; do sleep 0.2; done
wait $pid
rc=$?
set -e
check 'SIGTERM exits 130 too' test "$rc" = 130
state >after
check_same 'the tenant as it was' before after

# The whole run, stderr a file: only the summary, no progress line.
check_exit 'a run of a few seconds' 0 sm-import -s big big.ndjson
check 'stderr holds the summary only' test "$(wc -l <err)" = 1
check 'which is the summary' grep_q \
    '^sm-import: big: 199000 created, 1000 updated, 0 unchanged, 0 deleted, 0 rejected in [0-9.]* s$' err
check 'no carriage return on stderr' sh -c "! tr '\r' '\n' <err | grep -q 'records'"
check 'one event per property' test "$(wc -l <out)" = 200000

# Two imports of different sources started at once: both succeed.
head -n 20000 big.ndjson >a.ndjson
tail -n 20000 big.ndjson >b.ndjson
set +e
sm-import -s a --stats a.ndjson >a.out 2>a.err &
pa=$!
sm-import -s b --stats b.ndjson >b.out 2>b.err &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
set -e
check 'both exit 0' test "$ra $rb" = "0 0"
check 'a created 20000' grep_q '"stats":{"created":20000,' a.out
check 'b created 20000' grep_q '"stats":{"created":20000,' b.out

# A tenant held by another writer past busy_timeout_ms: exit 75.
mkfifo hold
sqlite3 data/acme.db <hold >/dev/null 2>&1 &
holder=$!
exec 3>hold
printf "BEGIN IMMEDIATE;\n.shell touch locked\n" >&3
n=0; while [ ! -e locked ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
check_exit 'busy tenant' 75 env SM_BUSY_TIMEOUT_MS=100 sm-import -s a a.ndjson
echo 'ROLLBACK;' >&3
exec 3>&-
wait $holder
check 'says try again later' grep_q "^sm-import: tenant 'acme' is busy (another run holds it): try again later$" err
done_testing
