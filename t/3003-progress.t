#!/bin/sh -e
# The live progress line (SPEC §4): a run longer than a second shows one on
# stderr when stderr is a terminal (script(1) gives the commands a pty),
# never in a pipe or a file, and never with -q.  SM_PROGRESS_DELAY=0 shows
# it from the start, so that a small input does.
cd "$(dirname "$0")"
. ./lib.sh
plan 13

if ! command -v script >/dev/null; then
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
		echo "ok $i # skip no script(1) for a terminal"
	done
	exit 0
fi

SM_TENANT=p SM_NOW=2026-01-01T00:00:00Z SM_PROGRESS_DELAY=0
export SM_TENANT SM_NOW SM_PROGRESS_DELAY
sm-tenant create P --slug p >/dev/null 2>&1
sm-tenant source add portal --type scraped >/dev/null
sm-tenant target add web --type website >/dev/null
# 5,000 listings: past import's first progress call (every 4,096 records).
awk 'BEGIN {
	for (i = 1; i <= 5000; i++)
		printf "{\"id\":\"P%06d\",\"title\":\"Listing %d, a flat with " \
		    "a view\",\"price\":%d,\"bedrooms\":%d,\"notes\":\"%0150d\"}\n",
		    i, i, 100000 + i, i % 5 + 1, i
}' >big.ndjson

# on_tty CMD: runs CMD (a shell command line) with stderr on a terminal;
# what the terminal showed goes to tty.
on_tty() { script -qec "$1" /dev/null >tty; }
# The line as the terminal redraws it: carriage return, erase, text.
line_re() { printf '\r\033\\[K%s' "$1"; }

check 'import on a terminal' on_tty 'sm-import -s portal big.ndjson >/dev/null'
check 'shows records, rate and percent' \
    grep -q "$(line_re 'sm-import: portal: [0-9]* records, [0-9]*/s, [0-9]*%')" tty
check 'then erases it for the summary' grep -q "$(line_re \
    'sm-import: portal: 5000 created, 0 updated')" tty

check 'sync on a terminal' on_tty 'sm-sync portal web >/dev/null'
check 'shows examined, rate and percent' \
    grep -q "$(line_re 'sm-sync: portal -> web: [0-9]* examined, [0-9]*/s, [0-9]*%')" tty
check 'then erases it for the summary' grep -q "$(line_re \
    'sm-sync: portal -> web: 5000 created, 0 updated')" tty

sed 's/"price":1/"price":2/' big.ndjson >big2.ndjson
SM_NOW=2026-01-02T00:00:00Z
check 'with -q, on a terminal' on_tty 'sm-import -q -s portal big2.ndjson >/dev/null'
check 'shows nothing' test ! -s tty

check_exit 'sync with stderr a file' 0 sm-sync portal web
check 'holds the summary line only, no carriage return' \
    sh -c "test \$(wc -l <'$SCRATCH/err') = 1 && ! grep -q \"\$(printf '\r')\" '$SCRATCH/err'"

check 'restore --at on a terminal' on_tty \
    'sm-snapshot restore -s portal --at 2026-01-01T12:00:00Z >/dev/null'
check 'shows restored, rate and percent' grep -q "$(line_re \
    'sm-snapshot: portal: [0-9]* restored, [0-9]*/s, [0-9]*%')" tty
check 'then erases it for the summary' grep -q "$(line_re \
    'sm-snapshot: portal: 5000 restored, 0 deleted')" tty
done_testing
