#!/bin/sh -e
# sm-serve: the conflict desk's page and its routes (GET /overview, POST
# .../resolve), their bad inputs, and tenants kept apart.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 54

J='Content-Type: application/json'
key() { sm-tenant create "$1" --slug "$1" 2>/dev/null | jq -r .api_key; }
KA="X-API-Key: $(key acme)"
KB="X-API-Key: $(key other)"

# acme: portal into a website of files (an outbox), two rows edited by
# hand, a1 while the source changed too (conflict), a3 alone (skip).
sm-tenant -T acme source add portal --type json >/dev/null
sm-tenant -T acme target add website --type website \
    --config "{\"path\":\"$SCRATCH/site\",\"format\":\"json\"}" >/dev/null
cat >day1.ndjson <<EOF
{"id":"a1","price":500000,"city":"Ostrava"}
{"id":"a2","price":200000,"city":"Brno"}
{"id":"a3","price":300000,"city":"Zlin"}
{"id":"a4","price":400000,"city":"Olomouc"}
EOF
sm-import -q -T acme -s portal day1.ndjson >/dev/null
sm-sync -q -T acme portal website >/dev/null
printf '%s\n' '{"id":"a1","price":499000}' '{"id":"a3","price":310000}' \
    '{"id":"a4","city":"Olomouc-edited"}' |
    sm-import -q -T acme -t website --merge >/dev/null
sed 's/500000/520000/; s/200000/210000/' day1.ndjson |
    sm-import -q -T acme -s portal >/dev/null
sm-sync -q -T acme portal website >/dev/null || :
# other: two targets, so that its target 2 is an id acme does not have.
sm-tenant -T other source add feed --type json >/dev/null
sm-tenant -T other target add site --type website >/dev/null
sm-tenant -T other target add shop --type api >/dev/null
echo '{"id":"zz-other","price":777777}' |
    sm-import -q -T other -s feed >/dev/null
sm-sync -q -T other feed shop >/dev/null
echo '{"id":"zz-other","price":1}' |
    sm-import -q -T other -t shop --merge >/dev/null
sm-sync -q -T other feed shop >/dev/null || :

serve_start
pid() { sm-snapshot -T acme cat -t website --id "$1" | jq .id; }
P1=$(pid a1) P2=$(pid a2) P3=$(pid a3) P4=$(pid a4)

# The page: no key needed, its own types, a policy that allows this
# server only, nothing from elsewhere.
for p in / /desk; do
	expect "GET $p: the desk" 200 GET $p
	check "$p is HTML" grep -qi '^Content-Type: text/html; charset=utf-8' \
	    headers
done
check 'the page names its script and style sheet, and nothing else' sh -c \
    'grep -q "src=\"/desk.js\"" body && grep -q "href=\"/desk.css\"" body &&
    ! grep -Eiq "(src|href)=.(https?:)?//|@import|<script>|style=" body'
check 'a policy of self only, no inline script' sh -c "grep -i \
    '^Content-Security-Policy:' headers | grep -q \"default-src 'none'; \
script-src 'self'; style-src 'self'; connect-src 'self'\" &&
    ! grep -i '^Content-Security-Policy:' headers | grep -q unsafe"
expect 'GET /desk.js' 200 GET /desk.js
check 'JavaScript' grep -qi '^Content-Type: text/javascript' headers
check 'that fetches this server only, and never writes HTML' sh -c \
    '! grep -v "www.w3.org/2000/svg" body | grep -Eq \
    "https?://[a-z]|innerHTML|outerHTML|insertAdjacentHTML|document.write|eval\("'
check 'and keeps the key in sessionStorage, never localStorage' sh -c \
    'grep -q sessionStorage body && ! grep -q localStorage body'
expect 'GET /desk.css' 200 GET /desk.css
check 'CSS' grep -qi '^Content-Type: text/css' headers
expect 'POST / is not allowed' 405 POST /

# GET /overview: the tenant's sources and targets with their numbers.
expect 'GET /overview without a key' 401 GET /overview
expect 'GET /overview with a bad key' 401 GET /overview \
    -H 'X-API-Key: sm_acme_not-the-key'
expect 'GET /overview' 200 GET /overview -H "$KA"
check 'the tenant, its source with its count and last run' jq_q '
    .tenant == "acme" and (.sources | length) == 1 and
    .sources[0].name == "portal" and .sources[0].properties == 4 and
    .sources[0].last_run.kind == "sync" and
    .sources[0].last_run.status == "success"'
check 'its target: flagged rows, the outbox, the last run' jq_q '
    (.targets | length) == 1 and .targets[0].name == "website" and
    .targets[0].properties == 4 and .targets[0].manual_changes == 3 and
    .targets[0].pending == 1 and .targets[0].held == 3 and
    .targets[0].failed == 0 and (.targets[0].oldest_pending | type) ==
    "string" and .targets[0].last_run.kind == "sync" and
    .targets[0].last_run.stats.warnings == 3'
check 'none of the other tenant' sh -c '! grep -q "zz-other\|shop\|feed" body'
expect "the other tenant's overview" 200 GET /overview -H "$KB"
check 'is its own' jq_q '.tenant == "other" and
    ([.targets[].name] == ["site", "shop"]) and .targets[1].manual_changes == 1
    and .targets[0].last_run == null'

# POST /targets/{id}/properties/{pid}/resolve: bad requests change nothing.
R=/targets/1/properties/$P1/resolve
expect 'without a key' 401 POST $R -H "$J" -d '{"action":"accept_manual"}'
expect 'no body' 400 POST $R -H "$KA"
expect 'malformed JSON' 400 POST $R -H "$KA" -H "$J" -d '{"action":'
check 'says where' jq_q '.error | test("malformed JSON at byte")'
expect 'not an object' 422 POST $R -H "$KA" -H "$J" -d '["accept_manual"]'
expect 'no action' 422 POST $R -H "$KA" -H "$J" -d '{}'
check 'names both actions' jq_q '.error | test("accept_manual") and
    test("overwrite_manual")'
expect 'an unknown action' 422 POST $R -H "$KA" -H "$J" -d '{"action":"merge"}'
expect 'an unknown member' 422 POST $R -H "$KA" -H "$J" \
    -d '{"action":"accept_manual","properties":[1]}'
expect 'GET is not the method' 405 GET $R -H "$KA"
expect 'no such target' 404 POST /targets/9/properties/$P1/resolve \
    -H "$KA" -H "$J" -d '{"action":"accept_manual"}'
expect "the other tenant's target id" 404 \
    POST /targets/2/properties/1/resolve -H "$KA" -H "$J" \
    -d '{"action":"overwrite_manual"}'
expect 'no such property' 404 POST /targets/1/properties/99/resolve \
    -H "$KA" -H "$J" -d '{"action":"accept_manual"}'
check 'names it' jq_q '.error == "no property 99 on target '"'website'"'"'
expect 'a row with nothing to decide' 409 POST \
    /targets/1/properties/$P2/resolve -H "$KA" -H "$J" \
    -d '{"action":"overwrite_manual"}'
check 'says so' jq_q '.error | test("a2") and test("no manual changes")'
check 'nothing was written' test "$(sm-snapshot -T acme cat -t website \
    --manual | jq -r .external_id | tr '\n' ' ')" = 'a1 a3 a4 '

# Apply the source to a1: snapshot of the edit, then the source's version.
expect 'apply the source to one row' 200 POST $R -H "$KA" -H "$J" \
    -d '{"action":"overwrite_manual"}'
check 'the answer: the row, its run and stats' jq_q '.status == "success"
    and .action == "overwrite_manual" and .properties == [{"id":'$P1',
    "external_id":"a1","source":"portal","run":.runs[0].run}] and
    .runs[0].stats.updated == 1'
check 'the row is the source'"'"'s, no longer flagged' sh -c \
    "sm-snapshot -T acme cat -t website --id a1 | jq -e '.data.price ==
    520000 and .has_manual_changes == false' >/dev/null"
check 'the edit was kept as a snapshot first' sh -c \
    "sm-snapshot -T acme list -t website --id a1 --data | tail -1 |
    jq -e '.data.price == 499000 and .reason == \"update\"' >/dev/null"
check 'and queued for delivery' test "$(sm-push -T acme --status website |
    jq '.pending + .held')" = 4

# POST /targets/{id}/resolve: a selection, checked whole before any write.
expect 'a selection with a row of nothing to decide' 409 POST \
    /targets/1/resolve -H "$KA" -H "$J" \
    -d '{"action":"accept_manual","properties":['$P3','$P2']}'
expect 'properties not an array' 422 POST /targets/1/resolve -H "$KA" \
    -H "$J" -d '{"action":"accept_manual","properties":'$P3'}'
expect 'an empty selection' 422 POST /targets/1/resolve -H "$KA" -H "$J" \
    -d '{"action":"accept_manual","properties":[]}'
expect 'an id that is no id' 422 POST /targets/1/resolve -H "$KA" -H "$J" \
    -d '{"action":"accept_manual","properties":['$P3',"a4"]}'
expect "the other tenant's target" 404 POST /targets/2/resolve -H "$KA" \
    -H "$J" -d '{"action":"accept_manual","properties":[1]}'
check 'a3 and a4 still flagged' test "$(sm-snapshot -T acme cat -t website \
    --manual | jq -r .external_id | tr '\n' ' ')" = 'a3 a4 '
expect 'keep the edits of a selection' 200 POST /targets/1/resolve \
    -H "$KA" -H "$J" \
    -d '{"action":"accept_manual","properties":['$P4','$P3','$P4']}'
check 'both rows (once each), one run' jq_q '([.properties[].external_id] ==
    ["a3","a4"]) and (.runs | length) == 1 and .runs[0].stats.accepted == 2'
check 'the edits stay, unflagged' sh -c "sm-snapshot -T acme cat -t website |
    jq -s -e 'map(select(.has_manual_changes)) == [] and
    (map(select(.external_id == \"a3\"))[0].data.price == 310000)' >/dev/null"
expect 'the overview counts again' 200 GET /overview -H "$KA"
check 'no flagged rows, nothing held' jq_q '.targets[0].manual_changes == 0
    and .targets[0].held == 0'
done_testing
