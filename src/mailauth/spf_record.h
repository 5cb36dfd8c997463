/* Reading an SPF record (RFC 7208) without evaluating it against DNS: is a
 * TXT text an SPF record, does it authorise our own server, does it let
 * anybody pass. For `postern domain records --check`; a full SPF verifier
 * would evaluate include:, exists: and macros, which this does not. */
#ifndef POSTERN_SPF_RECORD_H
#define POSTERN_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7208 4.5: "v=spf1" (any case) alone or followed by a space. */
bool spf_is_record(const char *txt);

/* True when the record's first matching mechanism for every one of addrs is a
 * pass: "mx" or "mx:DOMAIN", "a", "a:HOSTNAME" or "a:DOMAIN" (any prefix
 * length), an ip4:/ip6: network holding the address, or "+all". Terms are
 * read in order, so "-ip4:X mx" refuses X. With naddrs == 0 only mx and a
 * can authorise (the addresses behind them are not known).
 * include:, exists:, ptr and mechanisms naming other hosts are skipped as
 * unknown; *unknown (may be NULL) is set when one was skipped before the
 * decision. */
bool spf_authorises(const char *record, const char *domain, const char *hostname,
                    const char *const *addrs, size_t naddrs, bool *unknown);

/* True when the record ends in a pass for everybody: "all" or "+all"
 * (RFC 7208 5.1: any host may send as the domain). */
bool spf_passes_all(const char *record);

#endif
