#!/bin/sh -e
# sm-serve itself as an HTTP target: tenant acme's target of type api
# pushes into tenant partner's source through POST /sources/{id}/import,
# one NDJSON record a request, partner's key in the environment.  The
# source then holds exactly the target's rows; an update flows; a wrong
# key fails each record with the 401, never blocking the rest; the key
# appears in nothing acme's commands print nor in acme's tenant file.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 12
serve_start

SM_PUSH_BACKOFF_MS=5
export SM_PUSH_BACKOFF_MS
PARTNER_KEY=$(sm-tenant create Partner --slug partner 2>/dev/null |
    jq -r .api_key)
export PARTNER_KEY
sm-tenant -T partner source add from-acme --type api >/dev/null
sm-tenant create Acme --slug acme >/dev/null 2>&1
SM_TENANT=acme
export SM_TENANT
sm-tenant source add portal --type json >/dev/null
# The import route takes any record for create and update alike; sm-serve
# has no route that reads or deletes one record of a source: no compare.
sm-tenant target add partner --type api --config '{
    "url":"'"$URL"'/sources/1","compare":false,
    "headers":{"X-API-Key":"${PARTNER_KEY}"},
    "create":{"method":"POST","path":"/import",
        "headers":{"Content-Type":"application/x-ndjson"}},
    "update":{"method":"POST","path":"/import",
        "headers":{"Content-Type":"application/x-ndjson"}}}' >/dev/null

rec() { printf '{"id":"%s","city":"%s","price":%s}\n' "$1" "$2" "$3"; }
{ rec A1 Lyon 100; rec A2 Nice 200; rec A3 Pau 300; } >day1.ndjson
sm-import -q -s portal day1.ndjson >/dev/null
sm-sync -q portal partner >/dev/null
check_exit 'push into the other tenant through sm-serve: 0' 0 \
    sm-push partner --stats
check 'three created' jq_e '.stats.created == 3' out
rows() { sm-snapshot cat "$@" | jq -cS '{external_id, hash, data}' | sort; }
rows -t partner >acme.json
rows -T partner -s from-acme >partner.json
check_same "partner's source holds acme's target rows" acme.json partner.json

{ rec A1 Lyon 110; rec A2 Nice 200; rec A3 Pau 300; } >day2.ndjson
sm-import -q -s portal day2.ndjson >/dev/null
sm-sync -q portal partner >/dev/null
check_exit 'an update: 0' 0 sm-push partner --stats
check 'one updated' jq_e '.stats.updated == 1' out
rows -t partner >acme.json
rows -T partner -s from-acme >partner.json
check_same 'the update arrived' acme.json partner.json
check 'as an update of the partner: a snapshot of the old version' \
    test "$(sm-snapshot list -T partner -s from-acme --id A1 | wc -l)" = 1

{ rec A1 Lyon 120; rec A2 Nice 220; rec A3 Pau 300; } >day3.ndjson
sm-import -q -s portal day3.ndjson >/dev/null
sm-sync -q portal partner >/dev/null
check_exit 'a wrong key: each record fails, 1' 1 \
    env PARTNER_KEY=not-the-key sm-push partner
check 'with the 401 as reason' grep_q '"op":"fail".*HTTP 401' out
check_exit 'the right key after --retry: 0' 0 sh -c \
    'sm-push -q --retry partner && sm-push partner'

sm-push --history partner >hist.out
sqlite3 "$SM_DATA_DIR/acme.db" .dump >dump.sql
check "partner's key is in no output of acme's nor its tenant file" \
    sh -c "! grep -q '$PARTNER_KEY' all.out hist.out dump.sql"
check 'and it was sent: the partner has the last version' \
    test "$(sm-snapshot cat -T partner -s from-acme | jq -s 'map(.data.price) | sort | join(",")' -r)" = 120,220,300
done_testing
