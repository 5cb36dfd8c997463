/* Quotas at SMTP and LMTP delivery: 452 4.2.2 (RFC 3463: mailbox full), a
 * temporary failure, so that the sender retries once there is room again.
 *
 * At RCPT a recipient is refused when a mailbox it reaches is full already
 * or, with the size MAIL declared (RFC 1870), would be by this message.
 * After the data the real size is known: LMTP answers each recipient on its
 * own (RFC 2033 4.2), so only those whose mailbox would go over get 452 and
 * the rest get the message. SMTP has one reply for the whole message: when
 * any local mailbox would go over, the whole message gets 452 and nothing
 * is delivered, rather than a half delivery the sender cannot see (it would
 * retry everyone, and the others would get it twice). */
#include <stdio.h>

#include "core/config.h"
#include "core/log.h"
#include "net/server.h"
#include "smtp/smtp_session.h"
#include "store/quota.h"
#include "store/resolve.h"

/* Whether size octets more fit the user's mailbox; a store that cannot be
 * read does not hold mail back (the resolver has just read it). */
static bool fits(struct smtp_session *s, const char *user, uint64_t size)
{
	struct quota_limits defaults = quota_defaults_of(s->ns.cfg);
	enum quota_verdict v = quota_check(worker_store(s->ns.worker), &defaults, user, size, 1);
	if (v == QUOTA_UNKNOWN)
		log_event(LOG_WARN, "smtp.quota_unknown", "s", "session", s->ns.id, "s", "user", user, NULL);
	return v != QUOTA_OVER;
}

bool smtp_quota_refuse_rcpt(struct smtp_session *s, const struct resolved *r, const char *addr)
{
	/* without SIZE=, one octet: is it full already? */
	uint64_t size = s->declared_size > 0 ? s->declared_size : 1;
	for (size_t i = 0; i < r->nmailbox; i++) {
		char user[sizeof(r->mailbox[i].local) + sizeof(r->mailbox[i].domain) + 1];
		snprintf(user, sizeof(user), "%s@%s", r->mailbox[i].local, r->mailbox[i].domain);
		if (!fits(s, user, size)) {
			log_event(LOG_INFO, "smtp.mailbox_full", "s", "session", s->ns.id, "s", "id", s->txid,
			          "s", "rcpt", addr, "s", "where", "RCPT", NULL);
			smtp_reply(s, 452, "4.2.2", "<%s>: Mailbox full, try again later", addr);
			return true;
		}
	}
	return false;
}

/* Recipient g's own mailboxes: the run of maildirs its RCPT added. */
static bool group_fits(struct smtp_session *s, size_t g, uint64_t size)
{
	size_t first = g == 0 ? 0 : s->rcpt_groups[g - 1].maildirs_end;
	for (size_t i = first; i < s->rcpt_groups[g].maildirs_end; i++)
		if (!fits(s, s->maildir_users[i], size))
			return false;
	return true;
}

bool smtp_quota_mark_full(struct smtp_session *s, uint64_t size)
{
	bool any = false;
	for (size_t g = 0; g < s->nrcpts; g++) {
		if (group_fits(s, g, size))
			continue;
		s->rcpt_groups[g].skip = true;
		any = true;
		log_event(LOG_INFO, "smtp.mailbox_full", "s", "session", s->ns.id, "s", "id", s->txid,
		          "s", "rcpt", s->rcpts[g], "s", "where", "DATA", "i", "size", (long long)size, NULL);
	}
	return any;
}
