/* A login, whatever the protocol: the failure limiter, the password check on
 * the thread pool (upgrading old hashes and deriving SCRAM keys on success),
 * the verified-credentials cache in front of it, and SCRAM key lookup that
 * does not reveal which users exist. SMTP AUTH, IMAP LOGIN/AUTHENTICATE and
 * later POP3 and the admin API all go through it. */
#ifndef POSTERN_LOGIN_H
#define POSTERN_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth_limits_cfg;
struct event_base;
struct scram_keys;
struct store;
struct threadpool;

struct login_ctx {
	struct store *store;
	struct threadpool *pool;
	struct event_base *base;
	const struct auth_limits_cfg *limits;
	uint64_t keep_ms;               /* failures are kept this long (all protocols) */
	const char *ip;
	const char *protocol;           /* "smtp", "imap": for the log */
	bool master_login;              /* master users may log in here (auth/master.h):
	                                 * auth.master_login, and a protocol that reads
	                                 * mailboxes (never SMTP) */
	/* told when the limiter refuses a login (optional): the session engine
	 * counts it towards a ban (net_session_login_refused) */
	void (*refused)(void *arg);
	void *refused_arg;
};

enum login_result { LOGIN_OK = 0, LOGIN_FAILED, LOGIN_TEMPFAIL };

/* user is the lower-cased address; delay_ms is how long to wait before
 * answering a failure (progressive, from the limiter). */
typedef void (*login_done_fn)(void *arg, enum login_result r, const char *user, bool any_sender,
                              uint64_t delay_ms);

/* Before any password is looked at: false when the limiter refuses the IP
 * or the user from this IP, or cannot tell (fail closed). The refusal is
 * logged. A blocked username alone is no refusal (auth/lockout.h): its
 * password check runs now from a network it logged in from lately, else
 * after a delay (login_check_password decides). */
bool login_allowed(const struct login_ctx *c, const char *user);
/* The same for a master's name, and for the user a master logs in as: a
 * blocked username refuses (masters have no known networks). */
bool login_allowed_for_master(const struct login_ctx *c, const char *name);
/* login_allowed, and the attempt counts as a check in flight until
 * login_release(): for exchanges whose proof comes in a later message
 * (SCRAM), so that parallel exchanges cannot outrun the limits. Release
 * after recording the result (login_failed / login_succeeded). *wait_ms is
 * how long the exchange must wait before it goes on (a blocked username
 * from an unknown network), else 0. */
bool login_reserve(const struct login_ctx *c, const char *user, uint64_t *wait_ms);
void login_release(const struct login_ctx *c, const char *user);
/* Checks a password; cb runs later on c->base (never inside this call), so
 * call it on that loop. Unknown users cost the same time as known ones.
 * Checks still running count against the limits as if they had failed; a
 * check that would pass a limit that way waits for one to end (up to 15 s,
 * then cb gets LOGIN_TEMPFAIL). A blocked username from a network it has
 * not logged in from lately waits lockout_delay_ms() before the check. Returns -1 when the pool is saturated or the
 * recorded failures reach a limit (the caller answers with a temporary
 * failure). The caller keeps arg alive
 * until cb. A password proved right within auth.cache_ttl, against the hash
 * stored now, is answered from the cache (auth.success has cached: true):
 * on the loop's next turn, without the pool; anything else takes the
 * Argon2 check. Call login_allowed first: a refusal must come before the
 * cache is looked at. */
int login_check_password(const struct login_ctx *c, const char *user, const char *password,
                         login_done_fn cb, void *arg);
/* A master's password check (auth/master.h): as login_check_password, with
 * the master's hash, and a success only when user exists too. cb gets user.
 * Failures count against master and the IP, not user; each end is an
 * "auth.master_login" audit event naming both. The cache entry is over
 * both names and the master's stored hash: a master removed (or added
 * again) no longer matches it. Call login_allowed for master and user first. */
int login_check_master(const struct login_ctx *c, const char *user, const char *master,
                       const char *password, login_done_fn cb, void *arg);
/* A master's failure decided by the caller (a malformed target): counted
 * against master, audited with user; returns the delay before answering. */
uint64_t login_master_failed(const struct login_ctx *c, const char *user, const char *master,
                             const char *reason);
/* A failure decided by the caller (wrong SCRAM proof, refused authzid):
 * recorded and logged; returns the delay before answering. */
uint64_t login_failed(const struct login_ctx *c, const char *user, const char *reason);
/* A success decided by the caller (SCRAM): clears the user's failures,
 * remembers the network (auth/known_networks.h), logs. */
void login_succeeded(const struct login_ctx *c, const char *user);
/* The process's verified-credentials cache (auth/cred_cache.h), for every
 * worker and protocol: started before the workers, stopped after them.
 * ttl_ms 0 leaves it off. -1 when no random key could be had. Without a
 * start (the CLI, tests) there is no cache. */
int login_cache_start(uint64_t ttl_ms, size_t max_entries);
void login_cache_stop(void);
/* SCRAM keys of user. For unknown users, or users without SCRAM keys yet,
 * fills deterministic fake keys and returns false: the exchange then fails
 * at the proof, exactly like a wrong password. */
bool login_scram_keys(const struct login_ctx *c, const char *user, struct scram_keys *out,
                      bool *any_sender);

#endif
