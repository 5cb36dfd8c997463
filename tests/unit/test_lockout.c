/* The login decision when a username is blocked (auth/lockout.h) and the
 * known networks it rests on (auth/known_networks.h): the decision over
 * given facts, then over a real store with a fake clock (the 30 days, the
 * windows, the per-user bound, the prefixes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/known_networks.h"
#include "auth/lockout.h"
#include "auth/ratelimit.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"
#include "store/store_auth.h"
#include "store_sql.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (86400 * SEC)
#define T0 1700000000000LL      /* the fake clock's start */
#define BOB "bob@example.org"

/* ---- the decision over facts --------------------------------------------------------- */

static struct lockout_facts user_facts(enum ratelimit_verdict v)
{
	return (struct lockout_facts){ .verdict = v, .relief = true };
}

static void test_decide(void **state)
{
	(void)state;
	struct auth_limits_cfg c;
	config_auth_limits_defaults(&c);
	struct lockout_facts f = user_facts(RL_ALLOW);
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_ALLOW);

	/* the address, or the username from it: refused, known network or not */
	f = user_facts(RL_BLOCKED);
	f.known_network = true;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);
	f = user_facts(RL_ERROR);
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);

	/* the username alone: checked now from a known network, later elsewhere */
	f = user_facts(RL_USER_BLOCKED);
	f.user_failures = 5;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_DELAY);
	f.known_network = true;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_KNOWN);
	/* ... and its checks in flight do not hold it up any more */
	f.user_pending = 40;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_KNOWN);
	/* but the address's limits still apply: its failures refuse, checks in flight wait */
	f.ip_failures = 10;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);
	f.ip_failures = 9;
	f.ip_pending = 1;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_BUSY);
	f.ip_pending = 0;
	f.pair_failures = 4;
	f.pair_pending = 1;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_BUSY);
	f.pair_failures = 5;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);

	/* a master's name: the plain block */
	f = user_facts(RL_USER_BLOCKED);
	f.relief = false;
	f.known_network = true;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);

	/* not blocked yet, but checks in flight would pass the username's limit: wait */
	f = user_facts(RL_ALLOW);
	f.user_failures = 3;
	f.user_pending = 2;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_BUSY);
	/* reached since the limiter looked (failures written meanwhile) */
	f.user_failures = 5;
	f.user_pending = 0;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_DELAY);
	f.relief = false;
	assert_int_equal(lockout_decide(&c, &f), LOCKOUT_REFUSE);

	/* the delay: twice the longest failure delay */
	assert_int_equal(lockout_delay_ms(&c), 32000);
	c.delay_max_ms = 0;
	assert_int_equal(lockout_delay_ms(&c), 2000);
}

/* ---- over a store, with a fake clock -------------------------------------------------- */

struct fx {
	char dir[64];
	struct store *st;
	struct ratelimit_backend b;
	struct auth_limits_cfg c;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct known_networks_cfg k;
	assert_int_equal(log_open("/dev/null", LOG_DEBUG), 0);
	f->st = store_tmp_open(f->dir, sizeof(f->dir), "lockout");
	f->b = ratelimit_store_backend(f->st);
	config_auth_limits_defaults(&f->c);
	config_known_networks_defaults(&k);
	known_networks_configure(&k);
	known_networks_cache_clear();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_tmp_remove(f->st, f->dir);
	free(f);
	return 0;
}

static enum lockout_decision decide_at(struct fx *f, const char *ip, const char *user, long long now)
{
	struct lockout_facts facts = { 0 };
	lockout_assess(&f->c, &f->b, ip, user, true, now, &facts);
	return lockout_decide(&f->c, &facts);
}

static void fail_from(struct fx *f, const char *ip, const char *user, int n, long long now)
{
	uint64_t delay;
	for (int i = 0; i < n; i++)
		ratelimit_failure(&f->c, &f->b, ip, user, "imap", "bad_password", now + i, &delay);
}

static void test_five_failures_from_one_address(void **state)
{
	struct fx *f = *state;
	long long now = T0;
	/* bob logged in from home (198.51.100.7) ten days ago */
	known_network_remember(&f->b, BOB, "198.51.100.7", now - 10 * DAY);
	fail_from(f, "192.0.2.2", BOB, 5, now);
	now += SEC;
	/* the guesser's address: refused (the username from there is blocked) */
	assert_int_equal(decide_at(f, "192.0.2.2", BOB, now), LOCKOUT_REFUSE);
	/* but another user from that address is not */
	assert_int_equal(decide_at(f, "192.0.2.2", "carol@example.org", now), LOCKOUT_ALLOW);
	/* bob at home, or elsewhere in that /24: at once */
	assert_int_equal(decide_at(f, "198.51.100.7", BOB, now), LOCKOUT_KNOWN);
	assert_int_equal(decide_at(f, "198.51.100.200", BOB, now), LOCKOUT_KNOWN);
	/* anywhere else: delayed, not refused */
	assert_int_equal(decide_at(f, "203.0.113.1", BOB, now), LOCKOUT_DELAY);
	/* the username's block ends with its window */
	assert_int_equal(decide_at(f, "203.0.113.1", BOB, T0 + 4 + 15 * MIN), LOCKOUT_ALLOW);
}

static void test_known_for_thirty_days(void **state)
{
	struct fx *f = *state;
	long long now = T0;
	known_network_remember(&f->b, BOB, "198.51.100.7", now);
	assert_true(known_network_check(&f->b, BOB, "198.51.100.9", now + 30 * DAY));
	assert_false(known_network_check(&f->b, BOB, "198.51.100.9", now + 30 * DAY + 1));
	/* the user's, in any case; no one else's */
	assert_true(known_network_check(&f->b, "BOB@example.org", "198.51.100.9", now + DAY));
	assert_false(known_network_check(&f->b, "carol@example.org", "198.51.100.9", now + DAY));
	assert_false(known_network_check(&f->b, BOB, "198.51.101.7", now + DAY));
	/* from the store alone (a restart: the cache is empty) */
	known_networks_cache_clear();
	assert_true(known_network_check(&f->b, BOB, "198.51.100.9", now + DAY));
	known_networks_cache_clear();
	assert_false(known_network_check(&f->b, BOB, "198.51.100.9", now + 31 * DAY));
	/* a login refreshes it; within the hour the store is not written again */
	known_network_remember(&f->b, BOB, "198.51.100.8", now + 20 * DAY);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "198.51.100.0/24"), now + 20 * DAY);
	known_network_remember(&f->b, BOB, "198.51.100.8", now + 20 * DAY + MIN);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "198.51.100.0/24"), now + 20 * DAY);
	known_network_remember(&f->b, BOB, "198.51.100.8", now + 21 * DAY);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "198.51.100.0/24"), now + 21 * DAY);
	assert_true(known_network_check(&f->b, BOB, "198.51.100.9", now + 50 * DAY));
	/* prune forgets those older than 30 days */
	known_network_remember(&f->b, BOB, "192.0.2.1", now);
	assert_int_equal(known_networks_prune(&f->b, now + 40 * DAY), 1);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "192.0.2.0/24"), 0);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "198.51.100.0/24"), now + 21 * DAY);
}

static void test_bounded_per_user(void **state)
{
	struct fx *f = *state;
	char ip[32];
	for (int i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.1", i);
		known_network_remember(&f->b, BOB, ip, T0 + i * SEC);
	}
	/* the 32 most recent stay: 10.0.8.0/24 .. 10.0.39.0/24 */
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "10.0.7.0/24"), 0);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "10.0.8.0/24"), T0 + 8 * SEC);
	assert_int_equal(store_auth_network_last_login(f->st, BOB, "10.0.39.0/24"), T0 + 39 * SEC);
	known_networks_cache_clear();
	assert_false(known_network_check(&f->b, BOB, "10.0.0.1", T0 + MIN));
	assert_true(known_network_check(&f->b, BOB, "10.0.20.1", T0 + MIN));
}

static void test_prefixes(void **state)
{
	(void)state;
	char net[KNOWN_NETWORK_MAX];
	struct known_networks_cfg k;
	config_known_networks_defaults(&k);
	known_networks_configure(&k);
	assert_int_equal(known_network_of("192.0.2.77", net), 0);
	assert_string_equal(net, "192.0.2.0/24");
	assert_int_equal(known_network_of("::ffff:192.0.2.77", net), 0);
	assert_string_equal(net, "192.0.2.0/24");
	assert_int_equal(known_network_of("2001:db8:1:2:aaaa::1", net), 0);
	assert_string_equal(net, "2001:db8:1:2::/64");
	assert_int_equal(known_network_of("::1", net), 0);
	assert_string_equal(net, "::/64");
	assert_int_equal(known_network_of("unix", net), -1);
	k.ipv4_prefix = 32;
	k.ipv6_prefix = 48;
	known_networks_configure(&k);
	assert_int_equal(known_network_of("127.0.0.3", net), 0);
	assert_string_equal(net, "127.0.0.3/32");
	assert_int_equal(known_network_of("2001:db8:1:2:aaaa::1", net), 0);
	assert_string_equal(net, "2001:db8:1::/48");
	k.ipv4_prefix = 20;
	known_networks_configure(&k);
	assert_int_equal(known_network_of("192.0.31.255", net), 0);
	assert_string_equal(net, "192.0.16.0/20");
	/* no address, no known network (a UNIX socket's client) */
	assert_false(known_network_check(&(struct ratelimit_backend){ 0 }, BOB, "unix", T0));
}

/* One client with a stale password does not get the other users of its
 * address refused: the username from it is blocked first. */
static void test_stale_password_spares_the_address(void **state)
{
	struct fx *f = *state;
	long long now = T0;
	for (int i = 0; i < 30; i++, now += 10 * SEC) {
		if (decide_at(f, "192.0.2.50", BOB, now) == LOCKOUT_REFUSE)
			continue;       /* refused before the check: nothing recorded */
		fail_from(f, "192.0.2.50", BOB, 1, now);
	}
	assert_int_equal(decide_at(f, "192.0.2.50", BOB, now), LOCKOUT_REFUSE);
	assert_int_equal(decide_at(f, "192.0.2.50", "carol@example.org", now), LOCKOUT_ALLOW);
	assert_int_equal(store_auth_count_failures(f->st, "ip", "192.0.2.50", 0), 5);
}

/* Step 10 on a database as step 9 left it: refused until migrated, then
 * networks are remembered. */
static void test_migration_from_step_9(void **state)
{
	struct fx *f = *state;
	char err[512];
	int from = 0, to = 0;
	store_close(f->st);
	f->st = NULL;
	store_sql_exec(f->dir, "DROP TABLE auth_known_networks; DROP TABLE send_limits; "
	               "DROP TABLE bans; DROP TABLE ban_generation; PRAGMA user_version = 9;");
	assert_null(store_open(f->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(store_migrate(f->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 9);
	assert_true(to >= 10);
	assert_non_null(f->st = store_open(f->dir, err, sizeof(err)));
	f->b = ratelimit_store_backend(f->st);
	known_network_remember(&f->b, BOB, "198.51.100.7", T0);
	known_networks_cache_clear();
	assert_true(known_network_check(&f->b, BOB, "198.51.100.8", T0 + DAY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test_setup_teardown(test_five_failures_from_one_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_for_thirty_days, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_per_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_password_spares_the_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_step_9, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
