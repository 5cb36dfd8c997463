/* BODYSTRUCTURE and BODY (RFC 3501 7.4.2 and its formal syntax, section
 * 9: body, body-type-1part, body-type-mpart, body-type-msg,
 * body-type-text, body-ext-1part, body-ext-mpart) of a src/mail MIME tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/imap_render.h"
#include "mail/lex.h"
#include "mail/mime.h"

/* A multipart with no parts is not valid IMAP: Dovecot writes one empty
 * text/plain part in its place, and so do we. */
#define EMPTY_BODY "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0"

static void put(struct buf *out, const char *s)
{
	buf_puts(out, s);
}

static void put_u64(struct buf *out, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, " %llu", (unsigned long long)v);
	put(out, buf);
}

/* A string written upper case (types, parameter names, tokens). */
static void put_upper(struct buf *out, const char *s, const char *suffix)
{
	struct buf tmp;

	buf_init(&tmp);
	for (; *s != '\0'; s++) {
		char c = mail_upper(*s);
		buf_append(&tmp, &c, 1);
	}
	buf_puts(&tmp, suffix);
	imap_nstring_n(out, tmp.data, tmp.len);
	buf_free(&tmp);
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
static void put_param(struct buf *out, const struct mime_param *p)
{
	static const char hexd[] = "0123456789ABCDEF";
	struct buf v;

	if (p->charset == NULL || !has_8bit(p->value)) {
		put_upper(out, p->name, "");
		put(out, " ");
		imap_nstring(out, p->value);
		return;
	}
	put_upper(out, p->name, "*");
	put(out, " ");
	buf_init(&v);
	buf_puts(&v, p->charset);
	buf_append(&v, "'", 1);
	buf_puts(&v, p->lang != NULL ? p->lang : "");
	buf_append(&v, "'", 1);
	for (const unsigned char *s = (const unsigned char *)p->value; *s != '\0'; s++) {
		if (attribute_char(*s)) {
			buf_append(&v, s, 1);
		} else {
			char pct[3] = { '%', hexd[*s >> 4], hexd[*s & 15] };
			buf_append(&v, pct, 3);
		}
	}
	imap_nstring_n(out, v.data, v.len);
	buf_free(&v);
}

/* body-fld-param: "(" string SP string *(SP string SP string) ")" / nil */
static void put_params(struct buf *out, const struct mime_param *params, unsigned int n,
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
static void put_ext_common(struct buf *out, const struct mime_part *p)
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
		imap_nstring(out, p->languages[0]);
	} else {
		put(out, "(");
		for (unsigned int i = 0; i < p->nlanguages; i++) {
			if (i > 0)
				put(out, " ");
			imap_nstring(out, p->languages[i]);
		}
		put(out, ")");
	}
	put(out, " ");
	imap_nstring(out, p->location);
}

/* Recursion is bounded by the tree depth (MIME_MAX_DEPTH + 1). */
static void write_part(const struct mime_part *p, bool ext, struct buf *out)
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
	imap_nstring(out, p->id);
	put(out, " ");
	imap_nstring(out, p->description);
	put(out, " ");
	if (p->encoding != NULL)
		imap_nstring(out, p->encoding);
	else
		put(out, "\"7BIT\"");
	put_u64(out, p->body_crlf_size);
	if ((p->flags & MIME_PART_MESSAGE) && p->children != NULL) {
		/* body-type-msg: envelope SP body SP body-fld-lines */
		put(out, " ");
		imap_write_envelope(p->children, out);
		put(out, " ");
		write_part(p->children, ext, out);
		put_u64(out, p->body_lines);
	} else if (p->flags & MIME_PART_TEXT) {
		put_u64(out, p->body_lines);
	}
	if (ext) {
		put(out, " ");
		imap_nstring(out, p->md5);
		put_ext_common(out, p);
	}
	put(out, ")");
}

void imap_write_bodystructure(const struct mime_part *part, bool extended,
                              struct buf *out)
{
	write_part(part, extended, out);
}
