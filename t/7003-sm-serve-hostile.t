#!/bin/sh -e
# sm-serve against hostile clients (sm-serve(1), HOSTILE CLIENTS): a client
# that leaves while its write waits, idle connections past the limit,
# slowloris headers and bodies, then all at once: one tenant hammering,
# importing through runaway maps and dripping headers while another's GETs
# are timed.  Deadlines are short here: serve.timeout_s 2.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/serve.sh"
plan 28

ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || :
sm-tenant create "Agency A" --slug a >a.json 2>/dev/null
sm-tenant create "Agency B" --slug b >b.json 2>/dev/null
for t in a b; do
	sm-tenant -T $t source add feed --type scraped >/dev/null
	sm-tenant -T $t target add site --type website >/dev/null
done
KA="X-API-Key: $(jq -r .api_key a.json)"
KB="X-API-Key: $(jq -r .api_key b.json)"
mkdir tmp
TMPDIR=$SCRATCH/tmp
export TMPDIR
cat >config.yaml <<EOF
map_timeout_ms: 300
map_max_bytes: 32M
serve:
  timeout_s: 2
  tenant_requests: 4
  max_connections: 1000
EOF
serve_start -c config.yaml --threads 4
PORT=${URL##*:}

# now: seconds since the epoch, with a fraction.
now() { date +%s.%N; }
# secs T0: seconds since T0.
secs() { echo "$(now) - $1" | bc; }
# lt A B: A < B, as numbers.
lt() { test "$(echo "$1 < $2" | bc)" = 1; }

# The client side: N sockets, each idle, sending its headers one byte at
# a time, or its body so.  Prints "CLOSED SECONDS": how many the server
# closed, and when the last went (or the whole wait when some are open).
cat >h.pl <<'EOF'
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time sleep);
my ($port, $n, $kind, $wait, $ready, $key) = @ARGV;
my (@s, %gone);
for (1 .. $n) {
	my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port) or last;
	$c->blocking(0);
	my $pre = $kind eq 'body' ? "POST /sources/1/import HTTP/1.1\r\n" .
	    "Host: x\r\n$key\r\nContent-Length: 100000\r\n\r\n" :
	    $kind eq 'headers' ? "GET /sources HTTP/1.1\r\nHost: x\r\n" : '';
	syswrite($c, $pre) if $pre ne '';
	push @s, $c;
}
open(my $f, '>', $ready) or die "$ready: $!";
close($f);
my ($t0, $last, $tick) = (time, 0, 0);
$SIG{PIPE} = 'IGNORE';
while (time - $t0 < $wait && keys(%gone) < @s) {
	sleep 0.1;
	$tick++;
	for my $i (0 .. $#s) {
		next if $gone{$i};
		my $buf; my $r = sysread($s[$i], $buf, 4096);
		my $wait = !defined $r && $!{EAGAIN};
		my $w = ($kind ne 'idle' && $tick % 5 == 0) ?
		    syswrite($s[$i], $kind eq 'body' ? '{' : 'X') : 1;
		if ((defined $r && $r == 0) || !defined $w ||
		    (!defined $r && !$wait)) {
			$gone{$i} = 1; $last = time - $t0;
		}
	}
}
printf "%d %.2f\n", scalar(keys %gone),
    keys(%gone) == @s ? $last : time - $t0;
EOF
# hold KIND N WAIT: the client side, in the background, ready when
# $SCRATCH/ready.KIND exists; its answer in hold.KIND.
hold() {
	rm -f ready.$1
	perl h.pl "$PORT" "$2" "$1" "$3" ready.$1 "$KA" >hold.$1 &
	HOLD=$!
	i=0
	until [ -e ready.$1 ] || [ $i -gt 300 ]; do sleep 0.05; i=$((i + 1)); done
}

# 4. A client that leaves while its write waits for its tenant.  Before,
# the write slot was never given back: every later write of the tenant
# hung, and so did SIGTERM.
awk 'BEGIN { for (i = 0; i < 300000; i++)
    printf "{\"id\":\"L%d\",\"price\":%d,\"title\":\"house %d\"}\n", i, i, i }' \
    >long.ndjson
curl -s -o long.out -X POST "$URL/sources/1/import" -H "$KA" \
    -H 'Content-Type: application/x-ndjson' --data-binary @long.ndjson &
long=$!
# The import runs: its spool (unlinked once open) is mapped once the
# whole body has come.  (Open only, the body may still be coming, and a
# small write sent now would run first.)
i=0
until grep -q "$SCRATCH/tmp/sm-serve" /proc/$SERVE_PID/maps 2>/dev/null ||
    [ $i -gt 400 ]; do
	sleep 0.02; i=$((i + 1))
done
sleep 0.3
set +e
curl -s -m 1 -o /dev/null -X POST "$URL/sources/1/import" -H "$KA" \
    -d '{"data":[{"id":"gone1"}]}'
gone_rc=$?
set -e
check 'the second write waited, and its client gave up' test "$gone_rc" = 28
t0=$(now)
third=$(curl -s -m 5 --retry 10 --retry-max-time 8 -o third.out -w '%{http_code}' -X POST \
    "$URL/sources/1/import" -H "$KA" -d '{"data":[{"id":"third"}]}') || :
wait $long || :
check 'a third write of that tenant is done' test "$third" = 200
echo "# the third write answered in $(secs "$t0") s"
check 'the long import was done too' jq_e '.stats.created == 300000' long.out
curl -s "$URL/runs?kind=import" -H "$KA" >runs.json
check 'the write whose client left was never run' \
    jq_e 'length == 2' runs.json
check 'it is logged with why' grep -q \
    'a POST /sources/1/import .*the client has gone' serve.log

# 5. 1,100 idle connections: past serve.max_connections (1000) a client is
# answered 503 at once, not left in the kernel's queue for a minute.
hold idle 1100 6
check '1,100 connections open' test -e ready.idle
t0=$(now)
code=$(curl -s -m 10 -o idle.out -D idle.headers -w '%{http_code}' \
    "$URL/sources" -H "$KB") || :
t=$(secs "$t0")
echo "# with 1,100 idle connections: HTTP $code in $t s"
check 'a client past the limit is answered 503 at once' sh -c \
    "test '$code' = 503 && test \"\$(echo '$t < 1' | bc)\" = 1"
check 'with Retry-After' grep -qi '^Retry-After: 1' idle.headers
wait $HOLD || :
read closed t <hold.idle
echo "# idle connections: $closed of 1100 closed by the server, the last after $t s"
check 'every idle connection closed within the deadline' sh -c \
    "test $closed = 1100 && test \"\$(echo '$t < 4' | bc)\" = 1"
expect 'then a client is served' 200 GET /sources -H "$KB"

# Slowloris: headers a byte every half second, and bodies so, are closed
# after serve.timeout_s (2 s) whatever they send.
hold headers 200 8
t0=$(now)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$URL/sources" \
    -H "$KB") || :
t=$(secs "$t0")
check 'a client is served while 200 connections drip headers' sh -c \
    "test '$code' = 200 && test \"\$(echo '$t < 1' | bc)\" = 1"
wait $HOLD || :
read closed t <hold.headers
echo "# slow headers: $closed of 200 closed, the last after $t s"
check 'slow headers are closed after the deadline' sh -c \
    "test $closed = 200 && test \"\$(echo '$t < 4' | bc)\" = 1"
hold body 4 8
wait $HOLD || :
read closed t <hold.body
echo "# slow bodies: $closed of 4 closed, the last after $t s"
check 'slow bodies are closed after the deadline' sh -c \
    "test $closed = 4 && test \"\$(echo '$t < 4' | bc)\" = 1"

# The whole hostile set at once: one tenant hammers (40 connections at
# once: imports, syncs, lists), imports through a runaway map and a greedy
# one, and tries a map that would read a file, while 100 connections drip
# headers; another tenant's GETs are timed one after the other.
expect 'a map that names include is refused' 422 POST /sources -H "$KA" \
    -H 'Content-Type: application/json' \
    -d '{"name":"inc","type":"json","map":"include \"x\"; ."}'
expect 'a runaway map is a source like another' 201 POST /sources -H "$KA" \
    -H 'Content-Type: application/json' \
    -d '{"name":"loop","type":"json","map":"def f: f; f"}'
expect 'so is a greedy one' 201 POST /sources -H "$KA" \
    -H 'Content-Type: application/json' \
    -d '{"name":"greedy","type":"json","map":"[range(1e8)] | length"}'
(while [ ! -e b.done ]; do
	for s in 2 3; do
		curl -s -m 30 -w '%{stderr}%{http_code}\n' -X POST \
		    "$URL/sources/$s/import" -H "$KA" \
		    -d '{"data":[{"id":"x1"},{"id":"x2"}]}' \
		    >>evil.$s 2>>evil.codes || :
		echo >>evil.$s
	done
done) &
evil=$!
hold headers 100 30
n=0
{
	while [ $n -lt 400 ]; do
		n=$((n + 1))
		case $((n % 4)) in
		0) echo "url = \"$URL/sources/1/import\""
		   echo 'request = "POST"'
		   echo "data = \"{\\\"data\\\":[{\\\"id\\\":\\\"h$n\\\"}]}\"" ;;
		1) echo "url = \"$URL/sync/1/1\""; echo 'request = "POST"' ;;
		*) echo "url = \"$URL/sources/1/properties\"" ;;
		esac
		echo "header = \"$KA\""
		echo 'output = "/dev/null"'
		printf '%s\n' 'write-out = "%{http_code}\n"'
		echo next
	done
	echo "url = \"$URL/health\""
	echo 'output = "/dev/null"'
} >hammer.cfg
: >hammer.out
(while [ ! -e b.done ]; do
	curl -s --no-progress-meter -Z --parallel-max 40 -K hammer.cfg \
	    >>hammer.out 2>/dev/null || :
done) &
hammer=$!
sleep 0.5
for i in $(seq 1 200); do
	curl -s -m 30 -o /dev/null -w '%{http_code} %{time_total}\n' \
	    "$URL/sources/1/properties" -H "$KB" >>b.times || :
done
touch b.done
wait $hammer || :
wait $evil || :
kill $HOLD 2>/dev/null || :
wait $HOLD 2>/dev/null || :
echo "# the runaway and greedy imports: $(wc -l <evil.codes) answered" \
    "($(grep -c '^200' evil.codes || :) 200, $(grep -c '^503' evil.codes || :) 503)"
check 'every runaway import was answered (200 or 503)' sh -c \
    'test -s evil.codes && ! grep -qv "^[25]0[03]$" evil.codes'
for s in 2 3; do
	expect "then an import through map $s: its records rejected" 200 \
	    POST /sources/$s/import -H "$KA" -d '{"data":[{"id":"y1"},{"id":"y2"}]}'
	check 'by their budget' jq_q '.stats.rejected == 2 and
	    (.rejects | all(.error | test("budget")))'
done
expect 'the server still answers /health' 200 GET /health
sort -k2 -n b.times | awk '{ t[NR] = $2 } END {
    printf "# p99 %.3f s over %d GETs of tenant b during the attack " \
        "(median %.3f s, max %.3f s)\n", t[int(NR * 0.99 + 0.5)], NR,
        t[int(NR / 2 + 0.5)], t[NR] }'
echo "# the attacker: $(wc -l <hammer.out) requests," \
    "$(grep -c '^503' hammer.out || :) answered 503," \
    "$(grep -c '^200' hammer.out || :) 200"
check "every GET of b answered 200" test "$(awk '$1 != 200' b.times |
    wc -l)" = 0 -a "$(wc -l <b.times)" = 200
p99=$(sort -k2 -n b.times | awk '{ t[NR] = $2 } END {
    print t[int(NR * 0.99 + 0.5)] }')
check 'p99 of b under 2 s' lt "$p99" 2
check 'the attacker was told 503' grep -q '^503' hammer.out
check 'and was served too' grep -q '^200' hammer.out

# SIGTERM ends in bounded time, with nothing left waiting.
t0=$(now)
kill -TERM $SERVE_PID
i=0
while kill -0 $SERVE_PID 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
t=$(secs "$t0")
echo "# SIGTERM: stopped in $t s"
check 'SIGTERM stops the server within 5 s' lt "$t" 5
kill -KILL $SERVE_PID 2>/dev/null || :
serve_stop
check 'exit 0' test "$SERVE_STATUS" = 0
done_testing
