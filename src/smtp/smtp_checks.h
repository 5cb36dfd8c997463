/* The end-of-DATA checks: an ordered list of message checks, run once a
 * message is spooled and before it is committed. Each check is a row
 * (name, function); each gets the same context, whose header was read
 * once through src/mail's reader, and returns a verdict. The first
 * rejection ends the run. SPF, DKIM verification, DMARC and greylisting
 * are meant to become further rows: the context carries what they need
 * (client IP, HELO, MAIL FROM, recipients, authenticated user, the
 * parsed header). */
#ifndef POSTERN_SMTP_CHECKS_H
#define POSTERN_SMTP_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/header.h"

struct smtp_session;
struct store;

enum smtp_verdict_kind {
	SMTP_VERDICT_ACCEPT = 0,        /* on to the next check */
	SMTP_VERDICT_REJECT,            /* reply code/enh/text; 4xx for a temporary refusal */
};

struct smtp_verdict {
	enum smtp_verdict_kind kind;
	int code;                       /* the reply: 554, 553, 451... */
	const char *enh;                /* RFC 3463 enhanced code, "5.4.6" */
	const char *text;               /* reply text (static) */
	const char *log_result;         /* the transaction log's result, "rejected: mail loop" */
};

/* The header block of the spooled message, read once. */
#define SMTP_CHECK_HEADER_MAX (1024 * 1024)     /* octets read */
#define SMTP_CHECK_FIELDS_MAX 20000             /* fields kept: about the memory of the block */

struct smtp_check_ctx {
	/* the session */
	const char *session_id;
	const char *client_ip;
	const char *helo;               /* "" before HELO/EHLO */
	const char *mail_from;          /* the reverse-path, "" for <> */
	const char *const *rcpts;       /* accepted recipients */
	size_t nrcpts;
	bool submission;                /* port 587/465 (not MX) */
	const char *auth_user;          /* NULL unless authenticated */
	bool any_sender;                /* the user may send as anyone */
	int max_hops;                   /* limits.hops */
	struct store *store;

	/* the message */
	uint64_t size;                  /* stored octets */
	const char *header_buf;         /* the header block as read, */
	size_t header_len;              /* without the empty line */
	/* false when the block did not end within SMTP_CHECK_HEADER_MAX octets
	 * or had more than SMTP_CHECK_FIELDS_MAX fields: the fields below are
	 * then only the first ones */
	bool header_complete;
	struct mail_header header;      /* its fields (lenient reader) */
};

typedef struct smtp_verdict smtp_check_fn(const struct smtp_check_ctx *ctx);

struct smtp_check {
	const char *name;
	smtp_check_fn *run;
};

/* The checks every message goes through, in order. */
extern const struct smtp_check smtp_message_checks[];
extern const size_t smtp_message_nchecks;

/* Runs checks[0..n) in order until one rejects; *failed (may be NULL)
 * gets that check's name, or NULL when all accepted. */
struct smtp_verdict smtp_checks_run(const struct smtp_check *checks, size_t n,
                                    const struct smtp_check_ctx *ctx, const char **failed);

/* Fills ctx's message part from the start of the message (buf, len: what
 * was read of it, at most SMTP_CHECK_HEADER_MAX; total: its size): finds
 * the header block and reads its fields. ctx points into buf, which must
 * outlive it. Release with smtp_check_ctx_free(). */
void smtp_check_ctx_set_header(struct smtp_check_ctx *ctx, const char *buf, size_t len,
                               uint64_t total);
void smtp_check_ctx_free(struct smtp_check_ctx *ctx);

/* The session's message through smtp_message_checks (smtp_finish_message). */
struct smtp_verdict smtp_check_message(struct smtp_session *s);

/* The checks themselves (rows of smtp_message_checks), for the tests. */
struct smtp_verdict smtp_check_hops(const struct smtp_check_ctx *ctx);
struct smtp_verdict smtp_check_from_owner(const struct smtp_check_ctx *ctx);

#endif
