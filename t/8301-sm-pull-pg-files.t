#!/bin/sh -e
# sm-pull's hand-edit round trip against a real PostgreSQL (a private
# cluster, t/pg.sh; a psql UPDATE and DELETE, a role that logs in with a
# password that must never show) and against a files target (a .json
# file edited, removed, one that does not parse, one sm does not know).
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/pg.sh"
plan 35

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
SM_PG_PASS=pull-secret-8301
export SM_TENANT SM_PUSH_BACKOFF_MS SM_PG_PASS
pg_start
pg_password smpull "$SM_PG_PASS"
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add pg --type database --config "{\"url\":\"host=$PG_DIR user=smpull dbname=postgres\",\"table\":\"listings\",\"password\":\"\${SM_PG_PASS}\"}" >/dev/null
sm-tenant target add web --type website \
    --config "{\"path\":\"$SCRATCH/site\",\"format\":\"json\"}" >/dev/null

feed() {
	printf '{"id":"1","price":%s}\n{"id":"2","price":%s}\n{"id":"3","price":%s}\n' "$@" >a.json
	sm-import -q --complete -s portal a.json >/dev/null
	sm-sync -q portal pg >/dev/null || :
	sm-sync -q portal web >/dev/null || :
}
# Every output of every command, for the secret's absence.
log() { cat out err >>all.out; }
pgprice() { pg_psql -c "SELECT data->>'price' FROM listings WHERE external_id = '$1'"; }
fprice() { jq -r .price "$SCRATCH/site/$1.json"; }

feed 100 200 300
check_exit 'pushed to PostgreSQL' 0 sm-push pg; log
check_exit 'pushed to the files' 0 sm-push web; log

# PostgreSQL: a psql UPDATE with a change of that record pending.
feed 110 200 300
pg_psql -c "UPDATE listings SET data = jsonb_set(data, '{price}', '999') WHERE external_id = '1'"
check_exit 'pg: a pull after a psql UPDATE' 0 sm-pull pg; log
check 'pg: its update event' grep_q '"op":"update","target":"pg","external_id":"1"' out
check_exit 'pg: the next sync' 0 sm-sync portal pg; log
check 'pg: flags it' grep_q '"op":"skip","target":"pg","external_id":"1"' out
check_exit 'pg: a push' 0 sm-push pg; log
check 'pg: holds the change' grep_q '"op":"held","target":"pg","external_id":"1"' out
check 'pg: the edit is kept' test "$(pgprice 1)" = 999
check_exit 'pg: --overwrite-manual' 0 sm-sync --overwrite-manual portal pg; log
check_exit 'pg: a push delivers over the edit' 0 sm-push pg; log
check 'pg: the source price is back' test "$(pgprice 1)" = 110

# PostgreSQL: a psql DELETE, and a row sm does not know.
pg_psql -c "DELETE FROM listings WHERE external_id = '2'"
pg_psql -c "INSERT INTO listings (external_id, data) VALUES ('x9', '{\"id\":\"x9\"}')"
check_exit 'pg: a pull after a psql DELETE' 0 sm-pull pg; log
check 'pg: a delete event' grep_q '"op":"delete","target":"pg","external_id":"2"' out
check 'pg: a foreign event' grep_q '"op":"foreign","target":"pg","external_id":"x9"' out
check_exit 'pg: the next sync flags it' 0 sm-sync portal pg; log
check 'pg: skip' grep_q '"op":"skip","target":"pg","external_id":"2"' out

# Files: a .json file edited by hand.
feed 110 200 300
jq -c '.price = 555' "$SCRATCH/site/1.json" >e.json && mv e.json "$SCRATCH/site/1.json"
check_exit 'files: a pull after an edit' 0 sm-pull web; log
check 'files: its update event' grep_q '"op":"update","target":"web","external_id":"1"' out
check_exit 'files: the next sync flags it' 0 sm-sync portal web; log
check_exit 'files: a push' 0 sm-push web; log
check 'files: holds the change' grep_q '"op":"held","target":"web","external_id":"1"' out
check 'files: the edit is kept' test "$(fprice 1)" = 555
check_exit 'files: --overwrite-manual' 0 sm-sync --overwrite-manual portal web; log
check_exit 'files: a push' 0 sm-push web; log
check 'files: delivered over the edit' test "$(fprice 1)" = 110

# Files: a file removed, one unknown, one that does not parse.
rm "$SCRATCH/site/3.json"
echo '{"id":"new","price":1}' >"$SCRATCH/site/new.json"
check_exit 'files: a pull after rm' 0 sm-pull web; log
check 'files: a delete event' grep_q '"op":"delete","target":"web","external_id":"3"' out
check 'files: a foreign event' grep_q '"op":"foreign","target":"web","external_id":"new"' out
echo '{"id":' >"$SCRATCH/site/2.json"
check_exit 'files: a file that does not parse: 65' 65 sm-pull web; log
check 'files: a reject event' grep_q '"op":"reject","target":"web","external_id":"2.json"' out

# More rows than one FETCH of the list's cursor (1,000): every one read.
sm-tenant target add big --type database --config "{\"url\":\"$PG_CONNINFO\",\"table\":\"big\"}" >/dev/null
awk 'BEGIN { for (i = 1; i <= 2345; i++) printf "{\"id\":\"b%d\",\"price\":%d}\n", i, i }' >big.json
sm-import -q -s portal big.json >/dev/null
sm-sync -q portal big >/dev/null || :
sm-push -q big >/dev/null
pg_psql -c "UPDATE big SET data = jsonb_set(data, '{price}', '7') WHERE external_id IN ('b1', 'b1000', 'b1001', 'b2345')"
check_exit 'a pull of 2,348 rows (the 3 above and 2,345)' 0 sm-pull big --stats; log
check 'all read, the 4 hand edits among them, across FETCHes' sh -c \
    'jq -e ".stats | .records == 2348 and .updated == 4" out >/dev/null'

check 'the password never in any output' sh -c "! grep -q '$SM_PG_PASS' all.out"
check 'nor in the tenant file' sh -c "! grep -q '$SM_PG_PASS' '$SM_DATA_DIR/acme.db'"
done_testing
