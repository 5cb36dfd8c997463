/* The SMTP session engine: connection lifecycle, input framing (commands,
 * DATA, BDAT), STARTTLS, timeouts, and the hand-off to durable delivery. */
#include <errno.h>
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
#include "smtp/smtp_session.h"
#include "store/msgbuf.h"
#include "tls/tls.h"
#include "tls/tls_bev.h"

/* Input is not read past this while a reply is pending (flow control). */
#define SMTP_READ_HIGHWATER (256 * 1024)
#define SMTP_CHUNK 16384
/* After the last reply, how long a peer that does not read may hold us. */
#define SMTP_CLOSE_GRACE_MS 10000
/* Replies queued for a client that does not read them: stop reading past this. */
#define SMTP_OUTPUT_MAX (64 * 1024)

static void process_input(struct smtp_session *s);
static void session_free(struct smtp_session *s);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* ---- timers ---------------------------------------------------------------- */

void smtp_arm_timer(struct smtp_session *s, uint64_t ms)
{
	uint64_t elapsed = now_ms() - s->started_ms;
	uint64_t left = elapsed < s->cfg->timeouts.session_ms ? s->cfg->timeouts.session_ms - elapsed : 0;
	struct timeval tv;
	/* a slow trickle cannot outlive the session deadline */
	if (ms > left)
		ms = left;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)fd;
	(void)what;
	if (s->state == SMTP_S_COMMITTING || s->state == SMTP_S_AUTH_WAIT)
		return;
	if (s->state == SMTP_S_CLOSING || s->state == SMTP_S_HANDSHAKE || s->state == SMTP_S_STARTTLS) {
		session_free(s);
		return;
	}
	log_event(LOG_INFO, "smtp.timeout", "s", "session", s->id, "s", "ip", s->conn.ip,
	          "s", "phase", s->state == SMTP_S_COMMAND ? "command" : "data", NULL);
	if (s->in_mail)
		smtp_log_transaction(s, "timeout", s->msg_octets);
	smtp_close_with(s, 421, "4.4.2", "Timeout exceeded, closing connection");
	smtp_arm_timer(s, SMTP_CLOSE_GRACE_MS);
}

/* ---- message bytes ------------------------------------------------------ */

static void take_message_bytes(struct smtp_session *s, const char *buf, size_t len)
{
	s->msg_octets += len;
	if (s->msg_too_big || s->msg_io_error || s->msg == NULL)
		return;
	if (s->msg_octets > s->cfg->limits.message_size) {
		/* keep reading to the end, but store nothing more */
		s->msg_too_big = true;
		msgbuf_free(s->msg);
		s->msg = NULL;
		return;
	}
	if (msgbuf_append(s->msg, buf, len) < 0) {
		log_event(LOG_ERROR, "smtp.spool_error", "s", "session", s->id,
		          "s", "error", strerror(errno), NULL);
		s->msg_io_error = true;
	}
}

static void new_message_buffer(struct smtp_session *s)
{
	char spool[4096];
	if (s->msg != NULL)
		return;
	snprintf(spool, sizeof(spool), "%s/spool", s->cfg->data_dir);
	s->msg = msgbuf_new(spool);
	s->msg_octets = 0;
	s->msg_too_big = s->msg_io_error = false;
}

void smtp_begin_data(struct smtp_session *s)
{
	new_message_buffer(s);
	smtp_data_init(&s->data, SMTP_TEXTLINE_MAX);
	s->state = SMTP_S_DATA;
	smtp_arm_timer(s, s->cfg->timeouts.data_ms);
}

void smtp_begin_bdat(struct smtp_session *s, uint64_t size, bool last)
{
	if (s->in_mail && s->nrcpts > 0) {
		new_message_buffer(s);
		s->bdat_used = true;
	}
	s->bdat_left = size;
	s->bdat_last = last;
	s->bdat_code = 0;
	s->state = SMTP_S_BDAT;
	smtp_arm_timer(s, s->cfg->timeouts.data_ms);
}

/* ---- committing ------------------------------------------------------------ */

static void reject_message(struct smtp_session *s, int code, const char *enh, const char *text,
                           const char *result)
{
	smtp_log_transaction(s, result, s->msg_octets);
	smtp_transaction_reset(s);
	s->state = SMTP_S_COMMAND;
	smtp_error(s, code, enh, "%s", text);
}

void smtp_op_begin(struct smtp_session *s)
{
	s->pending_ops++;
}

bool smtp_op_end(struct smtp_session *s)
{
	s->pending_ops--;
	if (s->zombie) {
		if (s->pending_ops == 0)
			session_free(s);
		return false;
	}
	return true;
}

/* Back to reading commands after an asynchronous step, including any that
 * were pipelined meanwhile. */
void smtp_resume_input(struct smtp_session *s)
{
	bufferevent_enable(s->bev, EV_READ);
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
	process_input(s);
}

/* Received: fields in the message's header block (the first 1 MiB of it). */
int smtp_count_received(struct smtp_session *s)
{
	enum { SCAN = 1024 * 1024 };
	size_t want = msgbuf_size(s->msg) < SCAN ? (size_t)msgbuf_size(s->msg) : SCAN;
	char *buf = xmalloc(want + 1);
	ssize_t n = msgbuf_read_at(s->msg, 0, buf, want);
	int count = 0;
	bool line_start = true;
	for (ssize_t i = 0; i < n; i++) {
		if (line_start) {
			if (buf[i] == '\n')
				break;   /* the empty line: end of the header */
			if (n - i >= 9 && strncasecmp(buf + i, "Received:", 9) == 0)
				count++;
		}
		line_start = buf[i] == '\n';
	}
	free(buf);
	return count;
}

static void on_commit_done(struct commit_job *job, void *arg)
{
	struct smtp_session *s = arg;
	if (!smtp_op_end(s))
		return;
	if (job->result == 0) {
		smtp_log_transaction(s, "accepted", s->msg_octets);
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", s->txid);
	} else {
		char result[128];
		snprintf(result, sizeof(result), "failed: %s", strerror(job->result));
		smtp_log_transaction(s, result, s->msg_octets);
		if (job->result == ENOSPC || job->result == EDQUOT)
			smtp_reply(s, 452, "4.3.1", "Insufficient system storage");
		else
			smtp_reply(s, 451, "4.3.0", "Local error in processing");
	}
	s->transactions++;
	smtp_transaction_reset(s);
	s->state = SMTP_S_COMMAND;
	if (s->draining) {
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
		smtp_arm_timer(s, SMTP_CLOSE_GRACE_MS);
		return;
	}
	smtp_resume_input(s); /* pipelined commands may already be waiting */
}

void smtp_finish_message(struct smtp_session *s, bool via_data)
{
	if (s->msg_too_big) {
		reject_message(s, 552, "5.3.4", "Message size exceeds fixed maximum message size",
		               "rejected: too big");
		return;
	}
	if (via_data && s->data.line_too_long) {
		reject_message(s, 500, "5.5.2", "Line too long (RFC 5321 4.5.3.1.6: 1000 octets)",
		               "rejected: line too long");
		return;
	}
	if (via_data && (s->data.bare_lf || s->data.bare_cr)) {
		/* a bare LF or CR is how SMTP smuggling starts: refuse, do not repair */
		reject_message(s, 550, "5.5.2", "Bare CR or LF in message; use CRLF (RFC 5321 2.3.8)",
		               "rejected: bare CR/LF");
		return;
	}
	if (s->data.nul) {
		/* RFC 2045 2.7, 2.8: no NUL without BINARYMIME; a next hop may cut the message at one */
		reject_message(s, 550, "5.6.0", "NUL octet in message data refused", "rejected: NUL octet");
		return;
	}
	if (s->msg_io_error || s->msg == NULL || msgbuf_finish(s->msg) < 0) {
		smtp_log_transaction(s, "failed: spool error", s->msg_octets);
		smtp_transaction_reset(s);
		s->state = SMTP_S_COMMAND;
		smtp_reply(s, 451, "4.3.0", "Local error in processing");
		return;
	}
	if (smtp_count_received(s) >= s->cfg->limits.hops) {
		/* RFC 5321 6.3: counting Received: fields catches mail loops */
		reject_message(s, 554, "5.4.6", "Too many hops: mail loop detected", "rejected: mail loop");
		return;
	}
	if (!smtp_check_from_header(s)) {
		reject_message(s, 553, "5.7.1", "From: header address not owned by the authenticated user",
		               "rejected: From not owned");
		return;
	}
	size_t hlen;
	s->header = smtp_trace_header(s, &hlen);
	memset(&s->job, 0, sizeof(s->job));
	s->job.header = s->header;
	s->job.header_len = hlen;
	s->job.body = s->msg;
	s->job.sender = s->from;
	s->job.maildirs = s->maildirs;
	s->job.nmaildirs = s->nmaildirs;
	s->job.remotes = s->remotes;
	s->job.nremotes = s->nremotes;
	s->job.smtputf8 = s->smtputf8;
	s->job.base = worker_base(s->worker);
	s->job.done = on_commit_done;
	s->job.arg = s;
	s->state = SMTP_S_COMMITTING;
	bufferevent_disable(s->bev, EV_READ);
	evtimer_del(s->timer);
	smtp_op_begin(s);
	committer_submit(worker_committer(s->worker), &s->job);
}

/* ---- input framing ------------------------------------------------------------ */

/* Returns true when another command may be read right away. */
static bool read_command(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	char line[SMTP_CMDLINE_MAX + 1];
	struct smtp_cmd cmd;

	if (eol.pos < 0) {
		size_t len = evbuffer_get_length(in);
		if (len > SMTP_CMDLINE_MAX) {
			/* RFC 5321 4.5.3.1.4: drop the rest of an overlong line, then say so */
			evbuffer_drain(in, len);
			s->discarding_line = true;
		}
		return false;
	}
	size_t len = (size_t)eol.pos + 1;
	if (s->discarding_line || len > SMTP_CMDLINE_MAX) {
		evbuffer_drain(in, len);
		s->discarding_line = false;
		smtp_error(s, 500, "5.5.2", "Line too long");
		return true;
	}
	evbuffer_remove(in, line, len);
	len--;                                  /* LF */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (len > 0 && line[len - 1] == ' ')
		len--;  /* some clients send "DATA " */
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
	if (smtp_parse_command(line, len, &cmd) != SMTP_PARSE_OK) {
		smtp_error(s, 500, "5.5.2", "Invalid character in command");
		return true;
	}
	smtp_dispatch(s, &cmd);
	if (s->draining && s->state == SMTP_S_COMMAND && !s->in_mail) {
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
		smtp_arm_timer(s, SMTP_CLOSE_GRACE_MS);
	}
	return true;
}

static bool read_data(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	char out[SMTP_CHUNK + 1];
	while (evbuffer_get_length(in) > 0 && !smtp_data_done(&s->data)) {
		struct evbuffer_iovec v;
		size_t outlen = 0;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t n = v.iov_len < SMTP_CHUNK ? v.iov_len : SMTP_CHUNK;
		size_t used = smtp_data_feed(&s->data, v.iov_base, n, out, &outlen);
		take_message_bytes(s, out, outlen);
		evbuffer_drain(in, used);
	}
	if (!smtp_data_done(&s->data)) {
		smtp_arm_timer(s, s->cfg->timeouts.data_ms);
		return false;
	}
	smtp_finish_message(s, true);
	return true;
}

static void finish_bdat_chunk(struct smtp_session *s, uint64_t chunk)
{
	s->state = SMTP_S_COMMAND;
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
	if (s->bdat_code != 0) {
		if (s->in_mail)
			smtp_transaction_reset(s);
		smtp_error(s, s->bdat_code, s->bdat_enh, "%s", s->bdat_text);
	} else if (s->msg_too_big) {
		smtp_finish_message(s, false);
	} else if (s->bdat_last) {
		smtp_finish_message(s, false);
	} else {
		smtp_reply(s, 250, "2.0.0", "%llu octets received", (unsigned long long)chunk);
	}
}

static bool read_bdat(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t n = v.iov_len < s->bdat_left ? v.iov_len : (size_t)s->bdat_left;
		if (s->bdat_code == 0)
			take_message_bytes(s, v.iov_base, n);
		if (s->bdat_code == 0 && memchr(v.iov_base, '\0', n) != NULL)
			s->data.nul = true;   /* refused in smtp_finish_message() */
		evbuffer_drain(in, n);
		s->bdat_left -= n;
	}
	if (s->bdat_left > 0) {
		smtp_arm_timer(s, s->cfg->timeouts.data_ms);
		return false;
	}
	finish_bdat_chunk(s, s->msg_octets);
	return true;
}

/* States in which input is read and acted on. */
static bool reading_state(enum smtp_state st)
{
	return st == SMTP_S_COMMAND || st == SMTP_S_DATA || st == SMTP_S_BDAT || st == SMTP_S_AUTH;
}

static void process_input(struct smtp_session *s)
{
	while (reading_state(s->state)) {
		/* a client that pipelines without reading our replies is paused
		 * until it does, instead of making us buffer without bound */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SMTP_OUTPUT_MAX) {
			s->output_blocked = true;
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		bool progress;
		switch (s->state) {
		case SMTP_S_COMMAND: progress = read_command(s); break;
		case SMTP_S_DATA: progress = read_data(s); break;
		case SMTP_S_BDAT: progress = read_bdat(s); break;
		case SMTP_S_AUTH: progress = smtp_auth_read_line(s); break;
		default: progress = false; break;
		}
		if (!progress)
			return;
	}
}

/* ---- STARTTLS -------------------------------------------------------------------- */

void smtp_begin_starttls(struct smtp_session *s)
{
	size_t injected = tls_bev_starttls_prepare(s->bev);
	if (injected > 0)
		log_event(LOG_WARN, "smtp.starttls_injection", "s", "session", s->id, "s", "ip", s->conn.ip,
		          "i", "discarded", (long long)injected, NULL);
	s->state = SMTP_S_STARTTLS;
}

static void start_handshake(struct smtp_session *s)
{
	struct bufferevent *tls = tls_bev_starttls(worker_base(s->worker), s->bev);
	if (tls == NULL) {
		session_free(s);
		return;
	}
	s->bev = tls;
	s->state = SMTP_S_HANDSHAKE;
	tls_bev_start(tls, on_read, on_write, on_event, s, SMTP_READ_HIGHWATER);
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
}

static void handshake_done(struct smtp_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	s->tls = true;
	tls_describe(ssl, s->tls_desc, sizeof(s->tls_desc));
	snprintf(s->tls_version, sizeof(s->tls_version), "%s", tls_version_name(ssl));
	/* RFC 3207 4.2: forget everything learnt before the handshake, the
	 * authentication too (it may have been a man in the middle's) */
	s->helo_seen = false;
	s->esmtp = false;
	s->helo[0] = '\0';
	s->authenticated = false;
	s->any_sender = false;
	s->auth_user[0] = '\0';
	smtp_transaction_reset(s);
	s->state = SMTP_S_COMMAND;
	log_event(LOG_INFO, "tls.established", "s", "session", s->id, "s", "ip", s->conn.ip,
	          "s", "tls", s->tls_desc, NULL);
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
	if (s->mode == SMTP_MODE_SUBMISSIONS)
		smtp_reply(s, 220, NULL, "%s ESMTP postern", s->cfg->hostname);
}

/* ---- bufferevent callbacks ------------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process_input(arg);
}

static void close_soon(void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct smtp_session *s = arg;
	evtimer_add(s->timer, &now);   /* free from the loop, not from a buffer callback */
}

/* The last reply has left our buffer; over STARTTLS the encrypted bytes may
 * still sit below the TLS filter: wait for those. */
static void close_when_flushed(struct smtp_session *s)
{
	s->flush.drained = close_soon;
	s->flush.arg = s;
	if (!tls_bev_flush_pending(s->bev, &s->flush))
		session_free(s);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (s->state == SMTP_S_CLOSING) {
		close_when_flushed(s);
	} else if (s->state == SMTP_S_STARTTLS) {
		start_handshake(s);
	} else if (s->output_blocked) {
		s->output_blocked = false;
		bufferevent_enable(s->bev, EV_READ);
		process_input(s);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->state == SMTP_S_HANDSHAKE)
			handshake_done(s);
		return;
	}
	if (s->state == SMTP_S_HANDSHAKE)
		tls_bev_log_failure(s->bev, "smtp", s->id, s->conn.ip);
	else if (s->in_mail && s->state != SMTP_S_COMMITTING)
		smtp_log_transaction(s, (what & BEV_EVENT_TIMEOUT) ? "timeout" : "disconnected",
		                     s->msg_octets);
	session_free(s);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void session_free(struct smtp_session *s)
{
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (s->pending_ops > 0) {
		/* another thread still uses our buffers: finish when it calls back */
		s->zombie = true;
		return;
	}
	log_event(LOG_INFO, "smtp.disconnect", "s", "session", s->id, "s", "ip", s->conn.ip,
	          "i", "transactions", (long long)s->transactions, "i", "errors", (long long)s->errors,
	          "i", "ms", (long long)(now_ms() - s->started_ms), NULL);
	smtp_transaction_reset(s);
	smtp_auth_cleanup(s);
	if (s->timer)
		event_free(s->timer);
	conn_unregister(&s->conn);
	free(s);
}

static void smtp_drain(struct conn *c)
{
	struct smtp_session *s = (struct smtp_session *)c;
	s->draining = true;
	if ((s->state == SMTP_S_COMMAND && !s->in_mail) || s->state == SMTP_S_AUTH) {
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
		smtp_arm_timer(s, SMTP_CLOSE_GRACE_MS);
	} else if (s->state == SMTP_S_STARTTLS || s->state == SMTP_S_HANDSHAKE) {
		session_free(s);
	} else if (s->state == SMTP_S_AUTH_WAIT && s->pending_ops == 0) {
		/* only the failure delay is running: no reason to keep the client */
		if (s->auth_delay)
			evtimer_del(s->auth_delay);
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
		smtp_arm_timer(s, SMTP_CLOSE_GRACE_MS);
	}
}

static void smtp_force_close(struct conn *c)
{
	struct smtp_session *s = (struct smtp_session *)c;
	if (s->in_mail && s->state != SMTP_S_COMMITTING)
		smtp_log_transaction(s, "aborted: shutdown", s->msg_octets);
	session_free(s); /* a committing session finishes when its commit does */
}

static void session_start(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                          const char *ip, enum smtp_mode mode)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	const struct config *cfg = worker_config(w);

	s->worker = w;
	s->cfg = cfg;
	s->mode = mode;
	s->started_ms = now_ms();
	random_id(s->id, 12);
	conn_register(w, &s->conn, ip, sockaddr_port(peer));
	s->conn.drain = smtp_drain;
	s->conn.force_close = smtp_force_close;
	s->timer = evtimer_new(worker_base(w), on_timeout, s);
	s->bev = tls_bev_session(worker_base(w), fd, mode == SMTP_MODE_SUBMISSIONS,
	                         cfg->timeouts.data_ms);
	if (s->bev == NULL || s->timer == NULL) {
		session_free(s);
		return;
	}
	tls_bev_start(s->bev, on_read, on_write, on_event, s, SMTP_READ_HIGHWATER);
	log_event(LOG_DEBUG, "smtp.connect", "s", "session", s->id, "s", "ip", ip,
	          "i", "port", (long long)s->conn.port, "i", "mode", (long long)mode, NULL);
	smtp_arm_timer(s, cfg->timeouts.command_ms);
	if (mode == SMTP_MODE_SUBMISSIONS) {
		/* RFC 8314 3.3: TLS first; the greeting follows the handshake */
		s->state = SMTP_S_HANDSHAKE;
		return;
	}
	smtp_reply(s, 220, NULL, "%s ESMTP postern", cfg->hostname);
}

static void smtp_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                        const char *ip)
{
	session_start(w, fd, peer, ip, SMTP_MODE_MX);
}

static void submission_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                              const char *ip)
{
	session_start(w, fd, peer, ip, SMTP_MODE_SUBMISSION);
}

static void submissions_accept(struct worker *w, evutil_socket_t fd, const struct sockaddr *peer,
                               const char *ip)
{
	session_start(w, fd, peer, ip, SMTP_MODE_SUBMISSIONS);
}

const struct service smtp_service = {
	.name = "smtp",
	.accept = smtp_accept,
	.busy_reply = "421 4.7.0 Too many connections, try again later\r\n",
};

const struct service submission_service = {
	.name = "submission",
	.accept = submission_accept,
	.busy_reply = "421 4.7.0 Too many connections, try again later\r\n",
};

/* nothing can be said in clear text on an implicit-TLS port: just close */
const struct service submissions_service = {
	.name = "submissions",
	.accept = submissions_accept,
	.busy_reply = "",
};
