/* The IMAP mailbox index over Maildir: sync, flags, expunge, append, copy, rebuild. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/util.h"
#include "store/mbox.h"

#define MAILDIR_KEYWORDS_FILE_NAME "dovecot-keywords"

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

static void deliver(struct fx *fx, const char *name, const char *content)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/new/%s", fx->maildir, name);
	write_file(path, content);
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
	snprintf(fx->root, sizeof(fx->root), "/tmp/postern-mbox-XXXXXX");
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

struct names {
	char name[8][64];
	int n;
};

static void collect_name(void *arg, const struct mbox_info *mb)
{
	struct names *ns = arg;
	if (ns->n < 8)
		str_copy(ns->name[ns->n++], sizeof(ns->name[0]), mb->name);
}

struct uids {
	uint32_t uid[64];
	uint32_t flags[64];
	int n;
};

static void collect_uid(void *arg, const struct mbox_msg *m)
{
	struct uids *u = arg;
	u->flags[u->n] = m->flags;
	u->uid[u->n++] = m->uid;
}

static void note_gone(void *arg, uint32_t uid)
{
	struct uids *u = arg;
	u->uid[u->n++] = uid;
}

static void test_new_index_has_special_use(void **state)
{
	struct fx *fx = *state;
	struct names ns = { .n = 0 };
	struct mbox_info mb;
	assert_int_equal(mbox_list(fx->ms, collect_name, &ns), MBOX_OK);
	assert_int_equal(ns.n, 6);
	assert_string_equal(ns.name[0], "INBOX");
	assert_int_equal(mbox_find(fx->ms, "inbox", &mb), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Sent", &mb), MBOX_OK);
	assert_string_equal(mb.special_use, "\\Sent");
	assert_int_equal(mbox_find(fx->ms, "sent", &mb), MBOX_NOT_FOUND);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/.Sent/cur", fx->maildir);
	assert_int_equal(count_files(dir), 0);
}

static void test_sync_assigns_uids_and_flags(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	struct uids u = { .n = 0 };
	char cur[512];
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "1000.M1P1Q1.host,S=6,W=7", "hello\n");
	deliver(fx, "1001.M1P1Q2.host,S=6,W=7", "world\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mb.messages, 2);
	assert_int_equal(mb.unseen, 2);
	assert_int_equal(mb.uidnext, 3);
	snprintf(cur, sizeof(cur), "%s/cur", fx->maildir);
	assert_int_equal(count_files(cur), 2);
	assert_int_equal(mbox_messages(fx->ms, &mb, 1, collect_uid, &u), MBOX_OK);
	assert_int_equal(u.n, 2);
	assert_int_equal(u.uid[0], 1);
	assert_int_equal(u.uid[1], 2);

	/* a sync with nothing new changes nothing, not even the modseq */
	uint64_t modseq = mb.highestmodseq;
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mb.highestmodseq, modseq);

	/* flags go into the file name */
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 1, MBOX_F_SEEN | MBOX_F_FLAGGED, "$Important", NULL), MBOX_OK);
	struct mbox_msg m;
	assert_int_equal(mbox_get(fx->ms, &mb, 1, &m), MBOX_OK);
	assert_int_equal(mbox_locate(fx->ms, &mb, &m), 0);
	assert_non_null(strstr(m.path, ":2,FS"));
	assert_string_equal(m.keywords, "$Important");
	assert_true(m.modseq > modseq);
	assert_int_equal(m.size, 7);
	assert_int_equal(m.internaldate, 1000);
}

static void test_pop3_uidl_kept_from_an_import(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	struct mbox_msg m;
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "1000.M1P1Q1.host,S=6,W=7", "hello\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_get(fx->ms, &mb, 1, &m), MBOX_OK);
	assert_string_equal(m.pop3_uidl, "");
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 1, "00000001505b9b3a"), MBOX_OK);
	assert_int_equal(mbox_get(fx->ms, &mb, 1, &m), MBOX_OK);
	assert_string_equal(m.pop3_uidl, "00000001505b9b3a");
	/* RFC 1939 7: 1..70 characters from 0x21 to 0x7E */
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 1, "has space"), MBOX_INVALID);
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 1, ""), MBOX_INVALID);
	char longest[72];
	memset(longest, 'x', 71);
	longest[71] = '\0';
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 1, longest), MBOX_INVALID);
	longest[70] = '\0';
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 1, longest), MBOX_OK);
	assert_int_equal(mbox_set_pop3_uidl(fx->ms, &mb, 9, "abc"), MBOX_NOT_FOUND);
}

static void test_changes_behind_our_back(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	struct mbox_msg m1, m2;
	char to[700];
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "2000.A.host", "a\n");
	deliver(fx, "2001.B.host", "b\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_get(fx->ms, &mb, 1, &m1), MBOX_OK);
	assert_int_equal(mbox_get(fx->ms, &mb, 2, &m2), MBOX_OK);
	assert_int_equal(mbox_locate(fx->ms, &mb, &m1), 0);
	assert_int_equal(mbox_locate(fx->ms, &mb, &m2), 0);
	/* a size without W= is counted: "a\n" is 3 octets with CRLF */
	assert_int_equal(m1.size, 3);
	/* another program marks message 1 seen and deletes message 2 */
	snprintf(to, sizeof(to), "%s/cur/2000.A.host:2,S", fx->maildir);
	assert_int_equal(rename(m1.path, to), 0);
	assert_int_equal(unlink(m2.path), 0);
	usleep(10000);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mb.messages, 1);
	assert_int_equal(mbox_get(fx->ms, &mb, 1, &m1), MBOX_OK);
	assert_int_equal(m1.flags, MBOX_F_SEEN);
	assert_int_equal(mbox_get(fx->ms, &mb, 2, &m2), MBOX_NOT_FOUND);
	struct uids gone = { .n = 0 };
	assert_int_equal(mbox_expunged_since(fx->ms, &mb, 0, note_gone, &gone), MBOX_OK);
	assert_int_equal(gone.n, 1);
	assert_int_equal(gone.uid[0], 2);
}

static void test_expunge_append_copy(void **state)
{
	struct fx *fx = *state;
	struct mbox_info inbox, sent;
	char tmp[600], sentcur[600];
	uint32_t uid = 0, copy_uid = 0;
	assert_int_equal(mbox_find(fx->ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Sent", &sent), MBOX_OK);
	snprintf(tmp, sizeof(tmp), "%s/tmp/3000.X.host,S=4,W=5", fx->maildir);
	write_file(tmp, "new\n");
	assert_int_equal(mbox_append_file(fx->ms, &inbox, tmp, MBOX_F_SEEN, "", 3000, 5, &uid), MBOX_OK);
	assert_int_equal(uid, 1);
	assert_int_equal(mbox_copy(fx->ms, &inbox, uid, &sent, &copy_uid), MBOX_OK);
	assert_int_equal(copy_uid, 1);
	snprintf(sentcur, sizeof(sentcur), "%s/.Sent/cur", fx->maildir);
	assert_int_equal(count_files(sentcur), 1);
	uint64_t before = inbox.highestmodseq;
	assert_int_equal(mbox_expunge(fx->ms, &inbox, uid, false), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(inbox.messages, 0);
	struct uids gone = { .n = 0 };
	assert_int_equal(mbox_expunged_since(fx->ms, &inbox, before, note_gone, &gone), MBOX_OK);
	assert_int_equal(gone.n, 1);
	assert_int_equal(gone.uid[0], 1);
	/* the copy survives the expunge of its original (a hard link) */
	assert_int_equal(mbox_find(fx->ms, "Sent", &sent), MBOX_OK);
	assert_int_equal(sent.messages, 1);
	/* UIDs are never reused */
	snprintf(tmp, sizeof(tmp), "%s/tmp/3001.Y.host", fx->maildir);
	write_file(tmp, "again\n");
	assert_int_equal(mbox_append_file(fx->ms, &inbox, tmp, 0, "", 3001, 7, &uid), MBOX_OK);
	assert_int_equal(uid, 2);
}

/* ---- the header cache ---- */

struct seen_rows {
	uint32_t uid[16];
	char subject[16][32];
	int n;
};

static void note_row(void *arg, const struct mbox_headers *h)
{
	struct seen_rows *r = arg;
	r->uid[r->n] = h->uid;
	str_copy(r->subject[r->n], sizeof(r->subject[0]), h->subject ? h->subject : "(null)");
	r->n++;
}

static void note_missing(void *arg, const struct mbox_msg *m)
{
	struct uids *u = arg;
	u->uid[u->n++] = m->uid;
}

static void note_sorted(void *arg, uint32_t uid)
{
	struct uids *u = arg;
	u->uid[u->n++] = uid;
}

static void test_header_cache(void **state)
{
	struct fx *fx = *state;
	struct mbox_info inbox, sent;
	uint32_t n, copy_uid;
	assert_int_equal(mbox_find(fx->ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Sent", &sent), MBOX_OK);
	deliver(fx, "1000.M1P1Q1.host,S=6,W=7", "one\n");
	deliver(fx, "1001.M1P1Q2.host,S=6,W=9", "two\n");
	deliver(fx, "1002.M1P1Q3.host,S=6,W=8", "three\n");
	assert_int_equal(mbox_sync(fx->ms, &inbox), MBOX_OK);
	assert_int_equal(mbox_headers_missing_count(fx->ms, &inbox, &n), MBOX_OK);
	assert_int_equal(n, 3);
	struct uids miss = { .n = 0 };
	assert_int_equal(mbox_headers_missing(fx->ms, &inbox, 1, 10, note_missing, &miss), MBOX_OK);
	assert_int_equal(miss.n, 2);   /* after UID 1 */
	assert_int_equal(miss.uid[0], 2);

	/* rows: a sent date for 1 and 3, none for 2 (sorts by its arrival) */
	struct mbox_headers rows[] = {
		{ .uid = 1, .has_sent_time = true, .sent_time = 5000, .sort_subject = "B",
		  .sort_from = "X", .subject = "b", .complete = true },
		{ .uid = 2, .sort_subject = "A", .sort_from = "X", .subject = NULL, .complete = true },
		{ .uid = 3, .has_sent_time = true, .sent_time = 500, .sort_subject = "A",
		  .sort_from = "Y", .subject = "a", .complete = true },
		{ .uid = 9, .sort_subject = "Z" },   /* no such message: skipped */
	};
	assert_int_equal(mbox_headers_put(fx->ms, &inbox, rows, 4), MBOX_OK);
	assert_int_equal(mbox_headers_put(fx->ms, &inbox, rows, 1), MBOX_OK);   /* again: kept */
	assert_int_equal(mbox_headers_missing_count(fx->ms, &inbox, &n), MBOX_OK);
	assert_int_equal(n, 0);
	struct seen_rows seen = { .n = 0 };
	assert_int_equal(mbox_headers_read(fx->ms, &inbox, MBOX_HF_SUBJECT, 2, 0, note_row, &seen),
	                 MBOX_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.uid[0], 2);
	assert_string_equal(seen.subject[0], "(null)");
	assert_string_equal(seen.subject[1], "a");

	struct mbox_sort_spec subject_date[] = { { MBOX_SORT_SUBJECT, false }, { MBOX_SORT_DATE, false } };
	struct uids sorted = { .n = 0 };
	assert_int_equal(mbox_sort(fx->ms, &inbox, subject_date, 2, note_sorted, &sorted), MBOX_OK);
	assert_int_equal(sorted.n, 3);
	assert_int_equal(sorted.uid[0], 3);     /* A, sent 500 */
	assert_int_equal(sorted.uid[1], 2);     /* A, arrival 1001 */
	assert_int_equal(sorted.uid[2], 1);
	struct mbox_sort_spec rev_from_size[] = { { MBOX_SORT_FROM, true }, { MBOX_SORT_SIZE, false } };
	sorted.n = 0;
	assert_int_equal(mbox_sort(fx->ms, &inbox, rev_from_size, 2, note_sorted, &sorted), MBOX_OK);
	assert_int_equal(sorted.uid[0], 3);
	assert_int_equal(sorted.uid[1], 1);     /* size 7 before 9 */
	assert_int_equal(sorted.uid[2], 2);

	/* one key walks its index: REVERSE turns the runs of equal keys around,
	 * not the UID order within them (RFC 5256 3) */
	struct mbox_sort_spec rev_from[] = { { MBOX_SORT_FROM, true } };
	sorted.n = 0;
	assert_int_equal(mbox_sort(fx->ms, &inbox, rev_from, 1, note_sorted, &sorted), MBOX_OK);
	assert_int_equal(sorted.n, 3);
	assert_int_equal(sorted.uid[0], 3);     /* Y */
	assert_int_equal(sorted.uid[1], 1);     /* X, X: UID order */
	assert_int_equal(sorted.uid[2], 2);
	struct mbox_sort_spec rev_date[] = { { MBOX_SORT_DATE, true } };
	sorted.n = 0;
	assert_int_equal(mbox_sort(fx->ms, &inbox, rev_date, 1, note_sorted, &sorted), MBOX_OK);
	assert_int_equal(sorted.uid[0], 1);     /* 5000 */
	assert_int_equal(sorted.uid[1], 2);     /* 1001 */
	assert_int_equal(sorted.uid[2], 3);     /* 500 */
	for (enum mbox_sort_key k = MBOX_SORT_ARRIVAL; k <= MBOX_SORT_DISPLAYTO; k++) {
		struct mbox_sort_spec one[] = { { k, false } };
		sorted.n = 0;
		assert_int_equal(mbox_sort(fx->ms, &inbox, one, 1, note_sorted, &sorted), MBOX_OK);
		assert_int_equal(sorted.n, 3);
	}

	/* a copy takes its row along; an expunge takes it away */
	assert_int_equal(mbox_copy(fx->ms, &inbox, 3, &sent, &copy_uid), MBOX_OK);
	assert_int_equal(mbox_headers_missing_count(fx->ms, &sent, &n), MBOX_OK);
	assert_int_equal(n, 0);
	seen.n = 0;
	assert_int_equal(mbox_headers_read(fx->ms, &sent, MBOX_HF_SUBJECT, 1, 0, note_row, &seen),
	                 MBOX_OK);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.subject[0], "a");
	assert_int_equal(mbox_expunge(fx->ms, &inbox, 3, false), MBOX_OK);
	seen.n = 0;
	assert_int_equal(mbox_headers_read(fx->ms, &inbox, MBOX_HF_MESSAGE_ID | MBOX_HF_SORT_SUBJECT, 1,
	                                   0, note_row, &seen),
	                 MBOX_OK);
	assert_int_equal(seen.n, 2);
	assert_int_equal(mbox_headers_missing_count(fx->ms, &inbox, &n), MBOX_OK);
	assert_int_equal(n, 0);
	/* and a deleted mailbox all of its rows */
	assert_int_equal(mbox_create(fx->ms, "Old", NULL), MBOX_OK);
	struct mbox_info old;
	assert_int_equal(mbox_find(fx->ms, "Old", &old), MBOX_OK);
	assert_int_equal(mbox_copy(fx->ms, &inbox, 1, &old, &copy_uid), MBOX_OK);
	assert_int_equal(mbox_delete(fx->ms, "Old"), MBOX_OK);
	seen.n = 0;
	assert_int_equal(mbox_headers_read(fx->ms, &old, MBOX_HF_SUBJECT, 1, 0, note_row, &seen),
	                 MBOX_OK);
	assert_int_equal(seen.n, 0);
}

static void test_folders(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	assert_false(mbox_name_valid(""));
	assert_false(mbox_name_valid("/a"));
	assert_false(mbox_name_valid("a/"));
	assert_false(mbox_name_valid("a//b"));
	assert_false(mbox_name_valid("a.b"));
	assert_false(mbox_name_valid("a*"));
	assert_false(mbox_name_valid("\xff\xfe"));
	assert_true(mbox_name_valid("Archive/2026"));
	assert_true(mbox_name_valid("Ünïcødé"));
	assert_int_equal(mbox_create(fx->ms, "Projects", NULL), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Projects/A", NULL), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Projects", NULL), MBOX_EXISTS);
	assert_int_equal(mbox_create(fx->ms, "inbox", NULL), MBOX_EXISTS);
	assert_int_equal(mbox_create(fx->ms, "bad.name", NULL), MBOX_INVALID);
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/.Projects.A/cur", fx->maildir);
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(mbox_delete(fx->ms, "Projects"), MBOX_IN_USE);
	assert_int_equal(mbox_delete(fx->ms, "INBOX"), MBOX_INVALID);
	assert_int_equal(mbox_rename(fx->ms, "Projects/A", "Projects/B"), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Projects/B", &mb), MBOX_OK);
	snprintf(dir, sizeof(dir), "%s/.Projects.B/cur", fx->maildir);
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(mbox_delete(fx->ms, "Projects/B"), MBOX_OK);
	assert_int_equal(count_files(dir), -1);
	assert_int_equal(mbox_delete(fx->ms, "Projects"), MBOX_OK);
	assert_int_equal(mbox_subscribe(fx->ms, "Sent", false), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Sent", &mb), MBOX_OK);
	assert_false(mb.subscribed);
	/* subscriptions are names: one may outlive its mailbox */
	assert_int_equal(mbox_subscribe(fx->ms, "Nope", true), MBOX_OK);
	assert_int_equal(mbox_subscribe(fx->ms, "Nope", false), MBOX_OK);
	assert_int_equal(mbox_subscribe(fx->ms, "Nope", false), MBOX_NOT_FOUND);
	assert_int_equal(mbox_subscribe(fx->ms, "bad.name", true), MBOX_INVALID);
	assert_int_equal(mbox_create(fx->ms, "Kept", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Kept", &mb), MBOX_OK);
	assert_false(mb.subscribed);   /* CREATE does not subscribe */
	assert_int_equal(mbox_subscribe(fx->ms, "Kept", true), MBOX_OK);
	assert_int_equal(mbox_delete(fx->ms, "Kept"), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Kept", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Kept", &mb), MBOX_OK);
	assert_true(mb.subscribed);
}

static void test_rebuild_keeps_flags(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	char err[256], path[600];
	assert_int_equal(mbox_create(fx->ms, "Lists", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "4000.A.host", "a\n");
	deliver(fx, "4001.B.host", "b\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 2, MBOX_F_ANSWERED | MBOX_F_SEEN, "", NULL), MBOX_OK);
	uint32_t old_validity = mb.uidvalidity;
	mbox_close(fx->ms);
	snprintf(path, sizeof(path), "%s/%s", fx->maildir, MBOX_INDEX_FILE);
	assert_int_equal(unlink(path), 0);
	sleep(1); /* UIDVALIDITY is time based: a rebuild must change it */
	fx->ms = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(fx->ms);
	assert_int_equal(mbox_find(fx->ms, "Lists", &mb), MBOX_OK);   /* folder rediscovered */
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_not_equal(mb.uidvalidity, old_validity);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	struct uids u = { .n = 0 };
	assert_int_equal(mbox_messages(fx->ms, &mb, 1, collect_uid, &u), MBOX_OK);
	assert_int_equal(u.n, 2);
	assert_int_equal(u.flags[0], 0);
	assert_int_equal(u.flags[1], MBOX_F_ANSWERED | MBOX_F_SEEN);
	/* what was in cur/ is old to the rebuilt index; what is still in new/ is recent */
	uint32_t n;
	assert_int_equal(mbox_count_recent(fx->ms, &mb, &n), MBOX_OK);
	assert_int_equal(n, 0);
	deliver(fx, "4002.C.host", "c\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mbox_count_recent(fx->ms, &mb, &n), MBOX_OK);
	assert_int_equal(n, 1);
}

static void read_text(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void collect_keywords(void *arg, const struct mbox_msg *m)
{
	char *out = arg;
	snprintf(out + strlen(out), 512 - strlen(out), "%s|", m->keywords);
}

/* Keywords live in the file names as dovecot-keywords letters: a rebuilt
 * index gets them back, 26 a folder; more are kept in the index only. */
static void test_rebuild_keeps_keywords(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	char err[256], path[600], text[1024], many[600] = "";
	uint32_t mailboxes;
	uint64_t messages;
	assert_false(mbox_index_rebuilt(fx->ms, &mailboxes, &messages));
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "6000.A.host", "a\n");
	deliver(fx, "6001.B.host", "b\n");
	deliver(fx, "6002.C.host", "c\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 1, MBOX_F_SEEN, "$Forwarded Old", NULL), MBOX_OK);
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 2, 0, "$Junk old", NULL), MBOX_OK);
	for (int i = 0; i < 27; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%02d", i ? " " : "", i);
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 3, 0, many, NULL), MBOX_OK);
	snprintf(path, sizeof(path), "%s/%s", fx->maildir, MAILDIR_KEYWORDS_FILE_NAME);
	read_text(path, text, sizeof(text));
	assert_non_null(strstr(text, "0 $Forwarded\n1 Old\n2 $Junk\n3 k00\n"));
	assert_null(strstr(text, "k23"));          /* 26 letters: k22 took z */
	snprintf(path, sizeof(path), "%s/cur/6000.A.host:2,Sab", fx->maildir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/cur/6001.B.host:2,bc", fx->maildir);
	assert_int_equal(access(path, F_OK), 0);
	/* the index goes; the files and dovecot-keywords stay */
	mbox_close(fx->ms);
	snprintf(path, sizeof(path), "%s/%s", fx->maildir, MBOX_INDEX_FILE);
	assert_int_equal(unlink(path), 0);
	fx->ms = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(fx->ms);
	assert_true(mbox_index_rebuilt(fx->ms, &mailboxes, &messages));
	assert_int_equal(messages, 3);
	assert_int_equal(mailboxes, 6);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	char got[512] = "";
	assert_int_equal(mbox_messages(fx->ms, &mb, 1, collect_keywords, got), MBOX_OK);
	/* the keywords past z had no letter: the index alone knew them */
	assert_true(strncmp(got, "$Forwarded Old|Old $Junk|k00 k01", 32) == 0);
	assert_non_null(strstr(got, " k22|"));     /* z */
	assert_null(strstr(got, "k23"));
}

/* A Maildir written by Dovecot: its letters name keywords from the start. */
static void test_dovecot_keywords_are_read(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb;
	char path[600], got[512] = "";
	snprintf(path, sizeof(path), "%s/%s", fx->maildir, MAILDIR_KEYWORDS_FILE_NAME);
	write_file(path, "0 $Label1\n3 NonJunk\nnot a line\n30 TooFar\n1 $MDNSent\n");
	snprintf(path, sizeof(path), "%s/cur/7000.A.host,S=2:2,RSabd", fx->maildir);
	write_file(path, "a\n");
	snprintf(path, sizeof(path), "%s/cur/7001.B.host,S=2:2,c", fx->maildir);
	write_file(path, "b\n");
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_messages(fx->ms, &mb, 1, collect_keywords, got), MBOX_OK);
	assert_string_equal(got, "$Label1 $MDNSent NonJunk||");   /* c names nothing */
	/* a new keyword gets the first free letter, c */
	assert_int_equal(mbox_set_flags(fx->ms, &mb, 2, 0, "Fresh", NULL), MBOX_OK);
	snprintf(path, sizeof(path), "%s/cur/7001.B.host,S=2:2,c", fx->maildir);
	assert_int_equal(access(path, F_OK), 0);
}

/* An index as schema step 5 (the last one released before 8) left it:
 * steps 1 to 5 of mbox.c, run by hand. */
static const char schema_v5[] =
	"CREATE TABLE mailboxes (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL UNIQUE,  uidvalidity INTEGER NOT NULL,  uidnext INTEGER NOT NULL DEFAULT 1,  highestmodseq INTEGER NOT NULL DEFAULT 1,  subscribed INTEGER NOT NULL DEFAULT 1,  special_use TEXT NOT NULL DEFAULT '',  mtime_new INTEGER NOT NULL DEFAULT 0,  mtime_cur INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages (  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,  uid INTEGER NOT NULL,  base TEXT NOT NULL,  flags INTEGER NOT NULL,  keywords TEXT NOT NULL DEFAULT '',  internaldate INTEGER NOT NULL,  size INTEGER NOT NULL,  modseq INTEGER NOT NULL,  envelope TEXT, bodystructure TEXT, body TEXT,  PRIMARY KEY (mailbox_id, uid));"
	"CREATE UNIQUE INDEX messages_base ON messages(mailbox_id, base);"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	"CREATE TABLE expunged (  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,  uid INTEGER NOT NULL,  modseq INTEGER NOT NULL);"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE INDEX messages_view ON messages(mailbox_id, uid, flags, size);"
	"ALTER TABLE mailboxes ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN n_unseen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE mailboxes ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0;"
	"UPDATE mailboxes SET  n_messages = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id),  n_unseen = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id              AND flags & 1 = 0),  total_size = (SELECT coalesce(sum(size), 0) FROM messages                WHERE mailbox_id = mailboxes.id);"
	"CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN  UPDATE mailboxes SET n_messages = n_messages + 1,    n_unseen = n_unseen + (NEW.flags & 1 = 0), total_size = total_size + NEW.size    WHERE id = NEW.mailbox_id;"
	"END;"
	"CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN  UPDATE mailboxes SET n_messages = n_messages - 1,    n_unseen = n_unseen - (OLD.flags & 1 = 0), total_size = total_size - OLD.size    WHERE id = OLD.mailbox_id;"
	"END;"
	"CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, flags, size ON messages  BEGIN  UPDATE mailboxes SET n_messages = n_messages - 1,    n_unseen = n_unseen - (OLD.flags & 1 = 0), total_size = total_size - OLD.size    WHERE id = OLD.mailbox_id;"
	"UPDATE mailboxes SET n_messages = n_messages + 1,    n_unseen = n_unseen + (NEW.flags & 1 = 0), total_size = total_size + NEW.size    WHERE id = NEW.mailbox_id;"
	"END;"
	"ALTER TABLE messages ADD COLUMN pop3_uidl TEXT;";

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg ? msg : "?");
		fail();
	}
}

static void collect_names(void *arg, const char *name)
{
	strcat(arg, name);
	strcat(arg, "|");
}

/* Step 8 on an index of step 5: subscriptions move to their table (the
 * column goes), the keywords messages have are listed, what is there is
 * not \Recent. */
static void test_migration_to_step_8(void **state)
{
	struct fx *fx = *state;
	char path[600], err[256], subs[256] = "", kws[256] = "";
	sqlite3 *db;
	mbox_close(fx->ms);
	snprintf(path, sizeof(path), "%s/%s", fx->maildir, MBOX_INDEX_FILE);
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, schema_v5);
	exec_sql(db, "INSERT INTO mailboxes(id, name, uidvalidity, uidnext, subscribed) VALUES "
	             "(1, 'INBOX', 100, 4, 1), (2, 'Old', 101, 1, 0), (3, 'Lists', 102, 1, 1);"
	             "INSERT INTO messages(mailbox_id, uid, base, flags, keywords, internaldate, size, "
	             "modseq) VALUES (1, 1, 'a', 0, '$Forwarded Old', 1, 1, 1),"
	             "(1, 2, 'b', 0, '', 1, 1, 1), (1, 3, 'c', 0, 'old $Junk', 1, 1, 1);"
	             "PRAGMA user_version = 5;");
	sqlite3_close(db);
	fx->ms = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(fx->ms);
	assert_int_equal(mbox_subscriptions(fx->ms, collect_names, subs), MBOX_OK);
	assert_string_equal(subs, "INBOX|Lists|");
	struct mbox_info mb;
	assert_int_equal(mbox_find(fx->ms, "Old", &mb), MBOX_OK);
	assert_false(mb.subscribed);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	assert_true(mb.subscribed);
	assert_int_equal(mb.recent_uid, 3);
	assert_int_equal(mbox_keywords(fx->ms, &mb, collect_names, kws), MBOX_OK);
	assert_string_equal(kws, "$Forwarded|Old|$Junk|");
}

/* \Recent: the first claim takes the messages, the next one nothing; new
 * mail is taken by whoever claims it first. */
static void test_recent_is_claimed_once(void **state)
{
	struct fx *fx = *state;
	struct mbox_info mb, other;
	uint32_t was, n;
	assert_int_equal(mbox_find(fx->ms, "INBOX", &mb), MBOX_OK);
	deliver(fx, "5000.A.host", "a\n");
	deliver(fx, "5001.B.host", "b\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_count_recent(fx->ms, &mb, &n), MBOX_OK);
	assert_int_equal(n, 2);
	other = mb;
	assert_int_equal(mbox_claim_recent(fx->ms, &mb, 2, &was), MBOX_OK);
	assert_int_equal(was, 0);                     /* UIDs 1 and 2 are ours */
	assert_int_equal(mbox_claim_recent(fx->ms, &other, 2, &was), MBOX_OK);
	assert_int_equal(was, 2);                     /* a stale copy learns they are taken */
	assert_int_equal(other.recent_uid, 2);
	assert_int_equal(mbox_count_recent(fx->ms, &mb, &n), MBOX_OK);
	assert_int_equal(n, 0);
	deliver(fx, "5002.C.host", "c\n");
	assert_int_equal(mbox_sync(fx->ms, &mb), MBOX_OK);
	assert_int_equal(mbox_claim_recent(fx->ms, &other, 3, &was), MBOX_OK);
	assert_int_equal(was, 2);
	assert_int_equal(mbox_claim_recent(fx->ms, &mb, 3, &was), MBOX_OK);
	assert_int_equal(was, 3);
}

static void append_one(struct fx *fx, struct mbox_info *mb, const char *name, uint32_t flags,
                       uint64_t size, uint32_t *uid)
{
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", fx->maildir, name);
	write_file(tmp, "body\n");
	assert_int_equal(mbox_append_file(fx->ms, mb, tmp, flags, "", 4000, size, uid), MBOX_OK);
}

static void assert_counts(struct fx *fx, const char *name, uint32_t messages, uint32_t unseen,
                          uint64_t size)
{
	struct mbox_info mb;
	assert_int_equal(mbox_find(fx->ms, name, &mb), MBOX_OK);
	assert_int_equal(mb.messages, messages);
	assert_int_equal(mb.unseen, unseen);
	assert_int_equal(mb.size, size);
}

/* STATUS counts are kept by triggers: every kind of change must move them. */
static void test_counts_follow_changes(void **state)
{
	struct fx *fx = *state;
	struct mbox_info inbox, arch;
	uint32_t a, b, c, copy;
	assert_int_equal(mbox_find(fx->ms, "INBOX", &inbox), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Arch", NULL), MBOX_OK);
	assert_int_equal(mbox_find(fx->ms, "Arch", &arch), MBOX_OK);
	append_one(fx, &inbox, "5000.A.host", 0, 100, &a);
	append_one(fx, &inbox, "5001.B.host", MBOX_F_SEEN, 200, &b);
	append_one(fx, &inbox, "5002.C.host", 0, 300, &c);
	assert_counts(fx, "INBOX", 3, 2, 600);
	assert_int_equal(mbox_set_flags(fx->ms, &inbox, a, MBOX_F_SEEN, "", NULL), MBOX_OK);
	assert_counts(fx, "INBOX", 3, 1, 600);
	assert_int_equal(mbox_set_flags(fx->ms, &inbox, b, MBOX_F_FLAGGED, "", NULL), MBOX_OK);
	assert_counts(fx, "INBOX", 3, 2, 600);
	assert_int_equal(mbox_copy(fx->ms, &inbox, c, &arch, &copy), MBOX_OK);
	assert_counts(fx, "Arch", 1, 1, 300);
	assert_int_equal(mbox_expunge(fx->ms, &inbox, b, false), MBOX_OK);
	assert_counts(fx, "INBOX", 2, 1, 400);
	assert_counts(fx, "Arch", 1, 1, 300);
	assert_int_equal(mbox_delete(fx->ms, "Arch"), MBOX_OK);
	assert_int_equal(mbox_create(fx->ms, "Arch", NULL), MBOX_OK);
	assert_counts(fx, "Arch", 0, 0, 0);
	assert_counts(fx, "INBOX", 2, 1, 400);
}

static int add_answered(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	(void)arg;
	(void)now;
	(void)keywords;
	*flags |= MBOX_F_ANSWERED;
	return 0;
}

static int refuse(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	(void)arg;
	(void)now;
	(void)flags;
	(void)keywords;
	return -1;
}

/* A change is decided on the row as another connection (another worker)
 * left it, not on what this one read before: nothing is overwritten, and
 * a renamed mailbox is followed. */
static void test_update_flags_is_decided_under_the_lock(void **state)
{
	struct fx *fx = *state;
	struct mbox_info inbox, stale, box;
	struct mbox_msg m;
	uint32_t a;
	char err[256];
	struct mbox_store *other = mbox_open(fx->maildir, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(mbox_find(fx->ms, "INBOX", &inbox), MBOX_OK);
	append_one(fx, &inbox, "6000.A.host", 0, 100, &a);
	assert_int_equal(mbox_find(other, "INBOX", &stale), MBOX_OK);
	assert_int_equal(mbox_set_flags(fx->ms, &inbox, a, MBOX_F_FLAGGED, "$Work", NULL), MBOX_OK);
	assert_int_equal(mbox_update_flags(other, &stale, a, add_answered, NULL, &m), MBOX_OK);
	assert_int_equal(m.flags, MBOX_F_FLAGGED | MBOX_F_ANSWERED);
	assert_string_equal(m.keywords, "$Work");
	assert_int_equal(mbox_update_flags(other, &stale, a, add_answered, NULL, &m), MBOX_UNCHANGED);
	assert_int_equal(mbox_update_flags(other, &stale, a, refuse, NULL, &m), MBOX_CONFLICT);
	/* renamed through one connection, written through the other */
	assert_int_equal(mbox_create(fx->ms, "Box", NULL), MBOX_OK);
	assert_int_equal(mbox_find(other, "Box", &box), MBOX_OK);
	assert_int_equal(mbox_copy(other, &stale, a, &box, &a), MBOX_OK);
	assert_int_equal(mbox_rename(fx->ms, "Box", "Moved"), MBOX_OK);
	assert_int_equal(mbox_set_flags(other, &box, a, MBOX_F_SEEN, "", NULL), MBOX_OK);
	assert_string_equal(box.name, "Moved");
	assert_int_equal(mbox_get(fx->ms, &box, a, &m), MBOX_OK);
	assert_int_equal(m.flags, MBOX_F_SEEN);
	mbox_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_index_has_special_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_assigns_uids_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_follow_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop3_uidl_kept_from_an_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_append_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_keeps_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent_is_claimed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_keeps_keywords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dovecot_keywords_are_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_to_step_8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_flags_is_decided_under_the_lock, setup,
		                                teardown),
	};
	return cmocka_run_group_tests_name("mbox", tests, NULL, NULL);
}
