/* Recipient resolution: turns an address into the local mailboxes (and, for
 * aliases, remote addresses) that should receive the message. */
#ifndef POSTERN_RESOLVE_H
#define POSTERN_RESOLVE_H

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

/* local/domain are the recipient as parsed; matching is case-insensitive.
 * Order: exact alias, exact user, subaddress (user+tag: the part before the
 * first '+'), then the domain's catch-all alias (local ""). */
enum resolve_result resolve_recipient(struct store *st, const char *local, const char *domain,
                                      struct resolved *out);

/* May the authenticated user (local@domain) use `addr` as a sender? Its own
 * address, a subaddress of it (user+tag@domain), or an alias of which the
 * user is a target. 1 yes, 0 no, -1 store error. */
int resolve_sender_allowed(struct store *st, const char *user, const char *addr);

/* Splits "local@domain" at the last '@' into lower-cased parts. 0 or -1. */
int resolve_split_address(const char *addr, char *local, size_t locallen, char *domain,
                          size_t domainlen);

#endif
