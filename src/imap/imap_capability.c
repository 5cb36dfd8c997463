/* What the server offers a client: the CAPABILITY list (greeting,
 * CAPABILITY, the OK after login) and whether a password may be sent. */
#include <stdio.h>
#include <string.h>

#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/util.h"
#include "imap/imap_session.h"

bool imap_login_allowed_here(const struct imap_session *s)
{
	/* RFC 9051 6.2.3: no clear-text passwords outside TLS (LOGINDISABLED) */
	return s->ns.tls || s->ns.cfg->imap.login_without_tls;
}

void imap_capability_text(struct imap_session *s, char *out, size_t len)
{
	int n = snprintf(out, len, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE "
	                 "UNSELECT UIDPLUS MOVE SPECIAL-USE CONDSTORE QRESYNC ESEARCH SEARCHRES "
	                 "SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES "
	                 "LIST-EXTENDED LIST-STATUS STATUS=SIZE BINARY UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE "
	                 "QUOTA=RES-MESSAGE ACL RIGHTS=texk APPENDLIMIT=%llu",
	                 (unsigned long long)s->ns.cfg->imap.append_limit);
	if (n < 0 || (size_t)n >= len)
		return;
	/* RFC 4978 3: only once logged in, the only state it may be used in */
	if (s->state != IMAP_NOT_AUTH && s->ns.cfg->imap.compress)
		n += snprintf(out + n, len - (size_t)n, " COMPRESS=DEFLATE");
	if (s->state == IMAP_NOT_AUTH && (size_t)n < len) {
		if (!s->ns.tls && s->ns.bev != NULL)
			n += snprintf(out + n, len - (size_t)n, " STARTTLS");
		bool login = imap_login_allowed_here(s);
		if (!login && (size_t)n < len)
			n += snprintf(out + n, len - (size_t)n, " LOGINDISABLED");
		/* the mechanisms SMTP offers, in its order, each as AUTH=<name> */
		char mechs[64];
		str_copy(mechs, sizeof(mechs), sasl_server_mechanisms(login));
		for (char *save = NULL, *m = strtok_r(mechs, " ", &save); m != NULL;
		     m = strtok_r(NULL, " ", &save)) {
			if ((size_t)n >= len)
				return;
			n += snprintf(out + n, len - (size_t)n, " AUTH=%s", m);
		}
	}
}
