/* A stored message (LF or CRLF line ends) as the body of a dot-terminated
 * multi-line response (POP3 RETR and TOP, RFC 1939 3; SMTP DATA, RFC 5321
 * 4.5.2): every LF not preceded by CR becomes CRLF, a line starting with "."
 * gets another one, and the end is "CRLF.CRLF". Streamed piece by piece, so
 * a message of any size passes through a buffer of a few kilobytes.
 *
 * With a line limit it stops after the header, the blank line after it and
 * that many body lines (POP3 TOP, RFC 1939 7). A bare CR passes unchanged. */
#ifndef POSTERN_MAIL_DOTSTUFF_H
#define POSTERN_MAIL_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output room that any input of n octets needs (each octet at most doubles,
 * and a CR held back from the previous piece may come out first). */
#define MAIL_DOTSTUFF_OUT_MAX(n) (2 * (n) + 2)
/* mail_dotstuff_finish writes at most this much. */
#define MAIL_DOTSTUFF_FINISH_MAX 6

struct mail_dotstuff {
	bool at_line_start;     /* the next octet begins a line */
	bool pending_cr;        /* a CR was read; what follows decides if it ends a line */
	bool line_empty;        /* nothing but (perhaps) that CR on the current line */
	bool in_body;           /* the blank line after the header has gone out */
	bool limited;           /* stop after body_lines_left body lines */
	bool done;              /* the limit was reached: the rest of the input is not wanted */
	uint64_t body_lines_left;
};

/* The whole message. */
void mail_dotstuff_init(struct mail_dotstuff *d);
/* The header and the first body_lines lines of the body. */
void mail_dotstuff_init_top(struct mail_dotstuff *d, uint64_t body_lines);

/* Encodes in[0..n) into out, which has room for MAIL_DOTSTUFF_OUT_MAX(n)
 * octets; returns the octets written. Once d->done is set the rest of the
 * input is ignored (and so is any later piece). */
size_t mail_dotstuff_encode(struct mail_dotstuff *d, const char *in, size_t n, char *out);
/* The end: a held CR, a line end when the last line had none, and ".CRLF".
 * Returns the octets written (at most MAIL_DOTSTUFF_FINISH_MAX). */
size_t mail_dotstuff_finish(struct mail_dotstuff *d, char *out);

#endif
