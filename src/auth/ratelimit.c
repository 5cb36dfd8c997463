/* Authentication rate limiting: the decisions (see ratelimit.h). The state
 * sits behind struct ratelimit_backend; this file never touches SQLite. */
#include "auth/ratelimit.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store_auth.h"

#define KIND_IP "ip"
#define KIND_USER "user"
#define KIND_PAIR "ip_user"     /* one username from one IP */

long long ratelimit_clock_ms(void)
{
	return wall_ms();
}

/* ---- keys ---------------------------------------------------------------- */

void ratelimit_ip_key(const char *ip, char out[RATELIMIT_KEY_MAX + 1])
{
	ip_client_key(ip, out, RATELIMIT_KEY_MAX + 1);
}

void ratelimit_user_key(const char *user, char out[RATELIMIT_KEY_MAX + 1])
{
	str_copy(out, RATELIMIT_KEY_MAX + 1, user);
	ascii_lower(out);
}

void ratelimit_pair_key(const char *ip, const char *user, char out[RATELIMIT_KEY_MAX + 1])
{
	char ipk[RATELIMIT_KEY_MAX + 1], userk[RATELIMIT_KEY_MAX + 1];
	ratelimit_ip_key(ip, ipk);
	ratelimit_user_key(user, userk);
	/* an address has no space: the first one ends it; a long name is cut */
	size_t n = strnlen(ipk, 64);
	memcpy(out, ipk, n);
	out[n++] = ' ';
	str_copy(out + n, RATELIMIT_KEY_MAX + 1 - n, userk);
}

static bool is_ip_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* "192.0.2.1 alice@example.org": an address, a space, a name */
static bool is_pair_key(const char *s)
{
	char ip[64];
	const char *sp = strchr(s, ' ');
	if (sp == NULL || sp[1] == '\0' || (size_t)(sp - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(sp - s));
	ip[sp - s] = '\0';
	return is_ip_address(ip);
}

static const char *kind_of_key(const char *key)
{
	if (is_ip_address(key))
		return KIND_IP;
	return is_pair_key(key) ? KIND_PAIR : KIND_USER;
}

/* ---- arithmetic ---------------------------------------------------------- */

/* Windows and durations come from the configuration as uint64_t; clamp them
 * so that now_ms +/- them cannot overflow a long long. */
static long long span(uint64_t ms)
{
	const uint64_t cap = 1000ULL * 86400 * 365 * 100; /* a century */
	return (long long)(ms > cap ? cap : ms);
}

/* The first instant inside a sliding window that ends at now: a failure
 * exactly `window` old has left it. */
static long long window_start(long long now_ms, uint64_t window_ms)
{
	return now_ms - span(window_ms) + 1;
}

/* delay_base_ms * 2^(failures - 1), at most delay_max_ms */
static uint64_t progressive_delay(const struct auth_limits_cfg *c, int failures)
{
	uint64_t d = c->delay_base_ms;
	for (int i = 1; i < failures && d < c->delay_max_ms && d <= UINT64_MAX / 2; i++)
		d *= 2;
	return d < c->delay_max_ms ? d : c->delay_max_ms;
}

/* A limit of 0 or less switches its rule off (the configuration refuses it). */
static bool reached(int count, int limit)
{
	return limit > 0 && count >= limit;
}

/* ---- logging --------------------------------------------------------------- */

static void log_backend_error(const char *op, const char *ip, const char *user)
{
	log_event(LOG_ERROR, "auth.ratelimit_error", "s", "op", op, "s", "ip", ip, "s", "user", user,
	          "s", "msg", "rate limiter failed: refusing authentication", NULL);
}

static void log_block(const char *scope, const char *ip, const char *user, const char *protocol,
                      const char *reason, long long until_ms, long long now_ms)
{
	log_security(LOG_WARN, "auth.blocked", "s", "scope", scope, "s", "ip", ip, "s", "user", user,
	             "s", "protocol", protocol, "s", "reason", reason, "i", "until_ms", until_ms,
	             "i", "duration_ms", until_ms - now_ms, NULL);
}

static void log_refusal(const char *ip, const char *user, const char *reason, long long retry_ms)
{
	log_security(LOG_WARN, "auth.ratelimited", "s", "ip", ip, "s", "user", user,
	             "s", "reason", reason, "i", "retry_after_ms", retry_ms, NULL);
}

/* ---- decisions -------------------------------------------------------------- */

/* Checks one key: its block record, then its count in the window. Returns
 * RL_ALLOW, RL_BLOCKED (with *retry and *why set) or RL_ERROR. */
static enum ratelimit_verdict check_key(const struct ratelimit_backend *b, const char *kind,
                                        const char *key, int limit, uint64_t window_ms,
                                        long long now_ms, long long *retry, const char **why)
{
	bool is_user = strcmp(kind, KIND_USER) == 0;
	long long until = b->blocked_until(b->arg, kind, key, now_ms);
	if (until < 0)
		return RL_ERROR;
	if (until > now_ms) {
		*retry = until - now_ms;
		*why = strcmp(kind, KIND_IP) == 0 ? "ip_blocked" : is_user ? "user_blocked"
		                                                           : "ip_user_blocked";
		return is_user ? RL_USER_BLOCKED : RL_BLOCKED;
	}
	if (limit <= 0)
		return RL_ALLOW;
	int n = b->count_failures(b->arg, kind, key, window_start(now_ms, window_ms));
	if (n < 0)
		return RL_ERROR;
	if (reached(n, limit)) {
		/* no block record (limits lowered, or another node's failures):
		 * the oldest failure is not known here, so the whole window is the bound */
		*retry = span(window_ms);
		*why = strcmp(kind, KIND_IP) == 0 ? "ip_limit" : is_user ? "user_limit" : "ip_user_limit";
		return is_user ? RL_USER_BLOCKED : RL_BLOCKED;
	}
	return RL_ALLOW;
}

enum ratelimit_verdict ratelimit_check(const struct auth_limits_cfg *c,
                                       const struct ratelimit_backend *b, const char *ip,
                                       const char *user, long long now_ms,
                                       long long *retry_after_ms)
{
	char ipk[RATELIMIT_KEY_MAX + 1], userk[RATELIMIT_KEY_MAX + 1], pairk[RATELIMIT_KEY_MAX + 1];
	bool has_user = user != NULL && *user != '\0';
	long long retry = 0;
	const char *why = NULL;
	enum ratelimit_verdict v;

	if (ip == NULL) {
		log_backend_error("check", NULL, user);
		return RL_ERROR;
	}
	ratelimit_ip_key(ip, ipk);
	if (has_user) {
		ratelimit_user_key(user, userk);
		ratelimit_pair_key(ip, user, pairk);
	}
	v = check_key(b, KIND_IP, ipk, c->max_attempts_per_ip, c->ip_window_ms, now_ms, &retry, &why);
	if (v == RL_ALLOW && has_user)
		v = check_key(b, KIND_PAIR, pairk, c->max_attempts_per_client_user, c->ip_window_ms,
		              now_ms, &retry, &why);
	if (v == RL_ALLOW && has_user)
		v = check_key(b, KIND_USER, userk, c->max_attempts_per_username, c->username_window_ms,
		              now_ms, &retry, &why);
	if (v == RL_ERROR) {
		log_backend_error("check", ipk, has_user ? userk : NULL);
		return RL_ERROR;
	}
	if (v == RL_BLOCKED)
		log_refusal(ipk, has_user ? userk : NULL, why, retry);
	if ((v == RL_BLOCKED || v == RL_USER_BLOCKED) && retry_after_ms != NULL)
		*retry_after_ms = retry;
	return v;
}

int ratelimit_counts(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                     const char *ip, const char *user, long long now_ms, int *ip_n, int *pair_n,
                     int *user_n)
{
	char ipk[RATELIMIT_KEY_MAX + 1], userk[RATELIMIT_KEY_MAX + 1], pairk[RATELIMIT_KEY_MAX + 1];
	ratelimit_ip_key(ip, ipk);
	ratelimit_user_key(user, userk);
	ratelimit_pair_key(ip, user, pairk);
	if ((*ip_n = b->count_failures(b->arg, KIND_IP, ipk, window_start(now_ms, c->ip_window_ms))) < 0 ||
	    (*pair_n = b->count_failures(b->arg, KIND_PAIR, pairk,
	                                 window_start(now_ms, c->ip_window_ms))) < 0 ||
	    (*user_n = b->count_failures(b->arg, KIND_USER, userk,
	                                 window_start(now_ms, c->username_window_ms))) < 0) {
		log_backend_error("count", ipk, userk);
		return -1;
	}
	return 0;
}

/* The failures of one attempt, counted in their windows after recording it. */
struct failure_counts {
	int ip, fast, pair, user;
};

/* Blocks what this failure made reach a limit; *blocked tells whether any did. */
static int apply_blocks(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                        const char *ipk, const char *userk, const char *pairk,
                        const char *protocol, const struct failure_counts *n, long long now_ms,
                        bool *blocked)
{
	/* the IP: of the two rules that may apply, the longer block wins */
	long long ip_until = 0;
	const char *ip_why = NULL;
	if (reached(n->ip, c->max_attempts_per_ip)) {
		ip_until = now_ms + span(c->ip_window_ms);
		ip_why = "ip_limit";
	}
	if (reached(n->fast, c->fast_block_threshold) &&
	    now_ms + span(c->fast_block_duration_ms) > ip_until) {
		ip_until = now_ms + span(c->fast_block_duration_ms);
		ip_why = "ip_fast";
	}
	if (ip_until > 0) {
		if (b->block(b->arg, KIND_IP, ipk, ip_until, ip_why) < 0)
			return -1;
		log_block(KIND_IP, ipk, userk, protocol, ip_why, ip_until, now_ms);
		*blocked = true;
	}
	if (userk != NULL && reached(n->pair, c->max_attempts_per_client_user)) {
		long long until = now_ms + span(c->ip_window_ms);
		if (b->block(b->arg, KIND_PAIR, pairk, until, "ip_user_limit") < 0)
			return -1;
		log_block(KIND_PAIR, ipk, userk, protocol, "ip_user_limit", until, now_ms);
		*blocked = true;
	}
	if (userk != NULL && reached(n->user, c->max_attempts_per_username)) {
		long long until = now_ms + span(c->username_window_ms);
		if (b->block(b->arg, KIND_USER, userk, until, "user_limit") < 0)
			return -1;
		log_block(KIND_USER, ipk, userk, protocol, "user_limit", until, now_ms);
		*blocked = true;
	}
	return 0;
}

enum ratelimit_verdict ratelimit_failure(const struct auth_limits_cfg *c,
                                         const struct ratelimit_backend *b, const char *ip,
                                         const char *user, const char *protocol,
                                         const char *reason, long long now_ms,
                                         uint64_t *delay_ms)
{
	char ipk[RATELIMIT_KEY_MAX + 1], userk[RATELIMIT_KEY_MAX + 1], pairk[RATELIMIT_KEY_MAX + 1];
	const char *u = NULL;   /* the username's key, NULL when there is none */
	struct failure_counts n = { -1, -1, 0, 0 };
	bool blocked = false;

	/* a broken limiter must not answer fast: an attacker would notice */
	*delay_ms = c->delay_max_ms;
	if (ip == NULL) {
		log_backend_error("failure", NULL, user);
		return RL_ERROR;
	}
	ratelimit_ip_key(ip, ipk);
	if (user != NULL && *user != '\0') {
		ratelimit_user_key(user, userk);
		ratelimit_pair_key(ip, user, pairk);
		u = userk;
	}

	if (b->add_failure(b->arg, KIND_IP, ipk, now_ms) < 0 ||
	    (u != NULL && b->add_failure(b->arg, KIND_USER, u, now_ms) < 0) ||
	    (u != NULL && b->add_failure(b->arg, KIND_PAIR, pairk, now_ms) < 0) ||
	    (n.ip = b->count_failures(b->arg, KIND_IP, ipk, window_start(now_ms, c->ip_window_ms))) < 0 ||
	    (n.fast = b->count_failures(b->arg, KIND_IP, ipk,
	                                window_start(now_ms, c->fast_window_ms))) < 0 ||
	    (u != NULL && (n.user = b->count_failures(b->arg, KIND_USER, u,
	                                              window_start(now_ms, c->username_window_ms))) < 0) ||
	    (u != NULL && (n.pair = b->count_failures(b->arg, KIND_PAIR, pairk,
	                                              window_start(now_ms, c->ip_window_ms))) < 0)) {
		log_backend_error("failure", ipk, u);
		return RL_ERROR;
	}

	*delay_ms = progressive_delay(c, n.ip);
	log_security(LOG_WARN, "auth.failure", "s", "ip", ipk, "s", "user", u, "s", "protocol", protocol,
	             "s", "reason", reason, "i", "ip_failures", (long long)n.ip,
	             "i", "user_failures", (long long)n.user, "i", "ip_user_failures", (long long)n.pair,
	             "i", "delay_ms", (long long)*delay_ms, NULL);
	if (apply_blocks(c, b, ipk, u, pairk, protocol, &n, now_ms, &blocked) < 0) {
		*delay_ms = c->delay_max_ms;
		log_backend_error("block", ipk, u);
		return RL_ERROR;
	}
	return blocked ? RL_BLOCKED : RL_ALLOW;
}

void ratelimit_success(const struct ratelimit_backend *b, const char *ip, const char *user,
                       long long now_ms)
{
	char userk[RATELIMIT_KEY_MAX + 1], pairk[RATELIMIT_KEY_MAX + 1];
	(void)now_ms;
	if (user == NULL || *user == '\0')
		return;
	ratelimit_user_key(user, userk);
	ratelimit_pair_key(ip, user, pairk);
	if (b->clear_failures(b->arg, KIND_USER, userk) < 0 ||
	    b->clear_failures(b->arg, KIND_PAIR, pairk) < 0)
		log_backend_error("success", ip, user);
}

int ratelimit_unblock(const struct ratelimit_backend *b, const char *kind_or_auto,
                      const char *key, const char *actor)
{
	char k[RATELIMIT_KEY_MAX + 1];
	const char *kind;
	if (key == NULL || *key == '\0')
		return STORE_ERROR;
	if (kind_or_auto == NULL || strcmp(kind_or_auto, "auto") == 0)
		kind = kind_of_key(key);
	else if (strcmp(kind_or_auto, KIND_IP) == 0 || strcmp(kind_or_auto, KIND_USER) == 0 ||
	         strcmp(kind_or_auto, KIND_PAIR) == 0)
		kind = kind_or_auto;
	else
		return STORE_ERROR;
	if (strcmp(kind, KIND_IP) == 0) {
		ratelimit_ip_key(key, k);
	} else if (strcmp(kind, KIND_USER) == 0) {
		ratelimit_user_key(key, k);
	} else {
		/* as listed: "IP NAME"; the address is canonicalised, the name lower-cased */
		char ip[64];
		const char *sp = strchr(key, ' ');     /* is_pair_key: one within sizeof(ip) */
		if (!is_pair_key(key))
			return STORE_ERROR;
		memcpy(ip, key, (size_t)(sp - key));
		ip[sp - key] = '\0';
		ratelimit_pair_key(ip, sp + 1, k);
	}

	int rc = b->unblock(b->arg, kind, k);
	if (rc < 0) {
		log_backend_error("unblock", strcmp(kind, KIND_IP) == 0 ? k : NULL,
		                  strcmp(kind, KIND_USER) == 0 ? k : NULL);
		return STORE_ERROR;
	}
	log_security(LOG_INFO, "auth.unblocked", "s", "scope", kind, "s", "key", k,
	             "s", "actor", actor ? actor : "unknown", "b", "found", rc == STORE_OK, NULL);
	return rc == STORE_OK ? STORE_OK : STORE_NOT_FOUND;
}

int ratelimit_list_blocks(const struct ratelimit_backend *b, long long now_ms, store_row_cb cb,
                          void *arg)
{
	int n = b->list_blocks(b->arg, now_ms, cb, arg);
	if (n < 0)
		log_backend_error("list", NULL, NULL);
	return n < 0 ? STORE_ERROR : n;
}

int ratelimit_prune(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                    long long now_ms)
{
	uint64_t w = c->ip_window_ms;
	if (c->username_window_ms > w)
		w = c->username_window_ms;
	if (c->fast_window_ms > w)
		w = c->fast_window_ms;
	return ratelimit_prune_before(b, now_ms - span(w));
}

int ratelimit_prune_before(const struct ratelimit_backend *b, long long before_ms)
{
	int n = b->prune(b->arg, before_ms);
	if (n < 0)
		log_backend_error("prune", NULL, NULL);
	return n;
}

/* ---- the store as backend ------------------------------------------------------ */

static int st_add_failure(void *arg, const char *kind, const char *key, long long ts_ms)
{
	return store_auth_add_failure(arg, kind, key, ts_ms);
}

static int st_count_failures(void *arg, const char *kind, const char *key, long long since_ms)
{
	return store_auth_count_failures(arg, kind, key, since_ms);
}

static int st_block(void *arg, const char *kind, const char *key, long long until_ms,
                    const char *reason)
{
	return store_auth_block(arg, kind, key, until_ms, reason);
}

static long long st_blocked_until(void *arg, const char *kind, const char *key, long long now_ms)
{
	return store_auth_blocked_until(arg, kind, key, now_ms);
}

static int st_unblock(void *arg, const char *kind, const char *key)
{
	return store_auth_unblock(arg, kind, key);
}

static int st_clear_failures(void *arg, const char *kind, const char *key)
{
	return store_auth_clear_failures(arg, kind, key);
}

static int st_list_blocks(void *arg, long long now_ms, store_row_cb cb, void *cbarg)
{
	return store_auth_list_blocks(arg, now_ms, cb, cbarg);
}

static int st_prune(void *arg, long long before_ms)
{
	return store_auth_prune(arg, before_ms);
}

static int st_remember_network(void *arg, const char *user, const char *network, long long now_ms,
                               int keep)
{
	return store_auth_network_remember(arg, user, network, now_ms, keep);
}

static long long st_network_last_login(void *arg, const char *user, const char *network)
{
	return store_auth_network_last_login(arg, user, network);
}

static int st_prune_networks(void *arg, long long before_ms)
{
	return store_auth_network_prune(arg, before_ms);
}

struct ratelimit_backend ratelimit_store_backend(struct store *st)
{
	return (struct ratelimit_backend){
		.add_failure = st_add_failure,
		.count_failures = st_count_failures,
		.block = st_block,
		.blocked_until = st_blocked_until,
		.unblock = st_unblock,
		.clear_failures = st_clear_failures,
		.list_blocks = st_list_blocks,
		.prune = st_prune,
		.remember_network = st_remember_network,
		.network_last_login = st_network_last_login,
		.prune_networks = st_prune_networks,
		.arg = st,
	};
}
