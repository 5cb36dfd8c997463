/* The one place that writes SMTP replies (RFC 5321 4.2, RFC 2034 enhanced codes). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "smtp/smtp_session.h"

#define REPLY_MAX 512

static void write_reply(struct smtp_session *s, int code, const char *enh, const char *text)
{
	char line[REPLY_MAX];
	int n;
	if (enh != NULL && *enh != '\0')
		n = snprintf(line, sizeof(line), "%03d %s %s\r\n", code, enh, text);
	else
		n = snprintf(line, sizeof(line), "%03d %s\r\n", code, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) { /* keep the CRLF even when the text is cut */
		n = sizeof(line) - 1;
		line[n - 2] = '\r';
		line[n - 1] = '\n';
	}
	net_session_write(&s->ns, line, (size_t)n);
}

static void write_vreply(struct smtp_session *s, int code, const char *enh, const char *fmt,
                         va_list ap) __attribute__((format(printf, 4, 0)));

static void write_vreply(struct smtp_session *s, int code, const char *enh, const char *fmt,
                         va_list ap)
{
	char text[REPLY_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);
	write_reply(s, code, enh, text);
}

void smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_vreply(s, code, enh, fmt, ap);
	va_end(ap);
}

void smtp_reply_lines(struct smtp_session *s, int code, const char *const *lines, size_t n)
{
	struct evbuffer *out = net_session_output(&s->ns);
	/* RFC 5321 4.2.1: "ddd-" on every line but the last */
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(out, "%03d%c%s\r\n", code, i + 1 < n ? '-' : ' ', lines[i]);
}

void smtp_reply_message(struct smtp_session *s, int code, const char *enh, const char *text)
{
	size_t n = s->mode->reply_per_rcpt ? s->nrcpts : 1;
	for (size_t i = 0; i < n; i++)
		write_reply(s, code, enh, text);
	if (code >= 500 && net_session_error(&s->ns))
		smtp_close_with(s, 421, "4.7.0", "Too many errors, closing connection");
}

void smtp_close_with(struct smtp_session *s, int code, const char *enh, const char *text)
{
	write_reply(s, code, enh, text);
	net_session_close(&s->ns);
}

void smtp_error(struct smtp_session *s, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_vreply(s, code, enh, fmt, ap);
	va_end(ap);
	if (net_session_error(&s->ns))
		smtp_close_with(s, 421, "4.7.0", "Too many errors, closing connection");
}
