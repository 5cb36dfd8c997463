/* Unit tests for src/mail/summary.c: the header of a message as the index
 * caches it for SEARCH, SORT and THREAD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/summary.h"

static void read_hdr(struct mail_summary *s, const char *hdr)
{
	mail_summary_read(s, hdr, strlen(hdr));
}

static void test_decoded_fields(void **state)
{
	(void)state;
	struct mail_summary s;
	read_hdr(&s, "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n"
	             "To: a@x, \"Doe, John\" <john (work) @ example.com>\r\n"
	             "Subject: =?ISO-8859-1?Q?Re:_caf=E9?=\r\n"
	             " folded\r\n"
	             "Message-ID: <1@x>\r\n"
	             "References: <0@x>\r\n <00@x>\r\n"
	             "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
	             "\r\nbody\r\n");
	assert_string_equal(s.from, "J\xc3\xb6rg <joerg@example.org>");
	assert_string_equal(s.from_addrs, "J\xc3\xb6rg <joerg@example.org>");
	assert_string_equal(s.to, "a@x, \"Doe, John\" <john (work) @ example.com>");
	assert_string_equal(s.to_addrs, "<a@x>, Doe, John <john@example.com>");
	assert_string_equal(s.subject, "Re: caf\xc3\xa9 folded");
	assert_string_equal(s.base_subject, "caf\xc3\xa9 folded");
	assert_true(s.reply_or_fwd);
	assert_string_equal(s.message_id, "<1@x>");
	assert_string_equal(s.references, "<0@x> <00@x>");
	assert_null(s.in_reply_to);
	assert_null(s.cc);
	assert_null(s.cc_addrs);
	assert_true(s.has_date);
	assert_int_equal(s.sent_time, 1057049557);
	assert_string_equal(s.first_from, "joerg");
	assert_string_equal(s.first_to, "a");
	assert_string_equal(s.first_cc, "");
	assert_string_equal(s.display_from, "J\xc3\xb6rg");
	assert_string_equal(s.display_to, "a@x");
	mail_summary_free(&s);
}

static void test_repeated_and_empty_fields(void **state)
{
	(void)state;
	struct mail_summary s;
	read_hdr(&s, "To: first@x\nTo: second@y\nCc:\nSubject: one\nSubject: two\n"
	             "Date: not a date\n");
	assert_string_equal(s.to, "first@x\nsecond@y");
	assert_string_equal(s.to_addrs, "<first@x>\n<second@y>");
	assert_string_equal(s.cc, "");            /* present, empty */
	assert_string_equal(s.first_cc, "");
	assert_string_equal(s.subject, "one\ntwo");
	assert_string_equal(s.base_subject, "one");   /* the first field only */
	assert_false(s.reply_or_fwd);
	assert_string_equal(s.date, "not a date");
	assert_false(s.has_date);
	assert_null(s.from);
	assert_string_equal(s.first_from, "");
	assert_string_equal(s.display_from, "");
	mail_summary_free(&s);
}

static void test_groups_and_missing_parts(void **state)
{
	(void)state;
	struct mail_summary s;
	read_hdr(&s, "To: undisclosed-recipients:;\n"
	             "From: <@route:>, b@y\n"
	             "Cc: Team: ann@x, bob@y;, carl@z\n");
	assert_string_equal(s.first_to, "undisclosed-recipients");
	assert_string_equal(s.display_to, "undisclosed-recipients");
	assert_string_equal(s.to_addrs, "undisclosed-recipients:, ;");
	assert_string_equal(s.first_from, "MISSING_MAILBOX");
	assert_string_equal(s.display_from, "MISSING_MAILBOX@MISSING_DOMAIN");
	assert_string_equal(s.first_cc, "Team");
	assert_string_equal(s.cc_addrs, "Team:, <ann@x>, <bob@y>, ;, <carl@z>");
	mail_summary_free(&s);
}

static void test_no_header(void **state)
{
	(void)state;
	struct mail_summary s;
	read_hdr(&s, "");
	assert_null(s.subject);
	assert_string_equal(s.base_subject, "");
	assert_false(s.has_date);
	mail_summary_free(&s);
	read_hdr(&s, "no colon here\n\tfold\n:empty name\n");
	assert_null(s.from);
	mail_summary_free(&s);
	/* "O'Brien, Pat <p@x>" unquoted is two addresses, the first without a domain */
	read_hdr(&s, "From: O'Brien, Pat <p@x>\n");
	assert_string_equal(s.first_from, "O'Brien");
	assert_string_equal(s.display_from, "O'Brien@MISSING_DOMAIN");
	mail_summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoded_fields),
		cmocka_unit_test(test_repeated_and_empty_fields),
		cmocka_unit_test(test_groups_and_missing_parts),
		cmocka_unit_test(test_no_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
