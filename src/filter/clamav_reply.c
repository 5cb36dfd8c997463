/* clamd's one-line replies (clamav.h): "stream: OK", "stream: NAME FOUND",
 * "stream: WHAT ERROR", "INSTREAM size limit exceeded. ERROR", "PONG".
 * Whatever clamd (or whoever answers on its socket) sends is hostile:
 * any octet, any length. */
#include <string.h>

#include "filter/clamav.h"

static bool name_octet_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(" ._-:/+@()[]!'", c) != NULL);
}

void clamav_sanitize(const char *src, size_t len, char *out, size_t outlen)
{
	size_t n = len;
	if (n > CLAMAV_NAME_MAX)
		n = CLAMAV_NAME_MAX;
	if (n > outlen - 1)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = name_octet_ok((unsigned char)src[i]) ? src[i] : '?';
	out[n] = '\0';
}

ssize_t clamav_reply_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			return (ssize_t)i;
	return -1;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

enum clamav_reply_kind clamav_parse_reply(const char *line, size_t len, char *name,
                                          size_t namelen)
{
	static const char prefix[] = "stream: ";
	const size_t plen = sizeof(prefix) - 1;
	name[0] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		return CLAMAV_REPLY_BAD;
	if (len == 4 && memcmp(line, "PONG", 4) == 0)
		return CLAMAV_REPLY_PONG;
	/* errors come with or without the prefix (the size limit has none) */
	if (has_suffix(line, len, " ERROR")) {
		size_t text = len - 6;
		/* "stream: ERROR": the prefix and the suffix share the space */
		size_t start = text >= plen && memcmp(line, prefix, plen) == 0 ? plen : 0;
		clamav_sanitize(line + start, text - start, name, namelen);
		return CLAMAV_REPLY_ERROR;
	}
	if (len < plen || memcmp(line, prefix, plen) != 0)
		return CLAMAV_REPLY_BAD;
	line += plen;
	len -= plen;
	if (len == 2 && memcmp(line, "OK", 2) == 0)
		return CLAMAV_REPLY_OK;
	/* "FOUND" alone has no name: not a reply clamd sends */
	if (has_suffix(line, len, " FOUND") && len > 6) {
		clamav_sanitize(line, len - 6, name, namelen);
		return CLAMAV_REPLY_FOUND;
	}
	return CLAMAV_REPLY_BAD;
}
