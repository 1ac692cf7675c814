#!/bin/sh
# The jq program of a source, through libjq.
cd "$(dirname "$0")" || exit 1
exec ./unit-map
