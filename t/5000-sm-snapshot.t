#!/bin/sh -e
# sm-snapshot: list, show, cat (now and --at), restore (one snapshot and
# point in time, undo, dry run), take, and the failures with their codes.
cd "$(dirname "$0")"
. ./lib.sh
plan 104

SM_TENANT=acme
export SM_TENANT
D1=2026-01-01T00:00:00Z D2=2026-01-02T00:00:00Z D3=2026-01-03T00:00:00Z
D4=2026-01-04T00:00:00Z
at() { now=$1; shift; env SM_NOW="$now" "$@"; }
dump() { sqlite3 data/acme.db .dump; }
# The data of a cat: what a restore must reproduce (updated_at is the
# time of the restore, by design).
body() { jq -c '{id, external_id, data, hash}' "$1"; }

sm-tenant init >/dev/null
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type scraped >/dev/null
sm-tenant target add website --type website >/dev/null
cat >v1.ndjson <<'EOF'
{"external_id":"a","price":500000,"rooms":3}
{"external_id":"b","price":250000,"rooms":2}
{"external_id":"c","price":750000,"rooms":5}
EOF
cat >v2.ndjson <<'EOF'
{"external_id":"a","price":520000,"rooms":3}
{"external_id":"b","price":250000,"rooms":2}
{"external_id":"c","price":740000,"rooms":5,"garden":true}
EOF
cat >v3.ndjson <<'EOF'
{"external_id":"a","price":520000,"rooms":3}
{"external_id":"c","price":740000,"rooms":5,"garden":true}
EOF
cat >v4.ndjson <<'EOF'
{"external_id":"d","price":99000,"rooms":1}
EOF
# Day 1 all created, day 2 a and c change, day 3 b is deleted, day 4 d is
# created; the website observes the same (but for the delete).
at $D1 sm-import -q -s portal v1.ndjson >/dev/null
at $D1 sm-import -q -t website v1.ndjson >/dev/null
at $D2 sm-import -q -s portal v2.ndjson >/dev/null
at $D2 sm-import -q -t website v2.ndjson >/dev/null
at $D3 sm-import -q -s portal --complete --allow-mass-delete v3.ndjson \
    >/dev/null
at $D4 sm-import -q -s portal v4.ndjson >/dev/null
at $D4 sm-import -q -t website v4.ndjson >/dev/null

# list and show
cat >want <<'EOF'
{"id":1,"source":"portal","external_id":"a","hash":"431477aa5ef6fd4f3c29b349747ec247","reason":"update","label":null,"taken_at":"2026-01-02T00:00:00Z"}
{"id":2,"source":"portal","external_id":"c","hash":"93815e904d329460fe948e768a33c228","reason":"update","label":null,"taken_at":"2026-01-02T00:00:00Z"}
{"id":3,"target":"website","external_id":"a","hash":"431477aa5ef6fd4f3c29b349747ec247","reason":"update","label":null,"taken_at":"2026-01-02T00:00:00Z"}
{"id":4,"target":"website","external_id":"c","hash":"93815e904d329460fe948e768a33c228","reason":"update","label":null,"taken_at":"2026-01-02T00:00:00Z"}
{"id":5,"source":"portal","external_id":"b","hash":"e8cf5ccf79504f16406f72948d22e6f2","reason":"delete","label":null,"taken_at":"2026-01-03T00:00:00Z"}
EOF
check_exit 'list every snapshot' 0 sm-snapshot list
check_same 'list output' want out
grep -v website want >want.portal
grep website want >want.website
check_exit 'list -s' 0 sm-snapshot list -s portal
check_same 'list -s keeps the source' want.portal out
check_exit 'list -t by id' 0 sm-snapshot list -t 1
check_same 'list -t keeps the target' want.website out
cat >want <<'EOF'
{"id":1,"source":"portal","external_id":"a","hash":"431477aa5ef6fd4f3c29b349747ec247","reason":"update","label":null,"taken_at":"2026-01-02T00:00:00Z","data":{"external_id":"a","price":500000,"rooms":3}}
{"id":5,"source":"portal","external_id":"b","hash":"e8cf5ccf79504f16406f72948d22e6f2","reason":"delete","label":null,"taken_at":"2026-01-03T00:00:00Z","data":{"external_id":"b","price":250000,"rooms":2}}
EOF
check_exit 'list --data with --id twice' 0 \
    sm-snapshot list -s portal --data --id a --id b
check_same 'list --data output' want out
check_exit 'list --since (inclusive)' 0 sm-snapshot list --since 2026-01-03
check 'only day 3' test "$(cut -c1-7 out | tr '\n' ' ')" = '{"id":5 '
check_exit 'list --until (exclusive)' 0 sm-snapshot list --until 2026-01-03
check 'only day 2' test "$(cut -c1-7 out | tr '\n' ' ')" = \
    '{"id":1 {"id":2 {"id":3 {"id":4 '
check_exit 'list of an unknown id is empty' 0 sm-snapshot list --id zz
check 'nothing printed' test ! -s out
cat >want <<'EOF'
{"id":5,"source":"portal","external_id":"b","hash":"e8cf5ccf79504f16406f72948d22e6f2","reason":"delete","label":null,"taken_at":"2026-01-03T00:00:00Z","data":{"external_id":"b","price":250000,"rooms":2},"property_id":2,"run":5}
EOF
check_exit 'show' 0 sm-snapshot show 5
check_same 'show output: data, property_id, run' want out

# cat, now and at each day
cat >want.d0 </dev/null
cat >want.d1 <<'EOF'
{"id":1,"external_id":"a","data":{"external_id":"a","price":500000,"rooms":3},"hash":"431477aa5ef6fd4f3c29b349747ec247","updated_at":"2026-01-01T00:00:00Z"}
{"id":2,"external_id":"b","data":{"external_id":"b","price":250000,"rooms":2},"hash":"e8cf5ccf79504f16406f72948d22e6f2","updated_at":"2026-01-01T00:00:00Z"}
{"id":3,"external_id":"c","data":{"external_id":"c","price":750000,"rooms":5},"hash":"93815e904d329460fe948e768a33c228","updated_at":"2026-01-01T00:00:00Z"}
EOF
cat >want.d2 <<'EOF'
{"id":1,"external_id":"a","data":{"external_id":"a","price":520000,"rooms":3},"hash":"2ac77b45c9387c3c56261e44049d52d7","updated_at":"2026-01-02T00:00:00Z"}
{"id":2,"external_id":"b","data":{"external_id":"b","price":250000,"rooms":2},"hash":"e8cf5ccf79504f16406f72948d22e6f2","updated_at":"2026-01-01T00:00:00Z"}
{"id":3,"external_id":"c","data":{"external_id":"c","garden":true,"price":740000,"rooms":5},"hash":"669a30f6ac6201bf51f7bdd234e4c3b6","updated_at":"2026-01-02T00:00:00Z"}
EOF
grep -v '"b"' want.d2 >want.d3
cat want.d3 - >want.d4 <<'EOF'
{"id":4,"external_id":"d","data":{"external_id":"d","price":99000,"rooms":1},"hash":"c1f22b2b4f9da1015d79585e49f20ec4","updated_at":"2026-01-04T00:00:00Z"}
EOF
check_exit 'cat' 0 sm-snapshot cat -s portal
check_same 'cat: the live properties' want.d4 out
cp out cat.before
check_exit 'cat --at before anything' 0 sm-snapshot cat -s portal --at 2025-12-31
check_same 'nothing existed' want.d0 out
for d in 1 2 3 4; do
	check_exit "cat --at day $d" 0 sm-snapshot cat -s portal --at 2026-01-0$d
	check_same "cat --at day $d: the data of that moment" want.d$d out
done
check_exit 'cat --at within day 2' 0 \
    sm-snapshot cat -s portal --at 2026-01-02T23:59:59.999Z
check_same 'same as at the start of day 2' want.d2 out
check_exit 'cat --at a relative age' 0 sm-snapshot cat -s portal --at 1d
check_same 'a day ago is now' want.d4 out
check_exit 'cat --id twice' 0 sm-snapshot cat -s portal --at $D1 --id c --id a
check 'a and c, by external_id' test \
    "$(cut -d, -f2 out | tr '\n' ' ')" = '"external_id":"a" "external_id":"c" '

# point-in-time restore: dry run first
dump >dump.before
check_exit 'restore --at --dry-run' 0 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -n -s portal --at $D1
cp out events.dry
check 'dry run says so' grep_q '3 restored, 1 deleted in .* (dry run' err
dump >dump.after
check_same 'dry run wrote nothing (not even a run)' dump.before dump.after
cat >want <<'EOF'
{"op":"restore","source":"portal","external_id":"a","hash":"431477aa5ef6fd4f3c29b349747ec247","prev_hash":"2ac77b45c9387c3c56261e44049d52d7"}
{"op":"restore","source":"portal","external_id":"b","hash":"e8cf5ccf79504f16406f72948d22e6f2"}
{"op":"restore","source":"portal","external_id":"c","hash":"93815e904d329460fe948e768a33c228","prev_hash":"669a30f6ac6201bf51f7bdd234e4c3b6"}
{"op":"delete","source":"portal","external_id":"d","hash":null,"prev_hash":"c1f22b2b4f9da1015d79585e49f20ec4"}
EOF
check_exit 'restore --at day 1' 0 \
    at 2026-01-05T00:00:00Z sm-snapshot restore -s portal --at $D1
check_same 'restore events' want out
check_same 'the dry run printed the same events' want events.dry
check 'summary' grep_q '^sm-snapshot: portal: 3 restored, 1 deleted in ' err
sm-snapshot cat -s portal >cat.now
sm-snapshot cat -s portal --at $D1 >cat.d1
body cat.now >got
body cat.d1 >want
check_same 'cat now equals cat --at day 1' want got
check_same 'history did not change' want.d1 cat.d1
check 'restored rows carry the time of the restore' \
    test "$(grep -c '"updated_at":"2026-01-05T00:00:00Z"' cat.now)" = 3
cat >want <<'EOF'
{"id":6,"source":"portal","external_id":"a","hash":"2ac77b45c9387c3c56261e44049d52d7","reason":"restore","label":null,"taken_at":"2026-01-05T00:00:00Z","data":{"external_id":"a","price":520000,"rooms":3}}
{"id":7,"source":"portal","external_id":"b","hash":null,"reason":"restore","label":null,"taken_at":"2026-01-05T00:00:00Z","data":null}
{"id":8,"source":"portal","external_id":"c","hash":"669a30f6ac6201bf51f7bdd234e4c3b6","reason":"restore","label":null,"taken_at":"2026-01-05T00:00:00Z","data":{"external_id":"c","garden":true,"price":740000,"rooms":5}}
{"id":9,"source":"portal","external_id":"d","hash":"c1f22b2b4f9da1015d79585e49f20ec4","reason":"restore","label":null,"taken_at":"2026-01-05T00:00:00Z","data":{"external_id":"d","price":99000,"rooms":1}}
EOF
check_exit 'list the snapshots of the restore' 0 \
    sm-snapshot list --since 2026-01-05 --data
check_same 'the versions it replaced, absence included' want out

# undo: back to just before the restore
check_exit 'restore is undone by a restore' 0 at 2026-01-06T00:00:00Z \
    sm-snapshot restore -q -s portal --at 2026-01-04T23:59:59Z
check 'quiet: no summary' test ! -s err
cat >want <<'EOF'
{"op":"restore","source":"portal","external_id":"a","hash":"2ac77b45c9387c3c56261e44049d52d7","prev_hash":"431477aa5ef6fd4f3c29b349747ec247"}
{"op":"delete","source":"portal","external_id":"b","hash":null,"prev_hash":"e8cf5ccf79504f16406f72948d22e6f2"}
{"op":"restore","source":"portal","external_id":"c","hash":"669a30f6ac6201bf51f7bdd234e4c3b6","prev_hash":"93815e904d329460fe948e768a33c228"}
{"op":"restore","source":"portal","external_id":"d","hash":"c1f22b2b4f9da1015d79585e49f20ec4"}
EOF
check_same 'undo events' want out
sm-snapshot cat -s portal >cat.now
body cat.before >want
body cat.now >got
check_same 'the state before the restore is back' want got
check_exit 'a second identical restore changes nothing' 0 \
    at 2026-01-06T00:00:00Z sm-snapshot restore -s portal --at $D4
check 'no events' test ! -s out

# restore ID
cat >want <<'EOF'
{"op":"restore","source":"portal","external_id":"b","hash":"e8cf5ccf79504f16406f72948d22e6f2"}
EOF
check_exit 'restore a snapshot brings back a deleted property' 0 \
    at 2026-01-07T00:00:00Z sm-snapshot restore 5
check_same 'restore ID event' want out
check 'summary names the source' grep_q '^sm-snapshot: portal: 1 restored, 0 deleted' err
check_exit 'restoring it again is a no-op' 0 \
    at 2026-01-07T00:00:00Z sm-snapshot restore 5
check 'no event for a no-op' test ! -s out
check 'no-op summary' grep_q '^sm-snapshot: portal: 0 restored, 0 deleted' err
sm-snapshot list --id b --since 2026-01-07 >got
check 'one restore snapshot: the absence it replaced' test \
    "$(cut -d, -f1,4 got)" = '{"id":14,"hash":null'
check_exit 'a snapshot without data deletes' 0 \
    at 2026-01-08T00:00:00Z sm-snapshot restore 14
check 'delete event' grep_q '^{"op":"delete","source":"portal","external_id":"b","hash":null,"prev_hash":"e8cf5ccf79504f16406f72948d22e6f2"}$' out
# As if sm-cleanup had removed the tombstone row of b.
sqlite3 data/acme.db "DELETE FROM source_properties WHERE external_id = 'b'"
check_exit 'restore of a removed row' 0 \
    at 2026-01-09T00:00:00Z sm-snapshot restore 5
check 'creates it anew, under the same external_id' \
    test "$(sm-snapshot cat -s portal --id b)" = \
    '{"id":5,"external_id":"b","data":{"external_id":"b","price":250000,"rooms":2},"hash":"e8cf5ccf79504f16406f72948d22e6f2","updated_at":"2026-01-09T00:00:00Z"}'
check_exit 'which did not exist before' 0 \
    sm-snapshot cat -s portal --id b --at 2026-01-08T23:59:59Z
check 'cat --at before the new row' test ! -s out

# take
sm-snapshot list >list.before
check_exit 'take --dry-run' 0 \
    at 2026-01-10T00:00:00Z sm-snapshot take -n -s portal --label nightly
sm-snapshot list >list.after
check_same 'take --dry-run wrote nothing' list.before list.after
cat >want <<'EOF'
{"source":"portal","label":"nightly","snapshots":4,"taken_at":"2026-01-10T00:00:00Z"}
EOF
check_exit 'take' 0 at 2026-01-10T00:00:00Z sm-snapshot take -s portal \
    --label nightly
check_same 'take output' want out
sm-snapshot list --since 2026-01-10 >got
check 'a snapshot per live property, labelled' test \
    "$(grep -c '"reason":"take","label":"nightly"' got)" = 4
check_exit 'cat --at after a take' 0 sm-snapshot cat -s portal --at 2026-01-10
sm-snapshot cat -s portal >cat.now
check_same 'a take changes no version' cat.now out
check_exit 'take without a label' 0 \
    at 2026-01-10T00:00:00Z sm-snapshot take -t website
check 'label null' grep_q '^{"target":"website","label":null,"snapshots":4,' out

# targets: a restore is a deliberate manual change
# As if sm-sync had written the website rows: no manual changes.
sqlite3 data/acme.db "UPDATE target_properties SET has_manual_changes = 0, synced_hash = hash"
check_exit 'no manual changes to start with' 0 \
    sm-snapshot cat -t website --manual
check 'cat --manual is empty' test ! -s out
check_exit 'restore a target snapshot' 0 \
    at 2026-01-11T00:00:00Z sm-snapshot restore 3
check 'event with the warning' grep_q '^{"op":"restore","target":"website","external_id":"a","hash":"431477aa5ef6fd4f3c29b349747ec247","prev_hash":"2ac77b45c9387c3c56261e44049d52d7","warning":"restored from snapshot 3"}$' out
cat >want <<'EOF'
{"id":1,"external_id":"a","data":{"external_id":"a","price":500000,"rooms":3},"hash":"431477aa5ef6fd4f3c29b349747ec247","updated_at":"2026-01-11T00:00:00Z","synced_hash":"2ac77b45c9387c3c56261e44049d52d7","source":null,"has_manual_changes":true,"warning":"restored from snapshot 3"}
EOF
check_exit 'cat --manual' 0 sm-snapshot cat -t website --manual
check_same 'the restored row is marked as a manual change' want out
cat >want <<'EOF'
{"op":"restore","target":"website","external_id":"c","hash":"93815e904d329460fe948e768a33c228","prev_hash":"669a30f6ac6201bf51f7bdd234e4c3b6","warning":"restored from snapshot 4"}
{"op":"delete","target":"website","external_id":"d","hash":null,"prev_hash":"c1f22b2b4f9da1015d79585e49f20ec4","warning":"restored to 2026-01-01T00:00:00Z: created after it"}
EOF
check_exit 'restore -t --at --id' 0 at 2026-01-12T00:00:00Z \
    sm-snapshot restore -t website --at $D1 --id c --id d --id zz
check_same 'only the ids named' want out
check_exit 'target cat --at' 0 sm-snapshot cat -t website --at $D2 --id c
check 'an old version has no sync bookkeeping' grep_q \
    '"updated_at":"2026-01-02T00:00:00Z","synced_hash":null,"source":null,"has_manual_changes":null,"warning":null}$' out

# the run log: restores are runs, dry runs are not
cat >want <<'EOF'
8|success|{"restored":3,"deleted":1,"unchanged":0}
9|success|{"restored":3,"deleted":1,"unchanged":0}
10|success|{"restored":0,"deleted":0,"unchanged":3}
11|success|{"restored":1,"deleted":0,"unchanged":0}
12|success|{"restored":0,"deleted":0,"unchanged":1}
13|success|{"restored":0,"deleted":1,"unchanged":0}
14|success|{"restored":1,"deleted":0,"unchanged":0}
15|success|{"restored":1,"deleted":0,"unchanged":0}
16|success|{"restored":1,"deleted":1,"unchanged":0}
EOF
sqlite3 data/acme.db "SELECT id, status, stats FROM runs \
    WHERE kind = 'restore' ORDER BY id" >got
check_same 'restore runs' want got

# failures
check_exit 'show of a missing snapshot' 66 sm-snapshot show 999
check 'says which' grep_q "no snapshot 999 in tenant 'acme'" err
check_exit 'restore of a missing snapshot' 66 sm-snapshot restore 999
check_exit 'show without an id' 64 sm-snapshot show
check_exit 'show of a bad id' 64 sm-snapshot show 1x
check_exit 'restore without id or --at' 64 sm-snapshot restore
check_exit 'restore --at without -s/-t' 64 sm-snapshot restore --at $D1
check_exit 'restore with an id and --at' 64 sm-snapshot restore 1 --at $D1
check_exit '-s and -t' 64 sm-snapshot cat -s portal -t website
check_exit 'cat without -s/-t' 64 sm-snapshot cat
check_exit '--manual with -s' 64 sm-snapshot cat -s portal --manual
check_exit 'an option of another verb' 64 sm-snapshot list --label x
check_exit 'a bad time' 64 sm-snapshot cat -s portal --at yesterday
check_exit 'unknown verb' 64 sm-snapshot drop
check_exit 'missing source' 66 sm-snapshot cat -s nosuch
check_exit 'missing tenant' 66 sm-snapshot -T nosuch list
check_exit 'no tenant' 64 env -u SM_TENANT sm-snapshot list
check_exit '--help' 0 sm-snapshot --help
check 'usage on stdout' grep_q '^usage: sm-snapshot' out
done_testing
