#!/bin/sh
# The push-over-HTTP part of make bench (issue 16, item 4): sm-push of
# BENCH_HTTP_PUSH_N listings to json-server (t/js, make node-deps) as
# creates (POST /listings, the record with its "id" as body, as
# json-server wants them), beside the floor: curl --parallel
# --parallel-max 4 sending the same requests (method, URLs, bodies,
# headers) from a config file prepared beforehand (curl -K).  Each run
# gets a fresh json-server over t/bench/jsdb.js (in memory, empty
# collection, an id index: see there).  Prints "## Push over HTTP".
#
#	W			scratch directory (made by run.sh), with
#				base.ndjson
#	BENCH_HTTP_PUSH_N	listings pushed (10000, at most BENCH_N)
#	BENCH_HTTP_PUSH_ROUNDS	rounds of (sm-push, curl), the median of
#				each reported (1)
#	BENCH_COMMIT		what sm was built from, for the report
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
N=${BENCH_HTTP_PUSH_N:-10000}
[ "$N" -le "$BENCH_N" ] || N=$BENCH_N
ROUNDS=${BENCH_HTTP_PUSH_ROUNDS:-1}
JS_MODULES=$TOP/t/js/node_modules
export JS_MODULES
for t in /usr/bin/time node curl jq sqlite3 python3 sm-push sm-import \
    sm-sync sm-tenant "$JS_MODULES/.bin/json-server"; do
	command -v "$t" >/dev/null || { echo "bench: no $t (make node-deps" \
	    "for json-server)" >&2; exit 69; }
done
P=$W/push-http
rm -rf "$P"
mkdir -p "$P"
say() { printf 'bench: %s\n' "$*" >&2; }
JS_PID=
trap '[ -z "$JS_PID" ] || kill $JS_PID 2>/dev/null || :' EXIT

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# js_start: a fresh json-server on $port: JS_URL, JS_PID.
js_start() {
	node "$JS_MODULES/.bin/json-server" "$TOP/t/bench/jsdb.js" --quiet \
	    --host 127.0.0.1 --port "$port" >"$P/js.log" 2>&1 &
	JS_PID=$!
	JS_URL=http://127.0.0.1:$port/listings
	i=0
	until curl -s -o /dev/null "$JS_URL"; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $JS_PID 2>/dev/null; then
			say "json-server did not start"; cat "$P/js.log" >&2
			exit 1
		fi
		sleep 0.05
	done
}
# js_stop KEY: its CPU seconds and item count into $P/KEY.server; stops it.
js_stop() {
	cpu=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' /proc/$JS_PID/stat)
	items=$(curl -s "$JS_URL" | jq length)
	echo "$cpu|$items" >"$P/$1.server"
	kill $JS_PID
	wait $JS_PID 2>/dev/null || :
	JS_PID=
}

# step KEY LABEL CMD...: CMD under /usr/bin/time -v against a fresh
# json-server; a line in $R: key|label|wall|user|sys|rss_kb|rc|server
# cpu|items
R=$P/results
: >"$R"
step() {
	key=$1 label=$2
	shift 2
	js_start
	say "$label"
	set +e
	JS_URL=$JS_URL /usr/bin/time -v -o "$P/$key.time" "$@" \
	    >"$P/$key.out" 2>"$P/$key.err"
	rc=$?
	set -e
	[ "$rc" = 0 ] || { say "$label: exit $rc"; tail -5 "$P/$key.err" >&2; }
	js_stop "$key"
	awk -F': ' -v key="$key" -v label="$label" -v rc="$rc" \
	    -v srv="$(cat "$P/$key.server")" '
	/Elapsed \(wall clock\)/ {
		n = split($2, a, ":"); wall = 0
		for (i = 1; i <= n; i++) wall = wall * 60 + a[i]
	}
	/User time \(seconds\)/ { user = $2 }
	/System time \(seconds\)/ { sys = $2 }
	/Maximum resident set size/ { rss = $2 }
	END { printf "%s|%s|%.2f|%.2f|%.2f|%d|%s|%s\n", key, label, wall, user,
	    sys, rss, rc, srv }' "$P/$key.time" >>"$R"
}

export SM_DATA_DIR=$P/data
sm-tenant init >/dev/null
sm-tenant create Bench --slug pushhttp >/dev/null 2>&1
export SM_TENANT=pushhttp
sm-tenant source add s --type json >/dev/null
# The URL comes from the environment: each run has its own server.
sm-tenant target add cms --type cms --config '{"url":"${JS_URL}",
    "create":{"method":"POST","path":""}}' >/dev/null
say "importing and syncing $N listings (not timed)"
head -n "$N" "$W/base.ndjson" >"$P/in.ndjson"
sm-import -q -s s "$P/in.ndjson" >/dev/null
sm-sync -q s cms >/dev/null
cp -a "$P/data" "$P/data.before"

# The floor's config: the bodies sm-push sends (the target rows, in the
# outbox's order), each a POST with sm-push's headers (libcurl adds no
# Accept-Encoding; "Expect:" keeps curl from waiting for a 100 Continue).
sqlite3 "$P/data/pushhttp.db" "SELECT p.data FROM outbox o JOIN
    target_properties p ON p.id = o.property_id WHERE o.state = 'pending'
    ORDER BY o.first_seq" >"$P/bodies"
sed 's/\\/\\\\/g; s/"/\\"/g' "$P/bodies" | awk '{
	if (NR > 1) print "next"
	print "url = \"http://127.0.0.1:PORT/listings\""
	print "request = \"POST\""
	print "header = \"Content-Type: application/json\""
	print "header = \"Accept: application/json\""
	print "header = \"Expect:\""
	print "user-agent = \"sm-push/1\""
	print "data-binary = \"" $0 "\""
	print "output = \"/dev/null\""
	print "write-out = \"%{http_code}\\n\""
}' >"$P/curl.in"
nbodies=$(wc -l <"$P/bodies")
bytes=$(wc -c <"$P/bodies")

r=1
while [ $r -le "$ROUNDS" ]; do
	rm -rf "$P/data"
	cp -a "$P/data.before" "$P/data"
	port=$(free_port)
	step "sm$r" "sm-push of $N creates (push.parallel 4)" sm-push --stats cms
	# The config is made for the port before the clock starts.
	port=$(free_port)
	sed "s/:PORT\//:$port\//" "$P/curl.in" >"$P/curl.cfg"
	step "curl$r" "curl --parallel --parallel-max 4 -K (the floor)" \
	    curl -s --parallel --parallel-max 4 -K "$P/curl.cfg"
	r=$((r + 1))
done
created=$(cat "$P"/sm[0-9]*.err | sed -n 's/.* (\([0-9]*\) created.*/\1/p' |
    tr '\n' ' ' | sed 's/ $//')
ok201=$(cat "$P"/curl*.out | grep -c '^201$' || :)

# The median run of each (by wall time).
med() { grep "^$1[0-9]" "$R" | sort -t'|' -k3,3n |
    sed -n "$(( ($(grep -c "^$1[0-9]" "$R") + 1) / 2 ))p"; }
{ med sm; med curl; } >"$P/median"

echo "## Push over HTTP"
echo
echo "sm at ${BENCH_COMMIT:-?}, run at $(date -u +%Y-%m-%dT%H:%MZ): $N" \
    "listings ($nbodies bodies, $((bytes / 1024)) KiB of JSON) created on" \
    "json-server $(jq -r .version "$JS_MODULES/json-server/package.json")" \
    "(node $(node --version)) by sm-push and by curl $(curl --version |
    head -1 | cut -d' ' -f2), $ROUNDS round(s) of each, each run against a" \
    "fresh server; the median run of each is shown."
echo
awk -F'|' -v n="$N" '
BEGIN {
	print "| client | requests/s | wall s | user s | sys s | peak RSS MiB | server CPU s | items on the server |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|"
}
{
	rate = $3 > 0 ? sprintf("%.0f", n / $3) : "-"
	if ($7 != 0)
		rate = "failed (exit " $7 ")"
	printf "| %s | %s | %.2f | %.2f | %.2f | %.1f | %s | %s |\n", $2, rate,
	    $3, $4, $5, $6 / 1024, $8, $9
}' "$P/median"
echo
printf '%s\n' "Both clients send the same $N requests: \`POST /listings\`" \
    "(json-server creates with a POST to the collection; a PUT of an id" \
    "it does not hold is a 404 there) with the target row as sm holds it" \
    "as body, and the headers sm-push sends (Content-Type and Accept" \
    "application/json, an empty Expect, its User-Agent), over at most 4" \
    "kept-alive connections. curl reads them from a config file written" \
    "before its clock starts (\`curl --parallel --parallel-max 4 -K\`)." \
    "json-server runs over \`t/bench/jsdb.js\`, a JavaScript source, so" \
    "its database is in memory (over a JSON file lowdb rewrites the whole" \
    "file on every write, O(n) a request), and with an id index for" \
    "lodash-id's getById (its duplicate check on every create scans the" \
    "collection), so that a request costs the server the same at the" \
    "10,000th as at the first. sm-push's time includes its own" \
    "bookkeeping (reading the outbox, marking each delivered in the" \
    "tenant file, the run record); curl's is the requests alone." \
    "Server CPU is json-server's user+sys time in the run. sm-push" \
    "reported $created created (per round); curl got $ok201 answers 201 over all" \
    "rounds." | tr '\n' ' ' | sed 's/ $//'
echo
echo
awk -F'|' '
{ wall[substr($1, 1, length($1) - 1)] = $3 }
END {
	print "| target | measured | goal | |"
	print "|---|---:|---|---|"
	r = wall["curl"] > 0 ? wall["sm"] / wall["curl"] : 0
	printf "| sm-push vs curl --parallel (wall) | %.2f× curl | ≤ 1.5× | %s |\n",
	    r, (r > 0 && r <= 1.5) ? "met" : "**missed**"
}' "$P/median"
