#!/bin/sh -e
# Crash safety (SPEC §4 "Atomicity"): a large import and a large sync killed
# with SIGKILL at random moments, and an import that runs into a full disk,
# leave the tenant in the state before the run or after it, never between,
# and "sm-tenant check" clean.
#
# CRASH_KILLS (default 10) kills of each kind; CRASH_MAX_MS (default 500)
# the latest moment of a kill after the start; CRASH_RECORDS (50000) the
# size of the input; CRASH_SEED to replay a run.  "make crash-long" runs
# many more kills, spread over the whole run, commit included.
cd "$(dirname "$0")"
. ./lib.sh
kills=${CRASH_KILLS:-10}
maxms=${CRASH_MAX_MS:-500}
nrec=${CRASH_RECORDS:-50000}
seed=${CRASH_SEED:-$$}
plan $((7 + 3 * kills + 3 * kills + 7))
echo "# seed $seed, $kills kills each, up to $maxms ms, $nrec records"

q() { sqlite3 "data/$1.db" "$2"; }
# The content of a source or target: every live key with its hash.
content() {
	q "$1" "select external_id || ':' || hash from ${2}_properties
	    where ${2}_id = $3 and deleted_at is null order by external_id" |
	    md5sum | cut -c1-32
}
successes() { q "$1" "select count(*) from runs where kind = '$2' and status = 'success'"; }
# gen TAG: nrec records.  B (for the imports) changes every 50th record,
# drops every 100th and adds 1% new ones, so that an import reads much,
# then updates, deletes and creates, and commits about half a second in;
# C (for the syncs) changes every 8th, so that a sync has much to write.
gen() {
	awk -v n="$nrec" -v tag="$1" 'BEGIN {
		for (i = 1; i <= n; i++) {
			if (tag == "B" && i % 100 == 0)
				continue
			t = "A"
			if ((tag == "B" && i % 50 == 0) || (tag == "C" && i % 8 == 0))
				t = tag
			printf "{\"id\":%d,\"price\":%d,\"rooms\":%d,\"t\":\"%s\"}\n",
			    i, 100000 + i * 7, i % 6 + 1, t
		}
		if (tag == "B")
			for (i = n + 1; i <= n + n / 100; i++)
				printf "{\"id\":%d,\"price\":%d}\n", i, i
	}'
}
# The i-th pause before a kill, in seconds: 0.05 to maxms/1000.
pause() {
	awk -v s="$seed" -v i="$1" -v m="$maxms" 'BEGIN {
		srand(s + 7919 * i); printf "%.3f", (50 + rand() * (m - 50)) / 1000 }'
}
# killrun I CMD...: starts CMD, kills it after pause I; leaves its status
# in $st (137 when killed, its own status when it finished first).
killrun() {
	k=$1; shift
	"$@" >/dev/null 2>"$SCRATCH/kerr" &
	pid=$!
	sleep "$(pause "$k")"
	kill -9 "$pid" 2>/dev/null || :
	set +e; { wait "$pid"; } 2>/dev/null; st=$?; set -e
}
killed_or_done() {
	case $st in 0|137) return 0 ;; esac
	sed 's/^/# /' "$SCRATCH/kerr"; return 1
}

gen A >A.ndjson
gen B >B.ndjson
gen C >C.ndjson
sm-tenant create Crash --slug c >/dev/null 2>&1
sm-tenant -T c source add feed --type json >/dev/null
sm-tenant -T c target add web --type website >/dev/null
# The state after a complete import of A and of B, from a tenant of its own.
sm-tenant create Reference --slug ref >/dev/null 2>&1
sm-tenant -T ref source add a --type json >/dev/null
sm-tenant -T ref source add b --type json >/dev/null
sm-tenant -T ref source add c --type json >/dev/null
check_exit 'reference imports' 0 sm-import -q -T ref -s a A.ndjson
sm-import -q -T ref -s b B.ndjson >/dev/null
sm-import -q -T ref -s c C.ndjson >/dev/null
hA=$(content ref source 1)
hB=$(content ref source 2)
hC=$(content ref source 3)
check 'A, B and C differ' test "$hA" != "$hB" -a "$hA" != "$hC"
check_exit 'base import of A' 0 sm-import -q -T c -s feed A.ndjson
check 'the tenant file is in WAL mode' test "$(q c 'pragma journal_mode')" = wal
check 'base holds A' test "$(content c source 1)" = "$hA"

# Imports, killed: each goes from the current file to the other one.
cur=A
n_after=0
i=0
while [ $i -lt "$kills" ]; do
	i=$((i + 1))
	if [ $cur = A ]; then next=B; else next=A; fi
	eval "hcur=\$h$cur hnext=\$h$next"
	runs=$(successes c import)
	killrun "$i" sm-import -q -T c -s feed --complete "$next.ndjson"
	check "import kill $i: killed or done (exit $st)" killed_or_done
	check_exit "import kill $i: check clean" 0 sm-tenant check c
	got="$(content c source 1) $(successes c import)"
	if [ "$got" = "$hnext $((runs + 1))" ]; then
		cur=$next
		n_after=$((n_after + 1))
	fi
	check "import kill $i: state before or after, run logged only after" \
	    test "$got" = "$hcur $runs" -o "$got" = "$hnext $((runs + 1))"
done
echo "# imports: $((kills - n_after)) killed before the commit, $n_after after"

# The target is filled only now, so that the checks above stay cheap.
check_exit 'base sync' 0 sm-sync -q -T c feed web
check 'target holds the source' test "$(content c target 1)" = "$(content c source 1)"

# Syncs, killed: the target goes from where it is to the source's state.
s_after=0
i=0
while [ $i -lt "$kills" ]; do
	i=$((i + 1))
	if [ "$(content c target 1)" = "$(content c source 1)" ]; then
		# Caught up: give the next sync work to do.
		if [ $cur = C ]; then cur=A; else cur=C; fi
		sm-import -q -T c -s feed --complete "$cur.ndjson" >/dev/null
	fi
	before="$(content c target 1) $(successes c sync)"
	after="$(content c source 1) $(($(successes c sync) + 1))"
	killrun "$((i + 1000))" sm-sync -q -T c feed web
	check "sync kill $i: killed or done (exit $st)" killed_or_done
	check_exit "sync kill $i: check clean" 0 sm-tenant check c
	got="$(content c target 1) $(successes c sync)"
	[ "$got" = "$after" ] && s_after=$((s_after + 1))
	check "sync kill $i: state before or after" \
	    test "$got" = "$before" -o "$got" = "$after"
done
echo "# syncs: $((kills - s_after)) killed before the commit, $s_after after"

# A full disk: the file size limit stops the write-ahead log from growing.
# SIGXFSZ is ignored so that write(2) fails with EFBIG, as on a full disk.
if [ $cur = B ]; then next=A; else next=B; fi
eval "hcur=\$h$cur"
runs=$(successes c import)
check_exit 'import into a full disk: exit 74' 74 sh -c "trap '' XFSZ; ulimit -f 2000;
    exec sm-import -q -T c -s feed --complete $next.ndjson"
check 'a clear message' grep_q "tenant 'c'.*\(disk\|full\|too large\)" err
check_exit 'full disk: check clean' 0 sm-tenant check c
check 'full disk: tenant unchanged' \
    test "$(content c source 1) $(successes c import)" = "$hcur $runs"
check 'full disk: the failed run is logged' \
    test "$(q c "select count(*) from runs where status = 'failed'")" -ge 1
check_exit 'and once there is room, the same import succeeds' 0 \
    sm-import -q -T c -s feed --complete $next.ndjson
eval "hnext=\$h$next"
check 'to exactly the state of the reference' test "$(content c source 1)" = "$hnext"
done_testing
