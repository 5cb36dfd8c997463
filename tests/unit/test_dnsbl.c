/* DNS block- and allowlists on an in-memory DNS: query names (IPv4, IPv6
 * nibbles), listings and misses, weights and the threshold, allowlists,
 * return-code filters, the refused-resolver answers (errors, never
 * listings), tempfail, the timeout, hostile answers, allowed clients,
 * freeing with lookups in flight, and the zone syntax of the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/config_int.h"
#include "core/util.h"
#include "filter/dnsbl.h"
#include "spf_fakedns.h"

struct fixture {
	struct event_base *base;
	struct fakedns *dns;
	struct dnsbl_zone zones[8];
	size_t nzones;
	struct cidr allow[1];
	struct dnsbl_env env;
	struct dnsbl_result r;
	int calls;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	fx->base = event_base_new();
	fx->dns = fakedns_new();
	assert_int_equal(cidr_parse("10.0.0.0/8", &fx->allow[0]), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	for (size_t i = 0; i < fx->nzones; i++)
		free(fx->zones[i].name);
	fakedns_free(fx->dns);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void zone(struct fixture *fx, const char *spec, bool allowlist)
{
	char err[256];
	assert_int_equal(config_dnsbl_zone_parse(spec, allowlist, 10, &fx->zones[fx->nzones], err,
	                                         sizeof(err)), 0);
	fx->nzones++;
}

static void on_done(void *arg, const struct dnsbl_result *r)
{
	struct fixture *fx = arg;
	fx->r = *r;
	fx->calls++;
}

/* Runs a check of ip: the DNS answers, then the loop (for the zero timer). */
static struct dnsbl_check *start(struct fixture *fx, const char *ip)
{
	fx->env = (struct dnsbl_env){ .dns = fakedns_iface(fx->dns), .base = fx->base,
		                      .zones = fx->zones, .nzones = fx->nzones, .threshold = 10,
		                      .timeout_ms = 2000, .allow = fx->allow, .nallow = 1 };
	fx->calls = 0;
	struct dnsbl_check *c = dnsbl_check_start(&fx->env, ip, on_done, fx);
	assert_non_null(c);
	assert_int_equal(fx->calls, 0);         /* never inside start */
	return c;
}

static void run_check(struct fixture *fx, const char *ip)
{
	struct dnsbl_check *c = start(fx, ip);
	fakedns_run(fx->dns);
	if (fx->calls == 0)
		event_base_loop(fx->base, EVLOOP_ONCE);
	assert_int_equal(fx->calls, 1);
	dnsbl_check_free(c);
}

static void test_query_names(void **state)
{
	(void)state;
	char name[300];
	assert_int_equal(dnsbl_query_name("192.0.2.99", "zen.example", name, sizeof(name)), 0);
	assert_string_equal(name, "99.2.0.192.zen.example");
	assert_int_equal(dnsbl_query_name("::ffff:192.0.2.99", "zen.example", name, sizeof(name)),
	                 0);
	assert_string_equal(name, "99.2.0.192.zen.example");
	assert_int_equal(dnsbl_query_name("2001:db8::1", "bl.example", name, sizeof(name)), 0);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	                    ".bl.example");
	assert_int_equal(dnsbl_query_name("nonsense", "bl.example", name, sizeof(name)), -1);
	char longzone[240];
	memset(longzone, 'a', sizeof(longzone) - 1);
	longzone[sizeof(longzone) - 1] = '\0';
	assert_int_equal(dnsbl_query_name("2001:db8::1", longzone, name, sizeof(name)), -1);
}

static void test_listed_weights_threshold(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "zen.example=10", false);
	zone(fx, "spamcop.example=5", false);
	fakedns_add(fx->dns, "2.0.0.127.zen.example", "A", "127.0.0.2");
	fakedns_add(fx->dns, "2.0.0.127.spamcop.example", "A", "127.0.0.2");
	fakedns_add(fx->dns, "3.2.0.192.spamcop.example", "A", "127.0.0.2");
	run_check(fx, "127.0.0.2");
	assert_int_equal(fx->r.action, DNSBL_REJECT);
	assert_int_equal(fx->r.score, 15);
	assert_int_equal(fx->r.code, 554);
	assert_string_equal(fx->r.enh, "5.7.1");
	assert_non_null(strstr(fx->r.text, "zen.example,spamcop.example"));
	assert_string_equal(fx->r.listed, "zen.example=127.0.0.2,spamcop.example=127.0.0.2");
	assert_string_equal(fx->r.header, "X-Postern-DNSBL: score=15; listed=zen.example=127.0.0.2,"
	                    "spamcop.example=127.0.0.2; errors=none\n");
	/* under the threshold: Junk */
	run_check(fx, "192.0.2.3");
	assert_int_equal(fx->r.action, DNSBL_JUNK);
	assert_int_equal(fx->r.score, 5);
	/* not listed anywhere (NXDOMAIN) */
	run_check(fx, "192.0.2.4");
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
	assert_int_equal(fx->r.score, 0);
	assert_false(fx->r.skipped);
	assert_string_equal(fx->r.header, "X-Postern-DNSBL: score=0; listed=none; errors=none\n");
}

static void test_allowlist_subtracts(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "zen.example=10", false);
	zone(fx, "wl.example=5", true);
	fakedns_add(fx->dns, "5.2.0.192.zen.example", "A", "127.0.0.2");
	fakedns_add(fx->dns, "5.2.0.192.wl.example", "A", "127.0.10.2");
	run_check(fx, "192.0.2.5");
	assert_int_equal(fx->r.score, 5);
	assert_int_equal(fx->r.action, DNSBL_JUNK);
	assert_non_null(strstr(fx->r.listed, "wl.example=127.0.10.2"));
	/* only the allowlist: below 0, accepted */
	fakedns_add(fx->dns, "6.2.0.192.wl.example", "A", "127.0.10.2");
	run_check(fx, "192.0.2.6");
	assert_int_equal(fx->r.score, -5);
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
}

static void test_return_code_filter(void **state)
{
	struct fixture *fx = *state;
	/* only .2-.3 and .9 count; .10 (policy list) does not */
	zone(fx, "zen.example:127.0.0.2-127.0.0.3,127.0.0.9=10", false);
	fakedns_add(fx->dns, "7.2.0.192.zen.example", "A", "127.0.0.10");
	fakedns_add(fx->dns, "8.2.0.192.zen.example", "A", "127.0.0.10");
	fakedns_add(fx->dns, "8.2.0.192.zen.example", "A", "127.0.0.9");
	run_check(fx, "192.0.2.7");
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
	assert_string_equal(fx->r.listed, "");
	run_check(fx, "192.0.2.8");
	assert_int_equal(fx->r.action, DNSBL_REJECT);
	assert_string_equal(fx->r.listed, "zen.example=127.0.0.9");
}

/* Spamhaus's "your resolver is refused" answers are errors, never listings,
 * whatever the codes or weights. */
static void test_refused_resolver_is_error(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "zen.example=10", false);
	zone(fx, "other.example=10", false);
	fakedns_add(fx->dns, "1.2.0.192.zen.example", "A", "127.255.255.254");
	fakedns_add(fx->dns, "1.2.0.192.other.example", "A", "127.255.255.255");
	run_check(fx, "192.0.2.1");
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
	assert_int_equal(fx->r.score, 0);
	assert_string_equal(fx->r.listed, "");
	assert_string_equal(fx->r.errors, "zen.example=refused,other.example=refused");
	/* even beside a listing code in the same answer */
	struct spf_dns_answer ans = { .st = SPF_DNS_OK, .n = 2,
		                      .rr = (const char *const[]){ "127.0.0.2", "127.255.255.252" } };
	char code[16];
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_REFUSED);
	assert_string_equal(code, "127.255.255.252");
}

static void test_hostile_answers(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "bl.example=10", false);
	char code[16];
	/* a resolver that rewrites NXDOMAIN to an advertising server */
	struct spf_dns_answer ans = { .st = SPF_DNS_OK, .n = 1,
		                      .rr = (const char *const[]){ "198.51.100.80" } };
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_ERROR);
	ans.rr = (const char *const[]){ "not an address" };
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_ERROR);
	ans.rr = (const char *const[]){ "127.0.0.2" };
	ans.len = (const size_t[]){ 12 };       /* a NUL inside: "127.0.0.2\0xx" */
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_ERROR);
	ans.len = NULL;
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_LISTED);
	ans.n = 0;
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_MISS);
	ans.st = SPF_DNS_NXDOMAIN;
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_MISS);
	ans.st = SPF_DNS_TEMPFAIL;
	assert_int_equal(dnsbl_interpret(&fx->zones[0], &ans, code), DNSBL_ERROR);
	/* many records: only the first DNSBL_ANSWERS_MAX are looked at */
	const char *many[100];
	for (int i = 0; i < 100; i++)
		many[i] = i < 99 ? "127.0.0.20" : "127.0.0.2";
	struct dnsbl_zone z;
	char err[128];
	assert_int_equal(config_dnsbl_zone_parse("bl.example:127.0.0.2=10", false, 10, &z, err,
	                                         sizeof(err)), 0);
	struct spf_dns_answer big = { .st = SPF_DNS_OK, .n = 100, .rr = many };
	assert_int_equal(dnsbl_interpret(&z, &big, code), DNSBL_MISS);
	free(z.name);
}

static void test_tempfail_and_timeout(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "zen.example=10", false);
	zone(fx, "slow.example=10", false);
	fakedns_add(fx->dns, "1.2.0.192.zen.example", "TIMEOUT", "");
	fakedns_add(fx->dns, "1.2.0.192.slow.example", "A", "127.0.0.2");
	run_check(fx, "192.0.2.1");
	assert_string_equal(fx->r.errors, "zen.example=tempfail");
	assert_int_equal(fx->r.score, 10);
	/* nobody answers: the timeout ends the check, the lookups are cancelled */
	fx->env.timeout_ms = 50;
	fx->calls = 0;
	struct dnsbl_check *c = dnsbl_check_start(&fx->env, "192.0.2.1", on_done, fx);
	assert_int_equal(fakedns_pending(fx->dns), 2);
	event_base_dispatch(fx->base);
	assert_int_equal(fx->calls, 1);
	assert_int_equal(fakedns_pending(fx->dns), 0);
	assert_string_equal(fx->r.errors, "zen.example=timeout,slow.example=timeout");
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
	dnsbl_check_free(c);
	assert_int_equal(fakedns_run(fx->dns), 0);
}

static void test_skipped(void **state)
{
	struct fixture *fx = *state;
	/* no zones: nothing asked, done still comes later */
	run_check(fx, "192.0.2.1");
	assert_true(fx->r.skipped);
	assert_string_equal(fx->r.header, "");
	zone(fx, "zen.example=10", false);
	fakedns_add(fx->dns, "1.0.0.10.zen.example", "A", "127.0.0.2");
	size_t asked = fakedns_asked(fx->dns);
	run_check(fx, "10.0.0.1");              /* dnsbl.allow */
	assert_true(fx->r.skipped);
	assert_int_equal(fx->r.action, DNSBL_ACCEPT);
	assert_int_equal(fakedns_asked(fx->dns), asked);
	run_check(fx, "not-an-ip");
	assert_true(fx->r.skipped);
}

static void test_free_in_flight(void **state)
{
	struct fixture *fx = *state;
	zone(fx, "zen.example=10", false);
	zone(fx, "b.example=10", false);
	struct dnsbl_check *c = start(fx, "192.0.2.1");
	assert_int_equal(fakedns_pending(fx->dns), 2);
	dnsbl_check_free(c);
	assert_int_equal(fakedns_pending(fx->dns), 0);
	assert_int_equal(fakedns_run(fx->dns), 0);
	event_base_loop(fx->base, EVLOOP_NONBLOCK);
	assert_int_equal(fx->calls, 0);
}

static void test_zone_syntax(void **state)
{
	(void)state;
	struct dnsbl_zone z;
	char err[256];
	assert_int_equal(config_dnsbl_zone_parse("Zen.Spamhaus.ORG.", false, 10, &z, err,
	                                         sizeof(err)), 0);
	assert_string_equal(z.name, "zen.spamhaus.org");
	assert_int_equal(z.weight, 10);
	assert_int_equal(z.ncodes, 0);
	free(z.name);
	assert_int_equal(config_dnsbl_zone_parse("list.dnswl.example=-3", true, 10, &z, err,
	                                         sizeof(err)), 0);
	assert_int_equal(z.weight, -3);
	free(z.name);
	assert_int_equal(config_dnsbl_zone_parse("wl.example", true, 10, &z, err, sizeof(err)), 0);
	assert_int_equal(z.weight, -10);
	free(z.name);
	assert_int_equal(config_dnsbl_zone_parse("b.example:127.0.0.2,127.0.0.4-127.0.0.7=5", false,
	                                         10, &z, err, sizeof(err)), 0);
	assert_int_equal(z.ncodes, 2);
	assert_int_equal(z.code_lo[1], 0x7f000004u);
	assert_int_equal(z.code_hi[1], 0x7f000007u);
	free(z.name);
	const char *bad[] = { "", "=5", "bad_zone!.example", "b.example=0", "b.example=1001",
		              "b.example=x", "b.example:", "b.example:127.0.0.9-127.0.0.2",
		              "b.example:1.2.3=5", "b.example:127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,"
		              "127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9", NULL };
	for (const char **p = bad; *p; p++) {
		assert_int_equal(config_dnsbl_zone_parse(*p, false, 10, &z, err, sizeof(err)), -1);
		assert_null(z.name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_names),
		cmocka_unit_test_setup_teardown(test_listed_weights_threshold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlist_subtracts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_return_code_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_resolver_is_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
		cmocka_unit_test(test_zone_syntax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
