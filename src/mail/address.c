/* RFC 5322 3.4 address lists (with 4.4's obsolete forms and the usual
 * breakage tolerated: empty list elements, unterminated groups, quotes,
 * comments and angle brackets, addresses without a domain), and the one
 * local@domain splitter. */
#include "mail/address.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/buf.h"
#include "mail/lex.h"

enum tok_type { T_ATOM, T_QSTRING, T_DLITERAL, T_COMMENT, T_SPECIAL };

struct tok {
	size_t start, len;      /* QSTRING, COMMENT: inside the delimiters */
	enum tok_type type;
	bool space;             /* white space or a comment before it */
};

struct toks {
	const char *v;
	struct tok *t;
	size_t n, cap;
};

/* ---- tokens ---- */

static void tok_push(struct toks *ts, enum tok_type type, size_t start, size_t len, bool space)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 32;
		ts->t = xrealloc(ts->t, ts->cap * sizeof *ts->t);
	}
	ts->t[ts->n++] = (struct tok){ .start = start, .len = len, .type = type, .space = space };
}

/* Finds the end of a delimited run from v[i] (the opening octet): quoted
 * pairs skipped, comments nested; unterminated runs end at n. */
static size_t delimited_end(const char *v, size_t n, size_t i, char close, bool nest)
{
	unsigned int depth = 1;
	char open = v[i];

	for (i++; i < n; i++) {
		if (v[i] == '\\' && i + 1 < n) {
			i++;
		} else if (nest && v[i] == open) {
			depth++;
		} else if (v[i] == close && --depth == 0) {
			return i;
		}
	}
	return n;
}

static void tokenize(struct toks *ts, const char *v, size_t n)
{
	bool space = false;

	ts->v = v;
	for (size_t i = 0; i < n;) {
		char c = v[i];
		size_t e;
		if (mail_is_wsp(c) || c == '\r' || c == '\n') {
			space = true;
			i++;
			continue;
		}
		if (c == '(' || c == '"') {
			e = delimited_end(v, n, i, c == '(' ? ')' : '"', c == '(');
			tok_push(ts, c == '(' ? T_COMMENT : T_QSTRING, i + 1, e - i - 1, space);
			space = c == '(';
			i = e < n ? e + 1 : n;
			continue;
		}
		if (c == '[') {
			e = delimited_end(v, n, i, ']', false);
			e = e < n ? e + 1 : n;
			tok_push(ts, T_DLITERAL, i, e - i, space);
		} else if (strchr("<>@,;:.\\)]", c) != NULL) {
			e = i + 1;
			tok_push(ts, T_SPECIAL, i, 1, space);
		} else {
			for (e = i; e < n && !mail_is_wsp(v[e]) && v[e] != '\r' && v[e] != '\n' &&
			            strchr("()<>[]:;@\\,.\"", v[e]) == NULL; e++)
				;
			tok_push(ts, T_ATOM, i, e - i, space);
		}
		space = false;
		i = e;
	}
}

static bool is_special(const struct toks *ts, size_t i, char c)
{
	return ts->t[i].type == T_SPECIAL && ts->v[ts->t[i].start] == c;
}

static bool is_word(const struct tok *t)
{
	return t->type == T_ATOM || t->type == T_QSTRING;
}

/* Appends a token's text: quoted strings and comments without their
 * quoting (quoted-pairs resolved, folds removed). */
static void tok_text(const struct toks *ts, const struct tok *t, struct buf *out)
{
	const char *s = ts->v + t->start;

	if (t->type != T_QSTRING && t->type != T_COMMENT) {
		buf_append(out, s, t->len);
		return;
	}
	for (size_t i = 0; i < t->len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '\\' && i + 1 < t->len)
			i++;
		buf_append(out, &s[i], 1);
	}
}

/* A phrase: every token but comments, one space where the source had
 * white space or a comment between two tokens. */
static void join_phrase(const struct toks *ts, size_t a, size_t b, struct buf *out)
{
	bool sep = false;

	for (size_t i = a; i < b; i++) {
		if (ts->t[i].type == T_COMMENT) {
			sep = true;
			continue;
		}
		if (out->len > 0 && (sep || ts->t[i].space))
			buf_append(out, " ", 1);
		sep = false;
		tok_text(ts, &ts->t[i], out);
	}
}

static void join_tight(const struct toks *ts, size_t a, size_t b, struct buf *out)
{
	for (size_t i = a; i < b; i++)
		if (ts->t[i].type != T_COMMENT)
			tok_text(ts, &ts->t[i], out);
}

/* ---- addresses ---- */

struct scratch {
	struct buf name, adl, local, domain;
};

static void scratch_reset(struct scratch *s)
{
	buf_reset(&s->name);
	buf_reset(&s->adl);
	buf_reset(&s->local);
	buf_reset(&s->domain);
}

/* Part i of the view: NULL when empty. */
static void set_view(struct mail_address_view *a, int i, const struct buf *o)
{
	if (o->len > 0) {
		a->s[i] = o->data;
		a->n[i] = o->len;
	}
}

/* The last comment in [a, b), as a display name for "user@host (Name)". */
static void comment_name(const struct toks *ts, size_t a, size_t b, struct buf *out)
{
	for (size_t i = b; i-- > a;) {
		if (ts->t[i].type == T_COMMENT) {
			tok_text(ts, &ts->t[i], out);
			return;
		}
	}
}

/* From i: a local-part ("a.b", "\"x y\"", obsolete "a . b") up to stop;
 * two words in a row without a dot end it. Returns where it ended. */
static size_t local_part_end(const struct toks *ts, size_t i, size_t stop)
{
	size_t last = SIZE_MAX;

	for (; i < stop; i++) {
		const struct tok *t = &ts->t[i];
		if (t->type == T_COMMENT)
			continue;
		if (!is_word(t) && !is_special(ts, i, '.'))
			break;
		if (is_word(t) && last != SIZE_MAX && is_word(&ts->t[last]))
			break;
		last = i;
	}
	return i;
}

static size_t domain_end(const struct toks *ts, size_t i, size_t stop)
{
	size_t last = SIZE_MAX;

	for (; i < stop; i++) {
		const struct tok *t = &ts->t[i];
		bool word = t->type == T_ATOM || t->type == T_DLITERAL;
		if (t->type == T_COMMENT)
			continue;
		if (!word && !is_special(ts, i, '.'))
			break;
		if (word && last != SIZE_MAX && ts->t[last].type != T_SPECIAL)
			break;
		last = i;
	}
	return i;
}

/* name-addr: [phrase] "<" [route ":"] addr-spec ">", element [a, b). */
static void angle_addr(const struct toks *ts, size_t a, size_t lt, size_t b,
                       struct scratch *s, struct mail_address_view *v)
{
	size_t i = lt + 1, gt = b, e;

	for (size_t k = i; k < b; k++) {
		if (is_special(ts, k, '>')) {
			gt = k;
			break;
		}
	}
	join_phrase(ts, a, lt, &s->name);
	if (s->name.len == 0)
		comment_name(ts, a, b, &s->name);
	/* RFC 5322 4.4 obs-route: "@a,@b:" before the address */
	if (i < gt && is_special(ts, i, '@')) {
		for (size_t k = i; k < gt; k++) {
			if (is_special(ts, k, ':')) {
				join_tight(ts, i, k, &s->adl);
				i = k + 1;
				break;
			}
		}
	}
	e = local_part_end(ts, i, gt);
	join_tight(ts, i, e, &s->local);
	if (e < gt && is_special(ts, e, '@'))
		join_tight(ts, e + 1, domain_end(ts, e + 1, gt), &s->domain);
	set_view(v, MAIL_ADDRESS_NAME, &s->name);
	set_view(v, MAIL_ADDRESS_ADL, &s->adl);
	set_view(v, MAIL_ADDRESS_LOCAL, &s->local);
	set_view(v, MAIL_ADDRESS_DOMAIN, &s->domain);
}

/* addr-spec without angle brackets, element [a, b), at: first '@' or b.
 * Returns where the address ends (a word after it, as in "a@b c@d", starts
 * another one), or SIZE_MAX when the element holds no address at all. */
static size_t bare_addr(const struct toks *ts, size_t a, size_t at, size_t b,
                        struct scratch *s, struct mail_address_view *v)
{
	size_t start = at, words = 0, end = b;

	if (at < b) {
		/* the local part is the run of words and dots just before '@';
		 * words before it ("John Doe john@x") make a display name */
		for (size_t k = at; k-- > a;) {
			const struct tok *t = &ts->t[k];
			if (t->type == T_COMMENT)
				continue;
			if (!is_word(t) && !is_special(ts, k, '.'))
				break;
			if (is_word(t) && start < at && is_word(&ts->t[start]))
				break;
			start = k;
		}
		join_phrase(ts, a, start, &s->name);
		join_tight(ts, start, at, &s->local);
		end = domain_end(ts, at + 1, b);
		join_tight(ts, at + 1, end, &s->domain);
	} else {
		for (size_t k = a; k < b; k++)
			words += is_word(&ts->t[k]);
		if (words == 0)
			return SIZE_MAX;        /* only junk and comments */
		if (local_part_end(ts, a, b) == b)
			join_tight(ts, a, b, &s->local);    /* "user" */
		else
			join_phrase(ts, a, b, &s->name);    /* "John Doe" */
	}
	if (s->name.len == 0)
		comment_name(ts, a, end, &s->name);
	set_view(v, MAIL_ADDRESS_NAME, &s->name);
	set_view(v, MAIL_ADDRESS_LOCAL, &s->local);
	set_view(v, MAIL_ADDRESS_DOMAIN, &s->domain);
	return end;
}

void mail_address_list_parse(const char *value, size_t len, mail_address_fn *emit, void *ctx)
{
	struct toks ts = { 0 };
	struct scratch s;
	static const struct mail_address_view group_end = { .kind = MAIL_ADDRESS_GROUP_END };
	bool in_group = false;
	size_t i = 0;

	tokenize(&ts, value, len);
	buf_init(&s.name);
	buf_init(&s.adl);
	buf_init(&s.local);
	buf_init(&s.domain);
	while (i < ts.n) {
		size_t j, lt = SIZE_MAX, at = SIZE_MAX, colon = SIZE_MAX;
		bool angle = false, route = false, closed = false;
		struct mail_address_view v = { .kind = MAIL_ADDRESS_MAILBOX };

		if (is_special(&ts, i, ',') || is_special(&ts, i, ';')) {
			if (is_special(&ts, i, ';') && in_group) {
				emit(ctx, &group_end);
				in_group = false;
			}
			i++;
			continue;
		}
		/* find the element's end and what it holds */
		for (j = i; j < ts.n; j++) {
			if (angle) {
				if (is_special(&ts, j, '>')) {
					angle = false;
					closed = true;
				} else if (is_special(&ts, j, ':'))
					route = false;
				else if (is_special(&ts, j, ',') && !route)
					break;  /* unterminated '<': don't swallow the rest */
				continue;
			}
			/* what follows "<...>" but a comment is another address
			 * ("a <b@c> <d@e>"): not hidden behind the first one */
			if (closed && ts.t[j].type != T_COMMENT)
				break;
			if (is_special(&ts, j, ',') || is_special(&ts, j, ';'))
				break;
			if (is_special(&ts, j, '<') && lt == SIZE_MAX) {
				angle = true;
				lt = j;
				route = j + 1 < ts.n && is_special(&ts, j + 1, '@');
			} else if (is_special(&ts, j, '@') && at == SIZE_MAX) {
				at = j;
			} else if (is_special(&ts, j, ':') && !in_group && at == SIZE_MAX &&
			           lt == SIZE_MAX) {
				colon = j;
				break;
			}
		}
		scratch_reset(&s);
		if (colon != SIZE_MAX) {
			/* group: display-name ":" [group-list] ";" */
			join_phrase(&ts, i, colon, &s.name);
			v.kind = MAIL_ADDRESS_GROUP_START;
			v.s[MAIL_ADDRESS_NAME] = s.name.data;   /* "" for an unnamed group */
			v.n[MAIL_ADDRESS_NAME] = s.name.len;
			emit(ctx, &v);
			in_group = true;
			i = colon + 1;
			continue;
		}
		if (lt != SIZE_MAX) {
			angle_addr(&ts, i, lt, j, &s, &v);
			emit(ctx, &v);
			i = j;
			continue;
		}
		/* addr-specs without brackets: a word after one ("a@b c@d")
		 * starts the next, found without reading the element again */
		for (size_t k = i, at2, end; k < j; k = end) {
			for (at2 = k; at2 < j && !is_special(&ts, at2, '@'); at2++)
				;
			scratch_reset(&s);
			v = (struct mail_address_view){ .kind = MAIL_ADDRESS_MAILBOX };
			end = bare_addr(&ts, k, at2, j, &s, &v);
			if (end == SIZE_MAX)
				break;
			emit(ctx, &v);
		}
		i = j;
	}
	if (in_group)
		emit(ctx, &group_end);
	buf_free(&s.name);
	buf_free(&s.adl);
	buf_free(&s.local);
	buf_free(&s.domain);
	free(ts.t);
}


/* ---- collected ---- */

struct collect {
	struct mail_address *a;
	size_t n, cap;
};

static char *view_dup(const struct mail_address_view *v, int i)
{
	char *s;

	if (v->s[i] == NULL)
		return NULL;
	s = xmalloc(v->n[i] + 1);
	memcpy(s, v->s[i], v->n[i]);
	s[v->n[i]] = '\0';
	return s;
}

static void collect_emit(void *ctx, const struct mail_address_view *v)
{
	struct collect *c = ctx;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->a = xrealloc(c->a, c->cap * sizeof *c->a);
	}
	c->a[c->n].kind = v->kind;
	c->a[c->n].name = view_dup(v, MAIL_ADDRESS_NAME);
	c->a[c->n].adl = view_dup(v, MAIL_ADDRESS_ADL);
	c->a[c->n].local = view_dup(v, MAIL_ADDRESS_LOCAL);
	c->a[c->n].domain = view_dup(v, MAIL_ADDRESS_DOMAIN);
	c->n++;
}

size_t mail_address_list_new(const char *value, size_t len, struct mail_address **out)
{
	struct collect c = { 0 };

	mail_address_list_parse(value, len, collect_emit, &c);
	*out = c.a;
	return c.n;
}

void mail_address_list_free(struct mail_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].adl);
		free(a[i].local);
		free(a[i].domain);
	}
	free(a);
}

/* ---- local@domain ---- */

const char *mail_address_split(const char *addr, size_t *local_len)
{
	/* the last '@': a quoted local part may hold one ("a@b"@c) */
	const char *at = strrchr(addr, '@');

	*local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	return at != NULL ? at + 1 : NULL;
}
