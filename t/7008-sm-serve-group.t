#!/bin/sh -e
# Group commit (issue 13): imports of one tenant that wait for its write
# lock run together, in one transaction that commits once.  Each is
# still its own run, answers what it would alone, and only after the
# commit; when one fails, the others are not lost: those before it run
# again, each alone.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 28

sm-tenant create "Agency A" --slug a >a.json 2>/dev/null
sm-tenant -T a source add feed --type json >/dev/null
KEY="X-API-Key: $(jq -r .api_key a.json)"
DB=$SM_DATA_DIR/a.db
printf 'serve:\n  tenant_requests: 10\n' >config.yaml
serve_start -c config.yaml --threads 4

# commits: the transactions committed to the write-ahead log of the
# tenant: its frames of the current salt that end a transaction.
commits() {
	python3 - "$DB-wal" <<'EOF'
import struct, sys
try:
    d = open(sys.argv[1], 'rb').read()
except FileNotFoundError:
    d = b''
n = 0
if len(d) >= 32:
    size = struct.unpack('>I', d[8:12])[0]
    salt = d[16:24]
    off = 32
    while off + 24 + size <= len(d):
        if d[off + 8:off + 16] != salt:
            break
        if struct.unpack('>I', d[off + 4:off + 8])[0] != 0:
            n += 1
        off += 24 + size
print(n)
EOF
}

# post NAME QUERY BODY: an import in the background; its status in
# NAME.code, its answer in NAME.json, and in NAME.seen whether a reader
# of the file (another process) saw A1 the moment the answer came.
post() {
	(
		code=$(curl -s -o "$1.json" -w '%{http_code}' -X POST \
		    "$URL/sources/1/import$2" -H "$KEY" \
		    -H 'Content-Type: application/json' --data-binary "$3")
		sqlite3 -cmd '.timeout 5000' "$DB" "SELECT count(*)
		    FROM source_properties WHERE external_id = 'A1'" \
		    >"$1.seen" 2>&1 || :
		echo "$code" >"$1.code"
	) &
	POSTS="$POSTS $!"
}
# posted: waits for the imports posted (not for the server).
posted() { wait $POSTS; POSTS=; }
POSTS=

# hold SECONDS: the tenant's write lock, held by another process for a
# while (HOLDER its pid): the first import then takes the tenant's turn
# and waits for the lock; the rest wait behind it, in order, and run as
# one group once it is through.
hold() {
	(echo '.timeout 5000'; echo 'BEGIN IMMEDIATE;'; sleep "$1"
	    echo 'COMMIT;') | sqlite3 "$DB" &
	HOLDER=$!
	until ! sqlite3 "$DB" '.timeout 0' 'BEGIN IMMEDIATE; ROLLBACK;' \
	    2>/dev/null; do sleep 0.05; done
}

# A group where some fail: the others are not lost.
post p0 '' '{"data":[{"id":"P0","price":1}]}'
posted
hold 2.5
post p1 '' '{"data":[{"id":"P1","price":1}]}'
sleep 0.2
post g1 '' '{"data":[{"id":"A1","price":1},{"id":"A2","price":1}]}'
sleep 0.2
# Rejected whole (strict): its run is logged failed, nothing of it kept.
post g2 '?strict=true' '{"data":[{"id":"B1","price":1},{"price":2}]}'
sleep 0.2
# Broken after its first record was written: that record is undone.
post g3 '' '{"data":[{"id":"C1","price":1} {"id":"C2"}]}'
sleep 0.2
post g4 '' '{"data":[{"id":"A1","price":5},{"id":"D1","price":1}]}'
sleep 0.2
post g5 '?dry_run=true' '{"data":[{"id":"E1","price":1}]}'
sleep 0.2
posted

# code NAME: the HTTP status of the import NAME.
code() { cat "$1.code"; }
check 'the import that waited for the lock: 200' test "$(code p1)" = 200
check 'the first of the group: 200' test "$(code g1)" = 200
check 'its stats are its own' jq_e '.stats == {"created":2,"updated":0,
    "unchanged":0,"deleted":0,"rejected":0}' g1.json
check 'the strict import with a bad record: 422' test "$(code g2)" = 422
check 'it says why' jq_e '.error | test("strict=true: nothing written")' \
    g2.json
check 'the broken body: 400' test "$(code g3)" = 400
check 'the import after them: 200' test "$(code g4)" = 200
check 'its stats follow the first of the group' jq_e '.stats ==
    {"created":1,"updated":1,"unchanged":0,"deleted":0,"rejected":0}' \
    g4.json
check 'the dry run: 200' test "$(code g5)" = 200
check 'with its stats' jq_e '.stats.created == 1' g5.json
check 'every run its own number' sh -c \
    'test "$(jq .run p1.json g1.json g4.json | sort -u | wc -l)" = 3'
check 'answered after the commit: another process saw the data' \
    sh -c 'cat g1.seen g4.seen | grep -qvx 1 && exit 1; :'

expect 'the properties' 200 GET '/sources/1/properties' -H "$KEY"
check 'hold the imports that succeeded, the last price of A1' jq_q '
    [.[] | {(.external_id): .data.price}] | add ==
    {"P0":1,"P1":1,"A1":5,"A2":1,"D1":1}'
check 'nothing of the failed or the dry run' jq_q '
    [.[] | .external_id] - ["P0","P1","A1","A2","D1"] == []'
expect 'the run log' 200 GET '/runs' -H "$KEY"
jq -c '[.[] | {status, stats, error: (.error != null)}]' "$SCRATCH/body" \
    >runs.json
check 'one run per import, in order, with its own stats and status' jq_e '
    .[2:] == [
	{"status":"success","stats":{"created":2,"updated":0,"unchanged":0,
	    "deleted":0,"rejected":0},"error":false},
	{"status":"failed","stats":{},"error":true},
	{"status":"failed","stats":{},"error":true},
	{"status":"success","stats":{"created":1,"updated":1,"unchanged":0,
	    "deleted":0,"rejected":0},"error":false}]' runs.json
check 'the import that waited has its run' jq_e '.[1].status == "success"' \
    runs.json
wait $HOLDER || :

# A group of imports that all succeed: one commit for all of them.
hold 3
post s0 '' '{"data":[{"id":"S0","price":1}]}'
sleep 0.2
post s1 '' '{"data":[{"id":"S1","price":1}]}'
sleep 0.2
post s2 '' '{"data":[{"id":"S2","price":1}]}'
sleep 0.2
post s3 '' '{"data":[{"id":"S1","price":2}]}'
sleep 0.2
before=$(commits)
posted
after=$(commits)
wait $HOLDER || :
check 'a group of four: all 200' test "$(cat s?.code | sort -u)" = 200
check 'the group committed once (the waiting import once more)' \
    test "$((after - before))" = 2
check 'the last of them updated what the second created' jq_e \
    '.stats.updated == 1' s3.json

# Many at once, every request changing what the one before wrote: each
# answer and run counts its own records.
i=0
while [ $i -lt 8 ]; do
	i=$((i + 1))
	post "m$i" '' "{\"data\":[{\"id\":\"M\",\"price\":$i},{\"id\":\"M$i\"}]}"
done
posted
n=$(cat m*.code | grep -cx 200 || :)
check 'eight concurrent imports: all 200' test "$n" = 8
check 'each created its own record' sh -c \
    'test "$(jq -s "map(.stats.created) | add" m*.json)" = 9'
check 'and only the first created M, the rest updated it' sh -c \
    'test "$(jq -s "map(.stats.updated) | add" m*.json)" = 7'
expect 'M holds the price of one of them' 200 GET \
    '/sources/1/properties?limit=1000' -H "$KEY"
check 'a price one of them sent' jq_q \
    '[.[] | select(.external_id == "M") | .data.price][0] | . >= 1 and . <= 8'

serve_stop
check 'the server stops cleanly' test "$SERVE_STATUS" = 0
check 'sm-tenant check finds the file sound' sm-tenant check a
done_testing
