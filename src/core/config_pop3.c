/* The pop3 = { ... } group: POP3's own keys (the login limiter's are
 * auth.pop3, the session policy's services.pop3 and services.pop3s). */
#include <stddef.h>

#include "core/config_int.h"
#include "core/util.h"

const struct key_spec config_pop3_keys[] = {
	{ "session_memory_limit", K_SIZE, NULL, 64 * 1024, 1LL << 30 },
	{ "login_without_tls", K_BOOL, NULL, 0, 0 },
	/* RFC 1939 3: an autologout timer of at least 10 minutes */
	{ "autologout", K_DURATION, NULL, 10 * 60 * 1000, 24 * 3600 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};

void config_pop3_defaults(struct config *cfg)
{
	cfg->pop3.session_memory = 256 * 1024;
	cfg->pop3.login_without_tls = false;
	cfg->pop3.autologout_ms = 10 * 60 * 1000;
}

void config_load_pop3(const config_setting_t *g, struct config *cfg)
{
	static const struct config_field fields[] = {
		{ "session_memory_limit", K_SIZE, offsetof(struct config, pop3.session_memory) },
		{ "autologout", K_DURATION, offsetof(struct config, pop3.autologout_ms) },
	};
	const config_setting_t *s;
	config_load_fields(g, cfg, fields, ARRAY_LEN(fields));
	if ((s = OPT(g, "login_without_tls")) != NULL)
		cfg->pop3.login_without_tls = config_setting_get_bool(s);
}
