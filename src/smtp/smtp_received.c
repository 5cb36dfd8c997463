/* The Received: trace field prepended to each accepted message (RFC 5321 4.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"
#include "net/listener.h"
#include "smtp/smtp_session.h"

/* RFC 3848 / RFC 6531 "with" protocol names: the mode's (ESMTP, LMTP, or
 * their UTF8 forms), then S for TLS, A for AUTH. */
static void with_protocol(const struct smtp_session *s, char *out, size_t len)
{
	if (!s->esmtp) {
		snprintf(out, len, "SMTP");
		return;
	}
	snprintf(out, len, "%s%s%s", s->smtputf8 ? s->mode->with_utf8 : s->mode->with,
	         s->ns.tls ? "S" : "", s->authenticated ? "A" : "");
}

/* Where the client came from: its address, or the UNIX socket. */
static void client_address(const struct smtp_session *s, char *out, size_t len)
{
	if (s->authenticated && !s->ns.cfg->submission.received_ip)
		/* submitted mail: the client's address is private unless configured (RFC 6409 8) */
		snprintf(out, len, "authenticated");
	else if (strcmp(s->ns.conn.ip, NET_PEER_LOCAL) == 0)
		snprintf(out, len, "local socket");
	else
		snprintf(out, len, "[%s]", s->ns.conn.ip);
}

char *smtp_trace_header(const struct smtp_session *s, size_t *len)
{
	char date[64], tls[200] = "", with[16], from_ip[64];
	size_t cap = 1024 + (s->nrcpts == 1 ? strlen(s->rcpts[0]) : 0);
	char *h = xmalloc(cap);
	rfc5322_date(date, sizeof(date));
	if (s->ns.tls)
		snprintf(tls, sizeof(tls), "\n\t(using %s)", s->tls_desc);
	/* the Maildir way: LF line ends; continuation lines start with a tab.
	 * Return-Path is added at final delivery (store/commit.c). */
	client_address(s, from_ip, sizeof(from_ip));
	with_protocol(s, with, sizeof(with));
	int n = snprintf(h, cap,
	                 "Received: from %s (%s)\n"
	                 "\tby %s (postern) with %s id %s%s%s%s%s;\n"
	                 "\t%s\n",
	                 s->helo_seen ? s->helo : "unknown", from_ip,
	                 s->ns.cfg->hostname, with, s->txid, tls,
	                 s->nrcpts == 1 ? "\n\tfor <" : "", s->nrcpts == 1 ? s->rcpts[0] : "",
	                 s->nrcpts == 1 ? ">" : "", date);
	if (n < 0 || (size_t)n >= cap)
		n = (int)strlen(h);
	*len = (size_t)n;
	return h;
}
