/* The greylist = { ... } group: greylisting of mail from other servers on
 * port 25 (src/filter/greylist.h has the rules). */
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

#define MIN_MS (60LL * 1000)
#define DAY_MS (86400LL * 1000)

const struct key_spec config_greylist_keys[] = {
	{ "enabled", K_BOOL, NULL, 0, 0 },
	/* 1 s is for tests; real senders retry after minutes anyway */
	{ "delay", K_DURATION, NULL, 1000, DAY_MS },
	{ "expire", K_DURATION, NULL, MIN_MS, 30 * DAY_MS },
	{ "remember", K_DURATION, NULL, DAY_MS, 365 * DAY_MS },
	{ "auto_allow", K_INT, NULL, 0, 1000 },
	{ "max_entries", K_INT, NULL, 1000, 100000000 },
	{ "allow", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

/* Each entry is a network ("192.0.2.0/24", an address) or a domain name. */
static int load_allow(struct loader *ld, const config_setting_t *list, struct config *cfg)
{
	size_t n = (size_t)config_setting_length(list);
	cfg->greylist.allow_nets = xcalloc(n + 1, sizeof(struct cidr));
	cfg->greylist.allow_domains = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *v = config_setting_get_string(e);
		if (cidr_parse(v, &cfg->greylist.allow_nets[cfg->greylist.nallow_nets]) == 0)
			cfg->greylist.nallow_nets++;
		else if (config_domain_valid(v))
			cfg->greylist.allow_domains[cfg->greylist.nallow_domains++] =
				ascii_lower(xstrdup(v));
		else
			return config_setting_error(ld, e, "'greylist.allow': \"%s\" is neither a network "
			                            "(\"192.0.2.0/24\") nor a domain name", v);
	}
	return 0;
}

int config_load_greylist(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;
	cfg->greylist.enabled = true;
	cfg->greylist.delay_ms = 5 * MIN_MS;
	cfg->greylist.expire_ms = DAY_MS;
	cfg->greylist.remember_ms = 36 * DAY_MS;
	cfg->greylist.auto_allow = 5;
	cfg->greylist.max_entries = 1000000;
	const struct config_field fields[] = {
		{ "delay", K_DURATION, offsetof(struct config, greylist.delay_ms) },
		{ "expire", K_DURATION, offsetof(struct config, greylist.expire_ms) },
		{ "remember", K_DURATION, offsetof(struct config, greylist.remember_ms) },
		{ "auto_allow", K_INT, offsetof(struct config, greylist.auto_allow) },
		{ "max_entries", K_INT, offsetof(struct config, greylist.max_entries) },
	};
	config_load_fields(g, cfg, fields, ARRAY_LEN(fields));
	if ((s = OPT(g, "enabled")) != NULL)
		cfg->greylist.enabled = config_setting_get_bool(s);
	if (cfg->greylist.expire_ms <= cfg->greylist.delay_ms)
		return config_setting_error(ld, OPT(g, "expire") ? OPT(g, "expire") : g,
		                            "'greylist.expire' must be longer than 'greylist.delay'");
	if ((s = OPT(g, "allow")) != NULL && load_allow(ld, s, cfg) < 0)
		return -1;
	return 0;
}

void config_free_greylist(struct config *cfg)
{
	for (size_t i = 0; i < cfg->greylist.nallow_domains; i++)
		free(cfg->greylist.allow_domains[i]);
	free(cfg->greylist.allow_domains);
	free(cfg->greylist.allow_nets);
	cfg->greylist.allow_domains = NULL;
	cfg->greylist.allow_nets = NULL;
	cfg->greylist.nallow_domains = cfg->greylist.nallow_nets = 0;
}
