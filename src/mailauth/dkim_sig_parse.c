/* DKIM-Signature values (RFC 6376 3.5) into struct dkim_sig. */
#include "mailauth/dkim_sig.h"

#include <stdio.h>
#include <string.h>

#include "mailauth/dkim_tags.h"

static const struct {
	const char *name;
	enum dkim_sig_alg alg;
} algorithms[] = {
	{ "rsa-sha256", DKIM_SIG_RSA_SHA256 },
	{ "ed25519-sha256", DKIM_SIG_ED25519_SHA256 },
	{ "rsa-sha1", DKIM_SIG_RSA_SHA1 },
};

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A domain name or selector for a DNS query: dot-separated labels of 1 to
 * 63 letters, digits, '-' and '_', lower-cased into out. */
static bool copy_dns_name(const struct dkim_tag *t, char *out)
{
	if (t->value_len == 0 || t->value_len > DKIM_NAME_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = lower(c);
	}
	out[t->value_len] = '\0';
	return label > 0;
}

/* 1*DIGIT, saturating at max (RFC 6376 allows l= of 76 digits). */
static bool parse_number(const struct dkim_tag *t, uint64_t max, uint64_t *out)
{
	if (t->value_len == 0)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (c < '0' || c > '9')
			return false;
		unsigned d = (unsigned)(c - '0');
		n = n > (max - d) / 10 ? max : n * 10 + d;
	}
	*out = n;
	return true;
}

static bool parse_canon_word(const char *s, size_t len, enum dkim_canon *c)
{
	if (dkim_tag_is(s, len, "simple"))
		*c = DKIM_CANON_SIMPLE;
	else if (dkim_tag_is(s, len, "relaxed"))
		*c = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* c=header[/body], each simple when absent (RFC 6376 3.5). */
static bool parse_canon(const struct dkim_tag *t, struct dkim_sig *sig)
{
	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	if (t == NULL)
		return true;
	const char *slash = memchr(t->value, '/', t->value_len);
	size_t hlen = slash ? (size_t)(slash - t->value) : t->value_len;
	if (!parse_canon_word(t->value, hlen, &sig->hcanon))
		return false;
	return slash == NULL ||
	       parse_canon_word(slash + 1, t->value_len - hlen - 1, &sig->bcanon);
}

static bool parse_alg(const struct dkim_tag *t, struct dkim_sig *sig)
{
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++) {
		if (dkim_tag_is(t->value, t->value_len, algorithms[i].name)) {
			sig->alg = algorithms[i].alg;
			snprintf(sig->algorithm, sizeof(sig->algorithm), "%s", algorithms[i].name);
			return true;
		}
	}
	return false;
}

/* RFC 6376 3.5 h=: field names (ftext) separated by colons; From must be
 * among them (5.4). An ARC-Message-Signature never signs an ARC-Seal
 * (RFC 8617 4.1.2). */
static int check_h(const struct dkim_sig *sig, enum dkim_sig_kind kind, char *err, size_t errlen)
{
	size_t pos = 0, n = 0, len;
	const char *name;
	bool from = false;
	while (dkim_sig_h_next(sig, &pos, &name, &len)) {
		if (len == 0) {
			snprintf(err, errlen, "empty name in h=");
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)name[i];
			if (c < 0x21 || c > 0x7e || c == ':') {
				snprintf(err, errlen, "bad field name in h=");
				return -1;
			}
		}
		if (++n > DKIM_SIG_H_MAX) {
			snprintf(err, errlen, "more than %d names in h=", DKIM_SIG_H_MAX);
			return -1;
		}
		if (dkim_tag_is_ci(name, len, "from"))
			from = true;
		if (kind == DKIM_SIG_ARC_AMS && dkim_tag_is_ci(name, len, "arc-seal")) {
			snprintf(err, errlen, "ARC-Seal in h=");
			return -1;
		}
	}
	if (!from) {
		snprintf(err, errlen, "From is not signed (h=)");
		return -1;
	}
	return 0;
}

/* i= is [local-part] "@" domain, the domain d= or below it (RFC 6376 3.5). */
static int parse_identity(const struct dkim_tag *t, struct dkim_sig *sig, char *err,
                          size_t errlen)
{
	if (t == NULL) {
		snprintf(sig->identity, sizeof(sig->identity), "@%s", sig->domain);
	} else {
		if (t->value_len > DKIM_IDENTITY_MAX) {
			snprintf(err, errlen, "i= too long");
			return -1;
		}
		memcpy(sig->identity, t->value, t->value_len);
		sig->identity[t->value_len] = '\0';
	}
	const char *at = strrchr(sig->identity, '@');
	if (at == NULL) {
		snprintf(err, errlen, "i= has no '@'");
		return -1;
	}
	sig->identity_domain = at + 1;
	size_t il = strlen(at + 1), dl = strlen(sig->domain);
	bool within = il == dl || (il > dl && at[1 + il - dl - 1] == '.');
	if (within)
		for (size_t i = 0; i < dl; i++)
			if (lower(at[1 + il - dl + i]) != sig->domain[i])
				within = false;
	if (!within) {
		snprintf(err, errlen, "i= domain is not within d=");
		return -1;
	}
	return 0;
}

/* The tags each kind must have (RFC 6376 3.5; RFC 8617 4.1.2 and 4.1.3,
 * whose i= and cv= arc_parse.c reads). */
static const char *const required_dkim[] = { "v", "a", "b", "bh", "d", "h", "s", NULL };
static const char *const required_ams[] = { "a", "b", "bh", "d", "h", "s", NULL };
static const char *const required_seal[] = { "a", "b", "d", "s", NULL };

/* The tags that need nothing but themselves. */
static int parse_required(const struct dkim_tags *tags, enum dkim_sig_kind kind,
                          struct dkim_sig *sig, char *err, size_t errlen)
{
	const char *const *required = kind == DKIM_SIG_DKIM ? required_dkim
	                              : kind == DKIM_SIG_ARC_AMS ? required_ams : required_seal;
	for (size_t i = 0; required[i] != NULL; i++) {
		if (dkim_tags_get(tags, required[i]) == NULL) {
			snprintf(err, errlen, "no %s= tag", required[i]);
			return -1;
		}
	}
	/* RFC 8617 4.1.2: an AMS has no v=, and one seen is ignored */
	const struct dkim_tag *t = dkim_tags_get(tags, "v");
	if (kind == DKIM_SIG_DKIM && !dkim_tag_is(t->value, t->value_len, "1")) {
		snprintf(err, errlen, "v= is not 1");
		return -1;
	}
	if (!parse_alg(dkim_tags_get(tags, "a"), sig)) {
		snprintf(err, errlen, "unknown algorithm (a=)");
		return -1;
	}
	if (kind == DKIM_SIG_ARC_SEAL) {
		/* RFC 8617 4.1.3: no h= (the set order says what is signed), no
		 * body, relaxed header canonicalisation only */
		if (dkim_tags_get(tags, "h") != NULL) {
			snprintf(err, errlen, "h= in an ARC-Seal");
			return -1;
		}
		sig->hcanon = sig->bcanon = DKIM_CANON_RELAXED;
	} else if (!parse_canon(dkim_tags_get(tags, "c"), sig)) {
		snprintf(err, errlen, "unknown canonicalization (c=)");
		return -1;
	}
	t = dkim_tags_get(tags, "b");
	if (dkim_base64_decode(t->value, t->value_len, sig->b, sizeof(sig->b), &sig->b_len) < 0 ||
	    sig->b_len == 0) {
		snprintf(err, errlen, "bad b=");
		return -1;
	}
	t = dkim_tags_get(tags, "bh");
	if (kind != DKIM_SIG_ARC_SEAL &&
	    (dkim_base64_decode(t->value, t->value_len, sig->bh, sizeof(sig->bh), &sig->bh_len) < 0 ||
	     sig->bh_len == 0)) {
		snprintf(err, errlen, "bad bh=");
		return -1;
	}
	t = dkim_tags_get(tags, "q");
	if (t != NULL && !dkim_tag_is_ci(t->value, t->value_len, "dns/txt")) {
		/* q= is a colon list of methods; dns/txt is the only one defined */
		size_t pos = 0, len;
		const char *m;
		bool txt = false;
		while (dkim_list_next(t->value, t->value_len, &pos, &m, &len))
			txt = txt || dkim_tag_is_ci(m, len, "dns/txt");
		if (!txt) {
			snprintf(err, errlen, "no dns/txt in q=");
			return -1;
		}
	}
	return 0;
}

static int parse_times(const struct dkim_tags *tags, struct dkim_sig *sig, char *err,
                       size_t errlen)
{
	const struct dkim_tag *t;
	uint64_t n;
	if ((t = dkim_tags_get(tags, "l")) != NULL) {
		if (!parse_number(t, UINT64_MAX, &sig->length)) {
			snprintf(err, errlen, "bad l=");
			return -1;
		}
		sig->has_length = true;
	}
	if ((t = dkim_tags_get(tags, "t")) != NULL) {
		if (!parse_number(t, INT64_MAX, &n)) {
			snprintf(err, errlen, "bad t=");
			return -1;
		}
		sig->time = (int64_t)n;
		sig->has_time = true;
	}
	if ((t = dkim_tags_get(tags, "x")) != NULL) {
		if (!parse_number(t, INT64_MAX, &n)) {
			snprintf(err, errlen, "bad x=");
			return -1;
		}
		sig->expire = (int64_t)n;
		sig->has_expire = true;
	}
	/* RFC 6376 3.5 x=: "MUST be greater than the value of the t= tag" */
	if (sig->has_time && sig->has_expire && sig->expire <= sig->time) {
		snprintf(err, errlen, "x= is not after t=");
		return -1;
	}
	return 0;
}

/* The names a refused signature is reported by, read before anything can
 * fail. */
static void read_names(const struct dkim_tags *tags, struct dkim_sig *sig)
{
	const struct dkim_tag *t;
	if ((t = dkim_tags_get(tags, "d")) != NULL && !copy_dns_name(t, sig->domain))
		sig->domain[0] = '\0';
	if ((t = dkim_tags_get(tags, "s")) != NULL && !copy_dns_name(t, sig->selector))
		sig->selector[0] = '\0';
	if ((t = dkim_tags_get(tags, "a")) != NULL)
		parse_alg(t, sig);
	if ((t = dkim_tags_get(tags, "b")) != NULL) {
		size_t o = 0;
		for (size_t i = 0; i < t->value_len && o < DKIM_B_PREFIX_LEN; i++)
			if (t->value[i] != ' ' && t->value[i] != '\t' && t->value[i] != '\r' &&
			    t->value[i] != '\n')
				sig->b_prefix[o++] = t->value[i];
		sig->b_prefix[o] = '\0';
	}
}

int dkim_sig_parse(struct dkim_sig *sig, const char *value, size_t len, char *err,
                   size_t errlen)
{
	return dkim_sig_parse_kind(sig, DKIM_SIG_DKIM, value, len, err, errlen);
}

int dkim_sig_parse_kind(struct dkim_sig *sig, enum dkim_sig_kind kind, const char *value,
                        size_t len, char *err, size_t errlen)
{
	struct dkim_tags tags;
	memset(sig, 0, sizeof(*sig));
	if (dkim_tags_parse(&tags, value, len, err, errlen) < 0)
		return -1;
	read_names(&tags, sig);
	if (parse_required(&tags, kind, sig, err, errlen) < 0)
		return -1;
	const struct dkim_tag *b = dkim_tags_get(&tags, "b");
	sig->b_off = (size_t)(b->value - value);
	sig->b_len_raw = b->value_len;
	if (sig->domain[0] == '\0' || sig->selector[0] == '\0') {
		snprintf(err, errlen, sig->domain[0] == '\0' ? "bad d=" : "bad s=");
		return -1;
	}
	/* the key's name must be a DNS name too: s._domainkey.d */
	if (strlen(sig->selector) + strlen("._domainkey.") + strlen(sig->domain) > DKIM_NAME_MAX) {
		snprintf(err, errlen, "s=._domainkey.d= is too long a name");
		return -1;
	}
	if (kind != DKIM_SIG_ARC_SEAL) {
		const struct dkim_tag *h = dkim_tags_get(&tags, "h");
		sig->h = h->value;
		sig->h_len = h->value_len;
		if (check_h(sig, kind, err, errlen) < 0)
			return -1;
	}
	/* an ARC signature's i= is its instance: the identity is d= */
	const struct dkim_tag *i = kind == DKIM_SIG_DKIM ? dkim_tags_get(&tags, "i") : NULL;
	if (parse_identity(i, sig, err, errlen) < 0 || parse_times(&tags, sig, err, errlen) < 0)
		return -1;
	if (kind == DKIM_SIG_ARC_SEAL)
		sig->has_length = false; /* a seal covers no body */
	return 0;
}

bool dkim_sig_h_next(const struct dkim_sig *sig, size_t *pos, const char **name,
                     size_t *name_len)
{
	if (sig->h == NULL) /* an ARC-Seal */
		return false;
	return dkim_list_next(sig->h, sig->h_len, pos, name, name_len);
}
