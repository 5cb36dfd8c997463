/* The services postern runs: one row each (src/daemon/services.c). The only
 * place besides the config schema that knows every service by name. */
#ifndef POSTERN_DAEMON_SERVICES_H
#define POSTERN_DAEMON_SERVICES_H

#include <stddef.h>

#include "net/server.h"

extern const struct service daemon_services[];
extern const size_t daemon_nservices;

#endif
