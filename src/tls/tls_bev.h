/* TLS on libevent bufferevents, the same way for every protocol server. */
#ifndef POSTERN_TLS_BEV_H
#define POSTERN_TLS_BEV_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

/* A server-side TLS bufferevent on a fresh socket (implicit TLS: 465, 993).
 * NULL on failure; the caller then closes fd. */
struct bufferevent *tls_bev_implicit(struct event_base *base, evutil_socket_t fd);
/* Wraps a plain bufferevent after STARTTLS; the new one owns it. NULL on failure. */
struct bufferevent *tls_bev_starttls(struct event_base *base, struct bufferevent *plain);
/* Over STARTTLS the last encrypted bytes may still wait in the socket's buffer
 * below the TLS filter when our own output is empty: true when they do, and
 * then w->drained(w->arg) is called once they are gone. w belongs to the
 * caller (it lives in the session) and must stay valid while bev does. */
struct tls_flush {
	void (*drained)(void *arg);
	void *arg;
};
bool tls_bev_flush_pending(struct bufferevent *bev, struct tls_flush *w);

#endif
