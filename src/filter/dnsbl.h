/* DNS blocklists and allowlists, asked about a client of port 25 at
 * connect (never for authenticated, LMTP or relay.hosts clients).
 *
 *     env = { .dns, .base, ... } (dnsbl_env_from_config fills it)
 *     c = dnsbl_check_start(&env, ip, done, arg);  every zone asked at once
 *     done(arg, &result)                           later, never inside start:
 *                                                  all answered, or the timeout
 *     dnsbl_check_free(c);                         any time: cancels what runs
 *
 * Each zone is asked for the A records of the client's reversed address
 * ("4.3.2.1.zone"; IPv6 as 32 nibbles, RFC 5782 2.1 and 2.4). An answer
 * in 127.0.0.0/8 (and in the zone's codes when it lists some) is a
 * listing, which adds the zone's weight to the score; allowlist zones have
 * negative weights. A score at or above the threshold is refused (554
 * 5.7.1 naming the zones), a score above 0 below it is Junk.
 *
 * 127.255.255.0/24 is no listing: the list operators answer so when they
 * refuse the resolver (Spamhaus: 127.255.255.254, a public or shared
 * resolver; .255, too many queries; .252, a typing error in the zone).
 * Nor are answers outside 127.0.0.0/8 (resolvers that rewrite NXDOMAIN to
 * an advertising server). Both are errors of that zone, like timeouts and
 * SERVFAIL: the zone counts 0, and the first refusal of each zone is
 * logged once per process with how to fix it. */
#ifndef POSTERN_DNSBL_H
#define POSTERN_DNSBL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"
#include "core/config.h"
#include "mailauth/spf_dns.h"

struct event_base;

/* A records of one answer looked at, at most */
#define DNSBL_ANSWERS_MAX 16
/* the lists of zone names in a result: longer ones end in "..." */
#define DNSBL_LIST_MAX 400

struct dnsbl_env {
	const struct spf_dns *dns;              /* outlives the check */
	struct event_base *base;                /* for the timeout */
	const struct dnsbl_zone *zones;         /* config_dnsbl.c's */
	size_t nzones;
	int threshold;
	unsigned timeout_ms;
	const struct cidr *allow;               /* clients never looked up */
	size_t nallow;
};

/* The dnsbl and dnswl groups (env points into cfg). */
void dnsbl_env_from_config(struct dnsbl_env *env, const struct config *cfg,
                           const struct spf_dns *dns, struct event_base *base);

enum dnsbl_action {
	DNSBL_ACCEPT = 0,
	DNSBL_JUNK,                     /* deliver into the Junk folder */
	DNSBL_REJECT,                   /* refuse: code, enh, text */
};

struct dnsbl_result {
	enum dnsbl_action action;
	bool skipped;                   /* nothing asked: no zones, an allowed client */
	int score;
	int code;                       /* REJECT: 554 */
	const char *enh;                /* REJECT: "5.7.1" */
	char text[512];                 /* REJECT: the reply text, naming the zones */
	char listed[DNSBL_LIST_MAX];    /* "zen.spamhaus.org=127.0.0.2,..."; "" none */
	char errors[DNSBL_LIST_MAX];    /* "bl.example=timeout,..."; "" none */
	/* "X-Postern-DNSBL: score=N; listed=...; errors=...\n" (LF end) for the
	 * top of the message; "" when skipped */
	char header[2 * DNSBL_LIST_MAX + 64];
};

struct dnsbl_check;
/* r is valid during the call only; done may free the check. */
typedef void dnsbl_done_fn(void *arg, const struct dnsbl_result *r);

/* Starts the lookups of ip (text). NULL only when out of memory. */
struct dnsbl_check *dnsbl_check_start(const struct dnsbl_env *env, const char *ip,
                                      dnsbl_done_fn *done, void *arg);
/* Cancels pending lookups (done will not run) and frees. NULL is fine. */
void dnsbl_check_free(struct dnsbl_check *c);

/* The pure parts, for the tests. */
/* The name asked of zone for ip: 0, or -1 (not an address, too long). */
int dnsbl_query_name(const char *ip, const char *zone, char *out, size_t outlen);

enum dnsbl_outcome {
	DNSBL_MISS = 0,                 /* not listed (NXDOMAIN, no record, codes not ours) */
	DNSBL_LISTED,
	DNSBL_REFUSED,                  /* 127.255.255.x: the resolver was refused */
	DNSBL_ERROR,                    /* timeout, SERVFAIL, an answer outside 127/8 */
};
/* What an answer means for zone z; *code gets the listing's address (or
 * the refusing one), "" otherwise. */
enum dnsbl_outcome dnsbl_interpret(const struct dnsbl_zone *z, const struct spf_dns_answer *ans,
                                   char code[16]);

#endif
