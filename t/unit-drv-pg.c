/* See LICENSE file for copyright and license details. */
/*
 * The PostgreSQL driver against a real server, started by t/8100 with
 * t/pg.sh: $PG_CONNINFO and $PG_URL reach it, $PGDO stops and starts it
 * and runs psql (see pg_script in t/pg.sh).
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"
#include "tap.h"

#define PASSWORD	"Pw-s3cret-zz"

static const struct sm_driver *drv = &sm_driver_postgresql;
static struct sm_buf why, said;	/* said: every message, for the grep */

/* Runs SQL with psql; returns its output, trimmed, in a static buffer. */
static const char *
psql(const char *sql)
{
	static char out[4096];
	FILE *fp;
	size_t n;

	setenv("SQL", sql, 1);
	if ((fp = popen("\"$PGDO\" psql -c \"$SQL\" 2>&1", "r")) == NULL)
		return "popen failed";
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	pclose(fp);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static int
server(const char *what)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "\"$PGDO\" %s", what);
	return system(cmd);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A connection of config text (a JSON object). */
static struct sm_conn
conn(const char *json)
{
	struct sm_conn c;

	memset(&c, 0, sizeof(c));
	c.target = "web";
	c.type = "database";
	c.driver = "postgresql";
	c.config = jv_parse(json);
	if (!jv_is_valid(c.config))
		diag("bad test config: %s", json);
	return c;
}

/* The default connection, with more keys: conn_def(", \"table\": \"x\""). */
static struct sm_conn
conn_def(const char *more)
{
	struct sm_buf b;
	struct sm_conn c;

	sm_buf_init(&b);
	sm_buf_adds(&b, "{\"url\": ");
	sm_buf_add_jstr(&b, getenv("PG_CONNINFO"),
	    strlen(getenv("PG_CONNINFO")));
	sm_buf_addf(&b, "%s}", more);
	c = conn(b.data);
	sm_buf_free(&b);
	return c;
}

static void
note(int rc, const char *what)
{
	sm_buf_addf(&said, "%s\n%s\n", why.data ? why.data : "",
	    rc == SM_ECONFIG ? sm_errmsg() : "");
	if (rc != 0)
		diag("%s: %d %s", what, rc, rc == SM_ECONFIG && why.len == 0 ?
		    sm_errmsg() : why.data ? why.data : "");
}

static void *
open_c(struct sm_conn *c, int want, const char *name)
{
	void *d = NULL;
	int rc;

	sm_buf_reset(&why);
	rc = drv->open(&d, c, &why);
	note(rc, name);
	ok(rc == want, "%s", name);
	jv_free(c->config);
	return d;
}

static struct sm_drec
rec(const char *id, const char *data, const char *hash, const char *expect)
{
	struct sm_drec r;

	memset(&r, 0, sizeof(r));
	r.external_id = id;
	r.data = data;
	r.len = strlen(data);
	r.hash = hash;
	r.expect = expect;

	return r;
}

/* One record in a batch of its own: its verdict. */
static int
put1(void *d, const char *id, const char *data, const char *hash,
    const char *expect)
{
	struct sm_drec r = rec(id, data, hash, expect);
	int rc;

	sm_buf_reset(&why);
	if ((rc = drv->begin(d, &why)) == 0 &&
	    (rc = drv->put(d, &r, &why)) == 0)
		rc = drv->commit(d, &why);
	else
		drv->rollback(d);
	note(rc, id);
	return rc;
}

static int
del1(void *d, const char *id, const char *expect)
{
	struct sm_drec r = rec(id, "", NULL, expect);
	int rc;

	sm_buf_reset(&why);
	if ((rc = drv->begin(d, &why)) == 0 &&
	    (rc = drv->del(d, &r, &why)) == 0)
		rc = drv->commit(d, &why);
	else
		drv->rollback(d);
	note(rc, id);
	return rc;
}

static void
test_check(void)
{
	static const struct {
		const char *config, *said;
	} bad[] = {
		{ "{}",
		    "'url'" },
		{ "{\"url\": 7}",
		    "'url'" },
		{ "{\"url\": \"\"}",
		    "'url'" },
		{ "{\"url\": \"host=/tmp\", \"table\": \"a b\"}",
		    "'table'" },
		{ "{\"url\": \"host=/tmp\", \"table\": \"x;drop table y\"}",
		    "'table'" },
		{ "{\"url\": \"host=/tmp\", \"table\": \"a.b.c\"}",
		    "'table'" },
		{ "{\"url\": \"host=/tmp\", \"table\": \"1abc\"}",
		    "'table'" },
		{ "{\"url\": \"host=/tmp\", \"table\": \"\"}",
		    "'table'" },
		{ "{\"url\": \"host=/tmp\", \"password\": 5}",
		    "'password'" },
		{ "{\"url\": \"host=/tmp\", \"columns\": []}",
		    "'columns'" },
		{ "{\"url\": \"host=/tmp\", \"columns\": {\"price\": \"p\"}}",
		    "external_id" },
		{ "{\"url\": \"host=/tmp\", \"columns\": {\"external_id\": "
		      "\"k\"}}",
		    "besides" },
		{ "{\"url\": \"host=/\", \"columns\": {\"external_id\": \"k\", "
		      "\"price\": \"p q\"}}",
		    "'price'" },
		{ "{\"url\": \"host=/\", \"columns\": {\"external_id\": \"k\", "
		      "\"@etag\": \"e\"}}",
		    "'@etag'" },
		{ "{\"url\": \"host=/\", \"columns\": {\"external_id\": \"k\", "
		      "\"price\": \"k\"}}",
		    "'k'" },
		{ "{\"url\": \"host=/\", \"columns\": {\"external_id\": \"k\", "
		      "\"price\": 3}}",
		    "'price'" },
		{ "{\"url\": \"host=/tmp nonsense\"}",
		    "nonsense" },
		{ "{\"url\": \"postgresql://u@/db?bogus=1\"}",
		    "bogus" },
		/* libpq quotes the bad token: the password must not be. */
		{ "{\"url\": \"postgresql://u:" PASSWORD "%zz@/db\"}",
		    "***" },
		{ "{\"url\": \"password='" PASSWORD "' host\"}",
		    "\"host\"" },
		{ "[]",
		    "object" },
	};
	static const char *const good[] = {
		"{\"url\": \"host=/tmp dbname=x\"}",
		"{\"url\": \"postgresql:///site\", \"table\": "
		    "\"public.listings\"}",
		"{\"url\": \"postgresql:///site\", \"table\": \"Listings_2\", "
		    "\"password\": \"x\"}",
		"{\"url\": \"site\", \"columns\": {\"external_id\": \"ref\", "
		    "\"price\": \"price_eur\", \"@hash\": \"h\", \"@data\": "
		    "\"doc\", \"@updated_at\": \"at\"}}",
	};
	struct sm_conn c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = conn(bad[i].config);
		rc = drv->check(&c);
		sm_buf_addf(&said, "%s\n", sm_errmsg());
		if (!ok(rc == SM_ECONFIG && strstr(sm_errmsg(), bad[i].said),
		    "check refuses %s, saying %s", bad[i].config, bad[i].said))
			diag("rc %d: %s", rc, sm_errmsg());
		jv_free(c.config);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = conn(good[i]);
		rc = drv->check(&c);
		if (!ok(rc == 0, "check takes %s", good[i]))
			diag("%s", sm_errmsg());
		jv_free(c.config);
	}
}

static void
test_basic(void)
{
	struct sm_conn c = conn_def("");
	void *d = open_c(&c, 0, "open creates the table when missing");

	if (d == NULL)
		return;
	is_str(psql("SELECT string_agg(column_name || ' ' || data_type, ', ' "
	    "ORDER BY ordinal_position) FROM information_schema.columns "
	    "WHERE table_name = 'listings'"), "external_id text, data jsonb, "
	    "hash text, updated_at timestamp with time zone",
	    "the table has the shape of SPEC 5.8");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":100}", "h1",
	    NULL) == 0, "put creates");
	is_str(psql("SELECT data->>'price', hash FROM listings WHERE "
	    "external_id = 'a1'"), "100|h1", "the row holds the record");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":110}", "h2",
	    "h1") == 0, "put updates when the row holds the hash expected");
	is_str(psql("SELECT data->>'price', hash FROM listings WHERE "
	    "external_id = 'a1'"), "110|h2", "the row is updated");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":110}", "h2",
	    "h1") == 0, "the same put again (a push killed before it "
	    "marked it) is delivered");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":110}", "h2",
	    NULL) == 0, "and so is the create again");

	/* A hand edit of data alone: the guard clears hash. */
	psql("UPDATE listings SET data = jsonb_set(data, '{price}', '99') "
	    "WHERE external_id = 'a1'");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":120}", "h3",
	    "h2") == SM_CONFLICT, "a hand edit of data between two puts: "
	    "SM_CONFLICT");
	is_str(psql("SELECT data->>'price', coalesce(hash, 'NULL') FROM "
	    "listings WHERE external_id = 'a1'"), "99|NULL",
	    "the edited row is untouched");
	psql("UPDATE listings SET hash = 'x' WHERE external_id = 'a1'");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":120}", "h3",
	    "h2") == SM_CONFLICT, "a hand edit of hash: SM_CONFLICT");
	ok(put1(d, "a1", "{\"external_id\":\"a1\",\"price\":120}", "h3",
	    NULL) == 0, "a put without expect (--overwrite-manual) writes "
	    "over the edited row");
	is_str(psql("SELECT data->>'price', hash FROM listings WHERE "
	    "external_id = 'a1'"), "120|h3", "the row holds the record");
	ok(put1(d, "gone", "{\"external_id\":\"gone\"}", "g2", "g1") ==
	    SM_CONFLICT, "an update of a row deleted by hand: SM_CONFLICT");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id = "
	    "'gone'"), "0", "the row is not re-created");

	ok(put1(d, "b1", "{\"external_id\":\"b1\"}", "hb", NULL) == 0,
	    "put another");
	ok(del1(d, "b1", "wrong") == SM_CONFLICT, "delete of a row changed "
	    "since: SM_CONFLICT");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id = "
	    "'b1'"), "1", "the row is kept");
	ok(del1(d, "b1", "hb") == 0, "delete of the row delivered");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id = "
	    "'b1'"), "0", "the row is gone");
	ok(del1(d, "b1", "hb") == 0, "delete of a row absent: delivered");
	ok(put1(d, "b1", "{\"external_id\":\"b1\"}", "hb", NULL) == 0 &&
	    psql("UPDATE listings SET hash = 'y' WHERE external_id = 'b1'") &&
	    del1(d, "b1", NULL) == 0, "a delete without expect "
	    "(--overwrite-manual) removes the edited row");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id = "
	    "'b1'"), "0", "it is gone");
	ok(put1(d, "q'\"; DROP TABLE listings; --",
	    "{\"external_id\":\"q\",\"s\":\"it's \\\"quoted\\\"\"}", "hq",
	    NULL) == 0, "a key and data with quotes go as parameters");
	is_str(psql("SELECT data->>'s' FROM listings WHERE external_id LIKE "
	    "'q''%'"), "it's \"quoted\"", "and arrive as they were");
	ok(put1(d, "bad", "{\"x\":", "hx", NULL) == SM_PERMANENT,
	    "data that is not JSON: SM_PERMANENT");
	ok(strstr(why.data, "22P02") != NULL, "with the server's reason");
	drv->close(d);
}

static void
test_batch(void)
{
	struct sm_conn c = conn_def("");
	void *d = open_c(&c, 0, "open an existing table");
	char id[32], data[128], hash[32];
	struct sm_drec r;
	double t0, t1;
	int i, rc, n;

	if (d == NULL)
		return;
	psql("DELETE FROM listings");
	t0 = now();
	rc = drv->begin(d, &why);
	for (i = 0; rc == 0 && i < 1000; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		snprintf(data, sizeof(data), "{\"external_id\":\"%s\","
		    "\"price\":%d}", id, 1000 + i);
		snprintf(hash, sizeof(hash), "h%d", i);
		r = rec(id, data, hash, NULL);
		rc = drv->put(d, &r, &why);
	}
	if (rc == 0)
		rc = drv->commit(d, &why);
	t1 = now();
	note(rc, "batch");
	ok(rc == 0, "a batch of 1,000 puts commits");
	diag("1,000 puts in one batch: %.1f ms", (t1 - t0) * 1e3);
	is_str(psql("SELECT count(*), sum((data->>'price')::int) FROM "
	    "listings"), "1000|1499500", "psql sees the 1,000 rows");

	/* A constraint that refuses one record of a batch. */
	psql("ALTER TABLE listings ADD CONSTRAINT price_positive CHECK "
	    "((data->>'price')::numeric > 0)");
	rc = drv->begin(d, &why);
	for (i = 0; rc == 0 && i < 10; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		snprintf(data, sizeof(data), "{\"external_id\":\"%s\","
		    "\"price\":%d}", id, i == 5 ? -1 : 10);
		r = rec(id, data, "hc", NULL);
		rc = drv->put(d, &r, &why);
	}
	if (rc == 0)
		rc = drv->commit(d, &why);
	note(rc, "batch");
	ok(rc == SM_PERMANENT, "a batch with a record the constraint "
	    "refuses: SM_PERMANENT");
	ok(strstr(why.data, "'c5'") != NULL && strstr(why.data,
	    "price_positive") != NULL, "naming the record and the "
	    "constraint");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id LIKE "
	    "'c%'"), "0", "none of the batch was kept");
	ok(put1(d, "c5", "{\"external_id\":\"c5\",\"price\":-1}", "hc",
	    NULL) == SM_PERMANENT, "that record alone: SM_PERMANENT");
	ok(strstr(why.data, "price_positive") != NULL &&
	    strstr(why.data, "23514") != NULL, "with the server's reason");
	ok(put1(d, "c4", "{\"external_id\":\"c4\",\"price\":10}", "hc",
	    NULL) == 0, "another record alone is delivered");

	/* A conflict in a batch. */
	rc = drv->begin(d, &why);
	for (i = 0; rc == 0 && i < 3; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		r = rec(id, "{\"price\":5}", "new", i == 1 ? "nope" : NULL);
		rc = drv->put(d, &r, &why);
	}
	if (rc == 0)
		rc = drv->commit(d, &why);
	note(rc, "batch");
	ok(rc == SM_PERMANENT && strstr(why.data, "'n1'") != NULL,
	    "a batch with a conflict: SM_PERMANENT naming the record "
	    "refused (n0 and n2, without expect, are written over)");
	is_str(psql("SELECT count(*) FROM listings WHERE hash = 'new'"), "0",
	    "none of the batch was kept");

	/* The server stopped in the middle of a batch. */
	rc = drv->begin(d, &why);
	n = 0;
	for (i = 0; rc == 0 && i < 1000; i++) {
		if (i == 500 && server("stop fast") != 0)
			diag("cannot stop the server");
		snprintf(id, sizeof(id), "s%d", i);
		r = rec(id, "{\"price\":7}", "hs", NULL);
		rc = drv->put(d, &r, &why);
		n++;
	}
	if (rc == 0)
		rc = drv->commit(d, &why);
	else
		drv->rollback(d);
	note(rc, "batch");
	ok(rc == SM_TRANSIENT, "the server stopped mid-batch: SM_TRANSIENT "
	    "(after %d puts)", n);
	sm_buf_reset(&why);
	rc = drv->begin(d, &why);
	ok(rc == SM_TRANSIENT, "begin while it is down: SM_TRANSIENT");
	note(rc, "begin");
	if (server("start") != 0)
		diag("cannot start the server");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id LIKE "
	    "'s%'"), "0", "nothing of the batch was written");
	rc = drv->begin(d, &why);
	for (i = 0; rc == 0 && i < 1000; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		r = rec(id, "{\"price\":7}", "hs", NULL);
		rc = drv->put(d, &r, &why);
	}
	if (rc == 0)
		rc = drv->commit(d, &why);
	note(rc, "batch");
	ok(rc == 0, "the same handle reconnects: the batch again commits");
	is_str(psql("SELECT count(*) FROM listings WHERE external_id LIKE "
	    "'s%'"), "1000", "all of it");

	rc = drv->begin(d, &why);
	r = rec("s1", "{}", NULL, "hs");
	if (rc == 0)
		rc = drv->del(d, &r, &why);
	drv->rollback(d);
	is_str(psql("SELECT count(*) FROM listings WHERE external_id = 's1'"),
	    "1", "rollback drops a batch");
	drv->close(d);
}

static int
count_rec(const struct sm_drec *r, void *arg)
{
	long *n = arg;

	if (r->external_id == NULL || r->data == NULL || r->len < 2 ||
	    r->hash != NULL)
		return 99;
	n[0]++;
	n[1] += r->len;
	return 0;
}

static int
stop_at(const struct sm_drec *r, void *arg)
{
	(void)r;
	return ++*(long *)arg == 10 ? 42 : 0;
}

static void
test_list(void)
{
	struct sm_conn c = conn_def(", \"table\": \"big\"");
	void *d = open_c(&c, 0, "open a second table");
	long n[2] = { 0, 0 }, before, after;
	double t0, t1;
	int rc;

	if (d == NULL)
		return;
	psql("INSERT INTO big SELECT 'r' || g, jsonb_build_object("
	    "'external_id', 'r' || g, 'pad', repeat('x', 3000)), 'h', now() "
	    "FROM generate_series(1, 10000) g");
	before = maxrss_kib();
	t0 = now();
	rc = drv->list(d, count_rec, n, &why);
	t1 = now();
	after = maxrss_kib();
	note(rc, "list");
	ok(rc == 0 && n[0] == 10000, "list gives the 10,000 rows (%ld)",
	    n[0]);
	diag("list of 10,000 rows, %ld MiB of data: %.1f ms, peak RSS "
	    "%ld KiB before, %ld KiB after", n[1] >> 20, (t1 - t0) * 1e3,
	    before, after);
	ok(n[1] > 25L << 20 && after - before < 8 << 10, "in bounded "
	    "memory: peak RSS grew %ld KiB for %ld MiB listed",
	    after - before, n[1] >> 20);
	n[0] = 0;
	rc = drv->list(d, stop_at, n, &why);
	ok(rc == 42 && n[0] == 10, "a callback's non-zero stops the list "
	    "with its value");
	n[0] = n[1] = 0;
	rc = drv->list(d, count_rec, n, &why);
	ok(rc == 0 && n[0] == 10000, "and the connection serves again");
	psql("DROP TABLE big");
	ok(put1(d, "r1", "{}", "h", NULL) == SM_TRANSIENT, "the table "
	    "dropped by hand: SM_TRANSIENT (every record would fail)");
	ok(strstr(why.data, "42P01") != NULL, "saying why");
	drv->close(d);

	c = conn_def(", \"table\": \"public.Mixed_Case\"");
	d = open_c(&c, 0, "a schema and a name in mixed case");
	ok(d != NULL && put1(d, "m", "{}", "h", NULL) == 0, "put there");
	is_str(psql("SELECT count(*) FROM public.\"Mixed_Case\""), "1",
	    "the name is quoted as written");
	drv->close(d);
}

static int
collect(const struct sm_drec *r, void *arg)
{
	struct sm_buf *b = arg;

	sm_buf_addf(b, "%s %.*s\n", r->external_id, (int)r->len, r->data);
	return 0;
}

#define L7	"7 {\"city\": \"Lyon\", \"price\": 1, \"external_id\": 7}\n"
#define L10	"10 {\"price\": 5, \"external_id\": 10}\n"

static void
test_columns(void)
{
	struct sm_conn c;
	struct sm_buf b;
	void *d;

	psql("CREATE TABLE houses (ref int PRIMARY KEY, price_eur numeric "
	    "NOT NULL, town text, sm_hash text, note text DEFAULT 'kept')");
	c = conn_def(", \"table\": \"nowhere\", \"columns\": {\"external_id\":"
	    " \"ref\", \"price\": \"price_eur\"}");
	d = open_c(&c, SM_ECONFIG, "columns on a missing table: SM_ECONFIG");
	ok(strstr(why.data, "nowhere") != NULL, "naming it");
	c = conn_def(", \"table\": \"houses\", \"columns\": {\"external_id\":"
	    " \"ref\", \"price\": \"prix\"}");
	d = open_c(&c, SM_ECONFIG, "a column the table lacks: SM_ECONFIG");
	ok(strstr(why.data, "prix") != NULL, "naming it");
	c = conn_def(", \"table\": \"houses\", \"columns\": {\"external_id\":"
	    " \"town\", \"price\": \"price_eur\"}");
	d = open_c(&c, SM_ECONFIG, "a key column that is not unique: "
	    "SM_ECONFIG");
	c = conn_def(", \"table\": \"public.houses\", \"columns\": "
	    "{\"external_id\": \"ref\", \"price\": \"price_eur\", \"city\": "
	    "\"town\", \"@hash\": \"sm_hash\"}");
	d = open_c(&c, 0, "columns onto an existing table");
	if (d == NULL)
		return;
	ok(put1(d, "7", "{\"external_id\":7,\"price\":250000.50,"
	    "\"city\":\"Lyon\",\"rooms\":3}", "k1", NULL) == 0,
	    "put maps the fields");
	is_str(psql("SELECT ref, price_eur, town, sm_hash, note FROM houses"),
	    "7|250000.50|Lyon|k1|kept", "each field in its column, with its "
	    "type, the others left alone");
	ok(put1(d, "7", "{\"external_id\":7,\"price\":260000,\"city\":"
	    "\"Lyon\"}", "k2", "k1") == 0, "put updates");
	is_str(psql("SELECT price_eur, sm_hash FROM houses"), "260000|k2",
	    "the row is updated");
	psql("UPDATE houses SET price_eur = 1, sm_hash = 'hand'");
	ok(put1(d, "7", "{\"external_id\":7,\"price\":270000}", "k3", "k2") ==
	    SM_CONFLICT, "a hand edit: SM_CONFLICT");
	is_str(psql("SELECT price_eur FROM houses"), "1", "the row is "
	    "untouched");
	ok(put1(d, "8", "{\"external_id\":8,\"price\":\"cheap\"}", "k", NULL)
	    == SM_PERMANENT, "a value the column's type refuses: "
	    "SM_PERMANENT");
	ok(strstr(why.data, "cheap") != NULL, "with the server's reason");
	ok(put1(d, "9", "{\"external_id\":9}", "k", NULL) == SM_PERMANENT,
	    "a field missing for a NOT NULL column: SM_PERMANENT");
	ok(put1(d, "x", "{\"price\":1}", "k", NULL) == SM_PERMANENT,
	    "a key the key column's type refuses: SM_PERMANENT");
	ok(put1(d, "10", "{\"external_id\":10,\"price\":5,\"city\":null}",
	    "k10", NULL) == 0, "null goes as NULL");
	sm_buf_init(&b);
	ok(drv->list(d, collect, &b, &why) == 0, "list");
	ok(strstr(b.data, L7) != NULL && strstr(b.data, L10) != NULL &&
	    b.len == strlen(L7) + strlen(L10), "gives records made of the "
	    "mapped columns");
	diag("%s", b.data);
	sm_buf_free(&b);
	ok(del1(d, "10", "k9") == SM_CONFLICT, "delete of a row changed "
	    "since: SM_CONFLICT");
	ok(del1(d, "10", "k10") == 0, "delete");
	is_str(psql("SELECT string_agg(ref::text, ',') FROM houses"), "7",
	    "the row is gone");
	drv->close(d);

	psql("ALTER TABLE houses ADD doc jsonb");
	c = conn_def(", \"table\": \"houses\", \"columns\": {\"external_id\":"
	    " \"ref\", \"price\": \"price_eur\", \"@data\": \"doc\"}");
	d = open_c(&c, 0, "columns with @data, without @hash");
	if (d == NULL)
		return;
	ok(put1(d, "7", "{\"external_id\":7,\"price\":3}", "k", "other") == 0,
	    "without @hash, put does not compare");
	sm_buf_init(&b);
	ok(drv->list(d, collect, &b, &why) == 0, "list");
	is_str(b.data, "7 {\"price\": 3, \"external_id\": 7}\n",
	    "gives @data");
	sm_buf_free(&b);
	drv->close(d);
}

/* The role sm_pw over the socket with password (NULL: none). */
static struct sm_conn
pw_conn(const char *password)
{
	struct sm_buf b;
	struct sm_conn c;

	sm_buf_init(&b);
	sm_buf_addf(&b, "{\"url\": \"host=%s user=sm_pw dbname=postgres\"",
	    getenv("PG_DIR"));
	if (password != NULL)
		sm_buf_addf(&b, ", \"password\": \"%s\"", password);
	sm_buf_adds(&b, "}");
	c = conn(b.data);
	sm_buf_free(&b);
	return c;
}

static void
test_password(void)
{
	struct sm_buf url;
	struct sm_conn c;
	void *d;

	diag("%s", psql("CREATE ROLE sm_pw LOGIN SUPERUSER PASSWORD '"
	    PASSWORD "' IN ROLE sm_password"));
	c = pw_conn(PASSWORD);
	d = open_c(&c, 0, "the password given as a parameter opens");
	ok(d != NULL && put1(d, "p1", "{}", "hp", NULL) == 0, "and writes");
	drv->close(d);
	c = pw_conn(PASSWORD "-wrong");
	d = open_c(&c, SM_TRANSIENT, "a wrong password: cannot connect");
	ok(strstr(why.data, "password authentication failed") != NULL,
	    "saying why");
	c = pw_conn(NULL);
	d = open_c(&c, SM_ECONFIG, "no password: SM_ECONFIG");
	sm_buf_init(&url);
	sm_buf_addf(&url, "{\"url\": \"postgresql://sm_pw:%s@/postgres?"
	    "host=%s&sslmode=bogus\"}", PASSWORD, getenv("PG_DIR"));
	c = conn(url.data);
	d = open_c(&c, SM_TRANSIENT, "a bad parameter in a URL with a "
	    "password");
	sm_buf_reset(&url);
	sm_buf_addf(&url, "{\"url\": \"postgresql://sm_pw:%s@/nodb?"
	    "host=%s\"}", PASSWORD, getenv("PG_DIR"));
	c = conn(url.data);
	d = open_c(&c, SM_TRANSIENT, "a database that does not exist");
	sm_buf_free(&url);
	ok(strstr(said.data, PASSWORD) == NULL, "the password is in no "
	    "message (%zu bytes of them)", said.len);
	if (strstr(said.data, PASSWORD) != NULL)
		diag("%s", said.data);
	ok(strstr(said.data, "***") != NULL, "where libpq quoted it, *** "
	    "stands");
}

int
main(void)
{
	if (getenv("PGDO") == NULL || getenv("PG_CONNINFO") == NULL) {
		printf("Bail out! run me from t/8100-drv-pg.t\n");
		return 1;
	}
	sm_buf_init(&why);
	sm_buf_init(&said);
	sm_buf_adds(&said, "");
	test_check();
	test_basic();
	test_batch();
	test_list();
	test_columns();
	test_password();
	sm_buf_free(&why);
	sm_buf_free(&said);
	tap_no_plan_done();
	return tap_failed != 0;
}
