/* Authentication rate limiting, shared by every protocol that checks a
 * password (SMTP submission, and IMAP, POP3 and the admin API later).
 *
 * Failures are counted per client IP, per username and per username from
 * one client IP ("ip_user": a stale password on one phone is blocked there
 * before it adds up to a block of the whole address, an office behind NAT)
 * in sliding windows. Reaching a limit writes a block record; a block outlives a restart because
 * the state sits behind a small backend interface (the store by default, so
 * SQLite today and Redis later). Fail closed: when the backend cannot read or
 * write, the verdict is RL_ERROR and the caller refuses the login.
 *
 * A protocol session does, for each attempt:
 *   ratelimit_check()    before verifying the password (refuse unless RL_ALLOW);
 *   ratelimit_failure()  after a wrong password, then waits *delay_ms before
 *                        answering (without blocking the event loop);
 *   ratelimit_success()  after a right one.
 *
 * Security events ("auth.failure", "auth.blocked", "auth.ratelimited",
 * "auth.unblocked") are written with log_security(): to the main log and a
 * copy to the audit log when one is configured. Fields: ip, user (the
 * normalised key), protocol, reason; never the password. A backend error is
 * an "auth.ratelimit_error" line at level error in the main log.
 *
 * Times are milliseconds since the Unix epoch (ratelimit_clock_ms()), not
 * the monotonic clock: they are stored and must mean the same after a restart. */
#ifndef POSTERN_RATELIMIT_H
#define POSTERN_RATELIMIT_H

#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct auth_limits_cfg;

/* Keys longer than this (a username chosen by a client) are cut: a real
 * address fits in 254 octets (RFC 5321 4.5.3.1.3). */
#define RATELIMIT_KEY_MAX 320

/* The limits are struct auth_limits_cfg (core/config.h), defaults from
 * config_auth_limits_defaults(). */

/* Where the limiter keeps its state. Each function mirrors the store_auth_*
 * one of the same name (store/store_auth.h) and returns the same codes:
 * STORE_OK, a count, STORE_NOT_FOUND, or a negative value on error. */
struct ratelimit_backend {
	int (*add_failure)(void *arg, const char *kind, const char *key, long long ts_ms);
	int (*count_failures)(void *arg, const char *kind, const char *key, long long since_ms);
	int (*block)(void *arg, const char *kind, const char *key, long long until_ms,
	             const char *reason);
	long long (*blocked_until)(void *arg, const char *kind, const char *key, long long now_ms);
	int (*unblock)(void *arg, const char *kind, const char *key);
	int (*clear_failures)(void *arg, const char *kind, const char *key);
	int (*list_blocks)(void *arg, long long now_ms, store_row_cb cb, void *cbarg);
	int (*prune)(void *arg, long long before_ms);
	/* the known networks (store_auth_network_*; auth/known_networks.h);
	 * NULL in a backend without them: no network is ever known */
	int (*remember_network)(void *arg, const char *user, const char *network, long long now_ms,
	                        int keep);
	long long (*network_last_login)(void *arg, const char *user, const char *network);
	int (*prune_networks)(void *arg, long long before_ms);
	void *arg;
};

/* The backend over a store connection (which must outlive its use). */
struct ratelimit_backend ratelimit_store_backend(struct store *st);

enum ratelimit_verdict {
	RL_ALLOW = 0,
	RL_BLOCKED,     /* the IP, or the username from this IP, is blocked or at its limit */
	RL_USER_BLOCKED,/* only the username is: not a refusal by itself (auth/lockout.h) */
	RL_ERROR,       /* the state could not be read or written: refuse (fail closed) */
};

/* Wall-clock milliseconds since the epoch: the `now_ms` to pass below. */
long long ratelimit_clock_ms(void);

/* Before verifying a password. user may be NULL (or "") while the username is
 * not known yet; ip must not be NULL (pass e.g. "unix" for a local socket).
 * The IP, then the username from the IP, then the username. On RL_BLOCKED,
 * *retry_after_ms (if non-NULL) gets how long the refusal lasts at least; a
 * refusal is logged as "auth.ratelimited". RL_USER_BLOCKED (only the
 * username is at its limit) is not logged here: the caller decides
 * (auth/lockout.h) and logs what it does. */
enum ratelimit_verdict ratelimit_check(const struct auth_limits_cfg *c,
                                       const struct ratelimit_backend *b, const char *ip,
                                       const char *user, long long now_ms,
                                       long long *retry_after_ms);

/* The failures recorded in their windows at now_ms: of ip, of user from ip,
 * of user (user must be given). 0, or -1 on a backend error (logged). */
int ratelimit_counts(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                     const char *ip, const char *user, long long now_ms, int *ip_n, int *pair_n,
                     int *user_n);

/* After a failed attempt: records it for the IP, the username (if any) and
 * the username from the IP,
 * blocks what reached a limit, logs "auth.failure" (and "auth.blocked"), and
 * sets *delay_ms to the wait before answering: delay_base_ms doubled for each
 * earlier failure of this IP in ip_window, at most delay_max_ms (delay_max_ms
 * on RL_ERROR). Returns RL_BLOCKED when this failure made the IP or the
 * username reach a limit (the next ratelimit_check refuses), RL_ALLOW
 * otherwise, RL_ERROR on a backend failure. protocol ("smtp", "imap", ...)
 * and reason ("bad_password", "unknown_user", ...) are for the log. */
enum ratelimit_verdict ratelimit_failure(const struct auth_limits_cfg *c,
                                         const struct ratelimit_backend *b, const char *ip,
                                         const char *user, const char *protocol,
                                         const char *reason, long long now_ms,
                                         uint64_t *delay_ms);

/* After a successful login: forgets the username's failures, and its
 * failures from this IP (an attacker cannot wipe its IP's count by logging
 * in to an account of its own, so the IP's failures stay). Errors are
 * logged; the login itself stands. */
void ratelimit_success(const struct ratelimit_backend *b, const char *ip, const char *user,
                       long long now_ms);

/* `postern auth unblock`: kind "ip", "user" or "ip_user", or NULL / "auto"
 * to take an argument that parses as an IPv4 or IPv6 address as an IP, one
 * that is an address, a space and a name ("192.0.2.1 alice@example.org", as
 * `postern auth blocked` lists it) as ip_user, else as a username. Removes the block and the key's failures and logs
 * "auth.unblocked" with the actor (e.g. "cli:uid=0"). Returns STORE_OK,
 * STORE_NOT_FOUND (nothing was blocked or recorded), or STORE_ERROR. */
int ratelimit_unblock(const struct ratelimit_backend *b, const char *kind_or_auto,
                      const char *key, const char *actor);

/* `postern auth blocked`: blocks in force at now_ms. cols: kind, key,
 * until (ms since the epoch, as text), reason. Row count or STORE_ERROR. */
int ratelimit_list_blocks(const struct ratelimit_backend *b, long long now_ms, store_row_cb cb,
                          void *arg);

/* Housekeeping, e.g. once a minute: drops failures older than the longest
 * window and blocks that ended that long ago (a bounded batch per call).
 * Rows deleted, or a negative value on error. */
int ratelimit_prune_before(const struct ratelimit_backend *b, long long before_ms);
int ratelimit_prune(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                    long long now_ms);

/* Canonical keys: an IP as ip_client_key() gives it (IPv6 by its /64), a
 * username in ASCII lower case. Both cut at RATELIMIT_KEY_MAX octets. */
void ratelimit_ip_key(const char *ip, char out[RATELIMIT_KEY_MAX + 1]);
void ratelimit_user_key(const char *user, char out[RATELIMIT_KEY_MAX + 1]);
/* The username from one IP: "IPKEY USERKEY", cut like the others. */
void ratelimit_pair_key(const char *ip, const char *user, char out[RATELIMIT_KEY_MAX + 1]);

#endif
