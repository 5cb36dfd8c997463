/* TLS on libevent bufferevents, the same way for every protocol server. */
#ifndef POSTERN_TLS_BEV_H
#define POSTERN_TLS_BEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <event2/util.h>

/* ---- what every protocol session does with its connection ---------------- */

/* The session's bufferevent on an accepted socket: TCP_NODELAY, plain or
 * implicit TLS, and a write timeout so that a peer that stops reading our
 * replies is dropped. NULL on failure, with fd closed. */
struct bufferevent *tls_bev_session(struct event_base *base, evutil_socket_t fd,
                                    bool implicit_tls, uint64_t write_timeout_ms);
/* Sets the callbacks and the read high-water mark, then reads and writes. */
void tls_bev_start(struct bufferevent *bev, bufferevent_data_cb readcb,
                   bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *arg,
                   size_t read_highwater);
/* After the reply to STARTTLS: drops whatever the client pipelined behind the
 * command (it came in clear text and must never run inside TLS: RFC 3207 5,
 * CVE-2011-0411) and stops reading until the handshake. Returns the number of
 * bytes dropped, for the caller's log. */
size_t tls_bev_starttls_prepare(struct bufferevent *bev);
/* Why a handshake on bev failed: its first real OpenSSL error, or "handshake
 * failed"; the errors queued on bev are consumed. */
void tls_bev_error_text(struct bufferevent *bev, char *out, size_t len);
/* Logs tls.failed with tls_bev_error_text(). */
void tls_bev_log_failure(struct bufferevent *bev, const char *protocol, const char *session,
                         const char *ip);

/* ---- the TLS bufferevents themselves -------------------------------------- */

/* A server-side TLS bufferevent on a fresh socket (implicit TLS: 465, 993).
 * NULL on failure; the caller then closes fd. */
struct bufferevent *tls_bev_implicit(struct event_base *base, evutil_socket_t fd);
/* A TLS filter over `plain` (server or client side, by state), owning plain
 * and ssl; the only way postern makes filters (see tls_bev.c). NULL on
 * failure, ssl then freed. */
struct bufferevent *tls_bev_filter(struct event_base *base, struct bufferevent *plain, SSL *ssl,
                                   enum bufferevent_ssl_state state);
/* Wraps a plain bufferevent after STARTTLS; the new one owns it. NULL on failure. */
struct bufferevent *tls_bev_starttls(struct event_base *base, struct bufferevent *plain);
/* Over STARTTLS (or COMPRESS) the last bytes may still wait in a buffer
 * below the filter when our own output is empty: true when they do, and
 * then w->drained(w->arg) is called once every layer below has passed them
 * on. w belongs to the caller (it lives in the session) and must stay valid
 * while bev does. */
struct tls_flush {
	void (*drained)(void *arg);
	void *arg;
	struct bufferevent *top;        /* set by tls_bev_flush_pending() */
};
bool tls_bev_flush_pending(struct bufferevent *bev, struct tls_flush *w);

#endif
