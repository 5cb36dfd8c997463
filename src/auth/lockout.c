/* The login decision (see lockout.h). */
#include "auth/lockout.h"

#include "auth/known_networks.h"
#include "core/config.h"

/* Recorded plus in flight reach the limit: one more check could pass it. */
static bool full(int recorded, int pending, int limit)
{
	return limit > 0 && recorded + pending >= limit;
}

enum lockout_decision lockout_decide(const struct auth_limits_cfg *c, const struct lockout_facts *f)
{
	bool user_blocked = f->verdict == RL_USER_BLOCKED;
	if (f->verdict == RL_ERROR || f->verdict == RL_BLOCKED || (user_blocked && !f->relief))
		return LOCKOUT_REFUSE;
	/* the recorded failures alone: ratelimit_check saw them too, unless
	 * they were written since */
	if (full(f->ip_failures, 0, c->max_attempts_per_ip) ||
	    full(f->pair_failures, 0, c->max_attempts_per_client_user))
		return LOCKOUT_REFUSE;
	if (full(f->ip_failures, f->ip_pending, c->max_attempts_per_ip) ||
	    full(f->pair_failures, f->pair_pending, c->max_attempts_per_client_user))
		return LOCKOUT_BUSY;
	/* reached since ratelimit_check looked (failures written meanwhile) */
	if (full(f->user_failures, 0, c->max_attempts_per_username))
		user_blocked = true;
	if (user_blocked && !f->relief)
		return LOCKOUT_REFUSE;
	if (user_blocked)
		return f->known_network ? LOCKOUT_KNOWN : LOCKOUT_DELAY;
	if (full(f->user_failures, f->user_pending, c->max_attempts_per_username))
		return LOCKOUT_BUSY;
	return LOCKOUT_ALLOW;
}

uint64_t lockout_delay_ms(const struct auth_limits_cfg *c)
{
	uint64_t d = c->delay_max_ms > c->delay_base_ms ? c->delay_max_ms : c->delay_base_ms;
	return d * 2;
}

void lockout_assess(const struct auth_limits_cfg *c, const struct ratelimit_backend *b,
                    const char *ip, const char *user, bool relief, long long now_ms,
                    struct lockout_facts *f)
{
	f->relief = relief;
	f->known_network = false;
	f->verdict = ratelimit_check(c, b, ip, user, now_ms, NULL);
	if (f->verdict == RL_ERROR || f->verdict == RL_BLOCKED)
		return;
	if (ratelimit_counts(c, b, ip, user, now_ms, &f->ip_failures, &f->pair_failures,
	                     &f->user_failures) < 0) {
		f->verdict = RL_ERROR;      /* fail closed */
		return;
	}
	if (relief && (f->verdict == RL_USER_BLOCKED ||
	               (c->max_attempts_per_username > 0 &&
	                f->user_failures >= c->max_attempts_per_username)))
		f->known_network = known_network_check(b, user, ip, now_ms);
}

const char *lockout_decision_name(enum lockout_decision d)
{
	switch (d) {
	case LOCKOUT_ALLOW: return "allow";
	case LOCKOUT_KNOWN: return "known_network";
	case LOCKOUT_DELAY: return "delayed";
	case LOCKOUT_BUSY: return "busy";
	case LOCKOUT_REFUSE: return "refused";
	}
	return "unknown";
}
