/* IMAP output: every octet a command sends goes through these helpers onto
 * the session engine's output buffer (flow control and caps are the
 * engine's). Response lines, continuations of a line, strings, literals. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "imap/imap_session.h"

/* The engine's output buffer, or NULL once the connection is gone. */
static struct evbuffer *output(struct imap_session *s)
{
	return s->ns.bev != NULL ? net_session_output(&s->ns) : NULL;
}

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	net_session_write(&s->ns, data, len);
}

static void write_vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void write_vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	struct evbuffer *out = output(s);
	if (out == NULL)
		return;
	evbuffer_add_printf(out, "%s", prefix);
	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_vline(s, "* ", fmt, ap);
	va_end(ap);
}

void imap_tagged(struct imap_session *s, const char *tag, const char *status, const char *fmt, ...)
{
	char prefix[IMAP_TAG_MAX + 16];
	va_list ap;
	snprintf(prefix, sizeof(prefix), "%s %s ", tag && *tag ? tag : "*", status);
	va_start(ap, fmt);
	write_vline(s, prefix, fmt, ap);
	va_end(ap);
	/* a command that succeeded ends a run of protocol errors */
	if (strcmp(status, "OK") == 0)
		net_session_good_command(&s->ns);
}

void imap_printf(struct imap_session *s, const char *fmt, ...)
{
	struct evbuffer *out = output(s);
	va_list ap;
	if (out == NULL)
		return;
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
}

void imap_write_literal(struct imap_session *s, const void *data, size_t len, bool literal8)
{
	imap_printf(s, "%s{%zu}\r\n", literal8 ? "~" : "", len);
	imap_write(s, data, len);
}

void imap_write_string(struct imap_session *s, const char *str, size_t len)
{
	/* UTF-8 may be quoted once the client said it reads it (RFC 6855 3,
	 * RFC 9051 9 QUOTED-CHAR) */
	bool utf8_ok = imap_client_utf8(s) && imap_utf8_valid(str, len);
	bool quotable = len < 1024;
	for (size_t i = 0; quotable && i < len; i++) {
		unsigned char c = (unsigned char)str[i];
		if (c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8_ok))
			quotable = false;
	}
	if (!quotable) {
		imap_write_literal(s, str, len, false);
		return;
	}
	imap_write(s, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (str[i] == '"' || str[i] == '\\')
			imap_write(s, "\\", 1);
		imap_write(s, str + i, 1);
	}
	imap_write(s, "\"", 1);
}

size_t imap_output_pending(struct imap_session *s)
{
	return net_session_output_pending(&s->ns);
}
