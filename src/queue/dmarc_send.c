/* DMARC aggregate reports, sent by the queue runner (RFC 7489 7.2).
 *
 * Every dmarc.report_interval (or at once after `postern dmarc
 * send-reports`) a run takes the domain-days of completed UTC days and, for
 * each, one at a time:
 * - a domain none of whose mail passed DMARC gets nothing: its rua= is
 *   whoever forged it, and mailing it would make this server a spammer's
 *   amplifier (RFC 7489 7.1's worry, and what gets an IP listed);
 * - only mailto: rua= addresses are taken, two at most, each with its
 *   "!size" limit;
 * - an address outside the policy domain's organisational domain needs its
 *   authorisation record, TXT <policy>._report._dmarc.<dest> (RFC 7489 7.1),
 *   asked on the runner's resolver; a temporary DNS failure keeps the data
 *   for the next run;
 * - at most dmarc.report_max_per_day reports in any 24 hours; the rest wait.
 * A domain-day's outcome is recorded (and its data removed) before its
 * report is queued: a report goes out once at most. The report is queued
 * with the null sender, like the queue's other reports: nothing must ever
 * answer it, and RFC 7489 7.2.1.1 asks only that its From: domain pass
 * DMARC (postmaster@hostname: SPF checks the HELO name for <>, which is the
 * hostname, and the DKIM signer signs it when the hostname has a key).
 * Data is kept 7 days whether or not reports are on (`postern dmarc
 * reports` shows it); outcomes 31 days. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mailauth/dmarc_report.h"
#include "mailauth/spf_resolver.h"
#include "queue/runner_int.h"
#include "store/store_dmarc.h"

#define RUN_MAX 500                 /* domain-days taken by one run; the rest by the next */
#define DATA_KEEP_DAYS 7
#define OUTCOMES_KEEP_DAYS 31
#define TRACE_ID "dmarc-report"

struct run_item {
	int64_t day;
	char policy_domain[ORGDOMAIN_NAME_MAX];
	char p[16], sp[16], adkim[4], aspf[4];
	unsigned pct;
	bool passed;
	char rua[STORE_DMARC_RUA_MAX + 1];
};

enum dest_state { DEST_OK, DEST_PENDING, DEST_REFUSED, DEST_TEMPFAIL };

struct dest {
	struct dmarc_sender *s;
	struct dmarc_report_dest d;
	enum dest_state state;
	int query;
};

struct dmarc_sender {
	struct queue_runner *q;
	struct orgdomain *od;
	struct spf_resolver *res;
	struct spf_dns dns;
	struct event *step_ev;
	struct run_item *items;
	size_t nitems, next;
	/* the item in hand */
	struct dest dests[DMARC_REPORT_DESTS_MAX];
	size_t ndests;
	int pending;
};

static long long now_s(void)
{
	return (long long)time(NULL);
}

static void step_later(struct dmarc_sender *s)
{
	struct timeval zero = { 0, 0 };
	evtimer_add(s->step_ev, &zero);
}

static void run_end(struct dmarc_sender *s)
{
	free(s->items);
	s->items = NULL;
	s->nitems = s->next = 0;
}

/* The domain-day is settled: its outcome recorded, its data gone. */
static bool settle(struct dmarc_sender *s, const struct run_item *it, const char *status,
                   const char *report_id, const char *rcpts, const char *detail)
{
	struct store_dmarc_report r = {
		.day = it->day, .policy_domain = it->policy_domain, .status = status,
		.report_id = report_id, .rcpts = rcpts, .detail = detail, .created = now_s(),
	};
	int rc = store_dmarc_report_done(s->q->store, &r);
	if (strcmp(status, "sent") != 0)
		log_event(LOG_INFO, "dmarc.report_skipped", "s", "domain", it->policy_domain,
		          "i", "day", (long long)it->day, "s", "reason", status, "s", "detail", detail,
		          NULL);
	if (rc != STORE_OK)
		log_event(LOG_ERROR, "dmarc.report_record_failed", "s", "domain", it->policy_domain,
		          "i", "rc", (long long)rc, NULL);
	return rc == STORE_OK;
}

/* ---- the report ------------------------------------------------------------------ */

static void on_row(void *arg, const struct store_dmarc_row *r)
{
	dmarc_report_xml_row(arg, r);
}

/* The mail's size on the wire, near enough: CRLF for each LF */
static uint64_t wire_size(const struct buf *msg)
{
	uint64_t n = msg->len;
	for (size_t i = 0; i < msg->len; i++)
		n += msg->data[i] == '\n';
	return n;
}

static bool build_gz(struct dmarc_sender *s, const struct run_item *it,
                     const struct dmarc_report_meta *m, struct buf *gz)
{
	struct store_dmarc_domain d = {
		.day = it->day, .policy_domain = it->policy_domain, .p = it->p, .sp = it->sp,
		.adkim = it->adkim, .aspf = it->aspf, .pct = it->pct,
	};
	struct buf xml = { 0 };
	dmarc_report_xml_begin(&xml, m, &d);
	int rc = store_dmarc_rows(s->q->store, it->day, it->policy_domain, on_row, &xml);
	dmarc_report_xml_end(&xml);
	bool ok = rc == STORE_OK && dmarc_report_gzip(xml.data, xml.len, gz) == 0;
	buf_free(&xml);
	return ok;
}

static void send_report(struct dmarc_sender *s, const struct run_item *it)
{
	const struct config *cfg = s->q->cfg;
	unsigned char rnd[8];
	char id[64], email[300], date[64], rcpts[600] = "", detail[300] = "";
	random_bytes(rnd, sizeof(rnd));
	snprintf(id, sizeof(id), "%lld.%02x%02x%02x%02x%02x%02x%02x%02x", (long long)it->day,
	         rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(email, sizeof(email), "postmaster@%s", cfg->hostname);
	struct dmarc_report_meta m = { cfg->hostname, email, id, it->day };
	struct buf gz = { 0 }, msgs[DMARC_REPORT_DESTS_MAX];
	memset(msgs, 0, sizeof(msgs));
	if (!build_gz(s, it, &m, &gz)) {
		log_event(LOG_ERROR, "dmarc.report_failed", "s", "domain", it->policy_domain, NULL);
		buf_free(&gz);
		return;                      /* the data stays for the next run */
	}
	rfc5322_date(date, sizeof(date));
	for (size_t i = 0; i < s->ndests; i++) {
		const struct dest *d = &s->dests[i];
		if (d->state != DEST_OK)
			continue;
		dmarc_report_message(&msgs[i], &m, it->policy_domain, d->d.addr, gz.data, gz.len, date);
		if (d->d.max_size != 0 && wire_size(&msgs[i]) > d->d.max_size) {
			snprintf(detail, sizeof(detail), "larger than %s's !size", d->d.addr);
			buf_free(&msgs[i]);
			continue;
		}
		size_t len = strlen(rcpts);
		snprintf(rcpts + len, sizeof(rcpts) - len, "%s%s", len ? " " : "", d->d.addr);
	}
	if (rcpts[0] == '\0') {
		settle(s, it, "too-large", "", "", detail);
	} else if (settle(s, it, "sent", id, rcpts, detail)) {
		for (size_t i = 0; i < s->ndests; i++)
			if (msgs[i].len > 0 &&
			    !report_inject(s->q, s->dests[i].d.addr, TRACE_ID, msgs[i].data, msgs[i].len))
				log_event(LOG_WARN, "dmarc.report_unroutable", "s", "to", s->dests[i].d.addr,
				          NULL);
		log_event(LOG_INFO, "dmarc.report_sent", "s", "domain", it->policy_domain,
		          "i", "day", (long long)it->day, "s", "to", rcpts, "s", "id", id,
		          "i", "size", (long long)gz.len, NULL);
	}
	for (size_t i = 0; i < DMARC_REPORT_DESTS_MAX; i++)
		buf_free(&msgs[i]);
	buf_free(&gz);
}

/* All answers are in: send to the authorised, or say why not. */
static void item_finish(struct dmarc_sender *s)
{
	const struct run_item *it = &s->items[s->next++];
	size_t ok = 0, tempfail = 0;
	for (size_t i = 0; i < s->ndests; i++) {
		ok += s->dests[i].state == DEST_OK;
		tempfail += s->dests[i].state == DEST_TEMPFAIL;
	}
	if (ok == 0 && tempfail > 0)
		log_event(LOG_INFO, "dmarc.report_deferred", "s", "domain", it->policy_domain,
		          "s", "reason", "DNS failure checking the report address", NULL);
	else if (ok == 0)
		settle(s, it, "unauthorised", "", "",
		       "no _report._dmarc record authorises the external rua= addresses");
	else
		send_report(s, it);
	step_later(s);
}

static void on_auth_answer(void *arg, const struct spf_dns_answer *ans)
{
	struct dest *d = arg;
	struct dmarc_sender *s = d->s;
	d->query = -1;
	if (ans->st == SPF_DNS_TEMPFAIL)
		d->state = DEST_TEMPFAIL;
	else if (ans->st == SPF_DNS_OK && dmarc_report_authorised(ans->rr, ans->len, ans->n))
		d->state = DEST_OK;
	else
		d->state = DEST_REFUSED;
	if (--s->pending == 0)
		item_finish(s);
}

/* Asks for an external destination's authorisation record. */
static void check_dest(struct dmarc_sender *s, struct dest *d, const char *policy_domain)
{
	char name[300];
	d->s = s;
	d->query = -1;
	d->state = DEST_OK;
	if (!dmarc_report_is_external(s->od, policy_domain, d->d.domain))
		return;
	d->state = DEST_REFUSED;
	if (dmarc_report_auth_name(policy_domain, d->d.domain, name, sizeof(name)) < 0)
		return;
	d->state = DEST_PENDING;
	s->pending++;
	d->query = s->dns.query(s->dns.arg, name, SPF_RR_TXT, on_auth_answer, d);
	if (d->query < 0) {
		d->state = DEST_TEMPFAIL;
		s->pending--;
	}
}

static bool rate_limited(struct dmarc_sender *s)
{
	long long sent = 0;
	if (store_dmarc_reports_sent_since(s->q->store, now_s() - 86400, &sent) != STORE_OK)
		return true;
	return sent >= s->q->cfg->dmarc.report_max_per_day;
}

/* Starts on the next domain-day; false when the run is over. */
static bool item_start(struct dmarc_sender *s)
{
	if (s->next == s->nitems)
		return false;
	const struct run_item *it = &s->items[s->next];
	char norm[ORGDOMAIN_NAME_MAX];
	s->ndests = 0;
	s->pending = 0;
	if (!it->passed) {
		settle(s, it, "not-passed", "", "", "none of its mail passed DMARC");
	} else if (orgdomain_normalize(it->policy_domain, norm, sizeof(norm)) < 0 ||
	           strcmp(norm, it->policy_domain) != 0) {
		settle(s, it, "invalid", "", "", "not a domain name");
	} else {
		struct dmarc_report_dest found[DMARC_REPORT_DESTS_MAX];
		s->ndests = dmarc_report_dests(it->rua, found);
		if (s->ndests == 0) {
			settle(s, it, "no-rua", "", "", "no usable mailto: address in rua=");
		} else if (rate_limited(s)) {
			log_event(LOG_WARN, "dmarc.report_rate_limited", "i", "max_per_day",
			          (long long)s->q->cfg->dmarc.report_max_per_day,
			          "i", "waiting", (long long)(s->nitems - s->next), NULL);
			return false;
		} else {
			for (size_t i = 0; i < s->ndests; i++) {
				s->dests[i].d = found[i];
				s->dests[i].d.domain = s->dests[i].d.addr + (found[i].domain - found[i].addr);
				check_dest(s, &s->dests[i], it->policy_domain);
			}
			if (s->pending == 0)
				item_finish(s);
			return true;
		}
	}
	s->next++;
	step_later(s);
	return true;
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
	struct dmarc_sender *s = arg;
	(void)fd;
	(void)what;
	if (s->q->stopping || !item_start(s))
		run_end(s);
}

/* ---- the run ----------------------------------------------------------------------- */

static void on_domain(void *arg, const struct store_dmarc_domain *d)
{
	struct dmarc_sender *s = arg;
	if (s->nitems == RUN_MAX)
		return;
	struct run_item *it = &s->items[s->nitems++];
	it->day = d->day;
	str_copy(it->policy_domain, sizeof(it->policy_domain), d->policy_domain);
	str_copy(it->p, sizeof(it->p), d->p);
	str_copy(it->sp, sizeof(it->sp), d->sp);
	str_copy(it->adkim, sizeof(it->adkim), d->adkim);
	str_copy(it->aspf, sizeof(it->aspf), d->aspf);
	it->pct = d->pct;
	it->passed = d->passed;
	str_copy(it->rua, sizeof(it->rua), d->rua);
}

static bool sender_ready(struct dmarc_sender *s)
{
	char err[300];
	if (s->od == NULL && (s->od = orgdomain_open(s->q->cfg->dmarc.psl_file, err,
	                                              sizeof(err))) == NULL) {
		log_event(LOG_ERROR, "dmarc.report_psl_failed", "s", "error", err, NULL);
		return false;
	}
	if (s->res == NULL)
		s->res = spf_resolver_new(s->q->resolver, &s->dns);
	return true;
}

static void run_start(struct dmarc_sender *s, long long now)
{
	int64_t today = now / 86400;
	s->items = xcalloc(RUN_MAX, sizeof(*s->items));
	s->nitems = s->next = 0;
	/* completed days only: today's counts are still growing */
	if (store_dmarc_domains(s->q->store, 0, today - 1, on_domain, s) != STORE_OK ||
	    s->nitems == 0) {
		run_end(s);
		return;
	}
	log_event(LOG_INFO, "dmarc.report_run", "i", "domains", (long long)s->nitems, NULL);
	step_later(s);
}

void dmarc_send_tick(struct queue_runner *q)
{
	struct dmarc_sender *s = q->dmarc;
	long long next = 0, now = now_s();
	if (s == NULL) {
		s = q->dmarc = xcalloc(1, sizeof(*s));
		s->q = q;
		s->step_ev = evtimer_new(q->base, on_step, s);
	}
	if (s->items != NULL || store_dmarc_next_run(q->store, &next) != STORE_OK || next > now)
		return;
	store_dmarc_set_next_run(q->store, now + (long long)(q->cfg->dmarc.report_interval_ms / 1000));
	int64_t today = now / 86400;
	store_dmarc_expire(q->store, today - DATA_KEEP_DAYS, today - OUTCOMES_KEEP_DAYS);
	if (q->cfg->dmarc.reports && sender_ready(s))
		run_start(s, now);
}

void dmarc_send_free(struct queue_runner *q)
{
	struct dmarc_sender *s = q->dmarc;
	if (s == NULL)
		return;
	spf_resolver_free(s->res);      /* pending lookups: no callbacks */
	if (s->step_ev)
		event_free(s->step_ev);
	orgdomain_close(s->od);
	free(s->items);
	free(s);
	q->dmarc = NULL;
}
