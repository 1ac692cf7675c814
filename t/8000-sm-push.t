#!/bin/sh -e
# sm-push against SQLite targets, through the real commands: delivery,
# coalescing, held and conflicting rows, a refused record, an unreachable
# target, the options, connections and their secrets, kill -9.
cd "$(dirname "$0")"
. ./lib.sh
plan 77

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
export SM_TENANT SM_PUSH_BACKOFF_MS
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
SITE=$SCRATCH/site.db

# What sm holds of a target and what its table holds: id, hash, data.
sm_rows() {
	sm-snapshot cat -t "$1" | jq -r '[.external_id, .hash, (.data|tojson)] | @tsv' | sort
}
db_rows() {
	sqlite3 -separator '	' "$1" "SELECT external_id, hash, data FROM $2" | sort
}
same() {
	sm_rows "$1" >sm.tsv
	db_rows "$2" "$3" >db.tsv
	cmp -s sm.tsv db.tsv || { diff -u sm.tsv db.tsv | head -20 | sed 's/^/# /'; return 1; }
}
status_is() {
	sm-push --status "$1" >st.out
	jq -e "$2" st.out >/dev/null || { sed 's/^/# /' st.out; return 1; }
}

# Connections: checked when added.
check_exit 'a connection is added' 0 sm-tenant target add db --type database \
    --config "{\"url\":\"sqlite:$SITE\",\"table\":\"listings\"}"
check_exit 'an unknown key: 78' 78 sm-tenant target add x1 --type database \
    --config '{"url":"sqlite:x.db","table":"t","tabel":"u"}'
check 'the key is named' grep_q "'tabel'" err
check_exit 'a bad url: 78' 78 sm-tenant target add x2 --type database \
    --config '{"url":"mysql://h/db","table":"t"}'
check 'the url is named' grep_q "'url'" err
check_exit 'a missing table: 78' 78 sm-tenant target add x3 --type database \
    --config '{"url":"sqlite:x.db"}'
check 'the table is named' grep_q "'table'" err
check_exit 'a password in a url: 78' 78 sm-tenant target add x4 --type database \
    --config '{"url":"postgresql://u:hunter2@db.example/site","table":"t"}'
check 'it says how' grep_q 'use ${NAME} or password_file' err
check_exit 'a literal password: 78' 78 sm-tenant target add x5 --type database \
    --config '{"url":"sqlite:x.db","table":"t","password":"hunter2"}'
check 'the literal is in no tenant row' sh -c \
    "! sm-tenant target list | grep -q hunter2"
check_exit 'a bad table name: 78' 78 sm-tenant target add x6 --type database \
    --config '{"url":"sqlite:x.db","table":"a b"}'
check_exit 'an api target with a url is accepted' 0 sm-tenant target add api \
    --type api --config '{"url":"https://api.example/listings","token":"${API_TOKEN}"}'
check_exit 'the seed website (a url, no path) stays bookkeeping' 0 \
    sm-tenant target add web --type website --config '{"url":"https://mysite.example"}'

# Create, update, delete delivered; the table equals sm's rows.
printf '{"id":"1","price":100}\n{"id":"2","price":200}\n{"id":"3","price":300}\n' >a.json
sm-import -q -s portal a.json >/dev/null
sm-sync -q portal db >/dev/null
sm-sync -q portal web >/dev/null
check 'three pending' status_is db '.pending == 3 and .held == 0 and .failed == 0 and .oldest_pending != null'
check_exit 'a bookkeeping target has no outbox' 78 sm-push --status web
check 'it says so' grep_q 'no connection' err
check_exit 'sm-push of it: 78' 78 sm-push web
check_exit '--dry-run' 0 sm-push --dry-run db
check 'it says what it would deliver' sh -c '[ $(grep -c "\"op\":\"deliver\"" out) = 3 ]'
check 'and delivers nothing' sh -c "[ ! -s '$SITE' ] || [ \$(sqlite3 '$SITE' 'SELECT count(*) FROM listings' 2>/dev/null || echo 0) = 0 ]"
check 'still pending' status_is db '.pending == 3'
check_exit '--limit 1' 0 sm-push --limit 1 db
check 'one delivered' sh -c '[ $(grep -c "\"op\":\"deliver\"" out) = 1 ]'
check 'two pending' status_is db '.pending == 2'
check_exit 'a push' 0 sm-push db
check 'the events' sh -c 'grep -q "{\"op\":\"deliver\",\"action\":\"create\",\"target\":\"db\",\"external_id\":\"3\",\"hash\":\"" out'
check 'the table equals the target' same db "$SITE" listings
printf '{"id":"1","price":110}\n{"id":"2","price":200}\n' >a.json
sm-import -q --complete -s portal a.json >/dev/null
sm-sync -q portal db >/dev/null
check_exit 'an update and a delete' 0 sm-push db
check 'both delivered' sh -c 'grep -q "\"action\":\"update\"" out && grep -q "\"action\":\"delete\"" out'
check 'the table equals the target again' same db "$SITE" listings
check 'nothing pending' status_is db '.pending == 0 and .oldest_pending == null'

# Coalescing: three updates of one listing are one put of the newest.
for p in 120 130 140; do
	echo "{\"id\":\"1\",\"price\":$p}" | sm-import -q -s portal >/dev/null
	sm-sync -q portal db >/dev/null
done
check 'one pending for three updates' status_is db '.pending == 1'
check_exit 'pushed' 0 sm-push db
check 'one put' sh -c '[ $(wc -l <out) = 1 ] && grep -q "\"action\":\"update\"" out'
check 'of the newest version' sh -c "sqlite3 '$SITE' \"SELECT data FROM listings WHERE external_id = '1'\" | grep -q 140"

# A manual change seen by sm (import -t): the change is held.
echo '{"id":"2","price":250}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
echo '{"id":"2","price":999}' | sm-import -q -t db >/dev/null
sm-sync -q portal db >/dev/null || true
check_exit 'a held change: exit 0' 0 sm-push db
check 'a held event' grep_q '"op":"held","target":"db","external_id":"2"' out
check 'with its warning' grep_q '"warning":"' out
check 'counted as held' status_is db '.held == 1 and .pending == 0'
sm-sync -q --accept-manual portal db >/dev/null

# A manual change on the target itself: compare before write.
sqlite3 "$SITE" "UPDATE listings SET data = '{\"id\":\"1\",\"price\":1}', hash = 'edited' WHERE external_id = '1'"
echo '{"id":"1","price":150}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
check_exit 'a conflict: exit 0' 0 sm-push db
check 'held, not overwritten' sh -c "grep -q '\"op\":\"held\"' out && [ \$(sqlite3 '$SITE' \"SELECT hash FROM listings WHERE external_id = '1'\") = edited ]"
check 'the row is flagged' sh -c 'sm-snapshot cat -t db --manual | grep -q "\"external_id\":\"1\""'
sm-sync -q --overwrite-manual portal db >/dev/null || true
check_exit '--overwrite-manual, then a push' 0 sm-push db
check 'delivered over the edit' sh -c "sqlite3 '$SITE' \"SELECT data FROM listings WHERE external_id = '1'\" | grep -q 150"

# A record the target refuses: failed, the rest delivered, exit 1.
STRICT=$SCRATCH/strict.db
sqlite3 "$STRICT" 'CREATE TABLE homes (ref TEXT PRIMARY KEY, price INTEGER CHECK (price > 0), body TEXT, h TEXT)'
sm-tenant target add strict --type database --config "{\"url\":\"sqlite:$STRICT\",\"table\":\"homes\",\"columns\":{\"external_id\":\"ref\",\"price\":\"price\",\"@data\":\"body\",\"@hash\":\"h\"}}" >/dev/null
printf '{"id":"4","price":400}\n{"id":"5","price":-5}\n{"id":"6","price":600}\n' | sm-import -q -s portal >/dev/null
sm-sync -q portal strict >/dev/null
check_exit 'a refused record: exit 1' 1 sm-push strict
check 'its fail event says why' grep_q '"op":"fail","action":"create","target":"strict","external_id":"5",.*"error":".*CHECK' out
check 'the others delivered' sh -c "[ \$(sqlite3 '$STRICT' 'SELECT count(*) FROM homes') = 4 ]"
check 'one failed in --status' status_is strict '.failed == 1 and .pending == 0'
check_exit '--retry' 0 sm-push --retry strict
check 'pending again' status_is strict '.failed == 0 and .pending == 1'
sqlite3 "$STRICT" 'CREATE TABLE h2 (ref TEXT PRIMARY KEY, price INTEGER, body TEXT, h TEXT); INSERT INTO h2 SELECT * FROM homes; DROP TABLE homes; ALTER TABLE h2 RENAME TO homes'
check_exit 'delivered once the target takes it' 0 sm-push strict
check 'all there' sh -c "[ \$(sqlite3 '$STRICT' 'SELECT count(*) FROM homes') = 5 ]"

# An unreachable (locked) target: pending, exit 75, then delivered.
echo '{"id":"6","price":650}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
(echo 'BEGIN EXCLUSIVE;'; sleep 3; echo 'COMMIT;') | sqlite3 "$SITE" &
sleep 0.5
check_exit 'a locked target: 75' 75 env SM_PUSH_RETRIES=1 sm-push db
check 'it says unreachable' grep_q 'unreachable' err
check 'still pending' status_is db '.pending == 3'
wait
check_exit 'then delivered' 0 sm-push db
check 'equal' same db "$SITE" listings
check_exit '--history' 0 sm-push --history db
check 'lists push runs' sh -c 'grep -q "\"kind\":\"push\"" out && grep -q "\"status\":\"failed\"" out && ! grep -qv "\"kind\":\"push\"" out'

# A tenant of schema 7 whose push was killed after the target committed:
# the hash sent was in the outbox row.  The migration to 8 moves it to
# the sent table, so that a push of a newer version finds the target
# holding what was sent (not a manual change) and forgets it once
# delivered.
echo '{"id":"6","price":675}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
sm-snapshot cat -t db | jq -r 'select(.external_id == "6") |
    [.hash, (.data|tojson)] | @tsv' >six.tsv
h=$(cut -f1 six.tsv)
sqlite3 "$SITE" "UPDATE listings SET data = '$(cut -f2 six.tsv)',
    hash = '$h' WHERE external_id = '6'"
sqlite3 "$SM_DATA_DIR/acme.db" "DROP TABLE sent;
    UPDATE outbox SET sent_hash = '$h' WHERE external_id = '6';
    PRAGMA user_version = 7"
echo '{"id":"6","price":680}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
check_exit 'schema 7, a hash sent and landed: a push' 0 sm-push db
check 'it is delivered, not held' grep_q '"op":"deliver","action":"update","target":"db","external_id":"6"' out
check 'nothing sent is left' test "$(sqlite3 "$SM_DATA_DIR/acme.db" \
    'SELECT count(*) FROM sent') = 0"
check 'equal after it' same db "$SITE" listings

# ${NAME}, the config file's targets.NAME, secrets kept out of sight.
SECRET=s3cr3t-Zq81x
printf '%s\n' "$SECRET" >pw
sm-tenant target add env --type database \
    --config '{"url":"sqlite:${SITE_DIR}/env.db","password":"${SITE_PW}"}' 2>err || true
cat >config.yaml <<EOF2
targets:
  env:
    table: listings
  filed:
    url: sqlite:$SCRATCH/filed.db
    table: listings
    password_file: $SCRATCH/pw
EOF2
SM_CONFIG=$SCRATCH/config.yaml
export SM_CONFIG
sm-tenant target add env --type database \
    --config '{"url":"sqlite:${SITE_DIR}/env.db","table":"listings","password":"${SITE_PW}"}' >/dev/null
sm-tenant target add filed --type database >/dev/null
sm-sync -q portal env >/dev/null
sm-sync -q portal filed >/dev/null
check_exit 'an unset variable: 78' 78 env -u SITE_DIR SITE_PW=x sm-push env
check 'the variable is named' grep_q 'SITE_DIR' err
SITE_DIR=$SCRATCH SITE_PW=$SECRET
export SITE_DIR SITE_PW
check_exit '${NAME} expanded at use' 0 sm-push env
check 'delivered there' same env "$SCRATCH/env.db" listings
check_exit 'targets.NAME fills in the connection' 0 sm-push filed
cat out err >all.out
check 'delivered to it' same filed "$SCRATCH/filed.db" listings
sm-push --stats env >>all.out 2>&1
sm-tenant target show env >>all.out 2>&1
sm-tenant target show filed >>all.out 2>&1
check 'show prints ${NAME}, not the secret' grep_q '${SITE_PW}' all.out
check 'the secret is in no output' sh -c "! grep -q '$SECRET' all.out"
check 'nor in the tenant file' sh -c "! strings '$SM_DATA_DIR/acme.db' '$SM_DATA_DIR/acme.db-wal' 2>/dev/null | grep -q '$SECRET'"
unset SM_CONFIG

# kill -9 at random moments, then a push: the table equals the rows (8
# here; t/9102-push-kill.t, the slow tier, runs 100).
sm-tenant target add k --type database --config "{\"url\":\"sqlite:$SCRATCH/k.db\",\"table\":\"listings\"}" >/dev/null
KILLS=${PUSH_KILLS:-8}
i=0 killed=0
while [ $i -lt "$KILLS" ]; do
	awk -v seed="$i" 'BEGIN { srand(seed); for (n = 1; n <= 1500; n++)
	    if (rand() < 0.9) printf "{\"id\":\"%d\",\"price\":%d}\n", n, rand() * 1000000 }' >k.json
	sm-import -q --complete --allow-mass-delete -s portal k.json >/dev/null
	sm-sync -q portal k >/dev/null
	sm-push -q k >/dev/null 2>&1 &
	pid=$!
	# Over the push's whole run (about 0.1 s here), its commits included.
	sleep "0.$(awk -v s=$i 'BEGIN { srand(s + 100); printf "%02d", rand() * 12 }')"
	kill -9 $pid 2>/dev/null || true
	st=0; wait $pid 2>/dev/null || st=$?
	[ "$st" = 137 ] && killed=$((killed + 1))
	i=$((i + 1))
done
echo "# $killed of $KILLS pushes killed before their end"
check 'a fair share of pushes were killed on the way' [ "$killed" -ge $((KILLS / 4)) ]
check_exit "after $KILLS kills, a push" 0 sm-push -q k
check 'the table equals the rows' same k "$SCRATCH/k.db" listings
check 'no change was taken for a manual one' status_is k '.held == 0 and .pending == 0 and .failed == 0'
done_testing
