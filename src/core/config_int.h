/* Shared by the configuration loader's files (config.c, config_services.c):
 * the schema's key types and the loader's error reporting. Not for other code. */
#ifndef POSTERN_CONFIG_INT_H
#define POSTERN_CONFIG_INT_H

#include <libconfig.h>
#include <stdint.h>

#include "core/config.h"

/* K_STR_OR_LIST: one string, or a list of strings */
enum key_type { K_STRING, K_INT, K_BOOL, K_SIZE, K_DURATION, K_GROUP, K_STRLIST, K_GROUPLIST,
                K_STR_OR_LIST };

struct key_spec {
	const char *name;
	enum key_type type;
	const struct key_spec *children; /* K_GROUP: NULL-name terminated */
	long long min, max;              /* K_INT, K_SIZE (bytes), K_DURATION (ms) */
};

struct loader {
	const char *name;       /* main file name for settings without a source file */
	char *err;
	size_t errlen;
};

/* "FILE:LINE: message" into ld->err; returns -1. */
int config_setting_error(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Values of keys the schema has already checked. */
uint64_t config_get_size(const config_setting_t *s);
uint64_t config_get_duration(const config_setting_t *s);

/* A key stored at an offset of a struct: K_INT into an int, K_SIZE and
 * K_DURATION into a uint64_t. */
struct config_field {
	const char *key;
	enum key_type type;
	size_t off;
};
/* Stores each field present in group g (may be NULL) into base. */
void config_load_fields(const config_setting_t *g, void *base, const struct config_field *fields,
                        size_t n);

/* An optional, already type-checked key. */
#define OPT(group, key) ((group) ? config_setting_get_member((group), (key)) : NULL)

/* services = { smtp = { timeouts = {...}; limits = {...}; }; ... } */
extern const struct key_spec config_services_keys[];
/* listen = { smtp = [...]; ... }: one list per service */
extern const struct key_spec config_listen_keys[];
/* Services that may listen on a UNIX socket ("unix:PATH"). */
bool config_service_takes_socket(enum service_id id);
/* Fills cfg->policy[] from the global keys and the services group (may be
 * NULL; the schema has checked every value); runs after every other group
 * is loaded. -1 with ld's error for a bad trusted_proxies. */
int config_load_services(struct loader *ld, const config_setting_t *services, struct config *cfg);
void config_free_services(struct config *cfg);

/* pop3 = { ... } (config_pop3.c): the schema, the defaults, and the values
 * of the group g (may be NULL), already type-checked. */
extern const struct key_spec config_pop3_keys[];
void config_pop3_defaults(struct config *cfg);
void config_load_pop3(const config_setting_t *g, struct config *cfg);

/* quota = { ... } (config_quota.c): the users' default limits. */
extern const struct key_spec config_quota_keys[];
void config_load_quota(const config_setting_t *g, struct config *cfg);

/* dmarc = { ... } (config_dmarc.c): psl_file and enforcement. */
extern const struct key_spec config_dmarc_keys[];
int config_load_dmarc(struct loader *ld, const config_setting_t *g, struct config *cfg);
/* ban = { ... } (config_ban.c): automatic bans. */
extern const struct key_spec config_ban_keys[];
int config_load_ban(struct loader *ld, const config_setting_t *g, struct config *cfg);
void config_free_ban(struct config *cfg);

/* srs = { ... } (config_srs.c): after hostname, which is the default domain. */
extern const struct key_spec config_srs_keys[];
int config_load_srs(struct loader *ld, const config_setting_t *g, struct config *cfg);
/* clamav = { ... } (config_clamav.c); g may be NULL: off. */
extern const struct key_spec config_clamav_keys[];
int config_load_clamav(struct loader *ld, const config_setting_t *g, struct config *cfg);
/* rspamd = { ... } (config_rspamd.c): the content filter, off by default. */
extern const struct key_spec config_rspamd_keys[];
int config_load_rspamd(struct loader *ld, const config_setting_t *g, struct config *cfg);
void config_free_rspamd(struct config *cfg);
/* greylist = { ... } (config_greylist.c). */
extern const struct key_spec config_greylist_keys[];
int config_load_greylist(struct loader *ld, const config_setting_t *g, struct config *cfg);
void config_free_greylist(struct config *cfg);
/* rate_limit = { ... } (config_ratelimit.c): send rate limits; g may be NULL. */
extern const struct key_spec config_ratelimit_keys[];
void config_load_ratelimit(const config_setting_t *g, struct config *cfg);
/* dnsbl = { ... } and dnswl = { ... } (config_dnsbl.c), from the root. */
extern const struct key_spec config_dnsbl_keys[], config_dnswl_keys[];
int config_load_dnsbl(struct loader *ld, const config_setting_t *root, struct config *cfg);
void config_free_dnsbl(struct config *cfg);
/* Parses one zone of dnsbl.zones ("ZONE[:CODES][=WEIGHT]"); a missing
 * weight is default_weight; allowlist zones get negative weights. 0, or -1
 * with the reason in err. Frees nothing on failure (out->name NULL). */
int config_dnsbl_zone_parse(const char *spec, bool allowlist, int default_weight,
                            struct dnsbl_zone *out, char *err, size_t errlen);
extern const struct key_spec config_spf_keys[], config_dkim_keys[], config_arc_keys[];
/* spf, dkim and arc (config_mailauth.c), from the root */
int config_load_mailauth(struct loader *ld, const config_setting_t *root, struct config *cfg);
void config_free_mailauth(struct config *cfg);

/* A list of networks ("192.0.2.0/24"): *out is allocated, *n counted. */
int config_load_cidrs(struct loader *ld, const config_setting_t *list, struct cidr **out,
                      size_t *n);

/* The lmtp group (config_lmtp.c), after `listen`: fills cfg->lmtp and the
 * socket settings of listen.lmtp's "unix:" addresses, and refuses a TCP
 * address off loopback unless lmtp.allow_remote names networks. */
int config_load_lmtp(struct loader *ld, const config_setting_t *root, struct config *cfg);
void config_free_lmtp(struct config *cfg);

/* `postmaster` (config_postmaster.c): s may be NULL; each address is checked. */
int config_load_postmaster(struct loader *ld, const config_setting_t *s, struct config *cfg);
void config_free_postmaster(struct config *cfg);

#endif
