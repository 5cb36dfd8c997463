/* Record data as text; see rdata.h. */
#include "dns/rdata.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/util.h"
#include "dns/mx.h"

const char *dns_rrtype_name(enum dns_rrtype t)
{
	switch (t) {
	case DNS_RR_A: return "A";
	case DNS_RR_PTR: return "PTR";
	case DNS_RR_MX: return "MX";
	case DNS_RR_TXT: return "TXT";
	case DNS_RR_AAAA: return "AAAA";
	}
	return "?";
}

static int addr_text(int family, const unsigned char *rdata, size_t len, char *out,
                     size_t outlen)
{
	char text[INET6_ADDRSTRLEN];
	if (len != (family == AF_INET ? 4u : 16u) || inet_ntop(family, rdata, text, sizeof(text)) == NULL)
		return -1;
	return bsnprintf(out, outlen, "%s", text) < 0 ? -1 : 0;
}

/* RFC 1035 3.3.14: one or more <character-string>s, each a length octet and
 * that many octets, filling the rdata exactly. */
static int txt_text(const unsigned char *rdata, size_t len, char *out, size_t outlen)
{
	size_t pos = 0, o = 0;
	if (len == 0 || outlen == 0)
		return -1;
	while (pos < len) {
		size_t n = rdata[pos++];
		if (n > len - pos || o + n >= outlen)
			return -1;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = rdata[pos + i];
			/* never hand a terminal escape sequences from someone's zone */
			out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
		}
		pos += n;
	}
	out[o] = '\0';
	return 0;
}

int dns_rdata_text(enum dns_rrtype t, const unsigned char *rdata, size_t len, char *out,
                   size_t outlen)
{
	char name[MX_NAME_MAX + 1];
	struct mx_host mx;
	if (rdata == NULL && len > 0)
		return -1;
	switch (t) {
	case DNS_RR_A:
		return addr_text(AF_INET, rdata, len, out, outlen);
	case DNS_RR_AAAA:
		return addr_text(AF_INET6, rdata, len, out, outlen);
	case DNS_RR_MX:
		if (mx_parse_rdata(rdata, len, &mx) < 0)
			return -1;
		return bsnprintf(out, outlen, "%u %s", (unsigned)mx.pref, mx.name) < 0 ? -1 : 0;
	case DNS_RR_PTR:
		if (rdata == NULL || mx_parse_name(rdata, len, name) < 0)
			return -1;
		return bsnprintf(out, outlen, "%s", name) < 0 ? -1 : 0;
	case DNS_RR_TXT:
		return txt_text(rdata, len, out, outlen);
	}
	return -1;
}
