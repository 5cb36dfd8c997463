/* SASL building blocks shared by SMTP AUTH, IMAP AUTHENTICATE and POP3 AUTH:
 * strict base64 (RFC 4648), PLAIN (RFC 4616) and the LOGIN challenges.
 *
 * The exchange itself is auth/sasl_server.h's; these functions only turn wire
 * bytes into checked values and back. None of them allocates. */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stdbool.h>
#include <stddef.h>

/* The two fixed LOGIN challenges, already base64 ("Username:", "Password:").
 * LOGIN has no RFC; these are what every client expects. */
#define SASL_LOGIN_USERNAME_B64 "VXNlcm5hbWU6"
#define SASL_LOGIN_PASSWORD_B64 "UGFzc3dvcmQ6"

/* Exact encoded length (without NUL) of n input bytes, and the most bytes
 * that n encoded characters can decode to. */
#define SASL_B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
#define SASL_B64_DECODED_MAX(n) (((n) / 4) * 3)

/* Strict RFC 4648 section 4 decoding: padding required, no whitespace or line
 * breaks, no characters outside the alphabet, '=' only at the end, and the
 * unused bits of the last group zero (section 3.5: the canonical encoding).
 * Empty input decodes to nothing (SASL's empty response "=" is the caller's
 * to recognise). Writes at most outcap bytes; *outlen gets the count.
 * 0, or -1 when malformed or the result would not fit in outcap.
 * Character values are computed without secret-indexed table lookups, since
 * the input is often a password. */
int sasl_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                    size_t *outlen);

/* Encodes inlen bytes with padding and writes a NUL-terminated string.
 * outcap counts the NUL: it must be at least SASL_B64_ENCODED_LEN(inlen) + 1.
 * *outlen (may be NULL) gets the length without the NUL. 0, or -1 when the
 * result does not fit (out is then "" if outcap > 0). */
int sasl_b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outcap,
                    size_t *outlen);

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF. NUL bytes are accepted here; callers that forbid them say so. */
bool sasl_utf8_valid(const unsigned char *s, size_t len);

/* RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd, each field
 * 1..255 octets (authzid may be empty) of UTF-8 without NUL. */
#define SASL_PLAIN_FIELD_MAX 255
struct sasl_plain {
	char authzid[SASL_PLAIN_FIELD_MAX + 1]; /* "" when the client sent none */
	char authcid[SASL_PLAIN_FIELD_MAX + 1];
	char passwd[SASL_PLAIN_FIELD_MAX + 1];
};

/* Parses a decoded PLAIN message: exactly two NULs, authcid and passwd
 * non-empty, every field at most 255 octets of valid UTF-8. 0, or -1 (and
 * *out wiped) otherwise. The caller decides whether a non-empty authzid other
 * than authcid is allowed, and must call sasl_plain_clear() when done. */
int sasl_plain_parse(const unsigned char *msg, size_t len, struct sasl_plain *out);

/* Wipes every field (the password in particular) with OPENSSL_cleanse. */
void sasl_plain_clear(struct sasl_plain *p);

#endif
