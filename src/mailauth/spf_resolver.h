/* struct spf_dns on src/dns's libunbound resolver: the daemon's and the
 * CLI's way to run SPF checks. One per resolver (same thread). */
#ifndef POSTERN_SPF_RESOLVER_H
#define POSTERN_SPF_RESOLVER_H

#include "dns/resolver.h"
#include "mailauth/spf_dns.h"

struct spf_resolver;

/* *dns is filled to ask r; r must outlive the adapter. */
struct spf_resolver *spf_resolver_new(struct resolver *r, struct spf_dns *dns);
/* Cancels what is pending (no callbacks) and frees the adapter. */
void spf_resolver_free(struct spf_resolver *a);

#endif
