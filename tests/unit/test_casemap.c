/* Unit tests for src/core/casemap.c: i;unicode-casemap (RFC 5051) as SEARCH
 * and SORT compare text, and its substring search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/casemap.h"

static void check_map(const char *in, const char *want)
{
	struct buf out;
	buf_init(&out);
	casemap_append(&out, in, strlen(in));
	if (strcmp(out.data, want) != 0)
		fail_msg("casemap(\"%s\") = \"%s\", want \"%s\"", in, out.data, want);
	buf_free(&out);
}

static void test_ascii(void **state)
{
	(void)state;
	check_map("", "");
	check_map("Hello, World! [_x_] `{}", "HELLO, WORLD! [_X_] `{}");
	/* i;ascii-casemap maps to upper case: '_' sorts after the letters */
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	casemap_append(&a, "_x", 2);
	casemap_append(&b, "bar", 3);
	assert_true(strcmp(a.data, b.data) > 0);
	buf_free(&a);
	buf_free(&b);
}

static void test_latin(void **state)
{
	(void)state;
	check_map("caf\xc3\xa9", "CAFE\xcc\x81");                 /* é: E + U+0301 */
	check_map("CAF\xc3\x89", "CAFE\xcc\x81");                 /* É */
	check_map("Cafe\xcc\x81", "CAFE\xcc\x81");                /* already decomposed */
	check_map("\xc3\xbf", "Y\xcc\x88");                       /* ÿ: Ÿ: Y + U+0308 */
	check_map("stra\xc3\x9f" "e", "STRA\xc3\x9f" "E");        /* ß has no simple titlecase */
	check_map("\xc3\xa6\xc3\xb8", "\xc3\x86\xc3\x98");         /* æø: ÆØ, no decomposition */
	check_map("\xc5\x82\xc3\xb3" "d\xc5\xba", "\xc5\x81O\xcc\x81" "DZ\xcc\x81");   /* łódź */
	check_map("\xc4\xb1", "I");                               /* dotless i */
	check_map("\xc5\xbf", "S");                               /* long s */
	check_map("\xc4\xbe", "L\xcc\x8c");                       /* ľ: Ľ, an odd-upper pair */
	check_map("\xc2\xb5", "\xce\x9c");                        /* micro sign: Greek MU */
}

static void test_greek_cyrillic(void **state)
{
	(void)state;
	check_map("\xce\xb1\xce\xb2\xcf\x82", "\xce\x91\xce\x92\xce\xa3");             /* αβς */
	check_map("\xce\xac", "\xce\x91\xcc\x81");                                      /* ά */
	check_map("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",                   /* привет */
	          "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2");
	check_map("\xd1\x91", "\xd0\x95\xcc\x88");                                      /* ё */
	check_map("\xd0\xb9", "\xd0\x98\xcc\x86");                                      /* й */
}

static void test_other_scripts_and_junk(void **state)
{
	(void)state;
	check_map("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");   /* no case: as is */
	check_map("\xf0\x9f\x93\xa7 mail", "\xf0\x9f\x93\xa7 MAIL");        /* 4-octet: as is */
	check_map("a\xff" "b\xc3", "A\xff" "B\xc3");                          /* not UTF-8: copied */
	check_map("x\xed\xa0\x80y", "X\xed\xa0\x80Y");                        /* surrogate: copied */
}

static void test_contains(void **state)
{
	(void)state;
	struct buf scratch, needle;
	buf_init(&scratch);
	buf_init(&needle);
	casemap_append(&needle, "cafe", 4);
	assert_true(casemap_contains("Un Caf\xc3\xa9 noir", 13, needle.data, needle.len, &scratch));
	assert_false(casemap_contains("Un th\xc3\xa9", 7, needle.data, needle.len, &scratch));
	assert_true(casemap_contains("anything", 8, "", 0, &scratch));
	assert_false(casemap_contains("", 0, needle.data, needle.len, &scratch));
	buf_reset(&needle);
	casemap_append(&needle, "\xd0\x9f\xd0\xa0\xd0\x98", 6);
	assert_true(casemap_contains("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 12,
	                             needle.data, needle.len, &scratch));
	buf_free(&scratch);
	buf_free(&needle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_latin),
		cmocka_unit_test(test_greek_cyrillic),
		cmocka_unit_test(test_other_scripts_and_junk),
		cmocka_unit_test(test_contains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
