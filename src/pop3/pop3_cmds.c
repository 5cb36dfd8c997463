/* The POP3 command table (each keyword and the states it may run in), the
 * dispatch by it, and the commands that need neither a login nor the
 * maildrop: STLS, UTF8, NOOP. The others live by family (pop3_session.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "core/util.h"
#include "pop3/pop3_session.h"

static void cmd_stls(struct pop3_session *s, char *args)
{
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "STLS takes no argument");
		return;
	}
	/* RFC 2595 4: only before TLS, and only where the service offers it */
	if (s->ns.tls || s->ns.svc->tls != SERVICE_TLS_STARTTLS) {
		pop3_err(s, NULL, "TLS already active");
		return;
	}
	pop3_ok(s, "Begin TLS negotiation");
	pop3_begin_stls(s);
}

/* RFC 6856 2: the client takes UTF-8 in messages and replies. Messages are
 * sent as stored either way (postern does not downgrade), so this only
 * records that the client said so. */
static void cmd_utf8(struct pop3_session *s, char *args)
{
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "UTF8 takes no argument");
		return;
	}
	s->utf8 = true;
	pop3_ok(s, "UTF8 enabled");
}

static void cmd_noop(struct pop3_session *s, char *args)
{
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "NOOP takes no argument");
		return;
	}
	pop3_ok(s, "Nothing happens");
}

/* ---- the table --------------------------------------------------------------------- */

enum { AUTHZ = POP3_AUTHORIZATION, TRANS = POP3_TRANSACTION };

struct pop3_cmd_def {
	const char *keyword;
	unsigned states;
	void (*run)(struct pop3_session *s, char *args);
};

static const struct pop3_cmd_def commands[] = {
	{ "CAPA", AUTHZ | TRANS, pop3_cmd_capa },       /* RFC 2449 5 */
	{ "QUIT", AUTHZ | TRANS, pop3_cmd_quit },
	{ "USER", AUTHZ, pop3_cmd_user },
	{ "PASS", AUTHZ, pop3_cmd_pass },
	{ "AUTH", AUTHZ, pop3_cmd_auth },               /* RFC 5034 */
	{ "STLS", AUTHZ, cmd_stls },                    /* RFC 2595 4 */
	{ "UTF8", AUTHZ, cmd_utf8 },                    /* RFC 6856 2 */
	{ "STAT", TRANS, pop3_cmd_stat },
	{ "LIST", TRANS, pop3_cmd_list },
	{ "UIDL", TRANS, pop3_cmd_uidl },
	{ "RETR", TRANS, pop3_cmd_retr },
	{ "TOP", TRANS, pop3_cmd_top },
	{ "DELE", TRANS, pop3_cmd_dele },
	{ "RSET", TRANS, pop3_cmd_rset },
	{ "NOOP", TRANS, cmd_noop },
};

void pop3_dispatch(struct pop3_session *s, const struct pop3_cmdline *cmd)
{
	/* a handler gets its arguments as a string of its own to split */
	char args[POP3_LINE_MAX + 1];
	memcpy(args, cmd->args, cmd->args_len);
	args[cmd->args_len] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct pop3_cmd_def *d = &commands[i];
		if (strcmp(d->keyword, cmd->keyword) != 0)
			continue;
		if (!(d->states & (unsigned)s->state))
			pop3_err(s, NULL, "%s not allowed %s", d->keyword,
			         s->state == POP3_AUTHORIZATION ? "before login" : "after login");
		else
			d->run(s, args);
		OPENSSL_cleanse(args, sizeof(args));   /* PASS and AUTH carry secrets */
		return;
	}
	/* counted: a client probing keywords (APOP included) is not a mail client */
	pop3_protocol_error(s, "Unknown command");
}
