/* The end-of-DATA checks: an ordered list of message checks, run once a
 * message is spooled and before it is committed (by SMTP and LMTP).
 * Each check is a row (name, function, the origins it applies to); each
 * gets the same context, whose
 * header was read once through src/mail's reader, and returns a verdict. The first
 * rejection ends the run. The rows today: the hop count, From: ownership
 * (submission), the message syntax (port 25, submission). SPF, DKIM
 * verification, DMARC and greylisting
 * are meant to become further rows: the context carries what they need
 * (client IP, HELO, MAIL FROM, recipients, authenticated user, the
 * parsed header). */
#ifndef POSTERN_FILTER_H
#define POSTERN_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/header.h"

struct store;

/* Where a message comes from decides which checks it goes through: a row
 * lists the origins it applies to (a mask of these). */
enum filter_origin {
	FILTER_FROM_MX = 1u << 0,               /* another server's mail, port 25 */
	FILTER_FROM_SUBMISSION = 1u << 1,       /* a user's mail, 587 and 465 */
	/* LMTP: handed over by the MTA in front of us, which has done its own
	 * checks of the sender (SPF, DKIM, ownership) already; what concerns the
	 * mailboxes, such as a mail loop, is still ours to check */
	FILTER_FROM_LMTP = 1u << 2,
};
#define FILTER_FROM_ANY (FILTER_FROM_MX | FILTER_FROM_SUBMISSION | FILTER_FROM_LMTP)

enum filter_verdict_kind {
	FILTER_ACCEPT = 0,              /* on to the next check */
	FILTER_REJECT,                  /* reply code/enh/text; 4xx for a temporary refusal */
};

struct filter_verdict {
	enum filter_verdict_kind kind;
	int code;                       /* the reply: 554, 553, 451... */
	const char *enh;                /* RFC 3463 enhanced code, "5.4.6" */
	const char *text;               /* reply text (static) */
	const char *log_result;         /* the transaction log's result, "rejected: mail loop" */
};

/* The header block of the spooled message, read once. */
#define FILTER_HEADER_MAX (1024 * 1024)     /* octets read */
#define FILTER_FIELDS_MAX 20000             /* fields kept: about the memory of the block */

struct filter_ctx {
	/* the session */
	const char *session_id;
	const char *client_ip;
	const char *helo;               /* "" before HELO/EHLO */
	const char *mail_from;          /* the reverse-path, "" for <> */
	const char *const *rcpts;       /* accepted recipients */
	size_t nrcpts;
	enum filter_origin origin;      /* which rows of the list apply */
	const char *auth_user;          /* NULL unless authenticated */
	bool any_sender;                /* the user may send as anyone */
	int max_hops;                   /* limits.hops */
	struct store *store;

	/* the message */
	uint64_t size;                  /* stored octets */
	const char *header_buf;         /* the header block as read, */
	size_t header_len;              /* without the empty line */
	/* false when the block did not end within FILTER_HEADER_MAX octets
	 * or had more than FILTER_FIELDS_MAX fields: the fields below are
	 * then only the first ones */
	bool header_complete;
	struct mail_header header;      /* its fields (lenient reader) */
};

/* The verdict of a check that lets the message on. */
extern const struct filter_verdict filter_accept;

typedef struct filter_verdict filter_check_fn(const struct filter_ctx *ctx);

struct filter_check {
	const char *name;
	filter_check_fn *run;
	unsigned origins;               /* enum filter_origin mask */
};

/* The checks every message goes through, in order. */
extern const struct filter_check filter_checks[];
extern const size_t filter_nchecks;

/* Runs the checks of checks[0..n) that apply to ctx->origin in order until
 * one rejects; *failed (may be NULL) gets that check's name, or NULL when
 * all accepted. */
struct filter_verdict filter_run(const struct filter_check *checks, size_t n,
                                    const struct filter_ctx *ctx, const char **failed);

/* Fills ctx's message part from the start of the message (buf, len: what
 * was read of it, at most FILTER_HEADER_MAX; total: its size): finds
 * the header block and reads its fields. ctx points into buf, which must
 * outlive it. Release with filter_ctx_free(). */
void filter_ctx_set_header(struct filter_ctx *ctx, const char *buf, size_t len,
                               uint64_t total);
void filter_ctx_free(struct filter_ctx *ctx);

/* The checks themselves (rows of filter_checks), for the tests. */
struct filter_verdict filter_check_hops(const struct filter_ctx *ctx);
struct filter_verdict filter_check_from_owner(const struct filter_ctx *ctx);
/* syntax.c: the header read strictly, one From: with an address (several
 * only with a Sender:), no obsolete forms that programs read differently:
 * 550 5.6.0 otherwise. A row for port 25 and submission, not for LMTP
 * (see filter.c). */
struct filter_verdict filter_check_syntax(const struct filter_ctx *ctx);

#endif
