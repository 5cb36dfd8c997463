/* The body hashes of a message's signatures (DKIM-Signature, ARC-Message-
 * Signature), computed while the body streams in: one running SHA-256 per
 * distinct (body canonicalisation, l=), however many signatures share it.
 * dkim_verify.c and arc_verify.c keep one set each. */
#ifndef POSTERN_DKIM_BODY_HASH_H
#define POSTERN_DKIM_BODY_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_sig.h"

struct dkim_body_hash {
	enum dkim_canon canon;
	bool limited;
	uint64_t limit;
	EVP_MD_CTX *md;
	struct dkim_body_canon *bc;
	unsigned char digest[32];       /* after dkim_body_hashes_final, unless failed */
	bool failed;
};

struct dkim_body_hashes {
	struct dkim_body_hash *h;
	size_t n;
};

/* Room for max hashes (at most one per signature). */
void dkim_body_hashes_init(struct dkim_body_hashes *set, size_t max);
/* The index of signature s's hash, started now when no other has its kind;
 * the caller never asks for more than max distinct ones. */
size_t dkim_body_hashes_for(struct dkim_body_hashes *set, const struct dkim_sig *s);
void dkim_body_hashes_update(struct dkim_body_hashes *set, const void *data, size_t len);
/* Ends the body: every hash that has not failed gets its digest. */
void dkim_body_hashes_final(struct dkim_body_hashes *set);
void dkim_body_hashes_free(struct dkim_body_hashes *set);

#endif
