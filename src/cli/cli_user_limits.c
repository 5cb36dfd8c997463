/* postern user limits ADDRESS [--messages-per-minute N|none|default] ...
 * [--recipients-per-day N|none|default]: a user's own send rate limits over
 * rate_limit.user (the rule is src/net/sendlimit.h's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"
#include "store/store_sendlimit.h"

#define RATE_MAX 10000000   /* as the configuration's keys */

bool cli_user_limits_given(const struct cli_args *a)
{
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++)
			if (a->send_rates[w][t] != NULL)
				return true;
	return false;
}

/* "default": the configuration's; "none" (or 0): no limit; else a count. */
static int parse_rate(const char *text, long long *out)
{
	if (strcmp(text, "default") == 0) {
		*out = STORE_SEND_DEFAULT;
		return 0;
	}
	if (strcmp(text, "none") == 0 || strcmp(text, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	char *end;
	unsigned long long n = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || n > RATE_MAX)
		return -1;
	*out = (long long)n;
	return 0;
}

/* "--messages-per-hour" for the messages_per_hour key. */
static void option_name(enum send_what w, enum send_window t, char *out, size_t len)
{
	snprintf(out, len, "--%s", config_send_rate_name(w, t));
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* Every option is checked before any is stored: all or nothing. */
static int parse_all(const struct cli_args *a, long long values[SEND_WHAT_COUNT][SEND_WINDOW_COUNT])
{
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++) {
			const char *text = a->send_rates[w][t];
			if (text != NULL && parse_rate(text, &values[w][t]) < 0) {
				char opt[48];
				option_name(w, t, opt, sizeof(opt));
				fprintf(stderr, "postern: %s '%s': expected a number up to %d, 'none' or "
				        "'default'\n", opt, text, RATE_MAX);
				return CLI_USAGE;
			}
		}
	return CLI_OK;
}

static int set_all(struct store *st, const struct cli_args *a, const char *local,
                   const char *domain)
{
	long long values[SEND_WHAT_COUNT][SEND_WINDOW_COUNT];
	char err[512];
	int rc = parse_all(a, values);
	for (int w = 0; w < SEND_WHAT_COUNT && rc == CLI_OK; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT && rc == CLI_OK; t++) {
			if (a->send_rates[w][t] == NULL)
				continue;
			int src = store_send_limits_set(st, local, domain, w, t, values[w][t], err,
			                                sizeof(err));
			if (src == STORE_NOT_FOUND)
				fprintf(stderr, "postern: no such user %s@%s\n", local, domain);
			else if (src != STORE_OK)
				fprintf(stderr, "postern: %s\n", err);
			rc = src == STORE_OK ? CLI_OK : CLI_FAIL;
		}
	return rc;
}

/* "messages per hour:     200 (the default)", "... none (its own)". */
static void show_one(enum send_what w, enum send_window t, long long own, int def)
{
	static const char *const what[] = { "messages", "recipients" };
	static const char *const per[] = { "minute", "hour", "day" };
	char label[40], value[32];
	long long v = own != STORE_SEND_DEFAULT ? own : def;
	snprintf(label, sizeof(label), "%s per %s:", what[w], per[t]);
	if (v > 0)
		snprintf(value, sizeof(value), "%lld", v);
	else
		snprintf(value, sizeof(value), "none");
	printf("  %-23s %s (%s)\n", label, value, own != STORE_SEND_DEFAULT ? "its own" : "the default");
}

static int show(struct store *st, const struct config *cfg, const char *local, const char *domain)
{
	char user[512];
	struct store_send_limits own;
	snprintf(user, sizeof(user), "%s@%s", local, domain);
	if (store_user_exists(st, local, domain) != 1) {
		fprintf(stderr, "postern: no such user %s\n", user);
		return CLI_FAIL;
	}
	if (store_send_limits_get(st, user, &own) != STORE_OK) {
		fprintf(stderr, "postern: cannot read the send limits of %s\n", user);
		return CLI_FAIL;
	}
	printf("%s\n", user);
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++)
			show_one(w, t, own.limit[w][t], cfg->rate_limit.user.limit[w][t]);
	return CLI_OK;
}

int cli_user_limits(struct store *st, const struct config *cfg, const struct cli_args *a,
                    const char *local, const char *domain)
{
	int rc = set_all(st, a, local, domain);
	return rc == CLI_OK ? show(st, cfg, local, domain) : rc;
}
