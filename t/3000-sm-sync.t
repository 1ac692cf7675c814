#!/bin/sh -e
# sm-sync: the seed's use cases 2 to 5 and its "Advanced Usage" replayed
# through the commands; event and run record formats; exit codes.
cd "$(dirname "$0")"
. ./lib.sh
plan 62

SM_NOW=2026-11-29T05:00:00Z
export SM_NOW
sm-tenant create "My Company" >/dev/null 2>&1
SM_TENANT=my-company
export SM_TENANT
sm-tenant source add listings --type json >/dev/null
sm-tenant target add website --type website \
    --config '{"url":"https://mywebsite.com"}' >/dev/null

# The seed's properties.json, as it is.
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
sm-import -q -s listings properties.json >/dev/null

# Use case 2: sync from source to target.
check_exit 'use case 2: sync --stats' 0 sm-sync listings website --stats
cat >want <<'EOF'
{"status":"success","run":2,"stats":{"created":2,"updated":0,"deleted":0,"unchanged":0,"skipped":0,"warnings":0,"conflicts":0,"accepted":0,"flagged":0,"examined":2}}
EOF
check_same 'created 2, updated 0, skipped 0, warnings 0' want out
sed 's/ in [0-9.]* s$/ in T s/' err >got
cat >want <<'EOF'
sm-sync: listings -> website: 2 created, 0 updated, 0 deleted, 0 unchanged, 0 skipped, 0 warnings in T s
EOF
check_same 'one summary line on stderr' want got
sqlite3 data/my-company.db "SELECT external_id, data, hash = synced_hash, \
    source_id, has_manual_changes FROM target_properties ORDER BY id" >got
cat >want <<'EOF'
PROP001|{"bedrooms":4,"id":"PROP001","location":"Madrid","price":500000,"title":"Beautiful Villa"}|1|1|0
PROP002|{"bedrooms":2,"id":"PROP002","location":"Barcelona","price":250000,"title":"City Apartment"}|1|1|0
EOF
check_same 'the website holds both, canonical, synced' want got
check_exit 'a second sync' 0 sm-sync listings website
check 'prints no events' test ! -s out

# Use case 4: the source changed; re-import, sync.
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
check_exit 'use case 4: re-import' 0 sm-import -s listings --stats properties.json
cat >want <<'EOF'
{"status":"success","run":4,"stats":{"created":0,"updated":1,"unchanged":0,"deleted":0,"rejected":0}}
EOF
check_same 'import: created 0, updated 1' want out
check_exit 'sync the change' 0 sm-sync listings website
jq -c '{op, target, external_id, price: .data.price, title: .data.title}' out >got
cat >want <<'EOF'
{"op":"update","target":"website","external_id":"PROP001","price":520000,"title":"Beautiful Villa - UPDATED"}
EOF
check_same 'one update event with the new data' want got
check 'update event carries hash and prev_hash' \
    test "$(jq -r '[.hash, .prev_hash] | map(length) | join(",")' out)" = 32,32
sqlite3 data/my-company.db "SELECT s.external_id, json_extract(s.data, '$.price'), \
    s.hash = c.prev_hash, s.reason, s.run_id FROM snapshots s \
    JOIN changes c ON c.run_id = s.run_id AND c.external_id = s.external_id \
    WHERE s.target_id IS NOT NULL" >got
echo 'PROP001|500000|1|update|5' >want
check_same 'a snapshot of the old target version exists' want got

# Use case 3: someone edits PROP001 on the website by hand.
echo '{"id": "PROP001", "price": 510000}' >edit.ndjson
check_exit 'the edit, as a merge patch of the observed target' 0 \
    sm-import -q -t website --merge edit.ndjson
check_exit 'use case 3: next sync' 0 sm-sync listings website
jq -c '{op, external_id, warning, price: .data.price}' out >got
cat >want <<'EOF'
{"op":"skip","external_id":"PROP001","warning":"target has manual modifications","price":510000}
EOF
check_same 'the manual change is detected and skipped' want got
check 'stderr counts a warning' grep_q ' 1 skipped, 1 warnings' err
sqlite3 data/my-company.db "SELECT external_id, json_extract(data, '$.price'), \
    has_manual_changes, warning FROM target_properties ORDER BY id" >got
cat >want <<'EOF'
PROP001|510000|1|target has manual modifications
PROP002|250000|0|
EOF
check_same 'flagged has_manual_changes, not overwritten' want got
sm-snapshot cat -t website --manual |
    jq -c '{external_id, has_manual_changes, warning, price: .data.price}' >got
cat >want <<'EOF'
{"external_id":"PROP001","has_manual_changes":true,"warning":"target has manual modifications","price":510000}
EOF
check_same 'sm-snapshot cat --manual shows it' want got

# The source changes PROP001 again: the seed's warning.
echo '{"id": "PROP001", "title": "Beautiful Villa", "price": 530000, "bedrooms": 4, "location": "Madrid"}' |
    sm-import -q -s listings >/dev/null
check_exit 'sync with a source change over the manual one' 0 \
    sm-sync listings website --stats
cat >want <<'EOF'
{"status":"success","run":9,"stats":{"created":0,"updated":0,"deleted":0,"unchanged":0,"skipped":1,"warnings":1,"conflicts":1,"accepted":0,"flagged":1,"examined":1}}
EOF
check_same 'a conflict: skipped 1, warnings 1, conflicts 1' want out
sqlite3 data/my-company.db "SELECT json_extract(data, '$.price'), \
    has_manual_changes, warning FROM target_properties WHERE external_id = 'PROP001'" >got
echo '510000|1|source has changes but target has manual modifications' >want
check_same 'the seed warning is on the property' want got

# Someone decides: the website's PROP001 stays as edited.  Until then
# every sync would hold it back again, with its warning.
check_exit 'accept the manual PROP001' 0 \
    sm-sync listings website --accept-manual --id PROP001 --stats
check 'accepted 1, flagged 0' grep_q '"accepted":1,"flagged":0,' out

# Use case 5: the daily automated sync, as a shell script for cron.
cat >daily-sync.sh <<'EOF'
#!/bin/sh
# Import the latest file, sync to the website, report warnings.
# Exits 1 when a property has manual changes (for cron's mail).
set -e
echo "Starting daily sync - $SM_NOW"
sm-import -q -s listings --stats latest_properties.json >import.json
echo "Import: $(jq -c .stats import.json)"
rc=0
sm-sync -q listings website --stats --fail-on-warnings >sync.json || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
echo "Sync: $(jq -c '.stats | {created, updated, skipped, warnings}' sync.json)"
warnings=$(jq .stats.warnings sync.json)
if [ "$warnings" -gt 0 ]; then
	echo "WARNING: $warnings properties have manual changes!"
fi
exit "$rc"
EOF
chmod +x daily-sync.sh
cat >latest_properties.json <<'EOF'
[
  {"id": "PROP002", "title": "City Apartment", "price": 245000, "bedrooms": 2, "location": "Barcelona"},
  {"id": "PROP003", "title": "Beach House", "price": 410000, "bedrooms": 3, "location": "Valencia"}
]
EOF
check_exit 'use case 5: a quiet day exits 0' 0 ./daily-sync.sh
cat >want <<'EOF'
Starting daily sync - 2026-11-29T05:00:00Z
Import: {"created":1,"updated":1,"unchanged":0,"deleted":0,"rejected":0}
Sync: {"created":1,"updated":1,"skipped":0,"warnings":0}
EOF
check_same 'its report' want out
echo '{"id": "PROP003", "price": 399000}' |
    sm-import -q -t website --merge >/dev/null
check_exit 'a day after a manual edit exits 1 (--fail-on-warnings)' 1 \
    ./daily-sync.sh
cat >want <<'EOF'
Starting daily sync - 2026-11-29T05:00:00Z
Import: {"created":0,"updated":0,"unchanged":2,"deleted":0,"rejected":0}
Sync: {"created":0,"updated":0,"skipped":1,"warnings":1}
WARNING: 1 properties have manual changes!
EOF
check_same 'and says why' want out
check 'stats.warnings read with jq' test "$(jq .stats.warnings sync.json)" = 1
# The seed's meaning of warnings (SPEC §5.3): the next day, the edit still
# unresolved, the script alerts again.
check_exit 'the next day, still unresolved: exits 1 again' 1 ./daily-sync.sh
check_same 'and says why again' want out
check_exit 'without --fail-on-warnings a warning is still exit 0' 0 \
    sm-sync listings website --id PROP003

# Events: one per affected property, with the data to deliver.
sm-tenant target add staging --type website >/dev/null
check_exit 'sync into a new target' 0 sm-sync listings staging
jq -c '{op, id: .external_id, price: .data.price}' out >got
cat >want <<'EOF'
{"op":"create","id":"PROP001","price":530000}
{"op":"create","id":"PROP002","price":245000}
{"op":"create","id":"PROP003","price":410000}
EOF
check_same 'sm-sync | jq works on the data' want got
head -n 1 out >got
cat >want <<'EOF'
{"op":"create","target":"staging","external_id":"PROP001","hash":"fba84f3898b5d78277e5e3e2a2aedc25","data":{"bedrooms":4,"id":"PROP001","location":"Madrid","price":530000,"title":"Beautiful Villa"}}
EOF
check_same 'an event, exactly: keys in schema order' want got
check 'its hash is XXH3-128 of the canonical data' test \
    "$(sqlite3 data/my-company.db "SELECT data FROM target_properties \
    WHERE target_id = 2 AND external_id = 'PROP001'" | tr -d '\n' |
    xxh128sum | cut -c1-32)" = "$(head -n 1 out | jq -r .hash)"

# --history: past sync runs.
check_exit 'history of one pair' 0 sm-sync --history listings staging
cat >want <<'EOF'
{"run":19,"kind":"sync","source":"listings","target":"staging","started_at":"2026-11-29T05:00:00Z","finished_at":"2026-11-29T05:00:00Z","status":"success","stats":{"created":3,"updated":0,"deleted":0,"unchanged":0,"skipped":0,"warnings":0,"conflicts":0,"accepted":0,"flagged":0,"examined":3}}
EOF
check_same 'the run record' want out
check_exit 'history of a source' 0 sm-sync --history listings
check 'every sync run, oldest first' test "$(jq -c .run out | tr '\n' ' ')" = \
    '2 3 5 7 9 10 12 15 17 18 19 '
check 'only sync runs' test "$(jq -r .kind out | sort -u)" = sync
check_exit 'history of everything' 0 sm-sync --history
check 'the same runs' test "$(wc -l <out)" = 11
sm-sync -n listings staging >/dev/null 2>&1
check_exit 'a dry run is not recorded' 0 sm-sync --history listings staging
check 'still one run' test "$(wc -l <out)" = 1

# Advanced usage: one source into several targets.
sm-tenant target add database --type database >/dev/null
sm-tenant target add api --type api >/dev/null
for t in database api; do
	sm-sync -q listings $t >/dev/null
done
echo '{"id": "PROP002", "price": 1}' | sm-import -q -t database --merge >/dev/null
echo '{"id": "PROP002", "title": "City Apartment", "price": 240000, "bedrooms": 2, "location": "Barcelona"}' |
    sm-import -q -s listings >/dev/null
for t in website database api; do
	sm-sync listings $t
done 2>/dev/null | jq -c '{op, target, id: .external_id, price: .data.price}' >got
cat >want <<'EOF'
{"op":"update","target":"website","id":"PROP002","price":240000}
{"op":"skip","target":"website","id":"PROP003","price":399000}
{"op":"conflict","target":"database","id":"PROP002","price":1}
{"op":"update","target":"api","id":"PROP002","price":240000}
EOF
check_same 'one source, three targets, each with its own state' want got

# Advanced usage: several sources into one target.
sm-tenant source add manual --type manual >/dev/null
cat >manual.ndjson <<'EOF'
{"id": "M001", "title": "Office", "price": 90000}
{"id": "PROP001", "title": "Not the villa", "price": 1}
EOF
sm-import -q -s manual manual.ndjson >/dev/null
check_exit 'second source into the same target' 0 sm-sync manual website
jq -c '{op, id: .external_id, warning, title: .data.title}' out >got
cat >want <<'EOF'
{"op":"create","id":"M001","warning":null,"title":"Office"}
{"op":"skip","id":"PROP001","warning":"target property is fed by another source","title":"Beautiful Villa - UPDATED"}
EOF
check_same 'a row of another source is never overwritten' want got
sqlite3 data/my-company.db "SELECT t.external_id, s.name, t.has_manual_changes \
    FROM target_properties t JOIN sources s ON s.id = t.source_id \
    WHERE t.target_id = 1 ORDER BY t.external_id" >got
cat >want <<'EOF'
M001|manual|0
PROP001|listings|0
PROP002|listings|0
PROP003|listings|1
EOF
check_same 'each row knows its source' want got
check_exit 'the first source is not disturbed' 0 sm-sync listings website --stats
check 'nothing to do but hold PROP003 back again' \
    grep_q '"skipped":1,"warnings":1,"conflicts":0,"accepted":0,"flagged":1,"examined":1}' out

# Exit codes.
check_exit 'no operands' 64 sm-sync
check 'usage on stderr' grep_q '^usage: sm-sync' err
check_exit 'one operand' 64 sm-sync listings
check_exit 'three operands' 64 sm-sync listings website api
check_exit 'both manual options' 64 sm-sync listings website \
    --overwrite-manual --accept-manual
check 'says they exclude each other' grep_q 'exclude each other' err
check_exit 'unknown option' 64 sm-sync --bogus listings website
check_exit 'no tenant' 64 env -u SM_TENANT sm-sync listings website
check_exit 'no such tenant' 66 sm-sync -T nosuch listings website
check_exit 'no such source' 66 sm-sync nosuch website
check_exit 'no such target' 66 sm-sync listings nosuch
check_exit '--help' 0 sm-sync --help
done_testing
