/* UTF-8 validation (RFC 3629), shared by every parser that reads network text. */
#ifndef POSTERN_UTF8_H
#define POSTERN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the well-formed sequence at s (at most avail octets), or 0:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);
/* Every sequence well-formed; NUL octets count as valid (callers that
 * forbid them check for them). */
bool utf8_valid(const char *s, size_t len);

#endif
