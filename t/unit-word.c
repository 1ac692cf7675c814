/* See LICENSE file for copyright and license details. */
/*
 * The wording of lib messages by their front end (util.c): marks become
 * the front end's words, arguments are never worded, and a brace that is
 * no mark stays as written.
 */
#include <string.h>

#include "sm.h"
#include "tap.h"

static const struct sm_wording cli[] = {
	{ "allow_mass_delete", "--allow-mass-delete" },
	{ "slug", "--slug" },
	{ NULL, NULL }
};

static const struct sm_wording api[] = {
	{ "allow_mass_delete", "allow_mass_delete=true" },
	{ "slug", "\"slug\"" },
	{ NULL, NULL }
};

int
main(void)
{
	char out[64];

	tap_plan(11);

	sm_wording_set(NULL);
	sm_error(SM_EDATA, "use {allow_mass_delete} if right");
	ok(strcmp(sm_errmsg(), "use allow_mass_delete if right") == 0,
	    "no front end: a mark keeps its name (%s)", sm_errmsg());

	sm_wording_set(cli);
	sm_error(SM_EDATA, "use {allow_mass_delete} if right");
	ok(strcmp(sm_errmsg(), "use --allow-mass-delete if right") == 0,
	    "the command line's words (%s)", sm_errmsg());
	ok(sm_errcode() == SM_EDATA, "the code is kept");
	sm_error(SM_EUSAGE, "cannot make a slug of '%s': give one with {slug}",
	    "{slug}");
	ok(strcmp(sm_errmsg(), "cannot make a slug of '{slug}': give one "
	    "with --slug") == 0, "an argument is never worded (%s)",
	    sm_errmsg());
	sm_error(SM_EDATA, "{undo} and {x} here");
	ok(strcmp(sm_errmsg(), "undo and x here") == 0,
	    "a mark without words keeps its name (%s)", sm_errmsg());
	sm_error(SM_EDATA, "{\"a\":1} and {A} and {} and { and }");
	ok(strcmp(sm_errmsg(), "{\"a\":1} and {A} and {} and { and }") == 0,
	    "braces that are no mark stay (%s)", sm_errmsg());

	sm_wording_set(api);
	sm_error(SM_EDATA, "use {allow_mass_delete} if right");
	ok(strcmp(sm_errmsg(), "use allow_mass_delete=true if right") == 0,
	    "the API's words (%s)", sm_errmsg());
	sm_error(SM_EUSAGE, "give one in {slug}");
	ok(strcmp(sm_errmsg(), "give one in \"slug\"") == 0,
	    "words with quotes (%s)", sm_errmsg());

	ok(sm_word("a {slug} b", out, sizeof(out)) == 0 &&
	    strcmp(out, "a \"slug\" b") == 0, "sm_word (%s)", out);
	ok(sm_word("{allow_mass_delete}", out, 10) == -1,
	    "sm_word: too long for out is -1");
	ok(sm_word("", out, 1) == 0 && out[0] == '\0', "sm_word: empty");
	return tap_failed != 0;
}
