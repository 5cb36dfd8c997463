/* Lines of a file, one at a time, never more than a set length in memory:
 * for files from elsewhere (an import reads another server's index files,
 * which may hold a line of any length). */
#ifndef POSTERN_CORE_LINES_H
#define POSTERN_CORE_LINES_H

#include <stdbool.h>
#include <stddef.h>

enum { LINES_END = 0, LINES_OK = 1, LINES_TOO_LONG = 2, LINES_ERROR = -1 };

struct lines {
	int fd;
	size_t max;             /* longest line handed out, without its LF */
	char *buf;              /* max + 2 octets */
	size_t start, end;
	bool eof, skipping;
	unsigned long lineno;   /* of the line last returned */
};

/* Reads fd (not closed by lines_free) in lines of at most max octets. */
void lines_init(struct lines *r, int fd, size_t max);
void lines_free(struct lines *r);
/* LINES_OK with *line (NUL-terminated, its LF and a CR before it removed;
 * valid until the next call) and *len; LINES_TOO_LONG for a line longer
 * than max (skipped up to its end); LINES_END; LINES_ERROR with errno.
 * A last line without LF counts; a NUL inside a line is kept (len says). */
int lines_next(struct lines *r, char **line, size_t *len);

#endif
