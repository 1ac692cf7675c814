/* See LICENSE file for copyright and license details. */
/*
 * drv-files.c: the driver of website and file targets (SPEC §5.8): a
 * directory, {"path":DIR,"format":"json"|"md"}, one file per record.
 *
 *   json   NAME.json holds the record's canonical JSON and a newline.
 *   md     NAME.md, the content file of a static site generator (Hugo):
 *          the canonical JSON as front matter on its first line (Hugo
 *          reads a file that starts with '{' as JSON front matter), then,
 *          when the record's "description" is a non-empty string without
 *          a shortcode mark ("{{<" or "{{%": Hugo would run it, and an
 *          unknown one fails the whole site's build), a blank line, the
 *          description as the Markdown body, and a newline.  Read back,
 *          the record is the front matter; a body that is not the one sm
 *          would write (edited by hand) becomes its "description", so
 *          that an edit of the body is seen as a manual change too.  The
 *          record's fields are the page's front matter: those Hugo
 *          reserves (title, date, url, slug, draft, weight, ...) take
 *          Hugo's meaning.
 *
 * NAME is the external_id with every byte outside [A-Za-z0-9_-], and a
 * leading '-' or '_', written '~' and two upper-case hex digits; the id
 * "index" is "~69ndex".  So a name is never ".", "..", hidden, an
 * option, a path, Hugo's _index.md or index.md (a section's page, a leaf
 * bundle), and holds no '.' (Hugo reads "x.en.md" as x in English) nor
 * '%' (a URL would decode it): "a/b" is a~2Fb.json, "../x" ~2E~2E~2Fx.
 * Only these names are read back (NAME is then decoded), so each name is
 * one id.  An id whose name would pass 255 bytes cannot be a file:
 * SM_PERMANENT.
 *
 * A put or del with expect compares before it writes: the file must
 * hold that hash (sm's, of the record read back, with the target's
 * hash_ignore) or already the new one (a batch delivered but not
 * acknowledged, sent again), else it was edited or deleted by hand:
 * SM_CONFLICT, left as it is.  Without expect (a create, or push's
 * --overwrite-manual) it writes or removes whatever is there.
 * A put writes a temporary file (".sm-PID-N.tmp", synced) in the
 * directory; the batch's commit renames each over its record and
 * unlinks the deleted ones, then syncs the directory once.  A crash
 * leaves every record whole, old or new; a rollback removes the
 * temporary files, and open removes those of processes that are gone.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jv.h>

#include "driver.h"

#define NAME_BYTES	255	/* NAME_MAX of the usual file systems */
#define FILE_BYTES	(64 << 20)	/* a larger file is not a record */
#define TMP_PREFIX	".sm-"

/* A change of the batch, done by commit: a rename, or an unlink. */
struct staged {
	char *tmp;		/* NULL: unlink name */
	char *name;
};

struct files {
	char *path;
	int dirfd;
	int md;
	const char *ext;	/* ".json" or ".md" */
	char **ignore;
	size_t nignore;
	struct staged *st;
	size_t nst, cap;
	unsigned long ntmp;
	struct sm_buf name, text, data, id, reason;
};

static int
safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The file name of id (n bytes) in out; -1 when it has none. */
static int
encode(const char *id, size_t n, const char *ext, struct sm_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;
	size_t i;

	sm_buf_reset(out);
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)id[i];
		if (safe(c) && !(i == 0 && (c == '-' || c == '_' ||
		    (n == 5 && memcmp(id, "index", 5) == 0))))
			sm_buf_addc(out, c);
		else {
			sm_buf_addc(out, '~');
			sm_buf_addc(out, hex[c >> 4]);
			sm_buf_addc(out, hex[c & 15]);
		}
	}
	sm_buf_adds(out, ext);
	return out->len > NAME_BYTES ? -1 : 0;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The id of file name (n bytes without the extension) into f->id: 0, or
 * -1 when the name is not one that encode() writes.
 */
static int
decode(struct files *f, const char *name, size_t n)
{
	struct sm_buf again;
	size_t i;
	int hi, lo, same;

	sm_buf_reset(&f->id);
	for (i = 0; i < n; i++) {
		if (name[i] != '~') {
			sm_buf_addc(&f->id, name[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = unhex(name[i + 1])) < 0 ||
		    (lo = unhex(name[i + 2])) < 0 || (hi == 0 && lo == 0))
			return -1;
		sm_buf_addc(&f->id, hi << 4 | lo);
		i += 2;
	}
	sm_buf_init(&again);
	same = encode(f->id.data, f->id.len, "", &again) == 0 &&
	    again.len == n && memcmp(again.data, name, n) == 0;
	sm_buf_free(&again);
	return same ? 0 : -1;
}

/* The verdict of a failed system call: the disk may come back. */
static int
failed(struct files *f, struct sm_buf *why, const char *what,
    const char *name)
{
	int e = errno;

	sm_buf_reset(why);
	sm_buf_addf(why, "cannot %s '%s/%s': %s", what, f->path, name,
	    strerror(e));
	/* A name this file system refuses can never be written. */
	return e == ENAMETOOLONG || e == EINVAL ? SM_PERMANENT : SM_TRANSIENT;
}

/*
 * Reads the file name into f->text: 0, 1 when there is none, or a
 * verdict.  Not following a symbolic link: what is not a regular file is
 * read as empty, which no format takes for a record.
 */
static int
load(struct files *f, const char *name, struct sm_buf *why)
{
	struct stat sb;
	ssize_t got;
	int fd;

	sm_buf_reset(&f->text);
	fd = openat(f->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 1;
	if (fd == -1 && errno == ELOOP)
		return 0;
	if (fd == -1)
		return failed(f, why, "read", name);
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return failed(f, why, "read", name);
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > FILE_BYTES) {
		close(fd);
		return 0;
	}
	for (;;) {
		sm_buf_grow(&f->text, 65536);
		got = read(fd, f->text.data + f->text.len,
		    f->text.cap - f->text.len - 1);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			close(fd);
			return failed(f, why, "read", name);
		}
		if (got == 0)
			break;
		f->text.len += (size_t)got;
		f->text.data[f->text.len] = '\0';
		if (f->text.len > FILE_BYTES)
			break;
	}
	close(fd);
	return 0;
}

/* The length of the JSON object at the start of s, or 0: not closed. */
static size_t
object_end(const char *s, size_t n)
{
	size_t i;
	int depth = 0, str = 0;

	for (i = 0; i < n; i++) {
		if (str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				str = 0;
		} else if (s[i] == '"')
			str = 1;
		else if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
	}
	return 0;
}

/*
 * The Markdown body sm writes for rec (see the top): a new reference to
 * a string, "" for none.  Does not consume rec.
 */
static jv
md_body(jv rec)
{
	jv d = jv_object_get(jv_copy(rec), jv_string("description"));
	const char *s;

	if (jv_get_kind(d) == JV_KIND_STRING) {
		s = jv_string_value(d);
		if (strstr(s, "{{<") == NULL && strstr(s, "{{%") == NULL &&
		    jv_string_length_bytes(jv_copy(d)) ==
		    (int)strlen(s))
			return d;
	}
	jv_free(d);
	return jv_string("");
}

/*
 * The record held by the text of a file (f->text) in *rec, a new
 * reference: 0, or -1 with the reason in why.
 */
static int
parse(struct files *f, jv *rec, struct sm_buf *why)
{
	struct sm_json_err err;
	const char *s = f->text.data, *b;
	size_t n = f->text.len, end, bn;
	jv v, body;

	sm_buf_reset(why);
	if (n == 0) {
		sm_buf_adds(why, "empty, or not a regular file");
		return -1;
	}
	end = n;
	if (f->md && (s[0] != '{' || (end = object_end(s, n)) == 0)) {
		sm_buf_adds(why, "no JSON front matter");
		return -1;
	}
	if (sm_json_parse(s, end, &v, &err) != 0) {
		sm_buf_addf(why, "byte %zu: %s", err.offset, err.reason);
		return -1;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		sm_buf_adds(why, "not a JSON object");
		return -1;
	}
	if (f->md) {
		/* The framing of the body: "\n" after the front matter,
		   "\n" BODY "\n" when there is one. */
		b = s + end;
		bn = n - end;
		if (bn > 0 && b[0] == '\n')
			b++, bn--;
		if (bn > 0 && b[0] == '\n')
			b++, bn--;
		if (bn > 0 && b[bn - 1] == '\n')
			bn--;
		body = jv_string_sized(b, (int)bn);
		if (!jv_equal(jv_copy(body), md_body(v)))
			v = jv_object_set(v, jv_string("description"), body);
		else
			jv_free(body);
	}
	*rec = v;
	return 0;
}

/*
 * How the file f->name stands against r->expect (not NULL): 0 absent, 1
 * holds expect, 2 holds r->hash already, or a verdict (SM_CONFLICT:
 * anything else).
 */
static int
compare(struct files *f, const struct sm_drec *r, struct sm_buf *why)
{
	char hash[SM_HASH_HEX];
	const char *name = f->name.data;
	jv rec;
	int rc;

	if ((rc = load(f, name, why)) == 1)
		return 0;
	if (rc != 0)
		return rc;
	if (!f->md && f->nignore == 0 && f->text.len > 0 &&
	    f->text.data[f->text.len - 1] == '\n') {
		/* The file as sm wrote it: its bytes are the form. */
		sm_hash_hex(f->text.data, f->text.len - 1, hash);
		if (r->hash != NULL && strcmp(hash, r->hash) == 0)
			return 2;
		if (r->expect != NULL && strcmp(hash, r->expect) == 0)
			return 1;
	}
	if (parse(f, &rec, &f->reason) != 0) {
		sm_buf_reset(why);
		sm_buf_addf(why, "'%s/%s' holds no record (%s): changed by "
		    "hand", f->path, name, f->reason.data);
		return SM_CONFLICT;
	}
	rc = sm_rec_digest(rec, (const char *const *)f->ignore, f->nignore,
	    &f->data, hash);
	jv_free(rec);
	if (rc == 0 && r->hash != NULL && strcmp(hash, r->hash) == 0)
		return 2;
	if (rc == 0 && r->expect != NULL && strcmp(hash, r->expect) == 0)
		return 1;
	sm_buf_reset(why);
	sm_buf_addf(why, "'%s/%s' was changed by hand since sm delivered it",
	    f->path, name);
	return SM_CONFLICT;
}

/* f->name for r, or SM_PERMANENT. */
static int
name_of(struct files *f, const struct sm_drec *r, struct sm_buf *why)
{
	if (encode(r->external_id, strlen(r->external_id), f->ext,
	    &f->name) == 0)
		return 0;
	sm_buf_reset(why);
	sm_buf_addf(why, "external_id of %zu bytes: too long for a file name "
	    "(at most %d bytes once encoded)", strlen(r->external_id),
	    NAME_BYTES);
	return SM_PERMANENT;
}

static void
stage(struct files *f, char *tmp)
{
	if (f->nst == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->st = sm_xrealloc(f->st, f->cap * sizeof(*f->st));
	}
	f->st[f->nst].tmp = tmp;
	f->st[f->nst].name = sm_xstrdup(f->name.data);
	f->nst++;
}

/* Writes f->text to a new temporary file, synced, staged over f->name. */
static int
write_tmp(struct files *f, struct sm_buf *why)
{
	char tmp[64];
	const char *p;
	size_t left;
	ssize_t put;
	int fd, rc;

	do {
		snprintf(tmp, sizeof(tmp), TMP_PREFIX "%ld-%lu.tmp",
		    (long)getpid(), f->ntmp++);
		fd = openat(f->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0644);
	} while (fd == -1 && errno == EEXIST);
	if (fd == -1)
		return failed(f, why, "create", tmp);
	for (p = f->text.data, left = f->text.len; left > 0; ) {
		if ((put = write(fd, p, left)) == -1 && errno == EINTR)
			continue;
		if (put == -1)
			goto fail;
		p += put;
		left -= (size_t)put;
	}
	if (fdatasync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	stage(f, sm_xstrdup(tmp));
	return 0;
fail:
	rc = failed(f, why, "write", tmp);
	if (fd != -1)
		close(fd);
	unlinkat(f->dirfd, tmp, 0);
	return rc;
}

static void
unstage(struct files *f)
{
	size_t i;

	for (i = 0; i < f->nst; i++) {
		if (f->st[i].tmp != NULL)
			unlinkat(f->dirfd, f->st[i].tmp, 0);
		free(f->st[i].tmp);
		free(f->st[i].name);
	}
	f->nst = 0;
}

/* The configured format: 1 md, 0 json, -1 neither. */
static int
format_of(jv config)
{
	jv v = jv_object_get(jv_copy(config), jv_string("format"));
	int md = -1;

	if (jv_get_kind(v) == JV_KIND_NULL || jv_get_kind(v) ==
	    JV_KIND_INVALID)
		md = 0;
	else if (jv_get_kind(v) == JV_KIND_STRING)
		md = strcmp(jv_string_value(v), "md") == 0 ? 1 :
		    strcmp(jv_string_value(v), "json") == 0 ? 0 : -1;
	jv_free(v);
	return md;
}

static int
check(const struct sm_conn *c)
{
	jv path;
	int bad, rc = 0;

	if (jv_get_kind(c->config) != JV_KIND_OBJECT)
		return sm_error(SM_ECONFIG, "target '%s': the connection is "
		    "not an object", c->target);
	jv_object_foreach(c->config, k, v) {
		/* url: the site's address, for people; not read here. */
		if (rc == 0 && strcmp(jv_string_value(k), "path") != 0 &&
		    strcmp(jv_string_value(k), "format") != 0 &&
		    strcmp(jv_string_value(k), "url") != 0)
			rc = sm_error(SM_ECONFIG, "target '%s': unknown "
			    "connection key '%s' (a directory has path, "
			    "format and url)", c->target, jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	if (rc != 0)
		return rc;
	path = jv_object_get(jv_copy(c->config), jv_string("path"));
	bad = jv_get_kind(path) != JV_KIND_STRING ||
	    jv_string_value(path)[0] == '\0' ||
	    jv_string_length_bytes(jv_copy(path)) !=
	    (int)strlen(jv_string_value(path));
	jv_free(path);
	if (bad)
		return sm_error(SM_ECONFIG, "target '%s': connection key "
		    "'path' must name a directory", c->target);
	if (format_of(c->config) < 0)
		return sm_error(SM_ECONFIG, "target '%s': connection key "
		    "'format' must be \"json\" or \"md\"", c->target);
	return 0;
}

/* Removes the temporary files of processes that are gone (a crash). */
static void
sweep(struct files *f)
{
	struct dirent *de;
	DIR *dir;
	long pid;
	int fd;

	if ((fd = openat(f->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL)
		if (sscanf(de->d_name, TMP_PREFIX "%ld-", &pid) == 1 &&
		    pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH)
			unlinkat(f->dirfd, de->d_name, 0);
	closedir(dir);
}

/* mkdir -p path, mode 0755: 0 or -1 with errno. */
static int
mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0755) == -1 && errno != EEXIST ? -1 : 0;
}

static void close_(void *d);

static int
open_(void **d, const struct sm_conn *c, struct sm_buf *why)
{
	struct files *f;
	jv path;
	size_t i;
	int rc, e;

	*d = NULL;
	sm_buf_reset(why);
	if ((rc = check(c)) != 0) {
		sm_buf_adds(why, sm_errmsg());
		return rc;
	}
	f = sm_xcalloc(1, sizeof(*f));
	path = jv_object_get(jv_copy(c->config), jv_string("path"));
	f->path = sm_xstrdup(jv_string_value(path));
	jv_free(path);
	f->md = format_of(c->config);
	f->ext = f->md ? ".md" : ".json";
	f->ignore = sm_xcalloc(c->nignore + 1, sizeof(*f->ignore));
	for (i = 0; i < c->nignore; i++)
		f->ignore[i] = sm_xstrdup(c->ignore[i]);
	f->nignore = c->nignore;
	sm_buf_init(&f->name);
	sm_buf_init(&f->text);
	sm_buf_init(&f->data);
	sm_buf_init(&f->id);
	sm_buf_init(&f->reason);
	if (mkdirs(f->path) == -1 || (f->dirfd = open(f->path, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		e = errno;
		sm_buf_addf(why, "target '%s': cannot open directory '%s': %s",
		    c->target, f->path, strerror(e));
		f->dirfd = -1;
		close_(f);
		/* A file in the way is the config's fault; the rest may pass. */
		if (e == ENOTDIR || e == EEXIST)
			return sm_error(SM_ECONFIG, "%s", why->data);
		return SM_TRANSIENT;
	}
	sweep(f);
	*d = f;
	return 0;
}

static int
begin(void *d, struct sm_buf *why)
{
	(void)why;
	unstage(d);
	return 0;
}

static int
put(void *d, const struct sm_drec *r, struct sm_buf *why)
{
	struct files *f = d;
	jv rec, body;
	int rc;

	if ((rc = name_of(f, r, why)) != 0)
		return rc;
	if (r->expect != NULL && (rc = compare(f, r, why)) == 2)
		return 0;
	if (r->expect != NULL && rc == 0) {
		sm_buf_reset(why);
		sm_buf_addf(why, "'%s/%s' was deleted by hand since sm "
		    "delivered it", f->path, f->name.data);
		return SM_CONFLICT;
	}
	if (rc != 0 && rc != 1)
		return rc;
	sm_buf_reset(&f->text);
	sm_buf_add(&f->text, r->data, r->len);
	sm_buf_addc(&f->text, '\n');
	if (f->md) {
		rec = jv_parse_sized(r->data, (int)r->len);
		if (jv_get_kind(rec) != JV_KIND_OBJECT) {
			jv_free(rec);
			sm_buf_reset(why);
			sm_buf_adds(why, "a record that is not a JSON object "
			    "cannot be front matter");
			return SM_PERMANENT;
		}
		body = md_body(rec);
		if (jv_string_length_bytes(jv_copy(body)) > 0) {
			sm_buf_addc(&f->text, '\n');
			sm_buf_adds(&f->text, jv_string_value(body));
			sm_buf_addc(&f->text, '\n');
		}
		jv_free(body);
		jv_free(rec);
	}
	return write_tmp(f, why);
}

static int
del(void *d, const struct sm_drec *r, struct sm_buf *why)
{
	struct files *f = d;
	int rc;

	if ((rc = name_of(f, r, why)) != 0)
		return rc;
	if (r->expect != NULL && (rc = compare(f, r, why)) == 0)
		return 0;	/* gone already: delivered */
	if (r->expect != NULL && rc != 1 && rc != 2)
		return rc;
	stage(f, NULL);
	return 0;
}

static int
commit(void *d, struct sm_buf *why)
{
	struct files *f = d;
	struct staged *s;
	size_t i;
	int rc = 0;

	if (f->nst == 0)
		return 0;
	for (i = 0; i < f->nst && rc == 0; i++) {
		s = &f->st[i];
		if (s->tmp != NULL && renameat(f->dirfd, s->tmp, f->dirfd,
		    s->name) == -1)
			rc = failed(f, why, "rename over", s->name);
		else if (s->tmp == NULL && unlinkat(f->dirfd, s->name, 0) ==
		    -1 && errno != ENOENT)
			rc = failed(f, why, "remove", s->name);
		else if (s->tmp != NULL) {
			free(s->tmp);
			s->tmp = NULL;
		}
	}
	/* What was renamed stays: sent again, it is found there (2). */
	unstage(f);
	if (rc == 0 && fsync(f->dirfd) == -1)
		rc = failed(f, why, "sync", ".");
	return rc == 0 ? 0 : SM_TRANSIENT;
}

static void
rollback(void *d)
{
	unstage(d);
}

/* Reports a file that is not a record (see struct sm_drec). */
static int
foreign(const char *name, const char *why,
    int (*fn)(const struct sm_drec *, void *), void *arg)
{
	struct sm_drec r = { 0 };

	r.external_id = name;
	r.error = why;
	return fn(&r, arg);
}

/*
 * Every NAME.EXT file of the directory, in its order.  Skipped without a
 * word: other names (hidden ones and temporary files start with '.',
 * Hugo's _index.md and index.md are a section's own) and other
 * extensions.  A NAME.EXT that is not an encoded id, or whose text is
 * not a record, is reported to fn with error set.
 */
static int
list(void *d, int (*fn)(const struct sm_drec *r, void *arg), void *arg,
    struct sm_buf *why)
{
	struct files *f = d;
	struct sm_drec r;
	struct dirent *de;
	char hash[SM_HASH_HEX];
	size_t n, ext = strlen(f->ext);
	DIR *dir;
	jv rec;
	int fd, rc = 0;

	sm_buf_reset(why);
	if ((fd = openat(f->dirfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return failed(f, why, "read", ".");
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return failed(f, why, "read", ".");
	}
	for (errno = 0; rc == 0 && (de = readdir(dir)) != NULL; errno = 0) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || de->d_name[0] == '_' ||
		    n <= ext || strcmp(de->d_name + n - ext, f->ext) != 0 ||
		    (n == ext + 5 && memcmp(de->d_name, "index", 5) == 0))
			continue;
		if (decode(f, de->d_name, n - ext) != 0) {
			rc = foreign(de->d_name, "not a file name sm writes",
			    fn, arg);
			continue;
		}
		if ((rc = load(f, de->d_name, why)) == 1) {
			rc = 0;		/* removed meanwhile */
			continue;
		}
		if (rc != 0)
			break;
		if (parse(f, &rec, &f->reason) != 0) {
			rc = foreign(de->d_name, f->reason.data, fn, arg);
			continue;
		}
		rc = sm_rec_digest(rec, NULL, 0, &f->data, hash);
		jv_free(rec);
		if (rc != 0) {
			rc = foreign(de->d_name, sm_errmsg(), fn, arg);
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.external_id = f->id.data;
		r.data = f->data.data;
		r.len = f->data.len;
		rc = fn(&r, arg);
	}
	if (rc == 0 && errno != 0)
		rc = failed(f, why, "read", ".");
	closedir(dir);
	return rc;
}

static void
close_(void *d)
{
	struct files *f = d;

	if (f == NULL)
		return;
	if (f->dirfd != -1) {
		unstage(f);
		close(f->dirfd);
	}
	free(f->st);
	sm_strv_free(f->ignore);
	free(f->path);
	sm_buf_free(&f->name);
	sm_buf_free(&f->text);
	sm_buf_free(&f->data);
	sm_buf_free(&f->id);
	sm_buf_free(&f->reason);
	free(f);
}

const struct sm_driver sm_driver_files = {
	"files", check, open_, begin, put, del, commit, rollback, list, close_,
	NULL
};
