/* RFC 2047 encoded-words in header values, and the few charsets postern
 * converts to UTF-8 (also for RFC 2231 parameter values). */
#include "mail/encoded_word.h"

#include <stdint.h>
#include <string.h>

#include "core/util.h"
#include "mail/lex.h"

/* ---- charsets ---- */

enum charset { CS_UNKNOWN, CS_UTF8, CS_ASCII, CS_LATIN1, CS_CP1252 };

static enum charset charset_lookup(const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum charset cs;
	} names[] = {
		{ "utf-8", CS_UTF8 }, { "utf8", CS_UTF8 },
		{ "us-ascii", CS_ASCII }, { "ascii", CS_ASCII }, { "ansi_x3.4-1968", CS_ASCII },
		{ "iso-8859-1", CS_LATIN1 }, { "iso8859-1", CS_LATIN1 }, { "iso_8859-1", CS_LATIN1 },
		{ "latin1", CS_LATIN1 }, { "l1", CS_LATIN1 }, { "cp819", CS_LATIN1 },
		{ "windows-1252", CS_CP1252 }, { "cp1252", CS_CP1252 },
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (mail_eq_nocase(s, n, names[i].name))
			return names[i].cs;
	return CS_UNKNOWN;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * surrogates or code points past U+10FFFF), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Windows-1252 0x80-0x9f; the five holes map to the C1 code points. */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

static void convert(enum charset cs, const char *in, size_t n, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;

	for (size_t i = 0; i < n;) {
		size_t len;
		switch (cs) {
		case CS_UTF8:
			len = utf8_seq(s + i, n - i);
			if (len == 0) {
				put_utf8(out, 0xfffd);
				i++;
			} else {
				buf_append(out, s + i, len);
				i += len;
			}
			break;
		case CS_ASCII:
			put_utf8(out, s[i] < 0x80 ? s[i] : 0xfffd);
			i++;
			break;
		case CS_CP1252:
			put_utf8(out, s[i] >= 0x80 && s[i] < 0xa0 ? cp1252_c1[s[i] - 0x80] : s[i]);
			i++;
			break;
		default:
			put_utf8(out, s[i]);
			i++;
			break;
		}
	}
}

bool mail_charset_to_utf8(const char *charset, size_t charset_len, const char *in, size_t n,
                          struct buf *out)
{
	enum charset cs = charset_lookup(charset, charset_len);

	if (cs == CS_UNKNOWN)
		return false;
	convert(cs, in, n, out);
	return true;
}

/* ---- RFC 2047 ---- */

struct eword {
	const char *charset;
	size_t charset_len;     /* RFC 2231 5: "*lang" left out */
	char enc;               /* 'Q' or 'B' */
	const char *text;
	size_t text_len;
	const char *end;        /* after "?=" */
};

/* encoded-word = "=?" charset "?" encoding "?" encoded-text "?=" */
static bool eword_parse(const char *p, struct eword *w)
{
	const char *q = p + 2, *star;

	if (p[0] != '=' || p[1] != '?')
		return false;
	w->charset = q;
	while (*q != '\0' && *q != '?' && (unsigned char)*q > 0x20 && q - w->charset < 64)
		q++;
	if (*q != '?' || q == w->charset)
		return false;
	w->charset_len = (size_t)(q - w->charset);
	star = memchr(w->charset, '*', w->charset_len);
	if (star != NULL)
		w->charset_len = (size_t)(star - w->charset);
	w->enc = mail_upper(q[1]);
	if ((w->enc != 'Q' && w->enc != 'B') || q[2] != '?')
		return false;
	w->text = q += 3;
	while (*q != '\0' && *q != '?' && (unsigned char)*q > 0x20)
		q++;
	if (q[0] != '?' || q[1] != '=')
		return false;
	w->text_len = (size_t)(q - w->text);
	w->end = q + 2;
	return true;
}

static void eword_decode(const struct eword *w, struct buf *out)
{
	const char *s = w->text;
	size_t n = w->text_len;

	if (w->enc == 'B') {
		uint32_t acc = 0;
		unsigned int bits = 0;
		for (size_t i = 0; i < n; i++) {
			int v = mail_base64_value((unsigned char)s[i]);
			if (v < 0)
				continue;       /* '=' padding, or junk */
			acc = (acc << 6 | (uint32_t)v) & 0xffffff;
			bits += 6;
			if (bits >= 8) {
				char c = (char)(acc >> (bits - 8));
				bits -= 8;
				buf_append(out, &c, 1);
			}
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char c = s[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < n && (hi = mail_hex_value(s[i + 1])) >= 0 &&
		           (lo = mail_hex_value(s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		buf_append(out, &c, 1);
	}
}

size_t mail_encoded_words_decode(const char *raw, char *out, size_t outlen)
{
	struct buf res, pend;
	struct eword w, cur = { 0 };
	bool pending = false;
	const char *p = raw;
	size_t n;

	buf_init(&res);
	buf_init(&pend);
	while (*p != '\0') {
		if (eword_parse(p, &w) && charset_lookup(w.charset, w.charset_len) != CS_UNKNOWN) {
			const char *q = w.end;
			struct eword next;
			/* adjacent words of one charset are converted together: a
			 * character may be split between them */
			if (pending && charset_lookup(cur.charset, cur.charset_len) !=
			               charset_lookup(w.charset, w.charset_len)) {
				convert(charset_lookup(cur.charset, cur.charset_len), pend.data,
				        pend.len, &res);
				buf_reset(&pend);
			}
			eword_decode(&w, &pend);
			cur = w;
			pending = true;
			/* RFC 2047 6.2: white space between encoded-words goes */
			while (mail_is_wsp(*q) || *q == '\r' || *q == '\n')
				q++;
			if (eword_parse(q, &next) &&
			    charset_lookup(next.charset, next.charset_len) != CS_UNKNOWN) {
				p = q;
				continue;
			}
			p = w.end;
		}
		if (pending) {
			convert(charset_lookup(cur.charset, cur.charset_len), pend.data, pend.len,
			        &res);
			buf_reset(&pend);
			pending = false;
			continue;
		}
		if (*p != '\r' && *p != '\n')
			buf_append(&res, p, 1);
		p++;
	}
	if (pending)
		convert(charset_lookup(cur.charset, cur.charset_len), pend.data, pend.len, &res);
	n = res.len;
	if (outlen == 0) {
		n = 0;
	} else {
		if (n > outlen - 1) {
			n = outlen - 1;
			/* cut before a UTF-8 lead octet, not inside a character */
			while (n > 0 && ((unsigned char)res.data[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(out, res.data, n);
		out[n] = '\0';
	}
	buf_free(&res);
	buf_free(&pend);
	return n;
}
