/* Mail from another server into a mailbox of the index, with the UIDs,
 * UIDVALIDITY, flags, keywords, internal dates and POP3 UIDLs it had there,
 * so that IMAP and POP3 clients do not notice the move.
 *
 * The importer writes each message into the mailbox's tmp/ (its data made
 * durable), then hands over batches: mbox_import_add() puts a batch's files
 * into cur/ and records them under one write lock, in UID order, so that
 * sessions keep working between batches and see the new messages arrive.
 *
 * A mailbox takes an import when it is new, when it never held a message,
 * or when it was filled by an import from the same source and nothing else
 * was added since (a second run resumes where the first stopped, or picks up
 * what the source received meanwhile). While an import runs, new mail for
 * the mailbox waits in new/ (and APPEND is refused): it would take UIDs the
 * import is about to give. */
#ifndef POSTERN_MBOX_IMPORT_H
#define POSTERN_MBOX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store/mbox.h"

#define MBOX_IMPORT_SOURCE_MAX 1023      /* what names the source of a mailbox's import */
#define MBOX_IMPORT_POSITION_MAX 255     /* an importer's own resume point */

enum mbox_import_how {
	MBOX_IMPORT_CREATED,    /* the mailbox did not exist */
	MBOX_IMPORT_ADOPTED,    /* it existed but never held a message */
	MBOX_IMPORT_RESUMED,    /* an import from the same source came before */
};

struct mbox_import {
	struct mbox_info mb;                 /* the mailbox being filled (refreshed per batch) */
	enum mbox_import_how how;
	char position[MBOX_IMPORT_POSITION_MAX + 1];   /* saved by the last batch; "" at first */
};

/* Makes mailbox `name` ready for an import from `source`, giving it
 * `uidvalidity` (0: keep or make a postern one) when it is created or
 * adopted; a resumed one must have it already. The files of a batch an
 * interrupted run left in cur/ are removed. MBOX_CONFLICT, with the reason
 * in err, when the mailbox holds mail from elsewhere; MBOX_INVALID for a
 * name postern cannot use. */
int mbox_import_begin(struct mbox_store *ms, const char *name, const char *source,
                      uint32_t uidvalidity, struct mbox_import *imp, char *err, size_t errlen);

struct mbox_import_msg {
	const char *tmp_name;       /* the file in the mailbox's tmp/, written and synced */
	const char *base;           /* its unique name in cur/ (maildir_unique_name_at) */
	uint32_t uid;
	uint32_t flags;             /* MBOX_F_* */
	const char *keywords;       /* space separated, "" for none */
	long long internaldate;
	uint64_t size;              /* RFC822.SIZE */
	const char *pop3_uidl;      /* kept for POP3 clients; NULL or "" for none */
};

/* Adds n messages in ascending UID order, the first at or above UIDNEXT;
 * UIDNEXT then follows the last. `position` (the importer's resume point,
 * may be NULL) is saved with them, in the same transaction. MBOX_CONFLICT
 * when the UIDs do not fit or the mailbox changed under the import. */
int mbox_import_add(struct mbox_store *ms, struct mbox_import *imp,
                    const struct mbox_import_msg *msgs, size_t n, const char *position);

/* The end of an import run: UIDNEXT raised to `uidnext` when it is below
 * (the source's next UID), and new mail no longer held back. */
int mbox_import_finish(struct mbox_store *ms, struct mbox_import *imp, uint32_t uidnext);
/* The run stopped early (a later run resumes): new mail is no longer held
 * back meanwhile. */
int mbox_import_abandon(struct mbox_store *ms, struct mbox_import *imp);

#endif
