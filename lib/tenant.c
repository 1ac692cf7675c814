/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

#define KEY_RANDOM_BYTES 32	/* 256 bits from the OS CSPRNG */

/* An API key is hashed with BLAKE2b-256; the key itself is never stored. */
static void
key_hash_hex(const char *key, char out[2 * crypto_generichash_BYTES + 1])
{
	unsigned char h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)key,
	    strlen(key), NULL, 0);
	sodium_bin2hex(out, 2 * sizeof(h) + 1, h, sizeof(h));
}

static int
new_key(const char *slug, char key[SM_KEY_MAX])
{
	unsigned char rnd[KEY_RANDOM_BYTES];
	char b64[sodium_base64_ENCODED_LEN(KEY_RANDOM_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	if (sodium_init() < 0)
		return sm_error(SM_EINTERNAL, "cannot initialise libsodium");
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(b64, sizeof(b64), rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	snprintf(key, SM_KEY_MAX, "sm_%s_%s", slug, b64);
	return 0;
}

/*
 * A key of the caller's choosing (POST /tenants of the original's clients)
 * does not name its tenant as ours do (sm_<slug>_...): the key index says
 * which tenant it is.  DATA_DIR/keys/<BLAKE2b-256 of the key, hex> holds
 * the slug; the tenant's own api_key_hash stays what decides, so an entry
 * left behind by a deleted tenant or a rotated key lets nobody in.
 */
static int
key_index_path(const struct sm_config *cfg, const char *key,
    struct sm_buf *path)
{
	char hex[2 * crypto_generichash_BYTES + 1];

	key_hash_hex(key, hex);
	sm_buf_reset(path);
	sm_buf_addf(path, "%s/keys/%s", cfg->data_dir, hex);
	return 0;
}

int
sm_tenant_key_slug(const struct sm_config *cfg, const char *key,
    char slug[SM_SLUG_MAX + 1])
{
	const char *p, *q;
	struct sm_buf path;
	char buf[SM_SLUG_MAX + 2];
	size_t n = 0;
	FILE *f;

	slug[0] = '\0';
	if (key == NULL)
		return SM_EPERM;
	if (strncmp(key, "sm_", 3) == 0) {
		p = key + 3;
		if ((q = strchr(p, '_')) != NULL &&
		    (size_t)(q - p) <= SM_SLUG_MAX) {
			memcpy(slug, p, (size_t)(q - p));
			slug[q - p] = '\0';
		}
	} else if (cfg->data_dir != NULL) {
		sm_buf_init(&path);
		key_index_path(cfg, key, &path);
		if ((f = fopen(path.data, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		sm_buf_free(&path);
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n > 0 && n <= SM_SLUG_MAX) {
			memcpy(slug, buf, n);
			slug[n] = '\0';
		}
	}
	if (sm_slug_valid(slug))
		return 0;
	slug[0] = '\0';
	return SM_EPERM;
}

/* Why key cannot be a key of the caller's choosing, or NULL. */
static const char *
key_refused(const char *key)
{
	const char *p;

	if (strlen(key) < SM_KEY_MIN)
		return "is shorter than 16 characters";
	if (strlen(key) >= SM_KEY_MAX)
		return "is longer than 127 characters";
	if (strncmp(key, "sm_", 3) == 0)
		return "begins with sm_, as the keys sm makes do";
	for (p = key; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return "has a character that is not printable ASCII "
			    "(or a space): it travels in an HTTP header";
	return NULL;
}

/* 1 when slug is a tenant whose key is key. */
static int
key_is_of(const struct sm_config *cfg, const char *slug, const char *key)
{
	char hex[2 * crypto_generichash_BYTES + 1];
	struct sm_db *db;
	char *hash;
	int same = 0;

	if (!sm_slug_valid(slug) ||
	    sm_db_open(cfg, slug, SM_DB_READONLY, &db) != 0)
		return 0;
	key_hash_hex(key, hex);
	if ((hash = sm_db_meta_get(db, "api_key_hash")) != NULL)
		same = strcmp(hash, hex) == 0;
	free(hash);
	sm_db_close(db);
	return same;
}

/*
 * Enters key of tenant slug in the key index.  SM_EEXIST when another
 * tenant has this key; an entry of a tenant gone or rekeyed is replaced.
 */
static int
key_index_add(const struct sm_config *cfg, const char *slug, const char *key)
{
	struct sm_buf path, tmp;
	char other[SM_SLUG_MAX + 1];
	FILE *f;
	int fd, rc = 0;

	sm_buf_init(&path);
	sm_buf_init(&tmp);
	sm_buf_addf(&tmp, "%s/keys", cfg->data_dir);
	if (mkdir(tmp.data, 0700) != 0 && errno != EEXIST) {
		rc = sm_error(SM_EIO, "cannot create '%s': %s", tmp.data,
		    strerror(errno));
		goto out;
	}
	sm_buf_addf(&tmp, "/.new.XXXXXX");
	key_index_path(cfg, key, &path);
	if ((fd = mkstemp(tmp.data)) < 0 ||
	    (f = fdopen(fd, "w")) == NULL) {
		rc = sm_error(SM_EIO, "cannot create '%s': %s", tmp.data,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out_unlink;
	}
	fprintf(f, "%s\n", slug);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		rc = sm_error(SM_EIO, "cannot write '%s': %s", tmp.data,
		    strerror(errno));
		fclose(f);
		goto out_unlink;
	}
	fclose(f);
	/* link(2) does not replace: two tenants cannot take one key. */
	if (link(tmp.data, path.data) == 0)
		goto out_unlink;
	if (errno != EEXIST)
		rc = sm_error(SM_EIO, "cannot create '%s': %s", path.data,
		    strerror(errno));
	else if (sm_tenant_key_slug(cfg, key, other) == 0 &&
	    strcmp(other, slug) != 0 && key_is_of(cfg, other, key))
		rc = sm_error(SM_EEXIST, "this api_key is another tenant's: "
		    "choose another");
	else if (rename(tmp.data, path.data) != 0)
		rc = sm_error(SM_EIO, "cannot rename '%s': %s", tmp.data,
		    strerror(errno));
out_unlink:
	unlink(tmp.data);
out:
	sm_buf_free(&path);
	sm_buf_free(&tmp);
	return rc;
}

static int
store_key(struct sm_db *db, const char *key)
{
	char hex[2 * crypto_generichash_BYTES + 1];

	key_hash_hex(key, hex);
	return sm_db_meta_set(db, "api_key_hash", hex);
}

/*
 * The first control character of name (C0, DEL, or C1 in UTF-8), as its
 * code point, or -1 when there is none: a name is shown in lists, logs
 * and terminals, where such a character hides or rewrites text.
 */
static int
control_char(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return *p;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return p[1];
	}
	return -1;
}

int
sm_tenant_create(const struct sm_config *cfg, const char *name,
    const char *slug, char *slug_out, char key[SM_KEY_MAX],
    int64_t *created_at)
{
	return sm_tenant_create_key(cfg, name, slug, NULL, slug_out, key,
	    created_at);
}

int
sm_tenant_create_key(const struct sm_config *cfg, const char *name,
    const char *slug, const char *given, char *slug_out,
    char key[SM_KEY_MAX], int64_t *created_at)
{
	char derived[SM_SLUG_MAX + 1], t[32];
	const char *why;
	struct sm_db *db;
	int c, rc;

	if (name == NULL || name[0] == '\0')
		return sm_error(SM_EUSAGE, "a tenant needs a name");
	if ((c = control_char(name)) >= 0)
		return sm_error(SM_EUSAGE, "invalid tenant name: it holds a "
		    "control character (U+%04X)", c);
	if (given != NULL && (why = key_refused(given)) != NULL)
		return sm_error(SM_EUSAGE, "api_key %s", why);
	if (slug == NULL) {
		if ((rc = sm_slug_from_name(name, derived)) != 0)
			return rc;
		slug = derived;
	}
	if (!sm_slug_valid(slug))
		return sm_error(SM_EUSAGE, "invalid tenant slug '%s': expected "
		    "[a-z0-9][a-z0-9-]{0,62}", slug);
	if ((rc = sm_db_open(cfg, slug, SM_DB_CREATE, &db)) != 0)
		return rc;
	*created_at = sm_now();
	snprintf(t, sizeof(t), "%lld", (long long)*created_at);
	if (given != NULL)
		snprintf(key, SM_KEY_MAX, "%s", given);
	else if ((rc = new_key(slug, key)) != 0)
		goto fail;
	if ((rc = sm_db_begin(db)) != 0)
		goto fail;
	if ((rc = sm_db_meta_set(db, "slug", slug)) != 0 ||
	    (rc = sm_db_meta_set(db, "name", name)) != 0 ||
	    (rc = sm_db_meta_set(db, "created_at", t)) != 0 ||
	    (rc = store_key(db, key)) != 0 ||
	    (rc = sm_db_commit(db)) != 0) {
		sm_db_rollback(db);
		goto fail;
	}
	sm_db_close(db);
	db = NULL;
	if (given != NULL && (rc = key_index_add(cfg, slug, key)) != 0)
		goto fail;
	snprintf(slug_out, SM_SLUG_MAX + 1, "%s", slug);
	return 0;
fail:
	sm_db_close(db);
	/* A tenant half made is no tenant: take the file away again. */
	{
		int keep = rc;

		sm_tenant_delete(cfg, slug);
		rc = keep;
	}
	return rc;
}

int
sm_tenant_rotate_key(struct sm_db *db, char key[SM_KEY_MAX])
{
	int rc;

	if ((rc = new_key(sm_db_slug(db), key)) != 0 ||
	    (rc = sm_db_begin(db)) != 0)
		return rc;
	if ((rc = store_key(db, key)) != 0 || (rc = sm_db_commit(db)) != 0) {
		sm_db_rollback(db);
		return rc;
	}
	return 0;
}

int
sm_tenant_auth(const struct sm_config *cfg, const char *key,
    char slug_out[SM_SLUG_MAX + 1])
{
	char given[2 * crypto_generichash_BYTES + 1];
	char stored[2 * crypto_generichash_BYTES + 1];
	char slug[SM_SLUG_MAX + 1] = "";
	struct sm_db *db = NULL;
	char *hash = NULL;
	int found = 0;

	if (sodium_init() < 0)
		return sm_error(SM_EINTERNAL, "cannot initialise libsodium");
	/* Compare against a hash that matches no key when there is no tenant,
	 * so that a missing tenant costs the same comparison as a bad key. */
	memset(stored, '0', sizeof(stored) - 1);
	stored[sizeof(stored) - 1] = '\0';
	sm_tenant_key_slug(cfg, key, slug);
	if (sm_slug_valid(slug) &&
	    sm_db_open_cached(cfg, slug, SM_DB_READONLY, &db) == 0 &&
	    (hash = sm_db_meta_get(db, "api_key_hash")) != NULL &&
	    strlen(hash) == sizeof(stored) - 1) {
		memcpy(stored, hash, sizeof(stored));
		found = 1;
	}
	free(hash);
	sm_db_release(db);
	key_hash_hex(key != NULL ? key : "", given);
	if (sodium_memcmp(given, stored, sizeof(stored) - 1) == 0 && found) {
		snprintf(slug_out, SM_SLUG_MAX + 1, "%s", slug);
		return 0;
	}
	return sm_error(SM_EPERM, "invalid API key");
}

/*
 * Takes the write lock of tenant slug's file path the way a run does,
 * waiting up to busy_timeout_ms: *db is then the connection that holds
 * it (to close after the files are gone).  A file SQLite cannot read as
 * a database is no one's to lock: 0 with *db NULL.  Returns 0, SM_EBUSY
 * or SM_EIO.
 */
static int
write_lock(const struct sm_config *cfg, const char *slug, const char *path,
    sqlite3 **db)
{
	int rc;

	*db = NULL;
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(*db, cfg->busy_timeout_ms);
		rc = sqlite3_exec(*db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	}
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		rc = sm_error(SM_EBUSY, "tenant '%s' is busy (another run "
		    "holds it): try again later", slug);
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		rc = 0;
		break;
	default:
		rc = sm_error(SM_EIO, "cannot lock tenant '%s': %s", slug,
		    *db != NULL ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
	}
	sqlite3_close(*db);
	*db = NULL;
	return rc;
}

int
sm_tenant_delete(const struct sm_config *cfg, const char *slug)
{
	static const char *const suffix[] = { "-wal", "-shm", "-journal" };
	struct sm_buf path;
	sqlite3 *db = NULL;
	size_t i, n;
	int rc;

	sm_buf_init(&path);
	if ((rc = sm_db_path(cfg, slug, &path)) != 0)
		goto out;
	if (access(path.data, F_OK) == 0 &&
	    (rc = write_lock(cfg, slug, path.data, &db)) != 0)
		goto out;
	if (unlink(path.data) != 0) {
		rc = errno == ENOENT ? sm_error(SM_ENOENT, "no tenant '%s' in "
		    "'%s'", slug, cfg->data_dir) : sm_error(SM_EIO, "cannot "
		    "remove '%s': %s", path.data, strerror(errno));
		goto out;
	}
	n = path.len;
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		path.len = n;
		sm_buf_adds(&path, suffix[i]);
		if (unlink(path.data) != 0 && errno != ENOENT) {
			rc = sm_error(SM_EIO, "cannot remove '%s': %s",
			    path.data, strerror(errno));
			goto out;
		}
	}
out:
	/* The lock goes with the files: a run that waited finds no tenant. */
	if (db != NULL) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	sm_buf_free(&path);
	return rc;
}

int
sm_tenant_list(const struct sm_config *cfg, char ***slugs, size_t *n)
{
	DIR *dir;
	struct dirent *de;
	size_t len, k = 0, cap = 8;
	char **v, name[SM_SLUG_MAX + 1];

	v = sm_xmalloc(cap * sizeof(*v));
	v[0] = NULL;
	*slugs = v;
	*n = 0;
	if ((dir = opendir(cfg->data_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return sm_error(SM_EIO, "cannot read '%s': %s", cfg->data_dir,
		    strerror(errno));
	}
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len < 4 || len - 3 > SM_SLUG_MAX ||
		    strcmp(de->d_name + len - 3, ".db") != 0)
			continue;
		memcpy(name, de->d_name, len - 3);
		name[len - 3] = '\0';
		if (!sm_slug_valid(name))
			continue;
		if (k + 2 > cap)
			v = sm_xrealloc(v, (cap *= 2) * sizeof(*v));
		v[k++] = sm_xstrdup(name);
	}
	closedir(dir);
	v[k] = NULL;
	qsort(v, k, sizeof(*v), sm_strp_cmp);
	*slugs = v;
	*n = k;
	return 0;
}

static int64_t
count(struct sm_db *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t n = -1;

	if ((stmt = sm_db_stmt(db, sql)) == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return n;
}

int
sm_tenant_describe(struct sm_db *db, const struct sm_config *cfg,
    struct sm_buf *b)
{
	char *name, *created, *canon, *algo;

	(void)cfg;
	name = sm_db_meta_get(db, "name");
	created = sm_db_meta_get(db, "created_at");
	canon = sm_db_meta_get(db, "canonical_version");
	algo = sm_db_meta_get(db, "hash_algorithm");
	sm_jw_begin(b);
	sm_jw_str(b, "id", sm_db_slug(db));
	sm_jw_str(b, "name", name);
	sm_jw_time(b, "created_at", created ? strtoll(created, NULL, 10) : -1);
	sm_jw_int(b, "schema", sm_db_schema_version(db));
	sm_jw_int(b, "canonical_version", canon ? atoi(canon) : 0);
	sm_jw_str(b, "hash_algorithm", algo);
	sm_jw_int(b, "sources", count(db, "SELECT count(*) FROM sources"));
	sm_jw_int(b, "targets", count(db, "SELECT count(*) FROM targets"));
	sm_jw_str(b, "file", sm_db_file(db));
	sm_jw_end(b);
	free(name);
	free(created);
	free(canon);
	free(algo);
	return 0;
}
