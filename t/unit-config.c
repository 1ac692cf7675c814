/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm.h"
#include "tap.h"

#define PLAN	152

static const char *envs[] = {
	"SM_CONFIG", "SM_DATA_DIR", "SM_RETENTION_DAYS", "SM_KEEP_SNAPSHOTS",
	"SM_HASH_IGNORE", "SM_BUSY_TIMEOUT_MS", "SM_MAX_RECORD_BYTES",
	"SM_RUNS_DAYS", "SM_IMPORT_MAX_DELETE_RATIO", "SM_SERVE_LISTEN",
	"SM_SERVE_THREADS", "SM_SERVE_MAX_BODY_BYTES",
	"SM_SERVE_ADMIN_KEY_FILE", "SM_SERVE_OPEN_REGISTRATION",
	"XDG_CONFIG_HOME", "XDG_DATA_HOME", NULL
};

static char tmp[256];		/* the scratch directory, also $HOME */
static char *made[32];		/* files and directories to remove */
static size_t nmade;

static char *
path_in(const char *name)
{
	struct sm_buf b;

	sm_buf_init(&b);
	sm_buf_addf(&b, "%s/%s", tmp, name);
	return b.data;
}

static void
clear_env(void)
{
	const char **e;

	for (e = envs; *e != NULL; e++)
		unsetenv(*e);
	setenv("HOME", tmp, 1);
}

static void
put(const char *path, const char *text)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
}

/* Writes text to a new file of the scratch directory; returns its path. */
static char *
temp_file(const char *text)
{
	char *p;
	int fd;

	p = path_in("cfg.XXXXXX");
	if ((fd = mkstemp(p)) == -1) {
		perror("mkstemp");
		exit(2);
	}
	close(fd);
	put(p, text);
	made[nmade++] = p;
	return p;
}

/* Makes the directory and the file dir/sm/config.yaml holding text. */
static char *
conf_in(const char *dir, const char *text)
{
	struct sm_buf b;
	char *p;

	sm_buf_init(&b);
	sm_buf_addf(&b, "%s/%s", tmp, dir);
	mkdir(b.data, 0700);
	made[nmade++] = sm_xstrdup(b.data);
	sm_buf_adds(&b, "/sm");
	mkdir(b.data, 0700);
	made[nmade++] = sm_xstrdup(b.data);
	sm_buf_adds(&b, "/config.yaml");
	p = b.data;
	put(p, text);
	made[nmade++] = p;
	return p;
}

static int
load_str(struct sm_config *c, const char *text)
{
	return sm_config_load_string(c, "t.yaml", text, strlen(text));
}

/* Loads text and checks that it fails with exactly the message want. */
static void
err_is(const char *text, const char *want, const char *name)
{
	struct sm_config c;
	int rc;

	rc = load_str(&c, text);
	if (!ok(rc == SM_ECONFIG, "%s: SM_ECONFIG", name))
		diag("rc %d", rc);
	is_str(sm_errmsg(), want, name);
	sm_config_free(&c);
}

static int
is_default(const struct sm_config *c)
{
	char *dd = path_in(".local/share/sm");
	int same;

	same = c->data_dir != NULL && strcmp(c->data_dir, dd) == 0 &&
	    c->retention_days == 30 && c->keep_snapshots == 1 &&
	    c->hash_ignore != NULL && c->hash_ignore[0] == NULL &&
	    c->nhash_ignore == 0 && c->busy_timeout_ms == 5000 &&
	    c->max_record_bytes == 16 << 20 && c->runs_days == 90 &&
	    c->import_max_delete_ratio == 0.5 &&
	    c->serve_listen != NULL &&
	    strcmp(c->serve_listen, "127.0.0.1:8000") == 0 &&
	    c->serve_threads == 4 && c->serve_max_body_bytes == 64 << 20 &&
	    c->serve_admin_key_file == NULL &&
	    c->serve_tenant_requests == 8 && c->serve_timeout_s == 15 &&
	    c->serve_max_connections == 1000 &&
	    c->serve_open_registration == 0;
	free(dd);
	return same;
}

static void
test_defaults(void)
{
	struct sm_config c;
	char *want;

	sm_config_defaults(&c);
	ok(is_default(&c), "defaults");
	ok(c.path == NULL, "defaults: no path");
	sm_config_free(&c);

	setenv("XDG_DATA_HOME", "/x/data", 1);
	sm_config_defaults(&c);
	is_str(c.data_dir, "/x/data/sm", "data_dir from XDG_DATA_HOME");
	sm_config_free(&c);
	setenv("XDG_DATA_HOME", "relative", 1);
	sm_config_defaults(&c);
	want = path_in(".local/share/sm");
	is_str(c.data_dir, want, "a relative XDG_DATA_HOME is ignored");
	free(want);
	sm_config_free(&c);
	unsetenv("XDG_DATA_HOME");

	sm_config_defaults(&c);
	sm_config_set_data_dir(&c, "/from/-D");
	is_str(c.data_dir, "/from/-D", "sm_config_set_data_dir");
	sm_config_free(&c);
	sm_config_free(NULL);
}

static void
test_keys(void)
{
	struct sm_config c;
	char *want;
	int rc;

	rc = load_str(&c,
	    "# every key\n"
	    "data_dir: /srv/sm\n"
	    "retention_days: 7\n"
	    "keep_snapshots: 3\n"
	    "hash_ignore:\n"
	    "  - scraped_at\n"
	    "  - \"crawl id\"\n"
	    "busy_timeout_ms: 250\n"
	    "max_record_bytes: 1048576\n"
	    "runs_days: 14\n"
	    "import:\n"
	    "  max_delete_ratio: 0.25\n"
	    "serve:\n"
	    "  listen: 0.0.0.0:8080\n"
	    "  threads: 16\n"
	    "  max_body_bytes: 8M\n"
	    "  admin_key_file: /etc/sm/admin.key\n"
	    "  open_registration: true\n");
	if (!ok(rc == 0, "every key: loads"))
		diag("%s", sm_errmsg());
	is_str(c.path, "t.yaml", "path records the name");
	is_str(c.data_dir, "/srv/sm", "data_dir");
	ok(c.retention_days == 7, "retention_days");
	ok(c.keep_snapshots == 3, "keep_snapshots");
	ok(c.nhash_ignore == 2 && c.hash_ignore[2] == NULL, "hash_ignore: 2");
	is_str(c.hash_ignore[0], "scraped_at", "hash_ignore[0]");
	is_str(c.hash_ignore[1], "crawl id", "hash_ignore[1]");
	ok(c.busy_timeout_ms == 250, "busy_timeout_ms");
	ok(c.max_record_bytes == 1048576, "max_record_bytes");
	ok(c.runs_days == 14, "runs_days");
	ok(c.import_max_delete_ratio == 0.25, "import.max_delete_ratio");
	is_str(c.serve_listen, "0.0.0.0:8080", "serve.listen");
	ok(c.serve_threads == 16, "serve.threads");
	ok(c.serve_max_body_bytes == 8 << 20, "serve.max_body_bytes 8M");
	is_str(c.serve_admin_key_file, "/etc/sm/admin.key",
	    "serve.admin_key_file");
	ok(c.serve_open_registration == 1, "serve.open_registration: true");
	sm_config_free(&c);
	rc = load_str(&c, "serve: {open_registration: yes}\n");
	ok(rc == SM_ECONFIG, "open_registration: yes is refused");
	ok(strstr(sm_errmsg(), "expected true or false") != NULL,
	    "open_registration: says true or false");
	sm_config_free(&c);

	rc = load_str(&c, "serve: {listen: \"[::1]:9000\", threads: 256}\n"
	    "import: {max_delete_ratio: 1}\n"
	    "hash_ignore: [a, b, c]\n");
	ok(rc == 0, "flow mappings: loads");
	is_str(c.serve_listen, "[::1]:9000", "serve.listen IPv6");
	ok(c.serve_threads == 256, "serve.threads 256");
	ok(c.import_max_delete_ratio == 1, "import.max_delete_ratio 1");
	ok(c.nhash_ignore == 3, "hash_ignore flow list");
	ok(c.serve_max_body_bytes == 64 << 20, "unset key keeps its default");
	sm_config_free(&c);

	rc = load_str(&c, "max_record_bytes: 2K\nserve:\n"
	    "  max_body_bytes: 3MiB\n");
	ok(rc == 0 && c.max_record_bytes == 2048 &&
	    c.serve_max_body_bytes == 3 << 20, "sizes K and MiB");
	sm_config_free(&c);
	rc = load_str(&c, "max_record_bytes: 1G\nserve: {max_body_bytes: 1}\n");
	ok(rc == 0 && c.max_record_bytes == 1 << 30 &&
	    c.serve_max_body_bytes == 1, "sizes G and 1");
	sm_config_free(&c);

	rc = load_str(&c, "data_dir: ~/d\nserve:\n"
	    "  admin_key_file: \"~\"\n");
	want = path_in("d");
	ok(rc == 0, "tilde: loads");
	is_str(c.data_dir, want, "data_dir: ~/ expanded from HOME");
	is_str(c.serve_admin_key_file, tmp, "admin_key_file: ~ is HOME");
	free(want);
	sm_config_free(&c);

	rc = load_str(&c, "retention_days:\nhash_ignore: ~\nserve:\n"
	    "import: null\nkeep_snapshots: 0\n");
	ok(rc == 0 && c.retention_days == 30 && c.keep_snapshots == 0 &&
	    c.hash_ignore != NULL && c.nhash_ignore == 0,
	    "null values keep the defaults");
	sm_config_free(&c);

	rc = load_str(&c, "hash_ignore: []\n");
	ok(rc == 0 && c.nhash_ignore == 0 && c.hash_ignore[0] == NULL,
	    "hash_ignore: empty list");
	sm_config_free(&c);
}

static void
test_empty(void)
{
	static const char *texts[] = {
		"", "# only a comment\n", "---\n", "{}\n", "---\n...\n"
	};
	struct sm_config c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		rc = load_str(&c, texts[i]);
		ok(rc == 0 && is_default(&c), "empty document %zu: defaults",
		    i);
		sm_config_free(&c);
	}
}

static void
test_errors(void)
{
	struct sm_config c;
	int rc;

	err_is("serve:\n  listen: 127.0.0.1:1\n  listne: x\n",
	    "t.yaml:3: unknown key 'serve.listne'", "unknown nested key");
	err_is("# settings\n\nretention: 3\n",
	    "t.yaml:3: unknown key 'retention'", "unknown top-level key");
	err_is("import:\n  max_delete_ratio: 0.1\n  strict: true\n",
	    "t.yaml:3: unknown key 'import.strict'", "unknown key in import");
	err_is("serve.listen: a:1\n",
	    "t.yaml:1: unknown key 'serve.listen' "
	    "(a dotted name is a nested mapping)", "flat dotted key");
	err_is("retention_days: 3\nserve:\n  listen: a:1\n threads: 3\n",
	    "t.yaml:4: did not find expected key while parsing a block "
	    "mapping", "malformed YAML names the line");
	err_is("hash_ignore: [a, b\nruns_days: 3\n",
	    "t.yaml:2: did not find expected ',' or ']' while parsing a "
	    "flow sequence", "unterminated flow list");
	err_is("data_dir: \"/srv\n",
	    "t.yaml:2: found unexpected end of stream while scanning a "
	    "quoted scalar", "unterminated quote");
	err_is("retention_days: 1\n\xff\n",
	    "t.yaml:2: invalid leading UTF-8 octet", "invalid UTF-8");

	err_is("retention_days: abc\n",
	    "t.yaml:1: invalid value 'abc' for 'retention_days': "
	    "expected an integer \u2265 0", "integer expected");
	err_is("keep_snapshots: -1\n",
	    "t.yaml:1: invalid value '-1' for 'keep_snapshots': "
	    "expected an integer \u2265 0", "negative integer");
	err_is("busy_timeout_ms: 1.5\n",
	    "t.yaml:1: invalid value '1.5' for 'busy_timeout_ms': "
	    "expected an integer \u2265 0", "fraction for an integer");
	err_is("runs_days: 99999999999\n",
	    "t.yaml:1: invalid value '99999999999' for 'runs_days': "
	    "expected an integer \u2265 0", "integer too large");
	err_is("serve:\n  threads: 0\n",
	    "t.yaml:2: invalid value '0' for 'serve.threads': "
	    "expected an integer from 1 to 256", "threads 0");
	err_is("serve:\n  threads: 257\n",
	    "t.yaml:2: invalid value '257' for 'serve.threads': "
	    "expected an integer from 1 to 256", "threads 257");
	err_is("retention_days: {a: 1}\n",
	    "t.yaml:1: invalid value for 'retention_days': "
	    "expected an integer \u2265 0, not a mapping",
	    "mapping for an integer");
	err_is("max_record_bytes: 12X\n",
	    "t.yaml:1: invalid value '12X' for 'max_record_bytes': "
	    "expected a size \u2265 1 in bytes, optionally with K, M or G",
	    "bad size suffix");
	err_is("max_record_bytes: 0\n",
	    "t.yaml:1: invalid value '0' for 'max_record_bytes': "
	    "expected a size \u2265 1 in bytes, optionally with K, M or G",
	    "size 0");
	err_is("serve:\n  max_body_bytes: 99999999999G\n",
	    "t.yaml:2: invalid value '99999999999G' for "
	    "'serve.max_body_bytes': expected a size \u2265 1 in bytes, "
	    "optionally with K, M or G", "size overflows");
	err_is("import:\n  max_delete_ratio: 1.5\n",
	    "t.yaml:2: invalid value '1.5' for 'import.max_delete_ratio': "
	    "expected a number from 0 to 1", "ratio above 1");
	err_is("import:\n  max_delete_ratio: .nan\n",
	    "t.yaml:2: invalid value '.nan' for 'import.max_delete_ratio': "
	    "expected a number from 0 to 1", "ratio nan");
	err_is("serve:\n  listen: 8000\n",
	    "t.yaml:2: invalid value '8000' for 'serve.listen': "
	    "expected HOST:PORT, such as 127.0.0.1:8000", "listen no host");
	err_is("serve:\n  listen: \"::1:8000\"\n",
	    "t.yaml:2: invalid value '::1:8000' for 'serve.listen': "
	    "expected HOST:PORT, such as 127.0.0.1:8000",
	    "listen IPv6 without brackets");
	err_is("serve:\n  listen: localhost:70000\n",
	    "t.yaml:2: invalid value 'localhost:70000' for 'serve.listen': "
	    "expected HOST:PORT, such as 127.0.0.1:8000", "listen bad port");
	err_is("data_dir: \"\"\n",
	    "t.yaml:1: invalid value '' for 'data_dir': expected a path",
	    "empty data_dir");
	err_is("hash_ignore: scraped_at\n",
	    "t.yaml:1: invalid value 'scraped_at' for 'hash_ignore': "
	    "expected a list of field names", "hash_ignore not a list");
	err_is("hash_ignore:\n  - a\n  - {b: 1}\n",
	    "t.yaml:3: invalid value for 'hash_ignore': "
	    "expected a field name, not a mapping", "hash_ignore item");
	err_is("serve: 3\n",
	    "t.yaml:1: invalid value '3' for 'serve': expected a mapping",
	    "section not a mapping");

	err_is("- a\n- b\n",
	    "t.yaml:1: expected a mapping of settings at the top, not a list",
	    "top level a list");
	err_is("hello\n",
	    "t.yaml:1: expected a mapping of settings at the top, "
	    "not a scalar", "top level a scalar");
	err_is("runs_days: 1\nruns_days: 2\n",
	    "t.yaml:2: duplicate key 'runs_days'", "duplicate key");
	err_is("serve: {threads: 2}\nserve: {listen: a:1}\n",
	    "t.yaml:2: duplicate key 'serve'", "duplicate section");
	err_is("runs_days: 1\n---\nruns_days: 2\n",
	    "t.yaml:2: more than one YAML document", "two documents");

	rc = load_str(&c, "retention_days: 5\nbogus: 1\n");
	ok(rc == SM_ECONFIG && is_default(&c) && c.path == NULL,
	    "after an error the settings are the defaults");
	sm_config_free(&c);
}

static void
test_env(void)
{
	struct sm_config c;
	char *f;
	int rc;

	f = temp_file("retention_days: 7\nkeep_snapshots: 3\n"
	    "hash_ignore: [a]\nserve:\n  listen: a:1\n");
	setenv("SM_RETENTION_DAYS", "9", 1);
	setenv("SM_HASH_IGNORE", " x,, ,y crawl id ", 1);
	setenv("SM_SERVE_LISTEN", "localhost:2", 1);
	rc = sm_config_load(&c, f);
	ok(rc == 0, "env over file: loads");
	is_str(c.path, f, "env over file: path");
	ok(c.retention_days == 9, "SM_RETENTION_DAYS overrides the file");
	ok(c.keep_snapshots == 3, "a key without a variable keeps the file's");
	ok(c.nhash_ignore == 2 && c.hash_ignore[2] == NULL,
	    "SM_HASH_IGNORE: blanks trimmed, empty items dropped");
	is_str(c.hash_ignore[0], "x", "SM_HASH_IGNORE[0]");
	is_str(c.hash_ignore[1], "y crawl id", "SM_HASH_IGNORE[1]");
	is_str(c.serve_listen, "localhost:2", "SM_SERVE_LISTEN");
	sm_config_free(&c);
	clear_env();

	setenv("SM_DATA_DIR", "~/data", 1);
	setenv("SM_KEEP_SNAPSHOTS", "2", 1);
	setenv("SM_BUSY_TIMEOUT_MS", "100", 1);
	setenv("SM_MAX_RECORD_BYTES", "1M", 1);
	setenv("SM_RUNS_DAYS", "", 1);
	setenv("SM_IMPORT_MAX_DELETE_RATIO", "0.1", 1);
	setenv("SM_SERVE_THREADS", "8", 1);
	setenv("SM_SERVE_MAX_BODY_BYTES", "1000", 1);
	setenv("SM_SERVE_ADMIN_KEY_FILE", "/k", 1);
	setenv("SM_SERVE_OPEN_REGISTRATION", "true", 1);
	rc = load_str(&c, "");
	f = path_in("data");
	ok(rc == 0, "every variable: loads");
	is_str(c.data_dir, f, "SM_DATA_DIR with ~/");
	ok(c.keep_snapshots == 2, "SM_KEEP_SNAPSHOTS");
	ok(c.busy_timeout_ms == 100, "SM_BUSY_TIMEOUT_MS");
	ok(c.max_record_bytes == 1 << 20, "SM_MAX_RECORD_BYTES");
	ok(c.runs_days == 90, "an empty SM_RUNS_DAYS is ignored");
	ok(c.import_max_delete_ratio == 0.1, "SM_IMPORT_MAX_DELETE_RATIO");
	ok(c.serve_threads == 8, "SM_SERVE_THREADS");
	ok(c.serve_max_body_bytes == 1000, "SM_SERVE_MAX_BODY_BYTES");
	is_str(c.serve_admin_key_file, "/k", "SM_SERVE_ADMIN_KEY_FILE");
	ok(c.serve_open_registration == 1, "SM_SERVE_OPEN_REGISTRATION");
	free(f);
	sm_config_free(&c);
	clear_env();

	setenv("SM_RETENTION_DAYS", "abc", 1);
	rc = load_str(&c, "keep_snapshots: 4\n");
	ok(rc == SM_ECONFIG, "bad variable: SM_ECONFIG");
	is_str(sm_errmsg(), "invalid value 'abc' for SM_RETENTION_DAYS: "
	    "expected an integer \u2265 0", "bad variable: message");
	ok(is_default(&c), "bad variable: defaults");
	sm_config_free(&c);
	clear_env();

	setenv("SM_SERVE_THREADS", "0", 1);
	rc = load_str(&c, "");
	ok(rc == SM_ECONFIG, "SM_SERVE_THREADS=0: SM_ECONFIG");
	is_str(sm_errmsg(), "invalid value '0' for SM_SERVE_THREADS: "
	    "expected an integer from 1 to 256", "SM_SERVE_THREADS=0: message");
	sm_config_free(&c);
	clear_env();

	setenv("SM_IMPORT_MAX_DELETE_RATIO", "inf", 1);
	rc = load_str(&c, "");
	ok(rc == SM_ECONFIG, "SM_IMPORT_MAX_DELETE_RATIO=inf: SM_ECONFIG");
	is_str(sm_errmsg(), "invalid value 'inf' for "
	    "SM_IMPORT_MAX_DELETE_RATIO: expected a number from 0 to 1",
	    "SM_IMPORT_MAX_DELETE_RATIO=inf: message");
	sm_config_free(&c);
	clear_env();
}

static void
test_lookup(void)
{
	struct sm_config c;
	struct sm_buf want;
	char *a, *b, *home, *xdg, *missing;
	int rc;

	sm_buf_init(&want);
	if (access("/etc/sm/config.yaml", F_OK) == 0)
		ok(1, "# skip /etc/sm/config.yaml exists");
	else {
		rc = sm_config_load(&c, NULL);
		ok(rc == 0 && c.path == NULL && is_default(&c),
		    "no file at all: defaults");
		sm_config_free(&c);
	}

	home = conf_in(".config", "runs_days: 1\n");
	rc = sm_config_load(&c, NULL);
	ok(rc == 0 && c.runs_days == 1, "~/.config/sm/config.yaml: loads");
	is_str(c.path, home, "~/.config/sm/config.yaml: path");
	sm_config_free(&c);

	xdg = conf_in("xdg", "runs_days: 2\n");
	sm_buf_addf(&want, "%s/xdg", tmp);
	setenv("XDG_CONFIG_HOME", want.data, 1);
	rc = sm_config_load(&c, NULL);
	ok(rc == 0 && c.runs_days == 2, "XDG_CONFIG_HOME: loads");
	is_str(c.path, xdg, "XDG_CONFIG_HOME over ~/.config: path");
	sm_config_free(&c);

	b = temp_file("runs_days: 3\n");
	setenv("SM_CONFIG", b, 1);
	rc = sm_config_load(&c, NULL);
	ok(rc == 0 && c.runs_days == 3, "SM_CONFIG: loads");
	is_str(c.path, b, "SM_CONFIG over XDG_CONFIG_HOME: path");
	sm_config_free(&c);

	a = temp_file("runs_days: 4\n");
	rc = sm_config_load(&c, a);
	ok(rc == 0 && c.runs_days == 4, "-c: loads");
	is_str(c.path, a, "-c over SM_CONFIG: path");
	sm_config_free(&c);

	missing = path_in("missing.yaml");
	rc = sm_config_load(&c, missing);
	ok(rc == SM_ECONFIG && c.path == NULL, "missing -c file: SM_ECONFIG");
	sm_buf_reset(&want);
	sm_buf_addf(&want, "cannot open config '%s': %s", missing,
	    strerror(ENOENT));
	is_str(sm_errmsg(), want.data, "missing -c file: message");
	sm_config_free(&c);

	setenv("SM_CONFIG", missing, 1);
	rc = sm_config_load(&c, NULL);
	ok(rc == SM_ECONFIG, "missing SM_CONFIG file: SM_ECONFIG");
	is_str(sm_errmsg(), want.data, "missing SM_CONFIG file: message");
	sm_config_free(&c);

	rc = sm_config_load(&c, tmp);
	ok(rc == SM_ECONFIG, "-c on a directory: SM_ECONFIG");
	sm_buf_reset(&want);
	sm_buf_addf(&want, "cannot read config '%s': %s", tmp,
	    strerror(EISDIR));
	is_str(sm_errmsg(), want.data, "-c on a directory: message");
	sm_config_free(&c);

	a = temp_file("retention_days: 1\nserve:\n  thread: 2\n");
	rc = sm_config_load(&c, a);
	ok(rc == SM_ECONFIG, "error in a file: SM_ECONFIG");
	sm_buf_reset(&want);
	sm_buf_addf(&want, "%s:3: unknown key 'serve.thread'", a);
	is_str(sm_errmsg(), want.data, "error in a file names the file");
	sm_config_free(&c);

	free(missing);
	sm_buf_free(&want);
	clear_env();
}

static void
test_example(void)
{
	struct sm_config c;
	int rc;

	rc = sm_config_load(&c, "../config.yaml.example");
	if (!ok(rc == 0, "config.yaml.example loads"))
		diag("%s", sm_errmsg());
	ok(is_default(&c), "config.yaml.example shows the defaults");
	sm_config_free(&c);
}

int
main(void)
{
	const char *t;

	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	snprintf(tmp, sizeof(tmp), "%s/sm-unit-config.XXXXXX", t);
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	clear_env();
	tap_plan(PLAN);
	(void)tap_no_plan_done;	/* tap.h's statics must all be used */

	test_defaults();
	test_keys();
	test_empty();
	test_errors();
	test_env();
	test_lookup();
	test_example();

	while (nmade > 0) {
		remove(made[--nmade]);
		free(made[nmade]);
	}
	rmdir(tmp);
	if (tap_n != PLAN)
		diag("planned %d tests, ran %d", PLAN, tap_n);
	return tap_exit();
}
