/* Dot-stuffed CRLF text for multi-line responses (see dotstuff.h). */
#include "mail/dotstuff.h"

#include <string.h>

void mail_dotstuff_init(struct mail_dotstuff *d)
{
	memset(d, 0, sizeof(*d));
	d->at_line_start = true;
	d->line_empty = true;
}

void mail_dotstuff_init_top(struct mail_dotstuff *d, uint64_t body_lines)
{
	mail_dotstuff_init(d);
	d->limited = true;
	d->body_lines_left = body_lines;
}

/* A line has ended (its CRLF is out): counts it against a TOP limit. */
static void end_line(struct mail_dotstuff *d)
{
	bool was_empty = d->line_empty;
	d->at_line_start = true;
	d->line_empty = true;
	if (!d->in_body) {
		/* RFC 5322 2.1: the first empty line ends the header */
		if (was_empty) {
			d->in_body = true;
			d->done = d->limited && d->body_lines_left == 0;
		}
		return;
	}
	if (d->limited && --d->body_lines_left == 0)
		d->done = true;
}

/* One octet of line content (not CR or LF). */
static size_t put_text(struct mail_dotstuff *d, char ch, char *out)
{
	size_t o = 0;
	/* RFC 1939 3, RFC 5321 4.5.2: a line that starts with "." gets one more */
	if (d->at_line_start && ch == '.')
		out[o++] = '.';
	out[o++] = ch;
	d->at_line_start = false;
	d->line_empty = false;
	return o;
}

/* Octets of in[0..n) before the first CR or LF: the rest of a line. */
static size_t text_run(const char *in, size_t n)
{
	const char *lf = memchr(in, '\n', n);
	size_t len = lf ? (size_t)(lf - in) : n;
	const char *cr = memchr(in, '\r', len);
	return cr ? (size_t)(cr - in) : len;
}

size_t mail_dotstuff_encode(struct mail_dotstuff *d, const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n && !d->done; i++) {
		char ch = in[i];
		if (d->pending_cr) {
			d->pending_cr = false;
			if (ch == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				end_line(d);
				continue;
			}
			/* a bare CR is content: it goes out as it came */
			out[o++] = '\r';
			d->at_line_start = false;
			d->line_empty = false;
		}
		if (ch == '\r') {
			d->pending_cr = true;
		} else if (ch == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			end_line(d);
		} else if (d->at_line_start) {
			o += put_text(d, ch, out + o);
		} else {
			/* inside a line nothing changes: copy up to its end at once */
			size_t run = text_run(in + i, n - i);
			memcpy(out + o, in + i, run);
			o += run;
			i += run - 1;
		}
	}
	return o;
}

size_t mail_dotstuff_finish(struct mail_dotstuff *d, char *out)
{
	size_t o = 0;
	if (d->pending_cr) {
		out[o++] = '\r';
		d->pending_cr = false;
		d->at_line_start = false;
	}
	/* the terminating "." must stand on a line of its own */
	if (!d->at_line_start) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}
