/* ENVELOPE (RFC 3501 7.4.2) and the address-list parser behind it (RFC
 * 5322 3.4, with 4.4's obsolete forms and the usual breakage tolerated:
 * empty list elements, unterminated groups, quotes, comments and angle
 * brackets, addresses without a domain). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/mime_int.h"

#define MISSING_MAILBOX "MISSING_MAILBOX"
#define MISSING_DOMAIN "MISSING_DOMAIN"

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

/* The four parts of an address; s[i] NULL is NIL. */
struct addr_view {
	const char *s[4];
	size_t n[4];
};

typedef void addr_emit_fn(void *ctx, const struct addr_view *a);

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
		if (mime_is_wsp(c) || c == '\r' || c == '\n') {
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
			for (e = i; e < n && !mime_is_wsp(v[e]) && v[e] != '\r' && v[e] != '\n' &&
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
static void tok_text(const struct toks *ts, const struct tok *t, struct mime_out *out)
{
	const char *s = ts->v + t->start;

	if (t->type != T_QSTRING && t->type != T_COMMENT) {
		mime_out_append(out, s, t->len);
		return;
	}
	for (size_t i = 0; i < t->len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '\\' && i + 1 < t->len)
			i++;
		mime_out_append(out, &s[i], 1);
	}
}

/* A phrase: every token but comments, one space where the source had
 * white space or a comment between two tokens. */
static void join_phrase(const struct toks *ts, size_t a, size_t b, struct mime_out *out)
{
	bool sep = false;

	for (size_t i = a; i < b; i++) {
		if (ts->t[i].type == T_COMMENT) {
			sep = true;
			continue;
		}
		if (out->len > 0 && (sep || ts->t[i].space))
			mime_out_append(out, " ", 1);
		sep = false;
		tok_text(ts, &ts->t[i], out);
	}
}

static void join_tight(const struct toks *ts, size_t a, size_t b, struct mime_out *out)
{
	for (size_t i = a; i < b; i++)
		if (ts->t[i].type != T_COMMENT)
			tok_text(ts, &ts->t[i], out);
}

/* ---- addresses ---- */

struct scratch {
	struct mime_out name, adl, local, domain;
};

static void scratch_reset(struct scratch *s)
{
	mime_out_reset(&s->name);
	mime_out_reset(&s->adl);
	mime_out_reset(&s->local);
	mime_out_reset(&s->domain);
}

static void set_view(struct addr_view *a, int i, const struct mime_out *o, const char *dflt)
{
	if (o != NULL && o->len > 0) {
		a->s[i] = o->data;
		a->n[i] = o->len;
	} else if (dflt != NULL) {
		a->s[i] = dflt;
		a->n[i] = strlen(dflt);
	}
}

/* The last comment in [a, b), as a display name for "user@host (Name)". */
static void comment_name(const struct toks *ts, size_t a, size_t b, struct mime_out *out)
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
                       struct scratch *s, struct addr_view *v)
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
	set_view(v, 0, &s->name, NULL);
	set_view(v, 1, &s->adl, NULL);
	set_view(v, 2, &s->local, MISSING_MAILBOX);
	set_view(v, 3, &s->domain, MISSING_DOMAIN);
}

/* addr-spec without angle brackets, element [a, b), at: first '@' or b.
 * Returns where the address ends (a word after it, as in "a@b c@d", starts
 * another one), or SIZE_MAX when the element holds no address at all. */
static size_t bare_addr(const struct toks *ts, size_t a, size_t at, size_t b,
                        struct scratch *s, struct addr_view *v)
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
	set_view(v, 0, &s->name, NULL);
	set_view(v, 2, &s->local, MISSING_MAILBOX);
	set_view(v, 3, &s->domain, MISSING_DOMAIN);
	return end;
}

static void parse_address_list(const char *value, size_t len, addr_emit_fn *emit, void *ctx)
{
	struct toks ts = { 0 };
	struct scratch s;
	static const struct addr_view group_end = { { NULL, NULL, NULL, NULL }, { 0, 0, 0, 0 } };
	bool in_group = false;
	size_t i = 0;

	tokenize(&ts, value, len);
	mime_out_init(&s.name);
	mime_out_init(&s.adl);
	mime_out_init(&s.local);
	mime_out_init(&s.domain);
	while (i < ts.n) {
		size_t j, lt = SIZE_MAX, at = SIZE_MAX, colon = SIZE_MAX;
		bool angle = false, route = false, closed = false;
		struct addr_view v = { { NULL, NULL, NULL, NULL }, { 0, 0, 0, 0 } };

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
			v.s[2] = s.name.data;
			v.n[2] = s.name.len;
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
			memset(&v, 0, sizeof v);
			end = bare_addr(&ts, k, at2, j, &s, &v);
			if (end == SIZE_MAX)
				break;
			emit(ctx, &v);
		}
		i = j;
	}
	if (in_group)
		emit(ctx, &group_end);
	mime_out_free(&s.name);
	mime_out_free(&s.adl);
	mime_out_free(&s.local);
	mime_out_free(&s.domain);
	free(ts.t);
}

/* ---- public address list ---- */

struct collect {
	struct mime_address *a;
	size_t n, cap;
};

static char *view_dup(const struct addr_view *v, int i)
{
	char *s;

	if (v->s[i] == NULL)
		return NULL;
	s = xmalloc(v->n[i] + 1);
	memcpy(s, v->s[i], v->n[i]);
	s[v->n[i]] = '\0';
	return s;
}

static void collect_emit(void *ctx, const struct addr_view *v)
{
	struct collect *c = ctx;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->a = xrealloc(c->a, c->cap * sizeof *c->a);
	}
	c->a[c->n].name = view_dup(v, 0);
	c->a[c->n].adl = view_dup(v, 1);
	c->a[c->n].mailbox = view_dup(v, 2);
	c->a[c->n].host = view_dup(v, 3);
	c->n++;
}

size_t mime_parse_addresses(const char *value, size_t len, struct mime_address **out)
{
	struct collect c = { 0 };

	parse_address_list(value, len, collect_emit, &c);
	*out = c.a;
	return c.n;
}

void mime_addresses_free(struct mime_address *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].adl);
		free(a[i].mailbox);
		free(a[i].host);
	}
	free(a);
}

/* ---- ENVELOPE ---- */

struct render {
	struct mime_out *out;
	size_t count;           /* structures written */
	bool in_group;          /* a group start written, its end not yet */
	bool full;              /* something was dropped: nothing more but a group end */
};

/* Whether v is written under MIME_MAX_ADDRESSES. Every structure counts,
 * group markers too ("g:;g:;..." is as cheap to send as "a,a,..."); a
 * group start is written only with room left for its end, and that end is
 * then always written, so the list stays well-formed. */
static bool render_admit(struct render *r, const struct addr_view *v)
{
	bool group_end = v->s[2] == NULL;       /* all four NIL */
	bool group_start = !group_end && v->s[3] == NULL;
	size_t need = group_start ? 2 : 1, reserved = r->in_group ? 1 : 0;

	if (group_end) {
		bool open = r->in_group;
		r->in_group = false;
		return open;    /* the end of a dropped group is dropped */
	}
	if (r->full || r->count + reserved + need > MIME_MAX_ADDRESSES) {
		r->full = true;
		return false;
	}
	r->in_group |= group_start;
	return true;
}

static void render_emit(void *ctx, const struct addr_view *v)
{
	struct render *r = ctx;

	if (!render_admit(r, v))
		return;
	mime_out_append(r->out, "(", 1);
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			mime_out_append(r->out, " ", 1);
		mime_out_nstring_n(r->out, v->s[i], v->n[i]);
	}
	mime_out_append(r->out, ")", 1);
	r->count++;
}

/* env-from etc.: "(" 1*address ")" or NIL; an empty list takes fallback
 * (RFC 3501: sender and reply-to default to from). At most
 * MIME_MAX_ADDRESSES structures (render_admit). */
static void write_address_list(struct mime_out *out, const char *value, const char *fallback)
{
	struct mime_out tmp;
	struct render r = { .out = &tmp };

	mime_out_init(&tmp);
	if (value != NULL)
		parse_address_list(value, strlen(value), render_emit, &r);
	if (r.count == 0 && fallback != NULL)
		parse_address_list(fallback, strlen(fallback), render_emit, &r);
	if (r.count == 0) {
		mime_out_puts(out, "NIL");
	} else {
		mime_out_append(out, "(", 1);
		mime_out_append(out, tmp.data, tmp.len);
		mime_out_append(out, ")", 1);
	}
	mime_out_free(&tmp);
}

void mime_write_envelope(const struct mime_part *msg, struct mime_out *out)
{
	const struct mime_envelope *e = msg != NULL ? msg->envelope : NULL;

	if (e == NULL) {
		mime_out_puts(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	mime_out_append(out, "(", 1);
	mime_out_nstring(out, e->date);
	mime_out_append(out, " ", 1);
	mime_out_nstring(out, e->subject);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->from, NULL);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->sender, e->from);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->reply_to, e->from);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->to, NULL);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->cc, NULL);
	mime_out_append(out, " ", 1);
	write_address_list(out, e->bcc, NULL);
	mime_out_append(out, " ", 1);
	mime_out_nstring(out, e->in_reply_to);
	mime_out_append(out, " ", 1);
	mime_out_nstring(out, e->message_id);
	mime_out_append(out, ")", 1);
}
