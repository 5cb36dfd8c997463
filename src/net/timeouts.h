/* How many sessions each kind of timeout has ended, process-wide: counted by
 * the session engine and the PROXY header reader, read by metrics. */
#ifndef POSTERN_NET_TIMEOUTS_H
#define POSTERN_NET_TIMEOUTS_H

#include <stdint.h>

enum net_timeout {
	NET_TIMEOUT_COMMAND,    /* silent or a command trickled, before login */
	NET_TIMEOUT_IDLE,       /* logged in and silent */
	NET_TIMEOUT_DATA,       /* a message or literal stalled */
	NET_TIMEOUT_LOGIN,      /* the login deadline */
	NET_TIMEOUT_SESSION,    /* the session deadline */
	NET_TIMEOUT_MIN_RATE,   /* the slowloris rule: too few octets while owing */
	NET_TIMEOUT_HANDSHAKE,  /* a TLS handshake not done in time */
	NET_TIMEOUT_WRITE,      /* our replies not read */
	NET_TIMEOUT_PROXY,      /* no PROXY protocol header in time */
	NET_TIMEOUT_KINDS,
};

void net_timeout_count(enum net_timeout kind);
uint64_t net_timeout_total(enum net_timeout kind);
/* "command", "min_rate", "proxy", ...: the reason in logs and metric labels */
const char *net_timeout_name(enum net_timeout kind);

#endif
