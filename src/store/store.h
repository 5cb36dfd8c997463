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

enum store_rc {
	STORE_OK = 0,
	STORE_ERROR = -1,       /* err is filled */
	STORE_EXISTS = 1,
	STORE_NOT_FOUND = 2,
	STORE_IN_USE = 3,       /* e.g. a domain that still has users */
};

struct store;

/* Opens (creating if needed) <data_dir>/postern.db, checks its schema
 * version and runs pending migrations (after a backup). NULL on failure,
 * with the reason in err. */
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
/* cols: address, created (unix time). domain NULL = all domains. */
int store_user_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                    char *err, size_t errlen);

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

#endif
