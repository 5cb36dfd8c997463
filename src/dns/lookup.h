/* Blocking DNS lookups for the command line (`postern domain records
 * --check`): queries are queued, then sent together and waited for with one
 * deadline, so a dead server costs one timeout, not one per query. Never for
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

/* Queues a query for name's records of type t; *out (which must stay put
 * until dns_lookup_wait() returns) gets the answer, or DNS_TEMPFAIL when the
 * query cannot be sent or is not answered in time. The caller releases *out
 * with dns_answer_clear(). */
void dns_lookup_add(struct dns_lookup *l, const char *name, enum dns_rrtype t,
                    struct dns_answer *out);
/* Sends the queued queries and waits for their answers, at most
 * DNS_LOOKUP_TIMEOUT_MS in all. */
void dns_lookup_wait(struct dns_lookup *l);
void dns_answer_clear(struct dns_answer *a);

#endif
