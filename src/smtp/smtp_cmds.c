/* SMTP command handlers: parse, check state, act, reply (STYLE.md: a command table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "auth/sasl_server.h"
#include "core/cidr.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mailauth/inbound.h"
#include "mailauth/srs.h"
#include "smtp/smtp_session.h"
#include "store/maildir.h"
#include "store/msgbuf.h"
#include "store/resolve.h"
#include "store/store.h"

/* ---- transaction state ------------------------------------------------- */

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void smtp_transaction_reset(struct smtp_session *s)
{
	s->in_mail = false;
	s->from[0] = '\0';
	s->txid[0] = '\0';
	s->smtputf8 = false;
	s->declared_size = 0;
	free_list(s->rcpts, s->nrcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	free(s->rcpt_groups);
	s->rcpt_groups = NULL;
	free_list(s->maildirs, s->nmaildirs);
	free_list(s->maildir_users, s->nmaildirs);
	s->maildirs = NULL;
	s->maildir_users = NULL;
	s->nmaildirs = 0;
	free_list(s->remotes, s->nremotes);
	s->remotes = NULL;
	s->nremotes = 0;
	free_list(s->forwards, s->nforwards);
	s->forwards = NULL;
	s->nforwards = 0;
	s->forward_as = SMTP_FORWARD_UNKNOWN;
	s->forward_from[0] = '\0';
	msgbuf_free(s->msg);
	s->msg = NULL;
	s->msg_octets = 0;
	s->msg_too_big = s->msg_io_error = false;
	s->bdat_used = false;
	smtp_data_init(&s->data, SMTP_TEXTLINE_MAX);   /* its flags belong to one message */
	free(s->header);
	s->header = NULL;
	smtp_mailauth_reset(s);
}

/* The queue id of a committed message that queued (the first, for LMTP). */
static const char *queued_id(const struct smtp_session *s)
{
	if (s->state != SMTP_S_COMMITTING)
		return NULL;
	for (size_t g = 0; g < s->job.ngroups; g++)
		if (commit_group_queue_id(&s->job.groups[g]) != NULL)
			return commit_group_queue_id(&s->job.groups[g]);
	return NULL;
}

void smtp_log_transaction(struct smtp_session *s, const char *result, uint64_t size)
{
	json_t *rcpts = json_array();
	for (size_t i = 0; i < s->nrcpts; i++)
		json_array_append_new(rcpts, json_string(s->rcpts[i]));
	char *rj = json_dumps(rcpts, JSON_COMPACT | JSON_ENSURE_ASCII);
	/* the recipient list last: a line too long for the log loses it, not the result */
	const struct inbound_verdict *v = s->auth_verdict;
	log_event(LOG_INFO, "smtp.transaction", "s", "session", s->ns.id, "s", "id", s->txid,
	          "s", "service", service_name(s->ns.svc), "s", "ip", s->ns.conn.ip, "s", "helo", s->helo, "s", "tls", s->ns.tls ? s->tls_version : NULL,
	          "s", "from", s->from, "i", "size", (long long)size,
	          "s", "spf", v ? v->spf : NULL, "s", "dkim", v ? v->dkim : NULL,
	          "s", "dmarc", v ? v->dmarc : NULL, "s", "arc", v ? v->arc : NULL,
	          "s", "queue_id", queued_id(s),
	          "s", "result", result, "i", "nrcpts", (long long)s->nrcpts,
	          "j", "rcpts", rj ? rj : "[]", NULL);
	free(rj);
	json_decref(rcpts);
}

/* ---- greeting commands --------------------------------------------------- */

/* The EHLO (or LHLO) reply: the extensions this session's mode offers. */
static void reply_extensions(struct smtp_session *s, const char *helo)
{
	char greet[300], size[64], auth[80];
	const char *lines[10];
	size_t n = 0;
	snprintf(greet, sizeof(greet), "%s greets %s", s->ns.cfg->hostname, helo);
	/* AUTH is offered only where a password may travel: every mechanism */
	snprintf(auth, sizeof(auth), "AUTH %s", sasl_server_mechanisms(true));
	snprintf(size, sizeof(size), "SIZE %llu", (unsigned long long)smtp_max_message_size(s));
	lines[n++] = greet;
	lines[n++] = "PIPELINING";
	lines[n++] = size;
	lines[n++] = "8BITMIME";
	lines[n++] = "ENHANCEDSTATUSCODES";
	lines[n++] = "SMTPUTF8";
	lines[n++] = "CHUNKING";
	if (s->mode->starttls && !s->ns.tls)
		lines[n++] = "STARTTLS";
	if (smtp_auth_offered(s) && !s->authenticated)
		lines[n++] = auth;
	smtp_reply_lines(s, 250, lines, n);
}

/* HELO, EHLO and LHLO (RFC 2033 4.1: EHLO's syntax and reply). */
static void cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd, bool esmtp)
{
	char helo[SMTP_DOMAIN_MAX + 1];
	if (smtp_parse_helo(cmd->arg, helo, sizeof(helo)) != SMTP_PARSE_OK) {
		smtp_error(s, 501, "5.5.4", "Syntax: %s hostname",
		           cmd->verb == SMTP_CMD_LHLO ? "LHLO" : esmtp ? "EHLO" : "HELO");
		return;
	}
	smtp_transaction_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", helo);
	s->helo_seen = true;
	s->esmtp = esmtp;
	if (esmtp)
		reply_extensions(s, helo);
	else
		smtp_reply(s, 250, NULL, "%s", s->ns.cfg->hostname);
}

/* ---- MAIL ---------------------------------------------------------------- */

/* Checks MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8).
 * Returns false after replying. */
static bool mail_params_ok(struct smtp_session *s, const struct smtp_path *p)
{
	for (size_t i = 0; i < p->nparams; i++) {
		const struct smtp_param *pm = &p->params[i];
		unsigned long long size;
		if (strcasecmp(pm->key, "SIZE") == 0) {
			if (!pm->has_value || !smtp_parse_size_value(pm->value, &size)) {
				smtp_error(s, 501, "5.5.4", "Syntax: SIZE=<number>");
				return false;
			}
			if (size > smtp_max_message_size(s)) {
				smtp_error(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
				return false;
			}
			s->declared_size = size;   /* what RCPT checks quotas with */
		} else if (strcasecmp(pm->key, "BODY") == 0) {
			if (!pm->has_value || (strcasecmp(pm->value, "7BIT") != 0 &&
			                       strcasecmp(pm->value, "8BITMIME") != 0)) {
				smtp_error(s, 555, "5.5.4", "Unsupported BODY type");
				return false;
			}
		} else if (strcasecmp(pm->key, "SMTPUTF8") == 0 && !pm->has_value && s->esmtp) {
			s->smtputf8 = true;
		} else if (strcasecmp(pm->key, "AUTH") == 0 && pm->has_value && smtp_auth_offered(s)) {
			/* RFC 4954 5: the original submitter; we only ever trust our own AUTH */
		} else {
			smtp_error(s, 555, "5.5.4", "Unsupported parameter %s", pm->key);
			return false;
		}
	}
	return true;
}

static void reply_parse_error(struct smtp_session *s, enum smtp_parse_err e, const char *what)
{
	switch (e) {
	case SMTP_PARSE_TOO_LONG:
		smtp_error(s, 501, "5.1.3", "%s address too long", what);
		break;
	case SMTP_PARSE_BAD_PARAM:
		smtp_error(s, 555, "5.5.4", "Malformed parameter");
		break;
	case SMTP_PARSE_BAD_CHAR:
		smtp_error(s, 501, "5.1.7", "Invalid character in %s address", what);
		break;
	default:
		smtp_error(s, 501, "5.5.4", "Syntax: %s", strcmp(what, "sender") == 0 ?
		           "MAIL FROM:<address>" : "RCPT TO:<address>");
	}
}

/* An authenticated user sends as their own addresses only (unless allowed
 * any); the null sender is for the mail system, not for users. */
static bool sender_allowed(struct smtp_session *s, const struct smtp_path *p)
{
	if (!s->authenticated || s->any_sender)
		return true;
	int ok = p->null_path ? 0 : resolve_sender_allowed(worker_store(s->ns.worker), s->auth_user, p->addr);
	if (ok == 1)
		return true;
	if (ok < 0) {
		smtp_reply(s, 451, "4.3.0", "Temporary lookup failure");
		return false;
	}
	log_security(LOG_WARN, "smtp.sender_refused", "s", "session", s->ns.id, "s", "ip", s->ns.conn.ip,
	             "s", "user", s->auth_user, "s", "from", p->addr, "s", "where", "MAIL FROM", NULL);
	smtp_error(s, 553, "5.7.1", "<%s>: Sender address not owned by user %s", p->addr, s->auth_user);
	return false;
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_path p;
	enum smtp_parse_err e;
	if (s->mode->auth && !s->authenticated) {
		smtp_error(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if ((e = smtp_parse_path_arg(cmd->arg, true, true, &p)) != SMTP_PARSE_OK) {
		reply_parse_error(s, e, "sender");
		return;
	}
	s->smtputf8 = false;
	if (!mail_params_ok(s, &p))
		return;
	if (p.utf8 && !s->smtputf8) {
		/* RFC 6531 3.5: non-ASCII addresses need the SMTPUTF8 parameter */
		smtp_error(s, 553, "5.6.7", "Address requires SMTPUTF8");
		return;
	}
	if (!sender_allowed(s, &p) || smtp_dnsbl_refuses(s) || smtp_sendlimit_refuses(s, 0))
		return;
	s->in_mail = true;
	net_session_logged_in(&s->ns);   /* a transaction is what an MX client comes for */
	snprintf(s->from, sizeof(s->from), "%s", p.addr);
	random_id(s->txid, 12);
	smtp_mailauth_start(s);
	smtp_reply(s, 250, "2.1.0", "Ok");
}

/* ---- RCPT ---------------------------------------------------------------- */

/* Adds item to a list unless present: two addresses of one mailbox get one copy. */
static void add_unique(char ***list, size_t *n, const char *item)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], item) == 0)
			return;
	*list = xrealloc(*list, (*n + 1) * sizeof(char *));
	(*list)[(*n)++] = xstrdup(item);
}

/* A mailbox's Maildir, with its user beside it (one copy per mailbox). */
static void add_maildir(struct smtp_session *s, const char *path, const struct resolved_mailbox *m)
{
	char user[sizeof(m->local) + sizeof(m->domain) + 1];
	size_t n = s->nmaildirs;
	add_unique(&s->maildirs, &s->nmaildirs, path);
	if (s->nmaildirs == n)
		return;
	snprintf(user, sizeof(user), "%s@%s", m->local, m->domain);
	s->maildir_users = xrealloc(s->maildir_users, s->nmaildirs * sizeof(char *));
	s->maildir_users[n] = xstrdup(user);
}

/* The recipient's mailboxes, and its remote targets on `remote` (the
 * queue's list of the transaction's sender, or the SRS forwards). */
static bool accept_mailboxes(struct smtp_session *s, const struct resolved *r, char ***remote,
                             size_t *nremote)
{
	for (size_t i = 0; i < r->nmailbox; i++) {
		char path[4096];
		if (maildir_path(s->ns.cfg->data_dir, r->mailbox[i].domain, r->mailbox[i].local, path,
		                 sizeof(path)) < 0)
			return false;
		add_maildir(s, path, &r->mailbox[i]);
	}
	for (size_t i = 0; i < r->nremote; i++)
		add_unique(remote, nremote, r->remote[i]);
	return true;
}

/* The recipient's commit group is what its RCPT added to the lists: a
 * mailbox an earlier recipient named already is that one's (one copy per
 * mailbox), so its reply says whether the copies new with it were made. */
static void accept_rcpt(struct smtp_session *s, const char *addr)
{
	s->rcpts = xrealloc(s->rcpts, (s->nrcpts + 1) * sizeof(char *));
	s->rcpt_groups = xrealloc(s->rcpt_groups, (s->nrcpts + 1) * sizeof(struct commit_group));
	s->rcpt_groups[s->nrcpts] = (struct commit_group){ .maildirs_end = s->nmaildirs,
	                                                   .remotes_end = s->nremotes,
	                                                   .forwards_end = s->nforwards };
	s->rcpts[s->nrcpts++] = xstrdup(addr);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

/* Relaying is for the networks in relay.hosts and authenticated users, in
 * the modes that relay at all. */
static bool may_relay(const struct smtp_session *s, const struct smtp_path *p)
{
	if (!s->mode->relay || p->domain[0] == '[')
		return false;
	return s->authenticated ||
	       cidr_match_any(s->ns.cfg->relay.hosts, s->ns.cfg->relay.nhosts, s->ns.conn.ip);
}

static void reply_resolve(struct smtp_session *s, enum resolve_result rr, const struct resolved *r,
                          const struct smtp_path *p)
{
	const char *addr = p->addr;
	char **unused = NULL, ***remote = &unused;
	size_t nunused = 0, *nremote = &nunused;
	switch (rr) {
	case RESOLVE_OK:
		if (smtp_quota_refuse_rcpt(s, r, addr))
			break;
		/* an alias's target elsewhere: forwarded, with SRS when it applies */
		if (r->nremote > 0 && (remote = smtp_srs_forward_list(s, &nremote)) == NULL)
			smtp_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", addr);
		else if (!accept_mailboxes(s, r, remote, nremote))
			smtp_reply(s, 451, "4.3.0", "<%s>: mailbox path unusable", addr);
		else
			accept_rcpt(s, addr);
		break;
	case RESOLVE_NOT_LOCAL:
		if (may_relay(s, p)) {
			add_unique(&s->remotes, &s->nremotes, addr);
			accept_rcpt(s, addr);
		} else if (s->mode->relay) {
			net_session_violation(&s->ns, BAN_RELAY);
			smtp_error(s, 554, "5.7.1", "<%s>: Relay access denied", addr);
		} else {
			/* LMTP delivers to mailboxes here and nowhere else */
			smtp_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: not a local domain",
			           addr);
		}
		break;
	case RESOLVE_NO_SUCH_USER:
		/* each one counts, as fail2ban's postfix jail counts them: a
		 * directory harvest is many of them */
		net_session_violation(&s->ns, BAN_UNKNOWN_RCPT);
		smtp_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: User unknown", addr);
		break;
	case RESOLVE_TOO_MANY:
		smtp_error(s, 550, "5.4.6", "<%s>: Alias expansion loop or too many targets", addr);
		break;
	case RESOLVE_TEMPFAIL:
		smtp_reply(s, 451, "4.3.0", "<%s>: Temporary lookup failure", addr);
		break;
	case RESOLVE_NO_ADMIN:
		/* RFC 5321 4.5.1 forbids refusing postmaster for good, and there is
		 * nowhere to put it yet (no user, or no `postmaster` address reaches
		 * anyone): the sender keeps it and retries once the admin has fixed that */
		smtp_reply(s, 451, "4.3.0", "<%s>: No mailbox for the postmaster yet; try again later",
		           addr);
		break;
	}
}

/* A bounce to an SRS address goes where the address says: to a mailbox of
 * ours, or out (its MAC stands in for the relay check). */
static void rcpt_bounce(struct smtp_session *s, const struct smtp_path *p, const char *to)
{
	char local[SMTP_LOCAL_MAX + 1], domain[SMTP_DOMAIN_MAX + 1];
	struct resolved r;
	if (resolve_split_address(to, local, sizeof(local), domain, sizeof(domain)) < 0) {
		smtp_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: invalid SRS address",
		           p->addr);
		return;
	}
	struct resolve_admin admin = resolve_admin_of(s->ns.cfg);
	enum resolve_result rr = resolve_recipient(worker_store(s->ns.worker), &admin, local, domain, &r);
	if (rr != RESOLVE_NOT_LOCAL) {
		reply_resolve(s, rr, &r, p);
		return;
	}
	add_unique(&s->remotes, &s->nremotes, to);
	accept_rcpt(s, p->addr);
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_path p;
	struct resolved r;
	enum smtp_parse_err e;
	if ((e = smtp_parse_path_arg(cmd->arg, false, true, &p)) != SMTP_PARSE_OK) {
		reply_parse_error(s, e, "recipient");
		return;
	}
	if (p.utf8 && !s->smtputf8) {
		smtp_error(s, 553, "5.6.7", "Address requires SMTPUTF8");
		return;
	}
	if (p.nparams > 0) {
		smtp_error(s, 555, "5.5.4", "Unsupported parameter %s", p.params[0].key);
		return;
	}
	if (s->nrcpts >= (size_t)s->ns.cfg->limits.recipients) {
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	if (smtp_sendlimit_refuses(s, s->nrcpts + 1))
		return;
	char bounce_to[SRS_ADDR_MAX];
	switch (smtp_srs_recipient(s, &p, bounce_to, sizeof(bounce_to))) {
	case SMTP_SRS_REFUSED:
		return;
	case SMTP_SRS_BOUNCE:
		rcpt_bounce(s, &p, bounce_to);
		return;
	case SMTP_SRS_NOT_SRS:
		break;
	}
	/* RFC 5321 4.5.1: <postmaster> must work; it is postmaster@<hostname>,
	 * which the resolver's admin rule always takes as local (no relay check) */
	struct resolve_admin admin = resolve_admin_of(s->ns.cfg);
	enum resolve_result rr = resolve_recipient(worker_store(s->ns.worker), &admin,
	                                           p.postmaster ? "postmaster" : p.local,
	                                           p.postmaster ? s->ns.cfg->hostname : p.domain, &r);
	reply_resolve(s, rr, &r, &p);
}

/* ---- DATA / BDAT ----------------------------------------------------------- */

static void cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (*cmd->arg != '\0') {
		smtp_error(s, 501, "5.5.4", "Syntax: DATA");
	} else if (s->bdat_used) {
		smtp_error(s, 503, "5.5.1", "DATA not allowed after BDAT");
	} else if (s->nrcpts == 0) {
		/* RFC 2920 3.1: with pipelining, DATA without valid recipients is 554 */
		smtp_error(s, 554, "5.5.1", "No valid recipients");
	} else {
		smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
		smtp_begin_data(s);
	}
}

static void cmd_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	unsigned long long size;
	bool last;
	if (smtp_parse_bdat(cmd->arg, &size, &last) != SMTP_PARSE_OK) {
		/* the chunk size is unknown, so the stream cannot be resynchronised */
		smtp_close_with(s, 501, "5.5.4", "Syntax: BDAT size [LAST]; closing connection");
		return;
	}
	smtp_begin_bdat(s, size, last);
	/* RFC 3030 2: the chunk is read even when the command fails */
	if (!s->in_mail) {
		s->bdat_code = 503; s->bdat_enh = "5.5.1"; s->bdat_text = "Need MAIL command";
	} else if (s->nrcpts == 0) {
		s->bdat_code = 554; s->bdat_enh = "5.5.1"; s->bdat_text = "No valid recipients";
	}
}

/* ---- the rest ---------------------------------------------------------------- */

static void cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (*cmd->arg != '\0') {
		smtp_error(s, 501, "5.5.4", "Syntax: STARTTLS");
	} else {
		smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
		smtp_begin_starttls(s);
	}
}

static void cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_transaction_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_close_with(s, 221, "2.0.0", "Bye");
}

static void cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, 214, "2.0.0", "Commands: %s", s->mode->commands);
}

static void cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	/* reveal nothing about which addresses exist (RFC 5321 3.5.3) */
	smtp_reply(s, 252, "2.5.0", "Cannot verify, but will accept message and attempt delivery");
}

static void cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_cmd_auth(s, cmd->arg);
}

static void cmd_ehlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	cmd_helo(s, cmd, true);
}

static void cmd_helo_only(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	cmd_helo(s, cmd, false);
}

static void cmd_lhlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	cmd_helo(s, cmd, true);
}

/* RFC 2033 4.1: an LMTP server must not accept HELO or EHLO. */
static void cmd_not_lhlo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_error(s, 500, "5.5.1", "This is LMTP: use LHLO (RFC 2033)");
}

/* ---- the command table ------------------------------------------------------ */

/* Where the session is in the dialogue; a verb lists the ones it may run in. */
enum {
	AT_GREETED = 1u << 0,   /* no HELO/EHLO yet */
	AT_READY = 1u << 1,     /* HELO/EHLO seen, no transaction */
	AT_MAIL = 1u << 2,      /* MAIL accepted */
	AT_ANY = AT_GREETED | AT_READY | AT_MAIL,
};

/* Which modes know a verb (enum smtp_mode bits). */
#define IN_SMTP (SMTP_MODE_BIT(SMTP_MODE_MX) | SMTP_MODE_BIT(SMTP_MODE_SUBMISSION))
#define IN_LMTP SMTP_MODE_BIT(SMTP_MODE_LMTP)
#define IN_ALL (IN_SMTP | IN_LMTP)

struct smtp_cmd_def {
	enum smtp_verb verb;
	unsigned modes;         /* where the row applies; elsewhere the verb is unknown */
	void (*run)(struct smtp_session *s, const struct smtp_cmd *cmd);
	unsigned allowed;
	bool before_tls_only;   /* refused once TLS is up */
	const char *refusal;    /* 503 5.5.1 text when not allowed here */
};

static const struct smtp_cmd_def commands[] = {
	{ SMTP_CMD_HELO, IN_SMTP, cmd_helo_only, AT_ANY, false, NULL },
	{ SMTP_CMD_EHLO, IN_SMTP, cmd_ehlo, AT_ANY, false, NULL },
	{ SMTP_CMD_LHLO, IN_LMTP, cmd_lhlo, AT_ANY, false, NULL },
	{ SMTP_CMD_HELO, IN_LMTP, cmd_not_lhlo, AT_ANY, false, NULL },
	{ SMTP_CMD_EHLO, IN_LMTP, cmd_not_lhlo, AT_ANY, false, NULL },
	{ SMTP_CMD_MAIL, IN_ALL, cmd_mail, AT_READY, false, "Nested MAIL command" },
	{ SMTP_CMD_RCPT, IN_ALL, cmd_rcpt, AT_MAIL, false, "Need MAIL before RCPT" },
	{ SMTP_CMD_DATA, IN_ALL, cmd_data, AT_MAIL, false, "Need MAIL command" },
	/* BDAT's chunk is read whatever the state (RFC 3030 2): it decides itself */
	{ SMTP_CMD_BDAT, IN_ALL, cmd_bdat, AT_ANY, false, NULL },
	{ SMTP_CMD_STARTTLS, IN_SMTP, cmd_starttls, AT_ANY, true, "TLS already active" },
	{ SMTP_CMD_RSET, IN_ALL, cmd_rset, AT_ANY, false, NULL },
	{ SMTP_CMD_NOOP, IN_ALL, cmd_noop, AT_ANY, false, NULL },
	{ SMTP_CMD_QUIT, IN_ALL, cmd_quit, AT_ANY, false, NULL },
	{ SMTP_CMD_HELP, IN_ALL, cmd_help, AT_ANY, false, NULL },
	{ SMTP_CMD_VRFY, IN_ALL, cmd_vrfy, AT_ANY, false, NULL },
	{ SMTP_CMD_EXPN, IN_ALL, cmd_vrfy, AT_ANY, false, NULL },
	{ SMTP_CMD_AUTH, IN_SMTP, cmd_auth, AT_ANY, false, NULL },
};

static unsigned dialogue_state(const struct smtp_session *s)
{
	if (s->in_mail)
		return AT_MAIL;
	return s->helo_seen ? AT_READY : AT_GREETED;
}

/* The state check for every verb, in one place; handlers only parse and act. */
void smtp_dispatch(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct smtp_cmd_def *d = &commands[i];
		if (d->verb != cmd->verb || !(d->modes & SMTP_MODE_BIT(s->mode->mode)))
			continue;
		unsigned at = dialogue_state(s);
		if (!(d->allowed & at) || (d->before_tls_only && s->ns.tls)) {
			if (at == AT_GREETED && cmd->verb == SMTP_CMD_MAIL)
				smtp_error(s, 503, "5.5.1", "Send %s first", s->mode->greeting_cmd);
			else
				smtp_error(s, 503, "5.5.1", "%s", d->refusal);
			return;
		}
		d->run(s, cmd);
		return;
	}
	smtp_error(s, 500, "5.5.2", "Command unrecognized");
}
