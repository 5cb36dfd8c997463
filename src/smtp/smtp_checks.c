/* The end-of-DATA checks (see smtp_checks.h): the list, its runner, the
 * one read of the header they share, and today's checks: the hop count
 * and From: ownership for authenticated submission. */
#include "smtp/smtp_checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mail/address.h"
#include "smtp/smtp_session.h"
#include "store/msgbuf.h"
#include "store/resolve.h"

static const struct smtp_verdict accept_verdict = { .kind = SMTP_VERDICT_ACCEPT };

const struct smtp_check smtp_message_checks[] = {
	{ "hops", smtp_check_hops },
	{ "from_owner", smtp_check_from_owner },
};
const size_t smtp_message_nchecks = ARRAY_LEN(smtp_message_checks);

struct smtp_verdict smtp_checks_run(const struct smtp_check *checks, size_t n,
                                    const struct smtp_check_ctx *ctx, const char **failed)
{
	if (failed != NULL)
		*failed = NULL;
	for (size_t i = 0; i < n; i++) {
		struct smtp_verdict v = checks[i].run(ctx);
		if (v.kind != SMTP_VERDICT_ACCEPT) {
			if (failed != NULL)
				*failed = checks[i].name;
			return v;
		}
	}
	return accept_verdict;
}

/* ---- the context ---- */

void smtp_check_ctx_set_header(struct smtp_check_ctx *ctx, const char *buf, size_t len,
                               uint64_t total)
{
	size_t scan = 0, hdr_len = len, body;
	char err[128];

	ctx->size = total;
	ctx->header_buf = buf;
	/* a message that is all header has no empty line: read whole, it is complete */
	ctx->header_complete = mail_header_block_end(buf, len, &scan, &hdr_len, &body) ||
	                       len == total;
	ctx->header_len = hdr_len;
	if (mail_header_parse(&ctx->header, buf, hdr_len, MAIL_HEADER_LENIENT,
	                      SMTP_CHECK_FIELDS_MAX, err, sizeof(err)) < 0)
		ctx->header_complete = false;   /* the only lenient error: too many fields */
}

void smtp_check_ctx_free(struct smtp_check_ctx *ctx)
{
	mail_header_free(&ctx->header);
}

struct smtp_verdict smtp_check_message(struct smtp_session *s)
{
	uint64_t total = msgbuf_size(s->msg);
	size_t want = total < SMTP_CHECK_HEADER_MAX ? (size_t)total : SMTP_CHECK_HEADER_MAX;
	char *buf = xmalloc(want + 1);
	ssize_t n = msgbuf_read_at(s->msg, 0, buf, want);
	struct smtp_check_ctx ctx = {
		.session_id = s->ns.id,
		.client_ip = s->ns.conn.ip,
		.helo = s->helo,
		.mail_from = s->from,
		.rcpts = (const char *const *)s->rcpts,
		.nrcpts = s->nrcpts,
		.submission = s->mode != SMTP_MODE_MX,
		.auth_user = s->authenticated ? s->auth_user : NULL,
		.any_sender = s->any_sender,
		.max_hops = s->ns.cfg->limits.hops,
		.store = worker_store(s->ns.worker),
	};
	struct smtp_verdict v = {
		.kind = SMTP_VERDICT_REJECT, .code = 451, .enh = "4.3.0",
		.text = "Local error in processing", .log_result = "failed: spool error",
	};

	if (n >= 0) {
		smtp_check_ctx_set_header(&ctx, buf, (size_t)n, total);
		v = smtp_checks_run(smtp_message_checks, smtp_message_nchecks, &ctx, NULL);
		smtp_check_ctx_free(&ctx);
	}
	free(buf);
	return v;
}

/* ---- hops ---- */

struct smtp_verdict smtp_check_hops(const struct smtp_check_ctx *ctx)
{
	static const struct smtp_verdict loop = {
		.kind = SMTP_VERDICT_REJECT, .code = 554, .enh = "5.4.6",
		.text = "Too many hops: mail loop detected", .log_result = "rejected: mail loop",
	};

	/* RFC 5321 6.3: counting Received: fields catches mail loops */
	if (mail_header_count(&ctx->header, "Received") >= (size_t)ctx->max_hops)
		return loop;
	return accept_verdict;
}

/* ---- From: ownership ---- */

static const struct smtp_verdict from_not_owned = {
	.kind = SMTP_VERDICT_REJECT, .code = 553, .enh = "5.7.1",
	.text = "From: header address not owned by the authenticated user",
	.log_result = "rejected: From not owned",
};

static bool refused(const struct smtp_check_ctx *ctx, const char *addr)
{
	log_security(LOG_WARN, "smtp.sender_refused", "s", "session", ctx->session_id, "s", "ip",
	             ctx->client_ip, "s", "user", ctx->auth_user, "s", "from", addr, "s", "where",
	             "From header", NULL);
	return false;
}

static bool address_owned(const struct smtp_check_ctx *ctx, const struct mail_address *a)
{
	char addr[SMTP_PATH_MAX + 2];

	if (a->kind != MAIL_ADDRESS_MAILBOX) {
		/* RFC 5322 3.6.2: From: is a mailbox-list; a group names nobody */
		snprintf(addr, sizeof(addr), "%s:", a->name != NULL ? a->name : "");
		return a->kind == MAIL_ADDRESS_GROUP_END ? true : refused(ctx, addr);
	}
	snprintf(addr, sizeof(addr), "%s@%s", a->local != NULL ? a->local : "",
	         a->domain != NULL ? a->domain : "");
	if (a->local == NULL || a->domain == NULL)
		return refused(ctx, addr);
	if (resolve_sender_allowed(ctx->store, ctx->auth_user, addr) == 1)
		return true;
	return refused(ctx, addr);
}

/* Every address of one From: field (groups and display names parsed properly). */
static bool from_field_owned(const struct smtp_check_ctx *ctx, const struct mail_field *f)
{
	struct mail_address *addrs = NULL;
	char *value = mail_unfold_dup(f->value, f->value_len);
	size_t n = mail_address_list_new(value, strlen(value), &addrs);
	bool ok = n > 0;   /* a From: with no address at all is not acceptable either */

	for (size_t i = 0; ok && i < n; i++)
		ok = address_owned(ctx, &addrs[i]);
	mail_address_list_free(addrs, n);
	free(value);
	return ok;
}

struct smtp_verdict smtp_check_from_owner(const struct smtp_check_ctx *ctx)
{
	if (!ctx->submission || ctx->auth_user == NULL || ctx->any_sender)
		return accept_verdict;
	/* a header that could not be read whole cannot be checked */
	if (!ctx->header_complete)
		return from_not_owned;
	/* every From: field counts, not just the first one */
	for (size_t i = 0; i < ctx->header.nfields; i++)
		if (mail_field_is(&ctx->header.fields[i], "From") &&
		    !from_field_owned(ctx, &ctx->header.fields[i]))
			return from_not_owned;
	return accept_verdict;
}
