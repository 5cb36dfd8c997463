/* SMTP on the session engine: input framing (commands, DATA, BDAT), the
 * protocol's answers to the engine's events, and the hand-off to durable
 * delivery. Timers, TLS, flow control and closing are src/net/session.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mailauth/inbound.h"
#include "smtp/smtp_checks.h"
#include "smtp/smtp_session.h"
#include "store/msgbuf.h"
#include "tls/tls.h"

#define SMTP_CHUNK 16384

/* ---- message bytes ------------------------------------------------------ */

/* Octets for the spool: straight from the wire, or what the mail
 * authentication lets through (it holds the header back, smtp_mailauth.c). */
static void spool_bytes(void *arg, const char *buf, size_t len)
{
	struct smtp_session *s = arg;
	if (s->msg_too_big || s->msg_io_error || s->msg == NULL || len == 0)
		return;
	if (msgbuf_append(s->msg, buf, len) < 0) {
		log_event(LOG_ERROR, "smtp.spool_error", "s", "session", s->ns.id,
		          "s", "error", strerror(errno), NULL);
		s->msg_io_error = true;
	}
}

static void take_message_bytes(struct smtp_session *s, const char *buf, size_t len)
{
	s->msg_octets += len;
	if (s->msg_too_big || s->msg_io_error || s->msg == NULL)
		return;
	if (s->msg_octets > smtp_max_message_size(s)) {
		/* keep reading to the end, but store nothing more */
		s->msg_too_big = true;
		msgbuf_free(s->msg);
		s->msg = NULL;
		return;
	}
	if (s->auth != NULL)
		inbound_auth_feed(s->auth, buf, len, spool_bytes, s);
	else
		spool_bytes(s, buf, len);
}

static void new_message_buffer(struct smtp_session *s)
{
	char spool[4096];
	if (s->msg != NULL)
		return;
	snprintf(spool, sizeof(spool), "%s/spool", s->ns.cfg->data_dir);
	s->msg = msgbuf_new(spool);
	s->msg_octets = 0;
	s->msg_too_big = s->msg_io_error = false;
}

void smtp_begin_data(struct smtp_session *s)
{
	new_message_buffer(s);
	smtp_data_init(&s->data, SMTP_TEXTLINE_MAX);
	s->state = SMTP_S_DATA;
	net_session_wait(&s->ns, NS_WAIT_DATA);
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
	net_session_wait(&s->ns, NS_WAIT_DATA);
}

/* ---- committing ------------------------------------------------------------ */

/* A message refused as a whole: at its end the refusal is the answer to
 * every recipient (smtp_reply_message); `once` when the message has not
 * ended (a BDAT chunk too many), the one reply to that command. */
static void reject_message(struct smtp_session *s, int code, const char *enh, const char *text,
                           const char *result, bool once)
{
	smtp_log_transaction(s, result, s->msg_octets);
	if (once)
		smtp_error(s, code, enh, "%s", text);
	else
		smtp_reply_message(s, code, enh, text);
	smtp_transaction_reset(s);
	s->state = SMTP_S_COMMAND;
}

void smtp_resume_input(struct smtp_session *s)
{
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	net_session_resume_input(&s->ns);
}

/* The reply for a committed message (result 0) or a failed one; rcpt
 * (LMTP's reply per recipient) names whose copy it is. */
static void reply_committed(struct smtp_session *s, int result, const char *rcpt)
{
	char who[SMTP_PATH_MAX + 8] = "";
	if (rcpt != NULL)
		snprintf(who, sizeof(who), "<%s>: ", rcpt);
	if (result == 0)
		smtp_reply(s, 250, "2.0.0", "%sOk: queued as %s", who, s->txid);
	else if (result == ENOSPC || result == EDQUOT)
		smtp_reply(s, 452, "4.3.1", "%sInsufficient system storage", who);
	else
		smtp_reply(s, 451, "4.3.0", "%sLocal error in processing", who);
}

/* RFC 2033 4.2: a reply for each recipient, in RCPT order, saying whether
 * its own copies were committed. */
static void reply_per_recipient(struct smtp_session *s)
{
	size_t failed = 0;
	for (size_t i = 0; i < s->nrcpts; i++) {
		int result = s->job.groups[i].result;
		if (s->job.groups[i].skip) {
			/* over quota: found before the commit (smtp_quota.c) */
			smtp_reply(s, 452, "4.2.2", "<%s>: Mailbox full, try again later", s->rcpts[i]);
			failed++;
			continue;
		}
		reply_committed(s, result, s->rcpts[i]);
		if (result != 0) {
			failed++;
			log_event(LOG_WARN, "smtp.rcpt_failed", "s", "session", s->ns.id, "s", "id", s->txid,
			          "s", "rcpt", s->rcpts[i], "s", "error", strerror(result), NULL);
		}
	}
	char result[64];
	if (failed == 0)
		snprintf(result, sizeof(result), "accepted");
	else if (failed < s->nrcpts)
		snprintf(result, sizeof(result), "partial: %zu of %zu failed", failed, s->nrcpts);
	else
		snprintf(result, sizeof(result), "failed: %s",
		         s->job.result ? strerror(s->job.result) : "mailbox full");
	smtp_log_transaction(s, result, s->msg_octets);
}

static void reply_whole(struct smtp_session *s)
{
	char result[128];
	if (s->job.result == 0) {
		snprintf(result, sizeof(result), "accepted");
		smtp_sendlimit_charge(s);
	} else
		snprintf(result, sizeof(result), "failed: %s", strerror(s->job.result));
	smtp_log_transaction(s, result, s->msg_octets);
	reply_committed(s, s->job.result, NULL);
}

static void on_commit_done(struct commit_job *job, void *arg)
{
	struct smtp_session *s = arg;
	(void)job;
	if (!smtp_op_end(s))
		return;
	if (s->mode->reply_per_rcpt)
		reply_per_recipient(s);
	else
		reply_whole(s);
	/* the limit counts errors in a row: a message taken ends the run. Only
	 * a whole transaction does, not any 250, so that a client probing
	 * addresses (RCPT after RCPT, some of them valid) still reaches it */
	net_session_good_command(&s->ns);
	s->transactions++;
	smtp_transaction_reset(s);
	s->state = SMTP_S_COMMAND;
	if (s->ns.draining) {
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
		return;
	}
	smtp_resume_input(s); /* pipelined commands may already be waiting */
}

/* Refusals of the message as a whole; true after replying. */
static bool refuse_message(struct smtp_session *s, bool via_data)
{
	if (s->msg_too_big) {
		reject_message(s, 552, "5.3.4", "Message size exceeds fixed maximum message size",
		               "rejected: too big", false);
	} else if (via_data && s->data.line_too_long) {
		reject_message(s, 500, "5.5.2", "Line too long (RFC 5321 4.5.3.1.6: 1000 octets)",
		               "rejected: line too long", false);
	} else if (via_data && (s->data.bare_lf || s->data.bare_cr)) {
		/* a bare LF or CR is how SMTP smuggling starts: refuse, do not repair */
		reject_message(s, 550, "5.5.2", "Bare CR or LF in message; use CRLF (RFC 5321 2.3.8)",
		               "rejected: bare CR/LF", false);
	} else if (s->data.nul) {
		/* RFC 2045 2.7, 2.8: no NUL without BINARYMIME; a next hop may cut the message at one */
		reject_message(s, 550, "5.6.0", "NUL octet in message data refused", "rejected: NUL octet",
		               false);
	} else if (s->msg_io_error || s->msg == NULL || msgbuf_finish(s->msg) < 0) {
		reject_message(s, 451, "4.3.0", "Local error in processing", "failed: spool error", false);
	} else {
		struct filter_verdict verdict = smtp_check_message(s);   /* smtp_checks.c */
		if (verdict.kind == FILTER_ACCEPT)
			return false;
		reject_message(s, verdict.code, verdict.enh, verdict.text, verdict.log_result, false);
	}
	return true;
}

static void reject_too_big_chunk(struct smtp_session *s)
{
	reject_message(s, 552, "5.3.4", "Message size exceeds fixed maximum message size",
	               "rejected: too big", true);
}

void smtp_refuse_message(struct smtp_session *s, int code, const char *enh, const char *text,
                         const char *log_result)
{
	reject_message(s, code, enh, text, log_result, false);
}

void smtp_finish_message(struct smtp_session *s, bool via_data)
{
	if (s->auth != NULL)
		inbound_auth_end(s->auth, spool_bytes, s);   /* before the spool is read */
	if (refuse_message(s, via_data))
		return;
	if (smtp_mailauth_wait(s))
		return;
	smtp_commit_message(s);
}

void smtp_commit_message(struct smtp_session *s)
{
	size_t hlen;
	s->header = smtp_mailauth_header(s, smtp_trace_header(s, &hlen), &hlen);
	if (s->scan_headers != NULL) {
		/* after the trace: what the scanners say about the message */
		s->header = xrealloc(s->header, hlen + s->scan_headers_len + 1);
		memcpy(s->header + hlen, s->scan_headers, s->scan_headers_len + 1);
		hlen += s->scan_headers_len;
	}
	if (s->scan_junk || (s->auth_verdict != NULL && s->auth_verdict->action == INBOUND_JUNK))
		smtp_mailauth_to_junk(s);
	uint64_t local_size = commit_local_size(s->from, s->header, hlen, s->msg);
	if (smtp_quota_mark_full(s, local_size) && !s->mode->reply_per_rcpt) {
		/* one reply for every recipient: none gets it (smtp_quota.c) */
		reject_message(s, 452, "4.2.2", "Mailbox full, try again later", "rejected: mailbox full",
		               false);
		return;
	}
	memset(&s->job, 0, sizeof(s->job));
	s->job.header = s->header;
	s->job.header_len = hlen;
	s->job.body = s->msg;
	s->job.sender = s->from;
	s->job.maildirs = s->maildirs;
	s->job.users = s->maildir_users;
	s->job.nmaildirs = s->nmaildirs;
	s->job.remotes = s->remotes;
	s->job.nremotes = s->nremotes;
	s->job.forwards = s->forwards;
	s->job.nforwards = s->nforwards;
	s->job.forward_sender = s->forward_from;
	s->job.smtputf8 = s->smtputf8;
	if (s->auth_verdict != NULL) {
		/* forwarded copies carry our results on in an ARC set (arc_forward.c) */
		s->job.arc_authres = s->auth_verdict->payload;
		s->job.arc_cv = s->auth_verdict->arc_cv;
	}
	if (s->mode->reply_per_rcpt) {
		s->job.groups = s->rcpt_groups;
		s->job.ngroups = s->nrcpts;
	}
	s->job.base = worker_base(s->ns.worker);
	s->job.done = on_commit_done;
	s->job.arg = s;
	s->state = SMTP_S_COMMITTING;
	net_session_pause_input(&s->ns);
	net_session_wait(&s->ns, NS_WAIT_NOTHING);
	smtp_op_begin(s);
	committer_submit(worker_committer(s->ns.worker), &s->job);
}

/* ---- input framing ------------------------------------------------------------ */

/* Returns true when another command may be read right away. */
static bool read_command(struct smtp_session *s)
{
	struct evbuffer *in = net_session_input(&s->ns);
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
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	if (smtp_parse_command(line, len, &cmd) != SMTP_PARSE_OK) {
		smtp_error(s, 500, "5.5.2", "Invalid character in command");
		return true;
	}
	smtp_dispatch(s, &cmd);
	if (s->ns.draining && s->state == SMTP_S_COMMAND && !s->in_mail)
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
	return true;
}

static bool read_data(struct smtp_session *s)
{
	struct evbuffer *in = net_session_input(&s->ns);
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
		net_session_wait(&s->ns, NS_WAIT_DATA);
		return false;
	}
	smtp_finish_message(s, true);
	return true;
}

static void finish_bdat_chunk(struct smtp_session *s, uint64_t chunk)
{
	s->state = SMTP_S_COMMAND;
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	if (s->bdat_code != 0) {
		if (s->in_mail)
			smtp_transaction_reset(s);
		smtp_error(s, s->bdat_code, s->bdat_enh, "%s", s->bdat_text);
	} else if (s->msg_too_big && !s->bdat_last) {
		reject_too_big_chunk(s);   /* no use reading the rest */
	} else if (s->bdat_last) {
		smtp_finish_message(s, false);
	} else {
		smtp_reply(s, 250, "2.0.0", "%llu octets received", (unsigned long long)chunk);
	}
}

static bool read_bdat(struct smtp_session *s)
{
	struct evbuffer *in = net_session_input(&s->ns);
	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t n = v.iov_len < s->bdat_left ? v.iov_len : (size_t)s->bdat_left;
		if (s->bdat_code == 0) {
			take_message_bytes(s, v.iov_base, n);
			if (memchr(v.iov_base, '\0', n) != NULL)
				s->data.nul = true;   /* refused in smtp_finish_message() */
		}
		evbuffer_drain(in, n);
		s->bdat_left -= n;
	}
	if (s->bdat_left > 0) {
		net_session_wait(&s->ns, NS_WAIT_DATA);
		return false;
	}
	finish_bdat_chunk(s, s->msg_octets);
	return true;
}

/* One step of input for the engine's loop: true when more may be read now. */
static bool smtp_read(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	switch (s->state) {
	case SMTP_S_COMMAND: return read_command(s);
	case SMTP_S_DATA: return read_data(s);
	case SMTP_S_BDAT: return read_bdat(s);
	case SMTP_S_AUTH: return smtp_auth_read_line(s);
	default: return false;   /* committing or checking a password: input waits */
	}
}

/* ---- the engine's events ------------------------------------------------------ */

void smtp_begin_starttls(struct smtp_session *s)
{
	net_session_starttls(&s->ns);
}

static void remember_tls(struct smtp_session *s)
{
	SSL *ssl = net_session_ssl(&s->ns);
	tls_describe(ssl, s->tls_desc, sizeof(s->tls_desc));
	snprintf(s->tls_version, sizeof(s->tls_version), "%s", tls_version_name(ssl));
}

static void greet(struct smtp_session *s)
{
	smtp_reply(s, 220, NULL, "%s %s postern", s->ns.cfg->hostname, s->mode->banner);
}

/* Which service the client came in on decides what it may do. */
static void smtp_open(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	s->mode = smtp_mode_of(ns->svc->id);
}

static void smtp_start(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	if (ns->tls)
		remember_tls(s);
	smtp_dnsbl_start(s);    /* answered while the client talks */
	greet(s);
}

static void smtp_tls_ready(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	remember_tls(s);
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
	net_session_process_input(ns);
}

/* A transaction the client never finished, logged with why it ended. */
static void log_unfinished(struct smtp_session *s, const char *reason)
{
	static const struct { const char *reason, *result; } results[] = {
		{ "disconnected", "disconnected" },
		{ "timeout", "timeout" },
		{ "shutdown", "aborted: shutdown" },
	};
	if (!s->in_mail || s->state == SMTP_S_COMMITTING || reason == NULL)
		return;
	for (size_t i = 0; i < ARRAY_LEN(results); i++)
		if (strcmp(reason, results[i].reason) == 0)
			smtp_log_transaction(s, results[i].result, s->msg_octets);
}

static void smtp_expired(struct net_session *ns, enum ns_expiry why)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	/* the checks end by their own deadline (INBOUND_DEADLINE_MS) */
	if (s->state == SMTP_S_COMMITTING || s->state == SMTP_S_AUTH_WAIT ||
	    s->state == SMTP_S_CHECKING)
		return;
	log_event(LOG_INFO, "smtp.timeout", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "phase", s->state == SMTP_S_DATA || s->state == SMTP_S_BDAT ? "data" : "command",
	          "s", "limit", net_session_expiry_name(why), NULL);
	log_unfinished(s, "timeout");
	smtp_transaction_reset(s);
	smtp_close_with(s, 421, "4.4.2", "Timeout exceeded, closing connection");
}

static void smtp_drain(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	if ((s->state == SMTP_S_COMMAND && !s->in_mail) || s->state == SMTP_S_AUTH) {
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
	} else if (s->state == SMTP_S_AUTH_WAIT && ns->pending_ops == 0) {
		/* only the failure delay is running: no reason to keep the client */
		smtp_auth_cleanup(s);
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
	}
}

static void smtp_release(struct net_session *ns)
{
	struct smtp_session *s = (struct smtp_session *)ns;
	log_unfinished(s, ns->end_reason);
	log_event(LOG_INFO, "smtp.disconnect", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "i", "transactions", (long long)s->transactions, "i", "errors", (long long)ns->errors,
	          "i", "ms", (long long)(now_ms() - ns->started_ms), NULL);
	smtp_transaction_reset(s);
	smtp_auth_cleanup(s);
	smtp_dnsbl_free(s);
}

const struct session_ops smtp_session_ops = {
	.protocol = "smtp",
	.size = sizeof(struct smtp_session),
	.busy_reply = "421 4.7.0 Too many connections, try again later\r\n",
	/* RFC 5321 3.1: 554 instead of the greeting */
	.denied_reply = "554 5.7.1 Access denied\r\n",
	.open = smtp_open,
	.start = smtp_start,
	.read = smtp_read,
	.tls_ready = smtp_tls_ready,
	.expired = smtp_expired,
	.drain = smtp_drain,
	.release = smtp_release,
};
