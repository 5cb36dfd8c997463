/* The ban = { ... } group: how many violations within which window ban a
 * client, for how long, and who is never banned (src/net/ban.h has the
 * rules). */
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

#define MIN_MS (60LL * 1000)
#define DAY_MS (86400LL * 1000)

const struct key_spec config_ban_keys[] = {
	{ "threshold", K_INT, NULL, 0, 100 },
	/* a second at least: tests use short ones */
	{ "window", K_DURATION, NULL, 1000, DAY_MS },
	{ "duration", K_DURATION, NULL, 1000, 365 * DAY_MS },
	{ "max_duration", K_DURATION, NULL, 1000, 365 * DAY_MS },
	{ "allow", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

/* A local client (a webmail, the MTA in front of LMTP) is never banned
 * unless the admin writes an allow list without it. */
static const char *const default_allow[] = { "127.0.0.0/8", "::1" };

static int load_allow(struct loader *ld, const config_setting_t *list, struct config *cfg)
{
	size_t n = list != NULL ? (size_t)config_setting_length(list) : ARRAY_LEN(default_allow);
	cfg->ban.allow = xcalloc(n + 1, sizeof(struct cidr));
	for (size_t i = 0; i < n; i++) {
		if (list == NULL) {
			cidr_parse(default_allow[i], &cfg->ban.allow[cfg->ban.nallow++]);
			continue;
		}
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (cidr_parse(v, &cfg->ban.allow[cfg->ban.nallow++]) < 0)
			return config_setting_error(ld, e, "'ban.allow': \"%s\" is no network "
			                            "(\"192.0.2.0/24\", \"2001:db8::/32\") or address", v);
	}
	return 0;
}

int config_load_ban(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	cfg->ban.threshold = 5;
	cfg->ban.window_ms = 10 * MIN_MS;
	cfg->ban.duration_ms = 60 * MIN_MS;
	cfg->ban.max_duration_ms = DAY_MS;
	const struct config_field fields[] = {
		{ "threshold", K_INT, offsetof(struct config, ban.threshold) },
		{ "window", K_DURATION, offsetof(struct config, ban.window_ms) },
		{ "duration", K_DURATION, offsetof(struct config, ban.duration_ms) },
		{ "max_duration", K_DURATION, offsetof(struct config, ban.max_duration_ms) },
	};
	config_load_fields(g, cfg, fields, ARRAY_LEN(fields));
	if (cfg->ban.max_duration_ms < cfg->ban.duration_ms)
		return config_setting_error(ld, OPT(g, "max_duration") ? OPT(g, "max_duration") : g,
		                            "'ban.max_duration' must not be shorter than 'ban.duration'");
	config_free_ban(cfg);
	return load_allow(ld, OPT(g, "allow"), cfg);
}

void config_free_ban(struct config *cfg)
{
	free(cfg->ban.allow);
	cfg->ban.allow = NULL;
	cfg->ban.nallow = 0;
}
