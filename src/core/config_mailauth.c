/* The spf, dkim and arc groups: how inbound mail on port 25 is judged
 * (src/mailauth/inbound.h). The dmarc group is config_dmarc.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_int.h"
#include "core/util.h"

const struct key_spec config_spf_keys[] = {
	{ "enforcement", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

const struct key_spec config_dkim_keys[] = {
	/* each signature costs a key lookup and a hash of the body */
	{ "max_signatures", K_INT, NULL, 1, 20 },
	{ NULL, 0, NULL, 0, 0 },
};

const struct key_spec config_arc_keys[] = {
	{ "trusted_sealers", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

static const char *const spf_enforcement_names[] = {
	[CONFIG_SPF_NONE] = "none",
	[CONFIG_SPF_SOFT] = "soft",
	[CONFIG_SPF_STRICT] = "strict",
};

const char *config_spf_enforcement_name(enum config_spf_enforcement e)
{
	return (size_t)e < ARRAY_LEN(spf_enforcement_names) ? spf_enforcement_names[e] : "soft";
}

static int load_spf(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s = OPT(g, "enforcement");
	cfg->spf.enforcement = CONFIG_SPF_SOFT;
	if (s == NULL)
		return 0;
	const char *text = config_setting_get_string(s);
	for (size_t i = 0; i < ARRAY_LEN(spf_enforcement_names); i++)
		if (strcasecmp(text, spf_enforcement_names[i]) == 0) {
			cfg->spf.enforcement = (enum config_spf_enforcement)i;
			return 0;
		}
	return config_setting_error(ld, s, "'enforcement' must be one of none, soft, strict");
}

static int load_arc(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s = OPT(g, "trusted_sealers");
	if (s == NULL)
		return 0;
	int n = config_setting_length(s);
	cfg->arc.trusted_sealers = xcalloc((size_t)n + 1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *domain = config_setting_get_string(e);
		if (!config_domain_valid(domain))
			return config_setting_error(ld, e, "'trusted_sealers': \"%s\" is not a domain name",
			                            domain);
		cfg->arc.trusted_sealers[cfg->arc.ntrusted_sealers++] = ascii_lower(xstrdup(domain));
	}
	return 0;
}

int config_load_mailauth(struct loader *ld, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *s;
	cfg->dkim.max_signatures = 5;
	if ((s = OPT(OPT(root, "dkim"), "max_signatures")) != NULL)
		cfg->dkim.max_signatures = (unsigned)config_setting_get_int(s);
	if (load_spf(ld, OPT(root, "spf"), cfg) < 0 || load_arc(ld, OPT(root, "arc"), cfg) < 0)
		return -1;
	return 0;
}

void config_free_mailauth(struct config *cfg)
{
	for (size_t i = 0; i < cfg->arc.ntrusted_sealers; i++)
		free(cfg->arc.trusted_sealers[i]);
	free(cfg->arc.trusted_sealers);
	cfg->arc.trusted_sealers = NULL;
	cfg->arc.ntrusted_sealers = 0;
}
