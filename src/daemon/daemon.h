/* The composition root: builds the server from the configuration (store,
 * committer, queue runner, DKIM signer, the service rows) and runs it. */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include <stdbool.h>

struct config;

/* True when at least one service has a listen address. */
bool daemon_has_services(const struct config *cfg);
/* Runs in the foreground until SIGTERM/SIGINT. config_path is the -c file
 * (NULL: embedded default), shown in the banner. Errors go to stderr.
 * 0 or -1. */
int daemon_serve(struct config *cfg, const char *config_path);

#endif
