/* Reading a DMARC policy record; see dmarc_record.h. The tag list is RFC
 * 6376 3.2's (RFC 7489 6.4 builds on it); tag names and the policy words are
 * compared without regard to case, as the ABNF's quoted strings are and as
 * deployed receivers do; "DMARC1" must match exactly (RFC 7489 6.3). */
#include "mailauth/dmarc_record.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

struct span {
	const char *s;
	size_t n;
};

static bool is_wsp(char c)
{
	/* FWS as it reaches us from DNS text: the line ends are kept lenient */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span trim(const char *s, size_t n)
{
	while (n > 0 && is_wsp(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	return (struct span){ s, n };
}

static bool span_is(struct span v, const char *word)
{
	return v.n == strlen(word) && strncasecmp(v.s, word, v.n) == 0;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* tag-name = ALPHA *ALNUMPUNC */
static bool valid_tag_name(struct span t)
{
	if (t.n == 0 || !is_alpha(t.s[0]))
		return false;
	for (size_t i = 1; i < t.n; i++)
		if (!is_alpha(t.s[i]) && !is_digit(t.s[i]) && t.s[i] != '_')
			return false;
	return true;
}

/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ], VALCHAR = %x21-3A / %x3C-7E;
 * the value is trimmed, so white space is only ever between tvals */
static bool valid_tag_value(struct span v)
{
	for (size_t i = 0; i < v.n; i++) {
		unsigned char c = (unsigned char)v.s[i];
		if (!is_wsp((char)c) && (c < 0x21 || c > 0x7e || c == ';'))
			return false;
	}
	return true;
}

/* One tag-spec: name and value, trimmed. false when it breaks the grammar. */
static bool split_tag(struct span spec, struct span *name, struct span *value)
{
	const char *eq = memchr(spec.s, '=', spec.n);
	if (eq == NULL)
		return false;
	*name = trim(spec.s, (size_t)(eq - spec.s));
	*value = trim(eq + 1, spec.n - (size_t)(eq + 1 - spec.s));
	return valid_tag_name(*name) && valid_tag_value(*value);
}

/* The next ';'-separated piece of [*p, end), trimmed; false at the end. */
static bool next_spec(const char **p, const char *end, struct span *spec)
{
	if (*p > end)
		return false;
	const char *semi = memchr(*p, ';', (size_t)(end - *p));
	const char *stop = semi != NULL ? semi : end;
	*spec = trim(*p, (size_t)(stop - *p));
	*p = stop + 1;
	return true;
}

/* The first non-empty tag-spec is v=DMARC1. */
static bool starts_with_version(const char *txt, size_t len, const char **rest)
{
	const char *p = txt, *end = txt + len;
	struct span spec, name, value;

	while (next_spec(&p, end, &spec)) {
		if (spec.n == 0)
			continue;
		if (!split_tag(spec, &name, &value) || !span_is(name, "v"))
			return false;
		*rest = p;
		return value.n == 6 && memcmp(value.s, "DMARC1", 6) == 0;
	}
	return false;
}

bool dmarc_is_record(const char *txt, size_t len)
{
	const char *rest;
	return len <= DMARC_RECORD_MAX && starts_with_version(txt, len, &rest);
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE: return "none";
	case DMARC_POLICY_QUARANTINE: return "quarantine";
	case DMARC_POLICY_REJECT: return "reject";
	case DMARC_POLICY_UNSET: break;
	}
	return "unset";
}

/* ---- the values ---- */

static bool parse_policy(struct span v, enum dmarc_policy *out)
{
	if (span_is(v, "none"))
		*out = DMARC_POLICY_NONE;
	else if (span_is(v, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (span_is(v, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

static void parse_align(struct span v, enum dmarc_align *out)
{
	if (span_is(v, "s"))
		*out = DMARC_ALIGN_STRICT;
	else if (span_is(v, "r"))
		*out = DMARC_ALIGN_RELAXED;
	/* anything else: the default stays */
}

/* 1*DIGIT up to max; false (and *out untouched) otherwise */
static bool parse_number(struct span v, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;
	if (v.n == 0)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		if (!is_digit(v.s[i]))
			return false;
		n = n * 10 + (uint64_t)(v.s[i] - '0');
		if (n > max)
			return false;
	}
	*out = (uint32_t)n;
	return true;
}

/* fo = "0" / "1" / "d" / "s" *( *WSP ":" *WSP ...) ; an invalid list keeps the default */
static void parse_fo(struct span v, unsigned *out)
{
	unsigned fo = 0;
	const char *p = v.s, *end = v.s + v.n;

	while (p <= end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *stop = colon != NULL ? colon : end;
		struct span opt = trim(p, (size_t)(stop - p));
		if (span_is(opt, "0"))
			fo |= DMARC_FO_0;
		else if (span_is(opt, "1"))
			fo |= DMARC_FO_1;
		else if (span_is(opt, "d"))
			fo |= DMARC_FO_D;
		else if (span_is(opt, "s"))
			fo |= DMARC_FO_S;
		else
			return;
		p = stop + 1;
	}
	*out = fo;
}

/* dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]; the URI needs
 * a scheme and something after it, and holds no ',' '!' or white space
 * (RFC 7489 6.4: they are %-encoded in it) */
static bool valid_uri(struct span u)
{
	const char *bang = memchr(u.s, '!', u.n);
	size_t uri_len = bang != NULL ? (size_t)(bang - u.s) : u.n;
	size_t i = 0;

	if (u.n > DMARC_URI_MAX || uri_len == 0 || !is_alpha(u.s[0]))
		return false;
	while (i < uri_len && (is_alpha(u.s[i]) || is_digit(u.s[i]) || u.s[i] == '+' ||
	                       u.s[i] == '-' || u.s[i] == '.'))
		i++;
	if (i == uri_len || u.s[i] != ':' || i + 1 == uri_len)
		return false;
	for (i++; i < uri_len; i++)
		if (is_wsp(u.s[i]) || u.s[i] == ',')
			return false;
	if (bang == NULL)
		return true;
	size_t j = uri_len + 1, digits = 0;
	while (j < u.n && is_digit(u.s[j])) {
		j++;
		digits++;
	}
	if (digits == 0)
		return false;
	if (j < u.n && strchr("kmgtKMGT", u.s[j]) != NULL)
		j++;
	return j == u.n;
}

/* Keeps the valid URIs of a list (up to DMARC_URIS_MAX); returns how many
 * were valid, kept or not. */
static size_t parse_uris(struct span v, char uris[][DMARC_URI_MAX + 1], size_t *nuris)
{
	const char *p = v.s, *end = v.s + v.n;
	size_t valid = 0;

	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		struct span u = trim(p, (size_t)(stop - p));
		if (valid_uri(u)) {
			valid++;
			if (*nuris < DMARC_URIS_MAX) {
				memcpy(uris[*nuris], u.s, u.n);
				uris[(*nuris)++][u.n] = '\0';
			}
		}
		p = stop + 1;
	}
	return valid;
}

/* ---- the record ---- */

/* The tags RFC 7489 knows (and RFC 9091's np): each may be given once */
static const char *const known_tags[] = {
	"p", "sp", "np", "adkim", "aspf", "pct", "fo", "ri", "rua", "ruf", "v",
};

static int known_tag_index(struct span name)
{
	for (size_t i = 0; i < ARRAY_LEN(known_tags); i++)
		if (span_is(name, known_tags[i]))
			return (int)i;
	return -1;
}

struct parse_state {
	struct dmarc_record *rec;
	bool p_seen, p_bad, sp_bad;
	size_t rua_valid;
};

static void apply_tag(struct parse_state *st, struct span name, struct span v)
{
	struct dmarc_record *rec = st->rec;
	uint32_t n;

	if (span_is(name, "p")) {
		st->p_seen = true;
		st->p_bad = !parse_policy(v, &rec->p);
	} else if (span_is(name, "sp")) {
		st->sp_bad = !parse_policy(v, &rec->sp);
	} else if (span_is(name, "np")) {
		if (!parse_policy(v, &rec->np))
			rec->np = DMARC_POLICY_UNSET;
	} else if (span_is(name, "adkim")) {
		parse_align(v, &rec->adkim);
	} else if (span_is(name, "aspf")) {
		parse_align(v, &rec->aspf);
	} else if (span_is(name, "pct")) {
		if (parse_number(v, 100, &n))
			rec->pct = n;
	} else if (span_is(name, "fo")) {
		parse_fo(v, &rec->fo);
	} else if (span_is(name, "ri")) {
		parse_number(v, UINT32_MAX, &rec->ri);
	} else if (span_is(name, "rua")) {
		st->rua_valid = parse_uris(v, rec->rua, &rec->nrua);
	} else if (span_is(name, "ruf")) {
		parse_uris(v, rec->ruf, &rec->nruf);
	}
	/* v: handled by the caller; unknown tags: ignored (RFC 7489 6.3) */
}

__attribute__((format(printf, 3, 4)))
static enum dmarc_record_status fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return DMARC_RECORD_INVALID;
}

/* RFC 7489 6.6.3: without a valid p= (or with an invalid sp=), a valid rua=
 * makes it p=none; otherwise no policy */
static enum dmarc_record_status settle_policy(struct parse_state *st, char *err, size_t errlen)
{
	if (st->p_seen && !st->p_bad && !st->sp_bad)
		return DMARC_RECORD_OK;
	if (st->rua_valid == 0)
		return fail(err, errlen, "%s", !st->p_seen ? "no p= tag" :
		            st->p_bad ? "invalid p= value" : "invalid sp= value");
	st->rec->p = DMARC_POLICY_NONE;
	st->rec->sp = DMARC_POLICY_UNSET;
	st->rec->p_defaulted = true;
	return DMARC_RECORD_OK;
}

enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
                                            char *err, size_t errlen)
{
	struct parse_state st = { .rec = rec };
	unsigned seen = 0;
	const char *p, *end = txt + len;
	struct span spec, name, value;

	*rec = (struct dmarc_record){ .pct = 100, .fo = DMARC_FO_0, .ri = 86400 };
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > DMARC_RECORD_MAX || !starts_with_version(txt, len, &p)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "not a DMARC record (no v=DMARC1 first)");
		return DMARC_RECORD_NOT_DMARC;
	}
	seen |= 1u << known_tag_index((struct span){ "v", 1 });
	while (next_spec(&p, end, &spec)) {
		if (spec.n == 0)
			continue;   /* "p=none;;" and "; " are common; they say nothing */
		if (!split_tag(spec, &name, &value))
			return fail(err, errlen, "syntax error in \"%.*s\"", (int)(spec.n < 40 ? spec.n : 40),
			            spec.s);
		int known = known_tag_index(name);
		if (known >= 0 && (seen & (1u << known)))
			return fail(err, errlen, "tag %.*s given twice", (int)name.n, name.s);
		if (known >= 0)
			seen |= 1u << known;
		apply_tag(&st, name, value);
	}
	return settle_policy(&st, err, errlen);
}
