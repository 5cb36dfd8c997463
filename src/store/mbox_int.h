/* Internals shared by mbox.c and mbox_sync.c. */
#ifndef POSTERN_MBOX_INT_H
#define POSTERN_MBOX_INT_H

#include <sqlite3.h>
#include <sys/stat.h>

#include "store/maildir_keywords.h"
#include "store/stmt_cache.h"
#include "store/mbox.h"

/* Cache rows made during a read batch, written when it ends. */
#define MBOX_PENDING_MAX 256
struct mbox_pending_cache {
	long long mailbox_id;
	uint32_t uid;
	char *envelope, *bodystructure, *body;
};

struct mbox_store {
	sqlite3 *db;
	char *root;             /* the user's Maildir */
	bool read_batch;        /* mbox_read_begin..end: no writes in between */
	struct mbox_pending_cache *pending;   /* allocated on first use */
	size_t npending;
	struct mbox_usage_sink sink;          /* sink.changed NULL: nobody follows the totals */
	struct mbox_usage usage_before;       /* the totals when the write transaction began */
	bool usage_known;
	/* the queries every command runs, prepared once (keyed by their text)
	 * on first use: an idle session's connection holds only the few its
	 * polling needs */
	struct stmt_cache stmts;
	/* mbox_open made the index for a Maildir that had mail (mbox_index_rebuilt) */
	bool rebuilt;
	uint32_t rebuilt_mailboxes;
	uint64_t rebuilt_messages;
	/* the keyword letters of the folder last looked at (mbox_keywords.c) */
	struct maildir_keywords kw;
	char kw_dir[4096];
	struct stat kw_file;    /* the dovecot-keywords file it was read from */
	struct stat index_file; /* the index file as opened (mbox_index_replaced) */
};

/* A prepared statement for a query, kept for the next call: sql must be a
 * string constant (its address is the key). Give it back with
 * mbox_stmt_done(); never run the same query nested inside itself. */
sqlite3_stmt *mbox_stmt(struct mbox_store *ms, const char *sql);
void mbox_stmt_done(sqlite3_stmt *st);

/* mbox_info.subscribed of a mailboxes row, as a column expression. */
#define MBOX_SUBSCRIBED_SQL \
	"EXISTS (SELECT 1 FROM subscriptions WHERE subscriptions.name = mailboxes.name)"

/* COPY: the copy gets the header cache row of its original (when it has
 * one), in the caller's transaction (mbox_headers.c). */
int mbox_headers_copy_locked(struct mbox_store *ms, long long from_id, uint32_t uid,
                             long long to_id, uint32_t new_uid);
/* Adds index rows for Maildir++ folders found on disk but not in the index
 * (subscribed: a client that lists only subscribed folders sees them). */
int mbox_discover_folders(struct mbox_store *ms);
/* The MBOX_* result of stepping a query for one row. */
static inline int mbox_row_result(int rc)
{
	return rc == SQLITE_ROW ? MBOX_OK : rc == SQLITE_DONE ? MBOX_NOT_FOUND : MBOX_ERROR;
}
/* Adds the words of a keyword list to the mailbox's known keywords, in the
 * caller's transaction (the one that gives a message those keywords). */
int mbox_note_keywords(struct mbox_store *ms, long long mailbox_id, const char *keywords);
/* The info part of a message file name (after ":2,") in folder dir: flag
 * letters, then the letters of its keywords (maildir_keywords.h). With
 * assign (under the index's write lock), keywords without a letter get the
 * next free one and dovecot-keywords is written; without, a keyword
 * without one is left out (the file is then found by its base name).
 * 0 or -1. */
int mbox_maildir_info(struct mbox_store *ms, const char *dir, uint32_t flags, const char *keywords,
                      bool assign, char *out, size_t len);
/* The keywords (space separated) the lowercase letters of info name. */
void mbox_keywords_from_info(struct mbox_store *ms, const char *dir, const char *info, char *out,
                             size_t len);
/* Longest info part: five flag letters and 26 keyword letters. */
#define MBOX_INFO_MAX 40
/* mtime of <dir>/<sub> in ns, -1 when missing. */
long long mbox_mtime_ns(const char *dir, const char *sub);
/* After our own change in cur/ (rename, unlink, link): when the directory
 * had not changed otherwise since the last sync, remember its new time, so
 * the next sync does not rescan every file for a change it made itself. */
void mbox_note_own_change(struct mbox_store *ms, const struct mbox_info *mb, long long before);
/* Tell the usage sink (mbox_usage.c): begin right after a write
 * transaction starts, end just before it commits (took_new: a sync of INBOX
 * that called mbox_usage_taking_new); end tells the sink when the totals
 * changed or new/ was taken in. */
void mbox_usage_begin(struct mbox_store *ms);
void mbox_usage_taking_new(struct mbox_store *ms);
void mbox_usage_end(struct mbox_store *ms, bool took_new);
/* Removes the regular files of a directory (not recursive). */
void mbox_unlink_all(const char *dir);

/* mbox_import.c: an import is filling the mailbox, so new mail must wait
 * (it would take the UIDs the import is about to give). */
bool mbox_import_holds(struct mbox_store *ms, long long mailbox_id);
/* A file an import put in cur/ and has not recorded yet: not new mail. */
bool mbox_import_pending(struct mbox_store *ms, long long mailbox_id, const char *base);

#endif
