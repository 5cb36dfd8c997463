/* Content-Transfer-Encoding encoders (RFC 2045 6): base64, and a message's
 * binary parts made 7bit, for a store that keeps mail as text lines. */
#ifndef POSTERN_MAIL_ENCODE_H
#define POSTERN_MAIL_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends in as base64 (RFC 2045 6.8) in lines of 76 characters, CRLF
 * between them, none after the last. */
void mime_encode_base64(const char *in, size_t len, struct buf *out);

/* The message (msg, len) with the body of every part whose
 * Content-Transfer-Encoding is binary encoded in base64, and that field
 * saying so: octets such as bare LF, CR or NUL, which a text store would
 * change, then come back exactly when decoded (IMAP APPEND of a literal8,
 * RFC 3516 4.4; Dovecot does the same). false, out untouched, when no part
 * is binary. */
bool mime_binary_parts_to_base64(const char *msg, size_t len, struct buf *out);

#endif
