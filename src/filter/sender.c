/* From: ownership for authenticated submission: every address of every
 * From: field must be one the user may send as. filter_checks applies it
 * to submitted mail only. */
#include "filter/filter.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mail/address.h"
#include "store/resolve.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets */
#define ADDRESS_MAX 256

static const struct filter_verdict from_not_owned = {
	.kind = FILTER_REJECT, .code = 553, .enh = "5.7.1",
	.text = "From: header address not owned by the authenticated user",
	.log_result = "rejected: From not owned",
};

static bool refused(const struct filter_ctx *ctx, const char *addr)
{
	log_security(LOG_WARN, "smtp.sender_refused", "s", "session", ctx->session_id, "s", "ip",
	             ctx->client_ip, "s", "user", ctx->auth_user, "s", "from", addr, "s", "where",
	             "From header", NULL);
	return false;
}

static bool address_owned(const struct filter_ctx *ctx, const struct mail_address *a)
{
	char addr[ADDRESS_MAX + 2];

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
static bool from_field_owned(const struct filter_ctx *ctx, const struct mail_field *f)
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

struct filter_verdict filter_check_from_owner(const struct filter_ctx *ctx)
{
	if (ctx->auth_user == NULL || ctx->any_sender)
		return filter_accept;
	/* a header that could not be read whole cannot be checked */
	if (!ctx->header_complete)
		return from_not_owned;
	/* every From: field counts, not just the first one */
	for (size_t i = 0; i < ctx->header.nfields; i++)
		if (mail_field_is(&ctx->header.fields[i], "From") &&
		    !from_field_owned(ctx, &ctx->header.fields[i]))
			return from_not_owned;
	return filter_accept;
}
