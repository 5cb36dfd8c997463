/* DKIM key records (RFC 6376 3.6.1, RFC 8463 4) into struct dkim_keyrec. */
#include "mailauth/dkim_sig.h"

#include <stdio.h>
#include <string.h>

#include "mailauth/dkim_tags.h"

/* Whether the colon list t holds word (or, any_ok, "*"). */
static bool list_has(const struct dkim_tag *t, const char *word, bool any_ok)
{
	size_t pos = 0, len;
	const char *item;
	while (dkim_list_next(t->value, t->value_len, &pos, &item, &len))
		if (dkim_tag_is_ci(item, len, word) || (any_ok && dkim_tag_is(item, len, "*")))
			return true;
	return false;
}

static int parse_type(const struct dkim_tags *tags, struct dkim_keyrec *k, char *err,
                      size_t errlen)
{
	const struct dkim_tag *t = dkim_tags_get(tags, "k");
	if (t == NULL || dkim_tag_is_ci(t->value, t->value_len, "rsa")) {
		k->type = DKIM_KEY_RSA;
	} else if (dkim_tag_is_ci(t->value, t->value_len, "ed25519")) {
		k->type = DKIM_KEY_ED25519;
	} else {
		snprintf(err, errlen, "unknown key type (k=)");
		return -1;
	}
	return 0;
}

int dkim_keyrec_parse(struct dkim_keyrec *k, const char *txt, size_t len, char *err,
                      size_t errlen)
{
	struct dkim_tags tags;
	memset(k, 0, offsetof(struct dkim_keyrec, key));
	k->key_len = 0;
	if (dkim_tags_parse(&tags, txt, len, err, errlen) < 0)
		return -1;
	/* RFC 6376 3.6.1 v=: if present, DKIM1 and the first tag */
	const struct dkim_tag *t = dkim_tags_get(&tags, "v");
	if (t != NULL && (t != &tags.tag[0] || !dkim_tag_is(t->value, t->value_len, "DKIM1"))) {
		snprintf(err, errlen, "not a DKIM1 key record");
		return -1;
	}
	if (parse_type(&tags, k, err, errlen) < 0)
		return -1;
	t = dkim_tags_get(&tags, "h");
	k->sha256_ok = t == NULL || list_has(t, "sha256", false);
	k->sha1_ok = t == NULL || list_has(t, "sha1", false);
	t = dkim_tags_get(&tags, "s");
	k->email_ok = t == NULL || list_has(t, "email", true);
	if ((t = dkim_tags_get(&tags, "t")) != NULL) {
		k->testing = list_has(t, "y", false);
		k->strict = list_has(t, "s", false);
	}
	t = dkim_tags_get(&tags, "p");
	if (t == NULL) {
		snprintf(err, errlen, "no p= in the key record");
		return -1;
	}
	if (t->value_len == 0) {
		k->revoked = true;
		return 0;
	}
	if (dkim_base64_decode(t->value, t->value_len, k->key, sizeof(k->key), &k->key_len) < 0 ||
	    k->key_len == 0) {
		snprintf(err, errlen, "bad p= in the key record");
		return -1;
	}
	return 0;
}
