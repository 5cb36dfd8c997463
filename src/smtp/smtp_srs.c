/* SRS in the SMTP session: forwarded mail gets a rewritten sender, bounces
 * to rewritten senders go back where they came from (src/mailauth/srs.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "mailauth/srs.h"
#include "smtp/smtp_session.h"
#include "store/store.h"

/* Only the mail system's own messages (RFC 5321 4.5.5: bounces, with the
 * null sender) may use a rewritten address: anyone who ever received a
 * forward could otherwise send whatever they like through us to its sender
 * for max_age days. */
enum smtp_srs_rcpt smtp_srs_recipient(struct smtp_session *s, const struct smtp_path *p,
                                      char *bounce_to, size_t len)
{
	const struct srs *srs = worker_srs(s->ns.worker);
	if (srs == NULL || !s->mode->relay || p->postmaster || strcasecmp(p->domain, srs->domain) != 0 ||
	    !srs_is_srs_local(p->local, strlen(p->local)))
		return SMTP_SRS_NOT_SRS;
	if (s->from[0] != '\0') {
		smtp_error(s, 550, "5.7.1", "<%s>: SRS addresses take bounces (MAIL FROM:<>) only",
		           p->addr);
		return SMTP_SRS_REFUSED;
	}
	enum srs_result r = srs_reverse(srs, p->local, strlen(p->local), time(NULL), bounce_to, len);
	if (r == SRS_OK) {
		log_event(LOG_INFO, "smtp.srs_bounce", "s", "session", s->ns.id, "s", "rcpt", p->addr,
		          "s", "to", bounce_to, NULL);
		return SMTP_SRS_BOUNCE;
	}
	log_security(LOG_WARN, "smtp.srs_refused", "s", "session", s->ns.id, "s", "ip", s->ns.conn.ip,
	             "s", "rcpt", p->addr, "s", "reason", srs_result_name(r), NULL);
	smtp_error(s, 550, "5.1.1", "<%s>: Recipient address rejected: %s", p->addr,
	           r == SRS_EXPIRED ? "SRS address expired" : "invalid SRS address");
	return SMTP_SRS_REFUSED;
}

/* Whether the sender's domain is one of ours: 1, 0, or -1 (store error). */
static int sender_is_local(struct smtp_session *s, const char *domain)
{
	int rc = store_domain_exists(worker_store(s->ns.worker), domain);
	return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

/* Decides once per transaction how alias targets elsewhere are sent. */
static int decide_forwarding(struct smtp_session *s)
{
	const struct srs *srs = worker_srs(s->ns.worker);
	const char *at = strrchr(s->from, '@');
	s->forward_as = SMTP_FORWARD_AS_IS;
	if (srs == NULL || s->from[0] == '\0' || at == NULL)
		return 0;
	int local = sender_is_local(s, at + 1);
	if (local < 0)
		return -1;
	if (local == 1)
		return 0;
	char out[SRS_ADDR_MAX];
	enum srs_result r = srs_forward(srs, s->from, time(NULL), out, sizeof(out));
	if (r != SRS_OK || strlen(out) >= sizeof(s->forward_from)) {
		/* the next hop's SPF check may fail; its bounce still reaches the sender */
		log_event(LOG_INFO, "smtp.srs_not_rewritten", "s", "session", s->ns.id,
		          "s", "from", s->from, "s", "reason", srs_result_name(r), NULL);
		return 0;
	}
	if (strcmp(out, s->from) == 0)
		return 0;   /* a sender at the SRS domain already */
	memcpy(s->forward_from, out, strlen(out) + 1);   /* its length checked above */
	s->forward_as = SMTP_FORWARD_SRS;
	return 0;
}

char ***smtp_srs_forward_list(struct smtp_session *s, size_t **n)
{
	if (s->forward_as == SMTP_FORWARD_UNKNOWN && decide_forwarding(s) < 0) {
		s->forward_as = SMTP_FORWARD_UNKNOWN;
		return NULL;
	}
	if (s->forward_as == SMTP_FORWARD_SRS) {
		*n = &s->nforwards;
		return &s->forwards;
	}
	*n = &s->nremotes;
	return &s->remotes;
}
