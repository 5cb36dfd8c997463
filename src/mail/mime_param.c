/* MIME field values: Content-Type and Content-Disposition with their
 * parameters (RFC 2045 5.1, RFC 2183, RFC 2231), Content-Language (RFC
 * 3282) and Content-Transfer-Encoding (RFC 2045 6.1). Tolerant: what does
 * not parse is dropped, never an error. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "mail/encoded_word.h"
#include "mail/mime_int.h"

/* RFC 6838 4.2: type and subtype names are at most 127 characters */
#define TYPE_NAME_MAX 127
#define LANG_MAX 32
#define PARAM_NAME_MAX 128

/* RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or
 * tspecials>; 8-bit octets are let in, as senders put them there. */
static bool is_token_char(char c)
{
	unsigned char u = (unsigned char)c;
	return u > 0x20 && u != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static size_t token_end(const char *v, size_t n, size_t i)
{
	while (i < n && is_token_char(v[i]))
		i++;
	return i;
}

static char *dup_case(struct mime_store *st, const char *s, size_t n, bool upper)
{
	char *d = mime_store_dup(st, s, n);
	for (char *q = d; *q != '\0'; q++)
		*q = upper ? mail_upper(*q) : mail_lower(*q);
	return d;
}

/* ---- parameters ---- */

/* One "attribute=value" as written, before RFC 2231 assembly. */
struct raw_param {
	const char *name;       /* base name: before the first '*' */
	size_t name_len;
	int section;            /* RFC 2231 "*N", -1 without */
	bool ext;               /* RFC 2231 trailing '*': charset'lang'%XX */
	bool rfc2231;           /* has a '*' suffix at all */
	struct buf value;  /* unquoted */
};

static void split_name(struct raw_param *r, const char *s, size_t n)
{
	const char *star = memchr(s, '*', n);
	size_t i;
	int section = 0;

	r->name = s;
	r->name_len = n;
	r->section = -1;
	if (star == NULL || star == s)
		return;
	i = (size_t)(star - s) + 1;
	if (i == n) {
		r->ext = r->rfc2231 = true;
		r->name_len = i - 1;
		return;
	}
	/* "*N" or "*N*", N of at most 3 digits; anything else is a plain name */
	size_t d = i;
	while (d < n && d - i < 3 && s[d] >= '0' && s[d] <= '9')
		section = section * 10 + (s[d++] - '0');
	if (d == i || (d < n && !(d + 1 == n && s[d] == '*')))
		return;
	r->name_len = (size_t)(star - s);
	r->section = section;
	r->ext = d < n;
	r->rfc2231 = true;
}

/* The value after '=': a quoted-string (unterminated: to the end) or, being
 * lenient with unquoted boundaries like "----=_Part", a run up to ';',
 * white space, '(' or '"'. Returns the index after it. */
static size_t read_value(const char *v, size_t n, size_t i, struct buf *out)
{
	if (i < n && v[i] == '"') {
		for (i++; i < n && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < n)
				i++;
			if (v[i] != '\r' && v[i] != '\n')
				buf_append(out, &v[i], 1);
		}
		return i < n ? i + 1 : n;
	}
	size_t start = i;
	while (i < n && v[i] != ';' && v[i] != '(' && v[i] != '"' && !mail_is_wsp(v[i]) &&
	       v[i] != '\r' && v[i] != '\n')
		i++;
	buf_append(out, v + start, i - start);
	return i;
}

/* Reads the "; attribute=value" list from v[i]. */
static unsigned int read_params(const char *v, size_t n, size_t i, struct raw_param *raw)
{
	unsigned int count = 0;

	while (count < MIME_MAX_PARAMS) {
		size_t a, b;
		i = mail_skip_cfws(v, n, i);
		if (i >= n)
			break;
		if (v[i] != ';') {
			/* junk: resume after the next ';' outside quotes */
			bool quoted = false;
			for (; i < n && (quoted || v[i] != ';'); i++) {
				if (v[i] == '\\' && quoted)
					i++;
				else if (v[i] == '"')
					quoted = !quoted;
			}
			if (i >= n)
				break;
		}
		i = mail_skip_cfws(v, n, i + 1);
		a = i;
		b = i = token_end(v, n, i);
		i = mail_skip_cfws(v, n, i);
		/* a name past PARAM_NAME_MAX is junk: skipping it also keeps
		 * the RFC 2231 name matching below cheap */
		if (a == b || b - a > PARAM_NAME_MAX || i >= n || v[i] != '=')
			continue;
		i = mail_skip_cfws(v, n, i + 1);
		memset(&raw[count], 0, sizeof raw[count]);
		split_name(&raw[count], v + a, b - a);
		buf_init(&raw[count].value);
		i = read_value(v, n, i, &raw[count].value);
		count++;
	}
	return count;
}

static void percent_decode(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = mail_hex_value(s[i + 1])) >= 0 &&
		    (lo = mail_hex_value(s[i + 2])) >= 0) {
			char c = (char)(hi << 4 | lo);
			buf_append(out, &c, 1);
			i += 2;
		} else {
			buf_append(out, &s[i], 1);
		}
	}
}

static bool same_name(const struct raw_param *a, const struct raw_param *b)
{
	if (a->name_len != b->name_len)
		return false;
	for (size_t i = 0; i < a->name_len; i++)
		if (mail_lower(a->name[i]) != mail_lower(b->name[i]))
			return false;
	return true;
}

static const struct raw_param *find_section(const struct raw_param *raw, unsigned int n,
                                            const struct raw_param *like, int section)
{
	for (unsigned int i = 0; i < n; i++)
		if (raw[i].rfc2231 && raw[i].section == section && same_name(&raw[i], like))
			return &raw[i];
	return NULL;
}

/* RFC 2231 3-4: joins name*0, name*1... (or takes name*), decodes the
 * extended pieces and converts to UTF-8 where the charset is known. */
static void assemble_2231(struct mime_store *st, const struct raw_param *raw, unsigned int n,
                          const struct raw_param *first, struct mime_param *out)
{
	struct buf bytes, utf8;
	const char *charset = NULL, *lang = NULL;
	size_t charset_len = 0, lang_len = 0;
	const struct raw_param *piece = find_section(raw, n, first, 0);
	bool sections = piece != NULL, any_ext = false;

	if (!sections)
		piece = find_section(raw, n, first, -1);
	buf_init(&bytes);
	for (int s = 0; piece != NULL && s < MIME_MAX_PARAMS;) {
		const char *v = piece->value.data;
		size_t vn = piece->value.len;
		if (piece->ext) {
			if (!any_ext) {
				/* the first extended piece starts with charset'lang' */
				const char *q1 = memchr(v, '\'', vn);
				const char *q2 = q1 ? memchr(q1 + 1, '\'', vn - (size_t)(q1 + 1 - v)) : NULL;
				if (q2 != NULL) {
					charset = v;
					charset_len = (size_t)(q1 - v);
					lang = q1 + 1;
					lang_len = (size_t)(q2 - lang);
					vn -= (size_t)(q2 + 1 - v);
					v = q2 + 1;
				}
			}
			any_ext = true;
			percent_decode(v, vn, &bytes);
		} else {
			buf_append(&bytes, v, vn);
		}
		if (!sections)
			break;
		piece = find_section(raw, n, first, ++s);
	}
	out->name = dup_case(st, first->name, first->name_len, false);
	if (!any_ext) {
		out->value = mime_store_dup(st, bytes.data, bytes.len);
	} else {
		buf_init(&utf8);
		if (charset == NULL) {
			charset = "";
			lang = "";
		}
		if (mail_charset_to_utf8(charset, charset_len, bytes.data, bytes.len, &utf8)) {
			out->value = mime_store_dup(st, utf8.data, utf8.len);
			out->charset = mime_store_dup(st, "utf-8", 5);
		} else {
			out->value = mime_store_dup(st, bytes.data, bytes.len);
			out->charset = mime_store_dup(st, charset, charset_len);
		}
		out->lang = mime_store_dup(st, lang, lang_len);
		buf_free(&utf8);
	}
	buf_free(&bytes);
}

/* Parses the parameter list at v[i] into *params (RFC 2231 assembled; a
 * plain parameter is dropped when an RFC 2231 one has its name). */
static void parse_params(struct mime_store *st, const char *v, size_t n, size_t i,
                         struct mime_param **params, unsigned int *nparams)
{
	struct raw_param raw[MIME_MAX_PARAMS];
	unsigned int nraw = read_params(v, n, i, raw), count = 0;
	struct mime_param *out;

	if (nraw == 0)
		return;
	out = xcalloc(nraw, sizeof *out);
	for (unsigned int r = 0; r < nraw; r++) {
		bool dup = false;
		if (st->used + sizeof *out > MIME_STORE_MAX)
			break;
		for (unsigned int q = 0; q < nraw && !dup; q++) {
			if (q == r || !same_name(&raw[q], &raw[r]))
				continue;
			/* 2231 beats plain; among 2231 pieces, the first one speaks */
			if (raw[q].rfc2231 && (!raw[r].rfc2231 || q < r))
				dup = true;
		}
		if (dup)
			continue;
		st->used += sizeof *out;
		if (raw[r].rfc2231) {
			assemble_2231(st, raw, nraw, &raw[r], &out[count]);
			count++;
		} else {
			out[count].name = dup_case(st, raw[r].name, raw[r].name_len, false);
			out[count].value = mime_store_dup(st, raw[r].value.data, raw[r].value.len);
			count++;
		}
	}
	for (unsigned int r = 0; r < nraw; r++)
		buf_free(&raw[r].value);
	if (count == 0) {
		free(out);
		return;
	}
	*params = out;
	*nparams = count;
}

void mime_params_free(struct mime_param *params, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
		free(params[i].charset);
		free(params[i].lang);
	}
	free(params);
}

/* ---- the fields ---- */

void mime_parse_content_type(struct mime_store *st, struct mime_part *p, const char *v, size_t n)
{
	size_t a, b, c, d, i;

	a = mail_skip_cfws(v, n, 0);
	b = token_end(v, n, a);
	i = mail_skip_cfws(v, n, b);
	if (a == b || b - a > TYPE_NAME_MAX || i >= n || v[i] != '/')
		return;     /* RFC 2045 5.2: invalid means the default */
	c = mail_skip_cfws(v, n, i + 1);
	d = token_end(v, n, c);
	if (c == d || d - c > TYPE_NAME_MAX)
		return;
	/* outside the budget: at most 2 x 128 octets a part, and never cut */
	p->type = xmalloc(b - a + 1);
	p->subtype = xmalloc(d - c + 1);
	for (i = 0; i < b - a; i++)
		p->type[i] = mail_lower(v[a + i]);
	p->type[b - a] = '\0';
	for (i = 0; i < d - c; i++)
		p->subtype[i] = mail_lower(v[c + i]);
	p->subtype[d - c] = '\0';
	parse_params(st, v, n, d, &p->params, &p->nparams);
}

void mime_parse_disposition(struct mime_store *st, struct mime_part *p, const char *v, size_t n)
{
	size_t a = mail_skip_cfws(v, n, 0), b = token_end(v, n, a);

	if (a == b || b - a > TYPE_NAME_MAX)
		return;
	p->disposition = dup_case(st, v + a, b - a, false);
	parse_params(st, v, n, b, &p->disp_params, &p->ndisp_params);
}

/* RFC 3282: Content-Language: 1#Language-tag, comments allowed. */
void mime_parse_language(struct mime_store *st, struct mime_part *p, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n && p->nlanguages < LANG_MAX) {
		size_t a, b;
		i = mail_skip_cfws(v, n, i);
		while (i < n && v[i] == ',')
			i = mail_skip_cfws(v, n, i + 1);
		a = i;
		b = i = token_end(v, n, i);
		if (a == b) {
			if (i < n)
				i++;    /* a stray special */
			continue;
		}
		if (st->used + sizeof(char *) > MIME_STORE_MAX)
			break;
		st->used += sizeof(char *);
		p->languages = xrealloc(p->languages, (p->nlanguages + 1) * sizeof(char *));
		p->languages[p->nlanguages++] = mime_store_dup(st, v + a, b - a);
	}
}

char *mime_parse_encoding(struct mime_store *st, const char *v, size_t n)
{
	size_t a = mail_skip_cfws(v, n, 0), b = token_end(v, n, a);

	if (a == b || b - a > TYPE_NAME_MAX)
		return NULL;
	return dup_case(st, v + a, b - a, true);
}
