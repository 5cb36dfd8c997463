#include "net/timeouts.h"

#include <stdatomic.h>

/* Relaxed atomics: every worker counts, a reader wants totals, not order. */
static struct {
	atomic_uint_fast64_t n[NET_TIMEOUT_KINDS];
} counts;

void net_timeout_count(enum net_timeout kind)
{
	if (kind < NET_TIMEOUT_KINDS)
		atomic_fetch_add_explicit(&counts.n[kind], 1, memory_order_relaxed);
}

uint64_t net_timeout_total(enum net_timeout kind)
{
	return kind < NET_TIMEOUT_KINDS ? atomic_load_explicit(&counts.n[kind], memory_order_relaxed)
	                                : 0;
}

const char *net_timeout_name(enum net_timeout kind)
{
	static const char *const names[NET_TIMEOUT_KINDS] = {
		[NET_TIMEOUT_COMMAND] = "command",
		[NET_TIMEOUT_IDLE] = "idle",
		[NET_TIMEOUT_DATA] = "data",
		[NET_TIMEOUT_LOGIN] = "login",
		[NET_TIMEOUT_SESSION] = "session",
		[NET_TIMEOUT_MIN_RATE] = "min_rate",
		[NET_TIMEOUT_HANDSHAKE] = "handshake",
		[NET_TIMEOUT_WRITE] = "write",
		[NET_TIMEOUT_PROXY] = "proxy",
	};
	return kind < NET_TIMEOUT_KINDS ? names[kind] : "?";
}
