/* Connection caps: in total, per address, per service, and per address within
 * a service (thread-safe: every worker's accept loop asks the same table). */
#ifndef POSTERN_CONNLIMIT_H
#define POSTERN_CONNLIMIT_H

#include "core/config.h"

enum connlimit_verdict {
	CONNLIMIT_OK = 0,
	CONNLIMIT_TOTAL,            /* limits.connections */
	CONNLIMIT_PER_IP,           /* limits.connections_per_ip */
	CONNLIMIT_SERVICE,          /* services.<name>.limits.connections */
	CONNLIMIT_SERVICE_PER_IP,   /* services.<name>.limits.connections_per_ip */
};

struct connlimit;
struct connlimit *connlimit_new(const struct config *cfg);
void connlimit_free(struct connlimit *cl);
/* CONNLIMIT_OK when the connection may proceed; then connlimit_release must follow. */
enum connlimit_verdict connlimit_acquire(struct connlimit *cl, enum service_id svc, const char *ip);
void connlimit_release(struct connlimit *cl, enum service_id svc, const char *ip);
/* For logs: "connection limit", "service connection limit" ... */
const char *connlimit_reason(enum connlimit_verdict v);

#endif
