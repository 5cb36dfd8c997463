/* What the message commands share: a sequence set resolved against the
 * selected mailbox, and a message file read whole. Internal to src/imap. */
#ifndef POSTERN_IMAP_TARGETS_H
#define POSTERN_IMAP_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

struct imap_session;

/* The messages a sequence set names: parallel arrays, in view order. */
struct imap_targets {
	uint32_t *seq, *uid;
	size_t n, cap;
};

/* Reads a sequence set (UIDs when uid) from c and resolves it against the
 * view. -1 with the cursor's error set on a bad set. */
int imap_targets(struct imap_session *s, struct imap_cursor *c, bool uid, struct imap_targets *t);
void imap_targets_add(struct imap_targets *t, uint32_t seq, uint32_t uid);
void imap_targets_free(struct imap_targets *t);
/* The whole file, when not larger than limit; malloc'd, NUL-terminated. */
char *imap_read_message(const char *path, uint64_t limit, size_t *len);

#endif
