/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm.h"

int
sm_cli_config(struct sm_cli *cli)
{
	const char *env;
	int rc;

	rc = sm_config_load(&cli->cfg, cli->config_file);
	if (rc != 0)
		return rc;
	if (cli->data_dir != NULL)
		sm_config_set_data_dir(&cli->cfg, cli->data_dir);
	if (cli->tenant == NULL && (env = getenv("SM_TENANT")) != NULL &&
	    *env != '\0')
		cli->tenant = env;
	return 0;
}

int
sm_cli_open(struct sm_cli *cli, int flags, struct sm_db **db)
{
	*db = NULL;
	if (cli->tenant == NULL)
		return sm_error(SM_EUSAGE, "no tenant: give -T SLUG or set "
		    "SM_TENANT");
	return sm_db_open(&cli->cfg, cli->tenant, flags, db);
}

void
sm_cli_free(struct sm_cli *cli)
{
	sm_config_free(&cli->cfg);
}

int
sm_cli_read_arg(const char *arg, char **out)
{
	struct sm_buf b;
	FILE *f;
	char chunk[8192];
	size_t n;

	if (arg[0] != '@') {
		*out = sm_xstrdup(arg);
		return 0;
	}
	if ((f = fopen(arg + 1, "r")) == NULL)
		return sm_error(SM_ENOENT, "cannot open '%s': %s", arg + 1,
		    strerror(errno));
	sm_buf_init(&b);
	sm_buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sm_buf_add(&b, chunk, n);
	if (ferror(f)) {
		fclose(f);
		sm_buf_free(&b);
		return sm_error(SM_EIO, "cannot read '%s'", arg + 1);
	}
	fclose(f);
	*out = b.data;
	return 0;
}
