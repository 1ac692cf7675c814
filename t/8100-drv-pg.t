#!/bin/sh
# The PostgreSQL driver against a real server: t/unit-drv-pg.c in a private
# cluster (t/pg.sh).
cd "$(dirname "$0")" || exit 1
. ./lib.sh
. "$TESTDIR/pg.sh"
pg_start
pg_script "$SCRATCH/pgdo"
# The list's bounded memory is measured: no quarantine of freed memory
# under AddressSanitizer (make check-asan).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
export ASAN_OPTIONS
PGDO=$SCRATCH/pgdo "$TESTDIR/unit-drv-pg"
