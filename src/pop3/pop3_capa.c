/* CAPA (RFC 2449 5): what the server offers, and whether a client may log in
 * on this connection yet. */
#include <stdio.h>

#include "auth/sasl_server.h"
#include "core/config.h"
#include "pop3/pop3_session.h"

bool pop3_login_allowed_here(const struct pop3_session *s)
{
	/* RFC 2595 4, RFC 8314 3: no login before TLS, SCRAM included: even
	 * without the password, an exchange in clear text shows who logs in and
	 * gives an eavesdropper something to guess passwords against */
	return s->ns.tls || s->ns.cfg->pop3.login_without_tls;
}

void pop3_cmd_capa(struct pop3_session *s, char *args)
{
	if (!pop3_args_empty(args)) {
		pop3_protocol_error(s, "CAPA takes no argument");
		return;
	}
	pop3_ok(s, "Capability list follows");
	pop3_line(s, "TOP");
	pop3_line(s, "UIDL");
	pop3_line(s, "RESP-CODES");
	pop3_line(s, "AUTH-RESP-CODE");          /* RFC 3206 */
	pop3_line(s, "PIPELINING");
	pop3_line(s, "UTF8");                    /* RFC 6856 */
	if (s->state == POP3_AUTHORIZATION) {
		if (pop3_login_allowed_here(s)) {
			pop3_line(s, "USER");
			/* the mechanisms SMTP and IMAP offer, in their order */
			pop3_line(s, "SASL %s", sasl_server_mechanisms(true));
		}
		if (!s->ns.tls && s->ns.svc->tls == SERVICE_TLS_STARTTLS)
			pop3_line(s, "STLS");
	}
	pop3_line(s, "IMPLEMENTATION postern");
	pop3_end_multiline(s);
}
