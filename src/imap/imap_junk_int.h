/* The IMAP side of Junk training (imap_junk.c), for COPY, MOVE and STORE.
 * Internal to src/imap. */
#ifndef POSTERN_IMAP_JUNK_INT_H
#define POSTERN_IMAP_JUNK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_session.h"
#include "store/mbox.h"

enum imap_junk_kind { IMAP_JUNK_NONE = 0, IMAP_JUNK_SPAM, IMAP_JUNK_HAM };

/* What a COPY or MOVE from one mailbox to another teaches (NONE when no
 * hook is set). */
enum imap_junk_kind imap_junk_copy_kind(const struct mbox_info *from, const struct mbox_info *to);
/* What a STORE teaches: $Junk newly set is spam, $NotJunk newly set ham
 * (keyword lists before and after, space separated). */
enum imap_junk_kind imap_junk_store_kind(const char *before, const char *after);
/* Hands message uid of mb (in ms) to the hook; false when the hook takes
 * no more: the caller stops reporting for this command. */
bool imap_junk_report(struct imap_session *s, struct mbox_store *ms, const struct mbox_info *mb,
                      uint32_t uid, enum imap_junk_kind kind);

#endif
