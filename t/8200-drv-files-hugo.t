#!/bin/sh -e
# The files driver (lib/drv-files.c) feeding a real Hugo site: records put
# into content/listings/ as .md with JSON front matter, the site built by
# Debian's hugo, the price found in the page; an update, a delete, a hand
# edit kept.  The driver runs through t/unit-drv-files put/del.
cd "$(dirname "$0")"
. ./lib.sh
plan 18

drv=$TESTDIR/unit-drv-files
if ! command -v hugo >/dev/null 2>&1; then
	echo "not ok 1 - hugo is missing: make deps installs it (Debian hugo)"
	exit 1
fi
cp -R "$TESTDIR/data/hugo" site
listings=$SCRATCH/site/content/listings
pub=$SCRATCH/site/public/listings

# Offline: no module, no theme, the cache in the scratch directory.  A
# fresh public/ each time: hugo leaves the pages of removed content.
build() {
	rm -rf site/public
	(cd site && hugo --quiet --cacheDir "$SCRATCH/cache") \
	    >"$SCRATCH/build.out" 2>&1 ||
	    { sed 's/^/# /' "$SCRATCH/build.out"; return 1; }
}
# put ID [EXPECT] <RECORD prints the hash; del ID EXPECT.  The exit status
# is the verdict: 0 delivered, 3 conflict.
put() { "$drv" put "$listings" md "$@"; }
del() { "$drv" del "$listings" md "$@"; }
price() { grep -q "<p class=\"price\">$2</p>" "$pub/$1/index.html"; }

e3=$(printf '\303\251t\303\251.3')
cat >a1.json <<'EOF2'
{"external_id": "A-1", "title": "Flat on Main Street", "price": 250000,
 "description": "Bright *flat*, third floor."}
EOF2
cat >b2.json <<'EOF2'
{"external_id": "b/2 x", "title": "House by the river", "price": 410000}
EOF2
cat >e3.json <<'EOF2'
{"external_id": "\u00e9t\u00e9.3", "title": "Summer cottage", "price": 99000}
EOF2

check "put three records" eval 'put A-1 <a1.json >h1 &&
    put "b/2 x" <b2.json >h2 && put "$e3" <e3.json >h3'
(cd "$listings" && ls) >ls.out
cat >ls.want <<'EOF2'
A-1.md
_index.md
b~2F2~20x.md
~C3~A9t~C3~A9~2E3.md
EOF2
check_same "one file per record, ids encoded, beside Hugo's _index.md" \
    ls.want ls.out
check "hugo builds the site" build
check "the price is in the listing's page" price A-1 250000
check "the description is the page's body, as Markdown" \
    grep -q '<p>Bright <em>flat</em>, third floor.</p>' "$pub/A-1/index.html"
check "an id with a slash and a space: its page" price 'b~2F2~20x' 410000
check "a Unicode id with a dot: its page" price '~C3~A9t~C3~A9~2E3' 99000
check "the list page links every listing" sh -c '
	grep -c "<li><a href=\"/listings/" "$1" | grep -qx 3' - "$pub/index.html"

sed 's/250000/240000/' a1.json >a1b.json
check "update of the price, expect = the hash delivered" eval \
    'put A-1 "$(cat h1)" <a1b.json >h1b'
build
check "rebuilt: the new price" price A-1 240000
check "and the old one is gone" sh -c '! grep -q 250000 "$1"' - \
    "$pub/A-1/index.html"

check_exit "delete" 0 del 'b/2 x' "$(cat h2)"
build
check "rebuilt: the deleted listing's page is gone" \
    test ! -e "$pub/b~2F2~20x/index.html"
check "the list page no longer names it" sh -c '
	! grep -q "House by the river" "$1"' - "$pub/index.html"

# A hand edit on the website: the price in the front matter.
sed 's/"price":240000/"price":235000/' "$listings/A-1.md" >edited.md
cp edited.md "$listings/A-1.md"
sed 's/250000/260000/' a1.json >a1c.json
check_exit "a put over a hand edit: conflict (3)" 3 put A-1 "$(cat h1b)" \
    <a1c.json
check "its reason says so" grep -q 'changed by hand' "$SCRATCH/err"
check_same "the hand edit is left as it was" edited.md "$listings/A-1.md"
build
check "rebuilt: the hand-edited price is the one shown" price A-1 235000

done_testing
