/* The lmtp group: LMTP's message size, its UNIX sockets' owner, group and
 * mode, and who may connect (loopback and the socket, or lmtp.allow_remote). */
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/ipaddr.h"
#include "core/util.h"

/* "0660": an octal permission mode, without setuid, setgid or sticky bits. */
static int parse_mode(const char *text, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 8);
	if (*text < '0' || *text > '7' || *end != '\0' || v > 0777)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* LMTP has no authentication (RFC 2033): whoever reaches it hands mail to
 * any mailbox. So it listens on loopback or a UNIX socket, and on another
 * address only when lmtp.allow_remote names who may connect. */
static int check_lmtp_addresses(struct loader *ld, const config_setting_t *list,
                                const struct config *cfg)
{
	const struct listen_list *l = &cfg->listen[SVC_LMTP];
	for (size_t i = 0; i < l->n; i++) {
		const struct listen_addr *la = &l->addrs[i];
		if (la->path[0] != '\0' || ip_is_loopback(la->host) || cfg->lmtp.nallow_remote > 0)
			continue;
		return config_setting_error(ld, config_setting_get_elem(list, (unsigned)i),
		                            "listen.lmtp \"%s\": LMTP has no authentication: listen on "
		                            "loopback or a \"unix:/path\" socket, or list the networks "
		                            "that may connect in lmtp.allow_remote", la->text);
	}
	return 0;
}

/* The lmtp group, and the socket files of listen.lmtp made as it says. */
int config_load_lmtp(struct loader *ld, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *g = OPT(root, "lmtp"), *s;
	if ((s = OPT(g, "max_message_size")) != NULL)
		cfg->lmtp.max_message_size = config_get_size(s);
	if ((s = OPT(g, "socket_owner")) != NULL)
		cfg->lmtp.socket_owner = xstrdup(config_setting_get_string(s));
	if ((s = OPT(g, "socket_group")) != NULL)
		cfg->lmtp.socket_group = xstrdup(config_setting_get_string(s));
	if ((s = OPT(g, "socket_mode")) != NULL &&
	    parse_mode(config_setting_get_string(s), &cfg->lmtp.socket_mode) < 0)
		return config_setting_error(ld, s, "'socket_mode' must be an octal mode such as \"0660\"");
	if ((s = OPT(g, "allow_remote")) != NULL &&
	    config_load_cidrs(ld, s, &cfg->lmtp.allow_remote, &cfg->lmtp.nallow_remote) < 0)
		return -1;
	struct listen_list *l = &cfg->listen[SVC_LMTP];
	for (size_t i = 0; i < l->n; i++) {
		struct listen_addr *la = &l->addrs[i];
		if (la->path[0] == '\0')
			continue;
		str_copy(la->owner, sizeof(la->owner), cfg->lmtp.socket_owner ? cfg->lmtp.socket_owner : "");
		str_copy(la->group, sizeof(la->group), cfg->lmtp.socket_group ? cfg->lmtp.socket_group : "");
		la->mode = cfg->lmtp.socket_mode;
	}
	s = OPT(OPT(root, "listen"), "lmtp");
	return s != NULL ? check_lmtp_addresses(ld, s, cfg) : 0;
}

void config_free_lmtp(struct config *cfg)
{
	free(cfg->lmtp.socket_owner);
	free(cfg->lmtp.socket_group);
	free(cfg->lmtp.allow_remote);
}
