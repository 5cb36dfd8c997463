#include "core/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

void lines_init(struct lines *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->buf = xmalloc(max + 2);
}

void lines_free(struct lines *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Room at the end of the buffer, then one read. 0, or -1 with errno. */
static int fill(struct lines *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	ssize_t n;
	do
		n = read(r->fd, r->buf + r->end, r->max + 1 - r->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		r->eof = true;
	r->end += (size_t)n;
	return 0;
}

static int hand_out(struct lines *r, size_t from, size_t to, size_t next, char **line, size_t *len)
{
	size_t n = to - from;
	if (n > 0 && r->buf[from + n - 1] == '\r')
		n--;
	r->buf[from + n] = '\0';
	*line = r->buf + from;
	*len = n;
	r->start = next;
	r->lineno++;
	return LINES_OK;
}

int lines_next(struct lines *r, char **line, size_t *len)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			size_t at = (size_t)(nl - r->buf);
			if (r->skipping) {   /* the end of a line that was too long */
				r->skipping = false;
				r->start = at + 1;
				r->lineno++;
				return LINES_TOO_LONG;
			}
			return hand_out(r, r->start, at, at + 1, line, len);
		}
		if (r->eof) {
			if (r->end == r->start)
				return LINES_END;
			if (r->skipping) {
				r->skipping = false;
				r->start = r->end;
				r->lineno++;
				return LINES_TOO_LONG;
			}
			return hand_out(r, r->start, r->end, r->end, line, len);
		}
		if (r->end - r->start > r->max) {   /* max + 1 octets and no LF yet */
			r->skipping = true;
			r->start = r->end = 0;
		}
		if (fill(r) < 0)
			return LINES_ERROR;
	}
}
