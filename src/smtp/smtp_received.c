/* The Received: trace field prepended to each accepted message (RFC 5321 4.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"
#include "smtp/smtp_session.h"

/* RFC 3848 / RFC 6531 "with" protocol names: S for TLS, A for AUTH. */
static const char *with_protocol(const struct smtp_session *s)
{
	static const char *const names[2][2][2] = {
		/* [utf8][tls][auth] */
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};
	if (!s->esmtp)
		return "SMTP";
	return names[s->smtputf8][s->ns.tls][s->authenticated];
}

char *smtp_trace_header(const struct smtp_session *s, size_t *len)
{
	char date[64], tls[200] = "";
	size_t cap = 1024 + (s->nrcpts == 1 ? strlen(s->rcpts[0]) : 0);
	char *h = xmalloc(cap);
	rfc5322_date(date, sizeof(date));
	if (s->ns.tls)
		snprintf(tls, sizeof(tls), "\n\t(using %s)", s->tls_desc);
	/* the Maildir way: LF line ends; continuation lines start with a tab.
	 * Return-Path is added at final delivery (store/commit.c). */
	/* submitted mail: the client's address is private unless configured (RFC 6409 8) */
	char from_ip[64];
	if (s->authenticated && !s->ns.cfg->submission.received_ip)
		snprintf(from_ip, sizeof(from_ip), "authenticated");
	else
		snprintf(from_ip, sizeof(from_ip), "[%s]", s->ns.conn.ip);
	int n = snprintf(h, cap,
	                 "Received: from %s (%s)\n"
	                 "\tby %s (postern) with %s id %s%s%s%s%s;\n"
	                 "\t%s\n",
	                 s->helo_seen ? s->helo : "unknown", from_ip,
	                 s->ns.cfg->hostname, with_protocol(s), s->txid, tls,
	                 s->nrcpts == 1 ? "\n\tfor <" : "", s->nrcpts == 1 ? s->rcpts[0] : "",
	                 s->nrcpts == 1 ? ">" : "", date);
	if (n < 0 || (size_t)n >= cap)
		n = (int)strlen(h);
	*len = (size_t)n;
	return h;
}
