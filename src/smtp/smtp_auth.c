/* SMTP AUTH (RFC 4954) for the submission services: PLAIN (RFC 4616), LOGIN
 * and SCRAM-SHA-256 (RFC 7677), the shared failure limiter, and the checks
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
#include "auth/sasl.h"
#include "auth/scram.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "smtp/smtp_session.h"
#include "store/store.h"

/* RFC 4954 4: a SASL line may be up to 12288 octets */
#define AUTH_LINE_MAX 12288
#define AUTH_DECODED_MAX 9216

/* ---- policy --------------------------------------------------------------- */

bool smtp_auth_offered(const struct smtp_session *s)
{
	/* never on port 25, and only inside TLS: the password must not travel in clear */
	return s->mode != SMTP_MODE_MX && (s->tls || s->cfg->submission.auth_without_tls);
}

static struct login_ctx login_ctx_of(struct smtp_session *s);

/* A SCRAM exchange's reservation ends with the exchange (or the session). */
static void release_scram(struct smtp_session *s)
{
	if (s->scram_reserved) {
		struct login_ctx c = login_ctx_of(s);
		login_release(&c, s->scram_user);
		s->scram_reserved = false;
	}
}

static void end_exchange(struct smtp_session *s)
{
	release_scram(s);
	if (s->scram != NULL) {
		scram_server_free(s->scram);
		s->scram = NULL;
	}
	OPENSSL_cleanse(s->auth_login_user, sizeof(s->auth_login_user));
	s->auth_mech = SMTP_AUTH_NONE;
	s->auth_step = 0;
	s->state = SMTP_S_COMMAND;
}

void smtp_auth_cleanup(struct smtp_session *s)
{
	release_scram(s);
	if (s->scram != NULL)
		scram_server_free(s->scram);
	s->scram = NULL;
	if (s->auth_delay != NULL)
		event_free(s->auth_delay);
	s->auth_delay = NULL;
}

/* ---- outcomes --------------------------------------------------------------- */

static struct login_ctx login_ctx_of(struct smtp_session *s)
{
	struct login_ctx c = {
		.store = worker_store(s->worker), .pool = worker_threadpool(s->worker),
		.base = worker_base(s->worker), .limits = &s->cfg->auth.smtp,
		.keep_ms = config_auth_longest_window(s->cfg), .ip = s->conn.ip, .protocol = "smtp",
	};
	return c;
}

static void auth_succeeded(struct smtp_session *s, const char *user, bool any_sender)
{
	s->authenticated = true;
	s->any_sender = any_sender;
	str_copy(s->auth_user, sizeof(s->auth_user), user);
	end_exchange(s);
	smtp_reply(s, 235, "2.7.0", "Authentication successful");
}

static void on_failure_delay(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)fd;
	(void)what;
	end_exchange(s);
	smtp_error(s, 535, "5.7.8", "Authentication credentials invalid");
	if (s->state == SMTP_S_COMMAND)
		smtp_resume_input(s);
}

/* Answers 535 after the limiter's progressive delay, with input paused so a
 * client cannot pipeline guesses past it. */
static void answer_failure_after(struct smtp_session *s, uint64_t delay)
{
	s->state = SMTP_S_AUTH_WAIT;
	bufferevent_disable(s->bev, EV_READ);
	evtimer_del(s->timer);
	if (s->auth_delay == NULL)
		s->auth_delay = evtimer_new(worker_base(s->worker), on_failure_delay, s);
	struct timeval tv = { (time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000 };
	evtimer_add(s->auth_delay, &tv);
}

static void auth_failed(struct smtp_session *s, const char *user, const char *reason)
{
	struct login_ctx c = login_ctx_of(s);
	answer_failure_after(s, login_failed(&c, user, reason));
}

/* Before any password is looked at: refuse blocked IPs and users, and fail
 * closed when the limiter cannot tell. */
static bool auth_allowed(struct smtp_session *s, const char *user, bool reserve)
{
	struct login_ctx c = login_ctx_of(s);
	if (reserve ? login_reserve(&c, user) : login_allowed(&c, user))
		return true;
	end_exchange(s);
	smtp_error(s, 454, "4.7.0", "Temporary authentication failure, try again later");
	return false;
}

static void on_login_done(void *arg, enum login_result r, const char *user, bool any_sender,
                          uint64_t delay)
{
	struct smtp_session *s = arg;
	if (!smtp_op_end(s) || s->state != SMTP_S_AUTH_WAIT)
		return;
	if (r == LOGIN_OK) {
		auth_succeeded(s, user, any_sender);
		smtp_resume_input(s);
	} else {
		answer_failure_after(s, delay);
	}
}

static void check_password(struct smtp_session *s, const char *user, const char *password)
{
	struct login_ctx c = login_ctx_of(s);
	char lower[SMTP_PATH_MAX + 1];
	str_copy(lower, sizeof(lower), user);
	ascii_lower(lower);
	if (!auth_allowed(s, lower, false))
		return;
	s->state = SMTP_S_AUTH_WAIT;
	bufferevent_disable(s->bev, EV_READ);
	evtimer_del(s->timer);
	smtp_op_begin(s);
	if (login_check_password(&c, lower, password, on_login_done, s) < 0) {
		/* the pool is saturated: a temporary failure, not a wrong password */
		smtp_op_end(s);
		end_exchange(s);
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure, try again later");
		smtp_resume_input(s);
	}
}

/* ---- mechanisms --------------------------------------------------------------------- */

static void auth_plain(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	struct sasl_plain p;
	if (sasl_plain_parse(msg, len, &p) < 0) {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Malformed AUTH PLAIN message");
		return;
	}
	/* acting for someone else is not offered */
	if (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0) {
		char user[256];
		str_copy(user, sizeof(user), p.authcid);
		OPENSSL_cleanse(&p, sizeof(p));
		auth_failed(s, user, "authzid_refused");
		return;
	}
	check_password(s, p.authcid, p.passwd);
	OPENSSL_cleanse(&p, sizeof(p));
}

static void auth_login(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	char text[256];
	if (len >= sizeof(text) || memchr(msg, '\0', len) != NULL) {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Malformed AUTH LOGIN response");
		return;
	}
	memcpy(text, msg, len);
	text[len] = '\0';
	if (s->auth_step == 0) {
		str_copy(s->auth_login_user, sizeof(s->auth_login_user), text);
		s->auth_step = 1;
		s->state = SMTP_S_AUTH;
		smtp_reply(s, 334, NULL, "%s", SASL_LOGIN_PASSWORD_B64);
	} else {
		char user[256];
		str_copy(user, sizeof(user), s->auth_login_user);
		check_password(s, user, text);
	}
	OPENSSL_cleanse(text, sizeof(text));
}

static void scram_send(struct smtp_session *s, const char *text)
{
	char b64[1024];
	if (sasl_b64_encode((const unsigned char *)text, strlen(text), b64, sizeof(b64), NULL) < 0) {
		end_exchange(s);
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	s->state = SMTP_S_AUTH;
	smtp_reply(s, 334, NULL, "%s", b64);
}

static void scram_first(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	char user[256], authzid[256], first[512];
	struct scram_keys keys;
	struct login_ctx c = login_ctx_of(s);
	bool any_sender = false;
	s->scram = scram_server_new();
	if (scram_server_client_first(s->scram, (const char *)msg, len, user, sizeof(user), authzid,
	                              sizeof(authzid)) < 0) {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Malformed SCRAM message");
		return;
	}
	ascii_lower(user);
	if (!auth_allowed(s, user, true))
		return;
	str_copy(s->scram_user, sizeof(s->scram_user), user);
	s->scram_reserved = true;
	/* unknown users (or no SCRAM keys yet) get fake keys: the exchange looks
	 * normal and fails at the proof */
	s->scram_known = login_scram_keys(&c, user, &keys, &any_sender) &&
	                 (authzid[0] == '\0' || strcasecmp(authzid, user) == 0);
	s->any_sender = s->scram_known && any_sender;
	if (scram_server_first(s->scram, &keys, first, sizeof(first)) < 0) {
		end_exchange(s);
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	OPENSSL_cleanse(&keys, sizeof(keys));
	s->auth_step = 1;
	scram_send(s, first);
}

static void scram_final(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	char final[256];
	int r = scram_server_client_final(s->scram, (const char *)msg, len, final, sizeof(final));
	if (r < 0) {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Malformed SCRAM message");
		return;
	}
	if (r == 0 || !s->scram_known) {
		char user[256];
		str_copy(user, sizeof(user), s->scram_user);
		auth_failed(s, user, s->scram_known ? "bad_password" : "unknown_user_or_no_scram_keys");
		return;
	}
	s->auth_step = 2;
	scram_send(s, final);  /* RFC 4954 4: server-final in a 334, the client answers empty */
}

static void auth_scram(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	if (s->auth_step == 0) {
		scram_first(s, msg, len);
	} else if (s->auth_step == 1) {
		scram_final(s, msg, len);
	} else if (len == 0) {
		char user[256];
		struct login_ctx c = login_ctx_of(s);
		str_copy(user, sizeof(user), s->scram_user);
		login_succeeded(&c, user);
		auth_succeeded(s, user, s->any_sender);
	} else {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Unexpected SCRAM data");
	}
}

static void auth_step(struct smtp_session *s, const unsigned char *msg, size_t len)
{
	switch (s->auth_mech) {
	case SMTP_AUTH_PLAIN: auth_plain(s, msg, len); break;
	case SMTP_AUTH_LOGIN: auth_login(s, msg, len); break;
	case SMTP_AUTH_SCRAM: auth_scram(s, msg, len); break;
	case SMTP_AUTH_NONE: break;
	}
}

/* Decodes one base64 SASL response ("=" is the empty one) and steps the mechanism. */
static void auth_response(struct smtp_session *s, const char *b64, size_t len)
{
	unsigned char buf[AUTH_DECODED_MAX];
	size_t n = 0;
	if (!(len == 1 && b64[0] == '=') &&
	    sasl_b64_decode(b64, len, buf, sizeof(buf), &n) < 0) {
		end_exchange(s);
		smtp_error(s, 501, "5.5.2", "Invalid base64 data");
		return;
	}
	auth_step(s, buf, n);
	OPENSSL_cleanse(buf, n);
}

bool smtp_auth_read_line(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	char *line;
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > AUTH_LINE_MAX) {
			evbuffer_drain(in, evbuffer_get_length(in));
			end_exchange(s);
			smtp_close_with(s, 500, "5.5.6", "Authentication exchange line too long");
		}
		return false;
	}
	size_t len = (size_t)eol.pos + 1;
	if (len > AUTH_LINE_MAX) {
		evbuffer_drain(in, len);
		end_exchange(s);
		smtp_error(s, 500, "5.5.6", "Authentication exchange line too long");
		return true;
	}
	line = xmalloc(len + 1);
	evbuffer_remove(in, line, len);
	len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	smtp_arm_timer(s, s->cfg->timeouts.command_ms);
	if (len == 1 && line[0] == '*') {
		end_exchange(s);
		smtp_error(s, 501, "5.0.0", "Authentication cancelled");
	} else {
		auth_response(s, line, len);
	}
	OPENSSL_cleanse(line, len);
	free(line);
	return true;
}

void smtp_cmd_auth(struct smtp_session *s, const char *arg)
{
	char mech[32];
	size_t n = strcspn(arg, " ");
	if (!smtp_auth_offered(s)) {
		if (s->mode == SMTP_MODE_MX)
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
	if (n == 0 || n >= sizeof(mech)) {
		smtp_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(mech, arg, n);
	mech[n] = '\0';
	if (strcasecmp(mech, "PLAIN") == 0)
		s->auth_mech = SMTP_AUTH_PLAIN;
	else if (strcasecmp(mech, "LOGIN") == 0)
		s->auth_mech = SMTP_AUTH_LOGIN;
	else if (strcasecmp(mech, "SCRAM-SHA-256") == 0)
		s->auth_mech = SMTP_AUTH_SCRAM;
	else {
		smtp_error(s, 504, "5.5.4", "Unrecognized authentication mechanism");
		return;
	}
	s->auth_step = 0;
	const char *initial = arg[n] == ' ' ? arg + n + 1 : NULL;
	if (initial != NULL && *initial != '\0') {
		auth_response(s, initial, strlen(initial));  /* RFC 4954 4: initial response */
		return;
	}
	s->state = SMTP_S_AUTH;
	smtp_reply(s, 334, NULL, "%s", s->auth_mech == SMTP_AUTH_LOGIN ? SASL_LOGIN_USERNAME_B64 : "");
}
