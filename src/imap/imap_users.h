/* Per-user IMAP resources: shared mailbox index handles and connection caps. */
#ifndef POSTERN_IMAP_USERS_H
#define POSTERN_IMAP_USERS_H

#include <stdbool.h>
#include <stddef.h>

struct mbox_store;
struct worker;

/* The user's mailbox index on this worker, opened on first use. Call on the
 * worker's thread; release once per acquire. NULL with err on failure. */
struct mbox_store *imap_store_acquire(struct worker *w, const char *user, const char *maildir,
                                      char *err, size_t errlen);
void imap_store_release(struct worker *w, struct mbox_store *ms);

/* imap.max_connections_per_user: false when the user has max sessions already. */
bool imap_user_connect(const char *user, int max);
void imap_user_disconnect(const char *user);

/* imap.search_rate_limit_per_min: takes one search that reads message files
 * from the user's budget; false when the budget is spent. Only for a user
 * with a session (imap_user_connect); per_min <= 0 means no limit. */
bool imap_user_search_allowed(const char *user, int per_min);

#endif
