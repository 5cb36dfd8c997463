/* Blocking lookups on libunbound's asynchronous API; see lookup.h.
 *
 * ub_resolve() would be simpler, but it has no deadline of its own: a server
 * that drops queries keeps it retrying for minutes. So each lookup starts an
 * asynchronous query and polls libunbound's pipe until the answer or the
 * deadline, then cancels. */
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

struct dns_lookup {
	struct ub_ctx *ctx;
};

/* What the callback hands back to the waiting lookup. */
struct pending {
	bool done;
	enum dns_rrtype type;
	struct dns_answer *out;
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

/* Runs libunbound's callbacks until p is done or the deadline passes. */
static void wait_for(struct dns_lookup *l, struct pending *p, uint64_t deadline)
{
	struct pollfd pfd = { .fd = ub_fd(l->ctx), .events = POLLIN };
	while (!p->done) {
		uint64_t now = now_ms();
		if (now >= deadline || pfd.fd < 0)
			return;
		int left = (int)(deadline - now);
		int n = poll(&pfd, 1, left);
		if (n > 0 && ub_process(l->ctx) != 0)
			return;
	}
}

void dns_lookup(struct dns_lookup *l, const char *name, enum dns_rrtype t,
                struct dns_answer *out)
{
	memset(out, 0, sizeof(*out));
	out->st = DNS_TEMPFAIL;
	struct pending p = { .type = t, .out = out };
	int id;
	if (!mx_name_valid(name) ||
	    ub_resolve_async(l->ctx, name, (int)t, RR_CLASS_IN, &p, on_result, &id) != 0)
		return;
	wait_for(l, &p, now_ms() + DNS_LOOKUP_TIMEOUT_MS);
	if (!p.done) {
		/* threaded mode: the late answer is dropped without a callback */
		(void)ub_cancel(l->ctx, id);
		out->st = DNS_TEMPFAIL;
	}
}
