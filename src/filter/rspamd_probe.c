/* postern config check --connect: whether rspamd answers where the
 * configuration says, and takes the controller password (rspamd.h). */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "filter/rspamd.h"
#include "filter/rspamd_http.h"

struct probe {
	struct event_base *base;
	bool done;
	int status;
	char body[64];
	char err[200];
};

static void on_answer(void *arg, int status, const char *body, size_t len, const char *err)
{
	struct probe *p = arg;
	p->done = true;
	p->status = status;
	snprintf(p->body, sizeof(p->body), "%.*s", (int)(len < 40 ? len : 40), body ? body : "");
	snprintf(p->err, sizeof(p->err), "%s", err ? err : "");
	event_base_loopbreak(p->base);
}

static ssize_t read_nothing(void *arg, uint64_t off, void *buf, size_t len)
{
	return 0;
}

/* One POST of an empty body; the probe's status or err. */
static void ask(struct event_base *base, const struct config_rspamd *cfg,
                const struct listen_addr *to, const char *head, struct probe *p)
{
	struct rspamd_body body = { NULL, 0, read_nothing, NULL, 0 };
	memset(p, 0, sizeof(*p));
	p->base = base;
	struct rspamd_http *h = rspamd_http_post(base, to, head, &body, cfg->timeout_ms, 64 * 1024,
	                                         on_answer, p);
	while (!p->done)
		event_base_dispatch(base);
	rspamd_http_free(h);
}

int rspamd_probe(struct event_base *base, const struct config_rspamd *cfg, char *ok, size_t oklen,
                 char *err, size_t errlen)
{
	struct probe p;
	ask(base, cfg, &cfg->address, "POST /ping HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n",
	    &p);
	if (p.err[0] || p.status != 200) {
		snprintf(err, errlen, "rspamd.address %s: %s", cfg->address.text,
		         p.err[0] ? p.err : "no pong");
		return -1;
	}
	snprintf(ok, oklen, "rspamd.address %s answers", cfg->address.text);
	if (!cfg->learn)
		return 0;
	char head[512];
	snprintf(head, sizeof(head), "POST /stat HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n"
	         "%s%s%s", cfg->password ? "Password: " : "", cfg->password ? cfg->password : "",
	         cfg->password ? "\r\n" : "");
	ask(base, cfg, &cfg->controller, head, &p);
	if (p.err[0] || p.status != 200) {
		char status[32];
		snprintf(status, sizeof(status), "HTTP status %d", p.status);
		snprintf(err, errlen, "rspamd.controller %s: %s", cfg->controller.text,
		         p.err[0] ? p.err : p.status == 401 || p.status == 403 ?
		         "the password is refused (rspamd.password)" : status);
		return -1;
	}
	size_t n = strlen(ok);
	snprintf(ok + n, oklen - n, "; rspamd.controller %s takes the password",
	         cfg->controller.text);
	return 0;
}
