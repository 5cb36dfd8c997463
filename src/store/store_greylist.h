/* Greylisting state (the rules are src/filter/greylist.h's): one entry per
 * triplet of client network, envelope sender and recipient, and each
 * user's choice to be greylisted or not.
 *
 * The entries are bounded: a write that adds one beyond max_rows drops the
 * oldest, entries not passed yet first, so that a flood of new triplets
 * cannot fill the disk nor push out the senders that proved themselves
 * while pending ones are left to drop. store_greylist_expire() is the
 * sweeper's step. Times are unix seconds. */
#ifndef POSTERN_STORE_GREYLIST_H
#define POSTERN_STORE_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* Lengths a triplet's texts may have: a network in text ("2001:db8::/64"),
 * an address (RFC 5321 4.5.3.1.3: a path is at most 256 octets) */
#define STORE_GREYLIST_NET_MAX 64
#define STORE_GREYLIST_ADDR_MAX 256

struct store_greylist_key {
	const char *net;        /* "192.0.2.0/24" */
	const char *sender;     /* the normalized envelope sender, "" for <> */
	const char *rcpt;
};

struct store_greylist_entry {
	long long first_seen;   /* the first attempt (of this round: restarted when stale) */
	long long passed;       /* when it was first accepted; 0: not yet */
	long long last_seen;    /* the latest attempt */
};

/* STORE_OK with *out, STORE_NOT_FOUND, STORE_INVALID (a text too long) or
 * STORE_ERROR. */
int store_greylist_get(struct store *st, const struct store_greylist_key *k,
                       struct store_greylist_entry *out);
/* Writes the entries of keys[0..n) (new or changed) in one transaction; new
 * entries beyond max_rows drop the oldest. STORE_OK, STORE_INVALID or
 * STORE_ERROR (nothing written). */
int store_greylist_put(struct store *st, const struct store_greylist_key *keys,
                       const struct store_greylist_entry *entries, size_t n, long long max_rows);
/* How many triplets of net passed and were seen at or after since, counting
 * up to limit at most. */
int store_greylist_net_passes(struct store *st, const char *net, long long since, int limit,
                              int *count);
/* Removes up to batch entries: those never passed first seen before
 * pending_before, and those passed last seen before passed_before. The
 * count removed, or STORE_ERROR. */
int store_greylist_expire(struct store *st, long long pending_before, long long passed_before,
                          int batch);
/* The entries held now. */
int store_greylist_count(struct store *st, long long *n);

/* A user's choice: on (the default) or off. STORE_NOT_FOUND for no user. */
int store_user_set_greylist(struct store *st, const char *local, const char *domain, bool on,
                            char *err, size_t errlen);
/* 1 when rcpt ("local@domain") is a user who opted out, 0 when not (any
 * other address too), STORE_ERROR. */
int store_greylist_opted_out(struct store *st, const char *rcpt);

#endif
