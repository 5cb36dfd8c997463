/* The auth rate limiter's persistent state (auth/ratelimit.c is the only
 * intended caller): failed attempts and blocks, per client IP ("ip") or per
 * username ("user").
 *
 * Kept in the store, not in memory, so that a restart is no way around a
 * block, and behind these functions so that another backend (Redis for
 * several nodes) can hold it later. All times are milliseconds since the
 * Unix epoch (wall clock: they must mean the same after a restart). Keys are
 * compared exactly: the caller normalises them (ratelimit.c lower-cases
 * usernames and writes IPs in canonical form). */
#ifndef POSTERN_STORE_AUTH_H
#define POSTERN_STORE_AUTH_H

#include "store/store.h"

/* store_auth_prune deletes at most this many rows of each table per call,
 * so that one call never holds the write lock for long. */
#define STORE_AUTH_PRUNE_BATCH 1000

/* Records one failed attempt at ts_ms. STORE_OK or STORE_ERROR. */
int store_auth_add_failure(struct store *st, const char *kind, const char *key, long long ts_ms);
/* Failures of kind/key with ts >= since_ms: the count, or STORE_ERROR. */
int store_auth_count_failures(struct store *st, const char *kind, const char *key,
                              long long since_ms);
/* Blocks kind/key until until_ms (upsert). An existing block that lasts
 * longer is kept as it is. STORE_OK or STORE_ERROR. */
int store_auth_block(struct store *st, const char *kind, const char *key, long long until_ms,
                     const char *reason);
/* The end of kind/key's block when it is still in force at now_ms, 0 when
 * not blocked, -1 on error. */
long long store_auth_blocked_until(struct store *st, const char *kind, const char *key,
                                   long long now_ms);
/* Removes kind/key's block and all its recorded failures: STORE_OK, or
 * STORE_NOT_FOUND when there was neither, or STORE_ERROR. */
int store_auth_unblock(struct store *st, const char *kind, const char *key);
/* Forgets kind/key's failures (after a successful login). STORE_OK or STORE_ERROR. */
int store_auth_clear_failures(struct store *st, const char *kind, const char *key);
/* Blocks in force at now_ms, ordered by kind then key.
 * cols: kind, key, until (ms since the epoch, as text), reason.
 * Returns the number of rows, or STORE_ERROR. */
int store_auth_list_blocks(struct store *st, long long now_ms, store_row_cb cb, void *arg);
/* Deletes failures with ts < before_ms and blocks that ended at or before
 * before_ms, at most STORE_AUTH_PRUNE_BATCH of each. Returns the number of
 * rows deleted (call again while it is >= the batch), or STORE_ERROR. */
int store_auth_prune(struct store *st, long long before_ms);

/* ---- known networks ------------------------------------------------------------
 * The networks a username logged in from (auth/known_networks.h): user is
 * the limiter's user key, network a canonical prefix ("192.0.2.0/24"). */

/* Records a login of user from network at now_ms and keeps only user's
 * `keep` most recent networks. STORE_OK or STORE_ERROR. */
int store_auth_network_remember(struct store *st, const char *user, const char *network,
                                long long now_ms, int keep);
/* When user last logged in from network: ms since the epoch, 0 never (or
 * forgotten), -1 on error. */
long long store_auth_network_last_login(struct store *st, const char *user, const char *network);
/* Forgets networks whose last login is before before_ms, at most
 * STORE_AUTH_PRUNE_BATCH per call: rows deleted, or STORE_ERROR. */
int store_auth_network_prune(struct store *st, long long before_ms);

#endif
