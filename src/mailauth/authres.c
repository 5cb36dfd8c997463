/* Authentication-Results (RFC 8601); see authres.h. */
#include "mailauth/authres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/utf8.h"

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define LINE_SOFT_MAX 78

/* ---- entries ---- */

static void add_prop(struct authres_entry *e, const char *name, const char *value)
{
	if (value != NULL && value[0] != '\0' && e->nprops < AUTHRES_PROPS_MAX)
		e->props[e->nprops++] = (struct authres_prop){ name, value };
}

void authres_spf(struct authres_entry *e, const char *result, const char *mailfrom,
                 const char *helo)
{
	*e = (struct authres_entry){ .method = "spf", .result = result };
	if (mailfrom != NULL && mailfrom[0] != '\0')
		add_prop(e, "smtp.mailfrom", mailfrom);
	else
		add_prop(e, "smtp.helo", helo);
}

void authres_dkim(struct authres_entry *e, const char *result, const char *d, const char *s,
                  const char *b)
{
	*e = (struct authres_entry){ .method = "dkim", .result = result };
	add_prop(e, "header.d", d);
	add_prop(e, "header.s", s);
	add_prop(e, "header.b", b);   /* cut to 8 characters when written */
}

void authres_dmarc(struct authres_entry *e, const char *result, const char *from_domain,
                   const char *policy, const char *comment)
{
	*e = (struct authres_entry){ .method = "dmarc", .result = result, .comment = comment };
	add_prop(e, "header.from", from_domain);
	add_prop(e, "policy.dmarc", policy);
}

void authres_arc(struct authres_entry *e, const char *result)
{
	*e = (struct authres_entry){ .method = "arc", .result = result };
}

/* ---- writing values ---- */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 8601 2.2 keyword (Let-dig [Ldh-str]); with '.' inside for ptype.property */
static bool is_keyword(const char *s, bool dotted)
{
	if (s == NULL || !is_alnum((unsigned char)s[0]))
		return false;
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) && *s != '-' && !(dotted && *s == '.'))
			return false;
	return true;
}

/* RFC 2045 5.1 token: printable ASCII but tspecials */
static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

/* RFC 8601 2.2 pvalue's other form: [local-part "@"] domain-name, with a
 * dot-atom local part */
static bool is_plain_address(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	if (at == NULL || at == s || memchr(at + 1, '@', n - (size_t)(at + 1 - s)) != NULL)
		return false;
	for (const char *p = s; p < at; p++)
		if (!is_alnum((unsigned char)*p) && strchr("!#$%&'*+-/=?^_`{|}~.", *p) == NULL)
			return false;
	for (const char *p = at + 1; p < s + n; p++)
		if (!is_alnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return false;
	return at + 1 < s + n;
}

/* Copies at most max octets of in: control octets and broken UTF-8
 * become '?', a sequence that does not fit whole is left out. */
static size_t clean_text(const char *in, size_t max, char *out)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n;) {
		size_t seq = u[i] >= 0x80 ? utf8_seq_len(u + i, n - i) : 1;
		bool bad = u[i] < 0x20 || u[i] == 0x7f || seq == 0;
		size_t take = bad ? 1 : seq;
		if (o + take > max)
			break;
		if (bad)
			out[o] = '?';
		else
			memcpy(out + o, u + i, take);
		o += take;
		i += bad ? 1 : seq;
	}
	out[o] = '\0';
	return o;
}

/* A value as written: as it is when it is a token or (a pvalue, not the
 * authserv-id) an address, else a quoted-string. */
static void put_value(struct buf *b, const char *value, size_t max, bool address_ok)
{
	char clean[AUTHRES_VALUE_MAX + 1];
	size_t n = clean_text(value, max < AUTHRES_VALUE_MAX ? max : AUTHRES_VALUE_MAX, clean);

	if (is_token(clean, n) || (address_ok && is_plain_address(clean, n))) {
		buf_append(b, clean, n);
		return;
	}
	buf_puts(b, "\"");
	for (size_t i = 0; i < n; i++) {
		if (clean[i] == '"' || clean[i] == '\\')
			buf_puts(b, "\\");
		buf_append(b, &clean[i], 1);
	}
	buf_puts(b, "\"");
}

static void put_comment(struct buf *b, const char *text)
{
	char clean[AUTHRES_VALUE_MAX + 1];
	size_t n = clean_text(text, AUTHRES_VALUE_MAX, clean);

	buf_puts(b, "(");
	for (size_t i = 0; i < n; i++) {
		if (clean[i] == '(' || clean[i] == ')' || clean[i] == '\\')
			buf_puts(b, "\\");
		buf_append(b, &clean[i], 1);
	}
	buf_puts(b, ")");
}

/* ---- the field ---- */

/* The field under construction and the length of its last line */
struct writer {
	struct buf b;
	size_t col;
};

/* Appends one piece: on the same line when it fits, else on a new one */
static void put_piece(struct writer *w, const struct buf *piece, bool new_line)
{
	if (new_line || w->col + 1 + piece->len > LINE_SOFT_MAX) {
		buf_puts(&w->b, "\n\t");
		w->col = 1;
	} else {
		buf_puts(&w->b, " ");
		w->col++;
	}
	buf_append(&w->b, piece->data, piece->len);
	w->col += piece->len;
}

/* One resinfo: "method=result (comment)", then reason= and each property
 * as pieces that fold apart; ';' after all but the last */
static void put_entry(struct writer *w, const struct authres_entry *e, bool last)
{
	struct buf pieces[2 + AUTHRES_PROPS_MAX] = { 0 };
	size_t n = 0;

	buf_puts(&pieces[n], e->method);
	buf_puts(&pieces[n], "=");
	buf_puts(&pieces[n], e->result);
	if (e->comment != NULL && e->comment[0] != '\0') {
		buf_puts(&pieces[n], " ");   /* the comment stays with the result */
		put_comment(&pieces[n], e->comment);
	}
	n++;
	if (e->reason != NULL && e->reason[0] != '\0') {
		buf_puts(&pieces[n], "reason=");
		put_value(&pieces[n++], e->reason, AUTHRES_VALUE_MAX, false);
	}
	for (size_t i = 0; i < e->nprops && i < AUTHRES_PROPS_MAX; i++) {
		const struct authres_prop *p = &e->props[i];
		if (!is_keyword(p->name, true) || p->value == NULL || p->value[0] == '\0')
			continue;
		buf_puts(&pieces[n], p->name);
		buf_puts(&pieces[n], "=");
		/* RFC 6008 2: enough of b= to tell signatures apart */
		put_value(&pieces[n++], p->value,
		          strcmp(p->name, "header.b") == 0 ? 8 : AUTHRES_VALUE_MAX, true);
	}
	if (!last)
		buf_puts(&pieces[n - 1], ";");
	for (size_t i = 0; i < n; i++) {
		put_piece(w, &pieces[i], i == 0);
		buf_free(&pieces[i]);
	}
}

static bool entry_valid(const struct authres_entry *e)
{
	return is_keyword(e->method, false) && is_keyword(e->result, false);
}

char *authres_header_new(const char *authserv_id, const struct authres_entry *e, size_t n,
                         size_t *len)
{
	struct writer w = { .b = { 0 } };
	size_t last = n;

	buf_puts(&w.b, "Authentication-Results: ");
	put_value(&w.b, authserv_id, AUTHRES_VALUE_MAX, false);
	buf_puts(&w.b, ";");
	w.col = w.b.len;
	for (size_t i = 0; i < n; i++)
		if (entry_valid(&e[i]))
			last = i;
	if (last == n)
		buf_puts(&w.b, " none");   /* RFC 8601 2.2 no-result */
	for (size_t i = 0; i < n; i++)
		if (entry_valid(&e[i]))
			put_entry(&w, &e[i], i == last);
	buf_puts(&w.b, "\n");
	*len = w.b.len;
	return w.b.data;
}

/* ---- reading ---- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips white space, folds and comments (nested, with quoted-pairs);
 * NULL when a comment does not end. */
static const char *skip_cfws(const char *p, const char *end)
{
	while (p < end) {
		if (is_wsp(*p)) {
			p++;
			continue;
		}
		if (*p != '(')
			break;
		size_t depth = 0;
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (p == end)
			return NULL;
		p++;
	}
	return p;
}

int authres_read_id(const char *value, size_t len, char *out, size_t outlen)
{
	const char *p = skip_cfws(value, value + len), *end = value + len;
	size_t o = 0;

	if (p == NULL || p == end || outlen == 0)
		return -1;
	if (*p == '"') {
		/* quoted-string: quoted-pairs unescaped, folds removed */
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '\r' || *p == '\n')
				continue;
			/* qtext and quoted-pair hold no NUL or other control */
			if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
				return -1;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *p;
		}
		if (p == end)
			return -1;
	} else {
		/* token: it ends where a tspecial, white space or '(' begins; what
		 * follows does not matter, a prefix that names us is a claim */
		for (; p < end && is_token(p, 1); p++) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* Equal without regard to case, one trailing dot on either side ignored */
static bool same_id(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 0 && a[na - 1] == '.')
		na--;
	if (nb > 0 && b[nb - 1] == '.')
		nb--;
	return na == nb && na > 0 && strncasecmp(a, b, na) == 0;
}

bool authres_claims_id(const char *value, size_t len, const char *authserv_id)
{
	char id[AUTHRES_VALUE_MAX + 1];
	return authres_read_id(value, len, id, sizeof(id)) == 0 && same_id(id, authserv_id);
}

bool authres_field_claims(const struct mail_field *f, const char *authserv_id)
{
	return mail_field_is(f, "Authentication-Results") &&
	       authres_claims_id(f->value, f->value_len, authserv_id);
}

/* The next ';' outside comments and quoted strings, or end. */
static const char *next_semicolon(const char *p, const char *end)
{
	while (p < end && *p != ';') {
		if (*p == '(') {
			const char *q = skip_cfws(p, end);
			p = q != NULL ? q : end;
		} else if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			p += p < end;
		} else {
			p++;
		}
	}
	return p;
}

/* A keyword (RFC 8601 2.2: alphanumerics and '-') at p; its end. */
static const char *keyword_end(const char *p, const char *end)
{
	while (p < end && (is_alnum((unsigned char)*p) || *p == '-'))
		p++;
	return p;
}

int authres_method_result(const char *payload, const char *method, char *out, size_t outlen)
{
	const char *end = payload + strlen(payload), *p = next_semicolon(payload, end);
	size_t mlen = strlen(method);

	while (p < end) {
		p = skip_cfws(p + 1, end);
		if (p == NULL)
			return -1;
		const char *m = p, *mend = keyword_end(p, end);
		p = mend;
		if (p < end && *p == '/')       /* method-version */
			p = keyword_end(p + 1, end);
		p = skip_cfws(p, end);
		if (p != NULL && p < end && *p == '=' && (size_t)(mend - m) == mlen &&
		    strncasecmp(m, method, mlen) == 0) {
			const char *r = skip_cfws(p + 1, end);
			if (r == NULL)
				return -1;
			const char *rend = keyword_end(r, end);
			if (rend == r || (size_t)(rend - r) >= outlen)
				return -1;
			memcpy(out, r, (size_t)(rend - r));
			out[rend - r] = '\0';
			return 0;
		}
		p = next_semicolon(p != NULL ? p : end, end);
	}
	return -1;
}
