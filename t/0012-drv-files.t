#!/bin/sh
# The files driver of website and file targets (lib/drv-files.c).
cd "$(dirname "$0")" || exit 1
exec ./unit-drv-files
