/* Unit tests for src/smtp/smtp_data.c: dot-unstuffing, the end-of-data
 * marker at every split point, smuggling variants, line limits, flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_data.h"

#define MAX_INPUT 4096

/* Everything one pass of the reader over an input produced. */
struct feed_result {
	char out[MAX_INPUT + 1];
	size_t outlen;
	size_t consumed;
	enum smtp_data_state state;
	bool bare_lf, bare_cr, nul, line_too_long;
};

/* Feeds in[0..len) in pieces cut at the ascending offsets cuts[0..ncuts)
 * (empty pieces allowed) and collects the result. Checks the per-call
 * contract on the way: output bounded by len + 1, input consumed entirely
 * unless the end was found, nothing consumed once done. */
static void feed_pieces(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        size_t max_line, struct feed_result *res)
{
	struct smtp_data_reader r;
	char chunk_out[MAX_INPUT + 1];
	size_t start = 0;

	assert_true(len <= MAX_INPUT);
	memset(res, 0, sizeof *res);
	smtp_data_init(&r, max_line);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		size_t outlen = SIZE_MAX;
		bool was_done = smtp_data_done(&r);
		size_t used = smtp_data_feed(&r, in + start, end - start, chunk_out, &outlen);

		assert_true(outlen <= end - start + 1);
		assert_true(used <= end - start);
		if (was_done) {
			assert_int_equal(used, 0);
			assert_int_equal(outlen, 0);
		}
		if (used < end - start)
			assert_true(smtp_data_done(&r));
		memcpy(res->out + res->outlen, chunk_out, outlen);
		res->outlen += outlen;
		res->consumed += used;
		start = end;
	}
	res->state = r.state;
	res->bare_lf = r.bare_lf;
	res->bare_cr = r.bare_cr;
	res->nul = r.nul;
	res->line_too_long = r.line_too_long;
}

static void feed_once(const char *in, size_t len, size_t max_line, struct feed_result *res)
{
	feed_pieces(in, len, NULL, 0, max_line, res);
}

static void assert_same_result(const struct feed_result *a, const struct feed_result *b)
{
	assert_int_equal(a->outlen, b->outlen);
	assert_memory_equal(a->out, b->out, a->outlen);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->bare_lf, b->bare_lf);
	assert_int_equal(a->bare_cr, b->bare_cr);
	assert_int_equal(a->nul, b->nul);
	assert_int_equal(a->line_too_long, b->line_too_long);
}

/* One-shot feeding of a string, checked against the expected message. */
static void expect_message(const char *in, bool done, size_t consumed, const char *out,
                           size_t outlen)
{
	struct feed_result res;

	feed_once(in, strlen(in), 1000, &res);
	assert_int_equal(res.state == SMTP_DATA_DONE, done);
	assert_int_equal(res.consumed, consumed);
	assert_int_equal(res.outlen, outlen);
	assert_memory_equal(res.out, out, outlen);
}

#define EXPECT(in, done, consumed, out) expect_message(in, done, consumed, out, sizeof(out) - 1)

/* ---- basic behaviour ---- */

static void test_init(void **state)
{
	struct smtp_data_reader r;
	(void)state;

	memset(&r, 0xa5, sizeof r);
	smtp_data_init(&r, 1000);
	assert_int_equal(r.state, SMTP_DATA_SOL);
	assert_int_equal(r.max_line, 1000);
	assert_int_equal(r.line_octets, 0);
	assert_false(r.bare_lf);
	assert_false(r.bare_cr);
	assert_false(r.nul);
	assert_false(r.line_too_long);
	assert_false(smtp_data_done(&r));
}

static void test_simple_message(void **state)
{
	(void)state;
	EXPECT("Subject: hi\r\n\r\nHello\r\n.\r\n", true, 25, "Subject: hi\r\n\r\nHello\r\n");
	EXPECT("Hello\r\n", false, 7, "Hello\r\n");
	/* the CR of a possible CRLF is held back */
	EXPECT("Hello\r", false, 6, "Hello");
}

static void test_empty_message(void **state)
{
	(void)state;
	/* ".CRLF" at the very start ends an empty message */
	EXPECT(".\r\n", true, 3, "");
	EXPECT(".\r\nQUIT\r\n", true, 3, "");
	/* one empty line */
	EXPECT("\r\n.\r\n", true, 5, "\r\n");
}

static void test_dot_unstuffing(void **state)
{
	(void)state;
	EXPECT("..\r\n.\r\n", true, 7, ".\r\n");
	EXPECT("a\r\n..b\r\n.\r\n", true, 11, "a\r\n.b\r\n");
	EXPECT("a\r\n...\r\n.\r\n", true, 11, "a\r\n..\r\n");
	/* RFC 5321 4.5.2: any leading dot with more text is removed */
	EXPECT("a\r\n.b\r\n.\r\n", true, 10, "a\r\nb\r\n");
	/* dots elsewhere in a line are content */
	EXPECT("a.b.\r\n a .\r\n.\r\n", true, 15, "a.b.\r\n a .\r\n");
	/* "..CRLF.CRLF": the stuffed dot is content, the next line ends */
	EXPECT("..\r\n.\r\nX", true, 7, ".\r\n");
}

static void test_stops_at_terminator(void **state)
{
	static const char in[] = "x\r\n.\r\nQUIT\r\n";
	struct smtp_data_reader r;
	char out[sizeof in + 1];
	size_t outlen = 99;
	(void)state;

	smtp_data_init(&r, 1000);
	assert_int_equal(smtp_data_feed(&r, in, sizeof in - 1, out, &outlen), 6);
	assert_true(smtp_data_done(&r));
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, "x\r\n", 3);

	/* the rest belongs to the next command and is left alone */
	outlen = 99;
	assert_int_equal(smtp_data_feed(&r, in + 6, sizeof in - 7, out, &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_true(smtp_data_done(&r));
}

static void test_empty_feed(void **state)
{
	struct smtp_data_reader r;
	char out[1];
	size_t outlen = 99;
	(void)state;

	smtp_data_init(&r, 1000);
	assert_int_equal(smtp_data_feed(&r, "", 0, out, &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(r.state, SMTP_DATA_SOL);
}

/* A CR held back by one call is released by the next: len + 1 output. */
static void test_held_cr_released(void **state)
{
	struct smtp_data_reader r;
	char out[8];
	size_t outlen;
	(void)state;

	smtp_data_init(&r, 1000);
	assert_int_equal(smtp_data_feed(&r, "abc\r", 4, out, &outlen), 4);
	assert_int_equal(outlen, 3);
	assert_int_equal(r.state, SMTP_DATA_CR);
	assert_int_equal(smtp_data_feed(&r, "x", 1, out, &outlen), 1);
	assert_int_equal(outlen, 2);
	assert_memory_equal(out, "\rx", 2);
	assert_true(r.bare_cr);

	/* the same after ".CR" at the start of a line */
	smtp_data_init(&r, 1000);
	assert_int_equal(smtp_data_feed(&r, ".\r", 2, out, &outlen), 2);
	assert_int_equal(outlen, 0);
	assert_int_equal(r.state, SMTP_DATA_DOT_CR);
	assert_int_equal(smtp_data_feed(&r, "y", 1, out, &outlen), 1);
	assert_int_equal(outlen, 2);
	assert_memory_equal(out, "\ry", 2);
	assert_true(r.bare_cr);
	assert_false(smtp_data_done(&r));
}

/* ---- smuggling: nothing but CRLF.CRLF ends the data ---- */

static void test_smuggling_variants(void **state)
{
	struct feed_result res;
	(void)state;

	/* LF.CRLF: the bare LF does not start a line, so the dot is content */
	EXPECT("a\n.\r\nMAIL FROM:<x@y>\r\n", false, 22, "a\n.\r\nMAIL FROM:<x@y>\r\n");
	/* CRLF.LF: a line ".LF..." whose leading dot is stuffing */
	EXPECT("a\r\n.\nMAIL\r\n", false, 11, "a\r\n\nMAIL\r\n");
	/* CR.CRLF: the bare CR does not end a line */
	EXPECT("a\r.\r\nMAIL\r\n", false, 11, "a\r.\r\nMAIL\r\n");
	/* CRLF.CR then something else */
	EXPECT("a\r\n.\rMAIL\r\n", false, 11, "a\r\n\rMAIL\r\n");
	EXPECT("a\r\n.\r\r\nMAIL\r\n", false, 13, "a\r\n\r\r\nMAIL\r\n");
	/* LF.LF */
	EXPECT("a\n.\nMAIL\r\n", false, 10, "a\n.\nMAIL\r\n");
	/* the same at the very start of the data */
	EXPECT("\n.\r\n", false, 4, "\n.\r\n");
	EXPECT("\r\n.\n", false, 4, "\r\n\n");
	EXPECT("\r.\r\n", false, 4, "\r.\r\n");
	EXPECT(".\n", false, 2, "\n");
	EXPECT(".\r", false, 2, "");
	EXPECT(".\r.\r\n", false, 5, "\r.\r\n");
	/* a NUL after the dot makes it a stuffed line, not an end */
	feed_once("a\r\n.\0\r\n", 7, 1000, &res);
	assert_int_equal(res.state, SMTP_DATA_SOL);
	assert_int_equal(res.consumed, 7);
	assert_int_equal(res.outlen, 6);
	assert_memory_equal(res.out, "a\r\n\0\r\n", 6);
	assert_true(res.nul);

	/* the real terminator after a smuggling attempt still ends the data,
	 * and the whole attempt is message content */
	EXPECT("a\n.\r\nRCPT TO:<v@w>\r\n.\r\nQUIT\r\n", true, 23,
	       "a\n.\r\nRCPT TO:<v@w>\r\n");
	EXPECT("a\r.\r\n.\r\n", true, 8, "a\r.\r\n");
	/* ...but not when it follows a bare LF */
	EXPECT("a\r\n.\n.\r\n", false, 8, "a\r\n\n.\r\n");
}

static void test_bare_flags(void **state)
{
	struct feed_result res;
	(void)state;

	feed_once("a\rb\r\n.\r\n", 8, 1000, &res);
	assert_int_equal(res.state, SMTP_DATA_DONE);
	assert_true(res.bare_cr);
	assert_false(res.bare_lf);
	assert_int_equal(res.outlen, 5);
	assert_memory_equal(res.out, "a\rb\r\n", 5);

	feed_once("a\nb\r\n.\r\n", 8, 1000, &res);
	assert_false(res.bare_cr);
	assert_true(res.bare_lf);
	assert_memory_equal(res.out, "a\nb\r\n", 5);

	/* CR CR LF: the first CR is bare, the second starts the CRLF */
	feed_once("a\r\r\n.\r\n", 7, 1000, &res);
	assert_true(res.bare_cr);
	assert_false(res.bare_lf);
	assert_int_equal(res.outlen, 4);
	assert_memory_equal(res.out, "a\r\r\n", 4);

	/* LF CR LF: bare LF, then a proper line end */
	feed_once("\n\r\n.\r\n", 6, 1000, &res);
	assert_true(res.bare_lf);
	assert_false(res.bare_cr);
	assert_int_equal(res.state, SMTP_DATA_DONE);

	/* a clean message raises no flag */
	feed_once("a\r\nb\r\n.\r\n", 9, 1000, &res);
	assert_false(res.bare_cr);
	assert_false(res.bare_lf);
	assert_false(res.line_too_long);

	/* a CR held at the end of the input is not yet known to be bare */
	feed_once("a\r", 2, 1000, &res);
	assert_false(res.bare_cr);
}

/* Feeds a string literal that may hold NULs, whole. */
#define FEED_LITERAL(lit, res) feed_once(lit, sizeof(lit) - 1, 1000, res)

/* A NUL is kept as content but flagged wherever it is: the session refuses
 * the message, since a next hop may end a line or the data at it. */
static void test_nul_flag(void **state)
{
	struct feed_result res;
	(void)state;

	/* CRLF NUL "." CRLF: the smuggling shape */
	FEED_LITERAL("a\r\n\0.\r\nMAIL\r\n.\r\n", &res);
	assert_int_equal(res.state, SMTP_DATA_DONE);
	assert_true(res.nul);
	assert_false(res.bare_cr);
	assert_false(res.bare_lf);
	assert_int_equal(res.outlen, 13);
	assert_memory_equal(res.out, "a\r\n\0.\r\nMAIL\r\n", 13);

	/* mid-line, first octet of the data, last octet before the CRLF */
	FEED_LITERAL("ab\0cd\r\n.\r\n", &res);
	assert_true(res.nul);
	FEED_LITERAL("\0\r\n.\r\n", &res);
	assert_true(res.nul);
	assert_int_equal(res.outlen, 3);
	FEED_LITERAL("x\0\r\n.\r\n", &res);
	assert_true(res.nul);

	/* after a stuffing dot, and after a CR that turns out bare */
	FEED_LITERAL("..\0\r\n.\r\n", &res);
	assert_true(res.nul);
	assert_memory_equal(res.out, ".\0\r\n", 4);
	FEED_LITERAL("a\r\0\r\n.\r\n", &res);
	assert_true(res.nul);
	assert_true(res.bare_cr);

	/* a NUL after the terminator belongs to the next command, not the message */
	FEED_LITERAL("a\r\n.\r\n\0", &res);
	assert_int_equal(res.consumed, 6);
	assert_false(res.nul);

	/* none at all */
	FEED_LITERAL("a\r\n\x01\x7f\xff\r\n.\r\n", &res);
	assert_false(res.nul);

	/* the flag sticks across calls, and splitting does not change it */
	{
		static const char in[] = "a\0\r\nb\r\n.\r\n";
		size_t cuts[2] = { 1, 2 };
		struct feed_result once, split;

		feed_once(in, sizeof in - 1, 1000, &once);
		feed_pieces(in, sizeof in - 1, cuts, 2, 1000, &split);
		assert_true(once.nul);
		assert_same_result(&once, &split);
	}
}

/* ---- line length: input octets per line, CRLF included ---- */

static void check_long_line(const char *prefix, size_t fill, const char *suffix, bool too_long)
{
	char in[3000];
	struct feed_result res;
	size_t n = strlen(prefix);

	memcpy(in, prefix, n);
	memset(in + n, 'x', fill);
	n += fill;
	strcpy(in + n, suffix);
	n += strlen(suffix);
	feed_once(in, n, 1000, &res);
	if (res.line_too_long != too_long) {
		print_error("prefix \"%s\" fill %zu: line_too_long=%d\n", prefix, fill,
		            res.line_too_long);
		fail();
	}
}

static void test_long_lines(void **state)
{
	(void)state;
	/* 998 + CRLF = 1000 is the longest allowed line (RFC 5321 4.5.3.1.6) */
	check_long_line("", 998, "\r\n.\r\n", false);
	check_long_line("", 999, "\r\n.\r\n", true);
	check_long_line("a\r\n", 998, "\r\nb\r\n.\r\n", false);
	check_long_line("a\r\n", 999, "\r\nb\r\n.\r\n", true);
	/* a line without its end yet is flagged as soon as it passes the limit */
	check_long_line("", 1000, "", false);
	check_long_line("", 1001, "", true);
	/* the stuffing dot counts: it was sent */
	check_long_line(".", 997, "\r\n.\r\n", false);
	check_long_line(".", 998, "\r\n.\r\n", true);
	/* bare LF and bare CR do not end a line, so they do not reset the count */
	check_long_line("", 500, "\n", false);
	check_long_line("\n", 997, "\r\n.\r\n", false);
	check_long_line("\n", 998, "\r\n.\r\n", true);
	check_long_line("\r", 998, "\r\n.\r\n", true);
	check_long_line("\n\n\n\n\n\n", 993, "\r\n.\r\n", true);
}

/* The count restarts after each CRLF: many full-length lines are fine. */
static void test_long_line_count_resets(void **state)
{
	char in[4000];
	struct feed_result res;
	size_t n = 0;
	(void)state;

	for (int line = 0; line < 3; line++) {
		memset(in + n, 'x', 998);
		memcpy(in + n + 998, "\r\n", 2);
		n += 1000;
	}
	memcpy(in + n, ".\r\n", 3);
	feed_once(in, n + 3, 1000, &res);
	assert_false(res.line_too_long);
	assert_int_equal(res.state, SMTP_DATA_DONE);
	assert_int_equal(res.outlen, 3000);
}

static void test_long_line_small_limit(void **state)
{
	struct feed_result res;
	(void)state;

	feed_once("abcd\r\nab\r\n.\r\n", 13, 6, &res);
	assert_false(res.line_too_long);
	feed_once("abcde\r\nab\r\n.\r\n", 14, 6, &res);
	assert_true(res.line_too_long);
	/* the flag sticks for the rest of the message */
	assert_int_equal(res.state, SMTP_DATA_DONE);
	assert_int_equal(res.outlen, 11);
}

/* ---- the same result however the input is split ---- */

static const char *const split_inputs[] = {
	"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	".\r\nMAIL FROM:<a@b>\r\n",
	"\r\n.\r\n",
	"..\r\n...\r\n.x\r\n.\r\nNOOP\r\n",
	"a\n.\r\nb\r.\r\nc\r\n.\nd\r\n.\re\r\n.\r\r\n.\r\nRSET\r\n",
	"\n.\r\n\r.\r\n.\n\r\n.\r\n",
	"x\r\r\r\n\n\n\r\n.\r\n.\r\n",
	".\r.\r\n..\r\n.\r\nX",
	"line one\r\nline two\rstill two\nstill two\r\n",
	"a\r\n.\r",
	"\r\n.",
	"\r\r\n..\r\r\n.\r\n",
};

#define NINPUTS (sizeof split_inputs / sizeof split_inputs[0])

static void test_split_byte_by_byte(void **state)
{
	(void)state;
	for (size_t k = 0; k < NINPUTS; k++) {
		const char *in = split_inputs[k];
		size_t len = strlen(in), cuts[MAX_INPUT];
		struct feed_result once, split;

		for (size_t i = 0; i + 1 < len; i++)
			cuts[i] = i + 1;
		feed_once(in, len, 8, &once);
		feed_pieces(in, len, cuts, len > 0 ? len - 1 : 0, 8, &split);
		assert_same_result(&once, &split);
	}
}

static void test_split_two_ways(void **state)
{
	(void)state;
	for (size_t k = 0; k < NINPUTS; k++) {
		const char *in = split_inputs[k];
		size_t len = strlen(in);
		struct feed_result once, split;

		feed_once(in, len, 8, &once);
		for (size_t i = 0; i <= len; i++) {
			feed_pieces(in, len, &i, 1, 8, &split);
			assert_same_result(&once, &split);
		}
	}
}

static void test_split_three_ways(void **state)
{
	(void)state;
	for (size_t k = 0; k < NINPUTS; k++) {
		const char *in = split_inputs[k];
		size_t len = strlen(in);
		struct feed_result once, split;

		feed_once(in, len, 8, &once);
		for (size_t i = 0; i <= len; i++) {
			for (size_t j = i; j <= len; j++) {
				size_t cuts[2] = { i, j };
				feed_pieces(in, len, cuts, 2, 8, &split);
				assert_same_result(&once, &split);
			}
		}
	}
}

/* The expected one-shot results of some split inputs, so the split tests
 * compare against known-good values and not just against themselves. */
static void test_split_inputs_expected(void **state)
{
	(void)state;
	EXPECT("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", true, 23, "Subject: x\r\n\r\nbody\r\n");
	EXPECT("..\r\n...\r\n.x\r\n.\r\nNOOP\r\n", true, 16, ".\r\n..\r\nx\r\n");
	EXPECT("a\n.\r\nb\r.\r\nc\r\n.\nd\r\n.\re\r\n.\r\r\n.\r\nRSET\r\n", true, 30,
	       "a\n.\r\nb\r.\r\nc\r\n\nd\r\n\re\r\n\r\r\n");
	EXPECT("\n.\r\n\r.\r\n.\n\r\n.\r\n", true, 15, "\n.\r\n\r.\r\n\n\r\n");
	EXPECT("x\r\r\r\n\n\n\r\n.\r\n.\r\n", true, 12, "x\r\r\r\n\n\n\r\n");
	EXPECT(".\r.\r\n..\r\n.\r\nX", true, 12, "\r.\r\n.\r\n");
	EXPECT("a\r\n.\r", false, 5, "a\r\n");
	EXPECT("\r\n.", false, 3, "\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_simple_message),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_stops_at_terminator),
		cmocka_unit_test(test_empty_feed),
		cmocka_unit_test(test_held_cr_released),
		cmocka_unit_test(test_smuggling_variants),
		cmocka_unit_test(test_bare_flags),
		cmocka_unit_test(test_nul_flag),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_long_line_count_resets),
		cmocka_unit_test(test_long_line_small_limit),
		cmocka_unit_test(test_split_byte_by_byte),
		cmocka_unit_test(test_split_two_ways),
		cmocka_unit_test(test_split_three_ways),
		cmocka_unit_test(test_split_inputs_expected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
