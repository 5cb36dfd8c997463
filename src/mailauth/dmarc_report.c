/* DMARC aggregate reports: the event, the destinations and the report
 * (dmarc_report.h). */
#include "mailauth/dmarc_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "core/util.h"
#include "mail/encode.h"

/* ---- recording ------------------------------------------------------------ */

static const char *spf_result_name(enum dmarc_spf_result r)
{
	switch (r) {
	case DMARC_SPF_PASS: return "pass";
	case DMARC_SPF_FAIL: return "fail";
	case DMARC_SPF_SOFTFAIL: return "softfail";
	case DMARC_SPF_NEUTRAL: return "neutral";
	case DMARC_SPF_TEMPERROR: return "temperror";
	case DMARC_SPF_PERMERROR: return "permerror";
	case DMARC_SPF_NONE: break;
	}
	return "none";
}

/* What postern did with the message, in the report's words (RFC 7489 C:
 * DispositionType): a quarantine is delivery into Junk. */
static const char *disposition_name(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DISP_JUNK: return "quarantine";
	case DMARC_DISP_REJECT: return "reject";
	case DMARC_DISP_ACCEPT:
	case DMARC_DISP_DEFER: break;
	}
	return "none";
}

/* The signature a report names: the first whole-body one that passed for
 * an aligned domain when DKIM passed DMARC, else the first. */
static const struct dmarc_dkim_sig *reported_signature(const struct orgdomain *od,
                                                       const struct dmarc_found *f,
                                                       const struct dmarc_input *in,
                                                       bool aligned_pass)
{
	for (size_t i = 0; aligned_pass && i < in->ndkim; i++) {
		char d[ORGDOMAIN_NAME_MAX];
		if (in->dkim[i].pass && in->dkim[i].whole_body && in->dkim[i].d != NULL &&
		    orgdomain_normalize(in->dkim[i].d, d, sizeof(d)) == 0 &&
		    dmarc_aligned(od, f->from_domain, d, f->rec.adkim))
			return &in->dkim[i];
	}
	return in->ndkim > 0 ? &in->dkim[0] : NULL;
}

static void join_rua(char *out, const struct dmarc_record *rec)
{
	out[0] = '\0';
	for (size_t i = 0; i < rec->nrua; i++) {
		if (i > 0)
			strcat(out, ",");
		strcat(out, rec->rua[i]);
	}
}

static const char *bounded(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max ? s : "";
}

void dmarc_report_event(struct dmarc_agg_event *ev, char rua[DMARC_REPORT_RUA_TEXT], time_t now,
                        const char *source_ip, const struct orgdomain *od,
                        const struct dmarc_found *found,
                        const struct dmarc_input *in, const struct dmarc_outcome *out)
{
	const struct dmarc_record *rec = &found->rec;
	const struct dmarc_dkim_sig *sig = reported_signature(od, found, in, out->dkim_aligned);
	join_rua(rua, rec);
	*ev = (struct dmarc_agg_event){
		.day = (int64_t)now / 86400,
		.policy_domain = found->policy_domain,
		.header_from = found->from_domain,
		.source_ip = source_ip,
		.p = dmarc_policy_name(rec->p),
		.sp = rec->sp == DMARC_POLICY_UNSET ? "" : dmarc_policy_name(rec->sp),
		.pct = rec->pct,
		.adkim = rec->adkim == DMARC_ALIGN_STRICT ? 's' : 'r',
		.aspf = rec->aspf == DMARC_ALIGN_STRICT ? 's' : 'r',
		.rua = rua,
		.disposition = disposition_name(out->disposition),
		.dmarc_pass = out->result == DMARC_RESULT_PASS,
		.dkim_aligned = out->dkim_aligned,
		.spf_aligned = out->spf_aligned,
		.dkim_domain = sig != NULL ? bounded(sig->d, STORE_DMARC_DOMAIN_MAX) : "",
		.dkim_result = sig == NULL ? "none" : sig->pass ? "pass" : "fail",
		.spf_domain = bounded(in->spf_domain, STORE_DMARC_DOMAIN_MAX),
		.spf_result = spf_result_name(in->spf),
	};
}

/* ---- destinations ----------------------------------------------------------- */

/* "10m" and the like (RFC 7489 6.2: k, m, g, t; none is octets); 0 when malformed */
static uint64_t parse_size(const char *s, size_t len)
{
	uint64_t n = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (n > UINT64_MAX / 10 / (1ull << 40))
			return 0;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || len - i > 1)
		return 0;
	if (i == len)
		return n;
	switch (s[i] | 0x20) {
	case 'k': return n << 10;
	case 'm': return n << 20;
	case 'g': return n << 30;
	case 't': return n << 40;
	}
	return 0;
}

static bool address_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$&'*+-/=^_`{|}~.", c) != NULL);
}

/* A host name of letters, digits and hyphens (RFC 1123 2.1), normalised */
static bool host_name_ok(const char *d)
{
	size_t label = 0;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return strchr(d, '.') != NULL;
			label = 0;
		} else if ((*p == '-' && label == 0) ||
		           !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			return false;
		} else {
			label++;
		}
	}
}

/* One "mailto:local@domain[!size]" URI (whitespace around it trimmed). */
static bool parse_mailto(const char *s, size_t len, struct dmarc_report_dest *d)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len < 7 || strncasecmp(s, "mailto:", 7) != 0)
		return false;
	s += 7;
	len -= 7;
	const char *bang = memchr(s, '!', len);
	size_t alen = bang ? (size_t)(bang - s) : len;
	d->max_size = 0;
	if (bang != NULL && (d->max_size = parse_size(bang + 1, len - alen - 1)) == 0)
		return false;
	if (alen == 0 || alen >= sizeof(d->addr))
		return false;
	const char *at = memchr(s, '@', alen);
	if (at == NULL || at == s || memchr(at + 1, '@', alen - (size_t)(at - s) - 1) != NULL)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (s[i] != '@' && !address_char((unsigned char)s[i]))
			return false;           /* '%', '?', quotes, spaces, controls: not taken */
	char domain[ORGDOMAIN_NAME_MAX];
	char raw[sizeof(d->addr)];
	size_t llen = (size_t)(at - s);
	memcpy(raw, at + 1, alen - llen - 1);
	raw[alen - llen - 1] = '\0';
	if (llen > 64 || s[0] == '.' || s[llen - 1] == '.' ||
	    orgdomain_normalize(raw, domain, sizeof(domain)) < 0 || !host_name_ok(domain) ||
	    llen + 1 + strlen(domain) >= sizeof(d->addr))
		return false;
	memcpy(d->addr, s, llen);
	d->addr[llen] = '@';
	strcpy(d->addr + llen + 1, domain);
	d->domain = d->addr + llen + 1;
	return true;
}

size_t dmarc_report_dests(const char *rua, struct dmarc_report_dest *out)
{
	size_t n = 0;
	for (const char *p = rua; *p != '\0' && n < DMARC_REPORT_DESTS_MAX;) {
		size_t len = strcspn(p, ",");
		if (parse_mailto(p, len, &out[n])) {
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= strcasecmp(out[i].addr, out[n].addr) == 0;
			n += !dup;
		}
		p += len + (p[len] == ',');
	}
	return n;
}

bool dmarc_report_is_external(const struct orgdomain *od, const char *policy_domain,
                              const char *dest_domain)
{
	char a[ORGDOMAIN_NAME_MAX], b[ORGDOMAIN_NAME_MAX];
	if (orgdomain_find(od, policy_domain, a, sizeof(a)) < 0 ||
	    orgdomain_find(od, dest_domain, b, sizeof(b)) < 0)
		return true;
	return strcasecmp(a, b) != 0;
}

int dmarc_report_auth_name(const char *policy_domain, const char *dest_domain, char *out,
                           size_t outlen)
{
	int n = snprintf(out, outlen, "%s._report._dmarc.%s", policy_domain, dest_domain);
	return n < 0 || (size_t)n >= outlen || n > 253 ? -1 : 0;
}

bool dmarc_report_authorised(const char *const *txts, const size_t *lens, size_t n)
{
	/* RFC 7489 7.1 steps 5 and 6: none or several records prove nothing */
	return n == 1 && dmarc_is_record(txts[0], lens ? lens[0] : strlen(txts[0]));
}

/* ---- the XML -------------------------------------------------------------------- */

static void appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, b->len + (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Text as XML character data: markup escaped, and what XML 1.0 cannot hold
 * or is not ASCII (names here are A-labels; anything else is hostile)
 * replaced by '?'. */
static void xml_text(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&apos;"); break;
		default:
			buf_append(b, c < 0x20 || c >= 0x7f ? "?" : s, 1);
		}
	}
}

static void xml_element(struct buf *b, const char *indent, const char *name, const char *text)
{
	appendf(b, "%s<%s>", indent, name);
	xml_text(b, text);
	appendf(b, "</%s>\n", name);
}

void dmarc_report_xml_begin(struct buf *b, const struct dmarc_report_meta *m,
                            const struct store_dmarc_domain *d)
{
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
	         "  <version>1.0</version>\n  <report_metadata>\n");
	xml_element(b, "    ", "org_name", m->org_name);
	xml_element(b, "    ", "email", m->email);
	xml_element(b, "    ", "report_id", m->report_id);
	appendf(b, "    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
	        "    </date_range>\n  </report_metadata>\n  <policy_published>\n",
	        (long long)m->day * 86400, (long long)m->day * 86400 + 86399);
	xml_element(b, "    ", "domain", d->policy_domain);
	xml_element(b, "    ", "adkim", d->adkim);
	xml_element(b, "    ", "aspf", d->aspf);
	xml_element(b, "    ", "p", d->p);
	xml_element(b, "    ", "sp", d->sp[0] ? d->sp : d->p);
	appendf(b, "    <pct>%u</pct>\n  </policy_published>\n", d->pct);
}

void dmarc_report_xml_row(struct buf *b, const struct store_dmarc_row *r)
{
	buf_puts(b, "  <record>\n    <row>\n");
	xml_element(b, "      ", "source_ip", r->source_ip);
	appendf(b, "      <count>%lld</count>\n      <policy_evaluated>\n", r->count);
	xml_element(b, "        ", "disposition", r->disposition);
	xml_element(b, "        ", "dkim", r->dkim_aligned ? "pass" : "fail");
	xml_element(b, "        ", "spf", r->spf_aligned ? "pass" : "fail");
	buf_puts(b, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	xml_element(b, "      ", "header_from", r->header_from);
	buf_puts(b, "    </identifiers>\n    <auth_results>\n");
	if (r->dkim_domain[0] != '\0') {
		buf_puts(b, "      <dkim>\n");
		xml_element(b, "        ", "domain", r->dkim_domain);
		xml_element(b, "        ", "result", r->dkim_result);
		buf_puts(b, "      </dkim>\n");
	}
	buf_puts(b, "      <spf>\n");
	xml_element(b, "        ", "domain", r->spf_domain);
	xml_element(b, "        ", "result", r->spf_result);
	buf_puts(b, "      </spf>\n    </auth_results>\n  </record>\n");
}

void dmarc_report_xml_end(struct buf *b)
{
	buf_puts(b, "</feedback>\n");
}

int dmarc_report_gzip(const char *in, size_t len, struct buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t bound = deflateBound(&z, (uLong)len);
	buf_reserve(out, out->len + bound + 1);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)bound;
	int rc = deflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END)
		out->len += z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/* ---- the mail ------------------------------------------------------------------- */

static void base64_lf(struct buf *out, const char *in, size_t len)
{
	struct buf b64 = { 0 };
	mime_encode_base64(in, len, &b64);
	for (size_t i = 0; i < b64.len; i++)
		if (b64.data[i] != '\r')
			buf_append(out, &b64.data[i], 1);
	buf_puts(out, "\n");
	buf_free(&b64);
}

void dmarc_report_message(struct buf *out, const struct dmarc_report_meta *m,
                          const char *policy_domain, const char *to, const char *gz, size_t gzlen,
                          const char *date)
{
	long long begin = (long long)m->day * 86400, end = begin + 86399;
	appendf(out, "From: DMARC reports <%s>\nTo: <%s>\nDate: %s\n"
	        "Message-ID: <%s.dmarc@%s>\n"
	        /* RFC 7489 7.2.1.1's Subject, folded as its example is */
	        "Subject: Report Domain: %s\n Submitter: %s\n Report-ID: <%s@%s>\n"
	        "MIME-Version: 1.0\nAuto-Submitted: auto-generated\n"
	        "Content-Type: multipart/mixed; boundary=\"=_dmarc_%s\"\n\n"
	        "This is a DMARC aggregate report (RFC 7489) in MIME format.\n\n"
	        "--=_dmarc_%s\nContent-Type: text/plain; charset=us-ascii\n\n"
	        "DMARC aggregate report from %s for mail that used %s in its From: field,\n"
	        "%lld to %lld (UTC), attached as gzip'd XML. Report-ID: %s\n\n"
	        "--=_dmarc_%s\nContent-Type: application/gzip\n"
	        "Content-Transfer-Encoding: base64\n"
	        "Content-Disposition: attachment;\n filename=\"%s!%s!%lld!%lld!%s.xml.gz\"\n\n",
	        m->email, to, date, m->report_id, m->org_name, policy_domain, m->org_name,
	        m->report_id, m->org_name, m->report_id, m->report_id, m->org_name, policy_domain,
	        begin, end, m->report_id, m->report_id, m->org_name, policy_domain, begin, end,
	        m->report_id);
	base64_lf(out, gz, gzlen);
	appendf(out, "\n--=_dmarc_%s--\n", m->report_id);
}
