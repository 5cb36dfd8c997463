#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void clear_host_bits(unsigned char *addr, int bits, int total)
{
	for (int i = bits; i < total; i++)
		addr[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
}

int cidr_parse(const char *text, struct cidr *out)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	int total;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		total = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		total = 128;
	} else {
		return -1;
	}
	out->bits = total;
	if (slash != NULL) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0 || bits > total)
			return -1;
		out->bits = (int)bits;
	}
	clear_host_bits(out->addr, out->bits, total);
	return 0;
}

bool cidr_match(const struct cidr *net, const char *ip)
{
	unsigned char addr[16];
	int total = net->family == AF_INET ? 32 : 128;
	if (inet_pton(net->family, ip, addr) != 1)
		return false;
	clear_host_bits(addr, net->bits, total);
	return memcmp(addr, net->addr, (size_t)total / 8) == 0;
}

bool cidr_match_any(const struct cidr *nets, size_t n, const char *ip)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&nets[i], ip))
			return true;
	return false;
}

int ip_octets(const char *ip, unsigned char a[16], const unsigned char **v4)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	*v4 = NULL;
	if (inet_pton(AF_INET, ip, a + 12) == 1) {
		memcpy(a, v4mapped, sizeof(v4mapped));
		*v4 = a + 12;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		*v4 = a + 12;
	return 0;
}
