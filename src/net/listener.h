/* Listening sockets and connection limits, shared by every protocol. */
#ifndef POSTERN_LISTENER_H
#define POSTERN_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct listen_addr;

/* Binds a non-blocking listening socket with SO_REUSEPORT (one per worker:
 * the kernel spreads connections over the workers). -1 with err on failure;
 * *unavailable is set when the address does not exist on this host (e.g. ::1
 * without IPv6), which callers may treat as a warning. */
int listener_bind(const struct listen_addr *la, bool check_free, char *err, size_t errlen,
                  bool *unavailable);

/* Textual IP of a peer address ("192.0.2.1", "2001:db8::1"; v4-mapped shown as v4). */
void sockaddr_ip(const struct sockaddr *sa, char *out, size_t outlen);
int sockaddr_port(const struct sockaddr *sa);

#endif
