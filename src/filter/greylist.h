/* Greylisting of mail from other servers (port 25 only: never
 * authenticated submission, LMTP or relay.hosts clients).
 *
 * A message's triplets are (client network, envelope sender, recipient):
 * the network is the client's /24 (IPv4) or /64 (IPv6), since large senders
 * retry from another address of the same network; the sender is normalized
 * (greylist_sender_key) so that per-message bounce addresses do not make
 * every message new. The first attempt of a triplet is deferred (451
 * 4.7.1 saying when to retry); a retry between delay and expire after it
 * passes, and a passed triplet is remembered for `remember` after its last
 * use. A network that has auto_allow passed triplets is let in for all its
 * senders. A message is deferred as a whole, with one 451 at the end of
 * DATA, when any of its recipients' triplets has not passed; all its
 * triplets are recorded at that attempt, so the retry passes them all.
 *
 * Greylisting is skipped (GREYLIST_SKIP, nothing recorded) when SPF passed
 * for the envelope sender's domain, for greylist.allow's networks and
 * sender domains, and for recipients who opted out (`postern user greylist
 * ADDRESS off`); with every recipient opted out the message is skipped.
 *
 * The check is synchronous on the worker's store (a few indexed SQLite
 * reads and one write transaction). The decision is the pure part: every
 * time comes from the request, so tests drive a fake clock. */
#ifndef POSTERN_GREYLIST_H
#define POSTERN_GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/cidr.h"

struct config;
struct store;

/* Recipients of one message judged at most (SMTP's limits.recipients is
 * lower); the rest are not looked at. */
#define GREYLIST_RCPTS_MAX 1000

struct greylist_policy {
	bool enabled;
	long long delay_s, expire_s, remember_s;
	int auto_allow;                 /* passed triplets that let a network in; 0: never */
	long long max_entries;
	const struct cidr *allow_nets;
	size_t nallow_nets;
	char *const *allow_domains;     /* lower-case; a domain covers its subdomains */
	size_t nallow_domains;
};

/* The policy of the greylist group (points into cfg, which must outlive it). */
void greylist_policy_from_config(struct greylist_policy *p, const struct config *cfg);

struct greylist_request {
	const char *client_ip;          /* text, as the session has it */
	const char *sender;             /* the reverse-path, "" for <> */
	const char *const *rcpts;       /* the accepted recipients, local@domain */
	size_t nrcpts;
	bool spf_pass;                  /* SPF passed for the sender's domain */
	time_t now;
};

enum greylist_verdict {
	GREYLIST_PASS = 0,              /* every triplet has passed: on */
	GREYLIST_SKIP,                  /* greylisting does not apply (reason says why): on */
	GREYLIST_DEFER,                 /* refuse the whole message: code, enh, text */
	GREYLIST_ERROR,                 /* the store failed: let it through (fail open), log */
};

struct greylist_result {
	enum greylist_verdict verdict;
	const char *reason;             /* static, for the log: "new triplet", "spf pass"... */
	int retry_after_s;              /* DEFER: a retry is accepted this many seconds from now */
	int code;                       /* DEFER: 451 */
	const char *enh;                /* DEFER: "4.7.1" */
	char text[160];                 /* DEFER: the reply text, saying when to retry */
	char net[64];                   /* the client's network, "192.0.2.0/24" ("" unknown) */
};

/* Judges one message; fills *out. */
void greylist_check(struct store *st, const struct greylist_policy *p,
                    const struct greylist_request *rq, struct greylist_result *out);

/* The sweeper's step: removes up to batch entries that expired at now
 * (pending ones past expire, passed ones unused for remember). The count
 * removed (call again while it is batch), or -1. */
int greylist_sweep(struct store *st, const struct greylist_policy *p, time_t now, int batch);

/* The client network of a triplet: "192.0.2.0/24" or "2001:db8:1:2::/64"
 * (an IPv4-mapped IPv6 address counts as IPv4). 0, or -1 for no address. */
int greylist_network(const char *ip, char *out, size_t outlen);
/* The sender of a triplet: lower-case, a BATV "prvs=TAG=" prefix removed
 * and every run of digits in the local part one '#', so that
 * bounce-1234@list.example and bounce-5678@list.example are one sender.
 * 0, or -1 when it does not fit. */
int greylist_sender_key(const char *sender, char *out, size_t outlen);

#endif
