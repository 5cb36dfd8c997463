/* SPF macro strings (RFC 7208 7); see spf_macro.h. */
#include "mailauth/spf_macro.h"

#include <stdio.h>
#include <string.h>

/* A working buffer for a domain expansion: big enough that the last
 * SPF_DOMAIN_MAX octets and the label boundary before them survive. */
#define DOMAIN_WORK 1024
/* RFC 7208 7.1 gives no bound on the DIGIT transformer; more parts than any
 * value can have are as good as all of them. */
#define KEEP_MAX 1000

/* Where expanded text goes. A domain keeps its tail when it overflows (the
 * left is truncated anyway); an explanation keeps its head. */
struct out {
	char *buf;
	size_t cap, len;
	bool keep_tail;
	bool cut;    /* octets were dropped */
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o == NULL)
		return;
	if (o->len + n <= o->cap) {
		memcpy(o->buf + o->len, s, n);
		o->len += n;
		return;
	}
	o->cut = true;
	if (!o->keep_tail) {
		memcpy(o->buf + o->len, s, o->cap - o->len);
		o->len = o->cap;
		return;
	}
	if (n >= o->cap) {
		memcpy(o->buf, s + (n - o->cap), o->cap);
		o->len = o->cap;
		return;
	}
	size_t drop = o->len + n - o->cap;
	memmove(o->buf, o->buf + drop, o->len - drop);
	o->len -= drop;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 3986 2.3 */
static bool is_unreserved(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* The value of macro letter l (lower case). */
static const char *letter_value(char l, const struct spf_macro_vars *v, char *tmp, size_t tmplen)
{
	const char *s = NULL;
	switch (l) {
	case 's': s = v->sender; break;
	case 'l': s = v->local; break;
	case 'o': s = v->sender_domain; break;
	case 'd': s = v->domain; break;
	case 'i': s = v->ip_dots; break;
	case 'c': s = v->ip_text; break;
	case 'p': s = v->validated != NULL ? v->validated : "unknown"; break;
	case 'v': s = v->ipv6 ? "ip6" : "in-addr"; break;
	case 'h': s = v->helo; break;
	case 'r': s = v->receiver != NULL && v->receiver[0] != '\0' ? v->receiver : "unknown"; break;
	case 't':
		snprintf(tmp, tmplen, "%lld", v->now);
		s = tmp;
		break;
	}
	return s != NULL ? s : "";
}

/* The transformers and delimiters of one macro (RFC 7208 7.1). */
struct transform {
	unsigned keep;       /* 0: all parts */
	bool reverse;
	bool upper;          /* URL-escape the result */
	char delims[8];      /* "" means "." */
};

static bool is_delim(const struct transform *t, char c)
{
	return t->delims[0] == '\0' ? c == '.' : strchr(t->delims, c) != NULL;
}

static size_t count_parts(const char *val, const struct transform *t)
{
	size_t n = 1;
	for (const char *p = val; *p != '\0'; p++)
		n += is_delim(t, *p);
	return n;
}

/* Finds part idx (0-based, left to right) of val. */
static const char *nth_part(const char *val, const struct transform *t, size_t idx, size_t *len)
{
	const char *p = val;
	for (size_t i = 0; i < idx; i++) {
		while (*p != '\0' && !is_delim(t, *p))
			p++;
		p++;
	}
	const char *e = p;
	while (*e != '\0' && !is_delim(t, *e))
		e++;
	*len = (size_t)(e - p);
	return p;
}

static void put_escaped(struct out *o, const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		if (!upper || is_unreserved(s[i])) {
			out_put(o, &s[i], 1);
		} else {
			char hex[4];
			snprintf(hex, sizeof(hex), "%%%02X", (unsigned char)s[i]);
			out_put(o, hex, 3);
		}
	}
}

/* Splits val into parts, reverses and keeps the rightmost ones, joins them
 * with dots (RFC 7208 7.3). */
static void put_transformed(struct out *o, const char *val, const struct transform *t)
{
	size_t n = count_parts(val, t);
	size_t keep = t->keep == 0 || t->keep > n ? n : t->keep;
	for (size_t k = 0; k < keep; k++) {
		/* the k-th part written: from the right end of the (reversed) list */
		size_t idx = t->reverse ? keep - 1 - k : n - keep + k;
		size_t len;
		const char *part = nth_part(val, t, idx, &len);
		if (k > 0)
			out_put(o, ".", 1);
		put_escaped(o, part, len, t->upper);
	}
}

/* Reads "letter transformers *delimiter }" at s (after "%{"). Returns the
 * octets read, or 0 on a syntax error. */
static size_t read_macro(const char *s, size_t len, enum spf_macro_ctx ctx, char *letter,
                         struct transform *t)
{
	size_t i = 0;
	memset(t, 0, sizeof(*t));
	if (len == 0)
		return 0;
	char l = lower(s[i]);
	const char *allowed = ctx == SPF_MACRO_EXP ? "slodiphvcrt" : "slodiphv";
	if (!is_alpha(s[i]) || strchr(allowed, l) == NULL)
		return 0;
	t->upper = s[i] != l;
	*letter = l;
	i++;
	bool digits = false;
	unsigned keep = 0;
	for (; i < len && is_digit(s[i]); i++) {
		digits = true;
		keep = keep * 10 + (unsigned)(s[i] - '0');
		if (keep > KEEP_MAX)
			keep = KEEP_MAX;
	}
	if (digits && keep == 0)
		return 0; /* RFC 7208 7.1: "the value MUST be nonzero" */
	t->keep = keep;
	if (i < len && lower(s[i]) == 'r') {
		t->reverse = true;
		i++;
	}
	size_t nd = 0;
	for (; i < len && strchr(".-+,/_=", s[i]) != NULL && s[i] != '\0'; i++) {
		if (strchr(t->delims, s[i]) == NULL && nd + 1 < sizeof(t->delims))
			t->delims[nd++] = s[i];
	}
	if (i >= len || s[i] != '}')
		return 0;
	return i + 1;
}

/* Walks a macro string, writing its expansion to o when v is not NULL.
 * *macro_end is the offset just past the last macro-expand. 0 or -1. */
static int walk(const char *s, size_t len, enum spf_macro_ctx ctx,
                const struct spf_macro_vars *v, struct out *o, bool *uses_p, size_t *macro_end)
{
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c != '%') {
			bool ok = (c > 0x20 && c < 0x7f) || (c == ' ' && ctx == SPF_MACRO_EXP);
			if (!ok)
				return -1;
			out_put(o, &c, 1);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		char n = s[i + 1];
		if (n == '%' || n == '_' || n == '-') {
			out_put(o, n == '%' ? "%" : n == '_' ? " " : "%20", n == '-' ? 3 : 1);
			i += 2;
		} else if (n == '{') {
			char letter = 0;
			struct transform t;
			size_t used = read_macro(s + i + 2, len - i - 2, ctx, &letter, &t);
			if (used == 0)
				return -1;
			if (letter == 'p' && uses_p != NULL)
				*uses_p = true;
			if (v != NULL) {
				char tmp[32];
				put_transformed(o, letter_value(letter, v, tmp, sizeof(tmp)), &t);
			}
			i += 2 + used;
		} else {
			return -1;
		}
		*macro_end = i;
	}
	return 0;
}

bool spf_macro_valid(const char *s, size_t len, enum spf_macro_ctx ctx, bool *uses_p)
{
	size_t end = 0;
	return walk(s, len, ctx, NULL, NULL, uses_p, &end) == 0;
}

/* RFC 7208 7.1: toplabel = ( *alphanum ALPHA *alphanum ) /
 *                          ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool is_toplabel(const char *s, size_t n)
{
	bool alpha = false, dash = false;
	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

bool spf_domain_spec_valid(const char *s, size_t len, bool *uses_p)
{
	size_t macro_end = 0;
	if (len == 0 || walk(s, len, SPF_MACRO_DOMAIN, NULL, NULL, uses_p, &macro_end) < 0)
		return false;
	if (macro_end == len)
		return true;
	size_t n = len;
	if (s[n - 1] == '.')
		n--;
	if (macro_end == n && n > 0)
		return true;
	size_t dot = n;
	while (dot > 0 && s[dot - 1] != '.')
		dot--;
	/* "." toplabel: a dot must come before the top label */
	return dot > 0 && dot > macro_end && is_toplabel(s + dot, n - dot);
}

int spf_expand_domain(const char *s, size_t len, const struct spf_macro_vars *v, char *out,
                      size_t outlen)
{
	char work[DOMAIN_WORK];
	struct out o = { .buf = work, .cap = sizeof(work), .keep_tail = true };
	size_t end = 0;
	if (outlen < SPF_DOMAIN_MAX + 1 || walk(s, len, SPF_MACRO_DOMAIN, v, &o, NULL, &end) < 0)
		return -1;
	size_t start = 0, n = o.len;
	if (n > 0 && work[n - 1] == '.')
		n--;
	/* a cut left a partial label at the start: drop it with the rest */
	while (o.cut || n - start > SPF_DOMAIN_MAX) {
		const char *dot = memchr(work + start, '.', n - start);
		if (dot == NULL)
			return -1;
		start = (size_t)(dot - work) + 1;
		o.cut = false;
	}
	memcpy(out, work + start, n - start);
	out[n - start] = '\0';
	return 0;
}

int spf_expand_exp(const char *s, size_t len, const struct spf_macro_vars *v, char *out,
                   size_t outlen)
{
	if (outlen == 0)
		return -1;
	struct out o = { .buf = out, .cap = outlen - 1 };
	size_t end = 0;
	if (walk(s, len, SPF_MACRO_EXP, v, &o, NULL, &end) < 0)
		return -1;
	out[o.len] = '\0';
	return 0;
}

bool spf_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > SPF_DOMAIN_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > 63) {
			return false;
		}
	}
	return label > 0;
}
