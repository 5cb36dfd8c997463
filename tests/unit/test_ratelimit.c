/* The auth rate limiter: window arithmetic with a fake clock over an
 * in-memory backend, then the same decisions over the real SQLite store
 * (state that survives a restart, listing, pruning, fail closed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "auth/ratelimit.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"
#include "store/store_auth.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define T0 1700000000000LL /* a fixed wall-clock instant for the fake clock */

/* ---- an in-memory backend with fault injection ------------------------------ */

struct fake_failure {
	char kind[8];
	char key[RATELIMIT_KEY_MAX + 1];
	long long ts;
};

struct fake_block {
	char kind[8];
	char key[RATELIMIT_KEY_MAX + 1];
	long long until;
	char reason[32];
};

struct fake {
	struct fake_failure failures[1024];
	int nfailures;
	struct fake_block blocks[64];
	int nblocks;
	int calls;      /* backend calls so far */
	int fail_from;  /* calls numbered >= this fail (0 = never) */
};

static bool fake_fails(struct fake *f)
{
	f->calls++;
	return f->fail_from > 0 && f->calls >= f->fail_from;
}

static bool same(const char *kind, const char *key, const char *k2, const char *key2)
{
	return strcmp(kind, k2) == 0 && strcmp(key, key2) == 0;
}

static int fake_add_failure(void *arg, const char *kind, const char *key, long long ts)
{
	struct fake *f = arg;
	if (fake_fails(f))
		return STORE_ERROR;
	assert_true(f->nfailures < (int)ARRAY_LEN(f->failures));
	struct fake_failure *e = &f->failures[f->nfailures++];
	str_copy(e->kind, sizeof(e->kind), kind);
	str_copy(e->key, sizeof(e->key), key);
	e->ts = ts;
	return STORE_OK;
}

static int fake_count(void *arg, const char *kind, const char *key, long long since)
{
	struct fake *f = arg;
	int n = 0;
	if (fake_fails(f))
		return STORE_ERROR;
	for (int i = 0; i < f->nfailures; i++)
		n += same(f->failures[i].kind, f->failures[i].key, kind, key) && f->failures[i].ts >= since;
	return n;
}

static struct fake_block *fake_find_block(struct fake *f, const char *kind, const char *key)
{
	for (int i = 0; i < f->nblocks; i++)
		if (same(f->blocks[i].kind, f->blocks[i].key, kind, key))
			return &f->blocks[i];
	return NULL;
}

static int fake_block(void *arg, const char *kind, const char *key, long long until,
                      const char *reason)
{
	struct fake *f = arg;
	if (fake_fails(f))
		return STORE_ERROR;
	struct fake_block *bl = fake_find_block(f, kind, key);
	if (bl == NULL) {
		assert_true(f->nblocks < (int)ARRAY_LEN(f->blocks));
		bl = &f->blocks[f->nblocks++];
		str_copy(bl->kind, sizeof(bl->kind), kind);
		str_copy(bl->key, sizeof(bl->key), key);
		bl->until = 0;
	}
	if (until > bl->until) {
		bl->until = until;
		str_copy(bl->reason, sizeof(bl->reason), reason);
	}
	return STORE_OK;
}

static long long fake_blocked_until(void *arg, const char *kind, const char *key, long long now)
{
	struct fake *f = arg;
	if (fake_fails(f))
		return -1;
	struct fake_block *bl = fake_find_block(f, kind, key);
	return bl != NULL && bl->until > now ? bl->until : 0;
}

static int fake_drop_failures(struct fake *f, const char *kind, const char *key)
{
	int j = 0, dropped = 0;
	for (int i = 0; i < f->nfailures; i++) {
		if (same(f->failures[i].kind, f->failures[i].key, kind, key))
			dropped++;
		else
			f->failures[j++] = f->failures[i];
	}
	f->nfailures = j;
	return dropped;
}

static int fake_unblock(void *arg, const char *kind, const char *key)
{
	struct fake *f = arg;
	if (fake_fails(f))
		return STORE_ERROR;
	int found = fake_drop_failures(f, kind, key);
	struct fake_block *bl = fake_find_block(f, kind, key);
	if (bl != NULL) {
		*bl = f->blocks[--f->nblocks];
		found++;
	}
	return found ? STORE_OK : STORE_NOT_FOUND;
}

static int fake_clear_failures(void *arg, const char *kind, const char *key)
{
	struct fake *f = arg;
	if (fake_fails(f))
		return STORE_ERROR;
	fake_drop_failures(f, kind, key);
	return STORE_OK;
}

static int fake_list_blocks(void *arg, long long now, store_row_cb cb, void *cbarg)
{
	struct fake *f = arg;
	int n = 0;
	if (fake_fails(f))
		return STORE_ERROR;
	for (int i = 0; i < f->nblocks; i++) {
		char until[24];
		if (f->blocks[i].until <= now)
			continue;
		snprintf(until, sizeof(until), "%lld", f->blocks[i].until);
		const char *cols[4] = { f->blocks[i].kind, f->blocks[i].key, until, f->blocks[i].reason };
		cb(cbarg, cols);
		n++;
	}
	return n;
}

static int fake_prune(void *arg, long long before)
{
	struct fake *f = arg;
	int j = 0, n = 0;
	if (fake_fails(f))
		return STORE_ERROR;
	for (int i = 0; i < f->nfailures; i++) {
		if (f->failures[i].ts < before)
			n++;
		else
			f->failures[j++] = f->failures[i];
	}
	f->nfailures = j;
	return n;
}

static struct ratelimit_backend fake_backend(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	return (struct ratelimit_backend){
		.add_failure = fake_add_failure, .count_failures = fake_count, .block = fake_block,
		.blocked_until = fake_blocked_until, .unblock = fake_unblock,
		.clear_failures = fake_clear_failures, .list_blocks = fake_list_blocks,
		.prune = fake_prune, .arg = f,
	};
}

/* ---- helpers ------------------------------------------------------------------ */

static enum ratelimit_verdict fail_once(const struct auth_limits_cfg *c,
                                        const struct ratelimit_backend *b, const char *ip,
                                        const char *user, long long now)
{
	uint64_t delay = 0;
	return ratelimit_failure(c, b, ip, user, "smtp", "bad_password", now, &delay);
}

static enum ratelimit_verdict check(const struct auth_limits_cfg *c,
                                    const struct ratelimit_backend *b, const char *ip,
                                    const char *user, long long now)
{
	long long retry = -1;
	return ratelimit_check(c, b, ip, user, now, &retry);
}

static int quiet_logs(void **state)
{
	(void)state;
	/* the events themselves are checked in test_security_events */
	assert_int_equal(log_open("/dev/null", LOG_DEBUG), 0);
	return 0;
}

/* ---- the decisions over the fake backend ------------------------------------- */

static void test_user_blocked_on_fifth_failure(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	long long retry = 0, now = T0;
	config_auth_limits_defaults(&c);

	for (int i = 0; i < 4; i++, now += 10 * SEC) {
		assert_int_equal(check(&c, &b, "192.0.2.1", "bob@example.org", now), RL_ALLOW);
		assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob@example.org", now), RL_ALLOW);
	}
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob@example.org", now), RL_ALLOW);
	assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob@example.org", now), RL_BLOCKED);
	long long blocked_at = now;
	struct fake_block *bl = fake_find_block(&f, "user", "bob@example.org");
	assert_non_null(bl);
	assert_int_equal(bl->until, blocked_at + 15 * MIN);
	assert_string_equal(bl->reason, "user_limit");
	assert_null(fake_find_block(&f, "ip", "192.0.2.1"));
	/* all five came from one address: the username from there is blocked too */
	bl = fake_find_block(&f, "ip_user", "192.0.2.1 bob@example.org");
	assert_non_null(bl);
	assert_int_equal(bl->until, blocked_at + 15 * MIN);
	assert_string_equal(bl->reason, "ip_user_limit");

	/* the username is blocked from any IP and in any case (for the caller to
	 * decide: auth/lockout.h); others are not */
	now += SEC;
	assert_int_equal(ratelimit_check(&c, &b, "198.51.100.9", "Bob@Example.ORG", now, &retry),
	                 RL_USER_BLOCKED);
	assert_int_equal(retry, 15 * MIN - SEC);
	assert_int_equal(check(&c, &b, "192.0.2.1", "alice@example.org", now), RL_ALLOW);
	assert_int_equal(check(&c, &b, "192.0.2.1", NULL, now), RL_ALLOW);
	/* from the address of the failures it is a refusal, until the blocks end */
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob@example.org", blocked_at + 15 * MIN - 1),
	                 RL_BLOCKED);
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob@example.org", blocked_at + 15 * MIN),
	                 RL_ALLOW);
}

static void test_ip_blocked_on_tenth_failure(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	long long now = T0, retry = 0;
	char user[32];
	config_auth_limits_defaults(&c);

	/* a different username each time, 10 s apart: only the per-IP limit applies */
	for (int i = 0; i < 9; i++, now += 10 * SEC) {
		snprintf(user, sizeof(user), "u%d@example.org", i);
		assert_int_equal(fail_once(&c, &b, "2001:DB8::1", user, now), RL_ALLOW);
	}
	assert_int_equal(check(&c, &b, "2001:db8::1", NULL, now), RL_ALLOW);
	assert_int_equal(fail_once(&c, &b, "2001:db8:0::1", "u9@example.org", now), RL_BLOCKED);
	struct fake_block *bl = fake_find_block(&f, "ip", "2001:db8::/64");
	assert_non_null(bl);
	assert_string_equal(bl->reason, "ip_limit");
	assert_int_equal(bl->until, now + 15 * MIN);
	assert_int_equal(ratelimit_check(&c, &b, "2001:db8::1", "new@example.org", now + 1, &retry),
	                 RL_BLOCKED);
	assert_int_equal(retry, 15 * MIN - 1);
	/* another address of the same /64 is the same client; the next /64 is not */
	assert_int_equal(check(&c, &b, "2001:db8::2", "new@example.org", now + 1), RL_BLOCKED);
	assert_int_equal(check(&c, &b, "2001:db8:0:1::2", "new@example.org", now + 1), RL_ALLOW);
}

static void test_sliding_window(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	uint64_t delay;
	config_auth_limits_defaults(&c);

	for (int i = 0; i < 4; i++)
		assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob", T0 + i), RL_ALLOW);
	/* a failure exactly one window old has left the window */
	long long later = T0 + 15 * MIN + 3;
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob", later), RL_ALLOW);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob", later + i), RL_ALLOW);
	assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.1", "bob", "smtp", "bad_password",
	                                   later + 4, &delay), RL_BLOCKED);
	/* the IP's count slid as well: its 5 failures in the window give 2^4 s */
	assert_int_equal(delay, 16000);

	/* without a block record (a lowered limit, another node), the count alone refuses */
	fake_backend(&f);
	for (int i = 0; i < 5; i++)
		fake_add_failure(&f, "user", "carol", T0 + i * MIN);
	assert_int_equal(check(&c, &b, "192.0.2.1", "carol", T0 + 4 * MIN), RL_USER_BLOCKED);
	assert_int_equal(check(&c, &b, "192.0.2.1", "carol", T0 + 15 * MIN - 1), RL_USER_BLOCKED);
	/* the oldest slides out: 4 remain */
	assert_int_equal(check(&c, &b, "192.0.2.1", "carol", T0 + 15 * MIN), RL_ALLOW);
}

static void test_fast_block(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	char user[32];
	config_auth_limits_defaults(&c);
	c.max_attempts_per_ip = 100; /* so only the fast rule can block */

	/* 10 failures 6 s apart: within one minute */
	long long now = T0;
	for (int i = 0; i < 9; i++, now += 6 * SEC) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(fail_once(&c, &b, "192.0.2.7", user, now), RL_ALLOW);
	}
	assert_int_equal(fail_once(&c, &b, "192.0.2.7", "u9", now), RL_BLOCKED);
	struct fake_block *bl = fake_find_block(&f, "ip", "192.0.2.7");
	assert_non_null(bl);
	assert_string_equal(bl->reason, "ip_fast");
	assert_int_equal(bl->until, now + 5 * MIN);
	assert_int_equal(check(&c, &b, "192.0.2.7", NULL, now + 5 * MIN - 1), RL_BLOCKED);
	assert_int_equal(check(&c, &b, "192.0.2.7", NULL, now + 5 * MIN), RL_ALLOW);

	/* 10 failures spread over more than a minute do not trigger it */
	fake_backend(&f);
	now = T0;
	for (int i = 0; i < 10; i++, now += 7 * SEC) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(fail_once(&c, &b, "192.0.2.8", user, now), RL_ALLOW);
	}
	assert_null(fake_find_block(&f, "ip", "192.0.2.8"));

	/* with the defaults both IP rules apply at the 10th: the longer block wins */
	config_auth_limits_defaults(&c);
	fake_backend(&f);
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		fail_once(&c, &b, "192.0.2.9", user, T0 + i * SEC);
	}
	bl = fake_find_block(&f, "ip", "192.0.2.9");
	assert_non_null(bl);
	assert_string_equal(bl->reason, "ip_limit");
	assert_int_equal(bl->until, T0 + 9 * SEC + 15 * MIN);
}

static void test_progressive_delay(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	static const uint64_t expect[] = { 1000, 2000, 4000, 8000, 16000, 16000, 16000 };
	config_auth_limits_defaults(&c);

	for (size_t i = 0; i < ARRAY_LEN(expect); i++) {
		uint64_t delay = 0;
		ratelimit_failure(&c, &b, "192.0.2.1", NULL, "imap", "bad_password",
		                  T0 + (long long)i * 20 * SEC, &delay);
		assert_int_equal(delay, expect[i]);
	}
	/* no delay configured, and a huge cap: no overflow */
	c.delay_base_ms = 0;
	uint64_t delay = 1;
	ratelimit_failure(&c, &b, "192.0.2.2", NULL, "imap", "bad_password", T0, &delay);
	assert_int_equal(delay, 0);
	c.delay_base_ms = 1000;
	c.delay_max_ms = UINT64_MAX;
	c.max_attempts_per_ip = 1000;
	c.fast_block_threshold = 1000;
	for (int i = 0; i < 80; i++)
		ratelimit_failure(&c, &b, "192.0.2.3", NULL, "imap", "bad_password", T0 + i, &delay);
	assert_true(delay >= (1ULL << 62));
}

static void test_success_clears_user_not_ip(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	uint64_t delay;
	config_auth_limits_defaults(&c);

	for (int i = 0; i < 4; i++)
		fail_once(&c, &b, "192.0.2.1", "bob", T0 + i * SEC);
	ratelimit_success(&b, "192.0.2.1", "BOB", T0 + 5 * SEC);
	assert_int_equal(fake_count(&f, "user", "bob", 0), 0);
	assert_int_equal(fake_count(&f, "ip", "192.0.2.1", 0), 4);
	/* bob has a fresh allowance of 5; the IP's delay continues from its count */
	assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.1", "bob", "smtp", "bad_password",
	                                   T0 + 6 * SEC, &delay), RL_ALLOW);
	assert_int_equal(delay, 16000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fail_once(&c, &b, "192.0.2.2", "bob", T0 + (7 + i) * SEC), RL_ALLOW);
	assert_int_equal(fail_once(&c, &b, "192.0.2.2", "bob", T0 + 10 * SEC), RL_BLOCKED);
	/* without a username, success does nothing (and touches no state) */
	f.calls = 0;
	f.fail_from = 1;
	ratelimit_success(&b, "192.0.2.1", NULL, T0);
	assert_int_equal(f.calls, 0);
}

static void test_backend_error_fails_closed(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	uint64_t delay;
	config_auth_limits_defaults(&c);

	f.fail_from = 1;
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob", T0), RL_ERROR);
	assert_int_equal(check(&c, &b, "192.0.2.1", NULL, T0), RL_ERROR);
	delay = 0;
	assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.1", "bob", "smtp", "bad_password", T0,
	                                   &delay), RL_ERROR);
	assert_int_equal(delay, c.delay_max_ms);

	/* each backend call of check fails in turn: always RL_ERROR, never RL_ALLOW */
	for (int n = 1; n <= 4; n++) {
		fake_backend(&f);
		f.fail_from = n;
		assert_int_equal(check(&c, &b, "192.0.2.1", "bob", T0), RL_ERROR);
	}
	/* each call of failure in turn, up to the block writes of the 5th failure */
	for (int n = 1; n <= 7; n++) {
		fake_backend(&f);
		for (int i = 0; i < 4; i++)
			fail_once(&c, &b, "192.0.2.1", "bob", T0 + i);
		f.fail_from = f.calls + n;
		c.max_attempts_per_ip = 5; /* so both the IP and the user block are written */
		assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.1", "bob", "smtp", "bad_password",
		                                   T0 + 10, &delay), RL_ERROR);
		assert_int_equal(delay, c.delay_max_ms);
		c.max_attempts_per_ip = 10;
	}
	/* no IP at all is a caller's bug: refused, not allowed */
	fake_backend(&f);
	assert_int_equal(check(&c, &b, NULL, "bob", T0), RL_ERROR);
	assert_int_equal(fail_once(&c, &b, NULL, "bob", T0), RL_ERROR);
	/* the other entry points report errors too */
	f.fail_from = 1;
	assert_int_equal(ratelimit_unblock(&b, NULL, "bob", "test"), STORE_ERROR);
	assert_true(ratelimit_list_blocks(&b, T0, NULL, NULL) < 0);
	assert_true(ratelimit_prune(&c, &b, T0) < 0);
}

static void test_unblock(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	uint64_t delay;
	config_auth_limits_defaults(&c);

	for (int i = 0; i < 10; i++)
		fail_once(&c, &b, "::ffff:192.0.2.5", i < 5 ? "bob@example.org" : NULL, T0 + i * SEC);
	assert_int_equal(check(&c, &b, "192.0.2.5", NULL, T0 + 20 * SEC), RL_BLOCKED);
	assert_int_equal(check(&c, &b, "192.0.2.6", "bob@example.org", T0 + 20 * SEC),
	                 RL_USER_BLOCKED);

	/* an argument that parses as an address is an IP, in any of its spellings */
	assert_int_equal(ratelimit_unblock(&b, "auto", "::FFFF:192.0.2.5", "cli:uid=0"), STORE_OK);
	assert_int_equal(check(&c, &b, "192.0.2.5", NULL, T0 + 21 * SEC), RL_ALLOW);
	assert_int_equal(fake_count(&f, "ip", "192.0.2.5", 0), 0);
	/* the failures went too: the next one starts the delays again */
	assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.5", NULL, "smtp", "bad_password",
	                                   T0 + 22 * SEC, &delay), RL_ALLOW);
	assert_int_equal(delay, 1000);

	assert_int_equal(check(&c, &b, "192.0.2.6", "bob@example.org", T0 + 23 * SEC),
	                 RL_USER_BLOCKED);
	assert_int_equal(ratelimit_unblock(&b, NULL, "Bob@Example.org", "cli:uid=0"), STORE_OK);
	assert_int_equal(check(&c, &b, "192.0.2.6", "bob@example.org", T0 + 23 * SEC), RL_ALLOW);
	assert_int_equal(fake_count(&f, "user", "bob@example.org", 0), 0);

	assert_int_equal(ratelimit_unblock(&b, NULL, "bob@example.org", "cli"), STORE_NOT_FOUND);
	assert_int_equal(ratelimit_unblock(&b, "user", "192.0.2.77", "cli"), STORE_NOT_FOUND);
	assert_int_equal(ratelimit_unblock(&b, "subnet", "192.0.2.0/24", "cli"), STORE_ERROR);
	assert_int_equal(ratelimit_unblock(&b, NULL, "", "cli"), STORE_ERROR);

	/* the username from one address, as `postern auth blocked` lists it */
	for (int i = 0; i < 5; i++)
		fail_once(&c, &b, "192.0.2.8", "carol@example.org", T0 + (30 + i) * SEC);
	assert_non_null(fake_find_block(&f, "ip_user", "192.0.2.8 carol@example.org"));
	assert_int_equal(ratelimit_unblock(&b, NULL, "::ffff:192.0.2.8 Carol@example.org", "cli"),
	                 STORE_OK);
	assert_null(fake_find_block(&f, "ip_user", "192.0.2.8 carol@example.org"));
	assert_int_equal(fake_count(&f, "ip_user", "192.0.2.8 carol@example.org", 0), 0);
	assert_int_equal(ratelimit_unblock(&b, "ip_user", "no-address carol", "cli"), STORE_ERROR);
}

static void test_keys(void **state)
{
	(void)state;
	char k[RATELIMIT_KEY_MAX + 1], longname[RATELIMIT_KEY_MAX + 50];

	ratelimit_ip_key("192.0.2.1", k);
	assert_string_equal(k, "192.0.2.1");
	/* IPv6 by its /64: a client may take any address of its network */
	ratelimit_ip_key("2001:0DB8:0000::0001", k);
	assert_string_equal(k, "2001:db8::/64");
	ratelimit_ip_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k);
	assert_string_equal(k, "2001:db8:1:2::/64");
	ratelimit_ip_key("2001:db8:1:3::1", k);
	assert_string_equal(k, "2001:db8:1:3::/64");
	ratelimit_ip_key("::1", k);
	assert_string_equal(k, "::1");
	ratelimit_ip_key("::ffff:198.51.100.3", k);
	assert_string_equal(k, "198.51.100.3");
	ratelimit_ip_key("unix", k);
	assert_string_equal(k, "unix");
	ratelimit_user_key("Bob@EXAMPLE.org", k);
	assert_string_equal(k, "bob@example.org");
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ratelimit_user_key(longname, k);
	assert_int_equal(strlen(k), RATELIMIT_KEY_MAX);
	assert_int_equal(k[0], 'a');
}

struct rows {
	int n;
	char text[8][128];
};

static void collect_row(void *arg, const char *const *cols)
{
	struct rows *r = arg;
	if (r->n < 8)
		snprintf(r->text[r->n], sizeof(r->text[0]), "%s|%s|%s|%s", cols[0], cols[1], cols[2],
		         cols[3]);
	r->n++;
}

static void test_list_and_prune(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	struct rows rows = { 0 };
	config_auth_limits_defaults(&c);
	for (int i = 0; i < 5; i++)
		fail_once(&c, &b, "192.0.2.1", "bob", T0 + i);
	assert_int_equal(ratelimit_list_blocks(&b, T0 + 10, collect_row, &rows), 2);
	char expect[128];
	snprintf(expect, sizeof(expect), "ip_user|192.0.2.1 bob|%lld|ip_user_limit", T0 + 4 + 15 * MIN);
	assert_string_equal(rows.text[0], expect);
	snprintf(expect, sizeof(expect), "user|bob|%lld|user_limit", T0 + 4 + 15 * MIN);
	assert_string_equal(rows.text[1], expect);
	/* prune keeps the longest window's worth */
	assert_int_equal(ratelimit_prune(&c, &b, T0 + 15 * MIN), 0);
	/* 3 rows each of the IP, the user and the user from the IP */
	assert_int_equal(ratelimit_prune(&c, &b, T0 + 15 * MIN + 3), 9);
	assert_int_equal(f.nfailures, 6);
}

/* ---- the events in the log and the audit log ------------------------------------ */

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *buf = xcalloc(1, 65536);
	size_t n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void test_security_events(void **state)
{
	(void)state;
	char dir[] = "/tmp/postern-rl-log-XXXXXX", logp[128], auditp[128];
	struct auth_limits_cfg c;
	struct fake f;
	struct ratelimit_backend b = fake_backend(&f);
	config_auth_limits_defaults(&c);
	assert_non_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/postern.log", dir);
	snprintf(auditp, sizeof(auditp), "%s/audit.log", dir);
	assert_int_equal(log_open(logp, LOG_INFO), 0);
	assert_int_equal(log_open_audit(auditp), 0);

	for (int i = 0; i < 5; i++)
		fail_once(&c, &b, "192.0.2.1", "Bob\"\n@example.org", T0 + i);
	check(&c, &b, "192.0.2.1", "bob\"\n@example.org", T0 + 10);
	ratelimit_unblock(&b, NULL, "bob\"\n@example.org", "cli:uid=0");
	f.fail_from = 1;
	check(&c, &b, "192.0.2.1", "bob", T0 + 20);
	log_close();

	char *main_log = slurp(logp), *audit = slurp(auditp);
	assert_non_null(strstr(main_log, "\"event\":\"auth.failure\",\"ip\":\"192.0.2.1\","
	                                 "\"user\":\"bob\\\"\\n@example.org\",\"protocol\":\"smtp\","
	                                 "\"reason\":\"bad_password\""));
	assert_non_null(strstr(main_log, "\"event\":\"auth.blocked\",\"scope\":\"user\""));
	assert_non_null(strstr(main_log, "\"reason\":\"user_limit\""));
	assert_non_null(strstr(main_log, "\"event\":\"auth.ratelimited\""));
	assert_non_null(strstr(main_log, "\"event\":\"auth.unblocked\""));
	assert_non_null(strstr(main_log, "\"actor\":\"cli:uid=0\""));
	assert_non_null(strstr(main_log, "\"event\":\"auth.ratelimit_error\""));
	/* the security events, and only they, are copied to the audit log */
	assert_non_null(strstr(audit, "\"event\":\"auth.failure\""));
	assert_non_null(strstr(audit, "\"event\":\"auth.blocked\""));
	assert_non_null(strstr(audit, "\"event\":\"auth.ratelimited\""));
	assert_non_null(strstr(audit, "\"event\":\"auth.unblocked\""));
	assert_null(strstr(audit, "auth.ratelimit_error"));
	/* one JSON object per line: the newline in the username stayed escaped */
	for (char *line = main_log; *line != '\0';) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		assert_int_equal(line[0], '{');
		assert_int_equal(nl[-1], '}');
		line = nl + 1;
	}
	free(main_log);
	free(audit);
	unlink(logp);
	unlink(auditp);
	rmdir(dir);
	assert_int_equal(log_open("/dev/null", LOG_DEBUG), 0);
}

/* ---- the SQLite store ------------------------------------------------------------ */

struct store_fixture {
	char *dir;
	struct store *st;
};

static struct store *reopen(struct store_fixture *fx)
{
	char err[256];
	store_close(fx->st);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	return fx->st;
}

static int setup_store(void **state)
{
	struct store_fixture *fx = xcalloc(1, sizeof(*fx));
	quiet_logs(state);
	fx->dir = xstrdup("/tmp/postern-rl-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	reopen(fx);
	*state = fx;
	return 0;
}

static int teardown_store(void **state)
{
	struct store_fixture *fx = *state;
	char cmd[256];
	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx->dir);
	free(fx);
	return 0;
}

static void test_store_primitives(void **state)
{
	struct store_fixture *fx = *state;
	struct store *st = fx->st;
	struct rows rows = { 0 };

	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_auth_add_failure(st, "ip", "192.0.2.1", T0 + i * SEC), STORE_OK);
	assert_int_equal(store_auth_add_failure(st, "user", "192.0.2.1", T0), STORE_OK);
	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", T0), 3);
	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", T0 + 1), 2);
	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", T0 + 2 * SEC + 1), 0);

	/* upsert: a longer block replaces, a shorter one never cuts it */
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0), 0);
	assert_int_equal(store_auth_block(st, "ip", "192.0.2.1", T0 + 5 * MIN, "ip_fast"), STORE_OK);
	assert_int_equal(store_auth_block(st, "ip", "192.0.2.1", T0 + 15 * MIN, "ip_limit"), STORE_OK);
	assert_int_equal(store_auth_block(st, "ip", "192.0.2.1", T0 + 1 * MIN, "ip_fast"), STORE_OK);
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0), T0 + 15 * MIN);
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0 + 15 * MIN - 1),
	                 T0 + 15 * MIN);
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0 + 15 * MIN), 0);
	assert_int_equal(store_auth_blocked_until(st, "user", "192.0.2.1", T0), 0);
	assert_int_equal(store_auth_block(st, "user", "bob", T0 + 2 * MIN, "user_limit"), STORE_OK);

	assert_int_equal(store_auth_list_blocks(st, T0, collect_row, &rows), 2);
	char expect[128];
	snprintf(expect, sizeof(expect), "ip|192.0.2.1|%lld|ip_limit", T0 + 15 * MIN);
	assert_string_equal(rows.text[0], expect);
	snprintf(expect, sizeof(expect), "user|bob|%lld|user_limit", T0 + 2 * MIN);
	assert_string_equal(rows.text[1], expect);
	rows.n = 0;
	assert_int_equal(store_auth_list_blocks(st, T0 + 2 * MIN, collect_row, &rows), 1);

	/* clear: failures only, of that key only */
	assert_int_equal(store_auth_clear_failures(st, "ip", "192.0.2.1"), STORE_OK);
	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", 0), 0);
	assert_int_equal(store_auth_count_failures(st, "user", "192.0.2.1", 0), 1);
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0), T0 + 15 * MIN);
	assert_int_equal(store_auth_clear_failures(st, "ip", "nobody"), STORE_OK);

	/* unblock: the block and the failures; NOT_FOUND when neither was there */
	assert_int_equal(store_auth_unblock(st, "ip", "192.0.2.1"), STORE_OK);
	assert_int_equal(store_auth_blocked_until(st, "ip", "192.0.2.1", T0), 0);
	assert_int_equal(store_auth_unblock(st, "ip", "192.0.2.1"), STORE_NOT_FOUND);
	assert_int_equal(store_auth_unblock(st, "user", "192.0.2.1"), STORE_OK); /* failures only */
	assert_int_equal(store_auth_count_failures(st, "user", "192.0.2.1", 0), 0);
}

static void test_store_survives_restart(void **state)
{
	struct store_fixture *fx = *state;
	struct auth_limits_cfg c;
	struct ratelimit_backend b;
	struct rows rows = { 0 };
	long long retry = 0;
	config_auth_limits_defaults(&c);

	b = ratelimit_store_backend(fx->st);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob@example.org", T0 + i * SEC), RL_ALLOW);
	/* a restart between failures does not reset the count */
	b = ratelimit_store_backend(reopen(fx));
	assert_int_equal(fail_once(&c, &b, "192.0.2.1", "bob@example.org", T0 + 4 * SEC), RL_BLOCKED);
	/* nor the block */
	b = ratelimit_store_backend(reopen(fx));
	assert_int_equal(ratelimit_check(&c, &b, "192.0.2.9", "BOB@example.org", T0 + 5 * SEC, &retry),
	                 RL_USER_BLOCKED);
	assert_int_equal(retry, 15 * MIN - SEC);
	assert_int_equal(ratelimit_list_blocks(&b, T0 + 5 * SEC, collect_row, &rows), 2);
	char expect[128];
	snprintf(expect, sizeof(expect), "user|bob@example.org|%lld|user_limit", T0 + 4 * SEC + 15 * MIN);
	assert_string_equal(rows.text[1], expect);
	assert_non_null(strstr(rows.text[0], "ip_user|192.0.2.1 bob@example.org|"));

	/* ten from one IP: the IP is blocked too, and stays so */
	for (int i = 0; i < 5; i++)
		fail_once(&c, &b, "192.0.2.1", NULL, T0 + (5 + i) * SEC);
	b = ratelimit_store_backend(reopen(fx));
	assert_int_equal(check(&c, &b, "192.0.2.1", NULL, T0 + 11 * SEC), RL_BLOCKED);
	rows.n = 0;
	assert_int_equal(ratelimit_list_blocks(&b, T0 + 11 * SEC, collect_row, &rows), 3);
	assert_non_null(strstr(rows.text[0], "ip|192.0.2.1|"));

	/* success clears the username's failures in the store, not the IP's */
	assert_int_equal(ratelimit_unblock(&b, NULL, "bob@example.org", "test"), STORE_OK);
	fail_once(&c, &b, "192.0.2.2", "bob@example.org", T0 + 12 * SEC);
	ratelimit_success(&b, "192.0.2.2", "bob@example.org", T0 + 13 * SEC);
	assert_int_equal(store_auth_count_failures(fx->st, "user", "bob@example.org", 0), 0);
	assert_int_equal(store_auth_count_failures(fx->st, "ip", "192.0.2.2", 0), 1);

	/* unblock the IP from the CLI side, then the server sees it */
	assert_int_equal(ratelimit_unblock(&b, "ip", "192.0.2.1", "test"), STORE_OK);
	b = ratelimit_store_backend(reopen(fx));
	assert_int_equal(check(&c, &b, "192.0.2.1", NULL, T0 + 14 * SEC), RL_ALLOW);
}

static void test_store_prune(void **state)
{
	struct store_fixture *fx = *state;
	struct store *st = fx->st;
	struct auth_limits_cfg c;
	struct ratelimit_backend b = ratelimit_store_backend(st);
	config_auth_limits_defaults(&c);

	for (int i = 0; i < 2500; i++)
		assert_int_equal(store_auth_add_failure(st, "ip", "192.0.2.1", T0 + i), STORE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_auth_add_failure(st, "user", "bob", T0 + 20 * MIN), STORE_OK);
	assert_int_equal(store_auth_block(st, "ip", "192.0.2.1", T0 + 10 * MIN, "ip_limit"), STORE_OK);
	assert_int_equal(store_auth_block(st, "user", "bob", T0 + 40 * MIN, "user_limit"), STORE_OK);

	/* bounded batches: the caller comes back while a batch was full */
	long long now = T0 + 30 * MIN; /* the 15-minute window starts at T0 + 15 min */
	assert_int_equal(ratelimit_prune(&c, &b, now), STORE_AUTH_PRUNE_BATCH + 1); /* + the ip block */
	assert_int_equal(ratelimit_prune(&c, &b, now), STORE_AUTH_PRUNE_BATCH);
	assert_int_equal(ratelimit_prune(&c, &b, now), 500);
	assert_int_equal(ratelimit_prune(&c, &b, now), 0);
	assert_int_equal(store_auth_count_failures(st, "ip", "192.0.2.1", 0), 0);
	assert_int_equal(store_auth_count_failures(st, "user", "bob", 0), 3);
	assert_int_equal(store_auth_blocked_until(st, "user", "bob", now), T0 + 40 * MIN);
	struct rows rows = { 0 };
	assert_int_equal(store_auth_list_blocks(st, 0, collect_row, &rows), 1);
}

static void test_store_error_fails_closed(void **state)
{
	struct store_fixture *fx = *state;
	struct auth_limits_cfg c;
	struct ratelimit_backend b = ratelimit_store_backend(fx->st);
	char path[256];
	sqlite3 *db;
	uint64_t delay = 0;
	config_auth_limits_defaults(&c);

	/* the limiter's tables vanish under the server (a damaged or foreign database) */
	snprintf(path, sizeof(path), "%s/postern.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE auth_failures", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob", T0), RL_ERROR);
	assert_int_equal(ratelimit_failure(&c, &b, "192.0.2.1", "bob", "smtp", "bad_password", T0,
	                                   &delay), RL_ERROR);
	assert_int_equal(delay, c.delay_max_ms);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE auth_blocks", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(check(&c, &b, "192.0.2.1", "bob", T0), RL_ERROR);
	assert_int_equal(check(&c, &b, "192.0.2.1", NULL, T0), RL_ERROR);
	assert_int_equal(store_auth_count_failures(fx->st, "ip", "x", 0), STORE_ERROR);
	assert_int_equal(store_auth_blocked_until(fx->st, "ip", "x", 0), -1);
	assert_int_equal(store_auth_unblock(fx->st, "ip", "x"), STORE_ERROR);
	assert_int_equal(store_auth_list_blocks(fx->st, 0, collect_row, NULL), STORE_ERROR);
	assert_int_equal(store_auth_prune(fx->st, 0), STORE_ERROR);
	assert_int_equal(store_auth_block(fx->st, "ip", "x", 1, "r"), STORE_ERROR);
	assert_int_equal(store_auth_clear_failures(fx->st, "ip", "x"), STORE_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_user_blocked_on_fifth_failure, quiet_logs),
		cmocka_unit_test_setup(test_ip_blocked_on_tenth_failure, quiet_logs),
		cmocka_unit_test_setup(test_sliding_window, quiet_logs),
		cmocka_unit_test_setup(test_fast_block, quiet_logs),
		cmocka_unit_test_setup(test_progressive_delay, quiet_logs),
		cmocka_unit_test_setup(test_success_clears_user_not_ip, quiet_logs),
		cmocka_unit_test_setup(test_backend_error_fails_closed, quiet_logs),
		cmocka_unit_test_setup(test_unblock, quiet_logs),
		cmocka_unit_test(test_keys),
		cmocka_unit_test_setup(test_list_and_prune, quiet_logs),
		cmocka_unit_test(test_security_events),
		cmocka_unit_test_setup_teardown(test_store_primitives, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_store_survives_restart, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_store_prune, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_store_error_fails_closed, setup_store, teardown_store),
	};
	int rc = cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
	log_close();
	return rc;
}
