/* DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463).
 *
 * Keys live in PEM files (PKCS#8) readable only by postern. Signing reads the
 * message once, front to back: the header block is held in memory (bounded by
 * DKIM_HEADER_MAX and DKIM_FIELDS_MAX), the body is hashed as it streams past.
 * Messages may use LF (Maildir, queue files) or CRLF line ends; both sign the
 * same. Canonicalisation lives in dkim_canon.h so a verifier can share it.
 *
 * A loaded key is read-only: one struct dkim_key may sign on several threads
 * at once. */
#ifndef POSTERN_DKIM_H
#define POSTERN_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/types.h>

enum dkim_alg {
	DKIM_RSA_SHA256 = 0,     /* keygen makes 2048-bit keys (RFC 8301 3.2) */
	DKIM_ED25519_SHA256,     /* RFC 8463 */
};

/* Refusal limits for the header block, checked before it is parsed. */
#define DKIM_HEADER_MAX   (1024 * 1024)  /* octets, up to the blank line */
#define DKIM_FIELDS_MAX   1000           /* header fields */
#define DKIM_RSA_MIN_BITS 1024           /* RFC 8301 3.2: verifiers may reject less */
/* Room for any dkim_dns_record() of a key up to 8192 bits. */
#define DKIM_RECORD_MAX   2048

struct dkim_key;

/* ---- keys (dkim_key.c) -------------------------------------------------- */

/* Generates a key and writes it as PEM to a new file created 0600; an
 * existing file is never overwritten. The file is fsync'ed, and so is its
 * directory. 0, or -1 with err. */
int dkim_keygen(const char *path, enum dkim_alg alg, char *err, size_t errlen);
/* Loads an RSA (>= DKIM_RSA_MIN_BITS) or Ed25519 private key from a PEM file.
 * Returns a key to release with dkim_key_free(), or NULL with err. */
struct dkim_key *dkim_key_load(const char *path, char *err, size_t errlen);
void dkim_key_free(struct dkim_key *k);
enum dkim_alg dkim_key_alg(const struct dkim_key *k);
/* "rsa-sha256" or "ed25519-sha256", the a= tag value. */
const char *dkim_alg_name(enum dkim_alg alg);
/* Writes the TXT record value for <selector>._domainkey.<domain>:
 * "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" or
 * "v=DKIM1; k=ed25519; p=<base64 raw 32-octet key>" (RFC 8463 3.3).
 * 0, or -1 when out is too small (DKIM_RECORD_MAX is always enough). */
int dkim_dns_record(const struct dkim_key *k, char *out, size_t outlen);
/* dkim_dns_record() of the key in a PEM file: what `postern dkim show` and
 * `postern domain records` print. 0, or -1 with err. */
int dkim_dns_record_of_file(const char *path, char *out, size_t outlen, char *err,
                            size_t errlen);
/* Signs a SHA-256 digest of the canonical header data: PKCS#1 v1.5 over a
 * sha256 DigestInfo for RSA, PureEdDSA over the 32 digest octets for Ed25519
 * (RFC 8463 3). Writes a malloc'd signature to *sig. 0, or -1 with err.
 * Used by dkim_sign.c; exposed so the test and a future ARC signer share it. */
int dkim_key_sign_digest(const struct dkim_key *k, const unsigned char digest[32],
                         unsigned char **sig, size_t *siglen, char *err, size_t errlen);

/* The public key of a key record's p= (RFC 6376 3.6.1, RFC 8463 4): for RSA
 * a DER SubjectPublicKeyInfo (an RSAPublicKey alone is accepted too, as
 * other verifiers do), for Ed25519 the raw 32 octets. *bits gets the key's
 * size. NULL with err when p= is not such a key. */
EVP_PKEY *dkim_pubkey_new(enum dkim_alg alg, const unsigned char *p, size_t len, int *bits,
                          char *err, size_t errlen);
/* Public keys parsed before, by their p= octets: OpenSSL 3's decoder is
 * the costliest step of a verification, and a sender's key is the same for
 * every message. A few keys, the oldest dropped first; one per thread (no
 * locking). dkim_pubkey_get() is dkim_pubkey_new() through the cache (NULL:
 * none); the key returned is the caller's to free either way. */
struct dkim_key_cache;
struct dkim_key_cache *dkim_key_cache_new(void);
void dkim_key_cache_free(struct dkim_key_cache *c);
EVP_PKEY *dkim_pubkey_get(struct dkim_key_cache *c, enum dkim_alg alg, const unsigned char *p,
                          size_t len, int *bits, char *err, size_t errlen);
/* Checks a signature made by dkim_key_sign_digest(): 1 when it is valid,
 * 0 when not. */
int dkim_pubkey_verify_digest(EVP_PKEY *pk, enum dkim_alg alg, const unsigned char digest[32],
                              const unsigned char *sig, size_t siglen);

/* ---- signing (dkim_sign.c) ---------------------------------------------- */

/* Reads up to len octets of the message into buf: the count read, 0 at the
 * end of the message, -1 on error. */
typedef ssize_t (*dkim_read_fn)(void *arg, void *buf, size_t len);

/* Signs the message that rd returns, front to back, with c=relaxed/relaxed.
 * h= lists From, To, Cc, Subject, Date, Message-ID, Reply-To, In-Reply-To,
 * References, MIME-Version, Content-Type, Content-Transfer-Encoding, Sender,
 * List-Id and List-Unsubscribe as often as each occurs, and From, To,
 * Subject, Date and Message-ID once more (oversigning: nobody can add one).
 * Returns a malloc'd "DKIM-Signature: ...\n" field folded with "\n\t" to
 * prepend to the (LF-ended) message, or NULL with err: no From field, a
 * malformed or over-limit header block, a read error, a bad domain or
 * selector, or a crypto failure. */
char *dkim_sign(const struct dkim_key *key, const char *domain, const char *selector,
                dkim_read_fn rd, void *rd_arg, time_t now, char *err, size_t errlen);
/* The h= list dkim_sign() uses for header h ("from:from:to:..."), malloc'd;
 * the ARC sealer signs the same fields. */
struct mail_header;
char *dkim_h_list_new(const struct mail_header *h);
/* Whether s can be a d= or s=: letters, digits, '-', '_' in dot-separated
 * labels of 1 to 63 octets, at most 253 in all. */
bool dkim_valid_dns_name(const char *s);

/* dkim_sign() over a message held in memory. */
char *dkim_sign_buffer(const struct dkim_key *key, const char *domain, const char *selector,
                       const char *msg, size_t len, time_t now, char *err, size_t errlen);

#endif
