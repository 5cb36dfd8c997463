/* POP3 USER/PASS (RFC 1939 7) and AUTH (RFC 5034, initial response
 * included): the framing of the shared SASL exchange (auth/sasl_server.h),
 * its replies with RFC 2449/3206 response codes, and the way into
 * TRANSACTION: the maildrop locked and read on the thread pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/login.h"
#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/log.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "pop3/pop3_maildrop.h"
#include "pop3/pop3_session.h"
#include "store/maildir.h"
#include "store/resolve.h"

/* RFC 5034 4 sets no bound on a response line; IMAP's and SMTP's (RFC 4954 4) */
#define AUTH_LINE_MAX 12288

static struct login_ctx ctx_of(struct pop3_session *s)
{
	struct login_ctx c = {
		.store = worker_store(s->ns.worker), .pool = worker_threadpool(s->ns.worker),
		.base = worker_base(s->ns.worker), .limits = &s->ns.cfg->auth.pop3,
		.keep_ms = config_auth_longest_window(s->ns.cfg), .ip = s->ns.conn.ip, .protocol = "pop3",
		.master_login = s->ns.cfg->auth.master_login,
		.refused = net_session_login_refused, .refused_arg = &s->ns,
	};
	return c;
}

static void auth_cleanup(struct pop3_session *s);
static bool auth_read_line(struct pop3_session *s);
static const struct pop3_cmd_hooks auth_hooks = { .cancel = auth_cleanup, .input = auth_read_line };

/* Ends an exchange wherever it is (also when the session ends). */
static void auth_cleanup(struct pop3_session *s)
{
	pop3_cmd_finished(s, &auth_hooks);
	sasl_server_free(s->sasl);
	s->sasl = NULL;
}

/* ---- into TRANSACTION: the maildrop, on the pool -------------------------------------- */

struct open_job {
	struct pop3_session *s;
	char maildir[4096];
	char user[321];
	char data_dir[4096];
	struct pop3_maildrop *md;
	enum pop3_maildrop_rc rc;
	char err[512];
};

static void open_work(void *arg)
{
	struct open_job *j = arg;
	j->rc = pop3_maildrop_open(j->maildir, j->user, j->data_dir, &j->md, j->err, sizeof(j->err));
}

static void enter_transaction(struct pop3_session *s, struct pop3_maildrop *md)
{
	size_t n;
	uint64_t octets;
	s->md = md;
	s->state = POP3_TRANSACTION;
	net_session_logged_in(&s->ns);
	pop3_maildrop_stat(md, &n, &octets);
	log_event(LOG_INFO, "pop3.login", "s", "session", s->ns.id, "s", "ip", s->ns.conn.ip,
	          "s", "user", s->user, "s", "master", s->master[0] ? s->master : NULL,
	          "i", "messages", (long long)n, "i", "octets", (long long)octets, NULL);
	pop3_ok(s, "Logged in, maildrop has %zu messages (%llu octets)", n, (unsigned long long)octets);
}

static void open_done(void *arg)
{
	struct open_job *j = arg;
	struct pop3_session *s = j->s;
	if (!pop3_op_end(s)) {
		pop3_maildrop_close(j->md);   /* the client left meanwhile */
		free(j);
		return;
	}
	if (j->rc == POP3_MAILDROP_OK && s->ns.draining) {
		pop3_maildrop_close(j->md);
		pop3_close_with(s, "SYS/TEMP", "Server shutting down, try again later");
	} else if (j->rc == POP3_MAILDROP_OK) {
		enter_transaction(s, j->md);
	} else if (j->rc == POP3_MAILDROP_IN_USE) {
		log_event(LOG_INFO, "pop3.maildrop_in_use", "s", "session", s->ns.id,
		          "s", "ip", s->ns.conn.ip, "s", "user", s->user, NULL);
		pop3_err(s, "IN-USE", "Maildrop in use by another session, try again later");
	} else {
		log_event(LOG_ERROR, "pop3.maildrop_unavailable", "s", "session", s->ns.id,
		          "s", "user", s->user, "s", "error", j->err, NULL);
		pop3_err(s, "SYS/TEMP", "Mail store unavailable, try again later");
	}
	free(j);
	if (s->io == POP3_IO_WAIT)
		pop3_resume_input(s);
}

/* The password was right: lock and read the maildrop (RFC 1939 4), away from
 * the loop (a first login may index thousands of messages). */
static void open_maildrop(struct pop3_session *s, const char *user)
{
	char local[65], domain[256];
	struct open_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	str_copy(s->user, sizeof(s->user), user);
	if (resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) < 0 ||
	    maildir_path(s->ns.cfg->data_dir, domain, local, j->maildir, sizeof(j->maildir)) < 0) {
		free(j);
		pop3_err(s, "SYS/TEMP", "Mail store unavailable");
		return;
	}
	str_copy(j->user, sizeof(j->user), user);
	str_copy(j->data_dir, sizeof(j->data_dir), s->ns.cfg->data_dir);
	pop3_wait(s);
	pop3_op_begin(s);
	if (threadpool_submit(worker_threadpool(s->ns.worker), worker_base(s->ns.worker), open_work,
	                      open_done, j) < 0) {
		pop3_op_end(s);
		free(j);
		pop3_err(s, "SYS/TEMP", "Server busy, try again later");
		pop3_resume_input(s);
	}
}

/* ---- the exchange's hooks ---------------------------------------------------------------- */

static void on_challenge(void *arg, const char *b64)
{
	struct pop3_session *s = arg;
	s->io = POP3_IO_AUTH;
	/* RFC 5034 4: "+ " and the base64 challenge ("+ " alone for an empty one) */
	pop3_write(s, "+ ", 2);
	pop3_write(s, b64, strlen(b64));
	pop3_write(s, "\r\n", 2);
}

/* A password check or the failure delay runs: input paused, so that a
 * client cannot pipeline guesses past it. */
static void on_wait(void *arg)
{
	pop3_wait(arg);
}

static void on_done(void *arg, enum sasl_outcome o, const struct sasl_result *r)
{
	struct pop3_session *s = arg;
	bool waited = s->io == POP3_IO_WAIT;
	auth_cleanup(s);
	s->io = POP3_IO_READ;
	switch (o) {
	case SASL_SUCCESS:
		str_copy(s->master, sizeof(s->master), r->master);
		open_maildrop(s, r->user);
		return;        /* input resumes when the maildrop is open */
	case SASL_FAILED:
		pop3_err(s, "AUTH", "Authentication failed");
		break;
	case SASL_TEMPFAIL:
		pop3_err(s, "SYS/TEMP", "Temporary authentication failure, try again later");
		break;
	case SASL_CANCELLED:
		pop3_err(s, NULL, "Authentication cancelled");
		break;
	case SASL_MALFORMED:
		pop3_err(s, NULL, "%s", r->detail);
		break;
	}
	if (waited)
		pop3_resume_input(s);
}

static const struct sasl_server_ops pop3_sasl_ops = {
	.challenge = on_challenge, .wait = on_wait, .done = on_done,
	.hold = net_session_hold, .release = net_session_release,
};

static void begin_exchange(struct pop3_session *s, enum sasl_mech mech)
{
	struct login_ctx c = ctx_of(s);
	auth_cleanup(s);
	s->sasl = sasl_server_new(mech, &c, &pop3_sasl_ops, s);
	pop3_cmd_running(s, &auth_hooks, NULL);
}

static bool refuse_without_tls(struct pop3_session *s)
{
	if (pop3_login_allowed_here(s))
		return false;
	pop3_err(s, NULL, "Log in only after STLS");
	return true;
}

/* ---- USER and PASS ------------------------------------------------------------------------ */

void pop3_cmd_user(struct pop3_session *s, char *args)
{
	char *argv[1];
	if (refuse_without_tls(s))
		return;
	if (pop3_split_args(args, argv, 1) != 1 || strlen(argv[0]) > POP3_USER_MAX) {
		pop3_protocol_error(s, "Syntax: USER name");
		return;
	}
	str_copy(s->user, sizeof(s->user), argv[0]);
	s->user_given = true;
	/* the same answer for every name: whether a mailbox exists is not told */
	pop3_ok(s, "Send PASS");
}

void pop3_cmd_pass(struct pop3_session *s, char *args)
{
	if (refuse_without_tls(s))
		return;
	if (!s->user_given) {
		pop3_protocol_error(s, "USER first");
		return;
	}
	/* RFC 1939 7: the argument is the rest of the line, spaces and all */
	s->user_given = false;     /* a new attempt starts with USER again */
	begin_exchange(s, SASL_MECH_PLAIN);
	sasl_server_login(s->sasl, s->user, args);
}

/* ---- AUTH ---------------------------------------------------------------------------------- */

/* A response line of the exchange (the session is in POP3_IO_AUTH). */
static bool auth_read_line(struct pop3_session *s)
{
	size_t len;
	bool too_long;
	char *line = pop3_input_line(s, AUTH_LINE_MAX, &len, &too_long);
	if (line == NULL) {
		if (too_long) {
			auth_cleanup(s);
			pop3_close_with(s, NULL, "Authentication line too long");
		}
		return false;
	}
	net_session_wait(&s->ns, NS_WAIT_COMMAND);
	sasl_server_step(s->sasl, line, len);
	OPENSSL_cleanse(line, len);
	free(line);
	return s->io == POP3_IO_READ || s->io == POP3_IO_AUTH;
}

/* "AUTH" alone: the mechanisms, one a line (what Outlook asks; RFC 5034
 * puts them in CAPA's SASL line). */
static void list_mechanisms(struct pop3_session *s)
{
	char mechs[64];
	str_copy(mechs, sizeof(mechs), sasl_server_mechanisms(true));
	pop3_ok(s, "Mechanisms follow");
	for (char *save = NULL, *m = strtok_r(mechs, " ", &save); m; m = strtok_r(NULL, " ", &save))
		pop3_line(s, "%s", m);
	pop3_end_multiline(s);
}

void pop3_cmd_auth(struct pop3_session *s, char *args)
{
	char *argv[2];
	enum sasl_mech mech;
	if (refuse_without_tls(s))
		return;
	int n = pop3_split_args(args, argv, 2);
	if (n == 0) {
		list_mechanisms(s);
		return;
	}
	if (n < 0) {
		pop3_protocol_error(s, "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	if (sasl_server_mech_parse(argv[0], &mech) < 0) {
		pop3_err(s, NULL, "Unsupported authentication mechanism");
		return;
	}
	s->user_given = false;
	begin_exchange(s, mech);
	/* RFC 5034 4: an initial response ("=" for an empty one) */
	sasl_server_start(s->sasl, n == 2 ? argv[1] : NULL, n == 2 ? strlen(argv[1]) : 0);
}
