#!/bin/sh -e
# sm-push and sm-pull against a real REST server (json-server, started by
# t/jsonserver.sh with the fault middleware t/js/faults.js): create,
# update, delete, pull, a hand edit made with curl, faults (503 for a
# while, 429 with Retry-After, connections closed mid-request, a server
# slower than the timeout, a 4xx, a redirect to another host), and a
# token that never leaves the request.
cd "$(dirname "$0")"
. ./lib.sh
SM_TOKEN=s3cret-T0ken-42
export SM_TOKEN
. "$TESTDIR/jsonserver.sh"
plan 88
js_start

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
CMS_TOKEN=$SM_TOKEN
export SM_TENANT SM_PUSH_BACKOFF_MS CMS_TOKEN
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null

# Bad connections: 78, the key named.
bad() {
	check_exit "$1: 78" 78 sm-tenant target add bad --type cms --config "$2"
	check "$1: says so" grep_q "$3" err
}
bad 'ftp url' '{"url":"ftp://127.0.0.1/x"}' "invalid 'url'"
bad 'a method in lower case' \
    '{"url":"http://127.0.0.1/x","create":{"method":"post"}}' "create.method"
bad 'an unknown operation key' \
    '{"url":"http://127.0.0.1/x","update":{"verb":"PUT"}}' "unknown key 'verb'"
bad 'a header over two lines' \
    '{"url":"http://127.0.0.1/x","headers":{"X-A":"a\nX-B: b"}}' "one line"
bad 'a literal token' '{"url":"http://127.0.0.1/x","token":"abc"}' \
    "literal secret"
bad 'a password in the url' '{"url":"http://u:pw@127.0.0.1/x"}' \
    "literal secret"
check_exit 'http:// to another host: accepted' 0 sm-tenant target add far \
    --type api --config '{"url":"http://cms.example/listings"}'
check 'with a warning: cleartext' grep_q "warning.*http://.*not encrypted" err
check_exit 'http:// to loopback: no warning' 0 sm-tenant target add near \
    --type api --config '{"url":"http://127.0.0.1:1/listings"}'
check 'none' test ! -s err

# json-server creates with POST to the collection (a PUT of a new id is
# 404 there), pages with _page and _limit and a Link header.
sm-tenant target add cms --type cms --config '{"url":"'"$JS_URL"'",
    "token":"${CMS_TOKEN}","create":{"method":"POST","path":""},
    "pull":{"page_param":"_page","limit_param":"_limit","limit":2},
    "timeout":2}' >/dev/null

rec() { printf '{"id":"%s","city":"%s","price":%s}\n' "$1" "$2" "$3"; }
{ rec A1 Lyon 100; rec A2 Nice 200; rec A3 Pau 300; rec A4 Metz 400
  rec 'A 5/x' Brest 500; } >day1.ndjson
sm-import -q -s portal day1.ndjson >/dev/null
sm-sync -q portal cms >/dev/null

sm_rows() { sm-snapshot cat -t cms | jq -cS '.data' | sort; }
same() {
	sm_rows >sm.json
	js_rows >js.json
	cmp -s sm.json js.json ||
	    { diff -u sm.json js.json | head -20 | sed 's/^/# /'; return 1; }
}
stat_is() { jq -e "$1" out >/dev/null || { sed 's/^/# /' out; return 1; }; }

check_exit 'push: 0' 0 sm-push cms --stats
check 'five created' stat_is '.stats.created == 5'
check 'json-server holds the target rows' same
check 'an id with a space and a slash is one path segment' \
    grep_q '^GET /listings/A%205%2Fx\|^POST /listings ' "$SM_FAULTS.log"
check 'the token was sent' grep_q "auth=Bearer $SM_TOKEN" "$SM_FAULTS.log"
check_exit 'a push with nothing pending: 0' 0 sm-push cms --stats
check 'delivers nothing' stat_is '.stats.delivered == 0'

{ rec A1 Lyon 110; rec A2 Nice 200; rec A3 Pau 300; rec 'A 5/x' Brest 500
  rec A6 Caen 600; } >day2.ndjson
sm-import -q --complete -s portal day2.ndjson >/dev/null
sm-sync -q portal cms >/dev/null
: >"$SM_FAULTS.log"
check_exit 'push of an update, a delete and a create: 0' 0 sm-push cms --stats
check 'counted' stat_is '.stats | .created == 1 and .updated == 1 and
    .deleted == 1'
check 'json-server holds them' same
check 'the update compared first: GET, then PUT' \
    sh -c "grep -q '^GET /listings/A1 ' '$SM_FAULTS.log' &&
    grep -q '^PUT /listings/A1 ' '$SM_FAULTS.log'"
check 'the delete' grep_q '^DELETE /listings/A4 ' "$SM_FAULTS.log"

# Pull: all is as delivered; then a hand edit and a foreign record.
check_exit 'pull: 0' 0 sm-pull cms --stats
check 'nothing changed, every page read (limit 2)' \
    stat_is '.stats | .records == 5 and .updated == 0 and .foreign == 0'
check 'pages followed by Link' grep_q '_page=3' "$SM_FAULTS.log"
curl -sf -X PATCH -H "Authorization: Bearer $SM_TOKEN" \
    -H 'Content-Type: application/json' -d '{"price":999}' "$JS_URL/A2" >/dev/null
curl -sf -X POST -H "Authorization: Bearer $SM_TOKEN" \
    -H 'Content-Type: application/json' -d '{"id":"Z9","price":1}' "$JS_URL" >/dev/null
check_exit 'pull after a hand edit: 0' 0 sm-pull cms --stats
check 'the edit seen, the foreign record reported' \
    stat_is '.stats | .updated == 1 and .foreign == 1'
check_exit 'pull again: 0' 0 sm-pull cms
check 'a foreign event, every pull' grep_q '"op":"foreign".*"Z9"' out
check_exit 'sync: flags it' 0 sm-sync portal cms
check 'flagged' grep_q '"manual"\|"conflict"\|"skip"' out
{ rec A1 Lyon 110; rec A2 Nice 250; rec A3 Pau 300; rec 'A 5/x' Brest 500
  rec A6 Caen 600; } >day3.ndjson
sm-import -q -s portal day3.ndjson >/dev/null
sm-sync -q portal cms >/dev/null || :
: >"$SM_FAULTS.log"
check_exit 'push: the edit is held, 0' 0 sm-push cms
check 'nothing was written to A2' \
    sh -c "! grep -Eq '^(PUT|PATCH|POST|DELETE) /listings/A2 ' '$SM_FAULTS.log'"
check 'json-server keeps the hand edit' \
    test "$(curl -sf -H "Authorization: Bearer $SM_TOKEN" "$JS_URL/A2" | jq .price)" = 999

# An edit between a pull and a push: the GET before the PUT sees it.
{ rec A1 Lyon 120; rec A2 Nice 250; rec A3 Pau 300; rec 'A 5/x' Brest 500
  rec A6 Caen 600; } >day4.ndjson
sm-import -q -s portal day4.ndjson >/dev/null
sm-sync -q portal cms >/dev/null || :
curl -sf -X PATCH -H "Authorization: Bearer $SM_TOKEN" \
    -H 'Content-Type: application/json' -d '{"city":"Lyon 2e"}' "$JS_URL/A1" >/dev/null
check_exit 'push over an edit made since the pull: 0' 0 sm-push cms --stats
check 'a conflict, not a write' stat_is '.stats | .conflicts == 1 and .updated == 0'
check 'the edit is kept' \
    test "$(curl -sf -H "Authorization: Bearer $SM_TOKEN" "$JS_URL/A1" | jq -r .city)" = 'Lyon 2e'
check_exit 'sync --overwrite-manual --id A1' 0 sm-sync portal cms --overwrite-manual --id A1
check_exit 'push applies the source: 0' 0 sm-push cms
check 'A1 is the source version' \
    test "$(curl -sf -H "Authorization: Bearer $SM_TOKEN" "$JS_URL/A1" | jq -c '[.city,.price]')" = '["Lyon",120]'

# Faults.  next_version N: a new price for A3, synced.
next_version() {
	{ rec A1 Lyon 120; rec A2 Nice 250; rec A3 Pau "$1"; rec 'A 5/x' Brest 500
	  rec A6 Caen 600; } >dayN.ndjson
	sm-import -q -s portal dayN.ndjson >/dev/null
	sm-sync -q portal cms >/dev/null || :
}
a3() { curl -sf -H "Authorization: Bearer $SM_TOKEN" "$JS_URL/A3" | jq .price; }

next_version 301
js_fault '{"mode":"status","status":503,"count":3}'
check_exit '503 three times, then up: 0' 0 sm-push cms --stats
check 'retried' stat_is '.stats | .retries >= 1 and .updated == 1'
check 'delivered' test "$(a3)" = 301

next_version 302
js_fault '{"mode":"status","status":503,"count":1000}'
check_exit 'down for good: 75' 75 env SM_PUSH_RETRIES=2 sm-push cms
check 'says unreachable' grep_q "unreachable.*HTTP 503" err
check 'the change stays pending' \
    sh -c 'sm-push --status cms | jq -e ".pending == 1" >/dev/null'
js_fault '{}'
check_exit 'up again: 0' 0 sm-push cms
check 'delivered' test "$(a3)" = 302

next_version 303
js_fault '{"mode":"close","count":2}'
check_exit 'connections closed mid-request, then fine: 0' 0 sm-push cms --stats
check 'retried' stat_is '.stats.retries >= 1'
check 'delivered' test "$(a3)" = 303

next_version 304
js_fault '{"mode":"retry_after","seconds":1,"count":1}'
start=$(date +%s%N)
check_exit '429 with Retry-After: 1: 0' 0 sm-push cms
check 'waited a second as asked' \
    test $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000
check 'delivered' test "$(a3)" = 304

next_version 305
js_fault '{"mode":"slow","ms":3000,"count":1000}'
check_exit 'slower than the timeout (2 s): 75' 75 env SM_PUSH_RETRIES=1 sm-push cms
check 'says it timed out' grep_q "imeout\|timed out" err
js_fault '{}'
sleep 1		# the slow answers still held by the server
check_exit 'then in time: 0' 0 sm-push cms
check 'delivered' test "$(a3)" = 305

next_version 306
js_fault '{"mode":"status","status":422,"count":2}'
check_exit 'a 422: the record fails, 1' 1 sm-push cms
check 'a fail event with the status and the body' \
    grep_q '"op":"fail".*"A3".*HTTP 422.*fault injected' out
check '--status counts it failed' \
    sh -c 'sm-push --status cms | jq -e ".failed == 1" >/dev/null'
js_fault '{}'
check_exit '--retry' 0 sm-push --retry cms
check_exit 'then delivered: 0' 0 sm-push cms
check 'delivered' test "$(a3)" = 306

next_version 307
js_fault '{"mode":"touch","count":1}'
check_exit 'an edit between the GET and the PUT: 0' 0 sm-push cms --stats
check 'the PUT carried If-Match, and its 412 is a conflict' \
    sh -c "grep -q '^PUT /listings/A3 412 A3 307' '$SM_FAULTS.writes' &&
    jq -e '.stats | .conflicts == 1 and .updated == 0' out >/dev/null"
check 'the edit is kept' \
    sh -c 'curl -sf -H "Authorization: Bearer $SM_TOKEN" "'"$JS_URL"'/A3" |
    jq -e ".touched == true and .price == 306" >/dev/null'
check_exit 'sync --overwrite-manual --id A3' 0 sm-sync portal cms \
    --overwrite-manual --id A3
check_exit 'push applies the source: 0' 0 sm-push cms
check 'A3 is the source version' test "$(a3)" = 307

next_version 308
js_fault '{"mode":"redirect","to":"http://127.0.0.2:'"$JS_PORT"'/listings/A3","count":2}'
check_exit 'a redirect to another host: refused, 1' 1 sm-push cms
check 'says so' grep_q 'another host' out
js_fault '{}'
sm-push -q --retry cms >/dev/null
check_exit 'then delivered: 0' 0 sm-push cms

# Nothing listening: unreachable, nothing lost.
sm-tenant target add down --type api \
    --config '{"url":"http://127.0.0.1:1/listings"}' >/dev/null
sm-sync -q portal down >/dev/null
check_exit 'push to a port where nothing listens: 75' 75 \
    env SM_PUSH_RETRIES=1 sm-push down
check 'says unreachable' grep_q "target 'down' is unreachable" err
check 'all of it pending still' \
    sh -c 'sm-push --status down | jq -e ".pending == 5 and .failed == 0" >/dev/null'
check_exit 'pull of it: 75' 75 sm-pull down
check 'says unreachable' grep_q "unreachable" err

# The token: sent, never shown nor stored.
check 'json-server equals the target rows at the end' \
    sh -c 'sm-snapshot cat -t cms | jq -cS .data | grep -v Z9 | sort >a;
    js_rows() { curl -sf -H "Authorization: Bearer $SM_TOKEN" "'"$JS_URL"'" | jq -cS ".[]" | sort; };
    js_rows | grep -v Z9 >b; cmp -s a b'
sm-push --history cms >hist.out
sm-pull --history cms >>hist.out
sm-tenant target show cms >>hist.out
sqlite3 data/acme.db .dump >dump.sql
check 'the token is in no output, event, run log or the tenant file' \
    sh -c "! grep -rq '$SM_TOKEN' all.out hist.out dump.sql data"
check 'the outputs searched are those of every command run' \
    sh -c 'grep -q "\"op\":\"fail\"" all.out &&
    test "$(grep -c "\"op\":\"deliver\"" all.out)" -ge 5'
check 'target show prints ${CMS_TOKEN}' grep_q '${CMS_TOKEN}' hist.out
done_testing
