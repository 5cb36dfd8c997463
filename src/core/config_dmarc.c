/* The dmarc = { ... } group: where the public suffix list comes from, what
 * a DMARC failure does to a message (src/mailauth/dmarc.h), and whether and
 * how often aggregate reports go out (src/queue/dmarc_send.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_int.h"
#include "core/util.h"

const struct key_spec config_dmarc_keys[] = {
	{ "psl_file", K_STRING, NULL, 0, 0 },
	{ "enforcement", K_STRING, NULL, 0, 0 },
	{ "reports", K_BOOL, NULL, 0, 0 },
	/* a day's reports wait for the day to end: a run more often than
	 * hourly finds nothing new */
	{ "report_interval", K_DURATION, NULL, 3600LL * 1000, 7 * 86400LL * 1000 },
	{ "report_max_per_day", K_INT, NULL, 1, 100000 },
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

static int load_enforcement(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *text = config_setting_get_string(s);
	for (size_t i = 0; i < ARRAY_LEN(enforcement_names); i++)
		if (strcasecmp(text, enforcement_names[i]) == 0) {
			cfg->dmarc.enforcement = (enum config_dmarc_enforcement)i;
			return 0;
		}
	return config_setting_error(ld, s, "'enforcement' must be one of none, relaxed, strict");
}

int config_load_dmarc(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;

	cfg->dmarc.reports = false;
	cfg->dmarc.report_interval_ms = 86400ULL * 1000;
	cfg->dmarc.report_max_per_day = 1000;
	if ((s = OPT(g, "psl_file")) != NULL) {
		const char *path = config_setting_get_string(s);
		if (path[0] != '/')
			return config_setting_error(ld, s, "'psl_file' must be an absolute path");
		free(cfg->dmarc.psl_file);
		cfg->dmarc.psl_file = xstrdup(path);
	}
	if ((s = OPT(g, "enforcement")) != NULL && load_enforcement(ld, s, cfg) < 0)
		return -1;
	if ((s = OPT(g, "reports")) != NULL)
		cfg->dmarc.reports = config_setting_get_bool(s);
	if ((s = OPT(g, "report_interval")) != NULL)
		cfg->dmarc.report_interval_ms = config_get_duration(s);
	if ((s = OPT(g, "report_max_per_day")) != NULL)
		cfg->dmarc.report_max_per_day = config_setting_get_int(s);
	return 0;
}
