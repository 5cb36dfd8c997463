/* TXT lookups for the DKIM and ARC verifiers (struct dkim_dns) and DMARC
 * discovery (struct dmarc_dns) on the one DNS interface the inbound checks
 * get (struct spf_dns), tracked so that a message's checks can end at any
 * time with nothing left to call back into them. */
#ifndef POSTERN_TXT_LOOKUP_H
#define POSTERN_TXT_LOOKUP_H

#include "mailauth/dkim_verify.h"
#include "mailauth/dmarc.h"
#include "mailauth/spf_dns.h"

struct txt_lookups;

/* dns must outlive the set. */
struct txt_lookups *txt_lookups_new(const struct spf_dns *dns);
/* Fills the tables to ask through the set; keys (may be NULL) is the
 * verifiers' cache of parsed keys (dkim.h). */
void txt_lookups_dkim(struct txt_lookups *t, struct dkim_key_cache *keys, struct dkim_dns *out);
void txt_lookups_dmarc(struct txt_lookups *t, struct dmarc_dns *out);
/* Cancels every pending lookup: DKIM's callbacks do not run (the verifiers
 * cancel theirs first anyway); DMARC's, which has no cancel of its own, is
 * answered at once with a temporary failure so that a discovery cancelled
 * before (dmarc_discover_cancel) can free itself. Then frees the set. */
void txt_lookups_free(struct txt_lookups *t);

#endif
