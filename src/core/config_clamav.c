/* The clamav = { ... } group: messages from other servers scanned by clamd
 * (src/filter/clamav.h). Writing the group turns the scan on; enabled =
 * false keeps the settings but turns it off. */
#include <string.h>

#include "core/config_int.h"

#define MIB (1024ULL * 1024)

const struct key_spec config_clamav_keys[] = {
	{ "enabled", K_BOOL, NULL, 0, 0 },
	{ "address", K_STRING, NULL, 0, 0 },
	{ "timeout", K_DURATION, NULL, 1000, 600 * 1000 },
	{ "on_error", K_STRING, NULL, 0, 0 },
	/* clamd's StreamMaxLength is at most 4 GiB */
	{ "max_size", K_SIZE, NULL, 1024, 4096 * MIB },
	{ NULL, 0, NULL, 0, 0 },
};

/* Debian's clamav-daemon listens there (LocalSocket in clamd.conf). */
#define CLAMD_DEFAULT_ADDRESS "unix:/run/clamav/clamd.ctl"

int config_load_clamav(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;
	struct config_clamav *c = &cfg->clamav;

	c->enabled = g != NULL;
	c->timeout_ms = 30 * 1000;
	c->on_error_accept = false;
	/* Debian's clamd.conf has StreamMaxLength 25M: a larger stream is refused */
	c->max_size = 25 * MIB;
	config_parse_listen(CLAMD_DEFAULT_ADDRESS, &c->address);
	if ((s = OPT(g, "enabled")) != NULL)
		c->enabled = config_setting_get_bool(s);
	if ((s = OPT(g, "address")) != NULL &&
	    config_parse_listen(config_setting_get_string(s), &c->address) < 0)
		return config_setting_error(ld, s, "'clamav.address': \"%s\" is not \"unix:/absolute/path\""
		                            ", \"1.2.3.4:3310\" or \"[::1]:3310\"",
		                            config_setting_get_string(s));
	if ((s = OPT(g, "timeout")) != NULL)
		c->timeout_ms = config_get_duration(s);
	if ((s = OPT(g, "on_error")) != NULL) {
		const char *v = config_setting_get_string(s);
		if (strcmp(v, "accept") != 0 && strcmp(v, "tempfail") != 0)
			return config_setting_error(ld, s, "'clamav.on_error' must be \"accept\" or \"tempfail\"");
		c->on_error_accept = strcmp(v, "accept") == 0;
	}
	if ((s = OPT(g, "max_size")) != NULL)
		c->max_size = config_get_size(s);
	return 0;
}
