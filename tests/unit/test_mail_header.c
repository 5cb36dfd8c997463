/* Unit tests for src/mail/header.c and the address splitter of
 * src/mail/address.c: the header reader in strict mode (what DKIM signs
 * and SMTP judges) and lenient mode (what IMAP renders from stored mail),
 * with the hostile inputs a sender controls: NUL, bare CR, lines without
 * a colon, a fold before any field, overlong lines, a 1 MiB header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/address.h"
#include "mail/date.h"
#include "mail/header.h"

/* ---- helpers ---- */

/* "name=value|name=value|..." of every field, values unfolded; "!" and the
 * error number appended when a strict reader stopped on an error. */
static char *fields_of(const char *hdr, size_t len, enum mail_header_mode mode)
{
	struct mail_header_iter it;
	struct mail_field f;
	size_t cap = 2 * len + 64, n = 0;
	char *out = malloc(cap);

	out[0] = '\0';
	mail_header_iter_init(&it, hdr, len, mode);
	while (mail_header_next(&it, &f)) {
		char *v = mail_unfold_dup(f.value, f.value_len);
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s=%s", n ? "|" : "", (int)f.name_len,
		                      f.name, v);
		free(v);
	}
	if (it.error != MAIL_HEADER_OK)
		snprintf(out + n, cap - n, "!%d", (int)it.error);
	return out;
}

static void assert_fields(const char *hdr, size_t len, enum mail_header_mode mode,
                          const char *want)
{
	char *got = fields_of(hdr, len, mode);
	if (strcmp(got, want) != 0)
		fail_msg("%s header \"%s\": got \"%s\", want \"%s\"",
		         mode == MAIL_HEADER_STRICT ? "strict" : "lenient", hdr, got, want);
	free(got);
}

static void assert_both(const char *hdr, const char *strict, const char *lenient)
{
	assert_fields(hdr, strlen(hdr), MAIL_HEADER_STRICT, strict);
	assert_fields(hdr, strlen(hdr), MAIL_HEADER_LENIENT, lenient);
}

/* ---- well-formed headers read the same in both modes ---- */

static void test_well_formed(void **state)
{
	static const char *const same[][2] = {
		{ "", "" },
		{ "\n", "" },
		{ "A: 1\n", "A=1" },
		{ "A: 1\r\nB: 2\r\n\r\nC: body\r\n", "A=1|B=2" },
		{ "A: 1\nB: 2\n\nC: body\n", "A=1|B=2" },
		{ "Subject: a\n b\n\tc\nTo: x\n", "Subject=a b\tc|To=x" },
		{ "From : obs@x\n", "From=obs@x" },             /* RFC 5322 4.5 */
		{ "X-Empty:\nY:   \n", "X-Empty=|Y=" },
		{ "Last: no line end", "Last=no line end" },
		{ "A: 1\n\n", "A=1" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
		assert_both(same[i][0], same[i][1], same[i][1]);
}

/* ---- malformed lines: strict stops, lenient skips ---- */

static void test_malformed(void **state)
{
	char buf[64];
	(void)state;

	/* a fold before any field */
	snprintf(buf, sizeof buf, " folded: x\nA: 1\n");
	assert_both(buf, "!1", "A=1");
	/* no colon at all, and an mbox "From " line */
	assert_both("A: 1\nnot a field\nB: 2\n", "A=1!2", "A=1|B=2");
	assert_both("From a@x Tue Nov 24 10:11:12 2026\nFrom: a@x\n", "!2",
	            "From a@x Tue Nov 24 10=11:12 2026|From=a@x");
	/* an empty name */
	assert_both(": x\nA: 1\n", "!2", "=x|A=1");
	/* a name with a space or an 8-bit octet in it */
	assert_both("Bad Name: x\n", "!2", "Bad Name=x");
	assert_both("N\xc3\xa4me: x\n", "!2", "N\xc3\xa4me=x");
	/* a control character in the name */
	assert_both("A\x01: x\n", "!2", "A\x01=x");
}

static void test_nul_and_bare_cr(void **state)
{
	static const char nul_value[] = "A: 1\nB: x\0y\nC: 3\n";
	static const char nul_name[] = "A\0B: 1\n";
	(void)state;

	assert_fields(nul_value, sizeof nul_value - 1, MAIL_HEADER_STRICT, "A=1!3");
	/* lenient keeps the field: the value is as long as it was */
	{
		struct mail_header_iter it;
		struct mail_field f;
		mail_header_iter_init(&it, nul_value, sizeof nul_value - 1, MAIL_HEADER_LENIENT);
		assert_true(mail_header_next(&it, &f));
		assert_true(mail_header_next(&it, &f));
		assert_int_equal(f.value_len, 4);
		assert_memory_equal(f.value, " x\0y", 4);
		assert_true(mail_header_next(&it, &f));
		assert_false(mail_header_next(&it, &f));
	}
	assert_fields(nul_name, sizeof nul_name - 1, MAIL_HEADER_STRICT, "!2");

	/* a CR not followed by LF, in a value, a fold, or at the very end */
	assert_both("A: x\ry\nB: 2\n", "!4", "A=x\ry|B=2");
	assert_both("A: x\n y\rz\n", "!4", "A=x y\rz");
	assert_fields("A: x\r", 5, MAIL_HEADER_STRICT, "!4");
	assert_fields("A: x\r", 5, MAIL_HEADER_LENIENT, "A=x");
	/* CRLF is a line end, not a bare CR */
	assert_both("A: x\r\n y\r\n", "A=x y", "A=x y");
}

/* The error text names what is wrong (DKIM reports it). */
static void test_error_text(void **state)
{
	struct mail_header h;
	char err[128];
	(void)state;

	assert_int_equal(mail_header_parse(&h, " x\n", 3, MAIL_HEADER_STRICT, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "continuation"));
	mail_header_free(&h);
	assert_int_equal(mail_header_parse(&h, "A: 1\nx\n", 7, MAIL_HEADER_STRICT, 0, err,
	                                   sizeof err), -1);
	assert_non_null(strstr(err, "malformed"));
	assert_non_null(strstr(err, "after field 1"));
	mail_header_free(&h);
	assert_int_equal(mail_header_parse(&h, "A: \0\n", 5, MAIL_HEADER_STRICT, 0, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "NUL"));
	mail_header_free(&h);
	/* lenient never fails on the octets, only on the field limit */
	assert_int_equal(mail_header_parse(&h, " x\n\0\nA: 1\nB: 2\n", 15, MAIL_HEADER_LENIENT, 2,
	                                   err, sizeof err), 0);
	assert_int_equal(h.nfields, 2);
	mail_header_free(&h);
	assert_int_equal(mail_header_parse(&h, "A: 1\nB: 2\nC: 3\n", 15, MAIL_HEADER_LENIENT, 2,
	                                   err, sizeof err), -1);
	assert_non_null(strstr(err, "more than 2"));
	mail_header_free(&h);
}

/* ---- size ---- */

/* One line of 1 MiB, and a 1 MiB header of 100-octet fields and folds: read
 * whole, in bounded time, in both modes; the line is never cut. */
static void test_overlong_and_large(void **state)
{
	size_t big = 1024 * 1024, n;
	char *m = malloc(big + 64);
	struct mail_header h;
	char err[128];
	(void)state;

	n = (size_t)snprintf(m, big, "X-Long: ");
	memset(m + n, 'x', big - n - 1);
	m[big - 1] = '\n';
	for (int mode = 0; mode < 2; mode++) {
		assert_int_equal(mail_header_parse(&h, m, big, (enum mail_header_mode)mode, 0, err,
		                                   sizeof err), 0);
		assert_int_equal(h.nfields, 1);
		assert_int_equal(mail_field_len(&h.fields[0]), big - 1);
		assert_int_equal(h.fields[0].raw_len, big);
		mail_header_free(&h);
	}

	/* many fields, some folded: 1 MiB */
	n = 0;
	for (int i = 0; n + 100 < big; i++)
		n += (size_t)snprintf(m + n, big + 64 - n, i % 3 ? "Received: from h%d by x\n"
		                                                 : " folded line %d of the field\n", i);
	/* the first line is a fold: strict refuses it, lenient skips it */
	assert_int_equal(m[0], ' ');
	assert_int_equal(mail_header_parse(&h, m, n, MAIL_HEADER_STRICT, 0, err, sizeof err), -1);
	mail_header_free(&h);
	assert_int_equal(mail_header_parse(&h, m, n, MAIL_HEADER_LENIENT, 0, err, sizeof err), 0);
	assert_true(mail_header_count(&h, "received") > 20000);
	mail_header_free(&h);
	/* a field limit bounds the memory a header costs */
	assert_int_equal(mail_header_parse(&h, m, n, MAIL_HEADER_LENIENT, 1000, err, sizeof err), -1);
	mail_header_free(&h);
	free(m);
}

/* ---- the end of the header block ---- */

static void test_block_end(void **state)
{
	size_t scan = 0, hdr_len = 99, body = 99;
	const char *m = "A: 1\r\nB: 2\r\n\r\nbody\n";
	(void)state;

	assert_true(mail_header_block_end(m, strlen(m), &scan, &hdr_len, &body));
	assert_int_equal(hdr_len, 12);
	assert_int_equal(body, 14);
	scan = 0;
	assert_true(mail_header_block_end("\nbody", 5, &scan, &hdr_len, &body));
	assert_int_equal(hdr_len, 0);
	assert_int_equal(body, 1);
	/* a buffer that grows: resumed where it stopped, a split line seen whole */
	scan = 0;
	assert_false(mail_header_block_end("A: 1\nB: 2", 9, &scan, &hdr_len, &body));
	assert_int_equal(scan, 5);
	assert_false(mail_header_block_end("A: 1\nB: 2\n", 10, &scan, &hdr_len, &body));
	assert_true(mail_header_block_end("A: 1\nB: 2\n\n", 11, &scan, &hdr_len, &body));
	assert_int_equal(hdr_len, 10);
	assert_int_equal(body, 11);
	/* white space alone is not an empty line */
	scan = 0;
	assert_false(mail_header_block_end("A: 1\n \nB\n", 9, &scan, &hdr_len, &body));
}

static void test_find_and_count(void **state)
{
	const char *m = "received: a\nFrom: x\nReceived : b\nRECEIVED: c\n\nReceived: body\n";
	struct mail_header h;
	struct mail_field f;
	char err[64];
	(void)state;

	assert_true(mail_header_find(m, strlen(m), "from", &f));
	assert_int_equal(f.value_len, 2);
	assert_false(mail_header_find(m, strlen(m), "Subject", &f));
	assert_int_equal(mail_header_parse(&h, m, strlen(m), MAIL_HEADER_STRICT, 0, err, sizeof err),
	                 0);
	assert_int_equal(mail_header_count(&h, "Received"), 3);
	assert_int_equal(mail_header_count(&h, "Receive"), 0);
	mail_header_free(&h);
}

/* ---- addresses ---- */

static void test_address_split(void **state)
{
	size_t local;
	(void)state;

	assert_string_equal(mail_address_split("user@example.org", &local), "example.org");
	assert_int_equal(local, 4);
	/* the last '@': a quoted local part may hold one */
	assert_string_equal(mail_address_split("\"a@b\"@c.d", &local), "c.d");
	assert_int_equal(local, 5);
	assert_null(mail_address_split("postmaster", &local));
	assert_int_equal(local, 10);
	assert_string_equal(mail_address_split("@d", &local), "d");
	assert_int_equal(local, 0);
	assert_string_equal(mail_address_split("u@", &local), "");
	assert_int_equal(local, 1);
	assert_null(mail_address_split("", &local));
	assert_int_equal(local, 0);
}

static void test_address_list_kinds(void **state)
{
	struct mail_address *a;
	const char *v = "Team: Ann <ann@x>, bob@y;, user, <>";
	size_t n = mail_address_list_new(v, strlen(v), &a);
	(void)state;

	assert_int_equal(n, 6);
	assert_int_equal(a[0].kind, MAIL_ADDRESS_GROUP_START);
	assert_string_equal(a[0].name, "Team");
	assert_string_equal(a[1].name, "Ann");
	assert_string_equal(a[1].local, "ann");
	assert_string_equal(a[1].domain, "x");
	assert_null(a[2].name);
	assert_string_equal(a[2].domain, "y");
	assert_int_equal(a[3].kind, MAIL_ADDRESS_GROUP_END);
	/* missing parts are absent, not made up */
	assert_int_equal(a[4].kind, MAIL_ADDRESS_MAILBOX);
	assert_string_equal(a[4].local, "user");
	assert_null(a[4].domain);
	assert_null(a[5].local);
	assert_null(a[5].domain);
	mail_address_list_free(a, n);
}

/* ---- dates ---- */

static void test_date(void **state)
{
	struct mail_date d;
	(void)state;

	assert_true(mail_date_parse("Tue, 1 Jul 2003 10:52:37 +0200", 30, &d));
	assert_int_equal(d.day, mail_days_from_civil(2003, 7, 1));
	assert_int_equal(d.zone_minutes, 120);
	assert_int_equal(d.unix_time, 1057049557);
	assert_false(mail_date_parse("31 Feb 2003 10:52:37", 20, &d));
	assert_int_equal(mail_month_from_name("dec", 3), 12);
	assert_int_equal(mail_month_from_name("Decem", 5), 0);
	assert_int_equal(mail_days_in_month(2000, 2), 29);
	assert_int_equal(mail_days_in_month(1900, 2), 28);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_bare_cr),
		cmocka_unit_test(test_error_text),
		cmocka_unit_test(test_overlong_and_large),
		cmocka_unit_test(test_block_end),
		cmocka_unit_test(test_find_and_count),
		cmocka_unit_test(test_address_split),
		cmocka_unit_test(test_address_list_kinds),
		cmocka_unit_test(test_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
