/* Mailbox index: the keywords a mailbox has known, for the FLAGS and
 * PERMANENTFLAGS responses (RFC 3501 7.2.6). */
#include <string.h>

#include "core/util.h"
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
