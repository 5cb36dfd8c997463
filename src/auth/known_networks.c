/* Known networks (see known_networks.h): the prefix of an address, and a
 * small cache in front of the backend's record. */
#include "auth/known_networks.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "core/log.h"
#include "core/util.h"

/* A login from a network seen within this is not written again: the record
 * is for days, not minutes. */
#define REFRESH_MS (60LL * 60 * 1000)
#define CACHE_SLOTS 1024

static struct known_networks_cfg cfg = {
	.remember_ms = 30ULL * 86400 * 1000, .max_per_user = 32, .ipv4_prefix = 24, .ipv6_prefix = 64,
};

void known_networks_configure(const struct known_networks_cfg *k)
{
	cfg = *k;
}

static void clear_host_bits(unsigned char *a, int bits, int total)
{
	for (int i = bits; i < total; i++)
		a[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
}

int known_network_of(const char *ip, char out[KNOWN_NETWORK_MAX])
{
	unsigned char a[16];
	const unsigned char *v4;
	char text[INET6_ADDRSTRLEN];
	if (ip == NULL || ip_octets(ip, a, &v4) < 0)
		return -1;
	if (v4 != NULL) {
		unsigned char n4[4];
		memcpy(n4, v4, 4);
		clear_host_bits(n4, cfg.ipv4_prefix, 32);
		inet_ntop(AF_INET, n4, text, sizeof(text));
		snprintf(out, KNOWN_NETWORK_MAX, "%s/%d", text, cfg.ipv4_prefix);
	} else {
		clear_host_bits(a, cfg.ipv6_prefix, 128);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(out, KNOWN_NETWORK_MAX, "%s/%d", text, cfg.ipv6_prefix);
	}
	return 0;
}

/* ---- the cache ------------------------------------------------------------------
 * Direct-mapped by a hash of user and network: a collision just evicts (the
 * store still has the record). Shared by the workers, hence the lock. */

struct slot {
	char user[RATELIMIT_KEY_MAX + 1];
	char network[KNOWN_NETWORK_MAX];
	long long last_login;           /* 0: empty */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];

static struct slot *slot_of(const char *user, const char *network)
{
	uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
	for (const char *p = user; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ ' ') * 1099511628211ULL;
	for (const char *p = network; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return &cache[h % CACHE_SLOTS];
}

/* The last login the cache holds for user and network, 0 when none. */
static long long cache_get(const char *user, const char *network)
{
	long long t = 0;
	pthread_mutex_lock(&cache_lock);
	struct slot *s = slot_of(user, network);
	if (s->last_login > 0 && strcmp(s->user, user) == 0 && strcmp(s->network, network) == 0)
		t = s->last_login;
	pthread_mutex_unlock(&cache_lock);
	return t;
}

static void cache_put(const char *user, const char *network, long long last_login)
{
	pthread_mutex_lock(&cache_lock);
	struct slot *s = slot_of(user, network);
	str_copy(s->user, sizeof(s->user), user);
	str_copy(s->network, sizeof(s->network), network);
	s->last_login = last_login;
	pthread_mutex_unlock(&cache_lock);
}

void known_networks_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_lock);
}

/* ---- lookups ------------------------------------------------------------------------- */

static long long known_since(long long now_ms)
{
	return now_ms - (long long)cfg.remember_ms;
}

bool known_network_check(const struct ratelimit_backend *b, const char *user, const char *ip,
                         long long now_ms)
{
	char userk[RATELIMIT_KEY_MAX + 1], net[KNOWN_NETWORK_MAX];
	if (user == NULL || *user == '\0' || known_network_of(ip, net) < 0)
		return false;
	ratelimit_user_key(user, userk);
	long long t = cache_get(userk, net);
	if (t >= known_since(now_ms))
		return true;
	if (b->network_last_login == NULL)
		return false;
	/* not cached, or cached too long ago: the store may know a later login
	 * (another worker's write, a cache slot taken since) */
	t = b->network_last_login(b->arg, userk, net);
	if (t < 0) {
		log_event(LOG_ERROR, "auth.ratelimit_error", "s", "op", "known_network", "s", "ip", ip,
		          "s", "user", userk, "s", "msg", "cannot read known networks", NULL);
		return false;
	}
	if (t > 0)
		cache_put(userk, net, t);
	return t > 0 && t >= known_since(now_ms);
}

void known_network_remember(const struct ratelimit_backend *b, const char *user, const char *ip,
                            long long now_ms)
{
	char userk[RATELIMIT_KEY_MAX + 1], net[KNOWN_NETWORK_MAX];
	if (user == NULL || *user == '\0' || b->remember_network == NULL ||
	    known_network_of(ip, net) < 0)
		return;
	ratelimit_user_key(user, userk);
	long long t = cache_get(userk, net);
	if (t > 0 && t <= now_ms && now_ms - t < REFRESH_MS)
		return;
	if (b->remember_network(b->arg, userk, net, now_ms, cfg.max_per_user) < 0) {
		log_event(LOG_ERROR, "auth.ratelimit_error", "s", "op", "remember_network", "s", "ip", ip,
		          "s", "user", userk, "s", "msg", "cannot record the login's network", NULL);
		return;
	}
	cache_put(userk, net, now_ms);
}

int known_networks_prune(const struct ratelimit_backend *b, long long now_ms)
{
	if (b->prune_networks == NULL)
		return 0;
	return b->prune_networks(b->arg, known_since(now_ms));
}
