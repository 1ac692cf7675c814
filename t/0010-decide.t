#!/bin/sh
# sm_import_decide and sm_sync_decide: their decision tables, one test a row.
cd "$(dirname "$0")" || exit 1
exec ./unit-decide
