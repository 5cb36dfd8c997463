/* The DNS records of a mail domain; see zone_records.h. */
#include "mailauth/zone_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/ipaddr.h"
#include "core/util.h"

static struct zone_record *add(struct zone_list *l, enum zone_kind kind, const char *owner,
                               enum dns_rrtype type, const char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->rec = xrealloc(l->rec, l->cap * sizeof(*l->rec));
	}
	struct zone_record *r = &l->rec[l->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	str_copy(r->owner, sizeof(r->owner), owner);
	r->type = type;
	r->value = xstrdup(value);
	return r;
}

void zone_list_free(struct zone_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->rec[i].value);
	free(l->rec);
	memset(l, 0, sizeof(*l));
}

void zone_spf_value(const char *const *addrs, size_t naddrs, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "v=spf1 mx");
	for (size_t i = 0; i < naddrs && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, " %s:%s",
		                      strchr(addrs[i], ':') ? "ip6" : "ip4", addrs[i]);
	if (o < outlen)
		snprintf(out + o, outlen - o, " -all");
}

static void add_mx(struct zone_list *l, const struct zone_input *in)
{
	char value[ZONE_NAME_MAX + 8];
	snprintf(value, sizeof(value), "10 %s", in->hostname);
	struct zone_record *r = add(l, ZONE_MX, in->domain, DNS_RR_MX, value);
	snprintf(r->comment, sizeof(r->comment), "MX: mail for @%s goes to %s", in->domain,
	         in->hostname);
}

static void add_spf(struct zone_list *l, const struct zone_input *in)
{
	char value[64 + ZONE_ADDRS_MAX * 48];
	zone_spf_value(in->addrs, in->naddrs, value, sizeof(value));
	struct zone_record *r = add(l, ZONE_SPF, in->domain, DNS_RR_TXT, value);
	if (in->naddrs > 0)
		snprintf(r->comment, sizeof(r->comment),
		         "SPF (RFC 7208): only this server may send mail from @%s", in->domain);
	else
		snprintf(r->comment, sizeof(r->comment),
		         "SPF (RFC 7208): only this server may send mail from @%s; 'mx' covers it "
		         "once %s has its A/AAAA records", in->domain, in->hostname);
}

void zone_records_add_dkim(struct zone_list *l, const char *domain,
                           const struct zone_dkim_key *k)
{
	char owner[ZONE_NAME_MAX];
	snprintf(owner, sizeof(owner), "%s._domainkey.%s", k->selector, domain);
	struct zone_record *r = add(l, ZONE_DKIM, owner, DNS_RR_TXT, k->record);
	str_copy(r->subject, sizeof(r->subject), k->selector);
	snprintf(r->comment, sizeof(r->comment),
	         "DKIM (RFC 6376): public key of selector %s (%s), to verify this server's "
	         "signatures", k->selector, k->algorithm);
}

static void add_dmarc(struct zone_list *l, const struct zone_input *in)
{
	char owner[ZONE_NAME_MAX], value[ZONE_NAME_MAX + 64];
	snprintf(owner, sizeof(owner), "_dmarc.%s", in->domain);
	snprintf(value, sizeof(value), "v=DMARC1; p=quarantine; rua=mailto:postmaster@%s",
	         in->domain);
	struct zone_record *r = add(l, ZONE_DMARC, owner, DNS_RR_TXT, value);
	snprintf(r->comment, sizeof(r->comment),
	         "DMARC (RFC 7489): a starting point: quarantine mail failing SPF and DKIM, "
	         "reports to postmaster@%s; p=reject once they look clean", in->domain);
}

static void add_host_addrs(struct zone_list *l, const struct zone_input *in)
{
	for (size_t i = 0; i < in->naddrs; i++) {
		bool v6 = strchr(in->addrs[i], ':') != NULL;
		struct zone_record *r = add(l, ZONE_ADDR, in->hostname, v6 ? DNS_RR_AAAA : DNS_RR_A,
		                            in->addrs[i]);
		str_copy(r->subject, sizeof(r->subject), in->addrs[i]);
		snprintf(r->comment, sizeof(r->comment), "%s: the address of the mail host %s",
		         v6 ? "AAAA" : "A", in->hostname);
	}
}

static void add_ptrs(struct zone_list *l, const struct zone_input *in)
{
	char owner[ZONE_NAME_MAX];
	for (size_t i = 0; i < in->naddrs; i++) {
		if (ip_reverse_name(in->addrs[i], owner, sizeof(owner)) < 0)
			continue;
		struct zone_record *r = add(l, ZONE_PTR, owner, DNS_RR_PTR, in->hostname);
		str_copy(r->subject, sizeof(r->subject), in->addrs[i]);
		snprintf(r->comment, sizeof(r->comment),
		         "PTR: ask the provider of %s to name it %s (receivers check reverse DNS)",
		         in->addrs[i], in->hostname);
	}
}

void zone_records_build(const struct zone_input *in, struct zone_list *out)
{
	add_mx(out, in);
	add_spf(out, in);
	for (size_t i = 0; i < in->ndkim; i++)
		zone_records_add_dkim(out, in->domain, &in->dkim[i]);
	add_dmarc(out, in);
	/* MTA-STS (RFC 8461: _mta-sts TXT, the mta-sts host), TLS-RPT (RFC 8460:
	 * _smtp._tls TXT) and autoconfig/autodiscover (RFC 6186 SRV) records
	 * join the list here when those features land. */
	add_host_addrs(out, in);
	add_ptrs(out, in);
}

/* ---- zone-file lines ---- */

/* Appends TXT text as quoted strings of at most 250 octets. */
static int quote_txt(const char *text, char *out, size_t outlen, size_t *o)
{
	size_t len = strlen(text), strings = (len + 249) / 250;
	bool parens = strings > 1;
	if (parens && bsnprintf(out + *o, outlen - *o, "( ") < 0)
		return -1;
	*o += parens ? 2 : 0;
	for (size_t off = 0; off == 0 || off < len; off += 250) {
		if (*o + 2 >= outlen)
			return -1;
		if (off > 0)
			out[(*o)++] = ' ';
		out[(*o)++] = '"';
		for (size_t i = off; i < len && i < off + 250; i++) {
			if (*o + 3 >= outlen)
				return -1;
			if (text[i] == '"' || text[i] == '\\')
				out[(*o)++] = '\\';
			out[(*o)++] = text[i];
		}
		out[(*o)++] = '"';
	}
	out[*o] = '\0';
	return parens ? bsnprintf(out + *o, outlen - *o, " )") < 0 ? -1 : 0 : 0;
}

int zone_record_line(const struct zone_record *r, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s. IN %s ", r->owner, dns_rrtype_name(r->type));
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	size_t o = (size_t)n;
	switch (r->type) {
	case DNS_RR_TXT:
		return quote_txt(r->value, out, outlen, &o);
	case DNS_RR_MX:
	case DNS_RR_PTR:
		return bsnprintf(out + o, outlen - o, "%s.", r->value) < 0 ? -1 : 0;
	default:
		return bsnprintf(out + o, outlen - o, "%s", r->value) < 0 ? -1 : 0;
	}
}

/* ---- the server's addresses ---- */

static void add_addr(const char *ip, char (*out)[64], size_t max, size_t *n)
{
	char canon[64];
	/* private source addresses sit behind NAT: the world sees another one */
	if (ip == NULL || !ip_is_global(ip) || ip_canonical(ip, canon, sizeof(canon)) < 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i], canon) == 0)
			return;
	if (*n < max)
		memcpy(out[(*n)++], canon, sizeof(canon));
}

size_t zone_server_addrs(const struct config *cfg, char (*out)[64], size_t max)
{
	size_t n = 0;
	const struct listen_list *smtp = config_listen(cfg, SVC_SMTP);
	for (size_t i = 0; i < smtp->n; i++)
		add_addr(smtp->addrs[i].host, out, max, &n);
	add_addr(cfg->queue.source_ipv4, out, max, &n);
	add_addr(cfg->queue.source_ipv6, out, max, &n);
	return n;
}
