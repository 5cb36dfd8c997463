/* The POP3 maildrop: a user's INBOX as one session sees it (RFC 1939 5).
 *
 * At login the INBOX is brought up to date (mbox_sync) and its messages are
 * copied into a numbered snapshot; mail arriving later waits for the next
 * login, and messages other sessions expunge meanwhile keep their numbers
 * here (RETR of one says it is gone). DELE only marks; QUIT applies the marks
 * through the mailbox index (mbox_expunge_uids), so IMAP sees them go.
 *
 * An exclusive lock on the Maildir (maildir_lock "pop3") is held from open
 * to close: one POP3 session per user, across the workers of a server and
 * across servers on the same files (RFC 1939 8).
 *
 * Between open and commit no index connection is held: a session that sits
 * logged in costs its lock, its snapshot and little else. Messages are known
 * by their Maildir base names, which an index rebuild keeps (UIDs it does not).
 *
 * open and commit open the index and may run on a pool thread; the rest runs
 * on the session's loop. Never two at once: the session waits while the pool
 * works. */
#ifndef POSTERN_POP3_MAILDROP_H
#define POSTERN_POP3_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A derived UIDL: the hex of the first 16 octets of a SHA-256 */
#define POP3_UIDL_DERIVED_LEN 32

struct pop3_msg {
	bool deleted;           /* DELE'd in this session */
	uint32_t flags;         /* as the snapshot found them: they name the file */
	/* RFC 1939 11: the octets as sent, with CRLF line ends, before dot-stuffing
	 * (the index's RFC822.SIZE is exactly that) */
	uint64_t size;
	uint32_t base;          /* offset of its Maildir base name in the maildrop's text */
	uint32_t uidl;          /* offset of its UIDL there */
};

struct pop3_maildrop;

enum pop3_maildrop_rc { POP3_MAILDROP_OK = 0, POP3_MAILDROP_IN_USE, POP3_MAILDROP_ERROR };

/* Locks the Maildir at maildir, syncs its INBOX and takes the snapshot.
 * POP3_MAILDROP_IN_USE when another session holds the lock; ERROR with err.
 * user ("local@domain") and data_dir: whose quota usage follows the index's
 * changes (both NULL: nobody's). */
enum pop3_maildrop_rc pop3_maildrop_open(const char *maildir, const char *user,
                                         const char *data_dir, struct pop3_maildrop **out,
                                         char *err, size_t errlen);
/* Releases the lock and everything else; the marks are forgotten (a session
 * that ends without QUIT deletes nothing, RFC 1939 6). NULL is fine. */
void pop3_maildrop_close(struct pop3_maildrop *md);

/* Every message of the snapshot, deleted ones too (their numbers stay). */
size_t pop3_maildrop_count(const struct pop3_maildrop *md);
/* Messages and octets not marked deleted (STAT, RFC 1939 5). */
void pop3_maildrop_stat(const struct pop3_maildrop *md, size_t *n, uint64_t *octets);
/* Message number `number` (1-based), or NULL out of range. Marked ones too. */
const struct pop3_msg *pop3_maildrop_msg(const struct pop3_maildrop *md, uint64_t number);
const char *pop3_maildrop_uidl(const struct pop3_maildrop *md, const struct pop3_msg *m);

/* DELE and RSET. */
void pop3_maildrop_mark(struct pop3_maildrop *md, uint64_t number);
void pop3_maildrop_unmark_all(struct pop3_maildrop *md);

/* The file of a message, opened for reading (O_CLOEXEC): -1 when it is gone
 * (expunged over IMAP since the snapshot) or cannot be read. Found by name,
 * without the index: a directory listing when IMAP changed its flags. */
int pop3_maildrop_open_message(struct pop3_maildrop *md, const struct pop3_msg *m);

/* UPDATE: removes the marked messages, durably (the Maildir directory is
 * fsync'd). 0 (with *removed, those that had not gone already), or -1 with err. */
int pop3_maildrop_commit(struct pop3_maildrop *md, size_t *removed, char *err, size_t errlen);

/* The UIDL of a message (RFC 1939 7): the one it was imported with, else one
 * derived from its Maildir base name. out gets MBOX_POP3_UIDL_MAX + 1 octets. */
void pop3_uidl_of(const char *base, const char *imported, char *out, size_t outlen);

#endif
