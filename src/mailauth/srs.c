/* SRS0/SRS1 addresses: making them for forwarded mail, decoding bounces. */
#include "mailauth/srs.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const char *srs_result_name(enum srs_result r)
{
	switch (r) {
	case SRS_OK: return "ok";
	case SRS_NOT_SRS: return "not_srs";
	case SRS_MALFORMED: return "malformed";
	case SRS_BAD_HASH: return "bad_hash";
	case SRS_EXPIRED: return "expired";
	case SRS_TOO_LONG: return "too_long";
	}
	return "unknown";
}

/* A base32 digit's value in either case, or -1. */
static int base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* ---- the hash ------------------------------------------------------------ */

/* The fields a hash covers, each lower-cased and NUL-separated so that no
 * two different field lists give the same input. Fields are bounded by the
 * address sizes (at most 64 + 255 octets in all). */
struct hash_input {
	unsigned char buf[2 * (SRS_LOCAL_MAX + SRS_DOMAIN_MAX) + 8];
	size_t len;
};

static bool hash_add(struct hash_input *in, const char *field, size_t len)
{
	if (len + 1 > sizeof(in->buf) - in->len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)field[i];
		in->buf[in->len++] = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
	}
	in->buf[in->len++] = '\0';
	return true;
}

/* SRS_HASH_CHARS base32 characters of the key's HMAC over the input. */
static void hash_text(const unsigned char *key, const struct hash_input *in,
                      char out[SRS_HASH_CHARS])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), key, SRS_KEY_LEN, in->buf, in->len, mac, &maclen);
	uint64_t bits = 0;
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | mac[i];
	for (int i = 0; i < SRS_HASH_CHARS; i++)
		out[i] = base32[(bits >> (35 - 5 * i)) & 31];
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* Whether some key made `given` (any case). Every key is tried, and each
 * comparison takes the same time, so timing tells nothing of a near miss. */
static bool hash_matches(const struct srs *srs, const struct hash_input *in, const char *given,
                         size_t len)
{
	char want[SRS_HASH_CHARS], upper[SRS_HASH_CHARS];
	if (len != SRS_HASH_CHARS)
		return false;
	for (size_t i = 0; i < SRS_HASH_CHARS; i++) {
		char c = given[i];
		upper[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
	}
	int ok = 0;
	for (size_t k = 0; k < srs->nkeys; k++) {
		hash_text(srs->keys[k], in, want);
		ok |= CRYPTO_memcmp(want, upper, SRS_HASH_CHARS) == 0;
	}
	return ok;
}

/* ---- the timestamp ----------------------------------------------------- */

static unsigned today(time_t now)
{
	return (unsigned)((uint64_t)(now < 0 ? 0 : now) / 86400 % 1024);
}

/* Modulo 1024 days a stamp from the future looks ~1023 days old: refused
 * like an expired one, as long as max_age stays far below 1024. */
static enum srs_result check_stamp(const struct srs *srs, const char *tt, size_t len, time_t now)
{
	int hi = len == 2 ? base32_value(tt[0]) : -1, lo = len == 2 ? base32_value(tt[1]) : -1;
	if (hi < 0 || lo < 0)
		return SRS_MALFORMED;
	unsigned stamp = (unsigned)(hi << 5 | lo);
	unsigned age = (today(now) + 1024 - stamp) % 1024;
	return age <= (unsigned)srs->max_age_days ? SRS_OK : SRS_EXPIRED;
}

/* ---- fields of a local part ------------------------------------------- */

struct field {
	const char *p;
	size_t len;
};

/* The text up to the next '=' (or the end) from *pos, which moves past it. */
static struct field next_field(const char *s, size_t len, size_t *pos)
{
	struct field f = { s + *pos, 0 };
	while (*pos < len && s[*pos] != '=') {
		(*pos)++;
		f.len++;
	}
	if (*pos < len)
		(*pos)++;   /* the '=' */
	return f;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp(s, prefix, n) == 0;
}

bool srs_is_srs_local(const char *local, size_t len)
{
	return has_prefix(local, len, "SRS0=") || has_prefix(local, len, "SRS1=");
}

/* A domain fit to carry in an SRS field: no '=' (the separator), no '@',
 * no address literal, nothing empty. */
static bool domain_usable(const char *d, size_t len)
{
	if (len == 0 || len > SRS_DOMAIN_MAX || d[0] == '[')
		return false;
	for (size_t i = 0; i < len; i++)
		if (d[i] == '=' || d[i] == '@' || (unsigned char)d[i] <= ' ')
			return false;
	return true;
}

/* A local part that goes unquoted into SRS0: dot-atom text (RFC 5322
 * 3.2.3) or UTF-8 (RFC 6531); a quoted one keeps its sender. */
static bool local_usable(const char *l, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                  (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL)))
			return false;
	}
	return true;
}

/* ---- forward ------------------------------------------------------------- */

/* Writes "<local>@<srs domain>" when it fits; the local part's limit first. */
static enum srs_result finish(const struct srs *srs, const char *local, size_t len, char *out,
                              size_t outlen)
{
	if (len > SRS_LOCAL_MAX)
		return SRS_TOO_LONG;
	size_t dlen = strlen(srs->domain);
	if (len + 1 + dlen + 1 > outlen)
		return SRS_MALFORMED;
	memmove(out, local, len);
	out[len] = '@';
	memcpy(out + len + 1, srs->domain, dlen + 1);
	return SRS_OK;
}

/* SRS1=HHHHHH=<first>=<rest>: first is the forwarder whose SRS0 this was,
 * rest what followed "SRS0" in its address (it starts with '='). */
static enum srs_result forward_srs1(const struct srs *srs, struct field first, struct field rest,
                                    char *out, size_t outlen)
{
	struct hash_input in = { .len = 0 };
	char hash[SRS_HASH_CHARS], local[SRS_LOCAL_MAX + 1];
	if (!domain_usable(first.p, first.len) || rest.len == 0 || !hash_add(&in, first.p, first.len) ||
	    !hash_add(&in, rest.p, rest.len))
		return SRS_MALFORMED;
	size_t need = 5 + SRS_HASH_CHARS + 1 + first.len + 1 + rest.len;
	if (need > SRS_LOCAL_MAX)
		return SRS_TOO_LONG;
	hash_text(srs->keys[0], &in, hash);
	int n = snprintf(local, sizeof(local), "SRS1=%.*s=%.*s=%.*s", SRS_HASH_CHARS, hash,
	                 (int)first.len, first.p, (int)rest.len, rest.p);
	return finish(srs, local, (size_t)n, out, outlen);
}

/* Another forwarder's SRS1 at domain: the first forwarder and the rest
 * stay, the hash becomes ours (libsrs2 does the same). */
static enum srs_result forward_from_srs1(const struct srs *srs, const char *local, size_t len,
                                         char *out, size_t outlen)
{
	size_t pos = 5;
	struct field hash = next_field(local, len, &pos);
	struct field first = next_field(local, len, &pos);
	struct field rest = { local + pos, len - pos };
	/* rest must have followed an '=' after first */
	if (hash.len == 0 || pos > len || local[pos - 1] != '=')
		return SRS_MALFORMED;
	return forward_srs1(srs, first, rest, out, outlen);
}

static enum srs_result forward_srs0(const struct srs *srs, const char *local, size_t llen,
                                    const char *domain, size_t dlen, time_t now, char *out,
                                    size_t outlen)
{
	struct hash_input in = { .len = 0 };
	char tt[2], hash[SRS_HASH_CHARS], buf[SRS_LOCAL_MAX + 1];
	unsigned day = today(now);
	tt[0] = base32[day >> 5 & 31];
	tt[1] = base32[day & 31];
	size_t need = 5 + SRS_HASH_CHARS + 1 + 2 + 1 + dlen + 1 + llen;
	if (need > SRS_LOCAL_MAX)
		return SRS_TOO_LONG;
	if (!hash_add(&in, tt, 2) || !hash_add(&in, domain, dlen) || !hash_add(&in, local, llen))
		return SRS_MALFORMED;
	hash_text(srs->keys[0], &in, hash);
	int n = snprintf(buf, sizeof(buf), "SRS0=%.*s=%.2s=%.*s=%.*s", SRS_HASH_CHARS, hash, tt,
	                 (int)dlen, domain, (int)llen, local);
	return finish(srs, buf, (size_t)n, out, outlen);
}

enum srs_result srs_forward(const struct srs *srs, const char *sender, time_t now, char *out,
                            size_t outlen)
{
	const char *at = strrchr(sender, '@');
	if (srs->nkeys == 0 || at == NULL || at == sender)
		return SRS_MALFORMED;
	const char *domain = at + 1;
	size_t llen = (size_t)(at - sender), dlen = strlen(domain);
	if (!domain_usable(domain, dlen) || llen > SRS_LOCAL_MAX || !local_usable(sender, llen))
		return SRS_MALFORMED;
	if (strcasecmp(domain, srs->domain) == 0) {
		/* already ours: nothing to rewrite (and a bounce decodes as is) */
		if (llen + 1 + dlen + 1 > outlen)
			return SRS_MALFORMED;
		memcpy(out, sender, llen + 1 + dlen + 1);
		return SRS_OK;
	}
	if (has_prefix(sender, llen, "SRS0=")) {
		struct field first = { domain, dlen }, rest = { sender + 4, llen - 4 };
		return forward_srs1(srs, first, rest, out, outlen);
	}
	if (has_prefix(sender, llen, "SRS1="))
		return forward_from_srs1(srs, sender, llen, out, outlen);
	return forward_srs0(srs, sender, llen, domain, dlen, now, out, outlen);
}

/* ---- reverse ------------------------------------------------------------- */

static enum srs_result write_address(struct field local, const char *prefix, struct field domain,
                                     char *out, size_t outlen)
{
	size_t plen = strlen(prefix);
	if (plen + local.len > SRS_LOCAL_MAX || domain.len > SRS_DOMAIN_MAX ||
	    plen + local.len + 1 + domain.len + 1 > outlen)
		return SRS_MALFORMED;
	int n = snprintf(out, outlen, "%s%.*s@%.*s", prefix, (int)local.len, local.p,
	                 (int)domain.len, domain.p);
	return n > 0 ? SRS_OK : SRS_MALFORMED;
}

/* SRS0=HHHHHH=TT=domain=local: the original sender. */
static enum srs_result reverse_srs0(const struct srs *srs, const char *s, size_t len, time_t now,
                                    char *out, size_t outlen)
{
	size_t pos = 5;
	struct field hash = next_field(s, len, &pos);
	struct field tt = next_field(s, len, &pos);
	struct field domain = next_field(s, len, &pos);
	struct field local = { s + pos, len - pos };
	struct hash_input in = { .len = 0 };
	if (hash.len != SRS_HASH_CHARS || tt.len != 2 || local.len == 0 ||
	    !domain_usable(domain.p, domain.len) || s[pos - 1] != '=')
		return SRS_MALFORMED;
	if (!hash_add(&in, tt.p, tt.len) || !hash_add(&in, domain.p, domain.len) ||
	    !hash_add(&in, local.p, local.len))
		return SRS_MALFORMED;
	enum srs_result r = check_stamp(srs, tt.p, tt.len, now);
	if (r == SRS_MALFORMED)
		return r;
	/* the hash before the age: an expired address tells only its owner so */
	if (!hash_matches(srs, &in, hash.p, hash.len))
		return SRS_BAD_HASH;
	if (r != SRS_OK)
		return r;
	return write_address(local, "", domain, out, outlen);
}

/* SRS1=HHHHHH=first=rest: the first forwarder's SRS0<rest>@first. */
static enum srs_result reverse_srs1(const struct srs *srs, const char *s, size_t len, char *out,
                                    size_t outlen)
{
	size_t pos = 5;
	struct field hash = next_field(s, len, &pos);
	struct field first = next_field(s, len, &pos);
	struct field rest = { s + pos, len - pos };
	struct hash_input in = { .len = 0 };
	if (hash.len != SRS_HASH_CHARS || rest.len == 0 || !domain_usable(first.p, first.len) ||
	    s[pos - 1] != '=')
		return SRS_MALFORMED;
	if (!hash_add(&in, first.p, first.len) || !hash_add(&in, rest.p, rest.len))
		return SRS_MALFORMED;
	if (!hash_matches(srs, &in, hash.p, hash.len))
		return SRS_BAD_HASH;
	return write_address(rest, "SRS0", first, out, outlen);
}

enum srs_result srs_reverse(const struct srs *srs, const char *local, size_t len, time_t now,
                            char *out, size_t outlen)
{
	if (len > SRS_LOCAL_MAX)
		return SRS_MALFORMED;
	if (memchr(local, '\0', len) != NULL || memchr(local, '@', len) != NULL)
		return SRS_MALFORMED;
	if (has_prefix(local, len, "SRS0="))
		return reverse_srs0(srs, local, len, now, out, outlen);
	if (has_prefix(local, len, "SRS1="))
		return reverse_srs1(srs, local, len, out, outlen);
	return SRS_NOT_SRS;
}
