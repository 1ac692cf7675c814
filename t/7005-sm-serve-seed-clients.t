#!/bin/sh -e
# sm-serve: the original product's clients run unchanged (SPEC §5.7).
# Every Python block and every curl block of its guide (the seed's
# USAGE.md), extracted from the guide as the test runs, with only the URL
# and the keys substituted, against a real server over HTTP; the numbers
# the guide shows are asserted.  The guide is ../shared/seed/USAGE.md when
# there is one (then the copy in t/data must be the same), else that copy,
# so that a clean clone runs it too.
#
# The harness gives the blocks what the guide says the reader has: a
# server (with serve.open_registration, the original's behaviour), a key,
# the files the guide shows (its json blocks), and for the real-world
# workflow its scraper module and its send_email_alert.  It never edits a
# block but for the URL and the keys.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 58

guide=$TOP/../shared/seed/USAGE.md
copy=$TESTDIR/data/seed-USAGE.md
if [ -f "$guide" ]; then
	check 'the copy in t/data is the guide' cmp -s "$guide" "$copy"
else
	guide=$copy
	check 'the guide: the copy in t/data (no ../shared)' test -f "$guide"
fi
PYTHONIOENCODING=utf-8
export PYTHONIOENCODING

# The fenced blocks, one file each: blocks/NNN.LANG (indentation taken
# off, as the guide indents the one of a list item).
mkdir blocks
awk -v dir=blocks '
	!on && /^ *```[a-z]+ *$/ {
		on = 1; n++; lang = $0; sub(/^ *```/, "", lang)
		sub(/ *$/, "", lang); ind = index($0, "`") - 1
		f = sprintf("%s/%03d.%s", dir, n, lang); printf "" >f; next
	}
	on && /^ *``` *$/ { on = 0; close(f); next }
	on { print substr($0, 1 + (length($0) > ind ? ind : length($0))) >>f }
' "$guide"
# block PATTERN LANG: the one block of LANG whose text matches PATTERN.
block() {
	b=$(grep -l -e "$1" blocks/*."$2")
	[ "$(echo "$b" | wc -l)" = 1 ] && [ -n "$b" ] || {
		echo "Bail out! no single $2 block matches '$1': $b"; exit 1; }
	echo "$b"
}
# subst: the URL and the keys of the guide, ours.
subst() {
	sed -e "s|http://localhost:8000|$URL|g" \
	    -e "s|your_api_key_here|$KEY|g" -e "s|YOUR_API_KEY|$KEY|g" \
	    -e "s|YOUR_KEY|$KEY|g" -e "s|abc123xyz\.\.\.|$KEY2|g" "$@"
}
npy=$(ls blocks/*.python | wc -l)
ncurl=$(grep -l curl blocks/*.bash | wc -l)
echo "# the guide has $npy python blocks and $ncurl bash blocks with curl"
check 'eight python blocks, five of curl' test "$npy,$ncurl" = 8,5
ran_py= ran_curl=
ran() { eval "ran_$1=\"\$ran_$1 \$2\""; }

cat >config.yaml <<EOF
serve:
  open_registration: true
EOF
serve_start -c config.yaml
KEY=guide-key-0123456789abcdef
KEY2=agency-key-0123456789abcdef
export URL KEY KEY2

# "Create Tenant: POST /tenants, Body: {"name": "Company", "api_key":
# "generated_key"}", no admin key, as the original takes it.
b=$(block '^POST /tenants' bash)
body=$(sed -n 's/^Body: //p' "$b")
check 'the guide'"'"'s body' test "$body" = \
    '{"name": "Company", "api_key": "generated_key"}'
expect 'POST /tenants, the guide'"'"'s body word for word' 422 \
    POST /tenants -H 'Content-Type: application/json' -d "$body"
check 'a key that short is refused, saying why' \
    jq_q '.detail == "api_key is shorter than 16 characters"'
expect 'with a key of 16 characters or more: 201, no admin key' 201 \
    POST /tenants -H 'Content-Type: application/json' \
    -d "$(echo "$body" | sed "s/generated_key/$KEY/")"
check 'the tenant, with the key given' jq_q '.name == "Company" and
    .api_key == "'$KEY'"'

# Use case 1: create a source (curl), the file of step 2, its import.
b=$(block '/sources \\$' bash); ran curl "$b"
subst "$b" >uc1.sh
check_exit 'use case 1: create a source (curl)' 0 sh uc1.sh
check 'source 1, "Property Listings"' jq_e '.id == 1 and
    .name == "Property Listings" and .type == "json"' out
cp "$(block '"PROP002"' json)" properties.json
# "import 1 1 properties.json" is the original's command line: over HTTP
# it is daily_sync.py's request.
# import_properties: properties.json into source 1, as daily_sync.py
# posts it; the answer in out.
import_properties() {
	python3 - >out <<'EOF'
import json, os, requests
with open("properties.json") as f:
    properties = json.load(f)
r = requests.post(f"{os.environ['URL']}/sources/1/import",
    headers={"X-API-Key": os.environ["KEY"]}, json={"data": properties})
print(json.dumps(r.json()))
EOF
}
import_properties
check "use case 1: Status: success, Stats: {'created': 2, 'updated': 0}" \
    jq_e '.status == "success" and .stats.created == 2 and
    .stats.updated == 0' out

# Use case 2: create a target (curl), sync.
b=$(block '/targets \\$' bash); ran curl "$b"
subst "$b" >uc2.sh
check_exit 'use case 2: create a target (curl)' 0 sh uc2.sh
check 'target 1, "My Website"' jq_e '.id == 1 and .name == "My Website" and
    .config.url == "https://mywebsite.com"' out
curl -s -X POST "$URL/sync/1/1" -H "X-API-Key: $KEY" >out
check "use case 2: Stats: {'created': 2, 'updated': 0, 'skipped': 0, 'warnings': 0}" \
    jq_e '.status == "success" and .stats.created == 2 and
    .stats.updated == 0 and .stats.skipped == 0 and .stats.warnings == 0' out

# Use case 4: the updated file (its "// Price increased" is no JSON: the
# comment is the one thing taken out), re-import, sync.
sed 's|  *//.*$||' "$(block 'UPDATED' json)" >properties.json
check 'use case 4: the file is JSON without its comment' \
    jq_e '.[0].price == 520000' properties.json
import_properties
check "use case 4: Stats: {'created': 0, 'updated': 1}" \
    jq_e '.status == "success" and .stats.created == 0 and
    .stats.updated == 1' out
curl -s -X POST "$URL/sync/1/1" -H "X-API-Key: $KEY" >out
check 'use case 4: the sync updates the property, with a snapshot' \
    jq_e '.stats.updated == 1' out
curl -s "$URL/snapshots?target=1" -H "X-API-Key: $KEY" >out
check 'use case 4: a snapshot of the old version' \
    jq_e 'length == 1 and .[0].reason == "update"' out

# Use case 3 and use case 5: the website is edited by hand (the guide's
# PATCH), the source changes, and daily_sync.py runs on two days.
b=$(block '^PATCH /targets' bash)
patch=$(sed -n 's/^Body: //p' "$b")
check 'the guide'"'"'s PATCH body' test "$patch" = '{"data": {"price": 300000}}'
expect 'use case 3: PATCH marks the property as manually changed' 200 \
    PATCH /targets/1/properties/1 -H "X-API-Key: $KEY" \
    -H 'Content-Type: application/json' -d "$patch"
check 'use case 3: has_manual_changes' jq_q '.has_manual_changes == true'
jq '.[0].price = 530000' properties.json >latest_properties.json
b=$(block 'def daily_sync' python); ran py "$b"
subst "$b" >daily_sync.py
check 'daily_sync.py: only the URL and the key differ from the guide' \
    test "$(diff "$b" daily_sync.py | grep -c '^>')" = 2
check_exit 'use case 5, day 1: python daily_sync.py' 0 python3 daily_sync.py
cp out day1.out
sed 's/^/# /' day1.out
check 'day 1: Import: updated 1' grep_q "^Import: {'created': 0, 'updated': 1," out
check "day 1: Sync: 'skipped': 1, 'warnings': 1" sh -c \
    "grep -q \"^Sync: {.*'skipped': 1, 'warnings': 1,\" out"
check 'day 1: it alerts' grep_q \
    '^⚠.*WARNING: 1 properties have manual changes!$' out
check_exit 'use case 5, day 2, nothing decided: python daily_sync.py' 0 \
    python3 daily_sync.py
sed 's/^/# /' out
check 'day 2: Import: unchanged' grep_q "^Import: {'created': 0, 'updated': 0," out
check "day 2: Sync: 'skipped': 1, 'warnings': 1, as the original" sh -c \
    "grep -q \"^Sync: {.*'skipped': 1, 'warnings': 1,\" out"
check 'day 2: it alerts again' grep_q \
    '^⚠.*WARNING: 1 properties have manual changes!$' out

# Use case 3: "Check for warnings" (curl) and what it shows.
b=$(block 'curl http://localhost:8000/targets/1/properties \\$' bash)
ran curl "$b"
subst "$b" >uc3.sh
check_exit 'use case 3: check for warnings (curl)' 0 sh uc3.sh
check 'use case 3: "id": 1, "external_id": "PROP001"' \
    jq_e '.[0].id == 1 and .[0].external_id == "PROP001"' out
check 'use case 3: "has_manual_changes": true' \
    jq_e '.[0].has_manual_changes == true' out
# The guide shows "Source has changes but target has manual
# modifications..."; SPEC §5.3 spells it without the capital.
check 'use case 3: "warning": "Source has changes but target has manual modifications..."' \
    jq_e '.[0].warning | ascii_downcase |
    startswith("source has changes but target has manual modifications")' out
check 'use case 3: the manual data is kept' jq_e '.[0].data.price == 300000' out

# Use case 6: cleanup via the API (curl).
b=$(block 'cleanup?days=30 \\$' bash); ran curl "$b"
subst "$b" >uc6.sh
check_exit 'use case 6: POST /cleanup?days=30 (curl)' 0 sh uc6.sh
check 'use case 6: the original'"'"'s status, deleted and days' \
    jq_e '.status == "success" and .deleted == 0 and .days == 30' out

# Monitoring: the four curls of "Check What's In Your System".
b=$(block '^# List all sources' bash); ran curl "$b"
subst "$b" >monitor.sh
check_exit 'monitoring: four curls' 0 sh monitor.sh
check 'sources, targets, source properties, target properties' jq_e -s '
    length == 4 and (.[0] | map(.name)) == ["Property Listings"] and
    (.[1] | map(.name)) == ["My Website"] and (.[2] | length) == 2 and
    (.[3] | length) == 2' out

# "Conditional Sync": the block defines smart_sync(); the harness calls it.
b=$(block 'def smart_sync' python); ran py "$b"
{ echo 'import requests'; echo "API_URL = '$URL'"; echo "API_KEY = '$KEY'"
  subst "$b"; echo 'smart_sync()'; } >smart.py
check_exit 'conditional sync: smart_sync()' 0 python3 smart.py
check 'len(source_props) is 2: not enough properties' \
    grep_q '^Not enough properties, skipped sync$' out

# The real-world example: a tenant of its own, API_KEY = "abc123xyz...".
expect 'the agency'"'"'s tenant' 201 POST /tenants \
    -H 'Content-Type: application/json' \
    -d '{"name": "My Real Estate Agency", "api_key": "'$KEY2'"}'
b2=$(block 'YM scraped source' python); ran py "$b2"
b3=$(block 'myrealestate.com' python); ran py "$b3"
b4=$(block 'def daily_workflow' python); ran py "$b4"
# The setup's blocks share API_URL and API_KEY, as one script does.
subst "$b2" "$b3" >setup.py
check_exit 'real world: 2. create sources, 3. create target' 0 \
    python3 setup.py
curl -s "$URL/sources" -H "X-API-Key: $KEY2" >out
check 'sources 1 "YM Website" and 2 "Manual Entries"' jq_e '
    map([.id, .name, .type]) == [[1, "YM Website", "scraped"],
    [2, "Manual Entries", "manual"]]' out
curl -s "$URL/targets" -H "X-API-Key: $KEY2" >out
check 'target 1 "My Website"' jq_e '
    map([.id, .name, .config.url]) ==
    [[1, "My Website", "https://myrealestate.com"]]' out
# What the reader has: the scraper, and a way to send mail.
cat >ym_scraper.py <<'EOF'
import json
def scrape_ym_properties():
    with open("ym.json") as f:
        return json.load(f)
EOF
cat >workflow.py <<EOF
import builtins
builtins.send_email_alert = lambda m: print("ALERT: " + m)
exec(open("setup-keys.py").read())
exec(open("daily_workflow.py").read())
EOF
subst "$b2" | sed -n '/^API_URL/p; /^API_KEY/p' >setup-keys.py
subst "$b4" >daily_workflow.py
echo '[{"id": "YM1", "title": "Villa", "price": 500000},
 {"id": "YM2", "title": "Flat", "price": 250000}]' >ym.json
check_exit 'real world: 4. the daily workflow, day 1' 0 python3 workflow.py
check 'day 1: Created: 2, Updated: 0, Warnings: 0, no alert' sh -c '
    grep -q "^Created: 2$" out && grep -q "^Updated: 0$" out &&
    grep -q "^Warnings: 0$" out && ! grep -q ALERT out'
curl -s -o /dev/null -X PATCH "$URL/targets/1/properties/1" \
    -H "X-API-Key: $KEY2" -d '{"data": {"price": 499000}}'
check_exit 'day 2, after a manual edit on the website' 0 python3 workflow.py
check 'day 2: Warnings: 1, and the mail' sh -c '
    grep -q "^Warnings: 1$" out &&
    grep -q "^ALERT: Manual changes detected!$" out'
check_exit 'day 3, nothing decided' 0 python3 workflow.py
check 'day 3: Warnings: 1, and the mail again' sh -c '
    grep -q "^Warnings: 1$" out &&
    grep -q "^ALERT: Manual changes detected!$" out'

# "Multiple Sources -> One Target", "One Source -> Multiple Targets": the
# guide sends these without X-API-Key; they run, and are refused (401)
# as the original refuses them.
for p in 'Manual → Website' 'Source → API'; do
	b=$(block "$p" python); ran py "$b"
	{ echo 'import requests'; echo "API_URL = '$URL'"
	  echo "API_KEY = '$KEY2'"
	  echo 'real_post = requests.post'
	  echo 'def post(*a, **k):'
	  echo '    r = real_post(*a, **k); print(r.status_code, r.json()["detail"]); return r'
	  echo 'requests.post = post'
	  subst "$b"; } >adv.py
	check_exit "advanced: $p runs" 0 python3 adv.py
	check '  each request refused 401, as the original' sh -c \
	    '[ -s out ] && ! grep -v "^401 invalid or missing API key$" out'
done

# "Handle manual changes": the guide's fragment, an if whose body is a
# comment, is no program; with the sync result of the day it stands in.
b=$(block "Alert someone to review" python); ran py "$b"
{ echo "sync_result = $(curl -s -X POST "$URL/sync/1/1" -H "X-API-Key: $KEY2")"
  subst "$b"; echo '    print("alert")'; } >fragment.py
check_exit 'best practices: the warnings check' 0 python3 fragment.py
check '  alerts while the edit is undecided' grep_q '^alert$' out

# Every python block and every curl block ran.
check 'every python block ran' test "$(echo $ran_py | wc -w)" = "$npy"
check 'every curl block ran' test "$(echo $ran_curl | wc -w)" = "$ncurl"
done_testing
