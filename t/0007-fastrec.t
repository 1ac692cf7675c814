#!/bin/sh
# The fast record path of import against the slow one (lib).
cd "$(dirname "$0")" || exit 1
exec ./unit-fastrec
