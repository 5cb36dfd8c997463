/* Whether a login attempt may have its password checked, now, later or not
 * at all: the limiter's verdict, the checks in flight and the user's known
 * networks in one decision, so that no username block locks its owner out.
 *
 *   the address (or this username from it) blocked or at its limit: REFUSE;
 *   checks in flight would pass a limit: BUSY (wait for one to end);
 *   the username blocked, from one of its known networks: KNOWN, checked
 *     now (its owner's password works; a wrong one still counts against
 *     the address, which stays limited);
 *   the username blocked, from elsewhere: DELAY, checked only after
 *     lockout_delay_ms() and still counted per address, so a guesser gains
 *     nothing from the block but waiting, and the owner is slowed, not shut
 *     out, until the per-address limits apply to that address;
 *   else ALLOW.
 *
 * Master users (auth/master.h) have no known networks and keep the plain
 * block: their names are not public and `postern auth unblock` is theirs. */
#ifndef POSTERN_LOCKOUT_H
#define POSTERN_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/ratelimit.h"

enum lockout_decision {
	LOCKOUT_ALLOW,
	LOCKOUT_KNOWN,      /* the username is blocked; its known network: check now */
	LOCKOUT_DELAY,      /* the username is blocked; elsewhere: check after the delay */
	LOCKOUT_BUSY,       /* checks in flight fill a limit: wait for one to end */
	LOCKOUT_REFUSE,     /* the address or the pair is blocked, or the state unknown */
};

/* What the decision is made from: read by lockout_assess, or set by a test. */
struct lockout_facts {
	enum ratelimit_verdict verdict;         /* ratelimit_check's */
	int ip_failures, pair_failures, user_failures;  /* recorded, in their windows */
	int ip_pending, pair_pending, user_pending;     /* checks in flight */
	bool known_network;                     /* looked up only when the username is blocked */
	bool relief;                            /* a user's login (false: a master's) */
};

/* The decision over the facts; pure. */
enum lockout_decision lockout_decide(const struct auth_limits_cfg *c, const struct lockout_facts *f);

/* How long a DELAY waits before the check: twice the longest failure delay. */
uint64_t lockout_delay_ms(const struct auth_limits_cfg *c);

/* Fills f (all but the pending counts, left as they are) from the backend at
 * now_ms: the limiter's verdict, the failure counts, and, when only the
 * username is blocked and relief is asked, whether ip's network is known. */
void lockout_assess(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                    const char *ip, const char *user, bool relief, long long now_ms,
                    struct lockout_facts *f);

/* For the log: "allow", "known_network", "delayed", "busy", "refused". */
const char *lockout_decision_name(enum lockout_decision d);

#endif
