#!/bin/sh
# make demo: the whole sm workflow on sample listings, in throw-away
# directories: the daily job (import, pull, sync, push) keeping a real
# PostgreSQL table and a real Hugo site equal to a portal's listings, a
# hand edit on either kept and flagged.  Run from the top of the
# repository after make; needs PostgreSQL and Hugo (make deps).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/bin:$PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/sm-demo.XXXXXX")
SM_DATA_DIR=$work/data
SM_TENANT=demo-realty
export PATH SM_DATA_DIR SM_TENANT
ex=$top/examples

# A private PostgreSQL cluster, as the tests start one (t/pg.sh): its own
# temporary directory, a Unix socket there only, stopped and removed on
# exit with the rest of the demo ($SCRATCH).
SCRATCH=$work
. "$top/t/pg.sh"
command -v hugo >/dev/null 2>&1 || {
	echo "demo: hugo is missing: install the Debian package hugo" \
	    "(make deps)" >&2
	exit 1
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" >&2; "$@"; }
short() { jq -c "$1 | with_entries(select(.value != null))"; }
# psql as the demo's database user, a table with its headers.
sql() {
	printf '$ psql -c "%s"\n' "$1" >&2
	psql -X -q -h "$PG_DIR" -U postgres -d postgres -c "$1"
}
site=$work/site
# hugo leaves the pages of removed content: a fresh public/ each build.
build() {
	printf '$ hugo\n' >&2
	rm -rf "$site/public"
	(cd "$site" && hugo --quiet --cacheDir "$work/hugo-cache")
}
page() {
	printf '$ grep price public/listings/%s/index.html\n' "$1" >&2
	grep 'class="price"' "$site/public/listings/$1/index.html"
}

step "A private PostgreSQL and a Hugo site (throw-away, in $work)"
pg_start
cp -R "$ex/site" "$site"
echo "PostgreSQL at $PG_URL; the site in $site"

step "A tenant, a scraped source, two targets that are real systems"
show sm-tenant create "Demo Realty" | short '{id, name, api_key: (.api_key[0:20] + "…")}'
show sm-tenant source add portal --type scraped | short '{id, name, type}'
show sm-tenant target add website --type website \
    --config "{\"path\":\"$site/content/listings\",\"format\":\"md\"}" |
    short '{id, name, type, config}'
show sm-tenant target add db --type database \
    --config "{\"url\":\"$PG_URL\",\"table\":\"listings\"}" |
    short '{id, name, type, config}'

step "Day 1: import the portal's listings (a JSON array)"
show sm-import -s portal "$ex/listings-day1.json" | short '{op, external_id, hash}'

step "Sync the portal into both targets: each change is queued for delivery"
show sm-sync portal website | short '{op, external_id, price: .data.price, title: .data.title}'
show sm-sync portal db | short '{op, external_id}'
show sm-push --status | short .

step "Push: deliver the changes to the real systems"
show sm-push website | short '{op, action, external_id}'
show sm-push db | short '{op, action, external_id}'

step "The database table and the website, as sm left them"
sql "SELECT external_id, data->>'price' AS price, data->>'title' AS title FROM listings ORDER BY external_id LIMIT 3"
build
page MAD-002

step "Someone edits by hand: a price in the database, a page of the website"
sql "UPDATE listings SET data = jsonb_set(data, '{price}', '650000') WHERE external_id = 'MAD-001'"
printf "\$ sed -i 's/\"price\":540000/\"price\":529000/' content/listings/MAD-002.md\n" >&2
sed 's/"price":540000/"price":529000/' "$site/content/listings/MAD-002.md" \
    >"$work/MAD-002.md"
mv "$work/MAD-002.md" "$site/content/listings/MAD-002.md"

# The daily job reads both targets back before it syncs (SPEC §5.9), so
# a hand edit is a manual change that sync itself flags.
step "Pull: read both targets back; a hand edit is a manual change"
show sm-pull website | short .
show sm-pull db | short .

step "Day 2: the portal changed; --complete drops listings that are gone"
show sm-import -s portal --complete "$ex/listings-day2.ndjson" | short '{op, external_id}'

step "What would the next sync do?  (sm-diff exits 1 when something differs)"
show sm-diff portal website | short '{external_id, op, warning}' || true

step "The daily job's sync and push: the hand edits are kept and flagged"
show sm-sync portal website | short '{op, external_id, warning}'
show sm-sync portal db | short '{op, external_id, warning}'
show sm-push website | short '{op, action, external_id, warning}'
show sm-push db | short '{op, action, external_id, warning}'
show sm-push --status | short .

step "The hand edits are still there; the rest went through"
sql "SELECT external_id, data->>'price' AS price FROM listings ORDER BY external_id"
build
page MAD-002
page SEV-001
printf '$ ls public/listings\n' >&2
ls "$site/public/listings"

step "The flagged rows: someone decides (sm-sync --accept-manual or --overwrite-manual)"
show sm-snapshot cat -t website --manual | short '{external_id, has_manual_changes, warning, price: .data.price}'
show sm-snapshot cat -t db --manual | short '{external_id, has_manual_changes, warning, price: .data.price}'

step "History: every overwritten version is kept (30 days by default)"
show sm-snapshot list -s portal | short '{id, external_id, reason, taken_at}'
show sm-snapshot list -t website | short '{id, external_id, reason, taken_at}'

step "Runs, and the tenant's own integrity check"
show sm-import --history | short '{run, kind, source, status, stats}'
show sm-sync --history | short '{run, kind, source, target, status, stats}'
show sm-push --history | short '{run, kind, target, status, stats}'
show sm-tenant check && echo "tenant is clean"
