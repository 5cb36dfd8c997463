/* Send rate limits, for every service that takes mail to send: how many
 * messages, and how many recipients, a sender may have accepted per minute,
 * per hour and per day (rate_limit.* in the configuration, a user's own
 * limits from `postern user limits` over rate_limit.user).
 *
 * The sender is the authenticated user when there is one, else the client
 * address (IPv6 by its /64) under rate_limit.client. The counts are token
 * buckets (net/rate_table.h) shared by the workers, kept in memory: a
 * restart starts everyone afresh.
 *
 * A protocol asks before it takes a message on (0 recipients, at MAIL) and
 * before each recipient (the count it would then have), and charges a
 * message once it is accepted, with its recipients: a refused or abandoned
 * message costs nothing. Asks are not reservations, so parallel sessions of
 * one sender may overshoot by what they have in flight; the bucket then
 * owes it and the next asks wait it off. */
#ifndef POSTERN_SENDLIMIT_H
#define POSTERN_SENDLIMIT_H

#include <stddef.h>

struct config;
struct store;
struct sendlimit;

struct sendlimit_sender {
	const char *user;       /* the authenticated address; NULL or "": none */
	const char *ip;         /* the client's address */
	const char *session;    /* for the log */
};

struct sendlimit *sendlimit_new(const struct config *cfg);
void sendlimit_free(struct sendlimit *sl);

/* 0 when a message with rcpts recipients fits the sender's limits, else the
 * seconds to wait (at least 1), logged as "net.rate_limited" (audit log
 * too). st gives a user's own limits; NULL, or a store that cannot be read,
 * leaves the configuration's. now_ms: monotonic (now_ms()). */
long long sendlimit_wait(struct sendlimit *sl, struct store *st,
                         const struct sendlimit_sender *who, size_t rcpts, long long now_ms);

/* An accepted message with rcpts recipients counts for its sender. */
void sendlimit_charge(struct sendlimit *sl, struct store *st,
                      const struct sendlimit_sender *who, size_t rcpts, long long now_ms);

#endif
