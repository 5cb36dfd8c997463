/* IMAP LOGIN and AUTHENTICATE (PLAIN with SASL-IR, SCRAM-SHA-256) on the
 * shared login module: the limiter, pooled password checks, SCRAM keys. */
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
#include "imap/imap_session.h"
#include "imap/imap_users.h"
#include "store/maildir.h"
#include "store/resolve.h"

#define AUTH_LINE_MAX 12288
#define AUTH_DECODED_MAX 9216

enum { MECH_NONE, MECH_PLAIN, MECH_SCRAM };

bool imap_login_allowed_here(const struct imap_session *s)
{
	/* RFC 9051 6.2.3: no clear-text passwords outside TLS (LOGINDISABLED) */
	return s->ns.tls || s->ns.cfg->imap.login_without_tls;
}

static struct login_ctx ctx_of(struct imap_session *s)
{
	struct login_ctx c = {
		.store = worker_store(s->ns.worker), .pool = worker_threadpool(s->ns.worker),
		.base = worker_base(s->ns.worker), .limits = &s->ns.cfg->auth.imap,
		.keep_ms = config_auth_longest_window(s->ns.cfg), .ip = s->ns.conn.ip, .protocol = "imap",
	};
	return c;
}

/* A SCRAM exchange's reservation ends with the exchange (or the session). */
static void release_scram(struct imap_session *s)
{
	if (s->scram_reserved) {
		struct login_ctx c = ctx_of(s);
		login_release(&c, s->scram_user);
		s->scram_reserved = false;
	}
}

void imap_auth_cleanup(struct imap_session *s)
{
	release_scram(s);
	if (s->scram != NULL)
		scram_server_free(s->scram);
	s->scram = NULL;
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	s->delay_ev = NULL;
}

/* ---- the outcome ---------------------------------------------------------------- */

static void logged_in(struct imap_session *s, const char *user)
{
	char local[65], domain[256], maildir[4096], err[512], caps[512];
	if (!imap_user_connect(user, s->ns.cfg->imap.max_connections_per_user)) {
		log_event(LOG_WARN, "imap.too_many_connections", "s", "user", user, "s", "ip", s->ns.conn.ip, NULL);
		imap_tagged(s, s->tag, "NO", "[LIMIT] Too many connections for this user");
		return;
	}
	if (resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) < 0 ||
	    maildir_path(s->ns.cfg->data_dir, domain, local, maildir, sizeof(maildir)) < 0 ||
	    (s->ms = imap_store_acquire(s->ns.worker, user, maildir, err, sizeof(err))) == NULL) {
		imap_user_disconnect(user);
		log_event(LOG_ERROR, "imap.mailbox_unavailable", "s", "user", user, "s", "error", err,
		          NULL);
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Mail store unavailable");
		return;
	}
	str_copy(s->user, sizeof(s->user), user);
	s->state = IMAP_AUTH;
	net_session_logged_in(&s->ns);
	s->reader.max_literal_append = s->ns.cfg->imap.append_limit;
	s->reader.max_literal_other = IMAP_LITERAL_OTHER_MAX_DEFAULT;
	imap_capability_text(s, caps, sizeof(caps));
	imap_tagged(s, s->tag, "OK", "[CAPABILITY %s] Logged in", caps);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)fd;
	(void)what;
	imap_tagged(s, s->tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
	imap_resume_input(s);
}

/* The limiter's progressive delay before "NO", with input paused. */
static void fail_after(struct imap_session *s, uint64_t delay)
{
	s->io = IMAP_IO_WAIT;
	net_session_pause_input(&s->ns);
	if (s->delay_ev == NULL)
		s->delay_ev = evtimer_new(worker_base(s->ns.worker), on_delay, s);
	struct timeval tv = { (time_t)(delay / 1000), (suseconds_t)(delay % 1000) * 1000 };
	evtimer_add(s->delay_ev, &tv);
}

static void on_login_done(void *arg, enum login_result r, const char *user, bool any_sender,
                          uint64_t delay)
{
	struct imap_session *s = arg;
	(void)any_sender;
	if (!imap_op_end(s) || s->io != IMAP_IO_WAIT)
		return;
	if (r == LOGIN_OK) {
		logged_in(s, user);
		imap_resume_input(s);
	} else {
		fail_after(s, delay);
	}
}

static void check_password(struct imap_session *s, const char *user, const char *password)
{
	struct login_ctx c = ctx_of(s);
	char lower[321];
	str_copy(lower, sizeof(lower), user);
	ascii_lower(lower);
	if (!login_allowed(&c, lower)) {
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary authentication failure, try later");
		return;
	}
	s->io = IMAP_IO_WAIT;
	net_session_pause_input(&s->ns);
	imap_op_begin(s);
	if (login_check_password(&c, lower, password, on_login_done, s) < 0) {
		imap_op_end(s);
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary authentication failure, try later");
		imap_resume_input(s);
	}
}

/* ---- LOGIN ------------------------------------------------------------------------ */

void imap_cmd_login(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *user, *pw;
	size_t ulen, plen;
	char ubuf[321], pbuf[256];
	if (!imap_login_allowed_here(s)) {
		imap_tagged(s, cmd->tag, "NO", "[PRIVACYREQUIRED] LOGIN only after STARTTLS");
		return;
	}
	imap_command_args(cmd, &c);
	if (!imap_next_astring(&c, &user, &ulen) || !imap_next_astring(&c, &pw, &plen) ||
	    !imap_expect_end(&c) || ulen >= sizeof(ubuf) || plen >= sizeof(pbuf)) {
		imap_tagged(s, cmd->tag, "BAD", "Syntax: LOGIN user password");
		return;
	}
	memcpy(ubuf, user, ulen);
	ubuf[ulen] = '\0';
	memcpy(pbuf, pw, plen);
	pbuf[plen] = '\0';
	check_password(s, ubuf, pbuf);
	OPENSSL_cleanse(pbuf, sizeof(pbuf));
}

/* ---- AUTHENTICATE ------------------------------------------------------------------- */

static int mech_of(struct imap_session *s)
{
	return s->scram != NULL ? MECH_SCRAM : MECH_PLAIN;
}

static void ask(struct imap_session *s, const char *text)
{
	char b64[1024];
	if (sasl_b64_encode((const unsigned char *)text, strlen(text), b64, sizeof(b64), NULL) < 0)
		b64[0] = '\0';
	struct evbuffer *out = net_session_output(&s->ns);
	evbuffer_add_printf(out, "+ %s\r\n", b64);
	s->io = IMAP_IO_AUTH;
}

static void end_exchange(struct imap_session *s)
{
	release_scram(s);
	if (s->scram != NULL)
		scram_server_free(s->scram);
	s->scram = NULL;
	if (s->io == IMAP_IO_AUTH)
		s->io = IMAP_IO_READ;
}

static void plain_step(struct imap_session *s, const unsigned char *msg, size_t len)
{
	struct sasl_plain p;
	end_exchange(s);
	if (sasl_plain_parse(msg, len, &p) < 0) {
		imap_tagged(s, s->tag, "BAD", "Malformed PLAIN message");
		return;
	}
	if (p.authzid[0] != '\0' && strcasecmp(p.authzid, p.authcid) != 0) {
		struct login_ctx c = ctx_of(s);
		char user[256];
		str_copy(user, sizeof(user), p.authcid);
		sasl_plain_clear(&p);
		fail_after(s, login_failed(&c, user, "authzid_refused"));
		return;
	}
	check_password(s, p.authcid, p.passwd);
	sasl_plain_clear(&p);
}

static void scram_first(struct imap_session *s, const unsigned char *msg, size_t len)
{
	struct login_ctx c = ctx_of(s);
	char user[256], authzid[256], out[512];
	struct scram_keys keys;
	bool any_sender;
	if (scram_server_client_first(s->scram, (const char *)msg, len, user, sizeof(user),
	                              authzid, sizeof(authzid)) < 0) {
		end_exchange(s);
		imap_tagged(s, s->tag, "BAD", "Malformed SCRAM message");
		return;
	}
	ascii_lower(user);
	if (!login_reserve(&c, user)) {
		end_exchange(s);
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary authentication failure");
		return;
	}
	str_copy(s->scram_user, sizeof(s->scram_user), user);
	s->scram_reserved = true;
	/* unknown users get fake keys and fail at the proof, like a wrong password */
	s->scram_known = login_scram_keys(&c, user, &keys, &any_sender) &&
	                 (authzid[0] == '\0' || strcasecmp(authzid, user) == 0);
	int rc = scram_server_first(s->scram, &keys, out, sizeof(out));
	OPENSSL_cleanse(&keys, sizeof(keys));
	if (rc < 0) {
		end_exchange(s);
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary authentication failure");
		return;
	}
	s->scram_step = 1;
	ask(s, out);
}

static void scram_final(struct imap_session *s, const unsigned char *msg, size_t len)
{
	struct login_ctx c = ctx_of(s);
	char user[256], out[512];
	int r = scram_server_client_final(s->scram, (const char *)msg, len, out, sizeof(out));
	str_copy(user, sizeof(user), s->scram_user);
	if (r < 0) {
		end_exchange(s);
		imap_tagged(s, s->tag, "BAD", "Malformed SCRAM message");
	} else if (r == 0 || !s->scram_known) {
		bool known = s->scram_known;
		end_exchange(s);
		fail_after(s, login_failed(&c, user, known ? "bad_password" : "unknown_user_or_no_scram_keys"));
	} else {
		/* the server signature goes in a continuation; the client answers empty */
		s->scram_step = 2;
		ask(s, out);
	}
}

static void scram_step(struct imap_session *s, const unsigned char *msg, size_t len)
{
	if (s->scram_step == 0) {
		scram_first(s, msg, len);
	} else if (s->scram_step == 1) {
		scram_final(s, msg, len);
	} else {
		struct login_ctx c = ctx_of(s);
		char user[256];
		str_copy(user, sizeof(user), s->scram_user);
		end_exchange(s);
		if (len != 0) {
			imap_tagged(s, s->tag, "BAD", "Unexpected SCRAM data");
			return;
		}
		login_succeeded(&c, user);
		logged_in(s, user);
	}
}

static void sasl_response(struct imap_session *s, const char *b64, size_t len)
{
	unsigned char buf[AUTH_DECODED_MAX];
	size_t n = 0;
	if (!(len == 1 && b64[0] == '=') && sasl_b64_decode(b64, len, buf, sizeof(buf), &n) < 0) {
		end_exchange(s);
		imap_tagged(s, s->tag, "BAD", "Invalid base64 data");
		return;
	}
	if (mech_of(s) == MECH_SCRAM)
		scram_step(s, buf, n);
	else
		plain_step(s, buf, n);
	OPENSSL_cleanse(buf, n);
}

bool imap_auth_read_line(struct imap_session *s)
{
	struct evbuffer *in = net_session_input(&s->ns);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > AUTH_LINE_MAX)
			imap_close_with(s, "Authentication line too long");
		return false;
	}
	if (len == 1 && line[0] == '*') {
		end_exchange(s);
		imap_tagged(s, s->tag, "BAD", "Authentication cancelled");
	} else {
		sasl_response(s, line, len);
	}
	OPENSSL_cleanse(line, len);
	free(line);
	return s->io == IMAP_IO_READ || s->io == IMAP_IO_AUTH;
}

void imap_cmd_authenticate(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *mech, *initial = NULL;
	size_t ilen = 0;
	imap_command_args(cmd, &c);
	if (!imap_next_atom(&c, &mech)) {
		imap_tagged(s, cmd->tag, "BAD", "Syntax: AUTHENTICATE mechanism [initial-response]");
		return;
	}
	if (!imap_at_end(&c) && !imap_next_atom(&c, &initial)) {
		imap_tagged(s, cmd->tag, "BAD", "Bad initial response");
		return;
	}
	if (initial)
		ilen = strlen(initial);
	s->scram_known = false;
	s->scram_step = 0;
	s->scram_user[0] = '\0';
	if (strcasecmp(mech, "PLAIN") == 0) {
		if (!imap_login_allowed_here(s)) {
			imap_tagged(s, cmd->tag, "NO", "[PRIVACYREQUIRED] PLAIN only after STARTTLS");
			return;
		}
	} else if (strcasecmp(mech, "SCRAM-SHA-256") == 0) {
		s->scram = scram_server_new();
	} else {
		imap_tagged(s, cmd->tag, "NO", "Unsupported authentication mechanism");
		return;
	}
	if (initial != NULL) {       /* RFC 4959 SASL-IR */
		sasl_response(s, initial, ilen);
		return;
	}
	s->io = IMAP_IO_AUTH;
	imap_write(s, "+ \r\n", 4);
}
