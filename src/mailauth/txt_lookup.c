/* TXT lookups on struct spf_dns; see txt_lookup.h. */
#include "mailauth/txt_lookup.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/util.h"

struct txt_pending {
	LIST_ENTRY(txt_pending) entry;
	struct txt_lookups *t;
	int id;
	bool dmarc;
	dkim_dns_txt_cb dkim_cb;
	dmarc_txt_done_fn *dmarc_cb;
	void *arg;
};

struct txt_lookups {
	const struct spf_dns *dns;
	LIST_HEAD(, txt_pending) pending;
};

struct txt_lookups *txt_lookups_new(const struct spf_dns *dns)
{
	struct txt_lookups *t = xcalloc(1, sizeof(*t));
	t->dns = dns;
	LIST_INIT(&t->pending);
	return t;
}

static void answer_dkim(struct txt_pending *p, const struct spf_dns_answer *ans)
{
	if (ans->st != SPF_DNS_OK || ans->n == 0) {
		p->dkim_cb(p->arg, ans->st == SPF_DNS_TEMPFAIL ? DKIM_DNS_TEMPFAIL : DKIM_DNS_NOTFOUND,
		           NULL, 0);
		return;
	}
	struct dkim_txt *txt = xcalloc(ans->n, sizeof(*txt));
	for (size_t i = 0; i < ans->n; i++)
		txt[i] = (struct dkim_txt){ ans->rr[i], ans->len ? ans->len[i] : strlen(ans->rr[i]) };
	p->dkim_cb(p->arg, DKIM_DNS_OK, txt, ans->n);
	free(txt);
}

static void answer_dmarc(struct txt_pending *p, const struct spf_dns_answer *ans)
{
	if (ans->st != SPF_DNS_OK || ans->n == 0) {
		p->dmarc_cb(p->arg, ans->st == SPF_DNS_TEMPFAIL ? DMARC_DNS_TEMPFAIL : DMARC_DNS_NONE,
		            NULL, 0);
		return;
	}
	struct dmarc_txt *txt = xcalloc(ans->n, sizeof(*txt));
	for (size_t i = 0; i < ans->n; i++)
		txt[i] = (struct dmarc_txt){ ans->rr[i], ans->len ? ans->len[i] : strlen(ans->rr[i]) };
	p->dmarc_cb(p->arg, DMARC_DNS_FOUND, txt, ans->n);
	free(txt);
}

static void on_answer(void *cbarg, const struct spf_dns_answer *ans)
{
	struct txt_pending *p = cbarg;
	LIST_REMOVE(p, entry);
	if (p->dmarc)
		answer_dmarc(p, ans);
	else
		answer_dkim(p, ans);
	free(p);
}

static struct txt_pending *ask(struct txt_lookups *t, const char *name, struct txt_pending *p)
{
	p->t = t;
	LIST_INSERT_HEAD(&t->pending, p, entry);
	p->id = t->dns->query(t->dns->arg, name, SPF_RR_TXT, on_answer, p);
	if (p->id < 0) {
		LIST_REMOVE(p, entry);
		free(p);
		return NULL;
	}
	return p;
}

static int dkim_txt(void *ctx, const char *name, dkim_dns_txt_cb cb, void *cb_arg)
{
	struct txt_pending *p = xcalloc(1, sizeof(*p));
	p->dkim_cb = cb;
	p->arg = cb_arg;
	p = ask(ctx, name, p);
	/* ids > 0 for the verifiers; spf_dns's start at 0 */
	return p == NULL ? -1 : p->id + 1;
}

static void dkim_cancel(void *ctx, int id)
{
	struct txt_lookups *t = ctx;
	struct txt_pending *p;
	LIST_FOREACH(p, &t->pending, entry) {
		if (!p->dmarc && p->id + 1 == id) {
			t->dns->cancel(t->dns->arg, p->id);
			LIST_REMOVE(p, entry);
			free(p);
			return;
		}
	}
}

static int dmarc_txt(void *ctx, const char *name, dmarc_txt_done_fn *done, void *arg)
{
	struct txt_pending *p = xcalloc(1, sizeof(*p));
	p->dmarc = true;
	p->dmarc_cb = done;
	p->arg = arg;
	p = ask(ctx, name, p);
	return p == NULL ? -1 : p->id;
}

void txt_lookups_dkim(struct txt_lookups *t, struct dkim_key_cache *keys, struct dkim_dns *out)
{
	*out = (struct dkim_dns){ .txt = dkim_txt, .cancel = dkim_cancel, .ctx = t, .keys = keys };
}

void txt_lookups_dmarc(struct txt_lookups *t, struct dmarc_dns *out)
{
	*out = (struct dmarc_dns){ .lookup_txt = dmarc_txt, .ctx = t };
}

void txt_lookups_free(struct txt_lookups *t)
{
	if (t == NULL)
		return;
	struct txt_pending *p;
	while ((p = LIST_FIRST(&t->pending)) != NULL) {
		t->dns->cancel(t->dns->arg, p->id);
		LIST_REMOVE(p, entry);
		if (p->dmarc)
			p->dmarc_cb(p->arg, DMARC_DNS_TEMPFAIL, NULL, 0);
		free(p);
	}
	free(t);
}
