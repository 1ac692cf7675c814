#!/bin/sh -e
# sm-tenant: usage, help, config errors, schema guard, check findings.
cd "$(dirname "$0")"
. ./lib.sh
plan 35

# why WANT: stderr says "sm-tenant: WANT" first, then the usage.
why() {
	test "$(sed -n 1p err)" = "sm-tenant: $1" &&
	    sed -n 2p err | grep -q '^usage: sm-tenant'
}
check_exit 'no verb is usage' 64 sm-tenant
check 'usage on stderr, after why' why 'missing verb'
check_exit 'unknown option' 64 sm-tenant --bogus list
check_exit 'unknown verb' 64 sm-tenant frobnicate
check 'says which' why "unknown verb 'frobnicate'"
check_exit 'create without a name' 64 sm-tenant create
check 'says what is missing' why 'create: missing operand: NAME'
check_exit 'delete without a slug' 64 sm-tenant delete --yes
check 'says what is missing' why 'delete: missing operand: SLUG'
check_exit 'init with an operand' 64 sm-tenant init x
check 'says which is extra' why "init: extra operand 'x'"
check_exit 'source without a verb' 64 sm-tenant source
check 'says so' why 'source: missing verb'
check_exit 'target with an unknown verb' 64 sm-tenant target drop web
check 'says which' why "target: unknown verb 'drop'"
check_exit 'source add without a name' 64 sm-tenant source add --type json
check 'says what is missing' why 'source add: missing operand: NAME'
check_exit 'target show without a target' 64 sm-tenant target show
check 'says what is missing' why 'target show: missing operand: TARGET'
check_exit 'source list with an operand' 64 sm-tenant source list x
check 'says which is extra' why "source list: extra operand 'x'"
check_exit '--help' 0 sm-tenant --help
check 'help on stdout' grep_q '^usage: sm-tenant' out
check_exit '--version' 0 sm-tenant -V
check 'version' grep_q '^sm-tenant [0-9]' out

printf 'retention_days: 30\nbogus_key: 1\n' >bad.yaml
check_exit 'unknown config key' 78 sm-tenant -c bad.yaml list
check 'names file, line and key' grep_q "bad.yaml:2: unknown key 'bogus_key'" err
check_exit 'missing -c file' 78 sm-tenant -c nosuch.yaml list

sm-tenant -q create Old --slug old >/dev/null 2>quiet.err
check 'quiet create says nothing on stderr' test ! -s quiet.err
sqlite3 data/old.db 'PRAGMA user_version = 999'
check_exit 'newer schema refused' 65 sm-tenant show old
check 'says newer' grep_q 'newer than this sm' err

sm-tenant -q create Corrupt --slug broken >/dev/null
sm-tenant -T broken -q source add s --type json >/dev/null
sqlite3 data/broken.db "INSERT INTO changes (run_id, source_id, property_id, external_id, op, hash, at) VALUES (NULL, 1, 1, 'a', 'create', 'x', 0);
INSERT INTO source_properties (source_id, external_id, data, hash, seq, created_at, updated_at)
VALUES (1, 'a', '{\"id\":\"a\",\"price\":1}', '00000000000000000000000000000000', 1, 0, 0)"
check_exit 'check finds a wrong hash' 65 sm-tenant check broken
check 'finding is NDJSON naming the property' grep_q '"check":"source_property","where":"s","external_id":"a","id":1,"message":"stored hash does not match' out
check_exit 'delete of a missing tenant' 66 sm-tenant delete nosuch --yes
check_exit 'path tricks in delete refused' 64 sm-tenant delete ../x --yes
done_testing
