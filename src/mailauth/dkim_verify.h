/* DKIM signature verification (RFC 6376 6, RFC 8301, RFC 8463), streaming.
 *
 *     v = dkim_verify_new(&dns, &limits, time(NULL));
 *     dkim_verify_header(v, hdr, hdr_len);   once the header block is complete:
 *                                            parses the signatures, hashes their
 *                                            header fields, starts the key lookups
 *     dkim_verify_body(v, chunk, n);         as the body streams in, split anywhere
 *     dkim_verify_finish(v, done, arg);      done() runs once every key has answered
 *                                            (maybe at once, inside this call)
 *     dkim_verify_free(v);                   any time; cancels lookups in flight
 *
 * Memory is bounded whatever the message: the header block is read during
 * dkim_verify_header() and not kept; each signature keeps a digest and its
 * b= octets; the body goes through one running hash per distinct (body
 * canonicalisation, l=) pair. Keys come from the injected DNS interface, so
 * tests and fuzzers use an in-memory one and the daemon its resolver. */
#ifndef POSTERN_DKIM_VERIFY_H
#define POSTERN_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mailauth/dkim_sig.h"

/* ---- the DNS interface -------------------------------------------------- */

enum dkim_dns_status {
	DKIM_DNS_OK = 0,        /* records follow (maybe none that is a key) */
	DKIM_DNS_NOTFOUND,      /* NXDOMAIN, or no TXT record */
	DKIM_DNS_TEMPFAIL,      /* SERVFAIL, timeout: try again later */
};

struct dkim_txt {
	const char *data;       /* one TXT record, its strings joined (RFC 6376 3.6.2.2) */
	size_t len;
};

typedef void (*dkim_dns_txt_cb)(void *arg, enum dkim_dns_status st, const struct dkim_txt *txt,
                                size_t ntxt);

struct dkim_dns {
	/* Starts a TXT lookup of name. cb runs exactly once (possibly before txt
	 * returns) unless cancel() is called first. Returns a query id > 0, or
	 * -1 when the lookup could not start (cb then never runs). */
	int (*txt)(void *ctx, const char *name, dkim_dns_txt_cb cb, void *cb_arg);
	/* Cancels a pending query: its callback will not run. */
	void (*cancel)(void *ctx, int id);
	void *ctx;
	/* keys already parsed (dkim.h), shared by the messages of one thread;
	 * NULL: each is parsed anew */
	struct dkim_key_cache *keys;
};

/* ---- limits and results -------------------------------------------------- */

#define DKIM_VERIFY_MAX_SIGNATURES 5     /* dkim.max_signatures: the default */
#define DKIM_VERIFY_CLOCK_SKEW     300   /* seconds a t= may lie in the future */

struct dkim_verify_limits {
	unsigned max_signatures;        /* the first N DKIM-Signature fields are checked */
	unsigned clock_skew;
};

/* RFC 8601 2.7.1 results. */
enum dkim_verdict {
	DKIM_PASS = 0,
	DKIM_FAIL,              /* the body or signature does not verify; revoked key */
	DKIM_POLICY,            /* refused by RFC 8301: rsa-sha1, RSA under 1024 bits */
	DKIM_TEMPERROR,         /* the key could not be looked up now */
	DKIM_PERMERROR,         /* syntax, no key, expired, unusable key record */
};

struct dkim_result {
	enum dkim_verdict verdict;
	char reason[128];
	char domain[DKIM_NAME_MAX + 1];         /* d=, "" when unreadable */
	char selector[DKIM_NAME_MAX + 1];       /* s= */
	char identity[DKIM_IDENTITY_MAX + 1];   /* i= (or "@" d=), "" when unreadable */
	char algorithm[16];                     /* a= when known */
	char b_prefix[DKIM_B_PREFIX_LEN + 1];   /* header.b= (RFC 6008) */
	bool testing;                           /* the key has t=y */
	/* l=: the body hash covers only signed_octets of body_octets canonical
	 * octets. A pass with body_partial set says nothing about the rest:
	 * DMARC must not count it as aligned for enforcement. */
	bool has_length, body_partial;
	uint64_t signed_octets, body_octets;
};

const char *dkim_verdict_name(enum dkim_verdict v);     /* "pass", "fail", ... */

/* ---- the verifier -------------------------------------------------------- */

struct dkim_verify;

/* dns must outlive the verifier; limits NULL means the defaults. now is the
 * time x= and t= are judged against. */
struct dkim_verify *dkim_verify_new(const struct dkim_dns *dns,
                                    const struct dkim_verify_limits *limits, time_t now);
/* The header block (up to the empty line, which may be included; LF or
 * CRLF). Returns the number of signatures checked (0: unsigned), or -1 when
 * the block is malformed or over DKIM_HEADER_MAX / DKIM_FIELDS_MAX, the
 * DKIM-Signature fields then each a permerror. Only once. */
int dkim_verify_header(struct dkim_verify *v, const char *hdr, size_t len);
/* A piece of the body, as it arrives. */
void dkim_verify_body(struct dkim_verify *v, const void *data, size_t len);

/* results[0, n) in header order (top first). The array lives until
 * dkim_verify_free(), which done may call. */
typedef void (*dkim_verify_done_fn)(void *arg, const struct dkim_result *results, size_t n);
/* Ends the body; done runs once the last key lookup answers. Only once. */
void dkim_verify_finish(struct dkim_verify *v, dkim_verify_done_fn done, void *arg);
/* Frees v, cancelling the lookups in flight (done does not run). NULL ok. */
void dkim_verify_free(struct dkim_verify *v);

/* ---- shared with the ARC verifier ------------------------------------- */

/* The first of n TXT records that is a DKIM key record; the first one's
 * error if none is. 0 or -1. */
int dkim_keyrec_pick(const struct dkim_txt *txt, size_t n, struct dkim_keyrec *k, char *err,
                     size_t errlen);
/* What key record k says about a signature b made with sig_alg over
 * digest: DKIM_PASS when the key is usable for it (*sig_ok then says
 * whether b verifies), else the verdict (revoked, k= or h= or s= refusing,
 * no key in p=, RSA under DKIM_RSA_MIN_BITS) with err. t=s is the
 * caller's. */
enum dkim_verdict dkim_key_check(struct dkim_key_cache *cache, const struct dkim_keyrec *k, enum dkim_sig_alg sig_alg,
                                 const unsigned char digest[32], const unsigned char *b,
                                 size_t b_len, bool *sig_ok, char *err, size_t errlen);

#endif
