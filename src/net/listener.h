/* Listening sockets and connection limits, shared by every protocol. */
#ifndef POSTERN_LISTENER_H
#define POSTERN_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct listen_addr;

/* The "ip" of a client on a UNIX socket, in logs and connection counts: it
 * has no address, and the rules per address (caps per IP) leave it alone. */
#define NET_PEER_LOCAL "unix"

/* Binds a non-blocking listening socket with SO_REUSEPORT (one per worker:
 * the kernel spreads connections over the workers). -1 with err on failure;
 * *unavailable is set when the address does not exist on this host (e.g. ::1
 * without IPv6), which callers may treat as a warning. */
int listener_bind(const struct listen_addr *la, bool check_free, char *err, size_t errlen,
                  bool *unavailable);

/* A listening UNIX socket at la->path (listener_unix.c), made before the
 * privilege drop: the directory is created (0755) when missing, a stale
 * socket file nobody listens on is replaced, anything else at the path
 * (a regular file, a live socket) is refused. The file gets uid and gid
 * ((uid_t)-1, (gid_t)-1: unchanged) and la->mode. -1 with err on failure. */
int listener_bind_unix(const struct listen_addr *la, uid_t uid, gid_t gid, char *err,
                       size_t errlen);
/* What listener_bind_unix would refuse, changing nothing (config check). */
int listener_check_unix(const struct listen_addr *la, char *err, size_t errlen);

/* Textual IP of a peer address ("192.0.2.1", "2001:db8::1"; v4-mapped shown
 * as v4; NET_PEER_LOCAL for a UNIX socket's client). */
void sockaddr_ip(const struct sockaddr *sa, char *out, size_t outlen);
int sockaddr_port(const struct sockaddr *sa);

#endif
