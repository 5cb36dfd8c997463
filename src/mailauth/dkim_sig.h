/* A DKIM-Signature field's value, parsed and checked (RFC 6376 3.5, 6.1.1),
 * and a DKIM key record (RFC 6376 3.6.1, RFC 8463). What does not need DNS
 * or the message is decided here: syntax, required tags, algorithms, i=
 * within d=, From in h=, x= after t=. */
#ifndef POSTERN_DKIM_SIG_H
#define POSTERN_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dkim_canon.h"

#define DKIM_NAME_MAX     253   /* a domain name; also d=, s= and their key name */
#define DKIM_SIG_B_MAX    1024  /* b= octets: an RSA key of 8192 bits */
#define DKIM_SIG_H_MAX    512   /* h= names (oversigning included) */
#define DKIM_IDENTITY_MAX 256   /* i= octets */
#define DKIM_B_PREFIX_LEN 8     /* RFC 6008 header.b: the first 8 characters of b= */

enum dkim_sig_alg {
	DKIM_SIG_RSA_SHA256 = 0,
	DKIM_SIG_ED25519_SHA256,
	DKIM_SIG_RSA_SHA1,      /* recognised to be refused (RFC 8301 3.1) */
};

struct dkim_sig {
	enum dkim_sig_alg alg;
	enum dkim_canon hcanon, bcanon;
	char domain[DKIM_NAME_MAX + 1];         /* d=, lower-cased */
	char selector[DKIM_NAME_MAX + 1];       /* s=, lower-cased */
	char identity[DKIM_IDENTITY_MAX + 1];   /* i=, or "@" d= when absent */
	const char *identity_domain;            /* in identity: after its last '@' */
	char algorithm[16];                     /* a= as recognised, "" otherwise */
	char b_prefix[DKIM_B_PREFIX_LEN + 1];   /* b= without white space, cut */
	bool has_length, has_time, has_expire;
	uint64_t length;                        /* l=; UINT64_MAX when it does not fit */
	int64_t time, expire;                   /* t=, x=; INT64_MAX when they do not fit */
	unsigned char b[DKIM_SIG_B_MAX];
	size_t b_len;
	unsigned char bh[64];
	size_t bh_len;
	const char *h;                  /* h= in the parsed value (valid while it is) */
	size_t h_len;
	size_t b_off, b_len_raw;        /* where b='s value stands in the parsed value */
};

/* Parses the value of a DKIM-Signature field (everything after the colon,
 * folds included). d=, s= and a= are filled as soon as they are read, so a
 * refused signature can still be reported by name. 0, or -1 with err (a
 * PERMFAIL of RFC 6376 6.1.1). */
int dkim_sig_parse(struct dkim_sig *sig, const char *value, size_t len, char *err,
                   size_t errlen);

/* The two ARC signatures (RFC 8617 4.1.2, 4.1.3) are DKIM signatures with
 * other tags required; arc_parse.c reads their i= and cv=. */
enum dkim_sig_kind {
	DKIM_SIG_DKIM = 0,
	DKIM_SIG_ARC_AMS,       /* ARC-Message-Signature: no v= (ignored), i= not an identity,
	                         * no ARC-Seal in h= */
	DKIM_SIG_ARC_SEAL,      /* ARC-Seal: no h= (refused), no bh=, c= is relaxed whatever
	                         * it says */
};

/* dkim_sig_parse() for a kind. identity is "@" d= for both ARC kinds; a
 * seal has h NULL and bh_len 0. */
int dkim_sig_parse_kind(struct dkim_sig *sig, enum dkim_sig_kind kind, const char *value,
                        size_t len, char *err, size_t errlen);

/* The next field name of h= (*pos starts at 0); false at the end. */
bool dkim_sig_h_next(const struct dkim_sig *sig, size_t *pos, const char **name,
                     size_t *name_len);

/* ---- key records (dkim_keyrec.c) --------------------------------------- */

#define DKIM_KEY_MAX 2048       /* p= octets: an RSA SubjectPublicKeyInfo of 8192+ bits */

enum dkim_key_type {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519,
};

struct dkim_keyrec {
	enum dkim_key_type type;        /* k=, rsa when absent */
	bool sha256_ok, sha1_ok;        /* h=, both when absent */
	bool email_ok;                  /* s= holds "email" or "*" (or is absent) */
	bool testing;                   /* t=y */
	bool strict;                    /* t=s: i= domain must equal d= */
	bool revoked;                   /* p= empty (RFC 6376 3.6.1) */
	unsigned char key[DKIM_KEY_MAX];
	size_t key_len;
};

/* Parses the text of a key TXT record (its strings joined). 0, or -1 with
 * err: not a DKIM1 record, a syntax error, an unknown k=, no p=. */
int dkim_keyrec_parse(struct dkim_keyrec *k, const char *txt, size_t len, char *err,
                      size_t errlen);

#endif
