/* Modified UTF-7 mailbox names (RFC 3501 5.1.3) for clients that did not
 * ENABLE UTF8=ACCEPT; postern keeps names in UTF-8. */
#include "mail/mutf7.h"

#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

static int put(char *out, size_t outlen, size_t *n, char c)
{
	if (*n + 1 >= outlen)
		return -1;
	out[(*n)++] = c;
	return 0;
}

/* UTF-8 code point at *s (advancing it); -1 on invalid input. */
static int32_t utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	int32_t cp;
	int extra;
	if (p[0] < 0x80) { cp = p[0]; extra = 0; }
	else if ((p[0] & 0xe0) == 0xc0) { cp = p[0] & 0x1f; extra = 1; }
	else if ((p[0] & 0xf0) == 0xe0) { cp = p[0] & 0x0f; extra = 2; }
	else if ((p[0] & 0xf8) == 0xf0) { cp = p[0] & 0x07; extra = 3; }
	else return -1;
	for (int i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*s = p + extra + 1;
	return cp;
}

static int put_utf8(char *out, size_t outlen, size_t *n, int32_t cp)
{
	char buf[4];
	int len;
	if (cp < 0x80) { buf[0] = (char)cp; len = 1; }
	else if (cp < 0x800) { buf[0] = (char)(0xc0 | (cp >> 6)); buf[1] = (char)(0x80 | (cp & 0x3f)); len = 2; }
	else if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12)); buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f)); len = 3;
	} else {
		buf[0] = (char)(0xf0 | (cp >> 18)); buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); buf[3] = (char)(0x80 | (cp & 0x3f)); len = 4;
	}
	for (int i = 0; i < len; i++)
		if (put(out, outlen, n, buf[i]) < 0)
			return -1;
	return 0;
}

int mutf7_encode(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0;
	while (*s) {
		if (*s >= 0x20 && *s < 0x7f) {
			if (put(out, outlen, &n, (char)*s) < 0 || (*s == '&' && put(out, outlen, &n, '-') < 0))
				return -1;
			s++;
			continue;
		}
		/* a run of other characters: UTF-16BE in modified base64 between & and - */
		uint32_t bits = 0;
		int nbits = 0;
		if (put(out, outlen, &n, '&') < 0)
			return -1;
		while (*s && !(*s >= 0x20 && *s < 0x7f)) {
			int32_t cp = utf8_next(&s);
			uint16_t units[2];
			int nunits = 1;
			if (cp < 0)
				return -1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = (uint16_t)(0xd800 | (cp >> 10));
				units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
				nunits = 2;
			} else {
				units[0] = (uint16_t)cp;
			}
			for (int u = 0; u < nunits; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					if (put(out, outlen, &n, b64[(bits >> nbits) & 0x3f]) < 0)
						return -1;
				}
			}
		}
		if (nbits > 0 && put(out, outlen, &n, b64[(bits << (6 - nbits)) & 0x3f]) < 0)
			return -1;
		if (put(out, outlen, &n, '-') < 0)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

int mutf7_decode(const char *in, char *out, size_t outlen)
{
	const char *p = in;
	size_t n = 0;
	while (*p) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x7f)
			return -1;   /* only printable ASCII on the wire */
		if (c != '&') {
			if (put(out, outlen, &n, (char)c) < 0)
				return -1;
			p++;
			continue;
		}
		p++;
		if (*p == '-') {     /* "&-" is '&' */
			if (put(out, outlen, &n, '&') < 0)
				return -1;
			p++;
			continue;
		}
		uint32_t bits = 0;
		int nbits = 0;
		int32_t high = -1;
		int units = 0;
		for (; *p && *p != '-'; p++) {
			int v = b64_value(*p);
			if (v < 0)
				return -1;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t u = (bits >> nbits) & 0xffff;
			units++;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (high >= 0)
					return -1;
				high = (int32_t)u;
				continue;
			}
			int32_t cp;
			if (u >= 0xdc00 && u <= 0xdfff) {
				if (high < 0)
					return -1;
				cp = 0x10000 + ((high - 0xd800) << 10) + (int32_t)(u - 0xdc00);
				high = -1;
			} else {
				if (high >= 0)
					return -1;
				cp = (int32_t)u;
			}
			/* printable ASCII must not be encoded (RFC 3501 5.1.3) */
			if (cp >= 0x20 && cp < 0x7f)
				return -1;
			if (put_utf8(out, outlen, &n, cp) < 0)
				return -1;
		}
		/* the run ends with '-', leftover bits are zero padding, nothing dangling */
		if (*p != '-' || units == 0 || high >= 0 || nbits >= 6 ||
		    (bits & ((1u << nbits) - 1)) != 0)
			return -1;
		p++;
	}
	out[n] = '\0';
	return 0;
}
