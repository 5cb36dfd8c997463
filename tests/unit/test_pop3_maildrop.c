/* The POP3 maildrop (pop3/pop3_maildrop.c) over a real Maildir and index:
 * the UIDL rule, the snapshot and its sizes, the exclusive lock (threads of
 * one process and another process), UPDATE through the index, and UIDLs that
 * survive an index rebuild. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "pop3/pop3_maildrop.h"
#include "store/maildir.h"
#include "store/mbox.h"

struct fx {
	char root[256];
	char maildir[300];
};

static void deliver(struct fx *fx, const char *name, const char *content)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/new/%s", fx->maildir, name);
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
	snprintf(fx->root, sizeof(fx->root), "/tmp/postern-pop3-XXXXXX");
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->maildir, sizeof(fx->maildir), "%s/Maildir", fx->root);
	assert_int_equal(maildir_ensure(fx->maildir), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->root);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

struct find { const char *base; uint32_t uid; };

static void find_base(void *arg, const struct mbox_msg *m)
{
	struct find *f = arg;
	if (strcmp(m->base, f->base) == 0)
		f->uid = m->uid;
}

/* The UID the index gives the message with this base name (0: none). */
static uint32_t uid_of(struct mbox_store *ms, struct mbox_info *inbox, const char *base)
{
	struct find f = { base, 0 };
	assert_int_equal(mbox_sync(ms, inbox), MBOX_OK);
	assert_int_equal(mbox_messages(ms, inbox, 1, find_base, &f), MBOX_OK);
	return f.uid;
}

static void remove_index(struct fx *fx)
{
	static const char *const files[] = { "postern-index.db", "postern-index.db-wal",
	                                     "postern-index.db-shm" };
	char path[400];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->maildir, files[i]);
		unlink(path);
	}
}

static struct pop3_maildrop *open_ok(struct fx *fx)
{
	struct pop3_maildrop *md = NULL;
	char err[256] = "";
	assert_int_equal(pop3_maildrop_open(fx->maildir, NULL, NULL, &md, err, sizeof(err)), POP3_MAILDROP_OK);
	assert_non_null(md);
	return md;
}

static void test_uidl_rule(void **state)
{
	char out[MBOX_POP3_UIDL_MAX + 1];
	(void)state;
	/* 32 hex digits of SHA-256 of the base name: fixed, so it never changes */
	pop3_uidl_of("1700000000.M1P2.host", NULL, out, sizeof(out));
	assert_string_equal(out, "8f6919020c357b321c8ca3a5f92b6729");
	pop3_uidl_of("x", "", out, sizeof(out));
	assert_string_equal(out, "2d711642b726b04401627ca9fbac32f5");
	assert_true(mbox_pop3_uidl_valid(out));
	/* a UIDL kept from an import wins; an invalid one does not */
	pop3_uidl_of("x", "imported-123", out, sizeof(out));
	assert_string_equal(out, "imported-123");
	pop3_uidl_of("x", "has space", out, sizeof(out));
	assert_string_equal(out, "2d711642b726b04401627ca9fbac32f5");
	/* a base name with any characters still gives 0x21..0x7E only */
	pop3_uidl_of("strange name:with \x01 and \xff", NULL, out, sizeof(out));
	assert_int_equal(strlen(out), POP3_UIDL_DERIVED_LEN);
	assert_true(mbox_pop3_uidl_valid(out));
}

static void test_snapshot_and_sizes(void **state)
{
	struct fx *fx = *state;
	size_t n;
	uint64_t octets;
	struct pop3_maildrop *md = open_ok(fx);        /* no mail yet */
	assert_int_equal(pop3_maildrop_count(md), 0);
	pop3_maildrop_close(md);
	deliver(fx, "100.M1P1.h", "Subject: a\n\nbody\n");             /* 17 + 3 LFs */
	deliver(fx, "100.M2P1.h", "Subject: b\r\n\r\nbody\r\n");       /* CRLF already: 20 */
	md = open_ok(fx);
	assert_int_equal(pop3_maildrop_count(md), 2);
	const struct pop3_msg *m1 = pop3_maildrop_msg(md, 1), *m2 = pop3_maildrop_msg(md, 2);
	assert_non_null(m1);
	assert_non_null(m2);
	assert_null(pop3_maildrop_msg(md, 0));
	assert_null(pop3_maildrop_msg(md, 3));
	assert_null(pop3_maildrop_msg(md, UINT64_MAX));
	assert_int_equal(m1->size, 20);                /* CRLF octets, RFC 1939 11 */
	assert_int_equal(m2->size, 20);
	pop3_maildrop_stat(md, &n, &octets);
	assert_int_equal(n, 2);
	assert_int_equal(octets, 40);
	pop3_maildrop_mark(md, 1);
	pop3_maildrop_stat(md, &n, &octets);
	assert_int_equal(n, 1);
	assert_int_equal(octets, 20);
	assert_true(pop3_maildrop_msg(md, 1)->deleted);
	pop3_maildrop_unmark_all(md);
	pop3_maildrop_stat(md, &n, &octets);
	assert_int_equal(n, 2);
	/* mail arriving during the session waits for the next one */
	deliver(fx, "100.M3P1.h", "Subject: c\n\nlater\n");
	assert_int_equal(pop3_maildrop_count(md), 2);
	int fd = pop3_maildrop_open_message(md, m1);
	assert_true(fd >= 0);
	char buf[64] = "";
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 17);
	assert_string_equal(buf, "Subject: a\n\nbody\n");
	close(fd);
	pop3_maildrop_close(md);
	md = open_ok(fx);
	assert_int_equal(pop3_maildrop_count(md), 3);
	pop3_maildrop_close(md);
}

static void test_lock_is_exclusive(void **state)
{
	struct fx *fx = *state;
	struct pop3_maildrop *other = NULL;
	char err[256];
	struct pop3_maildrop *md = open_ok(fx);
	/* a second session of the same process (another worker) */
	assert_int_equal(pop3_maildrop_open(fx->maildir, NULL, NULL, &other, err, sizeof(err)),
	                 POP3_MAILDROP_IN_USE);
	assert_null(other);
	/* another process on the same files */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = maildir_lock(fx->maildir, "pop3");
		_exit(fd == MAILDIR_LOCK_BUSY ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pop3_maildrop_close(md);
	/* released with the session */
	md = open_ok(fx);
	pop3_maildrop_close(md);
	/* other names do not conflict */
	int a = maildir_lock(fx->maildir, "pop3"), b = maildir_lock(fx->maildir, "other");
	assert_true(a >= 0 && b >= 0);
	maildir_unlock(a);
	maildir_unlock(b);
}

static void test_commit_removes_through_the_index(void **state)
{
	struct fx *fx = *state;
	char cur[400], err[256], uidl3[MBOX_POP3_UIDL_MAX + 1];
	size_t removed = 99;
	deliver(fx, "200.M1P1.h", "Subject: 1\n\none\n");
	deliver(fx, "200.M2P1.h", "Subject: 2\n\ntwo\n");
	deliver(fx, "200.M3P1.h", "Subject: 3\n\nthree\n");
	struct pop3_maildrop *md = open_ok(fx);
	str_copy(uidl3, sizeof(uidl3), pop3_maildrop_uidl(md, pop3_maildrop_msg(md, 3)));
	/* nothing marked: nothing happens */
	assert_int_equal(pop3_maildrop_commit(md, &removed, err, sizeof(err)), 0);
	assert_int_equal(removed, 0);
	pop3_maildrop_mark(md, 1);
	pop3_maildrop_mark(md, 2);
	/* message 2 is expunged elsewhere (IMAP) before the UPDATE */
	struct mbox_store *ms = mbox_open(fx->maildir, err, sizeof(err));
	struct mbox_info inbox;
	assert_non_null(ms);
	assert_int_equal(mbox_find(ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_expunge(ms, &inbox, uid_of(ms, &inbox, "200.M2P1.h"), false), MBOX_OK);
	assert_int_equal(pop3_maildrop_open_message(md, pop3_maildrop_msg(md, 2)), -1);
	assert_int_equal(pop3_maildrop_commit(md, &removed, err, sizeof(err)), 0);
	assert_int_equal(removed, 1);
	pop3_maildrop_close(md);
	snprintf(cur, sizeof(cur), "%s/cur", fx->maildir);
	assert_int_equal(count_files(cur), 1);
	/* the index knows: IMAP sees one message */
	assert_int_equal(mbox_sync(ms, &inbox), MBOX_OK);
	assert_int_equal(mbox_find(ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(inbox.messages, 1);
	mbox_close(ms);
	md = open_ok(fx);
	assert_int_equal(pop3_maildrop_count(md), 1);
	assert_string_equal(pop3_maildrop_uidl(md, pop3_maildrop_msg(md, 1)), uidl3);
	pop3_maildrop_close(md);
}

static void test_uidl_survives_flags_and_rebuild(void **state)
{
	struct fx *fx = *state;
	char path[400], err[256], before[2][MBOX_POP3_UIDL_MAX + 1];
	deliver(fx, "300.M1P1.h", "Subject: 1\n\none\n");
	deliver(fx, "300.M2P1.h", "Subject: 2\n\ntwo\n");
	struct pop3_maildrop *md = open_ok(fx);
	for (int i = 0; i < 2; i++)
		str_copy(before[i], sizeof(before[i]),
		         pop3_maildrop_uidl(md, pop3_maildrop_msg(md, (uint64_t)i + 1)));
	assert_string_not_equal(before[0], before[1]);
	/* IMAP sets flags during the session: the file is renamed, RETR still finds it */
	struct mbox_store *ms = mbox_open(fx->maildir, err, sizeof(err));
	struct mbox_info inbox;
	assert_non_null(ms);
	assert_int_equal(mbox_find(ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_set_flags(ms, &inbox, uid_of(ms, &inbox, "300.M1P1.h"),
	                                MBOX_F_SEEN | MBOX_F_FLAGGED, "", NULL), MBOX_OK);
	mbox_close(ms);
	int fd = pop3_maildrop_open_message(md, pop3_maildrop_msg(md, 1));
	assert_true(fd >= 0);
	close(fd);
	pop3_maildrop_close(md);
	md = open_ok(fx);
	assert_string_equal(pop3_maildrop_uidl(md, pop3_maildrop_msg(md, 1)), before[0]);
	pop3_maildrop_close(md);
	/* the index deleted by hand is rebuilt from the files: new UIDs, same UIDLs */
	(void)path;
	remove_index(fx);
	md = open_ok(fx);
	assert_int_equal(pop3_maildrop_count(md), 2);
	assert_string_equal(pop3_maildrop_uidl(md, pop3_maildrop_msg(md, 1)), before[0]);
	assert_string_equal(pop3_maildrop_uidl(md, pop3_maildrop_msg(md, 2)), before[1]);
	pop3_maildrop_close(md);
}

/* The index is rebuilt (new UIDs) while a session holds its snapshot: QUIT
 * still removes exactly the messages that were marked. */
static void test_commit_after_an_index_rebuild(void **state)
{
	struct fx *fx = *state;
	char cur[400], err[256];
	size_t removed;
	deliver(fx, "400.M1P1.h", "Subject: 1\n\none\n");
	deliver(fx, "400.M2P1.h", "Subject: 2\n\ntwo\n");
	deliver(fx, "400.M3P1.h", "Subject: 3\n\nthree\n");
	struct pop3_maildrop *md = open_ok(fx);
	pop3_maildrop_mark(md, 2);
	remove_index(fx);
	/* a new index, with a new message first in UID order */
	deliver(fx, "100.M0P1.h", "Subject: 0\n\nzero\n");
	struct mbox_store *ms = mbox_open(fx->maildir, err, sizeof(err));
	struct mbox_info inbox;
	assert_non_null(ms);
	assert_int_equal(mbox_find(ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_sync(ms, &inbox), MBOX_OK);
	mbox_close(ms);
	assert_int_equal(pop3_maildrop_commit(md, &removed, err, sizeof(err)), 0);
	assert_int_equal(removed, 1);
	pop3_maildrop_close(md);
	snprintf(cur, sizeof(cur), "%s/cur", fx->maildir);
	assert_int_equal(count_files(cur), 3);
	snprintf(cur, sizeof(cur), "%s/cur/400.M2P1.h:2,", fx->maildir);
	assert_int_equal(access(cur, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uidl_rule),
		cmocka_unit_test_setup_teardown(test_snapshot_and_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_is_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_removes_through_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uidl_survives_flags_and_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_after_an_index_rebuild, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
