/* Unit tests for src/mailauth/authres.c: the Authentication-Results field
 * postern writes (quoting, folding, the none form) and finding incoming
 * fields that claim our authserv-id, however they are spelt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/header.h"
#include "mailauth/authres.h"

#define ID "mx.example.org"

static bool claims(const char *value)
{
	return authres_claims_id(value, strlen(value), ID);
}

/* Every line at most max octets (LF excluded), continuation lines start
 * with white space, the field ends in one LF */
static void assert_folded(const char *h, size_t max)
{
	size_t n = strlen(h);
	assert_true(n > 0 && h[n - 1] == '\n');
	for (const char *line = h; *line != '\0';) {
		const char *nl = strchr(line, '\n');
		assert_non_null(nl);
		if (line != h)
			assert_true(line[0] == '\t');
		if ((size_t)(nl - line) > max)
			fail_msg("line of %zu octets: %.*s", (size_t)(nl - line), (int)(nl - line), line);
		line = nl + 1;
	}
}

static void test_write_full(void **state)
{
	struct authres_entry e[5];
	size_t len;
	(void)state;
	authres_spf(&e[0], "pass", "bounce@example.com", "mail.example.com");
	authres_dkim(&e[1], "pass", "example.com", "sel1", "AbCd/EfGh+ijklmnop");
	authres_dkim(&e[2], "fail", "example.net", "s2", "zzzzzzzzzzzz");
	authres_dmarc(&e[3], "pass", "example.com", "none", "p=reject dis=none");
	authres_arc(&e[4], "none");
	char *h = authres_header_new(ID, e, 5, &len);
	assert_int_equal(len, strlen(h));
	assert_string_equal(h,
		"Authentication-Results: mx.example.org;\n"
		"\tspf=pass smtp.mailfrom=bounce@example.com;\n"
		"\tdkim=pass header.d=example.com header.s=sel1 header.b=\"AbCd/EfG\";\n"
		"\tdkim=fail header.d=example.net header.s=s2 header.b=zzzzzzzz;\n"
		"\tdmarc=pass (p=reject dis=none) header.from=example.com policy.dmarc=none;\n"
		"\tarc=none\n");
	assert_folded(h, 78);
	/* it reads back as one field, strictly, claiming our id */
	struct mail_header hdr;
	char err[128];
	assert_int_equal(mail_header_parse(&hdr, h, len, MAIL_HEADER_STRICT, 0, err, sizeof(err)), 0);
	assert_int_equal(hdr.nfields, 1);
	assert_true(authres_field_claims(&hdr.fields[0], ID));
	mail_header_free(&hdr);
	free(h);
}

static void test_write_helo_and_none(void **state)
{
	struct authres_entry e;
	size_t len;
	(void)state;
	/* the null reverse-path: SPF judged the HELO name */
	authres_spf(&e, "none", "", "mail.example.com");
	char *h = authres_header_new(ID, &e, 1, &len);
	assert_string_equal(h, "Authentication-Results: mx.example.org;\n"
	                       "\tspf=none smtp.helo=mail.example.com\n");
	free(h);
	/* nothing to say: "none" (RFC 8601 2.2) */
	h = authres_header_new(ID, NULL, 0, &len);
	assert_string_equal(h, "Authentication-Results: mx.example.org; none\n");
	free(h);
	/* entries whose method or result is not a keyword are left out */
	struct authres_entry bad[2];
	authres_arc(&bad[0], "pass; dkim=pass");
	authres_arc(&bad[1], "");
	h = authres_header_new(ID, bad, 2, &len);
	assert_string_equal(h, "Authentication-Results: mx.example.org; none\n");
	free(h);
}

static void test_write_hostile_values(void **state)
{
	struct authres_entry e[2];
	size_t len;
	char big[1000];
	(void)state;
	/* a reverse-path that would end the field or add one */
	authres_spf(&e[0], "fail", "\"x;\\ \"@evil.example\r\nAuthentication-Results: " ID "; dkim=pass",
	            NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	authres_dmarc(&e[1], "fail", big, "reject", "a (nested) comment\\ and \x01 a control");
	char *h = authres_header_new(ID, e, 2, &len);
	struct mail_header hdr;
	char err[128];
	assert_int_equal(mail_header_parse(&hdr, h, len, MAIL_HEADER_STRICT, 0, err, sizeof(err)), 0);
	assert_int_equal(hdr.nfields, 1);
	assert_null(strchr(h, '\r'));
	assert_non_null(strstr(h, "smtp.mailfrom=\"\\\"x;\\\\ \\\"@evil.example?" "?Authentication"));
	assert_non_null(strstr(h, "(a \\(nested\\) comment\\\\ and ? a control)"));
	/* values are cut at AUTHRES_VALUE_MAX */
	assert_null(strstr(h, "aaaa\naaaa"));
	const char *from = strstr(h, "header.from=");
	assert_non_null(from);
	assert_int_equal(strspn(from + 12, "a"), AUTHRES_VALUE_MAX);
	mail_header_free(&hdr);
	free(h);
	/* broken UTF-8 is replaced, whole sequences are kept */
	authres_dmarc(&e[0], "fail", "b\xc3\xbc" "cher.de", NULL, "\xff\xc3");
	h = authres_header_new(ID, e, 1, &len);
	assert_non_null(strstr(h, "header.from=\"b\xc3\xbc" "cher.de\""));
	assert_non_null(strstr(h, "(?" "?)"));
	free(h);
	/* a quoted authserv-id when it is not a token */
	h = authres_header_new("odd id", NULL, 0, &len);
	assert_string_equal(h, "Authentication-Results: \"odd id\"; none\n");
	assert_true(authres_claims_id(h + 23, len - 23, "odd id"));
	free(h);
}

static void test_write_folds_long_entries(void **state)
{
	struct authres_entry e;
	size_t len;
	(void)state;
	authres_dkim(&e, "pass", "a-rather-long-signing-domain.subdomain.example.com",
	             "selector-2024-with-a-long-name", "abcdefghijkl");
	char *h = authres_header_new(ID, &e, 1, &len);
	assert_folded(h, 78);
	assert_string_equal(h, "Authentication-Results: mx.example.org;\n"
	                       "\tdkim=pass header.d=a-rather-long-signing-domain.subdomain.example.com\n"
	                       "\theader.s=selector-2024-with-a-long-name header.b=abcdefgh\n");
	free(h);
}

static void test_read_claims(void **state)
{
	(void)state;
	assert_true(claims(" mx.example.org; spf=pass smtp.mailfrom=a@b.example"));
	assert_true(claims("mx.example.org;spf=pass"));
	assert_true(claims("MX.Example.ORG; none"));
	assert_true(claims(" mx.example.org. ; none"));
	assert_true(claims(" mx.example.org 1; none"));                  /* a version */
	assert_true(claims(" (a comment) mx.example.org; none"));
	assert_true(claims(" (nested (comment) \\) here)\r\n\t mx.example.org; none"));
	assert_true(claims("\r\n mx.example.org\r\n ; none"));           /* folded */
	assert_true(claims(" \"mx.example.org\"; none"));                /* quoted */
	assert_true(claims(" \"mx.exa\\mple.org\"; none"));              /* quoted-pair */
	assert_true(claims(" mx.example.org(comment); none"));
	assert_true(claims(" mx.example.org"));                          /* no resinfo */
	/* someone else's */
	assert_false(claims(" mx.example.org.evil.example; spf=pass"));
	assert_false(claims(" evil.example; spf=pass (mx.example.org)"));
	assert_false(claims(" x-mx.example.org; none"));
	assert_false(claims(" mx.example.or; none"));
	/* nothing there, or no end to the comment or quote */
	assert_false(claims(""));
	assert_false(claims("   "));
	assert_false(claims(" ; spf=pass"));
	assert_false(claims(" (mx.example.org; none"));
	assert_false(claims(" \"mx.example.org; none"));
	assert_false(claims(" \"\"; none"));
	assert_false(authres_claims_id(" \"mx.example.org\0\"; none", 23, ID));
	assert_false(claims(" \"mx.example.org\x01\"; none"));
	/* an id too long for ours */
	char big[600];
	memset(big, 'a', sizeof(big));
	assert_false(authres_claims_id(big, sizeof(big), ID));
	char out[8];
	assert_int_equal(authres_read_id(" mx.example.org", 15, out, sizeof(out)), -1);
}

static void test_field_claims(void **state)
{
	(void)state;
	static const char hdr[] =
		"Received: from x\n"
		"Authentication-Results: mx.example.org; dkim=pass header.d=paypal.com\n"
		"authentication-results:\n (forged) \"MX.EXAMPLE.ORG\"; spf=pass\n"
		"Authentication-Results: other.example; spf=fail\n"
		"X-Authentication-Results: mx.example.org; spf=pass\n"
		"Subject: mx.example.org; x\n";
	struct mail_header h;
	char err[128];
	assert_int_equal(mail_header_parse(&h, hdr, sizeof(hdr) - 1, MAIL_HEADER_LENIENT, 0, err,
	                                   sizeof(err)), 0);
	bool want[] = { false, true, true, false, false, false };
	assert_int_equal(h.nfields, 6);
	for (size_t i = 0; i < h.nfields; i++)
		assert_int_equal(authres_field_claims(&h.fields[i], ID), want[i]);
	mail_header_free(&h);
}

/* What a trusted sealer's ARC-Authentication-Results says about a method */
static void test_method_result(void **state)
{
	char out[32];
	(void)state;
	assert_int_equal(authres_method_result("list.test; spf=pass smtp.mailfrom=a@b.test; "
	                                       "dmarc=pass header.from=b.test", "dmarc", out,
	                                       sizeof(out)), 0);
	assert_string_equal(out, "pass");
	/* case, comments, versions and white space around '=' */
	assert_int_equal(authres_method_result("x 1; (c;) DMARC/1 = (note) fail", "dmarc", out,
	                                       sizeof(out)), 0);
	assert_string_equal(out, "fail");
	/* the first of a method counts; a ';' inside a quoted value or a comment
	 * does not start a resinfo */
	assert_int_equal(authres_method_result("id; dkim=fail reason=\"x; dmarc=pass\"; "
	                                       "dmarc=none", "dmarc", out, sizeof(out)), 0);
	assert_string_equal(out, "none");
	assert_int_equal(authres_method_result("id; spf=pass (dmarc=pass)", "dmarc", out,
	                                       sizeof(out)), -1);
	/* hostile: no id part, no result, an unterminated comment, a result too long */
	assert_int_equal(authres_method_result("dmarc=pass", "dmarc", out, sizeof(out)), -1);
	assert_int_equal(authres_method_result("id; dmarc=", "dmarc", out, sizeof(out)), -1);
	assert_int_equal(authres_method_result("id; (dmarc=pass", "dmarc", out, sizeof(out)), -1);
	assert_int_equal(authres_method_result("id; dmarc=passpasspass", "dmarc", out, 8), -1);
	assert_int_equal(authres_method_result("id; none", "dmarc", out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_full),
		cmocka_unit_test(test_write_helo_and_none),
		cmocka_unit_test(test_write_hostile_values),
		cmocka_unit_test(test_write_folds_long_entries),
		cmocka_unit_test(test_read_claims),
		cmocka_unit_test(test_field_claims),
		cmocka_unit_test(test_method_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
