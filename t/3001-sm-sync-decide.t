#!/bin/sh -e
# sm-sync: every branch of the decision table in lib/sync.c, the manual
# options, --id, --dry-run and the pair's position.
cd "$(dirname "$0")"
. ./lib.sh
plan 65

SM_NOW=2026-11-29T05:00:00Z
SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add website --type website >/dev/null

# ops ARGS...: runs sm-sync ARGS and prints "op id warning" per event.
ops() {
	sm-sync "$@" 2>/dev/null |
	    jq -r '[.op, .external_id, .warning // empty] | join(" ")'
}
# state: the website's rows: id, p, synced, manual, tombstone, warning.
state() {
	sqlite3 data/acme.db "SELECT external_id, json_extract(data, '$.p'), \
	    hash IS synced_hash, has_manual_changes, deleted_at IS NOT NULL, \
	    warning FROM target_properties WHERE target_id = 1 \
	    ORDER BY external_id"
}
# snaps ID: the website's snapshots of ID: p, reason.
snaps() {
	sqlite3 data/acme.db "SELECT json_extract(data, '$.p'), reason \
	    FROM snapshots WHERE target_id = 1 AND external_id = '$1' ORDER BY id"
}
# src ID P: one source record.
src() { printf '{"id":"%s","p":%s}\n' "$1" "$2" | sm-import -q -s portal >/dev/null; }
# edit ID P: a manual edit of the website.
edit() {
	printf '{"id":"%s","p":%s}\n' "$1" "$2" |
	    sm-import -q -t website --merge >/dev/null
}
pair() {
	sqlite3 data/acme.db "SELECT source_seq, target_seq FROM sync_state"
}

for i in 1 2 3 4 5 6; do echo "{\"id\":\"A$i\",\"p\":$i}"; done >day1.ndjson
sm-import -q -s portal day1.ndjson >/dev/null
ops portal website >got
printf 'create A%s\n' 1 2 3 4 5 6 >want
check_same 'first sync creates every property' want got

# live, none: create.
src A7 7
ops portal website >got
echo 'create A7' >want
check_same 'create: a new source property' want got

# live, !manual, changed: update, with a snapshot of the old target version.
src A2 20
ops portal website >got
echo 'update A2' >want
check_same 'update: the source changed' want got
snaps A2 >got
echo '2|update' >want
check_same 'the old target version was snapshotted' want got

# live, !manual, !changed: nothing.
check_exit 'unchanged: --id on a synced property' 0 \
    sm-sync portal website --id A3 --stats
check 'unchanged 1, examined 1' grep_q \
    '"created":0,"updated":0,"deleted":0,"unchanged":1,"skipped":0,"warnings":0,"conflicts":0,"accepted":0,"flagged":0,"examined":1}' out
sqlite3 data/acme.db "SELECT data FROM source_properties" >same.ndjson
check_exit 'an identical re-import' 0 sm-import -s portal same.ndjson
check 'changes nothing' test ! -s out
check_exit 'and the sync after it' 0 sm-sync portal website
check 'has no events' test ! -s out

# live, manual, !changed: skip and flag.
edit A3 30
ops portal website >got
echo 'skip A3 target has manual modifications' >want
check_same 'skip: a manual change is kept' want got

# live, manual, changed: conflict.
edit A4 40
src A4 41
ops portal website >got
# A3, flagged by the run before and unresolved, is held back again.
cat >want <<'EOF'
conflict A4 source has changes but target has manual modifications
skip A3 target has manual modifications
EOF
check_same 'conflict: manual change and source change' want got

# gone, live !manual: delete; gone, live manual: skip.
edit A5 50
cat >day2.ndjson <<'EOF'
{"id":"A1","p":1}
{"id":"A2","p":20}
{"id":"A3","p":3}
{"id":"A4","p":41}
{"id":"A7","p":7}
EOF
check_exit 'the source drops A5 and A6' 0 \
    sm-import -q -s portal --complete --allow-mass-delete day2.ndjson
ops portal website >got
cat >want <<'EOF'
skip A5 source deleted it but target has manual modifications
delete A6
skip A3 target has manual modifications
conflict A4 source has changes but target has manual modifications
EOF
check_same 'delete, and skip of a manual row the source deleted' want got
state >got
cat >want <<'EOF'
A1|1|1|0|0|
A2|20|1|0|0|
A3|30|0|1|0|target has manual modifications
A4|40|0|1|0|source has changes but target has manual modifications
A5|50|0|1|0|source deleted it but target has manual modifications
A6|6|0|0|1|
A7|7|1|0|0|
EOF
check_same 'the website: three flagged rows, one tombstone' want got
snaps A6 >got
echo '6|delete' >want
check_same 'the deleted version was snapshotted' want got
check_exit 'after the delete, --id A6' 0 sm-sync portal website --id A6
check 'finds nothing to do' test ! -s out

# Sync after sync: nothing changed, but the three flagged rows are held
# back again, each with its event, and counted (SPEC §5.3).
check_exit 'sync after sync' 0 sm-sync portal website --stats
cat >want <<'EOF'
{"status":"success","run":19,"stats":{"created":0,"updated":0,"deleted":0,"unchanged":0,"skipped":3,"warnings":3,"conflicts":1,"accepted":0,"flagged":3,"examined":3}}
EOF
check_same 'examines only the flagged rows: warnings 3' want out
check_exit 'and again without --stats' 0 sm-sync portal website
jq -r '[.op, .external_id] | join(" ")' out >got
printf 'skip A3\nconflict A4\nskip A5\n' >want
check_same 'their three events again' want got

# --dry-run: the events, and nothing written.
sqlite3 data/acme.db .dump >before
ops -n portal website --overwrite-manual >got
cat >want <<'EOF'
update A3
update A4
delete A5
EOF
check_same '--dry-run prints what it would do' want got
sqlite3 data/acme.db .dump >after
check_same '--dry-run writes nothing' before after
check_exit '--dry-run --stats' 0 sm-sync -n portal website --stats
check 'has no run' grep_q '^{"status":"success","run":null,"stats":{"created":0' out
check 'says so on stderr' grep_q '(dry run: nothing written)$' err

# --overwrite-manual with --id: only that property, manual version kept
# in a snapshot first.
ops portal website --overwrite-manual --id A3 >got
echo 'update A3' >want
check_same '--overwrite-manual --id A3 updates A3 only' want got
snaps A3 >got
printf '3|update\n30|update\n' >want
check_same 'after a snapshot of the manual version' want got
state | grep '^A[345]' >got
cat >want <<'EOF'
A3|3|1|0|0|
A4|40|0|1|0|source has changes but target has manual modifications
A5|50|0|1|0|source deleted it but target has manual modifications
EOF
check_same 'A3 is clean again, A4 and A5 untouched' want got

# --overwrite-manual: the conflict is resolved for the source, the
# deletion carried out.
ops portal website --overwrite-manual >got
cat >want <<'EOF'
update A4
delete A5
EOF
check_same '--overwrite-manual applies the source' want got
snaps A4 >got
printf '4|update\n40|update\n' >want
check_same 'A4: the manual version was snapshotted' want got
snaps A5 >got
printf '5|update\n50|delete\n' >want
check_same 'A5: so was the one deleted' want got
state | grep '^A[45]' >got
cat >want <<'EOF'
A4|41|1|0|0|
A5|50|0|0|1|
EOF
check_same 'flags cleared' want got

# --accept-manual: the target's version becomes the baseline.
edit A7 70
snaps A7 >before
ops portal website >got
echo 'skip A7 target has manual modifications' >want
check_same 'a new manual change is skipped' want got
check_exit '--accept-manual' 0 sm-sync portal website --accept-manual --stats
check 'accepted 1, no warning' grep_q \
    '"skipped":0,"warnings":0,"conflicts":0,"accepted":1,"flagged":0,"examined":1}' out
state | grep '^A7' >got
echo 'A7|70|1|0|0|' >want
check_same 'the manual data stays, as the new baseline' want got
snaps A7 >got
check_same 'no snapshot: the data did not change' before got
check_exit 'the next sync leaves it alone' 0 sm-sync portal website --stats
check 'examined 0' grep_q '"examined":0}' out
check_exit 'so does --id' 0 sm-sync portal website --id A7
check 'no event' test ! -s out
src A7 71
ops portal website >got
echo 'update A7' >want
check_same 'until the source changes again: then it updates' want got
state | grep '^A7' >got
echo 'A7|71|1|0|0|' >want
check_same 'to the source version' want got

# --id limits the run and does not move the pair's position.
src A1 10
src A2 21
pair >before
ops portal website --id A1 >got
echo 'update A1' >want
check_same '--id A1 updates only A1' want got
pair >after
check_same '--id does not move the pair position' before after
check_exit 'the next full sync' 0 sm-sync -q portal website
jq -r .external_id out >got
echo A2 >want
check_same 'still carries out A2' want got
check_exit 'an --id that the source does not have' 0 \
    sm-sync portal website --id NOPE --stats
check 'examines nothing' grep_q '"examined":0}' out

# A source property that comes back after sync deleted it: create.
src A6 6
ops portal website >got
echo 'create A6' >want
check_same 'a property back in the source is created again' want got

# A deletion on the target, accepted, stays deleted until the source
# changes.
sqlite3 data/acme.db "SELECT data FROM target_properties WHERE target_id = 1 \
    AND deleted_at IS NULL AND external_id <> 'A2'" >observed.ndjson
check_exit 'the observed website lacks A2' 0 \
    sm-import -q -t website --complete observed.ndjson
ops portal website >got
echo 'skip A2 target has manual modifications' >want
check_same 'a deletion on the target is a manual change' want got
check_exit 'accepted' 0 sm-sync portal website --accept-manual --stats
check 'accepted 1' grep_q '"accepted":1,' out
ops portal website --id A2 >got
check 'a later --id A2 does not bring it back' test ! -s got
state | grep '^A2' >got
echo 'A2|21|0|0|1|' >want
check_same 'A2 is still a tombstone' want got
src A2 22
ops portal website >got
echo 'create A2' >want
check_same 'a source change brings it back' want got

# A target row sync never wrote (observed before the first sync) is a
# manual change; once the source has it too, a conflict.
echo '{"id":"Z1","p":0}' | sm-import -q -t website >/dev/null
src Z1 1
ops portal website >got
echo 'conflict Z1 source has changes but target has manual modifications' >want
check_same 'a row that was never synced is not overwritten' want got
ops portal website --overwrite-manual >got
echo 'update Z1' >want
check_same 'unless --overwrite-manual' want got

# A row fed by another source is never overwritten, whatever the options.
sm-tenant source add other --type manual >/dev/null
echo '{"id":"A1","p":-1}' | sm-import -q -s other >/dev/null
ops other website --overwrite-manual >got
echo 'skip A1 target property is fed by another source' >want
check_same 'another source: skip with a warning' want got
echo '{"id":"A1","p":-2}' | sm-import -q -s other >/dev/null
ops other website --accept-manual >got
check_same 'also when it changes, also with --accept-manual' want got
state | grep '^A1' >got
echo 'A1|10|1|0|0|' >want
check_same 'the row is untouched and not flagged' want got

check_exit 'the tenant is consistent' 0 sm-tenant check acme
done_testing
