/* See LICENSE file for copyright and license details. */
#include <sys/types.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "sm.h"

#ifndef SM_SYSCONFDIR
#define SM_SYSCONFDIR	"/etc"
#endif
#define CONFIG_MAX	(1024 * 1024)	/* larger files are refused */

enum type {
	T_PATH,		/* a string; a leading "~" or "~/" means $HOME */
	T_LISTEN,	/* HOST:PORT */
	T_INT,		/* a decimal integer from min to max */
	T_SIZE,		/* bytes >= min, optionally with K, M or G */
	T_RATIO,	/* a number from min to max */
	T_LIMIT,	/* a count, or a percentage "P%" (struct sm_limit) */
	T_LIST,		/* a YAML sequence of strings; "a,b,c" in env */
	T_BOOL		/* true or false (an int field, 1 or 0) */
};

/*
 * Every setting, in one place: its dotted name (a nested mapping in the
 * YAML), its type, where it lives in struct sm_config, the environment
 * variable that overrides it, its default (in the syntax of the
 * environment variable; NULL: none, or computed for data_dir) and its
 * bounds.  Parsing, the environment, validation and the defaults all
 * read this table; config.yaml.example and sm-config(5) describe it.
 */
static const struct key {
	const char *name;
	enum type type;
	size_t off;		/* the field */
	size_t noff;		/* T_LIST: the field counting the items */
	const char *env;
	const char *dflt;
	double min, max;	/* T_INT, T_RATIO; T_SIZE: min only */
} keys[] = {
#define F(f)	offsetof(struct sm_config, f)
	{ "data_dir", T_PATH, F(data_dir), 0,
	    "SM_DATA_DIR", NULL, 0, 0 },
	{ "retention_days", T_INT, F(retention_days), 0,
	    "SM_RETENTION_DAYS", "30", 0, INT_MAX },
	{ "keep_snapshots", T_INT, F(keep_snapshots), 0,
	    "SM_KEEP_SNAPSHOTS", "1", 0, INT_MAX },
	{ "hash_ignore", T_LIST, F(hash_ignore), F(nhash_ignore),
	    "SM_HASH_IGNORE", "", 0, 0 },
	{ "busy_timeout_ms", T_INT, F(busy_timeout_ms), 0,
	    "SM_BUSY_TIMEOUT_MS", "5000", 0, INT_MAX },
	{ "max_record_bytes", T_SIZE, F(max_record_bytes), 0,
	    "SM_MAX_RECORD_BYTES", "16M", 1, 0 },
	{ "map_timeout_ms", T_INT, F(map_timeout_ms), 0,
	    "SM_MAP_TIMEOUT_MS", "1000", 1, INT_MAX },
	{ "map_max_bytes", T_SIZE, F(map_max_bytes), 0,
	    "SM_MAP_MAX_BYTES", "64M", 1048576, 0 },
	{ "runs_days", T_INT, F(runs_days), 0,
	    "SM_RUNS_DAYS", "90", 0, INT_MAX },
	{ "import.max_delete_ratio", T_RATIO, F(import_max_delete_ratio), 0,
	    "SM_IMPORT_MAX_DELETE_RATIO", "0.5", 0, 1 },
	{ "import.max_rejects", T_LIMIT, F(import_max_rejects), 0,
	    "SM_IMPORT_MAX_REJECTS", "0", 0, 0 },
	{ "serve.listen", T_LISTEN, F(serve_listen), 0,
	    "SM_SERVE_LISTEN", "127.0.0.1:8000", 0, 0 },
	{ "serve.threads", T_INT, F(serve_threads), 0,
	    "SM_SERVE_THREADS", "4", 1, 256 },
	{ "serve.max_body_bytes", T_SIZE, F(serve_max_body_bytes), 0,
	    "SM_SERVE_MAX_BODY_BYTES", "64M", 1, 0 },
	{ "serve.admin_key_file", T_PATH, F(serve_admin_key_file), 0,
	    "SM_SERVE_ADMIN_KEY_FILE", NULL, 0, 0 },
	{ "serve.tenant_requests", T_INT, F(serve_tenant_requests), 0,
	    "SM_SERVE_TENANT_REQUESTS", "8", 1, 10000 },
	{ "serve.timeout_s", T_INT, F(serve_timeout_s), 0,
	    "SM_SERVE_TIMEOUT_S", "15", 1, 3600 },
	{ "serve.max_connections", T_INT, F(serve_max_connections), 0,
	    "SM_SERVE_MAX_CONNECTIONS", "1000", 1, 1000000 },
	{ "serve.open_registration", T_BOOL, F(serve_open_registration), 0,
	    "SM_SERVE_OPEN_REGISTRATION", "false", 0, 0 },
	{ "push.retries", T_INT, F(push_retries), 0,
	    "SM_PUSH_RETRIES", "5", 0, 100 },
	{ "push.parallel", T_INT, F(push_parallel), 0,
	    "SM_PUSH_PARALLEL", "4", 1, 64 },
#undef F
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

#define FIELD(cfg, k, t)	((t *)(void *)((char *)(cfg) + (k)->off))

/* What a YAML document is being read for, and from where. */
struct ctx {
	struct sm_config *cfg;
	const char *name;	/* the file, for messages */
	yaml_document_t *doc;
};

/*
 * Returns the home directory: $HOME when set and not empty, else the
 * password database's; NULL when neither is known.
 */
static const char *
home(void)
{
	const char *h;
	struct passwd *pw;

	if ((h = getenv("HOME")) != NULL && *h != '\0')
		return h;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir != '\0')
		return pw->pw_dir;
	return NULL;
}

/* Returns $name when it is set to an absolute path, else NULL (XDG). */
static const char *
xdg_dir(const char *name)
{
	const char *s;

	if ((s = getenv(name)) != NULL && s[0] == '/')
		return s;
	return NULL;
}

/*
 * Returns the default data directory, $XDG_DATA_HOME/sm or
 * ~/.local/share/sm, as a new string.
 */
static char *
default_data_dir(void)
{
	struct sm_buf b;
	const char *d;

	sm_buf_init(&b);
	if ((d = xdg_dir("XDG_DATA_HOME")) != NULL)
		sm_buf_addf(&b, "%s/sm", d);
	else if ((d = home()) != NULL)
		sm_buf_addf(&b, "%s/.local/share/sm", d);
	else
		sm_buf_adds(&b, ".local/share/sm");
	return b.data;
}

static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Returns 1 when name is the mapping of some dotted keys ("serve"). */
static int
is_section(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < NKEYS; i++)
		if (strncmp(keys[i].name, name, n) == 0 &&
		    keys[i].name[n] == '.')
			return 1;
	return 0;
}

/* Writes what a value of k must look like into why (n bytes). */
static const char *
expected(const struct key *k, char *why, size_t n)
{
	switch (k->type) {
	case T_PATH:
		snprintf(why, n, "expected a path");
		break;
	case T_LISTEN:
		snprintf(why, n, "expected HOST:PORT, such as 127.0.0.1:8000");
		break;
	case T_INT:
		if (k->max >= INT_MAX)
			snprintf(why, n, "expected an integer \u2265 %.0f",
			    k->min);
		else
			snprintf(why, n, "expected an integer from %.0f "
			    "to %.0f", k->min, k->max);
		break;
	case T_SIZE:
		snprintf(why, n, "expected a size \u2265 %.0f in bytes, "
		    "optionally with K, M or G", k->min);
		break;
	case T_RATIO:
		snprintf(why, n, "expected a number from %g to %g", k->min,
		    k->max);
		break;
	case T_LIMIT:
		snprintf(why, n, "expected a count, or a percentage such as "
		    "1%%");
		break;
	case T_LIST:
		snprintf(why, n, "expected a list of field names");
		break;
	case T_BOOL:
		snprintf(why, n, "expected true or false");
		break;
	}
	return why;
}

/* Stores a new string s in the string field of k, freeing the old one. */
static void
set_str(struct sm_config *cfg, const struct key *k, char *s)
{
	char **p = FIELD(cfg, k, char *);

	free(*p);
	*p = s;
}

static void
set_list(struct sm_config *cfg, const struct key *k, char **v, size_t n)
{
	char ***p = FIELD(cfg, k, char **);

	sm_strv_free(*p);
	*p = v;
	*(size_t *)(void *)((char *)cfg + k->noff) = n;
}

static int
parse_int(const char *s, double min, double max, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '-' && isdigit((unsigned char)s[1])))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* A byte count: digits, then nothing, K, M or G, each optionally + "iB". */
static int
parse_size(const char *s, double min, size_t *out)
{
	unsigned long long v;
	size_t mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'K':
		mult = (size_t)1 << 10;
		break;
	case 'M':
		mult = (size_t)1 << 20;
		break;
	case 'G':
		mult = (size_t)1 << 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0' && strcmp(end + 1, "iB") != 0)
		return -1;
	if (v > SIZE_MAX / mult || v * mult < min)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

static int
parse_ratio(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	/* Plain decimal notation only: no "inf", "nan" or hex floats. */
	if (s[0] == '\0' || s[strspn(s, "0123456789.eE+-")] != '\0')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Parses a tolerance: a count ("5") or a percentage from 0 to 100 ("1%",
 * "0.5%").  Returns 0 with *l set, or -1 when s is neither.
 */
int
sm_limit_parse(const char *s, struct sm_limit *l)
{
	char num[32];
	size_t n = strlen(s);
	double pct;
	int count;

	if (n > 1 && n < sizeof(num) && s[n - 1] == '%') {
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (strspn(num, "0123456789.") != n - 1 ||
		    parse_ratio(num, 0, 100, &pct) != 0)
			return -1;
		l->count = 0;
		l->percent = pct;
		return 0;
	}
	if (parse_int(s, 0, INT_MAX, &count) != 0)
		return -1;
	l->count = (uint64_t)count;
	l->percent = -1;
	return 0;
}

/* Whether n of total is within the tolerance l. */
int
sm_limit_allows(const struct sm_limit *l, uint64_t n, uint64_t total)
{
	if (l->percent < 0)
		return n <= l->count;
	return (double)n <= l->percent / 100 * (double)total;
}

/* HOST:PORT, with an IPv6 host in brackets ("[::1]:8000"). */
static int
valid_listen(const char *s)
{
	const char *colon;
	size_t hlen, plen;
	long port;

	if ((colon = strrchr(s, ':')) == NULL)
		return 0;
	hlen = (size_t)(colon - s);
	plen = strlen(colon + 1);
	if (hlen == 0 || plen == 0 || plen > 5 ||
	    strspn(colon + 1, "0123456789") != plen)
		return 0;
	port = strtol(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		return 0;
	if (s[0] == '[')
		return hlen > 2 && s[hlen - 1] == ']';
	return memchr(s, ':', hlen) == NULL;
}

/*
 * Strips the blanks around each item of the NULL-terminated list v and
 * drops the items left empty ("a, b" is a and b).  Returns the new count.
 */
static size_t
trim_items(char **v)
{
	size_t i, n = 0, len;
	char *p;

	for (i = 0; v[i] != NULL; i++) {
		p = v[i] + strspn(v[i], " \t");
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			free(v[i]);
			continue;
		}
		memmove(v[i], p, len);
		v[i][len] = '\0';
		v[n++] = v[i];
	}
	v[n] = NULL;
	return n;
}

/*
 * Parses s, in the syntax of the environment, as a value of k and stores
 * it in cfg.  Returns NULL, or why s is not valid (in why, n bytes).
 */
static const char *
parse_value(struct sm_config *cfg, const struct key *k, const char *s,
    char *why, size_t n)
{
	struct sm_buf b;
	const char *h;
	char **v;
	size_t nv;

	switch (k->type) {
	case T_PATH:
		if (*s == '\0')
			return expected(k, why, n);
		if (s[0] == '~' && (s[1] == '\0' || s[1] == '/')) {
			if ((h = home()) == NULL) {
				snprintf(why, n, "cannot expand '~': HOME "
				    "is not set");
				return why;
			}
			sm_buf_init(&b);
			sm_buf_adds(&b, h);
			sm_buf_adds(&b, s + 1);
			set_str(cfg, k, b.data);
		} else
			set_str(cfg, k, sm_xstrdup(s));
		return NULL;
	case T_LISTEN:
		if (!valid_listen(s))
			return expected(k, why, n);
		set_str(cfg, k, sm_xstrdup(s));
		return NULL;
	case T_INT:
		if (parse_int(s, k->min, k->max, FIELD(cfg, k, int)) != 0)
			return expected(k, why, n);
		return NULL;
	case T_SIZE:
		if (parse_size(s, k->min, FIELD(cfg, k, size_t)) != 0)
			return expected(k, why, n);
		return NULL;
	case T_RATIO:
		if (parse_ratio(s, k->min, k->max, FIELD(cfg, k, double)) != 0)
			return expected(k, why, n);
		return NULL;
	case T_LIMIT:
		if (sm_limit_parse(s, FIELD(cfg, k, struct sm_limit)) != 0)
			return expected(k, why, n);
		return NULL;
	case T_LIST:
		v = sm_strv_split(s, &nv);
		set_list(cfg, k, v, trim_items(v));
		return NULL;
	case T_BOOL:
		if (strcmp(s, "true") == 0)
			*FIELD(cfg, k, int) = 1;
		else if (strcmp(s, "false") == 0)
			*FIELD(cfg, k, int) = 0;
		else
			return expected(k, why, n);
		return NULL;
	}
	return expected(k, why, n);
}

/* Puts the default of k into cfg. */
static void
set_default(struct sm_config *cfg, const struct key *k)
{
	char why[128];
	const char *bad;

	if (k->dflt != NULL) {
		bad = parse_value(cfg, k, k->dflt, why, sizeof(why));
		(void)bad;
		assert(bad == NULL);
	} else if (k->off == offsetof(struct sm_config, data_dir))
		set_str(cfg, k, default_data_dir());
	else
		set_str(cfg, k, NULL);
}

/*
 * Fills cfg (its old contents are not freed) with the defaults of the
 * table.  The strings are new; free them with sm_config_free().
 */
void
sm_config_defaults(struct sm_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		set_default(cfg, &keys[i]);
}

/* Frees what cfg owns and zeroes it; NULL is fine. */
void
sm_config_free(struct sm_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == T_LIST)
			set_list(cfg, &keys[i], NULL, 0);
		else if (keys[i].type == T_PATH || keys[i].type == T_LISTEN)
			set_str(cfg, &keys[i], NULL);
	}
	free(cfg->path);
	free(cfg->targets);
	memset(cfg, 0, sizeof(*cfg));
}

/* Replaces data_dir with a copy of dir, as given (from -D). */
void
sm_config_set_data_dir(struct sm_config *cfg, const char *dir)
{
	free(cfg->data_dir);
	cfg->data_dir = sm_xstrdup(dir);
}

static const char *
node_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static unsigned long
line_of(const yaml_node_t *node)
{
	return (unsigned long)node->start_mark.line + 1;
}

/* A plain empty, "~" or "null" scalar: the YAML null. */
static int
is_null(const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* The scalar's text, or NULL when it holds a NUL byte. */
static const char *
scalar(const yaml_node_t *node)
{
	const char *s = (const char *)node->data.scalar.value;

	if (strlen(s) != node->data.scalar.length)
		return NULL;
	return s;
}

static int
bad_value(struct ctx *c, const struct key *k, const yaml_node_t *node,
    const char *why)
{
	const char *s;

	if (node->type == YAML_SCALAR_NODE && (s = scalar(node)) != NULL)
		return sm_error(SM_ECONFIG, "%s:%lu: invalid value '%s' for "
		    "'%s': %s", c->name, line_of(node), s, k->name, why);
	return sm_error(SM_ECONFIG, "%s:%lu: invalid value for '%s': %s, "
	    "not %s", c->name, line_of(node), k->name, why,
	    node->type == YAML_SCALAR_NODE ? "a text with a NUL byte" :
	    node_kind(node));
}

static int
bad_section(struct ctx *c, const char *name, const yaml_node_t *node)
{
	const char *s;

	if (node->type == YAML_SCALAR_NODE && (s = scalar(node)) != NULL)
		return sm_error(SM_ECONFIG, "%s:%lu: invalid value '%s' for "
		    "'%s': expected a mapping", c->name, line_of(node), s,
		    name);
	return sm_error(SM_ECONFIG, "%s:%lu: invalid value for '%s': "
	    "expected a mapping, not %s", c->name, line_of(node), name,
	    node_kind(node));
}

/* Reads the list of k from a YAML sequence. */
static int
set_node_list(struct ctx *c, const struct key *k, yaml_node_t *node)
{
	yaml_node_item_t *it;
	yaml_node_t *item;
	const char *s;
	char **v, why[128];
	size_t n = 0;

	if (node->type != YAML_SEQUENCE_NODE)
		return bad_value(c, k, node, expected(k, why, sizeof(why)));
	v = sm_xcalloc((size_t)(node->data.sequence.items.top -
	    node->data.sequence.items.start) + 1, sizeof(*v));
	for (it = node->data.sequence.items.start;
	    it < node->data.sequence.items.top; it++) {
		item = yaml_document_get_node(c->doc, *it);
		if (item->type != YAML_SCALAR_NODE || is_null(item) ||
		    (s = scalar(item)) == NULL || *s == '\0') {
			sm_strv_free(v);
			return bad_value(c, k, item,
			    "expected a field name");
		}
		v[n++] = sm_xstrdup(s);
	}
	set_list(c->cfg, k, v, n);
	return 0;
}

/* Stores the value node of k in the config. */
static int
set_node(struct ctx *c, const struct key *k, yaml_node_t *node)
{
	const char *s, *bad;
	char why[128];

	if (is_null(node)) {
		set_default(c->cfg, k);
		return 0;
	}
	if (k->type == T_LIST)
		return set_node_list(c, k, node);
	if (node->type != YAML_SCALAR_NODE || (s = scalar(node)) == NULL)
		return bad_value(c, k, node, expected(k, why, sizeof(why)));
	if ((bad = parse_value(c->cfg, k, s, why, sizeof(why))) != NULL)
		return bad_value(c, k, node, bad);
	return 0;
}

/*
 * A YAML node as JSON: a mapping an object, a sequence an array, a
 * scalar a string (a connection's values are text; conn.c reads the
 * rest).  Returns 0, or -1 at a key that is not a string (*bad).
 */
static int
node_json(struct ctx *c, yaml_node_t *node, struct sm_buf *b,
    yaml_node_t **bad)
{
	yaml_node_pair_t *pair;
	yaml_node_item_t *it;
	yaml_node_t *kn;
	const char *s;
	int first = 1;

	switch (node->type) {
	case YAML_MAPPING_NODE:
		sm_buf_addc(b, '{');
		for (pair = node->data.mapping.pairs.start;
		    pair < node->data.mapping.pairs.top; pair++) {
			kn = yaml_document_get_node(c->doc, pair->key);
			if (kn->type != YAML_SCALAR_NODE ||
			    (s = scalar(kn)) == NULL) {
				*bad = kn;
				return -1;
			}
			if (!first)
				sm_buf_addc(b, ',');
			first = 0;
			sm_buf_add_jstr(b, s, strlen(s));
			sm_buf_addc(b, ':');
			if (node_json(c, yaml_document_get_node(c->doc,
			    pair->value), b, bad) != 0)
				return -1;
		}
		sm_buf_addc(b, '}');
		return 0;
	case YAML_SEQUENCE_NODE:
		sm_buf_addc(b, '[');
		for (it = node->data.sequence.items.start;
		    it < node->data.sequence.items.top; it++) {
			if (!first)
				sm_buf_addc(b, ',');
			first = 0;
			if (node_json(c, yaml_document_get_node(c->doc, *it),
			    b, bad) != 0)
				return -1;
		}
		sm_buf_addc(b, ']');
		return 0;
	default:
		if (is_null(node)) {
			sm_buf_adds(b, "null");
			return 0;
		}
		if ((s = scalar(node)) == NULL) {
			*bad = node;
			return -1;
		}
		sm_buf_add_jstr(b, s, strlen(s));
		return 0;
	}
}

/*
 * targets: a mapping of target names to mappings (their connections),
 * kept as a JSON object for conn.c, which checks the keys when it uses
 * one: the file may name targets of several tenants.
 */
static int
set_targets(struct ctx *c, yaml_node_t *node)
{
	yaml_node_pair_t *pair;
	yaml_node_t *vn, *kn, *bad = NULL;
	struct sm_buf b;

	if (is_null(node))
		return 0;
	if (node->type != YAML_MAPPING_NODE)
		return bad_section(c, "targets", node);
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		kn = yaml_document_get_node(c->doc, pair->key);
		vn = yaml_document_get_node(c->doc, pair->value);
		if (vn->type != YAML_MAPPING_NODE && kn->type ==
		    YAML_SCALAR_NODE && scalar(kn) != NULL) {
			struct sm_buf n;
			int rc;

			sm_buf_init(&n);
			sm_buf_addf(&n, "targets.%s", scalar(kn));
			rc = bad_section(c, n.data, vn);
			sm_buf_free(&n);
			return rc;
		}
	}
	sm_buf_init(&b);
	if (node_json(c, node, &b, &bad) != 0) {
		sm_buf_free(&b);
		return sm_error(SM_ECONFIG, "%s:%lu: expected a key name "
		    "under 'targets', not %s", c->name, line_of(bad),
		    node_kind(bad));
	}
	free(c->cfg->targets);
	c->cfg->targets = b.data;
	return 0;
}

/*
 * Reads a mapping whose keys are named after prefix ("" at the top, else
 * "serve" and so on).  Returns 0 or SM_ECONFIG with a message.
 */
static int
walk(struct ctx *c, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *pair, *prev;
	yaml_node_t *kn, *vn, *pn;
	const struct key *k;
	const char *s;
	struct sm_buf name;
	int rc = 0;

	sm_buf_init(&name);
	for (pair = map->data.mapping.pairs.start;
	    rc == 0 && pair < map->data.mapping.pairs.top; pair++) {
		kn = yaml_document_get_node(c->doc, pair->key);
		vn = yaml_document_get_node(c->doc, pair->value);
		if (kn->type != YAML_SCALAR_NODE || (s = scalar(kn)) == NULL) {
			rc = sm_error(SM_ECONFIG, "%s:%lu: expected a key "
			    "name, not %s", c->name, line_of(kn),
			    node_kind(kn));
			break;
		}
		sm_buf_reset(&name);
		if (*prefix != '\0')
			sm_buf_addf(&name, "%s.", prefix);
		sm_buf_adds(&name, s);
		for (prev = map->data.mapping.pairs.start; prev < pair;
		    prev++) {
			pn = yaml_document_get_node(c->doc, prev->key);
			if (strcmp((char *)pn->data.scalar.value, s) == 0)
				break;
		}
		if (prev < pair)
			rc = sm_error(SM_ECONFIG, "%s:%lu: duplicate key '%s'",
			    c->name, line_of(kn), name.data);
		else if (strchr(s, '.') != NULL)
			rc = sm_error(SM_ECONFIG, "%s:%lu: unknown key '%s' "
			    "(a dotted name is a nested mapping)", c->name,
			    line_of(kn), name.data);
		else if (strcmp(name.data, "targets") == 0)
			rc = set_targets(c, vn);
		else if ((k = find_key(name.data)) != NULL)
			rc = set_node(c, k, vn);
		else if (!is_section(name.data))
			rc = sm_error(SM_ECONFIG, "%s:%lu: unknown key '%s'",
			    c->name, line_of(kn), name.data);
		else if (vn->type == YAML_MAPPING_NODE)
			rc = walk(c, vn, name.data);
		else if (!is_null(vn))
			rc = bad_section(c, name.data, vn);
	}
	sm_buf_free(&name);
	return rc;
}

/* The 1-based line of byte offset off in text. */
static unsigned long
line_at(const char *text, size_t len, size_t off)
{
	unsigned long line = 1;
	size_t i;

	for (i = 0; i < off && i < len; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static int
yaml_failed(yaml_parser_t *p, const char *name, const char *text,
    size_t len)
{
	unsigned long line;

	if (p->error == YAML_MEMORY_ERROR)
		return sm_error(SM_ECONFIG, "%s: out of memory", name);
	if (p->error == YAML_READER_ERROR)
		line = line_at(text, len, p->problem_offset);
	else
		line = (unsigned long)p->problem_mark.line + 1;
	if (p->context != NULL)
		return sm_error(SM_ECONFIG, "%s:%lu: %s %s", name, line,
		    p->problem ? p->problem : "malformed YAML", p->context);
	return sm_error(SM_ECONFIG, "%s:%lu: %s", name, line,
	    p->problem ? p->problem : "malformed YAML");
}

/*
 * Reads the settings of a YAML text into cfg and records name as its
 * path.  Returns 0 or SM_ECONFIG with a message; cfg may be half-set
 * then.
 */
static int
load_text(struct sm_config *cfg, const char *name, const char *text,
    size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, more;
	yaml_node_t *root;
	struct ctx c;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return sm_error(SM_ECONFIG, "%s: out of memory", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_failed(&parser, name, text, len);
		yaml_parser_delete(&parser);
		return rc;
	}
	c.cfg = cfg;
	c.name = name;
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || is_null(root))
		;	/* an empty file: the defaults */
	else if (root->type != YAML_MAPPING_NODE)
		rc = sm_error(SM_ECONFIG, "%s:%lu: expected a mapping of "
		    "settings at the top, not %s", name, line_of(root),
		    node_kind(root));
	else
		rc = walk(&c, root, "");
	if (rc == 0 && root != NULL) {
		/* A second document would be ignored: refuse it. */
		if (!yaml_parser_load(&parser, &more))
			rc = yaml_failed(&parser, name, text, len);
		else {
			if (yaml_document_get_root_node(&more) != NULL)
				rc = sm_error(SM_ECONFIG, "%s:%lu: more than "
				    "one YAML document", name,
				    (unsigned long)more.start_mark.line + 1);
			yaml_document_delete(&more);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc == 0) {
		free(cfg->path);
		cfg->path = sm_xstrdup(name);
	}
	return rc;
}

/*
 * Applies the environment variables of the table to cfg and checks
 * $SM_NOW (sm_now_check()).
 */
static int
load_env(struct sm_config *cfg)
{
	const char *s, *bad;
	char why[128];
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if ((s = getenv(keys[i].env)) == NULL || *s == '\0')
			continue;
		if ((bad = parse_value(cfg, &keys[i], s, why,
		    sizeof(why))) != NULL)
			return sm_error(SM_ECONFIG, "invalid value '%s' for "
			    "%s: %s", s, keys[i].env, bad);
	}
	/* Not a setting, but a bad clock is a bad configuration too. */
	return sm_now_check();
}

/*
 * Reads the file path into b.  Returns 0, or -1 with errno set and *what
 * naming the step that failed.
 */
static int
slurp(const char *path, struct sm_buf *b, const char **what)
{
	FILE *fp;
	size_t n;
	int saved;

	*what = "open";
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	*what = "read";
	for (;;) {
		sm_buf_grow(b, 4096);
		n = fread(b->data + b->len, 1, b->cap - b->len - 1, fp);
		b->len += n;
		b->data[b->len] = '\0';
		if (n == 0)
			break;
		if (b->len > CONFIG_MAX) {
			fclose(fp);
			errno = EFBIG;
			return -1;
		}
	}
	if (ferror(fp)) {
		saved = errno;
		fclose(fp);
		errno = saved;
		return -1;
	}
	fclose(fp);
	return 0;
}

/*
 * Loads the file path.  Returns 0; 1 when the file does not exist and
 * need is 0 (try the next place); SM_ECONFIG with a message otherwise.
 */
static int
load_file(struct sm_config *cfg, const char *path, int need)
{
	struct sm_buf b;
	const char *what;
	int rc;

	sm_buf_init(&b);
	if (slurp(path, &b, &what) != 0) {
		sm_buf_free(&b);
		if (!need && (errno == ENOENT || errno == ENOTDIR))
			return 1;
		return sm_error(SM_ECONFIG, "cannot %s config '%s': %s", what,
		    path, strerror(errno));
	}
	rc = load_text(cfg, path, b.data != NULL ? b.data : "", b.len);
	sm_buf_free(&b);
	return rc;
}

/* On failure the settings go back to the defaults, as promised. */
static int
finish(struct sm_config *cfg, int rc)
{
	if (rc == 0)
		rc = load_env(cfg);
	if (rc != 0) {
		sm_config_free(cfg);
		sm_config_defaults(cfg);
	}
	return rc;
}

/*
 * Fills cfg (need not be initialized) with the defaults, the first
 * configuration file found (SPEC §3) and the environment.  Returns 0 or
 * SM_ECONFIG with a message naming file, line and key (or the variable);
 * on error cfg holds the defaults.  Either way cfg->path names the file
 * loaded (NULL when none) and the caller frees cfg with sm_config_free().
 */
int
sm_config_load(struct sm_config *cfg, const char *path)
{
	struct sm_buf p;
	const char *s;
	int rc;

	sm_config_defaults(cfg);
	if (path != NULL)
		return finish(cfg, load_file(cfg, path, 1));
	if ((s = getenv("SM_CONFIG")) != NULL && *s != '\0')
		return finish(cfg, load_file(cfg, s, 1));
	sm_buf_init(&p);
	rc = 1;
	if ((s = xdg_dir("XDG_CONFIG_HOME")) != NULL)
		sm_buf_addf(&p, "%s/sm/config.yaml", s);
	else if ((s = home()) != NULL)
		sm_buf_addf(&p, "%s/.config/sm/config.yaml", s);
	if (p.len > 0)
		rc = load_file(cfg, p.data, 0);
	sm_buf_free(&p);
	if (rc == 1)
		rc = load_file(cfg, SM_SYSCONFDIR "/sm/config.yaml", 0);
	if (rc == 1)
		rc = 0;
	return finish(cfg, rc);
}

/*
 * As sm_config_load(), with the YAML text (len bytes) in place of a file
 * found on disk; name stands for the file in messages and in cfg->path.
 * The environment still overrides the text.
 */
int
sm_config_load_string(struct sm_config *cfg, const char *name,
    const char *text, size_t len)
{
	sm_config_defaults(cfg);
	return finish(cfg, load_text(cfg, name, text, len));
}
