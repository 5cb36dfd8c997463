/* The networks each user logged in from: a user's own password still works
 * from them while the username is blocked (auth/lockout.h), so that
 * guessing a username's password from elsewhere cannot lock its owner out.
 *
 * A network is the client address cut to a prefix (IPv4 /24, IPv6 /64 by
 * default: auth.known_networks), a network is known for `remember` (30
 * days) after the user's last successful login from it, and a user keeps at
 * most max_per_user of them (the least recent dropped). The record is in the
 * store (through the limiter's backend: store_auth_network_*), with a small
 * process-wide cache in front so that a login writes at most once an hour
 * per user and network. Process-wide settings, like the credentials cache:
 * configured before the workers start; without it the defaults apply.
 * Users are the limiter's user keys (ratelimit_user_key). */
#ifndef POSTERN_KNOWN_NETWORKS_H
#define POSTERN_KNOWN_NETWORKS_H

#include <stdbool.h>

#include "auth/ratelimit.h"
#include "core/config.h"

/* "192.0.2.0/24", "2001:db8:1:2::/64": long enough for any */
#define KNOWN_NETWORK_MAX 64

void known_networks_configure(const struct known_networks_cfg *k);

/* The network of a client address under the configured prefixes. -1 when
 * ip is no address (a UNIX socket's "unix"): such a client has none. An
 * IPv4-mapped IPv6 address is its IPv4 address. */
int known_network_of(const char *ip, char out[KNOWN_NETWORK_MAX]);

/* Whether user logged in from ip's network within `remember` of now_ms.
 * False when it cannot tell (a backend error, no network): such a login is
 * treated as from elsewhere, delayed rather than refused. */
bool known_network_check(const struct ratelimit_backend *b, const char *user, const char *ip,
                         long long now_ms);

/* After user logged in successfully from ip: the network is known (again)
 * from now_ms. Errors are logged; the login stands. */
void known_network_remember(const struct ratelimit_backend *b, const char *user, const char *ip,
                            long long now_ms);

/* Housekeeping: forgets networks not used within `remember` of now_ms (a
 * bounded batch). Rows deleted, or a negative value on error. */
int known_networks_prune(const struct ratelimit_backend *b, long long now_ms);

/* Empties the cache (tests, which move their clock back and forth). */
void known_networks_cache_clear(void);

#endif
