#!/bin/sh -e
# sm-serve: every route, every error status, keys and tenant isolation.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 255

printf 'admin-key-for-tests\n' >admin.key
chmod 600 admin.key
cat >config.yaml <<EOF
busy_timeout_ms: 300
serve:
  admin_key_file: $SCRATCH/admin.key
  max_body_bytes: 4096
EOF
serve_start -c config.yaml --threads 4
J='Content-Type: application/json'
N='Content-Type: application/x-ndjson'
ADMIN='X-Admin-Key: admin-key-for-tests'

check_exit 'an operand is a usage error' 64 sm-serve foo
check 'that says why first' test "$(sed -n 1p err)" = \
    "sm-serve: extra operand 'foo'"

expect 'GET /health' 200 GET /health
check 'status and version' jq_q '.status == "healthy" and .version == "0.1.0"'
check 'JSON content type' grep -qi '^Content-Type: application/json' headers

# Tenants: the admin key, compared in constant time.
expect 'POST /tenants without the admin key' 401 POST /tenants -H "$J" \
    -d '{"name":"Acme"}'
check 'names the settings' jq_q '.error | test("X-Admin-Key") and
    test("serve.admin_key_file") and test("serve.open_registration")'
check 'detail, the original'"'"'s key, says the same' jq_q '.detail == .error'
expect 'POST /tenants with a bad admin key' 401 POST /tenants \
    -H 'X-Admin-Key: admin-key-for-test' -H "$J" -d '{"name":"Acme"}'
expect 'POST /tenants' 201 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"Acme Homes","slug":"acme"}'
check 'tenant answer, key shown once' jq_q '.id == "acme" and
    .name == "Acme Homes" and (.api_key | startswith("sm_acme_")) and
    (.created_at | test("^[0-9-]+T[0-9:.]+Z$"))'
KA="X-API-Key: $(jq -r .api_key body)"
check 'the decoy tenant of the server is no tenant' test \
    "$(sm-tenant list | jq -r .id | tr '\n' ' ')" = 'acme '
check 'the key itself is not stored' sh -c \
    "! grep -q '$(jq -r .api_key body)' data/acme.db*"
expect 'slug made from the name' 201 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"Other Realty"}'
check 'other-realty' jq_q '.id == "other-realty"'
KB="X-API-Key: $(jq -r .api_key body)"
expect 'a taken slug' 409 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"Acme","slug":"acme"}'
expect 'a bad slug' 422 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"X","slug":"../x"}'
expect 'a name with no slug in it' 422 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"!!!"}'
check 'names the name and the member' \
    jq_q '.error == "cannot make a slug of '"'!!!'"': give one in \"slug\""'
expect 'an accented name' 201 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"Peñalver Inmobiliaria"}'
check 'its slug, transliterated' jq_q '.id == "penalver-inmobiliaria"'
# The original's body: a key of the caller's choosing, stored hashed.
expect 'an api_key shorter than 16 characters' 422 POST /tenants \
    -H "$ADMIN" -H "$J" -d '{"name":"X","api_key":"generated_key"}'
check 'says why' jq_q '.error == "api_key is shorter than 16 characters"'
expect 'an api_key like ours' 422 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"X","api_key":"sm_acme_0123456789abcdef"}'
expect 'an api_key of the caller'"'"'s' 201 POST /tenants -H "$ADMIN" \
    -H "$J" -d '{"name":"Company","api_key":"generated_key_0123"}'
check 'is the key of the answer' jq_q '.id == "company" and
    .api_key == "generated_key_0123"'
expect 'and opens the tenant' 200 GET /sources \
    -H 'X-API-Key: generated_key_0123'
check 'stored hashed only' sh -c '! grep -rq generated_key_0123 data'
expect 'another tenant with the same key' 409 POST /tenants -H "$ADMIN" \
    -H "$J" -d '{"name":"Company Two","api_key":"generated_key_0123"}'
expect 'a near key opens nothing' 401 GET /sources \
    -H 'X-API-Key: generated_key_0124'
check_exit 'sm-tenant delete company' 0 sm-tenant delete company --yes
expect 'a deleted tenant'"'"'s key opens nothing' 401 GET /sources \
    -H 'X-API-Key: generated_key_0123'
expect 'no name' 422 POST /tenants -H "$ADMIN" -H "$J" -d '{"slug":"x"}'
expect 'malformed JSON' 400 POST /tenants -H "$ADMIN" -H "$J" -d '{"name":'
check 'says where' jq_q '.error | test("malformed JSON at byte")'
expect 'not an object' 422 POST /tenants -H "$ADMIN" -H "$J" -d '["x"]'

# 401: one answer whether the tenant exists or not.
expect 'no key' 401 GET /sources
cp body nokey.json
expect 'a bad key of an existing tenant' 401 GET /sources \
    -H 'X-API-Key: sm_acme_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
cp body badkey.json
expect 'the key of no tenant' 401 GET /sources \
    -H 'X-API-Key: sm_nosuch_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
cp body notenant.json
expect 'a key that names a bad slug' 401 GET /sources \
    -H 'X-API-Key: sm_../../etc_AAAA'
check_same 'same 401 body for a bad key and no tenant' badkey.json \
    notenant.json
check_same 'same 401 body with no key at all' nokey.json badkey.json
check_same 'same 401 body for a bad slug' nokey.json body

# Sources.
expect 'POST /sources' 201 POST /sources -H "$KA" -H "$J" -d '{"name":"portal",
    "type":"scraped","config":{"url":"https://ym.example"},
    "hash_ignore":["scraped_at"]}'
check 'the source, as sm-tenant prints it' jq_q '.id == 1 and
    .name == "portal" and .type == "scraped" and
    .config == {"url":"https://ym.example"} and .map == null and
    .hash_ignore == ["scraped_at"] and .properties == 0'
cp body Source.json
check 'Location' grep -qi '^Location: /sources/1' headers
expect 'POST /sources with a map and an id field' 201 POST /sources \
    -H "$KA" -H "$J" -d '{"name":"feed","type":"json",
    "map":"select(.price > 0)","id_field":"ref","hash_ignore":"a,b"}'
check 'map, id_field, hash_ignore as a list' jq_q '.id == 2 and
    .map == "select(.price > 0)" and .id_field == "ref" and
    .hash_ignore == ["a","b"]'
expect 'a taken name' 409 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"portal","type":"json"}'
check 'says so' jq_q '.error == "source '"'portal'"' exists already"'
expect 'a bad type' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"x","type":"ftp"}'
check 'lists the types' jq_q '.error |
    test("expected one of json, scraped, manual, api")'
expect 'a map that does not compile' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"x","type":"json","map":"{"}'
expect 'no type' 422 POST /sources -H "$KA" -H "$J" -d '{"name":"x"}'
expect 'an unknown member' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"x","type":"json","colour":"red"}'
expect 'a config that is no object' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"x","type":"json","config":[1]}'
expect 'a name that is no string' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":7,"type":"json"}'
expect 'an all-digit name' 422 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"42","type":"json"}'
expect 'malformed JSON' 400 POST /sources -H "$KA" -H "$J" -d '{"name":"x",'
expect 'no body' 400 POST /sources -H "$KA"
expect 'GET /sources' 200 GET /sources -H "$KA"
check 'a JSON array, by id' jq_q 'map(.id) == [1, 2]'
check 'last page: no Link' sh -c '! grep -qi "^Link:" headers'
expect 'GET /sources?limit=1' 200 GET '/sources?limit=1' -H "$KA"
check 'one item' jq_q 'map(.id) == [1]'
check 'Link to the next page' grep -q \
    '^Link: </sources?after=1&limit=1>; rel="next"' headers
expect 'the next page' 200 GET '/sources?after=1&limit=1' -H "$KA"
check 'the second item, no Link' sh -c 'jq -e "map(.id) == [2]" body >/dev/null &&
    ! grep -qi "^Link:" headers'
expect 'limit 0' 400 GET '/sources?limit=0' -H "$KA"
expect 'after not a number' 400 GET '/sources?after=x' -H "$KA"
expect 'GET /sources/1' 200 GET /sources/1 -H "$KA"
check 'the portal' jq_q '.name == "portal"'
expect 'GET /sources/99' 404 GET /sources/99 -H "$KA"
check 'says no source' jq_q '.error | test("no source")'
expect 'an id is all digits' 404 GET /sources/portal -H "$KA"
expect 'an id fits int64' 404 GET /sources/99999999999999999999 -H "$KA"
expect 'a trailing slash is forgiven' 200 GET /sources/ -H "$KA"
expect 'PUT /sources' 405 PUT /sources -H "$KA"
check 'Allow lists the methods' grep -q '^Allow: GET, POST' headers
expect 'DELETE /sources' 405 DELETE /sources -H "$KA"
expect 'an unknown route' 404 GET /nope -H "$KA"
expect 'an unknown route without a key' 404 GET /sources/1/nope

# Targets.
expect 'POST /targets' 201 POST /targets -H "$KA" -H "$J" \
    -d '{"name":"website","type":"website","config":{"url":"https://acme.example"}}'
check 'the target' jq_q '.id == 1 and .type == "website" and
    .properties == 0 and .manual_changes == 0'
cp body Target.json
check 'Location' grep -qi '^Location: /targets/1' headers
expect 'a bad target type' 422 POST /targets -H "$KA" -H "$J" \
    -d '{"name":"x","type":"json"}'
expect 'a map is for sources' 422 POST /targets -H "$KA" -H "$J" \
    -d '{"name":"x","type":"file","map":"."}'
expect 'GET /targets' 200 GET /targets -H "$KA"
check 'one target' jq_q 'map(.name) == ["website"]'
expect 'GET /targets/1' 200 GET /targets/1 -H "$KA"
expect 'GET /targets/2' 404 GET /targets/2 -H "$KA"

# Import: {"data":[...]} and NDJSON bodies.
cat >day1.json <<'EOF'
{"data": [
  {"id": "P1", "title": "Villa", "price": 500000, "scraped_at": "mon"},
  {"id": "P2", "title": "Flat", "price": 250000},
  {"id": "P3", "title": "Loft", "price": 300000}
]}
EOF
expect 'import {"data":[...]}' 200 POST /sources/1/import -H "$KA" -H "$J" \
    --data-binary @day1.json
check 'status, run, stats, rejects' jq_q '.status == "success" and
    (.run | type) == "number" and .stats == {"created":3,"updated":0,
    "unchanged":0,"deleted":0,"rejected":0} and .rejects == [] and
    .warnings == []'
cp body ImportResult.json
printf '%s\n' '{"id":"P1","title":"Villa","price":520000,"scraped_at":"tue"}' \
    '{"id":"P4","price":1e400}' 'not json' \
    '{"id":"P2","title":"Flat","price":250000}' >day2.ndjson
expect 'import NDJSON' 200 POST /sources/1/import -H "$KA" -H "$N" \
    --data-binary @day2.ndjson
check 'partial: the good records in, the bad listed by line' jq_q '
    .status == "partial" and .stats.updated == 1 and
    .stats.unchanged == 1 and .stats.rejected == 2 and
    (.rejects | map(.line)) == [2, 3]'
check 'a reject says why' jq_q '.rejects[0].error | test("1e400")'
expect 'a bare JSON array' 200 POST /sources/1/import -H "$KA" -H "$J" \
    -d '[{"id":"P3","title":"Loft","price":300000}]'
check 'unchanged' jq_q '.stats.unchanged == 1'
expect 'a rejected element' 200 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P1","title":"Villa","price":520000,"scraped_at":"x"},
    {"title":"no key"}]}'
check 'is named by its position in data; ignored fields do not count' \
    jq_q '.rejects[0].line == 2 and .stats.unchanged == 1'
# {"data":[...]} whatever the Content-Type, as the original (SPEC §5.7);
# any other body is NDJSON.
for ct in '' 'text/plain' 'application/x-www-form-urlencoded' 'text/json' \
    'application/vnd.api+json' 'text/plain; charset=utf-8'; do
	expect "{\"data\":[...]} as '$ct'" 200 \
	    POST '/sources/1/import?dry_run=true' -H "$KA" \
	    -H "Content-Type:$ct" -d ' {"data":[{"id":"Z1"},{"id":"Z2"}]}'
	check '  is read as such' jq_q '.stats.created == 2 and
	    .stats.rejected == 0'
done
expect 'curl -d, its form type' 200 POST '/sources/1/import?dry_run=true' \
    -H "$KA" -d '{"data":[{"id":"A2"}]}'
check 'imports' jq_q '.status == "success" and .stats.created == 1'
expect 'NDJSON as text/plain' 200 POST '/sources/1/import?dry_run=true' \
    -H "$KA" -H 'Content-Type: text/plain' --data-binary \
    "$(printf '{"id":"Z1","data":[1]}\n{"id":"Z2"}')"
check 'is NDJSON' jq_q '.stats.created == 2'
expect '{"data":[...]} as NDJSON stays NDJSON' 200 \
    POST '/sources/1/import?dry_run=true' -H "$KA" -H "$N" \
    -d '{"data":[{"id":"Z1"}]}'
check 'one record without a key' jq_q '.stats.rejected == 1'
expect 'no body, no type' 200 POST '/sources/1/import?dry_run=true' \
    -H "$KA" -H 'Content-Type:'
check 'no records' jq_q '.stats.created == 0 and .stats.rejected == 0'
expect 'white space between tokens is kept' 200 POST '/sources/1/import?dry_run=true' \
    -H "$KA" -H "$J" -d '{"data":[{"id":"ws4","v":[1 2 3]},
    {"id":"ws5","price":1 000 000},{"id":"ws6","ok":tr ue},
    {"id" : "ws7", "v" : [1,
    2], "s": "a  b"}]}'
check 'two tokens never become one: rejected, the valid one kept whole' \
    jq_q '.stats.rejected == 3 and .stats.created == 1 and
    (.rejects | map(.line)) == [1, 2, 3]'
jts=$TOP/../shared/testdata/JSONTestSuite/test_parsing
accepted=
# The n_ cases with white space in them: what the splitter must not join.
for f in $(grep -l '[[:space:]]' "$jts"/n_*.json 2>/dev/null); do
	{ printf '{"data":[{"id":"n","v":'; cat "$f"; printf '}]}'; } >env.json
	code=$(curl -s -o body -w '%{http_code}' -X POST \
	    "$URL/sources/1/import?dry_run=true" -H "$KA" -H "$J" \
	    --data-binary @env.json) || :
	# 400 malformed, 413 too large (4096 here), 422 too deep.
	[ "$code" = 200 ] || continue
	jq -e '.stats.created == 0' body >/dev/null || accepted="$accepted ${f##*/}"
done
check "no JSONTestSuite n_ case accepted through {\"data\":[...]}$accepted" \
    test -z "$accepted"
printf '%s\n' '{"id":"P5","v":1}' '{"id":"P5","v":2}' >dup.ndjson
expect 'a key twice' 200 POST /sources/1/import -H "$KA" -H "$N" \
    --data-binary @dup.ndjson
check 'the later wins, with a warning and its line' jq_q '
    .stats.created == 1 and .warnings[0].line == 2 and
    (.warnings[0].warning | test("duplicate key .P5."))'
expect 'dry_run=true' 200 POST '/sources/1/import?dry_run=true' -H "$KA" \
    -H "$J" -d '{"data":[{"id":"P9"}]}'
check 'no run logged' jq_q '.run == null and .stats.created == 1'
expect 'complete=true refuses a mass delete' 422 \
    POST '/sources/1/import?complete=true' -H "$KA" -H "$J" -d '{"data":[]}'
check 'and names the way out' jq_q '.error | test("allow_mass_delete=true")'
expect 'strict=true: a bad record, nothing written' 422 \
    POST '/sources/1/import?strict=true' -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P8"},{"nokey":1}]}'
check 'names the line' jq_q '.error | test("^line 2: ")'
expect 'a body cut short' 400 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P1"}'
expect 'mismatched brackets' 400 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P1"]}'
expect 'trailing data' 400 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[]} x'
expect 'a member after data' 400 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P1"}],"more":[]}'
check 'names the text after the array' jq_q '.error | test("^malformed JSON: text after the end of the array")'
expect 'a line break inside a string' 400 POST /sources/1/import -H "$KA" \
    -H "$J" -d "$(printf '{"data":[{"id":"P1","t":"a\nb"}]}')"
check 'is malformed JSON, nothing written' jq_q '.error | test("^malformed JSON")'
expect 'no data member' 422 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"records":[]}'
expect 'data not an array' 422 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":{}}'
expect 'a bad boolean' 400 POST '/sources/1/import?complete=maybe' \
    -H "$KA" -H "$J" -d '{"data":[]}'
expect 'into no source' 404 POST /sources/9/import -H "$KA" -H "$J" \
    -d '{"data":[]}'
expect 'GET on import' 405 GET /sources/1/import -H "$KA"

# Bodies over serve.max_body_bytes (4096 here).
awk 'BEGIN { for (i = 0; i < 100; i++)
    printf "{\"id\":\"BIG%d\",\"pad\":\"%040d\"}\n", i, 0 }' >big.ndjson
expect '413 announced by Content-Length' 413 POST /sources/1/import \
    -H "$KA" -H "$N" --data-binary @big.ndjson
check 'names the limit' jq_q '.error | test("4096")'
expect '413 while a chunked body streams in' 413 POST /sources/1/import \
    -H "$KA" -H "$N" -H 'Transfer-Encoding: chunked' --data-binary @big.ndjson
expect '413 for a JSON body' 413 POST /sources -H "$KA" -H "$J" \
    --data-binary @big.ndjson

# Properties, paged by id.
expect 'GET /sources/1/properties' 200 GET /sources/1/properties -H "$KA"
check 'the live properties, by id; nothing of the refused bodies' \
    jq_q 'map(.external_id) == ["P1","P2","P3","P5"]'
check 'rows as sm-snapshot cat prints them' jq_q '.[0] | keys ==
    ["data","external_id","hash","id","updated_at"] and
    .data.price == 520000'
expect 'a page of 3' 200 GET '/sources/1/properties?limit=3' -H "$KA"
check '3 rows' jq_q 'length == 3'
check 'Link to the next page' grep -q \
    '^Link: </sources/1/properties?after=3&limit=3>; rel="next"' headers
expect 'the next page' 200 GET '/sources/1/properties?after=3&limit=3' \
    -H "$KA"
check 'the rest, no Link' sh -c 'jq -e "map(.external_id) == [\"P5\"]" body \
    >/dev/null && ! grep -qi "^Link:" headers'

# Sync.
expect 'POST /sync/1/1' 200 POST /sync/1/1 -H "$KA"
check 'the seed keys and ours' jq_q '.status == "success" and
    (.run | type) == "number" and .stats.created == 4 and
    .stats.updated == 0 and .stats.skipped == 0 and .stats.warnings == 0 and
    (.stats | has("deleted") and has("unchanged"))'
cp body SyncResult.json
expect 'dry_run=true' 200 POST '/sync/1/1?dry_run=true' -H "$KA"
check 'no run' jq_q '.run == null'
expect 'both manual options' 400 \
    POST '/sync/1/1?overwrite_manual=true&accept_manual=true' -H "$KA"
expect 'no such target' 404 POST /sync/1/7 -H "$KA"
expect 'GET /sync' 405 GET /sync/1/1 -H "$KA"

# Target properties and a manual edit.
expect 'GET /targets/1/properties' 200 GET /targets/1/properties -H "$KA"
check 'with source, has_manual_changes, warning' jq_q 'length == 4 and
    all(.[]; .source == "portal" and .has_manual_changes == false and
    .warning == null and .synced_hash == .hash)'
pid=$(jq '.[] | select(.external_id == "P2") | .id' body)
expect 'PATCH a target property' 200 PATCH /targets/1/properties/$pid \
    -H "$KA" -H "$J" -d '{"data":{"price":240000,"title":null}}'
check 'a merge patch, marked manual' jq_q '.data == {"id":"P2",
    "price":240000} and .has_manual_changes == true and .hash != .synced_hash'
cp body TargetProperty.json
expect 'manual=true' 200 GET '/targets/1/properties?manual=true' -H "$KA"
check 'only the edited one' jq_q 'map(.external_id) == ["P2"]'
expect 'the Link keeps manual=true' 200 \
    GET '/targets/1/properties?manual=false&limit=1' -H "$KA"
check 'in the next page' grep -q \
    'after=[0-9]*&limit=1&manual=false>; rel="next"' headers
expect 'PATCH of no property' 404 PATCH /targets/1/properties/999 -H "$KA" \
    -H "$J" -d '{"data":{}}'
expect 'PATCH on no target' 404 PATCH /targets/5/properties/$pid -H "$KA" \
    -H "$J" -d '{"data":{}}'
expect 'PATCH without data' 422 PATCH /targets/1/properties/$pid -H "$KA" \
    -H "$J" -d '{"price":1}'
expect 'PATCH of the external_id' 422 PATCH /targets/1/properties/$pid \
    -H "$KA" -H "$J" -d '{"data":{"external_id":"P7"}}'
expect 'PATCH, malformed' 400 PATCH /targets/1/properties/$pid -H "$KA" \
    -H "$J" -d '{"data":'
expect 'the source changes P2' 200 POST /sources/1/import -H "$KA" -H "$J" \
    -d '{"data":[{"id":"P2","title":"Flat","price":260000}]}'
expect 'sync keeps the manual change' 200 POST /sync/1/1 -H "$KA"
check 'a warning, nothing updated' jq_q '.stats.warnings == 1 and
    .stats.updated == 0'
expect 'the warning is on the property' 200 \
    GET '/targets/1/properties?manual=true' -H "$KA"
check 'conflict' jq_q '.[0].data.price == 240000 and (.[0].warning |
    test("source has changes but target has manual modifications"))'

# Diff.
expect 'GET /diff/1/1' 200 GET /diff/1/1 -H "$KA"
check 'what sync would do, field by field' jq_q 'length == 1 and
    .[0].external_id == "P2" and .[0].op == "conflict" and
    (.[0].changes | map(.path) | index("/price") != null)'
expect 'diff of no source' 404 GET /diff/9/1 -H "$KA"

# Snapshots and a restore.
expect 'GET /snapshots' 200 GET /snapshots -H "$KA"
check 'a JSON array of snapshots' jq_q 'length > 0 and
    all(.[]; has("id") and has("reason") and has("taken_at"))'
expect 'of the target, with data' 200 \
    GET '/snapshots?target=1&data=true&external_id=P2' -H "$KA"
check 'the version before the PATCH' jq_q '.[0].data.price == 250000 and
    .[0].target == "website" and .[0].reason == "update"'
snap=$(jq '.[0].id' body)
expect 'GET /snapshots/ID' 200 GET /snapshots/$snap -H "$KA"
check 'with property_id and run' jq_q ".property_id == $pid and
    (.run | type) == \"number\" and .data.title == \"Flat\""
cp body SnapshotFull.json
expect 'GET /snapshots/999' 404 GET /snapshots/999 -H "$KA"
expect 'a bad since' 400 GET '/snapshots?since=yesterday' -H "$KA"
expect 'source and target both' 400 GET '/snapshots?source=1&target=1' \
    -H "$KA"
expect 'of no source' 404 GET '/snapshots?source=9' -H "$KA"
expect 'POST /snapshots/ID/restore' 200 POST /snapshots/$snap/restore -H "$KA"
check 'restored in a run' jq_q '.status == "success" and
    .stats.restored == 1 and (.run | type) == "number"'
expect 'the old version is back' 200 GET '/targets/1/properties?manual=true' \
    -H "$KA"
check 'marked as a manual change' jq_q '.[0].data.price == 250000 and
    (.[0].warning | test("restored from snapshot"))'
expect 'restore of no snapshot' 404 POST /snapshots/999/restore -H "$KA"

# The run log.
expect 'GET /runs' 200 GET /runs -H "$KA"
check 'imports, syncs, the PATCH and the restore' jq_q '(map(.kind) | unique)
    == ["import","restore","sync"] and all(.[]; has("stats"))'
expect 'GET /runs?kind=sync' 200 GET '/runs?kind=sync&source=1' -H "$KA"
check 'only syncs' jq_q 'length == 2 and all(.[]; .kind == "sync")'
expect 'a page of runs' 200 GET '/runs?limit=2' -H "$KA"
check 'Link keeps nothing else' grep -q '^Link: </runs?after=2&limit=2>' headers
expect 'a bad kind' 400 GET '/runs?kind=backup' -H "$KA"

# Cleanup.
expect 'POST /cleanup?days=30' 200 POST '/cleanup?days=30' -H "$KA"
check 'nothing is that old' jq_q '.tenant == "acme" and
    .snapshots_deleted == 0 and .runs_deleted == 0'
check 'the original'"'"'s status, deleted and days too' jq_q '
    .status == "success" and .deleted == 0 and .days == 30'
cp body CleanupResult.json
expect 'a dry run of days=0 keep=0' 200 \
    POST '/cleanup?days=0&keep=0&dry_run=true' -H "$KA"
check 'would delete the snapshots' jq_q '.snapshots_deleted > 0'
expect 'a bad days' 400 POST '/cleanup?days=-1' -H "$KA"
expect 'GET /cleanup' 405 GET /cleanup -H "$KA"

# Isolation: each tenant is its own file; ids of another do not exist.
expect 'tenant B sees no sources' 200 GET /sources -H "$KB"
check 'an empty list' jq_q '. == []'
expect "B asks for A's source" 404 GET /sources/1 -H "$KB"
expect "B lists A's target properties" 404 GET /targets/1/properties -H "$KB"
expect "B imports into A's source" 404 POST /sources/1/import -H "$KB" \
    -H "$J" -d '{"data":[{"id":"X"}]}'
expect "B patches A's property" 404 PATCH /targets/1/properties/$pid \
    -H "$KB" -H "$J" -d '{"data":{"price":1}}'
expect "B reads A's snapshot" 404 GET /snapshots/$snap -H "$KB"
expect "B syncs A's pair" 404 POST /sync/1/1 -H "$KB"
expect 'A is untouched' 200 GET /sources/1/properties -H "$KA"
check 'no X' jq_q 'map(.external_id) == ["P1","P2","P3","P5"]'

# A busy tenant: 503 with Retry-After, and reads go on.
(printf 'BEGIN IMMEDIATE;\n.shell touch locked\n'; sleep 2
    printf 'COMMIT;\n') | sqlite3 data/acme.db &
lock=$!
i=0; while [ ! -e locked ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
expect 'a write to a busy tenant' 503 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"later","type":"json"}'
check 'Retry-After' grep -qi '^Retry-After: 1' headers
check 'says busy' jq_q '.error | test("busy")'
expect 'reads go on meanwhile' 200 GET /sources -H "$KA"
expect 'the other tenant goes on' 201 POST /sources -H "$KB" -H "$J" \
    -d '{"name":"mine","type":"manual"}'
wait $lock
expect 'and the write, retried' 201 POST /sources -H "$KA" -H "$J" \
    -d '{"name":"later","type":"json"}'

# Removal.
expect 'DELETE /targets/1' 200 DELETE /targets/1 -H "$KA"
check 'deleted' jq_q '. == {"id":1,"name":"website","deleted":true}'
expect 'DELETE /sources/2' 200 DELETE /sources/2 -H "$KA"
expect 'gone' 404 DELETE /sources/2 -H "$KA"
expect 'GET /targets/1 after' 404 GET /targets/1 -H "$KA"

# The OpenAPI document lists exactly the routes the server answers.
expect 'GET /openapi.json without a key' 200 GET /openapi.json
check 'it parses; OpenAPI 3.0' jq_q '.openapi | startswith("3.0.")'
cp body openapi.json
jq -r '.paths | to_entries[] | .key as $p | .value | keys[] |
    select(. != "parameters") | ascii_upcase + " " + $p' openapi.json |
    sort >paths.doc
sm-serve --routes | sort >paths.routes
check_same 'every route documented, and only those' paths.routes paths.doc
jq -r '[.. | objects | select(has("$ref")) | .["$ref"]] | unique[]' \
    openapi.json >refs
check 'every $ref resolves' sh -c 'while read -r r; do
    jq -e --arg r "$r" "getpath(\$r | ltrimstr(\"#/\") | split(\"/\"))
    != null" openapi.json >/dev/null || { echo "# $r"; exit 1; }; done <refs'
cp openapi.json body
check 'every body has a schema' jq_q '
    def res(r): if r | has("$ref") then
        getpath(r["$ref"] | ltrimstr("#/") | split("/")) else r end;
    . as $d | [.paths[] | to_entries[] | select(.key != "parameters") |
    .value | ((.requestBody // {}).content // {} | .[] | has("schema")),
    (.responses[] | res(.) | (.content // {"x": {"schema": 1}}) | .[] |
    has("schema"))] | all'
# Answers have the members their schemas list, no more, no fewer.
for f in Source Target ImportResult SyncResult TargetProperty SnapshotFull \
    CleanupResult; do
	check "a $f has the members of its schema" jq_e -n \
	    --slurpfile d openapi.json --slurpfile v $f.json --arg n $f '
	    $d[0].components.schemas[$n] as $s | ($v[0] | keys) as $k |
	    ($k - ($s.properties | keys)) == [] and ($s.required - $k) == []'
done
check 'and their stats too' sh -c 'for p in ImportResult:ImportStats \
    SyncResult:SyncStats; do jq -n -e --slurpfile d openapi.json \
    --slurpfile v ${p%:*}.json --arg n ${p#*:} "(\$v[0].stats | keys) ==
    (\$d[0].components.schemas[\$n].properties | keys)" >/dev/null ||
    exit 1; done'
expect 'GET /docs without a key' 200 GET /docs
check 'an HTML page' grep -qi '^Content-Type: text/html' headers
check 'with a form per endpoint, built from /openapi.json' sh -c \
    'grep -q "fetch(.\/openapi.json.)" body && grep -q "X-API-Key" body'
check 'nothing external' sh -c '! grep -Eiq "(src|href)=.(https?:)?//|@import" body'
check 'a policy that keeps it so' grep -qi \
    "^Content-Security-Policy: default-src 'none'" headers

# The log, and a clean stop on SIGTERM.
check 'one log line per request, with the tenant' grep -q \
    '^sm-serve: acme GET /sources 200 ' serve.log
serve_stop
check 'SIGTERM: exit 0' test "$SERVE_STATUS" = 0
check 'after finishing what was in progress' grep -q 'finishing' serve.log
check 'and removing its decoy' sh -c '! ls -a data | grep -q sm-serve'
done_testing
