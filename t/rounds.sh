# The rounds of the push-kill tests (t/9103, t/9104), after lib.sh: N
# listings change round after round while sm-push is killed.
# round R: each listing kept, changed (its price, R * 100000 + id, names
# the round, so a version's hash is its own), deleted or made again; the
# state is the file "state" (id price, or id - when absent); the round's
# records are written to round.json.
: >state
round() {
	awk -v r="$1" -v n="$N" 'BEGIN { srand(r)
		while ((getline l <"state") > 0) { split(l, f, " "); p[f[1]] = f[2] }
		for (i = 1; i <= n; i++) {
			x = rand(); old = (i in p) ? p[i] : "-"
			if (old == "-")
				v = (r == 1 || x < 0.3) ? r * 100000 + i : "-"
			else if (x < 0.05)
				v = "-"
			else if (x < 0.6)
				v = r * 100000 + i
			else
				v = old
			print i, v >"state.new"
			if (v != "-")
				printf "{\"id\":\"%d\",\"price\":%d}\n", i, v
		}
	}' >round.json
	mv state.new state
}
