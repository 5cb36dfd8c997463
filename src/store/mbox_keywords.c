/* Mailbox index: the keywords a mailbox has known, for the FLAGS and
 * PERMANENTFLAGS responses (RFC 3501 7.2.6), and the keyword letters of its
 * Maildir file names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "store/maildir_keywords.h"
#include "store/mbox_int.h"

int mbox_note_keywords(struct mbox_store *ms, long long mailbox_id, const char *keywords)
{
	sqlite3_stmt *s = NULL;
	for (const char *p = keywords; p != NULL && *p;) {
		size_t w = strcspn(p, " ");
		if (w > 0) {
			if (s == NULL && (s = mbox_stmt(ms, "INSERT OR IGNORE INTO keywords(mailbox_id, name) "
			                                    "VALUES (?1, ?2)")) == NULL)
				return MBOX_ERROR;
			sqlite3_bind_int64(s, 1, mailbox_id);
			sqlite3_bind_text(s, 2, p, (int)w, SQLITE_STATIC);
			int rc = sqlite3_step(s);
			mbox_stmt_done(s);
			if (rc != SQLITE_DONE)
				return MBOX_ERROR;
		}
		p += w;
		p += strspn(p, " ");
	}
	return MBOX_OK;
}

int mbox_keywords(struct mbox_store *ms, const struct mbox_info *mb,
                  void (*cb)(void *arg, const char *keyword), void *arg)
{
	/* in the order they came: a FLAGS response does not reorder itself */
	sqlite3_stmt *s = mbox_stmt(ms, "SELECT name FROM keywords WHERE mailbox_id = ?1 ORDER BY rowid");
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(s, 0));
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* ---- the letters in Maildir file names (maildir_keywords.h) -------------- */

/* Which version of dovecot-keywords the cache holds: it is only ever
 * replaced whole (a new file renamed over it). */
static void file_id(const char *dir, struct stat *st)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" MAILDIR_KEYWORDS_FILE, dir);
	if (stat(path, st) < 0)
		memset(st, 0, sizeof(*st));
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The letters of the folder at dir, cached: they are only ever added, so a
 * table that knows a keyword is right about it. fresh: the file as it is
 * now (read again when it changed), as giving out a letter needs. */
static struct maildir_keywords *letters_of(struct mbox_store *ms, const char *dir, bool fresh)
{
	struct stat now;
	bool other_dir = strcmp(ms->kw_dir, dir) != 0;
	if (fresh || other_dir) {
		file_id(dir, &now);
		if (other_dir || !same_file(&now, &ms->kw_file)) {
			maildir_keywords_free(&ms->kw);
			if (maildir_keywords_read(dir, &ms->kw) < 0)
				maildir_keywords_free(&ms->kw);   /* unreadable: no letters */
			str_copy(ms->kw_dir, sizeof(ms->kw_dir), dir);
			ms->kw_file = now;
		}
	}
	return &ms->kw;
}

static int cmp_char(const void *a, const void *b)
{
	return *(const char *)a - *(const char *)b;
}

/* The letters of keywords; false when one had none (not assign) or when
 * the file could not be written (assign). */
static bool keyword_letters(struct mbox_store *ms, const char *dir, const char *keywords,
                            bool assign, char *out)
{
	struct maildir_keywords *kw = letters_of(ms, dir, assign);
	bool added = false, all = true;
	size_t n = 0;
	for (const char *p = keywords; *p;) {
		size_t w = strcspn(p, " ");
		char c = 0;
		if (w > 0)
			c = assign ? maildir_keyword_assign(kw, p, w, &added) : maildir_keyword_letter(kw, p, w);
		if (c != 0 && memchr(out, c, n) == NULL)
			out[n++] = c;
		all &= c != 0 || w == 0;
		p += w;
		p += strspn(p, " ");
	}
	out[n] = '\0';
	qsort(out, n, 1, cmp_char);
	if (added) {
		if (maildir_keywords_write(dir, kw) < 0) {
			ms->kw_dir[0] = '\0';   /* the table has letters the file does not */
			return false;
		}
		file_id(dir, &ms->kw_file);
	}
	return assign || all;
}

int mbox_maildir_info(struct mbox_store *ms, const char *dir, uint32_t flags, const char *keywords,
                      bool assign, char *out, size_t len)
{
	char letters[MAILDIR_KEYWORD_LETTERS + 1] = "";
	mbox_flags_to_maildir(flags, out, len);
	if (keywords == NULL || *keywords == '\0')
		return 0;
	/* a keyword without a letter in the cached table: another session may
	 * have just given it one */
	if (!keyword_letters(ms, dir, keywords, assign, letters)) {
		if (assign)
			return -1;
		letters_of(ms, dir, true);
		keyword_letters(ms, dir, keywords, false, letters);
	}
	return bsnprintf(out + strlen(out), len - strlen(out), "%s", letters) < 0 ? -1 : 0;
}

void mbox_keywords_from_info(struct mbox_store *ms, const char *dir, const char *info, char *out,
                             size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = info; *p; p++) {
		if (*p < 'a' || *p > 'z')
			continue;
		const char *name = letters_of(ms, dir, false)->name[*p - 'a'];
		if (name == NULL)
			name = letters_of(ms, dir, true)->name[*p - 'a'];
		if (name == NULL || n + strlen(name) + 2 > len)
			continue;   /* a letter the folder does not name, or no room */
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "", name);
	}
}
