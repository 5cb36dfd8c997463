/* ARC chain validation (RFC 8617 5.2), streaming like dkim_verify.h and on
 * the same injected DNS interface (struct dkim_dns):
 *
 *     v = arc_verify_new(&dns, NULL, time(NULL));
 *     arc_verify_header(v, hdr, hdr_len);   the sets, their structure, the
 *                                           header hashes, the key lookups
 *     arc_verify_body(v, chunk, n);         as the body streams in
 *     arc_verify_finish(v, done, arg);      done() once every key answered
 *     arc_verify_free(v);                   any time; cancels lookups
 *
 * The result says whether the chain passes (cv), which instance's AMS is
 * the oldest that still verifies (oldest-pass), and for every set who
 * sealed it (the seal's d= and s=) and what its ARC-Authentication-Results
 * said. Whether a sealer is trusted, and so whether DMARC may use what its
 * AAR says about the message as it arrived there, is the caller's
 * decision (arc.trusted_sealers): arc_trusted_instance() helps.
 *
 * Memory is bounded: at most ARC_MAX_INSTANCE sets, each keeping digests
 * and its AAR payload (the header block is bounded by DKIM_HEADER_MAX); one
 * running body hash per distinct (body canonicalisation, l=) among the AMSs
 * whose key is looked up. */
#ifndef POSTERN_ARC_VERIFY_H
#define POSTERN_ARC_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailauth/arc.h"
#include "mailauth/dkim_verify.h"

/* Distinct keys looked up for one message: the newest AMS's and every
 * seal's come first (the chain fails when they do not fit), then the older
 * AMSs' for oldest-pass while room is left. A hostile message cannot make
 * more lookups than this. */
#define ARC_VERIFY_MAX_LOOKUPS 20

struct arc_verify_limits {
	unsigned max_lookups;
};

struct arc_set_result {
	unsigned instance;
	enum arc_cv cv;                         /* its seal's cv= */
	char seal_domain[DKIM_NAME_MAX + 1];    /* the sealer: ARC-Seal d=, lower-cased */
	char seal_selector[DKIM_NAME_MAX + 1];  /* ARC-Seal s= */
	char ams_domain[DKIM_NAME_MAX + 1];     /* ARC-Message-Signature d= */
	char ams_selector[DKIM_NAME_MAX + 1];
	bool seal_valid;                        /* the seal verified */
	bool ams_checked, ams_valid;            /* the AMS was checked (its key looked up), and verified */
	char seal_reason[300], ams_reason[300]; /* why not, "" when valid or not checked */
	/* The AAR payload (authserv-id; results) unfolded, each run of white
	 * space one SP, NUL-terminated:
	 * what the sealer found when the message reached it. */
	char *aar;
};

struct arc_result {
	enum arc_cv cv;             /* the chain validation status */
	bool temperror;             /* cv is fail because a key lookup failed for now */
	char reason[160];
	/* RFC 8617 5.2 step 5, as Authentication-Results' header.oldest-pass
	 * writes it: 0 when every AMS verifies (the message is as the first
	 * sealer saw it), else the lowest instance whose AMS verifies along
	 * with every newer one (N when only the newest does). 0 too when cv is
	 * not pass; an AMS whose key did not fit max_lookups counts as failed. */
	unsigned oldest_pass;
	unsigned nsets;             /* N, when the structure is valid; else 0 */
	const struct arc_set_result *sets;      /* sets[k] is instance k + 1 */
};

/* ---- the verifier -------------------------------------------------------- */

struct arc_verify;

/* dns must outlive the verifier; limits NULL means the defaults. now judges
 * an AMS's x=. */
struct arc_verify *arc_verify_new(const struct dkim_dns *dns,
                                  const struct arc_verify_limits *limits, time_t now);
/* The header block (the empty line may be included; LF or CRLF). Returns N,
 * 0 when the message has no ARC field, -1 when the chain has failed on its
 * structure already (the result says why). Only once. */
int arc_verify_header(struct arc_verify *v, const char *hdr, size_t len);
void arc_verify_body(struct arc_verify *v, const void *data, size_t len);

/* r lives until arc_verify_free(), which done may call. */
typedef void (*arc_verify_done_fn)(void *arg, const struct arc_result *r);
/* Ends the body; done runs once the last key lookup answers (maybe inside
 * this call). Only once. */
void arc_verify_finish(struct arc_verify *v, arc_verify_done_fn done, void *arg);
void arc_verify_free(struct arc_verify *v);

/* ---- trust ------------------------------------------------------------ */

/* Whether domain is one of the n sealer domains (case-insensitive). */
bool arc_sealer_listed(const char *domain, const char *const *trusted, size_t n);
/* The set whose AAR a receiver may believe: when the chain passes, the
 * lowest instance i such that the sealers of i..N are all trusted (each
 * trusted sealer vouches for what the one before it said); 0 when the chain
 * does not pass or the newest sealer is not trusted. */
unsigned arc_trusted_instance(const struct arc_result *r, const char *const *trusted,
                              size_t n);

#endif
