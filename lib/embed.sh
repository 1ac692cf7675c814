#!/bin/sh
# See LICENSE file for copyright and license details.
#
# embed.sh NAME FILE: writes on stdout a C file that defines FILE, a text
# file, as the string NAME, byte for byte:
#	extern const char NAME[];
#	const char NAME[] = "line 1\n" "line 2\n" ...;
# so that data (a schema, a web page) stays a plain file in the tree and
# the program needs no file at run time (as lib/schema.c, the
# migrations).  A file of NUL or other control bytes (but tab and CR) is
# refused: it is no text.
set -e
[ $# -eq 2 ] || { echo "usage: embed.sh NAME FILE" >&2; exit 64; }
name=$1 file=$2
[ -r "$file" ] || { echo "embed.sh: cannot read '$file'" >&2; exit 66; }
if [ "$(LC_ALL=C tr -d '\t\n\r\040-\377' <"$file" | wc -c)" -ne 0 ]; then
	echo "embed.sh: '$file' holds control bytes: not a text file" >&2
	exit 65
fi
echo "/* Generated from $file by lib/embed.sh: do not edit. */"
echo "extern const char $name[];"
echo "const char $name[] ="
# \ " ? (trigraphs), tab and CR escaped; each line ends in \n but a last
# line without one.
LC_ALL=C sed 's/\\/\\\\/g; s/"/\\"/g; s/?/\\?/g; s/	/\\t/g; s/\r/\\r/g;
    s/^/	"/; s/$/\\n"/' "$file" |
if [ -n "$(tail -c 1 "$file")" ]; then sed '$s/\\n"$/"/'; else cat; fi
echo '	"";'
