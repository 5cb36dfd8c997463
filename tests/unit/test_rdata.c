/* Unit tests for src/dns/rdata.c: the text of A, AAAA, MX, PTR and TXT
 * rdata, and refusal of malformed rdata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/rdata.h"

static void test_addresses(void **state)
{
	(void)state;
	char out[64];
	const unsigned char v4[] = { 203, 0, 113, 5 };
	const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x25 };
	assert_int_equal(dns_rdata_text(DNS_RR_A, v4, 4, out, sizeof(out)), 0);
	assert_string_equal(out, "203.0.113.5");
	assert_int_equal(dns_rdata_text(DNS_RR_AAAA, v6, 16, out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::25");
	assert_int_equal(dns_rdata_text(DNS_RR_A, v4, 3, out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_AAAA, v6, 4, out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_A, v4, 4, out, 5), -1);
}

static void test_names(void **state)
{
	(void)state;
	char out[300];
	const unsigned char mx[] = "\x00\x0a\x02mx\x07" "Example\x03org";   /* + the NUL root */
	const unsigned char ptr[] = "\x04host\x07" "example\x03org";
	assert_int_equal(dns_rdata_text(DNS_RR_MX, mx, sizeof(mx), out, sizeof(out)), 0);
	assert_string_equal(out, "10 mx.example.org");
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, ptr, sizeof(ptr), out, sizeof(out)), 0);
	assert_string_equal(out, "host.example.org");
	/* a compression pointer, a label past the end, trailing bytes, odd characters */
	const unsigned char pointer[] = { 0xc0, 0x0c };
	const unsigned char past[] = { 9, 'a', 'b', 0 };
	const unsigned char trailing[] = { 1, 'a', 0, 0 };
	const unsigned char space[] = { 3, 'a', ' ', 'b', 0 };
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, pointer, sizeof(pointer), out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, past, sizeof(past), out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, trailing, sizeof(trailing), out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, space, sizeof(space), out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_PTR, NULL, 0, out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_MX, mx, 2, out, sizeof(out)), -1);
	assert_string_equal(dns_rrtype_name(DNS_RR_PTR), "PTR");
}

static void test_txt(void **state)
{
	(void)state;
	char out[64];
	const unsigned char two[] = "\x06v=spf1\x08 mx -all";
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, two, sizeof(two) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "v=spf1 mx -all");
	/* control characters and non-ASCII never reach the terminal */
	const unsigned char esc[] = "\x05\x1b[2J\xff";
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, esc, sizeof(esc) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "?[2J?");
	const unsigned char empty[] = { 0 };
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, empty, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	const unsigned char overrun[] = { 5, 'a', 'b' };
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, overrun, sizeof(overrun), out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, two, 0, out, sizeof(out)), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, two, sizeof(two) - 1, out, 14), -1);
	assert_int_equal(dns_rdata_text(DNS_RR_TXT, two, sizeof(two) - 1, out, 15), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_txt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
