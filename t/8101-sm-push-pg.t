#!/bin/sh -e
# sm-push into a real PostgreSQL (a private cluster, t/pg.sh), through the
# real commands: delivery, coalescing, a hand edit made with psql, a
# password kept out of sight, the server stopped during a push, a
# constraint that refuses one record, columns of an existing table.
cd "$(dirname "$0")"
. ./lib.sh
. "$TESTDIR/pg.sh"
plan 69
pg_start

SM_TENANT=acme
SM_PUSH_BACKOFF_MS=5
export SM_TENANT SM_PUSH_BACKOFF_MS
sm-tenant create Acme --slug acme >/dev/null 2>&1
sm-tenant source add portal --type json >/dev/null

# What sm holds of a target and what a table holds: one JSON object per
# row, keys sorted (jsonb keeps its own order and spacing).
sm_rows() {
	sm-snapshot cat -t "$1" | jq -cS '{external_id, hash, data}' | sort
}
pg_rows() {
	pg_psql -c "SELECT json_build_object('external_id', external_id,
	    'hash', hash, 'data', data) FROM $1" | jq -cS . | sort
}
same() {
	sm_rows "$1" >sm.json
	pg_rows "$2" >pg.json
	cmp -s sm.json pg.json ||
	    { diff -u sm.json pg.json | head -20 | sed 's/^/# /'; return 1; }
}
status_is() {
	sm-push --status "$1" >st.out
	jq -e "$2" st.out >/dev/null || { sed 's/^/# /' st.out; return 1; }
}
count_is() { [ "$(pg_psql -c "SELECT count(*) FROM $1")" = "$2" ]; }
price_of() { pg_psql -c "SELECT data->>'price' FROM $1 WHERE external_id = '$2'"; }
import() { sm-import -q -s portal "$@" >/dev/null; }
sync() { sm-sync -q portal "$1" >/dev/null; }

# A secret-free URL: the table is made by the first push.
check_exit 'a PostgreSQL target is added' 0 sm-tenant target add db \
    --type database --config "{\"url\":\"$PG_URL\",\"table\":\"listings\"}"
printf '%s\n' '{"id":"1","price":100,"title":"Flat"}' \
    '{"id":"2","price":200.5}' '{"id":"3","price":300,"x":[1,{"b":1,"a":2}]}' \
    '{"id":"it'"'"'s \"4\"","price":400,"title":"Caf\u00e9 ☕"}' >a.json
import a.json
sync db
check_exit 'the first push' 0 sm-push db
check 'four created' sh -c '[ $(grep -c "\"op\":\"deliver\",\"action\":\"create\"" out) = 4 ]'
check 'the table was created' count_is listings 4
check 'the table equals the target rows' same db listings
check 'nothing pending' status_is db '.pending == 0 and .failed == 0 and .held == 0'

printf '%s\n' '{"id":"1","price":110,"title":"Flat"}' '{"id":"2","price":200.5}' \
    '{"id":"it'"'"'s \"4\"","price":400,"title":"Caf\u00e9 ☕"}' >a.json
import --complete a.json
sync db
check_exit 'an update and a delete' 0 sm-push db
check 'both delivered' sh -c 'grep -q "\"action\":\"update\",\"target\":\"db\",\"external_id\":\"1\"" out &&
    grep -q "\"action\":\"delete\",\"target\":\"db\",\"external_id\":\"3\"" out'
check 'the deleted row is gone' count_is listings 3
check 'equal again' same db listings
check_exit 'a push with nothing to do' 0 sm-push db
check 'delivers nothing' test ! -s out

# Coalescing: three updates of one listing are one upsert of the newest.
for p in 120 130 140; do
	echo "{\"id\":\"1\",\"price\":$p,\"title\":\"Flat\"}" | import
	sync db
done
check 'one pending for three updates' status_is db '.pending == 1'
pg_psql -c "CREATE TABLE seen (external_id text, price text);
CREATE FUNCTION seen() RETURNS trigger LANGUAGE plpgsql AS
\$\$BEGIN INSERT INTO seen VALUES (NEW.external_id, NEW.data->>'price');
RETURN NEW; END\$\$;
CREATE TRIGGER seen AFTER INSERT OR UPDATE ON listings FOR EACH ROW
EXECUTE FUNCTION seen()"
check_exit 'pushed' 0 sm-push db
check 'one event' sh -c '[ $(wc -l <out) = 1 ] && grep -q "\"action\":\"update\"" out'
check 'one write, of the newest version' eval \
    '[ "$(pg_psql -c "SELECT external_id, price FROM seen")" = "1|140" ]'
pg_psql -c 'DROP TRIGGER seen ON listings; DROP TABLE seen'
check 'equal' same db listings

# A hand edit with psql: the next push compares before it writes.
pg_psql -c "UPDATE listings SET data = jsonb_set(data, '{price}', '99')
    WHERE external_id = '1'"
echo '{"id":"1","price":150,"title":"Flat"}' | import
echo '{"id":"2","price":250}' | import
sync db
check_exit 'a push over a hand edit: exit 0' 0 sm-push db
check 'the edited row: held, with a warning' grep_q \
    '"op":"held","target":"db","external_id":"1",.*"warning":"target no longer holds' out
check 'the other delivered' grep_q '"op":"deliver","action":"update","target":"db","external_id":"2"' out
check 'the edit is not overwritten' [ "$(price_of listings 1)" = 99 ]
check 'the row is flagged in sm' sh -c \
    'sm-snapshot cat -t db --manual | jq -e "select(.external_id == \"1\") | .has_manual_changes" >/dev/null'
check_exit 'the next push holds it again' 0 sm-push db
check 'held, still not written' eval 'grep -q "\"op\":\"held\"" out && [ "$(price_of listings 1)" = 99 ]'
check 'counted as held' status_is db '.held == 1 and .pending == 0'
sm-sync -q --overwrite-manual portal db >/dev/null || true
check_exit '--overwrite-manual, then a push' 0 sm-push db
check 'delivered over the edit' [ "$(price_of listings 1)" = 150 ]
check 'equal once more' same db listings

# A row deleted by hand: an update is held, the row is not made again.
pg_psql -c "DELETE FROM listings WHERE external_id = '2'"
echo '{"id":"2","price":260}' | import
sync db
check_exit 'an update of a row deleted by hand' 0 sm-push db
check 'held' grep_q '"op":"held","target":"db","external_id":"2"' out
check 'not made again' count_is listings 2
sm-sync -q --overwrite-manual portal db >/dev/null || true
sm-push -q db >/dev/null
check '--overwrite-manual makes it again' same db listings

# A role that logs in with a password, read from password_file.
SECRET=pg-Secr3t-8101x
pg_password smpw "$SECRET"
printf '%s\n' "$SECRET" >pw
printf '%s\n' wrong-Pa55-8101y >badpw
PWURL="postgresql://smpw@/postgres?host=$PG_DIR"
check_exit 'a target with password_file' 0 sm-tenant target add pw \
    --type database --config "{\"url\":\"$PWURL\",\"table\":\"pw_listings\",\"password_file\":\"$SCRATCH/pw\"}"
cat out err >all.out
sm-tenant target add badpw --type database --config \
    "{\"url\":\"$PWURL\",\"table\":\"pw_listings\",\"password_file\":\"$SCRATCH/badpw\"}" \
    >>all.out 2>&1
sync pw
sync badpw
check_exit 'pushed with the password' 0 sm-push pw
cat out err >>all.out
check 'delivered' same pw pw_listings
check_exit 'a wrong password: the push fails, pending' 75 \
    env SM_PUSH_RETRIES=0 sm-push badpw
check 'it says the password was refused' grep_q 'password authentication failed' err
cat out err >>all.out
sm-tenant target add nopw --type database --config \
    "{\"url\":\"$PWURL\",\"table\":\"pw_listings\"}" >/dev/null
sync nopw
check_exit 'no password_file for a role that needs one: 78' 78 sm-push nopw
check 'it says so' grep_q "target 'nopw': cannot connect: the server asks for a password and none was given ('password_file')" err
for t in pw badpw; do
	sm-push --status "$t"
	sm-push --history "$t"
	sm-tenant target show "$t"
done >>all.out 2>&1
sm-tenant target list >>all.out 2>&1
check 'password_file is shown, the password is not' grep_q "$SCRATCH/pw" all.out
check 'the password is in no output nor event' sh -c \
    "! grep -q -e '$SECRET' -e wrong-Pa55-8101y all.out"
check 'nor in the tenant file' sh -c "! cat '$SM_DATA_DIR'/acme.db* |
    grep -a -q -e '$SECRET' -e wrong-Pa55-8101y"

# PostgreSQL stopped during a push: exit 75, the rest pending, nothing
# lost.  A trigger makes every fourth row take a millisecond: a batch
# (4,096 records, lib/push.c) lasts a second, and the server is stopped
# once the first is in.
awk 'BEGIN { for (n = 1; n <= 10000; n++)
    printf "{\"id\":\"s%d\",\"price\":%d}\n", n, n }' >s.json
import s.json
sync db
pg_psql -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
\$\$BEGIN IF NEW.data->>'price' LIKE '%0' OR NEW.data->>'price' LIKE
'%4' OR NEW.data->>'price' LIKE '%8' THEN PERFORM pg_sleep(0.001); END IF;
RETURN NEW; END\$\$;
CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON listings FOR EACH ROW
EXECUTE FUNCTION slow()"
before=$(pg_psql -c 'SELECT count(*) FROM listings')
SM_PUSH_RETRIES=2 sm-push db >stop.out 2>stop.err &
pid=$!
# Once a first batch is in the table, while the next is on its way.
n=0
while [ "$(pg_psql -c 'SELECT count(*) FROM listings')" = "$before" ] &&
    [ $n -lt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
pg_stop
st=0; wait $pid || st=$?
check 'stopped during a push: exit 75' [ "$st" = 75 ]
check 'it says the target is unreachable, the changes pending' grep_q \
    "target 'db' is unreachable: .*the changes stay pending" stop.err
delivered=$(grep -c '"op":"deliver"' stop.out || :)
echo "# $delivered of 10000 delivered before the server stopped"
check 'some delivered before, not all' [ "$delivered" -gt 0 -a "$delivered" -lt 10000 ]
check 'the rest pending, none failed' status_is db \
    ".pending == $((10000 - delivered)) and .failed == 0 and .held == 0"
pg_start
check 'what was delivered is in the table' count_is listings $((before + delivered))
pg_psql -c 'DROP TRIGGER slow ON listings'
check_exit 'started again, pushed again' 0 sm-push db
check 'the rest delivered' sh -c "[ \$(grep -c '\"op\":\"deliver\"' out) = $((10000 - delivered)) ]"
check 'all equal' same db listings

# Stopped before a push: unreachable from the start, nothing lost.
pg_stop
echo '{"id":"s1","price":-1}' | import
sync db
check_exit 'a server down: exit 75' 75 env SM_PUSH_RETRIES=1 sm-push db
check 'one retry counted, one pending' status_is db '.pending == 1'
pg_start
check_exit 'and delivered once up' 0 sm-push db
check 'equal after the outage' same db listings

# A constraint that refuses one record: failed with the reason, the
# others delivered, exit 1; --retry once the constraint is gone.
pg_psql -c "ALTER TABLE listings ADD CONSTRAINT price_positive
    CHECK ((data->>'price')::numeric > 0) NOT VALID"
printf '%s\n' '{"id":"c1","price":1}' '{"id":"c2","price":-2}' \
    '{"id":"c3","price":3}' '{"id":"s2","price":22}' | import
sync db
check_exit 'a refused record: exit 1' 1 sm-push db
check 'its fail event names the constraint' grep_q \
    '"op":"fail","action":"create","target":"db","external_id":"c2",.*"error":".*price_positive' out
check 'the others delivered' sh -c '[ $(grep -c "\"op\":\"deliver\"" out) = 3 ]'
check 'not in the table' count_is "listings WHERE external_id = 'c2'" 0
check 'failed in --status' status_is db '.failed == 1 and .pending == 0'
check_exit 'a push again does not try it' 0 sm-push db
check 'nothing sent' test ! -s out
pg_psql -c 'ALTER TABLE listings DROP CONSTRAINT price_positive'
check_exit '--retry' 0 sm-push --retry db
check 'pending again' status_is db '.failed == 0 and .pending == 1'
check_exit 'delivered once the table takes it' 0 sm-push db
check 'equal at last' same db listings

# columns: record fields onto an existing table of the user's.
pg_psql -c "CREATE TABLE homes (ref text PRIMARY KEY, title text,
    price_eur integer, body jsonb, sm_hash text, touched timestamptz)"
sm-tenant target add homes --type database --config "{\"url\":\"$PG_URL\",
    \"table\":\"homes\",\"columns\":{\"external_id\":\"ref\",\"title\":\"title\",
    \"price\":\"price_eur\",\"@data\":\"body\",\"@hash\":\"sm_hash\",
    \"@updated_at\":\"touched\"}}" >/dev/null
echo '{"id":"h1","price":"cheap"}' | import
sync homes
check_exit 'a value the column cannot take: exit 1' 1 sm-push homes
check 'the record failed, named' grep_q '"op":"fail","action":"create","target":"homes","external_id":"h1",.*"error":".*integer' out
sm_rows homes | jq -r '[.external_id, (.data.title // ""), (.data.price|tostring), .hash] | join("|")' |
    grep -v '^h1|' | sort >want.txt
pg_psql -c "SELECT ref, coalesce(title, ''), price_eur, sm_hash FROM homes" | sort >got.txt
check_same 'the others: each field in its column, the hash beside' want.txt got.txt
check '@data holds the whole record, @updated_at the time' count_is \
    "homes WHERE body->>'id' = ref AND touched IS NOT NULL" "$(wc -l <want.txt)"
done_testing
