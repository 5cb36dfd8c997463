/* Building a DKIM-style signature field folded to 76 columns with "\n\t":
 * the DKIM signer's and the ARC sealer's. Tokens go where RFC 6376 allows
 * FWS (between tags, after h='s colons); base64 folds anywhere. */
#ifndef POSTERN_DKIM_FOLD_H
#define POSTERN_DKIM_FOLD_H

#include <stdbool.h>
#include <stddef.h>

struct dkim_fold {
	char *buf;              /* malloc'd, NUL-terminated; the caller frees it */
	size_t len, cap;
	size_t col;
};

/* Appends n octets as they are. */
void dkim_fold_raw(struct dkim_fold *f, const char *s, size_t n);
/* Starts a continuation line. */
void dkim_fold_break(struct dkim_fold *f);
/* Appends a token, after a space or on a new line when it does not fit. */
void dkim_fold_token(struct dkim_fold *f, const char *tok, bool space);
/* Appends base64, folded anywhere (RFC 6376 3.5, b= and bh=). */
void dkim_fold_base64(struct dkim_fold *f, const char *s);
/* The base64 of data, malloc'd. */
char *dkim_base64_new(const unsigned char *data, size_t len);

#endif
