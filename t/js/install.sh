#!/bin/sh
# make node-deps: the npm packages of t/js/package.json (json-server, the
# browser driver) installed into t/js/node_modules as package-lock.json
# pins them, never globally.  Nothing when they are there already.
set -eu
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] &&
    [ ! package-lock.json -nt node_modules/.package-lock.json ]; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || {
	echo "make node-deps: npm is missing (make deps installs nodejs and npm)" >&2
	exit 1
}
echo "make node-deps: npm ci in t/js"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
