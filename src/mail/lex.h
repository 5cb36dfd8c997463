/* Character classes and small lexing helpers shared by the readers in
 * src/mail (headers, addresses, MIME fields, dates). ASCII only: the
 * locale never changes what a message means. */
#ifndef POSTERN_MAIL_LEX_H
#define POSTERN_MAIL_LEX_H

#include <stdbool.h>
#include <stddef.h>

static inline bool mail_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool mail_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool mail_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline char mail_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline char mail_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - ('a' - 'A')) : c;
}

/* A hex digit's value (either case: RFC 2045 6.7 rule 1 allows lower), or -1. */
static inline int mail_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mail_lower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* A base64 character's value (RFC 2045 6.8), or -1 outside the alphabet. */
static inline int mail_base64_value(unsigned char c)
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
bool mail_eq_nocase(const char *s, size_t n, const char *lit);

/* Skips white space, CR, LF and RFC 5322 3.2.2 comments (nested, with
 * quoted-pairs; an unterminated one runs to the end) from v[i]; returns
 * the index of the first octet after them. */
size_t mail_skip_cfws(const char *v, size_t n, size_t i);

#endif
