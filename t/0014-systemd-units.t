#!/bin/sh -e
# examples/systemd: systemd-analyze verify finds nothing to say of the
# units (when it is here: Debian's systemd package), sm-serve's unit is
# hardened, and the daily job's command line runs as systemd would run it.
cd "$(dirname "$0")"
. ./lib.sh
plan 13

U=$TOP/examples/systemd
# verify wants each ExecStart binary to exist: the units as installed
# from this tree, the commands in bin/.
mkdir units
for f in "$U"/*; do
	sed "s|/usr/local/bin/|$TOP/bin/|" "$f" >"units/${f##*/}"
done
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "Bail out! systemd-analyze is missing: make deps installs the" \
	    "Debian package systemd"
	exit 1
}
# Unknown keys and bad values are warnings, exit 0: the output must be
# empty too.  --man=no: the sm pages need not be installed.
for f in sm-serve.service sm-daily.service sm-daily.timer; do
	check_exit "systemd-analyze verify $f" 0 \
	    systemd-analyze verify --man=no "./units/$f"
	check "$f: not a warning" sh -c "! grep -q . '$SCRATCH/err' &&
	    ! grep -q . '$SCRATCH/out'"
done

check 'sm-serve: its own user, never root' sh -c \
    "grep -q '^User=sm\$' '$U/sm-serve.service' ||
    grep -q '^DynamicUser=yes\$' '$U/sm-serve.service'"
check 'sm-serve: the file system read-only but its state directory' sh -c \
    "grep -q '^ProtectSystem=strict\$' '$U/sm-serve.service' &&
    grep -q '^StateDirectory=sm\$' '$U/sm-serve.service' &&
    grep -q '^ProtectHome=yes\$' '$U/sm-serve.service' &&
    grep -q '^PrivateTmp=yes\$' '$U/sm-serve.service'"
check 'sm-serve: no privileges to gain, no capabilities' sh -c \
    "grep -q '^NoNewPrivileges=yes\$' '$U/sm-serve.service' &&
    grep -q '^CapabilityBoundingSet=\$' '$U/sm-serve.service'"
check 'sm-serve: stopped by SIGTERM, with time to finish' sh -c \
    "grep -q '^KillSignal=SIGTERM\$' '$U/sm-serve.service' &&
    grep -q '^TimeoutStopSec=30\$' '$U/sm-serve.service'"
check 'the timer starts the daily job' sh -c \
    "grep -q '^OnCalendar=' '$U/sm-daily.timer' &&
    grep -q '^Persistent=true\$' '$U/sm-daily.timer'"

# The daily job's ExecStart, as systemd hands it to sh (%% is %), on a
# scratch tenant whose website is a directory of files.
sed -n "s/^ExecStart=\/bin\/sh -ec '\(.*\)'\$/\1/p" "$U/sm-daily.service" |
    sed 's/%%/%/g; s|/var/lib/sm/|'"$SCRATCH"'/|g' >daily.sh
export SM_TENANT=my-company
sm-tenant create 'My Company' --slug my-company >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add website --type website \
    --config "{\"path\":\"$SCRATCH/site\",\"format\":\"json\"}" >/dev/null
mkdir incoming
printf '[{"id":"a1","price":1},{"id":"a2","price":2}]\n' >incoming/feed.json
check_exit 'the daily job runs' 0 sh -ec "$(cat daily.sh)"
check 'and delivers to the website' test -s site/a1.json -a -s site/a2.json
done_testing
