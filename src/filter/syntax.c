/* Message syntax before acceptance: a header that every reader after us
 * (DKIM, DMARC, the user's mail program) reads the same way, with the one
 * From: that DMARC judges and the user sees (RFC 5322 3.6, RFC 7489 6.6.1).
 * NUL octets and bare CR or LF never get this far: the SMTP session refuses
 * them while reading the data. filter_checks runs it for port 25 and
 * submission, not for LMTP (why: filter.c). */
#include "filter/filter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mail/address.h"

#define SYNTAX_REJECT(msg, why) { .kind = FILTER_REJECT, .code = 550, .enh = "5.6.0", \
	                          .text = (msg), .log_result = "rejected: " why }

static const struct filter_verdict no_from =
	SYNTAX_REJECT("Message has no From: header field (RFC 5322 3.6)", "no From");
static const struct filter_verdict several_from =
	SYNTAX_REJECT("Message has more than one From: header field (RFC 5322 3.6)", "several From");
static const struct filter_verdict from_needs_sender =
	SYNTAX_REJECT("From: with several addresses needs a Sender: field (RFC 5322 3.6.2)",
	              "several From addresses without Sender");
static const struct filter_verdict from_no_address =
	SYNTAX_REJECT("From: header field holds no address (RFC 5322 3.6.2)", "From without address");
static const struct filter_verdict bad_line =
	SYNTAX_REJECT("Malformed header: a line is not a \"name: value\" field (RFC 5322 2.2)",
	              "malformed header line");
static const struct filter_verdict space_before_colon =
	SYNTAX_REJECT("Malformed header: white space between a field name and its colon "
	              "(RFC 5322 4.5 obsolete syntax, read differently by different programs)",
	              "space before colon");
static const struct filter_verdict blank_fold =
	SYNTAX_REJECT("Malformed header: a folded line holding only white space (RFC 5322 4.2 "
	              "obsolete syntax, read as the end of the header by some programs)",
	              "blank folded line");
static const struct filter_verdict too_big =
	SYNTAX_REJECT("Header too large to check", "header too large");

/* "From :" or a line of blanks inside a field: obsolete syntax (RFC 5322
 * 4.5.x, 4.2) that one program reads as a field or the end of the header
 * and another does not, which is how a second From: gets past a checker */
static const struct filter_verdict *obsolete_form(const struct mail_field *f)
{
	if (f->name[f->name_len] != ':')
		return &space_before_colon;
	const char *p = f->raw, *end = f->raw + f->raw_len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	while (nl != NULL && nl + 1 < end) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		size_t blanks = strspn(p, " \t");
		if (p + blanks >= stop || (p[blanks] == '\r' && p + blanks + 1 == stop))
			return &blank_fold;
	}
	return NULL;
}

/* Reads the header again, strictly: every line a field or a fold of one */
static const struct filter_verdict *header_lines(const struct filter_ctx *ctx)
{
	struct mail_header_iter it;
	struct mail_field f;

	mail_header_iter_init(&it, ctx->header_buf, ctx->header_len, MAIL_HEADER_STRICT);
	while (mail_header_next(&it, &f)) {
		const struct filter_verdict *v = obsolete_form(&f);
		if (v != NULL)
			return v;
	}
	return it.error != MAIL_HEADER_OK ? &bad_line : NULL;
}

/* RFC 5322 3.6.2: From: is a mailbox-list; with more than one mailbox,
 * Sender: names the one who sent it */
static const struct filter_verdict *from_addresses(const struct filter_ctx *ctx,
                                                   const struct mail_field *from)
{
	struct mail_address *addrs = NULL;
	char *value = mail_unfold_dup(from->value, from->value_len);
	size_t n = mail_address_list_new(value, strlen(value), &addrs), mailboxes = 0;

	for (size_t i = 0; i < n; i++)
		if (addrs[i].kind == MAIL_ADDRESS_MAILBOX && addrs[i].domain != NULL)
			mailboxes++;
	mail_address_list_free(addrs, n);
	free(value);
	if (mailboxes == 0)
		return &from_no_address;
	if (mailboxes > 1 && mail_header_count(&ctx->header, "Sender") == 0)
		return &from_needs_sender;
	return NULL;
}

struct filter_verdict filter_check_syntax(const struct filter_ctx *ctx)
{
	const struct filter_verdict *v;
	const struct mail_field *from = NULL;

	if (!ctx->header_complete)
		return too_big;
	if ((v = header_lines(ctx)) != NULL)
		return *v;
	for (size_t i = 0; i < ctx->header.nfields; i++) {
		if (!mail_field_is(&ctx->header.fields[i], "From"))
			continue;
		if (from != NULL)
			return several_from;
		from = &ctx->header.fields[i];
	}
	if (from == NULL)
		return no_from;
	if ((v = from_addresses(ctx, from)) != NULL)
		return *v;
	return filter_accept;
}
