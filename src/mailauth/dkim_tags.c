#include "mailauth/dkim_tags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static inline bool is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 6376 3.2 VALCHAR is %x21-3A / %x3C-7E; octets >= 0x80 are let through
 * for UTF-8 in i= (RFC 8616), control octets and DEL are not. */
static inline bool is_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

static size_t skip_fws(const char *s, size_t len, size_t i)
{
	while (i < len && is_fws((unsigned char)s[i]))
		i++;
	return i;
}

/* One tag-spec from s[i]: fills tag, returns the offset of what follows it
 * (a ';' or the end), or (size_t)-1 with err. */
static size_t parse_spec(const char *s, size_t len, size_t i, struct dkim_tag *tag, char *err,
                         size_t errlen)
{
	i = skip_fws(s, len, i);
	size_t start = i;
	if (i == len || !is_alpha((unsigned char)s[i])) {
		snprintf(err, errlen, i == len || s[i] == ';' ? "empty tag" : "bad tag name");
		return (size_t)-1;
	}
	while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
	                   s[i] == '_'))
		i++;
	tag->name = s + start;
	tag->name_len = i - start;
	i = skip_fws(s, len, i);
	if (i == len || s[i] != '=') {
		snprintf(err, errlen, "tag %.*s without '='", (int)(tag->name_len > 32 ? 32 : tag->name_len),
		         tag->name);
		return (size_t)-1;
	}
	i = skip_fws(s, len, i + 1);
	start = i;
	size_t end = i; /* past the last VALCHAR */
	for (; i < len && s[i] != ';'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_valchar(c))
			end = i + 1;
		else if (!is_fws(c)) {
			snprintf(err, errlen, "invalid octet 0x%02x in tag %.*s", c,
			         (int)(tag->name_len > 32 ? 32 : tag->name_len), tag->name);
			return (size_t)-1;
		}
	}
	tag->value = s + start;
	tag->value_len = end - start;
	return i;
}

int dkim_tags_parse(struct dkim_tags *t, const char *s, size_t len, char *err, size_t errlen)
{
	t->n = 0;
	size_t i = 0;
	for (;;) {
		if (t->n == DKIM_TAGS_MAX) {
			snprintf(err, errlen, "more than %d tags", DKIM_TAGS_MAX);
			return -1;
		}
		struct dkim_tag *tag = &t->tag[t->n];
		i = parse_spec(s, len, i, tag, err, errlen);
		if (i == (size_t)-1)
			return -1;
		for (size_t k = 0; k < t->n; k++) {
			if (t->tag[k].name_len == tag->name_len &&
			    memcmp(t->tag[k].name, tag->name, tag->name_len) == 0) {
				snprintf(err, errlen, "tag %.*s given twice",
				         (int)(tag->name_len > 32 ? 32 : tag->name_len), tag->name);
				return -1;
			}
		}
		t->n++;
		if (i == len)
			return 0;
		/* a ';': the end if only white space follows (RFC 6376 3.2 allows a
		 * trailing one), else another tag-spec */
		i++;
		if (skip_fws(s, len, i) == len)
			return 0;
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);
	for (size_t k = 0; k < t->n; k++)
		if (t->tag[k].name_len == n && memcmp(t->tag[k].name, name, n) == 0)
			return &t->tag[k];
	return NULL;
}

bool dkim_tag_is(const char *value, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(value, s, len) == 0;
}

bool dkim_tag_is_ci(const char *value, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(value, s, len) == 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int dkim_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                       size_t *outlen)
{
	unsigned long acc = 0;
	size_t bits = 0, o = 0, pad = 0, sextets = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (is_fws(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || pad > 0) /* data after padding */
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		sextets++;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* a group of 4 completed by exactly the padding it needs; 1 sextet
	 * alone cannot be an octet */
	if (sextets % 4 == 1 || pad > 2 || (pad > 0 && (sextets + pad) % 4 != 0))
		return -1;
	*outlen = o;
	return 0;
}

bool dkim_list_next(const char *list, size_t len, size_t *pos, const char **item,
                    size_t *item_len)
{
	size_t i = *pos;
	if (i > len)
		return false;
	i = skip_fws(list, len, i);
	size_t start = i;
	while (i < len && list[i] != ':')
		i++;
	size_t end = i;
	while (end > start && is_fws((unsigned char)list[end - 1]))
		end--;
	*item = list + start;
	*item_len = end - start;
	*pos = i + 1; /* past the colon, or past len at the end */
	return true;
}
