# Shared by the shell tests: TAP helpers and a scratch tenant setup.
# A test does: cd "$(dirname "$0")"; . ./lib.sh; plan N; ...
set -u
LC_ALL=C TZ=UTC
export LC_ALL TZ
unset SM_CONFIG SM_TENANT SM_NOW XDG_CONFIG_HOME
TESTDIR=$(pwd)
TOP=$(cd .. && pwd)
PATH=$TOP/bin:$PATH
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/sm-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
SM_DATA_DIR=$SCRATCH/data
XDG_CONFIG_HOME=$SCRATCH/xdg
export SM_DATA_DIR XDG_CONFIG_HOME
cd "$SCRATCH"
if [ -n "${SM_VALGRIND:-}" ]; then
	mkdir -p "$SCRATCH/vg"
	for p in "$TOP"/bin/sm-*; do
		case $p in *.c) continue ;; esac
		printf '#!/bin/sh\nexec valgrind -q --leak-check=full --error-exitcode=99 "%s" "$@"\n' \
		    "$p" >"$SCRATCH/vg/${p##*/}"
		chmod +x "$SCRATCH/vg/${p##*/}"
	done
	PATH=$SCRATCH/vg:$PATH
fi
tap_n=0
tap_failed=0

plan() { echo "1..$1"; }

# check NAME CMD...: passes when CMD succeeds.
check() {
	name=$1; shift
	tap_n=$((tap_n + 1))
	if "$@"; then echo "ok $tap_n - $name"
	else echo "not ok $tap_n - $name"; tap_failed=$((tap_failed + 1)); fi
}

# check_same NAME WANT GOT: compares two files, shows diff -u when not equal.
check_same() {
	tap_n=$((tap_n + 1))
	if cmp -s "$2" "$3"; then echo "ok $tap_n - $1"
	else echo "not ok $tap_n - $1"; diff -u "$2" "$3" | sed 's/^/# /'
		tap_failed=$((tap_failed + 1)); fi
}

# check_exit NAME CODE CMD...: passes when CMD exits with exactly CODE;
# its stdout goes to $SCRATCH/out, stderr to $SCRATCH/err (and both are
# appended to $SCRATCH/all.out, for a test that searches every output).
check_exit() {
	name=$1 want=$2; shift 2
	tap_n=$((tap_n + 1))
	set +e; "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"; got=$?; set -e
	cat "$SCRATCH/out" "$SCRATCH/err" >>"$SCRATCH/all.out"
	if [ "$got" = "$want" ]; then echo "ok $tap_n - $name"
	else echo "not ok $tap_n - $name (exit $got, want $want)"
		sed 's/^/# /' "$SCRATCH/err"; tap_failed=$((tap_failed + 1)); fi
}

# grep_q PATTERN FILE: quiet grep for use inside check.
grep_q() { grep -q -- "$1" "$2"; }

done_testing() { [ "$tap_failed" = 0 ]; }
