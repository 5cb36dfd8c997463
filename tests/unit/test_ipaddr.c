/* Unit tests for src/core/ipaddr.c: which addresses count as the server's
 * public ones (global vs wildcard, loopback, private, link-local...), reverse
 * names and canonical text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/ipaddr.h"

static void test_scopes_v4(void **state)
{
	(void)state;
	assert_int_equal(ip_scope_of("0.0.0.0"), IP_SCOPE_UNSPECIFIED);
	assert_int_equal(ip_scope_of("127.0.0.1"), IP_SCOPE_LOOPBACK);
	assert_int_equal(ip_scope_of("127.255.0.9"), IP_SCOPE_LOOPBACK);
	assert_int_equal(ip_scope_of("10.1.2.3"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("172.16.0.1"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("172.31.255.255"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("172.32.0.1"), IP_SCOPE_GLOBAL);
	assert_int_equal(ip_scope_of("172.15.0.1"), IP_SCOPE_GLOBAL);
	assert_int_equal(ip_scope_of("192.168.0.1"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("100.64.0.1"), IP_SCOPE_PRIVATE);   /* RFC 6598 */
	assert_int_equal(ip_scope_of("100.128.0.1"), IP_SCOPE_GLOBAL);
	assert_int_equal(ip_scope_of("169.254.1.1"), IP_SCOPE_LINK_LOCAL);
	assert_int_equal(ip_scope_of("224.0.0.1"), IP_SCOPE_MULTICAST);
	assert_int_equal(ip_scope_of("255.255.255.255"), IP_SCOPE_RESERVED);
	assert_int_equal(ip_scope_of("0.1.2.3"), IP_SCOPE_RESERVED);
	assert_int_equal(ip_scope_of("8.8.8.8"), IP_SCOPE_GLOBAL);
	/* documentation ranges stand for public servers in examples and tests */
	assert_true(ip_is_global("203.0.113.5"));
	assert_true(ip_is_global("198.51.100.7"));
	assert_true(ip_is_global("192.0.2.1"));
}

static void test_scopes_v6(void **state)
{
	(void)state;
	assert_int_equal(ip_scope_of("::"), IP_SCOPE_UNSPECIFIED);
	assert_int_equal(ip_scope_of("::1"), IP_SCOPE_LOOPBACK);
	assert_int_equal(ip_scope_of("fd00::1"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("fc12::1"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("fe80::1"), IP_SCOPE_LINK_LOCAL);
	assert_int_equal(ip_scope_of("febf::1"), IP_SCOPE_LINK_LOCAL);
	assert_int_equal(ip_scope_of("ff02::1"), IP_SCOPE_MULTICAST);
	assert_int_equal(ip_scope_of("::2"), IP_SCOPE_RESERVED);
	assert_int_equal(ip_scope_of("4000::1"), IP_SCOPE_RESERVED);
	assert_int_equal(ip_scope_of("2a01:4f8::1"), IP_SCOPE_GLOBAL);
	assert_int_equal(ip_scope_of("2001:db8::25"), IP_SCOPE_GLOBAL);
	assert_int_equal(ip_scope_of("3fff::1"), IP_SCOPE_GLOBAL);
	/* IPv4-mapped: the scope of the IPv4 address */
	assert_int_equal(ip_scope_of("::ffff:127.0.0.1"), IP_SCOPE_LOOPBACK);
	assert_int_equal(ip_scope_of("::ffff:10.0.0.1"), IP_SCOPE_PRIVATE);
	assert_int_equal(ip_scope_of("::ffff:203.0.113.5"), IP_SCOPE_GLOBAL);
	assert_true(ip_is_loopback("::1"));
	assert_false(ip_is_loopback("::"));
}

static void test_not_addresses(void **state)
{
	(void)state;
	const char *bad[] = { "", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "[::1]",
		              "::1%lo", "1.2.3.4/24", " 1.2.3.4", "fe80::1::2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ip_scope_of(bad[i]), IP_SCOPE_INVALID);
		assert_false(ip_is_global(bad[i]));
	}
	assert_int_equal(ip_scope_of(NULL), IP_SCOPE_INVALID);
	assert_string_equal(ip_scope_name(IP_SCOPE_PRIVATE), "private");
}

static void test_reverse_names(void **state)
{
	(void)state;
	char out[80];
	assert_int_equal(ip_reverse_name("203.0.113.5", out, sizeof(out)), 0);
	assert_string_equal(out, "5.113.0.203.in-addr.arpa");
	assert_int_equal(ip_reverse_name("2001:db8::25", out, sizeof(out)), 0);
	assert_string_equal(out, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(ip_reverse_name("2001:DB8::AB", out, sizeof(out)), 0);
	assert_true(strncmp(out, "b.a.0.0.", 8) == 0);
	assert_int_equal(ip_reverse_name("2001:db8::25", out, 73), 0);   /* exactly fits */
	assert_int_equal(ip_reverse_name("2001:db8::25", out, 72), -1);
	assert_int_equal(ip_reverse_name("example.org", out, sizeof(out)), -1);
}

static void test_canonical(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(ip_canonical("2001:0DB8:0000:0000:0000:0000:0000:0025", out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::25");
	assert_int_equal(ip_canonical("192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.1");
	assert_int_equal(ip_canonical("192.0.2.1", out, 9), -1);
	assert_int_equal(ip_canonical("mx.example.org", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scopes_v4),
		cmocka_unit_test(test_scopes_v6),
		cmocka_unit_test(test_not_addresses),
		cmocka_unit_test(test_reverse_names),
		cmocka_unit_test(test_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
