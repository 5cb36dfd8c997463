/* The verified-credentials cache: a hash table of HMACs with an LRU list. */
#include "auth/cred_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/util.h"

#define KEY_LEN 32

struct cred_entry {
	unsigned char mac[CRED_CACHE_MAC_LEN];
	uint64_t expires_ms;
	struct cred_entry *next_in_bucket;
	struct cred_entry *newer, *older;       /* the LRU list */
};

struct cred_cache {
	pthread_mutex_t lock;
	unsigned char key[KEY_LEN];
	EVP_MAC *hmac;
	uint64_t ttl_ms;
	size_t max_entries, count;
	size_t nbuckets;                        /* a power of two */
	struct cred_entry **buckets;
	struct cred_entry *newest, *oldest;
};

/* ---- lifetime ------------------------------------------------------------------------ */

static size_t buckets_for(size_t max_entries)
{
	size_t n = 16;
	while (n < max_entries && n < ((size_t)1 << 24))
		n <<= 1;
	return n;
}

struct cred_cache *cred_cache_new(uint64_t ttl_ms, size_t max_entries)
{
	struct cred_cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	if (RAND_bytes(c->key, sizeof(c->key)) != 1 ||
	    (c->hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL)) == NULL) {
		cred_cache_free(c);
		return NULL;
	}
	c->ttl_ms = ttl_ms;
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->nbuckets = buckets_for(c->max_entries);
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

void cred_cache_free(struct cred_cache *c)
{
	if (c == NULL)
		return;
	for (struct cred_entry *e = c->newest, *next; e != NULL; e = next) {
		next = e->older;
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	EVP_MAC_free(c->hmac);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

/* ---- the MAC ------------------------------------------------------------------------- */

/* A length before each field: ("ab", "c") and ("a", "bc") must differ. */
static int mac_field(EVP_MAC_CTX *ctx, const char *s)
{
	size_t len = strlen(s);
	unsigned char n[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
	                       (unsigned char)(len >> 8), (unsigned char)len };
	return EVP_MAC_update(ctx, n, sizeof(n)) == 1 &&
	       EVP_MAC_update(ctx, (const unsigned char *)s, len) == 1 ? 0 : -1;
}

int cred_cache_mac(const struct cred_cache *c, const char *user, const char *stored_hash,
                   const char *password, unsigned char out[CRED_CACHE_MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outlen = 0;
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(c->hmac);
	int rc = ctx != NULL && EVP_MAC_init(ctx, c->key, sizeof(c->key), params) == 1 &&
	         mac_field(ctx, user) == 0 && mac_field(ctx, stored_hash) == 0 &&
	         mac_field(ctx, password) == 0 &&
	         EVP_MAC_final(ctx, out, &outlen, CRED_CACHE_MAC_LEN) == 1 &&
	         outlen == CRED_CACHE_MAC_LEN ? 0 : -1;
	EVP_MAC_CTX_free(ctx);     /* wipes the provider's copy of the key */
	return rc;
}

/* ---- the table (callers hold the lock) ------------------------------------------------ */

/* The MAC's first bytes pick the bucket: they are as random as the key, so
 * the table cannot be flooded into one chain, and nobody without the key can
 * tell which bucket a password lands in. */
static struct cred_entry **bucket_of(const struct cred_cache *c,
                                     const unsigned char mac[CRED_CACHE_MAC_LEN])
{
	uint64_t h;
	memcpy(&h, mac, sizeof(h));
	return &c->buckets[h & (c->nbuckets - 1)];
}

/* The link that points at mac's entry, or at the NULL ending its chain. */
static struct cred_entry **find(const struct cred_cache *c,
                                const unsigned char mac[CRED_CACHE_MAC_LEN])
{
	struct cred_entry **pp = bucket_of(c, mac);
	while (*pp != NULL && CRYPTO_memcmp((*pp)->mac, mac, CRED_CACHE_MAC_LEN) != 0)
		pp = &(*pp)->next_in_bucket;
	return pp;
}

static void lru_unlink(struct cred_cache *c, struct cred_entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push_newest(struct cred_cache *c, struct cred_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest != NULL)
		c->newest->newer = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
}

static void drop(struct cred_cache *c, struct cred_entry *e)
{
	struct cred_entry **pp = find(c, e->mac);
	*pp = e->next_in_bucket;
	lru_unlink(c, e);
	c->count--;
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* The least recently used end holds the oldest proofs too: drop what expired
 * there, then whatever is needed to make room for one more. */
static void make_room(struct cred_cache *c, uint64_t now_ms)
{
	while (c->oldest != NULL && c->oldest->expires_ms <= now_ms)
		drop(c, c->oldest);
	while (c->count >= c->max_entries)
		drop(c, c->oldest);
}

/* ---- lookups and inserts ---------------------------------------------------------------- */

bool cred_cache_lookup(struct cred_cache *c, const unsigned char mac[CRED_CACHE_MAC_LEN],
                       uint64_t now_ms)
{
	bool hit = false;
	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	struct cred_entry *e = *find(c, mac);
	if (e != NULL && e->expires_ms <= now_ms) {
		drop(c, e);
	} else if (e != NULL) {
		lru_unlink(c, e);
		lru_push_newest(c, e);
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void cred_cache_remember(struct cred_cache *c, const unsigned char mac[CRED_CACHE_MAC_LEN],
                         uint64_t now_ms)
{
	if (c == NULL || c->ttl_ms == 0)
		return;
	pthread_mutex_lock(&c->lock);
	struct cred_entry *e = *find(c, mac);
	if (e != NULL) {            /* proved again (parallel first logins): a new lifetime */
		lru_unlink(c, e);
	} else {
		make_room(c, now_ms);
		e = xcalloc(1, sizeof(*e));
		memcpy(e->mac, mac, CRED_CACHE_MAC_LEN);
		*find(c, mac) = e;      /* after make_room, which may have changed the chain */
		c->count++;
	}
	e->expires_ms = now_ms + c->ttl_ms;
	lru_push_newest(c, e);
	pthread_mutex_unlock(&c->lock);
}

size_t cred_cache_count(struct cred_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}
