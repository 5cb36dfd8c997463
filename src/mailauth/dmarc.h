/* DMARC (RFC 7489): finding a domain's policy record through an injected
 * asynchronous TXT lookup (dmarc_discover.c), judging a message by the SPF
 * and DKIM outcomes it is given (dmarc_eval.c), and what postern then does
 * under dmarc.enforcement. SPF and DKIM are not run here: their results
 * are plain inputs. */
#ifndef POSTERN_DMARC_H
#define POSTERN_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dmarc_record.h"
#include "mailauth/orgdomain.h"

/* ---- the TXT lookup the caller provides ---- */

enum dmarc_dns_status {
	DMARC_DNS_FOUND = 0,            /* TXT records (maybe none that are DMARC's) */
	DMARC_DNS_NONE,                 /* NXDOMAIN, or no TXT records at that name */
	DMARC_DNS_TEMPFAIL,             /* SERVFAIL, timeout, any other failure */
};

/* One TXT record, its strings joined (RFC 7208 3.3 / RFC 7489 6.6.3) */
struct dmarc_txt {
	const char *s;
	size_t n;
};

typedef void dmarc_txt_done_fn(void *arg, enum dmarc_dns_status st, const struct dmarc_txt *txts,
                               size_t ntxts);

struct dmarc_dns {
	/* Starts a TXT lookup of name. done is called exactly once, maybe
	 * before this returns; the records are only valid during that call.
	 * -1 when the lookup could not be started (done is then not called). */
	int (*lookup_txt)(void *ctx, const char *name, dmarc_txt_done_fn *done, void *arg);
	void *ctx;
};

/* ---- policy discovery (RFC 7489 6.6.3) ---- */

enum dmarc_found_status {
	DMARC_FOUND_RECORD = 0,         /* rec and policy_domain are set */
	DMARC_FOUND_NONE,               /* no record: DMARC does not apply */
	DMARC_FOUND_TEMPERROR,          /* a lookup failed for now */
	/* records there but none usable: several, or one that gives no policy
	 * (reported as permerror; like "none", no policy is applied) */
	DMARC_FOUND_PERMERROR,
};

struct dmarc_found {
	enum dmarc_found_status status;
	struct dmarc_record rec;
	char from_domain[ORGDOMAIN_NAME_MAX];    /* normalised */
	char policy_domain[ORGDOMAIN_NAME_MAX];  /* where the record was found */
	bool at_org;                    /* at the organisational domain, not the From domain */
	char why[400];                  /* for the log: what was wrong */
};

typedef void dmarc_discover_done_fn(void *arg, const struct dmarc_found *found);

struct dmarc_discovery;

/* Looks for the policy of from_domain (the RFC 5322.From domain): at
 * _dmarc.<from_domain>, then at _dmarc.<its organisational domain>. done
 * gets the result once, maybe before this returns (then NULL is
 * returned); otherwise the handle, which dmarc_discover_cancel() takes
 * back while the lookup is pending (done is then never called; the lookup
 * itself must still call back, and its answer is dropped). */
struct dmarc_discovery *dmarc_discover(const struct dmarc_dns *dns, const struct orgdomain *od,
                                       const char *from_domain, dmarc_discover_done_fn *done,
                                       void *arg);
void dmarc_discover_cancel(struct dmarc_discovery *d);

/* ---- evaluation (RFC 7489 3.1, 6.6) ---- */

/* An SPF result (RFC 7208 2.6) as the SPF verifier gives it */
enum dmarc_spf_result {
	DMARC_SPF_NONE = 0,
	DMARC_SPF_PASS,
	DMARC_SPF_FAIL,
	DMARC_SPF_SOFTFAIL,
	DMARC_SPF_NEUTRAL,
	DMARC_SPF_TEMPERROR,
	DMARC_SPF_PERMERROR,
};

/* One DKIM signature as the verifier judged it */
struct dmarc_dkim_sig {
	const char *d;                  /* its d= */
	bool pass;
	/* no l=, or l= covered the whole body: a signature over part of the
	 * body proves nothing about the rest, and does not align */
	bool whole_body;
};

struct dmarc_input {
	const char *from_domain;        /* the one RFC 5322.From address's domain */
	enum dmarc_spf_result spf;
	/* the domain SPF checked: MAIL FROM's, or for <> the HELO name's
	 * (RFC 7489 3.1.2, RFC 7208 2.4) */
	const char *spf_domain;
	const struct dmarc_dkim_sig *dkim;
	size_t ndkim;
};

enum dmarc_result {
	DMARC_RESULT_NONE = 0,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

/* What postern does with the message (dmarc.enforcement; the values of
 * core/config.h's enum config_dmarc_enforcement) */
enum dmarc_enforcement {
	DMARC_ENFORCE_NONE = 0,         /* monitor: judge and record, always deliver */
	DMARC_ENFORCE_RELAXED,          /* quarantine: to Junk; reject: 550 5.7.1 */
	DMARC_ENFORCE_STRICT,           /* quarantine refused too; a DNS failure defers */
};

enum dmarc_disposition {
	DMARC_DISP_ACCEPT = 0,
	DMARC_DISP_JUNK,                /* deliver, into the Junk folder */
	DMARC_DISP_REJECT,              /* 550 5.7.1 */
	DMARC_DISP_DEFER,               /* 451 4.4.3 */
};

/* pct= sampling: a number in 0..99; the default draws it at random, tests
 * give their own */
typedef unsigned dmarc_sample_fn(void *arg);
unsigned dmarc_sample_random(void *arg);

struct dmarc_outcome {
	enum dmarc_result result;
	bool spf_aligned;               /* SPF passed for an aligned domain */
	bool dkim_aligned;              /* some whole-body DKIM signature passed for one */
	enum dmarc_policy policy;       /* the record's p= or sp= for this domain (NONE: none) */
	/* what the result asks for after pct= sampling: NONE on a pass */
	enum dmarc_policy applied;
	bool sampled_out;               /* pct= made the policy one step lighter */
	enum dmarc_disposition disposition;
};

/* Judges a message by the policy found and the authentication results.
 * The sample is drawn only for a failure under quarantine or reject. */
void dmarc_evaluate(const struct orgdomain *od, const struct dmarc_found *found,
                    const struct dmarc_input *in, enum dmarc_enforcement enforcement,
                    dmarc_sample_fn *sample, void *sample_arg, struct dmarc_outcome *out);

/* Whether two normalised domains are aligned in that mode */
bool dmarc_aligned(const struct orgdomain *od, const char *from_domain, const char *other,
                   enum dmarc_align mode);

/* The SMTP reply of a REJECT or DEFER disposition (static strings) */
void dmarc_disposition_reply(enum dmarc_disposition disp, int *code, const char **enh,
                             const char **text);

const char *dmarc_result_name(enum dmarc_result r);
const char *dmarc_disposition_name(enum dmarc_disposition d);

#endif
