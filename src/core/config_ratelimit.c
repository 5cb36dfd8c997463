/* The rate_limit = { user = { ... }; client = { ... }; } group: how many
 * messages and recipients an authenticated user, or a client address
 * sending without AUTH, may send per minute, hour and day (the rule is
 * src/net/sendlimit.h's; a user's own limits are set with `postern user
 * limits`). */
#include <stddef.h>

#include "core/config_int.h"
#include "core/util.h"

#define RATE_MAX 10000000

static const char *const rate_names[SEND_WHAT_COUNT][SEND_WINDOW_COUNT] = {
	[SEND_MESSAGES] = { "messages_per_minute", "messages_per_hour", "messages_per_day" },
	[SEND_RECIPIENTS] = { "recipients_per_minute", "recipients_per_hour", "recipients_per_day" },
};

const char *config_send_rate_name(enum send_what what, enum send_window win)
{
	return rate_names[what][win];
}

static const struct key_spec rate_keys[] = {
	{ "messages_per_minute", K_INT, NULL, 0, RATE_MAX },
	{ "messages_per_hour", K_INT, NULL, 0, RATE_MAX },
	{ "messages_per_day", K_INT, NULL, 0, RATE_MAX },
	{ "recipients_per_minute", K_INT, NULL, 0, RATE_MAX },
	{ "recipients_per_hour", K_INT, NULL, 0, RATE_MAX },
	{ "recipients_per_day", K_INT, NULL, 0, RATE_MAX },
	{ NULL, 0, NULL, 0, 0 },
};

const struct key_spec config_ratelimit_keys[] = {
	{ "user", K_GROUP, rate_keys, 0, 0 },
	{ "client", K_GROUP, rate_keys, 0, 0 },
	{ "max_tracked", K_INT, NULL, 100, 100000000 },
	{ NULL, 0, NULL, 0, 0 },
};

static void load_rates(const config_setting_t *g, struct send_rates *r)
{
	const config_setting_t *s;
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++)
			if ((s = OPT(g, rate_names[w][t])) != NULL)
				r->limit[w][t] = config_setting_get_int(s);
}

/* Users get generous limits that a person never meets and a stolen password
 * spraying spam soon does. Clients without AUTH are other mail servers, whose
 * bursts (a mailing list, a big provider's few addresses) are normal: no
 * limit unless set. */
void config_load_ratelimit(const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;
	cfg->rate_limit.user = (struct send_rates){ .limit = {
		[SEND_MESSAGES] = { 0, 200, 1000 },
		[SEND_RECIPIENTS] = { 0, 1000, 5000 },
	} };
	cfg->rate_limit.client = (struct send_rates){ 0 };
	cfg->rate_limit.max_tracked = 100000;
	load_rates(OPT(g, "user"), &cfg->rate_limit.user);
	load_rates(OPT(g, "client"), &cfg->rate_limit.client);
	if ((s = OPT(g, "max_tracked")) != NULL)
		cfg->rate_limit.max_tracked = config_setting_get_int(s);
}
