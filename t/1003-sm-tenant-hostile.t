#!/bin/sh -e
# sm-tenant and the readers against hostile names, held locks, damaged
# files and a full disk.
cd "$(dirname "$0")"
. ./lib.sh
plan 22

cat >config.yaml <<EOF2
busy_timeout_ms: 300
EOF2

# Names: a control character would hide or rewrite text where the name is
# shown; it is refused, never cut.
check_exit 'a name with a control character' 64 \
    sm-tenant create "$(printf 'a\001b')" --slug ab
check 'says why' grep_q 'control character (U+0001)' err
check 'and makes nothing' test ! -e data/ab.db
check_exit 'a name with a newline' 64 sm-tenant create "$(printf 'a\nb')" \
    --slug ab
check_exit 'a name with a C1 control' 64 \
    sm-tenant create "$(printf 'a\302\233b')" --slug ab
check_exit 'an accented name is fine' 0 sm-tenant create 'Peñalver' --slug pe

# delete takes the write lock, as a run does: 75 while another holds it.
sm-tenant create Held --slug held >/dev/null 2>&1
(printf 'BEGIN IMMEDIATE;\nSELECT 1;\n'; sleep 2; printf 'COMMIT;\n') |
    sqlite3 data/held.db >/dev/null &
holder=$!
sleep 0.5
check_exit 'delete while another run writes' 75 \
    sm-tenant -c config.yaml delete held --yes
check 'busy, try again' grep_q "tenant 'held' is busy" err
check 'the tenant is still there' test -f data/held.db
wait $holder
check_exit 'delete once it is free' 0 sm-tenant -c config.yaml delete held --yes
check 'gone, WAL and all' test -z "$(ls data | grep held)"

# check: a property's latest change carries its hash.
sm-tenant create Log --slug log >/dev/null 2>&1
sm-tenant -T log source add s --type json >/dev/null
sm-tenant -T log target add t --type website >/dev/null
printf '{"id":1,"v":1}\n{"id":2,"v":2}\n' | sm-import -q -T log -s s >/dev/null
sm-sync -q -T log s t >/dev/null
check_exit 'a clean change log' 0 sm-tenant check log
sqlite3 data/log.db "UPDATE changes SET hash = '0123456789abcdef0123456789abcdef'
    WHERE seq = (SELECT seq FROM target_properties WHERE external_id = '2')"
check_exit 'a change whose hash is not its property'"'"'s' 65 sm-tenant check log
check 'is a change_log finding' test "$(jq -r .check out)" = change_log
check 'naming the change and the property' grep_q \
    'has hash 0123456789abcdef0123456789abcdef, the property ' out

# A stored property that does not parse is a damaged file: 65, like
# SQLITE_CORRUPT, in sm-diff too.
sqlite3 data/log.db "UPDATE target_properties SET data = '{\"id\":2,',
    hash = '00000000000000000000000000000000' WHERE external_id = '2'"
check_exit 'sm-diff on a damaged file' 65 sm-diff -T log s t
check 'says so' grep_q 'does not parse: the tenant file is damaged' err

# A full disk: the readers still read (the WAL index cannot be made).
mkdir disk
if mount -t tmpfs -o size=1m tmpfs disk 2>/dev/null; then
	trap 'umount "$SCRATCH/disk"; rm -rf "$SCRATCH"' EXIT
	sm-tenant -D disk/data create Full --slug full >/dev/null 2>&1
	sm-tenant -D disk/data -T full source add s --type json >/dev/null
	sm-tenant -D disk/data -T full target add t --type website >/dev/null
	printf '{"id":1}\n' | sm-import -q -D disk/data -T full -s s >/dev/null
	sm-sync -q -D disk/data -T full s t >/dev/null
	dd if=/dev/zero of=disk/fill bs=4k 2>/dev/null || :
	check_exit 'full: sm-snapshot cat' 0 \
	    sm-snapshot -D disk/data -T full cat -t t
	check 'reads the property' grep_q '"external_id":"1"' out
	check_exit 'full: sm-diff' 0 sm-diff -D disk/data -T full s t
	check_exit 'full: sm-tenant check' 0 sm-tenant -D disk/data check full
	check_exit 'full: a write still fails' 74 \
	    sm-import -q -D disk/data -T full -s s /dev/null
else
	for i in 1 2 3 4 5; do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # skip cannot mount a tmpfs (not root?)"
	done
fi
done_testing
