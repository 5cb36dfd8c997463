/* IPv4/IPv6 networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32", "::1"). */
#ifndef POSTERN_CIDR_H
#define POSTERN_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];     /* network address, host bits cleared */
	int bits;
};

/* A bare address means a single host (/32 or /128). 0 or -1. */
int cidr_parse(const char *text, struct cidr *out);
/* ip is a textual address as produced by sockaddr_ip(); v4-mapped IPv6 is not
 * expected (it is shown as IPv4 there). */
bool cidr_match(const struct cidr *net, const char *ip);
bool cidr_match_any(const struct cidr *nets, size_t n, const char *ip);
/* A client address in text: its 16 octets in a (an IPv4 address as
 * IPv4-mapped), and the 4 of an IPv4 one (also when it came IPv4-mapped,
 * ::ffff:192.0.2.1) or NULL for IPv6. -1 when ip is no address. */
int ip_octets(const char *ip, unsigned char a[16], const unsigned char **v4);

#endif
