/* Outbound SMTP client: one connection attempt, driven by bufferevent callbacks. */
#include "queue/smtp_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/util.h"
#include "tls/tls_bev.h"

#define REPLY_LINE_MAX 2048
#define REPLY_LINES_MAX 200
/* replies are read line by line: what a server may have waiting unread */
#define READ_HIGHWATER (4 * REPLY_LINE_MAX)
#define BODY_CHUNK 16384
#define BODY_HIGHWATER (64 * 1024)
#define QUIT_GRACE_MS 5000

enum cstate {
	C_CONNECTING, C_GREETING, C_EHLO, C_HELO, C_STARTTLS, C_HANDSHAKE, C_EHLO_TLS,
	C_MAIL, C_RCPT, C_DATA, C_BODY, C_DOT, C_QUIT,
};

struct smtp_client {
	struct smtp_client *lnext, **lprev;     /* lingering list, once reported */
	struct smtp_client_params p;
	struct bufferevent *bev;
	enum cstate state;
	smtp_client_done_fn cb;
	void *arg;
	bool reported;
	struct event *timer;

	/* the reply being read */
	struct client_reply cur;
	int cur_lines;

	/* what the server offers */
	bool esmtp, cap_starttls, cap_pipelining, cap_8bit, cap_smtputf8;
	uint64_t cap_size;

	/* the transaction */
	size_t rcpt_next;       /* index of the next RCPT reply expected */
	size_t accepted;
	int fd;
	off_t offset;
	bool at_line_start, pending_cr, body_done;

	struct smtp_client_result res;
};

static void client_free(struct smtp_client *c);

/* Reported clients still closing: nobody owns them but this list. */
static _Thread_local struct smtp_client *lingering;

static void linger(struct smtp_client *c)
{
	c->lnext = lingering;
	if (lingering)
		lingering->lprev = &c->lnext;
	c->lprev = &lingering;
	lingering = c;
}

void smtp_client_free_lingering(void)
{
	while (lingering != NULL)
		client_free(lingering);
}
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

/* ---- replies ---------------------------------------------------------------- */

int smtp_client_parse_line(const char *line, int *code, bool *more, char *enh, size_t enhlen,
                           const char **text)
{
	if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (*code < 200 || *code > 599)
		return -1;
	*more = line[3] == '-';
	const char *t = line[3] ? line + 4 : line + 3;
	/* RFC 2034: "x.y.z " right after the code, x matching the code's class */
	size_t n = strspn(t, "0123456789.");
	enh[0] = '\0';
	if (n >= 5 && n < enhlen && t[0] == line[0] && t[1] == '.' && (t[n] == ' ' || t[n] == '\0')) {
		memcpy(enh, t, n);
		enh[n] = '\0';
		t += n;
		while (*t == ' ')
			t++;
	}
	*text = t;
	return 0;
}

static void note_capability(struct smtp_client *c, const char *cap)
{
	if (strcasecmp(cap, "STARTTLS") == 0)
		c->cap_starttls = true;
	else if (strcasecmp(cap, "PIPELINING") == 0)
		c->cap_pipelining = true;
	else if (strcasecmp(cap, "8BITMIME") == 0)
		c->cap_8bit = true;
	else if (strcasecmp(cap, "SMTPUTF8") == 0)
		c->cap_smtputf8 = true;
	else if (strncasecmp(cap, "SIZE", 4) == 0 && (cap[4] == ' ' || cap[4] == '\0'))
		c->cap_size = strtoull(cap + 4, NULL, 10);
}

/* Reads one whole (possibly multi-line) reply; returns 1 when c->cur holds
 * one, 0 when more input is needed, -1 on a malformed or oversized reply. */
static int read_reply(struct smtp_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	for (;;) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL)
			return evbuffer_get_length(in) > REPLY_LINE_MAX ? -1 : 0;
		int code;
		bool more;
		const char *text;
		char enh[16];
		int ok = len <= REPLY_LINE_MAX &&
		         smtp_client_parse_line(line, &code, &more, enh, sizeof(enh), &text) == 0 &&
		         (c->cur_lines == 0 || code == c->cur.code) && ++c->cur_lines <= REPLY_LINES_MAX;
		if (ok) {
			if (c->cur_lines == 1) {
				c->cur.code = code;
				snprintf(c->cur.enh, sizeof(c->cur.enh), "%s", enh);
				snprintf(c->cur.text, sizeof(c->cur.text), "%s", text);
			}
			if (c->state == C_EHLO || c->state == C_EHLO_TLS)
				note_capability(c, text);
		}
		free(line);
		if (!ok)
			return -1;
		if (!more) {
			c->cur_lines = 0;
			return 1;
		}
	}
}

/* ---- finishing ---------------------------------------------------------------- */

static void on_quit_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_free(arg);
}

static void report(struct smtp_client *c, enum client_outcome outcome, const char *error)
{
	if (c->reported)
		return;
	c->reported = true;
	c->res.outcome = outcome;
	if (error != NULL)
		str_copy(c->res.error, sizeof(c->res.error), error);
	c->cb(c->arg, &c->res);
	/* a polite QUIT when the connection is still in order, else just close;
	 * either way c is freed later, from the loop, so callers may still look at it */
	struct timeval tv = { 0, 0 };
	if (c->bev != NULL && c->state >= C_MAIL && c->state != C_BODY && c->state != C_QUIT &&
	    outcome == CLIENT_DONE) {
		c->state = C_QUIT;
		evbuffer_add_printf(bufferevent_get_output(c->bev), "QUIT\r\n");
		tv.tv_sec = QUIT_GRACE_MS / 1000;
	} else if (c->bev != NULL) {
		/* nothing more may be read: the delivery behind c->p may be gone */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	}
	evtimer_add(c->timer, &tv);
	linger(c);
}

static void fail_reply(struct smtp_client *c, enum client_outcome outcome, const char *what)
{
	char err[320];
	c->res.session = c->cur;
	snprintf(err, sizeof(err), "%s: %d %s %s", what, c->cur.code, c->cur.enh, c->cur.text);
	report(c, outcome, err);
}

static void client_free(struct smtp_client *c)
{
	if (c->lprev != NULL) {
		*c->lprev = c->lnext;
		if (c->lnext)
			c->lnext->lprev = c->lprev;
	}
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->timer)
		event_free(c->timer);
	if (c->fd >= 0)
		close(c->fd);
	free(c->res.rcpt);
	free(c);
}

void smtp_client_abort(struct smtp_client *c)
{
	c->reported = true;
	client_free(c);
}

/* ---- the conversation --------------------------------------------------------- */

static void send_line(struct smtp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void send_line(struct smtp_client *c, const char *fmt, ...)
{
	va_list ap;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void send_ehlo(struct smtp_client *c, enum cstate next)
{
	c->cap_starttls = c->cap_pipelining = c->cap_8bit = c->cap_smtputf8 = false;
	c->cap_size = 0;
	c->state = next;
	send_line(c, "EHLO %s", c->p.helo);
}

static void send_rcpt(struct smtp_client *c, size_t i)
{
	send_line(c, "RCPT TO:<%s>", c->p.rcpts[i]);
}

/* MAIL, and with PIPELINING every RCPT and DATA too (RFC 2920 3.1). */
static void start_transaction(struct smtp_client *c)
{
	char params[128] = "";
	if (c->cap_size > 0 && c->p.size > c->cap_size) {
		/* the remote announced a smaller limit: a permanent failure for everyone */
		c->cur.code = 552;
		snprintf(c->cur.enh, sizeof(c->cur.enh), "5.3.4");
		snprintf(c->cur.text, sizeof(c->cur.text), "message size %llu exceeds remote limit %llu",
		         (unsigned long long)c->p.size, (unsigned long long)c->cap_size);
		fail_reply(c, CLIENT_DONE, "SIZE");
		return;
	}
	if (c->p.smtputf8 && !c->cap_smtputf8) {
		c->cur.code = 553;
		snprintf(c->cur.enh, sizeof(c->cur.enh), "5.6.7");
		snprintf(c->cur.text, sizeof(c->cur.text), "remote server does not support SMTPUTF8");
		fail_reply(c, CLIENT_DONE, "SMTPUTF8");
		return;
	}
	if (c->esmtp) {
		size_t n = (size_t)snprintf(params, sizeof(params), " SIZE=%llu",
		                            (unsigned long long)c->p.size);
		if (c->cap_8bit)
			n += (size_t)snprintf(params + n, sizeof(params) - n, " BODY=8BITMIME");
		if (c->p.smtputf8)
			snprintf(params + n, sizeof(params) - n, " SMTPUTF8");
	}
	c->state = C_MAIL;
	c->rcpt_next = 0;
	c->accepted = 0;
	send_line(c, "MAIL FROM:<%s>%s", c->p.sender, params);
	if (c->cap_pipelining) {
		for (size_t i = 0; i < c->p.nrcpts; i++)
			send_rcpt(c, i);
		send_line(c, "DATA");
	}
}

static void after_ehlo(struct smtp_client *c)
{
	bool tls_active = c->res.tls;
	if (!tls_active && c->p.try_tls && c->cap_starttls) {
		c->state = C_STARTTLS;
		send_line(c, "STARTTLS");
		return;
	}
	if (!tls_active && c->p.policy == OUT_TLS_REQUIRED) {
		report(c, CLIENT_TLS_UNAVAILABLE, c->cap_starttls ? "TLS not attempted"
		                                                  : "STARTTLS not offered");
		return;
	}
	start_transaction(c);
}

static bool certificate_ok(struct smtp_client *c, SSL *ssl)
{
	return SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

static void start_handshake(struct smtp_client *c)
{
	SSL *ssl = SSL_new(c->p.ssl_ctx);
	if (ssl == NULL) {
		report(c, CLIENT_TLS_FAILED, "SSL_new failed");
		return;
	}
	SSL_set_tlsext_host_name(ssl, c->p.mx_name);
	SSL_set1_host(ssl, c->p.mx_name);
	/* verification is judged after the handshake, by the policy */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	struct bufferevent *tls = tls_bev_filter(c->p.base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING);
	if (tls == NULL) {
		report(c, CLIENT_TLS_FAILED, "TLS setup failed");
		return;
	}
	c->bev = tls;
	c->state = C_HANDSHAKE;
	tls_bev_start(tls, on_read, on_write, on_event, c, READ_HIGHWATER);
}

static void handshake_done(struct smtp_client *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	const SSL_CIPHER *ciph = SSL_get_current_cipher(ssl);
	c->res.tls = true;
	c->res.tls_verified = certificate_ok(c, ssl);
	snprintf(c->res.tls_desc, sizeof(c->res.tls_desc), "%s %s%s", SSL_get_version(ssl),
	         ciph ? SSL_CIPHER_get_name(ciph) : "?", c->res.tls_verified ? "" : " (unverified)");
	if (!c->res.tls_verified && c->p.policy != OUT_TLS_OPPORTUNISTIC_INSECURE) {
		char err[200];
		long v = SSL_get_verify_result(ssl);
		snprintf(err, sizeof(err), "certificate not verified: %s",
		         X509_verify_cert_error_string(v));
		report(c, CLIENT_TLS_FAILED, err);
		return;
	}
	send_ehlo(c, C_EHLO_TLS);
}

static void record_rcpt_reply(struct smtp_client *c)
{
	if (c->rcpt_next < c->p.nrcpts) {
		c->res.rcpt[c->rcpt_next] = c->cur;
		if (c->cur.code / 100 == 2)
			c->accepted++;
		c->rcpt_next++;
	}
}

static void begin_body(struct smtp_client *c)
{
	c->fd = open(c->p.path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		char err[300];
		snprintf(err, sizeof(err), "%s: %s", c->p.path, strerror(errno));
		report(c, CLIENT_PROTOCOL_FAILED, err);
		return;
	}
	c->state = C_BODY;
	c->offset = 0;
	c->at_line_start = true;
	c->pending_cr = false;
	c->body_done = false;
	on_write(c->bev, c);
}

static void handle_transaction_reply(struct smtp_client *c)
{
	switch (c->state) {
	case C_MAIL:
		if (c->cur.code / 100 != 2) {
			/* pipelined RCPT/DATA replies follow; the MAIL reply decides for all */
			fail_reply(c, CLIENT_DONE, "MAIL");
			return;
		}
		c->state = C_RCPT;
		if (!c->cap_pipelining)
			send_rcpt(c, 0);
		return;
	case C_RCPT:
		record_rcpt_reply(c);
		if (c->rcpt_next < c->p.nrcpts) {
			if (!c->cap_pipelining)
				send_rcpt(c, c->rcpt_next);
			return;
		}
		c->state = C_DATA;
		if (!c->cap_pipelining) {
			if (c->accepted == 0) {
				c->res.session = c->cur;
				report(c, CLIENT_DONE, NULL);
				return;
			}
			send_line(c, "DATA");
		}
		return;
	case C_DATA:
		if (c->cur.code != 354 || c->accepted == 0) {
			if (c->cur.code == 354) /* a server that ignored its own RCPT replies */
				evbuffer_add(bufferevent_get_output(c->bev), ".\r\n", 3);
			c->res.session = c->cur;
			report(c, CLIENT_DONE, NULL);
			return;
		}
		begin_body(c);
		return;
	case C_DOT:
		c->res.session = c->cur;
		c->res.data_ok = c->cur.code / 100 == 2;
		report(c, CLIENT_DONE, NULL);
		return;
	default:
		return;
	}
}

static void handle_reply(struct smtp_client *c)
{
	switch (c->state) {
	case C_GREETING:
		if (c->cur.code != 220) {
			fail_reply(c, CLIENT_CONNECT_FAILED, "greeting");
			return;
		}
		c->esmtp = true;
		send_ehlo(c, C_EHLO);
		return;
	case C_EHLO:
		if (c->cur.code / 100 != 2) {
			/* RFC 5321 3.2: fall back to HELO for an old server */
			c->esmtp = false;
			c->state = C_HELO;
			send_line(c, "HELO %s", c->p.helo);
			return;
		}
		after_ehlo(c);
		return;
	case C_HELO:
		if (c->cur.code / 100 != 2) {
			fail_reply(c, CLIENT_PROTOCOL_FAILED, "HELO");
			return;
		}
		after_ehlo(c);
		return;
	case C_STARTTLS:
		if (c->cur.code != 220) {
			if (c->p.policy == OUT_TLS_REQUIRED) {
				fail_reply(c, CLIENT_TLS_FAILED, "STARTTLS");
				return;
			}
			start_transaction(c); /* still plain, still allowed */
			return;
		}
		start_handshake(c);
		return;
	case C_EHLO_TLS:
		if (c->cur.code / 100 != 2) {
			fail_reply(c, CLIENT_PROTOCOL_FAILED, "EHLO after STARTTLS");
			return;
		}
		start_transaction(c);
		return;
	default:
		handle_transaction_reply(c);
		return;
	}
}

/* ---- body ------------------------------------------------------------------------ */

/* LF line ends become CRLF, a leading dot is doubled (RFC 5321 4.5.2). */
static size_t encode_body(struct smtp_client *c, const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (c->pending_cr) {
			c->pending_cr = false;
			if (ch != '\n')
				out[o++] = '\r';
		}
		if (ch == '\r') {
			c->pending_cr = true;
			continue;
		}
		if (c->at_line_start && ch == '.')
			out[o++] = '.';
		if (ch == '\n') {
			out[o++] = '\r';
			c->at_line_start = true;
		} else {
			c->at_line_start = false;
		}
		out[o++] = ch;
	}
	return o;
}

static void pump_body(struct smtp_client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char in[BODY_CHUNK], enc[BODY_CHUNK * 3];
	while (!c->body_done && evbuffer_get_length(out) < BODY_HIGHWATER) {
		ssize_t n = pread(c->fd, in, sizeof(in), c->offset);
		if (n < 0) {
			report(c, CLIENT_PROTOCOL_FAILED, "read error on queue file");
			return;
		}
		if (n == 0) {
			if (c->pending_cr)
				evbuffer_add(out, "\r", 1);
			if (!c->at_line_start)
				evbuffer_add(out, "\r\n", 2);
			evbuffer_add(out, ".\r\n", 3);
			c->body_done = true;
			c->state = C_DOT;
			return;
		}
		c->offset += n;
		evbuffer_add(out, enc, encode_body(c, in, (size_t)n, enc));
	}
}

/* ---- bufferevent callbacks ----------------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	(void)bev;
	if (c->reported && c->state != C_QUIT)
		return;   /* already answered for: only QUIT's reply is still wanted */
	for (;;) {
		int r = read_reply(c);
		if (r == 0)
			return;
		if (r < 0) {
			report(c, c->state == C_GREETING ? CLIENT_CONNECT_FAILED : CLIENT_PROTOCOL_FAILED,
			       "malformed reply from server");
			return;
		}
		if (c->state == C_QUIT) {
			client_free(c);
			return;
		}
		handle_reply(c);
		if (c->reported || c->state == C_HANDSHAKE || c->state == C_BODY)
			return;
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	(void)bev;
	if (c->state == C_BODY)
		pump_body(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == C_CONNECTING) {
			c->state = C_GREETING;
		} else if (c->state == C_HANDSHAKE) {
			handshake_done(c);
		}
		return;
	}
	if (c->state == C_QUIT || c->reported) {
		client_free(c);
		return;
	}
	char err[256];
	if (c->state == C_HANDSHAKE) {
		char detail[200];
		tls_bev_error_text(c->bev, detail, sizeof(detail));
		snprintf(err, sizeof(err), "TLS: %s", detail);
		report(c, CLIENT_TLS_FAILED, err);
		return;
	}
	snprintf(err, sizeof(err), "%s %s", (what & BEV_EVENT_TIMEOUT) ? "timeout" : "connection lost",
	         c->state == C_CONNECTING ? "while connecting" : c->state == C_GREETING ?
	         "before the greeting" : c->state >= C_BODY ? "after sending the message" :
	         "during the session");
	report(c, c->state <= C_GREETING ? CLIENT_CONNECT_FAILED : CLIENT_PROTOCOL_FAILED, err);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int bind_source(int fd, int family, const char *source_ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, source_ip, &s4->sin_addr) != 1)
			return 0; /* an IPv6 source does not apply to an IPv4 destination */
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, source_ip, &s6->sin6_addr) != 1)
			return 0;
		len = sizeof(*s6);
	}
	return bind(fd, (struct sockaddr *)&ss, len);
}

static void on_start_failed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	report(arg, CLIENT_CONNECT_FAILED, "cannot connect");
}

struct smtp_client *smtp_client_start(const struct smtp_client_params *p, smtp_client_done_fn cb,
                                      void *arg)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));
	struct timeval tmo = { (time_t)(p->timeout_ms / 1000), (suseconds_t)(p->timeout_ms % 1000) * 1000 };
	static const struct timeval now = { 0, 0 };
	c->p = *p;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->res.rcpt = xcalloc(p->nrcpts ? p->nrcpts : 1, sizeof(struct client_reply));
	c->timer = evtimer_new(p->base, on_quit_timer, c);
	int sock = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock < 0 || (p->source_ip && bind_source(sock, p->addr.ss_family, p->source_ip) < 0)) {
		if (sock >= 0)
			close(sock);
		event_base_once(p->base, -1, EV_TIMEOUT, on_start_failed, c, &now);
		return c;
	}
	/* deferred: a connect() that fails at once must not call back from inside
	 * this function, before the caller has even stored c */
	c->bev = bufferevent_socket_new(p->base, sock, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		close(sock);
		client_free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &tmo, &tmo);
	bufferevent_setwatermark(c->bev, EV_WRITE, BODY_HIGHWATER / 4, 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, READ_HIGHWATER);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->state = C_CONNECTING;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&p->addr, (int)p->addrlen) < 0) {
		/* report from the loop, never from inside this call */
		bufferevent_free(c->bev);
		c->bev = NULL;
		event_base_once(p->base, -1, EV_TIMEOUT, on_start_failed, c, &now);
	}
	return c;
}

SSL_CTX *smtp_client_ssl_ctx(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_verify_paths(ctx);
	if (ca_file != NULL && *ca_file != '\0' && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "%s: cannot load CA bundle", ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
