/* libFuzzer target for the MIME tree and header reader of src/mail and
 * IMAP's renderings of them (src/imap/imap_envelope.c, imap_bodystructure.c,
 * imap_section.c).
 *
 * The input is a message: it is parsed, and ENVELOPE, BODYSTRUCTURE and
 * BODY are rendered, sections resolved, headers filtered and decoded.
 * Beyond the sanitizers, it checks properties that must hold for any input
 * and abort()s when one does not: every part lies inside the input and
 * inside its parent, sizes and line counts agree with the octets they
 * cover, the limits hold, every rendering is well-formed IMAP (balanced
 * lists, valid quoted strings and literals), and the same message with
 * CRLF line ends gives exactly the same renderings and CRLF sizes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_render.h"
#include "mail/address.h"
#include "mail/crlf.h"
#include "mail/decode.h"
#include "mail/encode.h"
#include "mail/encoded_word.h"
#include "mail/header.h"
#include "mail/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Says which property failed, then aborts for libFuzzer to keep the input. */
#define check(ok)                                                                 \
	do {                                                                      \
		if (!(ok)) {                                                      \
			fprintf(stderr, "fuzz_mime: check failed at line %d: %s\n", \
			        __LINE__, #ok);                                   \
			abort();                                                  \
		}                                                                 \
	} while (0)

static uint64_t count_lf(const char *s, uint64_t n)
{
	uint64_t lf = 0;
	for (uint64_t i = 0; i < n; i++)
		lf += s[i] == '\n';
	return lf;
}

/* ---- IMAP syntax of the renderings ---- */

/* One value: "(" [value *(SP value)] ")", NIL, a number, a quoted string
 * or a literal. Returns the end, or NULL if malformed. */
static const char *imap_value(const char *p, const char *end, unsigned int depth)
{
	if (p >= end || depth > 4 * MIME_MAX_DEPTH + 16)
		return NULL;
	if (*p == '(') {
		p++;
		if (p < end && *p == ')')
			return p + 1;
		for (;;) {
			p = imap_value(p, end, depth + 1);
			if (p == NULL || p >= end)
				return NULL;
			if (*p == ')')
				return p + 1;
			/* RFC 3501 puts no space between the parts of a multipart */
			if (*p == ' ')
				p++;
			else if (*p != '(')
				return NULL;
		}
	}
	if (*p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				if (++p >= end || (*p != '"' && *p != '\\'))
					return NULL;
			} else if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) {
				return NULL;
			}
		}
		return p < end ? p + 1 : NULL;
	}
	if (*p == '{') {
		char *q;
		unsigned long long n = strtoull(p + 1, &q, 10);
		if (q == p + 1 || q + 3 > end || memcmp(q, "}\r\n", 3) != 0)
			return NULL;
		q += 3;
		if ((unsigned long long)(end - q) < n || memchr(q, '\0', n) != NULL)
			return NULL;
		return q + n;
	}
	if (end - p >= 3 && memcmp(p, "NIL", 3) == 0)
		return p + 3;
	if (*p >= '0' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		return p;
	}
	return NULL;
}

static void check_imap(const struct buf *o)
{
	check(imap_value(o->data, o->data + o->len, 0) == o->data + o->len);
}

/* ---- the tree ---- */

static void check_part(const struct mime_part *p, const char *buf, size_t len,
                       unsigned int *count)
{
	uint64_t body_end = p->body_offset + p->body_size;

	(*count)++;
	check(*count <= MIME_MAX_PARTS);
	check(p->depth <= MIME_MAX_DEPTH);
	check(p->type != NULL && p->subtype != NULL);
	check(p->hdr_offset + p->hdr_size == p->body_offset);
	check(body_end <= len);
	check(p->hdr_crlf_size == mail_crlf_size(buf + p->hdr_offset, p->hdr_size));
	check(p->body_crlf_size == mail_crlf_size(buf + p->body_offset, p->body_size));
	check(p->body_lines == count_lf(buf + p->body_offset, p->body_size));
	check(!(p->flags & MIME_PART_MESSAGE) || (p->nchildren == 1 && p->children->envelope));
	check((p->flags & (MIME_PART_MESSAGE | MIME_PART_MULTIPART)) || p->children == NULL);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		check(c->parent == p && c->depth == p->depth + 1);
		check(c->hdr_offset >= p->body_offset);
		check(c->body_offset + c->body_size <= body_end);
		if (c->next != NULL)
			check(c->next->hdr_offset >= c->body_offset + c->body_size);
		check_part(c, buf, len, count);
	}
	if (p->flags & MIME_PART_MESSAGE) {
		/* the message is the whole body */
		check(p->children->hdr_offset == p->body_offset);
		check(p->children->body_offset + p->children->body_size == body_end);
	}
}

static void check_span(const struct mime_part *root, const char *buf, size_t len,
                       const char *section)
{
	struct imap_span sp;
	int rc = imap_section_span(root, section, &sp);

	check(rc == IMAP_SPAN_OK || rc == IMAP_SPAN_BAD || rc == IMAP_SPAN_NONE);
	if (rc != IMAP_SPAN_OK)
		return;
	check(sp.part != NULL);
	check(sp.offset + sp.size <= len);
	check(sp.crlf_size == mail_crlf_size(buf + sp.offset, sp.size));
}

static void render_all(const struct mime_part *root, struct buf *o)
{
	struct buf e, b, s;

	buf_init(&e);
	buf_init(&b);
	buf_init(&s);
	imap_write_envelope(root, &e);
	imap_write_bodystructure(root, true, &b);
	imap_write_bodystructure(root, false, &s);
	check_imap(&e);
	check_imap(&b);
	check_imap(&s);
	check(s.len <= b.len);
	buf_append(o, e.data, e.len);
	buf_append(o, " ", 1);
	buf_append(o, b.data, b.len);
	buf_append(o, " ", 1);
	buf_append(o, s.data, s.len);
	buf_free(&e);
	buf_free(&b);
	buf_free(&s);
}

static void fuzz_headers(const struct mime_part *root, const char *buf, const char *cstr,
                         size_t clen)
{
	static const char *const names[] = { "subject", "From", "content-type" };
	const char *hdr = buf + root->hdr_offset;
	size_t hlen = root->hdr_size;
	struct mail_header_iter it;
	struct mail_field f;
	struct mail_address *addrs;
	struct buf o;
	char dec[128];
	size_t n;

	mail_header_iter_init(&it, hdr, hlen, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		check(f.raw >= hdr && f.raw + f.raw_len <= hdr + hlen);
		check(f.name == f.raw && memchr(f.name, ':', f.name_len) == NULL);
		check(f.value >= f.name + f.name_len && f.value + f.value_len <= f.raw + f.raw_len);
		n = mail_unfold(f.value, f.value_len, dec, sizeof dec);
		check(dec[n < sizeof dec ? n : sizeof dec - 1] == '\0');
	}
	/* strict mode: where it reads a header without an error, every line
	 * was a well-formed field, and the lenient reader sees the same ones */
	{
		struct mail_header_iter st, le;
		struct mail_field g;
		mail_header_iter_init(&st, hdr, hlen, MAIL_HEADER_STRICT);
		mail_header_iter_init(&le, hdr, hlen, MAIL_HEADER_LENIENT);
		size_t nstrict = 0;
		while (mail_header_next(&st, &f)) {
			check(f.name_len > 0 && memchr(f.raw, '\0', f.raw_len) == NULL);
			nstrict++;
		}
		if (st.error == MAIL_HEADER_OK) {
			mail_header_iter_init(&st, hdr, hlen, MAIL_HEADER_STRICT);
			while (mail_header_next(&st, &f)) {
				check(mail_header_next(&le, &g));
				check(f.raw == g.raw && f.raw_len == g.raw_len &&
				      f.name_len == g.name_len && f.value_len == g.value_len);
			}
			check(!mail_header_next(&le, &g) && st.nfields == nstrict);
		}
	}
	for (int not_ = 0; not_ < 2; not_++) {
		buf_init(&o);
		imap_filter_headers(hdr, hlen, names, 3, not_ != 0, &o);
		check(o.len >= 2 && memcmp(o.data + o.len - 2, "\r\n", 2) == 0);
		for (size_t i = 0; i < o.len; i++)
			check(o.data[i] != '\n' || (i > 0 && o.data[i - 1] == '\r'));
		buf_free(&o);
	}
	/* the input as a header value, for the decoder and address parser */
	n = mail_encoded_words_decode(cstr, dec, sizeof dec);
	check(n < sizeof dec && dec[n] == '\0' && strlen(dec) <= n);
	n = mail_address_list_new(cstr, clen, &addrs);
	check(n <= 2 * clen + 1);
	mail_address_list_free(addrs, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sections[] = {
		"", "HEADER", "TEXT", "1", "2", "1.1", "1.2", "2.1", "1.MIME", "2.MIME", "1.HEADER",
		"1.TEXT", "1.1.MIME", "1.1.1", "HEADER.FIELDS (Subject)", "1.HEADER.FIELDS.NOT (To)",
	};
	const char *buf = (const char *)data;
	struct mime_part *root, *root2;
	struct buf a, b;
	struct mail_crlf c;
	unsigned int count = 0;
	char *cstr, *crlf, sec[24];
	size_t used, clen, crlflen;

	root = mime_parse(buf, size);
	check_part(root, buf, size, &count);
	check(count == mime_count_parts(root));
	check(root->envelope != NULL && root->hdr_offset == 0);
	check(root->body_offset + root->body_size == size);
	buf_init(&a);
	render_all(root, &a);
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
		check_span(root, buf, size, sections[i]);
	/* the first octets as a section-spec */
	clen = size < sizeof sec - 1 ? size : sizeof sec - 1;
	memcpy(sec, buf, clen);
	sec[clen] = '\0';
	check_span(root, buf, size, sec);

	cstr = malloc(size + 1);
	if (cstr == NULL)
		abort();
	memcpy(cstr, buf, size);
	cstr[size] = '\0';
	fuzz_headers(root, buf, cstr, strlen(cstr));

	/* with CRLF line ends: the same answers */
	crlf = malloc(2 * size + 1);
	if (crlf == NULL)
		abort();
	mail_crlf_init(&c);
	crlflen = mail_crlf_convert(&c, buf, size, &used, crlf, 2 * size + 1);
	check(used == size && crlflen == mail_crlf_size(buf, size));
	root2 = mime_parse(crlf, crlflen);
	buf_init(&b);
	render_all(root2, &b);
	check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	check(mime_count_parts(root2) == count);
	check(root2->hdr_size == root->hdr_crlf_size && root2->body_size == root->body_crlf_size);

	/* APPEND of a literal8: binary parts made base64, a message again */
	buf_reset(&b);
	if (mime_binary_parts_to_base64(buf, size, &b))
		mime_free(mime_parse(b.data, b.len));

	buf_free(&a);
	buf_free(&b);
	mime_free(root);
	mime_free(root2);
	free(crlf);
	free(cstr);
	return 0;
}
