/* POP3 on the session engine: command framing, closing, and the protocol's
 * answers to the engine's events. Timers, TLS, flow control and caps are
 * src/net/session.c's. */
#include "pop3/pop3_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "pop3/pop3_maildrop.h"

/* ---- closing --------------------------------------------------------------------- */

void pop3_close_with(struct pop3_session *s, const char *code, const char *text)
{
	if (code != NULL && strcmp(code, "+OK") == 0)
		pop3_ok(s, "%s", text);
	else
		pop3_err(s, code, "%s", text);
	s->io = POP3_IO_CLOSING;
	net_session_close(&s->ns);
}

void pop3_protocol_error(struct pop3_session *s, const char *text)
{
	if (net_session_error(&s->ns)) {
		pop3_close_with(s, NULL, "Too many errors, closing connection");
		return;
	}
	pop3_err(s, NULL, "%s", text);
}

/* ---- reading commands ------------------------------------------------------------ */

void pop3_resume_input(struct pop3_session *s)
{
	/* the server is stopping: the work that kept the session open is done */
	if (s->ns.draining) {
		pop3_close_with(s, "SYS/TEMP", "Server shutting down, try again later");
		return;
	}
	s->io = POP3_IO_READ;
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	net_session_resume_input(&s->ns);
}

void pop3_wait(struct pop3_session *s)
{
	s->io = POP3_IO_WAIT;
	net_session_pause_input(&s->ns);
	net_session_wait(&s->ns, NS_WAIT_NOTHING);
}

char *pop3_input_line(struct pop3_session *s, size_t max, size_t *len, bool *too_long)
{
	struct evbuffer *in = net_session_input(&s->ns);
	char *line = evbuffer_readln(in, len, EVBUFFER_EOL_CRLF);
	*too_long = line == NULL && evbuffer_get_length(in) > max;
	return line;
}

/* Takes the next complete line into line[] (without its line end): 1, or 0
 * when none is complete yet, or -1 when it was too long (and is dropped up
 * to its end, RFC 2449 4). */
static int take_line(struct pop3_session *s, char line[POP3_LINE_MAX + 1], size_t *len)
{
	struct evbuffer *in = net_session_input(&s->ns);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) >= POP3_LINE_MAX) {
			evbuffer_drain(in, evbuffer_get_length(in));
			s->discarding_line = true;
		}
		return 0;
	}
	size_t n = (size_t)eol.pos + 1;
	if (s->discarding_line || n > POP3_LINE_MAX) {
		evbuffer_drain(in, n);
		s->discarding_line = false;
		return -1;
	}
	evbuffer_remove(in, line, n);
	n--;                                    /* LF */
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*len = n;
	return 1;
}

/* One command line: true when another may be read right away. */
static bool read_command(struct pop3_session *s)
{
	char line[POP3_LINE_MAX + 1];
	size_t len = 0;
	struct pop3_cmdline cmd;
	int got = take_line(s, line, &len);
	if (got == 0)
		return false;
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	if (got < 0) {
		pop3_protocol_error(s, "Line too long");
		return s->io == POP3_IO_READ;
	}
	switch (pop3_parse_line(line, len, &cmd)) {
	case POP3_PARSE_OK:
		pop3_dispatch(s, &cmd);
		break;
	case POP3_PARSE_EMPTY:
		pop3_protocol_error(s, "Empty command");
		break;
	case POP3_PARSE_BAD:
		pop3_protocol_error(s, "Invalid command");
		break;
	}
	OPENSSL_cleanse(line, sizeof(line));   /* a PASS line held a password */
	return s->io == POP3_IO_READ;
}

/* One step of input for the engine's loop: true when more may be read now. */
static bool pop3_read(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	switch (s->io) {
	case POP3_IO_READ: return read_command(s);
	case POP3_IO_AUTH: return s->running != NULL && s->running->input != NULL && s->running->input(s);
	default: return false;
	}
}

/* ---- long commands ------------------------------------------------------------------ */

void pop3_cmd_running(struct pop3_session *s, const struct pop3_cmd_hooks *h, void *job)
{
	s->running = h;
	s->job = job;
}

void pop3_cmd_finished(struct pop3_session *s, const struct pop3_cmd_hooks *h)
{
	if (s->running == h) {
		s->running = NULL;
		s->job = NULL;
	}
}

static bool pop3_output_drained(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	if (s->io != POP3_IO_STREAM || s->running == NULL || s->running->resume == NULL)
		return false;
	s->running->resume(s);
	return true;
}

/* ---- the engine's events -------------------------------------------------------------- */

void pop3_begin_stls(struct pop3_session *s)
{
	s->io = POP3_IO_STLS;
	net_session_starttls(&s->ns);
}

static void pop3_start(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	s->state = POP3_AUTHORIZATION;
	s->io = POP3_IO_READ;
	/* no APOP: no timestamp in the greeting (RFC 1939 7) */
	pop3_ok(s, "%s postern POP3 server ready", ns->cfg->hostname);
}

static void pop3_tls_ready(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	/* RFC 2595 4: what the client said in clear text is forgotten */
	s->user_given = false;
	memset(s->user, 0, sizeof(s->user));
	s->utf8 = false;
	s->io = POP3_IO_READ;
	net_session_process_input(ns);
}

static const char *const expiry_text[] = {
	[NS_EXPIRED_COMMAND] = "Autologout; idle for too long",
	[NS_EXPIRED_IDLE] = "Autologout; idle for too long",
	[NS_EXPIRED_DATA] = "Autologout; idle for too long",
	[NS_EXPIRED_LOGIN] = "Login timeout; log in sooner",
	[NS_EXPIRED_SESSION] = "Session time limit reached; please reconnect",
	[NS_EXPIRED_RATE] = "Autologout; too slow",
	[NS_TICK] = "",
};

/* RFC 1939 3: the autologout ends the session without UPDATE: marked
 * messages stay. */
static void pop3_expired(struct net_session *ns, enum ns_expiry why)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	if (why == NS_TICK || s->io == POP3_IO_WAIT)
		return;
	log_event(LOG_INFO, "pop3.timeout", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "limit", net_session_expiry_name(why), NULL);
	if (s->running != NULL && s->running->cancel != NULL)
		s->running->cancel(s);
	pop3_close_with(s, NULL, expiry_text[why]);
}

static void pop3_drain(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	/* a RETR or an UPDATE finishes first; QUIT's UPDATE is not skipped */
	if (s->io == POP3_IO_READ || s->io == POP3_IO_AUTH)
		pop3_close_with(s, "SYS/TEMP", "Server shutting down, try again later");
}

static void pop3_release(struct net_session *ns)
{
	struct pop3_session *s = (struct pop3_session *)ns;
	log_event(LOG_INFO, "pop3.disconnect", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "user", s->state != POP3_AUTHORIZATION ? s->user : NULL,
	          "s", "master", s->state != POP3_AUTHORIZATION && s->master[0] ? s->master : NULL,
	          "i", "retrieved", (long long)s->retrieved,
	          "i", "retrieved_octets", (long long)s->retrieved_octets,
	          "s", "reason", ns->end_reason, NULL);
	if (s->running != NULL && s->running->cancel != NULL)
		s->running->cancel(s);
	/* whatever was marked stays: only QUIT deletes (RFC 1939 6) */
	pop3_maildrop_close(s->md);
	s->md = NULL;
	sasl_server_free(s->sasl);
	s->sasl = NULL;
}

const struct session_ops pop3_session_ops = {
	.protocol = "pop3",
	.size = sizeof(struct pop3_session),
	.busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
	.start = pop3_start,
	.read = pop3_read,
	.tls_ready = pop3_tls_ready,
	.expired = pop3_expired,
	.output_drained = pop3_output_drained,
	.drain = pop3_drain,
	.release = pop3_release,
};
