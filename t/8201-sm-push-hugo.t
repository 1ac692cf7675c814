#!/bin/sh -e
# sm-push into a real Hugo site (Debian's hugo), through the real
# commands: a website target writes content/listings/ID.md, hugo builds
# the site and the listing's price is in its page; an update, a delete;
# a hand edit of a page is held, flagged and left as it is.
cd "$(dirname "$0")"
. ./lib.sh
plan 32

if ! command -v hugo >/dev/null 2>&1; then
	echo "Bail out! hugo is missing: make deps installs it (Debian hugo)"
	exit 1
fi
SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
export SM_TENANT SM_PUSH_BACKOFF_MS
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
cp -R "$TESTDIR/data/hugo" site
listings=$SCRATCH/site/content/listings
pub=$SCRATCH/site/public/listings

# Offline, the cache in the scratch directory; a fresh public/ each time:
# hugo leaves the pages of removed content.
build() {
	rm -rf site/public
	(cd site && hugo --quiet --cacheDir "$SCRATCH/cache") \
	    >"$SCRATCH/build.out" 2>&1 ||
	    { sed 's/^/# /' "$SCRATCH/build.out"; return 1; }
}
price() { grep -q "<p class=\"price\">$2</p>" "$pub/$1/index.html"; }
import() { sm-import -q -s portal "$@" >/dev/null; }
sync() { sm-sync -q portal web >/dev/null; }
# sm's target rows and the front matter of the site's pages, as JSON.
same() {
	sm-snapshot cat -t web | jq -cS .data | sort >sm.json
	for f in "$listings"/*.md; do
		[ "${f##*/}" = _index.md ] || head -n 1 "$f"
	done | jq -cS . | sort >site.json
	cmp -s sm.json site.json ||
	    { diff -u sm.json site.json | sed 's/^/# /'; return 1; }
}

check_exit 'a website target with a path' 0 sm-tenant target add web \
    --type website --config "{\"path\":\"$listings\",\"format\":\"md\"}"
cat >a.json <<'EOF2'
[{"id": "A-1", "title": "Flat on Main Street", "price": 250000,
  "description": "Bright *flat*, third floor."},
 {"id": "B-2", "title": "House by the river", "price": 410000},
 {"id": "../escape", "title": "Cabin", "price": 99000}]
EOF2
import a.json
sync
check_exit 'pushed' 0 sm-push web
check 'three created' eval '[ $(grep -c "\"op\":\"deliver\",\"action\":\"create\"" out) = 3 ]'
(cd "$listings" && ls) >ls.out
printf '%s\n' A-1.md B-2.md _index.md '~2E~2E~2Fescape.md' >ls.want
check_same "one page per listing beside Hugo's _index.md" ls.want ls.out
check 'an id with ../ stays in the directory' test ! -e "$SCRATCH/site/content/escape.md"
check "the pages' front matter is the target rows" same
check 'hugo builds the site' build
check "the price is in the listing's page" price A-1 250000
check 'and in the others' eval 'price B-2 410000 && price "~2E~2E~2Fescape" 99000'
check 'the description is the body' grep -q '<p>Bright <em>flat</em>, third floor.</p>' \
    "$pub/A-1/index.html"
check 'the list links all three' eval \
    '[ $(grep -c "<li><a href=\"/listings/" "$pub/index.html") = 3 ]'

# An update and a delete.
cat >a.json <<'EOF2'
[{"id": "A-1", "title": "Flat on Main Street", "price": 240000,
  "description": "Bright *flat*, third floor."},
 {"id": "../escape", "title": "Cabin", "price": 99000}]
EOF2
import --complete a.json
sync
check_exit 'an update and a delete pushed' 0 sm-push web
check 'both delivered' eval 'grep -q "\"action\":\"update\",\"target\":\"web\",\"external_id\":\"A-1\"" out &&
    grep -q "\"action\":\"delete\",\"target\":\"web\",\"external_id\":\"B-2\"" out'
check 'the deleted page is gone from content' test ! -e "$listings/B-2.md"
check 'equal' same
build
check 'rebuilt: the new price' price A-1 240000
check 'the old one is gone' eval '! grep -q 250000 "$pub/A-1/index.html"'
check 'the deleted listing has no page' test ! -e "$pub/B-2/index.html"
check 'nor a line in the list' eval '! grep -q "House by the river" "$pub/index.html"'

# A hand edit of a page: the next push compares before it writes.
sed 's/"price":240000/"price":235000/' "$listings/A-1.md" >edited.md
cp edited.md "$listings/A-1.md"
echo '{"id": "A-1", "title": "Flat on Main Street", "price": 230000, "description": "Bright *flat*, third floor."}' | import
echo '{"id": "../escape", "title": "Cabin", "price": 98000}' | import
sync
check_exit 'a push over a hand edit: exit 0' 0 sm-push web
check 'the edited page: held, with a warning' grep_q \
    '"op":"held","target":"web","external_id":"A-1",.*"warning":"' out
check 'the other delivered' grep_q '"op":"deliver","action":"update","target":"web","external_id":"../escape"' out
check_same 'the hand edit is left as it was' edited.md "$listings/A-1.md"
check 'flagged in sm' eval \
    'sm-snapshot cat -t web --manual | jq -e "select(.external_id == \"A-1\")" >/dev/null'
check 'held in --status' eval \
    'sm-push --status web | jq -e ".held == 1 and .pending == 0" >/dev/null'
build
check 'rebuilt: the hand-edited price is the one shown' price A-1 235000
sm-sync -q --overwrite-manual portal web >/dev/null || :
check_exit '--overwrite-manual, then a push' 0 sm-push web
build
check 'rebuilt: the price of the source' price A-1 230000
check 'equal again' same

# A page removed by hand: an update is held, the page not made again.
rm "$listings/A-1.md"
echo '{"id": "A-1", "title": "Flat on Main Street", "price": 220000}' | import
sync
check_exit 'an update of a page removed by hand' 0 sm-push web
check 'held' grep_q '"op":"held","target":"web","external_id":"A-1"' out
check 'not made again' test ! -e "$listings/A-1.md"
done_testing
