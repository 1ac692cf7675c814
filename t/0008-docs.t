#!/bin/sh -e
# The examples of README and the man pages work when pasted: every shell
# command parses, every crontab is valid, one line per entry, sets PATH and
# alerts on an exit status rather than on any failure, every sm-* command
# exists and takes the long options it is given; and README's five-minute
# tour runs.  docs-examples.awk says what counts as a command, a script, a
# crontab or output.
cd "$(dirname "$0")"
. ./lib.sh

mkdir ex
awk -v out="$SCRATCH/ex" -f "$TESTDIR/docs-examples.awk" \
    "$TOP/README" "$TOP"/man/*.[157]
where() { sed -n "s|^${1%%.*} [a-z]* $TOP/||p" "$SCRATCH/ex/index"; }

# The tour: README's "$ " commands from its heading to the next one.
tour_from=$(grep -n '^Five-minute tour$' "$TOP/README" | cut -d: -f1)
tour_to=$(awk -v f="$tour_from" 'NR > f + 1 && /^---/ { print NR; exit }' \
    "$TOP/README")
awk -v f="$tour_from" -v t="$tour_to" '$2 == "cmd" {
	split($3, a, ":"); if (a[1] ~ /README$/ && a[2] > f && a[2] < t) print $1
}' ex/index >tour
plan $((9 + $(wc -l <tour)))

ncmd=$(grep -c ' cmd ' ex/index || :)
ncron=$(grep -c ' cron ' ex/index || :)
check "examples found: $ncmd commands, $ncron crontabs" \
    test "$ncmd" -ge 50 -a "$ncron" -ge 3 -a "$(wc -l <tour)" -ge 8

# Each crontab entry's command, as cron hands it to sh (\% is %).
for f in ex/*.cron; do
	awk '/^[ \t]*(#|$)/ || /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
	{ if ($1 ~ /^@/) n = 1; else n = 5
	  for (i = 1; i <= n; i++) sub(/^[ \t]*[^ \t]+/, "")
	  sub(/^[ \t]+/, ""); gsub(/\\%/, "%"); print }' "$f" >"${f%.cron}.entries"
done

bad() { echo "# $(where "${1##*/}"): $2"; ok=1; }

syntax() {
	ok=0
	for f in ex/*.cmd ex/*.sh; do
		sh -n "$f" 2>err.sh || bad "$f" "$(head -1 err.sh)"
	done
	for f in ex/*.entries; do
		while IFS= read -r line; do
			printf '%s\n' "$line" >entry
			sh -n entry 2>err.sh || bad "$f" "$(head -1 err.sh)"
		done <"$f"
	done
	return $ok
}
check 'every shell command and script parses (sh -n)' syntax

makefiles() {
	ok=0
	for f in ex/*.make; do
		[ -e "$f" ] || continue
		make -n -s -f "$f" >/dev/null 2>err.mk || bad "$f" "$(head -1 err.mk)"
	done
	return $ok
}
check 'every Makefile example parses (make -n)' makefiles

# Debian's cron checks a file with crontab -n (its usage says "dry run"),
# cronie's with -T; elsewhere -n can mean something else, so the lines
# are only checked by the awk below.
crontab_ok() {
	ok=0
	for f in ex/*.cron; do
		crontab $ctflag "$f" >out.ct 2>&1 ||
		    bad "$f" "crontab: $(grep -v "can't install" out.ct | head -1)"
	done
	return $ok
}
ctusage=$(crontab -h 2>&1 || :)
case $ctusage in
*'dry run'*)	ctflag=-n ;;
*'-T'*)		ctflag=-T ;;
*)		ctflag= ;;
esac
if [ -n "$ctflag" ]; then
	check "crontab $ctflag accepts every crontab example" crontab_ok
else
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - crontab accepts every crontab example # skip no" \
	    "crontab -n or -T here (Debian: the cron package, make deps)"
fi

# Cron has no continuation lines, and a % that is not \% ends the command.
cronlines() {
	ok=0
	for f in ex/*.cron; do
		awk '/^[ \t]*(#|$)/ || /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
		/^(@[a-z]+|[-0-9*\/,]+[ \t]+[-0-9*\/,]+[ \t]+[-0-9*\/,]+[ \t]+[-0-9*\/,A-Za-z]+[ \t]+[-0-9*\/,A-Za-z]+)[ \t]+[^ \t]/ {
			if (/\\[ \t]*$/) print "entry ends in a backslash: " $0
			s = $0; gsub(/\\%/, "", s)
			if (s ~ /%/) print "% not escaped as \\%: " $0
			next
		}
		{ print "not a crontab line: " $0 }' "$f" >err.cron
		while IFS= read -r line; do bad "$f" "$line"; done <err.cron
	done
	return $ok
}
check 'every crontab line is a comment, a setting or one whole entry' cronlines

# make install puts the commands in /usr/local/bin, outside cron's PATH.
cronpath() {
	ok=0
	for f in ex/*.cron; do
		awk '/^PATH[ \t]*=.*\/usr\/local\/bin/ { exit 0 }
		/^[ \t]*(#|$)/ || /^[A-Za-z_][A-Za-z0-9_]*[ \t]*=/ { next }
		{ exit 1 }' "$f" || bad "$f" "no PATH=...:/usr/local/bin:... before the first entry"
	done
	return $ok
}
check 'every crontab sets PATH with /usr/local/bin before its entries' cronpath

# "cmd || mail" also mails when the tenant is busy or the disk full: an
# alert tests the status that means what it says (1: warnings).
cronalert() {
	ok=0
	for f in ex/*.entries; do
		if grep -q '||' "$f"; then bad "$f" "an entry alerts with ||"; fi
	done
	return $ok
}
check 'no crontab entry alerts with || (it would fire on errors too)' cronalert

# words FILE: "name sm-X" for each sm-* word, "opt sm-X --long" for each
# long option of a simple command that runs sm-X.  Quoted text is left out.
words() {
	awk '{ s = s $0 "\n" }
	END {
		gsub(/\\\n/, " ", s)
		gsub(/'\''[^'\'']*'\''/, "Q", s)
		gsub(/"[^"]*"/, "Q", s)
		n = split(s, seg, /[|&;()`\n]/)
		for (i = 1; i <= n; i++) {
			m = split(seg[i], w, /[ \t]+/)
			cmd = ""
			for (j = 1; j <= m; j++) {
				if (w[j] == "" || w[j] == "$")
					continue
				if (w[j] ~ /^#/)
					break
				if (cmd == "" && (w[j] ~ /^[A-Za-z_][A-Za-z0-9_]*=/ ||
				    w[j] ~ /^(do|then|else|elif|if|while|until|!|exec|time)$/))
					continue
				if (cmd == "")
					cmd = w[j]
				if (w[j] ~ /^sm-[a-z]+$/)
					print "name", w[j]
				if (cmd ~ /^sm-[a-z]+$/ && w[j] ~ /^--[a-z]/) {
					o = w[j]; sub(/=.*/, "", o)
					print "opt", cmd, o
				}
			}
		}
	}' "$1"
}
for f in ex/*.cmd ex/*.sh ex/*.make ex/*.entries; do
	[ -e "$f" ] || continue
	words "$f" | sed "s|\$| $f|"
done >words

names() {
	ok=0
	while read -r _ c f; do
		[ -x "$TOP/bin/$c" ] || bad "$f" "$c: no such command in bin/"
	done <<-EOF
	$(grep '^name ' words)
	EOF
	return $ok
}
check 'every sm-* command named exists in bin/' names

# A long option is in the command's --help, or is the long name of a
# shared letter (sm(7)) that the usage shows.
opt_ok() {
	[ -f "help.$1" ] || "$TOP/bin/$1" --help >"help.$1" 2>&1 || :
	grep -Eq -- "(^|[^a-z-])$2([^a-z-]|\$)" "help.$1" && return 0
	case $2 in
	--help|--version) return 0 ;;
	--config-file) l=c ;; --data-dir) l=D ;; --dry-run) l=n ;;
	--quiet) l=q ;; --source) l=s ;; --target) l=t ;; --tenant) l=T ;;
	--yes) l=y ;;
	*) return 1 ;;
	esac
	grep -Eq -- "\[-[a-zA-Z]*$l[a-zA-Z]*\]|\[-$l |-$l " "help.$1"
}
options() {
	ok=0
	while read -r _ c opt f; do
		[ -x "$TOP/bin/$c" ] || continue
		opt_ok "$c" "$opt" || bad "$f" "$c $opt: not in $c --help"
	done <<-EOF
	$(grep '^opt ' words)
	EOF
	return $ok
}
check 'every long option is in its command'\''s --help' options

# The tour, pasted into one shell in a fresh directory, at a fixed time;
# the scraper gives day 2's listings, the deliverer swallows the events.
mkdir tour.d tour.d/fake
ln -s "$TOP/bin" "$TOP/examples" tour.d/
printf '#!/bin/sh\nexec cat %s/examples/listings-day2.ndjson\n' "$TOP" \
    >tour.d/fake/my-scraper
printf '#!/bin/sh\nexec cat >/dev/null\n' >tour.d/fake/my-deliverer
chmod +x tour.d/fake/*
make() { :; }	# built already
PATH=$SCRATCH/tour.d/fake:$PATH
SM_NOW=2026-11-29T05:00:00Z
export SM_NOW
cd tour.d
while read -r n; do
	cmd=$(cat "$SCRATCH/ex/$n.cmd")
	check_exit "tour: $(where $n): $cmd" 0 eval "$cmd"
done <"$SCRATCH/tour"
cd "$SCRATCH"
done_testing
