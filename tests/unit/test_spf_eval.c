/* Unit tests for src/mailauth/spf_eval.c on the in-memory DNS: the
 * identities (MAIL FROM, HELO for the null sender), the asynchronous
 * contract (parallel lookups, cancel, results known at once, a DNS that
 * cannot send), the RFC 7208 4.6.4 limits against hostile zones, and
 * explanations. The RFC 7208 suite itself runs through spf_zone_eval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/spf_eval.h"
#include "spf_fakedns.h"

struct got {
	int calls;
	enum spf_result result;
	char domain[300], identity[16], exp[600], reason[600];
	bool has_exp;
};

static void on_done(void *arg, const struct spf_outcome *o)
{
	struct got *g = arg;
	g->calls++;
	g->result = o->result;
	snprintf(g->domain, sizeof(g->domain), "%s", o->domain);
	snprintf(g->identity, sizeof(g->identity), "%s", o->identity);
	g->has_exp = o->explanation != NULL;
	snprintf(g->exp, sizeof(g->exp), "%s", o->explanation ? o->explanation : "");
	snprintf(g->reason, sizeof(g->reason), "%s", o->reason);
}

static struct got check(struct fakedns *d, const char *ip, const char *sender, const char *helo)
{
	struct got g = { 0 };
	struct spf_request req = { .ip = ip, .sender = sender, .helo = helo,
		                   .receiver = "mx.receiver.test", .now = 1 };
	(void)spf_check_start(fakedns_iface(d), &req, on_done, &g);
	fakedns_run(d);
	assert_int_equal(g.calls, 1);
	return g;
}

static void test_mailfrom_and_helo_identity(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "example.org", "TXT", "v=spf1 ip4:192.0.2.0/24 -all");
	fakedns_add(d, "mx.example.net", "TXT", "v=spf1 ip6:2001:db8::/32 ~all");
	struct got g = check(d, "192.0.2.7", "a@example.org", "mx.example.net");
	assert_int_equal(g.result, SPF_PASS);
	assert_string_equal(g.identity, "mailfrom");
	assert_string_equal(g.domain, "example.org");
	g = check(d, "198.51.100.1", "a@example.org", "mx.example.net");
	assert_int_equal(g.result, SPF_FAIL);
	assert_false(g.has_exp);
	/* the null sender: postmaster@HELO (RFC 7208 2.4) */
	g = check(d, "2001:db8::1", "", "mx.example.net");
	assert_int_equal(g.result, SPF_PASS);
	assert_string_equal(g.identity, "helo");
	assert_string_equal(g.domain, "mx.example.net");
	g = check(d, "192.0.2.7", NULL, "mx.example.net");
	assert_int_equal(g.result, SPF_SOFTFAIL);
	/* an IPv4-mapped IPv6 client is its IPv4 address */
	g = check(d, "::ffff:192.0.2.9", "a@example.org", "x.example");
	assert_int_equal(g.result, SPF_PASS);
	fakedns_free(d);
}

/* A result known without DNS comes before spf_check_start() returns. */
static void test_results_without_dns(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	struct got g = { 0 };
	struct spf_request req = { .ip = "192.0.2.1", .sender = "", .helo = "[192.0.2.1]" };
	assert_null(spf_check_start(fakedns_iface(d), &req, on_done, &g));
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.result, SPF_NONE);
	req = (struct spf_request){ .ip = "not-an-ip", .sender = "a@example.org" };
	assert_null(spf_check_start(fakedns_iface(d), &req, on_done, &g));
	assert_int_equal(g.result, SPF_PERMERROR);
	static const char *const bad[] = { "a@localhost", "a@", "a@ex..ample.org", "a@[1.2.3.4]" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req = (struct spf_request){ .ip = "192.0.2.1", .sender = bad[i], .helo = "h.example" };
		assert_null(spf_check_start(fakedns_iface(d), &req, on_done, &g));
		assert_int_equal(g.result, SPF_NONE);
	}
	assert_int_equal(fakedns_asked(d), 0);
	fakedns_free(d);
}

/* The addresses of an mx term's hosts are asked for together. */
static void test_mx_lookups_in_parallel(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "example.org", "TXT", "v=spf1 mx -all");
	for (int i = 0; i < 10; i++) {
		char host[64], addr[32];
		snprintf(host, sizeof(host), "mx%d.example.org", i);
		snprintf(addr, sizeof(addr), "192.0.2.%d", 10 + i);
		fakedns_add(d, "example.org", "MX", host);
		fakedns_add(d, host, "A", addr);
	}
	struct got g = check(d, "192.0.2.19", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_PASS);
	assert_int_equal(fakedns_max_pending(d), 10);
	fakedns_set_lifo(d, true);
	g = check(d, "192.0.2.10", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_PASS);
	g = check(d, "192.0.2.99", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_FAIL);
	/* an eleventh MX name is a permerror (RFC 7208 4.6.4) */
	fakedns_add(d, "example.org", "MX", "mx10.example.org");
	g = check(d, "192.0.2.10", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_PERMERROR);
	fakedns_free(d);
}

static void test_cancel(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "example.org", "TXT", "v=spf1 mx -all");
	fakedns_add(d, "example.org", "MX", "a.example.org");
	fakedns_add(d, "example.org", "MX", "b.example.org");
	struct got g = { 0 };
	struct spf_request req = { .ip = "192.0.2.1", .sender = "a@example.org", .helo = "h.example" };
	struct spf_check *c = spf_check_start(fakedns_iface(d), &req, on_done, &g);
	assert_non_null(c);
	assert_int_equal(fakedns_pending(d), 1);
	spf_check_cancel(c);
	assert_int_equal(fakedns_pending(d), 0);
	fakedns_run(d);
	assert_int_equal(g.calls, 0);
	spf_check_cancel(NULL);
	fakedns_free(d);
}

static int refusing_query(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg)
{
	(void)arg, (void)name, (void)t, (void)cb, (void)cbarg;
	return -1;
}

static void no_cancel(void *arg, int id)
{
	(void)arg, (void)id;
}

/* A DNS that cannot send: temperror, at once. */
static void test_dns_cannot_send(void **state)
{
	(void)state;
	struct spf_dns dns = { .query = refusing_query, .cancel = no_cancel };
	struct got g = { 0 };
	struct spf_request req = { .ip = "192.0.2.1", .sender = "a@example.org", .helo = "h.example" };
	assert_null(spf_check_start(&dns, &req, on_done, &g));
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.result, SPF_TEMPERROR);
}

/* Loops and fan-outs end at 10 DNS-querying terms, whatever the zone. */
static void test_term_limit_ends_loops(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "loop.example", "TXT", "v=spf1 include:loop.example -all");
	fakedns_add(d, "redir.example", "TXT", "v=spf1 redirect=%{d}");
	fakedns_add(d, "wide.example", "TXT",
	            "v=spf1 include:a.wide.example include:a.wide.example include:a.wide.example");
	fakedns_add(d, "a.wide.example", "TXT", "v=spf1 a a a a ?all");
	fakedns_add(d, "a.wide.example", "A", "198.51.100.1");
	struct got g = check(d, "192.0.2.1", "x@loop.example", "h.example");
	assert_int_equal(g.result, SPF_PERMERROR);
	size_t asked = fakedns_asked(d);
	assert_true(asked <= 11);
	g = check(d, "192.0.2.1", "x@redir.example", "h.example");
	assert_int_equal(g.result, SPF_PERMERROR);
	assert_true(fakedns_asked(d) - asked <= 11);
	g = check(d, "192.0.2.1", "x@wide.example", "h.example");
	assert_int_equal(g.result, SPF_PERMERROR);
	assert_non_null(strstr(g.reason, "DNS-querying terms"));
	fakedns_free(d);
}

static void test_void_limit(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "example.org", "TXT", "v=spf1 a:n1.example exists:n2.example mx:n3.example ?all");
	fakedns_add(d, "two.example", "TXT", "v=spf1 a:n1.example a:n2.example ?all");
	struct got g = check(d, "192.0.2.1", "x@example.org", "h.example");
	assert_int_equal(g.result, SPF_PERMERROR);
	assert_non_null(strstr(g.reason, "void"));
	g = check(d, "192.0.2.1", "x@two.example", "h.example");
	assert_int_equal(g.result, SPF_NEUTRAL);
	fakedns_free(d);
}

static void test_errors(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "tmp.example", "TIMEOUT", "");
	fakedns_add(d, "inc.example", "TXT", "v=spf1 include:tmp.example -all");
	fakedns_add(d, "two.example", "TXT", "v=spf1 -all");
	fakedns_add(d, "two.example", "TXT", "v=spf1 +all");
	fakedns_add(d, "bad.example", "TXT", "v=spf1 +all bogus");
	fakedns_add(d, "none.example", "TXT", "v=spf1 include:nothing.example +all");
	fakedns_add(d, "ptr.example", "TXT", "v=spf1 ptr ?all");
	fakedns_add(d, "1.2.0.192.in-addr.arpa", "TIMEOUT", "");
	assert_int_equal(check(d, "192.0.2.1", "x@tmp.example", "h.example").result, SPF_TEMPERROR);
	assert_int_equal(check(d, "192.0.2.1", "x@inc.example", "h.example").result, SPF_TEMPERROR);
	assert_int_equal(check(d, "192.0.2.1", "x@two.example", "h.example").result, SPF_PERMERROR);
	assert_int_equal(check(d, "192.0.2.1", "x@bad.example", "h.example").result, SPF_PERMERROR);
	assert_int_equal(check(d, "192.0.2.1", "x@none.example", "h.example").result, SPF_PERMERROR);
	assert_int_equal(check(d, "192.0.2.1", "x@nothing.example", "h.example").result, SPF_NONE);
	/* RFC 7208 5.5: a DNS error on the PTR lookup is no match */
	assert_int_equal(check(d, "192.0.2.1", "x@ptr.example", "h.example").result, SPF_NEUTRAL);
	fakedns_free(d);
}

static void test_explanation(void **state)
{
	(void)state;
	struct fakedns *d = fakedns_new();
	fakedns_add(d, "example.org", "TXT", "v=spf1 ~ip4:192.0.2.2 -all exp=why.%{d}");
	fakedns_add(d, "why.example.org", "TXT", "%{i} may not send for %{d} (%{r}, %{h})");
	struct got g = check(d, "192.0.2.1", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_FAIL);
	assert_true(g.has_exp);
	assert_string_equal(g.exp, "192.0.2.1 may not send for example.org (mx.receiver.test, h.example)");
	/* only a fail carries one */
	g = check(d, "192.0.2.2", "a@example.org", "h.example");
	assert_int_equal(g.result, SPF_SOFTFAIL);
	assert_false(g.has_exp);
	fakedns_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailfrom_and_helo_identity),
		cmocka_unit_test(test_results_without_dns),
		cmocka_unit_test(test_mx_lookups_in_parallel),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_dns_cannot_send),
		cmocka_unit_test(test_term_limit_ends_loops),
		cmocka_unit_test(test_void_limit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_explanation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
