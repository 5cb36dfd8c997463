/* Header access for SEARCH, FETCH BODY[HEADER.FIELDS] and the index: field
 * iteration, unfolding, filtering, RFC 2047 decoding and the few charsets
 * it knows; the output buffer with IMAP string quoting; LF -> CRLF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/mime_int.h"

/* RFC 3501 4.3 allows escaping '"' and '\' in a quoted string; past a few
 * of them a literal is shorter (Dovecot's imap-quote.c makes the same call) */
#define QUOTED_MAX_ESCAPES 4

/* ---- output buffer ---- */

void mime_out_init(struct mime_out *o)
{
	o->cap = 64;
	o->len = 0;
	o->data = xmalloc(o->cap);
	o->data[0] = '\0';
}

void mime_out_free(struct mime_out *o)
{
	free(o->data);
	o->data = NULL;
	o->len = o->cap = 0;
}

void mime_out_reset(struct mime_out *o)
{
	o->len = 0;
	if (o->data != NULL)
		o->data[0] = '\0';
}

void mime_out_append(struct mime_out *o, const void *p, size_t n)
{
	if (o->data == NULL)
		mime_out_init(o);
	if (n >= o->cap - o->len) {
		size_t cap = o->cap;
		while (n >= cap - o->len) {
			if (cap > SIZE_MAX / 2)
				abort();
			cap *= 2;
		}
		o->data = xrealloc(o->data, cap);
		o->cap = cap;
	}
	if (n > 0)
		memcpy(o->data + o->len, p, n);
	o->len += n;
	o->data[o->len] = '\0';
}

void mime_out_puts(struct mime_out *o, const char *s)
{
	mime_out_append(o, s, strlen(s));
}

void mime_out_nstring_n(struct mime_out *o, const char *s, size_t n)
{
	unsigned int escapes = 0;
	bool literal = false;

	if (s == NULL) {
		mime_out_puts(o, "NIL");
		return;
	}
	for (size_t i = 0; i < n && !literal; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			literal = ++escapes > QUOTED_MAX_ESCAPES;
		else if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
			literal = true;
	}
	if (literal) {
		char len[32];
		snprintf(len, sizeof len, "{%zu}\r\n", n);
		mime_out_puts(o, len);
		for (size_t i = 0; i < n; i++) {
			/* RFC 3501 literals are CHAR8: no NUL */
			char c = s[i] == '\0' ? (char)0x80 : s[i];
			mime_out_append(o, &c, 1);
		}
		return;
	}
	mime_out_append(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			mime_out_append(o, "\\", 1);
		mime_out_append(o, &s[i], 1);
	}
	mime_out_append(o, "\"", 1);
}

void mime_out_nstring(struct mime_out *o, const char *s)
{
	mime_out_nstring_n(o, s, s != NULL ? strlen(s) : 0);
}

/* ---- header fields ---- */

void mime_header_iter_init(struct mime_header_iter *it, const char *hdr, size_t len)
{
	it->p = hdr;
	it->end = hdr + len;
}

/* End of the line at p (after its LF, or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl != NULL ? nl + 1 : end;
}

bool mime_header_next(struct mime_header_iter *it, struct mime_field *f)
{
	while (it->p < it->end) {
		const char *ls = it->p, *le = line_end(ls, it->end), *colon, *q, *ve;
		size_t n = (size_t)(le - ls);

		if (n > 0 && ls[n - 1] == '\n')
			n--;
		if (n > 0 && ls[n - 1] == '\r')
			n--;
		if (n == 0) {
			it->p = it->end;        /* the empty line: end of the header */
			return false;
		}
		it->p = le;
		if (mime_is_wsp(ls[0]))
			continue;               /* a fold with no field before it */
		colon = memchr(ls, ':', n);
		if (colon == NULL)
			continue;
		f->name = ls;
		f->name_len = (size_t)(colon - ls);
		while (f->name_len > 0 && mime_is_wsp(ls[f->name_len - 1]))
			f->name_len--;
		/* the folded lines that follow belong to the field */
		q = le;
		ve = ls + n;
		while (q < it->end && mime_is_wsp(*q)) {
			const char *next = line_end(q, it->end);
			ve = next;
			if (ve > q && ve[-1] == '\n')
				ve--;
			if (ve > q && ve[-1] == '\r')
				ve--;
			q = next;
		}
		f->value = colon + 1;
		f->value_len = (size_t)(ve - f->value);
		f->raw = ls;
		f->raw_len = (size_t)(q - ls);
		it->p = q;
		return true;
	}
	return false;
}

bool mime_header_find(const char *hdr, size_t len, const char *name, struct mime_field *f)
{
	struct mime_header_iter it;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, f))
		if (mime_eq_nocase(f->name, f->name_len, name))
			return true;
	return false;
}

size_t mime_unfold(const char *value, size_t len, char *out, size_t outlen)
{
	size_t a = 0, b = len, total = 0;

	while (a < b && (mime_is_wsp(value[a]) || value[a] == '\r' || value[a] == '\n'))
		a++;
	while (b > a && (mime_is_wsp(value[b - 1]) || value[b - 1] == '\r' || value[b - 1] == '\n'))
		b--;
	for (size_t i = a; i < b; i++) {
		if (value[i] == '\n' || (value[i] == '\r' && i + 1 < b && value[i + 1] == '\n'))
			continue;
		if (total + 1 < outlen)
			out[total] = value[i];
		total++;
	}
	if (outlen > 0)
		out[total < outlen ? total : outlen - 1] = '\0';
	return total;
}

char *mime_unfold_dup(const char *value, size_t len)
{
	char *out = xmalloc(len + 1);

	mime_unfold(value, len, out, len + 1);
	return out;
}

void mime_filter_headers(const char *hdr, size_t len, const char *const *names, size_t n,
                         bool not_, struct mime_out *out)
{
	struct mime_header_iter it;
	struct mime_field f;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_next(&it, &f)) {
		bool match = false;
		for (size_t i = 0; i < n && !match; i++)
			match = mime_eq_nocase(f.name, f.name_len, names[i]);
		if (match == not_)
			continue;
		for (size_t i = 0; i < f.raw_len; i++) {
			if (f.raw[i] == '\n' && (i == 0 || f.raw[i - 1] != '\r'))
				mime_out_append(out, "\r", 1);
			mime_out_append(out, &f.raw[i], 1);
		}
		/* the last line of the input may have no line end */
		if (f.raw[f.raw_len - 1] == '\r')
			mime_out_append(out, "\n", 1);
		else if (f.raw[f.raw_len - 1] != '\n')
			mime_out_append(out, "\r\n", 2);
	}
	mime_out_append(out, "\r\n", 2);
}

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
		if (mime_eq_nocase(s, n, names[i].name))
			return names[i].cs;
	return CS_UNKNOWN;
}

static void put_utf8(struct mime_out *out, uint32_t cp)
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
	mime_out_append(out, b, n);
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

static void convert(enum charset cs, const char *in, size_t n, struct mime_out *out)
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
				mime_out_append(out, s + i, len);
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

bool mime_charset_to_utf8(const char *charset, size_t charset_len, const char *in, size_t n,
                          struct mime_out *out)
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
	w->enc = mime_upper(q[1]);
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

static void eword_decode(const struct eword *w, struct mime_out *out)
{
	const char *s = w->text;
	size_t n = w->text_len;

	if (w->enc == 'B') {
		uint32_t acc = 0;
		unsigned int bits = 0;
		for (size_t i = 0; i < n; i++) {
			int v = mime_base64_value((unsigned char)s[i]);
			if (v < 0)
				continue;       /* '=' padding, or junk */
			acc = (acc << 6 | (uint32_t)v) & 0xffffff;
			bits += 6;
			if (bits >= 8) {
				char c = (char)(acc >> (bits - 8));
				bits -= 8;
				mime_out_append(out, &c, 1);
			}
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char c = s[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < n && (hi = mime_hex_value(s[i + 1])) >= 0 &&
		           (lo = mime_hex_value(s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		mime_out_append(out, &c, 1);
	}
}

size_t mime_decode_header(const char *raw, char *out, size_t outlen)
{
	struct mime_out res, pend;
	struct eword w, cur = { 0 };
	bool pending = false;
	const char *p = raw;
	size_t n;

	mime_out_init(&res);
	mime_out_init(&pend);
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
				mime_out_reset(&pend);
			}
			eword_decode(&w, &pend);
			cur = w;
			pending = true;
			/* RFC 2047 6.2: white space between encoded-words goes */
			while (mime_is_wsp(*q) || *q == '\r' || *q == '\n')
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
			mime_out_reset(&pend);
			pending = false;
			continue;
		}
		if (*p != '\r' && *p != '\n')
			mime_out_append(&res, p, 1);
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
	mime_out_free(&res);
	mime_out_free(&pend);
	return n;
}

/* ---- LF -> CRLF ---- */

uint64_t mime_crlf_size(const char *buf, size_t len)
{
	uint64_t size = len;
	const char *p = buf, *end = buf + len, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == buf || nl[-1] != '\r')
			size++;
		p = nl + 1;
	}
	return size;
}

void mime_crlf_init(struct mime_crlf *c)
{
	c->last_cr = false;
}

size_t mime_crlf_convert(struct mime_crlf *c, const char *in, size_t inlen, size_t *consumed,
                         char *out, size_t outcap)
{
	size_t i = 0, o = 0;

	for (; i < inlen; i++) {
		if (in[i] == '\n' && !c->last_cr) {
			if (outcap - o < 2)
				break;
			out[o++] = '\r';
		} else if (o == outcap) {
			break;
		}
		out[o++] = in[i];
		c->last_cr = in[i] == '\r';
	}
	*consumed = i;
	return o;
}
