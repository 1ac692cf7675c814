#!/bin/sh
# make demo: the whole sm workflow on sample listings, in a throw-away
# data directory.  Run from the top of the repository after make.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH=$top/bin:$PATH
SM_DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sm-demo.XXXXXX")
SM_TENANT=demo-realty
export PATH SM_DATA_DIR SM_TENANT
trap 'rm -rf "$SM_DATA_DIR"' EXIT
ex=$top/examples

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" >&2; "$@"; }
short() { jq -c "$1"; }

step "A tenant, a scraped source and the website as a target"
show sm-tenant create "Demo Realty" | short '{id, name, api_key: (.api_key[0:20] + "…")}'
show sm-tenant source add portal --type scraped | short '{id, name, type}'
show sm-tenant target add website --type website \
    --config '{"url":"https://demo-realty.example"}' | short '{id, name, type, config}'

step "Day 1: import the portal's listings (a JSON array)"
show sm-import -s portal "$ex/listings-day1.json" | short '{op, external_id, hash}'

step "Sync the portal into the website: every event carries the data to deliver"
show sm-sync portal website | short '{op, external_id, price: .data.price, title: .data.title}'

step "Someone lowers a price on the website by hand (a scrape of our own site)"
show sm-import -t website --merge "$ex/website-edit.ndjson" | short '{op, external_id}'

step "Day 2: the portal changed; --complete drops listings that are gone"
show sm-import -s portal --complete "$ex/listings-day2.ndjson" | short '{op, external_id}'

step "What would the next sync do?  (sm-diff exits 1 when something differs)"
show sm-diff portal website | short '{external_id, op, warning, changes}' || true

step "Sync again: the manual edit is kept and flagged, the rest goes through"
show sm-sync portal website | short '{op, external_id, warning}'
show sm-sync portal website --stats | short .

step "The website's flagged rows"
show sm-snapshot cat -t website --manual | short '{external_id, has_manual_changes, warning, price: .data.price}'

step "History: every overwritten version is kept (30 days by default)"
show sm-snapshot list -s portal | short '{id, external_id, reason, taken_at}'
show sm-snapshot list -t website | short '{id, external_id, reason, taken_at}'

step "Runs, and the tenant's own integrity check"
show sm-import --history | short '{run, kind, source, status, stats}'
show sm-sync --history | short '{run, kind, source, target, status, stats}'
show sm-tenant check && echo "tenant is clean"
