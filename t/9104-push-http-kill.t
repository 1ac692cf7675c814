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
pending() { sm-push --status k | jq .pending; }

i=1 killed=0 partial=0 t0=$(date +%s)
while [ $i -le "$KILLS" ]; do
	round $i
	sm-import -q --complete --allow-mass-delete -s portal round.json >/dev/null
	sm-sync -q portal k >/dev/null
	before=$(pending)
	sm-push -q k >/dev/null 2>&1 &
	pid=$!
	# Over the push's run: a few hundred requests take about a second.
	sleep "0.$(awk -v s=$i 'BEGIN { srand(s + 1000); printf "%03d", rand() * 999 }')"
	kill -9 $pid 2>/dev/null || :
	st=0; wait $pid 2>/dev/null || st=$?
	if [ "$st" = 137 ]; then
		killed=$((killed + 1))
		after=$(pending)
		[ "$after" -lt "$before" ] && partial=$((partial + 1))
	fi
	i=$((i + 1))
done
echo "# $killed of $KILLS pushes killed before their end, $partial of them" \
    "after delivering part of their changes ($(($(date +%s) - t0)) s)"
check 'most pushes were killed on the way' [ "$killed" -ge $((KILLS / 2)) ]
check 'many of them mid-way, part delivered' [ "$partial" -ge $((KILLS / 4)) ]
check_exit 'a last push' 0 sm-push -q k
check 'nothing pending, held nor failed' eval \
    'sm-push --status k | jq -e ".pending == 0 and .held == 0 and .failed == 0" >/dev/null'

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
