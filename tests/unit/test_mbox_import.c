/* Imports into the mailbox index: given UIDs and UIDVALIDITY, resuming, the
 * cleanup of an interrupted batch, and new mail held back meanwhile. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/util.h"
#include "store/mbox.h"
#include "store/mbox_import.h"

struct fx {
	char root[256];
	char maildir[300];
	struct mbox_store *ms;
};

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char err[256];
	snprintf(fx->root, sizeof(fx->root), "/tmp/postern-mbimport-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->maildir, sizeof(fx->maildir), "%s/Maildir", fx->root);
	fx->ms = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(fx->ms);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[400];
	mbox_close(fx->ms);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* A message written into the mailbox's tmp/ the way the importer does. */
struct staged {
	char tmp[64], base[128];
	struct mbox_import_msg m;
};

static void stage(struct fx *fx, const char *mailbox, struct staged *st, uint32_t uid,
                  uint32_t flags, const char *keywords, const char *uidl)
{
	char dir[4096], path[4300];
	assert_int_equal(mbox_dir(fx->ms, mailbox, dir, sizeof(dir)), 0);
	snprintf(st->tmp, sizeof(st->tmp), "import.%u", uid);
	snprintf(st->base, sizeof(st->base), "1700000000.I%u.test,S=20,W=21", uid);
	snprintf(path, sizeof(path), "%s/tmp/%s", dir, st->tmp);
	write_file(path, "Subject: x\n\nbody\n");
	st->m = (struct mbox_import_msg){ .tmp_name = st->tmp, .base = st->base, .uid = uid,
	                                  .flags = flags, .keywords = keywords,
	                                  .internaldate = 1700000000 + uid, .size = 21,
	                                  .pop3_uidl = uidl };
}

static int add_one(struct fx *fx, struct mbox_import *imp, const char *mailbox, uint32_t uid,
                   uint32_t flags, const char *keywords, const char *uidl, const char *position)
{
	struct staged st;
	stage(fx, mailbox, &st, uid, flags, keywords, uidl);
	return mbox_import_add(fx->ms, imp, &st.m, 1, position);
}

static void test_new_mailbox_keeps_uids_and_uidvalidity(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	struct mbox_info mb;
	struct mbox_msg m;
	struct staged st[3];
	char err[256], cur[4200], dir[4096];
	assert_int_equal(mbox_import_begin(fx->ms, "Archive/2026 Ärger", "test:1", 1234567, &imp, err,
	                                   sizeof(err)), MBOX_OK);
	assert_int_equal(imp.how, MBOX_IMPORT_CREATED);
	assert_string_equal(imp.position, "");
	stage(fx, "Archive/2026 Ärger", &st[0], 3, MBOX_F_SEEN, "", "UIDL-3");
	stage(fx, "Archive/2026 Ärger", &st[1], 5, MBOX_F_FLAGGED | MBOX_F_ANSWERED, "$Label1 Work", NULL);
	stage(fx, "Archive/2026 Ärger", &st[2], 9, 0, "", "");
	struct mbox_import_msg msgs[3] = { st[0].m, st[1].m, st[2].m };
	assert_int_equal(mbox_import_add(fx->ms, &imp, msgs, 3, "pos-9"), MBOX_OK);
	assert_int_equal(imp.mb.uidnext, 10);
	assert_int_equal(mbox_import_finish(fx->ms, &imp, 12), MBOX_OK);

	assert_int_equal(mbox_find(fx->ms, "Archive/2026 Ärger", &mb), MBOX_OK);
	assert_int_equal(mb.uidvalidity, 1234567);
	assert_int_equal(mb.uidnext, 12);
	assert_int_equal(mb.messages, 3);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);   /* nothing for a sync to add */
	assert_int_equal(mb.uidnext, 12);
	assert_int_equal(mbox_get(fx->ms, &mb, 3, &m), MBOX_OK);
	assert_int_equal(m.flags, MBOX_F_SEEN);
	assert_int_equal(m.internaldate, 1700000003);
	assert_string_equal(m.pop3_uidl, "UIDL-3");
	assert_int_equal(mbox_get(fx->ms, &mb, 5, &m), MBOX_OK);
	assert_string_equal(m.keywords, "$Label1 Work");
	assert_string_equal(m.pop3_uidl, "");
	assert_int_equal(mbox_locate(fx->ms, &mb, &m), 0);
	assert_non_null(strstr(m.path, "/cur/1700000000.I5.test,S=20,W=21:2,FR"));
	assert_int_equal(mbox_get(fx->ms, &mb, 4, &m), MBOX_NOT_FOUND);
	assert_int_equal(mbox_dir(fx->ms, mb.name, dir, sizeof(dir)), 0);
	snprintf(cur, sizeof(cur), "%s/tmp", dir);
	assert_int_equal(count_files(cur), 0);
	/* postern's own UIDVALIDITYs never repeat an imported one */
	assert_int_equal(mbox_create(fx->ms, "Later", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Later", &mb), MBOX_OK);
	assert_true(mb.uidvalidity > 1234567);
}

static void test_future_uidvalidity_raises_the_mark(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	struct mbox_info mb;
	char err[256];
	uint32_t future = (uint32_t)time(NULL) + 100000;
	/* INBOX exists (a new index makes it) but never held mail: adopted */
	assert_int_equal(mbox_import_begin(fx->ms, "INBOX", "test:2", future, &imp, err, sizeof(err)),
	                 MBOX_OK);
	assert_int_equal(imp.how, MBOX_IMPORT_ADOPTED);
	assert_int_equal(imp.mb.uidvalidity, future);
	assert_int_equal(mbox_import_finish(fx->ms, &imp, 1), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Next", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Next", &mb), MBOX_OK);
	assert_true(mb.uidvalidity > future);
	/* the top value does not wrap round to 0 */
	assert_int_equal(mbox_import_begin(fx->ms, "Top", "test:3", UINT32_MAX, &imp, err,
	                                   sizeof(err)), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "After", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "After", &mb), MBOX_OK);
	assert_true(mb.uidvalidity != 0);
}

static void test_mailbox_with_mail_is_refused(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	char err[256], path[600];
	snprintf(path, sizeof(path), "%s/new/1700000000.M1.host", fx->maildir);
	write_file(path, "Subject: delivered\n\nhi\n");   /* delivered, never synced yet */
	assert_int_equal(mbox_import_begin(fx->ms, "INBOX", "test:4", 99, &imp, err, sizeof(err)),
	                 MBOX_CONFLICT);
	assert_non_null(strstr(err, "already holds mail"));
	assert_int_equal(mbox_import_begin(fx->ms, "a..b", "test:4", 99, &imp, err, sizeof(err)),
	                 MBOX_INVALID);
}

static void test_uids_must_climb(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	char err[256];
	assert_int_equal(mbox_import_begin(fx->ms, "Box", "test:5", 77, &imp, err, sizeof(err)), MBOX_OK);
	assert_int_equal(add_one(fx, &imp, "Box", 10, 0, "", NULL, NULL), MBOX_OK);
	assert_int_equal(add_one(fx, &imp, "Box", 10, 0, "", NULL, NULL), MBOX_CONFLICT);
	assert_int_equal(add_one(fx, &imp, "Box", 4, 0, "", NULL, NULL), MBOX_CONFLICT);
	assert_int_equal(add_one(fx, &imp, "Box", UINT32_MAX, 0, "", NULL, NULL), MBOX_CONFLICT);
	assert_int_equal(add_one(fx, &imp, "Box", 11, 0, "", NULL, NULL), MBOX_OK);
	assert_int_equal(imp.mb.messages + 0, 0);   /* (counts are mbox_find's) */
	struct mbox_info mb;
	assert_int_equal(mbox_find(fx->ms, "Box", &mb), MBOX_OK);
	assert_int_equal(mb.messages, 2);
}

/* What a run killed between moving its files into cur/ and recording them
 * leaves: pending rows and files in cur/ without rows. */
static void leave_interrupted_batch(struct fx *fx, const char *mailbox, const char *base)
{
	char dir[4096], path[4400], dbpath[600], sql[600];
	sqlite3 *db;
	struct mbox_info mb;
	assert_int_equal(mbox_find(fx->ms, mailbox, &mb), MBOX_OK);
	assert_int_equal(mbox_dir(fx->ms, mailbox, dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/cur/%s:2,S", dir, base);
	write_file(path, "Subject: half\n\nx\n");
	snprintf(dbpath, sizeof(dbpath), "%s/postern-index.db", fx->maildir);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO import_pending(mailbox_id, base, name) "
	         "VALUES (%lld, '%s', '%s:2,S')", mb.id, base, base);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_resume_after_an_interrupted_batch(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	struct mbox_info mb;
	char err[256], dir[4096], cur[4200];
	assert_int_equal(mbox_import_begin(fx->ms, "Box", "test:6", 500, &imp, err, sizeof(err)),
	                 MBOX_OK);
	assert_int_equal(add_one(fx, &imp, "Box", 1, 0, "", NULL, "one"), MBOX_OK);
	leave_interrupted_batch(fx, "Box", "1700000000.Ihalf.test");
	/* a session's sync meanwhile does not take the half-imported file */
	assert_int_equal(mbox_find(fx->ms, "Box", &mb), MBOX_OK);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mb.uidnext, 2);
	/* another source may not take it over */
	assert_int_equal(mbox_import_begin(fx->ms, "Box", "test:other", 500, &imp, err, sizeof(err)),
	                 MBOX_CONFLICT);
	/* the same one resumes: position back, the orphan gone */
	assert_int_equal(mbox_import_begin(fx->ms, "Box", "test:6", 500, &imp, err, sizeof(err)),
	                 MBOX_OK);
	assert_int_equal(imp.how, MBOX_IMPORT_RESUMED);
	assert_string_equal(imp.position, "one");
	assert_int_equal(mbox_dir(fx->ms, "Box", dir, sizeof(dir)), 0);
	snprintf(cur, sizeof(cur), "%s/cur", dir);
	assert_int_equal(count_files(cur), 1);
	assert_int_equal(add_one(fx, &imp, "Box", 2, 0, "", NULL, "two"), MBOX_OK);
	assert_int_equal(mbox_import_finish(fx->ms, &imp, 3), MBOX_OK);
	/* finished, resumable to pick up more, but not after mail from elsewhere */
	assert_int_equal(mbox_find(fx->ms, "Box", &mb), MBOX_OK);
	assert_int_equal(mbox_copy(fx->ms, &mb, 1, &mb, &(uint32_t){ 0 }), MBOX_OK);
	assert_int_equal(mbox_import_begin(fx->ms, "Box", "test:6", 500, &imp, err, sizeof(err)),
	                 MBOX_CONFLICT);
	assert_non_null(strstr(err, "received other mail"));
}

static void test_new_mail_waits_for_the_import(void **state)
{
	struct fx *fx = *state;
	struct mbox_import imp;
	struct mbox_info mb;
	char err[256], path[600], tmp[600];
	uint32_t uid;
	assert_int_equal(mbox_import_begin(fx->ms, "INBOX", "test:7", 42, &imp, err, sizeof(err)),
	                 MBOX_OK);
	assert_int_equal(add_one(fx, &imp, "INBOX", 1, 0, "", NULL, NULL), MBOX_OK);
	snprintf(path, sizeof(path), "%s/new/1700000001.M1.host", fx->maildir);
	write_file(path, "Subject: during\n\nhi\n");
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mb.uidnext, 2);   /* held back in new/ */
	snprintf(tmp, sizeof(tmp), "%s/tmp/appended", fx->maildir);
	write_file(tmp, "Subject: appended\n\nx\n");
	assert_int_equal(mbox_append_file(fx->ms, &mb, tmp, 0, "", 1, 20, &uid), MBOX_IN_USE);
	assert_int_equal(add_one(fx, &imp, "INBOX", 7, 0, "", NULL, NULL), MBOX_OK);
	assert_int_equal(mbox_import_finish(fx->ms, &imp, 9), MBOX_OK);
	/* after the import the delivery comes in above every imported UID */
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mb.uidnext, 10);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mb.messages, 3);
	assert_int_equal(mbox_append_file(fx->ms, &mb, tmp, 0, "", 1, 20, &uid), MBOX_OK);
	assert_int_equal(uid, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_mailbox_keeps_uids_and_uidvalidity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_uidvalidity_raises_the_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_with_mail_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_must_climb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_an_interrupted_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_mail_waits_for_the_import, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
