#!/bin/sh -e
# sm-sync: -s/-t name the source and target as sm-diff's do, alone or mixed
# with operands; a usage error says why before the usage.
cd "$(dirname "$0")"
. ./lib.sh
plan 31

SM_NOW=2026-11-29T05:00:00Z SM_TENANT=acme
export SM_NOW SM_TENANT
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add website --type website >/dev/null
sm-tenant target add other --type website >/dev/null
printf '{"id":"p1","v":1}\n{"id":"p2","v":2}\n' | sm-import -q -s portal >/dev/null

# why WANT: the first line of stderr is "sm-sync: WANT", then the usage.
why() {
	test "$(sed -n 1p err)" = "sm-sync: $1" &&
	    sed -n 2p err | grep -q '^usage: sm-sync'
}

check_exit 'operands, dry run' 0 sm-sync -n portal website
cp out want
check_exit '-s and -t, dry run' 0 sm-sync -n -s portal -t website
check_same '-s/-t: the same events' want out
check_exit '--source and --target' 0 sm-sync -n --source portal \
    --target website
check_same '--source/--target: the same events' want out
check_exit '-s and an operand' 0 sm-sync -n -s portal website
check_same '-s with the target operand' want out
check_exit '-t and the source operand' 0 sm-sync -n -t website portal
check_same '-t with the source operand' want out
check_exit 'options that agree with two operands' 0 \
    sm-sync -n -s portal -t website portal website
check_same 'agreeing: the same events' want out
check_exit 'ids in -s/-t' 0 sm-sync -n -s 1 -t 1
check_same 'ids: the same events' want out

check_exit 'the real run with -s/-t' 0 sm-sync -q -s portal -t website
check 'two creates' test "$(grep -c '"op":"create"' out)" = 2
check_exit '--history -s' 0 sm-sync --history -s portal
check 'one run' test "$(wc -l <out)" = 1
check_exit '--history -t of another target' 0 sm-sync --history -t other
check 'no run' test ! -s out

check_exit '-s against another source operand' 64 \
    sm-sync -s feed portal website
check 'says so' why "-s 'feed' and operand 'portal' name different sources"
check_exit '-t against another target operand' 64 \
    sm-sync -t other portal website
check 'says so' why "-t 'other' and operand 'website' name different targets"
check_exit '-s, -t and one operand more' 64 sm-sync -s portal -t website x
check 'extra operand' why "extra operand 'x'"
check_exit 'no operands' 64 sm-sync
check 'missing both' why 'missing operands: SOURCE TARGET'
check_exit 'one operand' 64 sm-sync portal
check 'missing target' why 'missing operand: TARGET'
check_exit '-t only' 64 sm-sync -t website
check 'missing source' why 'missing operand: SOURCE'

done_testing
