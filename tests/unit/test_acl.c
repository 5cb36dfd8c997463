/* Shared mailboxes: RFC 4314 rights strings, and the store's grants with
 * their rules (same domain only, the owner fixed, known users only) and
 * their schema step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/util.h"
#include "store/acl_rights.h"
#include "store/store.h"

/* ---- rights strings ------------------------------------------------------ */

static unsigned parse(const char *text)
{
	unsigned r = 0xdead;
	assert_int_equal(acl_rights_parse(text, strlen(text), &r), 0);
	return r;
}

static void assert_refused(const char *text, size_t len)
{
	unsigned r = 0;
	assert_int_equal(acl_rights_parse(text, len, &r), -1);
}

static const char *format(unsigned rights, bool rfc2086)
{
	static char out[ACL_RIGHTS_TEXT_MAX];
	acl_rights_format(rights, rfc2086, out);
	return out;
}

static void test_rights_parse(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("l"), ACL_LOOKUP);
	assert_int_equal(parse("lrswipkxtea"), ACL_ALL);
	assert_int_equal(parse("aetxkpiwsrl"), ACL_ALL);          /* any order */
	assert_int_equal(parse("rrll"), ACL_LOOKUP | ACL_READ);   /* repeats */
	/* RFC 4314 2.1.1: c is k and x, d is e and t */
	assert_int_equal(parse("c"), ACL_CREATE | ACL_DELETE_MBOX);
	assert_int_equal(parse("d"), ACL_EXPUNGE | ACL_DELETE_MSG);
	assert_int_equal(parse("lrcd"), ACL_LOOKUP | ACL_READ | ACL_CREATE | ACL_DELETE_MBOX |
	                 ACL_EXPUNGE | ACL_DELETE_MSG);
}

static void test_rights_hostile(void **state)
{
	(void)state;
	char big[200];
	memset(big, 'l', sizeof(big));
	assert_refused("L", 1);                 /* RFC 4314 2: lower case only */
	assert_refused("lrz", 3);
	assert_refused("lr ", 3);
	assert_refused("0", 1);
	assert_refused("+l", 2);                /* the +/- modifiers are SETACL's, not rights */
	assert_refused("l\0r", 3);              /* a NUL inside */
	assert_refused("\xc3\xa9", 2);
	assert_refused(big, sizeof(big));       /* bounded */
	assert_int_equal(parse("llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"),
	                 ACL_LOOKUP);           /* 64: the bound itself */
}

static void test_rights_format(void **state)
{
	(void)state;
	assert_string_equal(format(0, false), "");
	assert_string_equal(format(ACL_ALL, false), "lrswipkxtea");
	assert_string_equal(format(ACL_ALL, true), "lrswipkxteacd");
	assert_string_equal(format(parse("arl"), false), "lra");
	assert_string_equal(format(parse("lrk"), true), "lrkc");
	assert_string_equal(format(parse("lrt"), true), "lrtd");
	/* every string the format writes parses back to the same rights */
	for (unsigned r = 0; r <= ACL_ALL; r++) {
		assert_int_equal(parse(format(r, false)), r);
		assert_int_equal(parse(format(r, true)) & ~(unsigned)(ACL_CREATE | ACL_DELETE_MBOX |
		                 ACL_EXPUNGE | ACL_DELETE_MSG),
		                 r & ~(unsigned)(ACL_CREATE | ACL_DELETE_MBOX | ACL_EXPUNGE |
		                 ACL_DELETE_MSG));
	}
}

/* ---- the store's grants ---------------------------------------------------- */

struct fixture {
	char *dir;
	struct store *st;
};

static int setup_store(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char err[512];
	fx->dir = xstrdup("/tmp/postern-acl-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_domain_add(fx->st, "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_domain_add(fx->st, "other.test", err, sizeof(err)), STORE_OK);
	static const char *const users[][2] = {
		{ "alice", "example.org" }, { "bob", "example.org" }, { "carol", "example.org" },
		{ "bob", "other.test" },
	};
	for (size_t i = 0; i < ARRAY_LEN(users); i++)
		assert_int_equal(store_user_add(fx->st, users[i][0], users[i][1], "$argon2id$x", err,
		                                sizeof(err)), STORE_OK);
	*state = fx;
	return 0;
}

static int teardown_store(void **state)
{
	struct fixture *fx = *state;
	char cmd[256];
	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx->dir);
	free(fx);
	return 0;
}

static void collect_grant(void *arg, const struct store_acl_grant *g)
{
	char text[ACL_RIGHTS_TEXT_MAX], line[600];
	acl_rights_format(g->rights, false, text);
	snprintf(line, sizeof(line), "%s %s %s %s|", g->owner, g->mailbox, g->grantee, text);
	strcat(arg, line);
}

static unsigned rights_of(struct store *st, const char *owner, const char *mailbox,
                          const char *grantee)
{
	unsigned r = 0;
	int rc = store_acl_get(st, owner, mailbox, grantee, &r);
	assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
	return rc == STORE_OK ? r : 0;
}

static void test_grants(void **state)
{
	struct fixture *fx = *state;
	char err[512], got[2048] = "";
	assert_int_equal(store_acl_set(fx->st, "alice@example.org", "Projects", "Bob@Example.org",
	                               parse("lr"), err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(fx->st, "alice@example.org", "Projects", "bob@example.org"),
	                 ACL_LOOKUP | ACL_READ);
	/* replaced, not added */
	assert_int_equal(store_acl_set(fx->st, "alice@example.org", "Projects", "bob@example.org",
	                               parse("lrsi"), err, sizeof(err)), STORE_OK);
	assert_string_equal(format(rights_of(fx->st, "alice@example.org", "Projects",
	                                     "bob@example.org"), false), "lrsi");
	/* INBOX in any case is INBOX; other names are exact */
	assert_int_equal(store_acl_set(fx->st, "alice@example.org", "inbox", "carol@example.org",
	                               parse("l"), err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(fx->st, "alice@example.org", "INBOX", "carol@example.org"),
	                 ACL_LOOKUP);
	assert_int_equal(rights_of(fx->st, "alice@example.org", "projects", "bob@example.org"), 0);
	assert_int_equal(store_acl_list(fx->st, "alice@example.org", NULL, collect_grant, got, err,
	                                sizeof(err)), STORE_OK);
	assert_string_equal(got, "alice@example.org INBOX carol@example.org l|"
	                    "alice@example.org Projects bob@example.org lrsi|");
	got[0] = '\0';
	assert_int_equal(store_acl_granted_to(fx->st, "bob@example.org", collect_grant, got, err,
	                                      sizeof(err)), STORE_OK);
	assert_string_equal(got, "alice@example.org Projects bob@example.org lrsi|");
	/* bob@other.test has the same local part: he is granted nothing */
	got[0] = '\0';
	assert_int_equal(store_acl_granted_to(fx->st, "bob@other.test", collect_grant, got, err,
	                                      sizeof(err)), STORE_OK);
	assert_string_equal(got, "");
	assert_int_equal(rights_of(fx->st, "alice@example.org", "Projects", "bob@other.test"), 0);
	/* 0 rights: the grant is gone */
	assert_int_equal(store_acl_set(fx->st, "alice@example.org", "Projects", "bob@example.org", 0,
	                               err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(fx->st, "alice@example.org", "Projects", "bob@example.org"), 0);
}

static void test_grants_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	struct store *st = fx->st;
	const char *alice = "alice@example.org";
	/* another domain, even with a user of the same name there */
	assert_int_equal(store_acl_set(st, alice, "INBOX", "bob@other.test", ACL_LOOKUP, err,
	                               sizeof(err)), STORE_DENIED);
	assert_non_null(strstr(err, "domain"));
	assert_int_equal(store_acl_set(st, alice, "INBOX", "nobody@elsewhere.test", ACL_LOOKUP, err,
	                               sizeof(err)), STORE_DENIED);
	/* the owner's own rights are not a grant */
	assert_int_equal(store_acl_set(st, alice, "INBOX", "ALICE@example.org", 0, err, sizeof(err)),
	                 STORE_DENIED);
	/* unknown users, either side */
	assert_int_equal(store_acl_set(st, alice, "INBOX", "ghost@example.org", ACL_LOOKUP, err,
	                               sizeof(err)), STORE_NOT_FOUND);
	assert_non_null(strstr(err, "ghost@example.org"));
	assert_int_equal(store_acl_set(st, "ghost@example.org", "INBOX", alice, ACL_LOOKUP, err,
	                               sizeof(err)), STORE_NOT_FOUND);
	/* identifiers that are no address: anyone, groups, negative rights */
	const char *const who[] = { "anyone", "authenticated", "-bob@example.org", "", "@example.org" };
	for (size_t i = 0; i < ARRAY_LEN(who); i++) {
		int rc = store_acl_set(st, alice, "INBOX", who[i], ACL_LOOKUP, err, sizeof(err));
		assert_true(rc == STORE_INVALID || rc == STORE_NOT_FOUND);
	}
	/* names that are no mailbox name, rights that are no rights */
	const char *const names[] = { "", "a/", "/a", "a//b", "Wild*", "Wild%", "dot.ted", "a\"b" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		assert_int_equal(store_acl_set(st, alice, names[i], "bob@example.org", ACL_LOOKUP, err,
		                               sizeof(err)), STORE_INVALID);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_acl_set(st, alice, longname, "bob@example.org", ACL_LOOKUP, err,
	                               sizeof(err)), STORE_INVALID);
	assert_int_equal(store_acl_set(st, alice, "INBOX", "bob@example.org", 1u << 11, err,
	                               sizeof(err)), STORE_INVALID);
	char got[256] = "";
	assert_int_equal(store_acl_list(st, alice, NULL, collect_grant, got, err, sizeof(err)),
	                 STORE_OK);
	assert_string_equal(got, "");
}

static void test_grants_follow_mailboxes_and_users(void **state)
{
	struct fixture *fx = *state;
	char err[512], got[2048] = "";
	struct store *st = fx->st;
	const char *alice = "alice@example.org";
	assert_int_equal(store_acl_set(st, alice, "Team", "bob@example.org", parse("lr"), err,
	                               sizeof(err)), STORE_OK);
	assert_int_equal(store_acl_set(st, alice, "Team/2026", "carol@example.org", parse("lrs"), err,
	                               sizeof(err)), STORE_OK);
	assert_int_equal(store_acl_set(st, alice, "Teamwork", "carol@example.org", parse("l"), err,
	                               sizeof(err)), STORE_OK);
	/* a child made below Team gets Team's grants */
	assert_int_equal(store_acl_inherit(st, alice, "Team", "Team/New", err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(st, alice, "Team/New", "bob@example.org"), ACL_LOOKUP | ACL_READ);
	/* a rename takes the children along, not a mere prefix */
	assert_int_equal(store_acl_rename(st, alice, "Team", "Crew", err, sizeof(err)), STORE_OK);
	assert_int_equal(store_acl_list(st, alice, NULL, collect_grant, got, err, sizeof(err)),
	                 STORE_OK);
	assert_string_equal(got, "alice@example.org Crew bob@example.org lr|"
	                    "alice@example.org Crew/2026 carol@example.org lrs|"
	                    "alice@example.org Crew/New bob@example.org lr|"
	                    "alice@example.org Teamwork carol@example.org l|");
	assert_int_equal(store_acl_drop(st, alice, "Crew/New", err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(st, alice, "Crew/New", "bob@example.org"), 0);
	/* deleting a user takes its grants, as grantee and as owner */
	assert_int_equal(store_user_del(st, "carol", "example.org", err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(st, alice, "Teamwork", "carol@example.org"), 0);
	assert_int_equal(store_user_del(st, "alice", "example.org", err, sizeof(err)), STORE_OK);
	got[0] = '\0';
	assert_int_equal(store_acl_granted_to(st, "bob@example.org", collect_grant, got, err,
	                                      sizeof(err)), STORE_OK);
	assert_string_equal(got, "");
}

/* What schema step 7 (DMARC aggregate data) made */
#define STEP_7_UNDONE \
	"DROP TRIGGER dmarc_event_recorded; DROP VIEW dmarc_events; DROP TRIGGER dmarc_row_added; " \
	"DROP TABLE dmarc_rows; DROP TABLE dmarc_domains; DROP TABLE dmarc_days; " \
	"DROP TABLE dmarc_reports; DROP TABLE dmarc_state; "
/* ... and steps 8 (greylisting), 9 (junk), 10 (known networks), 11 (send limits)
 * and 12 (bans) */
#define STEP_8_UNDONE \
	"DROP TABLE greylist; DROP TABLE greylist_size; ALTER TABLE users DROP COLUMN greylist; ALTER TABLE users DROP COLUMN junk; " \
	"DROP TABLE auth_known_networks; DROP TABLE send_limits; " \
	"DROP TABLE bans; DROP TABLE ban_generation; "

/* Schema steps 5 (master users) and 6 (grants) on a database as step 4 left
 * it: the users stay, grants work. */
static void test_migration_from_step_4(void **state)
{
	struct fixture *fx = *state;
	char path[600], err[512];
	int from = 0, to = 0;
	sqlite3 *db;
	store_close(fx->st);
	fx->st = NULL;
	snprintf(path, sizeof(path), "%s/postern.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE mailbox_acl; DROP TABLE master_users; "
	                              STEP_7_UNDONE STEP_8_UNDONE "PRAGMA user_version = 4;", NULL,
	                              NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(fx->dir, err, sizeof(err)));     /* older: refused untouched */
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 4);
	assert_true(to >= 6);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_user_exists(fx->st, "bob", "example.org"), 1);
	assert_int_equal(store_acl_set(fx->st, "alice@example.org", "INBOX", "bob@example.org",
	                               ACL_LOOKUP | ACL_READ, err, sizeof(err)), STORE_OK);
	assert_int_equal(rights_of(fx->st, "alice@example.org", "INBOX", "bob@example.org"),
	                 ACL_LOOKUP | ACL_READ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rights_parse),
		cmocka_unit_test(test_rights_hostile),
		cmocka_unit_test(test_rights_format),
		cmocka_unit_test_setup_teardown(test_grants, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_grants_refused, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_grants_follow_mailboxes_and_users, setup_store,
		                                teardown_store),
		cmocka_unit_test_setup_teardown(test_migration_from_step_4, setup_store, teardown_store),
	};
	return cmocka_run_group_tests_name("acl", tests, NULL, NULL);
}
