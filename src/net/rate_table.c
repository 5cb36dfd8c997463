/* Token buckets by key (rate_table.h): the arithmetic in whole numbers, and
 * a sharded hash table with an LRU list per shard. */
#include "net/rate_table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/util.h"

#define SHARDS 16
#define LIMIT_MAX 1000000000LL          /* events per window */
#define WINDOW_MAX 1000000000LL         /* ms: 11 days */
#define IDLE_SCAN 8                     /* oldest keys looked at for an idle one */

/* A bucket counts in units of 1/window_ms event: one event is window_ms
 * units, and each ms refills `limit` units, so a whole window refills the
 * capacity of limit * window_ms exactly, with no rounding to drift. The
 * clamps above keep every product under 2^62. */
struct bucket {
	long long level;        /* units held; below 0 while in debt */
	long long last_ms;      /* when level was last brought up to date */
	long long limit, window_ms;     /* the rate it was last used with; window 0: unused */
};

struct entry {
	struct entry *next;             /* in its hash chain */
	TAILQ_ENTRY(entry) lru;         /* least recently charged first */
	uint64_t hash;
	struct bucket b[RATE_TABLE_SLOTS];
	char key[];
};

TAILQ_HEAD(entry_list, entry);

struct shard {
	pthread_mutex_t lock;
	struct entry **heads;
	size_t nheads;                  /* power of two */
	size_t n, max;
	struct entry_list lru;
};

struct rate_table {
	struct shard shards[SHARDS];
	uint64_t seed;                  /* random: keys are partly the clients' choice */
	atomic_ullong forgiven;
};

/* ---- one bucket ------------------------------------------------------------ */

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static long long capacity(const struct bucket *b)
{
	return b->limit * b->window_ms;
}

/* Brings b up to now under rate r: a first use (or a new window, or a
 * limit where there was none) starts full, a lowered limit caps what it
 * holds, and the time passed refills it. */
static void bucket_refill(struct bucket *b, const struct rate *r, long long now_ms)
{
	long long limit = clamp(r->limit, 0, LIMIT_MAX), window = clamp(r->window_ms, 1, WINDOW_MAX);
	if (b->window_ms != window || b->limit <= 0) {
		*b = (struct bucket){ .limit = limit, .window_ms = window, .last_ms = now_ms };
		b->level = capacity(b);
		return;
	}
	b->limit = limit;
	/* from the deepest debt to full takes two windows: more adds nothing */
	long long elapsed = clamp(now_ms - b->last_ms, 0, 2 * window);
	b->level = clamp(b->level + elapsed * limit, -capacity(b), capacity(b));
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
}

/* ms until n events fit b (brought up to date), 0 when they do now. */
static long long bucket_wait(const struct bucket *b, long long n)
{
	if (b->limit <= 0 || n <= 0)
		return 0;
	long long want = clamp(n, 0, LIMIT_MAX) * b->window_ms;
	if (b->level >= want)
		return 0;
	return (want - b->level + b->limit - 1) / b->limit;
}

static void bucket_take(struct bucket *b, long long n)
{
	if (b->limit > 0 && n > 0)
		b->level = clamp(b->level - clamp(n, 0, LIMIT_MAX) * b->window_ms, -capacity(b),
		                 capacity(b));
}

/* All its buckets full again: forgetting the key changes no answer. */
static bool entry_idle(struct entry *e, long long now_ms)
{
	for (size_t i = 0; i < RATE_TABLE_SLOTS; i++) {
		struct bucket *b = &e->b[i];
		if (b->window_ms == 0 || b->limit <= 0)
			continue;
		bucket_refill(b, &(struct rate){ b->limit, b->window_ms }, now_ms);
		if (b->level < capacity(b))
			return false;
	}
	return true;
}

/* ---- the table ------------------------------------------------------------- */

static uint64_t key_hash(const struct rate_table *t, const char *key)
{
	uint64_t h = t->seed ^ 1469598103934665603ULL;     /* FNV-1a, then a mix */
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

struct rate_table *rate_table_new(size_t max_keys)
{
	struct rate_table *t = xcalloc(1, sizeof(*t));
	random_bytes(&t->seed, sizeof(t->seed));
	size_t per_shard = max_keys / SHARDS > 0 ? max_keys / SHARDS : 1;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *sh = &t->shards[i];
		pthread_mutex_init(&sh->lock, NULL);
		sh->max = per_shard;
		sh->nheads = 16;
		while (sh->nheads < per_shard)
			sh->nheads *= 2;
		sh->heads = xcalloc(sh->nheads, sizeof(struct entry *));
		TAILQ_INIT(&sh->lru);
	}
	return t;
}

void rate_table_free(struct rate_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < SHARDS; i++) {
		struct shard *sh = &t->shards[i];
		struct entry *e;
		while ((e = TAILQ_FIRST(&sh->lru)) != NULL) {
			TAILQ_REMOVE(&sh->lru, e, lru);
			free(e);
		}
		free(sh->heads);
		pthread_mutex_destroy(&sh->lock);
	}
	free(t);
}

static struct entry **chain_of(struct shard *sh, uint64_t hash)
{
	return &sh->heads[(hash / SHARDS) & (sh->nheads - 1)];
}

static struct entry *shard_find(struct shard *sh, uint64_t hash, const char *key)
{
	for (struct entry *e = *chain_of(sh, hash); e != NULL; e = e->next)
		if (e->hash == hash && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void shard_remove(struct shard *sh, struct entry *e)
{
	struct entry **pp = chain_of(sh, e->hash);
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	TAILQ_REMOVE(&sh->lru, e, lru);
	sh->n--;
	free(e);
}

/* Room for one key more: an idle key among the oldest goes, else the oldest. */
static void shard_make_room(struct rate_table *t, struct shard *sh, long long now_ms)
{
	struct entry *e = TAILQ_FIRST(&sh->lru);
	for (size_t i = 0; e != NULL && i < IDLE_SCAN; i++, e = TAILQ_NEXT(e, lru)) {
		if (entry_idle(e, now_ms)) {
			shard_remove(sh, e);
			return;
		}
	}
	atomic_fetch_add(&t->forgiven, 1);
	shard_remove(sh, TAILQ_FIRST(&sh->lru));
}

static struct entry *shard_add(struct rate_table *t, struct shard *sh, uint64_t hash,
                               const char *key, long long now_ms)
{
	if (sh->n >= sh->max)
		shard_make_room(t, sh, now_ms);
	size_t len = strlen(key);
	struct entry *e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len);
	e->hash = hash;
	struct entry **head = chain_of(sh, hash);
	e->next = *head;
	*head = e;
	TAILQ_INSERT_TAIL(&sh->lru, e, lru);
	sh->n++;
	return e;
}

/* The longest wait over the slots; b holds the key's buckets, up to date. */
static long long buckets_wait(struct bucket *b, const struct rate *rates, const long long *need,
                              size_t n, long long now_ms)
{
	long long wait = 0;
	for (size_t i = 0; i < n; i++) {
		bucket_refill(&b[i], &rates[i], now_ms);
		long long w = bucket_wait(&b[i], need[i]);
		if (w > wait)
			wait = w;
	}
	return wait;
}

static void entry_take(struct shard *sh, struct entry *e, const struct rate *rates,
                       const long long *count, size_t n, long long now_ms)
{
	for (size_t i = 0; i < n; i++) {
		bucket_refill(&e->b[i], &rates[i], now_ms);
		bucket_take(&e->b[i], count[i]);
	}
	TAILQ_REMOVE(&sh->lru, e, lru);
	TAILQ_INSERT_TAIL(&sh->lru, e, lru);
}

/* The oldest key, once idle, goes: memory follows the keys in use. */
static void shard_sweep_one(struct shard *sh, const struct entry *keep, long long now_ms)
{
	struct entry *old = TAILQ_FIRST(&sh->lru);
	if (old != NULL && old != keep && entry_idle(old, now_ms))
		shard_remove(sh, old);
}

enum op { OP_WAIT, OP_TAKE, OP_TRY };

static long long run(struct rate_table *t, enum op op, const char *key, const struct rate *rates,
                     const long long *need, size_t n, long long now_ms)
{
	char k[RATE_TABLE_KEY_MAX + 1];
	str_copy(k, sizeof(k), key);
	if (n > RATE_TABLE_SLOTS)
		n = RATE_TABLE_SLOTS;
	uint64_t hash = key_hash(t, k);
	struct shard *sh = &t->shards[hash % SHARDS];
	long long wait = 0;
	pthread_mutex_lock(&sh->lock);
	struct entry *e = shard_find(sh, hash, k);
	if (op != OP_TAKE) {
		struct bucket fresh[RATE_TABLE_SLOTS] = { 0 };
		wait = buckets_wait(e != NULL ? e->b : fresh, rates, need, n, now_ms);
	}
	if (op == OP_TAKE || (op == OP_TRY && wait == 0)) {
		if (e == NULL)
			e = shard_add(t, sh, hash, k, now_ms);
		entry_take(sh, e, rates, need, n, now_ms);
		shard_sweep_one(sh, e, now_ms);
	}
	pthread_mutex_unlock(&sh->lock);
	return wait;
}

long long rate_table_wait(struct rate_table *t, const char *key, const struct rate *rates,
                          const long long *need, size_t n, long long now_ms)
{
	return run(t, OP_WAIT, key, rates, need, n, now_ms);
}

void rate_table_take(struct rate_table *t, const char *key, const struct rate *rates,
                     const long long *count, size_t n, long long now_ms)
{
	run(t, OP_TAKE, key, rates, count, n, now_ms);
}

long long rate_table_try(struct rate_table *t, const char *key, const struct rate *rates,
                         const long long *need, size_t n, long long now_ms)
{
	return run(t, OP_TRY, key, rates, need, n, now_ms);
}

size_t rate_table_size(struct rate_table *t)
{
	size_t n = 0;
	for (size_t i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&t->shards[i].lock);
		n += t->shards[i].n;
		pthread_mutex_unlock(&t->shards[i].lock);
	}
	return n;
}

unsigned long long rate_table_forgiven(struct rate_table *t)
{
	return atomic_load(&t->forgiven);
}
