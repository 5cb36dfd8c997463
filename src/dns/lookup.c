/* Blocking lookups on libunbound's asynchronous API; see lookup.h.
 *
 * ub_resolve() would be simpler, but it has no deadline of its own (a server
 * that drops queries keeps it retrying for many seconds) and asks one
 * question at a time. So the queued queries start together and libunbound's
 * pipe is polled until every answer is in or the deadline passes; the rest
 * are cancelled. */
#include "dns/lookup.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "core/util.h"
#include "dns/mx.h"
#include "dns/ubctx.h"

#define RR_CLASS_IN 1
#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

/* One queued query; the callback fills out. */
struct pending {
	char name[MX_NAME_MAX + 1];
	enum dns_rrtype type;
	struct dns_answer *out;
	int ub_id;
	bool sent, done;
};

struct dns_lookup {
	struct ub_ctx *ctx;
	struct pending *q;
	size_t n, cap;
};

struct dns_lookup *dns_lookup_new(const char *const *servers, size_t nservers,
                                  const char *const *zones, size_t nzones, char *err,
                                  size_t errlen)
{
	struct ub_ctx *ctx = dns_ub_ctx_new(servers, nservers, err, errlen);
	if (ctx == NULL)
		return NULL;
	int rc = ub_ctx_async(ctx, 1); /* a thread, not a forked process */
	if (rc != 0) {
		snprintf(err, errlen, "ub_ctx_async: %s", ub_strerror(rc));
		ub_ctx_delete(ctx);
		return NULL;
	}
	for (size_t i = 0; i < nzones; i++) {
		if (dns_ub_allow_zone(ctx, zones[i], err, errlen) < 0) {
			ub_ctx_delete(ctx);
			return NULL;
		}
	}
	struct dns_lookup *l = xcalloc(1, sizeof(*l));
	l->ctx = ctx;
	return l;
}

void dns_lookup_free(struct dns_lookup *l)
{
	if (l == NULL)
		return;
	ub_ctx_delete(l->ctx);
	free(l->q);
	free(l);
}

void dns_answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->text[i]);
	memset(a, 0, sizeof(*a));
	a->st = DNS_TEMPFAIL;
}

static enum dns_status result_status(int err, const struct ub_result *res)
{
	if (err != 0 || res == NULL)
		return DNS_TEMPFAIL;
	if (res->bogus)
		return DNS_BOGUS;
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		return DNS_NXDOMAIN;
	return res->rcode == RCODE_NOERROR ? DNS_OK : DNS_TEMPFAIL;
}

static void keep_records(struct dns_answer *out, enum dns_rrtype t, const struct ub_result *res)
{
	char *text = xmalloc(DNS_TEXT_MAX);
	for (size_t i = 0; res->havedata && res->data[i] != NULL && out->n < DNS_ANSWER_MAX; i++) {
		if (res->len[i] >= 0 &&
		    dns_rdata_text(t, (const unsigned char *)res->data[i], (size_t)res->len[i], text,
		                   DNS_TEXT_MAX) == 0)
			out->text[out->n++] = xstrdup(text);
	}
	free(text);
}

static void on_result(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;
	p->out->st = result_status(err, res);
	if (p->out->st == DNS_OK)
		keep_records(p->out, p->type, res);
	ub_resolve_free(res);
	p->done = true;
}

void dns_lookup_add(struct dns_lookup *l, const char *name, enum dns_rrtype t,
                    struct dns_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->st = DNS_TEMPFAIL;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->q = xrealloc(l->q, l->cap * sizeof(*l->q));
	}
	struct pending *p = &l->q[l->n++];
	memset(p, 0, sizeof(*p));
	str_copy(p->name, sizeof(p->name), name != NULL ? name : "");
	p->type = t;
	p->out = out;
}

static size_t send_all(struct dns_lookup *l)
{
	size_t sent = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct pending *p = &l->q[i];
		p->sent = mx_name_valid(p->name) &&
		          ub_resolve_async(l->ctx, p->name, (int)p->type, RR_CLASS_IN, p, on_result,
		                           &p->ub_id) == 0;
		sent += p->sent;
	}
	return sent;
}

static size_t count_done(const struct dns_lookup *l)
{
	size_t done = 0;
	for (size_t i = 0; i < l->n; i++)
		done += l->q[i].sent && l->q[i].done;
	return done;
}

void dns_lookup_wait(struct dns_lookup *l)
{
	/* l->q stays where it is from here on: the callbacks hold pointers into it */
	size_t sent = send_all(l);
	uint64_t deadline = now_ms() + DNS_LOOKUP_TIMEOUT_MS;
	struct pollfd pfd = { .fd = ub_fd(l->ctx), .events = POLLIN };
	while (count_done(l) < sent && pfd.fd >= 0) {
		uint64_t now = now_ms();
		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)(deadline - now)) > 0 && ub_process(l->ctx) != 0)
			break;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct pending *p = &l->q[i];
		if (p->sent && !p->done) {
			/* threaded mode: the late answer is dropped without a callback */
			(void)ub_cancel(l->ctx, p->ub_id);
			p->out->st = DNS_TEMPFAIL;
		}
	}
	l->n = 0;
}
