/* Send rate limits in SMTP and submission: asked at MAIL and at each RCPT,
 * so that the sender hears early (RFC 5321 4.2.5: a 451 at RCPT defers that
 * recipient only, and the client tries it again later); charged when the
 * message is accepted, so that a refused message costs nothing. */
#include "smtp/smtp_session.h"

#include "core/util.h"
#include "net/sendlimit.h"
#include "net/server.h"

/* The authenticated user when there is one, else the client address. */
static struct sendlimit_sender sender_of(const struct smtp_session *s)
{
	return (struct sendlimit_sender){ .user = s->authenticated ? s->auth_user : NULL,
	                                  .ip = s->ns.conn.ip, .session = s->ns.id };
}

bool smtp_sendlimit_refuses(struct smtp_session *s, size_t rcpts)
{
	if (!s->mode->send_limits)
		return false;
	struct sendlimit_sender who = sender_of(s);
	long long wait = sendlimit_wait(worker_sendlimit(s->ns.worker), worker_store(s->ns.worker),
	                                &who, rcpts, (long long)now_ms());
	if (wait == 0)
		return false;
	/* not an error of the client's: it does not count towards limits.errors */
	smtp_reply(s, 451, "4.7.1", "Rate limit exceeded, try again in %lld seconds", wait);
	return true;
}

void smtp_sendlimit_charge(struct smtp_session *s)
{
	if (!s->mode->send_limits || s->nrcpts == 0)
		return;
	struct sendlimit_sender who = sender_of(s);
	sendlimit_charge(worker_sendlimit(s->ns.worker), worker_store(s->ns.worker), &who, s->nrcpts,
	                 (long long)now_ms());
}
