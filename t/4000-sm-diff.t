#!/bin/sh -e
# sm-diff: source against target (what sync would do), an input against a
# source (what import would do), --since, --snapshot, --id, the exit codes,
# and that it never writes.
cd "$(dirname "$0")"
. ./lib.sh
plan 87

SM_TENANT=acme
export SM_TENANT
D1=2026-01-01T00:00:00Z D2=2026-01-02T00:00:00Z D3=2026-01-03T00:00:00Z
D4=2026-01-04T00:00:00Z
at() { now=$1; shift; env SM_NOW="$now" "$@"; }
dump() { sqlite3 data/acme.db .dump; }
# "external_id op" of each record of sm-diff, or of each event of sm-sync.
ops() { sed 's/^{"external_id":"\([^"]*\)","op":"\([a-z]*\)".*/\1 \2/' "$1"; }
events() {
	sed 's/^{"op":"\([a-z]*\)".*"external_id":"\([^"]*\)".*/\2 \1/' "$1" |
	    sort
}

sm-tenant init >/dev/null
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add feed --type json >/dev/null
sm-tenant target add website --type website >/dev/null
cat >day1.ndjson <<'EOF'
{"id":"p1","price":500000,"location":{"city":"Paris","zip":"75001"},"features":["balcony"]}
{"id":"p2","price":300000,"location":{"city":"Lyon"}}
{"id":"p3","price":200000,"rooms":3}
{"id":"p4","price":100000}
EOF
cat >day3.ndjson <<'EOF'
{"id":"p1","price":520000,"location":{"city":"Marseille","zip":"75001"},"features":["balcony","garden"],"price/m2":5200}
{"id":"p2","price":300000,"location":{"city":"Lyon"}}
{"id":"p3","price":210000,"rooms":3}
{"id":"p5","price":150000}
EOF

# Day 1: imported, not yet synced: everything would be created.
check_exit 'day 1 import' 0 at $D1 sm-import -q -s feed day1.ndjson
check_exit 'before the first sync: differences, exit 1' 1 sm-diff feed website
cat >want <<'EOF'
{"external_id":"p1","op":"create","changes":[{"op":"add","path":"","value":{"features":["balcony"],"id":"p1","location":{"city":"Paris","zip":"75001"},"price":500000}}]}
{"external_id":"p2","op":"create","changes":[{"op":"add","path":"","value":{"id":"p2","location":{"city":"Lyon"},"price":300000}}]}
{"external_id":"p3","op":"create","changes":[{"op":"add","path":"","value":{"id":"p3","price":200000,"rooms":3}}]}
{"external_id":"p4","op":"create","changes":[{"op":"add","path":"","value":{"id":"p4","price":100000}}]}
EOF
check_same 'every property would be created, whole' want out
check 'the summary is on stderr' grep_q '^sm-diff: feed -> website: 4 of 4 differ$' err
check_exit '-q silences the summary' 1 sm-diff -q feed website
check 'nothing on stderr' test ! -s err
check_exit '-s and -t are the same as the operands' 1 sm-diff -q -s feed -t website
check_same 'same output' want out
check_exit 'ids work for names' 1 sm-diff -q 1 1
check_same 'same output by id' want out

# Day 2: synced: nothing differs.
check_exit 'day 2 sync' 0 at $D2 sm-sync -q feed website
check_exit 'after the sync nothing differs: exit 0' 0 sm-diff feed website
check 'and nothing is printed' test ! -s out

# What importing day 3 would change, before it is imported.
check_exit 'import preview: differences' 1 sm-diff -q -s feed day3.ndjson
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"add","path":"/features/1","value":"garden"},{"op":"replace","path":"/location/city","from":"Paris","value":"Marseille"},{"op":"replace","path":"/price","from":500000,"value":520000},{"op":"add","path":"/price~1m2","value":5200}]}
{"external_id":"p3","op":"update","changes":[{"op":"replace","path":"/price","from":200000,"value":210000}]}
{"external_id":"p5","op":"create","changes":[{"op":"add","path":"","value":{"id":"p5","price":150000}}]}
EOF
check_same 'nested changes, a grown array, a key with "/"; unchanged p2 silent' \
    want out
check_exit 'the preview from stdin' 1 sh -c 'sm-diff -q -s feed <day3.ndjson'
check_same 'same output' want out
check_exit 'the preview limited by --id' 1 sm-diff -q -s feed --id p3 day3.ndjson
sed -n 2p want >want1
check_same 'only p3' want1 out
check_exit 'an input that changes nothing: exit 0' 0 sm-diff -q -s feed day1.ndjson
check 'nothing printed' test ! -s out

# Day 3: the source changes (p4 gone), the website is edited by hand.
check_exit 'day 3 import --complete' 0 at $D3 sm-import -q -s feed --complete \
    day3.ndjson
cat >edit.ndjson <<'EOF'
{"id":"p2","price":295000}
{"id":"p3","rooms":4}
EOF
check_exit 'manual edits on the website' 0 at 2026-01-03T12:00:00Z \
    sm-import -q -t website --merge edit.ndjson
check_exit 'source against target' 1 sm-diff -q feed website
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"add","path":"/features/1","value":"garden"},{"op":"replace","path":"/location/city","from":"Paris","value":"Marseille"},{"op":"replace","path":"/price","from":500000,"value":520000},{"op":"add","path":"/price~1m2","value":5200}]}
{"external_id":"p2","op":"skip","warning":"target has manual modifications","changes":[{"op":"replace","path":"/price","from":295000,"value":300000}]}
{"external_id":"p3","op":"conflict","warning":"source has changes but target has manual modifications","changes":[{"op":"replace","path":"/price","from":200000,"value":210000},{"op":"replace","path":"/rooms","from":4,"value":3}]}
{"external_id":"p4","op":"delete","changes":[{"op":"remove","path":"","from":{"id":"p4","price":100000}}]}
{"external_id":"p5","op":"create","changes":[{"op":"add","path":"","value":{"id":"p5","price":150000}}]}
EOF
check_same 'update, skip and conflict with warnings, delete, create' want out
ops out >got
check_exit 'sm-sync --dry-run' 0 sm-sync -q -n feed website
events out >want
check_same 'diff names the properties and ops sync would' want got
check_exit '--id limits source against target' 1 sm-diff -q --id p5 --id p2 \
    feed website
printf 'p2 skip\np5 create\n' >want
ops out >got
check_same 'only p2 and p5' want got
check_exit '--overwrite-manual shows what that sync would do' 1 \
    sm-diff -q --overwrite-manual feed website
printf 'p1 update\np2 update\np3 update\np4 delete\np5 create\n' >want
ops out >got
check_same 'manual rows become updates' want got
check_exit '--accept-manual shows what that sync would do' 1 \
    sm-diff -q --accept-manual feed website
printf 'p1 update\np4 delete\np5 create\n' >want
ops out >got
check_same 'manual rows are left alone' want got

# What changed since a time, from the snapshots.
check_exit 'source --since' 1 sm-diff -q -s feed --since 2026-01-02T12:00:00Z
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"add","path":"/features/1","value":"garden"},{"op":"replace","path":"/location/city","from":"Paris","value":"Marseille"},{"op":"replace","path":"/price","from":500000,"value":520000},{"op":"add","path":"/price~1m2","value":5200}]}
{"external_id":"p3","op":"update","changes":[{"op":"replace","path":"/price","from":200000,"value":210000}]}
{"external_id":"p4","op":"delete","changes":[{"op":"remove","path":"","from":{"id":"p4","price":100000}}]}
{"external_id":"p5","op":"create","changes":[{"op":"add","path":"","value":{"id":"p5","price":150000}}]}
EOF
check_same 'updates, a delete and a create since day 2' want out
check_exit 'target --since' 1 sm-diff -q -t website --since 2026-01-02T12:00:00Z
cat >want <<'EOF'
{"external_id":"p2","op":"update","changes":[{"op":"replace","path":"/price","from":300000,"value":295000}]}
{"external_id":"p3","op":"update","changes":[{"op":"replace","path":"/rooms","from":3,"value":4}]}
EOF
check_same 'the manual edits' want out
check_exit '--since as an age' 1 at 2026-01-03T13:00:00Z \
    sm-diff -q -t website --since 1d
check_same 'same as the time it stands for' want out
cat >observed.ndjson <<'EOF'
{"id":"p2","price":295000,"location":{"city":"Lyon"}}
{"id":"p1","price":500000,"location":{"city":"Paris","zip":"75001"},"features":[]}
EOF
check_exit 'what importing observed target state would change' 1 \
    sm-diff -q -t website observed.ndjson
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"remove","path":"/features/0","from":"balcony"}]}
EOF
check_same 'p1 loses its feature; p2 is as observed' want out
check_exit '--since a date, with --id' 1 sm-diff -q -s feed --since 2025-12-31 \
    --id p4 --id p1
cat >want <<'EOF'
{"external_id":"p1","op":"create","changes":[{"op":"add","path":"","value":{"features":["balcony","garden"],"id":"p1","location":{"city":"Marseille","zip":"75001"},"price":520000,"price/m2":5200}}]}
EOF
check_same 'created since; p4 came and went: nothing' want out
check_exit '--since now: nothing changed' 0 sm-diff -q -s feed --since $D4

# Bad records and duplicate keys in an import preview.
cat >day3b.ndjson <<'EOF'
{"id":"p6","price":1}
{"id":"p7",
{"price":2}
{"id":"p5","price":160000}
{"id":"p5","price":150000}
{"id":"p3","price":220000}
{"id":"p3","price":230000}
EOF
check_exit 'bad records: exit 65' 65 sm-diff -q -s feed day3b.ndjson
check 'the bad JSON named by file:line' grep_q '^sm-diff: day3b.ndjson:2: ' err
check 'the record without key named by file:line' \
    grep_q '^sm-diff: day3b.ndjson:3: ' err
check 'duplicates warned about' \
    grep_q "day3b.ndjson:5: duplicate key 'p5': the later record wins" err
cat >want <<'EOF'
{"external_id":"p6","op":"create","changes":[{"op":"add","path":"","value":{"id":"p6","price":1}}]}
{"external_id":"p3","op":"update","changes":[{"op":"replace","path":"/price","from":210000,"value":230000},{"op":"remove","path":"/rooms","from":3}]}
EOF
check_same 'good records still shown; the later of a key wins, as in import' \
    want out
check_exit 'sm-import agrees on the duplicates' 65 sm-import -q -n -s feed \
    day3b.ndjson
grep -v '"op":"reject"' out | events /dev/stdin >want
printf 'p3 update\np6 create\n' >got
check_same 'the same two events' want got

# Snapshots.
cat >day4.ndjson <<'EOF'
{"id":"p1","price":530000,"location":{"city":"Marseille","zip":"75001"},"features":["balcony","garden"],"price/m2":5300}
EOF
check_exit 'day 4 import' 0 at $D4 sm-import -q -s feed day4.ndjson
snap() {
	sqlite3 data/acme.db "SELECT id FROM snapshots WHERE external_id = '$1'
	    AND taken_at = (strftime('%s', '$2') * 1000) ORDER BY id LIMIT 1"
}
s1d3=$(snap p1 2026-01-03) s1d4=$(snap p1 2026-01-04) s4=$(snap p4 2026-01-03)
check 'snapshots found' test -n "$s1d3" -a -n "$s1d4" -a -n "$s4"
dump >before
check_exit '--snapshot against now' 1 sm-diff -q --snapshot "$s1d3"
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"add","path":"/features/1","value":"garden"},{"op":"replace","path":"/location/city","from":"Paris","value":"Marseille"},{"op":"replace","path":"/price","from":500000,"value":530000},{"op":"add","path":"/price~1m2","value":5300}]}
EOF
check_same 'day 2 version against now' want out
check_exit 'two snapshots' 1 sm-diff -q --snapshot "$s1d4" --snapshot "$s1d3"
cat >want <<'EOF'
{"external_id":"p1","op":"update","changes":[{"op":"remove","path":"/features/1","from":"garden"},{"op":"replace","path":"/location/city","from":"Marseille","value":"Paris"},{"op":"replace","path":"/price","from":520000,"value":500000},{"op":"remove","path":"/price~1m2","from":5200}]}
EOF
check_same 'first against second' want out
check_exit 'a snapshot of a deleted property' 1 sm-diff -q --snapshot "$s4"
cat >want <<'EOF'
{"external_id":"p4","op":"delete","changes":[{"op":"remove","path":"","from":{"id":"p4","price":100000}}]}
EOF
check_same 'shows the delete' want out
check_exit 'a snapshot against itself' 0 sm-diff -q --snapshot "$s4" --snapshot "$s4"
check_exit 'snapshots of two properties' 64 sm-diff --snapshot "$s1d3" \
    --snapshot "$s4"
check 'says why' grep_q 'are not of the same property' err
check_exit 'no such snapshot' 66 sm-diff --snapshot 999
check 'names it' grep_q 'no snapshot 999' err

# None of it wrote anything.
sm-diff -q feed website >/dev/null || :
sm-diff -q -s feed day3b.ndjson >/dev/null 2>&1 || :
sm-diff -q -t website --since 2026-01-01 >/dev/null || :
dump >after
check_same 'the tenant file is unchanged by sm-diff' before after

# Accepting the manual versions leaves only what sync would still do.
check_exit 'sync --accept-manual' 0 at 2026-01-05T00:00:00Z \
    sm-sync -q --accept-manual feed website
check_exit 'sync' 0 at 2026-01-05T00:00:00Z sm-sync -q feed website
check_exit 'all synced: exit 0' 0 sm-diff feed website
check 'nothing printed' test ! -s out

# Usage and lookup failures.
# why WANT: stderr says "sm-diff: WANT" first, then the usage.
why() {
	test "$(sed -n 1p err)" = "sm-diff: $1" &&
	    sed -n 2p err | grep -q '^usage: sm-diff'
}
check_exit 'no operand' 64 sm-diff
check 'says why' why 'missing operands: SOURCE TARGET'
check_exit 'one operand' 64 sm-diff feed
check 'says why' why 'missing operand: TARGET'
check_exit 'three operands' 64 sm-diff feed website x
check 'says why' why "extra operand 'x'"
check_exit '-s, -t and an operand' 64 sm-diff -s feed -t website x
check 'says why' why "extra operand 'x'"
check_exit '--since without -s or -t' 64 sm-diff --since 1d feed website
check_exit 'a bad --since' 64 sm-diff -s feed --since yesterday
check_exit 'a bad --snapshot' 64 sm-diff --snapshot x1
check_exit 'no tenant' 64 env SM_TENANT= sm-diff feed website
check_exit 'no such tenant' 66 sm-diff -T nosuch feed website
check_exit 'no such source' 66 sm-diff nosuch website
check_exit 'no such target' 66 sm-diff feed nosuch
check_exit 'no such file' 66 sm-diff -s feed missing.ndjson
check_exit '--help' 0 sm-diff --help
check 'usage on stdout' grep_q '^usage: sm-diff ' out
done_testing
