/* Line ends: postern stores messages with LF, IMAP clients see and count
 * CRLF (every LF not preceded by CR is 2 octets). */
#ifndef POSTERN_MAIL_CRLF_H
#define POSTERN_MAIL_CRLF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Octets of buf once every LF not preceded by CR (in buf) is CRLF. */
uint64_t mail_crlf_size(const char *buf, size_t len);

/* Converts a stream piece by piece; a CR at the end of one piece is seen
 * by the next. */
struct mail_crlf {
	bool last_cr;
};

void mail_crlf_init(struct mail_crlf *c);
/* Converts from in while it fits in out (an LF becoming CRLF is never
 * split); *consumed gets the input octets used. Returns octets written. */
size_t mail_crlf_convert(struct mail_crlf *c, const char *in, size_t inlen, size_t *consumed,
                         char *out, size_t outcap);

#endif
