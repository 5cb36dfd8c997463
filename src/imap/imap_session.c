/* IMAP on the session engine: command framing through the reader, replies,
 * IDLE, and the protocol's answers to the engine's events. Timers, TLS, flow
 * control and closing are src/net/session.c's. */
#include "imap/imap_session.h"
#include "imap/imap_users.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "tls/tls.h"

/* ---- closing ------------------------------------------------------------------ */

void imap_close_with(struct imap_session *s, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	imap_untagged(s, "BYE %s", text);
	s->io = IMAP_IO_CLOSING;
	s->state = IMAP_LOGOUT;
	net_session_close(&s->ns);
}

/* ---- reading commands ---------------------------------------------------------- */

void imap_resume_input(struct imap_session *s)
{
	s->io = IMAP_IO_READ;
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	net_session_resume_input(&s->ns);
}

void imap_protocol_error(struct imap_session *s, const char *tag, const char *text)
{
	imap_tagged(s, tag, "BAD", "%s", text);
	if (net_session_error(&s->ns))
		imap_close_with(s, "Too many protocol errors");
}

static void run_command(struct imap_session *s)
{
	struct imap_raw_command raw;
	struct imap_command cmd;
	imap_reader_command(&s->reader, &raw);
	int rc = imap_command_parse(&cmd, &raw, 0);
	if (rc < 0 || cmd.error != NULL || cmd.tag == NULL || cmd.name == NULL) {
		imap_protocol_error(s, cmd.tag, cmd.error ? cmd.error : "Syntax error");
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
		/* RFC 9208 4.3: an APPEND over quota is refused before its literal
		 * is sent (a {N+} one is on its way already: checked at the end) */
		if (info->append && s->state != IMAP_NOT_AUTH &&
		    !imap_quota_allows(s, info->literal_size, 1)) {
			imap_reader_reject_literal(&s->reader);
			imap_tagged(s, info->tag, "NO", "[OVERQUOTA] Quota exceeded");
			return s->io == IMAP_IO_READ;
		}
		imap_write(s, "+ Ready for literal data\r\n", 26);
		return true;
	case IMAP_READ_LINE_TOO_LONG:
		imap_protocol_error(s, info->tag, info->msg ? info->msg : "Command line too long");
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
		imap_protocol_error(s, info->tag, info->msg ? info->msg : "Malformed command");
		if (info->fatal)
			imap_close_with(s, "Cannot resynchronise, closing connection");
		return s->io == IMAP_IO_READ;
	}
	return false;
}

static bool read_commands(struct imap_session *s)
{
	struct evbuffer *in;
	/* asked again after each command: COMPRESS puts a new buffer in front */
	while (s->io == IMAP_IO_READ && s->ns.bev != NULL &&
	       evbuffer_get_length(in = net_session_input(&s->ns)) > 0) {
		struct evbuffer_iovec v;
		size_t consumed = 0;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		enum imap_read_result r = imap_reader_feed(&s->reader, v.iov_base, v.iov_len, &consumed);
		evbuffer_drain(in, consumed);
		if (r != IMAP_READ_MORE)
			net_session_wait(&s->ns, NS_WAIT_COMMAND);
		else if (consumed > 0)
			net_session_partial_input(&s->ns);   /* the reader holds a line or literal begun */
		if (!handle_read_result(s, r))
			return false;
		if (r == IMAP_READ_MORE && consumed == 0)
			break;
	}
	return false;
}

char *imap_input_line(struct imap_session *s, size_t max, size_t *len, bool *too_long)
{
	struct evbuffer *in = net_session_input(&s->ns);
	char *line = evbuffer_readln(in, len, EVBUFFER_EOL_CRLF);
	*too_long = line == NULL && evbuffer_get_length(in) > max;
	return line;
}

/* IDLE (RFC 2177): only "DONE" is read until the client ends it. */
static bool read_idle_done(struct imap_session *s)
{
	size_t len;
	bool too_long;
	char *line = imap_input_line(s, 64, &len, &too_long);
	if (line == NULL) {
		if (too_long)
			imap_close_with(s, "Expected DONE");
		return false;
	}
	bool done = len == 4 && strncasecmp(line, "DONE", 4) == 0;
	free(line);
	if (!done) {
		imap_tagged(s, s->tag, "BAD", "Expected DONE");
	} else {
		imap_view_update(s, true);
		imap_tagged(s, s->tag, "OK", "IDLE terminated");
	}
	s->io = IMAP_IO_READ;
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	return true;
}

/* One step of input for the engine's loop: true when more may be read now. */
static bool imap_read(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	switch (s->io) {
	case IMAP_IO_READ: return read_commands(s);
	case IMAP_IO_AUTH: return s->running != NULL && s->running->input != NULL && s->running->input(s);
	case IMAP_IO_IDLE: return read_idle_done(s);
	default: return false;
	}
}

/* ---- IDLE ---------------------------------------------------------------------------- */

void imap_begin_idle(struct imap_session *s)
{
	s->io = IMAP_IO_IDLE;
	s->idle_since_ms = now_ms();
	imap_write(s, "+ idling\r\n", 10);
	/* the timer polls for news; the autologout is checked at each poll */
	net_session_tick(&s->ns, s->ns.cfg->imap.idle_poll_ms);
}

/* ---- the engine's events ---------------------------------------------------------------- */

void imap_begin_starttls(struct imap_session *s)
{
	imap_reader_reset(&s->reader);
	s->io = IMAP_IO_STARTTLS;
	net_session_starttls(&s->ns);
}

static void send_greeting(struct imap_session *s)
{
	char caps[512];
	imap_capability_text(s, caps, sizeof(caps));
	imap_untagged(s, "OK [CAPABILITY %s] %s postern IMAP server ready", caps, s->ns.cfg->hostname);
}

static void imap_open(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	/* before login nothing may send a big literal: APPEND needs a login */
	imap_reader_init(&s->reader, ns->cfg->imap.max_line, IMAP_PREAUTH_LITERAL_MAX,
	                 IMAP_PREAUTH_LITERAL_MAX);
}

static void imap_start(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	s->io = IMAP_IO_READ;
	send_greeting(s);
}

static void imap_tls_ready(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	s->io = IMAP_IO_READ;
	net_session_process_input(ns);
}

static const char *const bye_text[] = {
	[NS_EXPIRED_COMMAND] = "Autologout; idle for too long",
	[NS_EXPIRED_IDLE] = "Autologout; idle for too long",
	[NS_EXPIRED_DATA] = "Autologout; literal not sent in time",
	[NS_EXPIRED_LOGIN] = "Login timeout; log in sooner",
	[NS_EXPIRED_SESSION] = "Session time limit reached; please reconnect",
	[NS_EXPIRED_RATE] = "Autologout; too slow",
	[NS_TICK] = "",
};

static void imap_expired(struct net_session *ns, enum ns_expiry why)
{
	struct imap_session *s = (struct imap_session *)ns;
	if (why == NS_TICK) {
		/* IDLE: poll for news; RFC 9051 6.3.13: a client re-issues IDLE well
		 * before the autologout, so one idling this long is gone */
		if (now_ms() - s->idle_since_ms < ns->policy->idle_ms) {
			imap_view_update(s, true);
			net_session_tick(ns, ns->cfg->imap.idle_poll_ms);
			return;
		}
		why = NS_EXPIRED_IDLE;
	}
	if (s->io == IMAP_IO_WAIT || s->io == IMAP_IO_FETCH)
		return;
	log_event(LOG_INFO, "imap.timeout", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "limit", net_session_expiry_name(why), NULL);
	imap_close_with(s, "%s", bye_text[why]);
}

void imap_cmd_running(struct imap_session *s, const struct imap_cmd_hooks *h)
{
	s->running = h;
}

void imap_cmd_finished(struct imap_session *s, const struct imap_cmd_hooks *h)
{
	if (s->running == h)
		s->running = NULL;
}

static bool imap_output_drained(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	if (s->io != IMAP_IO_FETCH || s->running == NULL || s->running->resume == NULL)
		return false;
	s->running->resume(s);
	return true;
}

static void imap_drain(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	if (s->io == IMAP_IO_READ || s->io == IMAP_IO_IDLE || s->io == IMAP_IO_AUTH)
		imap_close_with(s, "Server shutting down");
}

static void imap_release(struct net_session *ns)
{
	struct imap_session *s = (struct imap_session *)ns;
	log_event(LOG_INFO, "imap.disconnect", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "user", s->user[0] ? s->user : NULL,
	          "s", "master", s->master[0] ? s->master : NULL, NULL);
	if (s->running != NULL)
		s->running->cancel(s);
	imap_view_close(s);
	if (s->ms != NULL) {
		imap_store_release(ns->worker, s->ms);
		imap_user_disconnect(s->user);
	}
	imap_reader_free(&s->reader);
}

const struct session_ops imap_session_ops = {
	.protocol = "imap",
	.size = sizeof(struct imap_session),
	.busy_reply = "* BYE Too many connections, try again later\r\n",
	.denied_reply = "* BYE Access denied\r\n",
	.open = imap_open,
	.start = imap_start,
	.read = imap_read,
	.tls_ready = imap_tls_ready,
	.expired = imap_expired,
	.output_drained = imap_output_drained,
	.drain = imap_drain,
	.release = imap_release,
};
