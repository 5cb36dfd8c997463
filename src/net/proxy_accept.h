/* The PROXY protocol step of accepting (services.<name>.proxy_protocol): on a
 * connection from a trusted proxy, the header is read off the socket first,
 * before TLS or a greeting, within proxy_protocol_timeout, and then the client
 * it names is the connection's address for every rule and log line that
 * follows. A missing, malformed or late header closes the connection. */
#ifndef POSTERN_NET_PROXY_ACCEPT_H
#define POSTERN_NET_PROXY_ACCEPT_H

#include <event2/util.h>
#include <sys/socket.h>

struct worker;
struct service;

/* What accepting continues with once the header is read: the client's
 * address (the proxy's own for LOCAL, a health check). */
typedef void (*proxy_accepted_fn)(struct worker *w, const struct service *svc, evutil_socket_t fd,
                                  const struct sockaddr *client, const char *ip);

/* Reads the header on fd (from proxy_ip, a trusted proxy) and calls done, or
 * closes fd. The wait is a connection of the worker's (drained with it) but
 * is not counted against any connection cap: the client it names is. */
void proxy_accept(struct worker *w, const struct service *svc, evutil_socket_t fd,
                  const struct sockaddr *peer, const char *proxy_ip, proxy_accepted_fn done);

#endif
