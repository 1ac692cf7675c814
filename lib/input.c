/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm.h"

/*
 * The one input loop of every command.  A file is read through a fixed
 * read buffer; a record that lies entirely in it is returned as a pointer
 * into it, and only a record that straddles two reads is copied into the
 * record buffer, which never holds more than max + 1 bytes.  The rest of
 * an over-long record streams to the spill file and is then dropped.
 */

#define RBUF_SIZE	(64 * 1024)
#define KEEP_OPEN	64		/* files left open by the check */
#define DEFAULT_MAX	(16 * 1024 * 1024)

enum mode {
	MODE_START,	/* at the start: BOM and the first byte not yet seen */
	MODE_NDJSON,
	MODE_ARRAY
};

/*
 * Where the scanner of a JSON array file stands.  It only finds where
 * elements begin and end; whether they are valid JSON is checked later.
 */
enum astate {
	A_OPEN,		/* after '[': an element or ']' */
	A_COMMA,	/* after ',': an element */
	A_ELEM,		/* inside an element */
	A_AFTER,	/* after an element: ',' or ']' */
	A_DONE		/* after the final ']': only whitespace */
};

struct infile {
	char *name;
	int fd;			/* -1: not open */
	int isstdin;
	int isreg;
	uint64_t size;		/* when isreg */
};

struct sm_input {
	struct infile *files;
	size_t nfiles;
	size_t cur;		/* index of the file being read */
	int active;		/* files[cur] has been started */
	size_t max;
	FILE *spill;
	int64_t total;		/* sum of the sizes, or -1 */
	uint64_t nread;		/* bytes read (or skipped) over all files */
	uint64_t fread;		/* bytes read of the current file */

	/* State of the current file. */
	int eof;
	int bomseen;		/* the BOM check is done */
	enum mode mode;
	size_t line;		/* line of rbuf[rpos] */
	char *rbuf;
	size_t rpos, rend;

	/* A record being assembled across reads. */
	char *rec;
	size_t reclen, reccap;
	int overlong;		/* the record exceeds max; rest goes to spill */
	int pendcr;		/* a CR held back from spill */

	/* The array scanner. */
	enum astate astate;
	size_t arrline;		/* line of the '[' */
	size_t recline;		/* line of the element's first byte */
	size_t depth;
	int instr, esc;
};

static int
isws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Opens one operand; "-" is stdin.  Fills fd and the size fields.
 * Returns 0, SM_ENOENT when the file is missing or not readable (a
 * directory included), SM_EIO otherwise.
 */
static int
open_file(struct infile *f)
{
	struct stat st;
	int rc;

	if (f->isstdin)
		f->fd = STDIN_FILENO;
	else if ((f->fd = open(f->name, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT || errno == ENOTDIR || errno == EACCES ||
		    errno == ELOOP || errno == ENAMETOOLONG ? SM_ENOENT :
		    SM_EIO;
		return sm_error(rc, "cannot open '%s': %s", f->name,
		    strerror(errno));
	}
	if (fstat(f->fd, &st) == -1) {
		rc = sm_error(SM_EIO, "cannot open '%s': %s", f->name,
		    strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = sm_error(SM_ENOENT, "cannot read '%s': %s", f->name,
		    strerror(EISDIR));
		goto fail;
	}
	f->isreg = S_ISREG(st.st_mode);
	f->size = f->isreg && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
fail:
	if (!f->isstdin)
		close(f->fd);
	f->fd = -1;
	return rc;
}

/*
 * Opens the input over files (see sm.h).  Every operand is opened here
 * so that a missing one fails before any record is read; the first
 * KEEP_OPEN regular files and every other kind stay open, later regular
 * files are opened again when their turn comes (so that a long list does
 * not run out of descriptors).  On failure *inp is NULL and nothing is
 * left open.
 */
int
sm_input_open(struct sm_input **inp, char *const *files, size_t nfiles,
    size_t max, FILE *spill)
{
	struct sm_input *in;
	struct infile *f;
	size_t i;
	int rc;

	*inp = NULL;
	in = sm_xcalloc(1, sizeof(*in));
	if (files == NULL || nfiles == 0) {
		in->nfiles = 1;
		in->files = sm_xcalloc(1, sizeof(*in->files));
		in->files[0].name = sm_xstrdup("-");
	} else {
		in->nfiles = nfiles;
		in->files = sm_xcalloc(nfiles, sizeof(*in->files));
		for (i = 0; i < nfiles; i++)
			in->files[i].name = sm_xstrdup(files[i]);
	}
	for (i = 0; i < in->nfiles; i++)
		in->files[i].fd = -1;
	for (i = 0; i < in->nfiles; i++) {
		f = &in->files[i];
		f->isstdin = strcmp(f->name, "-") == 0;
		if ((rc = open_file(f)) != 0) {
			sm_input_close(in);
			return rc;
		}
		if (f->isreg && in->total >= 0)
			in->total += (int64_t)f->size;
		else
			in->total = -1;
		if (i >= KEEP_OPEN && f->isreg && !f->isstdin) {
			close(f->fd);
			f->fd = -1;
		}
	}
	if (max == 0)
		max = DEFAULT_MAX;
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	in->max = max;
	in->spill = spill;
	in->rbuf = sm_xmalloc(RBUF_SIZE);
	*inp = in;
	return 0;
}

/* Starts reading files[cur]: opens it again if needed, resets the state. */
static int
file_begin(struct sm_input *in)
{
	struct infile *f = &in->files[in->cur];
	int rc;

	if (f->fd == -1 && (rc = open_file(f)) != 0)
		return rc;
	in->active = 1;
	in->eof = 0;
	in->bomseen = 0;
	in->mode = MODE_START;
	in->line = 1;
	in->rpos = in->rend = 0;
	in->reclen = 0;
	in->overlong = 0;
	in->pendcr = 0;
	in->fread = 0;
	return 0;
}

/*
 * Ends files[cur], read or not, and moves to the next one.  Bytes left
 * unread count as consumed, so that progress still reaches the total.
 */
static void
file_end(struct sm_input *in)
{
	struct infile *f = &in->files[in->cur];

	if (f->fd != -1 && !f->isstdin)
		close(f->fd);
	f->fd = -1;
	if (f->isreg && f->size > in->fread)
		in->nread += f->size - in->fread;
	in->rpos = in->rend = 0;
	in->reclen = 0;
	in->overlong = 0;
	in->active = 0;
	in->cur++;
}

/*
 * Reads more of the current file: into an empty buffer from its start,
 * else after what it holds.  Returns 1 when bytes came, 0 at the end of
 * the file, SM_EIO on a read error, SM_EINTR when a signal caught by
 * sm_signals_catch() interrupted the read (it is retried on the next
 * call).  Once the end was seen it is never read again (a terminal).
 */
static int
fill(struct sm_input *in)
{
	struct infile *f = &in->files[in->cur];
	ssize_t n;

	if (in->rpos == in->rend)
		in->rpos = in->rend = 0;
	if (in->eof || in->rend == RBUF_SIZE)
		return 0;
	for (;;) {
		n = read(f->fd, in->rbuf + in->rend, RBUF_SIZE - in->rend);
		if (n > 0) {
			in->rend += (size_t)n;
			in->nread += (uint64_t)n;
			in->fread += (uint64_t)n;
			return 1;
		}
		if (n == 0) {
			in->eof = 1;
			return 0;
		}
		if (errno != EINTR)
			return sm_error(SM_EIO, "cannot read '%s': %s",
			    f->name, strerror(errno));
		if (sm_interrupted())
			return sm_error(SM_EINTR, "interrupted");
	}
}

/* Records a structural error of the current file at the current line. */
static int __attribute__((format(printf, 3, 4)))
data_error(struct sm_input *in, struct sm_rawrec *rec, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	rec->text = NULL;
	rec->len = 0;
	rec->file = in->files[in->cur].name;
	rec->line = in->line;
	rec->overlong = 0;
	return sm_error(SM_EDATA, "%s:%zu: %s", rec->file, rec->line, reason);
}

/*
 * Writes raw bytes of an over-long record to the spill file.  A CR that
 * ends a chunk is held back: it is written before the next chunk, or
 * dropped by spill_end() when it was the CR of a CRLF line end.  Write
 * errors stay on the stream for the caller's ferror().
 */
static void
spill_write(struct sm_input *in, const char *p, size_t n)
{
	if (in->spill == NULL || n == 0)
		return;
	if (in->pendcr) {
		putc('\r', in->spill);
		in->pendcr = 0;
	}
	if (p[n - 1] == '\r') {
		n--;
		in->pendcr = 1;
	}
	fwrite(p, 1, n, in->spill);
}

/* Ends a spilled record with a newline; a held-back CR is kept if keepcr. */
static void
spill_end(struct sm_input *in, int keepcr)
{
	if (in->spill == NULL)
		return;
	if (in->pendcr && keepcr)
		putc('\r', in->spill);
	in->pendcr = 0;
	putc('\n', in->spill);
}

/* Appends to the record buffer, which the callers keep within max + 1. */
static void
rec_add(struct sm_input *in, const char *p, size_t n)
{
	size_t want;

	if (in->reclen + n > in->reccap) {
		want = in->reccap ? in->reccap : 4096;
		while (want < in->reclen + n)
			want *= 2;
		if (want > in->max + 1)
			want = in->max + 1;
		in->rec = sm_xrealloc(in->rec, want);
		in->reccap = want;
	}
	memcpy(in->rec + in->reclen, p, n);
	in->reclen += n;
}

/*
 * Adds a piece of a record that straddles reads.  Once the record grows
 * past limit it is over-long: what was kept and everything after goes to
 * the spill file, and the record buffer keeps only the first max bytes.
 */
static void
stash(struct sm_input *in, const char *p, size_t n, size_t limit)
{
	if (in->overlong) {
		spill_write(in, p, n);
		return;
	}
	if (in->reclen + n <= limit) {
		rec_add(in, p, n);
		return;
	}
	in->overlong = 1;
	spill_write(in, in->rec, in->reclen);
	spill_write(in, p, n);
	if (in->reclen < in->max)
		rec_add(in, p, in->max - in->reclen);
	else
		in->reclen = in->max;
}

static int
emit(struct sm_input *in, struct sm_rawrec *rec, const char *text,
    size_t len, size_t line, int overlong)
{
	rec->text = text;
	rec->len = len;
	rec->file = in->files[in->cur].name;
	rec->line = line;
	rec->overlong = overlong;
	return 1;
}

/*
 * Skips the optional BOM, then looks at the first byte that is not
 * whitespace: '[' makes the file an array, anything else NDJSON.  Lines
 * of whitespace before it are consumed (they would be skipped anyway);
 * the line that holds it is left whole for the NDJSON reader.
 * Returns 0 (mode set, or the file ended) or an error of fill().
 */
static int
detect(struct sm_input *in)
{
	size_t p;
	int rc;

	if (!in->bomseen) {
		while (in->rend < 3 && !in->eof)
			if ((rc = fill(in)) < 0)
				return rc;
		if (in->rend >= 3 && memcmp(in->rbuf, "\xef\xbb\xbf", 3) == 0)
			in->rpos = 3;
		in->bomseen = 1;
	}
	for (;;) {
		for (p = in->rpos; p < in->rend; p++) {
			if (in->rbuf[p] == '\n') {
				in->line++;
				in->rpos = p + 1;
			} else if (!isws((unsigned char)in->rbuf[p]))
				break;
		}
		if (p < in->rend) {
			if (in->rbuf[p] == '[') {
				in->mode = MODE_ARRAY;
				in->astate = A_OPEN;
				in->arrline = in->line;
				in->rpos = p + 1;
			} else
				in->mode = MODE_NDJSON;
			return 0;
		}
		/* Only whitespace so far: drop it and read on. */
		in->rpos = in->rend;
		if ((rc = fill(in)) < 0)
			return rc;
		if (rc == 0) {
			file_end(in);
			return 0;
		}
	}
}

static int
blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isws((unsigned char)p[i]))
			return 0;
	return 1;
}

/*
 * A complete NDJSON line: p, n without the LF, either in the read buffer
 * or, when the line began in an earlier read, its last piece.  Returns 1
 * with *rec filled, 0 for a blank line.
 */
static int
finish_line(struct sm_input *in, struct sm_rawrec *rec, const char *p,
    size_t n)
{
	size_t line = in->line++;

	if (in->reclen > 0 || in->overlong) {
		stash(in, p, n, in->max + 1);
		if (in->overlong) {
			spill_end(in, 0);
			in->overlong = 0;
			n = in->reclen;
			in->reclen = 0;
			return emit(in, rec, in->rec, n, line, 1);
		}
		p = in->rec;
		n = in->reclen;
		in->reclen = 0;
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (blank(p, n))
		return 0;
	if (n > in->max) {
		spill_write(in, p, n);
		spill_end(in, 1);
		return emit(in, rec, p, in->max, line, 1);
	}
	return emit(in, rec, p, n, line, 0);
}

/* The next record of an NDJSON file; 0 when the file ended. */
static int
next_line(struct sm_input *in, struct sm_rawrec *rec)
{
	const char *p, *nl;
	size_t n;
	int rc;

	for (;;) {
		p = in->rbuf + in->rpos;
		n = in->rend - in->rpos;
		if ((nl = n > 0 ? memchr(p, '\n', n) : NULL) != NULL) {
			n = (size_t)(nl - p);
			in->rpos += n + 1;
			if ((rc = finish_line(in, rec, p, n)) != 0)
				return rc;
			continue;
		}
		if (in->eof) {
			if (n == 0 && in->reclen == 0 && !in->overlong) {
				file_end(in);
				return 0;
			}
			in->rpos = in->rend;
			if ((rc = finish_line(in, rec, p, n)) != 0)
				return rc;
			continue;
		}
		if (n > 0) {
			stash(in, p, n, in->max + 1);
			in->rpos = in->rend;
		}
		if ((rc = fill(in)) < 0)
			return rc;
	}
}

/* Skips whitespace; returns 1 at a byte, 0 at the end, or fill()'s error. */
static int
skipws(struct sm_input *in)
{
	int c, rc;

	for (;;) {
		for (; in->rpos < in->rend; in->rpos++) {
			c = (unsigned char)in->rbuf[in->rpos];
			if (c == '\n')
				in->line++;
			else if (!isws(c))
				return 1;
		}
		if ((rc = fill(in)) <= 0)
			return rc;
	}
}

/* An element ends at rbuf[end]: returns it (1). */
static int
finish_elem(struct sm_input *in, struct sm_rawrec *rec, size_t end)
{
	const char *p = in->rbuf + in->rpos;
	size_t n = end - in->rpos;

	in->rpos = end;
	in->astate = A_AFTER;
	if (in->reclen > 0 || in->overlong) {
		stash(in, p, n, in->max);
		n = in->reclen;
		in->reclen = 0;
		if (in->overlong) {
			spill_end(in, 1);
			in->overlong = 0;
			return emit(in, rec, in->rec, n, in->recline, 1);
		}
		return emit(in, rec, in->rec, n, in->recline, 0);
	}
	if (n > in->max) {
		spill_write(in, p, n);
		spill_end(in, 1);
		return emit(in, rec, p, in->max, in->recline, 1);
	}
	return emit(in, rec, p, n, in->recline, 0);
}

/*
 * Scans an element: strings (with escapes) and bracket depth are
 * tracked, so that a ',' or ']' inside a string or a nested value does
 * not end it.  It ends at a ',', ']', '}' or whitespace outside any
 * string at depth 0, or just after the bracket that closes it.
 */
static int
scan_elem(struct sm_input *in, struct sm_rawrec *rec)
{
	size_t i;
	int c, rc;

	for (;;) {
		for (i = in->rpos; i < in->rend; i++) {
			c = (unsigned char)in->rbuf[i];
			if (in->instr) {
				if (in->esc)
					in->esc = 0;
				else if (c == '\\')
					in->esc = 1;
				else if (c == '"')
					in->instr = 0;
				else if (c == '\n')
					in->line++;
				continue;
			}
			switch (c) {
			case '"':
				in->instr = 1;
				break;
			case '{':
			case '[':
				in->depth++;
				break;
			case '}':
			case ']':
				if (in->depth == 0)
					return finish_elem(in, rec, i);
				if (--in->depth == 0)
					return finish_elem(in, rec, i + 1);
				break;
			case '\n':
				if (in->depth == 0)
					return finish_elem(in, rec, i);
				in->line++;
				break;
			case ',':
			case ' ':
			case '\t':
			case '\r':
				if (in->depth == 0)
					return finish_elem(in, rec, i);
				break;
			}
		}
		stash(in, in->rbuf + in->rpos, in->rend - in->rpos, in->max);
		in->rpos = in->rend;
		if ((rc = fill(in)) < 0)
			return rc;
		if (rc == 0)
			return data_error(in, rec, "unexpected end of file: "
			    "the array opened at line %zu is not closed",
			    in->arrline);
	}
}

/* The next element of a JSON array file; 0 when the file ended. */
static int
next_elem(struct sm_input *in, struct sm_rawrec *rec)
{
	int c, rc;

	for (;;) {
		if (in->astate == A_ELEM)
			return scan_elem(in, rec);
		if ((rc = skipws(in)) < 0)
			return rc;
		if (rc == 0) {
			if (in->astate == A_DONE) {
				file_end(in);
				return 0;
			}
			return data_error(in, rec, "unexpected end of file: "
			    "the array opened at line %zu is not closed",
			    in->arrline);
		}
		c = (unsigned char)in->rbuf[in->rpos];
		switch (in->astate) {
		case A_DONE:
			return data_error(in, rec,
			    "unexpected data after the array");
		case A_AFTER:
			if (c == ',')
				in->astate = A_COMMA;
			else if (c == ']')
				in->astate = A_DONE;
			else
				return data_error(in, rec, "expected ',' or "
				    "']' after an array element, not '%c'", c);
			in->rpos++;
			break;
		case A_OPEN:
			if (c == ']') {
				in->astate = A_DONE;
				in->rpos++;
				break;
			}
			/* FALLTHROUGH */
		case A_COMMA:
			if (c == ',' || c == ']' || c == '}')
				return data_error(in, rec, "expected an array "
				    "element, not '%c'", c);
			in->astate = A_ELEM;
			in->recline = in->line;
			in->depth = 0;
			in->instr = in->esc = 0;
			in->reclen = 0;
			in->overlong = 0;
			break;
		case A_ELEM:
			break;
		}
	}
}

/*
 * Reads the next record (see sm.h).  After SM_EDATA or SM_EIO the rest
 * of the file is skipped; rec then names the file and the line of the
 * problem (text NULL), and the message starts with "FILE:LINE: " for
 * SM_EDATA.  SM_EINTR (a caught signal interrupted a read) loses nothing:
 * the next call goes on where this one stopped.
 */
int
sm_input_next(struct sm_input *in, struct sm_rawrec *rec)
{
	int rc;

	for (;;) {
		if (in->cur >= in->nfiles)
			return 0;
		if (!in->active && (rc = file_begin(in)) != 0) {
			file_end(in);
			return rc;
		}
		switch (in->mode) {
		case MODE_START:
			rc = detect(in);
			break;
		case MODE_NDJSON:
			rc = next_line(in, rec);
			break;
		case MODE_ARRAY:
			rc = next_elem(in, rec);
			break;
		default:
			rc = sm_error(SM_EINTERNAL, "bad input mode");
		}
		if (rc > 0)
			return rc;
		if (rc < 0) {
			if (rc != SM_EINTR && in->active)
				file_end(in);
			return rc;
		}
	}
}

/*
 * Bytes consumed so far (records returned, and files skipped after an
 * error) and the total size of the input, or -1 when an operand is not
 * a regular file.
 */
void
sm_input_progress(struct sm_input *in, uint64_t *done, int64_t *total)
{
	*done = in->nread - (in->rend - in->rpos);
	*total = in->total;
}

/* Closes every file still open (not stdin) and frees in; NULL is fine. */
void
sm_input_close(struct sm_input *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nfiles; i++) {
		if (in->files[i].fd != -1 && !in->files[i].isstdin)
			close(in->files[i].fd);
		free(in->files[i].name);
	}
	free(in->files);
	free(in->rbuf);
	free(in->rec);
	free(in);
}
