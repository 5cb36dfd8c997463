/* libFuzzer target for the DKIM tag-list readers (src/mailauth/dkim_tags.c):
 * the DKIM-Signature value parser (dkim_sig_parse.c) and the key record
 * parser (dkim_keyrec.c), both fed every input. Beyond the sanitizers it
 * checks what the verifier relies on: an accepted signature has d=, s=, an
 * i= within d=, From in h=, b= where b_off says, and bounded fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailauth/dkim_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_sig(const struct dkim_sig *s, const char *value, size_t len)
{
	check(s->domain[0] != '\0' && s->selector[0] != '\0');
	check(strlen(s->domain) <= DKIM_NAME_MAX && strlen(s->selector) <= DKIM_NAME_MAX);
	check(s->identity_domain != NULL && strlen(s->identity_domain) >= strlen(s->domain));
	check(strcasecmp(s->identity_domain + strlen(s->identity_domain) - strlen(s->domain),
	                 s->domain) == 0);
	check(s->b_off + s->b_len_raw <= len && s->b_len > 0 && s->b_len <= DKIM_SIG_B_MAX);
	check(s->h >= value && s->h + s->h_len <= value + len);
	check(!s->has_expire || !s->has_time || s->expire > s->time);
	size_t pos = 0, n = 0, nl;
	const char *name;
	bool from = false;
	while (dkim_sig_h_next(s, &pos, &name, &nl)) {
		check(nl > 0 && name >= value && name + nl <= value + len);
		from = from || (nl == 4 && strncasecmp(name, "from", 4) == 0);
		n++;
	}
	check(from && n <= DKIM_SIG_H_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size octets, so reading past the end is caught */
	char *value = malloc(size ? size : 1);
	memcpy(value, data, size);
	struct dkim_sig *s = malloc(sizeof(*s));
	struct dkim_keyrec *k = malloc(sizeof(*k));
	char err[128];
	if (dkim_sig_parse(s, value, size, err, sizeof(err)) == 0)
		check_sig(s, value, size);
	else
		check(err[0] != '\0');
	if (dkim_keyrec_parse(k, value, size, err, sizeof(err)) == 0)
		check(k->revoked ? k->key_len == 0 : k->key_len > 0 && k->key_len <= DKIM_KEY_MAX);
	free(k);
	free(s);
	free(value);
	return 0;
}
