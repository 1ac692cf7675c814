/* See LICENSE file for copyright and license details. */
/*
 * conn.c: a target's connection (SPEC §5.8): which driver reaches it, the
 * shape of its config, the config file's targets.NAME under it, ${NAME}
 * and *_file at use, and the table of drivers.
 *
 * A target has a connection when its config (the stored one, filled in by
 * targets.NAME) holds the key that says where: url for a database, an api
 * or a cms, path for a website or a file.  Without it a target is
 * bookkeeping, as in the original product (whose websites carry a url of
 * their own: that is no connection).
 *
 * Secrets never enter the tenant file: a password or token is written as
 * ${NAME} (read from the environment at use) or in password_file or
 * header_file (read at use); a literal one is refused when the target is
 * added or changed.  The expanded config lives in memory only.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sm.h"
#include "sm-private.h"
#include "driver.h"

/*
 * The drivers of this build, by name.  A new kind of target is one file,
 * lib/drv-NAME.c, and one line here.
 */

static const struct sm_driver *const drivers[] = {
	&sm_driver_files,
	&sm_driver_http,
	&sm_driver_postgresql,
	&sm_driver_sqlite,
	NULL
};

/* The keys a connection of each type may have. */
static const char *const database_keys[] = {
	"url", "table", "columns", "password", "password_file", NULL
};
static const char *const files_keys[] = {
	"path", "format", "url", NULL
};
static const char *const http_keys[] = {
	"url", "token", "headers", "header_file", "create", "update", "delete",
	"pull", "compare", "timeout", "connect_timeout", "max_redirects",
	"cainfo", NULL
};

/* Keys whose value is a secret: only ${NAME} is stored. */
static const char *const secret_keys[] = { "password", "token", NULL };

static int
in_list(const char *const *v, const char *s)
{
	for (; *v != NULL; v++)
		if (strcmp(*v, s) == 0)
			return 1;
	return 0;
}

/* The key that makes a config of type a connection. */
static const char *
where_key(const char *type)
{
	if (strcmp(type, "website") == 0 || strcmp(type, "file") == 0)
		return "path";
	return "url";
}

static const char *const *
allowed_keys(const char *type)
{
	if (strcmp(type, "database") == 0)
		return database_keys;
	if (strcmp(type, "website") == 0 || strcmp(type, "file") == 0)
		return files_keys;
	return http_keys;
}

/* 1 when s is one ${NAME} and nothing else. */
static int
only_var(const char *s)
{
	size_t n = strlen(s);

	return n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}' &&
	    strchr(s + 2, '}') == s + n - 1;
}

/*
 * The password of a URL (scheme://user:password@host...) or of a
 * conninfo (password=...), when it is there: *p and *n.  0 when none.
 */
static int
url_password(const char *url, const char **p, size_t *n)
{
	const char *s, *at, *colon, *end;

	if ((s = strstr(url, "://")) != NULL) {
		s += 3;
		end = s + strcspn(s, "/?#");
		for (at = end; at > s && at[-1] != '@'; at--)
			;
		if (at == s)
			return 0;
		colon = memchr(s, ':', (size_t)(at - 1 - s));
		if (colon == NULL)
			return 0;
		*p = colon + 1;
		*n = (size_t)(at - 1 - *p);
		return 1;
	}
	for (s = url; (s = strstr(s, "password")) != NULL; s += 8) {
		if (s != url && !isspace((unsigned char)s[-1]))
			continue;
		end = s + 8;
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '=')
			continue;
		end++;
		while (isspace((unsigned char)*end))
			end++;
		*p = end;
		*n = strcspn(end, " \t\n");
		return 1;
	}
	return 0;
}

static int
literal_secret(const char *target, const char *key)
{
	return sm_error(SM_ECONFIG, "target '%s': '%s' holds a literal "
	    "secret, which would be stored in the tenant file: use ${NAME} "
	    "or password_file (read at use)", target, key);
}

/* A password in a URL: only as one ${NAME}. */
static int
check_url_secret(const char *target, const char *key, const char *url)
{
	const char *p;
	size_t n;
	char *pw;
	int ok;

	if (!url_password(url, &p, &n) || n == 0)
		return 0;
	pw = sm_xstrndup(p, n);
	ok = only_var(pw);
	free(pw);
	return ok ? 0 : literal_secret(target, key);
}

static const char *
str_of(jv obj, const char *key, jv *hold)
{
	*hold = jv_object_get(jv_copy(obj), jv_string(key));
	return jv_get_kind(*hold) == JV_KIND_STRING ?
	    jv_string_value(*hold) : NULL;
}

/* The driver's name for a config of type (url as given; NULL: none). */
static int
driver_name(const char *target, const char *type, const char *url,
    const char **name)
{
	*name = NULL;
	if (strcmp(type, "website") == 0 || strcmp(type, "file") == 0) {
		*name = "files";
		return 0;
	}
	if (strcmp(type, "api") == 0 || strcmp(type, "cms") == 0) {
		*name = "http";
		return 0;
	}
	if (url == NULL)
		return sm_error(SM_ECONFIG, "target '%s': 'url' must be a "
		    "string", target);
	if (strncmp(url, "sqlite:", 7) == 0)
		*name = "sqlite";
	else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0 || strchr(url, '=') != NULL)
		*name = "postgresql";
	else
		return sm_error(SM_ECONFIG, "target '%s': invalid 'url' '%s': "
		    "expected postgresql://..., a PostgreSQL conninfo "
		    "(host=... dbname=...) or sqlite:PATH", target, url);
	return 0;
}

/*
 * The shape of a connection, its values as they are (${NAME} not
 * expanded): known keys only, no literal secret, a url a driver reads.
 * Sets *driver.  0 or SM_ECONFIG naming the key.  Literal secrets are
 * refused in a stored config only: the config file is the machine's.
 */
static int
check_shape(const char *target, const char *type, jv cfg, int stored,
    const char **driver)
{
	const char *const *keys = allowed_keys(type);
	const char *k, *s;
	jv hold, v;
	int it, rc = 0;

	for (it = jv_object_iter(cfg); rc == 0 && jv_object_iter_valid(cfg,
	    it); it = jv_object_iter_next(cfg, it)) {
		jv key = jv_object_iter_key(cfg, it);

		k = jv_string_value(key);
		v = jv_object_iter_value(cfg, it);
		if (!in_list(keys, k))
			rc = sm_error(SM_ECONFIG, "target '%s': unknown "
			    "connection key '%s' for a %s target", target, k,
			    type);
		else if (stored && in_list(secret_keys, k) &&
		    (jv_get_kind(v) != JV_KIND_STRING ||
		    !only_var(jv_string_value(v))))
			rc = literal_secret(target, k);
		else if ((strcmp(k, "url") == 0 || strcmp(k, "path") == 0 ||
		    strcmp(k, "table") == 0 || strcmp(k, "format") == 0 ||
		    strcmp(k, "password_file") == 0 ||
		    strcmp(k, "header_file") == 0) &&
		    (jv_get_kind(v) != JV_KIND_STRING ||
		    jv_string_length_bytes(jv_copy(v)) == 0))
			rc = sm_error(SM_ECONFIG, "target '%s': '%s' must be "
			    "a string, not empty", target, k);
		else if (stored && strcmp(k, "url") == 0)
			rc = check_url_secret(target, k, jv_string_value(v));
		jv_free(key);
		jv_free(v);
	}
	if (rc != 0)
		return rc;
	s = str_of(cfg, "url", &hold);
	rc = driver_name(target, type, s, driver);
	jv_free(hold);
	if (rc == 0 && strcmp(type, "database") == 0) {
		s = str_of(cfg, "table", &hold);
		jv_free(hold);
		if (s == NULL && !jv_object_has(jv_copy(cfg),
		    jv_string("columns")))
			rc = sm_error(SM_ECONFIG, "target '%s': a database "
			    "connection needs 'table'", target);
	}
	return rc;
}

const struct sm_driver *
sm_driver_of(const struct sm_conn *c)
{
	size_t i;

	for (i = 0; drivers[i] != NULL; i++)
		if (c->driver != NULL && strcmp(drivers[i]->name, c->driver) == 0)
			return drivers[i];
	return NULL;
}

/* The config file's targets.NAME (a new reference), or null. */
static jv
file_entry(const struct sm_config *cfg, const char *name)
{
	jv all, v;

	if (cfg == NULL || cfg->targets == NULL)
		return jv_null();
	all = jv_parse(cfg->targets);
	if (jv_get_kind(all) != JV_KIND_OBJECT) {
		jv_free(all);
		return jv_null();
	}
	v = jv_object_get(all, jv_string(name));
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

/* The stored config of t with targets.NAME under it: a new reference. */
static jv
merged(const struct sm_config *cfg, const struct sm_endpoint *t)
{
	jv stored = jv_parse(t->config != NULL ? t->config : "{}");
	jv file = file_entry(cfg, t->name);

	if (jv_get_kind(stored) != JV_KIND_OBJECT) {
		jv_free(stored);
		stored = jv_object();
	}
	if (jv_get_kind(file) != JV_KIND_OBJECT) {
		jv_free(file);
		return stored;
	}
	/* The stored keys win: targets.NAME fills in the rest. */
	return jv_object_merge(file, stored);
}

int
sm_conn_has(const struct sm_config *cfg, const struct sm_endpoint *t)
{
	jv m = merged(cfg, t);
	int has = jv_object_has(jv_copy(m), jv_string(where_key(t->type)));

	jv_free(m);
	return has;
}

int
sm_conn_check_stored(const struct sm_endpoint *t)
{
	struct sm_conn c;
	const struct sm_driver *d;
	const char *drv;
	jv v;
	int it, rc = 0;

	v = jv_parse(t->config != NULL ? t->config : "{}");
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return 0;	/* endpoint.c words that one */
	}
	if (!jv_object_has(jv_copy(v), jv_string(where_key(t->type)))) {
		/* Bookkeeping (or completed by the config file): only no
		 * secret may be stored. */
		for (it = jv_object_iter(v); rc == 0 &&
		    jv_object_iter_valid(v, it); it = jv_object_iter_next(v,
		    it)) {
			jv key = jv_object_iter_key(v, it);
			jv val = jv_object_iter_value(v, it);
			const char *k = jv_string_value(key);

			if (in_list(secret_keys, k) && (jv_get_kind(val) !=
			    JV_KIND_STRING || !only_var(jv_string_value(val))))
				rc = literal_secret(t->name, k);
			else if (strcmp(k, "url") == 0 && jv_get_kind(val) ==
			    JV_KIND_STRING)
				rc = check_url_secret(t->name, k,
				    jv_string_value(val));
			jv_free(key);
			jv_free(val);
		}
		jv_free(v);
		return rc;
	}
	if ((rc = check_shape(t->name, t->type, v, 1, &drv)) == 0) {
		memset(&c, 0, sizeof(c));
		c.target = t->name;
		c.type = t->type;
		c.driver = drv;
		c.config = v;
		if ((d = sm_driver_of(&c)) != NULL && d->check != NULL)
			rc = d->check(&c);
	}
	jv_free(v);
	return rc;
}

/* The text of ${NAME} expanded in s into b; SM_ECONFIG for an unset one. */
static int
expand_str(const char *target, const char *s, struct sm_buf *b)
{
	const char *end, *val;
	char *name;

	sm_buf_reset(b);
	while (*s != '\0') {
		if (s[0] != '$' || s[1] != '{' ||
		    (end = strchr(s + 2, '}')) == NULL) {
			sm_buf_addc(b, *s++);
			continue;
		}
		name = sm_xstrndup(s + 2, (size_t)(end - s - 2));
		if ((val = getenv(name)) == NULL) {
			int rc = sm_error(SM_ECONFIG, "target '%s': "
			    "environment variable %s is not set", target,
			    name);

			free(name);
			return rc;
		}
		free(name);
		sm_buf_adds(b, val);
		s = end + 1;
	}
	return 0;
}

/* v with ${NAME} expanded in every string: consumes v, *out a new one. */
static int
expand(const char *target, jv v, jv *out, struct sm_buf *b)
{
	jv r, k, x;
	int it, i, n, rc = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		rc = expand_str(target, jv_string_value(v), b);
		jv_free(v);
		*out = rc == 0 ? jv_string_sized(b->data ? b->data : "",
		    (int)b->len) : jv_null();
		return rc;
	case JV_KIND_OBJECT:
		r = jv_object();
		for (it = jv_object_iter(v); rc == 0 &&
		    jv_object_iter_valid(v, it); it = jv_object_iter_next(v,
		    it)) {
			k = jv_object_iter_key(v, it);
			if ((rc = expand(target, jv_object_iter_value(v, it),
			    &x, b)) == 0)
				r = jv_object_set(r, k, x);
			else
				jv_free(k);
		}
		break;
	case JV_KIND_ARRAY:
		r = jv_array();
		n = jv_array_length(jv_copy(v));
		for (i = 0; rc == 0 && i < n; i++)
			if ((rc = expand(target, jv_array_get(jv_copy(v), i),
			    &x, b)) == 0)
				r = jv_array_append(r, x);
		break;
	default:
		*out = v;
		return 0;
	}
	jv_free(v);
	if (rc != 0) {
		jv_free(r);
		r = jv_null();
	}
	*out = r;
	return rc;
}

/* key_file's contents (without a final line end) become key. */
static int
read_file_key(const char *target, jv *cfg, const char *file_key,
    const char *key)
{
	char *text;
	size_t n;
	jv hold;
	const char *path = str_of(*cfg, file_key, &hold);
	int rc;

	if (path == NULL) {
		jv_free(hold);
		return 0;
	}
	if ((rc = sm_file_read(path, &text)) != 0) {
		rc = sm_error(SM_ECONFIG, "target '%s': cannot read "
		    "%s '%s'", target, file_key, path);
		jv_free(hold);
		return rc;
	}
	jv_free(hold);
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	*cfg = jv_object_set(*cfg, jv_string(key), jv_string_sized(text,
	    (int)n));
	free(text);
	return 0;
}

int
sm_conn_open(const struct sm_config *cfg, const struct sm_endpoint *t,
    struct sm_conn *c)
{
	const struct sm_driver *d;
	struct sm_buf b;
	const char *drv;
	jv m, x;
	int rc;

	memset(c, 0, sizeof(*c));
	c->config = jv_null();
	m = merged(cfg, t);
	if (!jv_object_has(jv_copy(m), jv_string(where_key(t->type)))) {
		jv_free(m);
		return sm_error(SM_ECONFIG, "target '%s' has no connection: "
		    "give it a '%s' (sm-tenant target set, or targets.%s in "
		    "the config file)", t->name, where_key(t->type), t->name);
	}
	if ((rc = check_shape(t->name, t->type, m, 0, &drv)) != 0) {
		jv_free(m);
		return rc;
	}
	c->driver = drv;
	if (sm_driver_of(c) == NULL) {
		jv_free(m);
		return sm_error(SM_ECONFIG, "target '%s': no driver for %s "
		    "targets yet", t->name, strcmp(drv, "http") == 0 ?
		    t->type : drv);
	}
	sm_buf_init(&b);
	rc = expand(t->name, m, &x, &b);
	sm_buf_free(&b);
	if (rc != 0)
		return rc;
	if ((rc = read_file_key(t->name, &x, "password_file",
	    "password")) != 0 || (rc = read_file_key(t->name, &x,
	    "header_file", "header")) != 0) {
		jv_free(x);
		return rc;
	}
	c->target = t->name;
	c->type = t->type;
	c->driver = drv;
	c->config = x;
	/* A driver that hashes what the target holds ignores what sm does. */
	c->ignore = (const char *const *)sm_ignore_list(cfg, NULL, &c->nignore);
	c->parallel = cfg != NULL ? cfg->push_parallel : 4;
	d = sm_driver_of(c);
	if (d->check != NULL && (rc = d->check(c)) != 0) {
		sm_conn_free(c);
		return rc;
	}
	return 0;
}

void
sm_conn_free(struct sm_conn *c)
{
	jv_free(c->config);
	c->config = jv_null();
	sm_strv_free((char **)c->ignore);
	c->ignore = NULL;
	c->nignore = 0;
}

const char *
sm_conn_str(const struct sm_conn *c, const char *key)
{
	jv v = jv_object_get(jv_copy(c->config), jv_string(key));
	const char *s = NULL;

	/* The config holds the string: it outlives this reference. */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

int
sm_target_cleartext(const struct sm_endpoint *t, struct sm_buf *why)
{
	jv cfg, hold;
	const char *url, *host, *end, *at;
	size_t n;
	int clear = 0;

	if (strcmp(t->type, "api") != 0 && strcmp(t->type, "cms") != 0)
		return 0;
	cfg = jv_parse(t->config != NULL ? t->config : "{}");
	if (jv_get_kind(cfg) == JV_KIND_OBJECT &&
	    (url = str_of(cfg, "url", &hold)) != NULL) {
		if (strncasecmp(url, "http://", 7) == 0) {
			host = url + 7;
			end = host + strcspn(host, "/?#");
			for (at = end; at > host && at[-1] != '@'; at--)
				;
			host = at;
			n = host[0] == '[' ? strcspn(host, "]") + 1 :
			    strcspn(host, ":/?#");
			clear = !((n == 9 && strncasecmp(host, "localhost",
			    9) == 0) || strncmp(host, "127.", 4) == 0 ||
			    (n == 5 && strncmp(host, "[::1]", 5) == 0));
			if (clear) {
				sm_buf_reset(why);
				sm_buf_addf(why, "target '%s': http:// to %.*s "
				    "is not encrypted: its records and token "
				    "cross the network in clear (use https://)",
				    t->name, (int)n, host);
			}
		}
		jv_free(hold);
	}
	jv_free(cfg);
	return clear;
}
