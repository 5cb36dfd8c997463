#include "queue/bounce.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "mail/address.h"
#include "mail/header.h"

struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void date_of(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* Text put into headers or the report must not break lines. */
static void one_line(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (; *in && o + 1 < outlen; in++)
		out[o++] = (*in == '\r' || *in == '\n' || *in == '\t') ? ' ' : *in;
	out[o] = '\0';
}

static const char *subject_of(const struct bounce_info *in)
{
	if (in->to_postmaster)
		return "Postmaster notice: Undelivered Mail";
	return in->delayed ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender";
}

static void add_headers(struct strbuf *b, const struct bounce_info *in, const char *boundary)
{
	char date[64], id[17];
	rfc5322_date(date, sizeof(date));
	random_id(id, 16);
	sb_printf(b, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", in->hostname);
	if (in->to_postmaster)
		sb_printf(b, "To: Postmaster <postmaster@%s>\n", in->hostname);
	else
		sb_printf(b, "To: <%s>\n", in->sender);
	sb_printf(b, "Subject: %s\n", subject_of(in));
	sb_printf(b, "Date: %s\n", date);
	sb_printf(b, "Message-ID: <%s.%s@%s>\n", id, in->queue_id, in->hostname);
	/* RFC 3834: a report answers the sender's message; a notice to a third party is generated */
	sb_printf(b, "Auto-Submitted: %s\n", in->to_postmaster ? "auto-generated" : "auto-replied");
	sb_printf(b, "MIME-Version: 1.0\n");
	sb_printf(b, "Content-Type: multipart/report; report-type=delivery-status;\n"
	             "\tboundary=\"%s\"\n\n", boundary);
}

/* Why the postmaster gets this one, in words an admin can act on. */
static void add_postmaster_text(struct strbuf *b, const struct bounce_info *in)
{
	char sender[300];
	one_line(in->sender, sender, sizeof(sender));
	if (!bounce_wanted(in->sender))
		sb_printf(b, "A message from <%s> could not be delivered to the recipients below.\n"
		             "Its sender is the mail system itself (a bounce or another notice), so no\n"
		             "report can go back to it; this notice goes to the postmaster instead.\n\n",
		          sender);
	else
		sb_printf(b, "A message from <%s> could not be delivered to the recipients below,\n"
		             "and the report could not be returned to <%s> (no such mailbox here);\n"
		             "this notice goes to the postmaster instead.\n\n", sender, sender);
}

static void add_human_part(struct strbuf *b, const struct bounce_info *in, const char *boundary)
{
	char line[600];
	sb_printf(b, "This is a MIME-encapsulated message.\n\n--%s\n", boundary);
	sb_printf(b, "Content-Description: Notification\nContent-Type: text/plain; charset=utf-8\n\n");
	sb_printf(b, "This is the mail system at host %s.\n\n", in->hostname);
	if (in->to_postmaster)
		add_postmaster_text(b, in);
	else if (in->delayed)
		sb_printf(b, "Your message could not be delivered yet to the recipients below.\n"
		             "The mail system will keep trying; you do not need to send it again.\n\n");
	else
		sb_printf(b, "Your message could not be delivered to the recipients below.\n"
		             "This is a permanent error; the message was not delivered.\n\n");
	for (size_t i = 0; i < in->nrcpts; i++) {
		one_line(in->rcpts[i].diagnostic, line, sizeof(line));
		sb_printf(b, "<%s>: %s\n", in->rcpts[i].rcpt, line);
	}
	sb_printf(b, "\n");
}

static void add_status_part(struct strbuf *b, const struct bounce_info *in, const char *boundary)
{
	char date[64], line[600];
	date_of(in->arrival, date, sizeof(date));
	sb_printf(b, "--%s\nContent-Description: Delivery report\n"
	             "Content-Type: message/delivery-status\n\n", boundary);
	sb_printf(b, "Reporting-MTA: dns; %s\nX-Postern-Queue-ID: %s\nArrival-Date: %s\n",
	          in->hostname, in->queue_id, date);
	for (size_t i = 0; i < in->nrcpts; i++) {
		const struct bounce_rcpt *r = &in->rcpts[i];
		sb_printf(b, "\nFinal-Recipient: rfc822; %s\nOriginal-Recipient: rfc822; %s\n"
		             "Action: %s\nStatus: %s\n", r->rcpt, r->rcpt,
		          in->delayed ? "delayed" : "failed", r->status);
		if (r->remote_mta && *r->remote_mta)
			sb_printf(b, "Remote-MTA: dns; %s\n", r->remote_mta);
		one_line(r->diagnostic, line, sizeof(line));
		sb_printf(b, "Diagnostic-Code: %s\n", line);
	}
	sb_printf(b, "\n");
}

char *bounce_build(const struct bounce_info *in, size_t *len)
{
	struct strbuf b = { 0 };
	char boundary[40], rnd[17];
	random_id(rnd, 16);
	snprintf(boundary, sizeof(boundary), "%s/%s", in->queue_id, rnd);
	add_headers(&b, in, boundary);
	add_human_part(&b, in, boundary);
	add_status_part(&b, in, boundary);
	/* RFC 3462 text/rfc822-headers: the headers only, never the body */
	sb_printf(&b, "--%s\nContent-Description: Undelivered Message Headers\n"
	              "Content-Type: text/rfc822-headers\n\n", boundary);
	sb_add(&b, in->orig_headers, in->orig_len);
	if (in->orig_len == 0 || in->orig_headers[in->orig_len - 1] != '\n')
		sb_add(&b, "\n", 1);
	sb_printf(&b, "\n--%s--\n", boundary);
	*len = b.len;
	return b.s;
}

void bounce_detail_format(char *out, size_t outlen, const char *status, const char *mta,
                          const char *diagnostic)
{
	char s[32], m[256], d[512];
	one_line(status, s, sizeof(s));
	one_line(mta ? mta : "", m, sizeof(m));
	one_line(diagnostic, d, sizeof(d));
	snprintf(out, outlen, "%s\t%s\t%s", s, m, d);
}

void bounce_detail_parse(char *buf, const char **status, const char **mta, const char **diagnostic)
{
	char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	if (t1 == NULL || t2 == NULL) {
		*status = "5.0.0";
		*mta = "";
		*diagnostic = buf;
		return;
	}
	*t1 = *t2 = '\0';
	*status = buf;
	*mta = t1 + 1;
	*diagnostic = t2 + 1;
}

bool bounce_wanted(const char *sender)
{
	if (sender == NULL || *sender == '\0')
		return false;
	size_t local;
	(void)mail_address_split(sender, &local);
	return !(local == 13 && strncasecmp(sender, "mailer-daemon", 13) == 0);
}

bool bounce_is_postmaster_notice(const char *headers, size_t len, const char *hostname)
{
	struct mail_field f;
	char want[300];
	if (!mail_header_find(headers, len, "Received", &f))
		return false;
	const char *v = f.value, *end = f.value + f.value_len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	int n = snprintf(want, sizeof(want), "by %s (postern) id " BOUNCE_TRACE_NOTICE ";", hostname);
	return n > 0 && (size_t)n < sizeof(want) && (size_t)(end - v) >= (size_t)n &&
	       strncasecmp(v, want, (size_t)n) == 0;
}
