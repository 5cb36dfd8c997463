/* The POP3 maildrop: lock, snapshot, marks and UPDATE (see pop3_maildrop.h). */
#include "pop3/pop3_maildrop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/util.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/quota.h"

struct pop3_maildrop {
	char *maildir;
	char *user, *data_dir;          /* whose usage the index's changes are (quota) */
	int lock_fd;
	struct pop3_msg *msgs;
	size_t n, cap;
	char *text;             /* base names and UIDLs, each NUL-terminated */
	size_t text_len, text_cap;
};

/* ---- UIDL ------------------------------------------------------------------------ */

/* RFC 1939 7: a UIDL is 1 to 70 characters from 0x21 to 0x7E, and the same for
 * a message in every session for as long as the message exists. Neither the
 * UID (a rebuilt index hands out new ones) nor anything about the file but
 * its name qualifies; the Maildir base name (the file name before ":2,") is
 * unique, never changes (flags change only the part after it) and survives
 * an index rebuild. It may be up to 255 octets of any character, so it is
 * hashed: 32 hex digits of SHA-256 (2^-64 odds of a collision in a mailbox
 * of four billion messages). A UIDL kept from an import wins, so that POP3
 * clients of the old server do not fetch everything again. */
void pop3_uidl_of(const char *base, const char *imported, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (imported != NULL && mbox_pop3_uidl_valid(imported)) {
		str_copy(out, outlen, imported);
		return;
	}
	if (outlen < POP3_UIDL_DERIVED_LEN + 1 ||
	    EVP_Digest(base, strlen(base), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < POP3_UIDL_DERIVED_LEN / 2) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < POP3_UIDL_DERIVED_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[POP3_UIDL_DERIVED_LEN] = '\0';
}

/* ---- the snapshot ---------------------------------------------------------------- */

/* Appends text to the maildrop's text; returns its offset there. */
static uint32_t add_text(struct pop3_maildrop *md, const char *text)
{
	size_t len = strlen(text) + 1, at = md->text_len;
	if (md->text_len + len > md->text_cap) {
		md->text_cap = md->text_cap ? md->text_cap * 2 : 4096;
		while (md->text_len + len > md->text_cap)
			md->text_cap *= 2;
		md->text = xrealloc(md->text, md->text_cap);
	}
	memcpy(md->text + md->text_len, text, len);
	md->text_len += len;
	return (uint32_t)at;
}

static void add_message(void *arg, const struct mbox_msg *m)
{
	struct pop3_maildrop *md = arg;
	char uidl[MBOX_POP3_UIDL_MAX + 1];
	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 64;
		md->msgs = xrealloc(md->msgs, md->cap * sizeof(*md->msgs));
	}
	pop3_uidl_of(m->base, m->pop3_uidl, uidl, sizeof(uidl));
	md->msgs[md->n++] = (struct pop3_msg){ .flags = m->flags, .size = m->size,
	                                        .base = add_text(md, m->base),
	                                        .uidl = add_text(md, uidl) };
}

static enum pop3_maildrop_rc fail(struct pop3_maildrop *md, enum pop3_maildrop_rc rc)
{
	pop3_maildrop_close(md);
	return rc;
}

/* The INBOX index, its totals followed by the user's usage row: the sync
 * at login takes new mail in, QUIT removes some (src/store/quota.h). */
static struct mbox_store *open_index(struct pop3_maildrop *md, char *err, size_t errlen)
{
	struct mbox_store *ms = mbox_open(md->maildir, err, errlen);
	/* a pool thread: the follower opens a store connection of its own */
	if (ms != NULL && md->user != NULL)
		quota_follow_index(ms, NULL, md->data_dir, md->user);
	return ms;
}

/* Brings the INBOX index up to date and copies its messages: one index
 * connection, closed again before the session goes on. */
static int take_snapshot(struct pop3_maildrop *md, char *err, size_t errlen)
{
	struct mbox_info inbox;
	struct mbox_store *ms = open_index(md, err, errlen);
	if (ms == NULL)
		return -1;
	int rc = mbox_find(ms, "INBOX", &inbox);
	if (rc == MBOX_OK)
		rc = mbox_sync(ms, &inbox);
	if (rc == MBOX_OK) {
		/* one read transaction: a delivery in between cannot split the list */
		mbox_read_begin(ms);
		rc = mbox_messages(ms, &inbox, 1, add_message, md);
		mbox_read_end(ms);
	}
	mbox_close(ms);
	if (rc != MBOX_OK)
		snprintf(err, errlen, "%s: cannot read the INBOX index", md->maildir);
	return rc == MBOX_OK ? 0 : -1;
}

enum pop3_maildrop_rc pop3_maildrop_open(const char *maildir, const char *user,
                                         const char *data_dir, struct pop3_maildrop **out,
                                         char *err, size_t errlen)
{
	struct pop3_maildrop *md = xcalloc(1, sizeof(*md));
	*out = NULL;
	md->lock_fd = -1;
	md->maildir = xstrdup(maildir);
	if (user != NULL && data_dir != NULL) {
		md->user = xstrdup(user);
		md->data_dir = xstrdup(data_dir);
	}
	/* a user who never got mail may have no Maildir yet: the lock file lives in it */
	if (maildir_ensure(maildir) < 0) {
		snprintf(err, errlen, "%s: %s", maildir, strerror(errno));
		return fail(md, POP3_MAILDROP_ERROR);
	}
	md->lock_fd = maildir_lock(maildir, "pop3");
	if (md->lock_fd == MAILDIR_LOCK_BUSY)
		return fail(md, POP3_MAILDROP_IN_USE);
	if (md->lock_fd < 0) {
		snprintf(err, errlen, "%s: lock: %s", maildir, strerror(errno));
		return fail(md, POP3_MAILDROP_ERROR);
	}
	if (take_snapshot(md, err, errlen) < 0)
		return fail(md, POP3_MAILDROP_ERROR);
	*out = md;
	return POP3_MAILDROP_OK;
}

void pop3_maildrop_close(struct pop3_maildrop *md)
{
	if (md == NULL)
		return;
	maildir_unlock(md->lock_fd);
	free(md->maildir);
	free(md->user);
	free(md->data_dir);
	free(md->msgs);
	free(md->text);
	free(md);
}

/* ---- reading the snapshot ---------------------------------------------------------- */

size_t pop3_maildrop_count(const struct pop3_maildrop *md)
{
	return md->n;
}

void pop3_maildrop_stat(const struct pop3_maildrop *md, size_t *n, uint64_t *octets)
{
	*n = 0;
	*octets = 0;
	for (size_t i = 0; i < md->n; i++) {
		if (md->msgs[i].deleted)
			continue;
		(*n)++;
		*octets += md->msgs[i].size;
	}
}

const struct pop3_msg *pop3_maildrop_msg(const struct pop3_maildrop *md, uint64_t number)
{
	return number >= 1 && number <= md->n ? &md->msgs[number - 1] : NULL;
}

const char *pop3_maildrop_uidl(const struct pop3_maildrop *md, const struct pop3_msg *m)
{
	return md->text + m->uidl;
}

void pop3_maildrop_mark(struct pop3_maildrop *md, uint64_t number)
{
	if (number >= 1 && number <= md->n)
		md->msgs[number - 1].deleted = true;
}

void pop3_maildrop_unmark_all(struct pop3_maildrop *md)
{
	for (size_t i = 0; i < md->n; i++)
		md->msgs[i].deleted = false;
}

int pop3_maildrop_open_message(struct pop3_maildrop *md, const struct pop3_msg *m)
{
	char path[4600];
	if (mbox_locate_file(md->maildir, "INBOX", md->text + m->base, m->flags, path,
	                     sizeof(path)) < 0)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/* ---- UPDATE ------------------------------------------------------------------------ */

int pop3_maildrop_commit(struct pop3_maildrop *md, size_t *removed, char *err, size_t errlen)
{
	struct mbox_info inbox;
	size_t k = 0;
	*removed = 0;
	const char **bases = xmalloc((md->n ? md->n : 1) * sizeof(*bases));
	for (size_t i = 0; i < md->n; i++)
		if (md->msgs[i].deleted)
			bases[k++] = md->text + md->msgs[i].base;
	struct mbox_store *ms = k > 0 ? open_index(md, err, errlen) : NULL;
	int rc = k == 0 ? MBOX_OK : ms == NULL ? MBOX_ERROR : mbox_find(ms, "INBOX", &inbox);
	if (rc == MBOX_OK && k > 0)
		rc = mbox_expunge_bases(ms, &inbox, bases, k, removed);
	if (ms != NULL)
		mbox_close(ms);
	free(bases);
	if (rc != MBOX_OK) {
		if (ms != NULL)
			snprintf(err, errlen, "removing %zu messages failed (%zu removed)", k, *removed);
		return -1;
	}
	return 0;
}
