#include "auth/login.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/cred_cache.h"
#include "auth/known_networks.h"
#include "auth/lockout.h"
#include "auth/master.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/scram.h"
#include "core/config.h"
#include "core/log.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "store/resolve.h"
#include "store/store.h"
#include "store/store_auth.h"
#include "store/store_master.h"

#define USER_MAX 320


/* ---- checks in flight ---------------------------------------------------------
 * A failure is recorded only when its password check ends; without counting
 * the checks still running, forty parallel guesses would all pass a limit of
 * five. Process-wide: the workers share it. */

struct pending {
	struct pending *next;
	char key[RATELIMIT_KEY_MAX + 8];
	int n;
};

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pendings;

static struct pending **pending_find(const char *key)
{
	struct pending **pp = &pendings;
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static int pending_count(const char *key)
{
	struct pending **pp = pending_find(key);
	return *pp ? (*pp)->n : 0;
}

static void pending_add(const char *key, int delta)
{
	struct pending **pp = pending_find(key);
	if (*pp == NULL) {
		if (delta <= 0)
			return;
		*pp = xcalloc(1, sizeof(struct pending));
		str_copy((*pp)->key, sizeof((*pp)->key), key);
	}
	(*pp)->n += delta;
	if ((*pp)->n <= 0) {
		struct pending *dead = *pp;
		*pp = dead->next;
		free(dead);
	}
}

/* The keys of the checks in flight: the IP, the username from it, the username. */
struct pending_keys {
	char ip[RATELIMIT_KEY_MAX + 8], pair[RATELIMIT_KEY_MAX + 8], user[RATELIMIT_KEY_MAX + 8];
};

static void keys_of(const struct login_ctx *c, const char *user, struct pending_keys *pk)
{
	char k[RATELIMIT_KEY_MAX + 1];
	ratelimit_ip_key(c->ip, k);
	snprintf(pk->ip, sizeof(pk->ip), "ip:%s", k);
	ratelimit_pair_key(c->ip, user, k);
	snprintf(pk->pair, sizeof(pk->pair), "pair:%s", k);
	ratelimit_user_key(user, k);
	snprintf(pk->user, sizeof(pk->user), "user:%s", k);
}

static void log_ratelimited(const struct login_ctx *c, const char *user, const char *reason)
{
	log_security(LOG_WARN, "auth.ratelimited", "s", "ip", c->ip, "s", "user", user,
	             "s", "protocol", c->protocol, "s", "reason", reason, NULL);
}

/* The decision for an attempt of key (auth/lockout.h): a user's (relief:
 * known networks and delays when the username is blocked) or a master's.
 * With reserve, a check the decision lets run is counted in flight from
 * now on, until release_check(). Refusals are logged (by the limiter when
 * it is the one refusing). */
static enum lockout_decision gate(const struct login_ctx *c, const char *key, bool relief,
                                  bool reserve)
{
	struct ratelimit_backend b = ratelimit_store_backend(c->store);
	struct lockout_facts f = { 0 };
	struct pending_keys pk;
	lockout_assess(c->limits, &b, c->ip, key, relief, ratelimit_clock_ms(), &f);
	keys_of(c, key, &pk);
	pthread_mutex_lock(&pending_lock);
	f.ip_pending = pending_count(pk.ip);
	f.pair_pending = pending_count(pk.pair);
	f.user_pending = pending_count(pk.user);
	enum lockout_decision d = lockout_decide(c->limits, &f);
	if (reserve && (d == LOCKOUT_ALLOW || d == LOCKOUT_KNOWN || d == LOCKOUT_DELAY)) {
		pending_add(pk.ip, 1);
		pending_add(pk.pair, 1);
		pending_add(pk.user, 1);
	}
	pthread_mutex_unlock(&pending_lock);
	if (d == LOCKOUT_REFUSE && f.verdict != RL_BLOCKED && f.verdict != RL_ERROR)
		log_ratelimited(c, key, f.verdict == RL_USER_BLOCKED ? "user_blocked" : "failures");
	return d;
}

static void release_check(const struct login_ctx *c, const char *user)
{
	struct pending_keys pk;
	keys_of(c, user, &pk);
	pthread_mutex_lock(&pending_lock);
	pending_add(pk.ip, -1);
	pending_add(pk.pair, -1);
	pending_add(pk.user, -1);
	pthread_mutex_unlock(&pending_lock);
}

/* A blocked username from an unknown network: the check waits first. */
static void log_delayed(const struct login_ctx *c, const char *user, uint64_t delay_ms)
{
	log_security(LOG_WARN, "auth.delayed", "s", "ip", c->ip, "s", "user", user,
	             "s", "protocol", c->protocol, "s", "reason", "user_blocked",
	             "i", "delay_ms", (long long)delay_ms, NULL);
}

/* Checks in flight do not refuse here: a password check waits for its slot
 * (login_check_password), and a blocked username is decided there. A
 * refusal is told to the session (c->refused: a violation, net/ban.h). */
static bool tell_refused(const struct login_ctx *c)
{
	if (c->refused != NULL)
		c->refused(c->refused_arg);
	return false;
}

bool login_allowed(const struct login_ctx *c, const char *user)
{
	if (gate(c, user, true, false) == LOCKOUT_REFUSE)
		return tell_refused(c);
	return true;
}

bool login_allowed_for_master(const struct login_ctx *c, const char *name)
{
	if (gate(c, name, false, false) == LOCKOUT_REFUSE)
		return tell_refused(c);
	return true;
}

/* A SCRAM exchange holds its slot across client messages, so it cannot
 * wait for one: a full count refuses it. */
bool login_reserve(const struct login_ctx *c, const char *user, uint64_t *wait_ms)
{
	enum lockout_decision d = gate(c, user, true, true);
	*wait_ms = 0;
	if (d == LOCKOUT_BUSY)
		log_ratelimited(c, user, "checks_in_flight");
	if (d == LOCKOUT_REFUSE)
		tell_refused(c);
	if (d == LOCKOUT_DELAY) {
		*wait_ms = lockout_delay_ms(c->limits);
		log_delayed(c, user, *wait_ms);
	}
	return d == LOCKOUT_ALLOW || d == LOCKOUT_KNOWN || d == LOCKOUT_DELAY;
}

void login_release(const struct login_ctx *c, const char *user)
{
	release_check(c, user);
}

/* Failure records only grow through failures, so the failure path keeps them
 * pruned: at most once a minute over the process, a few bounded batches. */
#define PRUNE_EVERY_MS (60 * 1000)
#define PRUNE_BATCHES 10

static void prune_now_and_then(const struct login_ctx *c, const struct ratelimit_backend *b,
                               long long now)
{
	static _Atomic long long last;
	long long seen = atomic_load(&last);
	if (c->keep_ms == 0 || now - seen < PRUNE_EVERY_MS || !atomic_compare_exchange_strong(&last, &seen, now))
		return;
	for (int i = 0; i < PRUNE_BATCHES; i++)
		if (ratelimit_prune_before(b, now - (long long)c->keep_ms) < STORE_AUTH_PRUNE_BATCH)
			break;
	for (int i = 0; i < PRUNE_BATCHES; i++)
		if (known_networks_prune(b, now) < STORE_AUTH_PRUNE_BATCH)
			break;
}

uint64_t login_failed(const struct login_ctx *c, const char *user, const char *reason)
{
	struct ratelimit_backend b = ratelimit_store_backend(c->store);
	uint64_t delay = 0;
	long long now = ratelimit_clock_ms();
	ratelimit_failure(c->limits, &b, c->ip, user, c->protocol, reason, now, &delay);
	prune_now_and_then(c, &b, now);
	return delay;
}

/* cached: the password was found in the verified-credentials cache; d: the
 * decision it was checked under. A login while the username is blocked says
 * so (user_blocked, and how it got through: lockout "known_network" or
 * "delayed"). The network is known from now on. */
static void succeeded(const struct login_ctx *c, const char *user, bool cached,
                      enum lockout_decision d)
{
	struct ratelimit_backend b = ratelimit_store_backend(c->store);
	long long now = ratelimit_clock_ms();
	bool blocked = d == LOCKOUT_KNOWN || d == LOCKOUT_DELAY;
	ratelimit_success(&b, c->ip, user, now);
	known_network_remember(&b, user, c->ip, now);
	log_security(LOG_INFO, "auth.success", "s", "ip", c->ip, "s", "user", user,
	             "s", "protocol", c->protocol, "b", "cached", cached,
	             "b", "user_blocked", blocked, "s", "lockout",
	             blocked ? lockout_decision_name(d) : NULL, NULL);
}

/* SCRAM: the decision is taken again (the exchange's reservation is still
 * held, so the counts are the ones it was let in under). */
void login_succeeded(const struct login_ctx *c, const char *user)
{
	succeeded(c, user, false, gate(c, user, true, false));
}

/* A master's success clears the master's failures, not the user's: the
 * audit event names both. */
static void master_succeeded(const struct login_ctx *c, const char *user, const char *master,
                             bool cached)
{
	struct ratelimit_backend b = ratelimit_store_backend(c->store);
	ratelimit_success(&b, c->ip, master, ratelimit_clock_ms());
	log_security(LOG_INFO, "auth.success", "s", "ip", c->ip, "s", "user", user,
	             "s", "master", master, "s", "protocol", c->protocol, "b", "cached", cached, NULL);
	master_audit(c, user, master, "success", NULL, cached);
}

uint64_t login_master_failed(const struct login_ctx *c, const char *user, const char *master,
                             const char *reason)
{
	uint64_t delay = login_failed(c, master, reason);
	master_audit(c, user, master, "failure", reason, false);
	return delay;
}

/* ---- the verified-credentials cache ------------------------------------------------
 * One for the process, shared by every worker and protocol (the cache itself
 * is thread-safe). Made before the workers start and freed after they stop,
 * so the pointer itself never changes while a login runs. */

static struct cred_cache *cache;

int login_cache_start(uint64_t ttl_ms, size_t max_entries)
{
	if (ttl_ms > 0 && (cache = cred_cache_new(ttl_ms, max_entries)) == NULL)
		return -1;
	log_event(LOG_INFO, "auth.cache", "b", "enabled", cache != NULL, "i", "ttl_ms",
	          (long long)ttl_ms, "i", "max_entries", (long long)max_entries, NULL);
	return 0;
}

void login_cache_stop(void)
{
	cred_cache_free(cache);
	cache = NULL;
}

/* The cache entry of a login, over the hash stored now. False without a cache. */
static bool cache_mac(const char *user, const char *stored_hash, const char *password,
                      unsigned char mac[CRED_CACHE_MAC_LEN])
{
	return cache != NULL && cred_cache_mac(cache, user, stored_hash, password, mac) == 0;
}

/* ---- password check on the pool ------------------------------------------------ */

struct pw_job {
	struct login_ctx ctx;
	char ip[64], protocol[16];
	char user[USER_MAX + 1];
	char master[MASTER_NAME_MAX + 1];   /* "" for a user's own login */
	char cache_user[USER_MAX + MASTER_NAME_MAX + 2];    /* whose entry: "user" or "user*master" */
	char password[256];
	struct store_user_auth info;        /* a master's: its hash only */
	bool known;                         /* the user (or the master) exists */
	bool target_known;                  /* a master's: the user it acts as exists */
	int result;
	bool cached;                    /* answered from the cache, without Argon2 */
	bool upgraded;
	char new_hash[PASSWORD_HASH_MAX];
	char new_scram[256];
	bool remember;                  /* a success to put in the cache: mac */
	unsigned char mac[CRED_CACHE_MAC_LEN];
	login_done_fn cb;
	void *arg;
	bool reserved;                  /* holds a check-in-flight slot (release_check) */
	struct event *wait;             /* waiting for a slot: the retry timer */
	uint64_t wait_until_ms;
	enum lockout_decision decision; /* the one the check runs under */
	struct event *hold;             /* LOCKOUT_DELAY: the wait before the check */
};

/* A hash due for an upgrade (an old scheme, or no SCRAM keys yet) is never
 * served from the cache: the upgrade needs the slow check, which has the
 * password in hand. A master's hash is never upgraded: it has no SCRAM keys
 * (SCRAM does not serve masters), and `postern master add` made it Argon2id. */
static bool wants_rehash(const struct pw_job *j)
{
	return j->master[0] == '\0' &&
	       (password_needs_upgrade(j->info.hash) || j->info.scram[0] == '\0');
}

/* What the limiter counts a failure against: the user, or the master who
 * tried (a master's failures are its own, not its target's). */
static const char *limit_key(const struct pw_job *j)
{
	return j->master[0] != '\0' ? j->master : j->user;
}

/* Whether the login stands once the password is right: a master's target
 * must exist too. */
static bool target_ok(const struct pw_job *j)
{
	return j->master[0] == '\0' || j->target_known;
}

static void pw_work(void *arg)
{
	struct pw_job *j = arg;
	if (!j->known) {
		password_dummy_verify(j->password);   /* the same cost as a real check */
		j->result = 0;
	} else {
		j->result = password_verify(j->info.hash, j->password);
	}
	if (j->result == 1 && wants_rehash(j)) {
		/* an old scheme, or no SCRAM keys yet: derive both now that we know the password */
		struct scram_keys k;
		j->upgraded = password_hash(j->password, j->new_hash, sizeof(j->new_hash)) == 0 &&
		              scram_keys_new(j->password, &k) == 0 &&
		              scram_keys_encode(&k, j->new_scram, sizeof(j->new_scram)) == 0;
		OPENSSL_cleanse(&k, sizeof(k));
	}
	/* the entry is over the hash stored once this login is done: the new one
	 * after an upgrade (remembered only when the upgrade is stored) */
	if (j->result == 1 && target_ok(j) && (j->upgraded || !wants_rehash(j)))
		j->remember = cache_mac(j->cache_user, j->upgraded ? j->new_hash : j->info.hash,
		                        j->password, j->mac);
	OPENSSL_cleanse(j->password, sizeof(j->password));
}

static bool store_upgrade(struct pw_job *j)
{
	char local[65], domain[256], err[256];
	if (resolve_split_address(j->user, local, sizeof(local), domain, sizeof(domain)) < 0 ||
	    store_user_set_credentials(j->ctx.store, local, domain, j->new_hash, j->new_scram, err,
	                               sizeof(err)) != STORE_OK)
		return false;
	log_security(LOG_INFO, "auth.hash_upgraded", "s", "user", j->user,
	             "s", "from", password_scheme_name(j->info.hash), NULL);
	return true;
}

static const char *failure_reason(const struct pw_job *j)
{
	if (j->master[0] == '\0')
		return j->known ? "bad_password" : "unknown_user";
	if (!j->known)
		return "unknown_master";
	return j->result != 1 ? "bad_password" : "unknown_user";
}

static void job_free(struct pw_job *j)
{
	if (j->wait != NULL)
		event_free(j->wait);
	if (j->hold != NULL)
		event_free(j->hold);
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

static void pw_done(void *arg)
{
	struct pw_job *j = arg;
	uint64_t delay = 0;
	enum login_result r = j->result == 1 && target_ok(j) ? LOGIN_OK : LOGIN_FAILED;
	if (r == LOGIN_OK) {
		if (j->upgraded && !store_upgrade(j))
			j->remember = false;
		if (j->remember)
			cred_cache_remember(cache, j->mac, now_ms());
		if (j->master[0] != '\0')
			master_succeeded(&j->ctx, j->user, j->master, j->cached);
		else
			succeeded(&j->ctx, j->user, j->cached, j->decision);
	} else if (j->master[0] != '\0') {
		delay = login_master_failed(&j->ctx, j->user, j->master, failure_reason(j));
	} else {
		delay = login_failed(&j->ctx, j->user, failure_reason(j));
	}
	if (j->reserved)
		release_check(&j->ctx, limit_key(j));   /* after recording: no window without either count */
	j->cb(j->arg, r, j->user, j->info.any_sender, delay);
	job_free(j);
}

static void on_cached(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pw_done(arg);
}

/* A password proved right a short while ago, against the hash stored now:
 * the success is answered on the caller's loop, on its next turn (the
 * callback never runs inside login_check_password), with no pool round
 * trip and no Argon2. Misses and errors fall through to the slow check.
 * j->info was read from the store for this very login, so a password the
 * CLI (another process) changed since, or a user it deleted, gives another
 * hash or none: no old entry can match, and nobody has to tell us. */
static bool answer_from_cache(struct pw_job *j)
{
	static const struct timeval next_turn = { 0, 0 };
	unsigned char mac[CRED_CACHE_MAC_LEN];
	bool hit = j->known && target_ok(j) && !wants_rehash(j) &&
	           cache_mac(j->cache_user, j->info.hash, j->password, mac) &&
	           cred_cache_lookup(cache, mac, now_ms());
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!hit)
		return false;
	j->result = 1;
	j->cached = true;
	if (event_base_once(j->ctx.base, -1, EV_TIMEOUT, on_cached, j, &next_turn) < 0) {
		j->result = 0;
		j->cached = false;
		return false;
	}
	OPENSSL_cleanse(j->password, sizeof(j->password));
	return true;
}

static struct pw_job *job_new(const struct login_ctx *c, const char *user, const char *password,
                              login_done_fn cb, void *arg)
{
	struct pw_job *j = xcalloc(1, sizeof(*j));
	j->ctx = *c;
	str_copy(j->ip, sizeof(j->ip), c->ip);
	str_copy(j->protocol, sizeof(j->protocol), c->protocol);
	j->ctx.ip = j->ip;
	j->ctx.protocol = j->protocol;
	str_copy(j->user, sizeof(j->user), user);
	ascii_lower(j->user);
	str_copy(j->cache_user, sizeof(j->cache_user), j->user);
	str_copy(j->password, sizeof(j->password), password);
	j->cb = cb;
	j->arg = arg;
	return j;
}

static bool user_auth_info(struct store *st, const char *user, struct store_user_auth *info)
{
	char local[65], domain[256];
	return resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) == 0 &&
	       store_user_auth_info(st, local, domain, info) == STORE_OK;
}

/* ---- waiting for a slot -------------------------------------------------------------
 * Parallel logins from one address (an office behind NAT, a webmail) can
 * have more checks running than a limit allows even when none fails. Such a
 * check waits for a slot instead of being refused: guesses in parallel are
 * thus taken one limit's worth at a time, and a right password only waits. */
#define SLOT_RETRY_MS 20
#define SLOT_WAIT_MAX_MS 15000

static enum lockout_decision submit_or_wait(struct pw_job *j);

/* Ends a check that never ran: a temporary failure, on the caller's loop. */
static void give_up(struct pw_job *j)
{
	j->cb(j->arg, LOGIN_TEMPFAIL, j->user, false, 0);
	job_free(j);
}

static void on_slot_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (submit_or_wait(arg) == LOCKOUT_REFUSE)
		give_up(arg);
}

static bool wait_for_slot(struct pw_job *j)
{
	static const struct timeval retry = { 0, SLOT_RETRY_MS * 1000 };
	if (j->wait == NULL) {
		j->wait = evtimer_new(j->ctx.base, on_slot_retry, j);
		j->wait_until_ms = now_ms() + SLOT_WAIT_MAX_MS;
	}
	return j->wait != NULL && now_ms() < j->wait_until_ms && evtimer_add(j->wait, &retry) == 0;
}

/* Master logins keep the plain username block (auth/lockout.h). */
static bool relief_of(const struct pw_job *j)
{
	return j->master[0] == '\0';
}

/* The slot is held: the cache (after a delay only: it has not been asked
 * yet), else the pool. False when the pool is saturated. */
static bool run_check(struct pw_job *j)
{
	if (j->decision == LOCKOUT_DELAY && answer_from_cache(j))
		return true;
	return threadpool_submit(j->ctx.pool, j->ctx.base, pw_work, pw_done, j) == 0;
}

static void on_hold_over(evutil_socket_t fd, short what, void *arg)
{
	struct pw_job *j = arg;
	(void)fd;
	(void)what;
	if (!run_check(j)) {
		release_check(&j->ctx, limit_key(j));
		log_ratelimited(&j->ctx, limit_key(j), "pool_full");
		give_up(j);
	}
}

/* LOCKOUT_DELAY: the slot is held through the wait, so parallel attempts
 * from one address still count against its limits while they wait. */
static bool hold_then_check(struct pw_job *j)
{
	uint64_t ms = lockout_delay_ms(j->ctx.limits);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	if (j->hold == NULL && (j->hold = evtimer_new(j->ctx.base, on_hold_over, j)) == NULL)
		return false;
	if (evtimer_add(j->hold, &tv) < 0)
		return false;
	log_delayed(&j->ctx, limit_key(j), ms);
	return true;
}

/* Reserves a slot and hands the check to the pool, or (a blocked username
 * from an unknown network) to the delay first; or waits for a slot (BUSY);
 * or refuses: failures recorded meanwhile reached a limit, the wait lasted
 * too long, the pool is saturated. */
static enum lockout_decision submit_or_wait(struct pw_job *j)
{
	enum lockout_decision d = gate(&j->ctx, limit_key(j), relief_of(j), true);
	if (d == LOCKOUT_ALLOW || d == LOCKOUT_KNOWN || d == LOCKOUT_DELAY) {
		j->reserved = true;
		j->decision = d;
		if (d == LOCKOUT_DELAY ? hold_then_check(j) : run_check(j))
			return d;
		release_check(&j->ctx, limit_key(j));
		j->reserved = false;
		return LOCKOUT_REFUSE;
	}
	if (d == LOCKOUT_BUSY && wait_for_slot(j))
		return LOCKOUT_BUSY;
	if (d == LOCKOUT_BUSY)
		log_ratelimited(&j->ctx, limit_key(j), "checks_in_flight");
	return LOCKOUT_REFUSE;
}

/* The limiter's recorded failures, then the cache, then a slot and the pool.
 * A cache hit takes no slot: it answers at once, and only for the right
 * password, so there is nothing to run in parallel. A delayed check asks
 * the cache only after its delay: a hit must not answer sooner. */
static int job_submit(const struct login_ctx *c, struct pw_job *j)
{
	enum lockout_decision d = gate(c, limit_key(j), relief_of(j), false);
	if (d == LOCKOUT_REFUSE) {
		job_free(j);
		return -1;
	}
	/* after the limiter: a blocked IP or user never gets to the cache */
	j->decision = d;
	if ((d == LOCKOUT_ALLOW || d == LOCKOUT_KNOWN) && answer_from_cache(j))
		return 0;
	if (submit_or_wait(j) == LOCKOUT_REFUSE) {
		job_free(j);
		return -1;
	}
	return 0;
}

int login_check_password(const struct login_ctx *c, const char *user, const char *password,
                         login_done_fn cb, void *arg)
{
	struct pw_job *j = job_new(c, user, password, cb, arg);
	j->known = user_auth_info(c->store, j->user, &j->info);
	return job_submit(c, j);
}

int login_check_master(const struct login_ctx *c, const char *user, const char *master,
                       const char *password, login_done_fn cb, void *arg)
{
	struct store_user_auth target;
	struct pw_job *j = job_new(c, user, password, cb, arg);
	str_copy(j->master, sizeof(j->master), master);
	ascii_lower(j->master);
	/* the cache entry names both: a master's proof is not the user's, and
	 * proves nothing for another user ('*' never occurs in a master name) */
	snprintf(j->cache_user, sizeof(j->cache_user), "%s*%s", j->user, j->master);
	j->known = master_name_valid(j->master) &&
	           store_master_hash(c->store, j->master, j->info.hash, sizeof(j->info.hash)) == STORE_OK;
	/* read for every login, like the hash: a user deleted since is refused */
	j->target_known = user_auth_info(c->store, j->user, &target);
	OPENSSL_cleanse(&target, sizeof(target));
	return job_submit(c, j);
}

/* ---- SCRAM keys ---------------------------------------------------------------------- */

static pthread_once_t fake_once = PTHREAD_ONCE_INIT;
static unsigned char fake_secret[32];

static void init_fake_secret(void)
{
	random_bytes(fake_secret, sizeof(fake_secret));
}

bool login_scram_keys(const struct login_ctx *c, const char *user, struct scram_keys *out,
                      bool *any_sender)
{
	char local[65], domain[256];
	struct store_user_auth info;
	bool real = resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) == 0 &&
	            store_user_auth_info(c->store, local, domain, &info) == STORE_OK &&
	            scram_keys_decode(info.scram, out) == 0;
	*any_sender = real && info.any_sender;
	if (!real) {
		pthread_once(&fake_once, init_fake_secret);
		scram_fake_keys(user, fake_secret, out);
	}
	OPENSSL_cleanse(&info, sizeof(info));
	return real;
}
