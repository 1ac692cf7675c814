#!/bin/sh
# Canonical form, hash, record key and the strict JSON checks (lib).
cd "$(dirname "$0")" || exit 1
exec ./unit-record
