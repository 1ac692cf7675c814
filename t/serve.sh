# Shared by the sm-serve tests, after lib.sh: a server on a free loopback
# port, stopped at exit, and an HTTP check.
# serve_start [OPTION...]: starts sm-serve, sets URL and SERVE_PID.
serve_start() {
	sm-serve --listen 127.0.0.1:0 "$@" 2>"$SCRATCH/serve.log" &
	SERVE_PID=$!
	trap 'serve_stop; rm -rf "$SCRATCH"' EXIT
	port= i=0
	while [ -z "$port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $SERVE_PID 2>/dev/null; then
			echo "Bail out! sm-serve did not start"
			sed 's/^/# /' "$SCRATCH/serve.log"; exit 1
		fi
		sleep 0.05
		port=$(sed -n 's/^sm-serve: listening on port \([0-9]*\) .*/\1/p' \
		    "$SCRATCH/serve.log")
	done
	URL=http://127.0.0.1:$port
	until curl -sf -o /dev/null "$URL/health"; do sleep 0.05; done
}

# serve_stop: SIGTERM, then the exit status in SERVE_STATUS.
serve_stop() {
	[ -n "${SERVE_PID:-}" ] || return 0
	kill -TERM $SERVE_PID 2>/dev/null || :
	set +e; wait $SERVE_PID; SERVE_STATUS=$?; set -e
	SERVE_PID=
}

# expect NAME CODE METHOD PATH [CURL-ARG...]: the request is answered with
# HTTP status CODE; the body is left in $SCRATCH/body, headers in
# $SCRATCH/headers.
expect() {
	name=$1 want=$2 method=$3 path=$4; shift 4
	tap_n=$((tap_n + 1))
	got=$(curl -s -o "$SCRATCH/body" -D "$SCRATCH/headers" \
	    -w '%{http_code}' -X "$method" "$URL$path" "$@") || :
	if [ "$got" = "$want" ]; then echo "ok $tap_n - $name"
	else echo "not ok $tap_n - $name (HTTP $got, want $want)"
		sed 's/^/# /' "$SCRATCH/body"; tap_failed=$((tap_failed + 1)); fi
}

# jq_q FILTER: the body of the last request satisfies the jq FILTER.
jq_q() { jq -e "$1" "$SCRATCH/body" >/dev/null; }
# jq_e JQ-ARG...: jq -e, quietly (for check).
jq_e() { jq -e "$@" >/dev/null; }
