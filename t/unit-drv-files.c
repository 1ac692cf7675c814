/* See LICENSE file for copyright and license details. */
/*
 * The files driver (lib/drv-files.c) against a real directory: batches,
 * compare before write, encoding of ids and attempts to escape, list,
 * atomicity.  With arguments, one operation for t/8200 (Hugo) or a
 * measure of rates:
 *   unit-drv-files put DIR FORMAT ID [EXPECT] <RECORD   prints the hash
 *   unit-drv-files del DIR FORMAT ID [EXPECT]
 *   unit-drv-files bench N
 * exiting with the verdict (0, 1 transient, 2 permanent, 3 conflict).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"
#include "tap.h"

static const struct sm_driver *drv = &sm_driver_files;
static char top[256];
static struct sm_buf why;

static void
conn_init(struct sm_conn *c, const char *dir, const char *format)
{
	memset(c, 0, sizeof(*c));
	c->target = "web";
	c->type = "website";
	c->driver = "files";
	c->config = jv_object_set(jv_object(), jv_string("path"),
	    jv_string(dir));
	if (format != NULL)
		c->config = jv_object_set(c->config, jv_string("format"),
		    jv_string(format));
}

static void *
dopen(const char *dir, const char *format)
{
	struct sm_conn c;
	void *d;
	int rc;

	conn_init(&c, dir, format);
	rc = drv->open(&d, &c, &why);
	jv_free(c.config);
	if (rc != 0) {
		diag("open %s: %d %s", dir, rc, why.data);
		return NULL;
	}
	return d;
}

/* A record's canonical form and hash from JSON text. */
struct rec {
	char id[400];
	struct sm_buf data;
	char hash[SM_HASH_HEX];
};

static void
mkrec(struct rec *r, const char *id, const char *json)
{
	jv v = jv_parse(json);

	snprintf(r->id, sizeof(r->id), "%s", id);
	sm_buf_init(&r->data);
	if (sm_rec_digest(v, NULL, 0, &r->data, r->hash) != 0)
		abort();
	jv_free(v);
}

static int
op(void *d, int del, const struct rec *r, const char *expect)
{
	struct sm_drec dr = { 0 };

	dr.external_id = r->id;
	dr.data = r->data.data;
	dr.len = r->data.len;
	dr.hash = r->hash;
	dr.expect = expect;
	return del ? drv->del(d, &dr, &why) : drv->put(d, &dr, &why);
}

/* A batch of one operation, committed. */
static int
one(void *d, int del, const struct rec *r, const char *expect)
{
	int rc;

	drv->begin(d, &why);
	if ((rc = op(d, del, r, expect)) != 0) {
		drv->rollback(d);
		return rc;
	}
	return drv->commit(d, &why);
}

static char *
slurp(const char *dir, const char *name)
{
	char path[1024], *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sm_file_read(path, &s) != 0)
		return NULL;
	return s;
}

static int
file_is(const char *dir, const char *name, const char *want)
{
	char *s = slurp(dir, name);
	int same = s != NULL && want != NULL && strcmp(s, want) == 0;

	if (!same)
		diag("%s/%s: got '%s', want '%s'", dir, name,
		    s ? s : "(none)", want ? want : "(none)");
	free(s);
	return same;
}

static void
spit(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF)
		abort();
}

static int
exists(const char *dir, const char *name)
{
	char path[1024];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &sb) == 0;
}

/* The names in dir, sorted, space-separated (temporary files too). */
static char *
names(const char *dir)
{
	static char out[8192];
	struct dirent **v;
	int i, n;

	out[0] = '\0';
	if ((n = scandir(dir, &v, NULL, alphasort)) < 0)
		return out;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 &&
		    strcmp(v[i]->d_name, "..") != 0) {
			if (out[0] != '\0')
				strcat(out, " ");
			strcat(out, v[i]->d_name);
		}
		free(v[i]);
	}
	free(v);
	return out;
}

/* list: "id=data" lines of records, "!name: error" of the rest, sorted. */
struct listing {
	char *lines[64];
	int n;
};

static int
collect(const struct sm_drec *r, void *arg)
{
	struct listing *l = arg;
	struct sm_buf b;

	if (l->n == 64)
		return 1;
	sm_buf_init(&b);
	if (r->data == NULL)
		sm_buf_addf(&b, "!%s: %s", r->external_id, r->error);
	else
		sm_buf_addf(&b, "%s=%.*s", r->external_id, (int)r->len,
		    r->data);
	l->lines[l->n++] = b.data;
	return 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
listing(void *d, int *rc)
{
	static char out[16384];
	struct listing l = { { 0 }, 0 };
	int i;

	*rc = drv->list(d, collect, &l, &why);
	qsort(l.lines, (size_t)l.n, sizeof(l.lines[0]), cmpstr);
	out[0] = '\0';
	for (i = 0; i < l.n; i++) {
		strcat(out, l.lines[i]);
		strcat(out, "\n");
		free(l.lines[i]);
	}
	return out;
}

static void
test_check(void)
{
	struct sm_conn c;

	conn_init(&c, "/tmp/x", NULL);
	ok(drv->check(&c) == 0, "check: path alone (json)");
	jv_free(c.config);
	conn_init(&c, "/tmp/x", "md");
	ok(drv->check(&c) == 0, "check: format md");
	jv_free(c.config);
	conn_init(&c, "/tmp/x", "yaml");
	ok(drv->check(&c) == SM_ECONFIG && strstr(sm_errmsg(), "'format'"),
	    "check: format yaml refused, naming the key");
	jv_free(c.config);
	conn_init(&c, "", NULL);
	ok(drv->check(&c) == SM_ECONFIG && strstr(sm_errmsg(), "'path'"),
	    "check: empty path refused, naming the key");
	jv_free(c.config);
	conn_init(&c, "/tmp/x", NULL);
	c.config = jv_object_set(c.config, jv_string("url"),
	    jv_string("https://example.com/"));
	ok(drv->check(&c) == 0, "check: url (the site's address) accepted");
	jv_free(c.config);
	conn_init(&c, "/tmp/x", NULL);
	c.config = jv_object_set(c.config, jv_string("table"), jv_string("t"));
	ok(drv->check(&c) == SM_ECONFIG && strstr(sm_errmsg(), "'table'"),
	    "check: unknown key refused, naming it");
	jv_free(c.config);
	conn_init(&c, "/tmp/x", NULL);
	c.config = jv_object_set(c.config, jv_string("path"), jv_number(1));
	ok(drv->check(&c) == SM_ECONFIG, "check: path not a string refused");
	jv_free(c.config);
}

static void
test_open(void)
{
	char dir[512], file[512];
	struct stat sb;
	void *d;

	snprintf(dir, sizeof(dir), "%s/new/deeper", top);
	d = dopen(dir, NULL);
	ok(d != NULL && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 0777) == (0755 & ~0022),
	    "open creates a missing directory and its parents, mode 0755");
	drv->close(d);
	snprintf(file, sizeof(file), "%s/a-file", top);
	spit(top, "a-file", "x");
	{
		struct sm_conn c;

		conn_init(&c, file, NULL);
		ok(drv->open(&d, &c, &why) == SM_ECONFIG && d == NULL &&
		    strstr(why.data, "a-file") != NULL,
		    "open: a file in the way is a configuration error");
		jv_free(c.config);
	}
}

static void
test_json(void)
{
	char dir[512];
	struct rec a1, a2, a3, b1;
	void *d;
	char *s, want[256];

	snprintf(dir, sizeof(dir), "%s/json", top);
	d = dopen(dir, "json");
	mkrec(&a1, "a1", "{\"price\": 100, \"external_id\": \"a1\"}");
	mkrec(&a2, "a1", "{\"price\": 120, \"external_id\": \"a1\"}");
	mkrec(&a3, "a1", "{\"price\": 130, \"external_id\": \"a1\"}");
	mkrec(&b1, "b", "{\"price\": 7, \"external_id\": \"b\"}");

	drv->begin(d, &why);
	ok(op(d, 0, &a1, NULL) == 0 && op(d, 0, &b1, NULL) == 0,
	    "put: create two");
	s = names(dir);
	ok(strstr(s, "a1.json") == NULL && strncmp(s, ".sm-", 4) == 0,
	    "before commit: only temporary files (%s)", s);
	ok(drv->commit(d, &why) == 0, "commit");
	ok(strcmp(names(dir), "a1.json b.json") == 0,
	    "after commit: the records, no temporary file (%s)", names(dir));
	snprintf(want, sizeof(want), "%s\n", a1.data.data);
	ok(file_is(dir, "a1.json", want), "a1.json holds the canonical form "
	    "and a newline");

	ok(one(d, 0, &a2, a1.hash) == 0, "update with expect = last delivered");
	snprintf(want, sizeof(want), "%s\n", a2.data.data);
	ok(file_is(dir, "a1.json", want), "the file holds the new version");
	ok(one(d, 0, &a2, a1.hash) == 0 && strcmp(names(dir),
	    "a1.json b.json") == 0 && file_is(dir, "a1.json", want),
	    "the same put again (not acknowledged, sent again): delivered");

	spit(dir, "a1.json", "{\n  \"external_id\": \"a1\",\n"
	    "  \"price\": 120.0\n}\n");
	ok(one(d, 0, &a3, a2.hash) == 0, "a file reformatted by hand, same "
	    "record: no conflict");

	spit(dir, "a1.json", "{\"external_id\":\"a1\",\"price\":99}\n");
	ok(one(d, 0, &b1, NULL) == 0, "(b again: unchanged)");
	ok(one(d, 0, &a2, a3.hash) == SM_CONFLICT &&
	    strstr(why.data, "by hand") != NULL, "a hand edit: SM_CONFLICT "
	    "(%s)", why.data);
	ok(file_is(dir, "a1.json", "{\"external_id\":\"a1\",\"price\":99}\n"),
	    "the hand edit is left untouched");
	ok(one(d, 1, &a3, a3.hash) == SM_CONFLICT && exists(dir, "a1.json"),
	    "delete over a hand edit: SM_CONFLICT, the file stays");
	spit(dir, "x.json", "{\"by\":\"hand\"}\n");
	{
		struct rec x;

		mkrec(&x, "x", "{}");
		ok(one(d, 1, &x, NULL) == 0 && !exists(dir, "x.json"),
		    "a delete without expect removes what is there");
		sm_buf_free(&x.data);
	}

	unlink(strcat(strcpy(want, dir), "/a1.json"));
	ok(one(d, 0, &a2, a3.hash) == SM_CONFLICT && !exists(dir, "a1.json") &&
	    strstr(why.data, "deleted by hand"), "update of a file deleted by "
	    "hand: SM_CONFLICT, not re-created (%s)", why.data);
	ok(one(d, 0, &a2, NULL) == 0 && exists(dir, "a1.json"),
	    "a create (no expect) writes it");
	spit(dir, "c.json", "{\"external_id\":\"c\"}\n");
	{
		struct rec c;

		mkrec(&c, "c", "{\"external_id\":\"c\",\"price\":1}");
		ok(one(d, 0, &c, NULL) == 0 && file_is(dir, "c.json",
		    "{\"external_id\":\"c\",\"price\":1}\n"), "a put "
		    "without expect (a create, --overwrite-manual) writes "
		    "over what is there");
		sm_buf_free(&c.data);
	}
	spit(dir, "c.json", "not json\n");
	{
		struct rec c;

		mkrec(&c, "c", "{\"external_id\":\"c\",\"price\":1}");
		ok(one(d, 0, &c, c.hash) == SM_CONFLICT &&
		    strstr(why.data, "holds no record"), "a file that is not a "
		    "record: SM_CONFLICT (%s)", why.data);
		sm_buf_free(&c.data);
	}
	unlink(strcat(strcpy(want, dir), "/c.json"));

	drv->begin(d, &why);
	ok(op(d, 1, &b1, b1.hash) == 0 && exists(dir, "b.json"),
	    "delete: staged, the file stays until commit");
	ok(drv->commit(d, &why) == 0 && !exists(dir, "b.json"),
	    "delete: gone at commit");
	ok(one(d, 1, &b1, b1.hash) == 0, "delete of an absent file: delivered");

	drv->begin(d, &why);
	op(d, 0, &a3, a2.hash);
	op(d, 0, &b1, NULL);
	drv->rollback(d);
	snprintf(want, sizeof(want), "%s\n", a2.data.data);
	ok(strcmp(names(dir), "a1.json") == 0 && file_is(dir, "a1.json", want),
	    "rollback: nothing changed, no temporary file left");
	drv->begin(d, &why);
	op(d, 0, &b1, NULL);
	drv->close(d);
	ok(strcmp(names(dir), "a1.json") == 0, "close of an open batch: "
	    "dropped");
	sm_buf_free(&a1.data);
	sm_buf_free(&a2.data);
	sm_buf_free(&a3.data);
	sm_buf_free(&b1.data);
}

/* ids and the names they get; none may leave the directory. */
static const struct {
	const char *id, *name;
} names_of[] = {
	{ "../../etc/x", "~2E~2E~2F~2E~2E~2Fetc~2Fx.json" },
	{ "a/b", "a~2Fb.json" },
	{ ".hidden", "~2Ehidden.json" },
	{ ".", "~2E.json" },
	{ "..", "~2E~2E.json" },
	{ "-rf", "~2Drf.json" },
	{ "_index", "~5Findex.json" },
	{ "index", "~69ndex.json" },
	{ "x.en", "x~2Een.json" },
	{ "a b%~", "a~20b~25~7E.json" },
	{ "\xc3\xa9t\xc3\xa9", "~C3~A9t~C3~A9.json" },
	{ "tab\there\n", "tab~09here~0A.json" },
	{ "ABC-def_09", "ABC-def_09.json" },
	{ "7", "7.json" },
};

static void
test_names(void)
{
	char dir[512], sub[512], id[400], want[8192], *got;
	struct rec r;
	size_t i;
	void *d;
	int rc;

	snprintf(sub, sizeof(sub), "%s/esc", top);
	mkdir(sub, 0755);
	snprintf(dir, sizeof(dir), "%s/esc/in", top);
	d = dopen(dir, NULL);
	for (i = 0; i < sizeof(names_of) / sizeof(names_of[0]); i++) {
		mkrec(&r, names_of[i].id, "{\"price\":1}");
		rc = one(d, 0, &r, NULL);
		ok(rc == 0 && exists(dir, names_of[i].name),
		    "id %zu of the table is %s", i, names_of[i].name);
		sm_buf_free(&r.data);
	}
	ok(strcmp(names(sub), "in") == 0 && !exists(top, "etc") &&
	    !exists("/etc", "x.json"), "nothing was written outside the "
	    "directory");
	want[0] = '\0';
	got = listing(d, &rc);
	for (i = 0; i < sizeof(names_of) / sizeof(names_of[0]); i++)
		if (strstr(got, names_of[i].id) == NULL)
			break;
	ok(rc == 0 && i == sizeof(names_of) / sizeof(names_of[0]),
	    "list gives every id back, decoded");

	memset(id, 'x', 300);
	id[300] = '\0';
	mkrec(&r, id, "{\"price\":1}");
	ok(one(d, 0, &r, NULL) == SM_PERMANENT && strstr(why.data, "300"),
	    "a 300-byte id: SM_PERMANENT (%s)", why.data);
	ok(one(d, 1, &r, r.hash) == SM_PERMANENT, "its delete too");
	id[250] = '\0';
	snprintf(r.id, sizeof(r.id), "%s", id);
	ok(one(d, 0, &r, NULL) == 0, "a 250-byte id fits (255 with .json)");
	memset(id, 0, sizeof(id));
	for (i = 0; i < 84; i++)
		memcpy(id + 2 * i, "\xc3\xa9", 2);
	snprintf(r.id, sizeof(r.id), "%s", id);
	ok(one(d, 0, &r, NULL) == SM_PERMANENT, "84 'é' (168 bytes, 504 "
	    "once encoded): SM_PERMANENT");
	r.id[0] = '\0';
	ok(one(d, 0, &r, NULL) == SM_PERMANENT, "an empty id: SM_PERMANENT");
	sm_buf_free(&r.data);
	drv->close(d);
	(void)want;
}

static void
test_list(void)
{
	char dir[512], want[4096];
	struct rec a, b;
	void *d;
	int rc;

	snprintf(dir, sizeof(dir), "%s/list", top);
	d = dopen(dir, NULL);
	mkrec(&a, "a", "{\"external_id\":\"a\",\"n\":1}");
	mkrec(&b, "b/c", "{\"external_id\":\"b/c\",\"n\":2}");
	one(d, 0, &a, NULL);
	one(d, 0, &b, NULL);
	spit(dir, "pretty.json", "{ \"z\": 1,\n \"a\": [1.0, 2e2] }\n");
	spit(dir, "notes.txt", "hello");
	spit(dir, ".hidden.json", "{}");
	spit(dir, "_index.json", "{}");
	spit(dir, "index.json", "{}");
	spit(dir, ".sm-12-0.tmp", "{\"half");
	spit(dir, "broken.json", "{\"a\":");
	spit(dir, "array.json", "[1]");
	spit(dir, "a.b.json", "{}");
	spit(dir, "~2e.json", "{}");
	spit(dir, "x~00.json", "{}");
	spit(dir, "big.json", "{\"n\":12345678901234567890}");
	spit(dir, "bad-utf8.json", "{\"n\":\"\xff\"}");
	snprintf(want, sizeof(want), "%s/dir.json", dir);
	mkdir(want, 0755);
	snprintf(want, sizeof(want), "%s/link.json", dir);
	symlink("/etc/passwd", want);
	snprintf(want, sizeof(want),
	    "!a.b.json: not a file name sm writes\n"
	    "!array.json: not a JSON object\n"
	    "!bad-utf8.json: byte 6: invalid UTF-8\n"
	    "!big.json: byte 5: %s\n"
	    "!broken.json: byte 5: %s\n"
	    "!dir.json: empty, or not a regular file\n"
	    "!link.json: empty, or not a regular file\n"
	    "!x~00.json: not a file name sm writes\n"
	    "!~2e.json: not a file name sm writes\n"
	    "a={\"external_id\":\"a\",\"n\":1}\n"
	    "b/c={\"external_id\":\"b/c\",\"n\":2}\n"
	    "pretty={\"a\":[1,200],\"z\":1}\n", "%s", "%s");
	{
		char *got = listing(d, &rc), *p, *q;
		int same = rc == 0;

		/* The parser's own wording of the two reasons is not ours. */
		for (p = want, q = got; same && *p != '\0'; p++, q++) {
			if (p[0] == '%' && p[1] == 's') {
				while (*q != '\n' && *q != '\0')
					q++;
				p += 2;
			}
			same = *p == *q;
		}
		ok(same && *q == '\0', "list: the records (canonical), every "
		    "other *.json reported, the rest skipped");
		if (!same)
			diag("got:\n%s", got);
	}
	drv->close(d);
	sm_buf_free(&a.data);
	sm_buf_free(&b.data);
}

static void
test_md(void)
{
	char dir[512], want[1024];
	struct rec a, a2, s;
	void *d;
	char *got;
	int rc;

	snprintf(dir, sizeof(dir), "%s/md", top);
	d = dopen(dir, "md");
	mkrec(&a, "a", "{\"external_id\":\"a\",\"price\":1,"
	    "\"description\":\"Bright *flat*.\\n\\nSecond.\"}");
	mkrec(&a2, "a", "{\"external_id\":\"a\",\"price\":2,"
	    "\"description\":\"Bright *flat*.\\n\\nSecond.\"}");
	mkrec(&s, "s", "{\"external_id\":\"s\",\"price\":3,"
	    "\"description\":\"a {{< x >}} b\"}");
	ok(one(d, 0, &a, NULL) == 0 && one(d, 0, &s, NULL) == 0, "md: put");
	snprintf(want, sizeof(want), "%s\n\nBright *flat*.\n\nSecond.\n",
	    a.data.data);
	ok(file_is(dir, "a.md", want), "md: JSON front matter, a blank line, "
	    "the description as body");
	snprintf(want, sizeof(want), "%s\n", s.data.data);
	ok(file_is(dir, "s.md", want), "md: a description with a shortcode "
	    "mark is not a body");
	got = listing(d, &rc);
	snprintf(want, sizeof(want), "a=%s\ns=%s\n", a.data.data, s.data.data);
	ok(rc == 0 && strcmp(got, want) == 0, "md: list reads each record "
	    "back as it was");
	ok(one(d, 0, &a2, a.hash) == 0, "md: update");
	snprintf(want, sizeof(want), "%s\n\nBright *flat*.\n\nSecond.\n",
	    a2.data.data);
	spit(dir, "a.md", strcat(want, "Added by hand.\n"));
	ok(one(d, 0, &a, a2.hash) == SM_CONFLICT && file_is(dir, "a.md", want),
	    "md: a hand edit of the body: SM_CONFLICT, left untouched");
	got = listing(d, &rc);
	ok(rc == 0 && strstr(got, "\"description\":\"Bright *flat*.\\n\\n"
	    "Second.\\nAdded by hand.\"") != NULL, "md: list gives the edited "
	    "body as the description");
	spit(dir, "yaml.md", "---\ntitle: x\n---\n");
	spit(dir, "_index.md", "---\ntitle: Listings\n---\n");
	got = listing(d, &rc);
	ok(rc == 0 && strstr(got, "!yaml.md: no JSON front matter\n") &&
	    strstr(got, "_index") == NULL, "md: YAML front matter reported, "
	    "Hugo's _index.md skipped");
	drv->close(d);
	sm_buf_free(&a.data);
	sm_buf_free(&a2.data);
	sm_buf_free(&s.data);
}

static void
test_ignore(void)
{
	const char *ignore[] = { "seen_at" };
	char dir[512];
	struct sm_conn c;
	struct rec a1, a2;
	char h1[SM_HASH_HEX];
	void *d;
	jv v;

	snprintf(dir, sizeof(dir), "%s/ignore", top);
	conn_init(&c, dir, NULL);
	c.ignore = ignore;
	c.nignore = 1;
	drv->open(&d, &c, &why);
	jv_free(c.config);
	mkrec(&a1, "a", "{\"external_id\":\"a\",\"n\":1,\"seen_at\":1}");
	mkrec(&a2, "a", "{\"external_id\":\"a\",\"n\":2,\"seen_at\":1}");
	/* sm's hashes of a target's rows leave the ignored fields out. */
	v = jv_parse(a1.data.data);
	sm_rec_digest(v, ignore, 1, &a1.data, h1);
	jv_free(v);
	memcpy(a1.hash, h1, SM_HASH_HEX);
	v = jv_parse(a2.data.data);
	sm_rec_digest(v, ignore, 1, &a2.data, a2.hash);
	jv_free(v);
	one(d, 0, &a1, NULL);
	spit(dir, "a.json", "{\"external_id\":\"a\",\"n\":1,\"seen_at\":9}\n");
	ok(one(d, 0, &a2, h1) == 0, "a hand edit of an ignored field only: "
	    "no conflict (the target's hash_ignore)");
	spit(dir, "a.json", "{\"external_id\":\"a\",\"n\":5,\"seen_at\":1}\n");
	ok(one(d, 0, &a1, a2.hash) == SM_CONFLICT, "an edit of another field: "
	    "SM_CONFLICT");
	drv->close(d);
	sm_buf_free(&a1.data);
	sm_buf_free(&a2.data);
}

static void
test_crash(void)
{
	char dir[512], want[256];
	struct rec a1, a2;
	pid_t pid;
	void *d;
	int st;

	snprintf(dir, sizeof(dir), "%s/crash", top);
	d = dopen(dir, NULL);
	mkrec(&a1, "a", "{\"external_id\":\"a\",\"price\":1}");
	mkrec(&a2, "a", "{\"external_id\":\"a\",\"price\":2}");
	one(d, 0, &a1, NULL);
	drv->close(d);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		/* Dies between the temporary file and its rename. */
		d = dopen(dir, NULL);
		drv->begin(d, &why);
		_exit(op(d, 0, &a2, a1.hash));
	}
	waitpid(pid, &st, 0);
	snprintf(want, sizeof(want), "%s\n", a1.data.data);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0 && file_is(dir, "a.json",
	    want) && strncmp(names(dir), ".sm-", 4) == 0,
	    "a crash before the rename: the old file whole, a temporary "
	    "file left (%s)", names(dir));
	d = dopen(dir, NULL);
	ok(strcmp(names(dir), "a.json") == 0, "the next open removes the "
	    "temporary file of the dead process");
	ok(one(d, 0, &a2, a1.hash) == 0, "and the put sent again is "
	    "delivered");
	{
		char sub[1024];

		/* The directory removed under the driver: the disk may be
		   back later, a transient failure. */
		snprintf(sub, sizeof(sub), "%s/a.json", dir);
		unlink(sub);
		rmdir(dir);
		ok(one(d, 0, &a1, NULL) == SM_TRANSIENT && why.len > 0,
		    "a directory gone: SM_TRANSIENT (%s)", why.data);
	}
	drv->close(d);
	sm_buf_free(&a1.data);
	sm_buf_free(&a2.data);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
count(const struct sm_drec *r, void *arg)
{
	(*(long *)arg) += r->data != NULL;
	return 0;
}

/* Rates of put (batches of 1,000) and list of n records. */
static int
bench(long n)
{
	static const char *const formats[] = { "json", "md" };
	char dir[512], id[32], json[256];
	struct rec *r = sm_xcalloc((size_t)n, sizeof(*r));
	double t;
	long i, got;
	int k;
	void *d;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "L%06ld", i);
		snprintf(json, sizeof(json), "{\"external_id\":\"%s\","
		    "\"title\":\"Flat %ld\",\"price\":%ld,\"rooms\":3,"
		    "\"description\":\"A bright flat, number %ld.\"}",
		    id, i, 100000 + i, i);
		mkrec(&r[i], id, json);
	}
	for (k = 0; k < 2; k++) {
		snprintf(dir, sizeof(dir), "%s/bench-%s", top, formats[k]);
		d = dopen(dir, formats[k]);
		t = now();
		for (i = 0; i < n; i++) {
			if (i % 1000 == 0)
				drv->begin(d, &why);
			if (op(d, 0, &r[i], NULL) != 0)
				return 1;
			if (i % 1000 == 999 || i == n - 1)
				drv->commit(d, &why);
		}
		t = now() - t;
		printf("%s: put %ld records: %.2f s, %.0f/s\n", formats[k], n,
		    t, n / t);
		t = now();
		got = 0;
		drv->list(d, count, &got, &why);
		t = now() - t;
		printf("%s: list %ld records: %.2f s, %.0f/s\n", formats[k],
		    got, t, got / t);
		drv->close(d);
	}
	return 0;
}

/* put/del DIR FORMAT ID [EXPECT], for t/8200. */
static int
one_op(int del, char **argv, int argc)
{
	struct sm_buf in;
	struct rec r;
	char buf[4096];
	size_t got;
	void *d;
	int rc;

	sm_buf_init(&in);
	if (!del)
		while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0)
			sm_buf_add(&in, buf, got);
	mkrec(&r, argv[3], del ? "{}" : in.data);
	if ((d = dopen(argv[1], argv[2])) == NULL)
		return 4;
	rc = one(d, del, &r, argc > 4 ? argv[4] : NULL);
	if (rc != 0)
		fprintf(stderr, "%s\n", why.data);
	else if (!del)
		printf("%s\n", r.hash);
	drv->close(d);
	sm_buf_free(&r.data);
	sm_buf_free(&in);
	return rc;
}

int
main(int argc, char **argv)
{
	char cmd[600];

	sm_buf_init(&why);
	if (argc >= 4 && (strcmp(argv[1], "put") == 0 ||
	    strcmp(argv[1], "del") == 0))
		return one_op(strcmp(argv[1], "del") == 0, argv + 1, argc - 1);
	snprintf(top, sizeof(top), "%s/sm-drv-files.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(top) == NULL)
		return 1;
	umask(022);
	if (argc == 3 && strcmp(argv[1], "bench") == 0) {
		argc = bench(atol(argv[2]));
	} else {
		test_check();
		test_open();
		test_json();
		test_names();
		test_list();
		test_md();
		test_ignore();
		test_crash();
		tap_no_plan_done();
		argc = tap_failed != 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		argc = 1;
	sm_buf_free(&why);
	return argc;
}
