/* The IMAP session engine: connection lifecycle, command framing through the
 * reader, replies, STARTTLS and implicit TLS, IDLE, timeouts. */
#include "imap/imap_session.h"
#include "imap/imap_users.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "net/listener.h"
#include "tls/tls.h"
#include "tls/tls_bev.h"

#define IMAP_READ_HIGHWATER (256 * 1024)
/* RFC 9051 5.4: an authenticated client is logged out after at least 30 minutes */
#define IMAP_CLOSE_GRACE_MS 10000
#define IMAP_ERRORS_MAX 20

static void session_free(struct imap_session *s);
static void process_input(struct imap_session *s);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* ---- replies ------------------------------------------------------------------ */

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->bev != NULL)
		bufferevent_write(s->bev, data, len);
}

static void write_vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void write_vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	if (s->bev == NULL)
		return;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	evbuffer_add_printf(out, "%s", prefix);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_vline(s, "* ", fmt, ap);
	va_end(ap);
}

void imap_tagged(struct imap_session *s, const char *tag, const char *status, const char *fmt, ...)
{
	char prefix[IMAP_TAG_MAX + 16];
	va_list ap;
	snprintf(prefix, sizeof(prefix), "%s %s ", tag && *tag ? tag : "*", status);
	va_start(ap, fmt);
	write_vline(s, prefix, fmt, ap);
	va_end(ap);
}

void imap_write_string(struct imap_session *s, const char *str, size_t len)
{
	/* UTF-8 may be quoted once the client said it reads it (RFC 6855 3,
	 * RFC 9051 9 QUOTED-CHAR) */
	bool utf8_ok = (s->utf8 || s->rev2) && imap_utf8_valid(str, len);
	bool quotable = len < 1024;
	for (size_t i = 0; quotable && i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8_ok))
			quotable = false;
	}
	struct evbuffer *out = bufferevent_get_output(s->bev);
	if (!quotable) {
		evbuffer_add_printf(out, "{%zu}\r\n", len);
		evbuffer_add(out, str, len);
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			evbuffer_add(out, "\\", 1);
		evbuffer_add(out, str + i, 1);
	}
	evbuffer_add(out, "\"", 1);
}

size_t imap_output_pending(struct imap_session *s)
{
	return s->bev ? evbuffer_get_length(bufferevent_get_output(s->bev)) : 0;
}

static void arm_timer(struct imap_session *s, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(s->timer, &tv);
}

static void arm_idle_timer(struct imap_session *s)
{
	arm_timer(s, s->state == IMAP_NOT_AUTH ? s->cfg->timeouts.command_ms : s->cfg->imap.autologout_ms);
}

void imap_close_with(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_vline(s, "* BYE ", fmt, ap);
	va_end(ap);
	s->io = IMAP_IO_CLOSING;
	s->state = IMAP_LOGOUT;
	if (s->bev)
		bufferevent_disable(s->bev, EV_READ);
	arm_timer(s, IMAP_CLOSE_GRACE_MS);
}

/* ---- pending work on other threads ---------------------------------------------- */

void imap_op_begin(struct imap_session *s)
{
	s->pending_ops++;
}

bool imap_op_end(struct imap_session *s)
{
	s->pending_ops--;
	if (s->zombie) {
		if (s->pending_ops == 0)
			session_free(s);
		return false;
	}
	return true;
}

void imap_resume_input(struct imap_session *s)
{
	s->io = IMAP_IO_READ;
	bufferevent_enable(s->bev, EV_READ);
	arm_idle_timer(s);
	process_input(s);
}

/* ---- reading commands -------------------------------------------------------------- */

static void protocol_error(struct imap_session *s, const char *tag, const char *text)
{
	imap_tagged(s, tag, "BAD", "%s", text);
	if (++s->errors > IMAP_ERRORS_MAX)
		imap_close_with(s, "Too many protocol errors");
}

static void run_command(struct imap_session *s)
{
	struct imap_raw_command raw;
	struct imap_command cmd;
	imap_reader_command(&s->reader, &raw);
	int rc = imap_command_parse(&cmd, &raw, 0);
	if (rc < 0 || cmd.error != NULL || cmd.tag == NULL || cmd.name == NULL) {
		protocol_error(s, cmd.tag, cmd.error ? cmd.error : "Syntax error");
	} else {
		str_copy(s->tag, sizeof(s->tag), cmd.tag);
		imap_dispatch(s, &cmd);
	}
	imap_command_free(&cmd);
}

/* Returns true when more input may be processed right away. */
static bool handle_read_result(struct imap_session *s, enum imap_read_result r)
{
	const struct imap_read_info *info = imap_reader_info(&s->reader);
	switch (r) {
	case IMAP_READ_MORE:
		return true;
	case IMAP_READ_COMMAND:
		run_command(s);
		return s->io == IMAP_IO_READ;
	case IMAP_READ_CONTINUE:
		imap_write(s, "+ Ready for literal data\r\n", 26);
		return true;
	case IMAP_READ_LINE_TOO_LONG:
		protocol_error(s, info->tag, info->msg ? info->msg : "Command line too long");
		return s->io == IMAP_IO_READ;
	case IMAP_READ_LITERAL_TOO_BIG:
		if (info->append)
			imap_tagged(s, info->tag, "NO", "[TOOBIG] %s", info->msg ? info->msg : "Message too big");
		else
			imap_tagged(s, info->tag, "BAD", "[TOOBIG] %s", info->msg ? info->msg : "Literal too big");
		if (info->fatal) /* RFC 7888 4: the client sends the literal anyway */
			imap_close_with(s, "Literal too big, closing connection");
		return s->io == IMAP_IO_READ;
	case IMAP_READ_BAD:
		protocol_error(s, info->tag, info->msg ? info->msg : "Malformed command");
		if (info->fatal)
			imap_close_with(s, "Cannot resynchronise, closing connection");
		return s->io == IMAP_IO_READ;
	}
	return false;
}

static bool read_commands(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	while (evbuffer_get_length(in) > 0 && s->io == IMAP_IO_READ) {
		struct evbuffer_iovec v;
		size_t consumed = 0;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		enum imap_read_result r = imap_reader_feed(&s->reader, v.iov_base, v.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (r != IMAP_READ_MORE)
			arm_idle_timer(s);
		if (!handle_read_result(s, r))
			return false;
		if (r == IMAP_READ_MORE && consumed == 0)
			break;
	}
	return false;
}

/* IDLE (RFC 2177): only "DONE" is read until the client ends it. */
static bool read_idle_done(struct imap_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > 64)
			imap_close_with(s, "Expected DONE");
		return false;
	}
	bool done = len == 4 && strncasecmp(line, "DONE", 4) == 0;
	free(line);
	evtimer_del(s->timer);
	if (!done) {
		imap_tagged(s, s->tag, "BAD", "Expected DONE");
	} else {
		imap_view_update(s, true);
		imap_tagged(s, s->tag, "OK", "IDLE terminated");
	}
	s->io = IMAP_IO_READ;
	arm_idle_timer(s);
	return true;
}

static void process_input(struct imap_session *s)
{
	for (;;) {
		if (imap_output_pending(s) > s->cfg->imap.session_memory / 4 + 65536) {
			/* a client that pipelines without reading: pause until it does */
			s->output_blocked = true;
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		bool more;
		switch (s->io) {
		case IMAP_IO_READ: more = read_commands(s); break;
		case IMAP_IO_AUTH: more = imap_auth_read_line(s); break;
		case IMAP_IO_IDLE: more = read_idle_done(s); break;
		default: more = false; break;
		}
		if (!more)
			return;
	}
}

/* ---- IDLE ---------------------------------------------------------------------------- */

void imap_begin_idle(struct imap_session *s)
{
	s->io = IMAP_IO_IDLE;
	s->idle_since_ms = now_ms();
	imap_write(s, "+ idling\r\n", 10);
	/* the timer polls for news; the autologout is checked at each poll */
	arm_timer(s, s->cfg->imap.idle_poll_ms);
}

/* ---- timers ---------------------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)fd;
	(void)what;
	switch (s->io) {
	case IMAP_IO_IDLE:
		if (now_ms() - s->idle_since_ms >= s->cfg->imap.autologout_ms)
			break;   /* RFC 9051 6.3.13: a client re-issues IDLE well before */
		imap_view_update(s, true);
		arm_timer(s, s->cfg->imap.idle_poll_ms);
		return;
	case IMAP_IO_WAIT:
	case IMAP_IO_FETCH:
		return;
	case IMAP_IO_CLOSING:
	case IMAP_IO_STARTTLS:
	case IMAP_IO_HANDSHAKE:
		session_free(s);
		return;
	default:
		break;
	}
	log_event(LOG_INFO, "imap.timeout", "s", "session", s->id, "s", "ip", s->conn.ip, NULL);
	imap_close_with(s, "Autologout; idle for too long");
}

/* ---- TLS ------------------------------------------------------------------------------- */

void imap_begin_starttls(struct imap_session *s)
{
	size_t injected = tls_bev_starttls_prepare(s->bev);
	if (injected > 0)
		log_event(LOG_WARN, "imap.starttls_injection", "s", "session", s->id,
		          "s", "ip", s->conn.ip, "i", "discarded", (long long)injected, NULL);
	imap_reader_reset(&s->reader);
	s->io = IMAP_IO_STARTTLS;
}

static void start_handshake(struct imap_session *s)
{
	struct bufferevent *tls = tls_bev_starttls(worker_base(s->worker), s->bev);
	if (tls == NULL) {
		session_free(s);
		return;
	}
	s->bev = tls;
	s->io = IMAP_IO_HANDSHAKE;
	tls_bev_start(tls, on_read, on_write, on_event, s, IMAP_READ_HIGHWATER);
	arm_timer(s, s->cfg->timeouts.command_ms);
}

static void send_greeting(struct imap_session *s)
{
	char caps[512];
	imap_capability_text(s, caps, sizeof(caps));
	imap_untagged(s, "OK [CAPABILITY %s] %s postern IMAP server ready", caps, s->cfg->hostname);
}

static void handshake_done(struct imap_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	char desc[160];
	s->tls = true;
	tls_describe(ssl, desc, sizeof(desc));
	log_event(LOG_INFO, "tls.established", "s", "session", s->id, "s", "ip", s->conn.ip,
	          "s", "tls", desc, "s", "protocol", "imap", NULL);
	s->io = IMAP_IO_READ;
	arm_idle_timer(s);
	if (s->implicit_tls)
		send_greeting(s);
}

/* ---- bufferevent callbacks ------------------------------------------------------------ */

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_input(arg);
}

static void close_soon(void *arg)
{
	arm_timer(arg, 0);   /* free from the loop, not from a buffer callback */
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (s->io == IMAP_IO_CLOSING) {
		/* over STARTTLS the ciphertext may still wait below the filter */
		s->flush.drained = close_soon;
		s->flush.arg = s;
		if (!tls_bev_flush_pending(bev, &s->flush))
			session_free(s);
	} else if (s->io == IMAP_IO_STARTTLS) {
		start_handshake(s);
	} else if (s->io == IMAP_IO_FETCH && s->fetch != NULL) {
		imap_fetch_continue(s);
	} else if (s->output_blocked) {
		s->output_blocked = false;
		bufferevent_enable(s->bev, EV_READ);
		process_input(s);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->io == IMAP_IO_HANDSHAKE)
			handshake_done(s);
		return;
	}
	if (s->io == IMAP_IO_HANDSHAKE)
		tls_bev_log_failure(s->bev, "imap", s->id, s->conn.ip);
	session_free(s);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void session_free(struct imap_session *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->pending_ops > 0) {
		s->zombie = true;   /* a password check still refers to us */
		return;
	}
	log_event(LOG_INFO, "imap.disconnect", "s", "session", s->id, "s", "ip", s->conn.ip,
	          "s", "user", s->user[0] ? s->user : NULL, NULL);
	imap_fetch_job_free(s);
	imap_search_job_free(s);
	imap_auth_cleanup(s);
	imap_view_close(s);
	if (s->ms != NULL) {
		imap_store_release(s->worker, s->ms);
		imap_user_disconnect(s->user);
	}
	imap_reader_free(&s->reader);
	if (s->timer)
		event_free(s->timer);
	conn_unregister(&s->conn);
	free(s);
}

static void imap_drain(struct conn *c)
{
	struct imap_session *s = (struct imap_session *)c;
	if (s->io == IMAP_IO_READ || s->io == IMAP_IO_IDLE || s->io == IMAP_IO_AUTH)
		imap_close_with(s, "Server shutting down");
}

static void imap_force_close(struct conn *c)
{
	session_free((struct imap_session *)c);
}

static void session_start(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                          const char *ip, bool implicit_tls)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = worker_config(w);
	s->worker = w;
	s->cfg = cfg;
	s->implicit_tls = implicit_tls;
	random_id(s->id, 12);
	conn_register(w, &s->conn, ip, sockaddr_port(peer));
	s->conn.drain = imap_drain;
	s->conn.force_close = imap_force_close;
	/* before login nothing may send a big literal: APPEND needs a login */
	imap_reader_init(&s->reader, cfg->imap.max_line, IMAP_PREAUTH_LITERAL_MAX,
	                 IMAP_PREAUTH_LITERAL_MAX);
	s->timer = evtimer_new(worker_base(w), on_timer, s);
	s->bev = tls_bev_session(worker_base(w), fd, implicit_tls, cfg->timeouts.data_ms);
	if (s->bev == NULL || s->timer == NULL) {
		session_free(s);
		return;
	}
	tls_bev_start(s->bev, on_read, on_write, on_event, s, IMAP_READ_HIGHWATER);
	log_event(LOG_DEBUG, "imap.connect", "s", "session", s->id, "s", "ip", ip, NULL);
	if (implicit_tls) {
		s->io = IMAP_IO_HANDSHAKE;
		arm_timer(s, cfg->timeouts.command_ms);
		return;
	}
	s->io = IMAP_IO_READ;
	arm_idle_timer(s);
	send_greeting(s);
}

static void imap_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                        const char *ip)
{
	session_start(w, fd, peer, ip, false);
}

static void imaps_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                         const char *ip)
{
	session_start(w, fd, peer, ip, true);
}

const struct service imap_service = {
	.name = "imap",
	.accept = imap_accept,
	.busy_reply = "* BYE Too many connections, try again later\r\n",
};

const struct service imaps_service = {
	.name = "imaps",
	.accept = imaps_accept,
	.busy_reply = "",
};
