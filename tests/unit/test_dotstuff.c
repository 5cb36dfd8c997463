/* Dot-stuffed CRLF text for multi-line responses (mail/dotstuff.c): line
 * ends, stuffing, the end, TOP's line limit, and that cutting the input into
 * pieces anywhere changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail/dotstuff.h"

/* Encodes in (in pieces of `piece` octets, 0 = all at once) and finishes. */
static char *encode(const char *in, size_t piece, bool top, uint64_t lines)
{
	size_t n = strlen(in), cap = MAIL_DOTSTUFF_OUT_MAX(n) + MAIL_DOTSTUFF_FINISH_MAX + 1;
	char *out = calloc(1, cap);
	size_t o = 0;
	struct mail_dotstuff d;
	if (top)
		mail_dotstuff_init_top(&d, lines);
	else
		mail_dotstuff_init(&d);
	if (piece == 0)
		piece = n ? n : 1;
	for (size_t i = 0; i < n; i += piece) {
		size_t len = n - i < piece ? n - i : piece;
		size_t w = mail_dotstuff_encode(&d, in + i, len, out + o);
		assert_true(w <= MAIL_DOTSTUFF_OUT_MAX(len));
		o += w;
	}
	size_t f = mail_dotstuff_finish(&d, out + o);
	assert_true(f <= MAIL_DOTSTUFF_FINISH_MAX);
	out[o + f] = '\0';
	return out;
}

static void check(const char *in, const char *want)
{
	/* every way of cutting the input gives the same text */
	for (size_t piece = 0; piece <= 4; piece++) {
		char *got = encode(in, piece, false, 0);
		assert_string_equal(got, want);
		free(got);
	}
}

static void check_top(const char *in, uint64_t lines, const char *want)
{
	for (size_t piece = 0; piece <= 3; piece++) {
		char *got = encode(in, piece, true, lines);
		assert_string_equal(got, want);
		free(got);
	}
}

static void test_line_ends(void **state)
{
	(void)state;
	check("a\nb\n", "a\r\nb\r\n.\r\n");
	check("a\r\nb\r\n", "a\r\nb\r\n.\r\n");            /* CRLF stays CRLF */
	check("a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n.\r\n");     /* mixed */
	check("no end", "no end\r\n.\r\n");                  /* a line end is added */
	check("", ".\r\n");                                  /* an empty message */
	check("\n", "\r\n.\r\n");
	check("bare\rcr\n", "bare\rcr\r\n.\r\n");            /* a bare CR passes */
	check("ends in cr\r", "ends in cr\r\r\n.\r\n");
	check("\r\r\n", "\r\r\n.\r\n");
}

static void test_stuffing(void **state)
{
	(void)state;
	check(".\n", "..\r\n.\r\n");
	check("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n");
	check("..x\n", "...x\r\n.\r\n");
	check("x.\n.y", "x.\r\n..y\r\n.\r\n");              /* only at a line start */
	check(".\r\n.\r\n", "..\r\n..\r\n.\r\n");
	check("\r.\n", "\r.\r\n.\r\n");                      /* after a bare CR: not a line start */
	check("a\r\n.", "a\r\n..\r\n.\r\n");
}

static void test_top(void **state)
{
	(void)state;
	const char *msg = "Subject: x\nFrom: y\n\nline1\nline2\n.line3\nline4\n";
	check_top(msg, 0, "Subject: x\r\nFrom: y\r\n\r\n.\r\n");
	check_top(msg, 1, "Subject: x\r\nFrom: y\r\n\r\nline1\r\n.\r\n");
	check_top(msg, 3, "Subject: x\r\nFrom: y\r\n\r\nline1\r\nline2\r\n..line3\r\n.\r\n");
	check_top(msg, 99, "Subject: x\r\nFrom: y\r\n\r\nline1\r\nline2\r\n..line3\r\nline4\r\n.\r\n");
	check_top(msg, UINT64_MAX,
	          "Subject: x\r\nFrom: y\r\n\r\nline1\r\nline2\r\n..line3\r\nline4\r\n.\r\n");
	/* CRLF in the file: the blank line is found too */
	check_top("A: 1\r\n\r\nb1\r\nb2\r\n", 1, "A: 1\r\n\r\nb1\r\n.\r\n");
	/* no body at all: the whole header */
	check_top("A: 1\nB: 2\n", 0, "A: 1\r\nB: 2\r\n.\r\n");
	check_top("A: 1\nB: 2", 5, "A: 1\r\nB: 2\r\n.\r\n");
	/* a last body line without its line end */
	check_top("A: 1\n\nonly", 1, "A: 1\r\n\r\nonly\r\n.\r\n");
	/* a message that starts with the blank line has an empty header */
	check_top("\nbody1\nbody2\n", 1, "\r\nbody1\r\n.\r\n");
	/* a line holding a bare CR is not the blank line */
	check_top("A: 1\n\rX\n\nbody\n", 0, "A: 1\r\n\rX\r\n\r\n.\r\n");
	check_top("A: 1\n\r\n\nbody\n", 0, "A: 1\r\n\r\n.\r\n");     /* CRLF: it is */
}

static void test_done_ignores_the_rest(void **state)
{
	(void)state;
	struct mail_dotstuff d;
	char out[64];
	mail_dotstuff_init_top(&d, 0);
	size_t n = mail_dotstuff_encode(&d, "H: v\n\nbody\n", 11, out);
	assert_true(d.done);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "H: v\r\n\r\n", 8);
	assert_int_equal(mail_dotstuff_encode(&d, "more\n", 5, out), 0);
	assert_int_equal(mail_dotstuff_finish(&d, out), 3);
	assert_memory_equal(out, ".\r\n", 3);
}

static void test_worst_case_growth(void **state)
{
	(void)state;
	/* every octet doubled: ".\n" lines, and LF after LF */
	char in[256], out[MAIL_DOTSTUFF_OUT_MAX(256)];
	struct mail_dotstuff d;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = i % 2 ? '\n' : '.';
	mail_dotstuff_init(&d);
	assert_int_equal(mail_dotstuff_encode(&d, in, sizeof(in), out), 2 * sizeof(in));
	memset(in, '\n', sizeof(in));
	assert_int_equal(mail_dotstuff_encode(&d, in, sizeof(in), out), 2 * sizeof(in));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_done_ignores_the_rest),
		cmocka_unit_test(test_worst_case_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
