/* The scanners a message from another server goes through once its
 * authentication verdict lets it on (smtp_mailauth.c): ClamAV's clamd
 * (src/filter/clamav.h) when clamav.enabled. Each refuses it (the reply, the
 * log, the audit log for a virus) or hands it on; the last one commits. */
#include "core/config.h"
#include "core/log.h"
#include "filter/clamav.h"
#include "smtp/smtp_session.h"

static void scan_done(struct smtp_session *s)
{
	smtp_commit_message(s);
}

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
	scan_done(s);
}

void smtp_scan_start(struct smtp_session *s)
{
	struct clamav *cv = smtp_worker_checks(s->ns.worker)->clamav;
	if (cv != NULL) {
		struct clamav_source src = clamav_source_msgbuf(s->msg);
		s->clamav_scan = clamav_scan_start(cv, &src, on_clamav, s);
		if (s->clamav_scan != NULL)
			return;
	}
	scan_done(s);
}

void smtp_scan_reset(struct smtp_session *s)
{
	clamav_scan_cancel(s->clamav_scan);
	s->clamav_scan = NULL;
}
