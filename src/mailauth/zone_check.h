/* Whether DNS holds what zone_records.h says to publish: one verdict per
 * record, from the answer to a query for the record's own owner and type.
 * Pure (the lookups are the caller's), so the unit tests give it answers. */
#ifndef POSTERN_ZONE_CHECK_H
#define POSTERN_ZONE_CHECK_H

#include <stddef.h>

#include "dns/resolver.h"
#include "mailauth/zone_records.h"

enum zone_verdict {
	ZONE_CHECK_OK,        /* present and right */
	ZONE_CHECK_MISSING,   /* no such record */
	ZONE_CHECK_DIFFERS,   /* records there, not the right ones (or a dangerous one) */
	ZONE_CHECK_FAILED,    /* the lookup failed: SERVFAIL, timeout, DNSSEC bogus */
};

/* "ok", "missing", "differs", "lookup failed" */
const char *zone_verdict_name(enum zone_verdict v);

/* Judges r against the answer (st and the found records' dns_rdata_text())
 * for r->owner and r->type:
 *   MX     the host r names is among the MX targets
 *   SPF    exactly one v=spf1 TXT, which authorises the server (spf_authorises
 *          with in's addresses) and is not a pass for everybody ("+all")
 *   DKIM   a TXT there has the same p= key
 *   DMARC  exactly one v=DMARC1 TXT (its policy is shown)
 *   A/AAAA the address is among the host's
 *   PTR    the host name is among the address's names
 * Writes what was found, or why it is wrong, to detail. */
enum zone_verdict zone_check(const struct zone_record *r, const struct zone_input *in,
                             enum dns_status st, const char *const *found, size_t nfound,
                             char *detail, size_t detaillen);

#endif
