/* The quota = { ... } group: every user's limits unless `postern user quota`
 * gives one its own. Absent or 0: no limit. */
#include <stddef.h>

#include "core/config_int.h"

const struct key_spec config_quota_keys[] = {
	{ "storage", K_SIZE, NULL, 0, 1LL << 50 },
	{ "messages", K_INT, NULL, 0, 1000000000 },
	{ NULL, 0, NULL, 0, 0 },
};

void config_load_quota(const config_setting_t *g, struct config *cfg)
{
	const config_setting_t *s;
	if ((s = OPT(g, "storage")) != NULL)
		cfg->quota.storage = config_get_size(s);
	if ((s = OPT(g, "messages")) != NULL)
		cfg->quota.messages = (uint64_t)config_setting_get_int64(s);
}
