/* Automatic bans: one process-wide table that every worker asks at accept
 * and tells of the violations its sessions see.
 *
 * Violations are counted per client key (an IPv4 address, an IPv6 /64:
 * ip_client_key()) over a sliding window; the threshold-th within the window
 * bans the client for ban.duration, doubled for each earlier ban still
 * remembered (up to ban.max_duration; an offender is remembered for
 * max_duration after its ban ends). A ban covers every listener. Addresses
 * in ban.allow are never banned nor counted, and trusted PROXY peers are
 * never counted: what a proxy's clients do is counted against the address
 * its header names.
 *
 * Memory is bounded: at most BAN_MAX_TRACKED clients with violations in
 * their window (a new one pushes out the one whose last violation is
 * oldest) and BAN_MAX_ENTRIES bans, active or remembered (a new one pushes
 * out the one that ends first).
 *
 * Persistence (ban_sync.c): ban_table_sync() writes the bans made here to
 * the store and takes the store's rows when another writer (the CLI)
 * changed them; the server calls it at start, every BAN_SYNC_INTERVAL_MS,
 * on SIGHUP and at the end. */
#ifndef POSTERN_NET_BAN_H
#define POSTERN_NET_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/config.h"

#define BAN_MAX_TRACKED 16384
#define BAN_MAX_ENTRIES 65536
#define BAN_SYNC_INTERVAL_MS 2000

/* What a client did; each counts one violation. */
enum ban_reason {
	BAN_CONNECTION_LIMIT,   /* refused by a per-address connection cap */
	BAN_LOGIN_BLOCKED,      /* a login the failure limiter refused */
	BAN_RELAY,              /* relay access denied */
	BAN_UNKNOWN_RCPT,       /* a recipient that does not exist (probing) */
	BAN_PROTOCOL_ERRORS,    /* closed for too many errors in a row */
	BAN_UNTRUSTED_PROXY,    /* a PROXY listener reached from an untrusted address */
	BAN_LOGIN_DEADLINE,     /* not logged in by the login deadline */
	BAN_REASONS
};
/* "protocol_errors", ...: in logs and the store */
const char *ban_reason_name(enum ban_reason r);

/* One ban, active or remembered. */
struct ban_entry {
	char key[64];           /* "192.0.2.1", "2001:db8::/64", "192.0.2.0/24" */
	int64_t until_ms;       /* unix ms */
	int64_t created_ms;
	int offences;           /* bans of the key so far, this one included */
	char reason[48];
	char source[8];         /* "auto", "cli" */
};

/* The key an address or network is banned under: an address (or a /32, a
 * /64 of IPv6) is its client key; a wider or narrower network its own
 * "addr/bits", matched by prefix. -1 with err for no address or network, or
 * one wider than /8 (IPv4) or /16 (IPv6), which would ban half the world. */
int ban_key_parse(const char *text, char *key, size_t keylen, char *err, size_t errlen);
/* Wall-clock ms since the epoch: what until_ms counts in. */
int64_t ban_clock_ms(void);

struct ban_table;
/* p is borrowed (the config outlives the table). */
struct ban_table *ban_table_new(const struct config_ban *p);
void ban_table_free(struct ban_table *t);
/* Networks whose addresses are never counted (the services' trusted_proxies). */
void ban_table_exempt(struct ban_table *t, const struct cidr *nets, size_t n);

/* At accept, before TLS or a banner: true when ip is banned now. A hash
 * lookup (and a walk over the banned networks, when there are any) under a
 * read lock; nothing at all while the table is empty. */
bool ban_check(struct ban_table *t, const char *ip, int64_t now_ms);
/* Counts a violation of ip: true when it banned the client (logged as
 * ban.added, an audit event). t may be NULL (no table: nothing counted). */
bool ban_violation_at(struct ban_table *t, const char *ip, enum ban_reason r, int64_t now_ms);
bool ban_violation(struct ban_table *t, const char *ip, enum ban_reason r);

/* Clients tracked and bans held (active or remembered), for tests and logs. */
size_t ban_table_tracked(struct ban_table *t);
size_t ban_table_entries(struct ban_table *t);
/* A copy of key's entry: false when there is none. */
bool ban_table_get(struct ban_table *t, const char *key, struct ban_entry *out);

/* ---- ban_sync.c ------------------------------------------------------------- */
struct store;
/* Writes the bans made since the last sync; when another writer changed the
 * store meanwhile (or at the first sync), the table becomes the store's rows
 * plus the bans made here since. Now and then drops the rows remembered
 * past max_duration. 0, or -1 when the store failed (what is unwritten
 * stays for the next try). *reloaded: the rows were read. */
int ban_table_sync(struct ban_table *t, struct store *st, int64_t now_ms, bool *reloaded);

/* ---- internal: for ban_sync.c ---------------------------------------------- */
struct ban_map;
struct ban_map *ban_map_new(void);
void ban_map_free(struct ban_map *m);
/* Adds (or replaces) an entry; false when the key does not parse. */
bool ban_map_put(struct ban_map *m, const struct ban_entry *e, bool dirty);
/* The entries made here and not yet written: copied into a new array (*n). */
struct ban_entry *ban_table_unwritten(struct ban_table *t, size_t *n);
/* Those of rows[0..n) still the same in the table are written now. */
void ban_table_written(struct ban_table *t, const struct ban_entry *rows, size_t n);
/* Puts m in place of the table's map, carrying over what is still unwritten. */
void ban_table_replace(struct ban_table *t, struct ban_map *m);
/* Drops the entries that ended before `before`. */
void ban_table_forget(struct ban_table *t, int64_t before);
/* True once every `every` ms (the first time at once). */
bool ban_table_forget_due(struct ban_table *t, int64_t now, int64_t every);
int64_t ban_table_generation(struct ban_table *t);
void ban_table_set_generation(struct ban_table *t, int64_t g);
const struct config_ban *ban_table_policy(struct ban_table *t);

#endif
