/* The header reader (see header.h): field iteration in strict and lenient
 * mode, the end of the header block, and unfolding. */
#include "mail/header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "mail/lex.h"

/* RFC 5322 2.2: ftext is printable US-ASCII but the colon. */
static bool is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* End of the line at p (after its LF, or end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl != NULL ? nl + 1 : end;
}

/* The line [ls, le) without its line end. Strict mode takes a CR as part
 * of the line end only before an LF (a last line "x\r" keeps it, to be
 * refused as a bare CR). */
static const char *content_end(const char *ls, const char *le, enum mail_header_mode mode)
{
	bool lf = le > ls && le[-1] == '\n';

	if (lf)
		le--;
	if (le > ls && le[-1] == '\r' && (lf || mode == MAIL_HEADER_LENIENT))
		le--;
	return le;
}

bool mail_header_line_split(const char *line, size_t n, enum mail_header_mode mode,
                            size_t *name_len, size_t *colon)
{
	size_t j = 0, len;

	if (mode == MAIL_HEADER_STRICT) {
		while (j < n && is_ftext((unsigned char)line[j]))
			j++;
		len = j;
		while (j < n && mail_is_wsp(line[j]))
			j++;
		if (len == 0 || j == n || line[j] != ':')
			return false;
	} else {
		const char *c = memchr(line, ':', n);
		if (c == NULL)
			return false;
		j = (size_t)(c - line);
		len = j;
		while (len > 0 && mail_is_wsp(line[len - 1]))
			len--;
	}
	*name_len = len;
	*colon = j;
	return true;
}

void mail_header_iter_init(struct mail_header_iter *it, const char *hdr, size_t len,
                           enum mail_header_mode mode)
{
	it->p = hdr;
	it->end = hdr + len;
	it->mode = mode;
	it->nfields = 0;
	it->error = MAIL_HEADER_OK;
}

/* Strict: octets RFC 5322 never allows in a header, anywhere in the field. */
static enum mail_header_error field_octets(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			return MAIL_HEADER_NUL;
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			return MAIL_HEADER_BARE_CR;
	}
	return MAIL_HEADER_OK;
}

/* Stops a strict iteration with an error. */
static bool fail(struct mail_header_iter *it, enum mail_header_error e)
{
	it->error = e;
	it->p = it->end;
	return false;
}

bool mail_header_next(struct mail_header_iter *it, struct mail_field *f)
{
	bool strict = it->mode == MAIL_HEADER_STRICT;

	while (it->p < it->end) {
		const char *ls = it->p, *le = line_end(ls, it->end);
		const char *ce = content_end(ls, le, it->mode), *q, *ve;
		size_t n = (size_t)(ce - ls), name_len, colon;

		if (n == 0) {
			it->p = it->end;        /* the empty line: end of the header */
			return false;
		}
		it->p = le;
		if (mail_is_wsp(ls[0])) {
			/* a fold with no field before it */
			if (strict)
				return fail(it, MAIL_HEADER_CONTINUATION_FIRST);
			continue;
		}
		if (!mail_header_line_split(ls, n, it->mode, &name_len, &colon)) {
			if (strict)
				return fail(it, MAIL_HEADER_BAD_NAME);
			continue;               /* not a field (Dovecot keeps it as junk too) */
		}
		/* RFC 5322 2.2.3: the folded lines that follow belong to the field */
		q = le;
		ve = ce;
		while (q < it->end && mail_is_wsp(*q)) {
			const char *next = line_end(q, it->end);
			ve = content_end(q, next, it->mode);
			q = next;
		}
		if (strict) {
			enum mail_header_error e = field_octets(ls, (size_t)(q - ls));
			if (e != MAIL_HEADER_OK)
				return fail(it, e);
		}
		f->name = ls;
		f->name_len = name_len;
		f->value = ls + colon + 1;
		f->value_len = (size_t)(ve - f->value);
		f->raw = ls;
		f->raw_len = (size_t)(q - ls);
		it->p = q;
		it->nfields++;
		return true;
	}
	return false;
}

void mail_header_error_text(const struct mail_header_iter *it, char *out, size_t outlen)
{
	switch (it->error) {
	case MAIL_HEADER_CONTINUATION_FIRST:
		snprintf(out, outlen, "malformed header: starts with a continuation line");
		break;
	case MAIL_HEADER_BAD_NAME:
		snprintf(out, outlen, "malformed header: a line after field %zu is not "
		         "\"name: value\"", it->nfields);
		break;
	case MAIL_HEADER_NUL:
		snprintf(out, outlen, "malformed header: NUL in field %zu", it->nfields + 1);
		break;
	case MAIL_HEADER_BARE_CR:
		snprintf(out, outlen, "malformed header: CR without LF in field %zu",
		         it->nfields + 1);
		break;
	default:
		snprintf(out, outlen, "header ok");
		break;
	}
}

bool mail_field_is(const struct mail_field *f, const char *name)
{
	return mail_eq_nocase(f->name, f->name_len, name);
}

bool mail_header_find(const char *hdr, size_t len, const char *name, struct mail_field *f)
{
	struct mail_header_iter it;

	mail_header_iter_init(&it, hdr, len, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, f))
		if (mail_field_is(f, name))
			return true;
	return false;
}

/* ---- the whole header ---- */

int mail_header_parse(struct mail_header *h, const char *hdr, size_t len,
                      enum mail_header_mode mode, size_t max_fields, char *err, size_t errlen)
{
	struct mail_header_iter it;
	struct mail_field f;
	size_t cap = 0;

	h->fields = NULL;
	h->nfields = 0;
	mail_header_iter_init(&it, hdr, len, mode);
	while (mail_header_next(&it, &f)) {
		if (max_fields > 0 && h->nfields == max_fields) {
			snprintf(err, errlen, "more than %zu header fields", max_fields);
			return -1;
		}
		if (h->nfields == cap) {
			cap = cap ? 2 * cap : 32;
			h->fields = xrealloc(h->fields, cap * sizeof(*h->fields));
		}
		h->fields[h->nfields++] = f;
	}
	if (it.error != MAIL_HEADER_OK) {
		mail_header_error_text(&it, err, errlen);
		return -1;
	}
	return 0;
}

void mail_header_free(struct mail_header *h)
{
	free(h->fields);
	h->fields = NULL;
	h->nfields = 0;
}

size_t mail_header_count(const struct mail_header *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nfields; i++)
		n += mail_field_is(&h->fields[i], name);
	return n;
}

bool mail_header_block_end(const char *buf, size_t len, size_t *scan, size_t *hdr_len,
                           size_t *body)
{
	const char *nl;

	while (*scan < len && (nl = memchr(buf + *scan, '\n', len - *scan)) != NULL) {
		size_t linelen = (size_t)(nl - (buf + *scan)) + 1;
		if (linelen == 1 || (linelen == 2 && buf[*scan] == '\r')) {
			*hdr_len = *scan;
			*body = *scan + linelen;
			return true;
		}
		*scan += linelen;
	}
	return false;
}

/* ---- values ---- */

size_t mail_unfold(const char *value, size_t len, char *out, size_t outlen)
{
	size_t a = 0, b = len, total = 0;

	while (a < b && (mail_is_wsp(value[a]) || value[a] == '\r' || value[a] == '\n'))
		a++;
	while (b > a && (mail_is_wsp(value[b - 1]) || value[b - 1] == '\r' || value[b - 1] == '\n'))
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

char *mail_unfold_dup(const char *value, size_t len)
{
	char *out = xmalloc(len + 1);

	mail_unfold(value, len, out, len + 1);
	return out;
}
