/* POP3 output: every octet a command sends goes through these helpers onto
 * the session engine's output buffer (flow control and caps are the
 * engine's). Status lines (RFC 1939 3, with RFC 2449 8 response codes) and
 * the lines of multi-line responses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "mail/dotstuff.h"
#include "pop3/pop3_session.h"

/* RFC 2449 4: a response line is at most 512 octets, CRLF included */
#define POP3_REPLY_MAX 512

static void write_status(struct pop3_session *s, const char *status, const char *code,
                         const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void write_status(struct pop3_session *s, const char *status, const char *code,
                         const char *fmt, va_list ap)
{
	char line[POP3_REPLY_MAX];
	int n = code ? snprintf(line, sizeof(line), "%s [%s] ", status, code)
	             : snprintf(line, sizeof(line), "%s ", status);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return;
	int m = vsnprintf(line + n, sizeof(line) - 2 - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) > sizeof(line) - 3 ? (int)sizeof(line) - 3 : n + m;
	line[n++] = '\r';
	line[n++] = '\n';
	net_session_write(&s->ns, line, (size_t)n);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_status(s, "+OK", NULL, fmt, ap);
	va_end(ap);
	/* a command that succeeded ends a run of protocol errors */
	net_session_good_command(&s->ns);
}

void pop3_err(struct pop3_session *s, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_status(s, "-ERR", code, fmt, ap);
	va_end(ap);
}

void pop3_line(struct pop3_session *s, const char *fmt, ...)
{
	char line[POP3_REPLY_MAX];
	va_list ap;
	va_start(ap, fmt);
	/* the leading "." that stuffing may add takes the first octet */
	int n = vsnprintf(line + 1, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 4)
		n = (int)sizeof(line) - 4;
	/* RFC 1939 3: a line of a multi-line response that starts with "." gets one more */
	char *start = line + 1;
	if (*start == '.') {
		start--;
		*start = '.';
		n++;
	}
	memcpy(start + n, "\r\n", 2);
	net_session_write(&s->ns, start, (size_t)n + 2);
}

void pop3_end_multiline(struct pop3_session *s)
{
	net_session_write(&s->ns, ".\r\n", 3);
}

void pop3_write(struct pop3_session *s, const void *data, size_t len)
{
	net_session_write(&s->ns, data, len);
}

void pop3_write_message(struct pop3_session *s, struct mail_dotstuff *enc, const char *in,
                        size_t len)
{
	struct evbuffer_iovec v;
	if (s->ns.bev == NULL)
		return;
	/* encoded straight into the output buffer: no copy of the message */
	struct evbuffer *out = net_session_output(&s->ns);
	if (evbuffer_reserve_space(out, (ev_ssize_t)MAIL_DOTSTUFF_OUT_MAX(len), &v, 1) < 1)
		return;
	v.iov_len = mail_dotstuff_encode(enc, in, len, v.iov_base);
	evbuffer_commit_space(out, &v, 1);
}

void pop3_end_message(struct pop3_session *s, struct mail_dotstuff *enc)
{
	char end[MAIL_DOTSTUFF_FINISH_MAX];
	net_session_write(&s->ns, end, mail_dotstuff_finish(enc, end));
}

size_t pop3_output_pending(struct pop3_session *s)
{
	return net_session_output_pending(&s->ns);
}
