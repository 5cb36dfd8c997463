#include "core/config.h"

#include <arpa/inet.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/config_int.h"
#include "core/units.h"
#include "core/util.h"

/* ---- schema ------------------------------------------------------------ */

static const struct key_spec tls_keys[] = {
	{ "cert", K_STRING, NULL, 0, 0 },
	{ "key", K_STRING, NULL, 0, 0 },
	{ "min_version", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec limits_keys[] = {
	{ "message_size", K_SIZE, NULL, 1024, 1LL << 30 },
	{ "recipients", K_INT, NULL, 1, 100000 },
	{ "connections", K_INT, NULL, 1, 1000000 },
	{ "connections_per_ip", K_INT, NULL, 1, 1000000 },
	{ "errors", K_INT, NULL, 1, 1000 },
	{ "hops", K_INT, NULL, 10, 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec timeouts_keys[] = {
	{ "command", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "data", K_DURATION, NULL, 1000, 3600 * 1000 },
	{ "session", K_DURATION, NULL, 1000, 24LL * 3600 * 1000 },
	{ "shutdown", K_DURATION, NULL, 0, 3600 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec log_keys[] = {
	{ "level", K_STRING, NULL, 0, 0 },
	{ "file", K_STRING, NULL, 0, 0 },
	{ "audit_file", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec relay_keys[] = {
	{ "hosts", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec dns_keys[] = {
	{ "servers", K_STRLIST, NULL, 0, 0 },
	{ "allow_zones", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec tls_policy_keys[] = {
	{ "domain", K_STRING, NULL, 0, 0 },
	{ "tls", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec queue_keys[] = {
	{ "max_age", K_DURATION, NULL, 1000, 30LL * 86400 * 1000 },
	{ "warn_after", K_DURATION, NULL, 1000, 30LL * 86400 * 1000 },
	{ "min_retry", K_DURATION, NULL, 100, 86400LL * 1000 },
	{ "max_retry", K_DURATION, NULL, 100, 7LL * 86400 * 1000 },
	{ "timeout", K_DURATION, NULL, 1000, 3600LL * 1000 },
	{ "concurrency", K_INT, NULL, 1, 10000 },
	{ "per_domain", K_INT, NULL, 1, 1000 },
	{ "circuit_failures", K_INT, NULL, 1, 1000 },
	{ "circuit_cooldown", K_DURATION, NULL, 1000, 86400LL * 1000 },
	{ "port", K_INT, NULL, 1, 65535 },
	{ "allow_loopback", K_BOOL, NULL, 0, 0 },
	{ "tls", K_STRING, NULL, 0, 0 },
	{ "tls_ca_file", K_STRING, NULL, 0, 0 },
	{ "tls_policy", K_GROUPLIST, tls_policy_keys, 0, 0 },
	{ "helo", K_STRING, NULL, 0, 0 },
	{ "source_ipv4", K_STRING, NULL, 0, 0 },
	{ "source_ipv6", K_STRING, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec submission_keys[] = {
	{ "received_ip", K_BOOL, NULL, 0, 0 },
	{ "auth_without_tls", K_BOOL, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec auth_limit_keys[] = {
	{ "max_attempts_per_ip", K_INT, NULL, 1, 100000 },
	{ "max_attempts_per_username", K_INT, NULL, 1, 100000 },
	{ "max_attempts_per_client_user", K_INT, NULL, 1, 100000 },
	{ "ip_window", K_DURATION, NULL, 1000, 7LL * 86400 * 1000 },
	{ "username_window", K_DURATION, NULL, 1000, 7LL * 86400 * 1000 },
	{ "fast_block_threshold", K_INT, NULL, 1, 100000 },
	{ "fast_window", K_DURATION, NULL, 1000, 86400LL * 1000 },
	{ "fast_block_duration", K_DURATION, NULL, 1000, 7LL * 86400 * 1000 },
	{ "delay_base", K_DURATION, NULL, 0, 60LL * 1000 },
	{ "delay_max", K_DURATION, NULL, 0, 300LL * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec imap_keys[] = {
	{ "max_line", K_SIZE, NULL, 1024, 16LL << 20 },
	{ "append_limit", K_SIZE, NULL, 1024, 1LL << 30 },
	{ "session_memory_limit", K_SIZE, NULL, 64 * 1024, 1LL << 30 },
	{ "max_search_results", K_INT, NULL, 1, 100000000 },
	{ "max_connections_per_user", K_INT, NULL, 1, 100000 },
	{ "max_mailboxes", K_INT, NULL, 1, 1000000 },
	{ "search_rate_limit_per_min", K_INT, NULL, 0, 1000000 },
	{ "login_without_tls", K_BOOL, NULL, 0, 0 },
	{ "compress", K_BOOL, NULL, 0, 0 },
	{ "idle_poll", K_DURATION, NULL, 100, 60 * 1000 },
	{ "autologout", K_DURATION, NULL, 1000, 24 * 3600 * 1000 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec lmtp_keys[] = {
	{ "max_message_size", K_SIZE, NULL, 1024, 1LL << 30 },
	{ "socket_owner", K_STRING, NULL, 0, 0 },
	{ "socket_group", K_STRING, NULL, 0, 0 },
	{ "socket_mode", K_STRING, NULL, 0, 0 },
	{ "allow_remote", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec known_networks_keys[] = {
	{ "remember", K_DURATION, NULL, 1000, 365LL * 86400 * 1000 },
	{ "max_per_user", K_INT, NULL, 1, 1000 },
	{ "ipv4_prefix", K_INT, NULL, 8, 32 },
	{ "ipv6_prefix", K_INT, NULL, 16, 128 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec auth_keys[] = {
	{ "smtp", K_GROUP, auth_limit_keys, 0, 0 },
	{ "imap", K_GROUP, auth_limit_keys, 0, 0 },
	{ "pop3", K_GROUP, auth_limit_keys, 0, 0 },
	{ "cache_ttl", K_DURATION, NULL, 0, 86400LL * 1000 },
	{ "cache_size", K_INT, NULL, 1, 1000000 },
	{ "master_login", K_BOOL, NULL, 0, 0 },
	{ "known_networks", K_GROUP, known_networks_keys, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};
static const struct key_spec root_keys[] = {
	{ "hostname", K_STRING, NULL, 0, 0 },
	{ "data_dir", K_STRING, NULL, 0, 0 },
	{ "postmaster", K_STR_OR_LIST, NULL, 0, 0 },
	{ "workers", K_INT, NULL, 0, CONFIG_WORKERS_MAX },
	{ "user", K_STRING, NULL, 0, 0 },
	{ "group", K_STRING, NULL, 0, 0 },
	{ "strict_permissions", K_BOOL, NULL, 0, 0 },
	{ "listen", K_GROUP, config_listen_keys, 0, 0 },
	{ "tls", K_GROUP, tls_keys, 0, 0 },
	{ "limits", K_GROUP, limits_keys, 0, 0 },
	{ "timeouts", K_GROUP, timeouts_keys, 0, 0 },
	{ "log", K_GROUP, log_keys, 0, 0 },
	{ "relay", K_GROUP, relay_keys, 0, 0 },
	{ "dns", K_GROUP, dns_keys, 0, 0 },
	{ "queue", K_GROUP, queue_keys, 0, 0 },
	{ "submission", K_GROUP, submission_keys, 0, 0 },
	{ "auth", K_GROUP, auth_keys, 0, 0 },
	{ "imap", K_GROUP, imap_keys, 0, 0 },
	{ "pop3", K_GROUP, config_pop3_keys, 0, 0 },
	{ "quota", K_GROUP, config_quota_keys, 0, 0 },
	{ "dmarc", K_GROUP, config_dmarc_keys, 0, 0 },
	{ "ban", K_GROUP, config_ban_keys, 0, 0 },
	{ "srs", K_GROUP, config_srs_keys, 0, 0 },
	{ "clamav", K_GROUP, config_clamav_keys, 0, 0 },
	{ "rspamd", K_GROUP, config_rspamd_keys, 0, 0 },
	{ "greylist", K_GROUP, config_greylist_keys, 0, 0 },
	{ "rate_limit", K_GROUP, config_ratelimit_keys, 0, 0 },
	{ "dnsbl", K_GROUP, config_dnsbl_keys, 0, 0 },
	{ "dnswl", K_GROUP, config_dnswl_keys, 0, 0 },
	{ "spf", K_GROUP, config_spf_keys, 0, 0 },
	{ "dkim", K_GROUP, config_dkim_keys, 0, 0 },
	{ "arc", K_GROUP, config_arc_keys, 0, 0 },
	{ "lmtp", K_GROUP, lmtp_keys, 0, 0 },
	{ "services", K_GROUP, config_services_keys, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

/* ---- error reporting ---------------------------------------------------- */

int config_setting_error(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *file = config_setting_source_file(s);
	snprintf(ld->err, ld->errlen, "%s:%u: %s", file ? file : ld->name,
	         config_setting_source_line(s), msg);
	return -1;
}

static const char *type_name(enum key_type t)
{
	switch (t) {
	case K_STRING: return "a string";
	case K_INT: return "an integer";
	case K_BOOL: return "true or false";
	case K_SIZE: return "a size string such as \"25M\"";
	case K_DURATION: return "a duration string such as \"5m\"";
	case K_GROUP: return "a group { ... }";
	case K_STRLIST: return "a list of strings [ ... ]";
	case K_GROUPLIST: return "a list of groups ( { ... }, ... )";
	case K_STR_OR_LIST: return "a string or a list of strings [ ... ]";
	}
	return "?";
}

/* ---- validation against the schema ------------------------------------ */

static int check_setting(struct loader *ld, const config_setting_t *s, const struct key_spec *spec);

static int check_group(struct loader *ld, const config_setting_t *group, const struct key_spec *keys)
{
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const struct key_spec *spec = NULL;
		for (const struct key_spec *k = keys; k->name; k++)
			if (name && strcmp(k->name, name) == 0)
				spec = k;
		if (spec == NULL)
			return config_setting_error(ld, s, "unknown key '%s'", name ? name : "?");
		if (check_setting(ld, s, spec) < 0)
			return -1;
	}
	return 0;
}

static int check_range(struct loader *ld, const config_setting_t *s, const struct key_spec *spec,
                       long long v, const char *unit)
{
	if (v < spec->min || v > spec->max)
		return config_setting_error(ld, s, "'%s' out of range (%lld..%lld%s)", spec->name,
		                     spec->min, spec->max, unit);
	return 0;
}

static int check_setting(struct loader *ld, const config_setting_t *s, const struct key_spec *spec)
{
	int t = config_setting_type(s);
	uint64_t v;
	switch (spec->type) {
	case K_GROUP:
		if (t != CONFIG_TYPE_GROUP)
			break;
		return check_group(ld, s, spec->children);
	case K_STRING:
		if (t != CONFIG_TYPE_STRING)
			break;
		return 0;
	case K_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			break;
		return 0;
	case K_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			break;
		return check_range(ld, s, spec, config_setting_get_int64(s), "");
	case K_SIZE:
		if (t != CONFIG_TYPE_STRING)
			break;
		if (units_parse_size(config_setting_get_string(s), &v) < 0)
			return config_setting_error(ld, s, "'%s': malformed size \"%s\" (use e.g. \"25M\")",
			                     spec->name, config_setting_get_string(s));
		return check_range(ld, s, spec, v > LLONG_MAX ? LLONG_MAX : (long long)v, " bytes");
	case K_DURATION:
		if (t != CONFIG_TYPE_STRING)
			break;
		if (units_parse_duration(config_setting_get_string(s), &v) < 0)
			return config_setting_error(ld, s, "'%s': malformed duration \"%s\" (use e.g. \"5m\", \"30s\")",
			                     spec->name, config_setting_get_string(s));
		return check_range(ld, s, spec, v > LLONG_MAX ? LLONG_MAX : (long long)v, " ms");
	case K_STR_OR_LIST:
		if (t == CONFIG_TYPE_STRING)
			return 0;
		/* fall through */
	case K_STRLIST:
		if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
			break;
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING)
				return config_setting_error(ld, e, "'%s' must list strings", spec->name);
		}
		return 0;
	case K_GROUPLIST:
		if (t != CONFIG_TYPE_LIST)
			break;
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_GROUP)
				return config_setting_error(ld, e, "'%s' must list groups { ... }", spec->name);
			if (check_group(ld, e, spec->children) < 0)
				return -1;
		}
		return 0;
	}
	return config_setting_error(ld, s, "'%s' must be %s", spec->name, type_name(spec->type));
}

/* ---- conversion into struct config ------------------------------------ */

/* "unix:/run/postern/lmtp.sock": an absolute path that fits sun_path. */
static int parse_socket_path(const char *text, struct listen_addr *out)
{
	const char *path = text + 5;
	if (path[0] != '/' || strlen(path) >= sizeof(out->path) || strlen(text) >= sizeof(out->text))
		return -1;
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->text, sizeof(out->text), "%s", text);
	out->mode = 0660;
	return 0;
}

int config_parse_listen(const char *text, struct listen_addr *out)
{
	char host[64];
	const char *colon;
	unsigned char bin[16];

	memset(out, 0, sizeof(*out));
	if (strncmp(text, "unix:", 5) == 0)
		return parse_socket_path(text, out);
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		colon = end + 1;
		if (inet_pton(AF_INET6, host, bin) != 1)
			return -1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		if (inet_pton(AF_INET, host, bin) != 1)
			return -1;
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
		return -1;
	snprintf(out->host, sizeof(out->host), "%s", host);
	out->port = (int)port;
	snprintf(out->text, sizeof(out->text), "%s", text);
	return 0;
}

static int load_listen(struct loader *ld, const config_setting_t *list, enum service_id id,
                       struct listen_list *out)
{
	int n = config_setting_length(list);
	bool socket_ok = config_service_takes_socket(id);
	out->addrs = xcalloc((size_t)(n ? n : 1), sizeof(struct listen_addr));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const char *text = config_setting_get_string(e);
		if (config_parse_listen(text, &out->addrs[out->n]) < 0)
			return config_setting_error(ld, e, "bad listen address \"%s\" (use \"1.2.3.4:25\" or "
			                            "\"[::1]:25\"%s)", text, socket_ok ?
			                            ", or \"unix:/absolute/path\" of at most 107 octets" : "");
		if (out->addrs[out->n].path[0] != '\0' && !socket_ok)
			return config_setting_error(ld, e, "\"%s\": listen.%s cannot be a UNIX socket",
			                            text, config_service_names[id]);
		out->n++;
	}
	return 0;
}

static void set_defaults(struct config *cfg)
{
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	cfg->hostname = xstrdup(host);
	cfg->data_dir = xstrdup("/var/lib/postern");
	cfg->user = xstrdup("postern");
	cfg->group = xstrdup("postern");
	cfg->strict_permissions = true;
	cfg->tls.min_version = TLS1_2_VERSION;
	cfg->limits.message_size = 25ULL * 1024 * 1024;
	cfg->limits.recipients = 100;
	cfg->limits.connections = 2000;
	cfg->limits.connections_per_ip = 200;
	cfg->limits.errors = 10;
	cfg->limits.hops = 100;   /* RFC 5321 6.3: "normally at least 100" */
	cfg->timeouts.command_ms = 5 * 60 * 1000;  /* RFC 5321 4.5.3.2.7: 5 minutes */
	cfg->timeouts.data_ms = 3 * 60 * 1000;     /* RFC 5321 4.5.3.2.5: 3 minutes per block */
	cfg->timeouts.session_ms = 60 * 60 * 1000;
	cfg->timeouts.shutdown_ms = 30 * 1000;
	cfg->log.level = LOG_INFO;
	cfg->auth.cache_ttl_ms = 5 * 60 * 1000;
	cfg->auth.cache_size = 10000;
	config_known_networks_defaults(&cfg->auth.known_networks);
	cfg->imap.max_line = 64 * 1024;
	cfg->imap.append_limit = 25ULL * 1024 * 1024;
	cfg->imap.session_memory = 100ULL * 1024 * 1024;
	cfg->imap.max_search_results = 1000000;
	cfg->imap.max_connections_per_user = 50;
	cfg->imap.max_mailboxes = 1000;
	cfg->imap.search_rate_limit_per_min = 0;   /* off: see docs/config.md */
	cfg->imap.idle_poll_ms = 1000;
	cfg->imap.compress = true;
	cfg->imap.autologout_ms = 30 * 60 * 1000;   /* RFC 9051 5.4: at least 30 minutes */
	config_pop3_defaults(cfg);
	cfg->dmarc.enforcement = CONFIG_DMARC_RELAXED;
	cfg->queue.max_age_ms = 5ULL * 86400 * 1000;
	cfg->queue.warn_after_ms = 4ULL * 3600 * 1000;
	cfg->queue.min_retry_ms = 60 * 1000;
	cfg->queue.max_retry_ms = 4ULL * 3600 * 1000;
	cfg->queue.timeout_ms = 5 * 60 * 1000;   /* RFC 5321 4.5.3.2 */
	cfg->queue.concurrency = 100;
	cfg->queue.per_domain = 10;
	cfg->queue.circuit_failures = 5;
	cfg->queue.circuit_cooldown_ms = 5 * 60 * 1000;
	cfg->queue.port = 25;
	cfg->queue.tls = OUT_TLS_OPPORTUNISTIC;
	cfg->lmtp.max_message_size = 50ULL * 1024 * 1024;
	cfg->lmtp.socket_mode = 0660;
}

static void replace_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? xstrdup(src) : NULL;
}

uint64_t config_get_size(const config_setting_t *s)
{
	uint64_t v = 0;
	units_parse_size(config_setting_get_string(s), &v);
	return v;
}

uint64_t config_get_duration(const config_setting_t *s)
{
	uint64_t v = 0;
	units_parse_duration(config_setting_get_string(s), &v);
	return v;
}


uint64_t config_auth_longest_window(const struct config *cfg)
{
	const struct auth_limits_cfg *all[] = { &cfg->auth.smtp, &cfg->auth.imap, &cfg->auth.pop3 };
	uint64_t w = 0;
	for (size_t i = 0; i < ARRAY_LEN(all); i++) {
		uint64_t m = all[i]->ip_window_ms;
		if (all[i]->username_window_ms > m)
			m = all[i]->username_window_ms;
		if (all[i]->fast_window_ms > m)
			m = all[i]->fast_window_ms;
		if (m > w)
			w = m;
	}
	return w;
}

void config_auth_limits_defaults(struct auth_limits_cfg *a)
{
	a->max_attempts_per_ip = 10;
	a->max_attempts_per_username = 5;
	a->max_attempts_per_client_user = 5;
	a->ip_window_ms = 15 * 60 * 1000;
	a->username_window_ms = 15 * 60 * 1000;
	a->fast_block_threshold = 10;
	a->fast_window_ms = 60 * 1000;
	a->fast_block_duration_ms = 5 * 60 * 1000;
	a->delay_base_ms = 1000;
	a->delay_max_ms = 16000;
}

void config_load_fields(const config_setting_t *g, void *base, const struct config_field *fields,
                        size_t n)
{
	const config_setting_t *s;
	for (size_t i = 0; i < n; i++) {
		if ((s = OPT(g, fields[i].key)) == NULL)
			continue;
		char *at = (char *)base + fields[i].off;
		if (fields[i].type == K_INT)
			*(int *)at = config_setting_get_int(s);
		else if (fields[i].type == K_SIZE)
			*(uint64_t *)at = config_get_size(s);
		else
			*(uint64_t *)at = config_get_duration(s);
	}
}

void config_known_networks_defaults(struct known_networks_cfg *k)
{
	k->remember_ms = 30ULL * 86400 * 1000;
	k->max_per_user = 32;
	k->ipv4_prefix = 24;
	k->ipv6_prefix = 64;
}

static void load_known_networks(const config_setting_t *g, struct known_networks_cfg *k)
{
	static const struct config_field fields[] = {
		{ "remember", K_DURATION, offsetof(struct known_networks_cfg, remember_ms) },
		{ "max_per_user", K_INT, offsetof(struct known_networks_cfg, max_per_user) },
		{ "ipv4_prefix", K_INT, offsetof(struct known_networks_cfg, ipv4_prefix) },
		{ "ipv6_prefix", K_INT, offsetof(struct known_networks_cfg, ipv6_prefix) },
	};
	config_load_fields(g, k, fields, ARRAY_LEN(fields));
}

static void load_auth_limits(const config_setting_t *g, struct auth_limits_cfg *a)
{
	static const struct config_field fields[] = {
		{ "max_attempts_per_ip", K_INT, offsetof(struct auth_limits_cfg, max_attempts_per_ip) },
		{ "max_attempts_per_username", K_INT,
		  offsetof(struct auth_limits_cfg, max_attempts_per_username) },
		{ "max_attempts_per_client_user", K_INT,
		  offsetof(struct auth_limits_cfg, max_attempts_per_client_user) },
		{ "fast_block_threshold", K_INT, offsetof(struct auth_limits_cfg, fast_block_threshold) },
		{ "ip_window", K_DURATION, offsetof(struct auth_limits_cfg, ip_window_ms) },
		{ "username_window", K_DURATION, offsetof(struct auth_limits_cfg, username_window_ms) },
		{ "fast_window", K_DURATION, offsetof(struct auth_limits_cfg, fast_window_ms) },
		{ "fast_block_duration", K_DURATION,
		  offsetof(struct auth_limits_cfg, fast_block_duration_ms) },
		{ "delay_base", K_DURATION, offsetof(struct auth_limits_cfg, delay_base_ms) },
		{ "delay_max", K_DURATION, offsetof(struct auth_limits_cfg, delay_max_ms) },
	};
	config_auth_limits_defaults(a);
	config_load_fields(g, a, fields, ARRAY_LEN(fields));
}

static int load_values(struct loader *ld, config_t *lc, struct config *cfg)
{
	const config_setting_t *root = config_root_setting(lc), *s, *g;

	if ((s = OPT(root, "hostname")) != NULL) {
		if (*config_setting_get_string(s) == '\0' || strlen(config_setting_get_string(s)) > 253)
			return config_setting_error(ld, s, "'hostname' must be a domain name of 1..253 characters");
		replace_str(&cfg->hostname, config_setting_get_string(s));
	}
	if ((s = OPT(root, "data_dir")) != NULL) {
		if (*config_setting_get_string(s) == '\0')
			return config_setting_error(ld, s, "'data_dir' must not be empty");
		replace_str(&cfg->data_dir, config_setting_get_string(s));
	}
	if ((s = OPT(root, "workers")) != NULL)
		cfg->workers = config_setting_get_int(s);
	if (config_load_postmaster(ld, OPT(root, "postmaster"), cfg) < 0)
		return -1;
	if ((s = OPT(root, "user")) != NULL)
		replace_str(&cfg->user, config_setting_get_string(s));
	if ((s = OPT(root, "group")) != NULL)
		replace_str(&cfg->group, config_setting_get_string(s));
	if ((s = OPT(root, "strict_permissions")) != NULL)
		cfg->strict_permissions = config_setting_get_bool(s);

	g = OPT(root, "listen");
	for (int i = 0; i < SVC_COUNT; i++)
		if ((s = OPT(g, config_service_names[i])) != NULL &&
		    load_listen(ld, s, (enum service_id)i, &cfg->listen[i]) < 0)
			return -1;

	g = OPT(root, "tls");
	if ((s = OPT(g, "cert")) != NULL)
		replace_str(&cfg->tls.cert, config_setting_get_string(s));
	if ((s = OPT(g, "key")) != NULL)
		replace_str(&cfg->tls.key, config_setting_get_string(s));
	if ((s = OPT(g, "min_version")) != NULL) {
		const char *v = config_setting_get_string(s);
		if (strcmp(v, "1.2") == 0)
			cfg->tls.min_version = TLS1_2_VERSION;
		else if (strcmp(v, "1.3") == 0)
			cfg->tls.min_version = TLS1_3_VERSION;
		else
			return config_setting_error(ld, s, "'min_version' must be \"1.2\" or \"1.3\"");
	}
	if (g != NULL && (cfg->tls.cert == NULL) != (cfg->tls.key == NULL))
		return config_setting_error(ld, g, "'tls' needs both 'cert' and 'key', or neither");

	g = OPT(root, "limits");
	if ((s = OPT(g, "message_size")) != NULL)
		cfg->limits.message_size = config_get_size(s);
	if ((s = OPT(g, "recipients")) != NULL)
		cfg->limits.recipients = config_setting_get_int(s);
	if ((s = OPT(g, "connections")) != NULL)
		cfg->limits.connections = config_setting_get_int(s);
	if ((s = OPT(g, "connections_per_ip")) != NULL) {
		cfg->limits.connections_per_ip = config_setting_get_int(s);
		cfg->limits.connections_per_ip_set = true;
	}
	if ((s = OPT(g, "errors")) != NULL) {
		cfg->limits.errors = config_setting_get_int(s);
		cfg->limits.errors_set = true;
	}
	if ((s = OPT(g, "hops")) != NULL)
		cfg->limits.hops = config_setting_get_int(s);

	g = OPT(root, "timeouts");
	if ((s = OPT(g, "command")) != NULL)
		cfg->timeouts.command_ms = config_get_duration(s);
	if ((s = OPT(g, "data")) != NULL)
		cfg->timeouts.data_ms = config_get_duration(s);
	if ((s = OPT(g, "session")) != NULL) {
		cfg->timeouts.session_ms = config_get_duration(s);
		cfg->timeouts.session_set = true;
	}
	if ((s = OPT(g, "shutdown")) != NULL)
		cfg->timeouts.shutdown_ms = config_get_duration(s);

	g = OPT(root, "log");
	if ((s = OPT(g, "level")) != NULL &&
	    log_level_parse(config_setting_get_string(s), &cfg->log.level) < 0)
		return config_setting_error(ld, s, "'level' must be one of debug, info, warn, error");
	if ((s = OPT(g, "file")) != NULL)
		replace_str(&cfg->log.file, config_setting_get_string(s));
	if ((s = OPT(g, "audit_file")) != NULL)
		replace_str(&cfg->log.audit_file, config_setting_get_string(s));

	g = OPT(root, "submission");
	if ((s = OPT(g, "received_ip")) != NULL)
		cfg->submission.received_ip = config_setting_get_bool(s);
	if ((s = OPT(g, "auth_without_tls")) != NULL)
		cfg->submission.auth_without_tls = config_setting_get_bool(s);
	load_auth_limits(OPT(OPT(root, "auth"), "smtp"), &cfg->auth.smtp);
	load_auth_limits(OPT(OPT(root, "auth"), "imap"), &cfg->auth.imap);
	load_auth_limits(OPT(OPT(root, "auth"), "pop3"), &cfg->auth.pop3);
	config_load_pop3(OPT(root, "pop3"), cfg);
	config_load_quota(OPT(root, "quota"), cfg);
	config_load_ratelimit(OPT(root, "rate_limit"), cfg);
	if (config_load_dmarc(ld, OPT(root, "dmarc"), cfg) < 0 ||
	    config_load_srs(ld, OPT(root, "srs"), cfg) < 0 ||
	    config_load_ban(ld, OPT(root, "ban"), cfg) < 0 ||
	    config_load_clamav(ld, OPT(root, "clamav"), cfg) < 0 ||
	    config_load_rspamd(ld, OPT(root, "rspamd"), cfg) < 0 ||
	    config_load_greylist(ld, OPT(root, "greylist"), cfg) < 0 ||
	    config_load_dnsbl(ld, root, cfg) < 0 ||
	    config_load_mailauth(ld, root, cfg) < 0)
		return -1;
	if ((s = OPT(OPT(root, "auth"), "cache_ttl")) != NULL)
		cfg->auth.cache_ttl_ms = config_get_duration(s);
	if ((s = OPT(OPT(root, "auth"), "cache_size")) != NULL)
		cfg->auth.cache_size = config_setting_get_int(s);
	if ((s = OPT(OPT(root, "auth"), "master_login")) != NULL)
		cfg->auth.master_login = config_setting_get_bool(s);
	load_known_networks(OPT(OPT(root, "auth"), "known_networks"), &cfg->auth.known_networks);

	g = OPT(root, "imap");
	if ((s = OPT(g, "max_line")) != NULL)
		cfg->imap.max_line = config_get_size(s);
	if ((s = OPT(g, "append_limit")) != NULL)
		cfg->imap.append_limit = config_get_size(s);
	if ((s = OPT(g, "session_memory_limit")) != NULL)
		cfg->imap.session_memory = config_get_size(s);
	if ((s = OPT(g, "max_search_results")) != NULL)
		cfg->imap.max_search_results = config_setting_get_int(s);
	if ((s = OPT(g, "max_connections_per_user")) != NULL)
		cfg->imap.max_connections_per_user = config_setting_get_int(s);
	if ((s = OPT(g, "max_mailboxes")) != NULL)
		cfg->imap.max_mailboxes = config_setting_get_int(s);
	if ((s = OPT(g, "search_rate_limit_per_min")) != NULL)
		cfg->imap.search_rate_limit_per_min = config_setting_get_int(s);
	if ((s = OPT(g, "login_without_tls")) != NULL)
		cfg->imap.login_without_tls = config_setting_get_bool(s);
	if ((s = OPT(g, "compress")) != NULL)
		cfg->imap.compress = config_setting_get_bool(s);
	if ((s = OPT(g, "idle_poll")) != NULL)
		cfg->imap.idle_poll_ms = config_get_duration(s);
	if ((s = OPT(g, "autologout")) != NULL)
		cfg->imap.autologout_ms = config_get_duration(s);
	return 0;
}

static const char *const tls_policy_names[] = {
	[OUT_TLS_OPPORTUNISTIC] = "opportunistic",
	[OUT_TLS_OPPORTUNISTIC_INSECURE] = "opportunistic-insecure",
	[OUT_TLS_REQUIRED] = "required",
};

int config_parse_tls_policy(const char *text, enum out_tls_policy *out)
{
	for (size_t i = 0; i < ARRAY_LEN(tls_policy_names); i++) {
		if (strcmp(text, tls_policy_names[i]) == 0) {
			*out = (enum out_tls_policy)i;
			return 0;
		}
	}
	return -1;
}

const char *config_tls_policy_name(enum out_tls_policy p)
{
	return tls_policy_names[p];
}

enum out_tls_policy config_tls_policy(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->queue.npolicies; i++)
		if (strcasecmp(cfg->queue.policies[i].domain, domain) == 0)
			return cfg->queue.policies[i].policy;
	return cfg->queue.tls;
}

int config_load_cidrs(struct loader *ld, const config_setting_t *list, struct cidr **out,
                      size_t *n)
{
	int len = config_setting_length(list);
	*out = xcalloc((size_t)len + 1, sizeof(struct cidr));
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		if (cidr_parse(config_setting_get_string(e), &(*out)[i]) < 0)
			return config_setting_error(ld, e, "bad network \"%s\" (use e.g. \"192.0.2.0/24\")",
			                            config_setting_get_string(e));
		(*n)++;
	}
	return 0;
}

static int load_relay_dns(struct loader *ld, config_t *lc, struct config *cfg)
{
	const config_setting_t *root = config_root_setting(lc), *s;
	if ((s = OPT(OPT(root, "relay"), "hosts")) != NULL &&
	    config_load_cidrs(ld, s, &cfg->relay.hosts, &cfg->relay.nhosts) < 0)
		return -1;
	if ((s = OPT(OPT(root, "dns"), "servers")) != NULL) {
		int n = config_setting_length(s);
		cfg->dns.servers = xcalloc((size_t)n + 1, sizeof(char *));
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			const char *v = config_setting_get_string(e);
			struct cidr c;
			char host[64];
			snprintf(host, sizeof(host), "%.*s", (int)strcspn(v, "@"), v);
			if (cidr_parse(host, &c) < 0 || strchr(host, '/') != NULL)
				return config_setting_error(ld, e, "bad DNS server \"%s\" (use \"IP\" or \"IP@PORT\")", v);
			cfg->dns.servers[cfg->dns.nservers++] = xstrdup(v);
		}
	}
	if ((s = OPT(OPT(root, "dns"), "allow_zones")) != NULL) {
		int n = config_setting_length(s);
		cfg->dns.allow_zones = xcalloc((size_t)n + 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			cfg->dns.allow_zones[cfg->dns.nallow_zones++] =
				xstrdup(config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
	}
	return 0;
}

static int load_tls_policies(struct loader *ld, const config_setting_t *list, struct config *cfg)
{
	int n = config_setting_length(list);
	cfg->queue.policies = xcalloc((size_t)n + 1, sizeof(struct tls_policy_entry));
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		const config_setting_t *d = config_setting_get_member(e, "domain");
		const config_setting_t *t = config_setting_get_member(e, "tls");
		struct tls_policy_entry *pe = &cfg->queue.policies[cfg->queue.npolicies];
		if (d == NULL || t == NULL)
			return config_setting_error(ld, e, "each tls_policy entry needs 'domain' and 'tls'");
		if (config_parse_tls_policy(config_setting_get_string(t), &pe->policy) < 0)
			return config_setting_error(ld, t, "'tls' must be opportunistic, opportunistic-insecure or required");
		pe->domain = xstrdup(config_setting_get_string(d));
		cfg->queue.npolicies++;
	}
	return 0;
}

static int load_queue(struct loader *ld, config_t *lc, struct config *cfg)
{
	const config_setting_t *g = OPT(config_root_setting(lc), "queue"), *s;
	static const struct { const char *key; size_t off; } durations[] = {
		{ "max_age", offsetof(struct config, queue.max_age_ms) },
		{ "warn_after", offsetof(struct config, queue.warn_after_ms) },
		{ "min_retry", offsetof(struct config, queue.min_retry_ms) },
		{ "max_retry", offsetof(struct config, queue.max_retry_ms) },
		{ "timeout", offsetof(struct config, queue.timeout_ms) },
		{ "circuit_cooldown", offsetof(struct config, queue.circuit_cooldown_ms) },
	};
	static const struct { const char *key; size_t off; } ints[] = {
		{ "concurrency", offsetof(struct config, queue.concurrency) },
		{ "per_domain", offsetof(struct config, queue.per_domain) },
		{ "circuit_failures", offsetof(struct config, queue.circuit_failures) },
		{ "port", offsetof(struct config, queue.port) },
	};
	static const struct { const char *key; size_t off; } strings[] = {
		{ "tls_ca_file", offsetof(struct config, queue.tls_ca_file) },
		{ "helo", offsetof(struct config, queue.helo) },
		{ "source_ipv4", offsetof(struct config, queue.source_ipv4) },
		{ "source_ipv6", offsetof(struct config, queue.source_ipv6) },
	};
	if (g == NULL)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(durations); i++)
		if ((s = config_setting_get_member(g, durations[i].key)) != NULL)
			*(uint64_t *)((char *)cfg + durations[i].off) = config_get_duration(s);
	for (size_t i = 0; i < ARRAY_LEN(ints); i++)
		if ((s = config_setting_get_member(g, ints[i].key)) != NULL)
			*(int *)((char *)cfg + ints[i].off) = config_setting_get_int(s);
	for (size_t i = 0; i < ARRAY_LEN(strings); i++)
		if ((s = config_setting_get_member(g, strings[i].key)) != NULL)
			replace_str((char **)((char *)cfg + strings[i].off), config_setting_get_string(s));
	if ((s = config_setting_get_member(g, "allow_loopback")) != NULL)
		cfg->queue.allow_loopback = config_setting_get_bool(s);
	if ((s = config_setting_get_member(g, "tls")) != NULL &&
	    config_parse_tls_policy(config_setting_get_string(s), &cfg->queue.tls) < 0)
		return config_setting_error(ld, s, "'tls' must be opportunistic, opportunistic-insecure or required");
	if ((s = config_setting_get_member(g, "tls_policy")) != NULL &&
	    load_tls_policies(ld, s, cfg) < 0)
		return -1;
	if (cfg->queue.source_ipv4 != NULL &&
	    inet_pton(AF_INET, cfg->queue.source_ipv4, &(struct in_addr){ 0 }) != 1)
		return config_setting_error(ld, config_setting_get_member(g, "source_ipv4"), "'source_ipv4' must be an IPv4 address");
	if (cfg->queue.source_ipv6 != NULL &&
	    inet_pton(AF_INET6, cfg->queue.source_ipv6, &(struct in6_addr){ 0 }) != 1)
		return config_setting_error(ld, config_setting_get_member(g, "source_ipv6"), "'source_ipv6' must be an IPv6 address");
	if (cfg->queue.min_retry_ms > cfg->queue.max_retry_ms)
		return config_setting_error(ld, g, "'min_retry' must not exceed 'max_retry'");
	return 0;
}

static int finish_load(struct loader *ld, config_t *lc, int read_ok, struct config **out)
{
	if (!read_ok) {
		const char *file = config_error_file(lc);
		snprintf(ld->err, ld->errlen, "%s:%d: %s", file ? file : ld->name,
		         config_error_line(lc), config_error_text(lc));
		return -1;
	}
	if (check_group(ld, config_root_setting(lc), root_keys) < 0)
		return -1;
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->source = xstrdup(ld->name);
	set_defaults(cfg);
	if (load_values(ld, lc, cfg) < 0 || load_relay_dns(ld, lc, cfg) < 0 ||
	    load_queue(ld, lc, cfg) < 0 ||
	    config_load_lmtp(ld, config_root_setting(lc), cfg) < 0 ||
	    config_load_services(ld, OPT(config_root_setting(lc), "services"), cfg) < 0) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config_load_file(const char *path, struct config **out, char *err, size_t errlen)
{
	struct loader ld = { path, err, errlen };
	config_t lc;
	config_init(&lc);
	/* @include paths are relative to the including file's directory */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		config_set_include_dir(&lc, dir);
	}
	if (access(path, R_OK) < 0) {
		snprintf(err, errlen, "%s: cannot read: %m", path);
		config_destroy(&lc);
		return -1;
	}
	int ok = config_read_file(&lc, path) == CONFIG_TRUE;
	int rc = finish_load(&ld, &lc, ok, out);
	config_destroy(&lc);
	return rc;
}

int config_load_string(const char *text, const char *name, struct config **out,
                       char *err, size_t errlen)
{
	struct loader ld = { name, err, errlen };
	config_t lc;
	config_init(&lc);
	int ok = config_read_string(&lc, text) == CONFIG_TRUE;
	int rc = finish_load(&ld, &lc, ok, out);
	config_destroy(&lc);
	return rc;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->source);
	free(cfg->hostname);
	free(cfg->data_dir);
	config_free_postmaster(cfg);
	free(cfg->user);
	free(cfg->group);
	for (int i = 0; i < SVC_COUNT; i++)
		free(cfg->listen[i].addrs);
	free(cfg->log.audit_file);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->log.file);
	free(cfg->dmarc.psl_file);
	free(cfg->relay.hosts);
	config_free_lmtp(cfg);
	config_free_services(cfg);
	for (size_t i = 0; i < cfg->dns.nservers; i++)
		free(cfg->dns.servers[i]);
	free(cfg->dns.servers);
	config_free_mailauth(cfg);
	for (size_t i = 0; i < cfg->dns.nallow_zones; i++)
		free(cfg->dns.allow_zones[i]);
	free(cfg->dns.allow_zones);
	free(cfg->srs.domain);
	config_free_rspamd(cfg);
	config_free_greylist(cfg);
	config_free_ban(cfg);
	config_free_dnsbl(cfg);
	free(cfg->queue.tls_ca_file);
	free(cfg->queue.helo);
	free(cfg->queue.source_ipv4);
	free(cfg->queue.source_ipv6);
	for (size_t i = 0; i < cfg->queue.npolicies; i++)
		free(cfg->queue.policies[i].domain);
	free(cfg->queue.policies);
	free(cfg);
}
