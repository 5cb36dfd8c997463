/* The slowloris rule's arithmetic: a whole window of owing before judging,
 * the window sliding in steps, time not owed never judged, and a slow but
 * honest client above the minimum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/minrate.h"

#define T0 1000000

static void test_dribbler_is_too_slow_after_a_window(void **state)
{
	(void)state;
	struct minrate m;
	minrate_init(&m, 60000, 1024, T0);
	minrate_owing(&m, T0, true);
	/* one octet a second */
	for (uint64_t t = T0; t < T0 + 60000; t += 1000) {
		minrate_received(&m, t, 1);
		assert_false(minrate_too_slow(&m, t));
	}
	assert_true(minrate_too_slow(&m, T0 + 60000));
}

static void test_honest_slow_client_passes(void **state)
{
	(void)state;
	struct minrate m;
	minrate_init(&m, 60000, 1024, T0);
	minrate_owing(&m, T0, true);
	/* 20 octets a second is 1200 a minute: above the minimum, for ten minutes */
	for (uint64_t t = T0; t < T0 + 600000; t += 1000) {
		minrate_received(&m, t, 20);
		assert_false(minrate_too_slow(&m, t));
	}
	/* a burst long ago does not excuse silence now: the window slides */
	minrate_received(&m, T0 + 600000, 100000);
	assert_false(minrate_too_slow(&m, T0 + 630000));
	assert_true(minrate_too_slow(&m, T0 + 600000 + 60000 + 5000));
}

static void test_only_time_owed_is_judged(void **state)
{
	(void)state;
	struct minrate m;
	minrate_init(&m, 60000, 1024, T0);
	/* silent between commands for an hour: not this rule's business */
	assert_false(minrate_too_slow(&m, T0 + 3600000));
	minrate_owing(&m, T0 + 3600000, true);
	assert_false(minrate_too_slow(&m, T0 + 3600000 + 59000));
	assert_true(minrate_too_slow(&m, T0 + 3600000 + 60000));
	/* owing ends and begins again: a new whole window before judging */
	minrate_owing(&m, T0 + 3700000, false);
	minrate_owing(&m, T0 + 3700001, true);
	assert_false(minrate_too_slow(&m, T0 + 3700001 + 30000));
}

static void test_off(void **state)
{
	(void)state;
	struct minrate m;
	minrate_init(&m, 60000, 0, T0);
	minrate_owing(&m, T0, true);
	assert_false(minrate_too_slow(&m, T0 + 3600000));
	assert_int_equal(minrate_step_ms(&m), 5000);
	minrate_init(&m, 5, 1, T0);
	assert_int_equal(minrate_step_ms(&m), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dribbler_is_too_slow_after_a_window),
		cmocka_unit_test(test_honest_slow_client_passes),
		cmocka_unit_test(test_only_time_owed_is_judged),
		cmocka_unit_test(test_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
