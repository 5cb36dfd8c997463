/* The hop count (RFC 5321 6.3): a message that has passed through too many
 * servers is in a loop. */
#include "filter/filter.h"

struct filter_verdict filter_check_hops(const struct filter_ctx *ctx)
{
	static const struct filter_verdict loop = {
		.kind = FILTER_REJECT, .code = 554, .enh = "5.4.6",
		.text = "Too many hops: mail loop detected", .log_result = "rejected: mail loop",
	};

	/* RFC 5321 6.3: counting Received: fields catches mail loops */
	if (mail_header_count(&ctx->header, "Received") >= (size_t)ctx->max_hops)
		return loop;
	return filter_accept;
}
