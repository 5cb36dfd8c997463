/* Quotas (RFC 9208 for IMAP; 452 4.2.2 for SMTP and LMTP): per-user limits
 * on storage (RFC822.SIZE octets) and on the number of messages, and the
 * rules every protocol applies, here and nowhere else.
 *
 * Where usage comes from, cheaply and without rescanning anything:
 *   - the user's mailbox index keeps per-mailbox totals by triggers; every
 *     change of their sum is written to the user's usage row in the
 *     directory store (quota_follow_index), inside the index's write
 *     transaction, so the row follows the index in the order of its
 *     changes; an index opened for a session writes its totals once, which
 *     makes good whatever the row missed (a crash between the two writes);
 *   - a delivery (the committer) adds its copy to the row's pending part
 *     once the copy is in new/ (quota_count_deliveries), never before;
 *   - a sync of INBOX, holding the index's write lock, reads pending before
 *     it reads new/, and subtracts exactly that once it has taken new/ in:
 *     every copy counted by then is in new/, so in the index's totals now;
 *     a copy counted later stays pending. Each message is counted once.
 * A check (quota_check) is one indexed row read from the directory store:
 * the user's own limits and both parts of the usage. The slack: a copy
 * between its rename into new/ and its count (milliseconds) is missing, or,
 * when a sync takes it in right then, counted twice until the next sync of
 * INBOX; and deliveries checked at once may each fit alone. At most the
 * messages in flight: one message too many may get in. */
#ifndef POSTERN_QUOTA_H
#define POSTERN_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct mbox_store;
struct store;
struct store_quota;

/* The warning goes out when usage reaches this share of a limit. */
#define QUOTA_WARN_PERCENT 90

struct quota_limits {
	uint64_t storage;       /* octets; 0: none */
	uint64_t messages;      /* 0: none */
};

struct quota_usage {
	uint64_t storage, messages;
};

/* ---- the rules (pure) ---- */

/* quota.storage and quota.messages of the configuration. */
struct quota_limits quota_defaults_of(const struct config *cfg);
/* What applies to a user: its own limits where it has them, else the defaults. */
struct quota_limits quota_limits_of(const struct store_quota *q, const struct quota_limits *defaults);
bool quota_has_limit(const struct quota_limits *l);
/* Would add_storage octets in add_messages messages on top of used go over a
 * limit? A limit lowered below what is used refuses everything new. */
bool quota_would_exceed(const struct quota_limits *l, const struct quota_usage *used,
                        uint64_t add_storage, uint64_t add_messages);
/* At or above QUOTA_WARN_PERCENT of a limit. */
bool quota_near_full(const struct quota_limits *l, const struct quota_usage *used);

enum quota_warning {
	QUOTA_WARN_NONE = 0,
	QUOTA_WARN_SEND,        /* send the warning and remember it was sent */
	QUOTA_WARN_REARM,       /* below the line again: the next crossing warns */
};
/* What a delivery that took usage from before to after means for the
 * warning: one per crossing of the line, not one per message. warned: one
 * was sent since usage was last seen below the line (a crossing seen only
 * now, the dip having gone unseen, warns again). */
enum quota_warning quota_warning_step(const struct quota_limits *l, const struct quota_usage *before,
                                      const struct quota_usage *after, bool warned);
/* RFC 9208 5.1: STORAGE counts units of 1024 octets; usage rounds up. */
uint64_t quota_kib(uint64_t octets);

/* ---- checks against the directory store ---- */

struct quota_status {
	struct quota_limits limits;
	struct quota_usage used;
	bool warned;
};

/* A user's limits and usage now: STORE_OK, STORE_NOT_FOUND, STORE_ERROR. */
int quota_status_of(struct store *st, const struct quota_limits *defaults, const char *local,
                    const char *domain, struct quota_status *out);

enum quota_verdict { QUOTA_FITS = 0, QUOTA_OVER, QUOTA_UNKNOWN };
/* Whether add_storage octets in add_messages messages more fit the user's
 * limits: the check of IMAP APPEND and COPY, and of SMTP and LMTP delivery
 * (at RCPT with the size declared, or one octet: "already full"). A user
 * the store does not know has no limits; QUOTA_UNKNOWN when it cannot be
 * read. user is "local@domain". */
enum quota_verdict quota_check(struct store *st, const struct quota_limits *defaults,
                               const char *user, uint64_t add_storage, uint64_t add_messages);

/* ---- keeping usage (quota_usage.c) ---- */

/* From now until mbox_close, every change of the totals of the index ms
 * (user's, "local@domain") is written to the user's usage row, and syncs of
 * INBOX claim the deliveries they take in. st is a connection for ms's
 * thread, or NULL: then one to data_dir is opened when first needed (the
 * pool threads POP3 uses have none). */
void quota_follow_index(struct mbox_store *ms, struct store *st, const char *data_dir,
                        const char *user);

/* A copy durable in a user's Maildir (new/): what the committer made. */
struct quota_delivery {
	const char *maildir;
	const char *user;       /* "local@domain" */
	uint64_t size;          /* its RFC822.SIZE */
};
/* Adds the copies to their users' pending usage, in one transaction, and
 * delivers the warning (quota_notice.c) to each user a copy took across
 * the line. Runs on a committer thread, with its store. */
void quota_count_deliveries(struct store *st, const struct quota_limits *defaults,
                            const char *hostname, const struct quota_delivery *d, size_t n);

/* The warning's text (quota_notice.c): a whole message with LF line ends,
 * Return-Path <> and From postmaster@hostname; malloc'd, *len its length. */
char *quota_notice_build(const char *hostname, const char *user, const struct quota_limits *l,
                         const struct quota_usage *used, size_t *len);

#endif
