/* Unit tests for src/mailauth/spf_record.c: recognising an SPF record, whether
 * it authorises our server (terms in order, qualifiers, ip4/ip6 networks,
 * mx/a forms), and "+all". */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mailauth/spf_record.h"

#define DOM "example.org"
#define HOST "mx.example.org"

static const char *const addrs[] = { "203.0.113.5", "2001:db8::25" };

static bool covers(const char *record)
{
	return spf_authorises(record, DOM, HOST, addrs, 2, NULL);
}

static void test_is_record(void **state)
{
	(void)state;
	assert_true(spf_is_record("v=spf1 mx -all"));
	assert_true(spf_is_record("V=SPF1 mx -all"));
	assert_true(spf_is_record("v=spf1"));
	assert_false(spf_is_record("v=spf10 mx"));
	assert_false(spf_is_record("v=spf1mx"));
	assert_false(spf_is_record(" v=spf1 mx"));
	assert_false(spf_is_record("v=DKIM1; p=abc"));
	assert_false(spf_is_record(""));
	assert_false(spf_is_record(NULL));
}

static void test_mx_and_a_authorise(void **state)
{
	(void)state;
	assert_true(covers("v=spf1 mx -all"));
	assert_true(covers("v=spf1 +mx -all"));
	assert_true(covers("v=spf1 MX -all"));
	assert_true(covers("v=spf1 mx/24 -all"));
	assert_true(covers("v=spf1 mx:example.org -all"));
	assert_true(covers("v=spf1 mx:EXAMPLE.org. -all"));
	assert_true(covers("v=spf1 a -all"));
	assert_true(covers("v=spf1 a:mx.example.org -all"));
	assert_true(covers("v=spf1 a:mx.example.org/28//64 -all"));
	assert_false(covers("v=spf1 mx:other.example -all"));
	assert_false(covers("v=spf1 a:mail.other.example -all"));
	assert_false(covers("v=spf1 -mx -all"));
	assert_false(covers("v=spf1 ~mx -all"));
	assert_false(covers("v=spf1 ?a -all"));
	/* unknown addresses: only mx and a can authorise */
	assert_true(spf_authorises("v=spf1 mx -all", DOM, HOST, NULL, 0, NULL));
	assert_false(spf_authorises("v=spf1 ip4:203.0.113.5 -all", DOM, HOST, NULL, 0, NULL));
}

static void test_ip_networks(void **state)
{
	(void)state;
	assert_true(covers("v=spf1 ip4:203.0.113.5 ip6:2001:db8::25 -all"));
	assert_true(covers("v=spf1 ip4:203.0.113.0/24 ip6:2001:db8::/32 ~all"));
	/* each address must be covered */
	assert_false(covers("v=spf1 ip4:203.0.113.5 -all"));
	assert_false(covers("v=spf1 ip6:2001:db8::/32 -all"));
	/* the family must match the mechanism */
	assert_false(covers("v=spf1 ip4:2001:db8::25 ip6:203.0.113.5 -all"));
	assert_false(covers("v=spf1 ip4:203.0.113.6 ip6:2001:db8::26 -all"));
	assert_false(covers("v=spf1 ip4:203.0.113.5/33 ip6:2001:db8::25 -all"));
	assert_false(covers("v=spf1 ip4: ip6: -all"));
	/* terms are read in order: the first match decides */
	assert_false(covers("v=spf1 -ip4:203.0.113.5 mx -all"));
	assert_true(covers("v=spf1 mx -ip4:203.0.113.5 -all"));
	assert_false(covers("v=spf1 -all mx"));
}

static void test_unknown_terms(void **state)
{
	(void)state;
	bool unknown = false;
	assert_false(spf_authorises("v=spf1 include:_spf.example.net -all", DOM, HOST, addrs, 2,
	                            &unknown));
	assert_true(unknown);
	unknown = false;
	assert_true(spf_authorises("v=spf1 mx include:_spf.example.net -all", DOM, HOST, addrs, 2,
	                           &unknown));
	assert_false(unknown);
	/* modifiers are skipped; redirect= is not followed */
	assert_false(covers("v=spf1 redirect=_spf.example.org"));
	assert_true(covers("v=spf1 exp=explain.example.org mx -all"));
	/* not an SPF record at all */
	assert_false(covers("mx -all"));
	assert_false(covers(""));
	/* overlong and odd terms do not crash or match */
	assert_false(covers("v=spf1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:x ip4:" "::::::::::::::" " -all"));
	assert_false(covers("v=spf1     -all   "));
}

static void test_passes_all(void **state)
{
	(void)state;
	assert_true(spf_passes_all("v=spf1 +all"));
	assert_true(spf_passes_all("v=spf1 mx all"));
	assert_true(spf_passes_all("v=spf1 ip4:10.0.0.0/8 ALL"));
	assert_false(spf_passes_all("v=spf1 mx -all"));
	assert_false(spf_passes_all("v=spf1 mx ~all"));
	assert_false(spf_passes_all("v=spf1 mx ?all"));
	assert_false(spf_passes_all("v=spf1 mx"));
	assert_false(spf_passes_all("v=spf1 -all +all"));   /* never reached */
	assert_false(spf_passes_all("v=spf1 mx all=1"));    /* a modifier, not the mechanism */
	assert_false(spf_passes_all("+all"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_mx_and_a_authorise),
		cmocka_unit_test(test_ip_networks),
		cmocka_unit_test(test_unknown_terms),
		cmocka_unit_test(test_passes_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
