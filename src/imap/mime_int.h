/* Internal to the MIME module (src/imap/mime*.c): shared lexing helpers,
 * the string budget of a tree, and the field parsers the line parser calls. */
#ifndef POSTERN_MIME_INT_H
#define POSTERN_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/mime.h"

/* The strings of one tree share MIME_STORE_MAX octets. */
struct mime_store {
	size_t used;
};

/* Copies n octets of s plus NUL, cut to what is left of the budget. */
char *mime_store_dup(struct mime_store *st, const char *s, size_t n);

static inline bool mime_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline char mime_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline char mime_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - ('a' - 'A')) : c;
}

/* A hex digit's value (either case: RFC 2045 6.7 rule 1 allows lower), or -1. */
static inline int mime_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mime_lower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* A base64 character's value (RFC 2045 6.8), or -1 outside the alphabet. */
static inline int mime_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Case-insensitive comparison of s[0..n) with the NUL-terminated lit. */
bool mime_eq_nocase(const char *s, size_t n, const char *lit);

/* Skips white space, CR, LF and RFC 5322 comments (nested, with
 * quoted-pairs; an unterminated one runs to the end) from v[i]. */
size_t mime_skip_cfws(const char *v, size_t n, size_t i);

/* mime_param.c: fill the part from one unfolded field value. */
void mime_parse_content_type(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
void mime_parse_disposition(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
void mime_parse_language(struct mime_store *st, struct mime_part *p, const char *v, size_t n);
/* Content-Transfer-Encoding: the token, upper case, or NULL if none. */
char *mime_parse_encoding(struct mime_store *st, const char *v, size_t n);
void mime_params_free(struct mime_param *params, unsigned int n);

/* mime_header.c: converts n octets in charset to UTF-8 appended to out
 * (invalid sequences become U+FFFD). false, with nothing appended, when
 * the charset is not one of those known. */
bool mime_charset_to_utf8(const char *charset, size_t charset_len, const char *in, size_t n,
                          struct mime_out *out);

#endif
