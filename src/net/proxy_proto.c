#include "net/proxy_proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static const unsigned char v2_signature[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};
static const char v1_prefix[] = "PROXY ";
#define V1_PREFIX_LEN (sizeof(v1_prefix) - 1)
#define V2_FIXED 16

static enum proxy_result fail(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
	return PROXY_ERROR;
}

static bool starts_like(const unsigned char *buf, size_t len, const void *prefix, size_t plen)
{
	return memcmp(buf, prefix, len < plen ? len : plen) == 0;
}

/* ---- version 1: one line of text ------------------------------------------- */

/* The next token of line[*pos..end), which ends at a single space or at end:
 * no empty tokens, no other separator (2.1: "exactly one space"). */
static bool next_token(const char *line, size_t end, size_t *pos, char *out, size_t outlen,
                       bool last)
{
	size_t start = *pos, i = start;
	while (i < end && line[i] != ' ')
		i++;
	if (i == start || i - start >= outlen || (last ? i != end : i == end))
		return false;
	memcpy(out, line + start, i - start);
	out[i - start] = '\0';
	*pos = last ? i : i + 1;
	return true;
}

/* A port in decimal: 0 to 65535, no sign, no leading zero. */
static bool parse_port(const char *text, uint16_t *out)
{
	size_t n = strlen(text);
	if (n == 0 || n > 5 || (n > 1 && text[0] == '0'))
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool set_address(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, ip, &sin->sin_addr) == 1;
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1;
}

/* "PROXY TCP4 SRC DST SPORT DPORT" (the CRLF already cut off). */
static enum proxy_result parse_v1_line(const char *line, size_t end, struct proxy_header *out,
                                       const char **why)
{
	char proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sport[8], dport[8];
	size_t pos = V1_PREFIX_LEN;
	uint16_t sp, dp;
	if (end - pos >= 7 && memcmp(line + pos, "UNKNOWN", 7) == 0 &&
	    (end - pos == 7 || line[pos + 7] == ' ')) {
		out->local = true;   /* 2.1: the rest of the line is to be ignored */
		return PROXY_DONE;
	}
	if (!next_token(line, end, &pos, proto, sizeof(proto), false))
		return fail(why, "v1: no protocol");
	int family = strcmp(proto, "TCP4") == 0 ? AF_INET : strcmp(proto, "TCP6") == 0 ? AF_INET6 : 0;
	if (family == 0)
		return fail(why, "v1: unknown protocol");
	if (!next_token(line, end, &pos, src, sizeof(src), false) ||
	    !next_token(line, end, &pos, dst, sizeof(dst), false) ||
	    !next_token(line, end, &pos, sport, sizeof(sport), false) ||
	    !next_token(line, end, &pos, dport, sizeof(dport), true))
		return fail(why, "v1: malformed line");
	if (!parse_port(sport, &sp) || !parse_port(dport, &dp))
		return fail(why, "v1: bad port");
	if (!set_address(family, src, sp, &out->src) || !set_address(family, dst, dp, &out->dst))
		return fail(why, "v1: bad address");
	return PROXY_DONE;
}

static enum proxy_result parse_v1(const unsigned char *buf, size_t len, struct proxy_header *out,
                                  const char **why)
{
	const unsigned char *lf = memchr(buf, '\n', len < PROXY_V1_MAX ? len : PROXY_V1_MAX);
	if (lf == NULL)
		return len < PROXY_V1_MAX ? PROXY_MORE : fail(why, "v1: line too long");
	size_t end = (size_t)(lf - buf);
	if (end == 0 || buf[end - 1] != '\r')
		return fail(why, "v1: line not ended by CRLF");
	end--;
	for (size_t i = 0; i < end; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return fail(why, "v1: control character");
	out->version = 1;
	out->length = end + 2;
	return parse_v1_line((const char *)buf, end, out, why);
}

/* ---- version 2: binary ------------------------------------------------------ */

enum { V2_CMD_LOCAL = 0x0, V2_CMD_PROXY = 0x1 };
enum { V2_AF_UNSPEC = 0x0, V2_AF_INET = 0x1, V2_AF_INET6 = 0x2, V2_AF_UNIX = 0x3 };
enum { V2_TRANSPORT_UNSPEC = 0x0, V2_TRANSPORT_STREAM = 0x1 };

/* The TLVs after the addresses: skipped, but each must fit (2.2.7). */
static bool tlvs_fit(const unsigned char *p, size_t len)
{
	while (len > 0) {
		if (len < 3)
			return false;
		size_t vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > len - 3)
			return false;
		p += 3 + vlen;
		len -= 3 + vlen;
	}
	return true;
}

static void set_v2_inet(const unsigned char *a, struct proxy_header *out)
{
	struct sockaddr_in *src = (struct sockaddr_in *)&out->src;
	struct sockaddr_in *dst = (struct sockaddr_in *)&out->dst;
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	src->sin_family = dst->sin_family = AF_INET;
	memcpy(&src->sin_addr, a, 4);
	memcpy(&dst->sin_addr, a + 4, 4);
	memcpy(&src->sin_port, a + 8, 2);   /* both in network order already */
	memcpy(&dst->sin_port, a + 10, 2);
}

static void set_v2_inet6(const unsigned char *a, struct proxy_header *out)
{
	struct sockaddr_in6 *src = (struct sockaddr_in6 *)&out->src;
	struct sockaddr_in6 *dst = (struct sockaddr_in6 *)&out->dst;
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	src->sin6_family = dst->sin6_family = AF_INET6;
	memcpy(&src->sin6_addr, a, 16);
	memcpy(&dst->sin6_addr, a + 16, 16);
	memcpy(&src->sin6_port, a + 32, 2);
	memcpy(&dst->sin6_port, a + 34, 2);
}

/* The PROXY command's address block: its size, or -1 for what we refuse. */
static long v2_address_size(unsigned fam, unsigned transport)
{
	switch (fam) {
	case V2_AF_UNSPEC: return 0;
	case V2_AF_INET: return transport == V2_TRANSPORT_STREAM ? 12 : -1;
	case V2_AF_INET6: return transport == V2_TRANSPORT_STREAM ? 36 : -1;
	case V2_AF_UNIX: return transport <= V2_TRANSPORT_STREAM ? 216 : -1;
	default: return -1;
	}
}

static enum proxy_result parse_v2(const unsigned char *buf, size_t len, struct proxy_header *out,
                                  const char **why)
{
	if (len < V2_FIXED)
		return PROXY_MORE;
	unsigned version = buf[12] >> 4, cmd = buf[12] & 0xf;
	unsigned fam = buf[13] >> 4, transport = buf[13] & 0xf;
	size_t body = (size_t)buf[14] << 8 | buf[15];
	if (version != 2)
		return fail(why, "v2: unknown version");
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return fail(why, "v2: unknown command");
	if (V2_FIXED + body > PROXY_HEADER_MAX)
		return fail(why, "v2: header too long");
	if (len < V2_FIXED + body)
		return PROXY_MORE;
	out->version = 2;
	out->length = V2_FIXED + body;
	if (cmd == V2_CMD_LOCAL) {
		/* 2.2: a health check of the proxy's own: the block is ignored */
		out->local = true;
		return PROXY_DONE;
	}
	long addr = v2_address_size(fam, transport);
	if (addr < 0)
		return fail(why, "v2: unsupported address family or transport");
	if ((size_t)addr > body)
		return fail(why, "v2: length shorter than the addresses");
	if (!tlvs_fit(buf + V2_FIXED + addr, body - (size_t)addr))
		return fail(why, "v2: TLV overruns the header");
	if (fam == V2_AF_INET)
		set_v2_inet(buf + V2_FIXED, out);
	else if (fam == V2_AF_INET6)
		set_v2_inet6(buf + V2_FIXED, out);
	else
		out->local = true;   /* UNSPEC or a UNIX socket: nothing to take over */
	return PROXY_DONE;
}

enum proxy_result proxy_proto_parse(const unsigned char *buf, size_t len,
                                    struct proxy_header *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (why != NULL)
		*why = NULL;
	if (len == 0)
		return PROXY_MORE;
	if (starts_like(buf, len, v2_signature, sizeof(v2_signature)))
		return len < sizeof(v2_signature) ? PROXY_MORE : parse_v2(buf, len, out, why);
	if (starts_like(buf, len, v1_prefix, V1_PREFIX_LEN))
		return len < V1_PREFIX_LEN ? PROXY_MORE : parse_v1(buf, len, out, why);
	return fail(why, "no PROXY protocol header");
}
