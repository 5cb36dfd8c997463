/* POP3 command lines (RFC 1939 3, RFC 2449 3-4): a keyword, then arguments
 * separated by spaces. Pure functions: no session, no I/O. */
#ifndef POSTERN_POP3_PARSE_H
#define POSTERN_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 2449 4: a command line is at most 255 octets, CRLF included */
#define POP3_LINE_MAX 255
/* Keywords are three or four characters (RFC 1939 3); a longer one is
 * unknown, and we keep no more of it than fits in a log line. */
#define POP3_KEYWORD_MAX 16
/* RFC 1939 3: each argument may be up to 40 characters long; USER carries a
 * whole address (up to 320 octets with its local part), so arguments are
 * bounded by the line instead. */

enum pop3_parse_rc {
	POP3_PARSE_OK = 0,
	POP3_PARSE_EMPTY,       /* nothing but spaces */
	POP3_PARSE_BAD,         /* a control character or NUL, or a keyword that is not one */
};

struct pop3_cmdline {
	char keyword[POP3_KEYWORD_MAX + 1];     /* upper-cased */
	const char *args;       /* after the keyword and one space (into the line) */
	size_t args_len;
};

/* Parses one line without its line end. args points into line. */
enum pop3_parse_rc pop3_parse_line(const char *line, size_t len, struct pop3_cmdline *out);

/* Splits args (NUL-terminated, changed in place) at runs of spaces into at
 * most max words; returns how many, or -1 when there are more than max. */
int pop3_split_args(char *args, char **argv, int max);

/* True when args holds nothing but spaces. */
bool pop3_args_empty(const char *args);

/* A message number or a line count: decimal digits only, no sign, no space
 * (RFC 1939 3). A number too large for 64 bits comes out as UINT64_MAX,
 * which is then simply out of range. 0, or -1 when it is not a number. */
int pop3_parse_number(const char *text, uint64_t *out);

#endif
