/* DKIM tag=value lists (RFC 6376 3.2), the syntax of both the DKIM-Signature
 * field and the key record, and the base64 with folding white space that
 * their b=, bh= and p= values hold. Hostile input: the number of tags is
 * bounded, nothing is copied, nothing is allocated. */
#ifndef POSTERN_DKIM_TAGS_H
#define POSTERN_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>

/* More tags than this is a syntax error: RFC 6376 defines 14 signature tags
 * and 7 key tags; unknown ones are ignored, but not without end. */
#define DKIM_TAGS_MAX 64

struct dkim_tag {
	const char *name;       /* ALPHA *(ALPHA / DIGIT / "_") */
	size_t name_len;
	const char *value;      /* white space before and after removed, inside kept */
	size_t value_len;
};

struct dkim_tags {
	struct dkim_tag tag[DKIM_TAGS_MAX];
	size_t n;
};

/* Splits s[0, len) into tags. Folding white space (SP, HTAB, CR, LF) may
 * stand around names, '=' and values; a value is VALCHARs (no ';', no
 * control octets) with white space inside allowed. A tag named twice is an
 * error (RFC 6376 3.2: "MUST be interpreted as a syntax error"), so are an
 * empty tag-spec (";;"), a bad name and more than DKIM_TAGS_MAX tags.
 * 0, or -1 with err. */
int dkim_tags_parse(struct dkim_tags *t, const char *s, size_t len, char *err, size_t errlen);

/* The tag called name (case-sensitive, RFC 6376 3.2), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t, const char *name);

/* Whether value[0, len) equals s, exactly or ignoring ASCII case. */
bool dkim_tag_is(const char *value, size_t len, const char *s);
bool dkim_tag_is_ci(const char *value, size_t len, const char *s);

/* Decodes base64 with folding white space anywhere (RFC 6376 2.4, 3.5),
 * '=' padding only at the end. More than cap octets, another octet or bad
 * padding: -1. Otherwise 0 with *outlen set. */
int dkim_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                       size_t *outlen);

/* Iterates a colon-separated list with white space around the items (h= of
 * a signature, h=, s= and t= of a key). *pos starts at 0. Returns false at
 * the end; an empty item is returned as such (callers refuse it). */
bool dkim_list_next(const char *list, size_t len, size_t *pos, const char **item,
                    size_t *item_len);

#endif
