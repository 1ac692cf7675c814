#!/bin/sh
# The input loop: NDJSON, JSON arrays, line numbers, over-long records.
cd "$(dirname "$0")" || exit 1
exec ./unit-input
