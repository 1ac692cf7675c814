# The examples of README and the man pages, one file each, for
# t/0008-docs.t.  Usage: awk -v out=DIR -f docs-examples.awk README man/*
# Writes DIR/N.KIND and, per example, "N KIND FILE:LINE" to DIR/index.
#
# A block is a man page's .Bd -literal ... .Ed, or in README a run of lines
# indented by four spaces or a ``` fence.  A block is, by the first rule
# that fits:
#   sh    a script: a ```sh fence, a first line #!, or (when no rule
#         below fits) a first line that sets a shell variable
#   cmd   a transcript: each line "$ COMMAND" is one example, with the lines
#         after it that are indented or follow a line ending in \ | && ||;
#         the other lines are output
#   cron  a crontab: a line has five time fields (or @daily) and a command;
#         then every line of the block must be a crontab line
#   make  a Makefile: a "name:" line and a tab-indented recipe
#   out   anything else (output, a config file): not checked
# In man pages the roff escapes \e \- \& \(aq \(dq are decoded.

BEGIN {
	f = "[-0-9*/,A-Za-z]+"
	cronre = "^(@[a-z]+|[-0-9*/,]+[ \t]+[-0-9*/,]+[ \t]+[-0-9*/,]+[ \t]+" \
	    f "[ \t]+" f ")[ \t]+[^ \t]"
	nex = 0
}

function add(s) {
	if (n == 0)
		start = FNR
	L[++n] = s
}

function emit(kind, text, line,   p) {
	p = out "/" ++nex "." kind
	printf "%s", text > p
	close(p)
	print nex, kind, FILENAME ":" line >> (out "/index")
}

function flush(   i, j, t, rule, recipe, kind) {
	if (n == 0)
		return
	kind = "out"
	if (forced != "")
		kind = forced
	else if (L[1] ~ /^#!/)
		kind = "sh"
	else {
		for (i = 1; i <= n; i++)
			if (L[i] ~ /^\$ /)
				kind = "cmd"
		if (kind == "out")
			for (i = 1; i <= n; i++)
				if (L[i] ~ cronre)
					kind = "cron"
		if (kind == "out") {
			for (i = 1; i <= n; i++) {
				if (L[i] ~ /^[A-Za-z_][A-Za-z0-9_.-]*:([ \t]|$)/)
					rule = 1
				if (L[i] ~ /^\t/)
					recipe = 1
			}
			if (rule && recipe)
				kind = "make"
		}
		if (kind == "out" && L[1] ~ /^[A-Za-z_][A-Za-z0-9_]*=[^ \t]/)
			kind = "sh"
	}
	if (kind == "cmd") {
		for (i = 1; i <= n; i++) {
			if (L[i] !~ /^\$ /)
				continue
			t = substr(L[i], 3) "\n"
			for (j = i + 1; j <= n; j++) {
				if (L[j] !~ /^[ \t]/ && L[j - 1] !~ /(\\|\||&&)[ \t]*$/)
					break
				t = t L[j] "\n"
			}
			emit("cmd", t, start + i - 1)
			i = j - 1
		}
	} else if (kind != "out") {
		t = ""
		for (i = 1; i <= n; i++)
			t = t L[i] "\n"
		emit(kind, t, start)
	}
	n = 0
	forced = ""
}

function decode(s) {
	gsub(/\\\(aq/, "'", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\-/, "-", s)
	gsub(/\\&/, "", s)
	gsub(/\\e/, "\\", s)
	return s
}

FNR == 1 {
	flush()
	man = FILENAME ~ /\.[0-9]$/
	inblk = fence = 0
}

man && /^\.Bd -literal/ { inblk = 1; next }
man && inblk && /^\.Ed/ { flush(); inblk = 0; next }
man && inblk && /^\./ { next }
man && inblk { add(decode($0)); next }
man { next }

/^```/ {
	if (fence) {
		flush()
		fence = 0
	} else {
		flush()
		fence = 1
		forced = $0 ~ /^```(sh|shell)[ \t]*$/ ? "sh" : "out"
	}
	next
}
fence { add($0); next }
/^    / { add(substr($0, 5)); next }
/^[ \t]*$/ { if (n > 0) add(""); next }
{ flush() }

END { flush() }
