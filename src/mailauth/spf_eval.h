/* Evaluating SPF (RFC 7208 check_host()) for one SMTP transaction,
 * asynchronously: the check is a state machine that sends its DNS queries
 * through a struct spf_dns and resumes on each answer, so the SMTP session
 * goes on (RCPT is not held up) while it runs.
 *
 * Limits (RFC 7208 4.6.4): 10 terms that query DNS (include, a, mx, ptr,
 * exists, redirect) across the whole evaluation, so include/redirect loops
 * end there; 2 void lookups (NXDOMAIN or no records); 10 MX names per mx (more
 * is a permerror); the first 10 PTR names; records over SPF_RECORD_MAX octets
 * are a permerror. */
#ifndef POSTERN_SPF_EVAL_H
#define POSTERN_SPF_EVAL_H

#include "mailauth/spf_dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *spf_result_name(enum spf_result r);

struct spf_request {
	const char *ip;       /* the client's address: "192.0.2.1" or "2001:db8::1" */
	const char *sender;   /* MAIL FROM without <>; "" or NULL for the null sender */
	const char *helo;     /* the HELO/EHLO argument */
	const char *receiver; /* our host name, for %{r} in explanations (may be NULL) */
	long long now;        /* seconds since the epoch, for %{t} (0: time(NULL)) */
};

struct spf_outcome {
	enum spf_result result;
	const char *domain;      /* the identity's domain that was checked */
	const char *identity;    /* "mailfrom", or "helo" for the null sender */
	const char *explanation; /* exp= text, only for SPF_FAIL; NULL when none */
	const char *reason;      /* short text for logs: "matched ip4:...", "no SPF record", ... */
};

/* o and its strings are valid during the call only. */
typedef void (*spf_done_fn)(void *arg, const struct spf_outcome *o);

struct spf_check;

/* Starts check_host() for the MAIL FROM identity, or for HELO (as
 * postmaster@HELO, RFC 7208 2.4) when the sender is null. done runs once with
 * the outcome; then the check is freed. When no DNS is needed (a malformed
 * identity gives "none", a malformed IP "permerror") done runs before this
 * returns, and the return is NULL. dns must outlive the check. */
struct spf_check *spf_check_start(const struct spf_dns *dns, const struct spf_request *req,
                                  spf_done_fn done, void *arg);

/* Stops a check whose done has not run yet (the session ended): its DNS
 * queries are cancelled, done will not run, and the check is freed. */
void spf_check_cancel(struct spf_check *c);

#endif
