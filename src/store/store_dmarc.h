/* DMARC aggregate report data (RFC 7489 7.2): inbound messages whose From
 * domain has a DMARC record, counted per UTC day, policy domain and the
 * facts one row of a report holds; what became of each domain-day's data
 * (a report sent, or why not); and when the next report run is due.
 *
 * Recording is one statement per message. It is bounded: a domain-day
 * holds at most STORE_DMARC_ROWS_PER_DOMAIN distinct rows and a day at most
 * STORE_DMARC_ROWS_PER_DAY, so that a flood of forged domains or sources
 * cannot fill the disk; an event beyond is dropped and the drop counted. */
#ifndef POSTERN_STORE_DMARC_H
#define POSTERN_STORE_DMARC_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_DMARC_ROWS_PER_DOMAIN 1000
#define STORE_DMARC_ROWS_PER_DAY 20000
/* Lengths an event's texts may have (a domain name, an IPv6 address in
 * text, the rua= list as published) */
#define STORE_DMARC_DOMAIN_MAX 253
#define STORE_DMARC_IP_MAX 45
#define STORE_DMARC_RUA_MAX 1100

/* One message's DMARC facts. Every text is required ("" where it says so). */
struct dmarc_agg_event {
	int64_t day;                /* UTC day: unix time / 86400 */
	const char *policy_domain;  /* where the DMARC record was found */
	const char *header_from;    /* the RFC 5322.From domain */
	const char *source_ip;      /* the SMTP client's address, text */
	/* the policy published */
	const char *p;              /* "none", "quarantine" or "reject" */
	const char *sp;             /* the same, or "" when the record has no sp= */
	unsigned pct;               /* 0..100 */
	char adkim, aspf;           /* 'r' or 's' */
	const char *rua;            /* the rua= URIs as published, ',' between them; "" none */
	/* what was decided */
	const char *disposition;    /* the policy applied: "none", "quarantine", "reject" */
	bool dmarc_pass;
	bool dkim_aligned;          /* an aligned DKIM signature passed */
	bool spf_aligned;           /* SPF passed for an aligned domain */
	const char *dkim_domain;    /* d= of the aligned signature, else of the first; "" none */
	/* that signature's result: none, pass, fail, policy, neutral, temperror, permerror */
	const char *dkim_result;
	const char *spf_domain;     /* the domain SPF checked; "" none */
	/* none, neutral, pass, fail, softfail, temperror, permerror */
	const char *spf_result;
};

/* Counts the message: STORE_OK (counted, or dropped by a cap and the drop
 * counted), STORE_INVALID for an event with a text out of its set or too
 * long, or STORE_ERROR. */
int store_dmarc_record(struct store *st, const struct dmarc_agg_event *ev);

/* A domain-day's summary */
struct store_dmarc_domain {
	int64_t day;
	const char *policy_domain;
	const char *p, *sp, *adkim, *aspf, *rua;
	unsigned pct;
	bool passed;                /* some of its mail passed DMARC */
	long long nrows;            /* distinct rows */
	long long messages;         /* the rows' counts summed */
};
typedef void (*store_dmarc_domain_cb)(void *arg, const struct store_dmarc_domain *d);
/* The domain-days of days from..to (inclusive) with data, by day, then domain. */
int store_dmarc_domains(struct store *st, int64_t from_day, int64_t to_day,
                        store_dmarc_domain_cb cb, void *arg);

struct store_dmarc_row {
	int64_t day;
	const char *policy_domain, *source_ip, *header_from, *disposition;
	bool dkim_aligned, spf_aligned;
	const char *dkim_domain, *dkim_result, *spf_domain, *spf_result;
	long long count;
};
typedef void (*store_dmarc_row_cb)(void *arg, const struct store_dmarc_row *r);
/* The rows of a day (policy_domain NULL: of every domain), by domain, then
 * count (largest first). */
int store_dmarc_rows(struct store *st, int64_t day, const char *policy_domain,
                     store_dmarc_row_cb cb, void *arg);
/* A day's distinct rows and dropped events (zeros for a day without data). */
int store_dmarc_day_totals(struct store *st, int64_t day, long long *nrows, long long *drops);

/* What became of a domain-day's data */
struct store_dmarc_report {
	int64_t day;
	const char *policy_domain;
	const char *status;         /* "sent", or why not: "not-passed", "no-rua", ... */
	const char *report_id;      /* "" when none was sent */
	const char *rcpts;          /* the addresses it went to, ' ' between them */
	const char *detail;
	long long created;          /* unix time */
};
typedef void (*store_dmarc_report_cb)(void *arg, const struct store_dmarc_report *r);
/* Records the outcome and removes the domain-day's data, in one
 * transaction: STORE_OK, STORE_EXISTS (that domain-day has one already:
 * nothing changed), STORE_ERROR. */
int store_dmarc_report_done(struct store *st, const struct store_dmarc_report *r);
/* Outcomes of days from..to (inclusive), by day, then domain. */
int store_dmarc_reports(struct store *st, int64_t from_day, int64_t to_day,
                        store_dmarc_report_cb cb, void *arg);
/* How many reports were sent at or after `since` (unix time). */
int store_dmarc_reports_sent_since(struct store *st, long long since, long long *n);
/* Forgets the data of days before data_before and outcomes of days before
 * reports_before (retention, whether or not reports are sent). */
int store_dmarc_expire(struct store *st, int64_t data_before, int64_t reports_before);

/* When the next report run is due (unix time; 0: at once, also when never
 * set), and setting it (`postern dmarc send-reports` sets 0). */
int store_dmarc_next_run(struct store *st, long long *at);
int store_dmarc_set_next_run(struct store *st, long long at);

#endif
