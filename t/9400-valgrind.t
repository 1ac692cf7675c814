#!/bin/sh -e
# The main commands under valgrind: no invalid access, no use of
# uninitialised memory, no leak (an error exits 99).  Skipped without
# valgrind, and in a sanitizer build (make check-asan), which checks the
# same by other means.
cd "$(dirname "$0")"
. ./lib.sh
if ! command -v valgrind >/dev/null 2>&1 || [ -n "${SM_ASAN:-}" ]; then
	echo "1..0 # SKIP no valgrind, or a sanitizer build"
	exit 0
fi
plan 19

vg() {
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	    "$@"
}

check_exit 'sm-tenant create' 0 vg sm-tenant create Acme --slug acme
check_exit 'sm-tenant source add with a map' 0 vg sm-tenant -T acme source add feed \
    --type json --map 'select(.price > 0) | {external_id: .ref} + .' \
    --hash-ignore seen
check_exit 'sm-tenant target add' 0 vg sm-tenant -T acme target add web --type website
cat >v1.ndjson <<'EOF'
{"ref":"a","price":100,"rooms":[1,2],"geo":{"lat":52.5},"seen":"mon"}
{"ref":"b","price":200,"title":"Gr\u00fc\u00dfe \ud834\udd1e"}
{"ref":"c","price":0}
{"ref":"d","price":12345678901234567890}
{"ref":"e","price":"x"}
not json
EOF
check_exit 'sm-import with rejects' 65 vg sm-import -T acme -s feed --rejects rej v1.ndjson
check 'imported three, rejected what SPEC says' grep_q '3 created.* 2 rejected' err
check_exit 'sm-sync' 0 vg sm-sync -T acme feed web
# Without a map, import takes the fast path (sm_rec_fast).
sm-tenant -T acme source add plain --type json --hash-ignore seen >/dev/null
cat >v3.ndjson <<'EOF'
{"id":"p1","z":[1.5,-0,1e2,{"b":"\u00e9\n","a":null}],"a":"x","a":"y"}
{"external_id":7,"seen":"mon","t":"Gr\u00fc\u00dfe \ud834\udd1e"}
{"id":"p1","n":9007199254740994.0}
{"id":""}
EOF
check_exit 'sm-import without a map (the fast path)' 65 vg sm-import \
    -T acme -s plain --rejects rej3 v3.ndjson
check 'the fast path imported two, rejected two' grep_q \
    '2 created.* 2 rejected' err
cat >v2.json <<'EOF'
[{"ref":"a","price":110,"seen":"tue"},
 {"ref":"f","price":300}]
EOF
check_exit 'sm-import --complete (an array file)' 0 vg sm-import -T acme -s feed \
    --complete --allow-mass-delete v2.json
check_exit 'sm-import -t --merge (a manual edit)' 0 vg sm-import -T acme -t web --merge <<'EOF'
{"external_id":"a","price":99}
EOF
check_exit 'sm-sync with a conflict' 0 vg sm-sync -T acme feed web
check 'the conflict reported' grep_q '"op":"conflict"' out
check_exit 'sm-sync --overwrite-manual --stats' 0 vg sm-sync -T acme feed web \
    --overwrite-manual --stats
check_exit 'sm-import --history' 0 vg sm-import --history -T acme
check_exit 'sm-cleanup --vacuum' 0 vg sm-cleanup -T acme --days 0 --keep 0 --vacuum
check_exit 'sm-tenant check' 0 vg sm-tenant check acme
check_exit 'a usage error' 64 vg sm-import -T acme
check_exit 'a missing source' 66 vg sm-import -T acme -s nosuch v1.ndjson
check_exit 'sm-tenant delete' 0 vg sm-tenant delete acme --yes
done_testing
