/* Bans (the rules are src/net/ban.h's): one row per banned client key
 * ("192.0.2.1", "2001:db8::/64") or network ("192.0.2.0/24"), with its end,
 * how many times it was banned (the next ban lasts longer), why and by whom.
 * A row whose end has passed is remembered for the doubling until
 * store_ban_forget() drops it. Times are unix milliseconds.
 *
 * Every write changes a generation number, so that a running server sees
 * what the CLI changed by reading one number, not every row. */
#ifndef POSTERN_STORE_BAN_H
#define POSTERN_STORE_BAN_H

#include <stddef.h>

#include "store/store.h"

#define STORE_BAN_KEY_MAX 63
#define STORE_BAN_REASON_MAX 200
#define STORE_BAN_SOURCE_MAX 15

struct store_ban {
	const char *key;
	long long until_ms;     /* banned until */
	long long created_ms;   /* when this ban began */
	int offences;           /* bans of this key so far, this one included */
	const char *reason;     /* "protocol_errors", or the admin's text */
	const char *source;     /* "auto", "cli" */
};

/* Writes rows[0..n) (new, or replacing the key's) in one transaction and
 * gives the generation after it. STORE_OK, STORE_INVALID (a text too long)
 * or STORE_ERROR (nothing written). */
int store_ban_put(struct store *st, const struct store_ban *rows, size_t n, long long *generation);
/* Removes key's row: STORE_OK, STORE_NOT_FOUND or STORE_ERROR. */
int store_ban_del(struct store *st, const char *key);
typedef void (*store_ban_fn)(void *arg, const struct store_ban *row);
/* Every row (active or remembered), with the generation they are of. */
int store_ban_list(struct store *st, store_ban_fn fn, void *arg, long long *generation);
int store_ban_generation(struct store *st, long long *generation);
/* Drops the rows that ended before `before`: the count, or STORE_ERROR. */
int store_ban_forget(struct store *st, long long before);

#endif
