/* The dmarc = { ... } group: where the public suffix list comes from and
 * what a DMARC failure does to a message (src/mailauth/dmarc.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_int.h"
#include "core/util.h"

const struct key_spec config_dmarc_keys[] = {
	{ "psl_file", K_STRING, NULL, 0, 0 },
	{ "enforcement", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

static const char *const enforcement_names[] = {
	[CONFIG_DMARC_NONE] = "none",
	[CONFIG_DMARC_RELAXED] = "relaxed",
	[CONFIG_DMARC_STRICT] = "strict",
};

const char *config_dmarc_enforcement_name(enum config_dmarc_enforcement e)
{
	return (size_t)e < ARRAY_LEN(enforcement_names) ? enforcement_names[e] : "relaxed";
}

int config_load_dmarc(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;

	if ((s = OPT(g, "psl_file")) != NULL) {
		const char *path = config_setting_get_string(s);
		if (path[0] != '/')
			return config_setting_error(ld, s, "'psl_file' must be an absolute path");
		free(cfg->dmarc.psl_file);
		cfg->dmarc.psl_file = xstrdup(path);
	}
	if ((s = OPT(g, "enforcement")) != NULL) {
		const char *text = config_setting_get_string(s);
		for (size_t i = 0; i < ARRAY_LEN(enforcement_names); i++)
			if (strcasecmp(text, enforcement_names[i]) == 0) {
				cfg->dmarc.enforcement = (enum config_dmarc_enforcement)i;
				return 0;
			}
		return config_setting_error(ld, s, "'enforcement' must be one of none, relaxed, strict");
	}
	return 0;
}
