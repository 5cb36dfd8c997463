/* Address scopes and reverse names; see ipaddr.h. */
#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"

/* The family and 4 or 16 octets of a textual address; 0 or -1. */
static int parse_ip(const char *ip, int *family, unsigned char addr[16])
{
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		*family = AF_INET6;
	else
		return -1;
	return 0;
}

/* Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32)
 * count as global on purpose: a real server never has them, and examples and
 * tests that stand for a public server use them. */
static enum ip_scope scope_v4(const unsigned char a[4])
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	if (v == 0)
		return IP_SCOPE_UNSPECIFIED;
	if (a[0] == 127)
		return IP_SCOPE_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64))
		return IP_SCOPE_PRIVATE;
	if (a[0] == 169 && a[1] == 254)
		return IP_SCOPE_LINK_LOCAL;
	if ((a[0] & 0xf0) == 224)
		return IP_SCOPE_MULTICAST;
	if (a[0] == 0 || (a[0] & 0xf0) == 240)
		return IP_SCOPE_RESERVED;
	return IP_SCOPE_GLOBAL;
}

static enum ip_scope scope_v6(const unsigned char a[16])
{
	static const unsigned char zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	if (memcmp(a, zero, 16) == 0)
		return IP_SCOPE_UNSPECIFIED;
	if (memcmp(a, zero, 15) == 0 && a[15] == 1)
		return IP_SCOPE_LOOPBACK;
	if (memcmp(a, mapped, 12) == 0)
		return scope_v4(a + 12);
	if ((a[0] & 0xfe) == 0xfc)
		return IP_SCOPE_PRIVATE;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return IP_SCOPE_LINK_LOCAL;
	if (a[0] == 0xff)
		return IP_SCOPE_MULTICAST;
	/* RFC 4291 2.4: global unicast is what IANA allocates, all in 2000::/3 */
	if ((a[0] & 0xe0) != 0x20)
		return IP_SCOPE_RESERVED;
	return IP_SCOPE_GLOBAL;
}

enum ip_scope ip_scope_of(const char *ip)
{
	unsigned char addr[16];
	int family;
	if (parse_ip(ip, &family, addr) < 0)
		return IP_SCOPE_INVALID;
	return family == AF_INET ? scope_v4(addr) : scope_v6(addr);
}

const char *ip_scope_name(enum ip_scope s)
{
	switch (s) {
	case IP_SCOPE_INVALID: return "invalid";
	case IP_SCOPE_UNSPECIFIED: return "unspecified";
	case IP_SCOPE_LOOPBACK: return "loopback";
	case IP_SCOPE_PRIVATE: return "private";
	case IP_SCOPE_LINK_LOCAL: return "link-local";
	case IP_SCOPE_MULTICAST: return "multicast";
	case IP_SCOPE_RESERVED: return "reserved";
	case IP_SCOPE_GLOBAL: return "global";
	}
	return "invalid";
}

bool ip_is_global(const char *ip)
{
	return ip_scope_of(ip) == IP_SCOPE_GLOBAL;
}

bool ip_is_loopback(const char *ip)
{
	return ip_scope_of(ip) == IP_SCOPE_LOOPBACK;
}

int ip_reverse_name(const char *ip, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	int family;
	if (parse_ip(ip, &family, a) < 0)
		return -1;
	if (family == AF_INET)
		return bsnprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]) < 0
			? -1 : 0;
	char nibbles[64 + 1];
	size_t o = 0;
	for (int i = 15; i >= 0; i--) {
		nibbles[o++] = hex[a[i] & 0x0f];
		nibbles[o++] = '.';
		nibbles[o++] = hex[a[i] >> 4];
		nibbles[o++] = '.';
	}
	nibbles[o] = '\0';
	return bsnprintf(out, outlen, "%sip6.arpa", nibbles) < 0 ? -1 : 0;
}

int ip_canonical(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	int family;
	char text[INET6_ADDRSTRLEN];
	if (parse_ip(ip, &family, a) < 0 || inet_ntop(family, a, text, sizeof(text)) == NULL)
		return -1;
	return bsnprintf(out, outlen, "%s", text) < 0 ? -1 : 0;
}
