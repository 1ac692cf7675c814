/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jv.h>

#include "sm.h"
#include "tap.h"

/* Collects the outputs, compact and sorted, one line each. */
static int
collect(jv out, void *arg)
{
	struct sm_buf *b = arg;
	jv s;

	s = jv_dump_string(out, JV_PRINT_SORTED);
	sm_buf_adds(b, jv_string_value(s));
	sm_buf_addc(b, '\n');
	jv_free(s);
	return 0;
}

/* Stops the run after the first output. */
static int
stop(jv out, void *arg)
{
	int *n = arg;

	jv_free(out);
	++*n;
	return SM_EINTR;
}

/*
 * Compiles prog and runs it on the JSON text in; returns the outputs in
 * out, or "ERR rc: message".
 */
static int
run(const char *prog, const char *in, struct sm_buf *out)
{
	struct sm_map *m;
	int rc;

	sm_buf_reset(out);
	if ((rc = sm_map_new(&m, prog)) != 0) {
		sm_buf_addf(out, "ERR %d: %s", rc, sm_errmsg());
		return rc;
	}
	if ((rc = sm_map_run(m, jv_parse(in), collect, out)) != 0)
		sm_buf_addf(out, "ERR %d: %s", rc, sm_errmsg());
	sm_map_free(m);
	return rc;
}

/* The token scan: 1 refused, 0 allowed. */
static const struct {
	int refused;
	const char *prog;
} scans[] = {
	{ 1, "include \"x\"; ." },
	{ 1, "import \"x\" as x; ." },
	{ 1, "env" },
	{ 1, ". + {e: env.HOME}" },
	{ 1, "$ENV" },
	{ 1, "$ ENV.PATH" },
	{ 1, "$ # comment\n ENV" },
	{ 1, "input" },
	{ 1, "[inputs]" },
	{ 1, "input_filename" },
	{ 1, "debug" },
	{ 1, "stderr" },
	{ 1, "\"x\" | modulemeta" },
	{ 1, "get_search_list" },
	{ 1, "\"\\(env)\"" },
	{ 1, "\"a\\(\"b\\(input)\")\"" },
	{ 1, "@text \"\\(env)\"" },
	{ 1, "{(env | tostring): 1}" },
	{ 1, "{a: env}" },
	{ 1, "{a: 1, b: .x | env}" },
	{ 1, "{\"k\\(env)\": 1}" },
	{ 1, "def f: env; f" },
	{ 1, "x::y" },
	{ 1, "1.env" },
	{ 1, "..env" },
	{ 0, "." },
	{ 0, ".env" },
	{ 0, ".input | .debug" },
	{ 0, "{env: 1, input: 2, import: 3}" },
	{ 0, "{env}" },
	{ 0, "{a: 1, env}" },
	{ 0, "\"env input debug $ENV\"" },
	{ 0, "\"\\\"env\\\"\"" },
	{ 0, ". # env input $ENV\n" },
	{ 0, ". as $env | $env" },
	{ 0, "$__loc__" },
	{ 0, "@base64" },
	{ 0, ".\"env\"" },
	{ 0, "environment" },
	{ 0, "{a: .b} | .envelope" },
};
#define NSCAN	(int)(sizeof(scans) / sizeof(scans[0]))

int
main(void)
{
	struct sm_buf out;
	struct sm_map *m;
	int rc, n, i, bad;

	(void)tap_no_plan_done;	/* tap.h helpers are static */
	tap_plan(15 + 2 + NSCAN);
	sm_buf_init(&out);

	run(".", "{\"b\":1,\"a\":[1,2]}", &out);
	is_str(out.data, "{\"a\":[1,2],\"b\":1}\n", "identity");

	run("{external_id: .ref, price}", "{\"ref\":\"X7\",\"price\":5,"
	    "\"junk\":true}", &out);
	is_str(out.data, "{\"external_id\":\"X7\",\"price\":5}\n", "rename");

	run("select(.price > 100)", "{\"price\":50}", &out);
	is_str(out.data, "", "filter: no output");
	run("select(.price > 100)", "{\"price\":150}", &out);
	is_str(out.data, "{\"price\":150}\n", "filter: one output");

	run(".city as $c | .items[] | {external_id: .id, city: $c}",
	    "{\"city\":\"Oslo\",\"items\":[{\"id\":1},{\"id\":2},"
	    "{\"id\":3}]}", &out);
	is_str(out.data, "{\"city\":\"Oslo\",\"external_id\":1}\n"
	    "{\"city\":\"Oslo\",\"external_id\":2}\n"
	    "{\"city\":\"Oslo\",\"external_id\":3}\n", "explode");

	rc = run("error(\"boom\")", "{}", &out);
	ok(rc == SM_EDATA, "error(): SM_EDATA");
	is_str(out.data, "ERR -65: jq: error: boom", "error(): message");

	rc = run(".a.b", "5", &out);
	is_str(out.data, "ERR -65: jq: error: Cannot index number with string "
	    "\"a\"",
	    "index a number: SM_EDATA with message");

	run("1, 2, error({\"why\": \"x\"}), 3", "null", &out);
	is_str(out.data, "1\n2\nERR -65: jq: error (not a string): "
	    "{\"why\":\"x\"}", "outputs before an error stay; "
	    "non-string message dumped");

	run("if .a then \"bad \\(.a)\" | halt_error else . end", "{\"a\":7}",
	    &out);
	is_str(out.data, "ERR -65: jq: error: bad 7", "halt_error rejects");
	/* Contract changed: halt and error(null) no longer drop quietly. */
	run("., halt, 2", "{\"a\":1}", &out);
	is_str(out.data, "{\"a\":1}\nERR -65: jq: error: a map cannot halt",
	    "halt rejects");
	run("1, error(null), 2", "{}", &out);
	is_str(out.data, "1\nERR -65: jq: error (not a string): null",
	    "error(null) rejects");
	run("[try error(null) catch .]", "{}", &out);
	is_str(out.data, "[\"null (null)\"]\n", "error(null) can be caught");

	rc = run(".a | %%", "{}", &out);
	is_str(out.data, "ERR -78: jq: error: syntax error, unexpected '%' "
	    "(Unix shell quoting issues?) at <top-level>, line 1",
	    "syntax error: SM_ECONFIG with jq's message");
	run("{a: $nope, b: nosuch(1)}", "{}", &out);
	is_str(out.data, "ERR -78: jq: error: $nope is not defined at "
	    "<top-level>, line 1; jq: error: nosuch/1 is not defined at "
	    "<top-level>, line 1", "undefined names: every message");

	/* One program over many records; emit stopping the run. */
	bad = 0;
	if (sm_map_new(&m, "if .n % 3 == 0 then error(\"three\") else "
	    "range(.n) end") != 0) {
		ok(0, "compile: %s", sm_errmsg());
		ok(0, "stop");
	} else {
		for (i = 0; i < 3000; i++) {
			sm_buf_reset(&out);
			rc = sm_map_run(m, jv_object_set(jv_object(),
			    jv_string("n"), jv_number(i % 5)), collect, &out);
			if (i % 5 % 3 == 0 ? rc != SM_EDATA :
			    rc != 0 || (int)(out.len / 2) != i % 5)
				bad++;
		}
		ok(bad == 0, "3000 runs of one program, errors and all "
		    "(%d bad)", bad);
		n = 0;
		rc = sm_map_run(m, jv_parse("{\"n\":4}"), stop, &n);
		ok(rc == SM_EINTR && n == 1, "emit's code stops the run");
		sm_map_free(m);
	}
	sm_map_free(NULL);

	for (i = 0; i < NSCAN; i++) {
		rc = sm_map_check(scans[i].prog, strlen(scans[i].prog));
		ok(scans[i].refused ? rc == SM_ECONFIG : rc == 0,
		    "scan %d %s: %s", i, scans[i].refused ? "refuses" :
		    "allows", strchr(scans[i].prog, '\n') != NULL ? "(a comment)" :
		    scans[i].prog);
	}
	sm_buf_free(&out);
	return tap_exit();
}
