#include "mailauth/dkim_body_hash.h"

#include <stdlib.h>

#include "core/util.h"

void dkim_body_hashes_init(struct dkim_body_hashes *set, size_t max)
{
	set->h = xcalloc(max + 1, sizeof(*set->h));
	set->n = 0;
}

size_t dkim_body_hashes_for(struct dkim_body_hashes *set, const struct dkim_sig *s)
{
	for (size_t i = 0; i < set->n; i++) {
		struct dkim_body_hash *b = &set->h[i];
		if (b->canon == s->bcanon && b->limited == s->has_length &&
		    (!b->limited || b->limit == s->length))
			return i;
	}
	struct dkim_body_hash *b = &set->h[set->n];
	b->canon = s->bcanon;
	b->limited = s->has_length;
	b->limit = s->length;
	b->md = EVP_MD_CTX_new();
	b->bc = xmalloc(sizeof(*b->bc));
	b->failed = b->md == NULL || EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1;
	dkim_body_init(b->bc, b->canon, b->md);
	if (b->limited)
		dkim_body_set_limit(b->bc, b->limit);
	return set->n++;
}

void dkim_body_hashes_update(struct dkim_body_hashes *set, const void *data, size_t len)
{
	for (size_t i = 0; i < set->n; i++)
		if (!set->h[i].failed && dkim_body_update(set->h[i].bc, data, len) < 0)
			set->h[i].failed = true;
}

void dkim_body_hashes_final(struct dkim_body_hashes *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct dkim_body_hash *b = &set->h[i];
		if (!b->failed && (dkim_body_final(b->bc) < 0 ||
		                   EVP_DigestFinal_ex(b->md, b->digest, NULL) != 1))
			b->failed = true;
	}
}

void dkim_body_hashes_free(struct dkim_body_hashes *set)
{
	for (size_t i = 0; i < set->n; i++) {
		EVP_MD_CTX_free(set->h[i].md);
		free(set->h[i].bc);
	}
	free(set->h);
	set->h = NULL;
	set->n = 0;
}
