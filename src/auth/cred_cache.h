/* The verified-credentials cache: remembers, for a short time, that a
 * password was right, so that a client logging in again does not pay for
 * Argon2id again (as Dovecot's auth cache does). In memory only.
 *
 * An entry is nothing but an HMAC-SHA-256, under a key drawn at random when
 * the cache is made and never written anywhere, of (user, the user's stored
 * password hash, password), with its expiry. Without the key an entry says
 * nothing: no password can be tried against it offline, and the process dies
 * with the key. Because the stored hash is part of the input, a password
 * change or a deleted user (whatever process made it) changes what a login
 * computes, so the old entry can never match again: the caller reads the
 * stored hash on every login anyway, and nothing has to be told.
 *
 * Only successes go in; a miss tells the caller to check the password the
 * slow way. Entries live ttl_ms from the check that proved them (a hit does
 * not extend that), at most max_entries at once, the least recently used
 * evicted first. Thread-safe: one mutex around the table. */
#ifndef POSTERN_CRED_CACHE_H
#define POSTERN_CRED_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRED_CACHE_MAC_LEN 32   /* HMAC-SHA-256 */

struct cred_cache;

/* A new cache with a fresh random key; NULL when no random key or HMAC can
 * be had. ttl_ms 0 makes a cache that remembers nothing. */
struct cred_cache *cred_cache_new(uint64_t ttl_ms, size_t max_entries);
/* Wipes the key and every entry. NULL is fine. */
void cred_cache_free(struct cred_cache *c);

/* The entry key of a login: HMAC(process key, user, stored_hash, password),
 * each field length-prefixed. 0, or -1 when HMAC failed. */
int cred_cache_mac(const struct cred_cache *c, const char *user, const char *stored_hash,
                   const char *password, unsigned char out[CRED_CACHE_MAC_LEN]);

/* True when mac was remembered and has not expired at now_ms (any clock, as
 * long as the same one is given to cred_cache_remember). A NULL cache
 * remembers nothing. */
bool cred_cache_lookup(struct cred_cache *c, const unsigned char mac[CRED_CACHE_MAC_LEN],
                       uint64_t now_ms);
/* Remembers a login proved at now_ms, evicting the least recently used
 * entry when full. */
void cred_cache_remember(struct cred_cache *c, const unsigned char mac[CRED_CACHE_MAC_LEN],
                         uint64_t now_ms);
/* Entries held (expired ones not yet dropped included). */
size_t cred_cache_count(struct cred_cache *c);

#endif
