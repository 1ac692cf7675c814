#!/bin/sh
# The push part of make bench (issue 15, item 8): sm-push of N listings
# into a private PostgreSQL (t/pg.sh) beside the floor, the same rows
# loaded by psql (\copy into an empty table, then INSERT ... ON CONFLICT
# from it, in one run); sm-pull of the N rows back beside sm-import -t of
# the same rows (dumped by psql as NDJSON) into the same target, both
# finding every record unchanged; a push after 1% changed; a push of at
# most 100,000 listings to a directory of files and their pull.  Prints
# the "## Push" section of BENCH.md on stdout.
#
#	W		scratch directory (made by run.sh), with base.ndjson
#			and change.ndjson (the 1% file)
#	BENCH_N		the listings in base.ndjson
#	BENCH_FILES_N	listings pushed to files (100000, at most BENCH_N)
#	BENCH_COMMIT	what sm was built from, for the report
#
# The commands come from PATH.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
N=$BENCH_N
FN=${BENCH_FILES_N:-100000}
[ "$FN" -le "$N" ] || FN=$N
for t in /usr/bin/time psql sm-push sm-pull sm-import sm-sync sm-tenant; do
	command -v "$t" >/dev/null || { echo "bench: no $t" >&2; exit 69; }
done
P=$W/push
rm -rf "$P"
mkdir -p "$P"
say() { printf 'bench: %s\n' "$*" >&2; }

# The cluster: its directory and $SCRATCH removed on exit (t/pg.sh).
SCRATCH=$P/scratch
mkdir -p "$SCRATCH"
. "$TOP/t/pg.sh" >&2
pg_start >&2

# step KEY LABEL CMD...: CMD under /usr/bin/time -v; a line in $R:
# key|label|wall|user|sys|rss_kb|rc
R=$P/results
: >"$R"
step() {
	key=$1 label=$2
	shift 2
	say "$label"
	set +e
	/usr/bin/time -v -o "$P/$key.time" "$@" >/dev/null 2>"$P/$key.err"
	rc=$?
	set -e
	[ "$rc" = 0 ] || { say "$label: exit $rc"; tail -5 "$P/$key.err" >&2; }
	awk -F': ' -v key="$key" -v label="$label" -v rc="$rc" '
	/Elapsed \(wall clock\)/ {
		n = split($2, a, ":"); wall = 0
		for (i = 1; i <= n; i++) wall = wall * 60 + a[i]
	}
	/User time \(seconds\)/ { user = $2 }
	/System time \(seconds\)/ { sys = $2 }
	/Maximum resident set size/ { rss = $2 }
	END { printf "%s|%s|%.2f|%.2f|%.2f|%d|%s\n", key, label, wall, user,
	    sys, rss, rc }' "$P/$key.time" >>"$R"
}

export SM_DATA_DIR=$P/data
sm-tenant init >/dev/null
sm-tenant create Bench --slug push >/dev/null 2>&1
export SM_TENANT=push
sm-tenant source add s --type json >/dev/null
sm-tenant target add db --type database \
    --config "{\"url\":\"$PG_URL\",\"table\":\"listings\"}" >/dev/null
sm-tenant target add web --type website \
    --config "{\"path\":\"$P/site\",\"format\":\"json\"}" >/dev/null
say "importing and syncing $N listings (not timed)"
sm-import -q -s s "$W/base.ndjson" >/dev/null
sm-sync -q s db >/dev/null

step push "initial push into PostgreSQL (empty table)" sm-push -q db
rows=$(pg_psql -c 'SELECT count(*) FROM listings')

# The floor: the same rows, as psql would load them.
pg_psql -c "\\copy (SELECT external_id, data, hash FROM listings) TO
    '$P/rows.tsv'"
pg_psql -c "CREATE TABLE floor_in (external_id text, data jsonb, hash text);
CREATE TABLE floor (external_id text PRIMARY KEY, data jsonb, hash text,
    updated_at timestamptz)"
cat >"$P/floor.sql" <<EOF
\\copy floor_in FROM '$P/rows.tsv'
INSERT INTO floor AS t SELECT external_id, data, hash, now() FROM floor_in
    ON CONFLICT (external_id) DO UPDATE SET data = EXCLUDED.data,
    hash = EXCLUDED.hash, updated_at = EXCLUDED.updated_at;
EOF
step floor "floor: psql \\copy + INSERT … ON CONFLICT" psql -X -q \
    -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d postgres -f "$P/floor.sql"
floor_rows=$(pg_psql -c 'SELECT count(*) FROM floor')

# Pull: the N rows read back, each found as delivered; beside it the same
# rows as NDJSON (jsonb's text: one line a record) through sm-import -t
# --complete into the same target rows, each found unchanged.
pg_psql -c 'SELECT data FROM listings' >"$P/rows.ndjson"
step pull "pull of the $rows rows from PostgreSQL" sm-pull -q db
pulled=$(sm-pull --history db | jq -s '.[-1].stats.records')
step import "sm-import -t of the same rows (NDJSON)" sm-import -q -t db \
    --complete "$P/rows.ndjson"

sm-import -q -s s "$W/change.ndjson" >/dev/null
sm-sync -q s db >/dev/null
changed=$(sm-push --status db | jq .pending)
step push1 "push after 1% changed" sm-push -q db
left=$(sm-push --status db | jq '.pending + .failed + .held')

# Files: the first FN listings into a directory, one file each.
if [ "$FN" -lt "$N" ]; then
	head -n "$FN" "$W/base.ndjson" >"$P/files.ndjson"
	sm-tenant source add f --type json >/dev/null
	sm-import -q -s f "$P/files.ndjson" >/dev/null
	sm-sync -q f web >/dev/null
else
	sm-sync -q s web >/dev/null
fi
step files "push of $FN listings to files (json)" sm-push -q web
nfiles=$(find "$P/site" -name '*.json' | wc -l)
step pullfiles "pull of the $nfiles files" sm-pull -q web
left=$((left + $(sm-push --status web | jq '.pending + .failed + .held')))

echo "## Push"
echo
echo "sm at ${BENCH_COMMIT:-?}, run at $(date -u +%Y-%m-%dT%H:%MZ):" \
    "$N listings pushed into PostgreSQL $(pg_psql -c 'SHOW server_version' |
    cut -d' ' -f1) (a private cluster on a Unix socket, t/pg.sh, default" \
    "settings), $rows rows in the table after the push; $changed changed" \
    "by the 1% file; $pulled records pulled back from PostgreSQL; $FN" \
    "pushed to files ($nfiles files) and pulled back."
echo
awk -F'|' -v n="$rows" -v k="$changed" -v fn="$FN" -v nf="$nfiles" '
BEGIN {
	print "| step | records/s | wall s | user s | sys s | peak RSS MiB |"
	print "|---|---:|---:|---:|---:|---:|"
}
{
	m = $1 == "push1" ? k : $1 == "files" ? fn : $1 == "pullfiles" ? nf : n
	rate = $3 > 0 ? sprintf("%.0f", m / $3) : "-"
	if ($7 != 0)
		rate = "failed (exit " $7 ")"
	printf "| %s | %s | %.2f | %.2f | %.2f | %.1f |\n", $2, rate, $3, $4,
	    $5, $6 / 1024
}' "$R"
echo
printf '%s\n' "records/s counts the records each step delivered ($changed" \
    "after the 1% change). user and sys are the client's (sm-push or" \
    "psql): the server's work is in the wall time only. The floor loads" \
    "\`external_id, data, hash\` of the $rows rows sm delivered, as" \
    "\`psql \\copy\` text, into an empty table \`floor_in\`, then" \
    "\`INSERT INTO floor … ON CONFLICT (external_id) DO UPDATE\` into a" \
    "table of sm's shape, in one psql run ($floor_rows rows). The pull" \
    "finds every row as last delivered; \`sm-import -t db --complete\`" \
    "reads the same rows, written by \`psql -At -c 'SELECT data FROM" \
    "listings'\` as NDJSON, into the same target rows and finds each" \
    "unchanged: the same records through the same import path, from a" \
    "file rather than from PostgreSQL." | tr '\n' ' ' |
    sed 's/ $//'
echo
echo
awk -F'|' -v left="$left" '
{ wall[$1] = $3; rss[$1] = $6 }
function row(what, have, goal, ok) {
	printf "| %s | %s | %s | %s |\n", what, have, goal,
	    ok ? "met" : "**missed**"
}
END {
	print "| target | measured | goal | |"
	print "|---|---:|---|---|"
	r = wall["floor"] > 0 ? wall["push"] / wall["floor"] : 0
	row("initial push vs the floor", sprintf("%.2f× the floor", r),
	    "≤ 3×", r > 0 && r <= 3)
	r = wall["push"] > 0 ? 100 * wall["push1"] / wall["push"] : 0
	row("push after 1% vs initial push", sprintf("%.1f%%", r), "≤ 5%",
	    r <= 5)
	r = wall["import"] > 0 ? wall["pull"] / wall["import"] : 0
	row("pull vs sm-import of the same rows", sprintf("%.2f× sm-import",
	    r), "≤ 1.5×", r > 0 && r <= 1.5)
	max = 0
	for (k in rss)
		if (k != "floor" && rss[k] > max) { max = rss[k]; at = k }
	row("peak RSS of sm-push, sm-pull, sm-import", sprintf("%.1f MiB (%s)", max / 1024, at),
	    "≤ 64 MiB", max <= 65536)
	row("nothing left pending, held or failed", left, "0", left == 0)
}' "$R"
