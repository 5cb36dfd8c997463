/* Send rate limits (sendlimit.h): who the sender is, which limits are its,
 * and the buckets they are counted in. */
#include "net/sendlimit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "net/rate_table.h"
#include "store/store.h"
#include "store/store_sendlimit.h"

#define NSLOTS (SEND_WHAT_COUNT * SEND_WINDOW_COUNT)

static const long long window_ms[SEND_WINDOW_COUNT] = {
	[SEND_PER_MINUTE] = 60LL * 1000,
	[SEND_PER_HOUR] = 3600LL * 1000,
	[SEND_PER_DAY] = 86400LL * 1000,
};

struct sendlimit {
	struct send_rates user, client;
	struct rate_table *table;
};

struct sendlimit *sendlimit_new(const struct config *cfg)
{
	struct sendlimit *sl = xcalloc(1, sizeof(*sl));
	sl->user = cfg->rate_limit.user;
	sl->client = cfg->rate_limit.client;
	sl->table = rate_table_new((size_t)cfg->rate_limit.max_tracked);
	return sl;
}

void sendlimit_free(struct sendlimit *sl)
{
	if (sl == NULL)
		return;
	rate_table_free(sl->table);
	free(sl);
}

/* ---- the sender and its limits ------------------------------------------------ */

struct sender {
	char key[RATE_TABLE_KEY_MAX + 1];       /* "user:ADDRESS" or "ip:CLIENT" */
	struct rate rates[NSLOTS];              /* slot what * SEND_WINDOW_COUNT + window */
	bool limited;                           /* any limit at all */
};

static bool has_user(const struct sendlimit_sender *who)
{
	return who->user != NULL && who->user[0] != '\0';
}

/* The configuration's limits, with the user's own where it has them. */
static struct send_rates user_rates(const struct sendlimit *sl, struct store *st,
                                    const struct sendlimit_sender *who)
{
	struct send_rates r = sl->user;
	struct store_send_limits own;
	if (st == NULL)
		return r;
	if (store_send_limits_get(st, who->user, &own) != STORE_OK) {
		log_event(LOG_WARN, "net.rate_limit_unknown", "s", "session", who->session,
		          "s", "user", who->user, "s", "msg", "own limits unreadable: the defaults apply",
		          NULL);
		return r;
	}
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++)
			if (own.limit[w][t] != STORE_SEND_DEFAULT)
				r.limit[w][t] = (int)own.limit[w][t];
	return r;
}

static void sender_of(const struct sendlimit *sl, struct store *st,
                      const struct sendlimit_sender *who, struct sender *out)
{
	struct send_rates r;
	if (has_user(who)) {
		snprintf(out->key, sizeof(out->key), "user:%s", who->user);
		ascii_lower(out->key);
		r = user_rates(sl, st, who);
	} else {
		char ip[80];    /* an address, or an IPv6 /64 */
		ip_client_key(who->ip != NULL ? who->ip : "", ip, sizeof(ip));
		snprintf(out->key, sizeof(out->key), "ip:%s", ip);
		r = sl->client;
	}
	out->limited = false;
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++) {
			out->rates[w * SEND_WINDOW_COUNT + t] = (struct rate){ r.limit[w][t], window_ms[t] };
			out->limited |= r.limit[w][t] > 0;
		}
}

/* The count of each slot: one message, rcpts recipients. */
static void counts(long long out[NSLOTS], long long messages, size_t rcpts)
{
	for (int t = 0; t < SEND_WINDOW_COUNT; t++) {
		out[SEND_MESSAGES * SEND_WINDOW_COUNT + t] = messages;
		out[SEND_RECIPIENTS * SEND_WINDOW_COUNT + t] = (long long)rcpts;
	}
}

/* ---- asking and charging -------------------------------------------------------- */

long long sendlimit_wait(struct sendlimit *sl, struct store *st,
                         const struct sendlimit_sender *who, size_t rcpts, long long now_ms)
{
	struct sender s;
	long long msg_need[NSLOTS], rcpt_need[NSLOTS];
	sender_of(sl, st, who, &s);
	if (!s.limited)
		return 0;
	/* asked apart, so that the log can say which count is over */
	counts(msg_need, 1, 0);
	counts(rcpt_need, 0, rcpts);
	long long msg_wait = rate_table_wait(sl->table, s.key, s.rates, msg_need, NSLOTS, now_ms);
	long long rcpt_wait = rate_table_wait(sl->table, s.key, s.rates, rcpt_need, NSLOTS, now_ms);
	long long wait = msg_wait > rcpt_wait ? msg_wait : rcpt_wait;
	if (wait == 0)
		return 0;
	long long seconds = (wait + 999) / 1000;
	log_security(LOG_WARN, "net.rate_limited", "s", "session", who->session, "s", "ip", who->ip,
	             "s", "user", has_user(who) ? who->user : NULL,
	             "s", "limit", msg_wait >= rcpt_wait ? "messages" : "recipients",
	             "i", "recipients", (long long)rcpts, "i", "wait_s", seconds, NULL);
	return seconds;
}

void sendlimit_charge(struct sendlimit *sl, struct store *st,
                      const struct sendlimit_sender *who, size_t rcpts, long long now_ms)
{
	struct sender s;
	long long count[NSLOTS];
	sender_of(sl, st, who, &s);
	if (!s.limited)
		return;
	counts(count, 1, rcpts);
	rate_table_take(sl->table, s.key, s.rates, count, NSLOTS, now_ms);
}
