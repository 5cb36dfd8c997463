/* The srs = { ... } group: whether mail an alias forwards to another domain
 * gets an SRS envelope sender, at which domain, and how long bounces to one
 * are taken (src/mailauth/srs.h; the key is data_dir/srs.key). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

#define DAY_MS (86400LL * 1000)

const struct key_spec config_srs_keys[] = {
	{ "enabled", K_BOOL, NULL, 0, 0 },
	{ "domain", K_STRING, NULL, 0, 0 },
	/* modulo 1024 days a stamp from the future must not pass for a recent one */
	{ "max_age", K_DURATION, NULL, DAY_MS, 365 * DAY_MS },
	{ NULL, 0, NULL, 0, 0 },
};

int config_load_srs(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;
	cfg->srs.enabled = true;
	cfg->srs.max_age_days = 21;
	if ((s = OPT(g, "enabled")) != NULL)
		cfg->srs.enabled = config_setting_get_bool(s);
	if ((s = OPT(g, "max_age")) != NULL)
		cfg->srs.max_age_days = (int)(config_get_duration(s) / DAY_MS);
	const char *domain = cfg->hostname;
	if ((s = OPT(g, "domain")) != NULL) {
		domain = config_setting_get_string(s);
		if (!config_domain_valid(domain))
			return config_setting_error(ld, s, "'srs.domain': \"%s\" is not a domain name",
			                            domain);
	}
	free(cfg->srs.domain);
	cfg->srs.domain = ascii_lower(xstrdup(domain));
	return 0;
}
