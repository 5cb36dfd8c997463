/* Token buckets by key: how many events (messages, recipients, requests) a
 * key (a user, a client address, an API key) may have per window, shared by
 * every worker (thread-safe, sharded locks) and bounded in memory. The send
 * rate limits (net/sendlimit.h) are one user; a request limit is another.
 *
 * A rate of `limit` per `window_ms` is a bucket that holds `limit` events
 * and refills continuously, the whole of it in one window: a burst of
 * `limit` at once, then one more every window_ms / limit. A key has up to
 * RATE_TABLE_SLOTS buckets (say messages per minute, per hour, per day),
 * each given as rates[i] on every call, so a changed limit applies at once
 * (a lowered one caps what the bucket holds).
 *
 * Times are the caller's milliseconds on a clock that does not step
 * (now_ms() in the server; anything monotonic in a test). */
#ifndef POSTERN_RATE_TABLE_H
#define POSTERN_RATE_TABLE_H

#include <stddef.h>

#define RATE_TABLE_SLOTS 8
/* Longer keys are cut (an address is at most 254 octets). */
#define RATE_TABLE_KEY_MAX 320

struct rate {
	long long limit;        /* events per window; 0 (or less): no limit */
	long long window_ms;    /* > 0 */
};

struct rate_table;

/* A table that tracks max_keys keys at most: past that, a new key pushes
 * out an idle one (all its buckets full again, so nothing is forgotten), or
 * else the least recently charged one (which is forgiven). */
struct rate_table *rate_table_new(size_t max_keys);
void rate_table_free(struct rate_table *t);

/* How long until need[i] more events fit rates[i] of key, for every i < n:
 * 0 when they fit now, else the longest wait in ms. Nothing is taken. A key
 * never charged has full buckets; need[i] above rates[i].limit is answered
 * with the wait until the bucket has it after its debt is paid back. */
long long rate_table_wait(struct rate_table *t, const char *key, const struct rate *rates,
                          const long long *need, size_t n, long long now_ms);

/* Takes count[i] events from rates[i] of key, whether they fit or not: a
 * bucket may go into debt (one window's worth at most), which later waits
 * pay back. For events already allowed and done (an accepted message). */
void rate_table_take(struct rate_table *t, const char *key, const struct rate *rates,
                     const long long *count, size_t n, long long now_ms);

/* rate_table_wait, and when it is 0 the events taken, under one lock: for a
 * request that is refused or done at once. */
long long rate_table_try(struct rate_table *t, const char *key, const struct rate *rates,
                         const long long *need, size_t n, long long now_ms);

/* Keys tracked now, and keys pushed out while still owing (for tests, metrics). */
size_t rate_table_size(struct rate_table *t);
unsigned long long rate_table_forgiven(struct rate_table *t);

#endif
