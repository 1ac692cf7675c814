#!/bin/sh -e
# SM_NOW (SPEC §4): a value that does not parse is a configuration error
# (exit 78) in every command, named with its value, and nothing is done;
# an empty value is the same as an unset one.
cd "$(dirname "$0")"
. ./lib.sh
plan 29

SM_TENANT=acme
export SM_TENANT
GOOD=2026-11-29T05:00:00Z
sm-tenant init >/dev/null
SM_NOW=$GOOD sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add feed --type json >/dev/null
sm-tenant target add web --type website >/dev/null
printf '{"id":"p1","v":1}\n' >one.ndjson
SM_NOW=$GOOD sm-import -q -s feed one.ndjson >/dev/null
sqlite3 data/acme.db .dump >before.sql

# The message names the variable, the value and the form expected.
said() {
	printf "%s: SM_NOW: '%s' is not an ISO 8601 UTC time (like %s)\n" \
	    "$1" "$2" "$GOOD" >want.err
	cmp -s want.err err
}

bad=2026-11-29T05:00:00
check_exit 'sm-tenant: no Z' 78 env SM_NOW=$bad sm-tenant list
check 'sm-tenant: the message names SM_NOW and the value' said sm-tenant $bad
check_exit 'sm-tenant create: no Z' 78 env SM_NOW=$bad \
    sm-tenant create Other
check 'sm-tenant create: no tenant made' test ! -e data/other.db
check_exit 'sm-import: no Z' 78 env SM_NOW=$bad sm-import -s feed one.ndjson
check 'sm-import: the message' said sm-import $bad
check_exit 'sm-sync: no Z' 78 env SM_NOW=$bad sm-sync feed web
check 'sm-sync: the message' said sm-sync $bad
check_exit 'sm-diff: no Z' 78 env SM_NOW=$bad sm-diff feed web
check 'sm-diff: the message' said sm-diff $bad
check_exit 'sm-diff --since an age: no Z' 78 env SM_NOW=$bad \
    sm-diff -s feed --since 1d
check_exit 'sm-snapshot: no Z' 78 env SM_NOW=$bad sm-snapshot take -s feed
check 'sm-snapshot: the message' said sm-snapshot $bad
check_exit 'sm-cleanup: no Z' 78 env SM_NOW=$bad sm-cleanup --days 0 --keep 0
check 'sm-cleanup: the message' said sm-cleanup $bad
check_exit 'sm-serve: refuses to start' 78 env SM_NOW=$bad \
    timeout 20 sm-serve -q --listen 127.0.0.1:0
check 'sm-serve: the message' said sm-serve $bad
sqlite3 data/acme.db .dump >after.sql
check_same 'nothing was written' before.sql after.sql

for v in garbage 2026-11-29 2026-11-29T05:00Z 2026-13-01T00:00:00Z \
    2026-02-30T00:00:00Z 2026-11-29T05:00:00+01:00 ' 2026-11-29T05:00:00Z'; do
	check_exit "sm-sync: SM_NOW='$v'" 78 env SM_NOW="$v" sm-sync feed web
done
check 'the value is quoted as given' \
    grep_q "SM_NOW: ' 2026-11-29T05:00:00Z' is not" err

check_exit 'a fraction of a second is fine' 0 \
    env SM_NOW=2026-11-29T05:00:00.250Z sm-sync -q feed web
sm-sync --history >history
check 'and is the time of the run' \
    grep_q '"finished_at":"2026-11-29T05:00:00.250Z"' history
check_exit 'empty is unset: the real clock' 0 env SM_NOW= sm-sync -q feed web

done_testing
