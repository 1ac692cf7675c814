#!/bin/sh -e
# sm-snapshot restore, "nothing silent": the guards of a point-in-time
# restore (max_delete_ratio, a time before the first record), restores as
# runs (--history), restore --undo RUN, and the usage messages.
cd "$(dirname "$0")"
. ./lib.sh
plan 73

SM_TENANT=acme
export SM_TENANT
D1=2026-01-02T00:00:00Z D2=2026-01-03T00:00:00Z D3=2026-01-04T00:00:00Z
at() { now=$1; shift; env SM_NOW="$now" "$@"; }
# The restore runs of the history, one "run status stats" line each.
runs() {
	sm-snapshot --history "$@" |
	    jq -r '"\(.run) \(.status) \(.stats|tojson)"'
}

sm-tenant init >/dev/null
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type scraped >/dev/null
sm-tenant target add website --type website >/dev/null
cat >d1.ndjson <<'EOF'
{"external_id":"a","price":1}
{"external_id":"b","price":2}
EOF
cat >d2.ndjson <<'EOF'
{"external_id":"a","price":10}
{"external_id":"b","price":2}
{"external_id":"c","price":3}
{"external_id":"d","price":4}
{"external_id":"e","price":5}
EOF
grep -v '"b"' d2.ndjson >d3.ndjson
# Day 1 a and b; day 2 a changes, c d e are created (all synced to the
# website); day 3 b is gone from the portal.  Runs 1 to 5.
at $D1 sm-import -q -s portal d1.ndjson >/dev/null
at $D1 sm-sync -q portal website >/dev/null
at $D2 sm-import -q -s portal d2.ndjson >/dev/null
at $D2 sm-sync -q portal website >/dev/null
at $D3 sm-import -q -s portal --complete d3.ndjson >/dev/null
sm-snapshot cat -s portal >cat.before

# The README's mistake: a time before the tenant existed.
check_exit 'a time before the first record is refused' 65 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -s portal --at 2026-01-01
check 'says so, naming the earliest time there is' grep_q \
    "restore to 2026-01-01T00:00:00Z is before the first record of source 'portal': nothing written (the earliest time there is: 2026-01-02T00:00:00Z)" err
check 'no events' test ! -s out
sm-snapshot cat -s portal >got
check_same 'nothing written' cat.before got
check_exit 'the dry run refuses it too' 65 at 2026-01-05T00:00:00Z \
    sm-snapshot restore -n -s portal --at 2026-01-01
check 'with the same message' grep_q 'earliest time there is: 2026-01-02' err
check_exit 'the first record is itself a time there is' 0 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -n -s portal --at $D1 \
    --allow-mass-delete
check_exit 'so is a target'"'"'s' 65 at 2026-01-05T00:00:00Z \
    sm-snapshot restore -t website --at 2026-01-01T23:59:59.999Z
check 'naming its own first record' grep_q \
    "first record of target 'website': nothing written (the earliest time there is: 2026-01-02T00:00:00Z)" err

# The mass-delete guard: back to day 1 deletes c d e, 3 of the 4 live.
check_exit 'a restore deleting most rows is refused' 65 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -s portal --at $D1
check 'how many of how many, and the way out' grep_q \
    "would delete 3 of 4 properties of 'portal', more than max_delete_ratio 0.5 allows: nothing written (use --allow-mass-delete if this is right)" err
check 'no events' test ! -s out
sm-snapshot cat -s portal >got
check_same 'nothing written' cat.before got
runs -s portal >runs.before
check_exit 'the dry run reports the refusal' 65 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -n -s portal --at $D1
check 'same message' grep_q 'would delete 3 of 4 properties' err
runs -s portal >runs.after
check_same 'a dry run is not a run' runs.before runs.after
cat >want <<'EOF'
{"external_id":"a","price":1}
EOF
check_exit '--id: only what is named is restored' 0 at 2026-01-05T00:00:00Z \
    sm-snapshot restore -n -q -s portal --at $D1 --id a --id c
check 'one restore, one delete: 1 of 4 is within the ratio' test \
    "$(jq -r .op out | tr '\n' ' ')" = 'restore delete '
printf 'import:\n  max_delete_ratio: 0.8\n' >cfg.yaml
check_exit 'a higher max_delete_ratio lets it pass' 0 at 2026-01-05T00:00:00Z \
    sm-snapshot -c cfg.yaml restore -n -s portal --at $D1
check 'dry run: nothing written' grep_q \
    '^sm-snapshot: portal: 2 restored, 3 deleted in .* (dry run' err
sm-snapshot cat -s portal >got
check_same 'nothing written by the dry runs' cat.before got
check_exit '--allow-mass-delete' 0 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -s portal --at $D1 \
    --allow-mass-delete
check 'summary' grep_q '^sm-snapshot: portal: 2 restored, 3 deleted in ' err
check 'events' test "$(jq -r '.op + .external_id' out | tr '\n' ' ')" = \
    'restorea restoreb deletec deleted deletee '
sm-snapshot cat -s portal >cat.restored
sm-snapshot cat -s portal --at $D1 >got
check 'the state of day 1 is back' test \
    "$(jq -c '{external_id, data}' cat.restored)" = \
    "$(jq -c '{external_id, data}' got)"

# restores are runs: the refused ones failed, the dry runs are not there
cat >want <<'EOF'
6 failed {}
8 failed {}
9 success {"restored":2,"deleted":3,"unchanged":0}
EOF
check_exit '--history -s' 0 sm-snapshot --history -s portal
runs -s portal >got
check_same 'the restore runs of portal with their stats' want got
check 'run records of SPEC 5.3' test "$(jq -c 'del(.error)' out | tail -1)" = \
    '{"run":9,"kind":"restore","source":"portal","target":null,"started_at":"2026-01-05T00:00:00Z","finished_at":"2026-01-05T00:00:00Z","status":"success","stats":{"restored":2,"deleted":3,"unchanged":0}}'
check 'a failed run says why' test "$(jq -r 'select(.run == 8) | .error' out)" = \
    "restore to 2026-01-02T00:00:00Z would delete 3 of 4 properties of 'portal', more than max_delete_ratio 0.5 allows: nothing written (use --allow-mass-delete if this is right)"
check_exit '--history of all' 0 sm-snapshot --history
check 'every restore run, and only those' test \
    "$(jq -r '"\(.run):\(.kind)"' out | tr '\n' ' ')" = \
    '6:restore 7:restore 8:restore 9:restore '
check_exit '--history -t' 0 sm-snapshot --history -t website
check 'the target'"'"'s refused run' test "$(jq -r .run out)" = 7

# --undo: every row goes back to what it held just before the run
sm-snapshot list >list.before
check_exit 'undo --dry-run' 0 \
    at 2026-01-06T00:00:00Z sm-snapshot restore -n --undo 9
sm-snapshot list >list.after
check_same 'the dry run wrote nothing' list.before list.after
check_exit 'undo of the restore' 0 \
    at 2026-01-06T00:00:00Z sm-snapshot restore --undo 9
check 'events' test "$(jq -r '.op + .external_id' out | tr '\n' ' ')" = \
    'restorea deleteb restorec restored restoree '
check 'summary' grep_q '^sm-snapshot: portal: 4 restored, 1 deleted in ' err
sm-snapshot cat -s portal >got
check_same 'the state before the restore, byte for byte' cat.before got
check 'the undo is a restore run' test "$(runs -s portal | tail -1)" = \
    '10 success {"restored":4,"deleted":1,"unchanged":0}'
check_exit 'undo of the undo' 0 \
    at 2026-01-07T00:00:00Z sm-snapshot restore -q --undo 10
sm-snapshot cat -s portal >got
check_same 'the state after the restore, byte for byte' cat.restored got
check_exit 'and back' 0 at 2026-01-08T00:00:00Z \
    sm-snapshot restore -q --undo 11
sm-snapshot cat -s portal >got
check_same 'the state before the restore again' cat.before got

# --undo refused: another run changed a row since
cat >d4.ndjson <<'EOF'
{"external_id":"c","price":30}
EOF
at 2026-01-09T00:00:00Z sm-import -q -s portal d4.ndjson >/dev/null
sm-snapshot cat -s portal >cat.now
check_exit 'undo after a later change' 65 \
    at 2026-01-10T00:00:00Z sm-snapshot restore --undo 12
check 'names the row and the run, suggests --at' grep_q \
    "cannot undo restore run 12: 'c' was changed by run 13 (import) after it: nothing written (use restore --at TIME to go back to a point in time instead)" err
sm-snapshot cat -s portal >got
check_same 'nothing written' cat.now got
check_exit 'undo of a non-restore run' 66 sm-snapshot restore --undo 13
check 'says what it is' grep_q \
    "run 13 is an import, not a restore: only a restore can be undone" err
check_exit 'undo of a sync run' 66 sm-snapshot restore --undo 2
check 'a sync' grep_q 'run 2 is a sync, not a restore' err
check_exit 'undo of an unknown run' 66 sm-snapshot restore --undo 99
check 'says which' grep_q "no run 99 in tenant 'acme'" err
check_exit 'undo of a refused restore' 65 sm-snapshot restore --undo 8
check 'it changed nothing' grep_q \
    'restore run 8 failed: it changed nothing, so there is nothing to undo' err

# a target: restore by snapshot id is a run, its undo puts the sync
# bookkeeping back too
sm-snapshot cat -t website >tcat.before
id=$(sm-snapshot list -t website | jq -r 'select(.external_id == "a") | .id')
check_exit 'restore of a target snapshot' 0 \
    at 2026-01-11T00:00:00Z sm-snapshot restore -q "$id"
check 'marked as a manual change' test \
    "$(sm-snapshot cat -t website --manual | jq -r .external_id)" = a
run=$(sm-snapshot --history -t website | jq -r .run | tail -1)
check 'a run of the target' test "$(runs -t website | tail -1)" = \
    "$run success {\"restored\":1,\"deleted\":0,\"unchanged\":0}"
check_exit 'undo of it' 0 at 2026-01-12T00:00:00Z \
    sm-snapshot restore --undo "$run"
check 'the event carries the warning it has again' test "$(jq -c . out)" = \
    '{"op":"restore","target":"website","external_id":"a","hash":"0a0a4e5b5ee6cc1c933e3b3e9954e709","prev_hash":"879077f787dc88b58c5bf4801f9c9fa5"}'
sm-snapshot cat -t website >got
check_same 'the target as before, bookkeeping included' tcat.before got
check_exit 'then sync' 0 sm-sync portal website --stats
check 'carries the portal'"'"'s c and b; a is no manual change now' test \
    "$(jq -c '.stats | [.created, .updated, .deleted, .warnings]' out)" = \
    '[0,1,1,0]'

# usage: the reason first
check_exit 'no verb' 64 sm-snapshot
check 'says so before the usage' test \
    "$(head -1 err)" = 'sm-snapshot: missing verb: cat, list, show, restore or take'
check_exit 'unknown verb' 64 sm-snapshot x
check 'names it' test "$(head -1 err)" = "sm-snapshot: unknown verb 'x'"
check_exit 'show without an id' 64 sm-snapshot show
check 'says so' test "$(head -1 err)" = "sm-snapshot: 'show' needs a snapshot id"
check_exit '--undo with --at' 64 sm-snapshot restore --undo 8 -s portal --at 1d
check_exit '--allow-mass-delete with a snapshot id' 64 \
    sm-snapshot restore 1 --allow-mass-delete
check_exit 'a bad run id' 64 sm-snapshot restore --undo 8x
check_exit '--history with a verb' 64 sm-snapshot --history list
done_testing
