/* The header cache of the mailbox index (store: mbox_headers_*) as IMAP
 * fills it: a message's header read with src/mail's summary, its sort keys
 * casemapped (RFC 5256 3 compares with i;ascii-casemap; SORT then orders
 * octets), overlong fields cut. Internal to src/imap.
 *
 * Rows are made when a message is first seen: APPEND has the text at hand,
 * COPY takes the original's row (the store does), and mail delivered to the
 * Maildir gets its rows from the session that next looks at the mailbox,
 * within a small time budget; whatever is left (an imported mailbox of
 * 100,000 messages) is filled by SEARCH, SORT and THREAD in time slices
 * before they answer. */
#ifndef POSTERN_IMAP_HDRCACHE_H
#define POSTERN_IMAP_HDRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_session;
struct mbox_info;
struct mbox_store;

/* Octets of a message read for its header: beyond, the row is incomplete
 * and SEARCH reads that message's file (as it would without a cache). */
#define IMAP_HDRCACHE_HEADER_MAX (256 * 1024)
/* Octets kept of one field (its tail for References: the nearest parents) */
#define IMAP_HDRCACHE_FIELD_MAX 8192
/* Octets kept of a sort key */
#define IMAP_HDRCACHE_KEY_MAX 1024

/* How long a session that finds new mail spends making their rows before
 * it answers (SELECT, NOOP, IDLE): deliveries get theirs at once, an
 * import of thousands is left to the searches. */
#define IMAP_HDRCACHE_CATCH_UP_MS 5

/* Makes rows for mb's messages that have none, UID after *after_uid on,
 * until they are all made (true) or now_ms() reaches deadline_ms (false);
 * *after_uid follows, so the next call goes on where this one stopped. */
bool imap_hdrcache_fill(struct imap_session *s, const struct mbox_info *mb, uint32_t *after_uid,
                        uint64_t deadline_ms);
/* The same within IMAP_HDRCACHE_CATCH_UP_MS, when rows are missing. */
void imap_hdrcache_catch_up(struct imap_session *s, const struct mbox_info *mb);
/* The row of a message whose text is at hand (APPEND: CRLF or LF). */
void imap_hdrcache_put_message(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                               const char *msg, size_t len);

#endif
