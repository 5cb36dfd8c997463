/* BODYSTRUCTURE and BODY (RFC 3501 7.4.2 and its formal syntax, section
 * 9: body, body-type-1part, body-type-mpart, body-type-msg,
 * body-type-text, body-ext-1part, body-ext-mpart) and BODY[section]
 * resolution (RFC 3501 6.4.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/mime_int.h"

/* A multipart with no parts is not valid IMAP: Dovecot writes one empty
 * text/plain part in its place, and so do we. */
#define EMPTY_BODY "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"

static void put(struct mime_out *out, const char *s)
{
	mime_out_puts(out, s);
}

static void put_u64(struct mime_out *out, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, " %llu", (unsigned long long)v);
	put(out, buf);
}

/* A string written upper case (types, parameter names, tokens). */
static void put_upper(struct mime_out *out, const char *s, const char *suffix)
{
	struct mime_out tmp;

	mime_out_init(&tmp);
	for (; *s != '\0'; s++) {
		char c = mime_upper(*s);
		mime_out_append(&tmp, &c, 1);
	}
	mime_out_puts(&tmp, suffix);
	mime_out_nstring_n(out, tmp.data, tmp.len);
	mime_out_free(&tmp);
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* RFC 2231 7: attribute-char, what an extended value may hold as is */
static bool attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* An RFC 2231 parameter whose value is not ASCII goes out in its
 * extended form, NAME*=charset'lang'%XX..., so that the response stays
 * 7-bit and a client decodes it as it would in the header. */
static void put_param(struct mime_out *out, const struct mime_param *p)
{
	static const char hexd[] = "0123456789ABCDEF";
	struct mime_out v;

	if (p->charset == NULL || !has_8bit(p->value)) {
		put_upper(out, p->name, "");
		put(out, " ");
		mime_out_nstring(out, p->value);
		return;
	}
	put_upper(out, p->name, "*");
	put(out, " ");
	mime_out_init(&v);
	mime_out_puts(&v, p->charset);
	mime_out_append(&v, "'", 1);
	mime_out_puts(&v, p->lang != NULL ? p->lang : "");
	mime_out_append(&v, "'", 1);
	for (const unsigned char *s = (const unsigned char *)p->value; *s != '\0'; s++) {
		if (attribute_char(*s)) {
			mime_out_append(&v, s, 1);
		} else {
			char pct[3] = { '%', hexd[*s >> 4], hexd[*s & 15] };
			mime_out_append(&v, pct, 3);
		}
	}
	mime_out_nstring_n(out, v.data, v.len);
	mime_out_free(&v);
}

/* body-fld-param: "(" string SP string *(SP string SP string) ")" / nil */
static void put_params(struct mime_out *out, const struct mime_param *params, unsigned int n,
                       bool default_charset)
{
	if (n == 0 && !default_charset) {
		put(out, "NIL");
		return;
	}
	put(out, "(");
	for (unsigned int i = 0; i < n; i++) {
		if (i > 0)
			put(out, " ");
		put_param(out, &params[i]);
	}
	/* RFC 2045 5.2, RFC 2046 4.1.2: text without charset is US-ASCII */
	if (default_charset)
		put(out, n > 0 ? " \"CHARSET\" \"US-ASCII\"" : "\"CHARSET\" \"US-ASCII\"");
	put(out, ")");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void put_ext_common(struct mime_out *out, const struct mime_part *p)
{
	put(out, " ");
	if (p->disposition == NULL) {
		put(out, "NIL");
	} else {
		put(out, "(");
		put_upper(out, p->disposition, "");
		put(out, " ");
		put_params(out, p->disp_params, p->ndisp_params, false);
		put(out, ")");
	}
	put(out, " ");
	if (p->nlanguages == 0) {
		put(out, "NIL");
	} else if (p->nlanguages == 1) {
		mime_out_nstring(out, p->languages[0]);
	} else {
		put(out, "(");
		for (unsigned int i = 0; i < p->nlanguages; i++) {
			if (i > 0)
				put(out, " ");
			mime_out_nstring(out, p->languages[i]);
		}
		put(out, ")");
	}
	put(out, " ");
	mime_out_nstring(out, p->location);
}

/* Recursion is bounded by the tree depth (MIME_MAX_DEPTH + 1). */
static void write_part(const struct mime_part *p, bool ext, struct mime_out *out)
{
	put(out, "(");
	if (p->flags & MIME_PART_MULTIPART) {
		if (p->children == NULL)
			put(out, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
		for (const struct mime_part *c = p->children; c != NULL; c = c->next)
			write_part(c, ext, out);
		put(out, " ");
		put_upper(out, p->subtype, "");
		if (ext) {
			put(out, " ");
			put_params(out, p->params, p->nparams, false);
			put_ext_common(out, p);
		}
		put(out, ")");
		return;
	}
	put_upper(out, p->type, "");
	put(out, " ");
	put_upper(out, p->subtype, "");
	put(out, " ");
	put_params(out, p->params, p->nparams,
	           (p->flags & MIME_PART_TEXT) && mime_param_get(p->params, p->nparams,
	                                                         "charset") == NULL);
	put(out, " ");
	mime_out_nstring(out, p->id);
	put(out, " ");
	mime_out_nstring(out, p->description);
	put(out, " ");
	if (p->encoding != NULL)
		mime_out_nstring(out, p->encoding);
	else
		put(out, "\"7BIT\"");
	put_u64(out, p->body_crlf_size);
	if ((p->flags & MIME_PART_MESSAGE) && p->children != NULL) {
		/* body-type-msg: envelope SP body SP body-fld-lines */
		put(out, " ");
		mime_write_envelope(p->children, out);
		put(out, " ");
		write_part(p->children, ext, out);
		put_u64(out, p->body_lines);
	} else if (p->flags & MIME_PART_TEXT) {
		put_u64(out, p->body_lines);
	}
	if (ext) {
		put(out, " ");
		mime_out_nstring(out, p->md5);
		put_ext_common(out, p);
	}
	put(out, ")");
}

void mime_write_bodystructure(const struct mime_part *part, bool extended,
                              struct mime_out *out)
{
	write_part(part, extended, out);
}

/* ---- sections ---- */

static bool keyword(const char **s, const char *kw)
{
	size_t n = strlen(kw);

	for (size_t i = 0; i < n; i++)
		if ((*s)[i] == '\0' || mime_lower((*s)[i]) != mime_lower(kw[i]))
			return false;
	*s += n;
	return true;
}

/* section-msgtext / "MIME" after the part numbers; -1 if it is none. */
static int parse_text(const char *s, bool numeric)
{
	if (*s == '\0')
		return numeric ? MIME_SECTION_BODY : MIME_SECTION_ALL;
	if (keyword(&s, "HEADER.FIELDS.NOT"))
		return (*s == '\0' || *s == ' ') ? MIME_SECTION_HEADER_FIELDS_NOT : -1;
	if (keyword(&s, "HEADER.FIELDS"))
		return (*s == '\0' || *s == ' ') ? MIME_SECTION_HEADER_FIELDS : -1;
	if (keyword(&s, "HEADER"))
		return *s == '\0' ? MIME_SECTION_HEADER : -1;
	if (keyword(&s, "TEXT"))
		return *s == '\0' ? MIME_SECTION_TEXT : -1;
	if (numeric && keyword(&s, "MIME"))
		return *s == '\0' ? MIME_SECTION_MIME : -1;
	return -1;
}

static void span_header(struct mime_span *out, const struct mime_part *p)
{
	out->part = p;
	out->offset = p->hdr_offset;
	out->size = p->hdr_size;
	out->crlf_size = p->hdr_crlf_size;
}

static void span_body(struct mime_span *out, const struct mime_part *p)
{
	out->part = p;
	out->offset = p->body_offset;
	out->size = p->body_size;
	out->crlf_size = p->body_crlf_size;
}

int mime_section(const struct mime_part *root, const char *section, struct mime_span *out)
{
	const struct mime_part *p = root;
	const char *s = section;
	bool numeric = false, missing = false;
	int what;

	memset(out, 0, sizeof *out);
	/* section-part = nz-number *("." nz-number); resolved as Dovecot's
	 * imap-msgpart.c: a non-multipart part only has a part 1 (itself),
	 * and a further number goes into a message/rfc822 part's message */
	while (*s >= '0' && *s <= '9') {
		unsigned long num = 0;
		if (*s == '0')
			return MIME_SECTION_BAD;
		for (; *s >= '0' && *s <= '9'; s++)
			num = num < 100000000 ? num * 10 + (unsigned long)(*s - '0') : num;
		numeric = true;
		if (missing) {
			/* keep checking the syntax */
		} else if (p->flags & MIME_PART_MULTIPART) {
			p = p->children;
			for (; p != NULL && num > 1; num--)
				p = p->next;
			missing = p == NULL;
		} else if (num != 1) {
			missing = true;
		}
		if (*s != '.')
			break;
		s++;
		if (*s >= '0' && *s <= '9' && !missing) {
			if (p->flags & MIME_PART_MESSAGE)
				p = p->children;
			else if (!(p->flags & MIME_PART_MULTIPART))
				missing = true;
		} else if (*s == '\0') {
			return MIME_SECTION_BAD;    /* "1." */
		}
	}
	what = parse_text(s, numeric);
	if (what < 0)
		return MIME_SECTION_BAD;
	if (missing)
		return MIME_SECTION_NONE;
	out->what = (enum mime_section_what)what;
	switch (out->what) {
	case MIME_SECTION_ALL:
		out->part = root;
		out->offset = 0;
		out->size = root->body_offset + root->body_size;
		out->crlf_size = root->hdr_crlf_size + root->body_crlf_size;
		return MIME_SECTION_OK;
	case MIME_SECTION_BODY:
		span_body(out, p);
		return MIME_SECTION_OK;
	case MIME_SECTION_MIME:
		span_header(out, p);
		return MIME_SECTION_OK;
	default:
		break;
	}
	/* HEADER, HEADER.FIELDS[.NOT], TEXT: of the message, or of the one in
	 * a message/rfc822 part (RFC 3501 6.4.5) */
	if (numeric) {
		if (!(p->flags & MIME_PART_MESSAGE) || p->children == NULL)
			return MIME_SECTION_NONE;
		p = p->children;
	}
	if (out->what == MIME_SECTION_TEXT)
		span_body(out, p);
	else
		span_header(out, p);
	return MIME_SECTION_OK;
}
