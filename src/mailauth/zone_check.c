/* Judging published records; see zone_check.h. */
#include "mailauth/zone_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ipaddr.h"
#include "core/util.h"
#include "mailauth/spf_record.h"

/* The longest tag value compared (a p= of an 8192-bit RSA key fits). */
#define TAG_VALUE_MAX 2048

const char *zone_verdict_name(enum zone_verdict v)
{
	switch (v) {
	case ZONE_CHECK_OK: return "ok";
	case ZONE_CHECK_MISSING: return "missing";
	case ZONE_CHECK_DIFFERS: return "differs";
	case ZONE_CHECK_FAILED: return "lookup failed";
	}
	return "?";
}

/* "found: a, b, c" (cut short when it does not fit) */
static void list_found(const char *const *found, size_t n, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "found: ");
	for (size_t i = 0; i < n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", found[i]);
}

static bool same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* ---- MX, A/AAAA, PTR: is ours among the records? ---- */

static const char *mx_target(const char *mx_text)
{
	const char *sp = strchr(mx_text, ' ');
	return sp ? sp + 1 : mx_text;
}

static enum zone_verdict check_mx(const struct zone_record *r, const char *const *found,
                                  size_t n, char *detail, size_t len)
{
	list_found(found, n, detail, len);
	for (size_t i = 0; i < n; i++)
		if (same_host(mx_target(found[i]), mx_target(r->value)))
			return ZONE_CHECK_OK;
	return ZONE_CHECK_DIFFERS;
}

static enum zone_verdict check_addr(const struct zone_record *r, const char *const *found,
                                    size_t n, char *detail, size_t len)
{
	char want[64], have[64];
	list_found(found, n, detail, len);
	if (ip_canonical(r->value, want, sizeof(want)) < 0)
		return ZONE_CHECK_DIFFERS;
	for (size_t i = 0; i < n; i++)
		if (ip_canonical(found[i], have, sizeof(have)) == 0 && strcmp(want, have) == 0)
			return ZONE_CHECK_OK;
	return ZONE_CHECK_DIFFERS;
}

static enum zone_verdict check_ptr(const struct zone_record *r, const char *const *found,
                                   size_t n, char *detail, size_t len)
{
	list_found(found, n, detail, len);
	for (size_t i = 0; i < n; i++)
		if (same_host(found[i], r->value))
			return ZONE_CHECK_OK;
	return ZONE_CHECK_DIFFERS;
}

/* ---- SPF ---- */

static enum zone_verdict check_spf(const struct zone_input *in, const char *const *found,
                                   size_t n, char *detail, size_t len)
{
	const char *spf = NULL;
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (spf_is_record(found[i]) && count++ == 0)
			spf = found[i];
	if (count == 0) {
		snprintf(detail, len, "no v=spf1 TXT record");
		return ZONE_CHECK_MISSING;
	}
	if (count > 1) {
		/* RFC 7208 4.5: more than one is a permerror: receivers ignore them all */
		snprintf(detail, len, "%zu v=spf1 records: receivers treat that as an error; keep one",
		         count);
		return ZONE_CHECK_DIFFERS;
	}
	if (spf_passes_all(spf)) {
		snprintf(detail, len, "dangerous: '+all' lets any host send as @%s: \"%s\"", in->domain,
		         spf);
		return ZONE_CHECK_DIFFERS;
	}
	bool unknown = false;
	if (spf_authorises(spf, in->domain, in->hostname, in->addrs, in->naddrs, &unknown)) {
		snprintf(detail, len, "found: \"%s\"", spf);
		return ZONE_CHECK_OK;
	}
	snprintf(detail, len, "does not authorise this server%s: \"%s\"",
	         unknown ? " (include:, exists: and ptr not followed)" : "", spf);
	return ZONE_CHECK_DIFFERS;
}

/* ---- DKIM and DMARC: tag=value lists (RFC 6376 3.2) ---- */

/* The value of tag in a tag list, without spaces (base64 in p= may be folded
 * with them), into out; false when the tag is absent. */
static bool tag_value(const char *list, const char *tag, char *out, size_t outlen)
{
	size_t tlen = strlen(tag);
	for (const char *p = list; p != NULL; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		p += strspn(p, " \t");
		if (strncmp(p, tag, tlen) != 0)
			continue;
		const char *v = p + tlen;
		v += strspn(v, " \t");
		if (*v != '=')
			continue;
		size_t o = 0;
		for (v++; *v != '\0' && *v != ';' && o + 1 < outlen; v++)
			if (*v != ' ' && *v != '\t')
				out[o++] = *v;
		out[o] = '\0';
		return true;
	}
	return false;
}

static enum zone_verdict check_dkim(const struct zone_record *r, const char *const *found,
                                    size_t n, char *detail, size_t len)
{
	char want[TAG_VALUE_MAX], have[TAG_VALUE_MAX];
	if (!tag_value(r->value, "p", want, sizeof(want)))
		want[0] = '\0';
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!tag_value(found[i], "p", have, sizeof(have)))
			continue;
		if (strcmp(have, want) == 0) {
			snprintf(detail, len, "found the key of selector %s", r->subject);
			return ZONE_CHECK_OK;
		}
		if (!any)
			snprintf(detail, len, have[0] == '\0' ? "the key is revoked (empty p=)"
			                                      : "another key: p=%.24s...", have);
		any = true;
	}
	if (!any) {
		if (n == 0) {
			snprintf(detail, len, "no TXT record");
			return ZONE_CHECK_MISSING;
		}
		list_found(found, n, detail, len);
	}
	return ZONE_CHECK_DIFFERS;
}

static bool is_dmarc(const char *txt)
{
	/* RFC 7489 6.4: v=DMARC1 comes first */
	return strncmp(txt, "v=DMARC1", 8) == 0 && (txt[8] == ';' || txt[8] == ' ' || txt[8] == '\0');
}

static enum zone_verdict check_dmarc(const char *const *found, size_t n, char *detail,
                                     size_t len)
{
	const char *dmarc = NULL;
	size_t count = 0;
	char policy[32];
	for (size_t i = 0; i < n; i++)
		if (is_dmarc(found[i]) && count++ == 0)
			dmarc = found[i];
	if (count == 0) {
		snprintf(detail, len, "no v=DMARC1 TXT record");
		return ZONE_CHECK_MISSING;
	}
	if (count > 1) {
		/* RFC 7489 6.6.3: several records: no policy applies */
		snprintf(detail, len, "%zu v=DMARC1 records: receivers apply none; keep one", count);
		return ZONE_CHECK_DIFFERS;
	}
	if (!tag_value(dmarc, "p", policy, sizeof(policy)))
		str_copy(policy, sizeof(policy), "(none given)");
	snprintf(detail, len, "policy p=%s: \"%s\"", policy, dmarc);
	return ZONE_CHECK_OK;
}

enum zone_verdict zone_check(const struct zone_record *r, const struct zone_input *in,
                             enum dns_status st, const char *const *found, size_t nfound,
                             char *detail, size_t detaillen)
{
	if (st != DNS_OK && st != DNS_NXDOMAIN) {
		snprintf(detail, detaillen, "%s", st == DNS_BOGUS ? "DNSSEC validation failed"
		                                  : "server failure or no answer in time");
		return ZONE_CHECK_FAILED;
	}
	if (st == DNS_NXDOMAIN)
		nfound = 0;
	switch (r->kind) {
	case ZONE_SPF:
		return check_spf(in, found, nfound, detail, detaillen);
	case ZONE_DKIM:
		return check_dkim(r, found, nfound, detail, detaillen);
	case ZONE_DMARC:
		return check_dmarc(found, nfound, detail, detaillen);
	default:
		break;
	}
	if (nfound == 0) {
		snprintf(detail, detaillen, "no %s record", dns_rrtype_name(r->type));
		return ZONE_CHECK_MISSING;
	}
	if (r->kind == ZONE_MX)
		return check_mx(r, found, nfound, detail, detaillen);
	if (r->kind == ZONE_PTR)
		return check_ptr(r, found, nfound, detail, detaillen);
	return check_addr(r, found, nfound, detail, detaillen);
}
