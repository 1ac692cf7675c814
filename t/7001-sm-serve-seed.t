#!/bin/sh -e
# sm-serve: the use cases of the seed's USAGE.md, replayed with curl as it
# shows them (our ids), and its daily sync script as curl and jq.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 31

# Step 2 of "Getting Started": the tenant, made with the command line;
# its key works over HTTP.
check_exit 'create-tenant "My Company"' 0 sm-tenant create "My Company"
YOUR_API_KEY=$(jq -r .api_key out)
serve_start
API=${URL#http://}
expect 'without serve.admin_key_file, no tenants over HTTP' 401 \
    POST /tenants -H 'X-Admin-Key: ' -d '{"name":"X"}'

# Use case 1: import properties from JSON.
curl -s -o body -w '%{http_code}\n' -X POST http://$API/sources \
  -H "X-API-Key: $YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "Property Listings",
    "type": "json",
    "config": {}
  }' >code
check 'use case 1: source 1 created' sh -c 'test "$(cat code)" = 201 &&
    jq -e ".id == 1 and .name == \"Property Listings\"" body >/dev/null'
cat >properties.json <<'EOF'
[
  {
    "id": "PROP001",
    "title": "Beautiful Villa",
    "price": 500000,
    "bedrooms": 4,
    "location": "Madrid"
  },
  {
    "id": "PROP002",
    "title": "City Apartment",
    "price": 250000,
    "bedrooms": 2,
    "location": "Barcelona"
  }
]
EOF
# "import 1 1 properties.json", as daily_sync.py does it: {"data": [...]}.
jq '{data: .}' properties.json | curl -s -o body -X POST \
    http://$API/sources/1/import -H "X-API-Key: $YOUR_API_KEY" \
    -H "Content-Type: application/json" -d @-
check 'use case 1: Status: success' jq_q '.status == "success"'
check "use case 1: Stats: {'created': 2, 'updated': 0}" \
    jq_q '.stats.created == 2 and .stats.updated == 0'

# Use case 2: sync from source to target.
curl -s -o body -w '%{http_code}\n' -X POST http://$API/targets \
  -H "X-API-Key: $YOUR_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "name": "My Website",
    "type": "website",
    "config": {
      "url": "https://mywebsite.com"
    }
  }' >code
check 'use case 2: target 1 created' sh -c 'test "$(cat code)" = 201 &&
    jq -e ".id == 1 and .config.url == \"https://mywebsite.com\"" body \
    >/dev/null'
curl -s -o body -X POST http://$API/sync/1/1 -H "X-API-Key: $YOUR_API_KEY"
check 'use case 2: Status: success' jq_q '.status == "success"'
check "use case 2: Stats: {'created': 2, 'updated': 0, 'skipped': 0, 'warnings': 0}" \
    jq_q '.stats | .created == 2 and .updated == 0 and .skipped == 0 and
    .warnings == 0'

# Use case 4: the source changed; re-import, then sync.
cat >properties.json <<'EOF'
[
  {
    "id": "PROP001",
    "title": "Beautiful Villa - UPDATED",
    "price": 520000,
    "bedrooms": 4,
    "location": "Madrid"
  }
]
EOF
jq '{data: .}' properties.json | curl -s -o body -X POST \
    http://$API/sources/1/import -H "X-API-Key: $YOUR_API_KEY" \
    -H "Content-Type: application/json" -d @-
check "use case 4: Stats: {'created': 0, 'updated': 1}" \
    jq_q '.status == "success" and .stats.created == 0 and .stats.updated == 1'
curl -s -o body -X POST http://$API/sync/1/1 -H "X-API-Key: $YOUR_API_KEY"
check 'use case 4: the sync updates it' jq_q '.stats.updated == 1 and
    .stats.created == 0 and .stats.warnings == 0'
curl -s -o body http://$API/targets/1/properties -H "X-API-Key: $YOUR_API_KEY"
check 'use case 4: the property has the new data and hash' jq_q '
    (.[] | select(.external_id == "PROP001") | .data.price == 520000 and
    .data.title == "Beautiful Villa - UPDATED" and .hash == .synced_hash)'
check 'use case 4: PROP002 is left alone' jq_q 'length == 2'
curl -s -o body 'http://'$API'/snapshots?target=1&data=true' \
    -H "X-API-Key: $YOUR_API_KEY"
check 'use case 4: a snapshot of the old version first' jq_q '
    .[0].external_id == "PROP001" and .[0].reason == "update" and
    .[0].data.price == 500000'

# Use case 3: someone edits PROP001 on the website (the seed's PATCH),
# the source changes again, and the next sync detects and keeps the edit.
curl -s -o body -X PATCH http://$API/targets/1/properties/1 \
    -H "X-API-Key: $YOUR_API_KEY" -H "Content-Type: application/json" \
    -d '{"data": {"price": 300000}}'
check 'use case 3: the edit is made, marked manual' jq_q '
    .external_id == "PROP001" and .data.price == 300000 and
    .has_manual_changes == true'
jq '{data: [.[0] | .price = 530000]}' properties.json | curl -s -o body \
    -X POST http://$API/sources/1/import -H "X-API-Key: $YOUR_API_KEY" \
    -H "Content-Type: application/json" -d @-
curl -s -o body -X POST http://$API/sync/1/1 -H "X-API-Key: $YOUR_API_KEY"
check 'use case 3: the sync skips it, with a warning' jq_q '
    .stats.warnings == 1 and .stats.updated == 0'
curl -s -o body http://$API/targets/1/properties \
  -H "X-API-Key: $YOUR_API_KEY"
check 'use case 3: "id": 1, "external_id": "PROP001"' jq_q '
    .[0].id == 1 and .[0].external_id == "PROP001"'
check 'use case 3: "has_manual_changes": true' jq_q \
    '.[0].has_manual_changes == true'
check 'use case 3: "warning": "source has changes but target has manual modifications"' \
    jq_q '.[0].warning == "source has changes but target has manual modifications"'
check 'use case 3: the manual data is not overwritten' jq_q \
    '.[0].data.price == 300000'

# Use case 6: cleanup, via the API.
curl -s -o body -w '%{http_code}\n' -X POST http://$API/cleanup?days=30 \
  -H "X-API-Key: $YOUR_API_KEY" >code
check 'use case 6: POST /cleanup?days=30' test "$(cat code)" = 200
check 'use case 6: the fresh snapshots are kept' jq_q '
    .tenant == "my-company" and .snapshots_deleted == 0'
curl -s -o body -X POST 'http://'$API'/cleanup?days=0&keep=0' \
    -H "X-API-Key: $YOUR_API_KEY"
check 'use case 6: days=0 keep=0 deletes them' jq_q '.snapshots_deleted > 0'
curl -s -o body http://$API/snapshots -H "X-API-Key: $YOUR_API_KEY"
check 'use case 6: none left' jq_q '. == []'

# Use case 5: daily_sync.py as curl and jq, the script of the README.
awk '/^```sh$/ { n++; on = 1; next } /^```/ { on = 0 } on && n == 2' \
    "$TOP/README" | sed -e 's|^API_URL=.*|API_URL=$API_URL|' \
    -e 's|^API_KEY=.*|API_KEY=$API_KEY|' >daily_sync.sh
check 'the README has the script' grep -q 'sync/1/1' daily_sync.sh
# The real-world example: a tenant made over HTTP with the admin key.
serve_stop
printf 'k3y\n' >admin.key
cat >config.yaml <<EOF
serve:
  admin_key_file: $SCRATCH/admin.key
EOF
chmod 600 admin.key
serve_start -c config.yaml
curl -s -o body -X POST $URL/tenants -H 'X-Admin-Key: k3y' \
    -d '{"name":"My Real Estate Agency","slug":"agency"}'
check 'POST /tenants: 201 and the key' jq_q '.id == "agency"'
API_KEY=$(jq -r .api_key body)
API_URL=$URL
export API_KEY API_URL
curl -s -o body -X POST $URL/sources -H "X-API-Key: $API_KEY" \
    -d '{"name": "YM Website", "type": "scraped", "config": {}}'
curl -s -o body -X POST $URL/targets -H "X-API-Key: $API_KEY" \
    -d '{"name": "My Website", "type": "website",
    "config": {"url": "https://myrealestate.com"}}'
check 'source 1 and target 1' jq_q '.id == 1'
cat >latest_properties.json <<'EOF'
[{"id": "YM1", "title": "Villa", "price": 500000},
 {"id": "YM2", "title": "Flat", "price": 250000}]
EOF
check_exit 'day 1' 0 sh daily_sync.sh
sed -i 's/^Starting daily sync - .*/Starting daily sync/' out
cat >want <<'EOF'
Starting daily sync
Import: {"created":2,"updated":0,"unchanged":0,"deleted":0,"rejected":0}
Sync: {"created":2,"updated":0,"deleted":0,"unchanged":0,"skipped":0,"warnings":0,"conflicts":0,"accepted":0,"flagged":0,"examined":2}
EOF
check_same 'day 1 output' want out
curl -s -o body -X PATCH $URL/targets/1/properties/1 \
    -H "X-API-Key: $API_KEY" -d '{"data": {"price": 2}}'
jq 'map(.price += 1)' latest_properties.json >l && mv l latest_properties.json
check_exit 'day 2, after a manual edit on the website' 0 sh daily_sync.sh
sed -i 's/^Starting daily sync - .*/Starting daily sync/' out
cat >want <<'EOF'
Starting daily sync
Import: {"created":0,"updated":2,"unchanged":0,"deleted":0,"rejected":0}
Sync: {"created":0,"updated":1,"deleted":0,"unchanged":0,"skipped":1,"warnings":1,"conflicts":1,"accepted":0,"flagged":1,"examined":2}
WARNING: 1 properties have manual changes!
YM1: source has changes but target has manual modifications
EOF
check_same 'day 2 output' want out
# "Conditional Sync": the list is a JSON array, len() works.
check 'len(source_props)' test "$(curl -s $URL/sources/1/properties \
    -H "X-API-Key: $API_KEY" | jq length)" = 2
done_testing
