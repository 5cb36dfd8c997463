/* IMAP LOGIN and AUTHENTICATE (RFC 9051 6.2, SASL-IR RFC 4959): the framing
 * of the shared SASL exchange (auth/sasl_server.h) and its tagged replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "imap/imap_users.h"
#include "store/maildir.h"
#include "store/resolve.h"

/* RFC 4954 4's bound, which IMAP does not set: a SASL line of 12288 octets */
#define AUTH_LINE_MAX 12288

static struct login_ctx ctx_of(struct imap_session *s)
{
	struct login_ctx c = {
		.store = worker_store(s->ns.worker), .pool = worker_threadpool(s->ns.worker),
		.base = worker_base(s->ns.worker), .limits = &s->ns.cfg->auth.imap,
		.keep_ms = config_auth_longest_window(s->ns.cfg), .ip = s->ns.conn.ip, .protocol = "imap",
		.master_login = s->ns.cfg->auth.master_login,
		.refused = net_session_login_refused, .refused_arg = &s->ns,
	};
	return c;
}

/* Ends an exchange wherever it is (also when the session ends). */
static void auth_cleanup(struct imap_session *s);
static bool auth_read_line(struct imap_session *s);
static const struct imap_cmd_hooks auth_hooks = { .cancel = auth_cleanup, .input = auth_read_line };

static void auth_cleanup(struct imap_session *s)
{
	imap_cmd_finished(s, &auth_hooks);
	sasl_server_free(s->sasl);
	s->sasl = NULL;
}

/* ---- the outcome ---------------------------------------------------------------- */

static void logged_in(struct imap_session *s, const char *user, const char *master)
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
	str_copy(s->master, sizeof(s->master), master);
	s->state = IMAP_AUTH;
	net_session_logged_in(&s->ns);
	s->reader.max_literal_append = s->ns.cfg->imap.append_limit;
	s->reader.max_literal_other = IMAP_LITERAL_OTHER_MAX_DEFAULT;
	imap_capability_text(s, caps, sizeof(caps));
	imap_tagged(s, s->tag, "OK", "[CAPABILITY %s] Logged in", caps);
}

/* ---- the exchange's hooks: continuations and tagged replies ---------------------------- */

static void on_challenge(void *arg, const char *b64)
{
	struct imap_session *s = arg;
	s->io = IMAP_IO_AUTH;
	imap_write(s, "+ ", 2);
	imap_write(s, b64, strlen(b64));
	imap_write(s, "\r\n", 2);
}

/* A password check or the failure delay runs: input paused, so that a client
 * cannot pipeline guesses past it. */
static void on_wait(void *arg)
{
	struct imap_session *s = arg;
	s->io = IMAP_IO_WAIT;
	net_session_pause_input(&s->ns);
}

static void on_done(void *arg, enum sasl_outcome o, const struct sasl_result *r)
{
	struct imap_session *s = arg;
	bool resume = s->io == IMAP_IO_WAIT;
	auth_cleanup(s);
	if (s->io == IMAP_IO_AUTH)
		s->io = IMAP_IO_READ;
	switch (o) {
	case SASL_SUCCESS:
		logged_in(s, r->user, r->master);
		break;
	case SASL_FAILED:
		imap_tagged(s, s->tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
		break;
	case SASL_TEMPFAIL:
		imap_tagged(s, s->tag, "NO", "[UNAVAILABLE] Temporary authentication failure, try later");
		break;
	case SASL_CANCELLED:
		imap_tagged(s, s->tag, "BAD", "Authentication cancelled");
		break;
	case SASL_MALFORMED:
		imap_tagged(s, s->tag, "BAD", "%s", r->detail);
		break;
	}
	if (resume)
		imap_resume_input(s);
}

static const struct sasl_server_ops imap_sasl_ops = {
	.challenge = on_challenge, .wait = on_wait, .done = on_done,
	.hold = net_session_hold, .release = net_session_release,
};

static void begin_exchange(struct imap_session *s, enum sasl_mech mech)
{
	struct login_ctx c = ctx_of(s);
	auth_cleanup(s);
	s->sasl = sasl_server_new(mech, &c, &imap_sasl_ops, s);
	imap_cmd_running(s, &auth_hooks);
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
	/* a plain password check, with every rule of AUTHENTICATE PLAIN */
	begin_exchange(s, SASL_MECH_PLAIN);
	sasl_server_login(s->sasl, ubuf, pbuf);
	OPENSSL_cleanse(pbuf, sizeof(pbuf));
}

/* ---- AUTHENTICATE ------------------------------------------------------------------- */

/* A response line of the exchange (the session is in IMAP_IO_AUTH). */
static bool auth_read_line(struct imap_session *s)
{
	size_t len;
	bool too_long;
	char *line = imap_input_line(s, AUTH_LINE_MAX, &len, &too_long);
	if (line == NULL) {
		if (too_long)
			imap_close_with(s, "Authentication line too long");
		return false;
	}
	sasl_server_step(s->sasl, line, len);
	OPENSSL_cleanse(line, len);
	free(line);
	return s->io == IMAP_IO_READ || s->io == IMAP_IO_AUTH;
}

void imap_cmd_authenticate(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *name, *initial = NULL;
	enum sasl_mech mech;
	imap_command_args(cmd, &c);
	if (!imap_next_atom(&c, &name)) {
		imap_tagged(s, cmd->tag, "BAD", "Syntax: AUTHENTICATE mechanism [initial-response]");
		return;
	}
	if (!imap_at_end(&c) && !imap_next_atom(&c, &initial)) {
		imap_tagged(s, cmd->tag, "BAD", "Bad initial response");
		return;
	}
	if (sasl_server_mech_parse(name, &mech) < 0) {
		imap_tagged(s, cmd->tag, "NO", "Unsupported authentication mechanism");
		return;
	}
	if (sasl_server_mech_sends_password(mech) && !imap_login_allowed_here(s)) {
		imap_tagged(s, cmd->tag, "NO", "[PRIVACYREQUIRED] %s only after STARTTLS", name);
		return;
	}
	begin_exchange(s, mech);
	/* RFC 4959 SASL-IR: an initial response ("=" for an empty one) */
	sasl_server_start(s->sasl, initial, initial ? strlen(initial) : 0);
}
