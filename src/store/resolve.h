/* Recipient resolution: turns an address into the local mailboxes (and, for
 * aliases, remote addresses) that should receive the message. */
#ifndef POSTERN_RESOLVE_H
#define POSTERN_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

#define RESOLVE_MAX_TARGETS 64
#define RESOLVE_MAX_DEPTH   8

enum resolve_result {
	RESOLVE_OK = 0,           /* at least one target; see counts */
	RESOLVE_NOT_LOCAL,        /* domain is not one of ours */
	RESOLVE_NO_SUCH_USER,     /* local domain, nobody by that name */
	RESOLVE_TOO_MANY,         /* alias expansion over the limits or a loop */
	RESOLVE_TEMPFAIL,         /* the store could not be read */
	RESOLVE_NO_ADMIN,         /* postmaster@/abuse@ with nobody to receive it yet */
};

struct resolved_mailbox {
	char local[65];
	char domain[256];
};

struct resolved {
	struct resolved_mailbox mailbox[RESOLVE_MAX_TARGETS];
	size_t nmailbox;
	char remote[RESOLVE_MAX_TARGETS][257];
	size_t nremote;
};

/* The admin's addresses (RFC 5321 4.5.1 postmaster, RFC 2142 abuse): at
 * every local domain and at the hostname they reach the postmaster list. */
struct resolve_admin {
	const char *hostname;           /* a domain for postmaster@ and abuse@ only */
	char *const *postmaster;        /* the `postmaster` addresses, local or remote */
	size_t npostmaster;             /* 0: the first user created */
};

struct config;
/* The admin rule as the configuration sets it (hostname, `postmaster`). */
struct resolve_admin resolve_admin_of(const struct config *cfg);

/* Whether local@domain is one of the admin's addresses: local part
 * postmaster or abuse in any case, at a local domain (local_domain) or at
 * admin->hostname. Pure; false when admin is NULL. */
bool resolve_admin_match(const struct resolve_admin *admin, const char *local, const char *domain,
                         bool local_domain);

/* local/domain are the recipient as parsed; matching is case-insensitive.
 * Order: exact alias, exact user, the admin rule (postmaster@ and abuse@,
 * when admin is not NULL), subaddress (user+tag: the part before the first
 * '+'), then the domain's catch-all alias (local ""). The admin rule also
 * covers the hostname when it is no local domain. A configured postmaster
 * address that reaches nobody is skipped; RESOLVE_NO_ADMIN when none is left,
 * or when there is no postmaster setting and no user yet. */
enum resolve_result resolve_recipient(struct store *st, const struct resolve_admin *admin,
                                      const char *local, const char *domain, struct resolved *out);

/* What one `postmaster` address (lower-case) reaches, as postmaster@
 * mail would use it: RESOLVE_NO_SUCH_USER when nobody (serve warns). */
enum resolve_result resolve_postmaster_address(struct store *st, const struct resolve_admin *admin,
                                               const char *addr, struct resolved *out);

/* May the authenticated user (local@domain) use `addr` as a sender? Its own
 * address, a subaddress of it (user+tag@domain), or an alias of which the
 * user is a target. 1 yes, 0 no, -1 store error. */
int resolve_sender_allowed(struct store *st, const char *user, const char *addr);

/* Splits "local@domain" at the last '@' into lower-cased parts. 0 or -1. */
int resolve_split_address(const char *addr, char *local, size_t locallen, char *domain,
                          size_t domainlen);

#endif
