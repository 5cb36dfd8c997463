/* Parsing an SPF record into terms; see spf_parse.h. */
#include "mailauth/spf_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "mailauth/spf_macro.h"

static const char *const mech_names[] = {
	[SPF_MECH_ALL] = "all", [SPF_MECH_INCLUDE] = "include", [SPF_MECH_A] = "a",
	[SPF_MECH_MX] = "mx", [SPF_MECH_PTR] = "ptr", [SPF_MECH_IP4] = "ip4",
	[SPF_MECH_IP6] = "ip6", [SPF_MECH_EXISTS] = "exists",
};

const char *spf_mech_name(enum spf_mech m)
{
	return (size_t)m < sizeof(mech_names) / sizeof(mech_names[0]) ? mech_names[m] : "?";
}

bool spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

void spf_record_clear(struct spf_record *rec)
{
	free(rec->text);
	free(rec->mech);
	memset(rec, 0, sizeof(*rec));
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* A term being read: [s, e). */
struct span {
	const char *s;
	size_t n;
};

static bool span_is(struct span name, const char *word)
{
	return name.n == strlen(word) && strncasecmp(name.s, word, name.n) == 0;
}

/* Reads a prefix length "0" or [1-9][0-9]* no greater than max; -1 if not. */
static int read_prefix(const char *s, size_t n, int max)
{
	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Takes a trailing "/N" (or "//N" when dbl) off *rest when there is one.
 * Returns the prefix, -1 when there is none, -2 when it is out of range. */
static int take_cidr(struct span *rest, bool dbl, int max)
{
	size_t n = rest->n, d = n;
	while (d > 0 && rest->s[d - 1] >= '0' && rest->s[d - 1] <= '9')
		d--;
	size_t slashes = dbl ? 2 : 1;
	if (d == n || d < slashes || rest->s[d - 1] != '/' || (dbl && rest->s[d - 2] != '/'))
		return -1;
	if (!dbl && d >= 2 && rest->s[d - 2] == '/')
		return -1; /* "//N" is the IPv6 length */
	int v = read_prefix(rest->s + d, n - d, max);
	if (v == -1) {
		/* "/024" or "/33": not a length of ours; RFC 7208 5.6 makes it an error */
		return -2;
	}
	rest->n = d - slashes;
	return v;
}

static int fail(char *err, size_t errlen, const char *what, struct span term)
{
	snprintf(err, errlen, "%s: %.*s", what, (int)(term.n > 64 ? 64 : term.n), term.s);
	return -1;
}

/* ":" domain-spec at rest (required or optional). */
static int read_spec(struct spf_mechanism *m, struct span rest, bool required)
{
	if (rest.n == 0)
		return required ? -1 : 0;
	if (rest.s[0] != ':')
		return -1;
	m->spec = rest.s + 1;
	m->speclen = rest.n - 1;
	return spf_domain_spec_valid(m->spec, m->speclen, &m->spec_uses_p) ? 0 : -1;
}

/* ip4:/ip6: network with an optional prefix length. */
static int read_network(struct spf_mechanism *m, struct span rest, bool v6)
{
	char addr[64];
	if (rest.n < 2 || rest.s[0] != ':')
		return -1;
	const char *a = rest.s + 1;
	size_t an = rest.n - 1;
	const char *slash = memchr(a, '/', an);
	size_t alen = slash != NULL ? (size_t)(slash - a) : an;
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, m->addr) != 1)
		return -1;
	if (slash != NULL) {
		int bits = read_prefix(slash + 1, an - alen - 1, v6 ? 128 : 32);
		if (bits < 0)
			return -1;
		if (v6)
			m->cidr6 = bits;
		else
			m->cidr4 = bits;
	}
	return 0;
}

static int read_mechanism(struct spf_mechanism *m, struct span name, struct span rest)
{
	size_t k;
	for (k = 0; k < sizeof(mech_names) / sizeof(mech_names[0]); k++) {
		if (span_is(name, mech_names[k]))
			break;
	}
	if (k == sizeof(mech_names) / sizeof(mech_names[0]))
		return -1;
	m->mech = (enum spf_mech)k;
	m->cidr4 = 32;
	m->cidr6 = 128;
	switch (m->mech) {
	case SPF_MECH_ALL:
		return rest.n == 0 ? 0 : -1;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		return read_spec(m, rest, true);
	case SPF_MECH_PTR:
		return read_spec(m, rest, false);
	case SPF_MECH_IP4:
		return read_network(m, rest, false);
	case SPF_MECH_IP6:
		return read_network(m, rest, true);
	case SPF_MECH_A:
	case SPF_MECH_MX: {
		int v6 = take_cidr(&rest, true, 128);
		int v4 = v6 == -2 ? -2 : take_cidr(&rest, false, 32);
		if (v6 == -2 || v4 == -2)
			return -1;
		if (v6 >= 0)
			m->cidr6 = v6;
		if (v4 >= 0)
			m->cidr4 = v4;
		return read_spec(m, rest, false);
	}
	}
	return -1;
}

/* name "=" value: redirect=, exp= or an unknown modifier (RFC 7208 6). */
static int read_modifier(struct spf_record *rec, struct span name, struct span value,
                         struct span term, char *err, size_t errlen)
{
	bool is_redirect = span_is(name, "redirect"), is_exp = span_is(name, "exp");
	if (!(name.s[0] >= 'a' && name.s[0] <= 'z') && !(name.s[0] >= 'A' && name.s[0] <= 'Z'))
		return fail(err, errlen, "bad modifier name", term);
	if (!is_redirect && !is_exp) {
		/* RFC 7208 6: unknown modifiers are ignored, but must parse */
		if (!spf_macro_valid(value.s, value.n, SPF_MACRO_EXP, NULL))
			return fail(err, errlen, "bad macro", term);
		return 0;
	}
	const char **slot = is_redirect ? &rec->redirect : &rec->exp;
	if (*slot != NULL)
		return fail(err, errlen, "modifier given twice", term);
	bool *uses_p = is_redirect ? &rec->redirect_uses_p : &rec->exp_uses_p;
	if (!spf_domain_spec_valid(value.s, value.n, uses_p))
		return fail(err, errlen, "bad domain-spec", term);
	*slot = value.s;
	*(is_redirect ? &rec->redirect_len : &rec->exp_len) = value.n;
	return 0;
}

static int read_term(struct spf_record *rec, struct span term, char *err, size_t errlen)
{
	struct span t = term;
	char qual = 0;
	if (strchr("+-~?", t.s[0]) != NULL) {
		qual = t.s[0];
		t.s++;
		t.n--;
	}
	size_t nl = 0;
	while (nl < t.n && is_name_char(t.s[nl]))
		nl++;
	struct span name = { t.s, nl };
	struct span rest = { t.s + nl, t.n - nl };
	if (nl == 0)
		return fail(err, errlen, "bad term", term);
	if (rest.n > 0 && rest.s[0] == '=') {
		if (qual != 0)
			return fail(err, errlen, "qualified modifier", term);
		rest.s++;
		rest.n--;
		return read_modifier(rec, name, rest, term, err, errlen);
	}
	struct spf_mechanism *m = &rec->mech[rec->nmech];
	memset(m, 0, sizeof(*m));
	m->qual = qual != 0 ? qual : '+';
	if (read_mechanism(m, name, rest) < 0)
		return fail(err, errlen, "bad mechanism", term);
	rec->nmech++;
	return 0;
}

int spf_record_parse(const char *txt, size_t len, struct spf_record *rec, char *err,
                     size_t errlen)
{
	memset(rec, 0, sizeof(*rec));
	if (len > SPF_RECORD_MAX) {
		snprintf(err, errlen, "record over %d octets", SPF_RECORD_MAX);
		return -1;
	}
	if (!spf_record_is_spf1(txt, len)) {
		snprintf(err, errlen, "not an SPF record");
		return -1;
	}
	if (memchr(txt, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL in record");
		return -1;
	}
	rec->text = xmalloc(len + 1);
	memcpy(rec->text, txt, len);
	rec->text[len] = '\0';
	size_t maxterms = 1;
	for (size_t i = 0; i < len; i++)
		maxterms += txt[i] == ' ';
	rec->mech = xcalloc(maxterms, sizeof(*rec->mech));
	const char *p = rec->text + 6, *end = rec->text + len;
	for (;;) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			return 0;
		const char *e = memchr(p, ' ', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if (read_term(rec, (struct span){ p, (size_t)(e - p) }, err, errlen) < 0)
			return -1;
		p = e;
	}
}
