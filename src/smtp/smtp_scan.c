/* The checks a message from another server goes through once its
 * authentication verdict lets it on (smtp_mailauth.c), in order, cheapest
 * and most decisive first:
 *
 *   dnsbl     the client's blocklist score, looked up since the connection
 *             opened (src/filter/dnsbl.h): 554, or Junk under the threshold
 *   greylist  a triplet not seen before waits (src/filter/greylist.h): 451
 *   clamav    clamd's verdict (src/filter/clamav.h): 554 for a virus
 *   rspamd    rspamd's action (src/filter/rspamd.h): 550, 451, or Junk
 *
 * Each refuses the message (the reply, the log; the audit log for what is
 * hostile) or hands it on with what it adds (Junk, header fields); the last
 * one commits. A step that is not configured passes at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "filter/clamav.h"
#include "filter/dnsbl.h"
#include "filter/greylist.h"
#include "filter/rspamd.h"
#include "mailauth/inbound.h"
#include "smtp/smtp_session.h"

/* STEP_NONE: no message is being scanned (the session's field starts at 0) */
enum scan_step { STEP_NONE = 0, STEP_DNSBL, STEP_GREYLIST, STEP_CLAMAV, STEP_RSPAMD, STEP_DONE };

static void scan_next(struct smtp_session *s);

/* An asynchronous step's answer came in and let the message on. */
static void scan_advance(struct smtp_session *s)
{
	s->scan_step++;
	scan_next(s);
}

/* Header fields for the top of the message, after the trace. */
static void add_header(struct smtp_session *s, const char *text, size_t len)
{
	if (len == 0)
		return;
	s->scan_headers = xrealloc(s->scan_headers, s->scan_headers_len + len + 1);
	memcpy(s->scan_headers + s->scan_headers_len, text, len);
	s->scan_headers_len += len;
	s->scan_headers[s->scan_headers_len] = '\0';
}

/* ---- DNSBL: started at connect --------------------------------------------------- */

static void on_dnsbl(void *arg, const struct dnsbl_result *r)
{
	struct smtp_session *s = arg;
	struct smtp_dnsbl *d = s->dnsbl;
	d->done = true;
	d->res = *r;
	if (!r->skipped)
		log_event(r->action == DNSBL_REJECT ? LOG_INFO : LOG_DEBUG, "smtp.dnsbl",
		          "s", "session", s->ns.id, "s", "ip", s->ns.conn.ip, "i", "score",
		          (long long)r->score, "s", "listed", r->listed, "s", "errors", r->errors, NULL);
	if (s->state == SMTP_S_CHECKING && s->scan_step == STEP_DNSBL)
		scan_next(s);           /* the message was waiting for it: step_dnsbl again */
}

void smtp_dnsbl_start(struct smtp_session *s)
{
	struct smtp_worker_checks *wc = smtp_worker_checks(s->ns.worker);
	if (wc->r == NULL || wc->dnsbl.nzones == 0 || !smtp_judged(s))
		return;
	s->dnsbl = xcalloc(1, sizeof(*s->dnsbl));
	s->dnsbl->check = dnsbl_check_start(&wc->dnsbl, s->ns.conn.ip, on_dnsbl, s);
	if (s->dnsbl->check == NULL)
		s->dnsbl->done = true;
}

bool smtp_dnsbl_refuses(struct smtp_session *s)
{
	const struct smtp_dnsbl *d = s->dnsbl;
	if (d == NULL || !d->done || d->res.action != DNSBL_REJECT)
		return false;
	smtp_error(s, d->res.code, d->res.enh, "%s", d->res.text);
	return true;
}

void smtp_dnsbl_free(struct smtp_session *s)
{
	if (s->dnsbl == NULL)
		return;
	dnsbl_check_free(s->dnsbl->check);
	free(s->dnsbl);
	s->dnsbl = NULL;
}

/* true when the step is over (false: the answer is awaited) */
static bool step_dnsbl(struct smtp_session *s)
{
	struct smtp_dnsbl *d = s->dnsbl;
	if (d == NULL)
		return true;
	if (!d->done)
		return false;           /* on_dnsbl goes on */
	if (d->res.action == DNSBL_REJECT) {
		smtp_checks_refuse(s, d->res.code, d->res.enh, d->res.text, "rejected: dnsbl");
		return false;
	}
	s->scan_junk |= d->res.action == DNSBL_JUNK;
	add_header(s, d->res.header, strlen(d->res.header));
	return true;
}

/* ---- greylisting: on the worker's store ------------------------------------------ */

static bool step_greylist(struct smtp_session *s)
{
	const struct config *cfg = s->ns.cfg;
	if (!cfg->greylist.enabled)
		return true;
	struct greylist_policy p;
	greylist_policy_from_config(&p, cfg);
	const struct inbound_verdict *v = s->auth_verdict;
	struct greylist_request rq = {
		.client_ip = s->ns.conn.ip, .sender = s->from,
		.rcpts = (const char *const *)s->rcpts, .nrcpts = s->nrcpts,
		/* RFC 7208: a pass for the MAIL FROM domain, not for a HELO name */
		.spf_pass = v != NULL && s->from[0] != '\0' && strcmp(v->spf, "pass") == 0,
		.now = time(NULL),
	};
	struct greylist_result r;
	greylist_check(worker_store(s->ns.worker), &p, &rq, &r);
	if (r.verdict == GREYLIST_ERROR)
		log_event(LOG_WARN, "smtp.greylist_failed", "s", "session", s->ns.id, NULL);
	if (r.verdict != GREYLIST_DEFER)
		return true;
	log_event(LOG_INFO, "smtp.greylisted", "s", "session", s->ns.id, "s", "id", s->txid,
	          "s", "net", r.net, "s", "from", s->from, "i", "retry_after",
	          (long long)r.retry_after_s, NULL);
	smtp_checks_refuse(s, r.code, r.enh, r.text, "deferred: greylisted");
	return false;
}

/* ---- ClamAV ---------------------------------------------------------------------- */

static void on_clamav(void *arg, const struct clamav_result *r)
{
	struct smtp_session *s = arg;
	s->clamav_scan = NULL;          /* freed before done runs */
	if (r->status == CLAMAV_VIRUS)
		log_security(LOG_WARN, "smtp.virus", "s", "session", s->ns.id, "s", "id", s->txid,
		             "s", "ip", s->ns.conn.ip, "s", "from", s->from, "s", "virus", r->virus,
		             NULL);
	else
		log_event(r->status == CLAMAV_FAILED ? LOG_WARN : LOG_DEBUG, "smtp.clamav",
		          "s", "session", s->ns.id, "s", "id", s->txid, "s", "result", r->log, NULL);
	if (r->action != CLAMAV_ACCEPT) {
		smtp_checks_refuse(s, r->code, r->enh, r->text,
		                   r->status == CLAMAV_VIRUS ? "rejected: virus" : "deferred: clamav");
		return;
	}
	scan_advance(s);
}

static bool step_clamav(struct smtp_session *s)
{
	struct clamav *cv = smtp_worker_checks(s->ns.worker)->clamav;
	if (cv == NULL)
		return true;
	struct clamav_source src = clamav_source_msgbuf(s->msg);
	s->clamav_scan = clamav_scan_start(cv, &src, on_clamav, s);
	return s->clamav_scan == NULL;  /* NULL: out of memory, on without it */
}

/* ---- rspamd ---------------------------------------------------------------------- */

static void on_rspamd(void *arg, const struct rspamd_result *r)
{
	struct smtp_session *s = arg;
	s->rspamd_check = NULL;         /* freed when done returns */
	/* a rewritten subject is logged, not written: the message goes to Junk,
	 * which says it already, and the spool is not rewritten */
	log_event(r->failed ? LOG_WARN : LOG_INFO, "smtp.rspamd", "s", "session", s->ns.id,
	          "s", "id", s->txid, "s", "result", r->log,
	          "s", "subject", r->subject[0] ? r->subject : NULL, NULL);
	if (r->verdict == RSPAMD_DEFER || r->verdict == RSPAMD_REJECT_MSG) {
		smtp_checks_refuse(s, r->code, r->enh, r->text,
		                   r->verdict == RSPAMD_DEFER ? "deferred: rspamd" : "rejected: spam");
		return;
	}
	s->scan_junk |= r->verdict == RSPAMD_JUNK;
	add_header(s, r->headers, r->headers_len);
	scan_advance(s);
}

static bool step_rspamd(struct smtp_session *s)
{
	struct rspamd_client *c = smtp_worker_checks(s->ns.worker)->rspamd;
	if (c == NULL)
		return true;
	const struct inbound_verdict *v = s->auth_verdict;
	struct rspamd_request req = {
		.queue_id = s->txid, .client_ip = s->ns.conn.ip, .helo = s->helo,
		.mail_from = s->from, .rcpts = (const char *const *)s->rcpts, .nrcpts = s->nrcpts,
		.mta_name = s->ns.cfg->hostname,
		.prepend = v != NULL ? v->header : NULL, .prepend_len = v != NULL ? v->header_len : 0,
		.msg = s->msg,
	};
	s->rspamd_check = rspamd_check_start(c, &req, on_rspamd, s);
	return s->rspamd_check == NULL;
}

/* ---- the chain --------------------------------------------------------------------- */

static bool (*const steps[])(struct smtp_session *) = {
	[STEP_DNSBL] = step_dnsbl,
	[STEP_GREYLIST] = step_greylist,
	[STEP_CLAMAV] = step_clamav,
	[STEP_RSPAMD] = step_rspamd,
};

/* Runs the steps from the current one until one waits or refuses; after
 * the last, the message is committed. */
static void scan_next(struct smtp_session *s)
{
	while (s->scan_step < STEP_DONE) {
		if (!steps[s->scan_step](s))
			return;         /* refused, or its answer will call scan_next */
		s->scan_step++;
	}
	s->scan_step = STEP_NONE;
	smtp_commit_message(s);
}

void smtp_scan_start(struct smtp_session *s)
{
	s->scan_step = STEP_DNSBL;
	s->scan_junk = false;
	scan_next(s);
}

void smtp_scan_reset(struct smtp_session *s)
{
	clamav_scan_cancel(s->clamav_scan);
	s->clamav_scan = NULL;
	rspamd_check_cancel(s->rspamd_check);
	s->rspamd_check = NULL;
	free(s->scan_headers);
	s->scan_headers = NULL;
	s->scan_headers_len = 0;
	s->scan_junk = false;
	s->scan_step = STEP_NONE;
}
