/* The modes of the SMTP state machine (see struct smtp_mode_def): port 25,
 * submission and LMTP differ only in these rows and in the command table's
 * column of modes. */
#include "smtp/smtp_session.h"

#include "core/config.h"

static uint64_t smtp_size_limit(const struct config *cfg)
{
	return cfg->limits.message_size;
}

static uint64_t lmtp_size_limit(const struct config *cfg)
{
	return cfg->lmtp.max_message_size;
}

#define SMTP_COMMANDS "HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS"

static const struct smtp_mode_def mx = {
	.mode = SMTP_MODE_MX, .banner = "ESMTP", .greeting_cmd = "HELO/EHLO",
	.commands = SMTP_COMMANDS,
	.starttls = true, .auth = false, .relay = true, .reply_per_rcpt = false,
	.send_limits = true, .origin = FILTER_FROM_MX, .with = "ESMTP", .with_utf8 = "UTF8SMTP",
	.max_size = smtp_size_limit,
};

static const struct smtp_mode_def submission = {
	.mode = SMTP_MODE_SUBMISSION, .banner = "ESMTP", .greeting_cmd = "HELO/EHLO",
	.commands = SMTP_COMMANDS,
	.starttls = true, .auth = true, .relay = true, .reply_per_rcpt = false,
	.send_limits = true, .origin = FILTER_FROM_SUBMISSION, .with = "ESMTP", .with_utf8 = "UTF8SMTP",
	.max_size = smtp_size_limit,
};

/* RFC 2033: no TLS and no AUTH (whoever can reach the socket may hand over
 * mail, so it listens where only the MTA can), never a relay, no send rate
 * limits (the MTA has taken the mail already), and each
 * recipient answered on its own. RFC 3848 / RFC 6531 name it in Received:. */
static const struct smtp_mode_def lmtp = {
	.mode = SMTP_MODE_LMTP, .banner = "LMTP", .greeting_cmd = "LHLO",
	.commands = "LHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY",
	.starttls = false, .auth = false, .relay = false, .reply_per_rcpt = true,
	.origin = FILTER_FROM_LMTP, .with = "LMTP", .with_utf8 = "UTF8LMTP",
	.max_size = lmtp_size_limit,
};

const struct smtp_mode_def *smtp_mode_of(enum service_id svc)
{
	switch (svc) {
	case SVC_SUBMISSION:
	case SVC_SUBMISSIONS:
		return &submission;
	case SVC_LMTP:
		return &lmtp;
	default:
		return &mx;
	}
}

uint64_t smtp_max_message_size(const struct smtp_session *s)
{
	return s->mode->max_size(s->ns.cfg);
}
