/* DKIM canonicalisation, RFC 6376 3.4: "simple" and "relaxed" for header
 * fields and bodies. Shared by the signer and a verifier.
 *
 * Input may use LF or CRLF line ends (postern stores messages with LF); both
 * are line ends and the canonical output always uses CRLF, which is what a
 * receiver sees on the wire. Header canonicalisation is pure; the body
 * canonicaliser streams into an EVP_MD_CTX and keeps no more than one small
 * buffer, whatever the body size. */
#ifndef POSTERN_DKIM_CANON_H
#define POSTERN_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum dkim_canon {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED,
};

/* Output room dkim_canon_header() needs for a field of len octets
 * (simple may turn every LF into CRLF), NUL included. */
#define DKIM_CANON_HEADER_BOUND(len) (2 * (size_t)(len) + 1)

/* Canonicalises one header field. `field` is the whole field from the first
 * octet of its name to the end of its last line; continuation lines may be
 * joined by CRLF or LF, and one line end at the very end is ignored. Writes
 * the canonical field WITHOUT a terminating CRLF (the signer appends "\r\n"
 * to every field but the DKIM-Signature itself, RFC 6376 3.7) plus a NUL to
 * out, which has room for DKIM_CANON_HEADER_BOUND(len) octets, and returns
 * its length.
 *   simple  (3.4.1): unchanged, except that LF line ends become CRLF;
 *   relaxed (3.4.2): name lower-cased, unfolded, WSP runs become one SP,
 *                    WSP around the colon and at the end removed. */
size_t dkim_canon_header(enum dkim_canon c, const char *field, size_t len, char *out);

/* Streaming body canonicaliser (RFC 6376 3.4.3, 3.4.4). Usage:
 *     EVP_DigestInit_ex(md, EVP_sha256(), NULL);
 *     dkim_body_init(&b, DKIM_CANON_RELAXED, md);
 *     dkim_body_update(&b, chunk, n);   ... as often as needed, split anywhere
 *     dkim_body_final(&b);
 *     EVP_DigestFinal_ex(md, bh, NULL);
 * Trailing empty lines are dropped; a last line without a line end is
 * completed with CRLF (and, relaxed, loses its trailing WSP as any line does).
 * An empty body is "" relaxed and "\r\n" simple. A CR not followed by LF is
 * an ordinary octet. */
struct dkim_body_canon {
	enum dkim_canon mode;
	EVP_MD_CTX *md;         /* not owned */
	uint64_t crlf_pending;  /* line ends since the last emitted octet: dropped if only empty lines follow */
	uint64_t length;        /* canonical octets so far (hashed or, past limit, counted) */
	uint64_t limit;         /* l=: octets hashed at most (UINT64_MAX: all) */
	bool wsp_pending;       /* relaxed: a WSP run inside the line, emitted as SP if more text follows */
	bool cr_pending;        /* a CR that may start a CRLF */
	bool content;           /* some non-empty line was seen */
	bool failed;            /* EVP_DigestUpdate failed: the digest is unusable */
	size_t outlen;
	unsigned char out[4096]; /* batches the many small writes into few digest updates */
};

void dkim_body_init(struct dkim_body_canon *b, enum dkim_canon mode, EVP_MD_CTX *md);
/* Hashes only the first limit canonical octets (RFC 6376 3.5 l=); the rest is
 * still counted in length, so that a verifier sees what l= leaves out. */
void dkim_body_set_limit(struct dkim_body_canon *b, uint64_t limit);
/* 0, or -1 when the digest update failed. */
int dkim_body_update(struct dkim_body_canon *b, const void *data, size_t len);
/* Completes the canonical body and flushes it to md. 0 or -1. */
int dkim_body_final(struct dkim_body_canon *b);

/* ---- the signed header fields (dkim_header_hash.c) --------------------- */

struct mail_header;
struct mail_field;

/* Hashes the header fields that an h= list names (RFC 6376 5.4.2), each
 * canonicalised and followed by CRLF: for every name in hlist (h= syntax,
 * colons and white space), the last instance of that name not taken yet,
 * going upwards; a name listed more often than it occurs contributes
 * nothing the extra times (oversigning). skip is a field never taken (the
 * signature being verified), or NULL. 0, or -1 when hashing failed. */
int dkim_hash_header_fields(EVP_MD_CTX *md, enum dkim_canon c, const struct mail_header *h,
                            const char *hlist, size_t hlen, const struct mail_field *skip);
/* Hashes the signature's own field last (RFC 6376 3.7, RFC 8617 5.1.1): its
 * b= value (b_len octets at b_off in the field's value; the white space
 * around it stays) emptied, canonicalised, without CRLF. 0 or -1. */
int dkim_hash_signature_field(EVP_MD_CTX *md, enum dkim_canon c, const struct mail_field *f,
                              size_t b_off, size_t b_len);

#endif
