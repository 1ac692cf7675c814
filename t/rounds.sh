# The push-kill tests (t/9103, t/9104), after lib.sh: N listings
# change round after round while sm-push is killed (kill_rounds).
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

# kill_rounds MAX_MS: KILLS rounds into target k, each imported and
# synced (then after_sync R, when the test defines it), pushed and the
# push killed with -9 after a random share of up to MAX_MS at first (the
# bound then follows how long the pushes take here), or when
# kill_point R PID returns, when the test defines it; then the
# checks that most pushes were cut off, many of them mid-way (some of
# their changes recorded as delivered), and that a last push leaves
# nothing pending, held or failed.
pending() { sm-push --status k | jq .pending; }
kill_rounds() {
	i=1 killed=0 partial=0 t0=$(date +%s) kmax=$1
	while [ $i -le "$KILLS" ]; do
		round $i
		sm-import -q --complete --allow-mass-delete -s portal \
		    round.json >/dev/null
		sm-sync -q portal k >/dev/null
		! command -v after_sync >/dev/null || after_sync $i
		before=$(pending)
		sm-push -q k >/dev/null 2>&1 &
		pid=$!
		if command -v kill_point >/dev/null; then
			kill_point $i $pid
		else
			sleep "0.$(awk -v s=$i -v m="$kmax" 'BEGIN {
			    srand(s + 1000); printf "%03d", rand() * m }')"
		fi
		kill -9 $pid 2>/dev/null || :
		st=0; wait $pid 2>/dev/null || st=$?
		# The clock follows the machine: shorter after a push that
		# ended, longer after one killed before it recorded anything.
		if [ "$st" = 137 ]; then
			killed=$((killed + 1))
			after=$(pending)
			if [ "$after" -lt "$before" ]; then
				partial=$((partial + 1))
			elif [ $kmax -lt 800 ]; then
				kmax=$((kmax * 5 / 4))
			fi
		elif [ $kmax -gt 40 ]; then
			kmax=$((kmax * 3 / 4))
		fi
		i=$((i + 1))
	done
	echo "# $killed of $KILLS pushes killed before their end, $partial" \
	    "of them after delivering part of their changes" \
	    "($(($(date +%s) - t0)) s)"
	check 'most pushes were killed on the way' \
	    [ "$killed" -ge $((KILLS / 2)) ]
	check 'many of them mid-way, part delivered' \
	    [ "$partial" -ge $((KILLS / 4)) ]
	check_exit 'a last push' 0 sm-push -q k
	check 'nothing pending, held nor failed' eval \
	    'sm-push --status k | jq -e ".pending == 0 and .held == 0 and .failed == 0" >/dev/null'
}
