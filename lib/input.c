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
#include "sm-private.h"

/*
 * The one input loop of every command.  A file is read through a fixed
 * read buffer; a record that lies entirely in it is returned as a pointer
 * into it, and only a record that straddles two reads is copied into the
 * record buffer, which never holds more than max + 1 bytes.  The rest of
 * an over-long record streams to the spill file and is then dropped.
 *
 * A file is a sequence of JSON texts separated by whitespace, as jq reads
 * them: NDJSON is the case of one text a line.  An object is a record;
 * an array's elements are records; anything else is handed on as it is
 * (the rest of its line), for the parser to reject.  The reader finds
 * where a value ends by its brackets and strings; whether it is valid
 * JSON is the parser's business.
 *
 * Nothing is dropped when the structure breaks.  A value that cannot be
 * right (a line break inside a string), or that is still open when a
 * line starts with '{' no further right than the value began (a truncated
 * NDJSON line before the next record; a jq-printed element before the
 * next element), ends there: everything up to that line is one record
 * with an error, and reading goes on with the '{'.  A value still open at
 * the end of the file is such a record too.  Stray bytes between array
 * elements, a missing or doubled ',' and an unclosed array are reported
 * as records with an error of their own, the elements around them read
 * as usual.
 */

#define RBUF_SIZE	(64 * 1024)
#define KEEP_OPEN	64		/* files left open by the check */
#define DEFAULT_MAX	(16 * 1024 * 1024)

/* Where the reader stands inside a top-level array. */
enum apos {
	A_FIRST,	/* after '[': an element or ']' */
	A_NEXT,		/* after ',' (or a broken element): an element */
	A_AFTER		/* after an element: ',' or ']' */
};

struct infile {
	char *name;
	int fd;			/* -1: not open */
	int isstdin;
	int isreg;
	uint64_t size;		/* when isreg */
	const char *mem;	/* a buffer in memory, when not NULL */
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
	size_t line;		/* line of rbuf[rpos] */
	uint64_t bol;		/* file offset of the first byte of that line */
	char *rbuf;
	size_t rpos, rend;

	/* A record being assembled across reads. */
	char *rec;
	size_t reclen, reccap;
	int overlong;		/* the record exceeds max; rest goes to spill */
	int pendcr;		/* a CR held back from spill */

	/* Inside a top-level array. */
	int one_array;		/* the input is one array: 1 before it, 2 after */
	int inarray;
	enum apos apos;
	size_t arrline;		/* line of its '[' */

	/* The value being scanned, from rbuf[rpos] on. */
	int scanning;
	size_t recline;		/* line of its first byte */
	uint64_t recoff;	/* file offset of its first byte */
	uint64_t reccol;	/* column of its first byte */
	size_t depth;
	int instr, esc;
	int tail;		/* after its closing bracket: 1 on the rest of
				   its line, 2 when that holds more than space */
	int atbol;		/* in the indentation of a line */
	uint64_t indent;
	const char *broken;	/* why it cannot be valid, or NULL */
	size_t brokenline;
	int nocomma;		/* an element that follows another without ',' */
	char why[320];		/* the error of the record returned */
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

/* What the two ways of opening share. */
static void
input_setup(struct sm_input *in, size_t max, FILE *spill)
{
	if (max == 0)
		max = DEFAULT_MAX;
	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	in->max = max;
	in->spill = spill;
	in->rbuf = sm_xmalloc(RBUF_SIZE);
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
	input_setup(in, max, spill);
	*inp = in;
	return 0;
}

/*
 * Opens the input over a buffer in memory (an HTTP body), read as a file
 * named name would be.  buf must stay as it is until sm_input_close().
 */
void
sm_input_open_mem(struct sm_input **inp, const char *name, const char *buf,
    size_t len, size_t max, FILE *spill)
{
	struct sm_input *in;

	in = sm_xcalloc(1, sizeof(*in));
	in->nfiles = 1;
	in->files = sm_xcalloc(1, sizeof(*in->files));
	in->files[0].name = sm_xstrdup(name);
	in->files[0].fd = -1;
	in->files[0].mem = buf != NULL ? buf : "";
	in->files[0].isreg = 1;
	in->files[0].size = len;
	in->total = (int64_t)len;
	input_setup(in, max, spill);
	*inp = in;
}

void
sm_input_one_array(struct sm_input *in)
{
	in->one_array = 1;
}

/* Starts reading files[cur]: opens it again if needed, resets the state. */
static int
file_begin(struct sm_input *in)
{
	struct infile *f = &in->files[in->cur];
	int rc;

	if (f->mem == NULL && f->fd == -1 && (rc = open_file(f)) != 0)
		return rc;
	in->active = 1;
	in->eof = 0;
	in->bomseen = 0;
	in->line = 1;
	in->bol = 0;
	in->rpos = in->rend = 0;
	in->reclen = 0;
	in->overlong = 0;
	in->pendcr = 0;
	in->fread = 0;
	in->inarray = 0;
	in->scanning = 0;
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
	if (f->mem != NULL) {
		n = (ssize_t)(f->size - in->fread);
		if ((size_t)n > RBUF_SIZE - in->rend)
			n = (ssize_t)(RBUF_SIZE - in->rend);
		if (n == 0) {
			in->eof = 1;
			return 0;
		}
		memcpy(in->rbuf + in->rend, f->mem + in->fread, (size_t)n);
		in->rend += (size_t)n;
		in->nread += (uint64_t)n;
		in->fread += (uint64_t)n;
		return 1;
	}
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

/* The file offset of rbuf[i]. */
static uint64_t
offset_of(const struct sm_input *in, size_t i)
{
	return in->fread - in->rend + i;
}

/* Counts the line end at rbuf[i]. */
static void
newline(struct sm_input *in, size_t i)
{
	in->line++;
	in->bol = offset_of(in, i) + 1;
}

static int
emit(struct sm_input *in, struct sm_rawrec *rec, const char *text,
    size_t len, size_t line, int overlong)
{
	rec->text = text;
	rec->len = len;
	/* Where it began: in the read buffer, or kept from value_begin. */
	rec->offset = in->rec != NULL && text == in->rec ? in->recoff :
	    offset_of(in, (size_t)(text - in->rbuf));
	rec->file = in->files[in->cur].name;
	rec->line = line;
	rec->overlong = overlong;
	rec->error = NULL;
	rec->valid = 0;
	return 1;
}

/*
 * A record that is only an error, at the current line: a structural
 * fault between records that holds no bytes of one.  Returns 1.
 */
static int __attribute__((format(printf, 3, 4)))
fault(struct sm_input *in, struct sm_rawrec *rec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	emit(in, rec, in->rbuf + in->rpos, 0, in->line, 0);
	rec->error = in->why;
	return 1;
}

/* Skips the optional UTF-8 BOM.  Returns 0 or an error of fill(). */
static int
skip_bom(struct sm_input *in)
{
	int rc;

	while (in->rend < 3 && !in->eof)
		if ((rc = fill(in)) < 0)
			return rc;
	if (in->rend >= 3 && memcmp(in->rbuf, "\xef\xbb\xbf", 3) == 0)
		in->rpos = 3;
	in->bomseen = 1;
	return 0;
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
				newline(in, in->rpos);
			else if (!isws(c))
				return 1;
		}
		if ((rc = fill(in)) <= 0)
			return rc;
	}
}

/*
 * The rest of the line from rbuf[rpos], as one record: text at the top
 * level that is no object or array, handed to the parser to judge.
 * Returns 1, or an error of fill().
 */
static int
rest_of_line(struct sm_input *in, struct sm_rawrec *rec)
{
	const char *p, *nl;
	size_t n, line = in->line;
	int rc;

	in->recoff = offset_of(in, in->rpos);
	for (;;) {
		p = in->rbuf + in->rpos;
		n = in->rend - in->rpos;
		if ((nl = memchr(p, '\n', n)) != NULL || in->eof) {
			if (nl != NULL) {
				n = (size_t)(nl - p);
				newline(in, in->rpos + n);
				in->rpos += n + 1;
			} else
				in->rpos = in->rend;
			if (in->reclen > 0 || in->overlong) {
				stash(in, p, n, in->max + 1);
				p = in->rec;
				n = in->reclen;
				in->reclen = 0;
			}
			if (in->overlong) {
				spill_end(in, 0);
				in->overlong = 0;
				return emit(in, rec, p, n, line, 1);
			}
			while (n > 0 && isws((unsigned char)p[n - 1]))
				n--;
			if (n > in->max) {
				spill_write(in, p, n);
				spill_end(in, 1);
				return emit(in, rec, p, in->max, line, 1);
			}
			return emit(in, rec, p, n, line, 0);
		}
		stash(in, p, n, in->max + 1);
		in->rpos = in->rend;
		if ((rc = fill(in)) < 0)
			return rc;
	}
}

/* A value starts at rbuf[rpos]. */
static void
value_begin(struct sm_input *in, int nocomma)
{
	in->scanning = 1;
	in->recline = in->line;
	in->recoff = offset_of(in, in->rpos);
	in->reccol = in->recoff - in->bol;
	in->depth = 0;
	in->instr = in->esc = 0;
	in->tail = 0;
	in->atbol = 0;
	in->indent = 0;
	in->broken = NULL;
	in->nocomma = nocomma;
	in->reclen = 0;
	in->overlong = 0;
}

/*
 * Ends the value being scanned at rbuf[end] (exclusive) and returns it
 * (1), trailing whitespace left out, with why as its error (NULL: none
 * known, beyond a missing ',' before it).
 */
static int
value_end(struct sm_input *in, struct sm_rawrec *rec, size_t end,
    const char *why)
{
	const char *p = in->rbuf + in->rpos;
	size_t n = end - in->rpos;
	int overlong = 0;

	in->rpos = end;
	in->scanning = 0;
	if (in->reclen > 0 || in->overlong) {
		stash(in, p, n, in->max);
		p = in->rec;
		n = in->reclen;
		in->reclen = 0;
		if (in->overlong) {
			spill_end(in, 1);
			in->overlong = 0;
			overlong = 1;
		}
	} else if (n > in->max) {
		spill_write(in, p, n);
		spill_end(in, 1);
		n = in->max;
		overlong = 1;
	}
	while (!overlong && n > 0 && isws((unsigned char)p[n - 1]))
		n--;
	emit(in, rec, p, n, in->recline, overlong);
	if (why == NULL && in->nocomma)
		why = "expected ',' before this array element";
	rec->error = why;
	return 1;
}

/*
 * Words the error of a value that ends broken or unclosed: what went
 * wrong, and when it spans several lines, which and how many bytes,
 * up to the line before last (the next record) or the end of the input.
 */
static const char *
broken_why(struct sm_input *in, const char *what, size_t last,
    uint64_t end, int ateof)
{
	size_t n;

	n = (size_t)snprintf(in->why, sizeof(in->why), "%s", what);
	if (last > in->recline && n < sizeof(in->why))
		snprintf(in->why + n, sizeof(in->why) - n, " (lines %zu-%zu, "
		    "%llu bytes, rejected up to %s)", in->recline, last,
		    (unsigned long long)(end - in->recoff), ateof ?
		    "the end of the input" : "the next record");
	return in->why;
}

/* Why a broken value is: the line named when it is not the first. */
static void
broken_what(struct sm_input *in, char *what, size_t n)
{
	if (in->brokenline == in->recline)
		snprintf(what, n, "invalid JSON: %s", in->broken);
	else
		snprintf(what, n, "invalid JSON: %s at line %zu", in->broken,
		    in->brokenline);
}

/*
 * A line that starts with '{' at rbuf[i] ends the broken or unclosed
 * value: it is returned with its error, and reading goes on at the '{'.
 */
static int
value_cut(struct sm_input *in, struct sm_rawrec *rec, size_t i)
{
	char what[160];

	if (in->broken != NULL)
		broken_what(in, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "invalid JSON: the %s is not "
		    "closed before line %zu", in->inarray ? "array element" :
		    "record", in->line);
	broken_why(in, what, in->line - 1, in->bol, 0);
	if (in->inarray)
		in->apos = A_NEXT;
	return value_end(in, rec, i, in->why);
}

/* The file ended inside the value being scanned. */
static int
value_eof(struct sm_input *in, struct sm_rawrec *rec)
{
	char what[160];

	if (in->broken != NULL)
		broken_what(in, what, sizeof(what));
	else if (in->instr)
		snprintf(what, sizeof(what), "invalid JSON: unterminated "
		    "string");
	else if (in->inarray)
		snprintf(what, sizeof(what), "unexpected end of file: the "
		    "array opened at line %zu is not closed", in->arrline);
	else
		snprintf(what, sizeof(what), "invalid JSON: unexpected end "
		    "of input");
	in->inarray = 0;
	/* A last line end is not a line of the value. */
	broken_why(in, what, in->line - (in->line > in->recline &&
	    offset_of(in, in->rend) == in->bol), offset_of(in, in->rend), 1);
	return value_end(in, rec, in->rend, in->why);
}

/* A line end at rbuf[i] inside the value: its indentation is measured. */
static void
line_start(struct sm_input *in, size_t i)
{
	newline(in, i);
	in->atbol = 1;
	in->indent = 0;
}

/* The value cannot be valid: skip to the line where the next one starts. */
static void
value_break(struct sm_input *in, const char *why)
{
	if (in->broken == NULL) {
		in->broken = why;
		in->brokenline = in->line;
	}
}

/*
 * What follows a top-level value that closed before rbuf[j], on its
 * line: 0 when it ends there (a line end, or another value starts),
 * 2 when junk follows (the line goes whole to the parser), 1 when the
 * read buffer ends first (scan_value decides after the next read).
 */
static int
tail_of(const struct sm_input *in, size_t j)
{
	int c;

	while (j < in->rend && ((c = in->rbuf[j]) == ' ' || c == '\t' ||
	    c == '\r'))
		j++;
	if (j == in->rend)
		return in->eof ? 0 : 1;
	c = in->rbuf[j];
	return c == '\n' || c == '{' || c == '[' ? 0 : 2;
}

/* The bytes scan_value() looks at inside a string, and inside a value. */
static const unsigned char in_string[256] = {
	['"'] = 1, ['\\'] = 1, ['\n'] = 1
};
static const unsigned char in_value[256] = {
	['"'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1, ['\n'] = 1
};

/*
 * The hot loop of scan_value(): inside a value that is fine so far, it
 * follows strings and depth over rbuf[i] on, and stops at the first byte
 * that needs more thought (a line end, the bracket that closes the
 * value, a backslash at the end of the buffer) or at rend.  Returns the
 * index of that byte; depth and instr tell where it stands.
 */
static size_t
scan_hot(struct sm_input *in, size_t i)
{
	const unsigned char *b = (const unsigned char *)in->rbuf;
	size_t end = in->rend, depth = in->depth;
	int c;

	if (in->instr)
		goto string;
	for (;;) {
		while (i < end && !in_value[b[i]])
			i++;
		if (i == end)
			break;
		c = b[i];
		if (c == '{' || c == '[') {
			depth++;
			i++;
			continue;
		}
		if ((c == '}' || c == ']') && depth > 1) {
			depth--;
			i++;
			continue;
		}
		if (c != '"')
			break;
		i++;
string:
		for (;;) {
			while (i < end && !in_string[b[i]])
				i++;
			if (i == end || b[i] == '\n' ||
			    (b[i] == '\\' && i + 1 == end)) {
				in->instr = 1;
				in->depth = depth;
				return i;
			}
			if (b[i] == '"')
				break;
			i += 2;		/* a backslash and the byte it escapes */
		}
		i++;
	}
	in->instr = 0;
	in->depth = depth;
	return i;
}

/*
 * Scans the value that began at rbuf[rpos] (or goes on with it after a
 * read), and returns it when it ends (1).  Strings and bracket depth are
 * followed, so that a ',' or ']' inside a string or a nested value does
 * not end it.  It ends just after the bracket that closes it, or, at
 * depth 0 (a scalar element), before a ',', ']', '}' or whitespace.
 */
static int
scan_value(struct sm_input *in, struct sm_rawrec *rec)
{
	size_t i;
	int c, rc;

	for (;;) {
		for (i = in->rpos; i < in->rend; i++) {
			if (in->depth > 0 && !in->esc && !in->tail &&
			    !in->atbol && in->broken == NULL &&
			    (i = scan_hot(in, i)) == in->rend)
				break;
			c = (unsigned char)in->rbuf[i];
			if (in->tail) {
				/*
				 * A top-level value ends its line, or another
				 * starts on it; else the line goes whole to
				 * the parser, an NDJSON line with junk.
				 */
				if (in->tail == 1 && (c == ' ' || c == '\t' ||
				    c == '\r'))
					continue;
				if (c == '\n' || (in->tail == 1 && (c == '{' ||
				    c == '[')))
					return value_end(in, rec, i, NULL);
				in->tail = 2;
				continue;
			}
			if (in->atbol) {
				if (c == ' ' || c == '\t' || c == '\r') {
					in->indent++;
					continue;
				}
				if (c == '\n') {
					newline(in, i);
					in->indent = 0;
					continue;
				}
				in->atbol = 0;
				if (c == '{' && in->indent <= in->reccol)
					return value_cut(in, rec, i);
			}
			if (in->instr) {
				if (in->esc)
					in->esc = 0;
				else if (c == '\\')
					in->esc = 1;
				else if (c == '"')
					in->instr = 0;
				else if (c == '\n') {
					value_break(in, "unterminated string");
					in->instr = 0;
					line_start(in, i);
				}
				continue;
			}
			if (in->broken != NULL) {
				if (c == '\n')
					line_start(in, i);
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
					return value_end(in, rec, i, NULL);
				if (--in->depth > 0)
					break;
				if (in->inarray || (rc = tail_of(in, i + 1)) == 0)
					return value_end(in, rec, i + 1, NULL);
				in->tail = rc;
				break;
			case '\n':
				if (in->depth == 0)
					return value_end(in, rec, i, NULL);
				line_start(in, i);
				break;
			case ',':
			case ' ':
			case '\t':
			case '\r':
				if (in->depth == 0)
					return value_end(in, rec, i, NULL);
				break;
			}
		}
		stash(in, in->rbuf + in->rpos, in->rend - in->rpos, in->max);
		in->rpos = in->rend;
		if ((rc = fill(in)) < 0)
			return rc;
		if (rc == 0)
			return in->tail ? value_end(in, rec, in->rpos, NULL) :
			    value_eof(in, rec);
	}
}

/*
 * The common case of NDJSON: a line that starts with '{' at rbuf[rpos],
 * lies whole in the read buffer and is one JSON text (sm_json_check(),
 * which the record would have to pass next anyway).  Such a line is the
 * record the scan below would find, to the byte, so it is returned as it
 * is (valid set: nobody needs to check it again) at the cost of a memchr
 * and the check.  Returns 1 with rec filled, else 0 and nothing moved:
 * the scan takes the line (a line that is not obviously one record:
 * open at its end, two values, a broken string, an over-long record).
 */
static int
whole_line(struct sm_input *in, struct sm_rawrec *rec)
{
	const char *p = in->rbuf + in->rpos, *nl;
	size_t n = in->rend - in->rpos, next, from;
	struct sm_json_err err;
	int rc;

	/*
	 * A line cut by the end of the buffer is moved to its start and
	 * read on, so that only a line longer than the buffer is scanned.
	 */
	if ((nl = memchr(p, '\n', n)) == NULL && !in->eof &&
	    n < RBUF_SIZE) {
		memmove(in->rbuf, p, n);
		in->rpos = 0;
		in->rend = n;
		p = in->rbuf;
		while (nl == NULL) {
			from = in->rend;
			if ((rc = fill(in)) < 0)
				return rc;
			if (rc == 0)
				break;
			nl = memchr(p + from, '\n', in->rend - from);
		}
		n = in->rend;
	}
	if (nl != NULL)
		next = (size_t)(nl - in->rbuf) + 1;
	else if (in->eof)
		next = in->rend;
	else
		return 0;
	n = next - in->rpos;
	while (n > 0 && isws((unsigned char)p[n - 1]))
		n--;
	if (n == 0 || n > in->max || p[n - 1] != '}' ||
	    sm_json_check(p, n, &err) != 0)
		return 0;
	emit(in, rec, p, n, in->line, 0);
	rec->valid = 1;
	if (nl != NULL)
		newline(in, next - 1);
	in->rpos = next;
	return 1;
}

/*
 * Between the elements of a top-level array, at the byte c = rbuf[rpos].
 * Returns 1 with a fault, or 0 when the state moved on (a value begun,
 * the array closed, a ',' taken).
 */
static int
array_step(struct sm_input *in, struct sm_rawrec *rec, int c)
{
	switch (in->apos) {
	case A_AFTER:
		if (c == ',') {
			in->apos = A_NEXT;
			in->rpos++;
			return 0;
		}
		if (c == ']') {
			in->inarray = 0;
			in->one_array += in->one_array > 0;
			in->rpos++;
			return 0;
		}
		if (c == '}' || c == ':') {
			fault(in, rec, "expected ',' or ']' after an array "
			    "element, not '%c'", c);
			in->rpos++;
			return 1;
		}
		value_begin(in, 1);
		return 0;
	case A_FIRST:
	case A_NEXT:
		if (c == ']') {
			in->inarray = 0;
			in->one_array += in->one_array > 0;
			if (in->apos == A_NEXT) {
				fault(in, rec, "expected an array element, "
				    "not ']'");
				in->rpos++;
				return 1;
			}
			in->rpos++;
			return 0;
		}
		if (c == ',' || c == '}' || c == ':') {
			fault(in, rec, "expected an array element, not '%c'",
			    c);
			in->apos = A_NEXT;
			in->rpos++;
			return 1;
		}
		value_begin(in, 0);
		in->apos = A_AFTER;
		return 0;
	}
	return 0;
}

/*
 * Reads the next record (see sm.h).  The reader never gives up on a
 * file: what it cannot read as records comes back as records with an
 * error, and the next call goes on after them.
 */
int
sm_input_next(struct sm_input *in, struct sm_rawrec *rec)
{
	int c, rc;

	for (;;) {
		if (in->cur >= in->nfiles)
			return 0;
		if (!in->active && (rc = file_begin(in)) != 0) {
			file_end(in);
			return rc;
		}
		if (!in->bomseen && (rc = skip_bom(in)) < 0)
			goto fail;
		if (in->scanning) {
			if ((rc = scan_value(in, rec)) < 0)
				goto fail;
			return rc;
		}
		if ((rc = skipws(in)) < 0)
			goto fail;
		if (rc == 0) {
			if (in->inarray) {
				in->inarray = 0;
				return fault(in, rec, "unexpected end of "
				    "file: the array opened at line %zu is "
				    "not closed", in->arrline);
			}
			if (in->one_array == 1) {
				in->one_array = 2;
				return fault(in, rec, "expected an array, not "
				    "the end");
			}
			file_end(in);
			continue;
		}
		c = (unsigned char)in->rbuf[in->rpos];
		if (!in->inarray && in->one_array > 0 &&
		    (in->one_array > 1 || c != '[')) {
			/* The rest is one fault, and the end. */
			fault(in, rec, in->one_array > 1 ? "text after the end "
			    "of the array, at line %zu" : "expected an array, "
			    "at line %zu", in->line);
			in->one_array = 2;
			file_end(in);
			return 1;
		}
		if (in->inarray) {
			if (array_step(in, rec, c))
				return 1;
		} else if (c == '[') {
			in->inarray = 1;
			in->apos = A_FIRST;
			in->arrline = in->line;
			in->rpos++;
		} else if (c == '{') {
			if ((rc = whole_line(in, rec)) < 0)
				goto fail;
			if (rc > 0)
				return 1;
			value_begin(in, 0);
		}
		else if ((rc = rest_of_line(in, rec)) < 0)
			goto fail;
		else
			return rc;
	}
fail:
	if (rc != SM_EINTR && in->active)
		file_end(in);
	return rc;
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
