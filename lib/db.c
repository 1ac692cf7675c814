/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sm.h"
#include "sm-private.h"

struct stmt_cache {
	const char *sql;
	sqlite3_stmt *stmt;
};

struct sm_db {
	sqlite3 *db;
	char slug[SM_SLUG_MAX + 1];
	char *path;
	struct stmt_cache *cache;
	size_t ncache, capcache;
	int flags;		/* SM_DB_READONLY of sm_db_open */
	int exclusive;		/* opened in exclusive locking mode */
	int mib;		/* page cache size set, in MiB */
	int kept;		/* from sm_db_open_cached: to sm_db_release */
	int group;		/* sm_db_group: runs share one transaction */
	unsigned long txn;	/* of a group: transactions it began */
	dev_t dev;		/* the file opened, for sm_db_open_cached */
	ino_t ino;
};

/*
 * The handles sm_db_release keeps, per thread, most recently used first
 * (see sm_db_open_cached).
 */
struct kept {
	struct sm_db *db[SM_DB_KEPT];
	size_t n;
};

static int keeping;
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

int
sm_db_path(const struct sm_config *cfg, const char *slug, struct sm_buf *path)
{
	if (!sm_slug_valid(slug))
		return sm_error(SM_EUSAGE, "invalid tenant slug '%s': expected "
		    "[a-z0-9][a-z0-9-]{0,62}", slug);
	sm_buf_reset(path);
	sm_buf_addf(path, "%s/%s.db", cfg->data_dir, slug);
	return 0;
}

int
sm_db_init_dir(const struct sm_config *cfg)
{
	char *dir, *p;
	struct stat st;

	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
		return sm_error(SM_ECONFIG, "no data directory: set data_dir, "
		    "$SM_DATA_DIR or -D");
	dir = sm_xstrdup(cfg->data_dir);
	/* Parents are made like mkdir -p; the data directory itself 0700. */
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			sm_error(SM_EIO, "cannot create '%s': %s", dir,
			    strerror(errno));
			free(dir);
			return SM_EIO;
		}
		*p = '/';
	}
	free(dir);
	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST)
		return sm_error(SM_EIO, "cannot create '%s': %s",
		    cfg->data_dir, strerror(errno));
	if (stat(cfg->data_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return sm_error(SM_EIO, "'%s' is not a directory",
		    cfg->data_dir);
	return 0;
}

int
sm_db_error(struct sm_db *db, int rc, const char *what)
{
	const char *msg = db != NULL && db->db != NULL ?
	    sqlite3_errmsg(db->db) : sqlite3_errstr(rc);
	const char *slug = db != NULL ? db->slug : "?";

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return sm_error(SM_EBUSY, "tenant '%s' is busy (another run "
		    "holds it): try again later", slug);
	case SQLITE_INTERRUPT:
		return sm_error(SM_EINTR, "interrupted: nothing was written");
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		/* "disk I/O error" alone does not say a disk is full. */
		if (db != NULL && db->db != NULL &&
		    sqlite3_system_errno(db->db) != 0)
			return sm_error(SM_EIO, "tenant '%s': %s: %s (%s)",
			    slug, what, msg,
			    strerror(sqlite3_system_errno(db->db)));
		return sm_error(SM_EIO, "tenant '%s': %s: %s", slug, what, msg);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return sm_error(SM_EDATA, "tenant '%s': %s: %s", slug, what,
		    msg);
	default:
		return sm_error(SM_EINTERNAL, "tenant '%s': %s: %s", slug, what,
		    msg);
	}
}

/* Lets a long statement notice SIGINT/SIGTERM and stop (SQLITE_INTERRUPT). */
static int
progress(void *arg)
{
	(void)arg;
	return sm_interrupted();
}

int
sm_db_exec(struct sm_db *db, const char *sql)
{
	int rc;

	if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return sm_db_error(db, rc, "cannot run SQL");
	return 0;
}

int
sm_schema_latest(void)
{
	return sm_nmigrations ?
	    sm_migrations[sm_nmigrations - 1].version : 0;
}

int
sm_db_schema_version(struct sm_db *db)
{
	sqlite3_stmt *stmt;
	int v = -1;

	if ((stmt = sm_db_stmt(db, "PRAGMA user_version")) == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return v;
}

static int
migrate(struct sm_db *db)
{
	char pragma[64];
	int rc, version, latest = sm_schema_latest();
	size_t i;

	if ((version = sm_db_schema_version(db)) < 0)
		return sm_db_error(db, sqlite3_errcode(db->db),
		    "cannot read the schema version");
	if (version > latest)
		return sm_error(SM_EDATA, "tenant '%s' has schema version %d, "
		    "newer than this sm knows (%d): upgrade sm", db->slug,
		    version, latest);
	if (version == latest)
		return 0;
	if ((rc = sm_db_begin(db)) != 0)
		return rc;
	/* Another process may have migrated while we waited for the lock. */
	if ((version = sm_db_schema_version(db)) == latest) {
		sm_db_rollback(db);
		return 0;
	}
	for (i = 0; i < sm_nmigrations; i++) {
		if (sm_migrations[i].version <= version)
			continue;
		if ((rc = sm_db_exec(db, sm_migrations[i].sql)) != 0)
			goto fail;
		/* PRAGMA takes no parameters; the number is ours, not input. */
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    sm_migrations[i].version);
		if ((rc = sm_db_exec(db, pragma)) != 0)
			goto fail;
	}
	return sm_db_commit(db);
fail:
	sm_db_rollback(db);
	return rc;
}

static int
set_pragmas(struct sm_db *db, const struct sm_config *cfg)
{
	sqlite3_stmt *stmt;
	int rc;

	sqlite3_busy_timeout(db->db, cfg->busy_timeout_ms);
	/* journal_mode answers with a row; the mode must really be WAL. */
	rc = sqlite3_prepare_v2(db->db, "PRAGMA journal_mode = WAL", -1,
	    &stmt, NULL);
	if (rc != SQLITE_OK)
		return sm_db_error(db, rc, "cannot set WAL mode");
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		rc = sm_db_error(db, rc, "cannot set WAL mode");
		sqlite3_finalize(stmt);
		return rc;
	}
	sqlite3_finalize(stmt);
	if ((rc = sm_db_exec(db, "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = FILE")) != 0)
		return rc;
	return sm_db_cache(db, SM_CACHE_MIB);
}

int
sm_db_cache(struct sm_db *db, int mib)
{
	char pragma[64];

	/* PRAGMA takes no parameters; the number is ours, not input. */
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = %d",
	    -1024 * mib);
	db->mib = mib;
	return sm_db_exec(db, pragma);
}

/*
 * Opens db->path on db->db with the pragmas of every connection; with
 * exclusive, in exclusive locking mode (no -shm file).  Returns 0 or an
 * SM_E* code with a message; db->db is to be closed either way.
 */
static int
connect(struct sm_db *db, const struct sm_config *cfg, int exclusive)
{
	int rc;

	rc = sqlite3_open_v2(db->path, &db->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return sm_db_error(db, rc, "cannot open");
	sqlite3_extended_result_codes(db->db, 1);
	sqlite3_progress_handler(db->db, 1000, progress, NULL);
	db->exclusive = exclusive;
	if (exclusive &&
	    (rc = sm_db_exec(db, "PRAGMA locking_mode = EXCLUSIVE")) != 0)
		return rc;
	return set_pragmas(db, cfg);
}

int
sm_db_open(const struct sm_config *cfg, const char *slug, int flags,
    struct sm_db **out)
{
	struct sm_buf path;
	struct sm_db *db;
	struct stat st;
	int fd, rc;

	*out = NULL;
	sm_buf_init(&path);
	if ((rc = sm_db_path(cfg, slug, &path)) != 0)
		return rc;
	if (flags & SM_DB_CREATE) {
		if ((rc = sm_db_init_dir(cfg)) != 0)
			goto out;
		/* O_EXCL makes "create" atomic: two creates cannot both win. */
		fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0) {
			rc = errno == EEXIST ? sm_error(SM_EEXIST, "tenant "
			    "'%s' exists already", slug) : sm_error(SM_EIO,
			    "cannot create '%s': %s", path.data,
			    strerror(errno));
			goto out;
		}
		close(fd);
	} else if (stat(path.data, &st) != 0) {
		rc = errno == ENOENT ? sm_error(SM_ENOENT, "no tenant '%s' "
		    "in '%s'", slug, cfg->data_dir) : sm_error(SM_EIO,
		    "cannot open '%s': %s", path.data, strerror(errno));
		goto out;
	}
	db = sm_xcalloc(1, sizeof(*db));
	db->flags = flags & SM_DB_READONLY;
	if (!(flags & SM_DB_CREATE)) {
		db->dev = st.st_dev;
		db->ino = st.st_ino;
	}
	snprintf(db->slug, sizeof(db->slug), "%s", slug);
	db->path = sm_xstrdup(path.data);
	rc = connect(db, cfg, 0);
	/*
	 * A reader on a full disk: the shared-memory index of the WAL cannot
	 * be made.  Without it (exclusive locking keeps the index in memory)
	 * nothing is written, at the price of holding off writers, which a
	 * full disk stops anyway, until the reader is done.
	 */
	if (rc == SM_EIO && (flags & SM_DB_READONLY)) {
		sqlite3_close(db->db);
		db->db = NULL;
		rc = connect(db, cfg, 1);
	}
	if (rc != 0 || (rc = migrate(db)) != 0)
		goto fail;
	if ((flags & SM_DB_READONLY) &&
	    (rc = sm_db_exec(db, "PRAGMA query_only = ON")) != 0)
		goto fail;
	*out = db;
	sm_buf_free(&path);
	return 0;
fail:
	sm_db_close(db);
	if (flags & SM_DB_CREATE) {
		unlink(path.data);
		sm_buf_addf(&path, "-wal");
		unlink(path.data);
		path.len -= 4;
		sm_buf_addf(&path, "-shm");
		unlink(path.data);
	}
out:
	sm_buf_free(&path);
	return rc;
}

void
sm_db_close(struct sm_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].stmt);
	free(db->cache);
	sqlite3_close(db->db);
	free(db->path);
	free(db);
}

static void
kept_free(void *arg)
{
	struct kept *k = arg;
	size_t i;

	for (i = 0; i < k->n; i++)
		sm_db_close(k->db[i]);
	free(k);
}

/* Without a key, handles are opened and closed as by the commands. */
static void
kept_init(void)
{
	keeping = pthread_key_create(&kept_key, kept_free) == 0;
}

void
sm_db_keep(void)
{
	pthread_once(&kept_once, kept_init);
}

void
sm_db_kept_close(void)
{
	struct kept *k;

	if (!keeping || (k = pthread_getspecific(kept_key)) == NULL)
		return;
	pthread_setspecific(kept_key, NULL);
	kept_free(k);
}

/* Takes the handle of path (read-only or not) out of this thread's. */
static struct sm_db *
kept_take(const char *path, int ro)
{
	struct kept *k = pthread_getspecific(kept_key);
	struct sm_db *db;
	size_t i;

	if (k == NULL)
		return NULL;
	for (i = 0; i < k->n; i++) {
		db = k->db[i];
		if (db->flags == ro && strcmp(db->path, path) == 0) {
			memmove(&k->db[i], &k->db[i + 1],
			    (k->n - i - 1) * sizeof(k->db[0]));
			k->n--;
			return db;
		}
	}
	return NULL;
}

int
sm_db_open_cached(const struct sm_config *cfg, const char *slug, int flags,
    struct sm_db **out)
{
	struct sm_buf path;
	struct sm_db *db;
	struct stat st;
	int rc;

	if (!keeping || (flags & SM_DB_CREATE))
		return sm_db_open(cfg, slug, flags, out);
	*out = NULL;
	sm_buf_init(&path);
	if ((rc = sm_db_path(cfg, slug, &path)) != 0)
		goto out;
	if (stat(path.data, &st) != 0) {
		rc = errno == ENOENT ? sm_error(SM_ENOENT, "no tenant '%s' "
		    "in '%s'", slug, cfg->data_dir) : sm_error(SM_EIO,
		    "cannot open '%s': %s", path.data, strerror(errno));
		if ((db = kept_take(path.data, flags & SM_DB_READONLY)))
			sm_db_close(db);
		goto out;
	}
	/* The same file still, not one deleted or put in its place. */
	if ((db = kept_take(path.data, flags & SM_DB_READONLY)) != NULL) {
		if (db->dev == st.st_dev && db->ino == st.st_ino &&
		    sqlite3_get_autocommit(db->db)) {
			*out = db;
			goto out;
		}
		sm_db_close(db);
	}
	if ((rc = sm_db_open(cfg, slug, flags, &db)) == 0) {
		db->kept = 1;
		*out = db;
	}
out:
	sm_buf_free(&path);
	return rc;
}

/* 1 when db may serve the next request as a fresh handle would. */
static int
reusable(struct sm_db *db)
{
	sqlite3_stmt *stmt;
	size_t i;

	if (db->exclusive)
		return 0;
	/* A statement stepped and not reset holds its read snapshot. */
	for (i = 0; i < db->ncache; i++)
		sqlite3_reset(db->cache[i].stmt);
	for (stmt = sqlite3_next_stmt(db->db, NULL); stmt != NULL;
	    stmt = sqlite3_next_stmt(db->db, stmt))
		if (sqlite3_stmt_busy(stmt))
			return 0;
	if (!sqlite3_get_autocommit(db->db))
		return 0;
	return db->mib == SM_CACHE_MIB || sm_db_cache(db, SM_CACHE_MIB) == 0;
}

void
sm_db_release(struct sm_db *db)
{
	struct kept *k;

	if (db == NULL)
		return;
	if (!db->kept || !keeping || !reusable(db)) {
		sm_db_close(db);
		return;
	}
	if ((k = pthread_getspecific(kept_key)) == NULL) {
		k = sm_xcalloc(1, sizeof(*k));
		if (pthread_setspecific(kept_key, k) != 0) {
			free(k);
			sm_db_close(db);
			return;
		}
	}
	if (k->n == SM_DB_KEPT)
		sm_db_close(k->db[--k->n]);
	memmove(&k->db[1], &k->db[0], k->n * sizeof(k->db[0]));
	k->db[0] = db;
	k->n++;
}

const char *
sm_db_slug(const struct sm_db *db)
{
	return db->slug;
}

const char *
sm_db_file(const struct sm_db *db)
{
	return db->path;
}

struct sqlite3 *
sm_db_handle(struct sm_db *db)
{
	return db->db;
}

struct sqlite3_stmt *
sm_db_stmt(struct sm_db *db, const char *sql)
{
	sqlite3_stmt *stmt;
	size_t i;
	int rc;

	/* Keyed by the address of the literal: cheap, and exact enough. */
	for (i = 0; i < db->ncache; i++) {
		if (db->cache[i].sql == sql) {
			stmt = db->cache[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL);
	if (rc != SQLITE_OK) {
		sm_db_error(db, rc, "cannot prepare a statement");
		return NULL;
	}
	if (db->ncache == db->capcache) {
		db->capcache = db->capcache ? db->capcache * 2 : 32;
		db->cache = sm_xrealloc(db->cache,
		    db->capcache * sizeof(*db->cache));
	}
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache++].stmt = stmt;
	return stmt;
}

int
sm_db_begin(struct sm_db *db)
{
	int rc;

	/* A run of a group joins the transaction open, if one is. */
	if (db->group && !sqlite3_get_autocommit(db->db))
		return 0;
	if ((rc = sm_db_exec(db, "BEGIN IMMEDIATE")) != 0)
		return rc;
	if (db->group)
		db->txn++;
	return 0;
}

int
sm_db_commit(struct sm_db *db)
{
	return db->group ? 0 : sm_db_exec(db, "COMMIT");
}

void
sm_db_rollback(struct sm_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * No savepoint for each run: one keeps a copy of every page the run
 * changes, to undo it alone, and under the HTTP benchmark those copies
 * (memcpy, and malloc a kilobyte at a time) cost more than running the
 * runs of a group again in the rare case one fails (the caller's part).
 */
void
sm_db_group(struct sm_db *db)
{
	db->group = 1;
}

unsigned long
sm_db_group_txn(struct sm_db *db)
{
	return sqlite3_get_autocommit(db->db) ? 0 : db->txn;
}

int
sm_db_group_end(struct sm_db *db)
{
	int rc = 0;

	if (!db->group)
		return 0;
	db->group = 0;
	if (!sqlite3_get_autocommit(db->db) &&
	    (rc = sm_db_exec(db, "COMMIT")) != 0)
		sm_db_rollback(db);
	return rc;
}

char *
sm_db_meta_get(struct sm_db *db, const char *key)
{
	sqlite3_stmt *stmt;
	char *val = NULL;

	stmt = sm_db_stmt(db, "SELECT value FROM meta WHERE key = ?");
	if (stmt == NULL)
		return NULL;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		val = sm_xstrdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	return val;
}

int
sm_db_meta_set(struct sm_db *db, const char *key, const char *value)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = sm_db_stmt(db, "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (stmt == NULL)
		return SM_EINTERNAL;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sm_db_error(db, rc, "cannot write meta");
	return 0;
}
