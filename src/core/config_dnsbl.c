/* The dnsbl = { ... } and dnswl = { ... } groups: DNS lists asked about a
 * client at connect (src/filter/dnsbl.h). A zone is written
 *
 *     "ZONE[:CODES][=WEIGHT]"
 *
 * ZONE a domain name; CODES the answers that count as a listing, ','
 * between them, each an address or a range "127.0.0.2-127.0.0.11" (none:
 * any answer in 127.0.0.0/8); WEIGHT 1..1000, what a listing adds to the
 * client's score (dnswl: subtracts). Without a weight a dnsbl zone weighs
 * the threshold (a listing is refused on its own) and a dnswl zone as
 * much, the other way. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_int.h"
#include "core/util.h"

#define WEIGHT_MAX 1000
#define ZONES_MAX 32

const struct key_spec config_dnsbl_keys[] = {
	{ "zones", K_STRLIST, NULL, 0, 0 },
	{ "threshold", K_INT, NULL, 1, WEIGHT_MAX },
	{ "timeout", K_DURATION, NULL, 100, 60 * 1000 },
	{ "allow", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

const struct key_spec config_dnswl_keys[] = {
	{ "zones", K_STRLIST, NULL, 0, 0 },
	{ NULL, 0, NULL, 0, 0 },
};

static int parse_addr(const char *text, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

/* "A" or "A-B": one range */
static int parse_range(const char *p, size_t n, uint32_t *lo, uint32_t *hi)
{
	const char *dash = memchr(p, '-', n);
	if (dash == NULL)
		return parse_addr(p, n, lo) < 0 ? -1 : (*hi = *lo, 0);
	if (parse_addr(p, (size_t)(dash - p), lo) < 0 ||
	    parse_addr(dash + 1, n - (size_t)(dash + 1 - p), hi) < 0)
		return -1;
	return *hi < *lo ? -1 : 0;
}

/* ranges, ',' between them */
static int parse_codes(const char *p, size_t len, struct dnsbl_zone *z)
{
	const char *end = p + len;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
		if (z->ncodes == CONFIG_DNSBL_CODES_MAX ||
		    parse_range(p, n, &z->code_lo[z->ncodes], &z->code_hi[z->ncodes]) < 0)
			return -1;
		z->ncodes++;
		p += n + 1;
	}
	return 0;
}

int config_dnsbl_zone_parse(const char *spec, bool allowlist, int default_weight,
                            struct dnsbl_zone *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t zlen = strcspn(spec, ":="), clen = 0;
	const char *codes = NULL, *weight = strchr(spec, '=');
	if (spec[zlen] == ':') {
		codes = spec + zlen + 1;
		clen = weight ? (size_t)(weight - codes) : strlen(codes);
	}
	char zone[256];
	if (zlen == 0 || zlen >= sizeof(zone))
		return snprintf(err, errlen, "\"%s\": no zone name", spec), -1;
	memcpy(zone, spec, zlen);
	zone[zlen] = '\0';
	if (zone[zlen - 1] == '.')
		zone[zlen - 1] = '\0';
	if (!config_domain_valid(zone))
		return snprintf(err, errlen, "\"%s\": \"%s\" is not a domain name", spec, zone), -1;
	if (codes != NULL && (clen == 0 || parse_codes(codes, clen, out) < 0))
		return snprintf(err, errlen, "\"%s\": the codes after ':' must be addresses or ranges "
		                "(\"127.0.0.2,127.0.0.4-127.0.0.7\"), %d at most", spec,
		                CONFIG_DNSBL_CODES_MAX), -1;
	long w = default_weight;
	if (weight != NULL) {
		char *end;
		w = strtol(weight + 1, &end, 10);
		if (allowlist && w < 0)
			w = -w;
		if (end == weight + 1 || *end != '\0' || w < 1 || w > WEIGHT_MAX)
			return snprintf(err, errlen, "\"%s\": the weight after '=' must be 1..%d", spec,
			                WEIGHT_MAX), -1;
	}
	out->name = ascii_lower(xstrdup(zone));
	out->weight = allowlist ? -(int)w : (int)w;
	return 0;
}

static int load_zones(struct loader *ld, const config_setting_t *list, bool allowlist,
                      struct config *cfg)
{
	char err[512];
	int n = list ? config_setting_length(list) : 0;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		struct dnsbl_zone *z = &cfg->dnsbl.zones[cfg->dnsbl.nzones];
		if (cfg->dnsbl.nzones == ZONES_MAX)
			return config_setting_error(ld, e, "at most %d DNS list zones", ZONES_MAX);
		if (config_dnsbl_zone_parse(config_setting_get_string(e), allowlist,
		                            cfg->dnsbl.threshold, z, err, sizeof(err)) < 0)
			return config_setting_error(ld, e, "'%s.zones': %s",
			                            allowlist ? "dnswl" : "dnsbl", err);
		cfg->dnsbl.nzones++;
	}
	return 0;
}

int config_load_dnsbl(struct loader *ld, const config_setting_t *root, struct config *cfg)
{
	const config_setting_t *bl = OPT(root, "dnsbl"), *s;
	cfg->dnsbl.threshold = 10;
	cfg->dnsbl.timeout_ms = 5000;
	if ((s = OPT(bl, "threshold")) != NULL)
		cfg->dnsbl.threshold = config_setting_get_int(s);
	if ((s = OPT(bl, "timeout")) != NULL)
		cfg->dnsbl.timeout_ms = config_get_duration(s);
	cfg->dnsbl.zones = xcalloc(ZONES_MAX, sizeof(struct dnsbl_zone));
	if (load_zones(ld, OPT(bl, "zones"), false, cfg) < 0 ||
	    load_zones(ld, OPT(OPT(root, "dnswl"), "zones"), true, cfg) < 0)
		return -1;
	if ((s = OPT(bl, "allow")) != NULL &&
	    config_load_cidrs(ld, s, &cfg->dnsbl.allow, &cfg->dnsbl.nallow) < 0)
		return -1;
	return 0;
}

void config_free_dnsbl(struct config *cfg)
{
	for (size_t i = 0; i < cfg->dnsbl.nzones; i++)
		free(cfg->dnsbl.zones[i].name);
	free(cfg->dnsbl.zones);
	free(cfg->dnsbl.allow);
	cfg->dnsbl.zones = NULL;
	cfg->dnsbl.allow = NULL;
	cfg->dnsbl.nzones = cfg->dnsbl.nallow = 0;
}
