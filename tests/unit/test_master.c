/* Master users' login form (auth/master.c): "user*master" split at the last
 * '*' only when a master name follows, and the hostile forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/master.h"

static enum master_form split(const char *login, char *user, char *master)
{
	return master_login_split(login, user, 321, master, MASTER_NAME_MAX + 1);
}

static void test_name_valid(void **state)
{
	(void)state;
	char longest[MASTER_NAME_MAX + 2];
	assert_true(master_name_valid("admin"));
	assert_true(master_name_valid("Help-Desk_2.x"));
	assert_false(master_name_valid(""));
	assert_false(master_name_valid("a*b"));
	assert_false(master_name_valid("a@b"));
	assert_false(master_name_valid("a b"));
	assert_false(master_name_valid("a/b"));
	assert_false(master_name_valid("\xc3\xa4"));
	memset(longest, 'm', MASTER_NAME_MAX);
	longest[MASTER_NAME_MAX] = '\0';
	assert_true(master_name_valid(longest));
	longest[MASTER_NAME_MAX] = 'm';
	longest[MASTER_NAME_MAX + 1] = '\0';
	assert_false(master_name_valid(longest));
}

static void test_split(void **state)
{
	(void)state;
	char user[321], master[MASTER_NAME_MAX + 1];
	assert_int_equal(split("alice@example.org*admin", user, master), MASTER_FORM_OK);
	assert_string_equal(user, "alice@example.org");
	assert_string_equal(master, "admin");
	/* several '*': the last one splits; the user part keeps the others */
	assert_int_equal(split("a*b@example.org**admin", user, master), MASTER_FORM_OK);
	assert_string_equal(user, "a*b@example.org*");
	assert_string_equal(master, "admin");
	/* no master name after the last '*': an ordinary login name */
	assert_int_equal(split("alice@example.org", user, master), MASTER_FORM_NONE);
	assert_int_equal(split("alice@example.org*", user, master), MASTER_FORM_NONE);
	assert_int_equal(split("*", user, master), MASTER_FORM_NONE);
	assert_int_equal(split("", user, master), MASTER_FORM_NONE);
	assert_int_equal(split("al*ice@example.org", user, master), MASTER_FORM_NONE);
	assert_int_equal(split("alice@example.org*adm in", user, master), MASTER_FORM_NONE);
	assert_string_equal(user, "");
	assert_string_equal(master, "");
	/* nothing before the '*': a master's failure */
	assert_int_equal(split("*admin", user, master), MASTER_FORM_BAD);
	assert_string_equal(master, "admin");
	assert_string_equal(user, "");
	assert_int_equal(split("**admin", user, master), MASTER_FORM_OK);
	assert_string_equal(user, "*");
}

static void test_split_bounds(void **state)
{
	(void)state;
	char login[1024], user[321], master[MASTER_NAME_MAX + 1];
	/* the longest user part that fits, and one octet more */
	memset(login, 'u', 320);
	strcpy(login + 320, "*admin");
	assert_int_equal(split(login, user, master), MASTER_FORM_OK);
	assert_int_equal(strlen(user), 320);
	memset(login, 'u', 321);
	strcpy(login + 321, "*admin");
	assert_int_equal(split(login, user, master), MASTER_FORM_BAD);
	assert_string_equal(user, "");
	/* a master part one octet too long is no master name */
	strcpy(login, "alice@example.org*");
	memset(login + 18, 'm', MASTER_NAME_MAX + 1);
	login[18 + MASTER_NAME_MAX + 1] = '\0';
	assert_int_equal(split(login, user, master), MASTER_FORM_NONE);
	login[18 + MASTER_NAME_MAX] = '\0';
	assert_int_equal(split(login, user, master), MASTER_FORM_OK);
	assert_int_equal(strlen(master), MASTER_NAME_MAX);
	/* too small an output for the master: not split (never truncated) */
	assert_int_equal(master_login_split("alice@example.org*admin", user, sizeof(user), master, 5),
	                 MASTER_FORM_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
