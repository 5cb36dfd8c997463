/* The SASL server exchange (auth/sasl_server.c) as a state machine: each
 * mechanism's steps, every outcome, the failure delay, the limits, the keep-
 * alive hooks around the pooled password check, and freeing it at any step.
 * A real store in a temporary directory and a real thread pool stand behind
 * it; the protocol side is a recorder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/known_networks.h"
#include "auth/login.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "auth/sasl_server.h"
#include "auth/scram.h"
#include "core/config.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "store/store.h"
#include "store/store_master.h"

#define PASSWORD "Corr3ct-horse"
#define ALICE "alice@example.org"

/* ---- fixture: store, pool, loop, and the recording protocol side --------------------- */

struct fx {
	char dir[64];
	struct store *st;
	struct threadpool *pool;
	struct event_base *base;
	struct auth_limits_cfg limits;
	struct login_ctx ctx;
	struct sasl_server *x;
	/* what the exchange told the "session" */
	char challenge[1024];
	int challenges, waits, holds, releases, dones;
	enum sasl_outcome outcome;
	char user[400], master[80], detail[128];
	bool any_sender;
	bool free_in_done;      /* like the protocols: drop the exchange in done */
};

static void on_challenge(void *arg, const char *b64)
{
	struct fx *f = arg;
	str_copy(f->challenge, sizeof(f->challenge), b64);
	f->challenges++;
}

static void on_wait(void *arg)
{
	((struct fx *)arg)->waits++;
}

static void on_done(void *arg, enum sasl_outcome o, const struct sasl_result *r)
{
	struct fx *f = arg;
	f->dones++;
	f->outcome = o;
	str_copy(f->user, sizeof(f->user), r->user);
	str_copy(f->master, sizeof(f->master), r->master);
	str_copy(f->detail, sizeof(f->detail), r->detail ? r->detail : "");
	f->any_sender = r->any_sender;
	if (f->free_in_done) {
		sasl_server_free(f->x);
		f->x = NULL;
	}
}

static void on_hold(void *arg)
{
	((struct fx *)arg)->holds++;
}

static bool on_release(void *arg)
{
	struct fx *f = arg;
	f->releases++;
	return true;
}

static const struct sasl_server_ops ops = {
	.challenge = on_challenge, .wait = on_wait, .done = on_done,
	.hold = on_hold, .release = on_release,
};

static void add_user(struct fx *f, const char *local, const char *password, bool scram,
                     bool any_sender)
{
	char hash[PASSWORD_HASH_MAX], keys[SCRAM_KEYS_ENCODED_MAX], err[256];
	struct scram_keys k;
	assert_int_equal(password_hash(password, hash, sizeof(hash)), 0);
	assert_int_equal(store_user_add(f->st, local, "example.org", hash, err, sizeof(err)), STORE_OK);
	if (scram) {
		assert_int_equal(scram_keys_new(password, &k), 0);
		assert_int_equal(scram_keys_encode(&k, keys, sizeof(keys)), 0);
		assert_int_equal(store_user_set_credentials(f->st, local, "example.org", hash, keys, err,
		                                            sizeof(err)), STORE_OK);
	}
	if (any_sender)
		assert_int_equal(store_user_set_any_sender(f->st, local, "example.org", true, err,
		                                           sizeof(err)), STORE_OK);
}

/* A fixed failure delay (base = max). */
static void set_delay(struct fx *f, uint64_t ms)
{
	f->limits.delay_base_ms = ms;
	f->limits.delay_max_ms = ms;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[256];
	evthread_use_pthreads();
	str_copy(f->dir, sizeof(f->dir), "/tmp/postern-sasl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->st = store_open(f->dir, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(store_domain_add(f->st, "example.org", err, sizeof(err)), STORE_OK);
	add_user(f, "alice", PASSWORD, true, false);
	add_user(f, "bob", "bobs-pw", false, true);
	f->pool = threadpool_new(2);
	f->base = event_base_new();
	config_auth_limits_defaults(&f->limits);
	set_delay(f, 0);
	known_networks_cache_clear();      /* process-wide: no network known from another test */
	f->ctx = (struct login_ctx){ .store = f->st, .pool = f->pool, .base = f->base,
	                             .limits = &f->limits, .keep_ms = 3600 * 1000,
	                             .ip = "192.0.2.7", .protocol = "test" };
	f->free_in_done = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	sasl_server_free(f->x);
	threadpool_free(f->pool);
	event_base_free(f->base);
	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void start(struct fx *f, enum sasl_mech m, const char *initial)
{
	f->x = sasl_server_new(m, &f->ctx, &ops, f);
	sasl_server_start(f->x, initial, initial ? strlen(initial) : 0);
}

static void step(struct fx *f, const char *line)
{
	sasl_server_step(f->x, line, strlen(line));
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until the exchange has called done or released its hold
 * (whichever count is asked for reaches want), or 10 s pass. */
static void run_until(struct fx *f, const int *count, int want)
{
	bool expired = false;
	struct timeval ten = { 10, 0 };
	struct event *guard = evtimer_new(f->base, on_guard, &expired);
	evtimer_add(guard, &ten);
	while (*count < want && !expired)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(guard);
	assert_false(expired);
}

static void run(struct fx *f)
{
	run_until(f, &f->dones, f->dones + 1);
}

static void b64(const char *text, size_t len, char *out, size_t cap)
{
	assert_int_equal(sasl_b64_encode((const unsigned char *)text, len, out, cap, NULL), 0);
}

static void plain(const char *authzid, const char *user, const char *pw, char *out, size_t cap)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s%c%s%c%s", authzid, 0, user, 0, pw);
	b64(msg, (size_t)n, out, cap);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- mechanisms ------------------------------------------------------------------- */

static void test_mechanisms(void **state)
{
	(void)state;
	enum sasl_mech m;
	assert_string_equal(sasl_server_mechanisms(true), "PLAIN LOGIN SCRAM-SHA-256");
	assert_string_equal(sasl_server_mechanisms(false), "SCRAM-SHA-256");
	assert_int_equal(sasl_server_mech_parse("plain", &m), 0);
	assert_int_equal(m, SASL_MECH_PLAIN);
	assert_int_equal(sasl_server_mech_parse("Login", &m), 0);
	assert_int_equal(m, SASL_MECH_LOGIN);
	assert_int_equal(sasl_server_mech_parse("SCRAM-SHA-256", &m), 0);
	assert_int_equal(m, SASL_MECH_SCRAM_SHA_256);
	assert_int_equal(sasl_server_mech_parse("CRAM-MD5", &m), -1);
	assert_int_equal(sasl_server_mech_parse("SCRAM-SHA-1", &m), -1);
	assert_int_equal(sasl_server_mech_parse("", &m), -1);
	assert_true(sasl_server_mech_sends_password(SASL_MECH_PLAIN));
	assert_true(sasl_server_mech_sends_password(SASL_MECH_LOGIN));
	assert_false(sasl_server_mech_sends_password(SASL_MECH_SCRAM_SHA_256));
}

/* ---- PLAIN, LOGIN and the password check ------------------------------------------------ */

static void test_plain_success(void **state)
{
	struct fx *f = *state;
	char ir[512];
	plain("", "Alice@Example.ORG", PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	/* the check is on the pool: the session is held and waits */
	assert_int_equal(f->dones, 0);
	assert_int_equal(f->holds, 1);
	assert_int_equal(f->waits, 1);
	assert_true(sasl_server_waiting(f->x));
	step(f, "*");                   /* nothing is read meanwhile; ignored if it were */
	assert_int_equal(f->dones, 0);
	run(f);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, ALICE);
	assert_false(f->any_sender);
	assert_int_equal(f->releases, 1);
	assert_int_equal(f->challenges, 0);
}

static void test_plain_without_initial_response(void **state)
{
	struct fx *f = *state;
	char resp[512];
	start(f, SASL_MECH_PLAIN, NULL);
	assert_int_equal(f->challenges, 1);
	assert_string_equal(f->challenge, "");
	plain("bob@example.org", "bob@example.org", "bobs-pw", resp, sizeof(resp));
	step(f, resp);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, "bob@example.org");
	assert_true(f->any_sender);
}

static void test_plain_failure_waits_the_delay(void **state)
{
	struct fx *f = *state;
	char ir[512];
	set_delay(f, 150);
	plain("", ALICE, "wrong", ir, sizeof(ir));
	uint64_t t0 = mono_ms();
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_true(mono_ms() - t0 >= 140);
	/* the check, then the delay: two waits, one hold */
	assert_int_equal(f->holds, 1);
	assert_int_equal(f->releases, 1);
	assert_int_equal(f->waits, 2);
}

static void test_plain_authzid_refused(void **state)
{
	struct fx *f = *state;
	char ir[512];
	/* the right password, but acting for bob: a failure, without any password check */
	plain("bob@example.org", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->holds, 0);
	assert_int_equal(f->waits, 1);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_string_equal(f->user, ALICE);
	/* an authzid equal to the user (in any case) is fine */
	plain("ALICE@example.org", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
}

/* ---- master users ------------------------------------------------------------------------ */

#define MASTER_PW "master-pw"

static void add_master(struct fx *f)
{
	char hash[PASSWORD_HASH_MAX], err[256];
	assert_int_equal(password_hash(MASTER_PW, hash, sizeof(hash)), 0);
	assert_int_equal(store_master_add(f->st, "admin", hash, err, sizeof(err)), STORE_OK);
}

static void login_outside_sasl(struct fx *f, const char *user, const char *pw)
{
	f->x = sasl_server_new(SASL_MECH_PLAIN, &f->ctx, &ops, f);
	sasl_server_login(f->x, user, pw);
	run(f);
}

static void test_master_logins(void **state)
{
	struct fx *f = *state;
	char ir[512];
	add_master(f);
	f->ctx.master_login = true;
	/* PLAIN: authzid the user, authcid the master; bob's any_sender is bob's own */
	plain("Bob@example.org", "ADMIN", MASTER_PW, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, "bob@example.org");
	assert_string_equal(f->master, "admin");
	assert_false(f->any_sender);
	/* the login form, through LOGIN's two steps too */
	login_outside_sasl(f, "alice@example.org*admin", MASTER_PW);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, ALICE);
	assert_string_equal(f->master, "admin");
	start(f, SASL_MECH_LOGIN, NULL);
	b64("alice@example.org*admin", 23, ir, sizeof(ir));
	step(f, ir);
	b64(MASTER_PW, strlen(MASTER_PW), ir, sizeof(ir));
	step(f, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->master, "admin");
	/* an ordinary login says no master */
	login_outside_sasl(f, ALICE, PASSWORD);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->master, "");
	/* wrong password, unknown user, unknown master, empty user part */
	login_outside_sasl(f, "alice@example.org*admin", PASSWORD);
	assert_int_equal(f->outcome, SASL_FAILED);
	login_outside_sasl(f, "carol@example.org*admin", MASTER_PW);
	assert_int_equal(f->outcome, SASL_FAILED);
	login_outside_sasl(f, "alice@example.org*ghost", MASTER_PW);
	assert_int_equal(f->outcome, SASL_FAILED);
	login_outside_sasl(f, "*admin", MASTER_PW);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_string_equal(f->master, "admin");
	/* a user's credential is no master's, even with an authzid */
	plain("bob@example.org", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
}

static void test_master_login_off(void **state)
{
	struct fx *f = *state;
	char ir[512];
	add_master(f);
	/* ctx.master_login false (SMTP, or auth.master_login off): no master form at all */
	plain("bob@example.org", "admin", MASTER_PW, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_string_equal(f->master, "");
	login_outside_sasl(f, "bob@example.org*admin", MASTER_PW);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_string_equal(f->user, "bob@example.org*admin");
	assert_string_equal(f->master, "");
}

static void test_malformed_and_cancelled(void **state)
{
	struct fx *f = *state;
	char ir[512];
	/* each of these ends at once, without the pool or a delay */
	start(f, SASL_MECH_PLAIN, "!!!notbase64");
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->outcome, SASL_MALFORMED);
	assert_string_equal(f->detail, "Invalid base64 data");
	start(f, SASL_MECH_PLAIN, "=");                     /* the empty response */
	assert_int_equal(f->outcome, SASL_MALFORMED);
	assert_string_equal(f->detail, "Malformed PLAIN message");
	b64("x\0y", 3, ir, sizeof(ir));                     /* one NUL only */
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->outcome, SASL_MALFORMED);
	start(f, SASL_MECH_LOGIN, NULL);
	step(f, "*");
	assert_int_equal(f->outcome, SASL_CANCELLED);
	b64(ALICE "\0x", sizeof(ALICE) + 1, ir, sizeof(ir));
	start(f, SASL_MECH_LOGIN, ir);
	assert_int_equal(f->outcome, SASL_MALFORMED);
	assert_string_equal(f->detail, "Malformed LOGIN response");
	start(f, SASL_MECH_SCRAM_SHA_256, NULL);
	b64("hello", 5, ir, sizeof(ir));
	step(f, ir);
	assert_int_equal(f->outcome, SASL_MALFORMED);
	assert_string_equal(f->detail, "Malformed SCRAM message");
	assert_int_equal(f->dones, 6);
	assert_int_equal(f->holds + f->waits, 0);
}

static void test_login_steps(void **state)
{
	struct fx *f = *state;
	char resp[512];
	start(f, SASL_MECH_LOGIN, NULL);
	assert_string_equal(f->challenge, SASL_LOGIN_USERNAME_B64);
	b64(ALICE, strlen(ALICE), resp, sizeof(resp));
	step(f, resp);
	assert_string_equal(f->challenge, SASL_LOGIN_PASSWORD_B64);
	assert_int_equal(f->holds, 0);
	b64(PASSWORD, strlen(PASSWORD), resp, sizeof(resp));
	step(f, resp);
	assert_int_equal(f->holds, 1);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, ALICE);
	/* the username as initial response: straight to the password prompt */
	f->challenges = 0;
	b64(ALICE, strlen(ALICE), resp, sizeof(resp));
	start(f, SASL_MECH_LOGIN, resp);
	assert_int_equal(f->challenges, 1);
	assert_string_equal(f->challenge, SASL_LOGIN_PASSWORD_B64);
	step(f, "=");                                       /* an empty password */
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
}

static void test_login_outside_sasl(void **state)
{
	struct fx *f = *state;
	f->x = sasl_server_new(SASL_MECH_PLAIN, &f->ctx, &ops, f);
	sasl_server_login(f->x, "ALICE@example.org", PASSWORD);
	run(f);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, ALICE);
	f->x = sasl_server_new(SASL_MECH_PLAIN, &f->ctx, &ops, f);
	sasl_server_login(f->x, "nobody@example.org", PASSWORD);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_int_equal(f->holds, 2);
	assert_int_equal(f->releases, 2);
}

static void test_limits_tempfail(void **state)
{
	struct fx *f = *state;
	char ir[512];
	f->limits.max_attempts_per_username = 2;
	f->limits.max_attempts_per_client_user = 2;
	for (int i = 0; i < 2; i++) {
		plain("", ALICE, "wrong", ir, sizeof(ir));
		start(f, SASL_MECH_PLAIN, ir);
		run(f);
		assert_int_equal(f->outcome, SASL_FAILED);
	}
	/* blocked from this address: refused at once, before any password is
	 * looked at, every mechanism */
	int holds = f->holds;
	plain("", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->dones, 3);
	assert_int_equal(f->outcome, SASL_TEMPFAIL);
	b64("n,,n=" ALICE ",r=abcdefghijkl", strlen("n,,n=" ALICE ",r=abcdefghijkl"), ir, sizeof(ir));
	start(f, SASL_MECH_SCRAM_SHA_256, ir);
	assert_int_equal(f->dones, 4);
	assert_int_equal(f->outcome, SASL_TEMPFAIL);
	plain("bob@example.org", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->dones, 5);
	assert_int_equal(f->outcome, SASL_TEMPFAIL);
	assert_int_equal(f->holds, holds);
}

/* ---- SCRAM-SHA-256 --------------------------------------------------------------------------- */

/* The client's final message for server_first (RFC 5802 3), with OpenSSL. */
static void scram_client_final(const char *password, const char *bare, const char *server_first,
                               char *out, size_t cap)
{
	unsigned char salt[64], salted[32], ckey[32], stored[32], sig[32], proof[32];
	char auth[2048], nonce[512], proof_b64[64];
	unsigned int len;
	size_t saltlen;
	const char *s = strstr(server_first, ",s="), *i = strstr(server_first, ",i=");
	assert_non_null(s);
	assert_non_null(i);
	assert_int_equal(sasl_b64_decode(s + 3, (size_t)(i - s - 3), salt, sizeof(salt), &saltlen), 0);
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen,
	                                   atoi(i + 3), EVP_sha256(), 32, salted), 1);
	assert_non_null(HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey,
	                     &len));
	assert_int_equal(EVP_Digest(ckey, 32, stored, &len, EVP_sha256(), NULL), 1);
	size_t nlen = (size_t)(s - server_first - 2);
	memcpy(nonce, server_first + 2, nlen);
	nonce[nlen] = '\0';
	int n = snprintf(auth, sizeof(auth), "%s,%s,c=biws,r=%s", bare, server_first, nonce);
	assert_non_null(HMAC(EVP_sha256(), stored, 32, (unsigned char *)auth, (size_t)n, sig, &len));
	for (size_t j = 0; j < 32; j++)
		proof[j] = ckey[j] ^ sig[j];
	assert_int_equal(sasl_b64_encode(proof, 32, proof_b64, sizeof(proof_b64), NULL), 0);
	char final[1024];
	n = snprintf(final, sizeof(final), "c=biws,r=%s,p=%s", nonce, proof_b64);
	b64(final, (size_t)n, out, cap);
}

/* client-first and client-final of one exchange; returns what the last step gave. */
static void scram_to_final(struct fx *f, const char *user, const char *password)
{
	char bare[256], first[300], resp[1024], server_first[600];
	size_t n;
	int dones = f->dones;
	snprintf(bare, sizeof(bare), "n=%s,r=Cl1entN0nce", user);
	snprintf(first, sizeof(first), "n,,%s", bare);
	b64(first, strlen(first), resp, sizeof(resp));
	start(f, SASL_MECH_SCRAM_SHA_256, resp);
	assert_int_equal(f->dones, dones);
	assert_int_equal(sasl_b64_decode(f->challenge, strlen(f->challenge),
	                                 (unsigned char *)server_first, sizeof(server_first) - 1, &n), 0);
	server_first[n] = '\0';
	assert_true(strncmp(server_first, "r=Cl1entN0nce", 13) == 0);
	scram_client_final(password, bare, server_first, resp, sizeof(resp));
	step(f, resp);
}

/* scram_to_final for an exchange whose server-first waits (a blocked username). */
static void scram_after_pause(struct fx *f, const char *user, const char *password)
{
	char bare[256], first[300], resp[1024], server_first[600];
	size_t n;
	snprintf(bare, sizeof(bare), "n=%s,r=Cl1entN0nce", user);
	snprintf(first, sizeof(first), "n,,%s", bare);
	b64(first, strlen(first), resp, sizeof(resp));
	start(f, SASL_MECH_SCRAM_SHA_256, resp);
	run_until(f, &f->challenges, f->challenges + 1);
	assert_int_equal(sasl_b64_decode(f->challenge, strlen(f->challenge),
	                                 (unsigned char *)server_first, sizeof(server_first) - 1, &n), 0);
	server_first[n] = '\0';
	scram_client_final(password, bare, server_first, resp, sizeof(resp));
	step(f, resp);
}

static void test_scram_success(void **state)
{
	struct fx *f = *state;
	char v[128];
	size_t n;
	scram_to_final(f, ALICE, PASSWORD);
	/* the server signature comes as a challenge; the empty answer ends it */
	assert_int_equal(f->dones, 0);
	assert_int_equal(f->challenges, 2);
	assert_int_equal(sasl_b64_decode(f->challenge, strlen(f->challenge), (unsigned char *)v,
	                                 sizeof(v) - 1, &n), 0);
	v[n] = '\0';
	assert_true(strncmp(v, "v=", 2) == 0);
	step(f, "");
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_string_equal(f->user, ALICE);
	/* no pool, no delay: SCRAM is a few HMACs */
	assert_int_equal(f->holds + f->waits, 0);
	/* data where the empty answer belongs */
	scram_to_final(f, ALICE, PASSWORD);
	step(f, "eA==");
	assert_int_equal(f->outcome, SASL_MALFORMED);
	assert_string_equal(f->detail, "Unexpected SCRAM data");
}

static void test_scram_wrong_proof_and_unknown_user(void **state)
{
	struct fx *f = *state;
	scram_to_final(f, ALICE, "wrong");
	assert_int_equal(f->waits, 1);      /* the failure delay */
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	/* fake keys: the exchange looks the same and fails at the proof */
	scram_to_final(f, "nobody@example.org", PASSWORD);
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	/* bob has no SCRAM keys yet: the same */
	scram_to_final(f, "bob@example.org", "bobs-pw");
	run(f);
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_int_equal(f->dones, 3);
}

static void test_scram_reservation_counts(void **state)
{
	struct fx *f = *state;
	char first[300], resp[600];
	struct sasl_server *open[3];
	f->limits.max_attempts_per_username = 2;
	/* two exchanges after their first message hold both of alice's attempts */
	snprintf(first, sizeof(first), "n,,n=%s,r=abcdefgh", ALICE);
	b64(first, strlen(first), resp, sizeof(resp));
	for (int i = 0; i < 3; i++) {
		open[i] = sasl_server_new(SASL_MECH_SCRAM_SHA_256, &f->ctx, &ops, f);
		f->x = open[i];
		f->free_in_done = false;
		sasl_server_start(open[i], resp, strlen(resp));
	}
	f->x = NULL;
	assert_int_equal(f->challenges, 2);
	assert_int_equal(f->dones, 1);
	assert_int_equal(f->outcome, SASL_TEMPFAIL);
	sasl_server_free(open[2]);
	/* freeing an exchange releases its reservation */
	sasl_server_free(open[0]);
	struct sasl_server *again = sasl_server_new(SASL_MECH_SCRAM_SHA_256, &f->ctx, &ops, f);
	sasl_server_start(again, resp, strlen(resp));
	assert_int_equal(f->challenges, 3);
	sasl_server_free(again);
	sasl_server_free(open[1]);
}

/* ---- a blocked username (auth/lockout.h) -------------------------------------------------------- */

/* Two wrong passwords for alice from 192.0.2.7 block the username (not the
 * address: its own limit is higher). */
static void block_alice(struct fx *f)
{
	char ir[512];
	f->limits.max_attempts_per_username = 2;
	f->ctx.ip = "192.0.2.7";
	for (int i = 0; i < 2; i++) {
		plain("", ALICE, "wrong", ir, sizeof(ir));
		start(f, SASL_MECH_PLAIN, ir);
		run(f);
		assert_int_equal(f->outcome, SASL_FAILED);
	}
}

/* One PLAIN login of alice from ip: the outcome, and how long it took (ms). */
static uint64_t timed_plain(struct fx *f, const char *ip, const char *password)
{
	char ir[512];
	uint64_t t0 = now_ms();
	f->ctx.ip = ip;
	plain("", ALICE, password, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	run(f);
	return now_ms() - t0;
}

static void test_blocked_user_known_network_and_delay(void **state)
{
	struct fx *f = *state;
	/* a delayed check waits 1.5 s first: longer than any Argon2 check here */
	set_delay(f, 750);
	const uint64_t hold = 1500;
	/* alice logged in from 203.0.113.5 before: its /24 is known */
	timed_plain(f, "203.0.113.5", PASSWORD);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	block_alice(f);

	/* from the known network, her password works without the delay */
	uint64_t ms = timed_plain(f, "203.0.113.77", PASSWORD);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_true(ms < hold);
	/* the block stays (a success forgets failures, not blocks): from
	 * elsewhere the check runs after the delay, and is not refused */
	int waits = f->waits;
	ms = timed_plain(f, "198.51.100.1", PASSWORD);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	assert_true(ms >= hold);
	assert_int_equal(f->waits, waits + 1);
	/* that network is known from now on */
	assert_true(timed_plain(f, "198.51.100.2", PASSWORD) < hold);
	assert_int_equal(f->outcome, SASL_SUCCESS);
	/* a wrong password from elsewhere waits the delay, then the failure's */
	ms = timed_plain(f, "192.0.2.99", "wrong");
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_true(ms >= hold + 750);
	/* one from a known network is a failure as usual */
	ms = timed_plain(f, "203.0.113.8", "wrong");
	assert_int_equal(f->outcome, SASL_FAILED);
	assert_true(ms >= 750 && ms < hold + 750);
}

static void test_blocked_user_masters_refused(void **state)
{
	struct fx *f = *state;
	char ir[512], err[256], hash[PASSWORD_HASH_MAX];
	f->ctx.master_login = true;
	assert_int_equal(password_hash("master-pw", hash, sizeof(hash)), 0);
	assert_int_equal(store_master_add(f->st, "admin", hash, err, sizeof(err)), STORE_OK);
	block_alice(f);
	/* a master acting as a blocked user: no relief (masters have no known networks) */
	f->ctx.ip = "198.51.100.1";
	plain(ALICE, "admin", "master-pw", ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->outcome, SASL_TEMPFAIL);
}

static void test_blocked_user_scram_waits(void **state)
{
	struct fx *f = *state;
	char bare[256], first[300], resp[1024];
	set_delay(f, 100);
	block_alice(f);
	/* from an unknown network, server-first comes only after the delay */
	f->ctx.ip = "198.51.100.1";
	int challenges = f->challenges;
	uint64_t t0 = now_ms();
	snprintf(bare, sizeof(bare), "n=%s,r=Cl1entN0nce", ALICE);
	snprintf(first, sizeof(first), "n,,%s", bare);
	b64(first, strlen(first), resp, sizeof(resp));
	start(f, SASL_MECH_SCRAM_SHA_256, resp);
	assert_int_equal(f->challenges, challenges);
	run_until(f, &f->challenges, challenges + 1);
	assert_true(now_ms() - t0 >= 200);
	sasl_server_free(f->x);
	f->x = NULL;
	/* a line before it ends the exchange, no proof looked at */
	int dones = f->dones;
	start(f, SASL_MECH_SCRAM_SHA_256, resp);
	step(f, "eA==");
	assert_int_equal(f->dones, dones + 1);
	assert_int_equal(f->outcome, SASL_MALFORMED);
	/* and the whole exchange, delayed, logs her in */
	f->free_in_done = true;
	scram_after_pause(f, ALICE, PASSWORD);
	step(f, "");
	assert_int_equal(f->outcome, SASL_SUCCESS);
}

/* ---- freeing at any step ---------------------------------------------------------------------- */

static void test_free_during_delay_and_check(void **state)
{
	struct fx *f = *state;
	char ir[512];
	set_delay(f, 5000);
	/* during the failure delay: the timer goes with it, done never comes */
	plain("bob@example.org", ALICE, "x", ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_true(sasl_server_waiting(f->x));
	sasl_server_free(f->x);
	f->x = NULL;
	/* during the password check: freed when the check ends, the hold released */
	plain("", ALICE, PASSWORD, ir, sizeof(ir));
	start(f, SASL_MECH_PLAIN, ir);
	assert_int_equal(f->holds, 1);
	sasl_server_free(f->x);
	f->x = NULL;
	run_until(f, &f->releases, 1);
	assert_int_equal(f->releases, 1);
	assert_int_equal(f->dones, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test_setup_teardown(test_plain_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_without_initial_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_failure_waits_the_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_authzid_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_logins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_master_login_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_and_cancelled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_outside_sasl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_tempfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_wrong_proof_and_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram_reservation_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_user_known_network_and_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_user_masters_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_user_scram_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_during_delay_and_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
