#!/bin/sh
# The strict JSON pre-scan against JSONTestSuite (shared/testdata).
cd "$(dirname "$0")" || exit 1
TOP=$(cd .. && pwd)
dir=$TOP/../shared/testdata/JSONTestSuite/test_parsing
if [ ! -d "$dir" ]; then
	echo "1..0 # SKIP no JSONTestSuite"
	exit 0
fi
exec ../t/unit-jsontestsuite "$dir"
