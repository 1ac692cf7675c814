# A real REST server for the HTTP target tests, after lib.sh: json-server
# (t/js, installed by make node-deps) over a JSON file, on a free loopback
# port, with the middleware t/js/faults.js; stopped at exit.
#	js_start [DB-FILE]	starts it (DB-FILE made with "listings": [] when
#				missing); sets JS_URL (its /listings), JS_PID
#	js_fault JSON		the faults to serve next (t/js/faults.js)
#	js_rows			its listings, one sorted object a line
#	js_stop			stops it
JS_BIN=$TESTDIR/js/node_modules/.bin/json-server
if [ ! -x "$JS_BIN" ] || ! command -v node >/dev/null; then
	echo "Bail out! json-server is missing: run make node-deps (needs" \
	    "nodejs and npm: make deps)"
	exit 1
fi
SM_FAULTS=$SCRATCH/faults.json
export SM_FAULTS
echo '{}' >"$SM_FAULTS"

js_start() {
	JS_DB=${1:-$SCRATCH/db.json}
	[ -f "$JS_DB" ] || echo '{"listings": []}' >"$JS_DB"
	JS_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	node "$JS_BIN" "$JS_DB" --quiet --host 127.0.0.1 --port "$JS_PORT" \
	    --middlewares "$TESTDIR/js/faults.js" \
	    >"$SCRATCH/js.log" 2>&1 &
	JS_PID=$!
	trap 'js_stop; rm -rf "$SCRATCH"' EXIT
	JS_URL=http://127.0.0.1:$JS_PORT/listings
	i=0
	until curl -s -o /dev/null -H "Authorization: Bearer ${SM_TOKEN:-}" \
	    "$JS_URL"; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 $JS_PID 2>/dev/null; then
			echo "Bail out! json-server did not start"
			sed 's/^/# /' "$SCRATCH/js.log"; exit 1
		fi
		sleep 0.05
	done
	: >"$SM_FAULTS.log"
}

js_stop() {
	[ -n "${JS_PID:-}" ] || return 0
	kill $JS_PID 2>/dev/null || :
	wait $JS_PID 2>/dev/null || :
	JS_PID=
}

js_fault() { printf '%s\n' "$1" >"$SM_FAULTS"; }

js_rows() {
	curl -sf -H "Authorization: Bearer ${SM_TOKEN:-}" "$JS_URL" |
	    jq -cS '.[]' | sort
}
