#include "net/proxy_accept.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/util.h"
#include "net/listener.h"
#include "net/proxy_proto.h"
#include "net/server.h"
#include "net/timeouts.h"

struct proxy_wait {
	struct conn conn;               /* first: the server drains it like a session */
	const struct service *svc;
	evutil_socket_t fd;
	struct event *ev;               /* readable, or the header's deadline */
	uint64_t deadline_ms;
	proxy_accepted_fn done;
	struct sockaddr_storage peer;   /* the proxy's: what a LOCAL header keeps */
	size_t have;                    /* octets of the header consumed so far */
	unsigned char buf[PROXY_HEADER_MAX];
};

static void wait_free(struct proxy_wait *pw)
{
	event_free(pw->ev);
	conn_unregister(&pw->conn);
	free(pw);
}

static void fail(struct proxy_wait *pw, const char *reason)
{
	log_security(LOG_WARN, "net.proxy_refused", "s", "service", service_name(pw->svc),
	             "s", "ip", pw->conn.ip, "s", "reason", reason,
	             "i", "octets", (long long)pw->have, NULL);
	evutil_closesocket(pw->fd);
	wait_free(pw);
}

static void succeed(struct proxy_wait *pw, const struct proxy_header *h)
{
	struct sockaddr_storage client = h->local ? pw->peer : h->src;
	char ip[48];
	sockaddr_ip((const struct sockaddr *)&client, ip, sizeof(ip));
	log_event(LOG_DEBUG, "net.proxy", "s", "service", service_name(pw->svc),
	          "s", "proxy", pw->conn.ip, "s", "ip", ip,
	          "i", "port", (long long)sockaddr_port((const struct sockaddr *)&client),
	          "i", "version", (long long)h->version, "b", "local", (int)h->local, NULL);
	struct worker *w = pw->conn.worker;
	const struct service *svc = pw->svc;
	evutil_socket_t fd = pw->fd;
	proxy_accepted_fn done = pw->done;
	wait_free(pw);
	done(w, svc, fd, (const struct sockaddr *)&client, ip);
}

static void rearm(struct proxy_wait *pw)
{
	uint64_t now = now_ms(), left = pw->deadline_ms > now ? pw->deadline_ms - now : 0;
	struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
	event_add(pw->ev, &tv);
}

/* Takes n octets of the socket that the peek showed are the header's. */
static bool consume(struct proxy_wait *pw, size_t n)
{
	ssize_t got = recv(pw->fd, pw->buf + pw->have, n, 0);
	if (got != (ssize_t)n)
		return false;
	pw->have += n;
	return true;
}

/* Peeks at what has come: octets are consumed only when the parser says
 * they belong to the header, so the client's first bytes (a TLS
 * ClientHello, a command) stay in the socket for the session. */
static void on_readable(struct proxy_wait *pw)
{
	ssize_t n = recv(pw->fd, pw->buf + pw->have, sizeof(pw->buf) - pw->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		rearm(pw);
		return;
	}
	if (n <= 0) {
		fail(pw, n == 0 ? "closed before the header" : "read error");
		return;
	}
	struct proxy_header h;
	const char *why = NULL;
	switch (proxy_proto_parse(pw->buf, pw->have + (size_t)n, &h, &why)) {
	case PROXY_MORE:
		if (!consume(pw, (size_t)n))
			fail(pw, "read error");
		else
			rearm(pw);
		return;
	case PROXY_DONE:
		if (!consume(pw, h.length - pw->have))
			fail(pw, "read error");
		else
			succeed(pw, &h);
		return;
	case PROXY_ERROR:
		fail(pw, why != NULL ? why : "malformed header");
		return;
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *pw = arg;
	(void)fd;
	if (what & EV_TIMEOUT) {
		net_timeout_count(NET_TIMEOUT_PROXY);
		fail(pw, "no header in time");
		return;
	}
	on_readable(pw);
}

static void on_drain(struct conn *c)
{
	struct proxy_wait *pw = (struct proxy_wait *)c;
	evutil_closesocket(pw->fd);
	wait_free(pw);
}

void proxy_accept(struct worker *w, const struct service *svc, evutil_socket_t fd,
                  const struct sockaddr *peer, const char *proxy_ip, proxy_accepted_fn done)
{
	const struct service_policy *p = &worker_config(w)->policy[svc->id];
	struct proxy_wait *pw = xcalloc(1, sizeof(*pw));
	pw->svc = svc;
	pw->fd = fd;
	pw->done = done;
	pw->deadline_ms = now_ms() + p->proxy_timeout_ms;
	memcpy(&pw->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                      : peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
	                      : sizeof(struct sockaddr));
	conn_register_uncounted(w, &pw->conn, svc->id, proxy_ip, sockaddr_port(peer));
	pw->conn.drain = on_drain;
	pw->conn.force_close = on_drain;
	pw->ev = event_new(worker_base(w), fd, EV_READ, on_event, pw);
	if (pw->ev == NULL) {
		conn_unregister(&pw->conn);
		evutil_closesocket(fd);
		free(pw);
		return;
	}
	rearm(pw);
}
