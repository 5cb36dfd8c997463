/* Unit tests for src/mail/mutf7.c: modified UTF-7 mailbox names (RFC 3501
 * 5.1.3) both ways, and the spellings a careful server must refuse: encoded
 * printable ASCII, unterminated runs, lone surrogates, non-ASCII octets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mutf7.h"

static void expect_pair(const char *utf8, const char *wire)
{
	char out[256];

	assert_int_equal(mutf7_encode(utf8, out, sizeof(out)), 0);
	assert_string_equal(out, wire);
	assert_int_equal(mutf7_decode(wire, out, sizeof(out)), 0);
	assert_string_equal(out, utf8);
}

static void test_round_trips(void **state)
{
	(void)state;
	expect_pair("INBOX", "INBOX");
	expect_pair("a&b", "a&-b");
	/* the example of RFC 3501 5.1.3 */
	expect_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	            "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	expect_pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	/* outside the BMP: a surrogate pair */
	expect_pair("\xf0\x9f\x93\xa7", "&2D3c5w-");
}

static void test_hostile_spellings_are_refused(void **state)
{
	static const char *const bad[] = {
		"&AGE-",        /* 'a' encoded: printable ASCII must stay plain */
		"&U,BTFw",      /* run never closed */
		"&-&",          /* a lone '&' at the end */
		"&2D0-",        /* a high surrogate alone */
		"&3N0-",        /* a low surrogate alone */
		"&U,B!Fw-",     /* not base64 */
		"caf\xc3\xa9",  /* 8-bit octets are not modified UTF-7 */
		"a\tb",         /* control characters neither */
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mutf7_decode(bad[i], out, sizeof(out)) == 0)
			fail_msg("\"%s\" decoded to \"%s\"", bad[i], out);
	}
}

static void test_short_buffers_fail_cleanly(void **state)
{
	char out[6];

	(void)state;
	assert_int_equal(mutf7_encode("\xe5\x8f\xb0\xe5\x8c\x97", out, sizeof(out)), -1);
	assert_int_equal(mutf7_decode("&U,BTFw-xyz", out, 3), -1);
	assert_int_equal(mutf7_decode("INBOX", out, sizeof(out)), 0);
	assert_int_equal(mutf7_decode("INBOX1", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_hostile_spellings_are_refused),
		cmocka_unit_test(test_short_buffers_fail_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
