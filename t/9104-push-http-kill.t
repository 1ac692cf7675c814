#!/bin/sh -e
# sm-push into a real REST server (json-server, t/jsonserver.sh) killed
# with -9 at 30 random moments, with new versions imported and synced
# between the kills.  Creates are POSTs, which are not idempotent: a
# create cut off before sm knew is found by a GET and not sent twice.
# The middleware logs every write as answered, so the test sees each
# version the server ever took:
#   - no listing ever took an older version after a newer one;
#   - after a last push, json-server's data equals the target rows.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/jsonserver.sh"
plan 6
js_start

SM_TENANT=acme
export SM_TENANT
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add k --type api --config '{"url":"'"$JS_URL"'",
    "create":{"method":"POST","path":""}}' >/dev/null
N=${PUSH_KILL_N:-300}
KILLS=${PUSH_KILLS:-30}

. "$TESTDIR/rounds.sh"
# Killed after 1 to 150 writes the server answered (a round has about
# 200 changes): a clock would miss the push on a fast machine and hit
# before its first request on a slow one.
touch "$SM_FAULTS.writes"
# (A push that has ended is a zombie until waited for: kill -0 still
# finds it, its state in /proc does not.)
running() { [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ] &&
    [ -e /proc/$1/stat ]; }
kill_point() {
	want=$(($(wc -l <"$SM_FAULTS.writes") + $(awk -v s=$1 'BEGIN {
	    srand(s + 1000); print int(rand() * 150) + 1 }')))
	n=0
	while running $2 && [ $n -lt 3000 ] &&
	    [ "$(wc -l <"$SM_FAULTS.writes")" -lt $want ]; do
		sleep 0.005; n=$((n + 1))
	done
}
kill_rounds 999

sm-snapshot cat -t k | jq -cS .data | sort >sm.json
js_rows >js.json
check_same "json-server's data equals the target rows" sm.json js.json

# Every write answered 2xx, in order: a listing's price (its round) never
# goes down.
awk '$3 ~ /^2/ && $5 != "-" {
	id = $4; r = int($5 / 100000)
	if ((id in last) && r < last[id]) {
		print "# older version after a newer one:", $0, "after round", last[id]
		bad++
	}
	last[id] = r; n++
}
END { printf "# %d writes checked, %d out of order\n", n, bad; exit bad > 0 }' \
    "$SM_FAULTS.writes" >order.out || :
cat order.out
check 'no listing went back to an older version' grep -q ' 0 out of order' order.out
done_testing
