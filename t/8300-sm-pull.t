#!/bin/sh -e
# sm-pull against SQLite targets, through the real commands: a hand edit
# and a hand delete seen, flagged by sync, held by push, delivered over
# with --overwrite-manual; a pending change and a push killed after the
# target's commit are no edits; foreign rows; the options; exit codes.
cd "$(dirname "$0")"
. ./lib.sh
plan 80

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
export SM_TENANT SM_PUSH_BACKOFF_MS
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add db --type database \
    --config "{\"url\":\"sqlite:$SCRATCH/site.db\",\"table\":\"listings\"}" >/dev/null
SITE=$SCRATCH/site.db
TENANT=$SM_DATA_DIR/acme.db

q() { sqlite3 "$SITE" "$1"; }
price() { q "SELECT json_extract(data, '\$.price') FROM listings WHERE external_id = '$1'"; }
nev() { grep -c "$1" out || :; }
status_is() {
	sm-push --status db >st.out
	jq -e "$1" st.out >/dev/null || { sed 's/^/# /' st.out; return 1; }
}
flagged() { sm-snapshot cat -t db --manual | jq -r .external_id | sort | tr '\n' ' '; }
feed() {
	printf '{"id":"1","price":%s}\n{"id":"2","price":%s}\n{"id":"3","price":%s}\n' "$@" >a.json
	sm-import -q --complete -s portal a.json >/dev/null
	sm-sync -q portal db >/dev/null || :
}

feed 100 200 300
sm-push -q db >/dev/null

# Usage and the target's existence.
check_exit 'no target: 64' 64 sm-pull
check_exit 'two operands: 64' 64 sm-pull db db2
check_exit '--history with --dry-run: 64' 64 sm-pull --history -n
check_exit 'an unknown option: 64' 64 sm-pull --complete db
check_exit 'no such target: 66' 66 sm-pull nosuch
sm-tenant target add book --type website >/dev/null
check_exit 'a target without a connection: 78' 78 sm-pull book
check 'it says so' grep_q "target 'book' has no connection" err

# What sm delivered is what the target holds: nothing to say.
check_exit 'a pull of a target as delivered' 0 sm-pull db
check 'no events' test ! -s out
check 'the summary' grep_q 'sm-pull: db: 3 read; by hand: 0 changed, 0 deleted, 0 restored; 3 unchanged, 0 foreign, 0 rejected' err

# A pending change is compared with what was delivered, not with itself.
feed 110 200 300
check 'a change pending' status_is '.pending == 1'
check_exit 'a pull with a change pending' 0 sm-pull db
check 'is no edit' test ! -s out
check 'nothing flagged' test -z "$(flagged)"
check_exit 'the push delivers it' 0 sm-push db
check 'delivered' test "$(price 1)" = 110

# A hand edit on the target, with a change of that record pending.
feed 120 200 300
q "UPDATE listings SET data = json_set(data, '\$.price', 555) WHERE external_id = '1'"
check_exit 'a pull after a hand UPDATE' 0 sm-pull db
check 'an update event of the observed version' sh -c \
    'grep -q "{\"op\":\"update\",\"target\":\"db\",\"external_id\":\"1\",\"hash\":\"" out && [ $(wc -l <out) = 1 ]'
check 'the target row holds the hand edit' sh -c \
    'sm-snapshot cat -t db --id 1 | jq -e ".data.price == 555" >/dev/null'
check 'the version before it snapshotted' sh -c \
    'sm-snapshot list -t db --id 1 --data | jq -e "select(.data.price == 120)" >/dev/null'
check_exit 'the next sync' 0 sm-sync portal db
check 'flags it' grep_q '"op":"skip","target":"db","external_id":"1"' out
check 'the row is flagged' test "$(flagged)" = '1 '
check_exit 'a push' 0 sm-push db
check 'holds the pending change' grep_q '"op":"held","target":"db","external_id":"1"' out
check 'the edit is not overwritten' test "$(price 1)" = 555
check 'counted held' status_is '.held == 1 and .pending == 0'
check_exit 'a second pull' 0 sm-pull db
check 'says nothing new' test ! -s out
check_exit 'sm-sync --overwrite-manual' 0 sm-sync --overwrite-manual portal db
check_exit 'then a push' 0 sm-push db
check 'delivers over the edit' test "$(price 1)" = 120
check_exit 'a pull after it' 0 sm-pull db
check 'is quiet' test ! -s out
check 'nothing flagged any more' test -z "$(flagged)"

# A hand DELETE: a manual change; nothing re-creates it until decided.
q "DELETE FROM listings WHERE external_id = '3'"
check_exit 'a pull after a hand DELETE' 0 sm-pull db
check 'a delete event' grep_q '{"op":"delete","target":"db","external_id":"3","hash":null' out
check 'the target row is a tombstone' sh -c '! sm-snapshot cat -t db | grep -q "\"external_id\":\"3\""'
check_exit 'the next sync' 0 sm-sync portal db
check 'flags the deletion' grep_q '"op":"skip","target":"db","external_id":"3"' out
feed 120 200 310
check_exit 'a source change of it' 0 sm-push db
check 'is not re-created' test -z "$(q "SELECT 1 FROM listings WHERE external_id = '3'")"
check_exit 'sm-sync --overwrite-manual' 0 sm-sync --overwrite-manual portal db
check_exit 'then a push' 0 sm-push db
check 're-creates it' test "$(price 3)" = 310

# Records never delivered and absent are no deletions.
echo '{"id":"4","price":400}' | sm-import -q -s portal >/dev/null
sm-sync -q portal db >/dev/null
check_exit 'a pull before the push of a new record' 0 sm-pull db
check 'deletes nothing' test ! -s out

# A row the target holds and sm does not know: foreign, on every pull.
q "INSERT INTO listings (external_id, data, hash) VALUES ('zz', '{\"id\":\"zz\",\"price\":1}', 'x')"
check_exit 'a pull with a foreign row' 0 sm-pull db
check 'a foreign event' grep_q '{"op":"foreign","target":"db","external_id":"zz","hash":"' out
check_exit 'again' 0 sm-pull db
check 'reported again' grep_q '"op":"foreign","target":"db","external_id":"zz"' out
check 'not imported' sh -c '! sm-snapshot cat -t db | grep -q "\"zz\""'
sm-push -q db >/dev/null
check 'left alone' test "$(q "SELECT hash FROM listings WHERE external_id = 'zz'")" = x

# A push killed after the target committed, before sm recorded it (a
# trigger makes sm's record fail right there): no edit, then delivered.
feed 130 200 310
sqlite3 "$TENANT" "CREATE TRIGGER lost BEFORE UPDATE ON delivered BEGIN SELECT RAISE(ABORT, 'killed'); END"
check_exit 'a push that cannot record' 70 sm-push db
sqlite3 "$TENANT" 'DROP TRIGGER lost'
check 'the target holds the new version' test "$(price 1)" = 130
check 'and lacks 4 (a delete in flight)' test -z "$(q "SELECT 1 FROM listings WHERE external_id = '4'")"
check 'sm knows neither' status_is '.pending == 2'
check_exit 'a pull' 0 sm-pull --stats db
check 'takes both as delivered' sh -c 'jq -e ".stats.confirmed == 2 and .stats.updated == 0 and .stats.deleted == 0" out >/dev/null'
check 'the outbox row is done' status_is '.pending == 0 and .held == 0'
check 'nothing flagged' test -z "$(flagged)"

# --dry-run, --stats, --history.
q "UPDATE listings SET data = json_set(data, '\$.price', 7) WHERE external_id = '2'"
check_exit '--dry-run' 0 sm-pull -n db
check 'says what it would import' grep_q '"op":"update","target":"db","external_id":"2"' out
check 'and imports nothing' sh -c 'sm-snapshot cat -t db --id 2 | jq -e ".data.price == 200" >/dev/null'
check_exit '--stats' 0 sm-pull --stats db
cp out stats.out
check 'one result object' sh -c '[ $(wc -l <out) = 1 ] && jq -e ".status == \"success\" and .run > 0 and .stats.updated == 1 and .stats.foreign == 1 and .stats.records == 4" out >/dev/null'
check_exit '--history' 0 sm-pull --history db
check 'lists the pulls, not the dry run' sh -c \
    '[ $(wc -l <out) = 11 ] && jq -se "all(.kind == \"pull\" and .target == \"db\" and .status == \"success\")" out >/dev/null'

# A row that is no record: rejected (65), and then nothing is deleted.
sm-sync -q --accept-manual portal db >/dev/null
q "UPDATE listings SET data = '{\"id\":\"1\",' WHERE external_id = '1'"
q "DELETE FROM listings WHERE external_id = '3'"
check_exit 'a row that does not parse: 65' 65 sm-pull db
check 'a reject event naming it' grep_q '{"op":"reject","target":"db","external_id":"1","error":"' out
check 'on stderr too' grep_q "sm-pull: db: 1: " err
check 'the absent row is not taken as deleted' sh -c 'sm-snapshot cat -t db --id 3 | grep -q 310'
q "UPDATE listings SET data = '{\"id\":\"1\",\"price\":130}' WHERE external_id = '1'"

# An emptied table is refused as the whole site deleted by hand.
q "DELETE FROM listings"
check_exit 'a pull of an empty table: 65' 65 sm-pull db
check 'names the guard' grep_q 'max_delete_ratio' err
check 'and the option' grep -q -e '--allow-mass-delete' err
check 'nothing written' test "$(sm-snapshot cat -t db | wc -l)" = 3
check_exit '--allow-mass-delete' 0 sm-pull --allow-mass-delete db
check 'three deletions by hand' test "$(nev '"op":"delete"')" = 3

# Unreachable: 75, nothing written.
sm-tenant target add gone --type database \
    --config "{\"url\":\"sqlite:$SCRATCH/no/such/dir/x.db\",\"table\":\"t\"}" >/dev/null
check_exit 'an unreachable target: 75' 75 sm-pull gone
check 'says so' grep_q "target 'gone' is unreachable" err
done_testing
