#!/bin/sh
# The outbox's coalescing and sm-push's pure parts.
cd "$(dirname "$0")" || exit 1
exec ./unit-push
