#!/bin/sh
# make deps: sh t/deps.sh PACKAGE...  (Debian package names)
# Does nothing at all when what each package provides is here already: the
# library found by pkg-config (libjq has no .pc in Debian 12: a compile
# probe), the command on PATH.  Otherwise installs the missing packages
# with apt-get, as root or through sudo; without apt-get, names them and
# fails.  A package it has no probe for is asked of dpkg, when there is one.
set -u
CC=${CC:-cc}
tmp=

pc() { pkg-config --exists "$1" 2>/dev/null; }
have() {
	for c do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}
jq_links() {
	tmp=${tmp:-$(mktemp -d "${TMPDIR:-/tmp}/sm-deps.XXXXXX")} || return 1
	printf '#include <jv.h>\nint main(void) { jv_free(jv_null()); return 0; }\n' \
	    >"$tmp/jq.c"
	$CC -o "$tmp/jq" "$tmp/jq.c" -ljq >/dev/null 2>&1
}

present() {
	case $1 in
	build-essential) have "$CC" make ;;
	pkg-config)	have pkg-config ;;
	libsqlite3-dev)	pc sqlite3 ;;
	libyaml-dev)	pc yaml-0.1 ;;
	libsodium-dev)	pc libsodium ;;
	libxxhash-dev)	pc libxxhash ;;
	libmicrohttpd-dev) pc libmicrohttpd ;;
	libjq-dev)	jq_links ;;
	perl)		have perl prove ;;
	xxhash)		have xxh128sum ;;
	cron)		have crontab ;;
	python3-requests) have python3 &&
		    python3 -c 'import requests' >/dev/null 2>&1 ;;
	time)		[ -x /usr/bin/time ] ;;
	bc)		have bc ;;
	procps)		have pgrep ;;
	linux-perf)	have perf ;;
	libpq-dev)	pc libpq ;;
	libcurl4-openssl-dev) pc libcurl ;;
	hugo)		have hugo ;;
	chromium)	have chromium ;;
	systemd)	have systemd-analyze ;;
	nodejs)		have node ;;
	nginx)		have nginx || [ -x /usr/sbin/nginx ] ;;
	openssl)	have openssl ;;
	# NodeSource's nodejs brings npm and conflicts with Debian's.
	npm)		have npm ;;
	postgresql)	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ;;
	sqlite3|jq|mandoc|curl|valgrind|make|gcc|sqlite-utils) have "$1" ;;
	*)	have dpkg-query &&
		    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
		    grep -q 'ok installed' ;;
	esac
}

missing=
for p do
	present "$p" || missing="$missing $p"
done
[ -z "$tmp" ] || rm -rf "$tmp"
[ -n "$missing" ] || exit 0

if ! have apt-get; then
	echo "make deps: missing:$missing" >&2
	echo "make deps: no apt-get here: install these (Debian names) with" \
	    "the system's package manager, then run make again" >&2
	exit 1
fi
sudo=
if [ "$(id -u)" != 0 ]; then
	if ! have sudo; then
		echo "make deps: missing:$missing; run make deps as root" >&2
		exit 1
	fi
	sudo=sudo
fi
echo "make deps: installing$missing"
$sudo apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    $missing >/dev/null
