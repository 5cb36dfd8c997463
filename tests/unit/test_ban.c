/* Bans on a fake clock: the threshold within the sliding window, the
 * doubling for repeat offenders up to the cap and its forgetting, the
 * allowlist and trusted proxies, IPv6 by /64, networks from the admin, the
 * bounded tracking, key parsing; and the store's part (schema step 10 from
 * step 11, the sync both ways, the generation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_sql.h"
#include "core/cidr.h"
#include "core/util.h"
#include "net/ban.h"
#include "store/store.h"
#include "store/store_ban.h"

#define T0 1700000000000LL
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

struct fixture {
	struct config_ban p;
	struct cidr allow[2];
	struct ban_table *t;
	char dir[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	assert_int_equal(cidr_parse("127.0.0.0/8", &fx->allow[0]), 0);
	assert_int_equal(cidr_parse("198.51.100.0/24", &fx->allow[1]), 0);
	fx->p = (struct config_ban){ .threshold = 5, .window_ms = 10 * MIN, .duration_ms = HOUR,
	                             .max_duration_ms = 24 * HOUR, .allow = fx->allow, .nallow = 2 };
	fx->t = ban_table_new(&fx->p);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	ban_table_free(fx->t);
	if (fx->st != NULL)
		store_tmp_remove(fx->st, fx->dir);
	free(fx);
	return 0;
}

static bool hit(struct fixture *fx, const char *ip, int n, long long now)
{
	bool banned = false;
	for (int i = 0; i < n; i++)
		banned = ban_violation_at(fx->t, ip, BAN_PROTOCOL_ERRORS, now) || banned;
	return banned;
}

static void test_threshold_in_window(void **state)
{
	struct fixture *fx = *state;
	assert_false(hit(fx, "192.0.2.1", 4, T0));
	assert_false(ban_check(fx->t, "192.0.2.1", T0));
	assert_true(ban_violation_at(fx->t, "192.0.2.1", BAN_RELAY, T0 + 1));
	assert_true(ban_check(fx->t, "192.0.2.1", T0 + 2));
	assert_false(ban_check(fx->t, "192.0.2.2", T0 + 2));
	struct ban_entry e;
	assert_true(ban_table_get(fx->t, "192.0.2.1", &e));
	assert_int_equal(e.until_ms, T0 + 1 + HOUR);
	assert_int_equal(e.offences, 1);
	assert_string_equal(e.reason, "relay_attempt");
	assert_string_equal(e.source, "auto");
	/* its expiry */
	assert_true(ban_check(fx->t, "192.0.2.1", T0 + HOUR));
	assert_false(ban_check(fx->t, "192.0.2.1", T0 + 1 + HOUR));
}

/* Violations spread wider than the window never add up to a ban. */
static void test_sliding_window(void **state)
{
	struct fixture *fx = *state;
	for (int i = 0; i < 20; i++)
		assert_false(hit(fx, "192.0.2.1", 1, T0 + i * 3 * MIN));
	/* 4 within the last 10 minutes, the 5th makes it */
	assert_false(hit(fx, "192.0.2.3", 4, T0));
	assert_false(hit(fx, "192.0.2.3", 1, T0 + 10 * MIN));   /* the first 4 have left */
	assert_false(hit(fx, "192.0.2.3", 3, T0 + 11 * MIN));
	assert_true(hit(fx, "192.0.2.3", 1, T0 + 12 * MIN));
}

static void test_doubling_up_to_the_cap(void **state)
{
	struct fixture *fx = *state;
	long long now = T0, expect[] = { HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR, 24 * HOUR,
	                                 24 * HOUR };
	struct ban_entry e;
	for (size_t i = 0; i < ARRAY_LEN(expect); i++) {
		assert_true(hit(fx, "192.0.2.1", 5, now));
		assert_true(ban_table_get(fx->t, "192.0.2.1", &e));
		assert_int_equal(e.until_ms - now, expect[i]);
		assert_int_equal(e.offences, (int)i + 1);
		/* banned: more violations change nothing */
		assert_false(hit(fx, "192.0.2.1", 5, now + 1));
		now = e.until_ms + HOUR;   /* an hour after it ends, it comes back */
	}
	/* a day after the last ban ended it is forgotten: a first offence again */
	now = e.until_ms + 24 * HOUR;
	assert_true(hit(fx, "192.0.2.1", 5, now));
	assert_true(ban_table_get(fx->t, "192.0.2.1", &e));
	assert_int_equal(e.offences, 1);
	assert_int_equal(e.until_ms - now, HOUR);
}

static void test_allowed_and_exempt(void **state)
{
	struct fixture *fx = *state;
	struct cidr proxy;
	assert_int_equal(cidr_parse("203.0.113.7", &proxy), 0);
	ban_table_exempt(fx->t, &proxy, 1);
	assert_false(hit(fx, "127.0.0.5", 50, T0));
	assert_false(hit(fx, "198.51.100.9", 50, T0));
	assert_false(hit(fx, "203.0.113.7", 50, T0));
	assert_false(hit(fx, "unix", 50, T0));
	assert_false(hit(fx, "", 50, T0));
	assert_int_equal(ban_table_tracked(fx->t), 0);
	assert_int_equal(ban_table_entries(fx->t), 0);
	/* an admin's network ban over an allowed address: the allowlist wins */
	struct ban_entry e = { .key = "198.51.100.0/23", .until_ms = T0 + HOUR, .created_ms = T0,
	                       .offences = 1, .reason = "cli", .source = "cli" };
	struct ban_map *m = ban_map_new();
	assert_true(ban_map_put(m, &e, false));
	ban_table_replace(fx->t, m);
	assert_false(ban_check(fx->t, "198.51.100.9", T0));
	assert_true(ban_check(fx->t, "198.51.101.9", T0));
	assert_false(ban_check(fx->t, "198.51.102.9", T0));
}

static void test_ipv6_by_64(void **state)
{
	struct fixture *fx = *state;
	assert_false(hit(fx, "2001:db8:1:2::1", 2, T0));
	assert_false(hit(fx, "2001:db8:1:2::2", 2, T0));
	assert_true(hit(fx, "2001:db8:1:2:aaaa::3", 1, T0));
	assert_true(ban_check(fx->t, "2001:db8:1:2:ffff::9", T0 + 1));
	assert_false(ban_check(fx->t, "2001:db8:1:3::1", T0 + 1));
	struct ban_entry e;
	assert_true(ban_table_get(fx->t, "2001:db8:1:2::/64", &e));
	/* an IPv4-mapped address is its IPv4 client */
	assert_true(hit(fx, "::ffff:192.0.2.77", 5, T0));
	assert_true(ban_check(fx->t, "192.0.2.77", T0 + 1));
}

static void test_tracking_is_bounded(void **state)
{
	struct fixture *fx = *state;
	char ip[32];
	for (int i = 0; i < BAN_MAX_TRACKED + 100; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		hit(fx, ip, 1, T0 + i);
	}
	assert_int_equal(ban_table_tracked(fx->t), BAN_MAX_TRACKED);
	/* the oldest were pushed out: 10.0.0.0 starts again from one */
	assert_false(hit(fx, "10.0.0.0", 4, T0 + 200000));
	/* a recent one still has its count */
	snprintf(ip, sizeof(ip), "10.0.%d.%d", (BAN_MAX_TRACKED + 99) >> 8 & 255,
	         (BAN_MAX_TRACKED + 99) & 255);
	assert_true(hit(fx, ip, 4, T0 + 200000));
}

static void test_key_parse(void **state)
{
	(void)state;
	char key[64], err[128];
	const struct { const char *in, *key; } ok[] = {
		{ "192.0.2.1", "192.0.2.1" }, { "192.0.2.1/32", "192.0.2.1" },
		{ "192.0.2.77/24", "192.0.2.0/24" }, { "10.0.0.0/8", "10.0.0.0/8" },
		{ "2001:db8::1", "2001:db8::/64" }, { "2001:DB8:0:0:1::/64", "2001:db8::/64" },
		{ "2001:db8::1/128", "2001:db8::1/128" }, { "2001:db8::/48", "2001:db8::/48" },
		{ "::1", "::1" }, { "::ffff:192.0.2.1", "192.0.2.1" },
	};
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		assert_int_equal(ban_key_parse(ok[i].in, key, sizeof(key), err, sizeof(err)), 0);
		assert_string_equal(key, ok[i].key);
	}
	const char *bad[] = { "", "x", "192.0.2.1/33", "0.0.0.0/0", "10.0.0.0/7", "::/0",
	                      "2001:db8::/15", "192.0.2.1/", "1.2.3.4 ", "192.0.2.1/-1" };
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		assert_int_equal(ban_key_parse(bad[i], key, sizeof(key), err, sizeof(err)), -1);
}

/* ---- the store --------------------------------------------------------------------- */

static void open_store(struct fixture *fx)
{
	fx->st = store_tmp_open(fx->dir, sizeof(fx->dir), "ban");
}

static int sync_now(struct fixture *fx, long long now)
{
	bool reloaded = false;
	assert_int_equal(ban_table_sync(fx->t, fx->st, now, &reloaded), 0);
	return reloaded;
}

static void count_row(void *arg, const struct store_ban *r)
{
	(void)r;
	(*(int *)arg)++;
}

static int rows(struct fixture *fx)
{
	int n = 0;
	long long g;
	assert_int_equal(store_ban_list(fx->st, count_row, &n, &g), STORE_OK);
	return n;
}

static void test_sync_both_ways(void **state)
{
	struct fixture *fx = *state;
	open_store(fx);
	long long now = ban_clock_ms();
	assert_true(sync_now(fx, now));            /* the first sync reads */
	assert_true(hit(fx, "192.0.2.1", 5, now));
	assert_false(sync_now(fx, now));           /* written; nobody else changed anything */
	assert_int_equal(rows(fx), 1);
	/* a second server (a restart) gets it from the store */
	struct ban_table *t2 = ban_table_new(&fx->p);
	bool reloaded;
	assert_int_equal(ban_table_sync(t2, fx->st, now, &reloaded), 0);
	assert_true(ban_check(t2, "192.0.2.1", now + 1));
	ban_table_free(t2);
	/* the CLI adds a network and removes the ban: read at the next sync */
	struct store_ban r = { .key = "203.0.113.0/24", .until_ms = now + HOUR, .created_ms = now,
	                       .offences = 1, .reason = "scanner", .source = "cli" };
	long long g;
	assert_int_equal(store_ban_put(fx->st, &r, 1, &g), STORE_OK);
	assert_int_equal(store_ban_del(fx->st, "192.0.2.1"), STORE_OK);
	assert_int_equal(store_ban_del(fx->st, "192.0.2.1"), STORE_NOT_FOUND);
	assert_true(ban_check(fx->t, "192.0.2.1", now + 1));
	assert_true(sync_now(fx, now));
	assert_false(ban_check(fx->t, "192.0.2.1", now + 1));
	assert_true(ban_check(fx->t, "203.0.113.99", now + 1));
	/* a ban made between a sync's write and its read survives the read */
	assert_true(hit(fx, "192.0.2.8", 5, now));
	assert_int_equal(store_ban_del(fx->st, "203.0.113.0/24"), STORE_OK);
	assert_true(sync_now(fx, now));
	assert_true(ban_check(fx->t, "192.0.2.8", now + 1));
	assert_false(ban_check(fx->t, "203.0.113.99", now + 1));
	assert_int_equal(rows(fx), 1);
	/* a re-ban of a remembered key replaces its row (an update counts once) */
	assert_true(hit(fx, "192.0.2.8", 5, now + 2 * HOUR));
	assert_false(sync_now(fx, now + 2 * HOUR));
	assert_int_equal(rows(fx), 1);
}

static void test_forgetting(void **state)
{
	struct fixture *fx = *state;
	open_store(fx);
	long long now = ban_clock_ms();
	sync_now(fx, now);
	assert_true(hit(fx, "192.0.2.1", 5, now - 30 * HOUR));
	assert_true(hit(fx, "192.0.2.2", 5, now));
	struct store_ban junk = { .key = "not an address", .until_ms = now + HOUR,
	                          .created_ms = now, .offences = 1, .reason = "", .source = "x" };
	long long g;
	assert_int_equal(store_ban_put(fx->st, &junk, 1, &g), STORE_OK);
	/* the forgetting runs at most once a minute: this sync is a minute on */
	sync_now(fx, now + MIN + 1);
	assert_int_equal(rows(fx), 2);                  /* 192.0.2.2 and the junk row */
	assert_int_equal(ban_table_entries(fx->t), 1);  /* the junk row was not taken */
	struct ban_entry e;
	assert_false(ban_table_get(fx->t, "192.0.2.1", &e));
}

/* Step 12 on a database as step 11 left it. */
static void test_migration_from_step_11(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	int from = 0, to = 0;
	open_store(fx);
	store_close(fx->st);
	fx->st = NULL;
	store_sql_exec(fx->dir, "DROP TABLE bans; DROP TABLE ban_generation; PRAGMA user_version = 11;");
	assert_null(store_open(fx->dir, err, sizeof(err)));
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 11);
	assert_true(to >= 12);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_true(sync_now(fx, ban_clock_ms()));
	assert_int_equal(rows(fx), 0);
}

/* The accept-time check's cost with many bans: measured, printed, bounded
 * loosely (a sanitizer build on a shared machine). */
static void test_check_cost(void **state)
{
	struct fixture *fx = *state;
	char ip[32];
	struct ban_map *m = ban_map_new();
	for (int i = 0; i < 50000; i++) {
		struct ban_entry e = { .until_ms = T0 + HOUR, .created_ms = T0, .offences = 1 };
		snprintf(e.key, sizeof(e.key), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		assert_true(ban_map_put(m, &e, false));
	}
	ban_table_replace(fx->t, m);
	struct timespec a, b;
	int n = 200000, banned = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 3, i >> 8 & 255, i & 255);
		banned += ban_check(fx->t, ip, T0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
	printf("ban_check: %.0f ns per accept with 50000 bans\n", ns);
	assert_true(banned > 0 && banned < n);
	assert_true(ns < 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threshold_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sliding_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doubling_up_to_the_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowed_and_exempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_by_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracking_is_bounded, setup, teardown),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test_setup_teardown(test_sync_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forgetting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_step_11, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_cost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
