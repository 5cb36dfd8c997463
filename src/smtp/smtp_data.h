/* Reader for the SMTP DATA phase: finds the end of data and removes dot-stuffing.
 *
 * RFC 5321 4.1.1.4 / 4.5.2. Only <CRLF>.<CRLF> ends the data: a bare LF or
 * bare CR never starts or ends a line (no SMTP smuggling). Input may arrive
 * split at any byte; the reader keeps its state between calls. A NUL octet
 * is content but flagged: some servers end a line at it (smuggling again).
 * Pure code, no allocation. */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

enum smtp_data_state {
	SMTP_DATA_SOL = 0,      /* at the start of a line (after CRLF, or at the start of data) */
	SMTP_DATA_LINE,         /* inside a line */
	SMTP_DATA_CR,           /* saw CR, held back until we know whether LF follows */
	SMTP_DATA_DOT,          /* saw '.' at the start of a line */
	SMTP_DATA_DOT_CR,       /* saw ".\r" at the start of a line */
	SMTP_DATA_DONE,         /* saw <CRLF>.<CRLF> */
};

struct smtp_data_reader {
	enum smtp_data_state state;
	size_t line_octets;     /* octets of the current line as sent, CRLF included */
	size_t max_line;        /* longest line allowed, CRLF included (1000) */
	bool bare_lf;           /* a LF not preceded by CR was seen */
	bool bare_cr;           /* a CR not followed by LF was seen */
	bool nul;               /* a NUL octet was seen in the message content */
	bool line_too_long;     /* some line exceeded max_line */
};

void smtp_data_init(struct smtp_data_reader *r, size_t max_line);

/* Feeds `len` octets of input. Writes the unstuffed message octets to `out`
 * (which must have room for at least len + 1 octets: a held CR may be
 * released) and sets *outlen. Returns the number of input octets consumed:
 * all of them, unless the end of data was found, in which case it is the
 * count up to and including the final LF of <CRLF>.<CRLF>, and the state is
 * SMTP_DATA_DONE (further input belongs to the next command). The final CRLF
 * before the dot is part of the message; the ".CRLF" is not. Calling it
 * in state DONE consumes nothing. */
size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
                      char *out, size_t *outlen);

static inline bool smtp_data_done(const struct smtp_data_reader *r)
{
	return r->state == SMTP_DATA_DONE;
}

#endif
