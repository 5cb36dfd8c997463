/* struct spf_dns on the libunbound resolver; see spf_resolver.h. Answers'
 * rdata becomes the text struct spf_dns_answer carries: TXT strings joined
 * as they are (octets untouched, a NUL kept and its length told), addresses
 * in text form, MX exchanges and PTR targets as names. */
#include "mailauth/spf_resolver.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/util.h"
#include "dns/mx.h"
#include "dns/rdata.h"

struct spf_pending {
	LIST_ENTRY(spf_pending) entry;
	struct spf_resolver *a;
	int id;
	enum spf_rr type;
	spf_dns_cb cb;
	void *cbarg;
};

struct spf_resolver {
	struct resolver *r;
	LIST_HEAD(, spf_pending) pending;
};

/* RFC 7208 3.3: a TXT record's character-strings joined without separators. */
static char *txt_join(const unsigned char *d, size_t len, size_t *outlen)
{
	char *out = xmalloc(len + 1);
	size_t pos = 0, o = 0;
	while (pos < len) {
		size_t n = d[pos++];
		if (n > len - pos) {
			free(out);
			return NULL;
		}
		memcpy(out + o, d + pos, n);
		o += n;
		pos += n;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* One record as text; NULL when it is malformed. */
static char *rr_text(enum spf_rr t, const unsigned char *d, size_t len, size_t *outlen)
{
	char text[MX_NAME_MAX + 8];
	if (t == SPF_RR_TXT)
		return txt_join(d, len, outlen);
	if (t == SPF_RR_A || t == SPF_RR_AAAA) {
		int fam = t == SPF_RR_A ? AF_INET : AF_INET6;
		if (len != (t == SPF_RR_A ? 4u : 16u) || inet_ntop(fam, d, text, sizeof(text)) == NULL)
			return NULL;
	} else {
		/* MX: a preference, then the exchange, read as a PTR's name */
		size_t skip = t == SPF_RR_MX ? 2 : 0;
		if (len < skip || dns_rdata_text(DNS_RR_PTR, d + skip, len - skip, text, sizeof(text)) < 0)
			return NULL;
	}
	*outlen = strlen(text);
	return xstrdup(text);
}

static void on_rrset(void *arg, enum dns_status st, const struct dns_rrset *rrs)
{
	struct spf_pending *p = arg;
	LIST_REMOVE(p, entry);
	struct spf_dns_answer ans = { .st = SPF_DNS_TEMPFAIL };
	if (st == DNS_OK)
		ans.st = SPF_DNS_OK;
	else if (st == DNS_NXDOMAIN)
		ans.st = SPF_DNS_NXDOMAIN;
	char **rr = xcalloc(rrs->n + 1, sizeof(*rr));
	size_t *len = xcalloc(rrs->n + 1, sizeof(*len));
	for (size_t i = 0; ans.st == SPF_DNS_OK && i < rrs->n; i++) {
		rr[ans.n] = rr_text(p->type, rrs->data[i], rrs->len[i], &len[ans.n]);
		ans.n += rr[ans.n] != NULL;
	}
	ans.rr = (const char *const *)rr;
	ans.len = len;
	spf_dns_cb cb = p->cb;
	void *cbarg = p->cbarg;
	free(p);
	cb(cbarg, &ans);
	for (size_t i = 0; i < ans.n; i++)
		free(rr[i]);
	free(rr);
	free(len);
}

static int adapter_query(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg)
{
	struct spf_resolver *a = arg;
	struct spf_pending *p = xcalloc(1, sizeof(*p));
	*p = (struct spf_pending){ .a = a, .type = t, .cb = cb, .cbarg = cbarg };
	LIST_INSERT_HEAD(&a->pending, p, entry);
	p->id = resolver_query(a->r, name, (int)t, on_rrset, p);
	if (p->id < 0) {
		LIST_REMOVE(p, entry);
		free(p);
		return -1;
	}
	return p->id;
}

static void adapter_cancel(void *arg, int id)
{
	struct spf_resolver *a = arg;
	struct spf_pending *p;
	LIST_FOREACH(p, &a->pending, entry) {
		if (p->id == id) {
			(void)resolver_cancel(a->r, id);
			LIST_REMOVE(p, entry);
			free(p);
			return;
		}
	}
}

struct spf_resolver *spf_resolver_new(struct resolver *r, struct spf_dns *dns)
{
	struct spf_resolver *a = xcalloc(1, sizeof(*a));
	a->r = r;
	LIST_INIT(&a->pending);
	*dns = (struct spf_dns){ .query = adapter_query, .cancel = adapter_cancel, .arg = a };
	return a;
}

void spf_resolver_free(struct spf_resolver *a)
{
	if (a == NULL)
		return;
	struct spf_pending *p;
	while ((p = LIST_FIRST(&a->pending)) != NULL) {
		(void)resolver_cancel(a->r, p->id);
		LIST_REMOVE(p, entry);
		free(p);
	}
	free(a);
}
