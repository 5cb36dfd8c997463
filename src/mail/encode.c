/* Content-Transfer-Encoding encoders: see encode.h. */
#include "mail/encode.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/header.h"
#include "mail/mime.h"

/* RFC 2045 6.8: encoded lines are no more than 76 characters */
#define BASE64_LINE 76

void mime_encode_base64(const char *in, size_t len, struct buf *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	size_t col = 0;
	buf_reserve(out, len / 3 * 4 + len / 57 * 2 + 8);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
		             (i + 2 < len ? p[i + 2] : 0);
		char q[4] = { alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
		              i + 1 < len ? alphabet[v >> 6 & 63] : '=', i + 2 < len ? alphabet[v & 63] : '=' };
		if (col == BASE64_LINE) {
			buf_append(out, "\r\n", 2);
			col = 0;
		}
		buf_append(out, q, 4);
		col += 4;
	}
}

/* The parts to encode, in the order they lie in the message. */
static void collect_binary(const struct mime_part *p, const struct mime_part **out, size_t *n)
{
	for (; p != NULL; p = p->next) {
		if (p->children != NULL)
			collect_binary(p->children, out, n);
		else if (p->encoding != NULL && strcasecmp(p->encoding, "BINARY") == 0 && *n < MIME_MAX_PARTS)
			out[(*n)++] = p;
	}
}

/* The part's header with its Content-Transfer-Encoding field(s) replaced. */
static void rewrite_header(const char *msg, const struct mime_part *p, struct buf *out)
{
	struct mail_header_iter it;
	struct mail_field f;
	const char *hdr = msg + p->hdr_offset, *pos = hdr;
	bool done = false;
	mail_header_iter_init(&it, hdr, (size_t)p->hdr_size, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		if (!mail_field_is(&f, "Content-Transfer-Encoding"))
			continue;
		buf_append(out, pos, (size_t)(f.raw - pos));
		if (!done)
			buf_puts(out, "Content-Transfer-Encoding: base64\r\n");
		done = true;
		pos = f.raw + f.raw_len;
	}
	buf_append(out, pos, (size_t)(hdr + p->hdr_size - pos));
}

bool mime_binary_parts_to_base64(const char *msg, size_t len, struct buf *out)
{
	struct mime_part *root = mime_parse(msg, len);
	const struct mime_part **parts = calloc(MIME_MAX_PARTS, sizeof(*parts));
	size_t n = 0, pos = 0;
	if (parts != NULL)
		collect_binary(root, parts, &n);
	for (size_t i = 0; i < n; i++) {
		const struct mime_part *p = parts[i];
		buf_append(out, msg + pos, (size_t)p->hdr_offset - pos);
		rewrite_header(msg, p, out);
		mime_encode_base64(msg + p->body_offset, (size_t)p->body_size, out);
		pos = (size_t)(p->body_offset + p->body_size);
		/* the line end before a boundary is the boundary's: a body that
		 * runs to the end of the message needs one of its own */
		if (pos == len)
			buf_append(out, "\r\n", 2);
	}
	if (n > 0)
		buf_append(out, msg + pos, len - pos);
	free(parts);
	mime_free(root);
	return n > 0;
}
