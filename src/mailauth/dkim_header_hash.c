/* The header fields a DKIM signature covers, hashed in h= order (RFC 6376
 * 5.4.2). Shared by the signer and the verifier so that both pick the same
 * instances. */
#include "mailauth/dkim_canon.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "mail/header.h"
#include "mailauth/dkim_tags.h"

/* The lowest-placed instance of name[0, len) not taken yet (nor skip),
 * or nfields. */
static size_t next_instance(const struct mail_header *h, const bool *taken, const char *name,
                            size_t len, const struct mail_field *skip)
{
	for (size_t i = h->nfields; i-- > 0;) {
		const struct mail_field *f = &h->fields[i];
		if (taken[i] || f == skip || f->name_len != len || strncasecmp(f->name, name, len) != 0)
			continue;
		return i;
	}
	return h->nfields;
}

int dkim_hash_header_fields(EVP_MD_CTX *md, enum dkim_canon c, const struct mail_header *h,
                            const char *hlist, size_t hlen, const struct mail_field *skip)
{
	size_t maxlen = 0;
	for (size_t i = 0; i < h->nfields; i++)
		if (mail_field_len(&h->fields[i]) > maxlen)
			maxlen = mail_field_len(&h->fields[i]);
	char *canon = xmalloc(DKIM_CANON_HEADER_BOUND(maxlen));
	bool *taken = xcalloc(h->nfields + 1, sizeof(*taken));
	size_t pos = 0, len;
	const char *name;
	int rc = 0;
	while (rc == 0 && dkim_list_next(hlist, hlen, &pos, &name, &len)) {
		size_t i = next_instance(h, taken, name, len, skip);
		if (i == h->nfields)
			continue; /* not there (any more): contributes nothing */
		taken[i] = true;
		const struct mail_field *f = &h->fields[i];
		size_t n = dkim_canon_header(c, f->name, mail_field_len(f), canon);
		if (EVP_DigestUpdate(md, canon, n) != 1 || EVP_DigestUpdate(md, "\r\n", 2) != 1)
			rc = -1;
	}
	free(taken);
	free(canon);
	return rc;
}

int dkim_hash_signature_field(EVP_MD_CTX *md, enum dkim_canon c, const struct mail_field *f,
                              size_t b_off, size_t b_len)
{
	size_t len = mail_field_len(f);
	size_t b_at = (size_t)(f->value - f->name) + b_off;
	char *copy = xmalloc(len), *canon = xmalloc(DKIM_CANON_HEADER_BOUND(len));
	memcpy(copy, f->name, b_at);
	memcpy(copy + b_at, f->name + b_at + b_len, len - b_at - b_len);
	size_t n = dkim_canon_header(c, copy, len - b_len, canon);
	int ok = EVP_DigestUpdate(md, canon, n);
	free(copy);
	free(canon);
	return ok == 1 ? 0 : -1;
}
