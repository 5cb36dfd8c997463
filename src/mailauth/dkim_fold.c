#include "mailauth/dkim_fold.h"

#include <string.h>

#include <openssl/evp.h>

#include "core/util.h"

#define FOLD_WIDTH  76           /* columns, the tab counted as 8 */
#define FOLD_INDENT 8

void dkim_fold_raw(struct dkim_fold *f, const char *s, size_t n)
{
	if (f->len + n + 1 > f->cap) {
		while (f->len + n + 1 > f->cap)
			f->cap = f->cap ? 2 * f->cap : 512;
		f->buf = xrealloc(f->buf, f->cap);
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
	f->col += n;
}

void dkim_fold_break(struct dkim_fold *f)
{
	dkim_fold_raw(f, "\n\t", 2);
	f->col = FOLD_INDENT;
}

void dkim_fold_token(struct dkim_fold *f, const char *tok, bool space)
{
	size_t n = strlen(tok);
	if (f->col > FOLD_INDENT && f->col + n + (space ? 1 : 0) > FOLD_WIDTH)
		dkim_fold_break(f);
	else if (space)
		dkim_fold_raw(f, " ", 1);
	dkim_fold_raw(f, tok, n);
}

void dkim_fold_base64(struct dkim_fold *f, const char *s)
{
	size_t len = strlen(s), pos = 0;
	while (pos < len) {
		if (f->col >= FOLD_WIDTH)
			dkim_fold_break(f);
		size_t room = FOLD_WIDTH - f->col;
		size_t n = len - pos < room ? len - pos : room;
		dkim_fold_raw(f, s + pos, n);
		pos += n;
	}
}

char *dkim_base64_new(const unsigned char *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}
