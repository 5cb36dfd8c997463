/* libunbound context set-up; see ubctx.h. */
#include "dns/ubctx.h"

#include <stdio.h>

#include <unbound.h>

#include "core/log.h"
#include "core/util.h"
#include "dns/mx.h"

static void set_err(char *err, size_t errlen, const char *what, int ub_err)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, ub_strerror(ub_err));
}

static int use_system_resolver(struct ub_ctx *ctx, char *err, size_t errlen)
{
	int rc = ub_ctx_resolvconf(ctx, NULL);
	if (rc != 0) {
		set_err(err, errlen, "/etc/resolv.conf", rc);
		return -1;
	}
	/* a missing /etc/hosts (minimal containers) is no reason not to start */
	if ((rc = ub_ctx_hosts(ctx, NULL)) != 0)
		log_event(LOG_WARN, "dns.hosts_unreadable", "s", "error", ub_strerror(rc), NULL);
	return 0;
}

struct ub_ctx *dns_ub_ctx_new(const char *const *servers, size_t nservers, char *err,
                              size_t errlen)
{
	struct ub_ctx *ctx = ub_ctx_create();
	if (ctx == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "ub_ctx_create failed");
		return NULL;
	}
	if (nservers == 0 && use_system_resolver(ctx, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < nservers; i++) {
		int rc = ub_ctx_set_fwd(ctx, servers[i]);
		if (rc != 0) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "DNS server \"%s\": %s", servers[i], ub_strerror(rc));
			goto fail;
		}
	}
	return ctx;
fail:
	ub_ctx_delete(ctx);
	return NULL;
}

int dns_ub_allow_zone(struct ub_ctx *ctx, const char *zone, char *err, size_t errlen)
{
	char opt[MX_NAME_MAX + 16];
	int rc = UB_SYNTAX;
	if (zone != NULL && mx_name_valid(zone) &&
	    bsnprintf(opt, sizeof(opt), "%s transparent", zone) >= 0)
		/* A transparent zone without data replaces the built-in one and
		 * sends every query on. ("ZONE nodefault" would say it better, but
		 * libunbound 1.17's ub_ctx_set_option() stores "ZONE nodefault" whole
		 * as the zone name, so it never matches.) */
		rc = ub_ctx_set_option(ctx, "local-zone:", opt);
	if (rc != 0) {
		set_err(err, errlen, "allow zone", rc);
		return -1;
	}
	return 0;
}
