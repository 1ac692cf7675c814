/* See LICENSE file for copyright and license details. */
/*
 * Runs sm_json_parse() over JSONTestSuite's test_parsing directory (given
 * as argv[1]): every y_ file is accepted (or refused only because of a
 * number a double cannot hold), every n_ file is refused, no i_ file
 * crashes.  Also counts the n_ files that bare jv_parse_sized() accepts,
 * to show what the pre-scan is for.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"
#include "tap.h"

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	struct sm_buf b;
	char chunk[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	sm_buf_init(&b);
	sm_buf_grow(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sm_buf_add(&b, chunk, n);
	fclose(f);
	*len = b.len;
	return b.data;
}

static int
is_lossy(const char *reason)
{
	return strncmp(reason, "number ", 7) == 0 &&
	    strstr(reason, "cannot be stored exactly") != NULL;
}

int
main(int argc, char *argv[])
{
	struct sm_json_err err;
	struct dirent *de;
	char **names = NULL, *text;
	size_t nnames = 0, cap = 0, i, len;
	int y_ok = 0, y_lossy = 0, y_bad = 0, n_ok = 0, n_bad = 0;
	int i_acc = 0, i_rej = 0, jq_n_acc = 0, ny = 0, nn = 0, rc;
	DIR *d;
	jv v;

	if (argc != 2) {
		fprintf(stderr, "usage: unit-jsontestsuite dir\n");
		return 64;
	}
	if ((d = opendir(argv[1])) == NULL) {
		printf("1..0 # SKIP no JSONTestSuite at %s\n", argv[1]);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) < 3 || de->d_name[1] != '_' ||
		    strchr("yni", de->d_name[0]) == NULL)
			continue;
		if (nnames == cap) {
			cap = cap ? cap * 2 : 256;
			names = sm_xrealloc(names, cap * sizeof(*names));
		}
		names[nnames++] = sm_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(*names), namecmp);

	for (i = 0; i < nnames; i++) {
		if ((text = slurp(argv[1], names[i], &len)) == NULL) {
			ok(0, "%s: cannot read", names[i]);
			continue;
		}
		rc = sm_json_parse(text, len, &v, &err);
		if (rc == 0)
			jv_free(v);
		switch (names[i][0]) {
		case 'y':
			ny++;
			if (rc == 0)
				y_ok++;
			else if (is_lossy(err.reason)) {
				y_lossy++;
				diag("%s refused as lossy: %s", names[i],
				    err.reason);
			} else
				y_bad++;
			ok(rc == 0 || is_lossy(err.reason), "%s accepted%s%s",
			    names[i], rc ? ": " : "", rc ? err.reason : "");
			break;
		case 'n':
			nn++;
			if (rc == 0)
				n_ok++;
			else
				n_bad++;
			ok(rc != 0, "%s rejected%s%s", names[i],
			    rc ? ": " : "", rc ? err.reason : "");
			/*
			 * libjq 1.6 rejects this one but leaks the pending
			 * key doing so; keep valgrind runs clean.
			 */
			if (strcmp(names[i], "n_object_missing_semicolon.json")
			    == 0)
				break;
			v = jv_parse_sized(text, (int)len);
			if (jv_is_valid(v)) {
				jq_n_acc++;
				diag("%s: bare libjq accepts it", names[i]);
			}
			jv_free(v);
			break;
		default:
			if (rc == 0) {
				i_acc++;
				diag("%s: accepted", names[i]);
			} else {
				i_rej++;
				diag("%s: rejected: %s", names[i], err.reason);
			}
			ok(1, "%s does not crash", names[i]);
		}
		free(text);
		free(names[i]);
	}
	free(names);
	diag("y_: %d accepted, %d refused as lossy, %d refused otherwise "
	    "(of %d)", y_ok, y_lossy, y_bad, ny);
	diag("n_: %d rejected, %d accepted (of %d)", n_bad, n_ok, nn);
	diag("i_: %d accepted, %d rejected", i_acc, i_rej);
	diag("bare jv_parse_sized accepts %d of the %d n_ cases", jq_n_acc, nn);
	ok(nnames > 0, "the suite has cases (%zu)", nnames);
	tap_no_plan_done();
	return tap_exit();
}
