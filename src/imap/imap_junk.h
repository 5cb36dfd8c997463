/* Training a spam filter by moving mail (issue #24): a message copied or
 * moved into a \Junk mailbox, or given the $Junk keyword, is spam; one
 * copied or moved out of \Junk (but not into \Trash), or given $NotJunk,
 * is ham. IMAP only tells a hook the daemon sets; it knows nothing of the
 * filter (src/filter/rspamd.h) behind it. */
#ifndef POSTERN_IMAP_JUNK_H
#define POSTERN_IMAP_JUNK_H

#include <stdbool.h>

struct worker;

/* Called on the session's worker thread (w) with the message file's path
 * as it is now: open it before returning, it may be renamed or expunged
 * right after. Returns false when it takes no more for now (a full queue):
 * the rest of the command's messages are not offered. */
typedef bool imap_junk_fn(void *arg, struct worker *w, bool spam, const char *path);

/* Set once by the daemon before sessions start; NULL: nothing is reported. */
void imap_junk_set_hook(imap_junk_fn *fn, void *arg);

#endif
