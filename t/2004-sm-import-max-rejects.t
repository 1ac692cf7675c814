#!/bin/sh -e
# sm-import --max-rejects (SPEC §5.2): a few bad records need not stop the
# daily import && sync.  Up to N (or P% of the records read) rejects are
# reported as always and the exit status is 0; beyond, 65 as before.
cd "$(dirname "$0")"
. ./lib.sh
plan 26

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant -q create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add website --type website >/dev/null
# feed N BAD: N records of which BAD are broken, on lines 1..BAD.
feed() {
	i=0
	while [ "$i" -lt "$2" ]; do i=$((i + 1)); echo "{\"id\":\"bad$i\",\"price\":tru}"; done
	while [ "$i" -lt "$1" ]; do i=$((i + 1)); echo "{\"id\":\"ok$i\",\"price\":$i}"; done
}
feed 100 2 >day1.ndjson

check_exit 'by default one reject is too many: 65' 65 sm-import -n -s portal day1.ndjson
check_exit '--max-rejects 2: exit 0' 0 sm-import -s portal --max-rejects 2 --rejects rej day1.ndjson
check 'the good records imported' test "$(grep -c '"op":"create"' out)" = 98
check 'both rejects reported as events' test "$(grep -c '"op":"reject"' out)" = 2
check 'and on stderr with their lines' test "$(grep -c '^sm-import: day1.ndjson:[12]: invalid JSON' err)" = 2
check 'and in --rejects' test "$(wc -l <rej)" = 2
check 'stderr says why the exit status is 0' grep_q '^sm-import: 2 rejected within --max-rejects 2: exit 0$' err
sm-import --history -s portal | tail -n 1 >hist
check 'the run is still logged partial' grep_q '"status":"partial"' hist

check_exit '--max-rejects 1 with 2 rejects: 65' 65 sm-import -n -s portal --max-rejects 1 day1.ndjson
check 'no tolerance message then' test "$(grep -c 'within --max-rejects' err || true)" = 0
check_exit '--max-rejects 2%: 2 of 100 pass' 0 sm-import -n -s portal --max-rejects 2% day1.ndjson
check_exit '--max-rejects 1.5%: 2 of 100 do not' 65 sm-import -n -s portal --max-rejects 1.5% day1.ndjson
check_exit '--max-rejects 0: as without it' 65 sm-import -n -s portal --max-rejects 0 day1.ndjson
check_exit '--stats with tolerated rejects: exit 0' 0 sm-import -n -s portal --max-rejects 5 --stats day1.ndjson
check 'the result says partial' grep_q '^{"status":"partial",' out
check_exit '--strict still stops at the first' 65 sm-import -n -s portal --strict --max-rejects 5 day1.ndjson

# The configuration, and the option over it.
printf 'import:\n  max_rejects: 2%%\n' >cfg.yaml
check_exit 'import.max_rejects in the config' 0 sm-import -n -c cfg.yaml -s portal day1.ndjson
check 'the message names the setting' grep_q 'within --max-rejects (import.max_rejects): exit 0' err
check_exit 'the option wins over the config' 65 sm-import -n -c cfg.yaml -s portal --max-rejects 1 day1.ndjson
check_exit 'SM_IMPORT_MAX_REJECTS' 0 env SM_IMPORT_MAX_REJECTS=3 sm-import -n -s portal day1.ndjson

# Bad values: usage (64) and configuration (78) errors that name them.
check_exit '--max-rejects x: 64' 64 sm-import -n -s portal --max-rejects x day1.ndjson
check 'names the value' grep_q "invalid --max-rejects value 'x'" err
check_exit '--max-rejects 101%: 64' 64 sm-import -n -s portal --max-rejects 101% day1.ndjson
printf 'import:\n  max_rejects: lots\n' >bad.yaml
check_exit 'a bad import.max_rejects: 78' 78 sm-import -n -c bad.yaml -s portal day1.ndjson

# The daily job of sm-sync(1) goes on to the sync.
feed 200 1 >day2.ndjson
check_exit 'import && sync reaches the sync' 0 sh -c \
    'sm-import -q -s portal --max-rejects 1% day2.ndjson >/dev/null && sm-sync -q portal website --stats'
check 'the sync ran' grep_q '"status":"success"' out

done_testing
