/* The verified-credentials cache: what makes an entry match (user, stored
 * hash, password, process key), its lifetime on an injected clock, the size
 * bound with least-recently-used eviction, and use from several threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/cred_cache.h"

#define HASH_A "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
#define HASH_B "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNob3RoZXJoYQ"
#define T0 1000000ULL

struct mac {
	unsigned char b[CRED_CACHE_MAC_LEN];
};

static struct mac mac_of(const struct cred_cache *c, const char *user, const char *hash,
                         const char *password)
{
	struct mac m;
	assert_int_equal(cred_cache_mac(c, user, hash, password, m.b), 0);
	return m;
}

/* A successful login at now_ms, as login.c records it. */
static void remember(struct cred_cache *c, const char *user, const char *hash,
                     const char *password, uint64_t now_ms)
{
	struct mac m = mac_of(c, user, hash, password);
	cred_cache_remember(c, m.b, now_ms);
}

static bool hit(struct cred_cache *c, const char *user, const char *hash, const char *password,
                uint64_t now_ms)
{
	struct mac m = mac_of(c, user, hash, password);
	return cred_cache_lookup(c, m.b, now_ms);
}

/* ---- what matches ------------------------------------------------------------------------ */

static void test_hit_after_success(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, 100);
	assert_non_null(c);
	assert_false(hit(c, "alice@example.org", HASH_A, "secret", T0));   /* nothing yet */
	remember(c, "alice@example.org", HASH_A, "secret", T0);
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 1));
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 2));   /* and again */
	assert_int_equal(cred_cache_count(c), 1);
	cred_cache_free(c);
}

static void test_miss_for_another_password_or_user(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, 100);
	remember(c, "alice@example.org", HASH_A, "secret", T0);
	assert_false(hit(c, "alice@example.org", HASH_A, "secreT", T0));
	assert_false(hit(c, "alice@example.org", HASH_A, "secret ", T0));
	assert_false(hit(c, "alice@example.org", HASH_A, "", T0));
	assert_false(hit(c, "bob@example.org", HASH_A, "secret", T0));
	/* a miss does not spoil the entry */
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0));
	cred_cache_free(c);
}

static void test_miss_after_the_stored_hash_changed(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, 100);
	remember(c, "alice@example.org", HASH_A, "secret", T0);
	/* `postern user passwd` stored a new hash (a new salt, even for the same
	 * password): the old entry no longer matches, the new one is not there */
	assert_false(hit(c, "alice@example.org", HASH_B, "secret", T0));
	assert_false(hit(c, "alice@example.org", HASH_B, "new-password", T0));
	/* a deleted user has no stored hash to compute with at all; back to A */
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0));
	cred_cache_free(c);
}

static void test_fields_cannot_slide_into_each_other(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, 100);
	struct mac a = mac_of(c, "ab", "c", "d"), b = mac_of(c, "a", "bc", "d"),
	           d = mac_of(c, "a", "b", "cd"), e = mac_of(c, "ab", "c", "d");
	assert_memory_not_equal(a.b, b.b, CRED_CACHE_MAC_LEN);
	assert_memory_not_equal(b.b, d.b, CRED_CACHE_MAC_LEN);
	assert_memory_not_equal(a.b, d.b, CRED_CACHE_MAC_LEN);
	assert_memory_equal(a.b, e.b, CRED_CACHE_MAC_LEN);      /* deterministic in a process */
	cred_cache_free(c);
}

static void test_key_is_per_cache(void **state)
{
	(void)state;
	struct cred_cache *c1 = cred_cache_new(60000, 100), *c2 = cred_cache_new(60000, 100);
	struct mac m1 = mac_of(c1, "alice@example.org", HASH_A, "secret");
	struct mac m2 = mac_of(c2, "alice@example.org", HASH_A, "secret");
	/* two processes (two keys) disagree: an entry means nothing without its key */
	assert_memory_not_equal(m1.b, m2.b, CRED_CACHE_MAC_LEN);
	cred_cache_remember(c1, m1.b, T0);
	assert_true(cred_cache_lookup(c1, m1.b, T0));
	assert_false(cred_cache_lookup(c2, m1.b, T0));
	assert_false(hit(c2, "alice@example.org", HASH_A, "secret", T0));
	cred_cache_free(c1);
	cred_cache_free(c2);
}

/* ---- lifetime ------------------------------------------------------------------------------ */

static void test_entries_expire(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(100, 100);
	remember(c, "alice@example.org", HASH_A, "secret", T0);
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 50));
	/* a hit does not extend the lifetime: it counts from the slow check */
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 99));
	assert_false(hit(c, "alice@example.org", HASH_A, "secret", T0 + 100));
	assert_int_equal(cred_cache_count(c), 0);             /* dropped when found expired */
	/* proved again: a new lifetime */
	remember(c, "alice@example.org", HASH_A, "secret", T0 + 200);
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 299));
	remember(c, "alice@example.org", HASH_A, "secret", T0 + 250);   /* the same entry */
	assert_int_equal(cred_cache_count(c), 1);
	assert_true(hit(c, "alice@example.org", HASH_A, "secret", T0 + 349));
	assert_false(hit(c, "alice@example.org", HASH_A, "secret", T0 + 350));
	cred_cache_free(c);
}

static void test_ttl_zero_remembers_nothing(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(0, 100);
	assert_non_null(c);
	remember(c, "alice@example.org", HASH_A, "secret", T0);
	assert_false(hit(c, "alice@example.org", HASH_A, "secret", T0));
	assert_int_equal(cred_cache_count(c), 0);
	cred_cache_free(c);
	/* and no cache at all (login.c without login_cache_start) is the same */
	unsigned char m[CRED_CACHE_MAC_LEN] = { 0 };
	cred_cache_remember(NULL, m, T0);
	assert_false(cred_cache_lookup(NULL, m, T0));
	cred_cache_free(NULL);
}

/* ---- the size bound ------------------------------------------------------------------------ */

static void user_n(char *out, size_t len, int n)
{
	snprintf(out, len, "user%d@example.org", n);
}

static void test_size_bound_evicts_least_recently_used(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, 3);
	remember(c, "a@x", HASH_A, "pa", T0);
	remember(c, "b@x", HASH_A, "pb", T0 + 1);
	remember(c, "c@x", HASH_A, "pc", T0 + 2);
	assert_true(hit(c, "a@x", HASH_A, "pa", T0 + 3));   /* a is now the most recently used */
	remember(c, "d@x", HASH_A, "pd", T0 + 4);            /* full: b goes */
	assert_int_equal(cred_cache_count(c), 3);
	assert_false(hit(c, "b@x", HASH_A, "pb", T0 + 5));
	assert_true(hit(c, "a@x", HASH_A, "pa", T0 + 5));
	assert_true(hit(c, "c@x", HASH_A, "pc", T0 + 5));
	assert_true(hit(c, "d@x", HASH_A, "pd", T0 + 5));
	cred_cache_free(c);
}

static void test_expired_entries_make_room_first(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(100, 3);
	remember(c, "a@x", HASH_A, "pa", T0);
	remember(c, "b@x", HASH_A, "pb", T0 + 10);
	remember(c, "c@x", HASH_A, "pc", T0 + 90);
	remember(c, "d@x", HASH_A, "pd", T0 + 150);   /* a and b expired: both dropped */
	assert_int_equal(cred_cache_count(c), 2);
	assert_true(hit(c, "c@x", HASH_A, "pc", T0 + 151));
	assert_true(hit(c, "d@x", HASH_A, "pd", T0 + 151));
	cred_cache_free(c);
}

static void test_many_entries_stay_bounded(void **state)
{
	(void)state;
	enum { MAX = 1000, N = 5000 };
	char user[64];
	struct cred_cache *c = cred_cache_new(60000, MAX);
	for (int i = 0; i < N; i++) {
		user_n(user, sizeof(user), i);
		remember(c, user, HASH_A, "pw", T0 + (uint64_t)i);
		assert_true(cred_cache_count(c) <= MAX);
	}
	assert_int_equal(cred_cache_count(c), MAX);
	for (int i = 0; i < N; i++) {
		user_n(user, sizeof(user), i);
		assert_int_equal(hit(c, user, HASH_A, "pw", T0 + N), i >= N - MAX);
	}
	cred_cache_free(c);
}

/* ---- threads --------------------------------------------------------------------------------- */

enum { THREADS = 4, ROUNDS = 2000, USERS = 64 };

static void *hammer(void *arg)
{
	struct cred_cache *c = arg;
	char user[64];
	for (int i = 0; i < ROUNDS; i++) {
		user_n(user, sizeof(user), i % USERS);
		if (!hit(c, user, HASH_A, "pw", T0 + (uint64_t)i))
			remember(c, user, HASH_A, "pw", T0 + (uint64_t)i);
	}
	return NULL;
}

static void test_threads_share_one_cache(void **state)
{
	(void)state;
	struct cred_cache *c = cred_cache_new(60000, USERS / 2);   /* evictions all the time */
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(cred_cache_count(c), USERS / 2);
	cred_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_after_success),
		cmocka_unit_test(test_miss_for_another_password_or_user),
		cmocka_unit_test(test_miss_after_the_stored_hash_changed),
		cmocka_unit_test(test_fields_cannot_slide_into_each_other),
		cmocka_unit_test(test_key_is_per_cache),
		cmocka_unit_test(test_entries_expire),
		cmocka_unit_test(test_ttl_zero_remembers_nothing),
		cmocka_unit_test(test_size_bound_evicts_least_recently_used),
		cmocka_unit_test(test_expired_entries_make_room_first),
		cmocka_unit_test(test_many_entries_stay_bounded),
		cmocka_unit_test(test_threads_share_one_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
