#!/bin/sh
# The HTTP part of make bench (issue 13, item 7): sm-serve under wrk, 10
# keep-alive connections for BENCH_HTTP_SECONDS each, beside nginx
# serving the same response bytes as a static file, in the same run.
# Prints the "## HTTP" section of BENCH.md on stdout.
#
#	W		scratch directory (made by run.sh)
#	GEN		the generator binary
#	BENCH_HTTP_N	listings synced into the target (5000)
#	BENCH_HTTP_SECONDS	seconds of each wrk run (10)
#	BENCH_SERVE	the sm-serve to measure (sm-serve in PATH)
#	BENCH_COMMIT	what it was built from, for the report
#
# The commands (sm-tenant, sm-import, sm-sync) come from PATH.
set -eu
N=${BENCH_HTTP_N:-5000}
SECS=${BENCH_HTTP_SECONDS:-10}
SERVE=${BENCH_SERVE:-$(command -v sm-serve)}
C=10
for t in wrk nginx curl jq python3 "$SERVE"; do
	command -v "$t" >/dev/null || { echo "bench: no $t" >&2; exit 69; }
done
H=$W/http
rm -rf "$H"
mkdir -p "$H/data" "$H/nginx"
say() { printf 'bench: %s\n' "$*" >&2; }

# A tenant with N listings in source s, synced into target t.
export SM_DATA_DIR=$H/data
sm-tenant init >/dev/null
sm-tenant create Bench --slug web >"$H/tenant.json" 2>/dev/null
KEY=$(jq -r .api_key "$H/tenant.json")
sm-tenant -T web source add s --type json >/dev/null
sm-tenant -T web target add t --type website >/dev/null
sm-tenant -T web source add feed --type json >/dev/null
"$GEN" -n "$N" -s 7 >"$H/listings.ndjson"
sm-import -T web -q -s s "$H/listings.ndjson" >/dev/null
sm-sync -T web -q s t >/dev/null
# The import body: 100 records as {"data":[...]}, into their own source.
head -100 "$H/listings.ndjson" | jq -sc '{data: .}' >"$H/import.json"

freeport() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# One tenant, C clients: serve.tenant_requests (8 by default) must let
# them all in, or the rest are answered 503 at once.
printf 'serve:\n  tenant_requests: %d\n' $C >"$H/config.yaml"
"$SERVE" -c "$H/config.yaml" --listen 127.0.0.1:0 2>"$H/serve.log" &
SPID=$!
NPID=
cleanup() {
	kill -TERM $SPID 2>/dev/null || :
	[ -z "$NPID" ] || kill -TERM "$NPID" 2>/dev/null || :
	wait 2>/dev/null || :
}
trap 'cleanup' EXIT INT TERM
port= i=0
while [ -z "$port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $SPID 2>/dev/null; then
		echo "bench: sm-serve did not start" >&2
		cat "$H/serve.log" >&2
		exit 1
	fi
	sleep 0.05
	port=$(sed -n 's/^sm-serve: listening on port \([0-9]*\) .*/\1/p' \
	    "$H/serve.log")
done
URL=http://127.0.0.1:$port
until curl -sf -o /dev/null "$URL/health"; do sleep 0.05; done
PROPS="/targets/1/properties?limit=100"
curl -sf -H "X-API-Key: $KEY" -o "$H/nginx/props.json" "$URL$PROPS"
curl -sf -H "X-API-Key: $KEY" -o "$H/sources.json" "$URL/sources"
nprops=$(jq 'if type == "array" then length else .data | length end' \
    "$H/nginx/props.json")
pbytes=$(wc -c <"$H/nginx/props.json")
sbytes=$(wc -c <"$H/sources.json")

# nginx: the same bytes as a static file, on a free port of its own.
nport=$(freeport)
user=
[ "$(id -u)" != 0 ] || user="user root;"
cat >"$H/nginx/nginx.conf" <<EOF
$user
worker_processes auto;
daemon off;
pid $H/nginx/nginx.pid;
error_log $H/nginx/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $H/nginx/tmp;
	proxy_temp_path $H/nginx/tmp;
	fastcgi_temp_path $H/nginx/tmp;
	uwsgi_temp_path $H/nginx/tmp;
	scgi_temp_path $H/nginx/tmp;
	default_type application/json;
	server {
		listen 127.0.0.1:$nport;
		root $H/nginx;
	}
}
EOF
mkdir -p "$H/nginx/tmp"
nginx -p "$H/nginx" -c "$H/nginx/nginx.conf" 2>"$H/nginx/stderr" &
NPID=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$nport/props.json"; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		echo "bench: nginx did not start" >&2
		cat "$H/nginx/stderr" "$H/nginx/error.log" >&2 || :
		exit 1
	fi
	sleep 0.05
done

cat >"$H/get.lua" <<EOF
wrk.headers["X-API-Key"] = "$KEY"
EOF
cat >"$H/import.lua" <<EOF
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$KEY"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$H/import.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF
# The same 100 with every price changed on each request: 100 updates.
# Each wrk thread has its own Lua state: thread k (0 or 1, wrk -t2)
# adds k + 2, k + 4, ... so that no two requests post the same prices.
cat >"$H/change.lua" <<EOF
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$KEY"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$H/import.json", "rb")
local body = f:read("*a")
f:close()
local threads = 0
setup = function(thread)
	thread:set("k", threads)
	threads = threads + 1
end
local n = 0
request = function()
	n = n + 1
	local step = n * 2 + k
	local b = body:gsub('"price":(%d+)', function(p)
		return '"price":' .. (tonumber(p) + step) end)
	return wrk.format(nil, nil, nil, b)
end
EOF

# bench KEY LABEL URL [SCRIPT]: a line of $H/results:
# key|label|req/s|p50 ms|p99 ms|requests|non-2xx
: >"$H/results"
ms() {
	awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
	if (u == "us") v /= 1000; else if (u == "s") v *= 1000
	else if (u == "m") v *= 60000
	printf "%.2f", v }'
}
bench() {
	key=$1 label=$2 url=$3 script=${4:-}
	say "wrk: $label"
	wrk -t2 -c$C -d${SECS}s --latency ${script:+-s "$script"} "$url" \
	    >"$H/$key.wrk" 2>&1 || :
	rps=$(sed -n 's/^Requests\/sec:[[:space:]]*//p' "$H/$key.wrk")
	p50=$(awk '$1 == "50%" { print $2 }' "$H/$key.wrk" | ms)
	p99=$(awk '$1 == "99%" { print $2 }' "$H/$key.wrk" | ms)
	n=$(sed -n 's/^[[:space:]]*\([0-9]*\) requests in.*/\1/p' "$H/$key.wrk")
	bad=$(sed -n 's/^[[:space:]]*Non-2xx or 3xx responses:[[:space:]]*//p' \
	    "$H/$key.wrk")
	echo "$key|$label|${rps:-0}|${p50:-?}|${p99:-?}|${n:-0}|${bad:-0}" \
	    >>"$H/results"
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
bench nginx "nginx, the same bytes as a static file" \
    "http://127.0.0.1:$nport/props.json"
bench props "GET $PROPS" "$URL$PROPS" "$H/get.lua"
bench sources "GET /sources" "$URL/sources" "$H/get.lua"
bench health "GET /health (no tenant file)" "$URL/health"
bench import "POST /sources/2/import, 100 records, unchanged" \
    "$URL/sources/2/import" "$H/import.lua"
bench change "POST /sources/2/import, 100 records, all changed" \
    "$URL/sources/2/import" "$H/change.lua"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup
trap - EXIT INT TERM

echo "## HTTP"
echo
echo "sm-serve at ${BENCH_COMMIT:-?}, run at $(date -u +%Y-%m-%dT%H:%MZ)" \
    "($SERVE, serve.tenant_requests: $C, the rest default:" \
    "$(awk '/^sm-serve: listening/ { sub(/^sm-serve: /, ""); print; exit }' \
    "$H/serve.log")) against wrk -t2 -c$C -d${SECS}s --latency, keep-alive," \
    "on the same $(nproc)-core machine; tenant \`web\` holds $N listings" \
    "imported into source 1 and synced into target 1. The properties" \
    "page is $nprops listings, $pbytes bytes; \`/sources\` $sbytes bytes." \
    "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') serves the properties" \
    "page's bytes from a file, in the same run. The imports post 100" \
    "listings (\`{\"data\":[...]}\`) to source 2: the same each time (the" \
    "first creates them, the rest find them unchanged), then with every" \
    "price changed on each request (100 updates, each a snapshot row," \
    "in one transaction; a tenant's writes run one at a time). Load average $load0" \
    "before, $load1 after."
echo
awk -F'|' '
BEGIN {
	print "| request | req/s | p50 ms | p99 ms | requests | non-2xx |"
	print "|---|---:|---:|---:|---:|---:|"
}
{ printf "| %s | %.0f | %s | %s | %d | %d |\n", $2, $3, $4, $5, $6, $7 }
' "$H/results"
echo
awk -F'|' '
{ rps[$1] = $3; p99[$1] = $5 }
function row(what, have, goal, ok) {
	printf "| %s | %s | %s | %s |\n", what, have, goal,
	    ok ? "met" : "**missed**"
}
END {
	print "| target | measured | goal | |"
	print "|---|---:|---|---|"
	row("GET /targets/1/properties?limit=100", sprintf("%.0f req/s",
	    rps["props"]), "≥ 2000 req/s", rps["props"] >= 2000)
	r = rps["props"] > 0 ? rps["nginx"] / rps["props"] : 0
	row("the same vs nginx", sprintf("nginx %.1f× faster", r), "≤ 4×",
	    r > 0 && r <= 4)
	row("POST …/import, 100 records unchanged", sprintf("%.0f req/s",
	    rps["import"]), "≥ 300 req/s", rps["import"] >= 300)
	row("POST …/import, 100 records all changed", sprintf("%.0f req/s",
	    rps["change"]), "≥ 300 req/s", rps["change"] >= 300)
}' "$H/results"
