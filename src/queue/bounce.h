/* Delivery status notifications (RFC 3464) for failed and delayed mail. */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

struct bounce_rcpt {
	const char *rcpt;
	const char *status;         /* enhanced code, e.g. "5.1.1" */
	const char *remote_mta;     /* "" when none was reached */
	const char *diagnostic;     /* e.g. "smtp; 550 5.1.1 User unknown" */
};

struct bounce_info {
	const char *hostname;       /* our name: Reporting-MTA and MAILER-DAEMON@ */
	const char *queue_id;
	const char *sender;         /* the original envelope sender: To: of the report */
	long long arrival;          /* unix time the message was queued */
	bool delayed;               /* a "still trying" warning instead of a failure */
	bool to_postmaster;         /* the sender cannot have it (no return path, or nobody
	                             * there): a notice to postmaster@hostname instead */
	const struct bounce_rcpt *rcpts;
	size_t nrcpts;
	const char *orig_headers;   /* the original message's header block (LF ends) */
	size_t orig_len;
};

/* Builds the whole report message with LF line ends; malloc'd. */
char *bounce_build(const struct bounce_info *info, size_t *len);

/* A recipient's failure detail is kept in the queue as "STATUS\tMTA\tDIAGNOSTIC".
 * These build and split that form (the split points into buf, which it edits). */
void bounce_detail_format(char *out, size_t outlen, const char *status, const char *mta,
                          const char *diagnostic);
void bounce_detail_parse(char *buf, const char **status, const char **mta, const char **diagnostic);

/* Never bounce a bounce, nor to the mail system itself (RFC 3464 2, RFC 5321 6.1):
 * false means the failure is the postmaster's to hear of. */
bool bounce_wanted(const char *sender);

/* The id in the Received: field of a report postern makes ("Received: by
 * HOST (postern) id ID;"): a notice to the postmaster is marked so that one
 * failing in turn is logged instead of reported again, round and round. */
#define BOUNCE_TRACE_REPORT "report"
#define BOUNCE_TRACE_NOTICE "postmaster-notice"

/* Whether a queued message's header block (LF or CRLF ends) is one of our
 * notices to the postmaster: its first Received: field, which postern itself
 * wrote (nobody else can put one above it), carries BOUNCE_TRACE_NOTICE. */
bool bounce_is_postmaster_notice(const char *headers, size_t len, const char *hostname);

#endif
