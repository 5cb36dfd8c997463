#include "auth/sasl.h"

#include "core/utf8.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

/* All-ones when lo <= c <= hi, else zero; no branch, no table (c, lo, hi
 * are at most 255, so the subtractions wrap exactly when out of range). */
static uint32_t ct_range_mask(uint32_t c, uint32_t lo, uint32_t hi)
{
	return 0u - (((lo - 1u - c) & (c - hi - 1u)) >> 31);
}

/* All-ones when v >= k (both < 2^31). */
static uint32_t ct_ge_mask(uint32_t v, uint32_t k)
{
	return 0u - (((v - k) >> 31) ^ 1u);
}

/* 0..63 for an alphabet character, 0xffffffff for anything else. */
static uint32_t b64_value(unsigned char ch)
{
	uint32_t c = ch;
	uint32_t v = 0;
	uint32_t valid = 0;
	uint32_t m;

	m = ct_range_mask(c, 'A', 'Z');
	v |= m & (c - 'A');
	valid |= m;
	m = ct_range_mask(c, 'a', 'z');
	v |= m & (c - 'a' + 26);
	valid |= m;
	m = ct_range_mask(c, '0', '9');
	v |= m & (c - '0' + 52);
	valid |= m;
	m = ct_range_mask(c, '+', '+');
	v |= m & 62u;
	valid |= m;
	m = ct_range_mask(c, '/', '/');
	v |= m & 63u;
	valid |= m;
	return v | ~valid;
}

static char b64_char(uint32_t v)
{
	uint32_t c = v + 'A';
	c += ct_ge_mask(v, 26) & 6u;             /* 26..51 -> 'a'.. */
	c += ct_ge_mask(v, 52) & (0u - 75u);     /* 52..61 -> '0'.. */
	c += ct_ge_mask(v, 62) & (0u - 15u);     /* 62 -> '+' */
	c += ct_ge_mask(v, 63) & 3u;             /* 63 -> '/' */
	return (char)(c & 0xff);
}

int sasl_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                    size_t *outlen)
{
	*outlen = 0;
	if (inlen % 4 != 0)
		return -1;
	if (inlen == 0)
		return 0;
	/* padding position depends only on the length, which is public */
	size_t pad = 0;
	if (in[inlen - 1] == '=')
		pad = in[inlen - 2] == '=' ? 2 : 1;
	size_t n = inlen / 4 * 3 - pad;
	if (n > outcap)
		return -1;

	uint32_t bad = 0;
	size_t o = 0;
	for (size_t i = 0; i < inlen; i += 4) {
		bool last = i + 4 == inlen;
		uint32_t a = b64_value((unsigned char)in[i]);
		uint32_t b = b64_value((unsigned char)in[i + 1]);
		uint32_t c = (last && pad == 2) ? 0 : b64_value((unsigned char)in[i + 2]);
		uint32_t d = (last && pad >= 1) ? 0 : b64_value((unsigned char)in[i + 3]);
		bad |= (a | b | c | d) & ~63u;
		uint32_t w = (a << 18) | (b << 12) | (c << 6) | d;
		out[o++] = (unsigned char)(w >> 16);
		if (!last || pad < 2) {
			out[o++] = (unsigned char)(w >> 8);
		} else {
			/* RFC 4648 3.5: "xx==" must leave the low 4 bits of xx zero */
			bad |= w & 0xffff;
		}
		if (!last || pad < 1)
			out[o++] = (unsigned char)w;
		else if (pad == 1)
			bad |= w & 0xff;
	}
	if (bad != 0) {
		OPENSSL_cleanse(out, o);
		return -1;
	}
	*outlen = n;
	return 0;
}

int sasl_b64_encode(const unsigned char *in, size_t inlen, char *out, size_t outcap,
                    size_t *outlen)
{
	if (outlen != NULL)
		*outlen = 0;
	if (inlen > (SIZE_MAX - 1) / 4 * 3 - 2 || outcap < SASL_B64_ENCODED_LEN(inlen) + 1) {
		if (outcap > 0)
			out[0] = '\0';
		return -1;
	}
	size_t o = 0;
	for (size_t i = 0; i < inlen; i += 3) {
		size_t left = inlen - i;
		uint32_t w = (uint32_t)in[i] << 16;
		if (left > 1)
			w |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			w |= in[i + 2];
		out[o++] = b64_char((w >> 18) & 63);
		out[o++] = b64_char((w >> 12) & 63);
		out[o++] = left > 1 ? b64_char((w >> 6) & 63) : '=';
		out[o++] = left > 2 ? b64_char(w & 63) : '=';
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

bool sasl_utf8_valid(const unsigned char *s, size_t len)
{
	return utf8_valid((const char *)s, len);
}

void sasl_plain_clear(struct sasl_plain *p)
{
	OPENSSL_cleanse(p, sizeof(*p));
}

static int plain_field(const unsigned char *start, size_t n, bool may_be_empty, char *dst)
{
	if ((n == 0 && !may_be_empty) || n > SASL_PLAIN_FIELD_MAX)
		return -1;
	if (!sasl_utf8_valid(start, n))
		return -1;
	memcpy(dst, start, n);
	dst[n] = '\0';
	return 0;
}

int sasl_plain_parse(const unsigned char *msg, size_t len, struct sasl_plain *out)
{
	memset(out, 0, sizeof(*out));
	const unsigned char *nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return -1;
	const unsigned char *authcid = nul1 + 1;
	const unsigned char *end = msg + len;
	const unsigned char *nul2 = memchr(authcid, '\0', (size_t)(end - authcid));
	if (nul2 == NULL)
		return -1;
	const unsigned char *passwd = nul2 + 1;
	/* RFC 4616 2: exactly two NULs, so none in the password */
	if (memchr(passwd, '\0', (size_t)(end - passwd)) != NULL)
		return -1;
	/* the password is copied straight into *out: no temporary to wipe but that */
	if (plain_field(msg, (size_t)(nul1 - msg), true, out->authzid) < 0 ||
	    plain_field(authcid, (size_t)(nul2 - authcid), false, out->authcid) < 0 ||
	    plain_field(passwd, (size_t)(end - passwd), false, out->passwd) < 0) {
		sasl_plain_clear(out);
		return -1;
	}
	return 0;
}
