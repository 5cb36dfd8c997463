/* The rspamd = { ... } group: whether port 25's mail is scanned by rspamd
 * (src/filter/rspamd.h), where rspamd listens, how long a scan may take,
 * what happens when it cannot be asked, and whether moving mail into and
 * out of Junk trains it. Off by default. */
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

#define MS_PER_S 1000LL

const struct key_spec config_rspamd_keys[] = {
	{ "enabled", K_BOOL, NULL, 0, 0 },
	{ "address", K_STRING, NULL, 0, 0 },
	{ "controller", K_STRING, NULL, 0, 0 },
	{ "password", K_STRING, NULL, 0, 0 },
	/* a scan holds the SMTP client at the end of DATA: RFC 5321 4.5.3.2.6
	 * gives it 10 minutes for our reply, and rspamd's own default is 8 s */
	{ "timeout", K_DURATION, NULL, 100, 300 * MS_PER_S },
	{ "on_error", K_STRING, NULL, 0, 0 },
	{ "max_size", K_SIZE, NULL, 1024, 1024LL * 1024 * 1024 },
	{ "learn", K_BOOL, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

static const char *const on_error_names[] = {
	[CONFIG_RSPAMD_TEMPFAIL] = "tempfail",
	[CONFIG_RSPAMD_ACCEPT] = "accept",
};

const char *config_rspamd_on_error_name(enum config_rspamd_on_error e)
{
	return (size_t)e < ARRAY_LEN(on_error_names) ? on_error_names[e] : "tempfail";
}

static int load_address(struct loader *ld, const config_setting_t *s, struct listen_addr *out)
{
	const char *text = config_setting_get_string(s);
	if (config_parse_listen(text, out) < 0)
		return config_setting_error(ld, s, "'rspamd.%s': bad address \"%s\" (use \"127.0.0.1:11333\","
		                            " \"[::1]:11333\" or \"unix:/absolute/path\")",
		                            config_setting_name(s), text);
	return 0;
}

static int load_on_error(struct loader *ld, const config_setting_t *s, struct config *cfg)
{
	const char *text = config_setting_get_string(s);
	for (size_t i = 0; i < ARRAY_LEN(on_error_names); i++)
		if (strcmp(text, on_error_names[i]) == 0) {
			cfg->rspamd.on_error = (enum config_rspamd_on_error)i;
			return 0;
		}
	return config_setting_error(ld, s, "'rspamd.on_error' must be \"tempfail\" or \"accept\"");
}

int config_load_rspamd(struct loader *ld, const config_setting_t *g, struct config *cfg)
{
	struct config_rspamd *r = &cfg->rspamd;
	const config_setting_t *s;
	/* like clamav: writing the group turns it on (enabled = false keeps the
	 * settings and turns it off) */
	r->enabled = g != NULL;
	r->timeout_ms = 15 * MS_PER_S;
	/* a filter that was asked for does not let mail past unscanned unless
	 * told to: the sender's server retries (RFC 5321 4.5.4.1), so a short
	 * outage delays mail instead of letting spam in */
	r->on_error = CONFIG_RSPAMD_TEMPFAIL;
	r->max_size = 50ULL * 1024 * 1024;      /* rspamd's own max_message */
	r->learn = true;
	config_parse_listen("127.0.0.1:11333", &r->address);
	config_parse_listen("127.0.0.1:11334", &r->controller);
	if ((s = OPT(g, "enabled")) != NULL)
		r->enabled = config_setting_get_bool(s);
	if ((s = OPT(g, "address")) != NULL && load_address(ld, s, &r->address) < 0)
		return -1;
	if ((s = OPT(g, "controller")) != NULL && load_address(ld, s, &r->controller) < 0)
		return -1;
	if ((s = OPT(g, "password")) != NULL) {
		const char *pw = config_setting_get_string(s);
		/* it goes into an HTTP header line */
		for (const char *p = pw; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return config_setting_error(ld, s, "'rspamd.password' has a control character");
		free(r->password);
		r->password = *pw ? xstrdup(pw) : NULL;
	}
	if ((s = OPT(g, "timeout")) != NULL)
		r->timeout_ms = config_get_duration(s);
	if ((s = OPT(g, "on_error")) != NULL && load_on_error(ld, s, cfg) < 0)
		return -1;
	if ((s = OPT(g, "max_size")) != NULL)
		r->max_size = config_get_size(s);
	if ((s = OPT(g, "learn")) != NULL)
		r->learn = config_setting_get_bool(s);
	return 0;
}

void config_free_rspamd(struct config *cfg)
{
	free(cfg->rspamd.password);
	cfg->rspamd.password = NULL;
}
