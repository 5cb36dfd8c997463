/* DMARC aggregate reports (RFC 7489 7.2): the event a judged message gives
 * the store (store_dmarc.h), where a policy domain's reports may go (its
 * rua= mailto: URIs, and the external destinations' authorisation records
 * of RFC 7489 7.1), and the report itself: the XML of appendix C, gzip'd,
 * in the mail 7.2.1.1 describes. Pure: no DNS, no store, no queue
 * (src/queue/dmarc_send.c runs the reports). */
#ifndef POSTERN_DMARC_REPORT_H
#define POSTERN_DMARC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "mailauth/dmarc.h"
#include "store/store_dmarc.h"

/* ---- recording ---- */

/* Room for an event's rua text (DMARC_URIS_MAX URIs and commas) */
#define DMARC_REPORT_RUA_TEXT (DMARC_URIS_MAX * (DMARC_URI_MAX + 1))

/* Fills ev for store_dmarc_record() from a message judged by
 * dmarc_evaluate() with a record found (found->status DMARC_FOUND_RECORD).
 * od is the evaluation's. Its texts point into found, in, source_ip and
 * rua (which it fills); now gives the day. */
void dmarc_report_event(struct dmarc_agg_event *ev, char rua[DMARC_REPORT_RUA_TEXT], time_t now,
                        const char *source_ip, const struct orgdomain *od,
                        const struct dmarc_found *found,
                        const struct dmarc_input *in, const struct dmarc_outcome *out);

/* ---- destinations ---- */

/* Report addresses taken of a domain's rua= (RFC 7489 6.2: at least two) */
#define DMARC_REPORT_DESTS_MAX 2

struct dmarc_report_dest {
	char addr[256];             /* local@domain */
	const char *domain;         /* into addr */
	uint64_t max_size;          /* the "!size" suffix in octets; 0: none */
};

/* The mailto: URIs of a rua= text (',' between URIs), at most
 * DMARC_REPORT_DESTS_MAX; other schemes and URIs that do not give one plain
 * address (hfields, %-escapes, a quoted or odd local part, a bad domain)
 * are skipped. Returns how many. */
size_t dmarc_report_dests(const char *rua, struct dmarc_report_dest *out);

/* RFC 7489 7.1: a destination outside the policy domain's organisational
 * domain must authorise it. Both normalised. */
bool dmarc_report_is_external(const struct orgdomain *od, const char *policy_domain,
                              const char *dest_domain);
/* The name whose TXT record authorises it: <policy>._report._dmarc.<dest>;
 * -1 when it would be too long for DNS. */
int dmarc_report_auth_name(const char *policy_domain, const char *dest_domain, char *out,
                           size_t outlen);
/* Whether the TXT answer at that name authorises it: exactly one record,
 * a DMARC record (v=DMARC1 first). */
bool dmarc_report_authorised(const char *const *txts, const size_t *lens, size_t n);

/* ---- the report ---- */

struct dmarc_report_meta {
	const char *org_name;       /* our hostname */
	const char *email;          /* postmaster@hostname */
	const char *report_id;      /* "<day>.<hex>" (a MIME token) */
	int64_t day;                /* the UTC day reported: begin and end */
};

/* The XML (RFC 7489 appendix C), in three steps: the metadata and the
 * policy published, each row, the end. Every text is escaped; octets XML
 * cannot hold become '?'. */
void dmarc_report_xml_begin(struct buf *b, const struct dmarc_report_meta *m,
                            const struct store_dmarc_domain *d);
void dmarc_report_xml_row(struct buf *b, const struct store_dmarc_row *r);
void dmarc_report_xml_end(struct buf *b);

/* gzip (RFC 1952) of in: 0, or -1 when zlib fails. */
int dmarc_report_gzip(const char *in, size_t len, struct buf *out);

/* The report mail (RFC 7489 7.2.1.1), LF line ends: From postmaster, the
 * Subject "Report Domain: D Submitter: H Report-ID: <ID@H>", a text part
 * and the gzip'd XML as an application/gzip attachment named
 * H!D!begin!end!ID.xml.gz. */
void dmarc_report_message(struct buf *out, const struct dmarc_report_meta *m,
                          const char *policy_domain, const char *to, const char *gz, size_t gzlen,
                          const char *date);

#endif
