/* See LICENSE file for copyright and license details. */
/*
 * A libFuzzer target over the record layer: the strict pre-scan and the
 * parser, the canonical form and hash, the key, and the input loop over
 * a file holding the bytes.  Besides crashes and sanitizer reports it
 * checks properties that must always hold (a failed one aborts):
 *
 *	- what sm_json_check() passes, libjq parses (sm_json_parse agrees);
 *	- the canonical form is valid JSON and a fixed point: parsing and
 *	  printing it again gives the same bytes and the same hash;
 *	- the hash with ignored fields equals the hash of the record with
 *	  those fields deleted;
 *	- the input loop never returns a record longer than its maximum,
 *	  and a record that is not over-long is a line (no newline inside)
 *	  in NDJSON mode.
 *
 * Built and run by "make fuzz".
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "sm.h"
#include "sm-private.h"

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz-record: %s:%d: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

static char path[64];
static int fd = -1;
static FILE *devnull;

static const char *const ignore[] = { "id", "b", "scraped_at" };

/* Canonical form and hash of v; checks the properties above.  Consumes v. */
static void
record(jv v)
{
	struct sm_buf data, again, key, plain;
	struct sm_json_err err;
	char hash[SM_HASH_HEX], hash2[SM_HASH_HEX], hash3[SM_HASH_HEX];
	jv w, stripped;
	size_t i;
	int rc;

	sm_buf_init(&data);
	sm_buf_init(&again);
	sm_buf_init(&key);
	sm_buf_init(&plain);
	(void)sm_rec_key(v, "ref", &key);
	rc = sm_rec_digest(v, ignore, 3, &data, hash);
	if (rc == 0) {
		CHECK(strlen(hash) == 32);
		CHECK(sm_json_check(data.data, data.len, &err) == 0);
		CHECK(sm_json_parse(data.data, data.len, &w, &err) == 0);
		CHECK(sm_rec_digest(w, ignore, 3, &again, hash2) == 0);
		CHECK(again.len == data.len &&
		    memcmp(again.data, data.data, data.len) == 0);
		CHECK(strcmp(hash, hash2) == 0);
		/* The ignored members left out by hand hash the same. */
		stripped = jv_copy(w);
		if (jv_get_kind(stripped) == JV_KIND_OBJECT)
			for (i = 0; i < 3; i++)
				stripped = jv_object_delete(stripped,
				    jv_string(ignore[i]));
		CHECK(sm_canon(stripped, NULL, 0, &plain) == 0);
		sm_hash_hex(plain.data, plain.len, hash3);
		CHECK(strcmp(hash, hash3) == 0);
		jv_free(stripped);
		jv_free(w);
	}
	jv_free(v);
	sm_buf_free(&data);
	sm_buf_free(&again);
	sm_buf_free(&key);
	sm_buf_free(&plain);
}

/* Reads the bytes as an input file with record limit max. */
static void
input(const uint8_t *p, size_t n, size_t max)
{
	struct sm_input *in;
	struct sm_rawrec rec;
	struct sm_json_err err;
	char *files[1] = { path };
	jv v;
	int rc;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, p, n, 0) != (ssize_t)n)
		abort();
	CHECK(sm_input_open(&in, files, 1, max, devnull) == 0);
	/* A regular file is never given up on: only records come back. */
	while ((rc = sm_input_next(in, &rec)) != 0) {
		CHECK(rc == 1);
		CHECK(rec.text != NULL && rec.len <= max && rec.line >= 1);
		/* Only a fault between records is empty, and it says why. */
		CHECK(rec.len > 0 || rec.error != NULL);
		if (rec.overlong || rec.error != NULL)
			continue;
		if (sm_json_parse(rec.text, rec.len, &v, &err) == 0)
			record(v);
	}
	sm_input_close(in);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* In memory when we can: a file on disk makes this 15 times slower. */
	snprintf(path, sizeof(path), "/dev/shm/sm-fuzz.XXXXXX");
	if ((fd = mkstemp(path)) == -1) {
		snprintf(path, sizeof(path), "/tmp/sm-fuzz.XXXXXX");
		fd = mkstemp(path);
	}
	if (fd == -1 || (devnull = fopen("/dev/null", "w")) == NULL) {
		perror("fuzz-record");
		exit(1);
	}
	unlink(path);
	/* The file is opened again by name: a name that stays. */
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct sm_json_err err;
	jv v;
	int checked, parsed;

	checked = sm_json_check((const char *)p, n, &err) == 0;
	if (!checked)
		CHECK(err.offset <= n && err.reason[0] != '\0');
	parsed = sm_json_parse((const char *)p, n, &v, &err) == 0;
	/* libjq must read whatever the check lets through. */
	CHECK(parsed == checked);
	if (parsed)
		record(v);
	input(p, n, 16 * 1024 * 1024);
	input(p, n, 1 + n % 64);
	return 0;
}
