#!/bin/sh -e
# sm-serve keeps each thread's tenant handles open between requests
# (sm_db_open_cached): what the commands do meanwhile is seen at once.
# Each check is made several times, so that every worker and I/O thread
# answers from a handle it kept.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 23

sm-tenant create "Agency A" --slug a >a.json 2>/dev/null
sm-tenant -T a source add feed --type json >/dev/null
sm-tenant -T a target add site --type website >/dev/null
K1="X-API-Key: $(jq -r .api_key a.json)"
serve_start --threads 2

# expect_n NAME CODE METHOD PATH [CURL-ARG...]: 8 times, each answered CODE.
expect_n() {
	name=$1 want=$2 method=$3 path=$4; shift 4
	tap_n=$((tap_n + 1)) i=0 bad=
	while [ $i -lt 8 ]; do
		i=$((i + 1))
		got=$(curl -s -o "$SCRATCH/body" -w '%{http_code}' \
		    -X "$method" "$URL$path" "$@") || :
		[ "$got" = "$want" ] || bad="$bad $got"
	done
	if [ -z "$bad" ]; then echo "ok $tap_n - $name"
	else echo "not ok $tap_n - $name (HTTP$bad, want $want)"
		tap_failed=$((tap_failed + 1)); fi
}
# has_prop ID: GET /sources/1/properties lists external id ID, 8 times.
has_prop() {
	i=0
	while [ $i -lt 8 ]; do
		i=$((i + 1))
		curl -s -H "$KEY" "$URL/sources/1/properties" >"$SCRATCH/body"
		jq -e --arg id "$1" '[.[] | .external_id] | index($id) != null' \
		    "$SCRATCH/body" >/dev/null || return 1
	done
}

KEY=$K1
expect_n 'the key, every thread keeping the handle' 200 GET /sources -H "$K1"

# The key rotated by the command: the old one refused at once.
check_exit 'sm-tenant rotate-key' 0 sm-tenant rotate-key a
K2="X-API-Key: $(jq -r .api_key out)"
expect_n 'the old key is refused at once' 401 GET /sources -H "$K1"
expect_n 'the new key is accepted' 200 GET /sources -H "$K2"
KEY=$K2

# Writes of the commands and of the API, interleaved, all seen.
printf '{"id":"CLI1","price":1}\n' >cli1.ndjson
check_exit 'a CLI import' 0 sm-import -T a -q -s feed cli1.ndjson
check 'the API lists it at once' has_prop CLI1
expect 'an API import' 200 POST /sources/1/import -H "$K2" \
    -H 'Content-Type: application/json' -d '{"data":[{"id":"API1","price":2}]}'
check_exit 'sm-snapshot cat' 0 sm-snapshot -T a cat -s feed
check 'shows the API import' grep -q '"API1"' out
printf '{"id":"CLI2","price":3}\n' >cli2.ndjson
check_exit 'another CLI import' 0 sm-import -T a -q -s feed cli2.ndjson
check 'the API lists both' has_prop CLI2
check 'and the one of the API' has_prop API1
check_exit 'a CLI sync' 0 sm-sync -T a -q feed site
expect_n 'the API sees the target it filled' 200 GET /targets/1/properties \
    -H "$K2"
check 'three rows' jq_q 'length == 3'

# The tenant deleted while the server runs: 401 on the next request.
check_exit 'sm-tenant delete' 0 sm-tenant delete a --yes
expect_n 'a deleted tenant is 401' 401 GET /sources -H "$K2"
expect_n 'for every route' 401 GET /targets/1/properties -H "$K2"

# Made again with the same slug: its new key in, the old one out.
sm-tenant create "Agency A again" --slug a >a2.json 2>/dev/null
K3="X-API-Key: $(jq -r .api_key a2.json)"
expect_n 'the new tenant'"'"'s key is accepted' 200 GET /sources -H "$K3"
check 'and it is the new tenant: no sources' jq_q 'length == 0'
expect_n 'the old tenant'"'"'s key is refused' 401 GET /sources -H "$K2"
expect_n 'and its first key too' 401 GET /sources -H "$K1"

serve_stop
check 'the server stops cleanly' test "$SERVE_STATUS" = 0
done_testing
