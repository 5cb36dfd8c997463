/* Mailboxes of one user for IMAP: Maildir++ folders on disk (message bodies,
 * and the flags in the file names), described by a per-user SQLite index
 * (UIDs, UIDVALIDITY, MODSEQ, flags, cached ENVELOPE/BODYSTRUCTURE).
 *
 * The Maildir is the truth about which messages exist: mbox_sync() picks up
 * files delivered to new/ or added and removed behind the index's back, and
 * an index deleted by hand is rebuilt from the files: flags survive in the
 * file names, keywords too as Dovecot keeps them (maildir_keywords.h: up to
 * 26 a folder; more stay in the index only), UIDs do not, so UIDVALIDITY
 * changes then.
 * One struct mbox_store is one SQLite connection: one per session thread. */
#ifndef POSTERN_MBOX_H
#define POSTERN_MBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MBOX_NAME_MAX 255
#define MBOX_KEYWORDS_MAX 1023           /* all keywords of one message, space separated */
#define MBOX_INDEX_FILE "postern-index.db"
#define MBOX_POP3_UIDL_MAX 70                /* RFC 1939 7: 1 to 70 characters */

/* System flags, as bits (RFC 9051 2.3.2); Maildir letters in comments. */
enum {
	MBOX_F_SEEN = 1 << 0,       /* S */
	MBOX_F_ANSWERED = 1 << 1,   /* R */
	MBOX_F_FLAGGED = 1 << 2,    /* F */
	MBOX_F_DELETED = 1 << 3,    /* T */
	MBOX_F_DRAFT = 1 << 4,      /* D */
};

enum mbox_rc { MBOX_OK = 0, MBOX_ERROR = -1, MBOX_EXISTS = 1, MBOX_NOT_FOUND = 2,
               MBOX_INVALID = 3, MBOX_IN_USE = 4,
               MBOX_CONFLICT = 5,     /* mbox_update_flags: the decision said no */
               MBOX_UNCHANGED = 6 };  /* mbox_update_flags: nothing to change */

struct mbox_store;

struct mbox_info {
	long long id;
	char name[MBOX_NAME_MAX + 1];       /* "INBOX", "Sent", "Archive/2026" (UTF-8, '/' separated) */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	bool subscribed;
	char special_use[16];                /* "\\Sent", "\\Trash" ... or "" */
	uint32_t messages, unseen;           /* filled by mbox_find / mbox_list */
	uint64_t size;                       /* sum of RFC822.SIZE */
	/* \Recent (RFC 3501 2.3.2): messages above this UID have not been
	 * claimed by a session (mbox_claim_recent) */
	uint32_t recent_uid;
};

struct mbox_msg {
	uint32_t uid;
	uint32_t flags;
	char keywords[MBOX_KEYWORDS_MAX + 1]; /* space separated */
	long long internaldate;              /* unix time */
	uint64_t size;                       /* RFC822.SIZE: CRLF octets */
	uint64_t modseq;
	char base[256];                      /* the file's unique name, before ":2," */
	char pop3_uidl[MBOX_POP3_UIDL_MAX + 1]; /* kept from an import; "" = derive one */
	char path[4096];                     /* the file now: filled by mbox_locate() */
};

/* Opens (creating) the index of the Maildir at maildir_root (".../Maildir"),
 * making INBOX and, for a new index, the special-use folders Sent, Drafts,
 * Trash, Junk and Archive (RFC 6154). NULL with err on failure. */
struct mbox_store *mbox_open(const char *maildir_root, char *err, size_t errlen);
void mbox_close(struct mbox_store *ms);
/* True when this mbox_open made a new index for a Maildir that already had
 * mail or folders (the index was deleted, or the Maildir came from
 * elsewhere): the mailboxes it found and the message files in them, which
 * get new UIDs (a new UIDVALIDITY) and keep their flags and keywords. */
bool mbox_index_rebuilt(const struct mbox_store *ms, uint32_t *mailboxes, uint64_t *messages);
/* True when the index file is no longer the one this handle opened (deleted
 * for a rebuild, or replaced): a handle kept open must be opened again. */
bool mbox_index_replaced(const struct mbox_store *ms);

/* Names: '/' separates levels; refused: empty, leading/trailing '/', "//",
 * '.', '~', '%', '*', control characters, invalid UTF-8, over 255 octets. */
bool mbox_name_valid(const char *name);

typedef void (*mbox_info_cb)(void *arg, const struct mbox_info *mb);
int mbox_list(struct mbox_store *ms, mbox_info_cb cb, void *arg);
/* INBOX matches case-insensitively, everything else exactly. One row: the
 * counts are kept up to date as messages change. */
int mbox_find(struct mbox_store *ms, const char *name, struct mbox_info *out);
int mbox_create(struct mbox_store *ms, const char *name, const char *special_use);
/* Re-reads a mailbox's own fields by its id, its name too (no message
 * counts: cheap). MBOX_NOT_FOUND once it is deleted. */
int mbox_refresh(struct mbox_store *ms, struct mbox_info *mb);
/* How many mailboxes the user has. */
int mbox_count(struct mbox_store *ms, uint32_t *n);
/* Refuses INBOX and mailboxes with children (MBOX_IN_USE). */
int mbox_delete(struct mbox_store *ms, const char *name);
int mbox_rename(struct mbox_store *ms, const char *from, const char *to);
/* Subscriptions are by name (RFC 9051 6.3.7): one may name a mailbox that
 * does not exist (any more); DELETE keeps it, RENAME moves it. A new
 * mailbox is not subscribed, except INBOX and the special-use folders of a
 * new index and folders found on disk. Unsubscribing a name neither
 * subscribed nor existing: MBOX_NOT_FOUND. */
int mbox_subscribe(struct mbox_store *ms, const char *name, bool on);
/* A subscription to a name that is none of this index's mailboxes (another
 * user's shared mailbox, as the user names it): any UTF-8 name up to
 * MBOX_NAME_MAX octets, the caller having checked it is one. */
int mbox_subscribe_other(struct mbox_store *ms, const char *name, bool on);
/* The subscribed names, in name order. */
int mbox_subscriptions(struct mbox_store *ms, void (*cb)(void *arg, const char *name), void *arg);
int mbox_subscription_count(struct mbox_store *ms, uint32_t *n);

/* Brings the index of one mailbox up to date with its Maildir. Cheap when
 * the directories have not changed since the last sync. mb's UIDNEXT,
 * HIGHESTMODSEQ and name (after a RENAME elsewhere) are refreshed; its
 * counts are not (mbox_find gives those). MBOX_NOT_FOUND once it is deleted. */
int mbox_sync(struct mbox_store *ms, struct mbox_info *mb);

typedef void (*mbox_msg_cb)(void *arg, const struct mbox_msg *m);
/* Messages with uid >= from_uid, in UID order. */
int mbox_messages(struct mbox_store *ms, const struct mbox_info *mb, uint32_t from_uid,
                  mbox_msg_cb cb, void *arg);
/* Every message's UID and flags, in UID order: what a SELECT needs, read from
 * an index without touching the message rows. */
int mbox_uid_flags(struct mbox_store *ms, const struct mbox_info *mb,
                   void (*cb)(void *arg, uint32_t uid, uint32_t flags), void *arg);
/* Messages whose modseq is above `modseq` (flag changes and new ones). */
int mbox_changed_since(struct mbox_store *ms, const struct mbox_info *mb, uint64_t modseq,
                       mbox_msg_cb cb, void *arg);
/* UIDs expunged with a modseq above `modseq` (for QRESYNC VANISHED). */
int mbox_expunged_since(struct mbox_store *ms, const struct mbox_info *mb, uint64_t modseq,
                        void (*cb)(void *arg, uint32_t uid), void *arg);
/* Several reads as one snapshot: one read transaction instead of one per
 * query (a FETCH of many messages). Nothing that writes in between, except
 * mbox_cache_set, whose rows are kept and written when the batch ends. */
void mbox_read_begin(struct mbox_store *ms);
void mbox_read_end(struct mbox_store *ms);
/* \Recent: claims the messages up to UID up_to for the calling session, the
 * first to SELECT the mailbox since they came (RFC 3501 2.3.2): those above
 * *was (the mark before) are its recent ones; none when *was >= up_to.
 * Atomic across workers and processes. */
int mbox_claim_recent(struct mbox_store *ms, struct mbox_info *mb, uint32_t up_to, uint32_t *was);
/* Messages no session has claimed yet (STATUS RECENT). */
int mbox_count_recent(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n);
/* How many messages have \Deleted (STATUS DELETED, RFC 9051 6.3.11). */
int mbox_count_deleted(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n);
/* One message's index data (not its path: see mbox_locate). */
int mbox_get(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid, struct mbox_msg *out);
/* RFC 1939's UIDL characters and length. */
bool mbox_pop3_uidl_valid(const char *uidl);
/* Keeps the UIDL another server gave a message (import), so that POP3
 * clients do not fetch it again. MBOX_INVALID for a bad one. */
int mbox_set_pop3_uidl(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                       const char *uidl);
/* Fills m->path: the file as it is named now. 0 or -1. */
int mbox_locate(struct mbox_store *ms, const struct mbox_info *mb, struct mbox_msg *m);
/* The same without an open index: the file of the message with this base
 * name in mailbox `mailbox` of the Maildir at root, named for `flags` or, when
 * it has been renamed since (other flags), found in cur/. 0 or -1. */
int mbox_locate_file(const char *root, const char *mailbox, const char *base, uint32_t flags,
                     char *out, size_t outlen);

/* Decides a message's new flags and keywords (keywords: space separated,
 * MBOX_KEYWORDS_MAX + 1 octets) from its row as it is under the write lock;
 * flags and keywords come filled with the current ones. 0 to go on, -1 to
 * leave the message alone (MBOX_CONFLICT). */
typedef int (*mbox_flags_fn)(void *arg, const struct mbox_msg *now, uint32_t *flags,
                             char *keywords);
/* Changes one message's flags as decide says, atomically: renames its file
 * to carry the flags and gives it a new modseq. *result (may be NULL) is
 * the message after the change, or as it stayed. MBOX_UNCHANGED when the
 * flags came out the same. */
int mbox_update_flags(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid,
                      mbox_flags_fn decide, void *arg, struct mbox_msg *result);
/* Sets flags and keywords of one message: renames its file to carry the
 * flags and gives it a new modseq, put in *new_modseq (0 when nothing
 * changed; new_modseq may be NULL). */
int mbox_set_flags(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid, uint32_t flags,
                   const char *keywords, uint64_t *new_modseq);
/* Removes one message (file and row), remembering its UID as expunged. With
 * only_deleted, only when it has \Deleted at that moment (MBOX_NOT_FOUND if not). */
int mbox_expunge(struct mbox_store *ms, struct mbox_info *mb, uint32_t uid, bool only_deleted);
/* Removes the messages with these base names (files and rows) in one
 * transaction, remembering their UIDs as expunged, whatever their flags;
 * those already gone are skipped. By base name, not UID: a snapshot taken
 * before the index was rebuilt still names the right messages. Durable when
 * it returns MBOX_OK: the directory is fsync'd, so a crash cannot bring the
 * files back (POP3 answers QUIT only then, RFC 1939 6). *removed (may be
 * NULL) gets how many were still there. */
int mbox_expunge_bases(struct mbox_store *ms, struct mbox_info *mb, const char *const *bases,
                       size_t n, size_t *removed);
/* Adds the (fsync'd) file at tmp_path to the mailbox with flags; it is
 * moved into cur/. *uid gets the new UID. */
int mbox_append_file(struct mbox_store *ms, struct mbox_info *mb, const char *tmp_path,
                     uint32_t flags, const char *keywords, long long internaldate,
                     uint64_t size, uint32_t *uid);
/* Copies a message into another mailbox (a hard link, same flags). */
int mbox_copy(struct mbox_store *ms, const struct mbox_info *from, uint32_t uid,
              struct mbox_info *to, uint32_t *new_uid);
/* The same from a mailbox of another index (another user's, shared): its
 * header cache row is made when a session next looks. */
int mbox_copy_across(struct mbox_store *src, const struct mbox_info *from, uint32_t uid,
                     struct mbox_store *dst, struct mbox_info *to, uint32_t *new_uid);

/* Every keyword a message of the mailbox has had (kept when the messages
 * lose it), in the order they came: FLAGS and PERMANENTFLAGS list them. */
int mbox_keywords(struct mbox_store *ms, const struct mbox_info *mb,
                  void (*cb)(void *arg, const char *keyword), void *arg);

/* ---- usage: the totals of all mailboxes, followed from outside ----------
 * The quota keeps a copy of a user's totals where a delivery can read it
 * without opening the index (src/store/quota.h). A sink hears of every
 * change inside the index's write transaction, so that copies are written
 * in the order of the changes they describe. */
struct mbox_usage {
	uint64_t storage;       /* sum of RFC822.SIZE */
	uint64_t messages;
};
struct mbox_usage_sink {
	/* A sync of INBOX, under the write lock, is about to take in what was
	 * delivered to new/ (deliveries go to INBOX, nowhere else). */
	void (*taking_new)(void *arg);
	/* The totals after a change, before it commits; took_new: after
	 * taking_new, the sync has taken new/ in. */
	void (*changed)(void *arg, const struct mbox_usage *totals, bool took_new);
	void (*free)(void *arg);        /* at mbox_close or replacement; may be NULL */
	void *arg;
};
/* Installs a sink (NULL: none), freeing the one before. */
void mbox_set_usage_sink(struct mbox_store *ms, const struct mbox_usage_sink *sink);
/* Tells the sink the totals as they are, under the write lock: what a copy
 * may have missed (changes made with no sink, a crash between the two
 * writes, a user made again over a kept Maildir) is made good. */
int mbox_usage_report(struct mbox_store *ms);
/* The totals of every mailbox (one row per mailbox, no message rows read). */
int mbox_usage(struct mbox_store *ms, struct mbox_usage *out);
/* RFC822.SIZE of the messages with \Deleted (STATUS DELETED-STORAGE). */
int mbox_deleted_size(struct mbox_store *ms, const struct mbox_info *mb, uint64_t *octets);

/* Cached ENVELOPE / BODYSTRUCTURE / BODY strings of a message ("" if none). */
int mbox_cache_get(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                   char **envelope, char **bodystructure, char **body);
int mbox_cache_set(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                   const char *envelope, const char *bodystructure, const char *body);

/* ---- the header cache (mbox_headers.c) ----------------------------------
 * What SEARCH, SORT and THREAD read of a message's header, kept in the index
 * so that they never open message files: the fields decoded to UTF-8, the
 * sort keys casemapped by the caller (compared here as octets). A row is
 * written once, when the message is first seen (APPEND, COPY, or the first
 * session to look after a sync), and goes with its message. */

/* One message's row. Strings are NULL where the message lacks the field;
 * the sort keys are never NULL. In rows read back, they point into the
 * store's memory until the callback returns. */
struct mbox_headers {
	uint32_t uid;
	long long arrival;                  /* INTERNALDATE (read back only) */
	uint64_t size;                      /* RFC822.SIZE (read back only) */
	bool has_sent_time;
	long long sent_time;                /* the Date: field's instant, when readable */
	bool has_sent_day;
	int32_t sent_day;                   /* its date in its own zone (SENT* keys) */
	long long sort_date;                /* RFC 5256 2.2 (read back only): sent, else arrival */
	bool reply;                         /* the subject had a reply or forward marker */
	bool complete;                      /* no field was cut: SEARCH may answer from it */
	const char *sort_subject, *sort_from, *sort_to, *sort_cc, *sort_display_from,
	           *sort_display_to;
	/* the text fields, in this order (MBOX_HF_* bits) */
	const char *subject, *from, *to, *cc, *bcc;
	const char *from_addrs, *to_addrs, *cc_addrs, *bcc_addrs;
	const char *message_id, *in_reply_to, *references, *date;
};

/* Which strings a read fills (the others are NULL); the numbers always
 * come. Bit i is the i-th text field of struct mbox_headers from subject
 * on (subject, from, ... date), the column order. */
enum {
	MBOX_HF_SUBJECT = 1 << 0, MBOX_HF_FROM = 1 << 1, MBOX_HF_TO = 1 << 2, MBOX_HF_CC = 1 << 3,
	MBOX_HF_BCC = 1 << 4, MBOX_HF_FROM_ADDRS = 1 << 5, MBOX_HF_TO_ADDRS = 1 << 6,
	MBOX_HF_CC_ADDRS = 1 << 7, MBOX_HF_BCC_ADDRS = 1 << 8, MBOX_HF_MESSAGE_ID = 1 << 9,
	MBOX_HF_IN_REPLY_TO = 1 << 10, MBOX_HF_REFERENCES = 1 << 11, MBOX_HF_DATE = 1 << 12,
	MBOX_HF_SORT_SUBJECT = 1 << 13,
	MBOX_HF_TEXT_COUNT = 13,        /* subject .. date */
};

/* How many of the mailbox's messages have no row yet (0: the cache is whole). */
int mbox_headers_missing_count(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n);
/* The messages with no row and a UID above after_uid, at most max, in UID
 * order (their uid, base and flags: enough to find the file). */
int mbox_headers_missing(struct mbox_store *ms, const struct mbox_info *mb, uint32_t after_uid,
                         size_t max, mbox_msg_cb cb, void *arg);
/* Writes rows, in one transaction; a message expunged meanwhile, or one
 * that has its row already, is skipped. Nothing is written inside a read
 * batch (mbox_read_begin): the rows are made another time. */
int mbox_headers_put(struct mbox_store *ms, const struct mbox_info *mb,
                     const struct mbox_headers *rows, size_t n);
/* Rows with uid >= from_uid, in UID order, at most max (0: all), with the
 * strings of fields (MBOX_HF_*). */
int mbox_headers_read(struct mbox_store *ms, const struct mbox_info *mb, unsigned fields,
                      uint32_t from_uid, size_t max,
                      void (*cb)(void *arg, const struct mbox_headers *h), void *arg);

/* SORT (RFC 5256 3, RFC 5957): what the keys order by. */
enum mbox_sort_key {
	MBOX_SORT_ARRIVAL, MBOX_SORT_CC, MBOX_SORT_DATE, MBOX_SORT_FROM, MBOX_SORT_SIZE,
	MBOX_SORT_SUBJECT, MBOX_SORT_TO, MBOX_SORT_DISPLAYFROM, MBOX_SORT_DISPLAYTO,
};
#define MBOX_SORT_KEYS_MAX 16

struct mbox_sort_spec {
	enum mbox_sort_key key;
	bool reverse;
};

/* The UIDs of the messages that have a row, ordered by keys[0, n) (at most
 * MBOX_SORT_KEYS_MAX), ties by UID (mailbox order, RFC 5256 3). */
int mbox_sort(struct mbox_store *ms, const struct mbox_info *mb, const struct mbox_sort_spec *keys,
              size_t n, void (*cb)(void *arg, uint32_t uid), void *arg);

/* The directory of a mailbox in the Maildir++ layout (of the Maildir at root). */
int mbox_dir(const struct mbox_store *ms, const char *name, char *out, size_t outlen);
int mbox_dir_at(const char *root, const char *name, char *out, size_t outlen);
/* Maildir flag letters ("FS") <-> bits. */
void mbox_flags_to_maildir(uint32_t flags, char *out, size_t outlen);
uint32_t mbox_flags_from_maildir(const char *info);

#endif
