/* RFC 2047 encoded-words and charset conversion to UTF-8. */
#ifndef POSTERN_MAIL_ENCODED_WORD_H
#define POSTERN_MAIL_ENCODED_WORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Decodes the encoded-words of a raw header value into UTF-8 (Q and B;
 * UTF-8, US-ASCII, ISO-8859-1 and Windows-1252, invalid octets in them
 * becoming U+FFFD; words in other charsets stay as they are), drops the
 * white space between adjacent encoded-words and the line ends of folds;
 * other octets are copied as they are. Writes at most outlen - 1 octets,
 * cut at a character boundary, plus NUL; returns the length written (a
 * decoded NUL may make strlen() shorter). */
size_t mail_encoded_words_decode(const char *raw, char *out, size_t outlen);

/* Converts n octets in charset to UTF-8 appended to out (invalid
 * sequences become U+FFFD). false, with nothing appended, when the
 * charset is not one of those known. */
bool mail_charset_to_utf8(const char *charset, size_t charset_len, const char *in, size_t n,
                          struct buf *out);

#endif
