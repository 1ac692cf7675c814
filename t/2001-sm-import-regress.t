#!/bin/sh -e
# sm-import: every class of bad input, --rejects, exit codes, and the bugs
# fixed (duplicates, --merge key field, --strict messages, structural
# errors, the mass-delete guard).
cd "$(dirname "$0")"
. ./lib.sh
plan 70

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant -q create Acme --slug acme >/dev/null 2>&1
sm-tenant source add s --type api >/dev/null
summary() { sed 's/ in [0-9]*\.[0-9]* s/ in T s/' "$SCRATCH/err"; }
dump() {
	sqlite3 data/acme.db 'SELECT * FROM source_properties;
	    SELECT * FROM target_properties; SELECT * FROM snapshots;
	    SELECT * FROM changes'
}

# Every bad-input class: rejected with line and reason, the good records
# around them imported, the raw lines kept by --rejects.
deep=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "["; for (i = 0; i < 300; i++) printf "]" }')
{
	echo '{"id":"good1","price":1}'
	echo '{"id":"x",}'
	echo '["id"]'
	echo '{"title":"no key"}'
	echo '{"id":""}'
	echo '{"id":"n","price":12345678901234567890}'
	printf '{"id":"u","t":"caf\351"}\n'
	echo '{"id":"long","description":"this line is longer than the limit of 100 bytes, which is set in the config"}'
	echo '{"id":"e","x":1e400}'
	echo '{"id":"s","t":"\ud800"}'
	echo "{\"id\":\"d\",\"x\":$deep}" | cut -c1-90
	echo '{"id":null}'
	echo '{"id":2.5}'
	printf '{"id":"bad","t":"\377"}\n'
	echo '{"id":"good2","price":2}'
} >bad.ndjson
printf 'max_record_bytes: 100\n' >small.yaml
check_exit 'bad records: exit 65' 65 sm-import -c small.yaml -s s --rejects rej.txt bad.ndjson
cat >want <<'EOF'
{"op":"create","source":"s","external_id":"good1","hash":"3c5ecb585036e593ac1388f048f96b62"}
{"op":"create","source":"s","external_id":"good2","hash":"68c77da2783774d47a92520c0a3561f4"}
{"op":"reject","source":"s","file":"bad.ndjson","line":2,"error":"invalid JSON: unexpected '}'"}
{"op":"reject","source":"s","file":"bad.ndjson","line":3,"error":"record is not an object"}
{"op":"reject","source":"s","file":"bad.ndjson","line":4,"error":"no key: record has no 'external_id' or 'id'"}
{"op":"reject","source":"s","file":"bad.ndjson","line":5,"error":"key 'id' is an empty string"}
{"op":"reject","source":"s","file":"bad.ndjson","line":6,"error":"number 12345678901234567890 cannot be stored exactly: quote it as a string"}
{"op":"reject","source":"s","file":"bad.ndjson","line":7,"error":"invalid UTF-8"}
{"op":"reject","source":"s","file":"bad.ndjson","line":8,"error":"record longer than max_record_bytes (100)"}
{"op":"reject","source":"s","file":"bad.ndjson","line":9,"error":"number 1e400 cannot be stored exactly: quote it as a string"}
{"op":"reject","source":"s","file":"bad.ndjson","line":10,"error":"lone surrogate \\ud800"}
{"op":"reject","source":"s","file":"bad.ndjson","line":11,"error":"invalid JSON: the record is not closed before line 12"}
{"op":"reject","source":"s","file":"bad.ndjson","line":12,"error":"no key: record has no 'external_id' or 'id'"}
{"op":"reject","source":"s","file":"bad.ndjson","line":13,"error":"key 'id' is not a string or integer"}
{"op":"reject","source":"s","file":"bad.ndjson","line":14,"error":"invalid UTF-8"}
EOF
check_same 'create events, then one reject event per bad record' want out
cat >want <<'EOF'
sm-import: bad.ndjson:2: invalid JSON: unexpected '}'
sm-import: bad.ndjson:3: record is not an object
sm-import: bad.ndjson:4: no key: record has no 'external_id' or 'id'
sm-import: bad.ndjson:5: key 'id' is an empty string
sm-import: bad.ndjson:6: number 12345678901234567890 cannot be stored exactly: quote it as a string
sm-import: bad.ndjson:7: invalid UTF-8
sm-import: bad.ndjson:8: record longer than max_record_bytes (100)
sm-import: bad.ndjson:9: number 1e400 cannot be stored exactly: quote it as a string
sm-import: bad.ndjson:10: lone surrogate \ud800
sm-import: bad.ndjson:11: invalid JSON: the record is not closed before line 12
sm-import: bad.ndjson:12: no key: record has no 'external_id' or 'id'
sm-import: bad.ndjson:13: key 'id' is not a string or integer
sm-import: bad.ndjson:14: invalid UTF-8
sm-import: s: 2 created, 0 updated, 0 unchanged, 0 deleted, 13 rejected in T s
EOF
summary >got
check_same 'stderr: file, line and reason of each' want got
# The NDJSON line ["id"] is an array: its element is the record.
sed -n '2,14p' bad.ndjson | sed 's/^\["id"\]$/"id"/' >want
check_same '--rejects holds the exact raw lines, the long one too' want rej.txt
sm-import --history -s s >hist
check 'status partial in the run log' grep_q '"status":"partial"' hist

echo "{\"id\":\"d\",\"x\":$deep}" >deep.ndjson
check_exit 'nesting deeper than 256' 65 sm-import -s s deep.ndjson
check 'says so' grep_q '^sm-import: deep.ndjson:1: nesting deeper than 256' err

# An over-long line set by the environment, longer than a read buffer,
# with a CRLF end: kept whole (as LF) in --rejects.
awk 'BEGIN { printf "{\"id\":\"big\",\"p\":\""; for (i = 0; i < 100000; i++) printf "x"; printf "\"}\r\n" }' >big.ndjson
printf '{"id":"after"}\n' >>big.ndjson
check_exit 'SM_MAX_RECORD_BYTES' 65 env SM_MAX_RECORD_BYTES=1000 \
    sm-import -s s --rejects rej.txt big.ndjson
check 'line 1 rejected' grep_q '^sm-import: big.ndjson:1: record longer than max_record_bytes (1000)$' err
check 'line 2 imported' grep_q '"op":"create","source":"s","external_id":"after"' out
head -n 1 big.ndjson | tr -d '\r' >want
check_same 'the 100 kB line in --rejects' want rej.txt

# A jq runtime error rejects that record only.
sm-tenant source add mapped --type api --map '.price |= tonumber' >/dev/null
printf '{"id":"a","price":"12"}\n{"id":"b","price":"twelve"}\n{"id":"c","price":3}\n' >jq.ndjson
check_exit 'jq runtime error' 65 sm-import -s mapped --rejects rej.txt jq.ndjson
check 'a and c imported' test "$(grep -c '"op":"create"' out)" = 2
check 'reject event' grep_q '^{"op":"reject","source":"mapped","file":"jq.ndjson","line":2,"error":"map: jq: error: ' out
check 'stderr names line 2' grep_q '^sm-import: jq.ndjson:2: map: jq: error: ' err
sed -n 2p jq.ndjson >want
check_same 'raw line in --rejects' want rej.txt
check 'converted by the map' test "$(sqlite3 data/acme.db \
    "SELECT data FROM source_properties WHERE external_id = 'a'")" = '{"id":"a","price":12}'

# The seed's use case 4 file as printed, with its "//" comment: not JSON.
cat >seed.json <<'EOF'
[
  {
    "id": "PROP001",
    "title": "Beautiful Villa - UPDATED",
    "price": 520000,  // Price increased
    "bedrooms": 4,
    "location": "Madrid"
  }
]
EOF
check_exit 'a JSON file with a comment' 65 sm-import -s s seed.json
check 'rejected at the line where the element starts' \
    grep_q "^sm-import: seed.json:2: invalid JSON: " err

# Structural errors of an array file: event with file and line.
printf '[{"id":"t1"},\n{"id":"t2"}' >trunc.json
check_exit 'unterminated array' 65 sm-import -s s trunc.json
cat >want <<'EOF'
{"op":"create","source":"s","external_id":"t1","hash":"ee6765f5dfd9cffb73b00e29c79b4754"}
{"op":"create","source":"s","external_id":"t2","hash":"2d0a837de48716f8f9d45e0b12efeaa9"}
{"op":"reject","source":"s","file":"trunc.json","line":2,"error":"unexpected end of file: the array opened at line 1 is not closed"}
EOF
check_same 'the elements read are imported, the end rejected' want out
printf '[{"id":"t3"}] {"id":"t4"}\n' >after.json
check_exit 'an object after the array is read, as jq reads it' 0 sm-import -s s after.json
check 'both imported' test "$(grep -c '"op":"create"' out)" = 2
printf '[{"id":"t5"}] tail\n' >after.json
check_exit 'text after the array' 65 sm-import -s s after.json
check 'reject event' grep_q '^{"op":"reject","source":"s","file":"after.json","line":1,"error":"invalid JSON: .*"}$' out
check_exit 'unterminated array, --strict' 65 sm-import -s s --strict trunc.json
echo 'sm-import: trunc.json:2: unexpected end of file: the array opened at line 1 is not closed (--strict: nothing written)' >want
check_same 'one message' want err

# --strict through a map: the record's own error, said once.
sm-tenant source add explode --type api --map '.items[]' >/dev/null
echo '{"items":[{"id":"i1"},{"name":"no key"}]}' >items.ndjson
dump >before
check_exit '--strict, a mapped record without key' 65 sm-import -s explode --strict items.ndjson
echo "sm-import: items.ndjson:1: no key: record has no 'external_id' or 'id' (--strict: nothing written)" >want
check_same 'the error, once, not taken for a jq error' want err
dump >after
check_same 'nothing written' before after

# Duplicates: one event and one count per property; no snapshot of a
# version that never committed.
printf '{"id":"k1","v":1}\n{"id":"k2","v":1}\n' >k.ndjson
sm-import -q -s s k.ndjson >/dev/null
snaps=$(sqlite3 data/acme.db 'SELECT count(*) FROM snapshots')
cat >dup.ndjson <<'EOF'
{"id":"k1","v":2}
{"id":"k1","v":3}
{"id":"k2","v":1}
{"id":"k2","v":5}
{"id":"k3","v":1}
{"id":"k3","v":2}
EOF
check_exit 'duplicates' 0 sm-import -s s dup.ndjson
cat >want <<'EOF'
{"op":"update","source":"s","external_id":"k1","hash":"e1447495bc130aa2cf10808950431349","prev_hash":"4b6f926117a80c1f4d283c637a3d083d"}
{"op":"update","source":"s","external_id":"k2","hash":"dc2c8d7cf2361cd6dd0b093d3397b5a9","prev_hash":"1dff930c81e9fafce83c0f99dbd8734e"}
{"op":"create","source":"s","external_id":"k3","hash":"8f23b3520161e956dc0f62d46c26c96e"}
EOF
check_same 'one event per key, with the later hash' want out
cat >want <<'EOF'
sm-import: dup.ndjson:2: duplicate key 'k1': the later record wins
sm-import: dup.ndjson:4: duplicate key 'k2': the later record wins
sm-import: dup.ndjson:6: duplicate key 'k3': the later record wins
sm-import: s: 1 created, 2 updated, 0 unchanged, 0 deleted, 0 rejected in T s
EOF
summary >got
check_same 'warnings and per-property counts' want got
check 'one snapshot per updated key' test \
    "$(sqlite3 data/acme.db 'SELECT count(*) FROM snapshots')" = $((snaps + 2))
sqlite3 data/acme.db "SELECT data FROM snapshots WHERE external_id IN ('k1', 'k2') ORDER BY id DESC LIMIT 2" >got
printf '{"id":"k2","v":1}\n{"id":"k1","v":1}\n' >want
check_same 'of the committed versions' want got
printf '{"id":"k1","v":9}\n{"id":"k1","v":3}\n' >undo.ndjson
counts=$(sqlite3 data/acme.db 'SELECT count(*) FROM changes; SELECT count(*) FROM snapshots')
check_exit 'a duplicate that puts the stored version back' 0 sm-import -s s undo.ndjson
check 'no event' test ! -s out
check 'counted unchanged' grep_q '^sm-import: s: 0 created, 0 updated, 1 unchanged, 0 deleted, 0 rejected' err
check 'no change, no snapshot left' test "$(sqlite3 data/acme.db \
    'SELECT count(*) FROM changes; SELECT count(*) FROM snapshots')" = "$counts"
check 'data as before' test "$(sqlite3 data/acme.db \
    "SELECT data FROM source_properties WHERE external_id = 'k1'")" = '{"id":"k1","v":3}'

# --merge: only the member that names the record is left out.
sm-tenant target add web --type website >/dev/null
echo '{"external_id":"W","id":"internal-1","t":1}' >w1
sm-import -q -t web w1 >/dev/null
printf '{"external_id":"W","id":"internal-2"}\n{"id":"W","t":2}\n' >w2
check_exit '--merge keyed by external_id, then by id' 0 sm-import -t web --merge w2
check 'a data member "id" is merged' test "$(sqlite3 data/acme.db \
    'SELECT data FROM target_properties')" = '{"external_id":"W","id":"internal-2","t":2}'

# The mass-delete guard counts the properties the source had before.
sm-tenant source add g --type api >/dev/null
printf '{"id":"1"}\n{"id":"2"}\n{"id":"3"}\n{"id":"4"}\n' >old
printf '{"id":"n1"}\n{"id":"n2"}\n{"id":"n3"}\n{"id":"n4"}\n' >new
sm-import -q -s g old >/dev/null
dump >before
check_exit '--complete with every key new' 65 sm-import -s g --complete new
check 'refused' grep_q "would delete 4 of 4 properties of 'g'" err
dump >after
check_same 'nothing written' before after

# Exit codes.
check_exit 'no -s or -t' 64 sm-import old
check 'usage' grep_q '^usage: sm-import' err
check_exit '-s and -t' 64 sm-import -s g -t web old
check_exit '--merge with -s' 64 sm-import -s g --merge old
check_exit 'unknown option' 64 sm-import -s g --bogus old
check_exit 'no tenant' 64 env -u SM_TENANT sm-import -s g old
check_exit 'no such tenant' 66 sm-import -T nosuch -s g old
check_exit 'no such source' 66 sm-import -s nosuch old
check "says so" grep_q "^sm-import: no source 'nosuch' in tenant 'acme'$" err
check_exit 'no such target' 66 sm-import -t nosuch old
check_exit 'no such file' 66 sm-import -s g old nosuch.ndjson
check 'says so' grep_q "^sm-import: cannot open 'nosuch.ndjson': No such file or directory$" err
check 'and imports nothing' test ! -s out
check_exit 'a directory' 66 sm-import -s g .
check_exit '--history of no such source' 66 sm-import --history -s nosuch
check_exit 'bad config' 78 sm-import -c nosuch.yaml -s g old
check_exit 'bad --rejects path' 73 sm-import -s g --rejects nodir/rej old
check_exit '--help' 0 sm-import --help
check 'usage on stdout' grep_q '^usage: sm-import' out
check_exit '--version' 0 sm-import --version
check 'version' grep_q '^sm-import [0-9]' out

# A key three times, the second record taking the row back to its stored
# version: once a fatal "no change in the log", now one update.
sm-tenant source add thrice --type api >/dev/null
echo '{"id":"k","v":1}' | sm-import -q -s thrice >/dev/null
printf '{"id":"k","v":2}\n{"id":"k","v":1}\n{"id":"k","v":3}\n' >thrice.ndjson
check_exit 'a key three times, back and forth' 0 sm-import -s thrice thrice.ndjson
check 'one update event' test "$(grep -c '"op":"update"' out)" = 1
check 'the last record wins' test "$(sqlite3 data/acme.db "SELECT data FROM source_properties WHERE external_id = 'k' AND source_id = (SELECT id FROM sources WHERE name = 'thrice')")" = '{"id":"k","v":3}'
check_exit 'tenant clean' 0 sm-tenant check acme
done_testing
