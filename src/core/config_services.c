/* Per-service session policy: `services.<name>.timeouts` and `.limits`.
 *
 * The global keys (timeouts.*, limits.errors, limits.connections*) stay what
 * they were and become the defaults. A global key written in the file is the
 * default of every service, as it always was; a global key left out gives each
 * service its own built-in default (docs/config.md has the table). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

const char *const config_service_names[SVC_COUNT] = {
#define X(id, name) [SVC_##id] = name,
	CONFIG_SERVICES(X)
#undef X
};

static const struct key_spec service_timeout_keys[] = {
	{ "command", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "idle", K_DURATION, NULL, 1000, 24LL * 3600 * 1000 },
	{ "data", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "write", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "login", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "session", K_DURATION, NULL, 1000, 7LL * 24 * 3600 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec service_limit_keys[] = {
	{ "connections", K_INT, NULL, 1, 1000000 },
	{ "connections_per_ip", K_INT, NULL, 1, 1000000 },
	{ "errors", K_INT, NULL, 1, 1000 },
	{ "output", K_SIZE, NULL, 4096, 1LL << 30 },
	/* 0: the default, -1: no such rule */
	{ "min_bytes_per_minute", K_INT, NULL, -1, 1 << 30 },
	/* the span min_bytes_per_minute is measured over: a minute, shorter in tests */
	{ "min_rate_window", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec service_keys[] = {
	{ "timeouts", K_GROUP, service_timeout_keys, 0, 0 },
	{ "limits", K_GROUP, service_limit_keys, 0, 0 },
	{ "proxy_protocol", K_BOOL, NULL, 0, 0 },
	{ "trusted_proxies", K_STRLIST, NULL, 0, 0 },
	{ "proxy_protocol_timeout", K_DURATION, NULL, 100, 300 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
const struct key_spec config_services_keys[] = {
#define X(id, name) { name, K_GROUP, service_keys, 0, 0 },
	CONFIG_SERVICES(X)
#undef X
	{ NULL, 0, NULL, 0, 0 },
};

const struct key_spec config_listen_keys[] = {
#define X(id, name) { name, K_STRLIST, NULL, 0, 0 },
	CONFIG_SERVICES(X)
#undef X
	{ NULL, 0, NULL, 0, 0 },
};

static bool is_imap(enum service_id id)
{
	return id == SVC_IMAP || id == SVC_IMAPS;
}

static bool is_pop3(enum service_id id)
{
	return id == SVC_POP3 || id == SVC_POP3S;
}

/* A service without authentication, for the mail system on this host. */
static bool is_local_delivery(enum service_id id)
{
	return id == SVC_LMTP;
}

bool config_service_takes_socket(enum service_id id)
{
	return is_local_delivery(id);
}

/* Silence allowed once logged in. SMTP has no such state: its command timeout. */
static uint64_t default_idle(const struct config *cfg, enum service_id id)
{
	/* RFC 9051 5.4: a logged-in IMAP client may stay silent 30 minutes */
	if (is_imap(id))
		return cfg->imap.autologout_ms;
	/* RFC 1939 3: POP3's autologout timer, at least 10 minutes; a POP3
	 * client logs in, fetches and quits, so no more than that by default */
	if (is_pop3(id))
		return cfg->pop3.autologout_ms;
	return cfg->timeouts.command_ms;
}

/* Sessions of one address (IPv6: one /64). A sending MTA rarely opens more
 * than a few at once, nor does an office's submitting clients; an office or
 * household behind one NAT address runs several IMAP clients, each with a
 * connection per watched folder (Thunderbird: up to 5 per account), so 20
 * people behind one address make 100. The per-service caps, not these, keep one
 * flooded service from taking every slot. */
static int default_per_ip(enum service_id id)
{
	/* LMTP's clients are the local MTA's delivery agents, all from one
	 * address (Postfix runs up to 20 per destination): only the global cap */
	if (is_local_delivery(id))
		return 1000000;
	return is_imap(id) ? 100 : 20;
}

static void policy_defaults(const struct config *cfg, enum service_id id, struct service_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->command_ms = cfg->timeouts.command_ms;
	p->data_ms = cfg->timeouts.data_ms;
	p->write_ms = cfg->timeouts.data_ms;
	p->idle_ms = default_idle(cfg, id);
	p->login_ms = 3 * 60 * 1000;    /* like Dovecot's login processes */
	/* an IMAP client that IDLEs stays for days: a day, unless the file says */
	p->session_ms = cfg->timeouts.session_set || !is_imap(id) ? cfg->timeouts.session_ms
	                                                           : 24ULL * 3600 * 1000;
	p->errors = cfg->limits.errors_set || !is_imap(id) ? cfg->limits.errors : 20;
	/* replies to pipelined commands; FETCH streams by its own measure */
	p->output_max = 64 * 1024;
	if (is_imap(id))
		p->output_max = cfg->imap.session_memory / 4 + 65536 < 1024 * 1024
		              ? cfg->imap.session_memory / 4 + 65536 : 1024 * 1024;
	/* inbound mail may use every slot; any other service at most half, so
	 * one flooded service leaves room for the others */
	p->connections = id == SVC_SMTP ? cfg->limits.connections
	                                : (cfg->limits.connections + 1) / 2;
	p->connections_per_ip = cfg->limits.connections_per_ip;
	if (!cfg->limits.connections_per_ip_set && default_per_ip(id) < p->connections_per_ip)
		p->connections_per_ip = default_per_ip(id);
	/* a client that has begun a command, a message or a handshake sends a
	 * KiB a minute at least: a modem does a hundred times that */
	p->min_bytes = 1024;
	p->min_rate_window_ms = 60 * 1000;
	p->proxy_timeout_ms = 5000;
	if (is_local_delivery(id)) {
		p->local_only = true;
		p->allow = cfg->lmtp.allow_remote;
		p->nallow = cfg->lmtp.nallow_remote;
	}
}

static void load_overrides(const config_setting_t *g, struct service_policy *p)
{
	static const struct config_field timeouts[] = {
		{ "command", K_DURATION, offsetof(struct service_policy, command_ms) },
		{ "idle", K_DURATION, offsetof(struct service_policy, idle_ms) },
		{ "data", K_DURATION, offsetof(struct service_policy, data_ms) },
		{ "write", K_DURATION, offsetof(struct service_policy, write_ms) },
		{ "login", K_DURATION, offsetof(struct service_policy, login_ms) },
		{ "session", K_DURATION, offsetof(struct service_policy, session_ms) },
	};
	static const struct config_field limits[] = {
		{ "connections", K_INT, offsetof(struct service_policy, connections) },
		{ "connections_per_ip", K_INT, offsetof(struct service_policy, connections_per_ip) },
		{ "errors", K_INT, offsetof(struct service_policy, errors) },
		{ "output", K_SIZE, offsetof(struct service_policy, output_max) },
	};
	config_load_fields(OPT(g, "timeouts"), p, timeouts, ARRAY_LEN(timeouts));
	config_load_fields(OPT(g, "limits"), p, limits, ARRAY_LEN(limits));
}

static void load_min_rate(const config_setting_t *limits, struct service_policy *p)
{
	const config_setting_t *s;
	if ((s = OPT(limits, "min_bytes_per_minute")) != NULL && config_setting_get_int(s) != 0)
		p->min_bytes = config_setting_get_int(s) < 0 ? 0 : (uint64_t)config_setting_get_int(s);
	if ((s = OPT(limits, "min_rate_window")) != NULL)
		p->min_rate_window_ms = config_get_duration(s);
}

/* proxy_protocol needs trusted_proxies: a header from anyone would let
 * anyone claim any address. */
static int load_proxy(struct loader *ld, const config_setting_t *g, struct service_policy *p)
{
	const config_setting_t *s;
	if ((s = OPT(g, "proxy_protocol_timeout")) != NULL)
		p->proxy_timeout_ms = config_get_duration(s);
	if ((s = OPT(g, "trusted_proxies")) != NULL &&
	    config_load_cidrs(ld, s, &p->trusted_proxies, &p->ntrusted_proxies) < 0)
		return -1;
	if ((s = OPT(g, "proxy_protocol")) == NULL || !config_setting_get_bool(s))
		return 0;
	if (p->ntrusted_proxies == 0)
		return config_setting_error(ld, s, "'proxy_protocol' needs 'trusted_proxies': the "
		                            "addresses of the proxies that may send the header");
	p->proxy_protocol = true;
	return 0;
}

int config_load_services(struct loader *ld, const config_setting_t *services, struct config *cfg)
{
	for (int id = 0; id < SVC_COUNT; id++) {
		struct service_policy *p = &cfg->policy[id];
		const config_setting_t *g = OPT(services, config_service_names[id]);
		policy_defaults(cfg, (enum service_id)id, p);
		load_overrides(g, p);
		load_min_rate(OPT(g, "limits"), p);
		if (load_proxy(ld, g, p) < 0)
			return -1;
		if (p->connections > cfg->limits.connections)
			p->connections = cfg->limits.connections;   /* the total still binds */
		if (p->connections_per_ip > p->connections)
			p->connections_per_ip = p->connections;
	}
	return 0;
}

void config_free_services(struct config *cfg)
{
	for (int id = 0; id < SVC_COUNT; id++)
		free(cfg->policy[id].trusted_proxies);
}

const struct listen_list *config_listen(const struct config *cfg, enum service_id id)
{
	return &cfg->listen[id];
}
