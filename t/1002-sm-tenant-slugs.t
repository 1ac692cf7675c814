#!/bin/sh -e
# sm-tenant create: the slug made from a name.  Latin letters with marks
# become their ASCII base, in any locale; other scripts and symbols
# separate words; a name with nothing left is named in the error.
cd "$(dirname "$0")"
. ./lib.sh
plan 20

sm-tenant init >/dev/null
# slug NAME WANT: creating NAME makes the tenant WANT.
slug() {
	sm-tenant -q create "$1" >out 2>err &&
	    test "$(jq -r .id out)" = "$2" && test -e "data/$2.db"
}

check 'ñ' slug 'Peñalver' penalver
check 'é, è, û' slug 'Crème Brûlée & Co' creme-brulee-co
check 'ß' slug 'Straße 1' strasse-1
check 'Æ, Ø' slug 'Æbeltoft Øst' aebeltoft-ost
check 'Ł, ó, ź, Œ' slug 'Łódź Œuvre' lodz-oeuvre
check 'Đ, Þ' slug 'Đakovo Þór' dakovo-thor
check 'Ç, ã, ı' slug 'Ça São Iğdır' ca-sao-igdir
check 'ÿ, Ÿ, ŉ, Ĳ' slug 'Ÿÿ ŉ Ĳssel' yy-n-ijssel
check 'a decomposed ñ (n and a combining tilde)' \
    slug "$(printf 'Pe\156\314\203alver Two')" penalver-two
check 'CJK is a separator' slug '東京 Homes 2' homes-2
check 'an emoji is a separator' slug 'Café 😀 Bar' cafe-bar
check '× is a separator, not a letter' slug 'Lot 2×3' lot-2-3
check 'the same in a UTF-8 locale' env LC_ALL=C.UTF-8 \
    sh -c 'sm-tenant -q create "Ñandú Bienes" >out'
check 'ñandú' test "$(jq -r .id out)" = nandu-bienes
long=$(printf 'ß%.0s' $(seq 40))
check 'at most 63 bytes, an expansion cut at the end' slug "$long" \
    "$(printf 's%.0s' $(seq 63))"

check_exit 'nothing usable in the name' 64 sm-tenant create '???'
check 'the message names the name' grep_q \
    "^sm-tenant: cannot make a slug of '???': give one with --slug\$" err
check_exit 'emoji only' 64 sm-tenant create '😀 東京'
check 'names it too' grep_q "cannot make a slug of '😀 東京'" err
check_exit 'with --slug it is fine' 0 sm-tenant -q create '???' --slug qqq

done_testing
