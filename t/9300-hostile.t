#!/bin/sh -e
# Hostile input (SPEC §2, §4, §5.2): one file per class of bad input in
# t/data/bad/, the big ones generated here.  Each goes through sm-import:
# rejected or accepted exactly as SPEC says, every reject named with its
# line on stderr and its raw line in --rejects, the good records of the
# same file imported, the exit status exact (never a crash).  Then the
# JSONTestSuite: no n_ case is ever accepted.
cd "$(dirname "$0")"
. ./lib.sh
plan 114

cp "$TESTDIR"/data/bad/* .
sm-tenant create Hostile --slug h >/dev/null 2>&1
q() { sqlite3 data/h.db "$1"; }
count() { q "select count(*) from source_properties p join sources s on s.id = p.source_id where s.name = '$1'"; }
# data SOURCE KEY: the stored data of a property.
data() { q "select data from source_properties p join sources s on s.id = p.source_id where s.name = '$1' and p.external_id = '$2'"; }

# hostile FILE EXIT GOOD "LINES" REASON [REJECTS]: imports FILE into a
# source of its own; exactly LINES are rejected (named FILE:LINE on
# stderr), REASON is among the messages, GOOD records are stored, and
# --rejects holds the raw rejected lines (REJECTS "-": not checked, for
# structural errors that have no line of their own).
hostile() {
	h_f=$1 h_exit=$2 h_good=$3 h_lines=$4 h_reason=$5 h_rej=${6:-}
	h_src=${h_f%.*}
	sm-tenant -T h source add "$h_src" --type json ${map:+--map "$map"} >/dev/null
	check_exit "$h_src: exit $h_exit" "$h_exit" \
	    sm-import -q -T h -s "$h_src" --rejects "$h_src.rej" "$h_f"
	# (A duplicate key is a warning, in the same form: not a reject.)
	grep -v ': duplicate key ' err |
	    sed -n "s/^sm-import: $h_f:\([0-9]*\): .*/\1/p" | tr '\n' ' ' >lines
	check "$h_src: rejected lines '$h_lines' named on stderr" \
	    test "$(cat lines)" = "${h_lines:+$h_lines }"
	if [ -n "$h_reason" ]; then
		check "$h_src: says '$h_reason'" grep_q "$h_reason" err
	fi
	check "$h_src: $h_good good records imported" \
	    test "$(count "$h_src")" = "$h_good"
	if [ "$h_rej" != - ]; then
		for l in $h_lines; do
			perl -ne "if (\$. == $l) { s/\r?\n?\z/\n/; print }" "$h_f"
		done >rej.want
		check_same "$h_src: --rejects holds the raw lines" rej.want "$h_src.rej"
	fi
}

hostile broken-json.ndjson 65 2 '2 3 4 5 7 8 9 10 11 12' 'broken-json.ndjson:9: invalid JSON: invalid literal .NaN.'
check 'every reject says invalid JSON' test "$(grep -c 'invalid JSON' err)" = 10
hostile truncated.ndjson 65 2 3 'truncated.ndjson:3: invalid JSON: unterminated string'
hostile nul-bytes.ndjson 65 2 '2 3 4' 'unescaped control character 0x00 in string'
hostile invalid-utf8.ndjson 65 2 '2 3 4 5 6 7 9' 'invalid-utf8.ndjson:3: invalid UTF-8'
check 'valid UTF-8 kept as it is' \
    test "$(data invalid-utf8 8)" = '{"a":"Grüße € 𝄞","id":8}'
hostile lone-surrogates.ndjson 65 2 '2 3 4 5 6 8' 'lone surrogate \\ud800'
check 'a surrogate pair is fine, stored as UTF-8' \
    test "$(data lone-surrogates 7)" = '{"a":"𝄞","id":7}'
hostile lossy-numbers.ndjson 65 7 '2 3 4 5 6 8 11 13 15' \
    'lossy-numbers.ndjson:3: number 12345678901234567890 cannot be stored exactly: quote it as a string'
check 'each names its literal' grep_q 'number 1e400 cannot be stored exactly' err
check 'an exact integer beyond 2^53 that would be stored without exponent' \
    grep_q 'lossy-numbers.ndjson:15: number 9007199254740994 is an integer beyond 2^53: quote it as a string' err
check 'numbers that fit stored canonically' test \
    "$(q "select group_concat(data, ' ') from (select p.data from source_properties p join sources s on s.id = p.source_id where s.name = 'lossy-numbers' order by p.id)")" = \
    '{"id":1,"p":9007199254740992} {"id":7,"p":1.5} {"id":9,"p":1} {"id":10,"p":200} {"id":12,"p":0.1} {"id":14,"p":0} {"id":16,"p":1e+16}'
# An array on a line of its own is read as jq reads it: its elements are
# the records (1 and 2 rejected, the object of line 7 imported).
hostile non-object.ndjson 65 3 '2 2 3 4 5 6' 'non-object.ndjson:6: record is not an object' -
printf '1\n2\n"a string"\n42\nnull\ntrue\n' >rej.want
check_same 'non-object: --rejects holds each rejected value' rej.want non-object.rej
hostile keys.ndjson 65 6 '2 3 4 5 6 7 8 9 10 15 17' "keys.ndjson:4: key 'id' is not a string or integer"
check 'empty key named' grep_q "keys.ndjson:3: key 'id' is an empty string" err
check 'missing key named' grep_q "keys.ndjson:17: no key: record has no 'external_id' or 'id'" err
check 'usable keys: strings as they are, integers in decimal' test \
    "$(q "select group_concat(external_id, ' ') from (select p.external_id from source_properties p join sources s on s.id = p.source_id where s.name = 'keys' order by p.id)")" = \
    'x 7 0 100 9007199254740992 z'
map='if .kind == "x" then error("refused: \(.ref)") else {external_id: .ref, price: (.price | tonumber)} end'
hostile map-errors.ndjson 65 2 '2 3 4 6' 'map-errors.ndjson:4: map: jq: error: refused: d'
check 'a failing builtin is a reject too' grep_q 'map-errors.ndjson:2: map: .*abc' err
map=
hostile bom-inside.ndjson 65 2 2 'bom-inside.ndjson:2: invalid JSON: unexpected U+FEFF'
hostile array-unclosed.json 65 3 5 'the array opened at line 1 is not closed' -
hostile array-no-comma.json 65 2 3 "array-no-comma.json:3: expected ',' before this array element" -
echo '{"id":3}' >rej.want
check_same "array-no-comma: --rejects holds the element after the missing ','" rej.want array-no-comma.rej

# Accepted: a byte order mark, CRLF line ends, blank lines, duplicate keys.
printf '%s\n' '{"id":1,"a":"x"}' '{"id":2,"a":"y"}' '{"id":3,"a":"z"}' >plain.ndjson
hostile plain.ndjson 0 3 '' ''
hostile bom.ndjson 0 3 '' ''
hostile crlf.ndjson 0 3 '' ''
hostile bom-crlf-array.json 0 3 '' ''
hashes() { q "select group_concat(hash, ' ') from (select p.hash from source_properties p join sources s on s.id = p.source_id where s.name = '$1' order by p.external_id)"; }
check 'BOM: same hashes as without' test "$(hashes bom)" = "$(hashes plain)"
check 'CRLF: same hashes as LF' test "$(hashes crlf)" = "$(hashes plain)"
check 'BOM, CRLF and an array: same hashes' test "$(hashes bom-crlf-array)" = "$(hashes plain)"
hostile quirks.ndjson 0 3 '' "quirks.ndjson:6: duplicate key '3': the later record wins"
check 'duplicate member: the last wins, as in jq' \
    test "$(data quirks 1)" = '{"a":2,"id":1}'
check 'duplicate record: the later wins' test "$(data quirks 3)" = '{"a":4,"id":3}'

# Nesting: 10,000 deep, and the limit of 256 levels (an object counting as
# two, as libjq counts): 254 arrays or 127 objects inside a record pass.
nest() {
	awk -v n="$1" -v o="$2" -v m="$3" -v c="$4" 'BEGIN {
		for (i = 0; i < n; i++) printf "%s", o; printf "%s", m
		for (i = 0; i < n; i++) printf "%s", c }'
}
{
	echo '{"id":1}'
	printf '{"id":2,"a":'; nest 10000 '[' '' ']'; echo '}'
	printf '{"id":3,"a":'; nest 254 '[' '' ']'; echo '}'
	printf '{"id":4,"a":'; nest 255 '[' '' ']'; echo '}'
	printf '{"id":5,"a":'; nest 10000 '{"a":' 1 '}'; echo '}'
	printf '{"id":6,"a":'; nest 127 '{"a":' 1 '}'; echo '}'
	printf '{"id":7,"a":'; nest 128 '{"a":' 1 '}'; echo '}'
	echo '{"id":8}'
} >deep.ndjson
hostile deep.ndjson 65 4 '2 4 5 7' 'deep.ndjson:2: nesting deeper than 256'
check 'the deepest allowed is stored' \
    test "$(data deep 3 | tr -cd '[' | wc -c) $(data deep 6 | grep -o '{' | wc -l)" = '254 128'

# A 100 MB line: over max_record_bytes (16 MiB), rejected without reading
# it into memory; the lines after it keep their numbers.
{
	echo '{"id":1}'
	printf '{"id":2,"a":"'
	head -c 100000000 /dev/zero | tr '\0' a
	echo '"}'
	echo '{"id":3}'
} >huge.ndjson
sm-tenant -T h source add huge --type json >/dev/null
# maxrss CMD...: runs CMD, then says "maxrss KB", its peak resident size,
# on stderr (GNU time, else Python's getrusage).
if [ -x /usr/bin/time ]; then
	maxrss() { /usr/bin/time -f 'maxrss %M' "$@"; }
else
	maxrss() {
		python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
print("maxrss %d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    file=sys.stderr)
sys.exit(rc)' "$@"
	}
fi
if [ -z "${SM_ASAN:-}" ]; then
	check_exit 'huge line: exit 65' 65 maxrss \
	    sm-import -q -T h -s huge huge.ndjson
	check 'memory stays flat (under 64 MB)' \
	    test "$(sed -n 's/^maxrss //p' err)" -lt 65536
else
	# The sanitizers' shadow memory is no measure of ours: there, no
	# allocation may reach 64 MB (ASan refuses it, and exits 86).
	check_exit 'huge line: exit 65' 65 env \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}:max_allocation_size_mb=64" \
	    sm-import -q -T h -s huge huge.ndjson
	check 'no allocation of 64 MB or more' \
	    test -z "$(grep 'allocation-size-too-big' err)"
fi
check 'huge line: rejected as over-long with its line number' \
    grep_q 'huge.ndjson:2: record longer than max_record_bytes (16777216)' err
check 'huge line: the records around it imported' test "$(count huge)" = 2
check_exit 'a smaller max_record_bytes applies too' 65 \
    env SM_MAX_RECORD_BYTES=10 sm-import -q -T h -s plain plain.ndjson
check 'every line over 10 bytes' test "$(grep -c 'longer than max_record_bytes (10)' err)" = 3
check_exit 'check clean after all that' 0 sm-tenant check h

# JSONTestSuite: every file's text as the value of a record, one record
# per line (a file with a newline inside spans lines: rejected, which is
# right for its n_ cases).  No n_ case may ever be accepted.
jts=$TOP/../shared/testdata/JSONTestSuite/test_parsing
if [ ! -d "$jts" ]; then
	# Without the suite (a tree outside the project's), a few of its
	# cases, written here: the same checks on fewer files.
	jts=$SCRATCH/jts-cases
	mkdir "$jts"
	printf '["",]' >"$jts/n_array_extra_comma.json"
	printf '[1' >"$jts/n_structure_unclosed_array.json"
	printf '{"a":' >"$jts/n_object_missing_value.json"
	printf '{"id":0,}' >"$jts/n_object_trailing_comma.json"
	printf "['single quote']" >"$jts/n_string_single_quote.json"
	printf '[012]' >"$jts/n_number_with_leading_zero.json"
	printf '[NaN]' >"$jts/n_number_NaN.json"
	printf '[tru]' >"$jts/n_incomplete_true.json"
	printf '["a\tb"]' >"$jts/n_string_unescaped_tab.json"
	printf '["\377"]' >"$jts/n_string_invalid_utf8.json"
	printf '{"id":"y1","a":[1,2.5e3,null]}' >"$jts/y_object_with_id.json"
	printf '{"asd":"sdf"}' >"$jts/y_object_basic.json"
	printf '[123e100000]' >"$jts/i_number_real_overflow.json"
fi
mkdir w
for f in "$jts"/*.json; do
	n=${f##*/}; n=${n%.json}
	perl -0777 -pe 's/\n\z//; $_ = qq({"id":"'"$n"'","v":$_}\n)' "$f" >w/$n.json
done
sm-tenant -T h source add jts --type json >/dev/null
check_exit 'JSONTestSuite as record values: no crash' 65 \
    sm-import -q -T h -s jts w/*.json
check 'no n_ case accepted' test "$(q "select count(*) from source_properties p join sources s on s.id = p.source_id where s.name = 'jts' and p.external_id like 'n\_%' escape '\\'")" = 0
missing=$(for f in w/n_*.json; do grep -qF "$f:" err || echo "$f"; done)
check 'every n_ case rejected with its line' test -z "$missing"
echo "# JSONTestSuite as values: $(ls w | wc -l) files, $(q "select count(*) from source_properties p join sources s on s.id = p.source_id where s.name = 'jts' and p.external_id like 'y\_%' escape '\\'") of $(ls w | grep -c '^y_') y_ accepted, $(q "select count(*) from source_properties p join sources s on s.id = p.source_id where s.name = 'jts' and p.external_id like 'i\_%' escape '\\'") of $(ls w | grep -c '^i_') i_"
# Each file as an input of its own (NDJSON, or an array when it
# starts with '['): a record needs a key, so only y_ texts with an
# "id" can pass; every n_ file is rejected, or holds no record.
sm-tenant -T h source add jts-raw --type json >/dev/null
check_exit 'JSONTestSuite files as inputs: no crash' 65 \
    sm-import -q -T h -s jts-raw "$jts"/*.json
missing=$(for f in "$jts"/n_*.json; do
	grep -qF "$f:" err && continue
	# No record at all: only whitespace and a BOM, or two empty
	# arrays, which jq reads as two texts.
	case $f in */n_structure_double_array.json) continue; esac
	tr -d ' \t\r\n\357\273\277' <"$f" | grep -q . && echo "$f"
done)
check 'every n_ file rejected, or empty' test -z "$missing"
check 'what passed comes from y_ files' test \
    "$(q "select count(*) from source_properties p join sources s on s.id = p.source_id where s.name = 'jts-raw'")" -le \
    "$(grep -l '"id"' "$jts"/y_*.json | wc -l)"
done_testing
