/* Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8 for mailbox names. */
#ifndef POSTERN_MAIL_MUTF7_H
#define POSTERN_MAIL_MUTF7_H

#include <stddef.h>

/* 0, or -1 for invalid input or a too-small buffer. */
int mutf7_encode(const char *utf8, char *out, size_t outlen);
int mutf7_decode(const char *mutf7, char *out, size_t outlen);

#endif
