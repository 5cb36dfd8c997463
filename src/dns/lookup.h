/* Blocking DNS lookups for the command line (`postern domain records
 * --check`): one query at a time, each ending within a deadline. Never for
 * the daemon, whose loops must not block (dns/resolver.h is its resolver);
 * both configure libunbound through dns/ubctx.h, so they ask the same servers. */
#ifndef POSTERN_LOOKUP_H
#define POSTERN_LOOKUP_H

#include <stddef.h>

#include "dns/rdata.h"
#include "dns/resolver.h"

/* The most records kept of one answer. */
#define DNS_ANSWER_MAX 32
/* The longest record text kept (a TXT of a 4096-bit RSA DKIM key fits). */
#define DNS_TEXT_MAX 4096
#define DNS_LOOKUP_TIMEOUT_MS 10000

struct dns_answer {
	/* DNS_OK (n may be 0: the name exists without such records),
	 * DNS_NXDOMAIN, DNS_TEMPFAIL (no answer in time, SERVFAIL...) or DNS_BOGUS */
	enum dns_status st;
	char *text[DNS_ANSWER_MAX]; /* dns_rdata_text() of each record; malformed ones left out */
	size_t n;
};

struct dns_lookup;

/* servers and zones as for resolver_new() and resolver_allow_zone() (config
 * dns.servers, dns.allow_zones). NULL with err on failure. */
struct dns_lookup *dns_lookup_new(const char *const *servers, size_t nservers,
                                  const char *const *zones, size_t nzones, char *err,
                                  size_t errlen);
void dns_lookup_free(struct dns_lookup *l);

/* Asks for name's records of type t and waits for the answer, at most
 * DNS_LOOKUP_TIMEOUT_MS. Fills out, which the caller releases with
 * dns_answer_clear(); out->st says how it went. */
void dns_lookup(struct dns_lookup *l, const char *name, enum dns_rrtype t,
                struct dns_answer *out);
void dns_answer_clear(struct dns_answer *a);

#endif
