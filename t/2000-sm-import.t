#!/bin/sh -e
# sm-import: the seed's use cases 1 and 4, inputs, keys, maps, hash_ignore,
# --complete, --strict, --rejects, --dry-run, --stats, targets, --history.
# Hashes are XXH3-128 of the canonical form (xxh128sum of the stored data).
cd "$(dirname "$0")"
. ./lib.sh
plan 92

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant -q create Acme --slug acme >/dev/null 2>&1
# The summary line with its elapsed time made constant.
summary() { sed 's/ in [0-9]*\.[0-9]* s/ in T s/' "$SCRATCH/err"; }
# Everything an import may write, but the run log.
dump() {
	sqlite3 data/acme.db 'SELECT * FROM source_properties;
	    SELECT * FROM target_properties; SELECT * FROM snapshots;
	    SELECT * FROM changes'
}

# Use case 1: the seed's properties.json, a JSON array, into source 1.
sm-tenant source add 'Property Listings' --type json >/dev/null
cat >properties.json <<'EOF'
[
  {
    "id": "PROP001",
    "title": "Beautiful Villa",
    "price": 500000,
    "bedrooms": 4,
    "location": "Madrid"
  },
  {
    "id": "PROP002",
    "title": "City Apartment",
    "price": 250000,
    "bedrooms": 2,
    "location": "Barcelona"
  }
]
EOF
check_exit 'use case 1: import properties.json' 0 sm-import -s 1 properties.json
cat >want <<'EOF'
{"op":"create","source":"Property Listings","external_id":"PROP001","hash":"5be8b3387c36b49f1fa1d32d8578b586"}
{"op":"create","source":"Property Listings","external_id":"PROP002","hash":"d791f1c838fda8e7ba7966678b8bf548"}
EOF
check_same 'use case 1: two create events' want out
echo 'sm-import: Property Listings: 2 created, 0 updated, 0 unchanged, 0 deleted, 0 rejected in T s' >want
summary >got
check_same 'use case 1: summary says 2 created' want got
sqlite3 data/acme.db 'SELECT external_id, data, hash FROM source_properties' >got
cat >want <<'EOF'
PROP001|{"bedrooms":4,"id":"PROP001","location":"Madrid","price":500000,"title":"Beautiful Villa"}|5be8b3387c36b49f1fa1d32d8578b586
PROP002|{"bedrooms":2,"id":"PROP002","location":"Barcelona","price":250000,"title":"City Apartment"}|d791f1c838fda8e7ba7966678b8bf548
EOF
check_same 'stored in canonical form with its hash' want got

# Use case 4: the seed's updated file re-imported.
cat >properties.json <<'EOF'
[
  {
    "id": "PROP001",
    "title": "Beautiful Villa - UPDATED",
    "price": 520000,
    "bedrooms": 4,
    "location": "Madrid"
  }
]
EOF
check_exit 'use case 4: re-import' 0 sm-import -s 'Property Listings' properties.json
cat >want <<'EOF'
{"op":"update","source":"Property Listings","external_id":"PROP001","hash":"e4cac5f546e3e779f91c1e12687ec2d3","prev_hash":"5be8b3387c36b49f1fa1d32d8578b586"}
EOF
check_same 'use case 4: one update event with prev_hash' want out
echo 'sm-import: Property Listings: 0 created, 1 updated, 0 unchanged, 0 deleted, 0 rejected in T s' >want
summary >got
check_same 'use case 4: summary says 1 updated' want got
sqlite3 data/acme.db 'SELECT external_id, reason, data, hash FROM snapshots' >got
cat >want <<'EOF'
PROP001|update|{"bedrooms":4,"id":"PROP001","location":"Madrid","price":500000,"title":"Beautiful Villa"}|5be8b3387c36b49f1fa1d32d8578b586
EOF
check_same 'use case 4: a snapshot of the old version' want got
sqlite3 data/acme.db "SELECT data FROM source_properties WHERE external_id = 'PROP001'" >got
echo '{"bedrooms":4,"id":"PROP001","location":"Madrid","price":520000,"title":"Beautiful Villa - UPDATED"}' >want
check_same 'use case 4: the new version stored' want got

# An identical re-import writes nothing and prints nothing.
before=$(sqlite3 data/acme.db 'SELECT count(*) FROM changes; SELECT count(*) FROM snapshots')
check_exit 'identical re-import' 0 sm-import -s 'Property Listings' properties.json
check 'no events' test ! -s out
check 'no change logged, no snapshot taken' test "$(sqlite3 data/acme.db \
    'SELECT count(*) FROM changes; SELECT count(*) FROM snapshots')" = "$before"
echo 'sm-import: Property Listings: 0 created, 0 updated, 1 unchanged, 0 deleted, 0 rejected in T s' >want
summary >got
check_same 'summary says 1 unchanged' want got

# Inputs: stdin, several files, "-", NDJSON and arrays mixed.
sm-tenant source add portal --type scraped >/dev/null
cat >a.ndjson <<'EOF'
{"external_id":"A1","price":100}

{"external_id":"A2","price":200}
EOF
printf '[{"external_id":"B1","price":1}, {"external_id":"B2","price":2}]' >b.json
check_exit 'cat FILE | sm-import -s portal' 0 sh -c 'cat a.ndjson | sm-import -s portal'
cat >want <<'EOF'
{"op":"create","source":"portal","external_id":"A1","hash":"1e3443444ab56706860a7f6795258b4f"}
{"op":"create","source":"portal","external_id":"A2","hash":"6ffae9bc498966ed87b2ba7b0148339a"}
EOF
check_same 'stdin read as NDJSON, blank line skipped' want out
printf '{"external_id":"C1","price":3}\n' >c.ndjson
check_exit 'files and - for stdin' 0 sm-import -s portal b.json - a.ndjson <c.ndjson
cat >want <<'EOF'
{"op":"create","source":"portal","external_id":"B1","hash":"191fa6e0f8ac89d5df3d91f64ecbb3a5"}
{"op":"create","source":"portal","external_id":"B2","hash":"f30fb47a02427eac368213cbdb417889"}
{"op":"create","source":"portal","external_id":"C1","hash":"14399c8d390a031a4646e5c307a564cd"}
EOF
check_same 'events in input order: array file, stdin, NDJSON file' want out
echo 'sm-import: portal: 3 created, 0 updated, 2 unchanged, 0 deleted, 0 rejected in T s' >want
summary >got
check_same 'A1 and A2 unchanged' want got
printf '\357\273\277[\r\n{"external_id":"B1","price":1}\r\n]\r\n' >bom.json
printf '{"external_id":"C1","price":3}\r\n' >crlf.ndjson
check_exit 'BOM and CRLF accepted' 0 sm-import -s portal bom.json crlf.ndjson
check 'nothing changed' test ! -s out

# Keys: external_id, else id, else --id-field; 7 and "7" are one key.
sm-tenant source add keys --type api --id-field ref >/dev/null
cat >k.ndjson <<'EOF'
{"external_id":"E","id":"not-this","ref":"nor-this"}
{"id":7,"ref":"not-this"}
{"ref":"R"}
EOF
check_exit 'keys' 0 sm-import -q -s keys k.ndjson
sqlite3 data/acme.db "SELECT external_id FROM source_properties p JOIN sources s
    ON s.id = p.source_id WHERE s.name = 'keys' ORDER BY p.id" >got
printf 'E\n7\nR\n' >want
check_same 'external_id, then id, then the id field' want got
echo '{"id":"7","ref":"not-this"}' >k7
check_exit '"7" is the key of 7' 0 sm-import -q -s keys k7
check 'an update of the same row' grep_q '^{"op":"update","source":"keys","external_id":"7",' out
check 'still three rows' test "$(sqlite3 data/acme.db \
    'SELECT count(*) FROM source_properties WHERE source_id = 3')" = 3

# A map program: 0, 1 or many records per input record.
sm-tenant source add feed --type api --map \
    '.listings[] | select(.active) | {external_id: .ref, price}' >/dev/null
cat >feed.ndjson <<'EOF'
{"listings":[{"ref":"F1","price":1,"active":true},{"ref":"F2","price":2,"active":true},{"ref":"F3","price":3,"active":false}]}
{"listings":[]}
{"listings":[{"ref":"F4","price":4,"active":true}]}
EOF
check_exit 'map explodes and filters' 0 sm-import -s feed feed.ndjson
cat >want <<'EOF'
{"op":"create","source":"feed","external_id":"F1","hash":"5c046361bf4b36c0024d0c5ee7722afb"}
{"op":"create","source":"feed","external_id":"F2","hash":"60b34c1fade26f50223df5f4c5b58067"}
{"op":"create","source":"feed","external_id":"F4","hash":"b04fd9e66cdbb4f6b79285ac5f03de0d"}
EOF
check_same 'three records out of three lines' want out
sqlite3 data/acme.db "SELECT data FROM source_properties WHERE external_id = 'F4'" >got
echo '{"external_id":"F4","price":4}' >want
check_same 'the mapped record is what is stored' want got
echo '{"listings":[{"ref":"F1","price":1,"active":false}]}' >drop
check_exit 'a record the map drops' 0 sm-import -s feed drop
check 'is not an event' test ! -s out
echo 'sm-import: feed: 0 created, 0 updated, 0 unchanged, 0 deleted, 0 rejected in T s' >want
summary >got
check_same 'and counts nothing' want got

# hash_ignore: per source (--hash-ignore) and global (config).
sm-tenant source add scrape --type scraped --hash-ignore scraped_at >/dev/null
echo '{"id":"S","price":1,"scraped_at":"2026-11-28","seen":1}' >s1
echo '{"id":"S","price":1,"scraped_at":"2026-11-29","seen":1}' >s2
echo '{"id":"S","price":1,"scraped_at":"2026-11-29","seen":2}' >s3
sm-import -q -s scrape s1 >/dev/null
check_exit 'only scraped_at changed' 0 sm-import -s scrape s2
check 'unchanged: no event' test ! -s out
check 'the stored data stays' test "$(sqlite3 data/acme.db \
    "SELECT data FROM source_properties WHERE external_id = 'S'")" = \
    '{"id":"S","price":1,"scraped_at":"2026-11-28","seen":1}'
printf 'hash_ignore: [seen]\n' >global.yaml
sm-import -q -c global.yaml -s scrape s2 >/dev/null	# the hash without seen
check_exit 'only seen changed, seen ignored by the config' 0 \
    sm-import -c global.yaml -s scrape s3
check 'unchanged' test ! -s out
check_exit 'without that config seen counts' 0 sm-import -s scrape s3
check 'an update' grep_q '"op":"update","source":"scrape","external_id":"S"' out

# --complete: absent properties are tombstoned, a snapshot first.
sm-tenant source add full --type api >/dev/null
printf '{"id":"1"}\n{"id":"2"}\n{"id":"3"}\n{"id":"4"}\n{"id":"5"}\n' >five
printf '{"id":"1"}\n{"id":"2"}\n{"id":"3"}\n' >three
printf '{"id":"1"}\n' >one
sm-import -q -s full five >/dev/null
check_exit '--complete' 0 sm-import -s full --complete three
cat >want <<'EOF'
{"op":"delete","source":"full","external_id":"4","hash":null,"prev_hash":"89035c3d90351312eb0c9e8112313729"}
{"op":"delete","source":"full","external_id":"5","hash":null,"prev_hash":"fbd85030a6cd60fced72750418b7d680"}
EOF
check_same 'two delete events' want out
echo 'sm-import: full: 0 created, 0 updated, 3 unchanged, 2 deleted, 0 rejected in T s' >want
summary >got
check_same 'summary says 2 deleted' want got
sqlite3 data/acme.db "SELECT p.external_id, p.deleted_at IS NOT NULL, s.reason, s.data
    FROM source_properties p JOIN snapshots s ON s.property_id = p.id AND s.source_id = p.source_id
    WHERE p.source_id = (SELECT id FROM sources WHERE name = 'full')" >got
cat >want <<'EOF'
4|1|delete|{"id":"4"}
5|1|delete|{"id":"5"}
EOF
check_same 'tombstones, each with a snapshot' want got
dump >before
check_exit 'deleting 2 of 3 is refused' 65 sm-import -s full --complete one
check 'nothing printed' test ! -s out
check 'says why' grep_q "would delete 2 of 3 properties of 'full', more than max_delete_ratio 0.5 allows: nothing written" err
dump >after
check_same 'nothing written' before after
printf 'import:\n  max_delete_ratio: 0.7\n' >ratio.yaml
check_exit 'import.max_delete_ratio from the config' 0 \
    sm-import -c ratio.yaml -n -s full --complete one
check_exit '--allow-mass-delete' 0 sm-import -s full --complete --allow-mass-delete one
check 'deletes 2 and 3' test "$(grep -c '"op":"delete"' out)" = 2
printf '{"id":"1"}\n{"id":"5"}\n' >back
check_exit 'a tombstoned key comes back' 0 sm-import -s full back
check 'as a create' grep_q '^{"op":"create","source":"full","external_id":"5",' out
printf '{"id":"1"}\n{"id":\n' >broken
check_exit '--complete with a rejected record' 65 sm-import -s full --complete broken
check 'deletes nothing' test "$(grep -c '"op":"delete"' out)" = 0
check 'and says so' grep_q '^sm-import: --complete: 1 record rejected, so nothing is deleted' err

# --strict: the first bad record aborts the run; nothing is written.
printf '{"id":"s1"}\n{"id":"s2"}\n{"id"\n{"id":"s3"}\n' >strict.ndjson
dump >before
check_exit '--strict' 65 sm-import -s full --strict strict.ndjson
check 'no events' test ! -s out
echo 'sm-import: strict.ndjson:3: invalid JSON: the record is not closed before line 4 (--strict: nothing written)' >want
check_same 'one message naming line 3' want err
dump >after
check_same '--strict wrote nothing' before after

# --rejects keeps the raw lines of rejected records.
printf '{"id":"r1"}\n  {"id": "r2",  "x": tru }  \n[1,2]\n{"id":"r3"}\n' >rej.ndjson
check_exit '--rejects' 65 sm-import -s full --rejects rejects.txt rej.ndjson
printf '{"id": "r2",  "x": tru }\n1\n2\n' >want
check_same 'rejects file holds the raw lines' want rejects.txt
check 'good records imported' test "$(grep -c '"op":"create"' out)" = 2

# --dry-run prints the events and writes nothing.
printf '{"id":"1","new":true}\n{"id":"d1"}\n' >dry
dump >before
runs=$(sqlite3 data/acme.db 'SELECT count(*) FROM runs')
check_exit '--dry-run' 0 sm-import -s full --dry-run dry
cat >want <<'EOF'
{"op":"update","source":"full","external_id":"1","hash":"050bd7528ef5cec0917eaaad86e976ff","prev_hash":"a350fdc22e40b7792ee88e2f7a11e2ca"}
{"op":"create","source":"full","external_id":"d1","hash":"d3ec69db748d296fad21d775e44178a0"}
EOF
check_same 'events of what would happen' want out
echo 'sm-import: full: 1 created, 1 updated, 0 unchanged, 0 deleted, 0 rejected in T s (dry run: nothing written)' >want
summary >got
check_same 'summary says dry run' want got
dump >after
check_same 'nothing written' before after
check 'no run logged' test "$(sqlite3 data/acme.db 'SELECT count(*) FROM runs')" = "$runs"
check_exit '-n is --dry-run' 0 sm-import -n -s full dry
check 'same events' test "$(wc -l <out)" = 2

# --stats replaces the events with one result object.
check_exit '--stats' 0 sm-import -s full --stats dry
echo '{"status":"success","run":RUN,"stats":{"created":1,"updated":1,"unchanged":0,"deleted":0,"rejected":0}}' |
    sed "s/RUN/$(sqlite3 data/acme.db 'SELECT max(id) FROM runs')/" >want
check_same 'the result object' want out
check_exit '--stats with a reject' 65 sm-import -s full --stats rej.ndjson
check 'status partial' grep_q '^{"status":"partial","run":[0-9]*,"stats":{"created":0,"updated":0,"unchanged":2,"deleted":0,"rejected":3}}$' out
check_exit '--stats --dry-run has no run' 0 sm-import -n -s full --stats dry
check 'run null' grep_q '^{"status":"success","run":null,' out

# The same key twice: the later record wins, with a warning.
printf '{"id":"dup","v":1}\n{"id":"x"}\n{"id":"dup","v":2}\n' >dup.ndjson
check_exit 'duplicate key' 0 sm-import -s full dup.ndjson
check 'warned on stderr' grep_q "^sm-import: dup.ndjson:3: duplicate key 'dup': the later record wins$" err
check 'the later record stored' test "$(sqlite3 data/acme.db \
    "SELECT data FROM source_properties WHERE external_id = 'dup'")" = '{"id":"dup","v":2}'

# -t: a target's observed state, and --merge (RFC 7386).
sm-tenant target add website --type website >/dev/null
echo '{"external_id":"W1","title":"Villa","price":1,"geo":{"lat":40,"lon":-3},"tags":["a"]}' >w1
check_exit '-t imports into a target' 0 sm-import -t website w1
check 'a create event naming the target' grep_q '^{"op":"create","target":"website","external_id":"W1",' out
echo '{"external_id":"W1","price":null,"geo":{"lon":-4,"alt":600},"tags":["b"]}' >w2
check_exit '--merge' 0 sm-import -t website --merge w2
check 'an update' grep_q '^{"op":"update","target":"website","external_id":"W1",' out
sqlite3 data/acme.db "SELECT data, has_manual_changes FROM target_properties" >got
echo '{"external_id":"W1","geo":{"alt":600,"lat":40,"lon":-4},"tags":["b"],"title":"Villa"}|1' >want
check_same 'null removed price, geo merged, tags replaced' want got
echo '{"id":"W9","price":1}' >w9
check_exit '--merge of an unknown key is rejected' 65 sm-import -t website --merge w9
check 'with a reason' grep_q "^sm-import: w9:1: --merge: no property 'W9' on target 'website' to patch$" err
check 'nothing created' test "$(sqlite3 data/acme.db 'SELECT count(*) FROM target_properties')" = 1

# --history: the run log of imports, NDJSON.
check_exit '--history -s' 0 sm-import --history -s 'Property Listings'
cat >want <<'EOF'
{"run":1,"kind":"import","source":"Property Listings","target":null,"started_at":"2026-11-29T05:00:00Z","finished_at":"2026-11-29T05:00:00Z","status":"success","stats":{"created":2,"updated":0,"unchanged":0,"deleted":0,"rejected":0}}
{"run":2,"kind":"import","source":"Property Listings","target":null,"started_at":"2026-11-29T05:00:00Z","finished_at":"2026-11-29T05:00:00Z","status":"success","stats":{"created":0,"updated":1,"unchanged":0,"deleted":0,"rejected":0}}
{"run":3,"kind":"import","source":"Property Listings","target":null,"started_at":"2026-11-29T05:00:00Z","finished_at":"2026-11-29T05:00:00Z","status":"success","stats":{"created":0,"updated":0,"unchanged":1,"deleted":0,"rejected":0}}
EOF
check_same 'three runs of use cases 1 and 4' want out
check_exit '--history -t' 0 sm-import --history -t website
check 'partial run of the target' grep_q '"target":"website",.*"status":"partial",.*"rejected":1}}$' out
check_exit '--history' 0 sm-import --history
check 'failed runs logged with their error' grep_q '"source":"full",.*"status":"failed","error":"--complete would delete 2 of 3' out
check 'every run, one line each' test "$(wc -l <out)" = "$(sqlite3 data/acme.db 'SELECT count(*) FROM runs')"
done_testing
