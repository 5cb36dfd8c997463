/* Strict base64, UTF-8 checking, SASL PLAIN parsing and the LOGIN challenges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sasl.h"

static int decode_str(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
	return sasl_b64_decode(in, strlen(in), out, cap, outlen);
}

static void test_b64_rfc4648_vectors(void **state)
{
	(void)state;
	/* RFC 4648 10 */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
		                           "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char e[16];
		unsigned char d[16];
		size_t n;
		assert_int_equal(sasl_b64_encode((const unsigned char *)plain[i], strlen(plain[i]), e,
		                                 sizeof(e), &n), 0);
		assert_string_equal(e, enc[i]);
		assert_int_equal(n, strlen(enc[i]));
		assert_int_equal(decode_str(enc[i], d, sizeof(d), &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(d, plain[i], n);
	}
}

static void test_b64_all_bytes(void **state)
{
	(void)state;
	unsigned char raw[256], back[256];
	char enc[SASL_B64_ENCODED_LEN(256) + 1];
	size_t n;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(255 - i);
	/* every length, so every padding case meets every alphabet character */
	for (size_t len = 0; len <= sizeof(raw); len++) {
		assert_int_equal(sasl_b64_encode(raw, len, enc, sizeof(enc), &n), 0);
		assert_int_equal(n, SASL_B64_ENCODED_LEN(len));
		assert_int_equal(sasl_b64_decode(enc, n, back, sizeof(back), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, raw, len);
	}
	/* the whole alphabet, in order */
	unsigned char seq[48];
	for (size_t i = 0; i < 16; i++) {
		unsigned v0 = (unsigned)(4 * i), v1 = v0 + 1, v2 = v0 + 2, v3 = v0 + 3;
		seq[3 * i] = (unsigned char)(v0 << 2 | v1 >> 4);
		seq[3 * i + 1] = (unsigned char)((v1 & 15) << 4 | v2 >> 2);
		seq[3 * i + 2] = (unsigned char)((v2 & 3) << 6 | v3);
	}
	assert_int_equal(sasl_b64_encode(seq, sizeof(seq), enc, sizeof(enc), NULL), 0);
	assert_string_equal(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

static void test_b64_malformed(void **state)
{
	(void)state;
	unsigned char d[64];
	size_t n = 99;
	static const char *const bad[] = {
		"Zg",         /* padding required */
		"Zg=",        /* length not a multiple of 4 */
		"Zm9",        /* idem */
		"Zg==Zg==",   /* padding in the middle */
		"Z===",       /* three pad characters */
		"====",       /* only padding */
		"=Zg=",       /* padding first */
		"Zm=v",       /* padding then data */
		"Zh==",       /* non-zero unused bits (canonical is Zg==) */
		"Zm9=",       /* idem (canonical Zm8=) */
		"Zm9v\n",     /* no line breaks */
		"Zm 9v",      /* no spaces */
		" Zm9v",
		"Zm9v ",
		"Zm-v",       /* base64url is not base64 */
		"Zm_v",
		"Zm9v\r\n",
		"Z\x80==",    /* high bytes */
		"Zm9\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_int_equal(decode_str(bad[i], d, sizeof(d), &n), -1);
		assert_int_equal(n, 0);
	}
	/* an embedded NUL is just a bad character */
	assert_int_equal(sasl_b64_decode("Zm\0v", 4, d, sizeof(d), &n), -1);
}

static void test_b64_bounds(void **state)
{
	(void)state;
	unsigned char d[8];
	char e[16];
	size_t n;
	memset(d, 0xaa, sizeof(d));
	/* "foobar" is 6 bytes: fits in 6, not in 5, and nothing is written past it */
	assert_int_equal(decode_str("Zm9vYmFy", d, 6, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(d[6], 0xaa);
	assert_int_equal(decode_str("Zm9vYmFy", d, 5, &n), -1);
	assert_int_equal(decode_str("Zm9vYmE=", d, 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(decode_str("Zg==", d, 0, &n), -1);
	assert_int_equal(decode_str("", d, 0, &n), 0);
	assert_int_equal(n, 0);
	/* encode: 9 bytes need 12 characters and the NUL */
	const unsigned char raw[9] = "abcdefghi";
	assert_int_equal(sasl_b64_encode(raw, 9, e, 13, &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(sasl_b64_encode(raw, 9, e, 12, &n), -1);
	assert_string_equal(e, "");
	assert_int_equal(sasl_b64_encode(raw, 0, e, 1, &n), 0);
	assert_string_equal(e, "");
	assert_int_equal(sasl_b64_encode(raw, 0, e, 0, NULL), -1);
}

static void test_login_challenges(void **state)
{
	(void)state;
	unsigned char d[16];
	size_t n;
	assert_int_equal(decode_str(SASL_LOGIN_USERNAME_B64, d, sizeof(d), &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(d, "Username:", 9);
	assert_int_equal(decode_str(SASL_LOGIN_PASSWORD_B64, d, sizeof(d), &n), 0);
	assert_int_equal(n, 9);
	assert_memory_equal(d, "Password:", 9);
}

static void test_utf8(void **state)
{
	(void)state;
	static const char *const good[] = { "", "plain", "caf\xc3\xa9", "\xe2\x82\xac",
		                            "\xf0\x9f\x93\xa7", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf" };
	static const char *const bad[] = {
		"\xc0\xaf",         /* overlong '/' */
		"\xc1\xbf",
		"\xe0\x80\xaf",     /* overlong */
		"\xf0\x80\x80\xaf", /* overlong */
		"\xed\xa0\x80",     /* surrogate U+D800 */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xff",
		"\x80",             /* lone continuation */
		"\xc3",             /* truncated */
		"\xe2\x82",
		"a\xc3(",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(sasl_utf8_valid((const unsigned char *)good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(sasl_utf8_valid((const unsigned char *)bad[i], strlen(bad[i])));
}

#define PLAIN(lit) (const unsigned char *)(lit), sizeof(lit) - 1

static void test_plain_valid(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0tanstaaftanstaaf"), &p), 0);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "tim");
	assert_string_equal(p.passwd, "tanstaaftanstaaf");
	/* RFC 4616 4 example with an authzid */
	assert_int_equal(sasl_plain_parse(PLAIN("Ursel\0Kurt\0xipj3plmq"), &p), 0);
	assert_string_equal(p.authzid, "Ursel");
	assert_string_equal(p.authcid, "Kurt");
	assert_string_equal(p.passwd, "xipj3plmq");
	/* UTF-8 in every field */
	assert_int_equal(sasl_plain_parse(PLAIN("\xc3\xa9\0j\xc3\xb6rg@ex.org\0p\xe2\x82\xac ss"), &p),
	                 0);
	assert_string_equal(p.passwd, "p\xe2\x82\xac ss");
	sasl_plain_clear(&p);
	assert_string_equal(p.passwd, "");
	assert_string_equal(p.authcid, "");
}

static void test_plain_field_limits(void **state)
{
	(void)state;
	struct sasl_plain p;
	unsigned char msg[3 * 256 + 1];
	size_t n;

	/* 255 octets in each field is fine */
	memset(msg, 'a', sizeof(msg));
	n = 0;
	msg[n + 255] = '\0';
	n += 256;
	msg[n + 255] = '\0';
	n += 256;
	assert_int_equal(sasl_plain_parse(msg, n + 255, &p), 0);
	assert_int_equal(strlen(p.authzid), 255);
	assert_int_equal(strlen(p.authcid), 255);
	assert_int_equal(strlen(p.passwd), 255);
	/* 256 in the password is not */
	assert_int_equal(sasl_plain_parse(msg, n + 256, &p), -1);
	/* nor in the authcid: "\0" + 256 x 'a' + "\0" + "pw" */
	memset(msg, 'a', sizeof(msg));
	msg[0] = '\0';
	msg[257] = '\0';
	assert_int_equal(sasl_plain_parse(msg, 258 + 2, &p), -1);
	/* "\0" + 255 x 'a' + "\0" + "apw" is fine */
	msg[256] = '\0';
	msg[257] = 'a';
	assert_int_equal(sasl_plain_parse(msg, 258 + 2, &p), 0);
	assert_int_equal(strlen(p.authcid), 255);
	/* the limit is in octets: 254 x 'a' + U+00E9 is 256 of them */
	memset(msg, 'a', sizeof(msg));
	msg[0] = '\0';
	msg[1] = 'u';
	msg[2] = '\0';
	msg[3 + 254] = 0xc3;
	msg[3 + 255] = 0xa9;
	assert_int_equal(sasl_plain_parse(msg, 3 + 256, &p), -1);
	msg[3 + 253] = 0xc3;
	msg[3 + 254] = 0xa9;
	assert_int_equal(sasl_plain_parse(msg, 3 + 255, &p), 0);
	assert_int_equal(strlen(p.passwd), 255);
	sasl_plain_clear(&p);
}

static void test_plain_malformed(void **state)
{
	(void)state;
	struct sasl_plain p;
	assert_int_equal(sasl_plain_parse(PLAIN("timtanstaaf"), &p), -1);        /* no NUL */
	assert_int_equal(sasl_plain_parse(PLAIN("\0timtanstaaf"), &p), -1);      /* one */
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0tan\0staaf"), &p), -1);  /* three */
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0pw\0"), &p), -1);        /* trailing NUL */
	assert_int_equal(sasl_plain_parse(PLAIN("\0\0pw"), &p), -1);             /* no authcid */
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0"), &p), -1);            /* no password */
	assert_int_equal(sasl_plain_parse(PLAIN("\0\0"), &p), -1);
	assert_int_equal(sasl_plain_parse(PLAIN(""), &p), -1);
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0\xc0\xaf"), &p), -1);     /* overlong */
	assert_int_equal(sasl_plain_parse(PLAIN("\0t\xffm\0pw"), &p), -1);
	assert_int_equal(sasl_plain_parse(PLAIN("\xed\xa0\x80\0tim\0pw"), &p), -1);
	/* a refused message leaves nothing behind */
	assert_int_equal(sasl_plain_parse(PLAIN("\0tim\0secret\xff"), &p), -1);
	assert_string_equal(p.authcid, "");
	assert_string_equal(p.passwd, "");
}

/* The whole path a server takes: base64 line -> decode -> parse. */
static void test_plain_from_base64(void **state)
{
	(void)state;
	/* "\0user@example.org\0s3cr3t" */
	const char *line = "AHVzZXJAZXhhbXBsZS5vcmcAczNjcjN0";
	unsigned char raw[3 * SASL_PLAIN_FIELD_MAX + 2];
	size_t n;
	struct sasl_plain p;
	assert_int_equal(decode_str(line, raw, sizeof(raw), &n), 0);
	assert_int_equal(sasl_plain_parse(raw, n, &p), 0);
	assert_string_equal(p.authcid, "user@example.org");
	assert_string_equal(p.passwd, "s3cr3t");
	sasl_plain_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648_vectors),
		cmocka_unit_test(test_b64_all_bytes),
		cmocka_unit_test(test_b64_malformed),
		cmocka_unit_test(test_b64_bounds),
		cmocka_unit_test(test_login_challenges),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_plain_valid),
		cmocka_unit_test(test_plain_field_limits),
		cmocka_unit_test(test_plain_malformed),
		cmocka_unit_test(test_plain_from_base64),
	};
	return cmocka_run_group_tests_name("sasl", tests, NULL, NULL);
}
