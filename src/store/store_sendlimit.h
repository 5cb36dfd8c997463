/* Each user's own send rate limits (postern user limits ADDRESS
 * --messages-per-hour N ...), over the configuration's rate_limit.user
 * (net/sendlimit.h has the rule). */
#ifndef POSTERN_STORE_SENDLIMIT_H
#define POSTERN_STORE_SENDLIMIT_H

#include <stddef.h>

#include "core/config.h"

struct store;

/* No limit of the user's own: the configuration's applies. */
#define STORE_SEND_DEFAULT (-1LL)

/* STORE_SEND_DEFAULT, 0 for no limit at all, else the most per window. */
struct store_send_limits {
	long long limit[SEND_WHAT_COUNT][SEND_WINDOW_COUNT];
};

/* The limits of user ("local@domain"): STORE_OK (all STORE_SEND_DEFAULT for
 * a user without limits of its own, or no such user), or STORE_ERROR. */
int store_send_limits_get(struct store *st, const char *user, struct store_send_limits *out);
/* Sets one limit (value STORE_SEND_DEFAULT: back to the configuration's).
 * STORE_OK, STORE_NOT_FOUND (no such user) or STORE_ERROR with err. */
int store_send_limits_set(struct store *st, const char *local, const char *domain,
                          enum send_what what, enum send_window win, long long value, char *err,
                          size_t errlen);

#endif
