#!/bin/sh -e
# The conflict desk in a real browser (Debian's chromium, headless, driven
# by t/js/desk-browser.js through puppeteer-core): sign in, see a flagged
# row's two prices, apply the source, see it leave the list; keep an edit
# by keyboard; a wrong key refused; a second tenant's rows never shown.
# Screenshots are left in t/artifacts/desk/.  Slow (SLOW_TESTS).
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"

if ! command -v chromium >/dev/null 2>&1 ||
    [ ! -d "$TESTDIR/js/node_modules/puppeteer-core" ]; then
	echo "Bail out! chromium or puppeteer-core is missing: make deps" \
	    "node-deps installs them"
	exit 1
fi
plan 37

key() { sm-tenant create "$1" --slug "$1" 2>/dev/null | jq -r .api_key; }
KEY_A=$(key acme) KEY_B=$(key other)

sm-tenant -T acme source add portal --type json >/dev/null
sm-tenant -T acme target add website --type website >/dev/null
cat >day1.ndjson <<EOF
{"id":"a1","price":500000,"city":"Ostrava","rooms":3}
{"id":"a2","price":200000,"city":"Brno","rooms":2}
{"id":"a3","price":300000,"city":"Zlin","rooms":4}
EOF
sm-import -q -T acme -s portal day1.ndjson >/dev/null
sm-sync -q -T acme portal website >/dev/null
printf '%s\n' '{"id":"a1","price":499000}' '{"id":"a3","price":310000}' |
    sm-import -q -T acme -t website --merge >/dev/null
sed 's/500000/520000/; s/"Brno"/"Brno-Stred"/' day1.ndjson |
    sm-import -q -T acme -s portal >/dev/null
sm-sync -q -T acme portal website >/dev/null || :
# The other tenant: a flagged row of its own that acme must never see.
sm-tenant -T other source add feed --type json >/dev/null
sm-tenant -T other target add shop --type api >/dev/null
echo '{"id":"zz-other","price":777777}' | sm-import -q -T other -s feed >/dev/null
sm-sync -q -T other feed shop >/dev/null
echo '{"id":"zz-other","price":777001}' |
    sm-import -q -T other -t shop --merge >/dev/null
sm-sync -q -T other feed shop >/dev/null || :

serve_start
ART=$TESTDIR/artifacts/desk
rm -rf "$ART"
mkdir -p "$ART"
# The sanitizer build answers more slowly: a longer wait for each step.
t=30000
[ -z "${SM_ASAN:-}" ] || t=90000
check_exit 'the browser drives the desk to the end' 0 env \
    DESK_KEY_A="$KEY_A" DESK_KEY_B="$KEY_B" DESK_TIMEOUT_MS=$t \
    node "$TESTDIR/js/desk-browser.js" "$URL" "$ART"
S=$ART/seen.json
s() { jq -e "$@" "$S" >/dev/null; }

check 'a wrong key is refused, and says so' s '.wrong_key |
    test("refused") and test("invalid or missing API key")'
check 'the desk stays hidden, nothing is kept' s \
    '.wrong_key_desk_hidden == true and .wrong_key_stored == 0'
check 'signed in: the tenant named' s '.who == "Tenant acme"'
check 'the key is in no URL' s --arg k "$KEY_A" \
    '[.url_after_sign_in, .requests[]] | map(contains($k)) | any | not'
check 'it is in sessionStorage, nothing in localStorage' s --arg k "$KEY_A" \
    '.stored == [["sm-desk-key", ($k | length)]] and .local_storage == 0'
check 'every request went to this server' s --arg u "$URL/" \
    '.requests | length > 3 and all(startswith($u))'
check 'no script error, no policy violation (only the wrong key'"'"'s 401)' s \
    '.console == ["error: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]'
check 'the flagged rows are listed' s '.listed == ["a1", "a3"]'
check 'a1 shows both prices side by side, the price highlighted' s '
    .a1 | map(select(.field == "price"))[0] ==
    {"field":"price","changed":true,"old":"499000","neu":"520000"}'
check 'and the unchanged fields, not highlighted' s '.a1 |
    map(select(.field == "city"))[0] == {"field":"city","changed":false,
    "old":"Ostrava","neu":"Ostrava"} and (map(select(.changed)) | length) == 1'
check 'the overview counts the target' s '.targets[0][0:7] == ["website",
    "website", "3", "2", "0", "0", "0"] and
    (.targets[0][7] | test("success sync #5"))'
check 'a chart of the runs, 4 bars a run, and their table' s \
    '.chart_bars == 20 and .run_rows == 5'
check 'apply the source asks first' s '.confirm_text |
    test("Apply the source to a1") and test("snapshot")'
check 'a1 left the list' s '.after_apply == ["a3"]'
check 'the result shown' s '.status_apply | test("Applied the source to a1")
    and test("1 updated")'
check 'the dialog opens on Cancel (Enter alone does nothing rash)' s \
    '.confirm_focus == "confirm-no"'
check 'keep the edit by keyboard: a3 left the list too' s '.after_keep == []
    and (.status_keep | test("Kept the edit of a3"))'
check 'readable on a phone: nothing wider than the screen' s \
    '.phone_overflow <= 0'
check 'signed out: the key forgotten' s '.signed_out_stored == 0 and
    (.signed_out_text | test("Signed out"))'
check 'acme never saw the other tenant' s '.page_text_a |
    (contains("zz-other") or contains("777") or contains("shop")) | not'
check 'the other tenant sees its own row only' s '.listed_b == ["zz-other"]
    and (.page_text_b | contains("a1") or contains("Ostrava") or
    contains("website") | not)'
check 'the driver finished' s '.steps == ["done"]'

# Through the API: a1 is the source's now, a3 keeps its edit, the edit
# of a1 was snapshotted before it was replaced.
expect 'GET the target rows' 200 GET /targets/1/properties \
    -H "X-API-Key: $KEY_A"
check 'a1 holds the source'"'"'s price, unflagged' jq_q '.[] |
    select(.external_id == "a1") | .data.price == 520000 and
    .has_manual_changes == false'
check 'a3 keeps its edit, unflagged' jq_q '.[] |
    select(.external_id == "a3") | .data.price == 310000 and
    .has_manual_changes == false'
expect 'GET its snapshots' 200 GET '/snapshots?target=1&external_id=a1' \
    -H "X-API-Key: $KEY_A"
cp "$SCRATCH/body" snaps.json
SID=$(jq '[.[] | select(.hash != null)] | last | .id' snaps.json)
expect 'GET the last snapshot of a1' 200 GET "/snapshots/$SID" \
    -H "X-API-Key: $KEY_A"
check 'it is the edit, 499000, taken before the run that replaced it' sh -c "
    jq -e '.data.price == 499000' '$SCRATCH/body' >/dev/null &&
    test \"\$(jq -r .taken_at '$SCRATCH/body')\" \\< \
    \"\$(sm-sync -T acme --history | tail -1 | jq -r .finished_at)\" -o \
    \"\$(jq -r .taken_at '$SCRATCH/body')\" = \
    \"\$(sm-sync -T acme --history | tail -1 | jq -r .finished_at)\""
check 'the desk'"'"'s decisions are runs of the log' test \
    "$(sm-sync -T acme --history | jq -s 'map(.stats.accepted) | add')" = 1
check 'the key never reached the server log' sh -c \
    "! grep -qF '$KEY_A' '$SCRATCH/serve.log'"
for f in 1-wrong-key 2-flagged 3-confirm 4-applied 5-phone 6-other-tenant; do
	check "screenshot $f.png" test -s "$ART/$f.png"
done
done_testing
