#include "tls/tls_bev.h"

#include <stdlib.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "tls/tls.h"

struct bufferevent *tls_bev_implicit(struct event_base *base, evutil_socket_t fd)
{
	SSL *ssl = tls_ssl_new();
	if (ssl == NULL)
		return NULL;
	/* deferred callbacks: an SSL bufferevent may otherwise call back from
	 * inside bufferevent_write(), before the caller has set its next state */
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
		BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *tls_bev_starttls(struct event_base *base, struct bufferevent *plain)
{
	SSL *ssl = tls_ssl_new();
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_filter_new(base, plain, ssl,
		BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void on_drained(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct tls_flush *w = arg;
	(void)info;
	if (evbuffer_get_length(buf) > 0)
		return;
	evbuffer_remove_cb(buf, on_drained, w);
	w->drained(w->arg);
}

bool tls_bev_flush_pending(struct bufferevent *bev, struct tls_flush *w)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);
	if (under == NULL || evbuffer_get_length(bufferevent_get_output(under)) == 0)
		return false;
	evbuffer_add_cb(bufferevent_get_output(under), on_drained, w);
	return true;
}
