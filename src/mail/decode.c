/* Content-Transfer-Encoding decoders (RFC 2045 6) for FETCH BINARY (RFC 3516,
 * RFC 9051 6.4.5). Lenient the way mail readers are: what a broken encoder
 * or a transport added is skipped or passed through, never an error; the
 * only failure is an encoding this module does not know. */
#include "mail/decode.h"

#include <stdint.h>
#include <string.h>

#include "mail/lex.h"
#include "mail/mime.h"

/* Decoded octets are staged here and appended to the output in blocks, so
 * the output grows a few times, not once per octet. */
struct sink {
	struct buf *out;
	size_t n;
	char buf[4096];
};

static void sink_flush(struct sink *k)
{
	if (k->n > 0)
		buf_append(k->out, k->buf, k->n);
	k->n = 0;
}

static void sink_put(struct sink *k, char c)
{
	if (k->n == sizeof k->buf)
		sink_flush(k);
	k->buf[k->n++] = c;
}

/* ---- which decoder ---- */

enum mime_cte mime_cte_of(const char *encoding)
{
	static const char *const identity[] = { "7BIT", "8BIT", "BINARY" };

	if (encoding == NULL)
		return MIME_CTE_IDENTITY;      /* RFC 2045 6.1: the default is 7BIT */
	for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++)
		if (mail_eq_nocase(encoding, strlen(encoding), identity[i]))
			return MIME_CTE_IDENTITY;
	if (mail_eq_nocase(encoding, strlen(encoding), "BASE64"))
		return MIME_CTE_BASE64;
	if (mail_eq_nocase(encoding, strlen(encoding), "QUOTED-PRINTABLE"))
		return MIME_CTE_QUOTED_PRINTABLE;
	return MIME_CTE_UNKNOWN;
}

enum mime_cte mime_part_cte(const struct mime_part *p)
{
	/* RFC 2045 6.4: a container's body is never encoded; whatever its
	 * header says, it is passed on as it is */
	if (p->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE))
		return MIME_CTE_IDENTITY;
	return mime_cte_of(p->encoding);
}

/* ---- base64 (RFC 2045 6.8) ---- */

void mime_decode_base64(const char *in, size_t len, struct buf *out)
{
	struct sink k = { .out = out };
	uint32_t bits = 0;
	unsigned int nsextets = 0;

	for (size_t i = 0; i < len && in[i] != '='; i++) {
		int v = mail_base64_value((unsigned char)in[i]);
		/* RFC 2045 6.8: characters outside the alphabet are ignored */
		if (v < 0)
			continue;
		bits = bits << 6 | (uint32_t)v;
		if (++nsextets == 4) {
			sink_put(&k, (char)(bits >> 16));
			sink_put(&k, (char)(bits >> 8));
			sink_put(&k, (char)bits);
			bits = 0;
			nsextets = 0;
		}
	}
	/* a last group cut short, padded or not: 2 sextets hold one octet, 3
	 * hold two; a single sextet holds none and is dropped */
	if (nsextets == 2) {
		sink_put(&k, (char)(bits >> 4));
	} else if (nsextets == 3) {
		sink_put(&k, (char)(bits >> 10));
		sink_put(&k, (char)(bits >> 2));
	}
	sink_flush(&k);
}

/* ---- quoted-printable (RFC 2045 6.7) ---- */

/* One line's content, its line end and trailing white space removed.
 * Returns true when it ends in a soft line break ("=" last). */
static bool qp_line(struct sink *k, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			sink_put(k, s[i]);
			continue;
		}
		/* rule 5: '=' last on a line is a soft line break; also at the
		 * end of the input, as the line end after it went to a boundary
		 * (RFC 2046 5.1.1) */
		if (i + 1 == n)
			return true;
		int hi = mail_hex_value(s[i + 1]);
		int lo = i + 2 < n ? mail_hex_value(s[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			sink_put(k, '=');       /* malformed: the '=' stays as it is */
			continue;
		}
		sink_put(k, (char)(hi << 4 | lo));
		i += 2;
	}
	return false;
}

void mime_decode_qp(const char *in, size_t len, struct buf *out)
{
	struct sink k = { .out = out };
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - in) : len;
		size_t next = nl != NULL ? end + 1 : len;

		if (nl != NULL && end > pos && in[end - 1] == '\r')
			end--;
		/* RFC 2045 6.7 rule 3: white space at the end of a line was
		 * added in transport and is deleted when decoding */
		while (end > pos && mail_is_wsp(in[end - 1]))
			end--;
		bool soft = qp_line(&k, in + pos, end - pos);
		/* rule 4: a hard line break is CRLF in the canonical form,
		 * whatever line ends the message is stored with */
		if (nl != NULL && !soft) {
			sink_put(&k, '\r');
			sink_put(&k, '\n');
		}
		pos = next;
	}
	sink_flush(&k);
}

/* ---- either ---- */

bool mime_decode(enum mime_cte cte, const char *in, size_t len, struct buf *out)
{
	switch (cte) {
	case MIME_CTE_IDENTITY:
		buf_append(out, in, len);
		return true;
	case MIME_CTE_BASE64:
		mime_decode_base64(in, len, out);
		return true;
	case MIME_CTE_QUOTED_PRINTABLE:
		mime_decode_qp(in, len, out);
		return true;
	case MIME_CTE_UNKNOWN:
		break;
	}
	return false;
}
