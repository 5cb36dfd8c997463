/* The UNIX sockets of the listen lists ("unix:PATH"), made while the process
 * may still give the files to their owner: before the privilege drop. */
#ifndef POSTERN_DAEMON_SOCKETS_H
#define POSTERN_DAEMON_SOCKETS_H

#include <stddef.h>

#include "net/server.h"

struct config;
struct service_identity;

struct local_sockets {
	struct listener_fd *fds;        /* for server_resources.prebound */
	size_t n;
};

/* Binds every "unix:" address of every service. Each file is owned by the
 * address's owner and group (by default the user and group serve runs as)
 * with its mode. -1 with err, and nothing left open, on failure. */
int local_sockets_bind(const struct config *cfg, const struct service_identity *id,
                       struct local_sockets *out, char *err, size_t errlen);
/* Closes the daemon's descriptors; the files stay for the next start to
 * replace (the service user may not be allowed to remove them). */
void local_sockets_close(struct local_sockets *ls);

#endif
