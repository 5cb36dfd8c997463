/* The PROXY protocol parser: v1 and v2 headers as haproxy sends them, the
 * incremental promise (MORE only for a prefix of a header), and hostile input:
 * overlong v1 lines, bad ports and addresses, v2 length lies, TLV overruns,
 * LOCAL and UNSPEC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "net/proxy_proto.h"

static enum proxy_result parse_str(const char *s, struct proxy_header *h)
{
	return proxy_proto_parse((const unsigned char *)s, strlen(s), h, NULL);
}

static void assert_src4(const struct proxy_header *h, const char *ip, int port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&h->src;
	char text[INET_ADDRSTRLEN];
	assert_int_equal(sin->sin_family, AF_INET);
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	assert_string_equal(text, ip);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void test_v1_tcp4(void **state)
{
	(void)state;
	struct proxy_header h;
	const char *s = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n";
	assert_int_equal(parse_str(s, &h), PROXY_DONE);
	assert_int_equal(h.version, 1);
	assert_false(h.local);
	assert_int_equal(h.length, strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n"));
	assert_src4(&h, "192.0.2.7", 56324);
}

static void test_v1_tcp6_and_unknown(void **state)
{
	(void)state;
	struct proxy_header h;
	assert_int_equal(parse_str("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", &h), PROXY_DONE);
	assert_int_equal(h.src.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&h.src)->sin6_port), 1);
	assert_int_equal(parse_str("PROXY UNKNOWN\r\n", &h), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(parse_str("PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4 9 9\r\n", &h), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(parse_str("PROXY UNKNOWNX\r\n", &h), PROXY_ERROR);
}

/* Every strict prefix of a header is MORE; cut anywhere, the same result. */
static void test_v1_incremental(void **state)
{
	(void)state;
	struct proxy_header h;
	const char *s = "PROXY TCP4 10.1.2.3 10.0.0.1 1234 587\r\n";
	for (size_t i = 0; i < strlen(s); i++)
		assert_int_equal(proxy_proto_parse((const unsigned char *)s, i, &h, NULL), PROXY_MORE);
	assert_int_equal(parse_str(s, &h), PROXY_DONE);
	assert_int_equal(h.length, strlen(s));
}

static void test_v1_hostile(void **state)
{
	(void)state;
	struct proxy_header h;
	const char *why = NULL;
	char longline[300];
	/* 200 characters and no end: refused once past 107, not read on and on */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "PROXY TCP4 ", 11);
	assert_int_equal(proxy_proto_parse((unsigned char *)longline, 106, &h, NULL), PROXY_MORE);
	assert_int_equal(proxy_proto_parse((unsigned char *)longline, 107, &h, &why), PROXY_ERROR);
	assert_string_equal(why, "v1: line too long");
	assert_int_equal(proxy_proto_parse((unsigned char *)longline, sizeof(longline), &h, NULL),
	                 PROXY_ERROR);
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 25\r\n",       /* port out of range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 025 25\r\n",         /* leading zero */
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 25\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 123456 25\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n",             /* empty port */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",          /* one field too many */
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",           /* two spaces */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",              /* bare LF */
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",          /* bad IPv4 */
		"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n",        /* family mismatch */
		"PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
		"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
		"PROXY \r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",            /* case matters */
		"EHLO example.org\r\n",                          /* no header at all */
		"GET / HTTP/1.0\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(proxy_proto_parse((const unsigned char *)bad[i], strlen(bad[i]), &h,
		                                   &why), PROXY_ERROR);
		assert_non_null(why);
	}
	/* not a header from the first octet: no waiting for more */
	assert_int_equal(parse_str("E", &h), PROXY_ERROR);
	assert_int_equal(parse_str("\x16\x03\x01", &h), PROXY_ERROR);   /* a TLS ClientHello */
}

/* ---- version 2 ------------------------------------------------------------------ */

static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                                       0x55, 0x49, 0x54, 0x0A };

/* A v2 header: signature, ver_cmd, fam, length, then body. Returns its size. */
static size_t v2(unsigned char *out, unsigned ver_cmd, unsigned fam, size_t declared,
                 const unsigned char *body, size_t bodylen)
{
	memcpy(out, sig, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(declared >> 8);
	out[15] = (unsigned char)declared;
	if (bodylen > 0)
		memcpy(out + 16, body, bodylen);
	return 16 + bodylen;
}

static const unsigned char inet_block[12] = { 203, 0, 113, 9, 10, 0, 0, 1, 0xd4, 0x31, 0, 25 };

static void test_v2_inet_with_tlvs(void **state)
{
	(void)state;
	unsigned char body[64], buf[128];
	struct proxy_header h;
	memcpy(body, inet_block, 12);
	/* PP2_TYPE_ALPN "h2", and an empty NOOP */
	memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x00", 8);
	size_t n = v2(buf, 0x21, 0x11, 20, body, 20);
	memcpy(buf + n, "EHLO", 4);
	assert_int_equal(proxy_proto_parse(buf, n + 4, &h, NULL), PROXY_DONE);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.length, n);
	assert_src4(&h, "203.0.113.9", 0xd431);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(proxy_proto_parse(buf, i, &h, NULL), PROXY_MORE);
}

static void test_v2_inet6(void **state)
{
	(void)state;
	unsigned char body[36] = { 0x20, 0x01, 0x0d, 0xb8 }, buf[64];
	struct proxy_header h;
	body[15] = 1;
	body[32] = 0x01;
	body[33] = 0x02;
	size_t n = v2(buf, 0x21, 0x21, 36, body, 36);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_DONE);
	assert_int_equal(h.src.ss_family, AF_INET6);
	char text[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&h.src)->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "2001:db8::1");
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&h.src)->sin6_port), 0x0102);
}

static void test_v2_local_and_unspec(void **state)
{
	(void)state;
	unsigned char buf[64];
	struct proxy_header h;
	/* LOCAL: a health check; whatever the block says, the connection's address stays */
	size_t n = v2(buf, 0x20, 0x00, 0, NULL, 0);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_DONE);
	assert_true(h.local);
	assert_int_equal(h.length, 16);
	n = v2(buf, 0x20, 0x11, 12, inet_block, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_DONE);
	assert_true(h.local);
	/* PROXY with UNSPEC: nothing to take over either */
	n = v2(buf, 0x21, 0x00, 0, NULL, 0);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_DONE);
	assert_true(h.local);
}

static void test_v2_hostile(void **state)
{
	(void)state;
	unsigned char body[PROXY_HEADER_MAX], buf[PROXY_HEADER_MAX + 64];
	struct proxy_header h;
	const char *why;
	size_t n;
	memset(body, 0, sizeof(body));
	memcpy(body, inet_block, 12);
	/* the length lies short: fewer octets than the addresses need */
	n = v2(buf, 0x21, 0x11, 8, body, 8);
	assert_int_equal(proxy_proto_parse(buf, n, &h, &why), PROXY_ERROR);
	assert_string_equal(why, "v2: length shorter than the addresses");
	/* the length lies long: we wait for octets (bounded by the reader's timeout) */
	n = v2(buf, 0x21, 0x11, 200, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_MORE);
	/* ... and a length past what we accept is refused at once */
	n = v2(buf, 0x21, 0x11, 0xffff, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, &why), PROXY_ERROR);
	assert_string_equal(why, "v2: header too long");
	/* a TLV longer than what is left */
	memcpy(body + 12, "\x02\x00\x10" "abc", 6);
	n = v2(buf, 0x21, 0x11, 18, body, 18);
	assert_int_equal(proxy_proto_parse(buf, n, &h, &why), PROXY_ERROR);
	assert_string_equal(why, "v2: TLV overruns the header");
	/* two octets of a TLV header */
	n = v2(buf, 0x21, 0x11, 14, body, 14);
	assert_int_equal(proxy_proto_parse(buf, n, &h, &why), PROXY_ERROR);
	/* version 1 in a v2 header, unknown command, unknown family, UDP */
	n = v2(buf, 0x11, 0x11, 12, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_ERROR);
	n = v2(buf, 0x22, 0x11, 12, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_ERROR);
	n = v2(buf, 0x21, 0x41, 12, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_ERROR);
	n = v2(buf, 0x21, 0x12, 12, body, 12);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_ERROR);
	/* a broken signature */
	n = v2(buf, 0x21, 0x11, 12, body, 12);
	buf[11] = 0x0B;
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_ERROR);
	/* the largest accepted header, of TLVs */
	size_t tlvs = PROXY_HEADER_MAX - 16 - 12;
	body[12] = 0xEE;
	body[13] = (unsigned char)((tlvs - 3) >> 8);
	body[14] = (unsigned char)(tlvs - 3);
	n = v2(buf, 0x21, 0x11, 12 + tlvs, body, 12 + tlvs);
	assert_int_equal(proxy_proto_parse(buf, n, &h, NULL), PROXY_DONE);
	assert_int_equal(h.length, PROXY_HEADER_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6_and_unknown),
		cmocka_unit_test(test_v1_incremental),
		cmocka_unit_test(test_v1_hostile),
		cmocka_unit_test(test_v2_inet_with_tlvs),
		cmocka_unit_test(test_v2_inet6),
		cmocka_unit_test(test_v2_local_and_unspec),
		cmocka_unit_test(test_v2_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
