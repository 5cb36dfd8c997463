/* The store: postern's one interface to persistent state.
 *
 * Protocol code never talks to SQLite directly; it calls these functions, so
 * that another backend (PostgreSQL for several nodes) can be slotted in later.
 * A `struct store` is one connection: use one per thread. All names are
 * stored lower-case; lookups are case-insensitive. */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_rc {
	STORE_OK = 0,
	STORE_ERROR = -1,       /* err is filled */
	STORE_EXISTS = 1,
	STORE_NOT_FOUND = 2,
	STORE_IN_USE = 3,       /* e.g. a domain that still has users */
	STORE_DENIED = 4,       /* a rule forbids it (err says which) */
	STORE_INVALID = 5,      /* a malformed argument (err says which) */
};

struct store;

/* Process-wide SQLite settings (its error log into the server log, page
 * cache memory); call once, before any database is opened. */
void store_sqlite_configure(void);

/* What store_open would find, changing nothing: *version is the schema of
 * <data_dir>/postern.db (0 when there is none yet), *latest this binary's.
 * -1 with err when it cannot be read or is newer than this binary. */
int store_check_schema(const char *data_dir, int *version, int *latest, char *err, size_t errlen);
/* Brings <data_dir>/postern.db to this binary's schema: a backup, then the
 * pending migrations in one transaction (serve at start; `store migrate`).
 * *from and *to are the versions. 0 or -1 with err. */
int store_migrate(const char *data_dir, int *from, int *to, char *err, size_t errlen);
/* Opens (creating if needed) <data_dir>/postern.db. A database of an older
 * schema is refused untouched (store_migrate upgrades it), as is a newer one.
 * NULL on failure, with the reason in err. */
struct store *store_open(const char *data_dir, char *err, size_t errlen);
void store_close(struct store *st);
const char *store_data_dir(const struct store *st);

/* Domains */
int store_domain_add(struct store *st, const char *domain, char *err, size_t errlen);
int store_domain_del(struct store *st, const char *domain, char *err, size_t errlen);
int store_domain_exists(struct store *st, const char *domain);  /* 1, 0, or STORE_ERROR */
typedef void (*store_row_cb)(void *arg, const char *const *cols);
int store_domain_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen);

/* Users (local part + domain; password is an encoded hash, never plain text) */
int store_user_add(struct store *st, const char *local, const char *domain,
                   const char *password_hash, char *err, size_t errlen);
int store_user_del(struct store *st, const char *local, const char *domain, char *err, size_t errlen);
int store_user_set_password(struct store *st, const char *local, const char *domain,
                            const char *password_hash, char *err, size_t errlen);
int store_user_exists(struct store *st, const char *local, const char *domain); /* 1, 0, STORE_ERROR */
/* Copies the stored hash into out; STORE_OK or STORE_NOT_FOUND. */
int store_user_password(struct store *st, const char *local, const char *domain,
                        char *out, size_t outlen);
/* What authentication needs to know about a user. */
struct store_user_auth {
	char hash[256];          /* password hash, any supported scheme */
	char scram[256];         /* "SCRAM-SHA-256$..." or "" when not derived yet */
	bool any_sender;         /* may send as any address (the sender check is off) */
};
int store_user_auth_info(struct store *st, const char *local, const char *domain,
                         struct store_user_auth *out);
/* Replaces the hash and the SCRAM keys together (scram may be NULL). */
int store_user_set_credentials(struct store *st, const char *local, const char *domain,
                               const char *hash, const char *scram, char *err, size_t errlen);
int store_user_set_any_sender(struct store *st, const char *local, const char *domain, bool on,
                              char *err, size_t errlen);
/* cols: address, created (unix time). domain NULL = all domains. */
int store_user_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                    char *err, size_t errlen);

/* The address of the first user created (the default postmaster):
 * STORE_OK, STORE_NOT_FOUND when there are no users, or STORE_ERROR. */
int store_user_first(struct store *st, char *out, size_t outlen);
/* The same from <data_dir>/postern.db opened read-only, creating and
 * changing nothing (config check); STORE_NOT_FOUND when there is no database. */
int store_user_first_readonly(const char *data_dir, char *out, size_t outlen, char *err,
                              size_t errlen);

/* Aliases: local@domain -> target address. local "" is the domain's catch-all. */
int store_alias_add(struct store *st, const char *local, const char *domain, const char *target,
                    char *err, size_t errlen);
/* target NULL deletes every target of the alias. */
int store_alias_del(struct store *st, const char *local, const char *domain, const char *target,
                    char *err, size_t errlen);
/* cols: alias address, target */
int store_alias_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen);
/* Calls cb(arg, {target}) for each target; returns the count, or STORE_ERROR. */
int store_alias_targets(struct store *st, const char *local, const char *domain,
                        store_row_cb cb, void *arg);

/* Makes every write transaction durable before it returns (fsync of the WAL):
 * used by the connection that commits queue entries behind a 250. */
void store_set_durable(struct store *st);

/* ---- the outbound queue --------------------------------------------------
 * A message file under <data_dir>/queue plus one row per recipient. The
 * file is written and fsync'd before store_queue_add; a recipient is marked
 * delivered right after the remote server's 250, before anything else. */

enum queue_status { QUEUE_PENDING = 0, QUEUE_DELIVERED, QUEUE_BOUNCED };

struct queue_entry {
	const char *id;
	const char *sender;             /* "" for the null sender */
	const char *path;               /* the message file */
	unsigned long long size;
	bool smtputf8;
	const char *const *rcpts;       /* "local@domain" */
	size_t nrcpts;
	long long created;              /* unix time */
};

struct queue_row {
	long long rcpt_id;
	const char *msg_id, *sender, *rcpt, *domain, *path, *status, *last_error;
	unsigned long long size;
	bool smtputf8, held, warned;
	int attempts;
	long long created, next_attempt;
};
typedef void (*store_queue_cb)(void *arg, const struct queue_row *row);

int store_queue_add(struct store *st, const struct queue_entry *e, char *err, size_t errlen);
/* Pending, unheld recipients with next_attempt <= now, oldest first, at most limit. */
/* Pending recipients due at `now`, oldest first, at most limit rows and
 * at most per_domain_rows of any one domain. */
int store_queue_due(struct store *st, long long now, int limit, int per_domain_rows,
                    store_queue_cb cb, void *arg);
/* A domain's pending recipients wait until `until` (circuit breaker open). */
int store_queue_defer_domain(struct store *st, const char *domain, long long until);
int store_queue_update(struct store *st, long long rcpt_id, enum queue_status status, int attempts,
                       long long next_attempt, const char *last_error);
int store_queue_set_warned(struct store *st, const char *msg_id);
/* Pending recipients of messages older than `before` that have not been warned. */
int store_queue_to_warn(struct store *st, long long before, store_queue_cb cb, void *arg);
/* Rows of the messages with no pending recipient left, grouped by message
 * (for their bounce); the caller removes each with store_queue_delete once
 * its report is safely committed. */
int store_queue_finished(struct store *st, store_queue_cb cb, void *arg);
/* Every recipient (msg_id NULL) or those of one message, for the CLI. */
int store_queue_list(struct store *st, const char *msg_id, store_queue_cb cb, void *arg);
/* CLI actions on a message (msg_id) or, for retry with NULL, all: STORE_OK or STORE_NOT_FOUND. */
int store_queue_retry(struct store *st, const char *msg_id);
int store_queue_hold(struct store *st, const char *msg_id, bool hold);
/* Deletes the message rows; its file path is copied to path_out. */
int store_queue_delete(struct store *st, const char *msg_id, char *path_out, size_t pathlen);
/* True when a queue file name is known (orphan clean-up at start). */
int store_queue_has_path(struct store *st, const char *path);

/* ---- quotas ---------------------------------------------------------------
 * A user's own limits and usage; the rules (defaults, what fits, the 90 %
 * warning) are src/store/quota.h's. Usage is kept in two parts: the totals
 * the user's mailbox index last reported (it reports every change of them),
 * and deliveries made into the Maildir since (pending), which the index
 * claims when a sync of INBOX takes them in. Each message is so counted
 * once, and nobody rescans anything. */

enum store_quota_resource { STORE_QUOTA_STORAGE = 0, STORE_QUOTA_MESSAGES };

struct store_quota {
	bool own_storage_limit, own_message_limit;  /* the user's own, else the default */
	uint64_t storage_limit, message_limit;      /* the user's own; 0: none */
	uint64_t storage, messages;                 /* used: RFC822.SIZE octets, messages */
	bool warned;                                /* the 90 % warning went out */
};

/* A change of pending usage (signed: a claim subtracts). */
struct store_quota_delta {
	int64_t storage, messages;
};

/* STORE_OK, STORE_NOT_FOUND when there is no such user, or STORE_ERROR. */
int store_quota_get(struct store *st, const char *local, const char *domain, struct store_quota *out);
/* The user's own limit of one resource: limit NULL goes back to the
 * configured default, *limit 0 is no limit at all. STORE_NOT_FOUND: no user. */
int store_quota_set_limit(struct store *st, const char *local, const char *domain,
                          enum store_quota_resource res, const uint64_t *limit,
                          char *err, size_t errlen);
/* cols: address, storage used, own storage limit ("" for the default),
 * messages used, own message limit (""): every user, or a domain's. */
int store_quota_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                     char *err, size_t errlen);
/* Deliveries made and not claimed yet (zeros when none). */
int store_quota_pending(struct store *st, const char *local, const char *domain,
                        struct store_quota_delta *out);
/* The index's totals now; claimed (may be NULL) is what a sync of INBOX
 * took in, as store_quota_pending said just before it did. */
int store_quota_set_indexed(struct store *st, const char *local, const char *domain,
                            uint64_t storage, uint64_t messages,
                            const struct store_quota_delta *claimed);

/* A copy durable in a user's Maildir, not yet in the index. */
struct store_quota_delivery {
	const char *local, *domain;
	uint64_t size;                  /* its RFC822.SIZE */
};
/* Decides, inside the transaction that counted delivery i, what becomes of
 * the user's warned flag given the state after it: 1 set, -1 clear, 0 keep. */
typedef int (*store_quota_warn_fn)(void *arg, size_t i, const struct store_quota *after);
/* Counts the deliveries in one transaction (one fsync for a committer's
 * batch), asking warn (may be NULL) about each. Users deleted meanwhile are
 * skipped. STORE_OK or STORE_ERROR. */
int store_quota_add_deliveries(struct store *st, const struct store_quota_delivery *d, size_t n,
                               store_quota_warn_fn warn, void *arg);

/* ---- shared mailboxes: access control lists (RFC 4314) ------------------
 * A grant gives one user rights (src/store/acl_rights.h bits) on a mailbox
 * of another user, named as in the owner's own namespace ("Projects",
 * "INBOX"). Only a user of the owner's own domain can be a grantee: the
 * store refuses any other, whoever asks. The owner has every right on its
 * mailboxes, always; that is no grant and cannot be changed. Grants go
 * with their users when either is deleted. Addresses are local@domain. */
struct store_acl_grant {
	const char *owner;
	const char *mailbox;
	const char *grantee;
	unsigned rights;
};
typedef void (*store_acl_cb)(void *arg, const struct store_acl_grant *g);

/* Sets the grantee's rights (replacing them; 0 removes the grant).
 * STORE_OK; STORE_NOT_FOUND when owner or grantee is no user;
 * STORE_DENIED for a grantee of another domain or the owner itself;
 * STORE_INVALID for a bad mailbox name or rights; STORE_ERROR. err says why. */
int store_acl_set(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                  unsigned rights, char *err, size_t errlen);
/* The grantee's rights: STORE_OK, STORE_NOT_FOUND (no grant), STORE_ERROR. */
int store_acl_get(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                  unsigned *rights);
/* The grants of one mailbox (mailbox NULL: of all the owner's mailboxes),
 * by mailbox, then grantee. */
int store_acl_list(struct store *st, const char *owner, const char *mailbox, store_acl_cb cb,
                   void *arg, char *err, size_t errlen);
/* The grants a user has on others' mailboxes, by owner, then mailbox. */
int store_acl_granted_to(struct store *st, const char *grantee, store_acl_cb cb, void *arg,
                         char *err, size_t errlen);
/* The owner renamed mailbox `from` to `to`: its grants, and those of the
 * mailboxes below it, follow. */
int store_acl_rename(struct store *st, const char *owner, const char *from, const char *to,
                     char *err, size_t errlen);
/* The owner's mailbox is gone: its grants too. */
int store_acl_drop(struct store *st, const char *owner, const char *mailbox, char *err,
                   size_t errlen);
/* A mailbox was made below `parent`: it gets the parent's grants. */
int store_acl_inherit(struct store *st, const char *owner, const char *parent, const char *child,
                      char *err, size_t errlen);

/* ---- DKIM keys ------------------------------------------------------------ */
int store_dkim_add(struct store *st, const char *domain, const char *selector,
                   const char *algorithm, const char *path, char *err, size_t errlen);
/* cols: domain, selector, algorithm, path. domain NULL = all. */
int store_dkim_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                    char *err, size_t errlen);

#endif
