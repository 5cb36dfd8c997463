/* SMTP AUTH (RFC 4954) for the submission services: the framing of the
 * shared SASL exchange (auth/sasl_server.h) and its replies, and the checks
 * that an authenticated user sends only as themselves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "smtp/smtp_session.h"
#include "store/store.h"

/* RFC 4954 4: a SASL line may be up to 12288 octets */
#define AUTH_LINE_MAX 12288

/* ---- policy --------------------------------------------------------------- */

bool smtp_auth_offered(const struct smtp_session *s)
{
	/* only on submission, and only inside TLS: the password must not travel in clear */
	return s->mode->auth && (s->ns.tls || s->ns.cfg->submission.auth_without_tls);
}

static struct login_ctx login_ctx_of(struct smtp_session *s)
{
	struct login_ctx c = {
		.store = worker_store(s->ns.worker), .pool = worker_threadpool(s->ns.worker),
		.base = worker_base(s->ns.worker), .limits = &s->ns.cfg->auth.smtp,
		.keep_ms = config_auth_longest_window(s->ns.cfg), .ip = s->ns.conn.ip, .protocol = "smtp",
		/* a master user reads mailboxes; it never sends as a user */
		.master_login = false,
		.refused = net_session_login_refused, .refused_arg = &s->ns,
	};
	return c;
}

/* Ends the exchange wherever it is (also when the session ends). */
void smtp_auth_cleanup(struct smtp_session *s)
{
	sasl_server_free(s->sasl);
	s->sasl = NULL;
}

/* ---- the exchange's hooks: RFC 4954 framing and replies ---------------------------- */

static void on_challenge(void *arg, const char *b64)
{
	struct smtp_session *s = arg;
	s->state = SMTP_S_AUTH;
	smtp_reply(s, 334, NULL, "%s", b64);
}

/* A password check or the failure delay: input paused, so that a client
 * cannot pipeline guesses past it, and no command timeout meanwhile. */
static void on_wait(void *arg)
{
	struct smtp_session *s = arg;
	s->state = SMTP_S_AUTH_WAIT;
	net_session_pause_input(&s->ns);
	net_session_wait(&s->ns, NS_WAIT_NOTHING);
}

static void on_done(void *arg, enum sasl_outcome o, const struct sasl_result *r)
{
	struct smtp_session *s = arg;
	bool resume = s->state == SMTP_S_AUTH_WAIT;
	smtp_auth_cleanup(s);
	s->state = SMTP_S_COMMAND;
	switch (o) {
	case SASL_SUCCESS:
		s->authenticated = true;
		s->any_sender = r->any_sender;
		net_session_logged_in(&s->ns);
		str_copy(s->auth_user, sizeof(s->auth_user), r->user);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		break;
	case SASL_FAILED:
		smtp_error(s, 535, "5.7.8", "Authentication credentials invalid");
		break;
	case SASL_TEMPFAIL:
		smtp_error(s, 454, "4.7.0", "Temporary authentication failure, try again later");
		break;
	case SASL_CANCELLED:
		smtp_error(s, 501, "5.0.0", "Authentication cancelled");
		break;
	case SASL_MALFORMED:
		smtp_error(s, 501, "5.5.2", "%s", r->detail);
		break;
	}
	if (resume && s->state == SMTP_S_COMMAND)   /* not when the error closed the session */
		smtp_resume_input(s);
}

static const struct sasl_server_ops smtp_sasl_ops = {
	.challenge = on_challenge, .wait = on_wait, .done = on_done,
	.hold = net_session_hold, .release = net_session_release,
};

/* ---- AUTH and its response lines ----------------------------------------------------- */

bool smtp_auth_read_line(struct smtp_session *s)
{
	struct evbuffer *in = net_session_input(&s->ns);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	char *line;
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > AUTH_LINE_MAX) {
			evbuffer_drain(in, evbuffer_get_length(in));
			smtp_auth_cleanup(s);
			s->state = SMTP_S_COMMAND;
			smtp_close_with(s, 500, "5.5.6", "Authentication exchange line too long");
		}
		return false;
	}
	size_t len = (size_t)eol.pos + 1;
	if (len > AUTH_LINE_MAX) {
		evbuffer_drain(in, len);
		smtp_auth_cleanup(s);
		s->state = SMTP_S_COMMAND;
		smtp_error(s, 500, "5.5.6", "Authentication exchange line too long");
		return true;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	sasl_server_step(s->sasl, line, len);
	OPENSSL_cleanse(line, len);
	free(line);
	return true;
}

void smtp_cmd_auth(struct smtp_session *s, const char *arg)
{
	char name[32];
	enum sasl_mech mech;
	size_t n = strcspn(arg, " ");
	if (!smtp_auth_offered(s)) {
		if (!s->mode->auth)
			smtp_error(s, 502, "5.5.1", "AUTH not available on this service");
		else /* RFC 4954 6: 538 when the mechanism needs an encrypted session */
			smtp_error(s, 538, "5.7.11", "Encryption required: use STARTTLS first");
		return;
	}
	if (s->authenticated) {
		smtp_error(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (s->in_mail) {
		smtp_error(s, 503, "5.5.1", "AUTH not allowed during a mail transaction");
		return;
	}
	if (n == 0 || n >= sizeof(name)) {
		smtp_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	if (sasl_server_mech_parse(name, &mech) < 0) {
		smtp_error(s, 504, "5.5.4", "Unrecognized authentication mechanism");
		return;
	}
	struct login_ctx c = login_ctx_of(s);
	smtp_auth_cleanup(s);
	s->sasl = sasl_server_new(mech, &c, &smtp_sasl_ops, s);
	/* RFC 4954 4: an initial response ("=" for an empty one) */
	const char *initial = arg[n] == ' ' ? arg + n + 1 : NULL;
	sasl_server_start(s->sasl, initial, initial ? strlen(initial) : 0);
}
