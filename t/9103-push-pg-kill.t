#!/bin/sh -e
# sm-push into a real PostgreSQL killed with -9 at 50 random moments, with
# new versions imported and synced between the kills.  A trigger logs
# every write that the table commits (key, hash, in commit order), so the
# test sees each version the table ever held, not only the last:
#   - no row ever holds an older version than one it held before (sm's
#     order of versions, recorded after each sync);
#   - after a last push, the table equals the target rows exactly.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/pg.sh"
plan 7
pg_start

# Batches of 1,024: a push of a few thousand changes is several, and a
# kill often lands between two of them.
SM_TENANT=acme
SM_PUSH_BATCH=1024
export SM_TENANT SM_PUSH_BATCH
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null
sm-tenant target add k --type database \
    --config "{\"url\":\"$PG_URL\",\"table\":\"listings\"}" >/dev/null
N=${PUSH_KILL_N:-5000}
KILLS=${PUSH_KILLS:-50}

# A first push makes the table; the log's trigger goes on it.
echo '{"id":"0","price":0}' | sm-import -q -s portal >/dev/null
sm-sync -q portal k >/dev/null
sm-push -q k >/dev/null
pg_psql <<'EOF'
CREATE TABLE seen (n bigserial PRIMARY KEY, external_id text, op text,
    hash text, txid bigint DEFAULT txid_current());
CREATE FUNCTION seen() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO seen (external_id, op, hash)
		    VALUES (OLD.external_id, 'del', OLD.hash);
	ELSE
		INSERT INTO seen (external_id, op, hash)
		    VALUES (NEW.external_id, 'put', NEW.hash);
	END IF;
	RETURN NULL;
END$$;
CREATE TRIGGER seen AFTER INSERT OR UPDATE OR DELETE ON listings
    FOR EACH ROW EXECUTE FUNCTION seen();
EOF

. "$TESTDIR/rounds.sh"
# After each sync: the target's hash of every listing ("-": none), by round.
versions() {
	sm-snapshot cat -t k | jq -r '[.external_id, .hash] | @tsv' >v.tsv
	awk -v r="$1" -v n="$N" 'FNR == NR { h[$1] = $2; next }
	    END { for (i = 1; i <= n; i++) print r, i, (i in h) ? h[i] : "-" }' \
	    v.tsv /dev/null >>versions
}
after_sync() { versions "$1"; }
# Over the push's run: a few thousand records take a few tenths.
kill_rounds 350

# The table equals the target rows exactly.
sm-snapshot cat -t k | jq -cS '{external_id, hash, data}' | sort >sm.json
pg_psql -c "SELECT json_build_object('external_id', external_id, 'hash', hash,
    'data', data) FROM listings" | jq -cS . | sort >pg.json
check_same 'the table equals the target rows' sm.json pg.json

# Every write the table committed, in order: each row's versions only
# ever move forward in sm's order (a delete of version h is the first
# round after h without the listing).
pg_psql -c "SELECT external_id, op, coalesce(hash, 'NULL') FROM seen
    WHERE external_id <> '0' ORDER BY n" >seen.txt
echo "# $(wc -l <seen.txt) writes committed, $(pg_psql -c \
    'SELECT count(DISTINCT txid) FROM seen') transactions"
awk 'FNR == NR {
	if ($3 == "-") gone[$2, $1] = 1
	else if (!(($2, $3) in at)) at[$2, $3] = $1
	if ($1 > last_round) last_round = $1
	next
}
{
	split($0, f, "|"); $1 = f[1]; $2 = f[2]; $3 = f[3]
	if (!(($1, $3) in at)) { print "# unknown version", $0; bad++; next }
	r = at[$1, $3]
	if ($2 == "del") {
		for (r++; r <= last_round && !(($1, r) in gone); r++)
			;
		if (r > last_round) { print "# a delete of a live version", $0; bad++; next }
	}
	if (($1 in last) && r < last[$1]) {
		print "# older version after a newer one:", $0, "round", r, "after", last[$1]
		bad++
	}
	last[$1] = r
	n++
}
END { printf "# %d writes checked, %d out of order\n", n, bad; exit bad > 0 }' \
    versions seen.txt >order.out || :
cat order.out
check 'no row ever went back to an older version' grep -q ' 0 out of order' order.out
check 'every committed write was checked' eval \
    '[ "$(wc -l <seen.txt)" -gt 0 ] && grep -q "^# $(wc -l <seen.txt) writes checked" order.out'
done_testing
