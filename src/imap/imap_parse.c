/* IMAP command parsing into an argument tree, and the handler accessors;
 * see imap_parse.h.
 *
 * Grammar references are to RFC 9051 9 (formal syntax) unless noted. The
 * parser walks the assembled command with an index that is checked against
 * its length before every read; literal data is reached only through the
 * reader's table of literal positions, so the parser never interprets
 * literal octets as syntax. Strings and nodes live in an arena owned by the
 * command: one imap_command_free() releases everything. */
#include "imap/imap_parse.h"

#include "core/utf8.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* ---- arena ---- */

#define ARENA_BLOCK 4096

struct imap_arena {
	struct imap_arena *next;
	size_t used, cap;
	max_align_t data[];
};

static void *arena_alloc(struct imap_arena **head, size_t size)
{
	size_t align = alignof(max_align_t);
	struct imap_arena *a = *head;

	size = (size + align - 1) / align * align;
	if (a == NULL || a->cap - a->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		a = xmalloc(sizeof *a + cap);
		a->used = 0;
		a->cap = cap;
		a->next = *head;
		*head = a;
	}
	void *p = (unsigned char *)a->data + a->used;
	a->used += size;
	return p;
}

static char *arena_strndup(struct imap_arena **head, const char *s, size_t n)
{
	char *p = arena_alloc(head, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- character classes ---- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* ATOM-CHAR = <any CHAR except atom-specials>; atom-specials = "(" / ")" /
 * "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials */
static bool is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+"> */
static bool is_tag_char(unsigned char c)
{
	return (is_atom_char(c) || c == ']') && c != '+';
}

static unsigned char upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

bool imap_word_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		if (upper((unsigned char)a[i]) != upper((unsigned char)b[i]))
			return false;
	}
	return true;
}

bool imap_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len);
}

bool imap_parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	*out = 0;
	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10 || (v * 10 + d) > max)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- parser ---- */

struct parser {
	const char *buf;
	size_t len, pos;
	const struct imap_literal *lits;
	size_t nlits, next_lit;
	unsigned flags;
	size_t nodes;
	struct imap_arena **arena;
	const char *error;
};

static bool fail(struct parser *p, const char *msg)
{
	if (p->error == NULL)
		p->error = msg;
	return false;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->buf[p->pos] : -1;
}

static struct imap_arg *new_node(struct parser *p, enum imap_arg_type type)
{
	if (p->nodes >= IMAP_ARGS_MAX) {
		fail(p, "Too many arguments");
		return NULL;
	}
	p->nodes++;
	struct imap_arg *a = arena_alloc(p->arena, sizeof *a);
	*a = (struct imap_arg){ .type = type };
	return a;
}

static bool at_literal(const struct parser *p)
{
	return p->next_lit < p->nlits && p->lits[p->next_lit].spec == p->pos;
}

static struct imap_arg *parse_literal(struct parser *p)
{
	const struct imap_literal *lit = &p->lits[p->next_lit++];

	if (lit->has_nul && !lit->binary && !(p->flags & IMAP_PARSE_ALLOW_NUL)) {
		fail(p, "NUL octet in literal");
		return NULL;
	}
	struct imap_arg *a = new_node(p, IMAP_ARG_LITERAL);
	if (a == NULL)
		return NULL;
	a->str = p->buf + lit->data;
	a->len = lit->len;
	a->flags = (lit->has_nul ? IMAP_ARGF_NUL : 0u) | (lit->binary ? IMAP_ARGF_BINARY : 0u);
	p->pos = lit->data + lit->len + 1;  /* past the reader's NUL */
	return a;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except
 * quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4 */
static struct imap_arg *parse_quoted(struct parser *p)
{
	size_t start = ++p->pos, out_len = 0;
	bool utf8 = false;

	/* first pass: find the end, validate and measure */
	for (;;) {
		if (p->pos >= p->len)
			return fail(p, "Unterminated quoted string"), NULL;
		unsigned char c = (unsigned char)p->buf[p->pos];
		if (c == '"')
			break;
		if (c == '\r' || c == '\n')
			return fail(p, "Unterminated quoted string"), NULL;
		if (c == '\0')
			return fail(p, "NUL octet in quoted string"), NULL;
		if (c == '\\') {
			if (p->pos + 1 >= p->len ||
			    (p->buf[p->pos + 1] != '"' && p->buf[p->pos + 1] != '\\'))
				return fail(p, "Invalid escape in quoted string"), NULL;
			p->pos += 2;
			out_len++;
			continue;
		}
		size_t n = utf8_seq_len((const unsigned char *)p->buf + p->pos, p->len - p->pos);
		if (n == 0)
			return fail(p, "Invalid UTF-8 in quoted string"), NULL;
		utf8 |= n > 1;
		p->pos += n;
		out_len += n;
	}
	struct imap_arg *a = new_node(p, IMAP_ARG_QUOTED);
	if (a == NULL)
		return NULL;
	char *s = arena_alloc(p->arena, out_len + 1);
	size_t k = 0;
	for (size_t i = start; i < p->pos; i++) {
		if (p->buf[i] == '\\')
			i++;
		s[k++] = p->buf[i];
	}
	s[k] = '\0';
	p->pos++;           /* closing quote */
	a->str = s;
	a->len = k;
	a->flags = utf8 ? IMAP_ARGF_UTF8 : 0u;
	return a;
}

static bool parse_seq(struct parser *p, int depth, int term, bool in_section,
                      const struct imap_arg **first, size_t *count);

/* fetch-att names that take a section (RFC 9051 9: fetch-att) */
static bool is_section_name(const char *s, size_t len)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (imap_word_eq(s, len, names[i]))
			return true;
	}
	return false;
}

/* At "[" after a section name: "[" ... "]" ["<" digits ["." digits] ">"] */
static struct imap_arg *parse_section(struct parser *p, size_t start, int depth)
{
	struct imap_arg *a = new_node(p, IMAP_ARG_SECTION);

	if (a == NULL)
		return NULL;
	if (depth >= IMAP_LIST_DEPTH_MAX)
		return fail(p, "Arguments nested too deeply"), NULL;
	a->str = arena_strndup(p->arena, p->buf + start, p->pos - start);
	a->len = p->pos - start;
	p->pos++;
	if (!parse_seq(p, depth + 1, ']', true, &a->list, &a->count))
		return NULL;
	if (peek(p) != ']')
		return fail(p, "Missing ']' after section"), NULL;
	p->pos++;
	if (peek(p) == '<') {
		size_t ps = ++p->pos, digits = 0;
		bool dot = false;
		for (;; p->pos++) {
			int c = peek(p);
			if (c == '.' && !dot && digits > 0) {
				dot = true;
				digits = 0;
			} else if (c >= '0' && c <= '9' && digits < 20) {
				digits++;
			} else {
				break;
			}
		}
		if (digits == 0 || peek(p) != '>')
			return fail(p, "Invalid partial range"), NULL;
		a->partial = arena_strndup(p->arena, p->buf + ps, p->pos - ps);
		a->flags |= IMAP_ARGF_PARTIAL;
		p->pos++;
	}
	/* an unquoted mailbox such as "body[x]" is still an astring */
	bool astring = true;
	for (size_t i = start; i < p->pos && astring; i++)
		astring = is_atom_char((unsigned char)p->buf[i]) || p->buf[i] == ']';
	if (astring)
		a->astring = arena_strndup(p->arena, p->buf + start, p->pos - start);
	return a;
}

/* Atoms, flags (\Seen), wildcards and sequence sets (1:*), and the
 * section forms BODY[...]: 1*(ATOM-CHAR / list-wildcards / resp-specials)
 * with an optional leading "\". Inside a section "]" ends the atom. */
static struct imap_arg *parse_atom(struct parser *p, int term, bool in_section, int depth)
{
	size_t start = p->pos;
	unsigned flags = 0;

	if (peek(p) == '\\') {
		flags |= IMAP_ARGF_BACKSLASH;
		p->pos++;
	}
	size_t word = p->pos;
	for (;; p->pos++) {
		int c = peek(p);
		if (c < 0)
			break;
		if (c == '[' && !in_section && flags == 0 &&
		    is_section_name(p->buf + word, p->pos - word))
			return parse_section(p, start, depth);
		if (c == '*' || c == '%') {
			flags |= IMAP_ARGF_WILDCARD;
		} else if (c == ']') {
			if (term == ']')
				break;
			flags |= IMAP_ARGF_BRACKET;
		} else if (!is_atom_char((unsigned char)c)) {
			break;
		}
	}
	if (p->pos == word) {
		int c = peek(p);
		if (c == '\0')
			return fail(p, "NUL octet in command"), NULL;
		if (c == '{' || c == '~')
			return fail(p, "Misplaced literal"), NULL;
		if (c == ' ')
			return fail(p, "Unexpected space"), NULL;
		return fail(p, c < 0 ? "Missing argument" : "Invalid character in command"), NULL;
	}
	bool nil = flags == 0 && imap_word_eq(p->buf + start, p->pos - start, "NIL");
	struct imap_arg *a = new_node(p, nil ? IMAP_ARG_NIL : IMAP_ARG_ATOM);
	if (a == NULL)
		return NULL;
	a->flags = flags;
	a->str = nil ? "NIL" : arena_strndup(p->arena, p->buf + start, p->pos - start);
	a->len = p->pos - start;
	return a;
}

static struct imap_arg *parse_one(struct parser *p, int depth, int term, bool in_section)
{
	if (at_literal(p))
		return parse_literal(p);
	switch (peek(p)) {
	case '(': {
		if (depth >= IMAP_LIST_DEPTH_MAX)
			return fail(p, "Arguments nested too deeply"), NULL;
		struct imap_arg *a = new_node(p, IMAP_ARG_LIST);
		if (a == NULL)
			return NULL;
		p->pos++;
		if (!parse_seq(p, depth + 1, ')', in_section, &a->list, &a->count))
			return NULL;
		if (peek(p) != ')')
			return fail(p, "Missing ')'"), NULL;
		p->pos++;
		return a;
	}
	case '"':
		return parse_quoted(p);
	default:
		return parse_atom(p, term, in_section, depth);
	}
}

/* Arguments separated by single spaces up to term (')' or ']'), or to the
 * end of the command when term is -1; an empty sequence is allowed. */
static bool parse_seq(struct parser *p, int depth, int term, bool in_section,
                      const struct imap_arg **first, size_t *count)
{
	const struct imap_arg **tail = first;

	*first = NULL;
	*count = 0;
	if (peek(p) == term && !at_literal(p))
		return true;
	for (;;) {
		struct imap_arg *a = parse_one(p, depth, term, in_section);
		if (a == NULL)
			return false;
		*tail = a;
		tail = &a->next;
		(*count)++;
		int c = peek(p);
		if (c == term && !at_literal(p))
			return true;
		if (c < 0)
			return term < 0 ? true : fail(p, term == ')' ? "Missing ')'" : "Missing ']'");
		if (c != ' ')
			return fail(p, c == '\0' ? "NUL octet in command"
			                         : "Expected a space between arguments");
		p->pos++;
		/* one space at the end of the command is tolerated: some clients send it */
		if (term < 0 && peek(p) < 0)
			return true;
		if (peek(p) == ' ' || (peek(p) == term && !at_literal(p)))
			return fail(p, "Unexpected space");
	}
}

/* tag SP name [SP "UID" ...] */
static bool parse_head(struct parser *p, struct imap_command *cmd)
{
	size_t n = 0;

	while (p->pos + n < p->len && is_tag_char((unsigned char)p->buf[p->pos + n]))
		n++;
	if (n == 0 || n > IMAP_TAG_MAX)
		return fail(p, n == 0 ? "Missing or invalid tag" : "Tag too long");
	if (p->pos + n < p->len && p->buf[p->pos + n] != ' ')
		return fail(p, "Invalid character in tag");
	cmd->tag = arena_strndup(p->arena, p->buf, n);
	p->pos += n;

	for (int word = 0; word < 2; word++) {
		if (peek(p) != ' ')
			return fail(p, word == 0 ? "Missing command name" : "Missing command after UID");
		p->pos++;
		size_t start = p->pos;
		while (p->pos < p->len && is_atom_char((unsigned char)p->buf[p->pos]))
			p->pos++;
		if (p->pos == start)
			return fail(p, "Invalid command name");
		if (p->pos < p->len && p->buf[p->pos] != ' ')
			return fail(p, "Invalid character in command name");
		char *name = arena_strndup(p->arena, p->buf + start, p->pos - start);
		for (char *s = name; *s != '\0'; s++)
			*s = (char)upper((unsigned char)*s);
		cmd->name = name;
		if (word == 1 || strcmp(name, "UID") != 0)
			break;
		cmd->uid = true;
	}
	return true;
}

int imap_command_parse(struct imap_command *cmd, const struct imap_raw_command *raw,
                       unsigned flags)
{
	struct parser p = {
		.buf = raw->buf, .len = raw->len, .lits = raw->lits, .nlits = raw->nlits,
		.flags = flags,
	};
	size_t count;

	*cmd = (struct imap_command){ 0 };
	p.arena = &cmd->arena;
	if (!parse_head(&p, cmd))
		goto out;
	if (p.pos < p.len) {
		p.pos++;    /* the space after the name */
		if (!parse_seq(&p, 0, -1, false, &cmd->args, &count))
			goto out;
	}
	if (p.next_lit != p.nlits)
		fail(&p, "Misplaced literal");
out:
	cmd->error = p.error;
	return p.error == NULL ? 0 : -1;
}

void imap_command_free(struct imap_command *cmd)
{
	struct imap_arena *a = cmd->arena;

	while (a != NULL) {
		struct imap_arena *next = a->next;
		free(a);
		a = next;
	}
	*cmd = (struct imap_command){ 0 };
}

/* ---- accessors ---- */

void imap_command_args(struct imap_command *cmd, struct imap_cursor *c)
{
	c->arg = cmd->args;
	c->error = &cmd->error;
}

void imap_cursor_init(struct imap_cursor *c, const struct imap_arg *first, const char **error)
{
	c->arg = first;
	c->error = error;
}

bool imap_at_end(const struct imap_cursor *c)
{
	return c->arg == NULL;
}

const struct imap_arg *imap_peek(const struct imap_cursor *c)
{
	return *c->error == NULL ? c->arg : NULL;
}

bool imap_fail(struct imap_cursor *c, const char *msg)
{
	if (*c->error == NULL)
		*c->error = msg;
	return false;
}

bool imap_expect_end(struct imap_cursor *c)
{
	if (*c->error != NULL)
		return false;
	return c->arg == NULL ? true : imap_fail(c, "Unexpected extra arguments");
}

/* Takes the next argument if there is one and no error yet. */
static const struct imap_arg *take(struct imap_cursor *c)
{
	const struct imap_arg *a = c->arg;

	if (*c->error != NULL)
		return NULL;
	if (a == NULL) {
		imap_fail(c, "Missing argument");
		return NULL;
	}
	c->arg = a->next;
	return a;
}

bool imap_next_arg(struct imap_cursor *c, const struct imap_arg **out)
{
	*out = take(c);
	return *out != NULL;
}

bool imap_next_atom(struct imap_cursor *c, const char **out)
{
	const struct imap_arg *a = take(c);

	*out = NULL;
	if (a == NULL)
		return false;
	if (a->type == IMAP_ARG_NIL || (a->type == IMAP_ARG_ATOM && a->flags == 0)) {
		*out = a->str;
		return true;
	}
	return imap_fail(c, "Expected an atom");
}

bool imap_accept_atom(struct imap_cursor *c, const char *word)
{
	const struct imap_arg *a = imap_peek(c);

	if (a == NULL || (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) ||
	    !imap_word_eq(a->str, a->len, word))
		return false;
	c->arg = a->next;
	return true;
}

/* quoted or literal without NUL (literal8 is not a string) */
static bool string_value(struct imap_cursor *c, const struct imap_arg *a, const char **out,
                         size_t *len)
{
	if (a->type == IMAP_ARG_LITERAL && (a->flags & IMAP_ARGF_BINARY))
		return imap_fail(c, "Binary literal not allowed here");
	if (a->type == IMAP_ARG_LITERAL && (a->flags & IMAP_ARGF_NUL))
		return imap_fail(c, "NUL octet in string");
	*out = a->str;
	*len = a->len;
	return true;
}

static bool astring_value(struct imap_cursor *c, const struct imap_arg *a, bool wildcards,
                          const char **out, size_t *len)
{
	switch (a->type) {
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
		return string_value(c, a, out, len);
	case IMAP_ARG_NIL:
		*out = a->str;
		*len = a->len;
		return true;
	case IMAP_ARG_ATOM:
		if ((a->flags & IMAP_ARGF_BACKSLASH) ||
		    (!wildcards && (a->flags & IMAP_ARGF_WILDCARD)))
			break;
		*out = a->str;
		*len = a->len;
		return true;
	case IMAP_ARG_SECTION:
		if (a->astring == NULL)
			break;
		*out = a->astring;
		*len = strlen(a->astring);
		return true;
	case IMAP_ARG_LIST:
		break;
	}
	return imap_fail(c, wildcards ? "Expected a mailbox pattern" : "Expected a string");
}

bool imap_next_astring(struct imap_cursor *c, const char **out, size_t *len)
{
	const struct imap_arg *a = take(c);

	*out = NULL;
	*len = 0;
	if (a == NULL)
		return false;
	return astring_value(c, a, false, out, len) || (*out = NULL, false);
}

bool imap_next_list_mailbox(struct imap_cursor *c, const char **out, size_t *len)
{
	const struct imap_arg *a = take(c);

	*out = NULL;
	*len = 0;
	if (a == NULL)
		return false;
	return astring_value(c, a, true, out, len) || (*out = NULL, false);
}

bool imap_next_string(struct imap_cursor *c, const char **out, size_t *len)
{
	const struct imap_arg *a = take(c);

	*out = NULL;
	*len = 0;
	if (a == NULL)
		return false;
	if (a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL)
		return imap_fail(c, "Expected a quoted string or literal");
	return string_value(c, a, out, len) || (*out = NULL, false);
}

bool imap_next_nstring(struct imap_cursor *c, const char **out, size_t *len)
{
	const struct imap_arg *a = take(c);

	*out = NULL;
	*len = 0;
	if (a == NULL)
		return false;
	if (a->type == IMAP_ARG_NIL)
		return true;
	if (a->type != IMAP_ARG_QUOTED && a->type != IMAP_ARG_LITERAL)
		return imap_fail(c, "Expected a string or NIL");
	return string_value(c, a, out, len) || (*out = NULL, false);
}

bool imap_next_literal(struct imap_cursor *c, const char **data, size_t *len, bool *binary)
{
	const struct imap_arg *a = take(c);

	*data = NULL;
	*len = 0;
	*binary = false;
	if (a == NULL)
		return false;
	if (a->type != IMAP_ARG_LITERAL)
		return imap_fail(c, "Expected a literal");
	*data = a->str;
	*len = a->len;
	*binary = (a->flags & IMAP_ARGF_BINARY) != 0;
	return true;
}

bool imap_next_list(struct imap_cursor *c, struct imap_cursor *inner)
{
	const struct imap_arg *a = take(c);

	inner->arg = NULL;
	inner->error = c->error;
	if (a == NULL)
		return false;
	if (a->type != IMAP_ARG_LIST)
		return imap_fail(c, "Expected a parenthesised list");
	inner->arg = a->list;
	return true;
}

static bool next_number_max(struct imap_cursor *c, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct imap_arg *a = take(c);

	*out = 0;
	if (a == NULL)
		return false;
	if (a->type != IMAP_ARG_ATOM || a->flags != 0)
		return imap_fail(c, "Expected a number");
	if (!imap_parse_number(a->str, a->len, max, out) || *out < min)
		return *out = 0, imap_fail(c, "Invalid number");
	return true;
}

bool imap_next_number(struct imap_cursor *c, uint32_t *n)
{
	uint64_t v;
	bool ok = next_number_max(c, 0, UINT32_MAX, &v);

	*n = (uint32_t)v;
	return ok;
}

bool imap_next_nz_number(struct imap_cursor *c, uint32_t *n)
{
	uint64_t v;
	bool ok = next_number_max(c, 1, UINT32_MAX, &v);

	*n = (uint32_t)v;
	return ok;
}

bool imap_next_number64(struct imap_cursor *c, uint64_t *n)
{
	return next_number_max(c, 0, IMAP_NUMBER64_MAX, n);
}
