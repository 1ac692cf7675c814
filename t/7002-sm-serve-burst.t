#!/bin/sh -e
# sm-serve under load: a burst of 200 concurrent requests over two tenants,
# a long import that does not hold up the other tenant, and a SIGTERM that
# lets the request in progress finish.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 14

sm-tenant create "Agency A" --slug a >a.json 2>/dev/null
sm-tenant create "Agency B" --slug b >b.json 2>/dev/null
for t in a b; do
	sm-tenant -T $t source add feed --type scraped >/dev/null
	sm-tenant -T $t target add site --type website >/dev/null
done
# Spools go here: one appears when an import has begun.
mkdir tmp
TMPDIR=$SCRATCH/tmp
export TMPDIR
serve_start --threads 4
KEY_a=$(jq -r .api_key a.json)
KEY_b=$(jq -r .api_key b.json)

# The burst: 200 curl processes, 20 at a time, each request a curl config
# file.  A 503 would be retried after its Retry-After (--retry).
n=0
burst() {	# KIND TENANT METHOD PATH [BODY]
	n=$((n + 1))
	eval key=\$KEY_$2
	{
		echo "url = \"$URL$4\""
		echo "request = \"$3\""
		echo "header = \"X-API-Key: $key\""
		[ -z "${5:-}" ] || { echo 'header = "Content-Type: application/json"'
			printf 'data = "%s"\n' "$(printf %s "$5" | sed 's/"/\\"/g')"; }
		echo "output = \"out.$n\""
		printf 'write-out = "%%{http_code} %s %s\\n"\n' $1 $2
		echo 'silent'
		echo 'retry = 30'
	} >req.$n
	echo req.$n
}
{
	for i in $(seq 1 50); do
		for t in a b; do
			burst import $t POST /sources/1/import \
			    "{\"data\":[{\"id\":\"$t$i\",\"n\":$i}]}"
		done
	done
	for i in $(seq 1 15); do
		burst sync a POST /sync/1/1; burst sync b POST /sync/1/1
	done
	for i in $(seq 1 25); do
		burst list a GET /sources/1/properties
		burst list b GET /sources/1/properties
	done
	for i in $(seq 1 10); do
		burst runs a GET '/runs?kind=import'; burst runs b GET /runs
	done
} | awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' | sort -n |
    cut -f2 >burst.in
check '200 requests' test "$(wc -l <burst.in)" = 200
start=$(date +%s.%N)
xargs -P 20 -n 1 curl -K <burst.in >burst.out
end=$(date +%s.%N)
check 'every request answered' test "$(wc -l <burst.out)" = 200
check 'all 200, none failed' sh -c '! awk "\$1 != 200" burst.out | grep -q .'
awk '$1 != 200 { print "# " $0 }' burst.out
echo "# burst: 200 requests, 20 at a time, in $(echo "$end - $start" | bc) s;" \
    "$(grep -c ' 503 ' serve.log || :) answered 503 and retried;" \
    "slowest $(awk '$(NF - 1) ~ /^[0-9.]+$/ { print $(NF - 1) }' serve.log |
    sort -n | tail -1) s in the server"
for t in a b; do
	eval key=\$KEY_$t
	curl -s "$URL/sources/1/properties" -H "X-API-Key: $key" >props.$t
	curl -s "$URL/runs?kind=import" -H "X-API-Key: $key" >runs.$t
done
check 'no import lost: 50 properties in A' test "$(jq length props.a)" = 50
check 'no import lost: 50 properties in B' test "$(jq length props.b)" = 50
check 'each its own: a1..a50' test "$(jq -r 'map(.external_id) | sort |
    join(" ")' props.a)" = "$(seq 1 50 | sed 's/^/a/' | sort | tr '\n' ' ' |
    sed 's/ $//')"
check 'every import logged once, as a success' test "$(jq '[.[] |
    select(.status == "success")] | length' runs.a) $(jq length runs.b)" = \
    '50 50'
curl -s -X POST "$URL/sync/1/1" -H "X-API-Key: $KEY_a" >/dev/null
check 'a last sync brings the target level' test "$(curl -s \
    "$URL/targets/1/properties" -H "X-API-Key: $KEY_a" | jq length)" = 50
check 'the tenant files are sound' sm-tenant check a

# A long import of one tenant does not hold up another.  Long enough
# that B's requests are done before it ends: import's fast path takes
# 40000 such records in a third of a second.
awk 'BEGIN { for (i = 0; i < 160000; i++)
    printf "{\"id\":\"L%d\",\"price\":%d,\"title\":\"house %d\"}\n", i, i, i }' \
    >long.ndjson
(curl -s -o long.out -X POST "$URL/sources/1/import" -H "X-API-Key: $KEY_a" \
    -H 'Content-Type: application/x-ndjson' --data-binary @long.ndjson
    date +%s.%N >long.done) &
long=$!
sleep 0.3
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -w '%{http_code}\n' "$URL/sources" \
	    -H "X-API-Key: $KEY_b" >>b.codes
done
date +%s.%N >b.done
wait $long
check 'B answered while A imported' test "$(sort -u b.codes)" = 200
check 'before the long import ended' test "$(echo "$(cat b.done) < \
    $(cat long.done)" | bc)" = 1
check 'the long import' sh -c \
    'jq -e ".stats.created == 160000" long.out >/dev/null'

# SIGTERM: no new connections, the import in progress finishes, exit 0.
sed -n 's/"title"/"note":"day 2","title"/; 1,20000p' long.ndjson >long2.ndjson
curl -s -o long2.out -X POST "$URL/sources/1/import" -H "X-API-Key: $KEY_a" \
    -H 'Content-Type: application/x-ndjson' --data-binary @long2.ndjson &
long=$!
i=0
until ls tmp/sm-serve.* >/dev/null 2>&1 || [ $i -gt 200 ]; do
	sleep 0.02; i=$((i + 1))
done
serve_stop
wait $long || :
check 'SIGTERM: exit 0' test "$SERVE_STATUS" = 0
check 'the import in progress was answered, and committed' sh -c \
    'jq -e ".stats.updated == 20000" long2.out >/dev/null &&
    test "$(sm-import -T a --history | tail -1 | jq .stats.updated)" = 20000'
done_testing
