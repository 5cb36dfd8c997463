/* Token buckets by key on a fake clock: a burst and the refill, asking
 * takes nothing, the longest window decides, debt and its bound, changed
 * limits, independent keys, the key bound (idle keys go first, busy ones
 * are forgiven and counted), hostile numbers, and parallel takers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>

#include <cmocka.h>

#include "net/rate_table.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 5000000LL

static const long long one[RATE_TABLE_SLOTS] = { 1, 1, 1, 1, 1, 1, 1, 1 };

static long long try1(struct rate_table *t, const char *key, const struct rate *r, size_t n,
                      long long now)
{
	return rate_table_try(t, key, r, one, n, now);
}

static void test_burst_then_refill(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[1] = { { 3, MIN } };
	for (int i = 0; i < 3; i++)
		assert_int_equal(try1(t, "a", r, 1, T0), 0);
	/* one more every 20 s */
	assert_int_equal(try1(t, "a", r, 1, T0), 20 * SEC);
	assert_int_equal(try1(t, "a", r, 1, T0 + 5 * SEC), 15 * SEC);
	assert_int_equal(try1(t, "a", r, 1, T0 + 20 * SEC - 1), 1);
	assert_int_equal(try1(t, "a", r, 1, T0 + 20 * SEC), 0);
	assert_int_equal(try1(t, "a", r, 1, T0 + 20 * SEC), 20 * SEC);
	/* a long pause refills to the burst and no further */
	for (int i = 0; i < 3; i++)
		assert_int_equal(try1(t, "a", r, 1, T0 + DAY), 0);
	assert_true(try1(t, "a", r, 1, T0 + DAY) > 0);
	rate_table_free(t);
}

static void test_wait_takes_nothing(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[1] = { { 2, MIN } };
	for (int i = 0; i < 100; i++)
		assert_int_equal(rate_table_wait(t, "a", r, one, 1, T0), 0);
	assert_int_equal(rate_table_size(t), 0);   /* asking adds no key */
	long long two[1] = { 2 }, three[1] = { 3 };
	assert_int_equal(rate_table_wait(t, "a", r, two, 1, T0), 0);
	/* more than the burst: the wait until the bucket would hold it */
	assert_int_equal(rate_table_wait(t, "a", r, three, 1, T0), 30 * SEC);
	rate_table_take(t, "a", r, one, 1, T0);
	assert_int_equal(rate_table_wait(t, "a", r, two, 1, T0), 30 * SEC);
	assert_int_equal(rate_table_size(t), 1);
	rate_table_free(t);
}

/* Per minute and per hour: whichever is empty decides, the longer wait wins. */
static void test_longest_wait_wins(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[2] = { { 10, MIN }, { 12, HOUR } };
	for (int i = 0; i < 10; i++)
		assert_int_equal(try1(t, "a", r, 2, T0), 0);
	assert_int_equal(try1(t, "a", r, 2, T0), 6 * SEC);         /* the minute's */
	assert_int_equal(try1(t, "a", r, 2, T0 + MIN), 0);
	assert_int_equal(try1(t, "a", r, 2, T0 + MIN), 0);
	/* the hour's 12 are gone: 5 minutes for the next (60 min / 12), less the
	 * minute passed */
	assert_int_equal(try1(t, "a", r, 2, T0 + MIN), 4 * MIN);
	rate_table_free(t);
}

static void test_debt_is_paid_back_and_bounded(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[1] = { { 2, MIN } };
	long long three[1] = { 3 }, hundred[1] = { 100 };
	rate_table_take(t, "a", r, three, 1, T0);       /* one over: 30 s of debt, 30 s to one */
	assert_int_equal(rate_table_wait(t, "a", r, one, 1, T0), 60 * SEC);
	rate_table_take(t, "b", r, hundred, 1, T0);     /* owes one window at most */
	assert_int_equal(rate_table_wait(t, "b", r, one, 1, T0), 90 * SEC);
	assert_int_equal(rate_table_wait(t, "b", r, one, 1, T0 + 90 * SEC), 0);
	rate_table_free(t);
}

static void test_changed_limits(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[1] = { { 100, HOUR } };
	long long ten[1] = { 10 };
	rate_table_take(t, "a", r, ten, 1, T0);
	/* lowered under what it holds: capped, so the new limit holds at once */
	r[0].limit = 5;
	assert_int_equal(rate_table_try(t, "a", r, (long long[]){ 5 }, 1, T0), 0);
	assert_int_equal(try1(t, "a", r, 1, T0), 12 * MIN);
	/* no limit: nothing waits; a limit again starts full */
	r[0].limit = 0;
	assert_int_equal(rate_table_try(t, "a", r, (long long[]){ 1000000 }, 1, T0), 0);
	r[0].limit = 2;
	assert_int_equal(try1(t, "a", r, 1, T0), 0);
	assert_int_equal(try1(t, "a", r, 1, T0), 0);
	assert_int_equal(try1(t, "a", r, 1, T0), 30 * MIN);
	/* another window is another bucket, full */
	r[0].window_ms = DAY;
	assert_int_equal(try1(t, "a", r, 1, T0), 0);
	rate_table_free(t);
}

static void test_keys_are_independent(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(1000);
	struct rate r[1] = { { 1, MIN } };
	char long_a[1000], long_b[1000];
	assert_int_equal(try1(t, "user:a@x", r, 1, T0), 0);
	assert_true(try1(t, "user:a@x", r, 1, T0) > 0);
	assert_int_equal(try1(t, "user:b@x", r, 1, T0), 0);
	assert_int_equal(try1(t, "ip:a@x", r, 1, T0), 0);
	/* keys are cut at RATE_TABLE_KEY_MAX: differing past it is the same key */
	memset(long_a, 'k', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	memcpy(long_b, long_a, sizeof(long_b));
	long_b[900] = 'z';
	assert_int_equal(try1(t, long_a, r, 1, T0), 0);
	assert_true(try1(t, long_b, r, 1, T0) > 0);
	rate_table_free(t);
}

/* 16 keys at most (one per shard), then 32: idle keys make room without
 * forgiving anyone; only busy keys pushed out are counted. */
static void test_bounded_keys(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(16);
	struct rate r[1] = { { 1, MIN } };
	char key[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ip:192.0.2.%d/%d", i % 250, i);
		assert_int_equal(try1(t, key, r, 1, T0 + i * MIN), 0);
		assert_true(rate_table_size(t) <= 16);
	}
	assert_int_equal(rate_table_forgiven(t), 0);   /* each key a minute later: all idle */
	rate_table_free(t);
	t = rate_table_new(32);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "busy:%d", i);
		assert_int_equal(try1(t, key, r, 1, T0 + DAY), 0);
	}
	assert_true(rate_table_size(t) <= 32);
	assert_true(rate_table_forgiven(t) >= 1000 - 32);
	/* and an idle key leaves on its own as others are charged */
	rate_table_free(t);
	t = rate_table_new(1000);
	assert_int_equal(try1(t, "old", r, 1, T0), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(try1(t, key, r, 1, T0 + HOUR), 0);
	}
	assert_true(rate_table_size(t) <= 200);
	rate_table_free(t);
}

static void test_hostile_numbers(void **state)
{
	(void)state;
	struct rate_table *t = rate_table_new(100);
	struct rate r[3] = { { LLONG_MAX, LLONG_MAX }, { 1, 0 }, { -5, -5 } };
	long long huge[3] = { LLONG_MAX, LLONG_MAX, LLONG_MAX };
	rate_table_take(t, "a", r, huge, 3, T0);
	assert_true(rate_table_wait(t, "a", r, huge, 3, T0) > 0);
	/* a clock that goes back refills nothing and breaks nothing */
	assert_true(rate_table_wait(t, "a", r, one, 3, 0) >= 0);
	assert_true(rate_table_wait(t, "a", r, one, 3, LLONG_MAX / 4) >= 0);
	/* more slots than there are: the first RATE_TABLE_SLOTS count */
	struct rate many[RATE_TABLE_SLOTS + 4];
	long long needs[RATE_TABLE_SLOTS + 4];
	for (size_t i = 0; i < RATE_TABLE_SLOTS + 4; i++) {
		many[i] = (struct rate){ 1, MIN };
		needs[i] = 1;
	}
	assert_int_equal(rate_table_try(t, "b", many, needs, RATE_TABLE_SLOTS + 4, T0), 0);
	assert_int_equal(rate_table_try(t, "", many, needs, RATE_TABLE_SLOTS + 4, T0), 0);
	rate_table_free(t);
}

struct racer {
	struct rate_table *t;
	int ok;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct rate rates[2] = { { 1000, DAY }, { 100000, DAY } };
	for (int i = 0; i < 2000; i++)
		if (rate_table_try(r->t, "shared", rates, one, 2, T0) == 0)
			r->ok++;
	return NULL;
}

/* Workers share the table: 8 threads asking 16000 times get exactly 1000. */
static void test_parallel_takers(void **state)
{
	(void)state;
	struct racer r[8];
	pthread_t th[8];
	struct rate_table *t = rate_table_new(1000);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct racer){ t, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	int total = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		total += r[i].ok;
	}
	assert_int_equal(total, 1000);
	rate_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_wait_takes_nothing),
		cmocka_unit_test(test_longest_wait_wins),
		cmocka_unit_test(test_debt_is_paid_back_and_bounded),
		cmocka_unit_test(test_changed_limits),
		cmocka_unit_test(test_keys_are_independent),
		cmocka_unit_test(test_bounded_keys),
		cmocka_unit_test(test_hostile_numbers),
		cmocka_unit_test(test_parallel_takers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
