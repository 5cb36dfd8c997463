/* SMTP's side of the end-of-DATA checks (src/filter): the session's facts
 * and the spooled message's header, read once, through the list. */
#include "smtp/smtp_checks.h"

#include <stdlib.h>

#include "core/config.h"
#include "core/util.h"
#include "smtp/smtp_session.h"
#include "store/msgbuf.h"

struct filter_verdict smtp_check_message(struct smtp_session *s)
{
	uint64_t total = msgbuf_size(s->msg);
	size_t want = total < FILTER_HEADER_MAX ? (size_t)total : FILTER_HEADER_MAX;
	char *buf = xmalloc(want + 1);
	ssize_t n = msgbuf_read_at(s->msg, 0, buf, want);
	struct filter_ctx ctx = {
		.session_id = s->ns.id,
		.client_ip = s->ns.conn.ip,
		.helo = s->helo,
		.mail_from = s->from,
		.rcpts = (const char *const *)s->rcpts,
		.nrcpts = s->nrcpts,
		.origin = s->mode->origin,
		.auth_user = s->authenticated ? s->auth_user : NULL,
		.any_sender = s->any_sender,
		.max_hops = s->ns.cfg->limits.hops,
		.store = worker_store(s->ns.worker),
	};
	struct filter_verdict v = {
		.kind = FILTER_REJECT, .code = 451, .enh = "4.3.0",
		.text = "Local error in processing", .log_result = "failed: spool error",
	};

	if (n >= 0) {
		filter_ctx_set_header(&ctx, buf, (size_t)n, total);
		v = filter_run(filter_checks, filter_nchecks, &ctx, NULL);
		filter_ctx_free(&ctx);
	}
	free(buf);
	return v;
}
