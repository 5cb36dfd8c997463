#include "net/ban.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

#define BAN_BUCKETS 4096        /* power of two */

/* ---- reasons and keys ------------------------------------------------------- */

static const char *const reason_names[BAN_REASONS] = {
	[BAN_CONNECTION_LIMIT] = "connection_limit",
	[BAN_LOGIN_BLOCKED] = "login_blocked",
	[BAN_RELAY] = "relay_attempt",
	[BAN_UNKNOWN_RCPT] = "unknown_recipient",
	[BAN_PROTOCOL_ERRORS] = "protocol_errors",
	[BAN_UNTRUSTED_PROXY] = "untrusted_proxy",
	[BAN_LOGIN_DEADLINE] = "login_deadline",
};

const char *ban_reason_name(enum ban_reason r)
{
	return (unsigned)r < BAN_REASONS ? reason_names[r] : "?";
}

int64_t ban_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_address(const char *ip)
{
	unsigned char a[16];
	const unsigned char *v4;
	return ip_octets(ip, a, &v4) == 0;
}

int ban_key_parse(const char *text, char *key, size_t keylen, char *err, size_t errlen)
{
	struct cidr c;
	char addr[INET6_ADDRSTRLEN];
	if (cidr_parse(text, &c) < 0) {
		snprintf(err, errlen, "\"%s\" is no IP address or network", text);
		return -1;
	}
	int total = c.family == AF_INET ? 32 : 128;
	if (c.bits < (c.family == AF_INET ? 8 : 16)) {
		snprintf(err, errlen, "\"%s\" is too wide a network (at most /8, or /16 for IPv6)", text);
		return -1;
	}
	if (strchr(text, '/') == NULL) {   /* an address: its client key */
		ip_client_key(text, key, keylen);
		return 0;
	}
	inet_ntop(c.family, c.addr, addr, sizeof(addr));
	/* an address, or exactly a client's network: the client key, found by hash */
	bool loopback6 = c.family == AF_INET6 && strcmp(addr, "::1") == 0;
	if (c.bits == total || (c.family == AF_INET6 && c.bits == 64 && !loopback6)) {
		if (c.family == AF_INET6 && c.bits == total && !loopback6) {
			char one[INET6_ADDRSTRLEN + 4];
			snprintf(one, sizeof(one), "%s/128", addr);   /* narrower than a client */
			str_copy(key, keylen, one);
			return 0;
		}
		ip_client_key(addr, key, keylen);
		return 0;
	}
	snprintf(key, keylen, "%s/%d", addr, c.bits);
	return 0;
}

/* A key that names a network matched by prefix (not a client key). */
static bool key_is_net(const char *key, struct cidr *net)
{
	const char *slash = strchr(key, '/');
	if (slash == NULL || strcmp(slash, "/64") == 0)
		return false;
	return cidr_parse(key, net) == 0;
}

static size_t hash_key(const char *k)
{
	size_t h = 1469598103934665603ULL;  /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h & (BAN_BUCKETS - 1);
}

/* ---- the map of bans ------------------------------------------------------------ */

struct ban_node {
	struct ban_node *next;          /* in its bucket, or the list of networks */
	struct ban_entry e;
	struct cidr net;                /* for a network's key */
	bool is_net;
	bool dirty;                     /* made here, not in the store yet */
};

struct ban_map {
	struct ban_node *buckets[BAN_BUCKETS];
	struct ban_node *nets;          /* few: the admin's networks */
	size_t n;
};

struct ban_map *ban_map_new(void)
{
	return xcalloc(1, sizeof(struct ban_map));
}

static void free_chain(struct ban_node *n)
{
	while (n != NULL) {
		struct ban_node *next = n->next;
		free(n);
		n = next;
	}
}

void ban_map_free(struct ban_map *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < BAN_BUCKETS; i++)
		free_chain(m->buckets[i]);
	free_chain(m->nets);
	free(m);
}

static struct ban_node **chain_of(struct ban_map *m, const struct ban_node *n)
{
	return n->is_net ? &m->nets : &m->buckets[hash_key(n->e.key)];
}

static struct ban_node *map_find(struct ban_map *m, const char *key)
{
	struct cidr net;
	struct ban_node *n = key_is_net(key, &net) ? m->nets : m->buckets[hash_key(key)];
	for (; n != NULL; n = n->next)
		if (strcmp(n->e.key, key) == 0)
			return n;
	return NULL;
}

static void map_remove(struct ban_map *m, struct ban_node *victim)
{
	for (struct ban_node **p = chain_of(m, victim); *p != NULL; p = &(*p)->next) {
		if (*p == victim) {
			*p = victim->next;
			free(victim);
			m->n--;
			return;
		}
	}
}

/* The entry that ends first: pushed out when the map is full. */
static struct ban_node *map_first_to_end(struct ban_map *m)
{
	struct ban_node *best = NULL;
	for (size_t i = 0; i <= BAN_BUCKETS; i++)
		for (struct ban_node *n = i < BAN_BUCKETS ? m->buckets[i] : m->nets; n; n = n->next)
			if (best == NULL || n->e.until_ms < best->e.until_ms)
				best = n;
	return best;
}

/* A key as ban_key_parse() or ip_client_key() writes it (the store's rows
 * are checked too: another program may have written them). */
static bool key_valid(const char *key)
{
	struct cidr net;
	return strchr(key, '/') != NULL ? cidr_parse(key, &net) == 0 : is_address(key);
}

bool ban_map_put(struct ban_map *m, const struct ban_entry *e, bool dirty)
{
	struct ban_node *n = map_find(m, e->key);
	if (n == NULL) {
		if (!key_valid(e->key))
			return false;
		if (m->n >= BAN_MAX_ENTRIES)
			map_remove(m, map_first_to_end(m));
		n = xcalloc(1, sizeof(*n));
		n->is_net = key_is_net(e->key, &n->net);
		n->e = *e;
		struct ban_node **chain = chain_of(m, n);
		n->next = *chain;
		*chain = n;
		m->n++;
	}
	n->e = *e;
	n->dirty = dirty;
	return true;
}

/* ---- the table ---------------------------------------------------------------- */

struct offender {
	struct offender *next;          /* in its bucket */
	TAILQ_ENTRY(offender) lru;      /* the latest violation first */
	char key[64];
	int n, head;                    /* a ring of the last `threshold` violations' times */
	int64_t times[];
};
TAILQ_HEAD(offender_list, offender);

struct ban_table {
	const struct config_ban *p;
	struct cidr *exempt;
	size_t nexempt;
	/* the bans: read at every accept, written on a ban and a sync */
	pthread_rwlock_t lock;
	struct ban_map *map;
	atomic_size_t entries;          /* map->n, read without the lock */
	int64_t generation;             /* the store's, as of the last sync; -1: never */
	int64_t forgot_ms;              /* the last ban_table_forget_due() that said yes */
	/* the violations */
	pthread_mutex_t olock;
	struct offender *obuckets[BAN_BUCKETS];
	struct offender_list lru;
	size_t tracked;
};

struct ban_table *ban_table_new(const struct config_ban *p)
{
	struct ban_table *t = xcalloc(1, sizeof(*t));
	t->p = p;
	t->map = ban_map_new();
	t->generation = -1;
	pthread_rwlock_init(&t->lock, NULL);
	pthread_mutex_init(&t->olock, NULL);
	TAILQ_INIT(&t->lru);
	return t;
}

void ban_table_free(struct ban_table *t)
{
	if (t == NULL)
		return;
	struct offender *o;
	while ((o = TAILQ_FIRST(&t->lru)) != NULL) {
		TAILQ_REMOVE(&t->lru, o, lru);
		free(o);
	}
	ban_map_free(t->map);
	pthread_rwlock_destroy(&t->lock);
	pthread_mutex_destroy(&t->olock);
	free(t->exempt);
	free(t);
}

void ban_table_exempt(struct ban_table *t, const struct cidr *nets, size_t n)
{
	if (n == 0)
		return;
	t->exempt = xrealloc(t->exempt, (t->nexempt + n) * sizeof(struct cidr));
	memcpy(t->exempt + t->nexempt, nets, n * sizeof(struct cidr));
	t->nexempt += n;
}

static bool allowed(const struct ban_table *t, const char *ip)
{
	return cidr_match_any(t->p->allow, t->p->nallow, ip);
}

static bool active(const struct ban_node *n, int64_t now)
{
	return n != NULL && n->e.until_ms > now;
}

bool ban_check(struct ban_table *t, const char *ip, int64_t now)
{
	if (t == NULL || atomic_load_explicit(&t->entries, memory_order_relaxed) == 0)
		return false;
	if (!is_address(ip) || allowed(t, ip))
		return false;
	char key[64];
	ip_client_key(ip, key, sizeof(key));
	pthread_rwlock_rdlock(&t->lock);
	bool banned = active(map_find(t->map, key), now);
	for (struct ban_node *n = t->map->nets; n != NULL && !banned; n = n->next)
		banned = active(n, now) && cidr_match(&n->net, ip);
	pthread_rwlock_unlock(&t->lock);
	return banned;
}

/* ---- counting ------------------------------------------------------------------- */

static struct offender **obucket(struct ban_table *t, const char *key)
{
	return &t->obuckets[hash_key(key)];
}

static void forget_offender(struct ban_table *t, struct offender *o)
{
	for (struct offender **p = obucket(t, o->key); *p != NULL; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			break;
		}
	}
	TAILQ_REMOVE(&t->lru, o, lru);
	t->tracked--;
	free(o);
}

static struct offender *offender_of(struct ban_table *t, const char *key)
{
	struct offender *o;
	for (o = *obucket(t, key); o != NULL; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	if (t->tracked >= BAN_MAX_TRACKED)
		forget_offender(t, TAILQ_LAST(&t->lru, offender_list));
	o = xcalloc(1, sizeof(*o) + (size_t)t->p->threshold * sizeof(int64_t));
	str_copy(o->key, sizeof(o->key), key);
	o->next = *obucket(t, key);
	*obucket(t, key) = o;
	TAILQ_INSERT_HEAD(&t->lru, o, lru);
	t->tracked++;
	return o;
}

/* Adds a violation at now to the ring; the count within the window. */
static int count_violation(struct ban_table *t, struct offender *o, int64_t now)
{
	int cap = t->p->threshold;
	while (o->n > 0 && now - o->times[o->head] >= (int64_t)t->p->window_ms) {
		o->head = (o->head + 1) % cap;
		o->n--;
	}
	if (o->n == cap) {          /* full: the oldest gives way (cannot happen below the threshold) */
		o->head = (o->head + 1) % cap;
		o->n--;
	}
	o->times[(o->head + o->n) % cap] = now;
	return ++o->n;
}

/* The doubling: duration << (offences - 1), at most max_duration. */
static int64_t ban_length(const struct config_ban *p, int offences)
{
	uint64_t d = p->duration_ms;
	for (int i = 1; i < offences && d < p->max_duration_ms; i++)
		d *= 2;
	return (int64_t)(d < p->max_duration_ms ? d : p->max_duration_ms);
}

static bool ban_now(struct ban_table *t, const char *key, enum ban_reason r, int64_t now)
{
	struct ban_entry e = { .created_ms = now, .offences = 1 };
	pthread_rwlock_wrlock(&t->lock);
	struct ban_node *n = map_find(t->map, key);
	if (active(n, now)) {       /* a session older than the ban: nothing more to do */
		pthread_rwlock_unlock(&t->lock);
		return false;
	}
	/* remembered: banned before, and not so long ago */
	if (n != NULL && now - n->e.until_ms < (int64_t)t->p->max_duration_ms)
		e.offences = n->e.offences + 1;
	str_copy(e.key, sizeof(e.key), key);
	e.until_ms = now + ban_length(t->p, e.offences);
	str_copy(e.reason, sizeof(e.reason), ban_reason_name(r));
	str_copy(e.source, sizeof(e.source), "auto");
	ban_map_put(t->map, &e, true);
	atomic_store(&t->entries, t->map->n);
	pthread_rwlock_unlock(&t->lock);
	log_security(LOG_WARN, "ban.added", "s", "ip", key, "s", "reason", e.reason,
	             "s", "source", e.source, "i", "duration_ms", (long long)(e.until_ms - now),
	             "i", "until", (long long)e.until_ms, "i", "offences", (long long)e.offences,
	             "i", "threshold", (long long)t->p->threshold, NULL);
	return true;
}

bool ban_violation_at(struct ban_table *t, const char *ip, enum ban_reason r, int64_t now)
{
	if (t == NULL || t->p->threshold <= 0 || !is_address(ip) || allowed(t, ip) ||
	    cidr_match_any(t->exempt, t->nexempt, ip))
		return false;
	char key[64];
	ip_client_key(ip, key, sizeof(key));
	pthread_mutex_lock(&t->olock);
	struct offender *o = offender_of(t, key);
	TAILQ_REMOVE(&t->lru, o, lru);
	TAILQ_INSERT_HEAD(&t->lru, o, lru);
	int count = count_violation(t, o, now);
	if (count >= t->p->threshold)
		forget_offender(t, o);   /* the ban takes over; a later count starts afresh */
	pthread_mutex_unlock(&t->olock);
	log_event(LOG_DEBUG, "ban.violation", "s", "ip", ip, "s", "reason", ban_reason_name(r),
	          "i", "count", (long long)count, NULL);
	return count >= t->p->threshold && ban_now(t, key, r, now);
}

bool ban_violation(struct ban_table *t, const char *ip, enum ban_reason r)
{
	return ban_violation_at(t, ip, r, ban_clock_ms());
}

size_t ban_table_tracked(struct ban_table *t)
{
	pthread_mutex_lock(&t->olock);
	size_t n = t->tracked;
	pthread_mutex_unlock(&t->olock);
	return n;
}

size_t ban_table_entries(struct ban_table *t)
{
	return atomic_load(&t->entries);
}

bool ban_table_get(struct ban_table *t, const char *key, struct ban_entry *out)
{
	pthread_rwlock_rdlock(&t->lock);
	struct ban_node *n = map_find(t->map, key);
	if (n != NULL)
		*out = n->e;
	pthread_rwlock_unlock(&t->lock);
	return n != NULL;
}

/* ---- for ban_sync.c ------------------------------------------------------------- */

static void each_node(struct ban_map *m, void (*fn)(struct ban_node *n, void *arg), void *arg)
{
	for (size_t i = 0; i <= BAN_BUCKETS; i++) {
		struct ban_node *n = i < BAN_BUCKETS ? m->buckets[i] : m->nets, *next;
		for (; n != NULL; n = next) {
			next = n->next;     /* fn may free n */
			fn(n, arg);
		}
	}
}

struct collect {
	struct ban_entry *rows;
	size_t n, cap;
};

static void collect_dirty(struct ban_node *n, void *arg)
{
	struct collect *c = arg;
	if (!n->dirty)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->rows = xrealloc(c->rows, c->cap * sizeof(*c->rows));
	}
	c->rows[c->n++] = n->e;
}

struct ban_entry *ban_table_unwritten(struct ban_table *t, size_t *n)
{
	struct collect c = { 0 };
	pthread_rwlock_rdlock(&t->lock);
	each_node(t->map, collect_dirty, &c);
	pthread_rwlock_unlock(&t->lock);
	*n = c.n;
	return c.rows;
}

void ban_table_written(struct ban_table *t, const struct ban_entry *rows, size_t n)
{
	pthread_rwlock_wrlock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		struct ban_node *node = map_find(t->map, rows[i].key);
		if (node != NULL && node->e.until_ms == rows[i].until_ms)
			node->dirty = false;
	}
	pthread_rwlock_unlock(&t->lock);
}

static void carry_dirty(struct ban_node *n, void *arg)
{
	if (n->dirty)
		ban_map_put(arg, &n->e, true);
}

void ban_table_replace(struct ban_table *t, struct ban_map *m)
{
	pthread_rwlock_wrlock(&t->lock);
	each_node(t->map, carry_dirty, m);
	struct ban_map *old = t->map;
	t->map = m;
	atomic_store(&t->entries, m->n);
	pthread_rwlock_unlock(&t->lock);
	ban_map_free(old);
}

struct forget {
	struct ban_map *m;
	int64_t before;
};

static void forget_old(struct ban_node *n, void *arg)
{
	struct forget *f = arg;
	if (n->e.until_ms < f->before && !n->dirty)
		map_remove(f->m, n);
}

void ban_table_forget(struct ban_table *t, int64_t before)
{
	struct forget f = { NULL, before };
	pthread_rwlock_wrlock(&t->lock);
	f.m = t->map;
	each_node(t->map, forget_old, &f);
	atomic_store(&t->entries, t->map->n);
	pthread_rwlock_unlock(&t->lock);
}

bool ban_table_forget_due(struct ban_table *t, int64_t now, int64_t every)
{
	if (t->forgot_ms != 0 && now - t->forgot_ms < every)
		return false;
	t->forgot_ms = now;
	return true;
}

int64_t ban_table_generation(struct ban_table *t)
{
	return t->generation;
}

void ban_table_set_generation(struct ban_table *t, int64_t g)
{
	t->generation = g;
}

const struct config_ban *ban_table_policy(struct ban_table *t)
{
	return t->p;
}
