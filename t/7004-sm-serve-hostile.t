#!/bin/sh -e
# sm-serve against a hostile tenant: a PATCH that would rename its row, a
# name with a NUL, and what a crashed server leaves behind.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 22

printf 'admin-key-for-tests\n' >admin.key
chmod 600 admin.key
cat >config.yaml <<EOF2
busy_timeout_ms: 300
serve:
  admin_key_file: $SCRATCH/admin.key
EOF2
mkdir tmp
TMPDIR=$SCRATCH/tmp
export TMPDIR
J='Content-Type: application/json'
ADMIN='X-Admin-Key: admin-key-for-tests'
decoys() { ls -a data | grep -c '^\.sm-serve\.' || :; }

serve_start -c config.yaml
expect 'a name with a NUL' 422 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"a\u0000b","slug":"ab"}'
check 'says why' jq_q '.error == "name must not hold a NUL character (\\u0000)"'
check 'and makes nothing' test ! -e data/ab.db
expect 'a name with a control character' 422 POST /tenants -H "$ADMIN" \
    -H "$J" -d '{"name":"a\u001b[2Jb","slug":"ab"}'
check 'says why' jq_q '.error | test("control character \\(U\\+001B\\)")'
expect 'POST /tenants' 201 POST /tenants -H "$ADMIN" -H "$J" \
    -d '{"name":"Acme","slug":"acme"}'
KA="X-API-Key: $(jq -r .api_key body)"
sm-tenant -T acme source add feed --type json >/dev/null
sm-tenant -T acme target add web --type website >/dev/null
printf '{"id":3,"v":1}\n{"id":4,"v":1}\n' | sm-import -q -T acme -s feed >/dev/null
sm-sync -q -T acme feed web >/dev/null
pid=$(sqlite3 data/acme.db "select id from target_properties where external_id = '3'")

# The key names the row: a patch may repeat it, never change or remove it.
expect 'PATCH that changes the id' 422 PATCH /targets/1/properties/$pid \
    -H "$KA" -H "$J" -d '{"data":{"id":"HIJACK"}}'
check 'says the key cannot change' jq_q '.error |
    test("changes the key of property .3. \\(its .id.\\) to .HIJACK.")'
expect 'PATCH that removes the id' 422 PATCH /targets/1/properties/$pid \
    -H "$KA" -H "$J" -d '{"data":{"id":null}}'
check 'says the key cannot go' jq_q '.error | test("removes the key")'
expect 'PATCH that renames to another row' 422 PATCH \
    /targets/1/properties/$pid -H "$KA" -H "$J" -d '{"data":{"id":4}}'
check 'the rows are as they were' test "$(sqlite3 data/acme.db \
    "select group_concat(external_id || '=' || data, ' ') from target_properties")" = \
    '3={"id":3,"v":1} 4={"id":4,"v":1}'
expect 'PATCH that repeats the id' 200 PATCH /targets/1/properties/$pid \
    -H "$KA" -H "$J" -d '{"data":{"id":3,"v":2}}'
check 'is a patch like any other' jq_q '.data == {"id":3,"v":2} and
    .external_id == "3" and .has_manual_changes'

# A crash (kill -9) in the middle of an import leaves no spool behind.
(printf '{"id":5}\n'; sleep 3; printf '{"id":6}\n') |
    curl -s -o /dev/null -X POST -H "$KA" -H 'Content-Type: application/x-ndjson' \
    -T - "$URL/sources/1/import" &
curler=$!
i=0
while [ $i -lt 40 ] && [ -z "$(ls /proc/$SERVE_PID/fd 2>/dev/null |
    while read fd; do readlink /proc/$SERVE_PID/fd/$fd; done |
    grep "$SCRATCH/tmp/sm-serve")" ]; do sleep 0.05; i=$((i + 1)); done
check 'the import is under way, on a spool' test $i -lt 40
check 'that has no name in TMPDIR' test -z "$(ls tmp)"
kill -9 $SERVE_PID
wait $SERVE_PID 2>/dev/null || :
SERVE_PID=
wait $curler || :
check 'nothing left in TMPDIR after the crash' test -z "$(ls tmp)"
check 'the crashed server'"'"'s decoy is left' test "$(decoys)" = 1

# The next server removes it (once it is older than a minute: a server
# starting has that long to lock its own).
touch -d '2 minutes ago' data/.sm-serve.*
serve_start -c config.yaml
check 'the next server removed it, and made its own' test "$(decoys)" = 1
touch -d '2 minutes ago' data/.sm-serve.*
first=$SERVE_PID
firsturl=$URL
serve_start -c config.yaml
check 'a running server'"'"'s decoy is kept' test "$(decoys)" = 2
check 'and it still answers a bad key with 401' test "$(curl -s -o /dev/null \
    -w '%{http_code}' -H 'X-API-Key: sm_nosuch_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
    "$firsturl/sources")" = 401
serve_stop
SERVE_PID=$first
serve_stop
check 'stopped servers leave nothing' test "$(decoys)" = 0
done_testing
