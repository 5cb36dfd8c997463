/* The send rate rule on a fake clock: the sender is the user when there is
 * one, else the client address (IPv6 by its /64); waits in seconds; a
 * user's own limits from the store over the configuration's; clients
 * without limits cost no memory; schema step 10 from step 9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_sql.h"
#include "core/config.h"
#include "core/util.h"
#include "net/sendlimit.h"
#include "store/store.h"
#include "store/store_sendlimit.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 7000000LL

struct fixture {
	char dir[64];
	struct store *st;
	struct config cfg;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char err[512];
	fx->st = store_tmp_open(fx->dir, sizeof(fx->dir), "sendlimit");
	assert_int_equal(store_domain_add(fx->st, "l.test", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "bob", "l.test", "x", err, sizeof(err)), STORE_OK);
	fx->cfg.rate_limit.user = (struct send_rates){ .limit = {
		[SEND_MESSAGES] = { 2, 10, 0 },
		[SEND_RECIPIENTS] = { 0, 5, 0 },
	} };
	fx->cfg.rate_limit.max_tracked = 1000;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	store_tmp_remove(fx->st, fx->dir);
	free(fx);
	return 0;
}

static const struct sendlimit_sender bob = { "bob@l.test", "192.0.2.1", "t" };

/* Two messages a minute: the third waits 30 s; a refused message is never
 * charged, so asking again changes nothing. */
static void test_user_messages(void **state)
{
	struct fixture *fx = *state;
	struct sendlimit *sl = sendlimit_new(&fx->cfg);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0), 0);
		sendlimit_charge(sl, fx->st, &bob, 1, T0);
	}
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0), 30);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0), 30);
	/* the address is the same user: case does not make another */
	struct sendlimit_sender upper = { "BOB@L.test", "198.51.100.7", "t" };
	assert_int_equal(sendlimit_wait(sl, fx->st, &upper, 0, T0), 30);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0 + 29 * SEC + 1), 1);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0 + 30 * SEC), 0);
	sendlimit_free(sl);
}

/* Five recipients an hour: a message may have five; the sixth recipient
 * waits 12 minutes (an hour / 5); once three are charged, two are left. */
static void test_user_recipients(void **state)
{
	struct fixture *fx = *state;
	struct sendlimit *sl = sendlimit_new(&fx->cfg);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 5, T0), 0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 6, T0), 12 * 60);
	sendlimit_charge(sl, fx->st, &bob, 3, T0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 2, T0), 0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 3, T0), 12 * 60);
	/* an accepted message over the limit (parallel sessions) is owed */
	sendlimit_charge(sl, fx->st, &bob, 4, T0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 1, T0), 36 * 60);
	sendlimit_free(sl);
}

/* postern user limits: the user's own over the defaults; none lifts one. */
static void test_own_limits(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	struct store_send_limits own;
	assert_int_equal(store_send_limits_set(fx->st, "bob", "l.test", SEND_MESSAGES,
	                                       SEND_PER_MINUTE, 1, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_send_limits_set(fx->st, "BOB", "L.TEST", SEND_RECIPIENTS,
	                                       SEND_PER_HOUR, 0, err, sizeof(err)), STORE_OK);
	assert_int_equal(store_send_limits_set(fx->st, "nobody", "l.test", SEND_MESSAGES,
	                                       SEND_PER_MINUTE, 1, err, sizeof(err)),
	                 STORE_NOT_FOUND);
	assert_int_equal(store_send_limits_get(fx->st, "Bob@l.test", &own), STORE_OK);
	assert_int_equal(own.limit[SEND_MESSAGES][SEND_PER_MINUTE], 1);
	assert_int_equal(own.limit[SEND_RECIPIENTS][SEND_PER_HOUR], 0);
	assert_int_equal(own.limit[SEND_MESSAGES][SEND_PER_HOUR], STORE_SEND_DEFAULT);

	struct sendlimit *sl = sendlimit_new(&fx->cfg);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 1000, T0), 0);    /* no recipient limit */
	sendlimit_charge(sl, fx->st, &bob, 1000, T0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 0, T0), 60);      /* one a minute */
	/* without the store (or before it is read) the defaults apply */
	assert_int_equal(sendlimit_wait(sl, NULL, &bob, 0, T0), 30);
	assert_true(sendlimit_wait(sl, NULL, &bob, 1, T0) > 0);
	/* back to the default */
	assert_int_equal(store_send_limits_set(fx->st, "bob", "l.test", SEND_MESSAGES,
	                                       SEND_PER_MINUTE, STORE_SEND_DEFAULT, err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(store_send_limits_get(fx->st, "bob@l.test", &own), STORE_OK);
	assert_int_equal(own.limit[SEND_MESSAGES][SEND_PER_MINUTE], STORE_SEND_DEFAULT);
	/* the user gone, its limits are gone too */
	assert_int_equal(store_user_del(fx->st, "bob", "l.test", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_send_limits_get(fx->st, "bob@l.test", &own), STORE_OK);
	assert_int_equal(own.limit[SEND_RECIPIENTS][SEND_PER_HOUR], STORE_SEND_DEFAULT);
	sendlimit_free(sl);
}

/* Without AUTH the client address is the sender: no limits by default;
 * with them, an IPv6 /64 is one client and the user's count is apart. */
static void test_client_addresses(void **state)
{
	struct fixture *fx = *state;
	struct sendlimit_sender a6 = { NULL, "2001:db8:1:2::a", "t" };
	struct sendlimit_sender b6 = { "", "2001:db8:1:2:ffff::1", "t" };
	struct sendlimit_sender other6 = { NULL, "2001:db8:1:3::a", "t" };
	struct sendlimit_sender v4 = { NULL, "192.0.2.1", "t" };
	struct sendlimit *sl = sendlimit_new(&fx->cfg);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(sendlimit_wait(sl, fx->st, &a6, 100, T0), 0);
		sendlimit_charge(sl, fx->st, &a6, 100, T0);
	}
	sendlimit_free(sl);

	fx->cfg.rate_limit.client.limit[SEND_MESSAGES][SEND_PER_HOUR] = 1;
	sl = sendlimit_new(&fx->cfg);
	sendlimit_charge(sl, fx->st, &a6, 1, T0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &a6, 1, T0), 3600);
	assert_int_equal(sendlimit_wait(sl, fx->st, &b6, 1, T0), 3600);
	assert_int_equal(sendlimit_wait(sl, fx->st, &other6, 1, T0), 0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &v4, 1, T0), 0);
	/* bob from that address counts as bob, not as the address */
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 1, T0), 0);
	sendlimit_charge(sl, fx->st, &v4, 1, T0);
	assert_int_equal(sendlimit_wait(sl, fx->st, &bob, 1, T0), 0);
	sendlimit_free(sl);
}

/* Step 11 on a database as step 10 left it: refused until migrated; the
 * users keep their rows and have no limits of their own. */
static void test_migration_from_step_10(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	int from = 0, to = 0;
	struct store_send_limits own;
	store_close(fx->st);
	fx->st = NULL;
	store_sql_exec(fx->dir, "DROP TABLE send_limits; DROP TABLE bans; DROP TABLE ban_generation; "
	               "PRAGMA user_version = 10;");
	assert_null(store_open(fx->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 10);
	assert_true(to >= 11);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_user_exists(fx->st, "bob", "l.test"), 1);
	assert_int_equal(store_send_limits_get(fx->st, "bob@l.test", &own), STORE_OK);
	assert_int_equal(own.limit[SEND_MESSAGES][SEND_PER_DAY], STORE_SEND_DEFAULT);
	assert_int_equal(store_send_limits_set(fx->st, "bob", "l.test", SEND_MESSAGES, SEND_PER_DAY,
	                                       7, err, sizeof(err)), STORE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_recipients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_step_10, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
