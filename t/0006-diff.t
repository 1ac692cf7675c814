#!/bin/sh
# sm_diff_json: RFC 6902 operations, exact outputs and a patch round trip.
cd "$(dirname "$0")" || exit 1
exec ./unit-diff
