/* Unit tests for src/mail/decode.c: the Content-Transfer-Encoding
 * decoders behind FETCH BINARY (RFC 3516): base64 and quoted-printable as
 * leniently as mail readers take them, the identity encodings, and the
 * encodings that are not known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_render.h"
#include "mail/decode.h"
#include "mail/encode.h"
#include "mail/mime.h"

/* ---- helpers ---- */

/* Decodes in (a C string) with cte and checks the octets against want[0..wlen). */
static void expect_decoded(enum mime_cte cte, const char *in, const char *want, size_t wlen)
{
	struct buf out;

	buf_init(&out);
	assert_true(mime_decode(cte, in, strlen(in), &out));
	if (out.len != wlen || memcmp(out.data, want, wlen) != 0) {
		print_error("input \"%s\": got %zu octets \"%.*s\", want %zu\n", in, out.len,
		            (int)out.len, out.data, wlen);
		fail();
	}
	assert_int_equal(out.data[out.len], '\0');     /* still a C string after */
	buf_free(&out);
}

#define expect_b64(in, want) expect_decoded(MIME_CTE_BASE64, in, want, sizeof(want) - 1)
#define expect_qp(in, want) expect_decoded(MIME_CTE_QUOTED_PRINTABLE, in, want, sizeof(want) - 1)

/* ---- which decoder ---- */

static void test_cte_of(void **state)
{
	(void)state;
	assert_int_equal(mime_cte_of(NULL), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_of("7BIT"), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_of("8BIT"), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_of("BINARY"), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_of("binary"), MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_of("BASE64"), MIME_CTE_BASE64);
	assert_int_equal(mime_cte_of("Base64"), MIME_CTE_BASE64);
	assert_int_equal(mime_cte_of("QUOTED-PRINTABLE"), MIME_CTE_QUOTED_PRINTABLE);
	assert_int_equal(mime_cte_of("X-UUENCODE"), MIME_CTE_UNKNOWN);
	assert_int_equal(mime_cte_of("x-uuencode"), MIME_CTE_UNKNOWN);
	assert_int_equal(mime_cte_of("7BITS"), MIME_CTE_UNKNOWN);
	assert_int_equal(mime_cte_of("BASE"), MIME_CTE_UNKNOWN);
	assert_int_equal(mime_cte_of(""), MIME_CTE_UNKNOWN);
}

/* The encoding of the part mime_parse() made of msg that section names. */
static enum mime_cte cte_of_section(const char *msg, const char *section)
{
	struct mime_part *root = mime_parse(msg, strlen(msg));
	struct imap_span span;
	enum mime_cte cte;

	assert_int_equal(imap_section_span(root, section, &span), IMAP_SPAN_OK);
	cte = mime_part_cte(span.part);
	mime_free(root);
	return cte;
}

static void test_part_cte(void **state)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"--b\n"
		"Content-Transfer-Encoding: Quoted-Printable\n"
		"\n"
		"a=3Db\n"
		"--b\n"
		"Content-Type: message/rfc822\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"Content-Transfer-Encoding: x-uuencode\n"
		"\n"
		"begin 644 x\n"
		"--b\n"
		"\n"
		"plain\n"
		"--b--\n";

	(void)state;
	/* as the parser keeps it: upper case */
	assert_int_equal(cte_of_section(msg, "1"), MIME_CTE_QUOTED_PRINTABLE);
	/* containers are never decoded, whatever they say (RFC 2045 6.4) */
	assert_int_equal(cte_of_section(msg, ""), MIME_CTE_IDENTITY);
	assert_int_equal(cte_of_section(msg, "2"), MIME_CTE_IDENTITY);
	/* the message inside has an encoding of its own */
	assert_int_equal(cte_of_section(msg, "2.1"), MIME_CTE_UNKNOWN);
	assert_int_equal(cte_of_section(msg, "3"), MIME_CTE_IDENTITY);
}

/* ---- base64 ---- */

static void test_base64_plain(void **state)
{
	(void)state;
	expect_b64("", "");
	expect_b64("TWFu", "Man");
	expect_b64("TWE=", "Ma");
	expect_b64("TQ==", "M");
	expect_b64("AAECAwQFBgcICQ==", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09");
	expect_b64("/+/+", "\xff\xef\xfe");
	/* every octet value survives */
	expect_b64("AP8A/wD/", "\x00\xff\x00\xff\x00\xff");
}

static void test_base64_line_breaks(void **state)
{
	(void)state;
	expect_b64("SGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "Hello world");
	expect_b64("SGVs\nbG8g\nd29y\nbGQ=\n", "Hello world");
	/* line breaks inside a group, white space anywhere */
	expect_b64("SG\r\nVsbG8 gd2\t9y bGQ", "Hello world");
	expect_b64("\r\n\r\n", "");
}

static void test_base64_junk_and_padding(void **state)
{
	(void)state;
	/* RFC 2045 6.8: characters outside the alphabet are ignored */
	expect_b64("T!W*F-u", "Man");
	expect_b64("\x80TWFu\xff", "Man");
	/* no padding: a last group of 2 or 3 still gives its octets */
	expect_b64("TWE", "Ma");
	expect_b64("TQ", "M");
	/* a lone sextet holds no octet */
	expect_b64("TWFuT", "Man");
	/* decoding stops at the padding: what follows is not data */
	expect_b64("TQ==TWFu", "M");
	expect_b64("TWE=\r\n-- trailer", "Ma");
	expect_b64("=TWFu", "");
	/* only junk */
	expect_b64("!!! ---", "");
}

/* ---- quoted-printable ---- */

static void test_qp_plain(void **state)
{
	(void)state;
	expect_qp("", "");
	expect_qp("Hello", "Hello");
	expect_qp("a=3Db", "a=b");
	expect_qp("caf=C3=A9", "caf\xc3\xa9");
	/* RFC 2045 6.7 rule 1: lower case hex accepted */
	expect_qp("caf=c3=a9 =3d", "caf\xc3\xa9 =");
	expect_qp("=00=FF", "\x00\xff");
	/* hard line breaks are CRLF whatever the message is stored with */
	expect_qp("one\r\ntwo\r\n", "one\r\ntwo\r\n");
	expect_qp("one\ntwo\n", "one\r\ntwo\r\n");
	expect_qp("\n\n", "\r\n\r\n");
	/* an encoded line end is data, not a line break */
	expect_qp("a=0Ab=0D=0Ac", "a\nb\r\nc");
}

static void test_qp_soft_breaks(void **state)
{
	(void)state;
	expect_qp("long=\r\nline\r\n", "longline\r\n");
	expect_qp("long=\nline\n", "longline\r\n");
	/* white space added after the '=' in transport */
	expect_qp("long= \t\r\nline", "longline");
	/* '=' at the end of the input: its line end went to a boundary */
	expect_qp("end=", "end");
	expect_qp("end= ", "end");
	expect_qp("=", "");
	/* several in a row */
	expect_qp("a=\r\n=\r\nb", "ab");
}

static void test_qp_malformed(void **state)
{
	(void)state;
	/* a '=' that starts no escape stays as it is */
	expect_qp("a=b", "a=b");
	expect_qp("1+1=2", "1+1=2");
	expect_qp("=G1x", "=G1x");
	expect_qp("=4", "=4");
	expect_qp("x=4\r\ny", "x=4\r\ny");
	expect_qp("==41", "=A");
	expect_qp("=\r", "=\r");        /* a bare CR is no line end */
	expect_qp("a\rb", "a\rb");
	/* 8-bit octets and NULs pass through */
	expect_qp("\xe9t\xe9", "\xe9t\xe9");
	struct buf out;
	buf_init(&out);
	mime_decode_qp("a\0b=\0", 5, &out);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "a\0b=\0", 5);
	buf_free(&out);
}

static void test_qp_trailing_white_space(void **state)
{
	(void)state;
	/* RFC 2045 6.7 rule 3: transport added it; encoded white space stays */
	expect_qp("word  \r\nnext\t\r\n", "word\r\nnext\r\n");
	expect_qp("word \nnext", "word\r\nnext");
	expect_qp("last  ", "last");
	expect_qp("kept=20\r\n", "kept \r\n");
	expect_qp("kept=09 \r\n", "kept\t\r\n");
	expect_qp("in between stays", "in between stays");
	expect_qp("   \r\n", "\r\n");
}

/* ---- identity and unknown ---- */

static void test_identity(void **state)
{
	static const char raw[] = "line one\r\nline =3D two\n\x80\xff";
	struct buf out;

	(void)state;
	expect_decoded(MIME_CTE_IDENTITY, raw, raw, sizeof(raw) - 1);
	expect_decoded(MIME_CTE_IDENTITY, "", "", 0);
	/* appends to what is there */
	buf_init(&out);
	buf_puts(&out, "ab");
	assert_true(mime_decode(MIME_CTE_IDENTITY, "cd", 2, &out));
	assert_true(mime_decode(MIME_CTE_BASE64, "ZWY=", 4, &out));
	assert_true(mime_decode(MIME_CTE_QUOTED_PRINTABLE, "=67", 3, &out));
	assert_string_equal(out.data, "abcdefg");
	buf_free(&out);
}

static void test_unknown(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out);
	buf_puts(&out, "kept");
	assert_false(mime_decode(MIME_CTE_UNKNOWN, "begin 644 x\n", 12, &out));
	assert_false(mime_decode(mime_cte_of("X-UUENCODE"), "M", 1, &out));
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "kept");
	buf_free(&out);
}

/* Outputs larger than the decoders' staging block, and their bounds. */
static void test_large(void **state)
{
	enum { N = 3 * 10000 };
	char *bin = malloc(N), *b64 = malloc(N / 3 * 4 + N / 57 * 2 + 8), *qp = malloc(3 * N + 1);
	size_t bl = 0, ql = 0;
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct buf out;

	(void)state;
	for (size_t i = 0; i < N; i++)
		bin[i] = (char)(i * 7 + (i >> 8));
	for (size_t i = 0; i < N; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)bin[i] << 16 |
		             (uint32_t)(unsigned char)bin[i + 1] << 8 | (unsigned char)bin[i + 2];
		for (int k = 3; k >= 0; k--)
			b64[bl++] = alphabet[(v >> (6 * k)) & 63];
		if (i % 57 == 54) {
			b64[bl++] = '\r';
			b64[bl++] = '\n';
		}
	}
	for (size_t i = 0; i < N; i++)
		ql += (size_t)sprintf(qp + ql, "=%02X", (unsigned char)bin[i]);

	buf_init(&out);
	mime_decode_base64(b64, bl, &out);
	assert_int_equal(out.len, N);
	assert_memory_equal(out.data, bin, N);
	buf_reset(&out);
	mime_decode_qp(qp, ql, &out);
	assert_int_equal(out.len, N);
	assert_memory_equal(out.data, bin, N);
	/* the worst case of quoted-printable: every LF becomes CRLF */
	memset(qp, '\n', N);
	buf_reset(&out);
	mime_decode_qp(qp, N, &out);
	assert_int_equal(out.len, 2 * N);
	buf_free(&out);
	free(bin);
	free(b64);
	free(qp);
}

/* ---- encoding ---- */

static void test_base64_encode_round_trip(void **state)
{
	(void)state;
	char in[300];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	for (size_t n = 0; n <= sizeof(in); n += 1 + n / 3) {
		struct buf enc, dec;
		buf_init(&enc);
		buf_init(&dec);
		mime_encode_base64(in, n, &enc);
		for (size_t i = 0, col = 0; i < enc.len; i++, col++) {
			if (enc.data[i] == '\r') {
				assert_int_equal(col, 76);       /* RFC 2045 6.8 */
				col = (size_t)-2;
			}
		}
		mime_decode_base64(enc.data ? enc.data : "", enc.len, &dec);
		assert_int_equal(dec.len, n);
		assert_memory_equal(dec.data ? dec.data : "", in, n);
		buf_free(&enc);
		buf_free(&dec);
	}
	struct buf e;
	buf_init(&e);
	mime_encode_base64("ab", 2, &e);
	assert_string_equal(e.data, "YWI=");
	buf_free(&e);
}

static void test_binary_parts_to_base64(void **state)
{
	(void)state;
	static const char msg[] =
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\ntext\r\n"
		"--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: BINARY\r\n"
		"X-After: 1\r\n\r\n\001\n\r\r\n--b--\r\n";
	struct buf out;
	buf_init(&out);
	assert_true(mime_binary_parts_to_base64(msg, sizeof(msg) - 1, &out));
	assert_string_equal(out.data,
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Transfer-Encoding: 8bit\r\n\r\ntext\r\n"
		"--b\r\nContent-Type: application/x\r\nContent-Transfer-Encoding: base64\r\n"
		"X-After: 1\r\n\r\nAQoN\r\n--b--\r\n");
	buf_free(&out);
	buf_init(&out);
	assert_false(mime_binary_parts_to_base64("Subject: y\r\n\r\nz\r\n", 17, &out));
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cte_of),
		cmocka_unit_test(test_part_cte),
		cmocka_unit_test(test_base64_plain),
		cmocka_unit_test(test_base64_line_breaks),
		cmocka_unit_test(test_base64_junk_and_padding),
		cmocka_unit_test(test_qp_plain),
		cmocka_unit_test(test_qp_soft_breaks),
		cmocka_unit_test(test_qp_malformed),
		cmocka_unit_test(test_qp_trailing_white_space),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_base64_encode_round_trip),
		cmocka_unit_test(test_binary_parts_to_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
