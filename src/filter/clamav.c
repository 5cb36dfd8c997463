/* The clamd client (clamav.h): one connection per scan, "zINSTREAM\0", the
 * message as <4-octet length><data> chunks and a zero-length chunk, then
 * one NUL-terminated reply. Chunks are read from the source only when the
 * socket has taken most of what is queued (the write low-water mark), so
 * memory stays bounded whatever the size; one deadline covers the whole
 * exchange. */
#include "filter/clamav.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/util.h"
#include "store/msgbuf.h"

struct clamav {
	struct event_base *base;
	struct config_clamav set;
};

enum scan_kind { SCAN_INSTREAM, SCAN_PING };

struct clamav_scan {
	struct clamav *cv;
	enum scan_kind kind;
	struct clamav_source src;
	uint64_t sent;                  /* octets of src queued */
	bool connected;
	bool end_sent;                  /* the zero-length chunk queued */
	struct bufferevent *bev;
	/* the deadline; set to fire at once when the result is ready, so that
	 * done is always called from the loop */
	struct event *timer;
	bool finished;
	struct clamav_result res;
	clamav_done_fn *done;
	void *arg;
	char chunk[CLAMAV_CHUNK];
};

static ssize_t read_msgbuf(const void *arg, uint64_t offset, void *buf, size_t len)
{
	return msgbuf_read_at(arg, offset, buf, len);
}

struct clamav_source clamav_source_msgbuf(const struct msgbuf *mb)
{
	return (struct clamav_source){ .read_at = read_msgbuf, .arg = mb, .size = msgbuf_size(mb) };
}

struct clamav *clamav_new(struct event_base *base, const struct config_clamav *settings)
{
	struct clamav *cv = xcalloc(1, sizeof(*cv));
	cv->base = base;
	cv->set = *settings;
	return cv;
}

void clamav_free(struct clamav *cv)
{
	free(cv);
}

static void scan_free(struct clamav_scan *s)
{
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

void clamav_scan_cancel(struct clamav_scan *scan)
{
	if (scan != NULL)
		scan_free(scan);
}

/* The result is in s->res: close the connection and report from the loop. */
static void finish(struct clamav_scan *s)
{
	static const struct timeval now = { 0, 0 };
	if (s->finished)
		return;
	s->finished = true;
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	evtimer_add(s->timer, &now);
}

static void finish_clean(struct clamav_scan *s)
{
	s->res.status = CLAMAV_CLEAN;
	if (s->kind == SCAN_PING)
		snprintf(s->res.log, sizeof(s->res.log), "clamd %s answered PONG",
		         s->cv->set.address.text);
	else
		snprintf(s->res.log, sizeof(s->res.log), "clean (%llu octets scanned)",
		         (unsigned long long)s->src.size);
	finish(s);
}

static void finish_virus(struct clamav_scan *s, const char *name)
{
	s->res.status = CLAMAV_VIRUS;
	s->res.action = CLAMAV_REJECT;
	s->res.code = 554;
	s->res.enh = "5.7.0";
	snprintf(s->res.virus, sizeof(s->res.virus), "%s", name);
	snprintf(s->res.text, sizeof(s->res.text), "Virus found: %s", s->res.virus);
	snprintf(s->res.log, sizeof(s->res.log), "virus %s found: rejected", s->res.virus);
	finish(s);
}

/* clamd could not give a verdict: clamav.on_error decides. */
static void finish_failed(struct clamav_scan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void finish_failed(struct clamav_scan *s, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->res.status = CLAMAV_FAILED;
	if (s->kind == SCAN_INSTREAM && !s->cv->set.on_error_accept) {
		s->res.action = CLAMAV_DEFER;
		s->res.code = 451;
		s->res.enh = "4.7.1";
		snprintf(s->res.text, sizeof(s->res.text), "Virus scan unavailable, try again later");
	}
	snprintf(s->res.log, sizeof(s->res.log), "clamd %s failed (%s)%s", s->cv->set.address.text,
	         why, s->kind == SCAN_PING ? "" : s->res.action == CLAMAV_DEFER ?
	         ": deferred (on_error tempfail)" : ": accepted (on_error accept)");
	finish(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct clamav_scan *s = arg;
	if (!s->finished)
		finish_failed(s, "no answer within %llu ms",
		              (unsigned long long)s->cv->set.timeout_ms);
	struct clamav_result res = s->res;
	clamav_done_fn *done = s->done;
	void *done_arg = s->arg;
	scan_free(s);
	done(done_arg, &res);
}

/* Queues chunks until CLAMAV_OUT_MAX octets wait for the socket; the
 * zero-length chunk after the last. */
static void pump(struct clamav_scan *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	while (!s->end_sent && evbuffer_get_length(out) < CLAMAV_OUT_MAX) {
		uint64_t left = s->src.size - s->sent;
		size_t want = left < CLAMAV_CHUNK ? (size_t)left : CLAMAV_CHUNK;
		ssize_t n = want ? s->src.read_at(s->src.arg, s->sent, s->chunk, want) : 0;
		if (want > 0 && n <= 0) {
			finish_failed(s, "reading the message at %llu: %s", (unsigned long long)s->sent,
			              n < 0 ? strerror(errno) : "shorter than its size");
			return;
		}
		uint32_t len = htonl((uint32_t)n);
		evbuffer_add(out, &len, sizeof(len));
		if (n == 0) {
			s->end_sent = true;
			return;
		}
		evbuffer_add(out, s->chunk, (size_t)n);
		s->sent += (uint64_t)n;
	}
}

static void handle_reply(struct clamav_scan *s, const char *line, size_t len)
{
	char name[CLAMAV_NAME_MAX + 1];
	enum clamav_reply_kind kind = clamav_parse_reply(line, len, name, sizeof(name));
	char shown[CLAMAV_NAME_MAX + 1];
	clamav_sanitize(line, len, shown, sizeof(shown));
	if (s->kind == SCAN_PING) {
		if (kind == CLAMAV_REPLY_PONG)
			finish_clean(s);
		else
			finish_failed(s, "answered \"%s\" to PING", shown);
		return;
	}
	switch (kind) {
	case CLAMAV_REPLY_FOUND:
		finish_virus(s, name);
		return;
	case CLAMAV_REPLY_OK:
		/* a verdict before the whole message was even queued is not one */
		if (s->end_sent)
			finish_clean(s);
		else
			finish_failed(s, "answered OK before the end of the message");
		return;
	case CLAMAV_REPLY_ERROR:
		finish_failed(s, "clamd: %s", name);
		return;
	default:
		finish_failed(s, "unexpected reply \"%s\"", shown);
		return;
	}
}

/* A whole reply in the input: handled, true. */
static bool take_reply(struct clamav_scan *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in);
	if (len > CLAMAV_REPLY_MAX + 1)
		len = CLAMAV_REPLY_MAX + 1;
	const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	ssize_t end = data ? clamav_reply_end(data, len) : -1;
	if (end < 0 || end > CLAMAV_REPLY_MAX) {
		if (len > CLAMAV_REPLY_MAX)
			finish_failed(s, "reply longer than %d octets", CLAMAV_REPLY_MAX);
		return len > CLAMAV_REPLY_MAX;
	}
	handle_reply(s, data, (size_t)end);
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	take_reply(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct clamav_scan *s = arg;
	/* libevent may report the socket writable before it reports it connected */
	if (s->kind == SCAN_INSTREAM && s->connected && !s->end_sent)
		pump(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct clamav_scan *s = arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (what & BEV_EVENT_CONNECTED) {
		s->connected = true;
		bufferevent_write(bev, s->kind == SCAN_PING ? "zPING" : "zINSTREAM",
		                  s->kind == SCAN_PING ? 6 : 10);
		if (s->kind == SCAN_INSTREAM)
			pump(s);
		return;
	}
	/* clamd answers and closes at once when a stream passes its
	 * StreamMaxLength: our next write fails, but its reply says why */
	if (what & BEV_EVENT_ERROR) {
		struct evbuffer *in = bufferevent_get_input(bev);
		size_t have = evbuffer_get_length(in);
		if (have <= CLAMAV_REPLY_MAX)
			evbuffer_read(in, bufferevent_getfd(bev), (int)(CLAMAV_REPLY_MAX + 1 - have));
	}
	if (take_reply(s))
		return;
	if (what & BEV_EVENT_EOF)
		finish_failed(s, "closed the connection without a reply");
	else
		finish_failed(s, "%s: %s", s->connected ? "talking to it" : "connect",
		              evutil_socket_error_to_string(err));
}

static socklen_t clamd_sockaddr(const struct listen_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->path[0] != '\0') {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", a->path);
		return sizeof(*un);
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, a->host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)a->port);
		return sizeof(*in4);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, a->host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)a->port);
		return sizeof(*in6);
	}
	return 0;
}

/* Connects; a failure is reported from the loop like any other. */
static void scan_connect(struct clamav_scan *s)
{
	struct sockaddr_storage ss;
	socklen_t sslen = clamd_sockaddr(&s->cv->set.address, &ss);
	if (sslen == 0) {
		finish_failed(s, "no usable address");
		return;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		finish_failed(s, "socket: %s", strerror(errno));
		return;
	}
	s->bev = bufferevent_socket_new(s->cv->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		close(fd);
		finish_failed(s, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(s->bev, EV_WRITE, CLAMAV_OUT_MAX / 2, 0);
	bufferevent_setwatermark(s->bev, EV_READ, 0, CLAMAV_REPLY_MAX + 1);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss, (int)sslen) < 0)
		finish_failed(s, "connect: %s", strerror(errno));
}

static struct clamav_scan *scan_new(struct clamav *cv, enum scan_kind kind, clamav_done_fn *done,
                                    void *arg)
{
	struct clamav_scan *s = xcalloc(1, sizeof(*s));
	uint64_t ms = cv->set.timeout_ms;
	struct timeval tmo = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	s->cv = cv;
	s->kind = kind;
	s->done = done;
	s->arg = arg;
	s->timer = evtimer_new(cv->base, on_timer, s);
	if (s->timer == NULL)
		abort();        /* as xcalloc: out of memory */
	evtimer_add(s->timer, &tmo);
	return s;
}

struct clamav_scan *clamav_scan_start(struct clamav *cv, const struct clamav_source *src,
                                      clamav_done_fn *done, void *arg)
{
	struct clamav_scan *s = scan_new(cv, SCAN_INSTREAM, done, arg);
	s->src = *src;
	if (cv->set.max_size > 0 && src->size > cv->set.max_size) {
		s->res.status = CLAMAV_NOT_SCANNED;
		snprintf(s->res.log, sizeof(s->res.log),
		         "not scanned: %llu octets, over clamav.max_size (%llu)",
		         (unsigned long long)src->size, (unsigned long long)cv->set.max_size);
		finish(s);
		return s;
	}
	scan_connect(s);
	return s;
}

struct clamav_scan *clamav_ping_start(struct clamav *cv, clamav_done_fn *done, void *arg)
{
	struct clamav_scan *s = scan_new(cv, SCAN_PING, done, arg);
	scan_connect(s);
	return s;
}
