/* Unit tests for src/imap/imap_search_parse.c: SEARCH criteria trees (every key,
 * OR / NOT / groups, limits, CHARSET, RETURN), IMAP dates and the evaluator. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "imap/imap_parse.h"
#include "imap/imap_search_parse.h"
#include "mail/date.h"

/* ---- helpers ---- */

struct harness {
	struct imap_reader r;
	struct imap_command cmd;
	struct imap_cursor c;
	struct imap_search s;
	enum imap_search_status st;
};

/* Assembles "t SEARCH <args>" (literals answered) and parses the command,
 * the cursor at its arguments. */
static void h_cursor(struct harness *h, const char *args)
{
	char line[8192];
	size_t off = 0, used, len;
	enum imap_read_result res = IMAP_READ_MORE;
	struct imap_raw_command raw;

	len = (size_t)snprintf(line, sizeof line, "t SEARCH %s\r\n", args);
	assert_true(len < sizeof line);
	imap_reader_init(&h->r, IMAP_LINE_MAX_DEFAULT, 1000, 1000);
	while (off < len && res != IMAP_READ_COMMAND) {
		res = imap_reader_feed(&h->r, line + off, len - off, &used);
		off += used;
	}
	assert_int_equal(res, IMAP_READ_COMMAND);
	imap_reader_command(&h->r, &raw);
	assert_int_equal(imap_command_parse(&h->cmd, &raw, 0), 0);
	imap_command_args(&h->cmd, &h->c);
	h->s = (struct imap_search){ 0 };
}

/* The same, and the criteria parsed. */
static void h_search(struct harness *h, const char *args, unsigned flags)
{
	h_cursor(h, args);
	h->st = imap_search_parse(&h->s, &h->c, flags);
}

static void h_free(struct harness *h)
{
	imap_search_free(&h->s);
	imap_command_free(&h->cmd);
	imap_reader_free(&h->r);
}

static void expect_search_ok(const char *args)
{
	struct harness h;

	h_search(&h, args, IMAP_SEARCH_ALLOW_SAVED);
	if (h.st != IMAP_SEARCH_OK)
		fail_msg("\"%s\": %s", args, h.cmd.error ? h.cmd.error : "BADCHARSET");
	h_free(&h);
}

static void expect_search_bad(const char *args, const char *error)
{
	struct harness h;

	h_search(&h, args, 0);
	assert_int_equal(h.st, IMAP_SEARCH_BAD);
	if (error != NULL)
		assert_string_equal(h.cmd.error, error);
	h_free(&h);
}

static enum imap_tri eval(const char *args, const struct imap_search_msg *m,
                          const struct imap_search_ctx *ctx)
{
	struct harness h;

	h_search(&h, args, IMAP_SEARCH_ALLOW_SAVED);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	enum imap_tri r = imap_search_eval(&h.s, m, ctx);
	h_free(&h);
	return r;
}

/* ---- parsing ---- */

static void test_search_tree(void **state)
{
	struct harness h;
	const struct imap_search_node *n;
	(void)state;

	h_search(&h, "FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_false(h.s.esearch);
	assert_true(h.s.uses_text);
	n = h.s.root;
	assert_int_equal(n->key, IMAP_SK_AND);
	n = n->child;
	assert_int_equal(n->key, IMAP_SK_FLAG);
	assert_int_equal(n->flag, IMAP_FLAG_FLAGGED);
	n = n->next;
	assert_int_equal(n->key, IMAP_SK_SINCE);
	assert_int_equal(n->day, 8797);
	n = n->next;
	assert_int_equal(n->key, IMAP_SK_NOT);
	assert_int_equal(n->child->key, IMAP_SK_FROM);
	assert_string_equal(n->child->str, "Smith");
	assert_null(n->next);
	assert_int_equal(h.s.nodes, 5);
	h_free(&h);

	h_search(&h, "OR (SEEN 2:4) NOT OR DELETED UID 7:*", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	n = h.s.root->child;
	assert_int_equal(n->key, IMAP_SK_OR);
	assert_int_equal(n->child->key, IMAP_SK_AND);
	assert_int_equal(n->child->child->key, IMAP_SK_FLAG);
	assert_int_equal(n->child->child->next->key, IMAP_SK_SEQSET);
	assert_int_equal(n->child->child->next->set.ranges[0].lo, 2);
	assert_int_equal(n->child->next->key, IMAP_SK_NOT);
	assert_int_equal(n->child->next->child->key, IMAP_SK_OR);
	assert_int_equal(n->child->next->child->child->next->key, IMAP_SK_UID);
	assert_true(n->child->next->child->child->next->set.has_star);
	assert_null(n->next);
	h_free(&h);

	/* strings as literals, HEADER, keywords, sizes */
	h_search(&h, "HEADER {8}\r\nX-Mailer \"\" KEYWORD $Junk LARGER 4294967296 TEXT {3}\r\n\xc3\xa9x", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	n = h.s.root->child;
	assert_int_equal(n->key, IMAP_SK_HEADER);
	assert_string_equal(n->field, "X-Mailer");
	assert_string_equal(n->str, "");
	n = n->next;
	assert_int_equal(n->key, IMAP_SK_KEYWORD);
	assert_string_equal(n->str, "$Junk");
	n = n->next;
	assert_int_equal(n->number, 4294967296u);
	n = n->next;
	assert_int_equal(n->key, IMAP_SK_TEXT);
	assert_string_equal(n->str, "\xc3\xa9x");
	h_free(&h);
}

static void test_search_every_key(void **state)
{
	static const struct {
		const char *args;
		enum imap_search_key key;
	} keys[] = {
		{ "ALL", IMAP_SK_ALL }, { "ANSWERED", IMAP_SK_FLAG }, { "BCC x", IMAP_SK_BCC },
		{ "BEFORE 1-Jan-2000", IMAP_SK_BEFORE }, { "BODY x", IMAP_SK_BODY },
		{ "CC x", IMAP_SK_CC }, { "DELETED", IMAP_SK_FLAG }, { "DRAFT", IMAP_SK_FLAG },
		{ "FLAGGED", IMAP_SK_FLAG }, { "FROM x", IMAP_SK_FROM },
		{ "HEADER Subject x", IMAP_SK_HEADER }, { "KEYWORD foo", IMAP_SK_KEYWORD },
		{ "LARGER 10", IMAP_SK_LARGER }, { "NEW", IMAP_SK_NEW }, { "NOT ALL", IMAP_SK_NOT },
		{ "OLD", IMAP_SK_UNFLAG }, { "ON \"1-Jan-2000\"", IMAP_SK_ON },
		{ "OR ALL ALL", IMAP_SK_OR }, { "RECENT", IMAP_SK_FLAG }, { "SEEN", IMAP_SK_FLAG },
		{ "SENTBEFORE 1-Jan-2000", IMAP_SK_SENTBEFORE },
		{ "SENTON 1-Jan-2000", IMAP_SK_SENTON }, { "SENTSINCE 1-Jan-2000", IMAP_SK_SENTSINCE },
		{ "SINCE 1-Jan-2000", IMAP_SK_SINCE }, { "SMALLER 10", IMAP_SK_SMALLER },
		{ "SUBJECT x", IMAP_SK_SUBJECT }, { "TEXT x", IMAP_SK_TEXT }, { "TO x", IMAP_SK_TO },
		{ "UID 1", IMAP_SK_UID }, { "UNANSWERED", IMAP_SK_UNFLAG },
		{ "UNDELETED", IMAP_SK_UNFLAG }, { "UNDRAFT", IMAP_SK_UNFLAG },
		{ "UNFLAGGED", IMAP_SK_UNFLAG }, { "UNKEYWORD foo", IMAP_SK_UNKEYWORD },
		{ "UNSEEN", IMAP_SK_UNFLAG }, { "1:3", IMAP_SK_SEQSET }, { "*", IMAP_SK_SEQSET },
		{ "$", IMAP_SK_SEQSET }, { "(ALL)", IMAP_SK_AND }, { "MODSEQ 0", IMAP_SK_MODSEQ },
		{ "unseen", IMAP_SK_UNFLAG }, { "sUbJeCt x", IMAP_SK_SUBJECT },
	};
	struct harness h;
	char buf[64];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		h_search(&h, keys[i].args, IMAP_SEARCH_ALLOW_SAVED);
		if (h.st != IMAP_SEARCH_OK)
			fail_msg("%s: %s", keys[i].args, h.cmd.error);
		assert_int_equal(h.s.root->child->key, keys[i].key);
		assert_null(h.s.root->child->next);
		h_free(&h);
		/* and each one missing its argument, where it takes one */
		snprintf(buf, sizeof buf, "%s", keys[i].args);
		char *sp = strchr(buf, ' ');
		if (sp != NULL && keys[i].key != IMAP_SK_HEADER) {
			*sp = '\0';
			expect_search_bad(buf, NULL);
		}
	}
	assert_true(IMAP_SK_MODSEQ > IMAP_SK_TEXT);
}

static void test_search_errors(void **state)
{
	(void)state;

	expect_search_bad("", "Missing search key");
	expect_search_bad("FOO", "Unknown search key");
	expect_search_bad("\\Seen", "Unknown search key");
	expect_search_bad("\"ALL\"", "Unknown search key");
	expect_search_bad("FROM", "Missing argument");
	expect_search_bad("OR ALL", "Missing argument");
	expect_search_bad("NOT", "Missing argument");
	expect_search_bad("()", "Missing search key");
	expect_search_bad("(ALL FOO)", "Unknown search key");
	expect_search_bad("KEYWORD \\Seen", "Expected an atom");
	expect_search_bad("HEADER \"\" x", "Empty header field name");
	expect_search_bad("LARGER -1", "Invalid number");
	expect_search_bad("LARGER 9223372036854775808", "Invalid number");
	expect_search_bad("SINCE 31-Feb-2024", "Invalid date (expected e.g. 1-Feb-2024)");
	expect_search_bad("SINCE {10}\r\n1-Feb-2024", "Invalid date (expected e.g. 1-Feb-2024)");
	expect_search_bad("0", "Sequence number 0 is not allowed");
	expect_search_bad("1,,2", "Invalid sequence set");
	expect_search_bad("$", "\"$\" is not allowed here");
	expect_search_bad("UID $", "\"$\" is not allowed here");
	expect_search_bad("MODSEQ \"/flags/\\\\Seen\" everything 5", "Invalid MODSEQ entry type");
	expect_search_bad("MODSEQ \"/flag/x\" all 5", "Invalid MODSEQ entry name");
	expect_search_bad("MODSEQ \"/flags/\" all 5", "Invalid MODSEQ entry name");
	expect_search_bad("RETURN (FOO) ALL", "Unknown RETURN option");
	expect_search_bad("RETURN (SAVE) ALL", "Unknown RETURN option");
	expect_search_bad("RETURN ALL", "Expected a parenthesised list");
	expect_search_bad("CHARSET", "Missing argument");
	expect_search_bad("CHARSET UTF-8", "Missing search key");
	expect_search_bad("CHARSET UTF-8 RETURN (ALL) ALL", "Unknown search key");
	expect_search_bad("ALL CHARSET UTF-8 ALL", "Unknown search key");
}

static void test_search_charset_return(void **state)
{
	struct harness h;
	(void)state;

	h_search(&h, "CHARSET UTF-8 SUBJECT \"\xc3\xa9t\xc3\xa9\"", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_true(h.s.charset_utf8);
	h_free(&h);
	h_search(&h, "CHARSET \"us-ascii\" ALL", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_false(h.s.charset_utf8);
	h_free(&h);
	h_search(&h, "CHARSET ISO-8859-1 SUBJECT x", 0);
	assert_int_equal(h.st, IMAP_SEARCH_BADCHARSET);
	assert_null(h.cmd.error);
	h_free(&h);
	h_search(&h, "CHARSET {5}\r\nKOI8R ALL", 0);
	assert_int_equal(h.st, IMAP_SEARCH_BADCHARSET);
	h_free(&h);

	h_search(&h, "RETURN (MIN max COUNT) CHARSET UTF-8 ALL", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_true(h.s.esearch);
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | IMAP_SEARCH_RET_COUNT);
	h_free(&h);
	h_search(&h, "RETURN () UNSEEN", 0);
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_ALL);
	h_free(&h);
	h_search(&h, "RETURN (SAVE) 1:* $", IMAP_SEARCH_ALLOW_SAVED);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_SAVE);
	assert_true(h.s.uses_saved);
	h_free(&h);
	h_search(&h, "MODSEQ \"/flags/\\\\draft\" priv 620162338", 0);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_true(h.s.uses_modseq);
	assert_string_equal(h.s.root->child->entry, "/flags/\\draft");
	assert_int_equal(h.s.root->child->entry_type, IMAP_ENTRY_PRIV);
	assert_int_equal(h.s.root->child->number, 620162338);
	h_free(&h);
}

static void test_search_limits(void **state)
{
	char *buf = malloc(16 * 1024);
	struct harness h;
	size_t n;
	(void)state;

	/* IMAP_SEARCH_DEPTH_MAX levels of NOT, and one more */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		for (int i = 1; i < IMAP_SEARCH_DEPTH_MAX + extra; i++)
			n += (size_t)sprintf(buf + n, "NOT ");
		strcpy(buf + n, "ALL");
		h_search(&h, buf, 0);
		if (extra == 0) {
			assert_int_equal(h.st, IMAP_SEARCH_OK);
		} else {
			assert_int_equal(h.st, IMAP_SEARCH_BAD);
			assert_string_equal(h.cmd.error, "Search criteria nested too deeply");
		}
		h_free(&h);
	}
	/* and of parentheses */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		for (int i = 1; i < IMAP_SEARCH_DEPTH_MAX + extra; i++)
			buf[n++] = '(';
		n += (size_t)sprintf(buf + n, "ALL");
		for (int i = 1; i < IMAP_SEARCH_DEPTH_MAX + extra; i++)
			buf[n++] = ')';
		buf[n] = '\0';
		h_search(&h, buf, 0);
		assert_int_equal(h.st, extra == 0 ? IMAP_SEARCH_OK : IMAP_SEARCH_BAD);
		h_free(&h);
	}
	/* an OR chain nests too */
	n = 0;
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(buf + n, "OR SEEN ");
	strcpy(buf + n, "ALL");
	expect_search_bad(buf, "Search criteria nested too deeply");

	/* node count: the root and IMAP_SEARCH_NODES_MAX - 1 keys, then one more */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		for (int i = 0; i < IMAP_SEARCH_NODES_MAX - 1 + extra; i++)
			n += (size_t)sprintf(buf + n, "%sALL", i ? " " : "");
		h_search(&h, buf, 0);
		if (extra == 0) {
			assert_int_equal(h.st, IMAP_SEARCH_OK);
			assert_int_equal(h.s.nodes, IMAP_SEARCH_NODES_MAX);
		} else {
			assert_int_equal(h.st, IMAP_SEARCH_BAD);
			assert_string_equal(h.cmd.error, "Too many search keys");
		}
		h_free(&h);
	}
	free(buf);
}

/* ---- dates ---- */

static void test_dates(void **state)
{
	int32_t d;
	int64_t t;
	int zone;
	(void)state;

	assert_int_equal(mail_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(mail_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(mail_days_from_civil(1, 1, 1), -719162);
	assert_int_equal(mail_days_from_civil(9999, 12, 31), 2932896);

	assert_true(imap_date_parse("1-Feb-1994", 10, &d));
	assert_int_equal(d, 8797);
	assert_true(imap_date_parse("01-fEB-1994", 11, &d));
	assert_int_equal(d, 8797);
	assert_true(imap_date_parse("29-Feb-2024", 11, &d));
	assert_int_equal(d, 19782);
	assert_true(imap_date_parse("29-Feb-2000", 11, &d));
	assert_false(imap_date_parse("29-Feb-1900", 11, &d));
	assert_false(imap_date_parse("29-Feb-2023", 11, &d));
	assert_false(imap_date_parse("31-Apr-2023", 11, &d));
	assert_false(imap_date_parse("0-Jan-2023", 10, &d));
	assert_false(imap_date_parse("001-Jan-2023", 12, &d));
	assert_false(imap_date_parse("1-Jan-99", 8, &d));
	assert_false(imap_date_parse("1-Jan-0000", 10, &d));
	assert_false(imap_date_parse("1-Foo-2000", 10, &d));
	assert_false(imap_date_parse("1 Jan 2000", 10, &d));
	assert_false(imap_date_parse("1-Jan-2000x", 11, &d));
	assert_false(imap_date_parse("", 0, &d));
	assert_false(imap_date_parse("a1-Jan-2000", 11, &d));

	assert_true(imap_date_time_parse("17-Jul-1996 02:44:25 -0700", 26, &t, &zone));
	assert_int_equal(t, 837596665);
	assert_int_equal(zone, -420);
	assert_true(imap_date_time_parse(" 7-Jul-1996 02:44:25 +0000", 26, &t, &zone));
	assert_true(imap_date_time_parse("31-Dec-1998 23:59:60 +1400", 26, &t, &zone));
	assert_false(imap_date_time_parse("7-Jul-1996 02:44:25 -0700", 25, &t, &zone));
	assert_false(imap_date_time_parse("17-Jul-1996 24:44:25 -0700", 26, &t, &zone));
	assert_false(imap_date_time_parse("17-Jul-1996 02:60:25 -0700", 26, &t, &zone));
	assert_false(imap_date_time_parse("17-Jul-1996 02:44:25 0700 ", 26, &t, &zone));
	assert_false(imap_date_time_parse("17-Jul-1996 02:44:25 -0760", 26, &t, &zone));
	assert_false(imap_date_time_parse("17-Jul-1996T02:44:25 -0700", 26, &t, &zone));
	assert_int_equal(t, 0);

	assert_int_equal(imap_day_of(0, 0), 0);
	assert_int_equal(imap_day_of(-1, 0), -1);
	assert_int_equal(imap_day_of(86399, 1), 1);
	assert_int_equal(imap_day_of(837596665, -420), mail_days_from_civil(1996, 7, 17));
	assert_int_equal(imap_day_of(INT64_MAX, 0), imap_day_of(INT64_C(1) << 52, 0));
	assert_true(imap_day_of(INT64_MIN, -1439) < 0);
}

/* Date: header values (RFC 5322 3.3 and 4.3): the date as written, in
 * the header's own zone; unix_time checks the zone was read. */
static void test_header_dates(void **state)
{
	static const struct {
		const char *in;
		int y, m, d;            /* 0: not a date */
		int zone;
		int64_t unix_time;      /* 0: not checked */
	} cases[] = {
		{ "Tue, 1 Jul 2003 10:52:37 +0200", 2003, 7, 1, 120, 1057049557 },
		{ "1 Jul 2003 10:52:37 +0200", 2003, 7, 1, 120, 1057049557 },
		/* near midnight: the date as written, not the UTC one */
		{ "Mon, 31 Dec 2001 23:30:00 -0500", 2001, 12, 31, -300, 1009859400 },
		{ "Tue, 01 Jan 2002 00:30:00 +1400", 2002, 1, 1, 840, 0 },
		/* obsolete years */
		{ "Tue, 1 Jul 03 10:52:37 +0200", 2003, 7, 1, 120, 0 },
		{ "1 Jul 49 10:52 +0000", 2049, 7, 1, 0, 0 },
		{ "1 Jul 50 10:52 +0000", 1950, 7, 1, 0, 0 },
		{ "1 Jul 99 10:52 +0000", 1999, 7, 1, 0, 0 },
		{ "1 Jul 103 10:52 +0000", 2003, 7, 1, 0, 0 },
		{ "29 Feb 00 12:00 +0000", 2000, 2, 29, 0, 0 },
		/* no seconds; one-digit hour; leap second */
		{ "Fri, 21 Nov 1997 09:55 -0600", 1997, 11, 21, -360, 880127700 },
		{ "21 Nov 1997 9:55:06 GMT", 1997, 11, 21, 0, 880106106 },
		{ "31 Dec 2016 23:59:60 +0000", 2016, 12, 31, 0, 1483228799 },
		/* zone names; military letters and unknown names are -0000 */
		{ "21 Nov 1997 09:55:06 UT", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06 EST", 1997, 11, 21, -300, 0 },
		{ "21 Nov 1997 09:55:06 edt", 1997, 11, 21, -240, 0 },
		{ "21 Nov 1997 09:55:06 CST", 1997, 11, 21, -360, 0 },
		{ "21 Nov 1997 09:55:06 CDT", 1997, 11, 21, -300, 0 },
		{ "21 Nov 1997 09:55:06 MST", 1997, 11, 21, -420, 0 },
		{ "21 Nov 1997 09:55:06 MDT", 1997, 11, 21, -360, 0 },
		{ "21 Nov 1997 09:55:06 PST", 1997, 11, 21, -480, 0 },
		{ "21 Nov 1997 09:55:06 PDT", 1997, 11, 21, -420, 0 },
		{ "21 Nov 1997 09:55:06 Z", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06 A", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06 CET", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06 +01", 1997, 11, 21, 0, 0 },
		{ "21 Nov 1997 09:55:06 -0330", 1997, 11, 21, -210, 0 },
		/* comments, folds, odd spacing, case */
		{ "Thu, 13 Feb 1969 23:32:54 -0330 (Newfoundland Time)", 1969, 2, 13, -210,
		  -27723426 },
		{ "Wed, 12 Mar 2025 08:00:00 +0100 (CET)", 2025, 3, 12, 60, 0 },
		{ " (x) Thu (y) , (z) 13 (a\\) b) FEB (c) 1969 (d) 23 : 32 : 54 (e) -0330 (f)",
		  1969, 2, 13, -210, 0 },
		{ "Thu,\r\n 13\r\n\tFeb 1969\r\n 23:32:54 -0330", 1969, 2, 13, -210, 0 },
		{ "thu,13 feb 1969 23:32:54 -0330", 1969, 2, 13, -210, 0 },
		{ "Thu 13 Feb 1969 23:32:54 -0330", 1969, 2, 13, -210, 0 },
		{ "13Feb1969 23:32 -0330", 1969, 2, 13, -210, 0 },
		{ "Tue, 1 Jul 2003 10:52:37 +0200 trailing junk", 2003, 7, 1, 120, 0 },
		/* garbage */
		{ "", 0, 0, 0, 0, 0 },
		{ "garbage", 0, 0, 0, 0, 0 },
		{ "Tuesday, 1 Jul 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "Tue, 1 July 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "Tue, 1 Jux 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "Tue, 31 Jun 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "29 Feb 1900 10:52:37 +0000", 0, 0, 0, 0, 0 },
		{ "0 Jul 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "001 Jul 2003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "1 Jul 2 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "1 Jul 20003 10:52:37 +0200", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 10", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 24:00:00 +0000", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 10:60:00 +0000", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 10:52:61 +0000", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 10:5 +0000", 0, 0, 0, 0, 0 },
		{ "1 Jul 2003 100:52 +0000", 0, 0, 0, 0, 0 },
		{ "2003-07-01 10:52:37", 0, 0, 0, 0, 0 },
		{ "1 Jul (unterminated 2003 10:52:37", 0, 0, 0, 0, 0 },
		{ "-1 Jul 2003 10:52:37", 0, 0, 0, 0, 0 },
	};
	struct mail_date hd;
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *in = cases[i].in;
		bool ok = mail_date_parse(in, strlen(in), &hd);
		if (ok != (cases[i].y != 0))
			fail_msg("\"%s\": parsed %d", in, ok);
		if (!ok)
			continue;
		if (hd.day != mail_days_from_civil(cases[i].y, (unsigned)cases[i].m, (unsigned)cases[i].d))
			fail_msg("\"%s\": day %d", in, hd.day);
		if (hd.zone_minutes != cases[i].zone)
			fail_msg("\"%s\": zone %d", in, hd.zone_minutes);
		if (cases[i].unix_time != 0 && hd.unix_time != cases[i].unix_time)
			fail_msg("\"%s\": unix time %lld", in, (long long)hd.unix_time);
	}
	/* the length is respected: no reading past it */
	assert_true(mail_date_parse("1 Jul 2003 10:52:37 +0200", 16, &hd));
	assert_int_equal(hd.zone_minutes, 0);
	assert_false(mail_date_parse("1 Jul 2003 10:52:37", 12, &hd));
}

/* ---- evaluation ---- */

static int text_cb(void *arg, const struct imap_search_node *n, const struct imap_search_msg *m)
{
	(void)m;
	*(int *)arg += 1;
	if (n->key == IMAP_SK_SUBJECT)
		return strcmp(n->str, "hello") == 0;
	return -1;
}

static void test_search_eval(void **state)
{
	struct imap_search_msg m = {
		.seq = 3, .uid = 30, .flags = IMAP_FLAG_SEEN | IMAP_FLAG_FLAGGED,
		.keyword_list = "$Forwarded Work", .size = 1000,
		.internal_day = 8797, .sent_day = 8796, .modseq = 50,
	};
	struct imap_seqset saved;
	const char *err;
	int calls = 0;
	struct imap_search_ctx ctx = { .max_seq = 5, .max_uid = 42 };
	(void)state;

	assert_int_equal(eval("ALL", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("SEEN FLAGGED UNDELETED UNANSWERED UNDRAFT OLD", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("DELETED", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("UNSEEN", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("NEW", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("RECENT", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("NOT SEEN", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("OR DELETED FLAGGED", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("OR DELETED DRAFT", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("KEYWORD work UNKEYWORD $Junk", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("KEYWORD $Junk", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("UNKEYWORD $FORWARDED", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("LARGER 999 SMALLER 1001", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("LARGER 1000", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("SMALLER 1000", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("ON 1-Feb-1994 SINCE 1-Feb-1994 BEFORE 2-Feb-1994", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("BEFORE 1-Feb-1994", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("SINCE 2-Feb-1994", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("SENTON 31-Jan-1994 SENTBEFORE 1-Feb-1994", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("SENTSINCE 1-Feb-1994", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("MODSEQ 50", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("MODSEQ 51", &m, &ctx), IMAP_TRI_NO);
	/* sequence numbers and UIDs, with "*" */
	assert_int_equal(eval("2:4 UID 30", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("4:*", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("UID 31:*", &m, &ctx), IMAP_TRI_NO);
	ctx.max_seq = 3;
	assert_int_equal(eval("*", &m, &ctx), IMAP_TRI_YES);
	ctx.max_uid = 30;
	assert_int_equal(eval("UID 100:*", &m, &ctx), IMAP_TRI_YES);
	/* "$": the saved result, by UID */
	assert_int_equal(eval("$", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(imap_seqset_parse(&saved, "10,30", 5, 0, &err), 0);
	ctx.saved = &saved;
	assert_int_equal(eval("$ UID $", &m, &ctx), IMAP_TRI_YES);
	imap_seqset_free(&saved);
	ctx.saved = NULL;

	/* text keys: unknown without a callback, three-valued logic */
	assert_int_equal(eval("SUBJECT hello", &m, &ctx), IMAP_TRI_MAYBE);
	assert_int_equal(eval("SUBJECT hello DELETED", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("OR SUBJECT hello SEEN", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("OR SUBJECT hello DELETED", &m, &ctx), IMAP_TRI_MAYBE);
	assert_int_equal(eval("NOT BODY x", &m, &ctx), IMAP_TRI_MAYBE);
	assert_int_equal(eval("(SEEN TEXT x)", &m, &ctx), IMAP_TRI_MAYBE);
	ctx.text_match = text_cb;
	ctx.arg = &calls;
	assert_int_equal(eval("SUBJECT hello", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("NOT SUBJECT bye", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("FROM x", &m, &ctx), IMAP_TRI_MAYBE);
	assert_int_equal(calls, 3);

	struct imap_search empty = { 0 };
	assert_int_equal(imap_search_eval(&empty, &m, &ctx), IMAP_TRI_NO);
}

/* The index's space-separated list: every keyword counts, however many
 * and however long (a fixed split once dropped those past the 32nd). */
static void test_search_keyword_list(void **state)
{
	char list[1024], args[400], longkw[301];
	size_t len = 0;
	struct imap_search_ctx ctx = { .max_seq = 1, .max_uid = 1 };
	struct imap_search_msg m = { .seq = 1, .uid = 1, .keyword_list = list };
	(void)state;

	for (int i = 1; i <= 40; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%sk%d", i > 1 ? " " : "", i);
	memset(longkw, 'L', 300);
	longkw[300] = '\0';
	snprintf(list + len, sizeof list - len, "  %s ", longkw);
	assert_int_equal(eval("KEYWORD k40", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("UNKEYWORD k40", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("KEYWORD K1 KEYWORD k33", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("KEYWORD k4", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("KEYWORD k41", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("KEYWORD k", &m, &ctx), IMAP_TRI_NO);
	assert_int_equal(eval("UNKEYWORD k400", &m, &ctx), IMAP_TRI_YES);
	snprintf(args, sizeof args, "KEYWORD %s", longkw);
	assert_int_equal(eval(args, &m, &ctx), IMAP_TRI_YES);
	args[sizeof "KEYWORD " + 100] = '\0';     /* a prefix of it only */
	assert_int_equal(eval(args, &m, &ctx), IMAP_TRI_NO);

	/* no keywords at all; several spaces between them */
	m.keyword_list = NULL;
	assert_int_equal(eval("UNKEYWORD k1", &m, &ctx), IMAP_TRI_YES);
	m.keyword_list = "";
	assert_int_equal(eval("KEYWORD k1", &m, &ctx), IMAP_TRI_NO);
	m.keyword_list = "a  $Junk b";
	assert_int_equal(eval("KEYWORD $junk KEYWORD B", &m, &ctx), IMAP_TRI_YES);
	assert_int_equal(eval("KEYWORD c", &m, &ctx), IMAP_TRI_NO);
}

static void test_search_cursor_error_first(void **state)
{
	struct harness h;
	(void)state;

	/* an error already in the command: nothing is parsed */
	h_search(&h, "ALL", 0);
	imap_search_free(&h.s);
	imap_command_args(&h.cmd, &h.c);
	h.cmd.error = "earlier";
	assert_int_equal(imap_search_parse(&h.s, &h.c, 0), IMAP_SEARCH_BAD);
	assert_null(h.s.root);
	assert_string_equal(h.cmd.error, "earlier");
	h_free(&h);
	expect_search_ok("OR OR OR FROM x TO x CC x SUBJECT x");
	expect_search_ok("UID 1:*,3");
}

/* SORT and THREAD (RFC 5256): "charset SP keys", the charset first and
 * without the word CHARSET; ESORT's RETURN read on its own; text keys carry
 * their string casemapped for the header cache. */
static void test_search_bare_charset(void **state)
{
	struct harness h;
	(void)state;
	h_search(&h, "UTF-8 FROM alice SUBJECT \"Caf\xc3\xa9\"",
	         IMAP_SEARCH_ALLOW_SAVED | IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_true(h.s.charset_utf8);
	assert_string_equal(h.s.root->child->str_casemap, "ALICE");
	assert_string_equal(h.s.root->child->next->str_casemap, "CAFE\xcc\x81");
	assert_false(h.s.uses_body);
	h_free(&h);
	h_search(&h, "us-ascii ALL", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	h_free(&h);
	h_search(&h, "KOI8-R ALL", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_BADCHARSET);
	h_free(&h);
	/* no charset, a RETURN or a CHARSET word where the charset belongs */
	h_search(&h, "ALL", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_BADCHARSET);
	h_free(&h);
	h_search(&h, "UTF-8", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_BAD);
	h_free(&h);
	h_search(&h, "RETURN (ALL) UTF-8 ALL", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_BADCHARSET);
	h_free(&h);
	h_search(&h, "UTF-8 BODY x TEXT y", IMAP_SEARCH_BARE_CHARSET);
	assert_int_equal(h.st, IMAP_SEARCH_OK);
	assert_true(h.s.uses_body);
	h_free(&h);

	/* RETURN alone: the options, an empty list being ALL; the cursor left
	 * at the sort criteria */
	h_cursor(&h, "(MIN COUNT) (DATE) UTF-8 ALL");
	assert_true(imap_search_parse_return(&h.s, &h.c, 0));
	assert_true(h.s.esearch);
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_COUNT);
	assert_int_equal(imap_peek(&h.c)->type, IMAP_ARG_LIST);
	h_free(&h);
	h_cursor(&h, "() (DATE) UTF-8 ALL");
	assert_true(imap_search_parse_return(&h.s, &h.c, 0));
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_ALL);
	h_free(&h);
	h_cursor(&h, "(SAVE) (DATE) UTF-8 ALL");
	assert_false(imap_search_parse_return(&h.s, &h.c, 0));
	h_free(&h);
	h_cursor(&h, "(SAVE) (DATE) UTF-8 ALL");
	assert_true(imap_search_parse_return(&h.s, &h.c, IMAP_SEARCH_ALLOW_SAVED));
	assert_int_equal(h.s.ret, IMAP_SEARCH_RET_SAVE);
	h_free(&h);
	h_cursor(&h, "(BOGUS) (DATE) UTF-8 ALL");
	assert_false(imap_search_parse_return(&h.s, &h.c, 0));
	assert_non_null(h.cmd.error);
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search_tree),
		cmocka_unit_test(test_search_every_key),
		cmocka_unit_test(test_search_errors),
		cmocka_unit_test(test_search_charset_return),
		cmocka_unit_test(test_search_bare_charset),
		cmocka_unit_test(test_search_limits),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_header_dates),
		cmocka_unit_test(test_search_eval),
		cmocka_unit_test(test_search_keyword_list),
		cmocka_unit_test(test_search_cursor_error_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
