/* An in-memory DNS for SPF tests and the fuzzer: a zone of (name, type,
 * value) entries and TIMEOUT markers, answered through struct spf_dns when
 * the test says so (fakedns_run), never from inside a query. The rules are
 * pyspf's test driver's (see tests/spf/zone_cases.py): names compare without
 * case and without empty labels, a label over 63 octets or an absent name
 * under "error." times out, a TIMEOUT entry times out the types not listed
 * before it, CNAMEs are followed. */
#ifndef POSTERN_SPF_FAKEDNS_H
#define POSTERN_SPF_FAKEDNS_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/spf_dns.h"

struct fakedns;

struct fakedns *fakedns_new(void);
void fakedns_free(struct fakedns *d);
/* type: "A", "AAAA", "MX", "PTR", "TXT", "CNAME", "SPF" (kept, never asked
 * for) or "TIMEOUT" (value ignored). */
void fakedns_add(struct fakedns *d, const char *name, const char *type, const char *value);
/* The same for a value that may hold NUL octets. */
void fakedns_add_len(struct fakedns *d, const char *name, const char *type, const char *value,
                     size_t len);
/* Empties the zone (pending queries must have been answered or cancelled). */
void fakedns_clear(struct fakedns *d);
/* Answer the newest pending query first instead of the oldest. */
void fakedns_set_lifo(struct fakedns *d, bool lifo);
const struct spf_dns *fakedns_iface(struct fakedns *d);
/* Answers pending queries (including those asked meanwhile) until none is
 * left; returns how many were answered. */
size_t fakedns_run(struct fakedns *d);
/* Queries asked since fakedns_new(), and pending now. */
size_t fakedns_asked(const struct fakedns *d);
size_t fakedns_pending(const struct fakedns *d);
/* The most queries that were pending at once. */
size_t fakedns_max_pending(const struct fakedns *d);

#endif
