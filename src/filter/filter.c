/* The end-of-DATA checks (see filter.h): the list, its runner, and the one
 * read of the header they share. */
#include "filter/filter.h"

#include <stddef.h>

#include "core/util.h"

const struct filter_verdict filter_accept = { .kind = FILTER_ACCEPT };

const struct filter_check filter_checks[] = {
	{ "hops", filter_check_hops, FILTER_FROM_ANY },
	/* a user's own mail only: who sent a relayed or handed-over message is
	 * not ours to police by the From: line */
	{ "from_owner", filter_check_from_owner, FILTER_FROM_SUBMISSION },
	/* One From: that every reader after us reads the same way. Port 25: the
	 * From: is what DMARC judges. Submission too, although a user's own mail
	 * program always writes one: what lacks it is a script, and postern
	 * does not add a missing From: (RFC 6409 8 lets an MSA do so; Postfix
	 * does); the DKIM signer cannot sign without it (RFC 6376 5.4) and big
	 * receivers refuse such mail later, as a bounce, so the script's author
	 * is better told at once. It runs after from_owner there, so that a
	 * spoofing attempt (a second From:, "From :") is refused and audited as
	 * one, and it closes what that check's lenient read leaves open: a form
	 * another reader would take differently. Not LMTP: the MTA in front has
	 * accepted the mail already. */
	{ "syntax", filter_check_syntax, FILTER_FROM_MX | FILTER_FROM_SUBMISSION },
};
const size_t filter_nchecks = ARRAY_LEN(filter_checks);

struct filter_verdict filter_run(const struct filter_check *checks, size_t n,
                                    const struct filter_ctx *ctx, const char **failed)
{
	if (failed != NULL)
		*failed = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(checks[i].origins & ctx->origin))
			continue;
		struct filter_verdict v = checks[i].run(ctx);
		if (v.kind != FILTER_ACCEPT) {
			if (failed != NULL)
				*failed = checks[i].name;
			return v;
		}
	}
	return filter_accept;
}

/* ---- the context ---- */

void filter_ctx_set_header(struct filter_ctx *ctx, const char *buf, size_t len,
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
	                      FILTER_FIELDS_MAX, err, sizeof(err)) < 0)
		ctx->header_complete = false;   /* the only lenient error: too many fields */
}

void filter_ctx_free(struct filter_ctx *ctx)
{
	mail_header_free(&ctx->header);
}

