/* Process privileges: the service user postern runs as, giving up root, and
 * the capability it keeps to bind ports below 1024. */
#ifndef POSTERN_PRIVS_H
#define POSTERN_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;

/* Who the process should be. `change` is false when it already is that user,
 * or the config says to stay (user = ""). */
struct service_identity {
	bool change;            /* started as root: become uid/gid */
	uid_t uid;
	gid_t gid;
	char user[64];
	char group[64];
};

/* Looks up the configured user and group. Started as root with a user that
 * does not exist: -1, and err says how to create it. Not root: change is
 * false and uid/gid are the process's own. */
int privs_resolve(const struct config *cfg, struct service_identity *id, char *err, size_t errlen);

/* serve: becomes the service user, keeping only CAP_NET_BIND_SERVICE (for
 * listeners added later), and sets no_new_privs. Not root: drops every
 * capability except that one and sets no_new_privs. Must run before any
 * thread starts: capabilities are per thread. */
int privs_drop_for_serve(const struct service_identity *id, char *err, size_t errlen);

/* The CLI: becomes the service user for good (no capabilities), so that
 * what it writes into the data directory is owned as the server's files
 * are. Nothing to do when id->change is false. */
int privs_become(const struct service_identity *id, char *err, size_t errlen);

/* The name of a user or group, or its number when it has none; safe in
 * any thread. Returns out. */
const char *privs_user_name(uid_t uid, char *out, size_t outlen);
const char *privs_group_name(gid_t gid, char *out, size_t outlen);

/* True when the process may bind ports below the kernel's unprivileged
 * start (root, or CAP_NET_BIND_SERVICE effective or permitted). */
bool privs_can_bind_low_ports(void);
/* The lowest port anyone may bind (net.ipv4.ip_unprivileged_port_start). */
int privs_unprivileged_port_start(void);
/* How to give the binary the right to bind port `port`, for error messages. */
void privs_bind_advice(int port, char *out, size_t outlen);

#endif
