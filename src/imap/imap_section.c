/* BODY[section] resolution (RFC 3501 6.4.5) over a src/mail MIME tree, and
 * BODY[HEADER.FIELDS (...)] filtering. */
#include <string.h>

#include "imap/imap_render.h"
#include "mail/header.h"
#include "mail/lex.h"
#include "mail/mime.h"

static bool keyword(const char **s, const char *kw)
{
	size_t n = strlen(kw);

	for (size_t i = 0; i < n; i++)
		if ((*s)[i] == '\0' || mail_lower((*s)[i]) != mail_lower(kw[i]))
			return false;
	*s += n;
	return true;
}

/* section-msgtext / "MIME" after the part numbers; -1 if it is none. */
static int parse_text(const char *s, bool numeric)
{
	if (*s == '\0')
		return numeric ? IMAP_SPAN_BODY : IMAP_SPAN_ALL;
	if (keyword(&s, "HEADER.FIELDS.NOT"))
		return (*s == '\0' || *s == ' ') ? IMAP_SPAN_HEADER_FIELDS_NOT : -1;
	if (keyword(&s, "HEADER.FIELDS"))
		return (*s == '\0' || *s == ' ') ? IMAP_SPAN_HEADER_FIELDS : -1;
	if (keyword(&s, "HEADER"))
		return *s == '\0' ? IMAP_SPAN_HEADER : -1;
	if (keyword(&s, "TEXT"))
		return *s == '\0' ? IMAP_SPAN_TEXT : -1;
	if (numeric && keyword(&s, "MIME"))
		return *s == '\0' ? IMAP_SPAN_MIME : -1;
	return -1;
}

static void span_header(struct imap_span *out, const struct mime_part *p)
{
	out->part = p;
	out->offset = p->hdr_offset;
	out->size = p->hdr_size;
	out->crlf_size = p->hdr_crlf_size;
}

static void span_body(struct imap_span *out, const struct mime_part *p)
{
	out->part = p;
	out->offset = p->body_offset;
	out->size = p->body_size;
	out->crlf_size = p->body_crlf_size;
}

int imap_section_span(const struct mime_part *root, const char *section, struct imap_span *out)
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
			return IMAP_SPAN_BAD;
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
			return IMAP_SPAN_BAD;    /* "1." */
		}
	}
	what = parse_text(s, numeric);
	if (what < 0)
		return IMAP_SPAN_BAD;
	if (missing)
		return IMAP_SPAN_NONE;
	out->what = (enum imap_span_what)what;
	switch (out->what) {
	case IMAP_SPAN_ALL:
		out->part = root;
		out->offset = 0;
		out->size = root->body_offset + root->body_size;
		out->crlf_size = root->hdr_crlf_size + root->body_crlf_size;
		return IMAP_SPAN_OK;
	case IMAP_SPAN_BODY:
		span_body(out, p);
		return IMAP_SPAN_OK;
	case IMAP_SPAN_MIME:
		span_header(out, p);
		return IMAP_SPAN_OK;
	default:
		break;
	}
	/* HEADER, HEADER.FIELDS[.NOT], TEXT: of the message, or of the one in
	 * a message/rfc822 part (RFC 3501 6.4.5) */
	if (numeric) {
		if (!(p->flags & MIME_PART_MESSAGE) || p->children == NULL)
			return IMAP_SPAN_NONE;
		p = p->children;
	}
	if (out->what == IMAP_SPAN_TEXT)
		span_body(out, p);
	else
		span_header(out, p);
	return IMAP_SPAN_OK;
}

/* ---- HEADER.FIELDS ---- */

void imap_filter_headers(const char *hdr, size_t len, const char *const *names, size_t n,
                         bool not_, struct buf *out)
{
	struct mail_header_iter it;
	struct mail_field f;

	mail_header_iter_init(&it, hdr, len, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		bool match = false;
		for (size_t i = 0; i < n && !match; i++)
			match = mail_eq_nocase(f.name, f.name_len, names[i]);
		if (match == not_)
			continue;
		for (size_t i = 0; i < f.raw_len; i++) {
			if (f.raw[i] == '\n' && (i == 0 || f.raw[i - 1] != '\r'))
				buf_append(out, "\r", 1);
			buf_append(out, &f.raw[i], 1);
		}
		/* the last line of the input may have no line end */
		if (f.raw[f.raw_len - 1] == '\r')
			buf_append(out, "\n", 1);
		else if (f.raw[f.raw_len - 1] != '\n')
			buf_append(out, "\r\n", 2);
	}
	buf_append(out, "\r\n", 2);
}
