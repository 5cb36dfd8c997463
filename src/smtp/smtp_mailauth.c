/* Port 25's mail authentication (src/mailauth/inbound.h) on an SMTP
 * session: SPF starts at MAIL FROM, the message streams through the
 * verifiers, and at its end the session waits for the verdict, then for
 * the scanners (smtp_scan.c), before it commits. Each worker has one
 * resolver for its sessions' lookups, and one client of each scanner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "dns/resolver.h"
#include "filter/clamav.h"
#include "filter/rspamd.h"
#include "mailauth/dkim.h"
#include "mail/header.h"
#include "mailauth/inbound.h"
#include "mailauth/spf_resolver.h"
#include "smtp/smtp_session.h"
#include "store/mbox.h"
#include "store/store_dmarc.h"
#include "store/store_junk.h"

/* ---- the worker's resolver ------------------------------------------------ */

static void free_worker_checks(struct worker *w, void **slot)
{
	struct smtp_worker_checks *wc = *slot;
	(void)w;
	if (wc == NULL)
		return;
	spf_resolver_free(wc->adapter);
	resolver_free(wc->r);
	dkim_key_cache_free(wc->keys);
	clamav_free(wc->clamav);
	rspamd_client_free(wc->rspamd);
	free(wc);
	*slot = NULL;
}

static struct resolver *new_resolver(struct worker *w, const struct config *cfg, char *err,
                                     size_t errlen)
{
	struct resolver *r = resolver_new(worker_base(w), (const char *const *)cfg->dns.servers,
	                                  cfg->dns.nservers, err, errlen);
	for (size_t i = 0; r != NULL && i < cfg->dns.nallow_zones; i++)
		if (resolver_allow_zone(r, cfg->dns.allow_zones[i], err, errlen) < 0) {
			resolver_free(r);
			r = NULL;
		}
	return r;
}

/* Made on the worker's first port-25 transaction, on its own thread. */
struct smtp_worker_checks *smtp_worker_checks(struct worker *w)
{
	struct smtp_worker_checks **slot =
		(struct smtp_worker_checks **)worker_slot(w, WORKER_SLOT_SMTP);
	const struct config *cfg = worker_config(w);
	char err[256];
	if (*slot != NULL)
		return *slot;
	struct smtp_worker_checks *wc = *slot = xcalloc(1, sizeof(**slot));
	worker_slot_on_stop(w, WORKER_SLOT_SMTP, free_worker_checks);
	wc->r = new_resolver(w, cfg, err, sizeof(err));
	if (wc->r == NULL) {
		log_event(LOG_ERROR, "smtp.resolver_failed", "s", "error", err, NULL);
	} else {
		wc->adapter = spf_resolver_new(wc->r, &wc->dns);
		wc->keys = dkim_key_cache_new();
		dnsbl_env_from_config(&wc->dnsbl, cfg, &wc->dns, worker_base(w));
	}
	if (cfg->clamav.enabled)
		wc->clamav = clamav_new(worker_base(w), &cfg->clamav);
	if (cfg->rspamd.enabled)
		wc->rspamd = rspamd_client_new(worker_base(w), &cfg->rspamd);
	return wc;
}

/* ---- the session's part ---------------------------------------------------- */

bool smtp_judged(const struct smtp_session *s)
{
	const struct config *cfg = s->ns.cfg;
	return s->mode->origin == FILTER_FROM_MX && !s->authenticated &&
	       !cidr_match_any(cfg->relay.hosts, cfg->relay.nhosts, s->ns.conn.ip);
}

/* Fields a sender must not bring: the verdicts of postern's scanners. */
static bool field_is_ours(void *arg, const struct mail_field *f)
{
	const struct config *cfg = arg;
	return (f->name_len >= 10 && strncasecmp(f->name, "X-Postern-", 10) == 0) ||
	       (cfg->rspamd.enabled && rspamd_header_is_ours(f->name, f->name_len));
}

void smtp_mailauth_start(struct smtp_session *s)
{
	const struct config *cfg = s->ns.cfg;
	if (!smtp_judged(s))
		return;
	struct smtp_worker_checks *wd = smtp_worker_checks(s->ns.worker);
	if (wd->r == NULL)
		return;         /* no resolver: logged when it failed */
	struct inbound_env env = {
		.dns = &wd->dns,
		.keys = wd->keys,
		.base = worker_base(s->ns.worker),
		.od = worker_orgdomain(s->ns.worker),
		.authserv_id = cfg->hostname,
		.spf = (enum inbound_spf_enforcement)cfg->spf.enforcement,
		.dmarc = (enum dmarc_enforcement)cfg->dmarc.enforcement,
		.max_signatures = cfg->dkim.max_signatures,
		.trusted_sealers = (const char *const *)cfg->arc.trusted_sealers,
		.ntrusted = cfg->arc.ntrusted_sealers,
		.ours = field_is_ours,
		.ours_arg = (void *)cfg,
	};
	s->auth = inbound_auth_new(&env);
	inbound_auth_start(s->auth, s->ns.conn.ip, s->helo, s->from);
}

void smtp_mailauth_reset(struct smtp_session *s)
{
	smtp_scan_reset(s);
	inbound_auth_free(s->auth);
	s->auth = NULL;
	s->auth_verdict = NULL;
}

/* The day's DMARC aggregate data (src/store/store_dmarc.h), whatever the
 * verdict: a report tells the domain what was refused too. */
static void record_dmarc(struct smtp_session *s)
{
	struct dmarc_agg_event ev;
	char rua[DMARC_REPORT_RUA_TEXT];
	if (!inbound_auth_dmarc_event(s->auth, s->ns.conn.ip, &ev, rua))
		return;
	if (store_dmarc_record(worker_store(s->ns.worker), &ev) != STORE_OK)
		log_event(LOG_WARN, "smtp.dmarc_record_failed", "s", "session", s->ns.id,
		          "s", "domain", ev.policy_domain, NULL);
}

void smtp_checks_refuse(struct smtp_session *s, int code, const char *enh, const char *text,
                        const char *log_result)
{
	bool waited = !s->checking_now;
	s->state = SMTP_S_COMMAND;
	smtp_refuse_message(s, code, enh, text, log_result);
	if (s->ns.draining)
		smtp_close_with(s, 421, "4.3.2", "Service shutting down, closing connection");
	else if (waited)
		smtp_resume_input(s);
}

static void on_verdict(void *arg, const struct inbound_verdict *v)
{
	struct smtp_session *s = arg;
	s->auth_verdict = v;
	if (v->failed)
		log_security(LOG_INFO, "smtp.mailauth_failed", "s", "session", s->ns.id, "s", "id", s->txid,
		          "s", "ip", s->ns.conn.ip, "s", "from", s->from, "s", "spf", v->spf,
		          "s", "dkim", v->dkim, "s", "dmarc", v->dmarc, "s", "arc", v->arc,
		          "s", "action", v->action == INBOUND_REFUSE ? "refused"
		                       : v->action == INBOUND_JUNK ? "junk" : "delivered", NULL);
	record_dmarc(s);
	if (v->action == INBOUND_REFUSE)
		smtp_checks_refuse(s, v->code, v->enh, v->text, v->log_result);
	else
		smtp_scan_start(s);
}

bool smtp_mailauth_wait(struct smtp_session *s)
{
	if (!smtp_judged(s))
		return false;
	s->state = SMTP_S_CHECKING;
	s->checking_now = true;
	if (s->auth != NULL)
		inbound_auth_wait(s->auth, on_verdict, s);
	else
		smtp_scan_start(s);     /* no resolver: the scanners still run */
	s->checking_now = false;
	if (s->state == SMTP_S_CHECKING) {
		/* DNS still answering: nothing more is read until the verdict */
		net_session_pause_input(&s->ns);
		net_session_wait(&s->ns, NS_WAIT_NOTHING);
	}
	return true;
}

/* Junk (DMARC quarantine, a DNSBL score, rspamd): each recipient's Junk
 * folder, the Maildir++ ".Junk", when it is there or the recipient has no
 * mailbox index yet (the index, when made, finds it), unless the user
 * chose the inbox (postern user junk); else the inbox: a user who deleted
 * Junk still gets the mail, marked by its header fields. */
void smtp_mailauth_to_junk(struct smtp_session *s)
{
	struct store *store = worker_store(s->ns.worker);
	for (size_t i = 0; i < s->nmaildirs; i++) {
		char junk[4200], index[4200];
		struct stat st;
		if (s->maildir_users != NULL && s->maildir_users[i] != NULL &&
		    store_user_junk_to_folder(store, s->maildir_users[i]) == 0)
			continue;
		snprintf(junk, sizeof(junk), "%s/.Junk", s->maildirs[i]);
		snprintf(index, sizeof(index), "%s/%s", s->maildirs[i], MBOX_INDEX_FILE);
		if (stat(junk, &st) == 0 ? !S_ISDIR(st.st_mode) : stat(index, &st) == 0)
			continue;
		free(s->maildirs[i]);
		s->maildirs[i] = xstrdup(junk);
	}
}

/* Return-Path, then our Authentication-Results, then the rest of the
 * trace (RFC 8601 5: at the top, above our own Received:). */
char *smtp_mailauth_header(const struct smtp_session *s, char *trace, size_t *len)
{
	const struct inbound_verdict *v = s->auth_verdict;
	if (v == NULL || v->header == NULL)
		return trace;
	const char *nl = memchr(trace, '\n', *len);
	size_t first = nl != NULL && strncmp(trace, "Return-Path:", 12) == 0
	                       ? (size_t)(nl + 1 - trace) : 0;
	char *out = xmalloc(*len + v->header_len + 1);
	memcpy(out, trace, first);
	memcpy(out + first, v->header, v->header_len);
	memcpy(out + first + v->header_len, trace + first, *len - first);
	*len += v->header_len;
	out[*len] = '\0';
	free(trace);
	return out;
}
