/* i;unicode-casemap (RFC 5051) for the scripts mail is written in with case;
 * see casemap.h. */
#include "core/casemap.h"

#include <stdint.h>
#include <string.h>

#include "core/utf8.h"

/* RFC 5051 2 step 1: the simple titlecase mapping of UnicodeData.txt, which
 * is the upper case for every character in these blocks. */
static uint32_t titlecase(uint32_t c)
{
	if (c >= 'a' && c <= 'z')
		return c - 0x20;
	if (c < 0xb5)
		return c;
	if (c == 0xb5)
		return 0x39c;                           /* MICRO SIGN: GREEK MU */
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x131)
			return 'I';                     /* dotless i */
		if (c == 0x17f)
			return 'S';                     /* long s */
		if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x178)
			return c;
		/* pairs: upper case on the even code point, except in two runs */
		bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
		return odd_upper ? (c % 2 == 0 ? c - 1 : c) : (c & ~1u);
	}
	if (c == 0x3ac)
		return 0x386;
	if (c >= 0x3ad && c <= 0x3af)
		return c - 0x25;
	if (c == 0x3c2)
		return 0x3a3;                           /* final sigma */
	if ((c >= 0x3b1 && c <= 0x3c1) || (c >= 0x3c3 && c <= 0x3cb))
		return c - 0x20;
	if (c == 0x3cc)
		return 0x38c;
	if (c == 0x3cd || c == 0x3ce)
		return c - 0x3f;
	if (c >= 0x430 && c <= 0x44f)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	return c;
}

/* RFC 5051 2 step 2: canonical decompositions (UnicodeData.txt field 5) of
 * the upper-case letters of these blocks: a base letter and one mark. */
struct decomposition {
	uint16_t c, base, mark;
};

static const struct decomposition decompositions[] = {
	{ 0xc0, 'A', 0x300 }, { 0xc1, 'A', 0x301 }, { 0xc2, 'A', 0x302 }, { 0xc3, 'A', 0x303 },
	{ 0xc4, 'A', 0x308 }, { 0xc5, 'A', 0x30a }, { 0xc7, 'C', 0x327 }, { 0xc8, 'E', 0x300 },
	{ 0xc9, 'E', 0x301 }, { 0xca, 'E', 0x302 }, { 0xcb, 'E', 0x308 }, { 0xcc, 'I', 0x300 },
	{ 0xcd, 'I', 0x301 }, { 0xce, 'I', 0x302 }, { 0xcf, 'I', 0x308 }, { 0xd1, 'N', 0x303 },
	{ 0xd2, 'O', 0x300 }, { 0xd3, 'O', 0x301 }, { 0xd4, 'O', 0x302 }, { 0xd5, 'O', 0x303 },
	{ 0xd6, 'O', 0x308 }, { 0xd9, 'U', 0x300 }, { 0xda, 'U', 0x301 }, { 0xdb, 'U', 0x302 },
	{ 0xdc, 'U', 0x308 }, { 0xdd, 'Y', 0x301 },
	{ 0x100, 'A', 0x304 }, { 0x102, 'A', 0x306 }, { 0x104, 'A', 0x328 }, { 0x106, 'C', 0x301 },
	{ 0x108, 'C', 0x302 }, { 0x10a, 'C', 0x307 }, { 0x10c, 'C', 0x30c }, { 0x10e, 'D', 0x30c },
	{ 0x112, 'E', 0x304 }, { 0x114, 'E', 0x306 }, { 0x116, 'E', 0x307 }, { 0x118, 'E', 0x328 },
	{ 0x11a, 'E', 0x30c }, { 0x11c, 'G', 0x302 }, { 0x11e, 'G', 0x306 }, { 0x120, 'G', 0x307 },
	{ 0x122, 'G', 0x327 }, { 0x124, 'H', 0x302 }, { 0x128, 'I', 0x303 }, { 0x12a, 'I', 0x304 },
	{ 0x12c, 'I', 0x306 }, { 0x12e, 'I', 0x328 }, { 0x130, 'I', 0x307 }, { 0x134, 'J', 0x302 },
	{ 0x136, 'K', 0x327 }, { 0x139, 'L', 0x301 }, { 0x13b, 'L', 0x327 }, { 0x13d, 'L', 0x30c },
	{ 0x143, 'N', 0x301 }, { 0x145, 'N', 0x327 }, { 0x147, 'N', 0x30c }, { 0x14c, 'O', 0x304 },
	{ 0x14e, 'O', 0x306 }, { 0x150, 'O', 0x30b }, { 0x154, 'R', 0x301 }, { 0x156, 'R', 0x327 },
	{ 0x158, 'R', 0x30c }, { 0x15a, 'S', 0x301 }, { 0x15c, 'S', 0x302 }, { 0x15e, 'S', 0x327 },
	{ 0x160, 'S', 0x30c }, { 0x162, 'T', 0x327 }, { 0x164, 'T', 0x30c }, { 0x168, 'U', 0x303 },
	{ 0x16a, 'U', 0x304 }, { 0x16c, 'U', 0x306 }, { 0x16e, 'U', 0x30a }, { 0x170, 'U', 0x30b },
	{ 0x172, 'U', 0x328 }, { 0x174, 'W', 0x302 }, { 0x176, 'Y', 0x302 }, { 0x178, 'Y', 0x308 },
	{ 0x179, 'Z', 0x301 }, { 0x17b, 'Z', 0x307 }, { 0x17d, 'Z', 0x30c },
	{ 0x386, 0x391, 0x301 }, { 0x388, 0x395, 0x301 }, { 0x389, 0x397, 0x301 },
	{ 0x38a, 0x399, 0x301 }, { 0x38c, 0x39f, 0x301 }, { 0x38e, 0x3a5, 0x301 },
	{ 0x38f, 0x3a9, 0x301 }, { 0x3aa, 0x399, 0x308 }, { 0x3ab, 0x3a5, 0x308 },
	{ 0x400, 0x415, 0x300 }, { 0x401, 0x415, 0x308 }, { 0x403, 0x413, 0x301 },
	{ 0x407, 0x406, 0x308 }, { 0x40c, 0x41a, 0x301 }, { 0x40d, 0x418, 0x300 },
	{ 0x40e, 0x423, 0x306 }, { 0x419, 0x418, 0x306 },
};

static const struct decomposition *decomposition_of(uint32_t c)
{
	size_t lo = 0, hi = sizeof(decompositions) / sizeof(decompositions[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (decompositions[mid].c < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sizeof(decompositions) / sizeof(decompositions[0]) && decompositions[lo].c == c
	       ? &decompositions[lo] : NULL;
}

static void put_utf8(struct buf *out, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else {   /* the tables hold nothing above U+FFFF */
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	}
	buf_append(out, b, n);
}

void casemap_append(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	buf_reserve(out, n);   /* buf_reserve: octets beyond len; also makes data non-NULL */
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			/* ASCII in runs: the common case, without the tables */
			size_t j = i;
			while (j < n && u[j] < 0x80)
				j++;
			buf_reserve(out, j - i);
			for (; i < j; i++) {
				bool lower = u[i] >= 'a' && u[i] <= 'z';
				out->data[out->len++] = (char)(lower ? u[i] - 0x20 : u[i]);
			}
			out->data[out->len] = '\0';
			continue;
		}
		size_t len = utf8_seq_len(u + i, n - i);
		if (len == 0 || len == 4) {
			/* not UTF-8, or beyond the tables: as it is */
			size_t k = len ? len : 1;
			buf_append(out, u + i, k);
			i += k;
			continue;
		}
		uint32_t c = len == 2
			? (uint32_t)(u[i] & 0x1f) << 6 | (u[i + 1] & 0x3f)
			: (uint32_t)(u[i] & 0x0f) << 12 | (uint32_t)(u[i + 1] & 0x3f) << 6 | (u[i + 2] & 0x3f);
		i += len;
		c = titlecase(c);
		const struct decomposition *d = decomposition_of(c);
		if (d != NULL) {
			put_utf8(out, d->base);
			put_utf8(out, d->mark);
		} else {
			put_utf8(out, c);
		}
	}
}

bool casemap_contains(const char *hay, size_t hlen, const char *needle, size_t nlen,
                      struct buf *scratch)
{
	if (nlen == 0)
		return true;
	buf_reset(scratch);
	casemap_append(scratch, hay, hlen);
	return scratch->len >= nlen && memmem(scratch->data, scratch->len, needle, nlen) != NULL;
}
