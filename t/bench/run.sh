#!/bin/sh
# make bench: BENCH_N generated listings through sm-import, sm-sync,
# sm-diff and sm-cleanup, and through jq, sqlite-utils and a bare sqlite3
# load for reference, each timed by /usr/bin/time -v; writes BENCH.md.
#
#	BENCH_N		listings (1000000)
#	BENCH_SEED	generator seed (1)
#	BENCH_DIR	scratch directory (a new one under $TMPDIR); removed
#			at the end unless BENCH_KEEP=1
#	BENCH_PROFILE	both (default), perf, callgrind or 0: where the time
#			goes, appended to BENCH.md
#	BENCH_PROFILE_N	records for the callgrind profile (50000)
#	BENCH_OUT	the report (BENCH.md at the top of the tree)
#	GEN		the generator binary (built by make bench)
#	BENCH_HTTP	1 (default): also sm-serve under wrk beside nginx
#			(t/bench/http.sh, its knobs there), as the section
#			"## HTTP" of BENCH.md; 0: not
#	BENCH_PUSH	1 (default): also sm-push into PostgreSQL beside
#			psql, and to files (t/bench/push.sh), as the
#			section "## Push"; 0: not
#	BENCH_PUSH_HTTP	1 (default): also sm-push to json-server beside
#			curl --parallel (t/bench/push-http.sh, its knobs
#			there), as the section "## Push over HTTP"; 0: not
#	BENCH_ONLY	http, push or push-http: only that section, put in place of
#			the one in BENCH.md, the rest of it kept as it is
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_N:-1000000}
SEED=${BENCH_SEED:-1}
PROFILE=${BENCH_PROFILE:-both}
PROFILE_N=${BENCH_PROFILE_N:-50000}
OUT=${BENCH_OUT:-$TOP/BENCH.md}
GEN=${GEN:-}
case $N in ''|*[!0-9]*|0) echo "bench: invalid BENCH_N '$N'" >&2; exit 64 ;; esac
if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench.XXXXXX")
fi
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
LC_ALL=C TZ=UTC
export LC_ALL TZ
unset SM_CONFIG SM_TENANT SM_NOW
SM_DATA_DIR=$W/data
XDG_CONFIG_HOME=$W/xdg
# A copy of the commands: a rebuild of bin/ during the run cannot mix
# two versions into one report.
mkdir -p "$W/bin"
for f in "$TOP"/bin/sm-*; do
	case $f in *.c) continue ;; esac
	[ -x "$f" ] && cp "$f" "$W/bin/"
done
PATH=$W/bin:$PATH
export SM_DATA_DIR XDG_CONFIG_HOME PATH
# What was copied: the commit, and whether lib/ bin/ differ from it.
commit=$(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$TOP" && git --no-optional-locks status --porcelain -- lib bin \
    schema 2>/dev/null | wc -l)
[ "$dirty" -gt 0 ] && commit="$commit (+ uncommitted changes in lib/ bin/)"
started=$(date -u +%Y-%m-%dT%H:%MZ)
for t in /usr/bin/time jq sqlite3 sqlite-utils sm-import sm-sync sm-tenant; do
	command -v "$t" >/dev/null || { echo "bench: no $t" >&2; exit 69; }
done
if [ -z "$GEN" ]; then
	GEN=$W/gen
	${CC:-cc} -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
	    -o "$GEN" "$TOP/t/bench/gen.c"
fi

say() { printf 'bench: %s\n' "$*" >&2; }

# section NAME TITLE REPORT: runs t/bench/NAME.sh and puts its "## TITLE"
# in REPORT, in place of the one there or else before "## Machine".
section() {
	GEN=$GEN W=$W BENCH_N=$N BENCH_COMMIT=$commit \
	    sh "$TOP/t/bench/$1.sh" >"$W/$1.md"
	[ -f "$3" ] || : >"$3"
	awk -v sec="$W/$1.md" -v title="## $2" '
	function put() { while ((getline l < sec) > 0) print l; print ""; done = 1 }
	$0 == title { skip = 1; next }
	skip && /^## / { skip = 0 }
	skip { next }
	/^## Machine$/ && !done { put() }
	{ print }
	END { if (!done) { print ""; put() } }' "$3" >"$3.$1"
	mv "$3.$1" "$3"
}
if [ "${BENCH_ONLY:-}" = http ]; then
	section http HTTP "$OUT"
	say "wrote the HTTP section of $OUT"
	exit 0
fi

# The CPU pressure counter: microseconds some task waited for a CPU.
cpu_wait() {
	if [ -r /proc/pressure/cpu ]; then
		sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/cpu
	else
		echo 0
	fi
}

# step KEY LABEL OKCODES CMD...: CMD under /usr/bin/time -v (stdout to
# /dev/null); a line in $RESULTS: key|label|wall|user|sys|rss_kb|wait|rc
RESULTS=$W/results
step() {
	key=$1 label=$2 ok=$3
	shift 3
	sync
	say "$label"
	w0=$(cpu_wait)
	set +e
	/usr/bin/time -v -o "$W/$key.time" "$@" >/dev/null 2>"$W/$key.err"
	rc=$?
	set -e
	w1=$(cpu_wait)
	case " $ok " in
	*" $rc "*) ;;
	*)	say "$label: exit $rc"
		sed 's/^/  /' "$W/$key.err" | tail -5 >&2 ;;
	esac
	awk -F': ' -v key="$key" -v label="$label" -v rc="$rc" \
	    -v wait=$((w1 - w0)) '
	/Elapsed \(wall clock\)/ {
		n = split($2, a, ":"); wall = 0
		for (i = 1; i <= n; i++) wall = wall * 60 + a[i]
	}
	/User time \(seconds\)/ { user = $2 }
	/System time \(seconds\)/ { sys = $2 }
	/Maximum resident set size/ { rss = $2 }
	END {
		printf "%s|%s|%.2f|%.2f|%.2f|%d|%.2f|%s\n", key, label, wall,
		    user, sys, rss, wait / 1e6, rc
	}' "$W/$key.time" >>"$RESULTS"
}

# step3 KEY LABEL OKCODES CMD...: a step of about a second, where a
# hiccup of the shared machine would be most of the figure: CMD runs 3
# times from the same tenant files (copied back in between), and the run
# with the median wall time is the one reported.
step3() {
	rm -rf "$W/data.before"
	cp -a "$SM_DATA_DIR" "$W/data.before"
	: >"$W/$1.runs"
	for i in 1 2 3; do
		if [ "$i" -gt 1 ]; then
			rm -rf "$SM_DATA_DIR"
			cp -a "$W/data.before" "$SM_DATA_DIR"
		fi
		RESULTS=$W/$1.runs step "$@"
	done
	rm -rf "$W/data.before"
	sort -t'|' -k3,3n "$W/$1.runs" | sed -n 2p >>"$W/results"
	say "$2: $(cut -d'|' -f3 "$W/$1.runs" | tr '\n' ' ')s, median taken"
}

# --- the data ---------------------------------------------------------
say "generating $N listings (seed $SEED) in $W"
"$GEN" -n "$N" -s "$SEED" >"$W/base.ndjson"
"$GEN" -n "$N" -s "$SEED" -m 1 -M 2 >"$W/change.ndjson" 2>"$W/gen.err"
nmut=$(sed -n 's/^gen: \([0-9]*\) of.*/\1/p' "$W/gen.err")
bytes=$(wc -c <"$W/base.ndjson")
sizes=$(awk '{ n = length($0); if (NR == 1 || n < mn) mn = n
	if (n > mx) mx = n; s += n } END { printf "%d|%d|%.0f", mn, mx, s / NR }' \
    "$W/base.ndjson")
: >"$W/results"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${BENCH_ONLY:-}" = push ]; then
	section push Push "$OUT"
	say "wrote the Push section of $OUT"
	exit 0
fi
if [ "${BENCH_ONLY:-}" = push-http ]; then
	section push-http "Push over HTTP" "$OUT"
	say "wrote the Push over HTTP section of $OUT"
	exit 0
fi

# --- sm ---------------------------------------------------------------
sm_setup() {
	sm-tenant init >/dev/null
	sm-tenant create Bench --slug "$1" >/dev/null 2>&1
	sm-tenant -T "$1" source add s --type json >/dev/null
	sm-tenant -T "$1" target add t --type website >/dev/null
}
sm_setup bench
B="-T bench"
step import "fresh import" 0 sm-import $B -q -s s "$W/base.ndjson"
step reimport "identical re-import" 0 sm-import $B -q -s s "$W/base.ndjson"
step sync "initial sync (empty target)" 0 sm-sync $B -q s t
step change "re-import, 1% changed" 0 sm-import $B -q -s s "$W/change.ndjson"
if [ -x "$W/bin/sm-diff" ]; then
	step diff "sm-diff source target (1% differ)" "0 1" sm-diff $B s t
fi
step3 incr "incremental sync (1% changed)" 0 sm-sync $B -q s t
if [ -x "$W/bin/sm-cleanup" ]; then
	step cleanup "sm-cleanup --days 0" 0 sm-cleanup $B --days 0
	# About 3% of the listings go from the source, the sync carries the
	# deletions out, and cleanup purges the tombstones on both sides
	# with their snapshots: its cost must follow what it deletes.
	awk 'NR % 33 != 0' "$W/base.ndjson" >"$W/gone.ndjson"
	ngone=$((N - $(wc -l <"$W/gone.ndjson")))
	step gone "re-import --complete, 3% gone" 0 sm-import $B -q -s s \
	    --complete --allow-mass-delete "$W/gone.ndjson"
	step syncgone "sync of the 3% deletions" 0 sm-sync $B -q s t
	step cleantomb "sm-cleanup --days 0, 3% tombstones" 0 \
	    sm-cleanup $B --days 0
fi
sm-import $B --history >"$W/history.import" 2>/dev/null || :
sm-sync $B --history >"$W/history.sync" 2>/dev/null || :
dbsize=$(du -sk "$W/data" | cut -f1)

# --- the references ---------------------------------------------------
step jq "jq -c . (parse and print)" 0 jq -c . "$W/base.ndjson"
step su "sqlite-utils upsert, fresh" 0 \
    sqlite-utils upsert "$W/su.db" props "$W/base.ndjson" --nl --pk id
step su_same "sqlite-utils upsert, identical" 0 \
    sqlite-utils upsert "$W/su.db" props "$W/base.ndjson" --nl --pk id
step su_change "sqlite-utils upsert, 1% changed" 0 \
    sqlite-utils upsert "$W/su.db" props "$W/change.ndjson" --nl --pk id
# The storage floor: the raw lines under a primary key, one transaction,
# with the durability and cache settings sm uses.
cat >"$W/floor.sql" <<EOF
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA cache_size = -16384;
CREATE TABLE raw (id TEXT PRIMARY KEY, line TEXT NOT NULL);
CREATE TEMP TABLE lines (line TEXT);
.mode ascii
.separator "\\037" "\\n"
BEGIN;
.import $W/base.ndjson lines
INSERT INTO raw (id, line) SELECT json_extract(line, '\$.id'), line FROM lines;
COMMIT;
EOF
step floor "storage floor (sqlite3 .import + INSERT … SELECT)" 0 \
    sqlite3 -bail "$W/floor.db" <"$W/floor.sql"
floor_rows=$(sqlite3 "$W/floor.db" "SELECT count(*) FROM raw")
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report --------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
{
	echo "# make bench"
	echo
	echo "$N listings generated by \`t/bench/gen.c\` (seed $SEED):"
	echo "$((bytes / 1048576)) MiB of NDJSON, $(echo "$sizes" |
	    cut -d'|' -f3) bytes a line on average" \
	    "($(echo "$sizes" | cut -d'|' -f1)–$(echo "$sizes" |
	    cut -d'|' -f2)); the 1% file changes price and title of" \
	    "$nmut of them."
	echo "sm at $commit, run at $started." \
	    "Regenerate with \`make bench\` (\`BENCH_N=100000 make bench\`" \
	    "for a quick run)."
	echo
	awk -F'|' -v n="$N" -v k="$nmut" '
	BEGIN {
		print "| step | records/s | wall s | user s | sys s | peak RSS MiB | CPU starved |"
		print "|---|---:|---:|---:|---:|---:|---:|"
	}
	{
		rate = $3 > 0 ? sprintf("%.0f", n / $3) : "-"
		if ($8 != 0 && !($1 == "diff" && $8 == 1))
			rate = "failed (exit " $8 ")"
		starved = $3 > 0 ? 100 * $7 / $3 : 0
		if (starved > 100)
			starved = 100
		printf "| %s | %s | %.2f | %.2f | %.2f | %.1f | %.0f%% |\n", $2,
		    rate, $3, $4, $5, $6 / 1024, starved
	}' "$W/results"
	echo
	echo "records/s is $N over the wall time for every step (the" \
	    "incremental sync and the diff handle the $nmut changed ones)." \
	    "CPU starved is the share of the step's wall time in which some" \
	    "task on the machine waited for a CPU (/proc/pressure/cpu, all" \
	    "tasks): near 0% the machine was quiet; high, other work shared" \
	    "the $(nproc) cores and wall times are pessimistic, while user" \
	    "and sys stay fair. Load average $load0 at the start, $load1 at" \
	    "the end. The input files are in the page cache; the tenant" \
	    "file ends at $((dbsize / 1024)) MiB. The incremental sync, a" \
	    "step of about a second, ran 3 times from the same tenant file" \
	    "(copied back in between): its walls were $(cut -d'|' -f3 \
	    "$W/incr.runs" | tr '\n' ' ' | sed 's/ $//; s/ /, /g') s, and the" \
	    "median run is the one in the table." \
	    "The last three sm steps delete $ngone listings (every 33rd)" \
	    "at the source, carry the deletions to the target and purge" \
	    "the $((2 * ngone)) tombstones."
	echo
	echo "## Targets"
	echo
	awk -F'|' '
	{ wall[$1] = $3; cpu[$1] = $4 + $5; rss[$1] = $6; rc[$1] = $8 }
	function ratio(a, b) { return wall[a] > 0 ? wall[b] / wall[a] : 0 }
	function cratio(a, b) { return cpu[a] > 0 ? cpu[b] / cpu[a] : 0 }
	function row(what, have, goal, ok, cpuv) {
		printf "| %s | %s | %s | %s | %s |\n", what, have, cpuv, goal,
		    ok ? "met" : "**missed**"
	}
	END {
		print "| target | measured (wall) | same on CPU time | goal | |"
		print "|---|---:|---:|---|---|"
		r = ratio("import", "jq")
		row("fresh import vs `jq -c .`", sprintf("%.2f×", r),
		    "> 1× (faster)", r > 1, sprintf("%.2f×", cratio("import", "jq")))
		r = ratio("import", "su")
		row("fresh import vs sqlite-utils upsert (fresh)",
		    sprintf("%.2f×", r), "≥ 3×", r >= 3,
		    sprintf("%.2f×", cratio("import", "su")))
		r = ratio("reimport", "su_same")
		row("identical re-import vs sqlite-utils upsert (identical)",
		    sprintf("%.2f×", r), "≥ 5×", r >= 5,
		    sprintf("%.2f×", cratio("reimport", "su_same")))
		r = ratio("change", "su_change")
		row("1% re-import vs sqlite-utils upsert (1%)",
		    sprintf("%.2f×", r), "≥ 4×", r >= 4,
		    sprintf("%.2f×", cratio("change", "su_change")))
		max = 0
		nk = split("import reimport sync change diff incr cleanup " \
		    "gone syncgone cleantomb", k, " ")
		for (i = 1; i <= nk; i++)
			if (k[i] in rss && rss[k[i]] > max) {
				max = rss[k[i]]; at = k[i]
			}
		row("peak RSS of every sm step", sprintf("%.1f MiB (%s)",
		    max / 1024, at), "≤ 64 MiB", max <= 65536, "")
		r = wall["sync"] > 0 ? 100 * wall["incr"] / wall["sync"] : 0
		c = cpu["sync"] > 0 ? 100 * cpu["incr"] / cpu["sync"] : 0
		row("incremental sync vs initial sync", sprintf("%.1f%%", r),
		    "≤ 5%", r <= 5, sprintf("%.1f%%", c))
		r = wall["floor"] > 0 ? wall["sync"] / wall["floor"] : 0
		c = cpu["floor"] > 0 ? cpu["sync"] / cpu["floor"] : 0
		row("initial sync vs storage floor", sprintf("%.2f× the floor", r),
		    "≤ 2×", r <= 2, sprintf("%.2f×", c))
	}' "$W/results"
	echo
	echo "A ratio \"A vs B\" is B's time over A's: how many times faster sm" \
	    "is. Each sqlite-utils run is compared with the same work in sm" \
	    "(the identical re-upsert with the identical re-import, and so" \
	    "on). The storage floor loads the raw lines into \`raw(id TEXT" \
	    "PRIMARY KEY, line TEXT)\` in one transaction ($floor_rows rows)," \
	    "with sm's pragmas (WAL, synchronous=FULL, 16 MiB cache):" \
	    "\`.import\` into a temporary table, then \`INSERT INTO raw SELECT" \
	    "json_extract(line, '\$.id'), line\`."
	echo
	echo "## What the runs reported"
	echo
	echo '```'
	jq -c '{run, kind, status, stats}' "$W/history.import" \
	    "$W/history.sync" 2>/dev/null || echo "(no history)"
	for k in diff cleanup cleantomb; do
		[ -s "$W/$k.err" ] && sed "s/^/$k: /" "$W/$k.err" | tail -3
	done
	echo '```'
	echo
	echo "## Machine"
	echo
	echo "- CPU: $cpu, $(nproc) cores (nproc)"
	echo "- RAM: $mem"
	echo "- kernel: $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "- disk: $(df -T "$W" | awk 'NR == 2 { print $2 }') on" \
	    "$(df "$W" | awk 'NR == 2 { print $1 }')"
	echo "- SQLite $(sqlite3 --version | cut -d' ' -f1) (CLI and the" \
	    "library sm links), $(jq --version), sqlite-utils" \
	    "$(sqlite-utils --version | sed 's/.*version //'), libjq" \
	    "$(dpkg-query -W -f='${Version}' libjq1 2>/dev/null || echo '?')," \
	    "$(${CC:-cc} --version | head -1)"
} >"$OUT.tmp"

if [ "${BENCH_HTTP:-1}" != 0 ]; then
	section http HTTP "$OUT.tmp" || say "the HTTP part failed"
fi
if [ "${BENCH_PUSH:-1}" != 0 ]; then
	section push Push "$OUT.tmp" || say "the push part failed"
fi
if [ "${BENCH_PUSH_HTTP:-1}" != 0 ]; then
	section push-http "Push over HTTP" "$OUT.tmp" ||
	    say "the push over HTTP part failed"
fi
if [ "$PROFILE" != 0 ]; then
	sh "$TOP/t/bench/profile.sh" "$W" "$PROFILE" "$PROFILE_N" \
	    >>"$OUT.tmp" || say "profile failed"
fi
mv "$OUT.tmp" "$OUT"
say "wrote $OUT"
