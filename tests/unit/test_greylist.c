/* Greylisting: the decision on a fake clock (first attempt deferred, too
 * early, in the window, another address of the /24 or /64, expiry,
 * remembering, a network let in after its passes, allow networks and
 * domains, opt-out, SPF pass), sender normalization, and the store's part
 * (schema step 8 from step 7, the cap, the sweeper). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_sql.h"
#include "core/cidr.h"
#include "core/util.h"
#include "filter/greylist.h"
#include "store/store.h"
#include "store/store_greylist.h"

#define T0 1700000000
#define MIN 60
#define HOUR 3600
#define DAY 86400

struct fixture {
	char dir[64];
	struct store *st;
	struct greylist_policy p;
	struct cidr nets[1];
	char *domains[1];
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	fx->st = store_tmp_open(fx->dir, sizeof(fx->dir), "greylist");
	assert_int_equal(cidr_parse("198.51.100.0/24", &fx->nets[0]), 0);
	fx->domains[0] = "trusted.example";
	fx->p = (struct greylist_policy){
		.enabled = true, .delay_s = 5 * MIN, .expire_s = DAY, .remember_s = 36 * DAY,
		.auto_allow = 5, .max_entries = 100000, .allow_nets = fx->nets, .nallow_nets = 1,
		.allow_domains = fx->domains, .nallow_domains = 1,
	};
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

static struct greylist_result check_rcpts(struct fixture *fx, const char *ip, const char *sender,
                                          const char *const *rcpts, size_t n, long long now)
{
	struct greylist_request rq = { .client_ip = ip, .sender = sender, .rcpts = rcpts,
		                       .nrcpts = n, .now = (time_t)now };
	struct greylist_result r;
	greylist_check(fx->st, &fx->p, &rq, &r);
	return r;
}

static struct greylist_result check(struct fixture *fx, const char *ip, const char *sender,
                                    const char *rcpt, long long now)
{
	const char *rcpts[] = { rcpt };
	return check_rcpts(fx, ip, sender, rcpts, 1, now);
}

static void test_first_attempt_then_window(void **state)
{
	struct fixture *fx = *state;
	struct greylist_result r = check(fx, "192.0.2.10", "alice@sender.example", "bob@local.test",
	                                 T0);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	assert_int_equal(r.code, 451);
	assert_string_equal(r.enh, "4.7.1");
	assert_int_equal(r.retry_after_s, 300);
	assert_non_null(strstr(r.text, "retry in 300 seconds"));
	assert_string_equal(r.reason, "new triplet");
	assert_string_equal(r.net, "192.0.2.0/24");
	/* too early: the wait left */
	r = check(fx, "192.0.2.10", "alice@sender.example", "bob@local.test", T0 + 120);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	assert_int_equal(r.retry_after_s, 180);
	assert_string_equal(r.reason, "retry too early");
	/* the early retry did not restart the clock: in the window from another
	 * address of the same /24 (large senders retry from another host) */
	r = check(fx, "192.0.2.200", "Alice@Sender.Example", "bob@local.test", T0 + 300);
	assert_int_equal(r.verdict, GREYLIST_PASS);
	/* remembered afterwards */
	r = check(fx, "192.0.2.10", "alice@sender.example", "bob@local.test", T0 + 20 * DAY);
	assert_int_equal(r.verdict, GREYLIST_PASS);
	assert_string_equal(r.reason, "passed");
	/* another network, sender or recipient is another triplet */
	assert_int_equal(check(fx, "192.0.3.10", "alice@sender.example", "bob@local.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
	assert_int_equal(check(fx, "192.0.2.10", "carol@sender.example", "bob@local.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
	assert_int_equal(check(fx, "192.0.2.10", "alice@sender.example", "dave@local.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
}

static void test_ipv6_network(void **state)
{
	struct fixture *fx = *state;
	struct greylist_result r = check(fx, "2001:db8:1:2::25", "a@s.example", "b@l.test", T0);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	assert_string_equal(r.net, "2001:db8:1:2::/64");
	assert_int_equal(check(fx, "2001:db8:1:2:ffff::1", "a@s.example", "b@l.test",
	                       T0 + 301).verdict, GREYLIST_PASS);
	/* the neighbouring /64 is another network */
	assert_int_equal(check(fx, "2001:db8:1:3::25", "a@s.example", "b@l.test",
	                       T0 + 302).verdict, GREYLIST_DEFER);
}

static void test_expiry_restarts(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "b@l.test", T0).verdict,
	                 GREYLIST_DEFER);
	/* no retry within expire (24 h): a new first attempt */
	struct greylist_result r = check(fx, "192.0.2.1", "a@s.example", "b@l.test", T0 + DAY + 1);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	assert_int_equal(r.retry_after_s, 300);
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "b@l.test",
	                       T0 + DAY + 301).verdict, GREYLIST_PASS);
	/* passed, then unused longer than remember (36 d): greylisted again */
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "b@l.test",
	                       T0 + DAY + 301 + 36 * DAY + 1).verdict, GREYLIST_DEFER);
}

static void test_remember_counts_from_last_use(void **state)
{
	struct fixture *fx = *state;
	check(fx, "192.0.2.1", "a@s.example", "b@l.test", T0);
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "b@l.test", T0 + 300).verdict,
	                 GREYLIST_PASS);
	long long t = T0 + 300;
	for (int i = 0; i < 3; i++) {
		t += 30 * DAY;
		assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "b@l.test", t).verdict,
		                 GREYLIST_PASS);
	}
}

static void test_whole_message_deferred_and_recorded(void **state)
{
	struct fixture *fx = *state;
	const char *one[] = { "b@l.test" };
	const char *both[] = { "b@l.test", "c@l.test" };
	check_rcpts(fx, "192.0.2.1", "a@s.example", one, 1, T0);
	assert_int_equal(check_rcpts(fx, "192.0.2.1", "a@s.example", one, 1, T0 + 300).verdict,
	                 GREYLIST_PASS);
	/* one new recipient defers the whole message, and is recorded now */
	struct greylist_result r = check_rcpts(fx, "192.0.2.1", "a@s.example", both, 2, T0 + 400);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	assert_int_equal(r.retry_after_s, 300);
	assert_int_equal(check_rcpts(fx, "192.0.2.1", "a@s.example", both, 2, T0 + 700).verdict,
	                 GREYLIST_PASS);
}

static void test_network_allowed_after_passes(void **state)
{
	struct fixture *fx = *state;
	char sender[64];
	for (int i = 0; i < 5; i++) {
		snprintf(sender, sizeof(sender), "user%c@s%d.example", 'a' + i, i);
		assert_int_equal(check(fx, "203.0.113.5", sender, "b@l.test", T0).verdict,
		                 GREYLIST_DEFER);
		assert_int_equal(check(fx, "203.0.113.5", sender, "b@l.test", T0 + 300).verdict,
		                 GREYLIST_PASS);
	}
	/* five passed triplets: every sender of the network gets in */
	struct greylist_result r = check(fx, "203.0.113.77", "new@other.example", "z@l.test",
	                                 T0 + 400);
	assert_int_equal(r.verdict, GREYLIST_PASS);
	assert_string_equal(r.reason, "network allowed after passes");
	/* but not the neighbouring network */
	assert_int_equal(check(fx, "203.0.114.77", "new@other.example", "z@l.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
	/* with auto_allow off, the network's passes do not count */
	fx->p.auto_allow = 0;
	assert_int_equal(check(fx, "203.0.113.77", "newer@other.example", "z@l.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
}

static void test_four_passes_are_not_enough(void **state)
{
	struct fixture *fx = *state;
	char sender[64];
	for (int i = 0; i < 4; i++) {
		snprintf(sender, sizeof(sender), "u%c@s.example", 'a' + i);
		check(fx, "203.0.113.5", sender, "b@l.test", T0);
		check(fx, "203.0.113.5", sender, "b@l.test", T0 + 300);
	}
	assert_int_equal(check(fx, "203.0.113.5", "new@other.example", "z@l.test",
	                       T0 + 400).verdict, GREYLIST_DEFER);
}

static void test_skips(void **state)
{
	struct fixture *fx = *state;
	struct greylist_result r = check(fx, "198.51.100.9", "a@s.example", "b@l.test", T0);
	assert_int_equal(r.verdict, GREYLIST_SKIP);
	assert_string_equal(r.reason, "allowed network");
	r = check(fx, "192.0.2.1", "a@trusted.example", "b@l.test", T0);
	assert_int_equal(r.verdict, GREYLIST_SKIP);
	r = check(fx, "192.0.2.1", "a@mail.Trusted.Example", "b@l.test", T0);
	assert_string_equal(r.reason, "allowed sender domain");
	/* a suffix that is not a subdomain is no match */
	assert_int_equal(check(fx, "192.0.2.1", "a@untrusted.example", "b@l.test", T0).verdict,
	                 GREYLIST_DEFER);
	const char *rcpts[] = { "b@l.test" };
	struct greylist_request rq = { .client_ip = "192.0.2.2", .sender = "a@s.example",
		                       .rcpts = rcpts, .nrcpts = 1, .spf_pass = true, .now = T0 };
	greylist_check(fx->st, &fx->p, &rq, &r);
	assert_int_equal(r.verdict, GREYLIST_SKIP);
	assert_string_equal(r.reason, "spf pass");
	/* nothing was recorded for skipped messages: the first without SPF is new */
	rq.spf_pass = false;
	rq.now = T0 + 400;
	greylist_check(fx->st, &fx->p, &rq, &r);
	assert_int_equal(r.verdict, GREYLIST_DEFER);
	fx->p.enabled = false;
	assert_int_equal(check(fx, "192.0.2.3", "x@s.example", "b@l.test", T0).verdict,
	                 GREYLIST_SKIP);
}

static void test_opt_out(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	assert_int_equal(store_domain_add(fx->st, "l.test", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "bob", "l.test", "x", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "carol", "l.test", "x", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_greylist_opted_out(fx->st, "bob@l.test"), 0);
	assert_int_equal(store_user_set_greylist(fx->st, "bob", "l.test", false, err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(store_user_set_greylist(fx->st, "nobody", "l.test", false, err,
	                                         sizeof(err)), STORE_NOT_FOUND);
	assert_int_equal(store_greylist_opted_out(fx->st, "BOB@L.TEST"), 1);
	struct greylist_result r = check(fx, "192.0.2.1", "a@s.example", "bob@l.test", T0);
	assert_int_equal(r.verdict, GREYLIST_SKIP);
	assert_string_equal(r.reason, "recipients opted out");
	/* an opted-out recipient beside one who did not: only carol counts */
	const char *both[] = { "bob@l.test", "carol@l.test" };
	assert_int_equal(check_rcpts(fx, "192.0.2.1", "a@s.example", both, 2, T0).verdict,
	                 GREYLIST_DEFER);
	assert_int_equal(store_user_set_greylist(fx->st, "bob", "l.test", true, err, sizeof(err)),
	                 STORE_OK);
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "bob@l.test", T0).verdict,
	                 GREYLIST_DEFER);
}

static void test_sender_key(void **state)
{
	(void)state;
	char out[300];
	assert_int_equal(greylist_sender_key("Bounce-12345-67@List.Example", out, sizeof(out)), 0);
	assert_string_equal(out, "bounce-#-#@list.example");
	assert_int_equal(greylist_sender_key("prvs=1234abcd=alice@example.com", out, sizeof(out)),
	                 0);
	assert_string_equal(out, "alice@example.com");
	/* digits of the domain stay */
	assert_int_equal(greylist_sender_key("a1@mx1.example", out, sizeof(out)), 0);
	assert_string_equal(out, "a#@mx1.example");
	assert_int_equal(greylist_sender_key("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(greylist_sender_key("abcdef@x", out, 5), -1);
	char net[64];
	assert_int_equal(greylist_network("::ffff:192.0.2.77", net, sizeof(net)), 0);
	assert_string_equal(net, "192.0.2.0/24");
	assert_int_equal(greylist_network("not-an-ip", net, sizeof(net)), -1);
}

static void test_per_message_senders_are_one(void **state)
{
	struct fixture *fx = *state;
	check(fx, "192.0.2.1", "bounce-1111@list.example", "b@l.test", T0);
	assert_int_equal(check(fx, "192.0.2.1", "bounce-2222@list.example", "b@l.test",
	                       T0 + 300).verdict, GREYLIST_PASS);
}

static void test_hostile_inputs(void **state)
{
	struct fixture *fx = *state;
	char longaddr[600];
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	/* a sender too long for a triplet is not greylisted (SMTP refuses it before) */
	assert_int_equal(check(fx, "192.0.2.1", longaddr, "b@l.test", T0).verdict, GREYLIST_SKIP);
	/* a recipient too long is left out; with none left, skipped */
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", longaddr, T0).verdict,
	                 GREYLIST_SKIP);
	assert_int_equal(check(fx, "garbage", "a@s.example", "b@l.test", T0).verdict,
	                 GREYLIST_SKIP);
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example'); DROP TABLE greylist; --",
	                       "b@l.test", T0).verdict, GREYLIST_DEFER);
	long long n = 0;
	assert_int_equal(store_greylist_count(fx->st, &n), STORE_OK);
	assert_int_equal(n, 1);
}

/* ---- the store: cap, sweeper, schema step ---- */

static void test_cap_drops_oldest_pending_first(void **state)
{
	struct fixture *fx = *state;
	fx->p.max_entries = 1000;
	/* one passed triplet, then a flood of new ones */
	check(fx, "192.0.2.1", "good@s.example", "b@l.test", T0);
	assert_int_equal(check(fx, "192.0.2.1", "good@s.example", "b@l.test", T0 + 300).verdict,
	                 GREYLIST_PASS);
	char rcpt[64];
	for (int i = 0; i < 1500; i++) {
		snprintf(rcpt, sizeof(rcpt), "r%c%c%c@flood.test", 'a' + i % 26, 'a' + i / 26 % 26,
		         'a' + i / 676);
		check(fx, "203.0.113.1", "spam@s.example", rcpt, T0 + 400 + i);
	}
	long long n = 0;
	assert_int_equal(store_greylist_count(fx->st, &n), STORE_OK);
	assert_int_equal(n, 1000);
	/* the passed one survived the flood, the oldest pending ones did not */
	assert_int_equal(check(fx, "192.0.2.1", "good@s.example", "b@l.test", T0 + 5000).verdict,
	                 GREYLIST_PASS);
	struct store_greylist_key k = { "203.0.113.0/24", "spam@s.example", "raaa@flood.test" };
	struct store_greylist_entry e;
	assert_int_equal(store_greylist_get(fx->st, &k, &e), STORE_NOT_FOUND);
	/* the newest is kept */
	snprintf(rcpt, sizeof(rcpt), "r%c%c%c@flood.test", 'a' + 1499 % 26, 'a' + 1499 / 26 % 26,
	         'a' + 1499 / 676);
	k.rcpt = rcpt;
	assert_int_equal(store_greylist_get(fx->st, &k, &e), STORE_OK);
}

static void test_sweeper(void **state)
{
	struct fixture *fx = *state;
	check(fx, "192.0.2.1", "pending@s.example", "b@l.test", T0);
	check(fx, "192.0.2.1", "passed@s.example", "b@l.test", T0);
	check(fx, "192.0.2.1", "passed@s.example", "b@l.test", T0 + 300);
	long long n = 0;
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + DAY, 100), 0);
	/* the pending one is stale after expire */
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + DAY + 1, 100), 1);
	assert_int_equal(store_greylist_count(fx->st, &n), STORE_OK);
	assert_int_equal(n, 1);
	/* the passed one after remember from its last use */
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + 300 + 36 * DAY, 100), 0);
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + 301 + 36 * DAY, 100), 1);
	assert_int_equal(store_greylist_count(fx->st, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* batches */
	char rcpt[32];
	for (int i = 0; i < 25; i++) {
		snprintf(rcpt, sizeof(rcpt), "r%c@l.test", 'a' + i);
		check(fx, "192.0.2.1", "x@s.example", rcpt, T0);
	}
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + 2 * DAY, 10), 10);
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + 2 * DAY, 10), 10);
	assert_int_equal(greylist_sweep(fx->st, &fx->p, T0 + 2 * DAY, 10), 5);
}

/* Step 8 on a database as step 7 left it: refused until migrated; the
 * users keep their rows and are greylisted (the default). */
static void test_migration_from_step_7(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	int from = 0, to = 0;
	assert_int_equal(store_domain_add(fx->st, "l.test", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_user_add(fx->st, "bob", "l.test", "x", err, sizeof(err)), STORE_OK);
	store_close(fx->st);
	fx->st = NULL;
	store_sql_exec(fx->dir, "DROP TABLE greylist; DROP TABLE greylist_size;"
	         "ALTER TABLE users DROP COLUMN greylist; ALTER TABLE users DROP COLUMN junk;"
	         "DROP TABLE auth_known_networks; DROP TABLE send_limits;"
	         "DROP TABLE bans; DROP TABLE ban_generation; PRAGMA user_version = 7;");
	assert_null(store_open(fx->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 7);
	assert_true(to >= 8);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_user_exists(fx->st, "bob", "l.test"), 1);
	assert_int_equal(store_greylist_opted_out(fx->st, "bob@l.test"), 0);
	assert_int_equal(check(fx, "192.0.2.1", "a@s.example", "bob@l.test", T0).verdict,
	                 GREYLIST_DEFER);
	long long n = 0;
	assert_int_equal(store_greylist_count(fx->st, &n), STORE_OK);
	assert_int_equal(n, 1);
}

/* The decision's cost on the store: measured, printed, and bounded loosely
 * (a sanitizer build on a shared machine). */
static void test_cost(void **state)
{
	struct fixture *fx = *state;
	char sender[64];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int n = 2000;
	for (int i = 0; i < n; i++) {
		snprintf(sender, sizeof(sender), "s%c%c%c@x.example", 'a' + i % 26, 'a' + i / 26 % 26,
		         'a' + i / 676);
		check(fx, "192.0.2.1", sender, "b@l.test", T0 + i);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double us = ((double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3) / n;
	printf("greylist_check: %.1f us per message (new triplet, one recipient)\n", us);
	assert_true(us < 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_attempt_then_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remember_counts_from_last_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whole_message_deferred_and_recorded, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_network_allowed_after_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_four_passes_are_not_enough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opt_out, setup, teardown),
		cmocka_unit_test(test_sender_key),
		cmocka_unit_test_setup_teardown(test_per_message_senders_are_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_drops_oldest_pending_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweeper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_step_7, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
