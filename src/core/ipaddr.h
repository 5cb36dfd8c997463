/* What an IP address is for: which of the server's own addresses the rest of
 * the internet can reach, and the reverse-DNS name of an address. */
#ifndef POSTERN_IPADDR_H
#define POSTERN_IPADDR_H

#include <stdbool.h>
#include <stddef.h>

enum ip_scope {
	IP_SCOPE_INVALID = 0,  /* not a numeric IPv4 or IPv6 address */
	IP_SCOPE_UNSPECIFIED,  /* 0.0.0.0, :: (a wildcard listener) */
	IP_SCOPE_LOOPBACK,     /* 127/8, ::1 */
	IP_SCOPE_PRIVATE,      /* RFC 1918, RFC 6598 (100.64/10), RFC 4193 (fc00::/7) */
	IP_SCOPE_LINK_LOCAL,   /* 169.254/16, fe80::/10 */
	IP_SCOPE_MULTICAST,    /* 224/4, ff00::/8 */
	IP_SCOPE_RESERVED,     /* 0/8, 240/4, IPv6 outside 2000::/3 */
	IP_SCOPE_GLOBAL,       /* anything else: reachable from the internet */
};

/* The scope of a textual address ("192.0.2.1", "2001:db8::1"). An IPv4-mapped
 * IPv6 address has the scope of its IPv4 address. */
enum ip_scope ip_scope_of(const char *ip);
/* "global", "loopback", ...: for messages. */
const char *ip_scope_name(enum ip_scope s);
bool ip_is_global(const char *ip);
bool ip_is_loopback(const char *ip);

/* The PTR owner name of ip, without the trailing dot:
 * "1.2.0.192.in-addr.arpa", or the 32 nibbles under "ip6.arpa" (RFC 3596 2.5).
 * 0, or -1 when ip is not an address or out is too small (74 octets are enough). */
int ip_reverse_name(const char *ip, char *out, size_t outlen);

/* The canonical text of ip (RFC 5952 for IPv6: "2001:db8::1"), so that two
 * spellings of one address compare equal. 0, or -1 when ip is not an address. */
int ip_canonical(const char *ip, char *out, size_t outlen);

#endif
