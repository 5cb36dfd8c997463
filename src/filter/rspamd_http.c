/* The HTTP/1.1 client rspamd is spoken to with (rspamd_http.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/util.h"
#include "filter/rspamd_http.h"

/* How much of the body is queued for the socket at a time. */
#define CHUNK (64 * 1024)

struct rspamd_http {
	struct bufferevent *bev;
	struct event *deadline, *kick;
	struct rspamd_body body;
	char *prefix;
	uint64_t sent;                  /* of prefix + body */
	size_t max_reply;
	bool head_done;
	struct rspamd_http_head head;
	size_t body_start;              /* where the body begins in the input */
	rspamd_http_done_fn *done;
	void *arg;
	char err[160];                  /* a failure found before the loop runs */
	bool finished;
};

static void finish(struct rspamd_http *h, int status, const char *body, size_t len, const char *err)
{
	if (h->finished)
		return;
	h->finished = true;
	if (h->bev != NULL)
		bufferevent_disable(h->bev, EV_READ | EV_WRITE);
	event_del(h->deadline);
	h->done(h->arg, status, body, len, err);
}

/* "what: detail", or what alone when detail is NULL */
static void fail(struct rspamd_http *h, const char *what, const char *detail)
{
	char err[200];
	snprintf(err, sizeof(err), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	finish(h, 0, NULL, 0, err);
}

/* ---- the reply head --------------------------------------------------- */

static bool field_is(const char *line, size_t len, const char *name, const char **value,
                     size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return false;
	const char *v = line + n + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = v;
	*vlen = (size_t)(end - v);
	return true;
}

static int parse_length(const char *v, size_t n, long long *out)
{
	long long x = 0;
	if (n == 0 || n > 12)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = x;
	return 0;
}

static int parse_status_line(const char *line, size_t len, int *status)
{
	/* "HTTP/1.1 200 OK": the reason may be anything, even empty */
	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ')
		return -1;
	int s = 0;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		s = s * 10 + (line[i] - '0');
	}
	if (s < 100 || s > 599 || (len > 12 && line[12] != ' '))
		return -1;
	*status = s;
	return 0;
}

int rspamd_http_parse_head(const char *head, size_t len, struct rspamd_http_head *out,
                           char *err, size_t errlen)
{
	out->status = 0;
	out->content_length = -1;
	const char *p = head, *end = head + len;
	bool first = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *next = nl ? nl + 1 : end;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		const char *v;
		size_t vlen;
		if (first) {
			if (parse_status_line(p, n, &out->status) < 0) {
				snprintf(err, errlen, "not an HTTP/1.x status line");
				return -1;
			}
			first = false;
		} else if (field_is(p, n, "Content-Length", &v, &vlen)) {
			long long cl;
			if (out->content_length >= 0 || parse_length(v, vlen, &cl) < 0) {
				snprintf(err, errlen, "bad Content-Length");
				return -1;
			}
			out->content_length = cl;
		} else if (field_is(p, n, "Transfer-Encoding", &v, &vlen)) {
			snprintf(err, errlen, "Transfer-Encoding is not supported");
			return -1;
		}
		p = next;
	}
	if (first) {
		snprintf(err, errlen, "empty reply head");
		return -1;
	}
	return 0;
}

/* ---- reading the reply ------------------------------------------------ */

/* The reply is complete in the input: hand over a NUL-terminated copy of
 * its body (at most max_reply octets). */
static void deliver(struct rspamd_http *h, struct evbuffer *in, size_t body_len)
{
	char *body = xmalloc(body_len + 1);
	evbuffer_drain(in, h->body_start);
	evbuffer_remove(in, body, body_len);
	body[body_len] = '\0';
	finish(h, h->head.status, body, body_len, NULL);
	free(body);
}

static bool read_head(struct rspamd_http *h, struct evbuffer *in)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	size_t sep = 4;
	if (end.pos < 0) {
		end = evbuffer_search(in, "\n\n", 2, NULL);
		sep = 2;
	}
	if (end.pos < 0 || end.pos > RSPAMD_HTTP_HEAD_MAX) {
		if (evbuffer_get_length(in) > RSPAMD_HTTP_HEAD_MAX || end.pos > RSPAMD_HTTP_HEAD_MAX)
			fail(h, "reply head too long", NULL);
		return false;
	}
	char err[128];
	const char *head = (const char *)evbuffer_pullup(in, end.pos);
	if (rspamd_http_parse_head(head, (size_t)end.pos, &h->head, err, sizeof(err)) < 0) {
		fail(h, "bad reply", err);
		return false;
	}
	if (h->head.content_length > (long long)h->max_reply) {
		fail(h, "reply too large", NULL);
		return false;
	}
	h->body_start = (size_t)end.pos + sep;
	h->head_done = true;
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct rspamd_http *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (!h->head_done && !read_head(h, in))
		return;
	size_t have = evbuffer_get_length(in) - h->body_start;
	if (h->head.content_length < 0) {
		if (have > h->max_reply)
			fail(h, "reply too large", NULL);
		return;         /* it ends at EOF */
	}
	if (have >= (size_t)h->head.content_length)
		deliver(h, in, (size_t)h->head.content_length);
}

/* ---- sending the body ------------------------------------------------- */

/* Queues the next piece of the body; the write callback comes back when
 * the socket has taken it. */
static void fill(struct rspamd_http *h)
{
	struct evbuffer *out = bufferevent_get_output(h->bev);
	uint64_t total = h->body.prefix_len + h->body.size;
	while (h->sent < total && evbuffer_get_length(out) < CHUNK) {
		if (h->sent < h->body.prefix_len) {
			size_t n = h->body.prefix_len - (size_t)h->sent;
			evbuffer_add(out, h->prefix + h->sent, n);
			h->sent += n;
			continue;
		}
		uint64_t off = h->sent - h->body.prefix_len;
		size_t want = h->body.size - off < CHUNK ? (size_t)(h->body.size - off) : CHUNK;
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(out, (ev_ssize_t)want, &v, 1) < 1) {
			fail(h, "out of memory", NULL);
			return;
		}
		ssize_t got = h->body.read_at(h->body.arg, off, v.iov_base, want);
		if (got <= 0) {
			fail(h, "reading the message", got < 0 ? strerror(errno) : "it is shorter");
			return;
		}
		v.iov_len = (size_t)got;
		evbuffer_commit_space(out, &v, 1);
		h->sent += (uint64_t)got;
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	fill(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rspamd_http *h = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_EOF) && h->head_done && h->head.content_length < 0) {
		struct evbuffer *in = bufferevent_get_input(bev);
		deliver(h, in, evbuffer_get_length(in) - h->body_start);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();
		fail(h, e ? evutil_socket_error_to_string(e) : "connection error", NULL);
		return;
	}
	fail(h, "connection closed before the reply", NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	fail(arg, "timeout", NULL);
}

/* A failure before the loop ran (connect refused at once, a bad address)
 * is reported from the loop, as the API promises. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct rspamd_http *h = arg;
	fail(h, h->err, NULL);
}

static socklen_t make_sockaddr(const struct listen_addr *to, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (to->path[0] != '\0') {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", to->path);
		return sizeof(*un);
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, to->host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)to->port);
		return sizeof(*in4);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, to->host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)to->port);
		return sizeof(*in6);
	}
	return 0;
}

static void start_failed(struct rspamd_http *h, const char *why)
{
	snprintf(h->err, sizeof(h->err), "%s", why);
	event_active(h->kick, EV_TIMEOUT, 0);
}

struct rspamd_http *rspamd_http_post(struct event_base *base, const struct listen_addr *to,
                                     const char *head, const struct rspamd_body *body,
                                     uint64_t timeout_ms, size_t max_reply,
                                     rspamd_http_done_fn *done, void *arg)
{
	struct rspamd_http *h = xcalloc(1, sizeof(*h));
	h->body = *body;
	if (body->prefix_len > 0) {
		h->prefix = xmalloc(body->prefix_len);
		memcpy(h->prefix, body->prefix, body->prefix_len);
	}
	h->body.prefix = h->prefix;
	h->max_reply = max_reply;
	h->done = done;
	h->arg = arg;
	h->deadline = evtimer_new(base, on_deadline, h);
	h->kick = event_new(base, -1, 0, on_kick, h);
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	evtimer_add(h->deadline, &tv);
	struct sockaddr_storage ss;
	socklen_t sl = make_sockaddr(to, &ss);
	h->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (sl == 0 || h->bev == NULL) {
		start_failed(h, sl == 0 ? "bad address" : "out of memory");
		return h;
	}
	bufferevent_setcb(h->bev, on_read, on_write, on_event, h);
	struct evbuffer *out = bufferevent_get_output(h->bev);
	evbuffer_add_printf(out, "%sContent-Length: %llu\r\n\r\n", head,
	                    (unsigned long long)(body->prefix_len + body->size));
	if (bufferevent_socket_connect(h->bev, (struct sockaddr *)&ss, (int)sl) < 0) {
		int e = EVUTIL_SOCKET_ERROR();
		start_failed(h, e ? evutil_socket_error_to_string(e) : "connect failed");
		return h;
	}
	/* the body follows from on_write, once the head has left */
	bufferevent_enable(h->bev, EV_READ | EV_WRITE);
	return h;
}

void rspamd_http_free(struct rspamd_http *h)
{
	if (h == NULL)
		return;
	if (h->bev != NULL)
		bufferevent_free(h->bev);
	event_free(h->deadline);
	event_free(h->kick);
	free(h->prefix);
	free(h);
}
