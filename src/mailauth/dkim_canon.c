#include "mailauth/dkim_canon.h"

#include <string.h>

static inline bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Length of field without one terminating LF or CRLF. */
static size_t strip_line_end(const char *field, size_t len)
{
	if (len > 0 && field[len - 1] == '\n') {
		len--;
		if (len > 0 && field[len - 1] == '\r')
			len--;
	}
	return len;
}

static size_t canon_header_simple(const char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	return o;
}

/* RFC 6376 3.4.2. Unfolding deletes the line ends; the WSP that starts a
 * continuation line then joins the run it belongs to. */
static size_t canon_header_relaxed(const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0;
	bool wsp = false;

	/* name: lower-cased, WSP before the colon dropped */
	for (; i < len && in[i] != ':'; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\n' || (c == '\r' && i + 1 < len && in[i + 1] == '\n'))
			continue;
		if (is_wsp(c)) {
			wsp = true;
			continue;
		}
		if (wsp && o > 0)
			out[o++] = ' ';
		wsp = false;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (i == len)
		return o; /* no colon: not a field, but canonicalise what is there */
	out[o++] = ':';
	i++;

	/* value: WSP after the colon and at the end dropped, runs become one SP */
	bool started = false;
	wsp = false;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\n' || (c == '\r' && i + 1 < len && in[i + 1] == '\n'))
			continue;
		if (is_wsp(c)) {
			wsp = started;
			continue;
		}
		if (wsp)
			out[o++] = ' ';
		wsp = false;
		started = true;
		out[o++] = (char)c;
	}
	return o;
}

size_t dkim_canon_header(enum dkim_canon c, const char *field, size_t len, char *out)
{
	len = strip_line_end(field, len);
	size_t n = c == DKIM_CANON_RELAXED ? canon_header_relaxed(field, len, out)
	                                   : canon_header_simple(field, len, out);
	out[n] = '\0';
	return n;
}

/* ---- body ------------------------------------------------------------- */

static void body_flush(struct dkim_body_canon *b)
{
	if (b->outlen == 0)
		return;
	uint64_t room = b->length < b->limit ? b->limit - b->length : 0;
	size_t n = room < b->outlen ? (size_t)room : b->outlen;
	if (!b->failed && n > 0 && EVP_DigestUpdate(b->md, b->out, n) != 1)
		b->failed = true;
	b->length += b->outlen;
	b->outlen = 0;
}

static inline void body_put(struct dkim_body_canon *b, unsigned char c)
{
	if (b->outlen == sizeof(b->out))
		body_flush(b);
	b->out[b->outlen++] = c;
}

/* Emits one octet of line content, releasing what was held back before it:
 * the line ends of the empty lines it proves not to be trailing, and
 * (relaxed) the WSP run it proves not to be at the end of its line. */
static void body_content(struct dkim_body_canon *b, unsigned char c)
{
	for (; b->crlf_pending > 0; b->crlf_pending--) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	if (b->wsp_pending) {
		body_put(b, ' ');
		b->wsp_pending = false;
	}
	body_put(b, c);
	b->content = true;
}

static void body_octet(struct dkim_body_canon *b, unsigned char c)
{
	if (c == '\n') {
		/* LF or CRLF: a line end. Trailing WSP of the line is dropped (relaxed). */
		b->cr_pending = false;
		b->wsp_pending = false;
		b->crlf_pending++;
		return;
	}
	if (b->cr_pending) {
		/* the held CR was not part of a CRLF: an ordinary octet */
		b->cr_pending = false;
		body_content(b, '\r');
	}
	if (c == '\r') {
		b->cr_pending = true;
		return;
	}
	if (b->mode == DKIM_CANON_RELAXED && is_wsp(c)) {
		b->wsp_pending = true;
		return;
	}
	body_content(b, c);
}

void dkim_body_init(struct dkim_body_canon *b, enum dkim_canon mode, EVP_MD_CTX *md)
{
	memset(b, 0, offsetof(struct dkim_body_canon, out));
	b->mode = mode;
	b->md = md;
	b->limit = UINT64_MAX;
}

void dkim_body_set_limit(struct dkim_body_canon *b, uint64_t limit)
{
	b->limit = limit;
}

int dkim_body_update(struct dkim_body_canon *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		body_octet(b, p[i]);
	body_flush(b);
	return b->failed ? -1 : 0;
}

int dkim_body_final(struct dkim_body_canon *b)
{
	if (b->cr_pending) {
		b->cr_pending = false;
		body_content(b, '\r');
	}
	/* RFC 6376 3.4.3/3.4.4: one CRLF ends the last non-empty line (or, simple,
	 * stands for an empty body); the empty lines after it are not hashed. A
	 * relaxed WSP run still pending is at the end of the last line: dropped. */
	b->wsp_pending = false;
	b->crlf_pending = 0;
	if (b->content || b->mode == DKIM_CANON_SIMPLE) {
		body_put(b, '\r');
		body_put(b, '\n');
	}
	body_flush(b);
	return b->failed ? -1 : 0;
}
