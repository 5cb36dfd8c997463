/* Importing a user's mail from another server's Maildir tree into the
 * user's postern mailboxes. Dovecot's files beside the messages, where a
 * folder has them, give UIDs, UIDVALIDITY, keywords, POP3 UIDLs and
 * subscriptions; without them (any other Maildir) UIDs follow the file
 * names' order and flags come from the names.
 *
 * The source is only read, never changed. Memory stays the same whatever
 * the size of a folder: directory listings go to a scratch map on disk,
 * dovecot-uidlist is read as a stream, and messages go over in batches.
 * A run that is interrupted (even by kill -9) is finished by running it
 * again: nothing is imported twice (see store/mbox_import.h).
 *
 * Where it sits: beside the protocols, above store/ (the mailbox index is
 * its only way in), called by cli/. It uses one piece of imap/, the
 * modified UTF-7 conversion (a pure function): Dovecot names folders on
 * disk in IMAP's encoding. */
#ifndef POSTERN_IMPORT_H
#define POSTERN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import/import_report.h"
#include "import/import_source.h"

#define IMPORT_BATCH_DEFAULT 500
#define IMPORT_BATCH_MAX 5000
#define IMPORT_BATCH_OCTETS (64ULL << 20)    /* a batch is sent at 64 MiB of messages too */

struct mbox_store;

struct import_options {
	enum import_layout layout;
	const char *hostname;            /* goes into the new file names */
	uint64_t message_size_limit;     /* larger ones are counted (and imported) */
	const char *pop3_uidl_format;    /* INBOX messages without a saved UIDL get this
	                                  * (pop3_uidl_format.h); NULL: none */
	size_t batch;                    /* messages per write-lock batch */
	unsigned batch_delay_ms;         /* a pause after each batch (tests) */
};

/* Imports the Maildir tree at rootfd (root_path is for messages) into the
 * mailboxes of ms, for user (for messages). 0, or -1 with err for what
 * stops the run (the destination failing; a source it may not read, when
 * r->access_denied is set);
 * folders that cannot be imported are reported and the run goes on. */
int import_user(struct mbox_store *ms, int rootfd, const char *root_path, const char *user,
                const struct import_options *opt, struct import_report *r, char *err,
                size_t errlen);

/* One folder (import_folder.c): 0, 1 when it was not imported (reported),
 * -1 with err to stop. */
int import_folder(struct mbox_store *ms, int rootfd, const char *root_path, const char *user,
                  const struct import_folder *f, const struct import_options *opt,
                  struct import_report *r, char *err, size_t errlen);

#endif
