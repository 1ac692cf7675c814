#!/bin/sh -e
# sm-import: every input byte is accounted for (SPEC §4).  jq's default
# output and pretty-printed objects are read as jq reads them; a broken
# array or stream loses no record: what is not imported is rejected, with
# its raw text in --rejects.  Then a property test: for random corruptions
# of a valid input, the ids imported plus the ids in the rejects file are
# all the ids the input still holds.
cd "$(dirname "$0")"
. ./lib.sh
plan 26

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant -q create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
# ids NAME: the external ids of the create events in out, sorted.
created() { sed -n 's/^{"op":"create",.*"external_id":"\([^"]*\)".*/\1/p' out | sort; }

# The issue's case: the comma before record 3 is missing.
cat >broken.json <<'EOF'
[
  {"id": "A1", "price": 1},
  {"id": "A2", "price": 2}
  {"id": "A3", "price": 3},
  {"id": "A4", "price": 4}
]
EOF
check_exit 'a missing comma: exit 65' 65 \
    sm-import -n -s portal --rejects rej broken.json
printf 'A1\nA2\nA4\n' >want
created >got
check_same 'the records around it are imported' want got
check 'the record after it is rejected at its line' grep_q \
    "^sm-import: broken.json:4: expected ',' before this array element" err
echo '{"id": "A3", "price": 3}' >want
check_same 'its raw text is in --rejects' want rej

# Text after ']', and an array that is never closed.
printf '[{"id":"B1"},\n{"id":"B2"}]\n{"id":"B3"} junk\n{"id":"B4"}\n' >after.json
check_exit 'text after the array: exit 65' 65 \
    sm-import -n -s portal --rejects rej after.json
printf 'B1\nB2\nB4\n' >want
created >got
check_same 'the records before and after it are imported' want got
echo '{"id":"B3"} junk' >want
check_same 'the line with junk is in --rejects, whole' want rej
printf '[{"id":"C1"},\n{"id":"C2",\n "price": 2\n' >open.json
check_exit 'an unclosed array: exit 65' 65 \
    sm-import -n -s portal --rejects rej open.json
check 'says so, at the line of the open element' grep_q \
    '^sm-import: open.json:2: unexpected end of file: the array opened at line 1 is not closed (lines 2-3, 24 bytes, rejected up to the end of the input)$' err
printf '{"id":"C2",\n "price": 2\n' >want
check_same 'the open element is in --rejects' want rej

# A truncated NDJSON line does not swallow the next record.
printf '{"id":"D1"}\n{"id":"D2","t":"cut\n{"id":"D3","a":\n{"id":"D4"}\n' >trunc.ndjson
check_exit 'truncated NDJSON lines: exit 65' 65 \
    sm-import -n -s portal --rejects rej trunc.ndjson
printf 'D1\nD4\n' >want
created >got
check_same 'the whole lines around them are imported' want got
printf '{"id":"D2","t":"cut\n{"id":"D3","a":\n' >want
check_same 'each cut line is a reject of its own' want rej
check 'two rejects, each at its line' test \
    "$(grep -c '^sm-import: trunc.ndjson:[23]: invalid JSON: ' err)" = 2

# jq's default output: pretty-printed texts, one after the other.
jq '.[]' "$TOP/examples/listings-day1.json" >pretty.json
n=$(jq -s length pretty.json)
check 'jq pretty output spans lines' test "$(wc -l <pretty.json)" -gt "$n"
check_exit "jq '.[]' | sm-import: exit 0" 0 \
    sh -c 'jq ".[]" "$1" | sm-import -s portal' sh "$TOP/examples/listings-day1.json"
check 'one create per listing' test "$(grep -c '"op":"create"' out)" = "$n"
check 'no reject' grep_q ' 0 rejected in ' err
check_exit 'the same, compact: nothing changes' 0 \
    sh -c 'jq -c ".[]" "$1" | sm-import -s portal' sh "$TOP/examples/listings-day1.json"
check 'no event' test ! -s out
printf '{\n  "id": "E1",\n  "geo": {\n    "lat": 40.4\n  }\n}\n' >one.json
check_exit 'a pretty-printed single object' 0 sm-import -s portal one.json
check 'imported from line 1' grep_q '"external_id":"E1"' out
check_exit 'several texts on one line, as jq reads them' 0 \
    sh -c 'printf "{\"id\":\"F1\"} {\"id\":\"F2\"}[{\"id\":\"F3\"}]\n" | sm-import -n -s portal'
printf 'F1\nF2\nF3\n' >want
created >got
check_same 'three records' want got

# The property test.  Each trial corrupts a valid input (a compact array
# or jq's pretty array) by one to three random edits that never touch the
# bytes of an id: a byte deleted, a structural byte or a line break
# inserted, or the rest cut off.  The ids the corrupted text still holds
# must each be imported or found in the rejects file.
sm-tenant source add prop --type json >/dev/null
perl -e '
	srand(20261206);
	my @recs = map { sprintf(q({"id":"ID%04d","title":"Flat %d, \"nice\"","price":%d,"tags":["a","b"],"geo":{"lat":1.5}}), $_, $_, $_ * 1000) } 1 .. 12;
	my $compact = "[" . join(",", @recs) . "]\n";
	my $pretty = "[\n" . join(",\n", map { my $r = $_; $r =~ s/^\{/{\n    /; $r =~ s/,"/,\n    "/g; $r =~ s/\}$/\n  }/; "  $r" } @recs) . "\n]\n";
	my @ins = ("{", "}", "[", "]", ",", ":", "\"", "\n", " ", "\\");
	for my $t (1 .. 150) {
		my $s = $t % 2 ? $compact : $pretty;
		for (1 .. 1 + int(rand(3))) {
			my $p;
			do { $p = int(rand(length $s)) } while (substr($s, 0, $p + 1) =~ /ID\d{0,3}\z/ || substr($s, $p, 4) =~ /^\d/);
			my $k = int(rand(10));
			if ($k < 4) { substr($s, $p, 1) = "" }
			elsif ($k < 9) { substr($s, $p, 0) = $ins[int(rand(@ins))] }
			else { $s = substr($s, 0, $p) }
		}
		open(my $f, ">", sprintf("trial-%03d.json", $t)) or die;
		print $f $s;
	}
'
bad=0 rejected=0
for f in trial-*.json; do
	set +e
	sm-import -q -n -s prop --rejects "$f.rej" "$f" >"$f.out" 2>"$f.err"
	rc=$?
	set -e
	case $rc in 0|65) ;; *) echo "# $f: exit $rc"; bad=$((bad + 1)); continue ;; esac
	[ "$rc" = 65 ] && rejected=$((rejected + 1))
	grep -o 'ID[0-9][0-9][0-9][0-9]' "$f" | sort -u >"$f.want"
	# (An edit next to an id may change it: "ID0002}" is still ID0002.)
	cat "$f.out" "$f.rej" | grep -o 'ID[0-9][0-9][0-9][0-9]' |
	    sort -u >"$f.got"
	if ! cmp -s "$f.want" "$f.got"; then
		echo "# $f: ids lost"; diff "$f.want" "$f.got" | sed 's/^/# /'
		bad=$((bad + 1))
	fi
done
check "150 corrupted inputs: imported + rejected ids = all ids ($rejected with rejects)" \
    test "$bad" = 0
check 'the trials did break inputs' test "$rejected" -gt 100

done_testing
