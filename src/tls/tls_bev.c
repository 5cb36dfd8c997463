#include "tls/tls_bev.h"

#include <netinet/in.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "tls/tls.h"

struct bufferevent *tls_bev_session(struct event_base *base, evutil_socket_t fd,
                                    bool implicit_tls, uint64_t write_timeout_ms)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct bufferevent *bev = implicit_tls ? tls_bev_implicit(base, fd)
	                                       : bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	struct timeval wto = { (time_t)(write_timeout_ms / 1000), 0 };
	bufferevent_set_timeouts(bev, NULL, &wto);
	return bev;
}

void tls_bev_start(struct bufferevent *bev, bufferevent_data_cb readcb,
                   bufferevent_data_cb writecb, bufferevent_event_cb eventcb, void *arg,
                   size_t read_highwater)
{
	bufferevent_setcb(bev, readcb, writecb, eventcb, arg);
	bufferevent_setwatermark(bev, EV_READ, 0, read_highwater);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

size_t tls_bev_starttls_prepare(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t injected = evbuffer_get_length(in);
	evbuffer_drain(in, injected);
	bufferevent_disable(bev, EV_READ);
	return injected;
}

void tls_bev_error_text(struct bufferevent *bev, char *out, size_t len)
{
	unsigned long e;
	bool found = false;
	snprintf(out, len, "handshake failed");
	/* libevent queues its own SSL_ERROR_* codes beside OpenSSL's: keep the
	 * first real library error, it says why ("unsupported protocol" ...) */
	while ((e = bufferevent_get_openssl_error(bev)) != 0) {
		if (!found && ERR_GET_LIB(e) != 0) {
			ERR_error_string_n(e, out, len);
			found = true;
		}
	}
}

void tls_bev_log_failure(struct bufferevent *bev, const char *protocol, const char *session,
                         const char *ip)
{
	char detail[256];
	tls_bev_error_text(bev, detail, sizeof(detail));
	log_event(LOG_WARN, "tls.failed", "s", "session", session, "s", "ip", ip,
	          "s", "protocol", protocol, "s", "error", detail, NULL);
}

/* libevent 2.1 creates the BIO method behind its filter bufferevents on first
 * use, without a lock: two threads making their first filters at once (a
 * worker's STARTTLS and the queue runner's) would each create one and lose
 * one. Make the first filter once, under pthread_once, before any other. */
static pthread_once_t filter_method_once = PTHREAD_ONCE_INIT;

static void create_filter_method(void)
{
	struct event_base *base = event_base_new();
	struct bufferevent *pair[2];
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	if (base && ssl && bufferevent_pair_new(base, BEV_OPT_CLOSE_ON_FREE, pair) == 0) {
		struct bufferevent *f = bufferevent_openssl_filter_new(base, pair[0], ssl,
			BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
		if (f != NULL) {
			ssl = NULL;          /* the filter owns it, and pair[0] */
			bufferevent_free(f);
		} else {
			bufferevent_free(pair[0]);
		}
		bufferevent_free(pair[1]);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (base)
		event_base_free(base);
}

struct bufferevent *tls_bev_filter(struct event_base *base, struct bufferevent *plain, SSL *ssl,
                                   enum bufferevent_ssl_state state)
{
	pthread_once(&filter_method_once, create_filter_method);
	/* deferred callbacks: an SSL bufferevent may otherwise call back from
	 * inside bufferevent_write(), before the caller has set its next state */
	struct bufferevent *bev = bufferevent_openssl_filter_new(base, plain, ssl, state,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* A server-side TLS bufferevent on the socket, or over `plain` when given. */
static struct bufferevent *server_tls(struct event_base *base, evutil_socket_t fd,
                                      struct bufferevent *plain)
{
	SSL *ssl = tls_ssl_new();
	if (ssl == NULL)
		return NULL;
	if (plain != NULL)
		return tls_bev_filter(base, plain, ssl, BUFFEREVENT_SSL_ACCEPTING);
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
		BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *tls_bev_implicit(struct event_base *base, evutil_socket_t fd)
{
	return server_tls(base, fd, NULL);
}

struct bufferevent *tls_bev_starttls(struct event_base *base, struct bufferevent *plain)
{
	return server_tls(base, -1, plain);
}

/* The first layer below bev (filters stack: COMPRESS over TLS over the
 * socket) whose output still holds something, or NULL. */
static struct bufferevent *pending_below(struct bufferevent *bev)
{
	for (struct bufferevent *b = bufferevent_get_underlying(bev); b != NULL;
	     b = bufferevent_get_underlying(b))
		if (evbuffer_get_length(bufferevent_get_output(b)) > 0)
			return b;
	return NULL;
}

static void on_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct tls_flush *w = arg;
	(void)info;
	if (evbuffer_get_length(buf) > 0)
		return;
	evbuffer_remove_cb(buf, on_drained, w);
	/* that layer has passed it all down: a lower one may hold it now */
	struct bufferevent *next = pending_below(w->top);
	if (next != NULL) {
		evbuffer_add_cb(bufferevent_get_output(next), on_drained, w);
		return;
	}
	w->drained(w->arg);
}

bool tls_bev_flush_pending(struct bufferevent *bev, struct tls_flush *w)
{
	struct bufferevent *under = pending_below(bev);
	if (under == NULL)
		return false;
	w->top = bev;
	evbuffer_add_cb(bufferevent_get_output(under), on_drained, w);
	return true;
}
