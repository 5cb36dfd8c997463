/* libunbound context set-up shared by the daemon's resolver (resolver.c) and
 * the command line's blocking lookups (lookup.c), so that both ask the same
 * servers the same way. */
#ifndef POSTERN_UBCTX_H
#define POSTERN_UBCTX_H

#include <stddef.h>

struct ub_ctx;

/* A context that forwards to servers ("IP" or "IP@PORT"), or with nservers == 0
 * uses /etc/resolv.conf and /etc/hosts. NULL with err on failure. */
struct ub_ctx *dns_ub_ctx_new(const char *const *servers, size_t nservers, char *err,
                              size_t errlen);

/* Lets queries under a special-use zone that libunbound answers itself
 * ("test.", reverse zones of private and documentation ranges) through to the
 * servers. Before the first query; 0, or -1 with err. */
int dns_ub_allow_zone(struct ub_ctx *ctx, const char *zone, char *err, size_t errlen);

#endif
