/* A message scanned by rspamd at the end of DATA (rspamd.h): the request
 * head from the envelope, the message from the spool, the reply mapped to
 * a verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/util.h"
#include "filter/rspamd.h"
#include "filter/rspamd_http.h"
#include "store/msgbuf.h"

/* Recipients named to rspamd at most; a transaction has fewer (limits.recipients). */
#define RCPTS_MAX 1000
/* A value in a request field, at most. */
#define VALUE_MAX 512

struct rspamd_client {
	struct event_base *base;
	const struct config_rspamd *cfg;
	struct rspamd_check *checks;    /* running: freed with the client */
};

struct rspamd_check {
	struct rspamd_client *c;
	struct rspamd_check *prev, *next;
	struct rspamd_http *http;
	struct event *later;            /* a result known at once, delivered from the loop */
	struct rspamd_result result;
	rspamd_done_fn *done;
	void *arg;
};

struct rspamd_client *rspamd_client_new(struct event_base *base, const struct config_rspamd *cfg)
{
	struct rspamd_client *c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->cfg = cfg;
	return c;
}

static void check_free(struct rspamd_check *k)
{
	struct rspamd_client *c = k->c;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->checks = k->next;
	if (k->next)
		k->next->prev = k->prev;
	rspamd_http_free(k->http);
	if (k->later)
		event_free(k->later);
	free(k);
}

void rspamd_check_cancel(struct rspamd_check *k)
{
	if (k != NULL)
		check_free(k);
}

void rspamd_client_free(struct rspamd_client *c)
{
	if (c == NULL)
		return;
	while (c->checks)
		check_free(c->checks);
	free(c);
}

static void deliver(struct rspamd_check *k)
{
	k->done(k->arg, &k->result);
	check_free(k);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	deliver(arg);
}

static void on_reply(void *arg, int status, const char *body, size_t len, const char *err)
{
	struct rspamd_check *k = arg;
	const struct config_rspamd *cfg = k->c->cfg;
	char why[200];
	struct rspamd_reply rep;
	if (err != NULL) {
		rspamd_result_error(cfg->on_error, err, &k->result);
	} else if (status != 200) {
		snprintf(why, sizeof(why), "HTTP status %d", status);
		rspamd_result_error(cfg->on_error, why, &k->result);
	} else if (rspamd_reply_parse(body, len, &rep, why, sizeof(why)) < 0) {
		rspamd_result_error(cfg->on_error, why, &k->result);
	} else {
		rspamd_result_from_reply(&rep, &k->result);
	}
	deliver(k);
}

/* "Name: value\r\n" with the value's control characters made spaces and
 * its length bounded: what the session hands over was checked already,
 * but a field must never be split by what is in it. */
static void add_field(struct buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	buf_puts(b, name);
	buf_puts(b, ": ");
	for (size_t i = 0; value[i] && i < VALUE_MAX; i++) {
		unsigned char ch = (unsigned char)value[i];
		char out = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
		buf_append(b, &out, 1);
	}
	buf_append(b, "\r\n", 2);
}

/* The request head rspamd's HTTP protocol reads the envelope from. */
static void build_head(struct buf *b, const struct rspamd_request *req)
{
	buf_puts(b, "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n");
	add_field(b, "Queue-Id", req->queue_id);
	add_field(b, "IP", req->client_ip);
	add_field(b, "Hostname", req->client_host);
	if (req->helo != NULL && req->helo[0] != '\0')
		add_field(b, "Helo", req->helo);
	char from[VALUE_MAX + 3];
	snprintf(from, sizeof(from), "<%s>", req->mail_from ? req->mail_from : "");
	add_field(b, "From", from);
	for (size_t i = 0; i < req->nrcpts && i < RCPTS_MAX; i++)
		add_field(b, "Rcpt", req->rcpts[i]);
	if (req->auth_user != NULL && req->auth_user[0] != '\0')
		add_field(b, "User", req->auth_user);
	add_field(b, "MTA-Name", req->mta_name);
}

static ssize_t read_msgbuf(void *arg, uint64_t off, void *out, size_t len)
{
	return msgbuf_read_at(arg, off, out, len);
}

static struct rspamd_check *check_new(struct rspamd_client *c, rspamd_done_fn *done, void *arg)
{
	struct rspamd_check *k = xcalloc(1, sizeof(*k));
	k->c = c;
	k->done = done;
	k->arg = arg;
	k->next = c->checks;
	if (c->checks)
		c->checks->prev = k;
	c->checks = k;
	return k;
}

struct rspamd_check *rspamd_check_start(struct rspamd_client *c, const struct rspamd_request *req,
                                        rspamd_done_fn *done, void *arg)
{
	struct rspamd_check *k = check_new(c, done, arg);
	uint64_t size = msgbuf_size(req->msg);
	if (size + req->prepend_len > c->cfg->max_size) {
		/* as rspamd itself would refuse it: too big to judge, delivered */
		k->result.verdict = RSPAMD_ACCEPT;
		snprintf(k->result.log, sizeof(k->result.log), "not scanned: %llu octets over max_size",
		         (unsigned long long)size);
		k->later = event_new(c->base, -1, 0, on_later, k);
		event_active(k->later, EV_TIMEOUT, 0);
		return k;
	}
	struct buf head;
	buf_init(&head);
	build_head(&head, req);
	struct rspamd_body body = { req->prepend, req->prepend_len, read_msgbuf,
		                    (void *)req->msg, size };
	k->http = rspamd_http_post(c->base, &c->cfg->address, head.data, &body, c->cfg->timeout_ms,
	                           RSPAMD_REPLY_MAX, on_reply, k);
	buf_free(&head);
	return k;
}
