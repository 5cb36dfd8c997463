/* POP3 command lines (pop3/pop3_parse.c): keywords, arguments, numbers,
 * and the hostile forms (control characters, signs, huge numbers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pop3/pop3_parse.h"

static enum pop3_parse_rc parse(const char *line, struct pop3_cmdline *c)
{
	return pop3_parse_line(line, strlen(line), c);
}

static void test_keywords(void **state)
{
	struct pop3_cmdline c;
	(void)state;
	assert_int_equal(parse("STAT", &c), POP3_PARSE_OK);
	assert_string_equal(c.keyword, "STAT");
	assert_int_equal(c.args_len, 0);
	assert_int_equal(parse("retr 1", &c), POP3_PARSE_OK);
	assert_string_equal(c.keyword, "RETR");          /* case-insensitive */
	assert_int_equal(c.args_len, 1);
	assert_memory_equal(c.args, "1", 1);
	assert_int_equal(parse("TOP  1   10  ", &c), POP3_PARSE_OK);
	assert_int_equal(c.args_len, 9);
	assert_memory_equal(c.args, " 1   10  ", c.args_len);   /* split_args takes the runs */
	assert_int_equal(parse("  NOOP", &c), POP3_PARSE_OK);   /* leading spaces tolerated */
	assert_string_equal(c.keyword, "NOOP");
	assert_int_equal(parse("UTF8", &c), POP3_PARSE_OK);     /* digits in a keyword */
	assert_string_equal(c.keyword, "UTF8");
	/* PASS keeps the rest of the line, spaces included */
	assert_int_equal(parse("PASS  my secret pw ", &c), POP3_PARSE_OK);
	assert_int_equal(c.args_len, 14);
	assert_memory_equal(c.args, " my secret pw ", 14);
}

static void test_bad_lines(void **state)
{
	struct pop3_cmdline c;
	(void)state;
	assert_int_equal(parse("", &c), POP3_PARSE_EMPTY);
	assert_int_equal(parse("    ", &c), POP3_PARSE_EMPTY);
	assert_int_equal(pop3_parse_line("RE\0TR 1", 7, &c), POP3_PARSE_BAD);   /* NUL */
	assert_int_equal(parse("RETR\x01 1", &c), POP3_PARSE_BAD);
	assert_int_equal(parse("RETR 1\x7f", &c), POP3_PARSE_BAD);
	assert_int_equal(parse("RETR\r1", &c), POP3_PARSE_BAD);
	assert_int_equal(parse("R-TR 1", &c), POP3_PARSE_BAD);
	assert_int_equal(parse("\xc3\xa9TAT", &c), POP3_PARSE_BAD);        /* 8-bit keyword */
	assert_int_equal(parse("ABCDEFGHIJKLMNOPQ", &c), POP3_PARSE_BAD);  /* 17 characters */
	assert_int_equal(parse("ABCDEFGHIJKLMNOP", &c), POP3_PARSE_OK);    /* 16: unknown later */
	/* 8-bit text in arguments is fine (a UTF-8 password) */
	assert_int_equal(parse("PASS p\xc3\xa4ss", &c), POP3_PARSE_OK);
}

static void test_split(void **state)
{
	char a[64], *argv[2];
	(void)state;
	strcpy(a, "");
	assert_int_equal(pop3_split_args(a, argv, 2), 0);
	strcpy(a, "   ");
	assert_int_equal(pop3_split_args(a, argv, 2), 0);
	strcpy(a, "1");
	assert_int_equal(pop3_split_args(a, argv, 2), 1);
	assert_string_equal(argv[0], "1");
	strcpy(a, "1  10 ");
	assert_int_equal(pop3_split_args(a, argv, 2), 2);
	assert_string_equal(argv[0], "1");
	assert_string_equal(argv[1], "10");
	strcpy(a, "1 2 3");
	assert_int_equal(pop3_split_args(a, argv, 2), -1);
	strcpy(a, "x");
	assert_int_equal(pop3_split_args(a, argv, 0), -1);
}

static void test_numbers(void **state)
{
	uint64_t v;
	(void)state;
	assert_int_equal(pop3_parse_number("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pop3_parse_number("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pop3_parse_number("007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pop3_parse_number("4294967296", &v), 0);
	assert_int_equal(v, 4294967296ULL);
	assert_int_equal(pop3_parse_number("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	/* too large for 64 bits: out of any range, not an error of syntax */
	assert_int_equal(pop3_parse_number("18446744073709551616", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(pop3_parse_number("99999999999999999999999999999999999999", &v), 0);
	assert_true(v == UINT64_MAX);
	static const char *const bad[] = { "", "+1", "-1", " 1", "1 ", "1x", "0x10", "1e3", "١" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pop3_parse_number(bad[i], &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
