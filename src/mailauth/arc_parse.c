/* ARC header field values (RFC 8617 4.1) into their structs. The tags both
 * signatures share with DKIM are dkim_sig_parse_kind()'s; this file reads
 * what is ARC's own: the instance and cv=. */
#include "mailauth/arc.h"

#include <stdio.h>
#include <string.h>

#include "mail/header.h"
#include "mailauth/dkim_tags.h"

const char *arc_cv_name(enum arc_cv cv)
{
	switch (cv) {
	case ARC_CV_NONE: return "none";
	case ARC_CV_PASS: return "pass";
	case ARC_CV_FAIL: return "fail";
	}
	return "fail";
}

enum arc_field arc_field_kind(const struct mail_field *f)
{
	if (mail_field_is(f, "arc-authentication-results"))
		return ARC_FIELD_AAR;
	if (mail_field_is(f, "arc-message-signature"))
		return ARC_FIELD_AMS;
	if (mail_field_is(f, "arc-seal"))
		return ARC_FIELD_SEAL;
	return ARC_FIELD_OTHER;
}

static inline bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1*DIGIT from 1 to ARC_MAX_INSTANCE (RFC 8617 4.2.1); leading zeros are
 * digits like any other, the value is what counts. */
static bool parse_instance(const char *s, size_t len, unsigned *out)
{
	if (len == 0)
		return false;
	unsigned n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned)(s[i] - '0');
		if (n > ARC_MAX_INSTANCE)
			return false;
	}
	*out = n;
	return n >= 1;
}

int arc_aar_parse(const char *value, size_t len, unsigned *instance, const char **payload,
                  size_t *payload_len, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < len && is_fws(value[i]))
		i++;
	if (i == len || (value[i] != 'i' && value[i] != 'I')) {
		snprintf(err, errlen, "ARC-Authentication-Results does not start with i=");
		return -1;
	}
	for (i++; i < len && is_fws(value[i]); i++)
		;
	if (i == len || value[i] != '=') {
		snprintf(err, errlen, "ARC-Authentication-Results does not start with i=");
		return -1;
	}
	for (i++; i < len && is_fws(value[i]); i++)
		;
	size_t start = i;
	while (i < len && value[i] >= '0' && value[i] <= '9')
		i++;
	if (!parse_instance(value + start, i - start, instance)) {
		snprintf(err, errlen, "bad instance (i=) in ARC-Authentication-Results");
		return -1;
	}
	while (i < len && is_fws(value[i]))
		i++;
	if (i == len || value[i] != ';') {
		snprintf(err, errlen, "no ';' after i= in ARC-Authentication-Results");
		return -1;
	}
	i++;
	while (i < len && is_fws(value[i]))
		i++;
	size_t end = len;
	while (end > i && is_fws(value[end - 1]))
		end--;
	if (end == i) {
		snprintf(err, errlen, "empty ARC-Authentication-Results");
		return -1;
	}
	*payload = value + i;
	*payload_len = end - i;
	return 0;
}

/* The i= of an ARC signature, read from its tag list. */
static int tag_instance(const struct dkim_tags *tags, unsigned *instance, char *err,
                        size_t errlen)
{
	const struct dkim_tag *t = dkim_tags_get(tags, "i");
	if (t == NULL) {
		snprintf(err, errlen, "no i= tag");
		return -1;
	}
	if (!parse_instance(t->value, t->value_len, instance)) {
		snprintf(err, errlen, "bad instance (i=)");
		return -1;
	}
	return 0;
}

int arc_field_instance(const struct mail_field *f, enum arc_field kind, unsigned *instance,
                       char *err, size_t errlen)
{
	if (kind == ARC_FIELD_AAR) {
		const char *p;
		size_t plen;
		return arc_aar_parse(f->value, f->value_len, instance, &p, &plen, err, errlen);
	}
	struct dkim_tags tags;
	if (dkim_tags_parse(&tags, f->value, f->value_len, err, errlen) < 0)
		return -1;
	return tag_instance(&tags, instance, err, errlen);
}

int arc_ams_parse(struct arc_ams_sig *ams, const char *value, size_t len, char *err,
                  size_t errlen)
{
	struct dkim_tags tags;
	ams->instance = 0;
	if (dkim_tags_parse(&tags, value, len, err, errlen) < 0 ||
	    tag_instance(&tags, &ams->instance, err, errlen) < 0)
		return -1;
	return dkim_sig_parse_kind(&ams->sig, DKIM_SIG_ARC_AMS, value, len, err, errlen);
}

int arc_seal_parse(struct arc_seal_sig *as, const char *value, size_t len, char *err,
                   size_t errlen)
{
	struct dkim_tags tags;
	as->instance = 0;
	as->cv = ARC_CV_FAIL;
	if (dkim_tags_parse(&tags, value, len, err, errlen) < 0 ||
	    tag_instance(&tags, &as->instance, err, errlen) < 0)
		return -1;
	const struct dkim_tag *t = dkim_tags_get(&tags, "cv");
	if (t == NULL) {
		snprintf(err, errlen, "no cv= tag");
		return -1;
	}
	/* RFC 8617 4.4: the values are case-insensitive keywords */
	if (dkim_tag_is_ci(t->value, t->value_len, "none"))
		as->cv = ARC_CV_NONE;
	else if (dkim_tag_is_ci(t->value, t->value_len, "pass"))
		as->cv = ARC_CV_PASS;
	else if (dkim_tag_is_ci(t->value, t->value_len, "fail"))
		as->cv = ARC_CV_FAIL;
	else {
		snprintf(err, errlen, "unknown cv= value");
		return -1;
	}
	return dkim_sig_parse_kind(&as->sig, DKIM_SIG_ARC_SEAL, value, len, err, errlen);
}
