#!/bin/sh -e
# Signals and the commit point (SPEC §4 "Atomicity", "Events"): a SIGTERM
# or SIGINT before COMMIT rolls the run back (exit 130, "interrupted:
# nothing was written", the run logged as interrupted); one after it
# changes nothing: every event is printed, the exit status and the run log
# are those of the committed run.  A second signal after the commit ends
# the process (sm(7) SIGNALS).
#
# SIG_RUNS (default 30) random signals over import, sync and restore;
# SIG_MAX_MS (400) the latest moment of one; SIG_SEED to replay a run.
cd "$(dirname "$0")"
. ./lib.sh
runs=${SIG_RUNS:-30}
maxms=${SIG_MAX_MS:-400}
seed=${SIG_SEED:-$$}
plan $((3 * 6 + 4 + runs + 1))
echo "# seed $seed, $runs random signals up to $maxms ms"

SM_TENANT=acme
export SM_TENANT
q() { sqlite3 "data/$SM_TENANT.db" "$1"; }
# The content of the source or the target: every live key and its hash.
content() {
	q "select external_id || ':' || hash from ${1}_properties
	    where deleted_at is null order by external_id" | md5sum | cut -c1-32
}
state() { echo "$(content source) $(content target) $(q 'select count(*) from changes')"; }
lastrun() { q 'select coalesce(max(id), 0) from runs'; }
gen() {
	awk -v n="$1" -v tag="$2" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"id\":%d,\"price\":%d,\"rooms\":%d,\"t\":\"%s\"}\n",
		    i, 100000 + i * 7, i % 6 + 1, tag }'
}
# The time of minute M of the test day.
T() { printf '2026-03-01T%02d:%02d:00Z' $(($1 / 60)) $(($1 % 60)); }

sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add feed --type json >/dev/null
sm-tenant target add web --type website >/dev/null

# blocked SIG CMD...: runs CMD with its stdout into a fifo that nobody
# reads until its run has committed (visible in the run log) and SIG was
# sent: the events are far more than a pipe holds, so the signal surely
# comes while they are printed.  Leaves the status in $rc, the run in
# $run, the events in out, stderr in err.
blocked() {
	sig=$1; shift
	rm -f ev
	mkfifo ev
	last=$(lastrun)
	"$@" >ev 2>err &
	pid=$!
	exec 3<ev
	n=0
	while [ "$(q "select count(*) from runs where id > $last and
	    status <> 'running'")" = 0 ] && [ $n -lt 600 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	sleep 0.1
	for s in $sig; do
		kill -"$s" "$pid" 2>/dev/null || :
		sleep 0.1
	done
	cat <&3 >out
	exec 3<&-
	set +e; wait "$pid"; rc=$?; set -e
	run=$(lastrun)
}
# after_commit WHAT N: the checks of a run that committed with N changes.
after_commit() {
	check "$1: exit 0 (got $rc)" test "$rc" = 0
	check "$1: all $2 events printed" test "$(wc -l <out)" = "$2"
	check "$1: as many as its changes" \
	    test "$(q "select count(*) from changes where run_id = $run")" = "$2"
	check "$1: logged success" \
	    test "$(q "select status from runs where id = $run")" = success
	check "$1: never says nothing was written" \
	    sh -c "! grep -q 'nothing was written' err"
	check "$1: says the signal came after the commit" grep_q \
	    "SIGTERM after run $run committed: the run stands" err
}

# 5000 properties: their events are ten times what a pipe holds.
gen 5000 A >A5.ndjson
gen 5000 B >B5.ndjson
blocked TERM env SM_NOW="$(T 0)" sm-import -s feed A5.ndjson
after_commit 'import, SIGTERM after COMMIT' 5000
blocked TERM env SM_NOW="$(T 1)" sm-sync feed web
after_commit 'sync, SIGTERM after COMMIT' 5000
SM_NOW=$(T 2) sm-import -q -s feed B5.ndjson >/dev/null
blocked TERM env SM_NOW="$(T 3)" sm-snapshot restore -s feed --at "$(T 0)"
after_commit 'restore, SIGTERM after COMMIT' 5000

# A second signal after the commit ends the process by its default
# action; the run stays committed.
blocked 'TERM TERM' env SM_NOW="$(T 4)" sm-import -s feed B5.ndjson
check "a second SIGTERM kills (got $rc)" test "$rc" = 143
check 'the run stays committed' \
    test "$(q "select status from runs where id = $run")" = success
check 'and the source holds B' test "$(q "select count(*) from
    source_properties where json_extract(data, '$.t') = 'B'")" = 5000

# Random signals.  Each run has work to do: an import of the file the
# source does not hold, a sync of a source the target is behind, a
# restore of the source to a time it held the other file.
gen 20000 A >A.ndjson
gen 20000 B >B.ndjson
minute=10
SM_TENANT=r
sm-tenant create Random --slug r >/dev/null 2>&1
sm-tenant source add feed --type json >/dev/null
sm-tenant target add web --type website >/dev/null
SM_NOW=$(T $minute) sm-import -q -s feed B.ndjson >/dev/null
hB=$(content source)
tB=$minute minute=$((minute + 1))
SM_NOW=$(T $minute) sm-import -q -s feed A.ndjson >/dev/null
hA=$(content source)
tA=$minute cur=A
check 'A and B differ' test "$hA" != "$hB"

# The i-th pause before a signal, in seconds: 0 to maxms/1000.
pause() {
	awk -v s="$seed" -v i="$1" -v m="$maxms" 'BEGIN {
		srand(s + 7919 * i); printf "%.3f", rand() * m / 1000 }'
}
# caught PID: waits until PID catches SIGTERM (it opened its tenant and
# is about to begin its run), or is gone.
caught() {
	while [ -r "/proc/$1/status" ]; do
		m=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" \
		    2>/dev/null)
		[ -n "$m" ] && [ $((0x$m & 0x4000)) != 0 ] && return 0
		sleep 0.005
	done
}
# outcome: 130 and nothing changed, or 0 and a committed run whose events
# are all printed; anything else is a misreport.
outcome() {
	case $rc in
	130)
		[ "$(state)" = "$before" ] &&
		    [ "$(q "select count(*) from runs where id > $last and
		    status <> 'interrupted'")" = 0 ] &&
		    grep -q 'interrupted: nothing was written' err
		;;
	0)
		run=$(lastrun)
		[ "$run" -gt "$last" ] && [ "$(state)" != "$before" ] &&
		    [ "$(q "select status from runs where id = $run")" = success ] &&
		    [ "$(wc -l <out)" = "$(q "select count(*) from changes
		    where run_id = $run")" ] && [ "$(wc -l <out)" -gt 0 ] &&
		    ! grep -q 'nothing was written' err
		;;
	*)
		false
		;;
	esac || { sed 's/^/# /' err; return 1; }
}

n130=0 n0=0 i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	minute=$((minute + 1))
	if [ $cur = A ]; then other=B; else other=A; fi
	eval "tother=\$t$other"
	case $((i % 3)) in
	1)	what=import
		set -- sm-import -s feed "$other.ndjson" ;;
	2)	what=sync
		if [ "$(content target)" = "$(content source)" ]; then
			# Caught up: give the sync work to do.
			SM_NOW=$(T $minute) sm-import -q -s feed \
			    "$other.ndjson" >/dev/null
			eval "t$other=$minute"
			cur=$other
			minute=$((minute + 1))
		fi
		set -- sm-sync feed web ;;
	0)	what=restore
		set -- sm-snapshot restore -s feed \
		    --at "$(T "$tother" | sed 's/:00Z$/:30Z/')" ;;
	esac
	if [ $((i % 2)) = 0 ]; then sig=INT; else sig=TERM; fi
	before=$(state)
	last=$(lastrun)
	SM_NOW=$(T $minute) "$@" >out 2>err &
	pid=$!
	caught $pid
	sleep "$(pause $i)"
	kill -$sig $pid 2>/dev/null || :
	set +e; wait $pid; rc=$?; set -e
	check "random $i: $what, SIG$sig: exit $rc, reported as it happened" outcome
	case $rc in 130) n130=$((n130 + 1)) ;; 0) n0=$((n0 + 1)) ;; esac
	h=$(content source)
	if [ "$h" = "$hA" ]; then new=A; else new=B; fi
	if [ $new != $cur ]; then
		eval "t$new=$minute"
		cur=$new
	fi
done
echo "# $n130 rolled back (130), $n0 committed (0)"
check 'every run ended 0 or 130' test $((n130 + n0)) = "$runs"
done_testing
