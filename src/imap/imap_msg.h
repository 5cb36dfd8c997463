/* Shared by the IMAP message commands. */
#ifndef POSTERN_IMAP_MSG_H
#define POSTERN_IMAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

struct imap_session;
struct buf;

/* The messages a sequence set names: parallel arrays, in view order. */
struct imap_targets {
	uint32_t *seq, *uid;
	size_t n, cap;
};

/* Reads a sequence set (UIDs when uid) from c and resolves it against the
 * view. -1 with the cursor's error set on a bad set. */
int imap_targets(struct imap_session *s, struct imap_cursor *c, bool uid, struct imap_targets *t);
void imap_targets_add(struct imap_targets *t, uint32_t seq, uint32_t uid);
/* Expunges the messages of t (all of the view when NULL) that have \Deleted,
 * checked again in the store at that moment; report: untagged EXPUNGEs. */
void imap_expunge_deleted(struct imap_session *s, const struct imap_targets *t, bool report);
void imap_targets_free(struct imap_targets *t);
void imap_uid_set_text(const uint32_t *uids, size_t n, struct buf *out);
/* The whole file, when not larger than limit; malloc'd, NUL-terminated. */
char *imap_read_message(const char *path, uint64_t limit, size_t *len);
void imap_format_flags(uint32_t flags, const char *keywords, char *out, size_t len);

#endif
