/* The quota rules (quota.h): limits that apply, what fits, the 90 % line. */
#include "store/quota.h"

#include "core/config.h"
#include "store/resolve.h"
#include "store/store.h"

struct quota_limits quota_defaults_of(const struct config *cfg)
{
	return (struct quota_limits){ cfg->quota.storage, cfg->quota.messages };
}

struct quota_limits quota_limits_of(const struct store_quota *q, const struct quota_limits *defaults)
{
	return (struct quota_limits){
		q->own_storage_limit ? q->storage_limit : defaults->storage,
		q->own_message_limit ? q->message_limit : defaults->messages,
	};
}

bool quota_has_limit(const struct quota_limits *l)
{
	return l->storage > 0 || l->messages > 0;
}

/* used + add > limit, without overflowing; limit 0 is none. */
static bool over(uint64_t limit, uint64_t used, uint64_t add)
{
	return limit > 0 && (used > limit || add > limit - used);
}

bool quota_would_exceed(const struct quota_limits *l, const struct quota_usage *used,
                        uint64_t add_storage, uint64_t add_messages)
{
	return over(l->storage, used->storage, add_storage) ||
	       over(l->messages, used->messages, add_messages);
}

/* The line is QUOTA_WARN_PERCENT of the limit, rounded up, computed
 * without multiplying (a limit near 2^64 must not overflow). */
static bool at_line(uint64_t limit, uint64_t used)
{
	uint64_t rest = 100 - QUOTA_WARN_PERCENT;
	uint64_t below = limit / 100 * rest + limit % 100 * rest / 100;   /* floor(limit * 10 %) */
	return limit > 0 && used >= limit - below;
}

bool quota_near_full(const struct quota_limits *l, const struct quota_usage *used)
{
	return at_line(l->storage, used->storage) || at_line(l->messages, used->messages);
}

enum quota_warning quota_warning_step(const struct quota_limits *l, const struct quota_usage *before,
                                      const struct quota_usage *after, bool warned)
{
	if (!quota_near_full(l, after))
		return warned ? QUOTA_WARN_REARM : QUOTA_WARN_NONE;
	if (!warned || !quota_near_full(l, before))
		return QUOTA_WARN_SEND;
	return QUOTA_WARN_NONE;
}

uint64_t quota_kib(uint64_t octets)
{
	return octets / 1024 + (octets % 1024 != 0);
}

int quota_status_of(struct store *st, const struct quota_limits *defaults, const char *local,
                    const char *domain, struct quota_status *out)
{
	struct store_quota q;
	int rc = store_quota_get(st, local, domain, &q);
	if (rc != STORE_OK)
		return rc;
	out->limits = quota_limits_of(&q, defaults);
	out->used = (struct quota_usage){ q.storage, q.messages };
	out->warned = q.warned;
	return STORE_OK;
}

enum quota_verdict quota_check(struct store *st, const struct quota_limits *defaults,
                               const char *user, uint64_t add_storage, uint64_t add_messages)
{
	char local[65], domain[256];
	struct quota_status qs;
	if (resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) < 0)
		return QUOTA_FITS;   /* not a mailbox of ours: nothing to count against */
	int rc = quota_status_of(st, defaults, local, domain, &qs);
	if (rc == STORE_NOT_FOUND)
		return QUOTA_FITS;
	if (rc != STORE_OK)
		return QUOTA_UNKNOWN;
	return quota_would_exceed(&qs.limits, &qs.used, add_storage, add_messages) ? QUOTA_OVER
	                                                                           : QUOTA_FITS;
}
