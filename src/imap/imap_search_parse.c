/* IMAP SEARCH criteria, their evaluation and IMAP dates; see imap_search_parse.h.
 *
 * search = "SEARCH" [search-return-opts] SP search-program
 * search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
 * (RFC 9051 9, RFC 4731 3). Every key is read through the argument cursor;
 * nesting (parentheses, NOT, OR) and the number of nodes are bounded, so
 * the recursive parser, evaluator and free cannot be driven deep. */
#include "imap/imap_search_parse.h"

#include <stdlib.h>
#include <string.h>

#include "core/casemap.h"
#include "core/util.h"
#include "mail/date.h"

/* ---- dates ---- */

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int32_t imap_day_of(int64_t unix_time, int zone_minutes)
{
	const int64_t lim = INT64_C(1) << 52;   /* far beyond any mail, far from overflow */
	int64_t t = unix_time < -lim ? -lim : unix_time > lim ? lim : unix_time;

	t += (int64_t)zone_minutes * 60;
	int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	return day > INT32_MAX ? INT32_MAX : day < INT32_MIN ? INT32_MIN : (int32_t)day;
}

/* Reads n digits at s into *v. */
static bool digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* "-" date-month "-" date-year at s (exactly 9 octets: "-Jan-2024") */
static bool parse_month_year(const char *s, unsigned day, int32_t *out)
{
	unsigned m = 0, y;

	if (s[0] != '-' || s[4] != '-' || !digits(s + 5, 4, &y) || y == 0)
		return false;
	m = mail_month_from_name(s + 1, 3);
	if (m == 0 || day == 0 || day > mail_days_in_month((int)y, m))
		return false;
	*out = mail_days_from_civil((int)y, m, day);
	return true;
}

bool imap_date_parse(const char *s, size_t len, int32_t *day)
{
	unsigned d;

	*day = 0;
	/* date-day = 1*2DIGIT */
	if (len == 10 && digits(s, 1, &d))
		return parse_month_year(s + 1, d, day);
	if (len == 11 && digits(s, 2, &d))
		return parse_month_year(s + 2, d, day);
	return false;
}

bool imap_date_time_parse(const char *s, size_t len, int64_t *unix_time, int *zone_minutes)
{
	unsigned d, hh, mm, ss, zh, zm;
	int32_t day;

	*unix_time = 0;
	*zone_minutes = 0;
	/* "dd-Mon-yyyy hh:mm:ss +zzzz": 26 octets; date-day-fixed = (SP DIGIT) / 2DIGIT */
	if (len != 26)
		return false;
	if (!(s[0] == ' ' ? digits(s + 1, 1, &d) : digits(s, 2, &d)))
		return false;
	if (!parse_month_year(s + 2, d, &day))
		return false;
	if (s[11] != ' ' || !digits(s + 12, 2, &hh) || s[14] != ':' || !digits(s + 15, 2, &mm) ||
	    s[17] != ':' || !digits(s + 18, 2, &ss) || s[20] != ' ' ||
	    (s[21] != '+' && s[21] != '-') || !digits(s + 22, 2, &zh) || !digits(s + 24, 2, &zm))
		return false;
	/* a leap second (60) is read as the second before */
	if (hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return false;
	if (ss == 60)
		ss = 59;
	int zone = (int)(zh * 60 + zm) * (s[21] == '-' ? -1 : 1);
	*unix_time = (int64_t)day * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
	*zone_minutes = zone;
	return true;
}

/* ---- parsing ---- */

enum key_arg {
	ARG_NONE, ARG_ASTRING, ARG_DATE, ARG_SIZE, ARG_SEQSET, ARG_KEYWORD, ARG_HEADER,
	ARG_NOT, ARG_OR, ARG_MODSEQ,
};

static const struct {
	const char *name;
	enum imap_search_key key;
	enum key_arg arg;
	unsigned flag;
} search_keys[] = {
	{ "ALL", IMAP_SK_ALL, ARG_NONE, 0 },
	{ "ANSWERED", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_ANSWERED },
	{ "BCC", IMAP_SK_BCC, ARG_ASTRING, 0 },
	{ "BEFORE", IMAP_SK_BEFORE, ARG_DATE, 0 },
	{ "BODY", IMAP_SK_BODY, ARG_ASTRING, 0 },
	{ "CC", IMAP_SK_CC, ARG_ASTRING, 0 },
	{ "DELETED", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_DELETED },
	{ "DRAFT", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_DRAFT },
	{ "FLAGGED", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_FLAGGED },
	{ "FROM", IMAP_SK_FROM, ARG_ASTRING, 0 },
	{ "HEADER", IMAP_SK_HEADER, ARG_HEADER, 0 },
	{ "KEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0 },
	{ "LARGER", IMAP_SK_LARGER, ARG_SIZE, 0 },
	{ "MODSEQ", IMAP_SK_MODSEQ, ARG_MODSEQ, 0 },
	{ "NEW", IMAP_SK_NEW, ARG_NONE, 0 },
	{ "NOT", IMAP_SK_NOT, ARG_NOT, 0 },
	{ "OLD", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_RECENT },
	{ "ON", IMAP_SK_ON, ARG_DATE, 0 },
	{ "OR", IMAP_SK_OR, ARG_OR, 0 },
	{ "RECENT", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_RECENT },
	{ "SEEN", IMAP_SK_FLAG, ARG_NONE, IMAP_FLAG_SEEN },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE, ARG_DATE, 0 },
	{ "SENTON", IMAP_SK_SENTON, ARG_DATE, 0 },
	{ "SENTSINCE", IMAP_SK_SENTSINCE, ARG_DATE, 0 },
	{ "SINCE", IMAP_SK_SINCE, ARG_DATE, 0 },
	{ "SMALLER", IMAP_SK_SMALLER, ARG_SIZE, 0 },
	{ "SUBJECT", IMAP_SK_SUBJECT, ARG_ASTRING, 0 },
	{ "TEXT", IMAP_SK_TEXT, ARG_ASTRING, 0 },
	{ "TO", IMAP_SK_TO, ARG_ASTRING, 0 },
	{ "UID", IMAP_SK_UID, ARG_SEQSET, 0 },
	{ "UNANSWERED", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_ANSWERED },
	{ "UNDELETED", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_DELETED },
	{ "UNDRAFT", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_DRAFT },
	{ "UNFLAGGED", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_FLAGGED },
	{ "UNKEYWORD", IMAP_SK_UNKEYWORD, ARG_KEYWORD, 0 },
	{ "UNSEEN", IMAP_SK_UNFLAG, ARG_NONE, IMAP_FLAG_SEEN },
};

struct sparse {
	struct imap_search *s;
	struct imap_cursor *c;  /* for the shared error */
	unsigned flags;
};

static struct imap_search_node *node_new(struct sparse *p, enum imap_search_key key)
{
	if (p->s->nodes >= IMAP_SEARCH_NODES_MAX) {
		imap_fail(p->c, "Too many search keys");
		return NULL;
	}
	p->s->nodes++;
	struct imap_search_node *n = xcalloc(1, sizeof *n);
	n->key = key;
	return n;
}

static void node_free(struct imap_search_node *n)
{
	while (n != NULL) {
		struct imap_search_node *next = n->next;
		node_free(n->child);
		free(n->str);
		free(n->str_casemap);
		free(n->field);
		free(n->entry);
		imap_seqset_free(&n->set);
		free(n);
		n = next;
	}
}

static char *dup_n(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static bool next_date(struct imap_cursor *c, int32_t *day)
{
	const struct imap_arg *a;

	if (!imap_next_arg(c, &a))
		return false;
	/* date = date-text / DQUOTE date-text DQUOTE */
	if ((a->type == IMAP_ARG_QUOTED || (a->type == IMAP_ARG_ATOM && a->flags == 0)) &&
	    imap_date_parse(a->str, a->len, day))
		return true;
	return imap_fail(c, "Invalid date (expected e.g. 1-Feb-2024)");
}

/* MODSEQ [entry-name SP entry-type-req] SP mod-sequence-valzer (RFC 7162 3.1.5) */
static bool parse_modseq(struct imap_cursor *c, struct imap_search_node *n)
{
	const struct imap_arg *a = imap_peek(c);

	if (a != NULL && a->type == IMAP_ARG_QUOTED) {
		const char *type;
		c->arg = a->next;
		/* entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE */
		if (a->len <= 7 || !imap_word_eq(a->str, 7, "/flags/"))
			return imap_fail(c, "Invalid MODSEQ entry name");
		n->entry = dup_n(a->str, a->len);
		if (!imap_next_atom(c, &type))
			return false;
		if (imap_word_eq(type, strlen(type), "all"))
			n->entry_type = IMAP_ENTRY_ALL;
		else if (imap_word_eq(type, strlen(type), "shared"))
			n->entry_type = IMAP_ENTRY_SHARED;
		else if (imap_word_eq(type, strlen(type), "priv"))
			n->entry_type = IMAP_ENTRY_PRIV;
		else
			return imap_fail(c, "Invalid MODSEQ entry type");
	}
	return imap_next_number64(c, &n->number);
}

static struct imap_search_node *parse_key(struct sparse *p, struct imap_cursor *c, int depth);

/* Keys up to the end of the cursor, as the children of an AND node. */
static struct imap_search_node *parse_keys(struct sparse *p, struct imap_cursor *c, int depth)
{
	struct imap_search_node *and = node_new(p, IMAP_SK_AND), **tail;

	if (and == NULL)
		return NULL;
	tail = &and->child;
	if (imap_at_end(c)) {
		imap_fail(c, "Missing search key");
		return and;
	}
	while (!imap_at_end(c)) {
		struct imap_search_node *k = parse_key(p, c, depth);
		if (k == NULL)
			break;
		*tail = k;
		tail = &k->next;
	}
	return and;
}

static bool parse_text_arg(struct sparse *p, struct imap_cursor *c, struct imap_search_node *n)
{
	const char *s;
	size_t len;

	if (!imap_next_astring(c, &s, &len))
		return false;
	if (len > IMAP_SEARCH_STRING_MAX)
		return imap_fail(c, "Search string too long");
	n->str = dup_n(s, len);
	n->str_len = len;
	struct buf cm;
	buf_init(&cm);
	casemap_append(&cm, s, len);
	n->str_casemap = cm.data;
	n->str_casemap_len = cm.len;
	p->s->uses_text = true;
	p->s->uses_body |= n->key == IMAP_SK_BODY || n->key == IMAP_SK_TEXT;
	return true;
}

/* Fills the argument of the key found in search_keys[i]; false on error. */
static bool parse_key_arg(struct sparse *p, struct imap_cursor *c, size_t i,
                          struct imap_search_node *n, int depth)
{
	const char *s;
	size_t len;

	n->flag = search_keys[i].flag;
	switch (search_keys[i].arg) {
	case ARG_NONE:
		return true;
	case ARG_HEADER:
		/* header-fld-name = astring */
		if (!imap_next_astring(c, &s, &len))
			return false;
		if (len == 0)
			return imap_fail(c, "Empty header field name");
		n->field = dup_n(s, len);
		return parse_text_arg(p, c, n);
	case ARG_ASTRING:
		return parse_text_arg(p, c, n);
	case ARG_DATE:
		return next_date(c, &n->day);
	case ARG_SIZE:
		return imap_next_number64(c, &n->number);
	case ARG_SEQSET:
		if (!imap_next_seqset(c, &n->set, (p->flags & IMAP_SEARCH_ALLOW_SAVED)
		                                      ? IMAP_SEQSET_ALLOW_SAVED : 0))
			return false;
		p->s->uses_saved |= n->set.saved;
		return true;
	case ARG_KEYWORD:
		/* flag-keyword = atom */
		if (!imap_next_atom(c, &s))
			return false;
		n->str = dup_n(s, strlen(s));
		n->str_len = strlen(s);
		return true;
	case ARG_NOT:
		n->child = parse_key(p, c, depth + 1);
		return n->child != NULL;
	case ARG_OR:
		n->child = parse_key(p, c, depth + 1);
		if (n->child == NULL)
			return false;
		n->child->next = parse_key(p, c, depth + 1);
		return n->child->next != NULL;
	case ARG_MODSEQ:
		p->s->uses_modseq = true;
		return parse_modseq(c, n);
	}
	return false;
}

static struct imap_search_node *parse_key(struct sparse *p, struct imap_cursor *c, int depth)
{
	const struct imap_arg *a;
	struct imap_search_node *n;

	if (depth > IMAP_SEARCH_DEPTH_MAX) {
		imap_fail(c, "Search criteria nested too deeply");
		return NULL;
	}
	if (!imap_next_arg(c, &a))
		return NULL;
	if (a->type == IMAP_ARG_LIST) {
		struct imap_cursor inner;
		imap_cursor_init(&inner, a->list, c->error);
		n = parse_keys(p, &inner, depth + 1);
	} else if (a->type == IMAP_ARG_ATOM && a->len > 0 &&
	           (is_digit((unsigned char)a->str[0]) || a->str[0] == '*' || a->str[0] == '$')) {
		/* sequence-set as a key: re-read the same argument as one */
		struct imap_cursor one;
		imap_cursor_init(&one, a, c->error);
		n = node_new(p, IMAP_SK_SEQSET);
		if (n != NULL && imap_next_seqset(&one, &n->set, (p->flags & IMAP_SEARCH_ALLOW_SAVED)
		                                                     ? IMAP_SEQSET_ALLOW_SAVED : 0))
			p->s->uses_saved |= n->set.saved;
	} else {
		size_t i = 0;
		if (a->type == IMAP_ARG_ATOM && a->flags == 0) {
			while (i < ARRAY_LEN(search_keys) &&
			       !imap_word_eq(a->str, a->len, search_keys[i].name))
				i++;
		} else {
			i = ARRAY_LEN(search_keys);
		}
		if (i == ARRAY_LEN(search_keys)) {
			imap_fail(c, "Unknown search key");
			return NULL;
		}
		n = node_new(p, search_keys[i].key);
		if (n != NULL)
			parse_key_arg(p, c, i, n, depth);
	}
	if (n != NULL && *c->error != NULL) {
		node_free(n);
		n = NULL;
	}
	return n;
}

/* RETURN "(" [return-option *(SP return-option)] ")" (RFC 4731 3.1), the
 * word RETURN read already */
static bool parse_return(struct sparse *p, struct imap_cursor *c)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RET_MIN }, { "MAX", IMAP_SEARCH_RET_MAX },
		{ "ALL", IMAP_SEARCH_RET_ALL }, { "COUNT", IMAP_SEARCH_RET_COUNT },
		{ "SAVE", IMAP_SEARCH_RET_SAVE },
	};
	struct imap_cursor list;
	const char *opt;

	if (!imap_next_list(c, &list))
		return false;
	p->s->esearch = true;
	while (!imap_at_end(&list)) {
		size_t i = 0;
		if (!imap_next_atom(&list, &opt))
			return false;
		while (i < ARRAY_LEN(opts) && !imap_word_eq(opt, strlen(opt), opts[i].name))
			i++;
		if (i == ARRAY_LEN(opts) ||
		    (opts[i].bit == IMAP_SEARCH_RET_SAVE && !(p->flags & IMAP_SEARCH_ALLOW_SAVED)))
			return imap_fail(c, "Unknown RETURN option");
		p->s->ret |= opts[i].bit;
	}
	/* RFC 4731 3.1: an empty list means ALL */
	if (p->s->ret == 0)
		p->s->ret = IMAP_SEARCH_RET_ALL;
	return true;
}

bool imap_search_parse_return(struct imap_search *s, struct imap_cursor *c, unsigned flags)
{
	struct sparse p = { .s = s, .c = c, .flags = flags };
	return *c->error == NULL && parse_return(&p, c);
}

/* A charset name: the two the search matches in (RFC 9051 6.4.4), else
 * BADCHARSET. */
static enum imap_search_status parse_charset(struct imap_search *s, struct imap_cursor *c)
{
	const char *cs;
	size_t len;
	if (!imap_next_astring(c, &cs, &len))
		return IMAP_SEARCH_BAD;
	if (imap_word_eq(cs, len, "UTF-8"))
		s->charset_utf8 = true;
	else if (!imap_word_eq(cs, len, "US-ASCII"))
		return IMAP_SEARCH_BADCHARSET;
	return IMAP_SEARCH_OK;
}

enum imap_search_status imap_search_parse(struct imap_search *s, struct imap_cursor *c,
                                          unsigned flags)
{
	struct sparse p = { .s = s, .c = c, .flags = flags };
	enum imap_search_status st = IMAP_SEARCH_OK;

	*s = (struct imap_search){ 0 };
	if (*c->error != NULL)
		return IMAP_SEARCH_BAD;
	if (flags & IMAP_SEARCH_BARE_CHARSET) {
		st = parse_charset(s, c);       /* SORT, THREAD: the charset comes first */
	} else {
		if (imap_accept_atom(c, "RETURN") && !parse_return(&p, c))
			return IMAP_SEARCH_BAD;
		if (imap_accept_atom(c, "CHARSET"))
			st = parse_charset(s, c);
	}
	if (st != IMAP_SEARCH_OK)
		return st;
	s->root = parse_keys(&p, c, 1);
	return *c->error == NULL ? IMAP_SEARCH_OK : IMAP_SEARCH_BAD;
}

void imap_search_free(struct imap_search *s)
{
	node_free(s->root);
	*s = (struct imap_search){ 0 };
}

/* ---- evaluation ---- */

/* kw (NUL-terminated) among the words of a space-separated list */
static bool list_has_keyword(const char *list, const char *kw)
{
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t w = strcspn(p, " ");
		if (w > 0 && imap_word_eq(p, w, kw))
			return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

static bool has_keyword(const struct imap_search_msg *m, const char *kw)
{
	return list_has_keyword(m->keyword_list, kw);
}

static enum imap_tri tri(bool b)
{
	return b ? IMAP_TRI_YES : IMAP_TRI_NO;
}

static bool in_set(const struct imap_seqset *set, uint32_t n, uint32_t max,
                   const struct imap_search_msg *m, const struct imap_search_ctx *ctx)
{
	/* RFC 5182 2.1: "$" is the saved result, whatever the numbering */
	if (set->saved)
		return ctx->saved != NULL && imap_seqset_contains(ctx->saved, m->uid, ctx->max_uid);
	return imap_seqset_contains(set, n, max);
}

static enum imap_tri eval_node(const struct imap_search_node *n, const struct imap_search_msg *m,
                               const struct imap_search_ctx *ctx)
{
	enum imap_tri r, r2;

	switch (n->key) {
	case IMAP_SK_AND:
		r = IMAP_TRI_YES;
		for (const struct imap_search_node *k = n->child; k != NULL; k = k->next) {
			r2 = eval_node(k, m, ctx);
			if (r2 == IMAP_TRI_NO)
				return IMAP_TRI_NO;
			if (r2 == IMAP_TRI_MAYBE)
				r = IMAP_TRI_MAYBE;
		}
		return r;
	case IMAP_SK_OR:
		r = eval_node(n->child, m, ctx);
		if (r == IMAP_TRI_YES)
			return r;
		r2 = eval_node(n->child->next, m, ctx);
		if (r2 == IMAP_TRI_YES)
			return r2;
		return r == IMAP_TRI_NO && r2 == IMAP_TRI_NO ? IMAP_TRI_NO : IMAP_TRI_MAYBE;
	case IMAP_SK_NOT:
		r = eval_node(n->child, m, ctx);
		return r == IMAP_TRI_MAYBE ? r : tri(r == IMAP_TRI_NO);
	case IMAP_SK_ALL:
		return IMAP_TRI_YES;
	case IMAP_SK_SEQSET:
		return tri(in_set(&n->set, m->seq, ctx->max_seq, m, ctx));
	case IMAP_SK_UID:
		return tri(in_set(&n->set, m->uid, ctx->max_uid, m, ctx));
	case IMAP_SK_FLAG:
		return tri((m->flags & n->flag) != 0);
	case IMAP_SK_UNFLAG:
		return tri((m->flags & n->flag) == 0);
	case IMAP_SK_NEW:
		return tri((m->flags & IMAP_FLAG_RECENT) && !(m->flags & IMAP_FLAG_SEEN));
	case IMAP_SK_KEYWORD:
		return tri(has_keyword(m, n->str));
	case IMAP_SK_UNKEYWORD:
		return tri(!has_keyword(m, n->str));
	case IMAP_SK_LARGER:
		return tri(m->size > n->number);
	case IMAP_SK_SMALLER:
		return tri(m->size < n->number);
	/* RFC 9051 6.4.4: dates disregard time and timezone */
	case IMAP_SK_BEFORE:
		return tri(m->internal_day < n->day);
	case IMAP_SK_ON:
		return tri(m->internal_day == n->day);
	case IMAP_SK_SINCE:
		return tri(m->internal_day >= n->day);
	case IMAP_SK_SENTBEFORE:
		return tri(m->sent_day < n->day);
	case IMAP_SK_SENTON:
		return tri(m->sent_day == n->day);
	case IMAP_SK_SENTSINCE:
		return tri(m->sent_day >= n->day);
	case IMAP_SK_MODSEQ:
		return tri(m->modseq >= n->number);
	case IMAP_SK_BCC:
	case IMAP_SK_CC:
	case IMAP_SK_FROM:
	case IMAP_SK_TO:
	case IMAP_SK_SUBJECT:
	case IMAP_SK_HEADER:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if (ctx->text_match != NULL) {
			int t = ctx->text_match(ctx->arg, n, m);
			if (t == 0 || t == 1)
				return tri(t == 1);
		}
		return IMAP_TRI_MAYBE;
	}
	return IMAP_TRI_MAYBE;
}

enum imap_tri imap_search_eval(const struct imap_search *s, const struct imap_search_msg *m,
                               const struct imap_search_ctx *ctx)
{
	if (s->root == NULL)
		return IMAP_TRI_NO;
	return eval_node(s->root, m, ctx);
}
