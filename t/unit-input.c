/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sm.h"
#include "sm-private.h"
#include "tap.h"

static char dir[1024];
static char **made;
static size_t nmade;

/* Writes n bytes to a new file named name in the scratch directory. */
static char *
put(const char *name, const void *p, size_t n)
{
	char path[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, n, f) != n ||
	    fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	made = realloc(made, (nmade + 1) * sizeof(*made));
	made[nmade] = strdup(path);
	return made[nmade++];
}

static char *
puts_file(const char *name, const char *s)
{
	return put(name, s, strlen(s));
}

/* The base name, so that expectations do not depend on the directory. */
static const char *
base(const char *path)
{
	const char *p = strrchr(path, '/');

	return p != NULL ? p + 1 : path;
}

/*
 * Reads every record of files into out, one "FILE:LINE:TEXT" line each
 * ("!" before TEXT when over-long, "ERR(reason):" before it for a
 * record with an error, "ERR rc: message" for errors, the scratch
 * directory left out of the message).
 */
static int
collect(char **files, size_t n, size_t max, FILE *spill, struct sm_buf *out)
{
	struct sm_input *in;
	struct sm_rawrec rec;
	const char *msg;
	int rc;

	sm_buf_reset(out);
	if ((rc = sm_input_open(&in, files, n, max, spill)) != 0) {
		sm_buf_addf(out, "ERR %d: %s\n", rc, sm_errmsg());
		return rc;
	}
	while ((rc = sm_input_next(in, &rec)) != 0) {
		if (rc < 0) {
			msg = sm_errmsg();
			if (strncmp(msg, dir, strlen(dir)) == 0 &&
			    msg[strlen(dir)] == '/')
				msg += strlen(dir) + 1;
			sm_buf_addf(out, "ERR %d: %s\n", rc, msg);
			continue;
		}
		sm_buf_addf(out, "%s:%zu:%s", base(rec.file), rec.line,
		    rec.overlong ? "!" : "");
		if (rec.error != NULL)
			sm_buf_addf(out, "ERR(%s):", rec.error);
		sm_buf_add(out, rec.text, rec.len);
		sm_buf_addc(out, '\n');
	}
	sm_input_close(in);
	return 0;
}

static char *
slurp(const char *path, size_t *n)
{
	static char buf[65536];
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	*n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*n] = '\0';
	fclose(f);
	return buf;
}

static void
test_ndjson(struct sm_buf *out)
{
	char *f[1];

	f[0] = puts_file("lf.ndjson", "{\"a\":1}\n{\"a\":2}\n\n   \n{\"a\":3}");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "lf.ndjson:1:{\"a\":1}\nlf.ndjson:2:{\"a\":2}\n"
	    "lf.ndjson:5:{\"a\":3}\n", "NDJSON with LF, blank lines, no "
	    "final newline");

	f[0] = puts_file("crlf.ndjson",
	    "{\"a\":1}\r\n\r\n \t\r\n{\"a\":2}\r\n{\"a\":3}\r\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "crlf.ndjson:1:{\"a\":1}\ncrlf.ndjson:4:{\"a\":2}\n"
	    "crlf.ndjson:5:{\"a\":3}\n", "NDJSON with CRLF");

	f[0] = puts_file("bom.ndjson", "\xef\xbb\xbf{\"a\":1}\n{\"a\":2}\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "bom.ndjson:1:{\"a\":1}\nbom.ndjson:2:{\"a\":2}\n",
	    "BOM skipped");

	f[0] = puts_file("lead.ndjson", "\n\n  {\"a\":1}\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "lead.ndjson:3:{\"a\":1}\n",
	    "leading blank lines counted, leading spaces left out");

	f[0] = puts_file("empty.ndjson", "");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "", "empty file: no record");

	f[0] = puts_file("ws.ndjson", "\xef\xbb\xbf \n\r\n\t");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "", "whitespace-only file: no record");
}

static void
test_array(struct sm_buf *out)
{
	char *f[1];

	f[0] = puts_file("a.json", "[{\"a\":1},{\"a\":2}, 3 ,\"x\"]");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "a.json:1:{\"a\":1}\na.json:1:{\"a\":2}\n"
	    "a.json:1:3\na.json:1:\"x\"\n", "one-line array");

	f[0] = puts_file("pretty.json", "\xef\xbb\xbf\n[\n  {\n    \"a\": 1,\n"
	    "    \"b\": [1, 2]\n  },\n  {\"a\": 2}\r\n,\n\n  {\"a\":\n3}\n"
	    "]\n\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "pretty.json:3:{\n    \"a\": 1,\n    \"b\": [1, 2]\n"
	    "  }\npretty.json:7:{\"a\": 2}\npretty.json:10:{\"a\":\n3}\n",
	    "pretty array after a BOM: element line numbers");

	f[0] = puts_file("str.json", "[{\"s\":\"a]b}c,d[\"},"
	    "{\"s\":\"q\\\"],\\\\\"},{\"s\":\"\\\\\"}]");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "str.json:1:{\"s\":\"a]b}c,d[\"}\n"
	    "str.json:1:{\"s\":\"q\\\"],\\\\\"}\nstr.json:1:{\"s\":\"\\\\\"}\n",
	    "brackets, commas, escaped quotes inside strings");

	f[0] = puts_file("emptyarr.json", "  [ ]  \n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "", "empty array: no record");

	f[0] = puts_file("nested.json", "[[1,[2]],{\"a\":{\"b\":[]}}]");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "nested.json:1:[1,[2]]\n"
	    "nested.json:1:{\"a\":{\"b\":[]}}\n", "nested elements");
}

/* Texts separated by whitespace, and what the reader does when they break. */
static void
test_resync(struct sm_buf *out)
{
	char *f[1];

	f[0] = puts_file("jq.json", "{\n  \"id\": 1,\n  \"a\": [\n    1,\n"
	    "    2\n  ]\n}\n{\n  \"id\": 2\n}\n{\"id\":3}{\"id\":4}\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "jq.json:1:{\n  \"id\": 1,\n  \"a\": [\n    1,\n"
	    "    2\n  ]\n}\njq.json:8:{\n  \"id\": 2\n}\njq.json:11:{\"id\":3}\n"
	    "jq.json:11:{\"id\":4}\n", "jq's default output: one record a "
	    "text, at the line where it starts");

	f[0] = puts_file("trunc.ndjson", "{\"id\":1}\n{\"id\":2,\"a\":\n"
	    "{\"id\":3}\n{\"id\":4,\"s\":\"x\n{\"id\":5}\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "trunc.ndjson:1:{\"id\":1}\n"
	    "trunc.ndjson:2:ERR(invalid JSON: the record is not closed before line 3):"
	    "{\"id\":2,\"a\":\ntrunc.ndjson:3:{\"id\":3}\n"
	    "trunc.ndjson:4:ERR(invalid JSON: unterminated string):"
	    "{\"id\":4,\"s\":\"x\ntrunc.ndjson:5:{\"id\":5}\n",
	    "truncated NDJSON lines: each rejected alone");

	f[0] = puts_file("pretty.json", "[\n  {\n    \"id\": 1,\n    \"s\": "
	    "\"x\n  },\n  {\n    \"id\": 2\n  }\n]\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "pretty.json:2:ERR(invalid JSON: unterminated string at "
	    "line 4 (lines 2-5, 32 bytes, rejected up to the next record)):"
	    "{\n    \"id\": 1,\n    \"s\": \"x\n  },\n"
	    "pretty.json:6:{\n    \"id\": 2\n  }\n",
	    "a broken element of a jq-printed array: up to the next element");

	f[0] = puts_file("nested.json", "[\n  {\n    \"id\": 1,\n    \"o\": "
	    "\"x\n    {\"id\": 9}\n  }\n]\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "nested.json:2:ERR(invalid JSON: unterminated string at "
	    "line 4 (lines 2-7, 47 bytes, rejected up to the end of the "
	    "input)):{\n    \"id\": 1,\n    \"o\": \"x\n    {\"id\": 9}\n  }\n]\n",
	    "a '{' further right does not end it; nor does a ']'");

	f[0] = puts_file("rest.json", "{\"id\":1,\n  \"a\": [1,\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "rest.json:1:ERR(invalid JSON: unexpected end "
	    "of input (lines 1-2, 20 bytes, rejected up to the "
	    "end of the input)):{\"id\":1,\n  \"a\": [1,\n",
	    "an unclosed record: the rest of the input, with its span");
}

static void
test_files(struct sm_buf *out)
{
	char *f[3];

	f[0] = puts_file("one.ndjson", "{\"n\":1}\n{\"n\":2}\n");
	f[1] = puts_file("two.json", "[{\"n\":3},\n{\"n\":4}]");
	f[2] = puts_file("three.ndjson", "\n{\"n\":5}\n");
	collect(f, 3, 1024, NULL, out);
	is_str(out->data, "one.ndjson:1:{\"n\":1}\none.ndjson:2:{\"n\":2}\n"
	    "two.json:1:{\"n\":3}\ntwo.json:2:{\"n\":4}\n"
	    "three.ndjson:2:{\"n\":5}\n", "several files in order");
}

static void
test_overlong(struct sm_buf *out)
{
	struct sm_buf want, line;
	char spath[2048], *f[1], *got;
	FILE *spill;
	size_t i, n;

	sm_buf_init(&want);
	sm_buf_init(&line);
	sm_buf_adds(&line, "{\"long\":\"");
	for (i = 0; i < 200; i++)
		sm_buf_addc(&line, 'a' + i % 26);
	sm_buf_adds(&line, "\"}");
	sm_buf_addf(&want, "{\"a\":1}\r\n%s\r\n{\"a\":2}\n%s", line.data,
	    line.data);
	f[0] = puts_file("long.ndjson", want.data);
	snprintf(spath, sizeof(spath), "%s/spill", dir);
	if ((spill = fopen(spath, "w+b")) == NULL) {
		perror(spath);
		exit(2);
	}
	collect(f, 1, 64, spill, out);
	fclose(spill);
	sm_buf_reset(&want);
	sm_buf_addf(&want, "long.ndjson:1:{\"a\":1}\nlong.ndjson:2:!%.64s\n"
	    "long.ndjson:3:{\"a\":2}\nlong.ndjson:4:!%.64s\n", line.data,
	    line.data);
	is_str(out->data, want.data, "over-long lines: flagged, a prefix of "
	    "max bytes, next record and line numbers right");
	got = slurp(spath, &n);
	sm_buf_reset(&want);
	sm_buf_addf(&want, "%s\n%s\n", line.data, line.data);
	is_str(got, want.data, "spill gets the exact raw lines");

	/* Lines longer than the read buffer: they straddle reads. */
	sm_buf_reset(&want);
	sm_buf_reset(&line);
	for (i = 0; i < 200000; i++)
		sm_buf_addc(&line, '0' + i % 10);
	sm_buf_addf(&want, "%s\r\n{\"b\":1}\n[%s]\n", line.data, line.data);
	f[0] = put("huge.ndjson", want.data, want.len);
	if ((spill = fopen(spath, "w+b")) == NULL) {
		perror(spath);
		exit(2);
	}
	collect(f, 1, 100, spill, out);
	fflush(spill);
	n = (size_t)ftell(spill);
	fclose(spill);
	sm_buf_reset(&want);
	sm_buf_addf(&want, "huge.ndjson:1:!%.100s\nhuge.ndjson:2:{\"b\":1}\n"
	    "huge.ndjson:3:!%.100s\n", line.data, line.data);
	is_str(out->data, want.data, "over-long lines beyond the read buffer");
	ok(n == 2 * 200000 + 2, "spill holds the line and the element whole "
	    "(%zu)", n);

	/* The same lines kept whole with a larger max. */
	collect(f, 1, 300000, NULL, out);
	ok(out->len == 2 * (200000 + 15) + 22,
	    "lines beyond the read buffer kept whole (%zu)", out->len);

	/* An over-long element of an array. */
	sm_buf_reset(&want);
	sm_buf_addf(&want, "[{\"a\":1},\n{\"x\":\"%.100s\"},\n{\"a\":2}]",
	    line.data);
	f[0] = put("longarr.json", want.data, want.len);
	if ((spill = fopen(spath, "w+b")) == NULL) {
		perror(spath);
		exit(2);
	}
	collect(f, 1, 64, spill, out);
	fclose(spill);
	sm_buf_reset(&want);
	sm_buf_addf(&want, "longarr.json:1:{\"a\":1}\n"
	    "longarr.json:2:!{\"x\":\"%.58s\nlongarr.json:3:{\"a\":2}\n",
	    line.data);
	is_str(out->data, want.data, "over-long array element");
	got = slurp(spath, &n);
	sm_buf_reset(&want);
	sm_buf_addf(&want, "{\"x\":\"%.100s\"}\n", line.data);
	is_str(got, want.data, "spill gets the raw element");

	/* Exactly max bytes, with CRLF: not over-long. */
	f[0] = puts_file("exact.ndjson",
	    "{\"a\":\"123\"}\r\n{\"a\":\"1234\"}\r\n");
	collect(f, 1, 11, NULL, out);
	is_str(out->data, "exact.ndjson:1:{\"a\":\"123\"}\n"
	    "exact.ndjson:2:!{\"a\":\"1234\"\n", "max counts without the CR");

	sm_buf_free(&want);
	sm_buf_free(&line);
}

static void
test_nul(void)
{
	static const char data[] = "{\"a\":\"x\0y\"}\n{\"b\":2}\n";
	struct sm_input *in;
	struct sm_rawrec rec;
	char *f[1];

	f[0] = put("nul.ndjson", data, sizeof(data) - 1);
	if (sm_input_open(&in, f, 1, 1024, NULL) != 0) {
		ok(0, "open nul.ndjson: %s", sm_errmsg());
		return;
	}
	ok(sm_input_next(in, &rec) == 1 && rec.len == 11 &&
	    memcmp(rec.text, "{\"a\":\"x\0y\"}", 11) == 0,
	    "NUL byte inside a line preserved");
	ok(sm_input_next(in, &rec) == 1 && rec.line == 2 && rec.len == 7,
	    "record after the NUL line");
	ok(sm_input_next(in, &rec) == 0, "then the end");
	sm_input_close(in);
}

static void
test_errors(struct sm_buf *out)
{
	struct sm_input *in;
	char *f[4], missing[2048];
	int rc;

	f[0] = puts_file("unterm.json", "[{\"a\":1},\n{\"a\":2\n");
	f[1] = puts_file("next.ndjson", "{\"a\":3}\n");
	collect(f, 2, 1024, NULL, out);
	is_str(out->data, "unterm.json:1:{\"a\":1}\n"
	    "unterm.json:2:ERR(unexpected end of file: the array opened at "
	    "line 1 is not closed):{\"a\":2\nnext.ndjson:1:{\"a\":3}\n",
	    "unterminated array: the open element rejected whole, then the "
	    "next file");

	f[0] = puts_file("junk.json", "[{\"a\":1}\n {\"a\":2}, {\"a\":3}]");
	collect(f, 2, 1024, NULL, out);
	is_str(out->data, "junk.json:1:{\"a\":1}\n"
	    "junk.json:2:ERR(expected ',' before this array element):"
	    "{\"a\":2}\njunk.json:2:{\"a\":3}\nnext.ndjson:1:{\"a\":3}\n",
	    "a missing ',': that element rejected, the next ones read");

	f[0] = puts_file("after.json", "[{\"a\":1}]\n[{\"a\":2}] {\"a\":3}\n"
	    "x y\n");
	collect(f, 2, 1024, NULL, out);
	is_str(out->data, "after.json:1:{\"a\":1}\nafter.json:2:{\"a\":2}\n"
	    "after.json:2:{\"a\":3}\nafter.json:3:x y\n"
	    "next.ndjson:1:{\"a\":3}\n", "texts after the array: read as "
	    "jq reads them, junk handed on for the parser to reject");

	f[0] = puts_file("comma.json", "[{\"a\":1},,{\"a\":2},]");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "comma.json:1:{\"a\":1}\n"
	    "comma.json:1:ERR(expected an array element, not ','):\n"
	    "comma.json:1:{\"a\":2}\n"
	    "comma.json:1:ERR(expected an array element, not ']'):\n",
	    "doubled and trailing comma: faults of their own");

	f[0] = puts_file("stray.json", "[{\"a\":1}},{\"a\":2}]");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "stray.json:1:{\"a\":1}\n"
	    "stray.json:1:ERR(expected ',' or ']' after an array element, "
	    "not '}'):\nstray.json:1:{\"a\":2}\n", "a stray '}'");

	f[0] = puts_file("open.json", "[{\"a\":1},\n");
	collect(f, 1, 1024, NULL, out);
	is_str(out->data, "open.json:1:{\"a\":1}\n"
	    "open.json:2:ERR(unexpected end of file: the array opened at "
	    "line 1 is not closed):\n", "an array not closed after an "
	    "element");
	f[0] = puts_file("ok.ndjson", "{}\n");
	snprintf(missing, sizeof(missing), "%s/missing.ndjson", dir);
	f[1] = missing;
	in = (struct sm_input *)1;
	rc = sm_input_open(&in, f, 2, 1024, NULL);
	ok(rc == SM_ENOENT && in == NULL, "missing file: SM_ENOENT at open");
	ok(strstr(sm_errmsg(), "cannot open '") == sm_errmsg() &&
	    strstr(sm_errmsg(), "missing.ndjson': No such file or directory")
	    != NULL, "message: %s", sm_errmsg());

	f[1] = dir;
	rc = sm_input_open(&in, f, 2, 1024, NULL);
	ok(rc == SM_ENOENT && strstr(sm_errmsg(), "Is a directory") != NULL,
	    "directory refused at open: %s", sm_errmsg());
}

static void
test_large(void)
{
	struct sm_input *in;
	struct sm_rawrec rec;
	struct sm_buf b;
	uint64_t done;
	int64_t total;
	size_t i, n = 200000, count = 0, bad = 0;
	char *f[1];
	int rc;

	sm_buf_init(&b);
	for (i = 0; i < n; i++)
		sm_buf_addf(&b, "{\"external_id\":\"%zu\",\"price\":%zu}\n",
		    i, i * 3);
	f[0] = put("large.ndjson", b.data, b.len);
	if (sm_input_open(&in, f, 1, 1024, NULL) != 0) {
		ok(0, "open large.ndjson: %s", sm_errmsg());
		sm_buf_free(&b);
		return;
	}
	sm_input_progress(in, &done, &total);
	ok(done == 0 && total == (int64_t)b.len, "progress: total known");
	while ((rc = sm_input_next(in, &rec)) == 1) {
		if (rec.line != count + 1 || rec.overlong ||
		    rec.text[rec.len - 1] != '}')
			bad++;
		count++;
	}
	ok(rc == 0 && count == n && bad == 0, "200000 records read (%zu, "
	    "%zu bad)", count, bad);
	sm_input_progress(in, &done, &total);
	ok(done == b.len, "progress: all consumed");
	sm_input_close(in);
	sm_buf_free(&b);
}

static void
test_bigarray(void)
{
	struct sm_input *in;
	struct sm_rawrec rec;
	struct sm_buf b;
	size_t i, n = 20000, count = 0, bad = 0;
	char *f[1], want[64];
	int rc;

	sm_buf_init(&b);
	sm_buf_adds(&b, "[\n");
	for (i = 0; i < n; i++)
		sm_buf_addf(&b, "%s{\"id\": %zu, \"s\": \"]},[\\\"\"}\n",
		    i ? "," : " ", i);
	sm_buf_adds(&b, "]\n");
	f[0] = put("bigarray.json", b.data, b.len);
	if (sm_input_open(&in, f, 1, 1024, NULL) != 0) {
		ok(0, "open bigarray.json: %s", sm_errmsg());
		sm_buf_free(&b);
		return;
	}
	while ((rc = sm_input_next(in, &rec)) == 1) {
		snprintf(want, sizeof(want),
		    "{\"id\": %zu, \"s\": \"]},[\\\"\"}", count);
		if (rec.line != count + 2 || rec.len != strlen(want) ||
		    memcmp(rec.text, want, rec.len) != 0)
			bad++;
		count++;
	}
	ok(rc == 0 && count == n && bad == 0, "array of %zu elements over "
	    "many reads (%zu read, %zu bad)", n, count, bad);
	sm_input_close(in);
	sm_buf_free(&b);
}

static void
test_manyfiles(struct sm_buf *out)
{
	struct sm_buf want;
	char *f[100], name[32], text[64];
	uint64_t done;
	int64_t total, size = 0;
	struct sm_input *in;
	size_t i;

	sm_buf_init(&want);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "many%03zu.ndjson", i);
		snprintf(text, sizeof(text), "{\"n\":%zu}\n", i);
		f[i] = puts_file(name, text);
		size += (int64_t)strlen(text);
		sm_buf_addf(&want, "%s:1:{\"n\":%zu}\n", name, i);
	}
	if (sm_input_open(&in, f, 100, 1024, NULL) == 0) {
		sm_input_progress(in, &done, &total);
		ok(total == size, "progress: total of 100 files");
		sm_input_close(in);
	} else
		ok(0, "open 100 files: %s", sm_errmsg());
	collect(f, 100, 1024, NULL, out);
	is_str(out->data, want.data, "100 files (more than kept open)");
	sm_buf_free(&want);
}

static void
test_pipe(struct sm_buf *out)
{
	static const char data[] = "\xef\xbb\xbf [{\"a\":1},\r\n{\"a\":2}]";
	struct sm_input *in;
	uint64_t done;
	int64_t total;
	struct timespec ms = { 0, 1000000 };
	int fd[2], saved;
	size_t i;
	pid_t pid;

	fflush(stdout);
	if (pipe(fd) == -1 || (pid = fork()) == -1) {
		perror("pipe");
		exit(2);
	}
	if (pid == 0) {
		close(fd[0]);
		for (i = 0; i < sizeof(data) - 1; i++) {
			if (write(fd[1], data + i, 1) != 1)
				_exit(1);
			nanosleep(&ms, NULL);
		}
		_exit(0);
	}
	close(fd[1]);
	saved = dup(STDIN_FILENO);
	dup2(fd[0], STDIN_FILENO);
	close(fd[0]);
	if (sm_input_open(&in, NULL, 0, 1024, NULL) == 0) {
		sm_input_progress(in, &done, &total);
		ok(total == -1, "progress: no total for a pipe");
		sm_input_close(in);
	} else
		ok(0, "open stdin: %s", sm_errmsg());
	collect(NULL, 0, 1024, NULL, out);
	is_str(out->data, "-:1:{\"a\":1}\n-:2:{\"a\":2}\n",
	    "array from a pipe, one byte a write, BOM first");
	waitpid(pid, NULL, 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void
test_eintr(void)
{
	struct timespec nap = { 0, 200000000 };
	struct sm_input *in;
	struct sm_rawrec rec;
	int fd[2], saved, rc1, rc2;
	pid_t pid;

	fflush(stdout);
	if (pipe(fd) == -1 || (pid = fork()) == -1) {
		perror("pipe");
		exit(2);
	}
	if (pid == 0) {
		close(fd[0]);
		nanosleep(&nap, NULL);
		kill(getppid(), SIGINT);
		nanosleep(&nap, NULL);
		if (write(fd[1], "{\"a\":1}\n", 8) != 8)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	saved = dup(STDIN_FILENO);
	dup2(fd[0], STDIN_FILENO);
	close(fd[0]);
	sm_signals_catch();
	if (sm_input_open(&in, NULL, 0, 1024, NULL) != 0) {
		ok(0, "open stdin: %s", sm_errmsg());
		ok(0, "after the signal");
	} else {
		rc1 = sm_input_next(in, &rec);
		ok(rc1 == SM_EINTR && sm_interrupted(),
		    "a caught signal during a read: SM_EINTR (%d)", rc1);
		rc2 = sm_input_next(in, &rec);
		ok(rc2 == 1 && rec.line == 1 && rec.len == 7,
		    "the next call reads on (%d)", rc2);
		sm_input_close(in);
	}
	waitpid(pid, NULL, 0);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void
test_stdin(struct sm_buf *out)
{
	char *f[1];
	FILE *fp;

	f[0] = puts_file("stdin.ndjson", "{\"s\":1}\n");
	if ((fp = freopen(f[0], "rb", stdin)) == NULL) {
		perror(f[0]);
		exit(2);
	}
	collect(NULL, 0, 1024, NULL, out);
	is_str(out->data, "-:1:{\"s\":1}\n", "no operands: stdin, named '-'");
}

int
main(void)
{
	struct sm_buf out;
	const char *tmp;
	size_t i;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/sm-unit-input.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 2;
	}
	(void)tap_no_plan_done;	/* tap.h helpers are static */
	tap_plan(48);
	sm_buf_init(&out);
	test_ndjson(&out);
	test_array(&out);
	test_resync(&out);
	test_files(&out);
	test_overlong(&out);
	test_nul();
	test_errors(&out);
	test_large();
	test_bigarray();
	test_manyfiles(&out);
	test_pipe(&out);
	test_stdin(&out);
	test_eintr();
	sm_buf_free(&out);
	for (i = 0; i < nmade; i++) {
		unlink(made[i]);
		free(made[i]);
	}
	free(made);
	{
		char spath[2048];

		snprintf(spath, sizeof(spath), "%s/spill", dir);
		unlink(spath);
	}
	rmdir(dir);
	return tap_exit();
}
