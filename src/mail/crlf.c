/* LF -> CRLF: stored messages have LF line ends, clients count CRLF. */
#include "mail/crlf.h"

#include <string.h>

/* ---- LF -> CRLF ---- */

uint64_t mail_crlf_size(const char *buf, size_t len)
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

void mail_crlf_init(struct mail_crlf *c)
{
	c->last_cr = false;
}

size_t mail_crlf_convert(struct mail_crlf *c, const char *in, size_t inlen, size_t *consumed,
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
