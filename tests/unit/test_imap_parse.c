/* Unit tests for src/imap/imap_parse.c and imap_seqset.c: the argument
 * tree and its accessors (atoms, quoted strings, literals, lists, sections,
 * numbers, errors) and sequence sets. */
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

/* ---- helpers ---- */

/* Assembles one command from in (answering "+" by feeding on) and parses it. */
struct harness {
	struct imap_reader r;
	struct imap_command cmd;
	struct imap_cursor c;
	int rc;
};

static void h_parse_len(struct harness *h, const char *in, size_t len, unsigned flags)
{
	size_t off = 0, used;
	enum imap_read_result res = IMAP_READ_MORE;

	imap_reader_init(&h->r, IMAP_LINE_MAX_DEFAULT, IMAP_LITERAL_APPEND_MAX_DEFAULT,
	                 IMAP_LITERAL_OTHER_MAX_DEFAULT);
	while (off < len) {
		res = imap_reader_feed(&h->r, in + off, len - off, &used);
		off += used;
		if (res == IMAP_READ_COMMAND)
			break;
		assert_true(res == IMAP_READ_MORE || res == IMAP_READ_CONTINUE);
	}
	assert_int_equal(res, IMAP_READ_COMMAND);
	assert_int_equal(off, len);

	struct imap_raw_command raw;
	imap_reader_command(&h->r, &raw);
	h->rc = imap_command_parse(&h->cmd, &raw, flags);
	imap_command_args(&h->cmd, &h->c);
}

static void h_parse(struct harness *h, const char *in)
{
	h_parse_len(h, in, strlen(in), 0);
}

static void h_free(struct harness *h)
{
	imap_command_free(&h->cmd);
	imap_reader_free(&h->r);
}

/* Parses in and expects failure with the given error. */
static void expect_parse_error(const char *in, const char *error)
{
	struct harness h;

	h_parse(&h, in);
	assert_int_equal(h.rc, -1);
	assert_string_equal(h.cmd.error, error);
	h_free(&h);
}

/* ---- parser ---- */

static void test_parse_head(void **state)
{
	struct harness h;
	(void)state;

	h_parse(&h, "a1 noop\r\n");
	assert_int_equal(h.rc, 0);
	assert_string_equal(h.cmd.tag, "a1");
	assert_string_equal(h.cmd.name, "NOOP");
	assert_false(h.cmd.uid);
	assert_null(h.cmd.args);
	h_free(&h);

	h_parse(&h, "A]0 uid Fetch 1:* FLAGS\r\n");
	assert_int_equal(h.rc, 0);
	assert_string_equal(h.cmd.tag, "A]0");
	assert_string_equal(h.cmd.name, "FETCH");
	assert_true(h.cmd.uid);
	h_free(&h);

	/* one trailing space is tolerated */
	h_parse(&h, "a CAPABILITY \r\n");
	assert_int_equal(h.rc, 0);
	h_free(&h);
	h_parse(&h, "a SELECT INBOX \r\n");
	assert_int_equal(h.rc, 0);
	h_free(&h);

	expect_parse_error("+ NOOP\r\n", "Missing or invalid tag");
	expect_parse_error("* NOOP\r\n", "Missing or invalid tag");
	expect_parse_error("a+b NOOP\r\n", "Invalid character in tag");
	expect_parse_error("a\r\n", "Missing command name");
	expect_parse_error("a UID\r\n", "Missing command after UID");
	expect_parse_error("a  NOOP\r\n", "Invalid command name");
	expect_parse_error("a NO(OP\r\n", "Invalid character in command name");
	expect_parse_error("a NOOP  \r\n", "Unexpected space");
	expect_parse_error("a X a  b\r\n", "Unexpected space");
	expect_parse_error("a X a(b)\r\n", "Expected a space between arguments");

	/* the tag is known once it is read, for a tagged BAD */
	h_parse(&h, "t7 X \"unterminated\r\n");
	assert_int_equal(h.rc, -1);
	assert_string_equal(h.cmd.tag, "t7");
	h_free(&h);
	h_parse(&h, "t+ X\r\n");
	assert_null(h.cmd.tag);
	h_free(&h);

	char tag[IMAP_TAG_MAX + 16];
	memset(tag, 't', IMAP_TAG_MAX + 1);
	strcpy(tag + IMAP_TAG_MAX + 1, " NOOP\r\n");
	expect_parse_error(tag, "Tag too long");
}

static void test_parse_quoted(void **state)
{
	struct harness h;
	const char *s;
	size_t len;
	(void)state;

	h_parse(&h, "a X \"\" \"a b\" \"q\\\"x\\\\y\" \"caf\xc3\xa9 \xf0\x9f\x93\xa7\"\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_string(&h.c, &s, &len));
	assert_string_equal(s, "");
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_string_equal(s, "a b");
	assert_true(imap_next_string(&h.c, &s, &len));
	assert_string_equal(s, "q\"x\\y");
	assert_int_equal(len, 5);
	assert_true(imap_peek(&h.c)->flags & IMAP_ARGF_UTF8);
	assert_true(imap_next_string(&h.c, &s, &len));
	assert_string_equal(s, "caf\xc3\xa9 \xf0\x9f\x93\xa7");
	assert_true(imap_expect_end(&h.c));
	h_free(&h);

	expect_parse_error("a X \"a\\b\"\r\n", "Invalid escape in quoted string");
	expect_parse_error("a X \"a\\\r\n", "Invalid escape in quoted string");
	expect_parse_error("a X \"abc\r\n", "Unterminated quoted string");
	expect_parse_error("a X \"\xc3\x28\"\r\n", "Invalid UTF-8 in quoted string");
	expect_parse_error("a X \"\xed\xa0\x80\"\r\n", "Invalid UTF-8 in quoted string");
	expect_parse_error("a X \"\xc0\xaf\"\r\n", "Invalid UTF-8 in quoted string");
	expect_parse_error("a X \"\xe2\x82\"\r\n", "Invalid UTF-8 in quoted string");
	expect_parse_error("a X \"a\"b\r\n", "Expected a space between arguments");
	expect_parse_error("a X \"a\rb\"\r\n", "Unterminated quoted string");

	static const char nul[] = "a X \"a\0b\"\r\n";
	h_parse_len(&h, nul, sizeof nul - 1, 0);
	assert_string_equal(h.cmd.error, "NUL octet in quoted string");
	h_free(&h);
	static const char nul2[] = "a X a\0b\r\n";
	h_parse_len(&h, nul2, sizeof nul2 - 1, 0);
	assert_string_equal(h.cmd.error, "NUL octet in command");
	h_free(&h);
}

static void test_parse_atoms_flags_nil(void **state)
{
	struct harness h;
	const char *s;
	size_t len;
	const struct imap_arg *a;
	(void)state;

	h_parse(&h, "a X INBOX \\Seen \\* INBOX.% [Gmail]/Sent nil $Junk ~x\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_atom(&h.c, &s));
	assert_string_equal(s, "INBOX");
	a = imap_peek(&h.c);
	assert_int_equal(a->type, IMAP_ARG_ATOM);
	assert_int_equal(a->flags, IMAP_ARGF_BACKSLASH);
	assert_string_equal(a->str, "\\Seen");
	assert_false(imap_next_atom(&h.c, &s));     /* a flag is not an atom */
	assert_string_equal(h.cmd.error, "Expected an atom");
	h_free(&h);

	h_parse(&h, "a X \\* INBOX.% [Gmail]/Sent nil $Junk ~x\r\n");
	a = imap_peek(&h.c);
	assert_int_equal(a->flags, IMAP_ARGF_BACKSLASH | IMAP_ARGF_WILDCARD);
	assert_true(imap_next_arg(&h.c, &a));
	struct imap_cursor c2 = h.c;
	assert_true(imap_next_list_mailbox(&h.c, &s, &len));
	assert_string_equal(s, "INBOX.%");
	assert_false(imap_next_astring(&c2, &s, &len));     /* a pattern is not an astring */
	assert_string_equal(h.cmd.error, "Expected a string");
	h.cmd.error = NULL;
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_string_equal(s, "[Gmail]/Sent");
	assert_int_equal(imap_peek(&h.c)->type, IMAP_ARG_NIL);
	assert_true(imap_accept_atom(&h.c, "NIL"));
	assert_true(imap_next_atom(&h.c, &s));
	assert_string_equal(s, "$Junk");
	assert_true(imap_next_atom(&h.c, &s));
	assert_string_equal(s, "~x");
	assert_true(imap_expect_end(&h.c));
	h_free(&h);

	/* NIL: an nstring gives NULL, an astring the mailbox "NIL" */
	h_parse(&h, "a X NIL NIL \"NIL\"\r\n");
	assert_true(imap_next_nstring(&h.c, &s, &len));
	assert_null(s);
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_string_equal(s, "NIL");
	assert_true(imap_next_nstring(&h.c, &s, &len));
	assert_string_equal(s, "NIL");
	h_free(&h);

	expect_parse_error("a X a{b\r\n", "Expected a space between arguments");
	expect_parse_error("a X )\r\n", "Invalid character in command");
	expect_parse_error("a X \\\r\n", "Missing argument");
	expect_parse_error("a X \\(\r\n", "Invalid character in command");
	expect_parse_error("a X {5}x\r\n", "Misplaced literal");
}

static void test_parse_lists(void **state)
{
	struct harness h;
	struct imap_cursor l1, l2;
	const char *s;
	char buf[256];
	(void)state;

	h_parse(&h, "a X () (a (b \"c\") ()) d\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_list(&h.c, &l1));
	assert_true(imap_at_end(&l1));
	assert_int_equal(imap_peek(&h.c)->count, 3);
	assert_true(imap_next_list(&h.c, &l1));
	assert_true(imap_next_atom(&l1, &s));
	assert_string_equal(s, "a");
	assert_true(imap_next_list(&l1, &l2));
	assert_true(imap_next_atom(&l2, &s));
	assert_true(imap_next_astring(&l2, &s, &(size_t){ 0 }));
	assert_string_equal(s, "c");
	assert_true(imap_expect_end(&l2));
	assert_true(imap_next_list(&l1, &l2));
	assert_true(imap_expect_end(&l1));
	/* errors in inner cursors land in the command */
	assert_false(imap_next_list(&h.c, &l1));
	assert_string_equal(h.cmd.error, "Expected a parenthesised list");
	assert_false(imap_next_atom(&h.c, &s));    /* sticky */
	h_free(&h);

	expect_parse_error("a X (a\r\n", "Missing ')'");
	expect_parse_error("a X (a))\r\n", "Expected a space between arguments");
	expect_parse_error("a X ( a)\r\n", "Unexpected space");
	expect_parse_error("a X (a )\r\n", "Unexpected space");
	expect_parse_error("a X (a  b)\r\n", "Unexpected space");

	/* nesting: IMAP_LIST_DEPTH_MAX levels parse, one more does not */
	size_t n = 0;
	n += (size_t)sprintf(buf, "a X ");
	for (int i = 0; i < IMAP_LIST_DEPTH_MAX; i++)
		buf[n++] = '(';
	for (int i = 0; i < IMAP_LIST_DEPTH_MAX; i++)
		buf[n++] = ')';
	strcpy(buf + n, "\r\n");
	h_parse(&h, buf);
	assert_int_equal(h.rc, 0);
	h_free(&h);
	n = (size_t)sprintf(buf, "a X ");
	for (int i = 0; i <= IMAP_LIST_DEPTH_MAX; i++)
		buf[n++] = '(';
	for (int i = 0; i <= IMAP_LIST_DEPTH_MAX; i++)
		buf[n++] = ')';
	strcpy(buf + n, "\r\n");
	expect_parse_error(buf, "Arguments nested too deeply");
}

static void test_parse_sections(void **state)
{
	struct harness h;
	const struct imap_arg *a, *t;
	const char *s;
	size_t len;
	(void)state;

	h_parse(&h, "a FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS (From \"To\")]<0.100> body[] "
	            "BINARY.SIZE[3] BODY[TEXT] BODYSTRUCTURE)\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_atom(&h.c, &s));
	a = imap_peek(&h.c)->list;
	assert_int_equal(a->type, IMAP_ARG_SECTION);
	assert_string_equal(a->str, "BODY.PEEK");
	assert_int_equal(a->count, 2);
	assert_true(a->flags & IMAP_ARGF_PARTIAL);
	assert_string_equal(a->partial, "0.100");
	assert_null(a->astring);            /* has spaces: not an astring */
	t = a->list;
	assert_string_equal(t->str, "1.2.HEADER.FIELDS");
	assert_int_equal(t->next->type, IMAP_ARG_LIST);
	assert_int_equal(t->next->count, 2);
	assert_string_equal(t->next->list->next->str, "To");
	a = a->next;
	assert_int_equal(a->type, IMAP_ARG_SECTION);
	assert_string_equal(a->str, "body");
	assert_int_equal(a->count, 0);
	assert_string_equal(a->astring, "body[]");
	a = a->next;
	assert_string_equal(a->str, "BINARY.SIZE");
	assert_false(a->flags & IMAP_ARGF_PARTIAL);
	a = a->next->next;
	assert_int_equal(a->type, IMAP_ARG_ATOM);
	h_free(&h);

	/* header names may be literals */
	h_parse(&h, "a FETCH 1 BODY[HEADER.FIELDS ({7}\r\nSubject x)]\r\n");
	assert_int_equal(h.rc, 0);
	a = h.cmd.args->next;
	assert_int_equal(a->list->next->list->type, IMAP_ARG_LITERAL);
	assert_string_equal(a->list->next->list->str, "Subject");
	h_free(&h);

	/* a mailbox that happens to look like a section is still an astring */
	h_parse(&h, "a SELECT body[x]\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_string_equal(s, "body[x]");
	h_free(&h);
	/* other atoms keep their brackets */
	h_parse(&h, "a SELECT BODYX[x] [a]b]\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_string_equal(s, "BODYX[x]");
	assert_int_equal(imap_peek(&h.c)->flags, IMAP_ARGF_BRACKET);
	assert_false(imap_next_atom(&h.c, &s));
	h_free(&h);

	expect_parse_error("a FETCH 1 BODY[TEXT\r\n", "Missing ']'");
	expect_parse_error("a FETCH 1 BODY[TEXT]<\r\n", "Invalid partial range");
	expect_parse_error("a FETCH 1 BODY[TEXT]<1.>\r\n", "Invalid partial range");
	expect_parse_error("a FETCH 1 BODY[TEXT]<.1>\r\n", "Invalid partial range");
	expect_parse_error("a FETCH 1 BODY[TEXT]<1.2.3>\r\n", "Invalid partial range");
	expect_parse_error("a FETCH 1 BODY[TEXT]x\r\n", "Expected a space between arguments");
	expect_parse_error("a FETCH 1 BODY[ TEXT]\r\n", "Unexpected space");
}

static void test_parse_numbers(void **state)
{
	struct harness h;
	uint32_t n;
	uint64_t n64;
	(void)state;

	h_parse(&h, "a X 0 4294967295 4294967296 0 9223372036854775807 9223372036854775808\r\n");
	assert_true(imap_next_number(&h.c, &n));
	assert_int_equal(n, 0);
	assert_true(imap_next_nz_number(&h.c, &n));
	assert_int_equal(n, 4294967295u);
	struct imap_cursor c = h.c;
	assert_false(imap_next_number(&c, &n));
	assert_string_equal(h.cmd.error, "Invalid number");
	h.cmd.error = NULL;
	assert_true(imap_next_number64(&h.c, &n64));
	assert_int_equal(n64, 4294967296u);
	c = h.c;
	assert_false(imap_next_nz_number(&c, &n));
	h.cmd.error = NULL;
	assert_true(imap_next_number64(&h.c, &n64));
	assert_true(imap_next_number64(&h.c, &n64));
	assert_int_equal(n64, INT64_MAX);
	assert_false(imap_next_number64(&h.c, &n64));
	assert_false(imap_next_number64(&h.c, &n64));
	h_free(&h);

	h_parse(&h, "a X -1 \"1\" 1a\r\n");
	c = h.c;
	assert_false(imap_next_number(&c, &n));
	assert_string_equal(h.cmd.error, "Invalid number");
	h_free(&h);
	h_parse(&h, "a X \"1\"\r\n");
	assert_false(imap_next_number(&h.c, &n));
	assert_string_equal(h.cmd.error, "Expected a number");
	h_free(&h);

	uint64_t v;
	assert_true(imap_parse_number("007", 3, 10, &v));
	assert_int_equal(v, 7);
	assert_false(imap_parse_number("11", 2, 10, &v));
	assert_false(imap_parse_number("", 0, 10, &v));
	assert_false(imap_parse_number("18446744073709551616", 20, UINT64_MAX, &v));
	assert_true(imap_parse_number("18446744073709551615", 20, UINT64_MAX, &v));
	assert_int_equal(v, UINT64_MAX);
}

static void test_parse_accessor_errors(void **state)
{
	struct harness h;
	const char *s;
	size_t len;
	bool bin;
	(void)state;

	h_parse(&h, "a X atom\r\n");
	assert_false(imap_next_string(&h.c, &s, &len));
	assert_string_equal(h.cmd.error, "Expected a quoted string or literal");
	assert_null(s);
	h_free(&h);
	h_parse(&h, "a X atom\r\n");
	assert_false(imap_next_literal(&h.c, &s, &len, &bin));
	assert_string_equal(h.cmd.error, "Expected a literal");
	h_free(&h);
	h_parse(&h, "a X atom\r\n");
	assert_false(imap_next_nstring(&h.c, &s, &len));
	assert_string_equal(h.cmd.error, "Expected a string or NIL");
	h_free(&h);
	h_parse(&h, "a X\r\n");
	assert_false(imap_next_atom(&h.c, &s));
	assert_string_equal(h.cmd.error, "Missing argument");
	h_free(&h);
	h_parse(&h, "a X a b\r\n");
	assert_true(imap_next_atom(&h.c, &s));
	assert_false(imap_expect_end(&h.c));
	assert_string_equal(h.cmd.error, "Unexpected extra arguments");
	/* the first error stays */
	assert_false(imap_fail(&h.c, "later"));
	assert_string_equal(h.cmd.error, "Unexpected extra arguments");
	assert_null(imap_peek(&h.c));
	h_free(&h);

	/* too many arguments */
	size_t n = IMAP_ARGS_MAX + 1;
	char *buf = malloc(2 * n + 8);
	strcpy(buf, "a X");
	for (size_t i = 0; i < n; i++)
		strcpy(buf + 3 + 2 * i, " 1");
	strcat(buf, "\r\n");
	h_parse(&h, buf);
	assert_string_equal(h.cmd.error, "Too many arguments");
	h_free(&h);
	free(buf);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(imap_utf8_valid("", 0));
	assert_true(imap_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf", 10));
	assert_false(imap_utf8_valid("\xf4\x90\x80\x80", 4));
	assert_false(imap_utf8_valid("\xe0\x80\x80", 3));
	assert_false(imap_utf8_valid("\x80", 1));
	assert_false(imap_utf8_valid("\xc3", 1));
	assert_true(imap_word_eq("fLaGs", 5, "FLAGS"));
	assert_false(imap_word_eq("FLAG", 4, "FLAGS"));
}

/* ---- sequence sets ---- */

static void expect_ranges(const struct imap_seqset *set, uint32_t max, const uint32_t *want,
                          size_t nwant)
{
	struct imap_seqset_iter it;
	uint32_t lo, hi;
	size_t i = 0;

	imap_seqset_iter_init(&it, set, max);
	while (imap_seqset_iter_next(&it, &lo, &hi)) {
		assert_true(i + 1 < nwant + 1);
		assert_int_equal(lo, want[i]);
		assert_int_equal(hi, want[i + 1]);
		i += 2;
	}
	assert_int_equal(i, nwant);
}

static void test_seqset_parse(void **state)
{
	struct imap_seqset set;
	const char *err;
	(void)state;

	assert_int_equal(imap_seqset_parse(&set, "1:3,5,7:*", 9, 0, &err), 0);
	assert_int_equal(set.nranges, 2);
	assert_true(set.has_star);
	assert_int_equal(set.star_lo, 7);
	expect_ranges(&set, 10, (const uint32_t[]){ 1, 3, 5, 5, 7, 10 }, 6);
	expect_ranges(&set, 6, (const uint32_t[]){ 1, 3, 5, 6 }, 4);   /* 7:* is 6:7 */
	expect_ranges(&set, 0, NULL, 0);
	assert_true(imap_seqset_contains(&set, 6, 6));
	assert_false(imap_seqset_contains(&set, 6, 10));
	assert_true(imap_seqset_contains(&set, 9, 10));
	assert_false(imap_seqset_contains(&set, 11, 10));
	assert_int_equal(imap_seqset_count(&set, 10), 8);
	assert_int_equal(imap_seqset_highest(&set), 7);
	imap_seqset_free(&set);

	/* "*:1" is "1:*"; "*" alone is the maximum */
	assert_int_equal(imap_seqset_parse(&set, "*:1", 3, 0, &err), 0);
	expect_ranges(&set, 5, (const uint32_t[]){ 1, 5 }, 2);
	imap_seqset_free(&set);
	assert_int_equal(imap_seqset_parse(&set, "*", 1, 0, &err), 0);
	expect_ranges(&set, 5, (const uint32_t[]){ 5, 5 }, 2);
	assert_false(imap_seqset_contains(&set, 1, 0));
	assert_int_equal(imap_seqset_highest(&set), 0);
	imap_seqset_free(&set);
	/* UID n:* above the highest UID still names the last message */
	assert_int_equal(imap_seqset_parse(&set, "100:*", 5, 0, &err), 0);
	expect_ranges(&set, 42, (const uint32_t[]){ 42, 42 }, 2);
	imap_seqset_free(&set);

	/* normalised: sorted, merged, adjacent joined, no overflow at the top */
	assert_int_equal(imap_seqset_parse(&set, "9,5,1:2,3,4294967295,8:6,4294967294", 35, 0, &err), 0);
	assert_int_equal(set.nranges, 3);
	assert_int_equal(set.ranges[0].lo, 1);
	assert_int_equal(set.ranges[0].hi, 3);
	assert_int_equal(set.ranges[1].lo, 5);
	assert_int_equal(set.ranges[1].hi, 9);
	assert_int_equal(set.ranges[2].lo, 4294967294u);
	assert_int_equal(set.ranges[2].hi, 4294967295u);
	expect_ranges(&set, UINT32_MAX, (const uint32_t[]){ 1, 3, 5, 9, 4294967294u, 4294967295u }, 6);
	imap_seqset_free(&set);

	/* the star interval bridges ranges */
	assert_int_equal(imap_seqset_parse(&set, "1,3,5:*", 7, 0, &err), 0);
	expect_ranges(&set, 2, (const uint32_t[]){ 1, 2 }, 2);
	expect_ranges(&set, 10, (const uint32_t[]){ 1, 1, 3, 3, 5, 10 }, 6);
	expect_ranges(&set, 4, (const uint32_t[]){ 1, 1, 3, 4 }, 4);
	imap_seqset_free(&set);
}

static void test_seqset_errors(void **state)
{
	static const struct {
		const char *in;
		unsigned flags;
		const char *err;
	} bad[] = {
		{ "", 0, "Empty sequence set" },
		{ "0", 0, "Sequence number 0 is not allowed" },
		{ "1:0", 0, "Sequence number 0 is not allowed" },
		{ "4294967296", 0, "Sequence number out of range" },
		{ "99999999999999999999999", 0, "Sequence number out of range" },
		{ "1,,2", 0, "Invalid sequence set" },
		{ "1,", 0, "Invalid sequence set" },
		{ ",1", 0, "Invalid sequence set" },
		{ "1:", 0, "Invalid sequence set" },
		{ ":1", 0, "Invalid sequence set" },
		{ "1:2:3", 0, "Invalid sequence set" },
		{ "1-3", 0, "Invalid sequence set" },
		{ "**", 0, "Invalid sequence set" },
		{ "$", 0, "\"$\" is not allowed here" },
		{ "$,1", IMAP_SEQSET_ALLOW_SAVED, "Invalid sequence set" },
		{ "1:*", IMAP_SEQSET_NO_STAR, "\"*\" is not allowed in this sequence set" },
		{ "+1", 0, "Invalid sequence set" },
	};
	struct imap_seqset set;
	const char *err;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_int_equal(imap_seqset_parse(&set, bad[i].in, strlen(bad[i].in), bad[i].flags,
		                                   &err), -1);
		assert_string_equal(err, bad[i].err);
		assert_null(set.ranges);
		assert_int_equal(set.nranges, 0);
	}
	assert_int_equal(imap_seqset_parse(&set, "0:3", 3, IMAP_SEQSET_ALLOW_ZERO, &err), 0);
	expect_ranges(&set, 10, (const uint32_t[]){ 1, 3 }, 2);
	imap_seqset_free(&set);
	assert_int_equal(imap_seqset_parse(&set, "$", 1, IMAP_SEQSET_ALLOW_SAVED, &err), 0);
	assert_true(set.saved);
	imap_seqset_free(&set);

	/* the element limit */
	size_t n = IMAP_SEQSET_RANGES_MAX;
	char *buf = malloc(n * 2 + 4);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 2 * i, "1,", 2);
	assert_int_equal(imap_seqset_parse(&set, buf, 2 * n - 1, 0, &err), 0);
	assert_int_equal(set.nranges, 1);
	imap_seqset_free(&set);
	memcpy(buf + 2 * n - 1, ",1", 2);
	assert_int_equal(imap_seqset_parse(&set, buf, 2 * n + 1, 0, &err), -1);
	assert_string_equal(err, "Too many elements in sequence set");
	free(buf);
}

/* Random sets against a brute-force model. */
static void test_seqset_model(void **state)
{
	char buf[256];
	uint32_t seed = 12345;
	(void)state;

	for (int round = 0; round < 2000; round++) {
		bool member[41][41] = { { false } };  /* [max][n] */
		size_t len = 0;
		int elems = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 5;
		for (int e = 0; e < elems; e++) {
			uint32_t r = (seed = seed * 1103515245 + 12345) >> 8;
			uint32_t a = 1 + r % 30, b = 1 + (r >> 8) % 30;
			int kind = (int)(r >> 16) % 4;   /* 0: a, 1: a:b, 2: a:*, 3: * */
			if (e > 0)
				buf[len++] = ',';
			if (kind == 0)
				len += (size_t)sprintf(buf + len, "%u", a);
			else if (kind == 1)
				len += (size_t)sprintf(buf + len, "%u:%u", a, b);
			else if (kind == 2)
				len += (size_t)sprintf(buf + len, "%u:*", a);
			else
				len += (size_t)sprintf(buf + len, "*");
			for (uint32_t max = 0; max <= 40; max++) {
				uint32_t lo = a, hi = kind == 1 ? b : a;
				if (kind >= 2 && max == 0)
					continue;
				if (kind == 2)
					hi = max;
				if (kind == 3)
					lo = hi = max;
				if (lo > hi) {
					uint32_t t = lo;
					lo = hi;
					hi = t;
				}
				for (uint32_t n = lo; n <= hi && n <= 40; n++)
					member[max][n] = true;
			}
		}
		struct imap_seqset set;
		const char *err;
		assert_int_equal(imap_seqset_parse(&set, buf, len, 0, &err), 0);
		for (uint32_t max = 0; max <= 40; max++) {
			bool seen[41] = { false };
			struct imap_seqset_iter it;
			uint32_t lo, hi, prev_hi = 0;
			bool first = true;
			imap_seqset_iter_init(&it, &set, max);
			while (imap_seqset_iter_next(&it, &lo, &hi)) {
				assert_true(lo >= 1 && lo <= hi && hi <= max);
				assert_true(first || lo > prev_hi + 1);   /* ascending, merged */
				first = false;
				prev_hi = hi;
				for (uint32_t n = lo; n <= hi; n++)
					seen[n] = true;
			}
			for (uint32_t n = 1; n <= max; n++) {
				assert_int_equal(seen[n], member[max][n]);
				assert_int_equal(imap_seqset_contains(&set, n, max), member[max][n]);
			}
		}
		imap_seqset_free(&set);
	}
}

static void test_next_seqset(void **state)
{
	struct harness h;
	struct imap_seqset set;
	(void)state;

	h_parse(&h, "a FETCH 1:* x \\Seen\r\n");
	assert_true(imap_next_seqset(&h.c, &set, 0));
	assert_true(set.has_star);
	imap_seqset_free(&set);
	assert_false(imap_next_seqset(&h.c, &set, 0));
	assert_string_equal(h.cmd.error, "Invalid sequence set");
	h_free(&h);
	h_parse(&h, "a FETCH \\1\r\n");
	assert_false(imap_next_seqset(&h.c, &set, 0));
	h_free(&h);
	h_parse(&h, "a FETCH\r\n");
	assert_false(imap_next_seqset(&h.c, &set, 0));
	assert_string_equal(h.cmd.error, "Missing sequence set");
	h_free(&h);
	h_parse(&h, "a FETCH 0\r\n");
	assert_false(imap_next_seqset(&h.c, &set, 0));
	assert_string_equal(h.cmd.error, "Sequence number 0 is not allowed");
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_parse_quoted),
		cmocka_unit_test(test_parse_atoms_flags_nil),
		cmocka_unit_test(test_parse_lists),
		cmocka_unit_test(test_parse_sections),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_parse_accessor_errors),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_seqset_parse),
		cmocka_unit_test(test_seqset_errors),
		cmocka_unit_test(test_seqset_model),
		cmocka_unit_test(test_next_seqset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
