/* See LICENSE file for copyright and license details. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int yflag;
static const char *slug_opt, *name_opt, *type_opt, *config_opt, *map_opt;
static const char *id_field_opt, *hash_ignore_opt;
static struct sm_cli cli;
static struct sm_buf line;
static struct sm_buf warning;	/* of a target written */

enum { OPT_SLUG = 256, OPT_NAME, OPT_TYPE, OPT_CONFIG, OPT_MAP, OPT_ID_FIELD,
    OPT_HASH_IGNORE };

static const struct option longopts[] = {
	{ "config",      required_argument, NULL, OPT_CONFIG },
	SM_CLI_LONGOPTS,
	{ "hash-ignore", required_argument, NULL, OPT_HASH_IGNORE },
	{ "id-field",    required_argument, NULL, OPT_ID_FIELD },
	{ "map",         required_argument, NULL, OPT_MAP },
	{ "name",        required_argument, NULL, OPT_NAME },
	{ "slug",        required_argument, NULL, OPT_SLUG },
	{ "type",        required_argument, NULL, OPT_TYPE },
	{ "yes",         no_argument,       NULL, 'y' },
	{ NULL,          0,                 NULL, 0 }
};

static const char usage[] =
    "usage: sm-tenant [-qy] [-c file] [-D dir] [-T slug] verb ...\n"
    "       sm-tenant init\n"
    "       sm-tenant create name [--slug slug]\n"
    "       sm-tenant list | show [slug] | rotate-key [slug] | "
    "check [slug]\n"
    "       sm-tenant delete slug --yes\n"
    "       sm-tenant source add name --type type [--config json] "
    "[--map prog|@file]\n"
    "                 [--id-field field] [--hash-ignore a,b]\n"
    "       sm-tenant source list | show source | rm source --yes\n"
    "       sm-tenant source set source [--name name] [--type type] "
    "[--config json] ...\n"
    "       sm-tenant target add name --type type [--config json]\n"
    "       sm-tenant target list | show target | rm target --yes\n"
    "       sm-tenant target set target [--name name] [--type type] "
    "[--config json]\n";

/* Prints the lib's message and exits with the status of rc. */
static void
fail(int rc)
{
	if (rc == SM_EUSAGE && strncmp(sm_errmsg(), "no tenant:", 10) == 0)
		sm_cli_usage(usage, "%s", sm_errmsg());
	warnx("%s", sm_errmsg());
	exit(sm_exitcode(rc));
}

static void
put(void)
{
	if (sm_jw_put(&line, stdout) != 0)
		fail(SM_EIO);
}

/* Between min and max operands after verb, else why and usage. */
static void
need_operands(const char *verb, int argc, char **argv, int min, int max,
    const char *name)
{
	if (argc < min)
		sm_cli_usage(usage, "%s: missing operand: %s", verb, name);
	if (argc > max)
		sm_cli_usage(usage, "%s: extra operand '%s'", verb, argv[max]);
}

/* A destructive verb must be confirmed (SPEC §4: else exit 64). */
static void
need_yes(const char *what)
{
	if (!yflag) {
		warnx("refusing to remove %s without --yes", what);
		exit(64);
	}
}

static struct sm_db *
open_tenant(const char *slug, int flags)
{
	struct sm_db *db;
	int rc;

	if (slug != NULL)
		cli.tenant = slug;
	if ((rc = sm_cli_open(&cli, flags, &db)) != 0)
		fail(rc);
	return db;
}

static int
do_init(void)
{
	int rc;

	if ((rc = sm_db_init_dir(&cli.cfg)) != 0)
		fail(rc);
	sm_jw_begin(&line);
	sm_jw_str(&line, "data_dir", cli.cfg.data_dir);
	sm_jw_end(&line);
	put();
	return 0;
}

static int
do_create(const char *name)
{
	char key[SM_KEY_MAX], slug[SM_SLUG_MAX + 1];
	int64_t created;
	int rc;

	if ((rc = sm_tenant_create(&cli.cfg, name, slug_opt, slug, key,
	    &created)) != 0)
		fail(rc);
	sm_jw_begin(&line);
	sm_jw_str(&line, "id", slug);
	sm_jw_str(&line, "name", name);
	sm_jw_str(&line, "api_key", key);
	sm_jw_time(&line, "created_at", created);
	sm_jw_end(&line);
	put();
	if (!cli.quiet)
		warnx("tenant '%s' created; save its API key now: it is not "
		    "shown again", slug);
	return 0;
}

static int
do_show(const char *slug)
{
	struct sm_db *db = open_tenant(slug, SM_DB_READONLY);

	sm_tenant_describe(db, &cli.cfg, &line);
	sm_db_close(db);
	put();
	return 0;
}

static int
do_list(void)
{
	struct sm_db *db;
	char **slugs;
	size_t i, n;
	int rc, status = 0;

	if ((rc = sm_tenant_list(&cli.cfg, &slugs, &n)) != 0)
		fail(rc);
	for (i = 0; i < n; i++) {
		if ((rc = sm_db_open(&cli.cfg, slugs[i], SM_DB_READONLY,
		    &db)) != 0) {
			warnx("%s", sm_errmsg());
			status = sm_exitcode(rc);
			continue;
		}
		sm_tenant_describe(db, &cli.cfg, &line);
		sm_db_close(db);
		put();
	}
	sm_strv_free(slugs);
	return status;
}

static int
do_rotate(const char *slug)
{
	struct sm_db *db = open_tenant(slug, 0);
	char key[SM_KEY_MAX];
	int rc;

	if ((rc = sm_tenant_rotate_key(db, key)) != 0)
		fail(rc);
	sm_jw_begin(&line);
	sm_jw_str(&line, "id", sm_db_slug(db));
	sm_jw_str(&line, "api_key", key);
	sm_jw_time(&line, "rotated_at", sm_now());
	sm_jw_end(&line);
	put();
	if (!cli.quiet)
		warnx("new API key for '%s'; save it now: it is not shown "
		    "again, and the old key no longer works", sm_db_slug(db));
	sm_db_close(db);
	return 0;
}

static int
do_delete(const char *slug)
{
	int rc;

	need_yes("a tenant");
	if ((rc = sm_tenant_delete(&cli.cfg, slug)) != 0)
		fail(rc);
	sm_jw_begin(&line);
	sm_jw_str(&line, "id", slug);
	sm_jw_bool(&line, "deleted", 1);
	sm_jw_end(&line);
	put();
	return 0;
}

static int
print_finding(const char *json, void *arg)
{
	(void)arg;
	return fputs(json, stdout) == EOF ? SM_EIO : 0;
}

static int
check_one(const char *slug)
{
	struct sm_db *db;
	int rc;

	if ((rc = sm_db_open(&cli.cfg, slug, SM_DB_READONLY, &db)) == 0) {
		rc = sm_tenant_check(db, &cli.cfg, print_finding, NULL);
		sm_db_close(db);
	}
	if (rc != 0)
		warnx("%s", sm_errmsg());
	return rc;
}

static int
do_check(const char *slug)
{
	char **slugs;
	size_t i, n;
	int rc, worst = 0;

	if (slug == NULL)
		slug = cli.tenant;
	if (slug != NULL)
		return sm_exitcode(check_one(slug));
	if ((rc = sm_tenant_list(&cli.cfg, &slugs, &n)) != 0)
		fail(rc);
	for (i = 0; i < n; i++)
		if ((rc = check_one(slugs[i])) != 0 && worst == 0)
			worst = rc;
	sm_strv_free(slugs);
	return sm_exitcode(worst);
}

/* Applies the options given to an endpoint about to be added or set. */
static void
apply_options(struct sm_endpoint *e)
{
	int rc;

	if (e->side == SM_TARGET && (map_opt || id_field_opt ||
	    hash_ignore_opt))
		sm_cli_usage(usage, "--map, --id-field and --hash-ignore "
		    "apply to sources only");
	if (name_opt != NULL) {
		free(e->name);
		e->name = sm_xstrdup(name_opt);
	}
	if (type_opt != NULL) {
		free(e->type);
		e->type = sm_xstrdup(type_opt);
	}
	if (config_opt != NULL) {
		free(e->config);
		if ((rc = sm_cli_read_arg(config_opt, &e->config)) != 0)
			fail(rc);
	}
	if (map_opt != NULL) {
		free(e->map);
		if ((rc = sm_cli_read_arg(map_opt, &e->map)) != 0)
			fail(rc);
	}
	if (id_field_opt != NULL) {
		free(e->id_field);
		e->id_field = sm_xstrdup(id_field_opt);
	}
	if (hash_ignore_opt != NULL) {
		sm_strv_free(e->hash_ignore);
		e->hash_ignore = sm_strv_split(hash_ignore_opt,
		    &e->nhash_ignore);
	}
}

static int
describe_each(struct sm_endpoint *e, void *arg)
{
	sm_endpoint_describe(arg, e, &line);
	put();
	return 0;
}

/* A write of one endpoint, in its own transaction. */
static void
write_endpoint(struct sm_db *db, struct sm_endpoint *e, int add)
{
	int rc;

	if ((rc = sm_db_begin(db)) != 0)
		fail(rc);
	rc = add ? sm_endpoint_add(db, e) : sm_endpoint_update(db, e);
	if (rc == 0)
		rc = sm_db_commit(db);
	if (rc != 0) {
		sm_db_rollback(db);
		fail(rc);
	}
	if (e->side == SM_TARGET && sm_target_cleartext(e, &warning))
		warnx("warning: %s", warning.data);
}

static int
do_endpoint(enum sm_side side, const char *verb, int argc, char **argv)
{
	const char *what = side == SM_SOURCE ? "a source" : "a target";
	const char *noun = side == SM_SOURCE ? "source" : "target";
	struct sm_endpoint e;
	struct sm_db *db;
	char where[16];
	int rc;

	if (strcmp(verb, "list") != 0 && strcmp(verb, "add") != 0 &&
	    strcmp(verb, "show") != 0 && strcmp(verb, "set") != 0 &&
	    strcmp(verb, "rm") != 0)
		sm_cli_usage(usage, "%s: unknown verb '%s'", noun, verb);
	snprintf(where, sizeof(where), "%s %s", noun, verb);
	memset(&e, 0, sizeof(e));
	e.side = side;
	if (strcmp(verb, "list") == 0) {
		need_operands(where, argc, argv, 0, 0, NULL);
		db = open_tenant(NULL, SM_DB_READONLY);
		if ((rc = sm_endpoint_each(db, side, describe_each, db)) != 0)
			fail(rc);
		sm_db_close(db);
		return 0;
	}
	need_operands(where, argc, argv, 1, 1, strcmp(verb, "add") == 0 ?
	    "NAME" : side == SM_SOURCE ? "SOURCE" : "TARGET");
	if (strcmp(verb, "add") == 0) {
		if (type_opt == NULL)
			sm_cli_usage(usage, "%s needs --type", what);
		db = open_tenant(NULL, 0);
		e.name = sm_xstrdup(argv[0]);
		apply_options(&e);
		write_endpoint(db, &e, 1);
	} else {
		if (strcmp(verb, "rm") == 0)
			need_yes(what);
		db = open_tenant(NULL, strcmp(verb, "show") == 0 ?
		    SM_DB_READONLY : 0);
		if ((rc = sm_endpoint_get(db, side, argv[0], &e)) != 0)
			fail(rc);
		if (strcmp(verb, "rm") == 0) {
			if ((rc = sm_db_begin(db)) != 0 ||
			    (rc = sm_endpoint_remove(db, side, e.id)) != 0 ||
			    (rc = sm_db_commit(db)) != 0)
				fail(rc);
			sm_jw_begin(&line);
			sm_jw_int(&line, "id", e.id);
			sm_jw_str(&line, "name", e.name);
			sm_jw_bool(&line, "deleted", 1);
			sm_jw_end(&line);
			put();
			goto out;
		}
		if (strcmp(verb, "set") == 0) {
			apply_options(&e);
			write_endpoint(db, &e, 0);
		}
	}
	sm_endpoint_describe(db, &e, &line);
	put();
out:
	sm_endpoint_free(&e);
	sm_db_close(db);
	return 0;
}

static int
run(int argc, char **argv)
{
	const char *verb = argv[0];

	argc--, argv++;
	if (strcmp(verb, "init") == 0) {
		need_operands(verb, argc, argv, 0, 0, NULL);
		return do_init();
	} else if (strcmp(verb, "create") == 0) {
		need_operands(verb, argc, argv, 1, 1, "NAME");
		return do_create(argv[0]);
	} else if (strcmp(verb, "list") == 0) {
		need_operands(verb, argc, argv, 0, 0, NULL);
		return do_list();
	} else if (strcmp(verb, "show") == 0) {
		need_operands(verb, argc, argv, 0, 1, NULL);
		return do_show(argv[0]);
	} else if (strcmp(verb, "rotate-key") == 0) {
		need_operands(verb, argc, argv, 0, 1, NULL);
		return do_rotate(argv[0]);
	} else if (strcmp(verb, "delete") == 0) {
		need_operands(verb, argc, argv, 1, 1, "SLUG");
		return do_delete(argv[0]);
	} else if (strcmp(verb, "check") == 0) {
		need_operands(verb, argc, argv, 0, 1, NULL);
		return do_check(argv[0]);
	} else if (strcmp(verb, "source") == 0 ||
	    strcmp(verb, "target") == 0) {
		if (argc < 1)
			sm_cli_usage(usage, "%s: missing verb", verb);
		return do_endpoint(verb[0] == 's' ? SM_SOURCE : SM_TARGET,
		    argv[0], argc - 1, argv + 1);
	}
	sm_cli_usage(usage, "unknown verb '%s'", verb);
}

int
main(int argc, char *argv[])
{
	int c, rc, status;

	while ((c = getopt_long(argc, argv, "c:D:hqT:Vy", longopts,
	    NULL)) != -1) {
		if (sm_cli_common(&cli, c, optarg, usage, "sm-tenant"))
			continue;
		switch (c) {
		case 'y': yflag = 1; break;
		case OPT_CONFIG: config_opt = optarg; break;
		case OPT_HASH_IGNORE: hash_ignore_opt = optarg; break;
		case OPT_ID_FIELD: id_field_opt = optarg; break;
		case OPT_MAP: map_opt = optarg; break;
		case OPT_NAME: name_opt = optarg; break;
		case OPT_SLUG: slug_opt = optarg; break;
		case OPT_TYPE: type_opt = optarg; break;
		default: sm_cli_usage(usage, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		sm_cli_usage(usage, "missing verb");
	if ((rc = sm_cli_config(&cli)) != 0)
		fail(rc);
	sm_buf_init(&line);
	status = run(argc, argv);
	sm_buf_free(&line);
	sm_buf_free(&warning);
	sm_cli_free(&cli);
	if (sm_stdout_close() != 0) {
		warnx("%s", sm_errmsg());
		return 74;
	}
	return status;
}
