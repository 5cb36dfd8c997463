/* IMAP FETCH attributes, STORE arguments and flag lists; see imap_fetch_parse.h.
 *
 * Grammar references are to RFC 9051 9: fetch, fetch-att, section,
 * section-binary, partial, store-att-flags, flag-list; RFC 7162 for the
 * fetch and store modifiers. The argument tree already holds BODY[...]<...>
 * as one SECTION node whose tokens are checked here. */
#include "imap/imap_fetch_parse.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static char *dup_n(const char *s, size_t len)
{
	char *d = xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* ---- sections ---- */

/* RFC 5322 2.2: field-name = 1*ftext; ftext = %d33-57 / %d59-126 */
static bool header_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > IMAP_HEADER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* section-part = nz-number *("." nz-number), at *s; stops before a "."
 * that is not followed by a digit (the start of section-text). */
static bool parse_parts(struct imap_cursor *c, const char **s, const char *end,
                        struct imap_section *sec)
{
	const char *p = *s;

	while (p < end && is_digit((unsigned char)*p)) {
		const char *q = p;
		uint64_t v;
		while (q < end && is_digit((unsigned char)*q))
			q++;
		if (!imap_parse_number(p, (size_t)(q - p), UINT32_MAX, &v) || v == 0)
			return imap_fail(c, "Invalid section part number");
		if (sec->nparts >= IMAP_SECTION_PARTS_MAX)
			return imap_fail(c, "Section part numbers nested too deeply");
		sec->part[sec->nparts++] = (uint32_t)v;
		p = q;
		if (p == end)
			break;
		if (*p != '.' || p + 1 == end)
			return imap_fail(c, "Invalid section");
		if (!is_digit((unsigned char)p[1]))
			break;      /* "." section-text */
		p++;
	}
	*s = p;
	return true;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static bool parse_header_list(struct imap_cursor *c, const struct imap_arg *list,
                              struct imap_section *sec)
{
	struct imap_cursor names;

	if (list == NULL || list->type != IMAP_ARG_LIST || list->count == 0)
		return imap_fail(c, "HEADER.FIELDS needs a list of field names");
	if (list->count > IMAP_HEADER_FIELDS_MAX)
		return imap_fail(c, "Too many header field names");
	sec->fields = xcalloc(list->count, sizeof *sec->fields);
	imap_cursor_init(&names, list->list, c->error);
	while (!imap_at_end(&names)) {
		const char *name;
		size_t len;
		if (!imap_next_astring(&names, &name, &len))
			return false;
		if (!header_name_ok(name, len))
			return imap_fail(c, "Invalid header field name");
		sec->fields[sec->nfields++] = dup_n(name, len);
	}
	return true;
}

/* The tokens inside [...]; binary: section-binary (part numbers only). */
static bool parse_section(struct imap_cursor *c, const struct imap_arg *sa, bool binary,
                          struct imap_section *sec)
{
	static const struct {
		const char *name;
		enum imap_section_text text;
	} texts[] = {
		{ "HEADER", IMAP_SECTION_HEADER },
		{ "HEADER.FIELDS", IMAP_SECTION_HEADER_FIELDS },
		{ "HEADER.FIELDS.NOT", IMAP_SECTION_HEADER_FIELDS_NOT },
		{ "TEXT", IMAP_SECTION_TEXT },
		{ "MIME", IMAP_SECTION_MIME },
	};
	const struct imap_arg *tok = sa->list;

	if (tok == NULL)
		return true;        /* BODY[]: the whole message */
	if (tok->type != IMAP_ARG_ATOM || tok->flags != 0)
		return imap_fail(c, "Invalid section");
	const char *s = tok->str, *end = tok->str + tok->len;
	if (!parse_parts(c, &s, end, sec))
		return false;
	if (s < end) {
		size_t i = 0;
		if (binary)
			return imap_fail(c, "BINARY takes part numbers only");
		if (sec->nparts > 0)
			s++;    /* the "." after the part numbers */
		while (i < ARRAY_LEN(texts) && !imap_word_eq(s, (size_t)(end - s), texts[i].name))
			i++;
		if (i == ARRAY_LEN(texts))
			return imap_fail(c, "Invalid section");
		/* section-text = section-msgtext / "MIME": MIME only after a part */
		if (texts[i].text == IMAP_SECTION_MIME && sec->nparts == 0)
			return imap_fail(c, "MIME needs a part number");
		sec->text = texts[i].text;
	}
	if (sec->text == IMAP_SECTION_HEADER_FIELDS || sec->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		if (sa->count != 2)
			return imap_fail(c, "HEADER.FIELDS needs a list of field names");
		return parse_header_list(c, tok->next, sec);
	}
	return sa->count == 1 ? true : imap_fail(c, "Invalid section");
}

/* partial = "<" number64 "." nz-number64 ">" (the text inside <>) */
static bool parse_partial(struct imap_cursor *c, const char *s, struct imap_fetch_item *it)
{
	const char *dot = strchr(s, '.');

	if (dot == NULL ||
	    !imap_parse_number(s, (size_t)(dot - s), IMAP_NUMBER64_MAX, &it->partial_start) ||
	    !imap_parse_number(dot + 1, strlen(dot + 1), IMAP_NUMBER64_MAX, &it->partial_count) ||
	    it->partial_count == 0)
		return imap_fail(c, "Invalid partial range (expected <start.count>)");
	it->partial = true;
	return true;
}

/* ---- fetch attributes ---- */

static bool name_fits(const struct imap_fetch_item *it);

static const struct {
	const char *name;
	enum imap_fetch_att att;
} simple_atts[] = {
	{ "FLAGS", IMAP_FA_FLAGS }, { "INTERNALDATE", IMAP_FA_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FA_RFC822_SIZE }, { "ENVELOPE", IMAP_FA_ENVELOPE },
	{ "BODY", IMAP_FA_BODY }, { "BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE },
	{ "UID", IMAP_FA_UID }, { "MODSEQ", IMAP_FA_MODSEQ },
	{ "RFC822", IMAP_FA_RFC822 }, { "RFC822.HEADER", IMAP_FA_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FA_RFC822_TEXT },
};

static struct imap_fetch_item *add_item(struct imap_fetch *f, struct imap_cursor *c,
                                        enum imap_fetch_att att)
{
	if (f->nitems >= IMAP_FETCH_ITEMS_MAX) {
		imap_fail(c, "Too many FETCH attributes");
		return NULL;
	}
	if (f->items == NULL)
		f->items = xcalloc(IMAP_FETCH_ITEMS_MAX, sizeof *f->items);
	struct imap_fetch_item *it = &f->items[f->nitems++];
	*it = (struct imap_fetch_item){ .att = att };
	return it;
}

static bool parse_section_att(struct imap_fetch *f, struct imap_cursor *c,
                              const struct imap_arg *a)
{
	static const struct {
		const char *name;
		enum imap_fetch_att att;
		bool peek;
	} names[] = {
		{ "BODY", IMAP_FA_BODY_SECTION, false }, { "BODY.PEEK", IMAP_FA_BODY_SECTION, true },
		{ "BINARY", IMAP_FA_BINARY, false }, { "BINARY.PEEK", IMAP_FA_BINARY, true },
		{ "BINARY.SIZE", IMAP_FA_BINARY_SIZE, false },
	};
	size_t i = 0;

	while (i < ARRAY_LEN(names) && !imap_word_eq(a->str, a->len, names[i].name))
		i++;
	if (i == ARRAY_LEN(names))
		return imap_fail(c, "Unknown FETCH attribute");
	struct imap_fetch_item *it = add_item(f, c, names[i].att);
	if (it == NULL)
		return false;
	it->peek = names[i].peek;
	if (!parse_section(c, a, names[i].att != IMAP_FA_BODY_SECTION, &it->section))
		return false;
	if (a->flags & IMAP_ARGF_PARTIAL) {
		if (names[i].att == IMAP_FA_BINARY_SIZE)
			return imap_fail(c, "BINARY.SIZE takes no partial range");
		if (!parse_partial(c, a->partial, it))
			return false;
	}
	if (!name_fits(it))
		return imap_fail(c, "FETCH item name too long");
	return true;
}

static bool parse_fetch_att(struct imap_fetch *f, struct imap_cursor *c)
{
	const struct imap_arg *a;

	if (!imap_next_arg(c, &a))
		return false;
	if (a->type == IMAP_ARG_SECTION)
		return parse_section_att(f, c, a);
	if (a->type == IMAP_ARG_ATOM && a->flags == 0) {
		for (size_t i = 0; i < ARRAY_LEN(simple_atts); i++) {
			if (imap_word_eq(a->str, a->len, simple_atts[i].name))
				return add_item(f, c, simple_atts[i].att) != NULL;
		}
	}
	return imap_fail(c, "Unknown FETCH attribute");
}

/* ALL / FAST / FULL (RFC 9051 6.4.5) */
static bool parse_macro(struct imap_fetch *f, struct imap_cursor *c)
{
	static const enum imap_fetch_att fast[] = {
		IMAP_FA_FLAGS, IMAP_FA_INTERNALDATE, IMAP_FA_RFC822_SIZE, IMAP_FA_ENVELOPE,
		IMAP_FA_BODY,
	};
	size_t n;

	if (imap_accept_atom(c, "FAST"))
		n = 3;
	else if (imap_accept_atom(c, "ALL"))
		n = 4;
	else if (imap_accept_atom(c, "FULL"))
		n = 5;
	else
		return false;
	for (size_t i = 0; i < n; i++)
		add_item(f, c, fast[i]);
	return true;
}

/* fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")" */
static bool parse_fetch_modifiers(struct imap_fetch *f, struct imap_cursor *c, bool uid)
{
	struct imap_cursor mods;

	if (!imap_next_list(c, &mods))
		return false;
	if (imap_at_end(&mods))
		return imap_fail(c, "Empty FETCH modifier list");
	while (!imap_at_end(&mods)) {
		if (imap_accept_atom(&mods, "CHANGEDSINCE")) {
			/* mod-sequence-value: 1..2^63-1 */
			if (!imap_next_number64(&mods, &f->changedsince_modseq))
				return false;
			if (f->changedsince_modseq == 0)
				return imap_fail(c, "CHANGEDSINCE needs a positive mod-sequence");
			f->changedsince = true;
		} else if (imap_accept_atom(&mods, "VANISHED")) {
			f->vanished = true;
		} else {
			return imap_fail(c, "Unknown FETCH modifier");
		}
	}
	/* RFC 7162 3.2.6 */
	if (f->vanished && !uid)
		return imap_fail(c, "VANISHED needs UID FETCH");
	if (f->vanished && !f->changedsince)
		return imap_fail(c, "VANISHED needs CHANGEDSINCE");
	return true;
}

bool imap_fetch_parse(struct imap_fetch *f, struct imap_cursor *c, bool uid)
{
	const struct imap_arg *a = imap_peek(c);

	*f = (struct imap_fetch){ 0 };
	if (*c->error != NULL)
		return false;
	if (a == NULL)
		return imap_fail(c, "Missing FETCH attributes");
	if (a->type == IMAP_ARG_LIST) {
		struct imap_cursor list;
		imap_next_list(c, &list);
		if (imap_at_end(&list))
			return imap_fail(c, "Empty FETCH attribute list");
		while (!imap_at_end(&list) && parse_fetch_att(f, &list))
			;
	} else if (!parse_macro(f, c)) {
		parse_fetch_att(f, c);
	}
	if (*c->error == NULL && !imap_at_end(c))
		parse_fetch_modifiers(f, c, uid);
	if (!imap_expect_end(c))
		return false;
	for (size_t i = 0; i < f->nitems; i++) {
		const struct imap_fetch_item *it = &f->items[i];
		/* RFC 9051 6.4.5: BODY[] and BINARY[] without .PEEK set \Seen */
		if (((it->att == IMAP_FA_BODY_SECTION || it->att == IMAP_FA_BINARY) && !it->peek) ||
		    it->att == IMAP_FA_RFC822 || it->att == IMAP_FA_RFC822_TEXT)
			f->sets_seen = true;
		/* RFC 7162 3.1.4.1 / 3.1.4.2 */
		if (it->att == IMAP_FA_MODSEQ)
			f->wants_modseq = true;
	}
	f->wants_modseq |= f->changedsince;
	return true;
}

static void section_free(struct imap_section *sec)
{
	for (size_t i = 0; i < sec->nfields; i++)
		free(sec->fields[i]);
	free(sec->fields);
	sec->fields = NULL;
	sec->nfields = 0;
}

void imap_fetch_free(struct imap_fetch *f)
{
	for (size_t i = 0; i < f->nitems; i++)
		section_free(&f->items[i].section);
	free(f->items);
	*f = (struct imap_fetch){ 0 };
}

/* ---- response names ---- */

/* buf NULL: only measures, up to size as if a buffer were there */
struct writer {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void w_put(struct writer *w, const char *s, size_t n)
{
	if (w->overflow || n >= w->size - w->len) {
		w->overflow = true;
		return;
	}
	if (w->buf != NULL) {
		memcpy(w->buf + w->len, s, n);
		w->buf[w->len + n] = '\0';
	}
	w->len += n;
}

static void w_puts(struct writer *w, const char *s)
{
	w_put(w, s, strlen(s));
}

static void w_number(struct writer *w, uint64_t v)
{
	char tmp[21];
	size_t n = sizeof tmp;

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	w_put(w, tmp + n, sizeof tmp - n);
}

/* A header name as an atom when it is one, else as a quoted string. */
static void w_astring(struct writer *w, const char *s)
{
	bool atom = *s != '\0';

	for (const char *p = s; *p != '\0' && atom; p++)
		atom = strchr("(){%*\"\\]", *p) == NULL;
	if (atom) {
		w_puts(w, s);
		return;
	}
	w_puts(w, "\"");
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			w_puts(w, "\\");
		w_put(w, p, 1);
	}
	w_puts(w, "\"");
}

static void w_section(struct writer *w, const struct imap_section *sec)
{
	static const char *const texts[] = {
		[IMAP_SECTION_NONE] = "", [IMAP_SECTION_HEADER] = "HEADER",
		[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
		[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[IMAP_SECTION_TEXT] = "TEXT", [IMAP_SECTION_MIME] = "MIME",
	};

	w_puts(w, "[");
	for (size_t i = 0; i < sec->nparts; i++) {
		if (i > 0)
			w_puts(w, ".");
		w_number(w, sec->part[i]);
	}
	if (sec->text != IMAP_SECTION_NONE) {
		if (sec->nparts > 0)
			w_puts(w, ".");
		w_puts(w, texts[sec->text]);
	}
	if (sec->nfields > 0) {
		w_puts(w, " (");
		for (size_t i = 0; i < sec->nfields; i++) {
			if (i > 0)
				w_puts(w, " ");
			w_astring(w, sec->fields[i]);
		}
		w_puts(w, ")");
	}
	w_puts(w, "]");
}

static const char *const att_names[] = {
	[IMAP_FA_FLAGS] = "FLAGS", [IMAP_FA_INTERNALDATE] = "INTERNALDATE",
	[IMAP_FA_RFC822_SIZE] = "RFC822.SIZE", [IMAP_FA_ENVELOPE] = "ENVELOPE",
	[IMAP_FA_BODY] = "BODY", [IMAP_FA_BODYSTRUCTURE] = "BODYSTRUCTURE",
	[IMAP_FA_UID] = "UID", [IMAP_FA_MODSEQ] = "MODSEQ", [IMAP_FA_RFC822] = "RFC822",
	[IMAP_FA_RFC822_HEADER] = "RFC822.HEADER", [IMAP_FA_RFC822_TEXT] = "RFC822.TEXT",
	[IMAP_FA_BODY_SECTION] = "BODY", [IMAP_FA_BINARY] = "BINARY",
	[IMAP_FA_BINARY_SIZE] = "BINARY.SIZE",
};

/* The response name through w; false if it is unknown or does not fit. */
static bool write_name(struct writer *w, const struct imap_fetch_item *it)
{
	if ((size_t)it->att >= ARRAY_LEN(att_names))
		return false;
	w_puts(w, att_names[it->att]);
	if (it->att == IMAP_FA_BODY_SECTION || it->att == IMAP_FA_BINARY ||
	    it->att == IMAP_FA_BINARY_SIZE)
		w_section(w, &it->section);
	/* RFC 9051 7.5.2: the response gives only the origin octet */
	if (it->partial) {
		w_puts(w, "<");
		w_number(w, it->partial_start);
		w_puts(w, ">");
	}
	return !w->overflow && w->len <= INT32_MAX;
}

int imap_fetch_item_name(const struct imap_fetch_item *it, char *buf, size_t size)
{
	struct writer w = { .buf = buf, .size = size };

	if (size == 0)
		return -1;
	buf[0] = '\0';
	if (!write_name(&w, it)) {
		buf[0] = '\0';
		return -1;
	}
	return (int)w.len;
}

/* Whether the item's response name fits in IMAP_FETCH_NAME_MAX. Checked
 * when the FETCH is parsed: once "* n FETCH (" is sent there is no
 * correct way left to report it. */
static bool name_fits(const struct imap_fetch_item *it)
{
	struct writer w = { .buf = NULL, .size = IMAP_FETCH_NAME_MAX };

	return write_name(&w, it);
}

/* ---- flags ---- */

static const struct {
	const char *name;
	unsigned bit;
} system_flags[] = {
	{ "\\Answered", IMAP_FLAG_ANSWERED }, { "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED }, { "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Draft", IMAP_FLAG_DRAFT },
};

static bool add_flag(struct imap_cursor *c, const struct imap_arg *a, struct imap_flags *fl)
{
	if (a->type == IMAP_ARG_ATOM && a->flags == IMAP_ARGF_BACKSLASH) {
		for (size_t i = 0; i < ARRAY_LEN(system_flags); i++) {
			if (imap_word_eq(a->str, a->len, system_flags[i].name)) {
				fl->system |= system_flags[i].bit;
				return true;
			}
		}
		if (imap_word_eq(a->str, a->len, "\\Recent"))
			return imap_fail(c, "\\Recent cannot be set");
		return imap_fail(c, "Unknown system flag");
	}
	/* flag-keyword = atom (NIL is an atom too) */
	if ((a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_NIL) || a->flags != 0)
		return imap_fail(c, "Invalid flag");
	if (a->len > IMAP_KEYWORD_MAX)
		return imap_fail(c, "Keyword too long");
	for (size_t i = 0; i < fl->nkeywords; i++) {
		if (imap_word_eq(a->str, a->len, fl->keywords[i]))
			return true;
	}
	if (fl->nkeywords >= IMAP_KEYWORDS_MAX)
		return imap_fail(c, "Too many keywords");
	if (fl->keywords == NULL)
		fl->keywords = xcalloc(IMAP_KEYWORDS_MAX, sizeof *fl->keywords);
	fl->keywords[fl->nkeywords++] = dup_n(a->str, a->len);
	return true;
}

/* Flags from the cursor up to its end. */
static bool add_flags(struct imap_cursor *c, struct imap_flags *fl)
{
	const struct imap_arg *a;

	while (!imap_at_end(c)) {
		if (!imap_next_arg(c, &a) || !add_flag(c, a, fl))
			return false;
	}
	return true;
}

bool imap_next_flag_list(struct imap_cursor *c, struct imap_flags *flags)
{
	struct imap_cursor list;

	*flags = (struct imap_flags){ 0 };
	return imap_next_list(c, &list) && add_flags(&list, flags);
}

void imap_flags_free(struct imap_flags *flags)
{
	for (size_t i = 0; i < flags->nkeywords; i++)
		free(flags->keywords[i]);
	free(flags->keywords);
	*flags = (struct imap_flags){ 0 };
}

/* ---- STORE ---- */

/* store-modifiers = SP "(" store-modifier *(SP store-modifier) ")" */
static bool parse_store_modifiers(struct imap_store *st, struct imap_cursor *c)
{
	struct imap_cursor mods;

	if (!imap_next_list(c, &mods))
		return false;
	if (imap_at_end(&mods))
		return imap_fail(c, "Empty STORE modifier list");
	while (!imap_at_end(&mods)) {
		if (!imap_accept_atom(&mods, "UNCHANGEDSINCE"))
			return imap_fail(c, "Unknown STORE modifier");
		/* mod-sequence-valzer: 0 allowed (RFC 7162 3.1.3) */
		if (!imap_next_number64(&mods, &st->unchangedsince_modseq))
			return false;
		st->unchangedsince = true;
	}
	return true;
}

bool imap_store_parse(struct imap_store *st, struct imap_cursor *c)
{
	const struct imap_arg *a = imap_peek(c);
	const char *item;

	*st = (struct imap_store){ 0 };
	if (a != NULL && a->type == IMAP_ARG_LIST && !parse_store_modifiers(st, c))
		return false;
	if (!imap_next_atom(c, &item))
		return false;
	/* ["+" / "-"] "FLAGS" [".SILENT"] */
	size_t len = strlen(item);
	if (*item == '+' || *item == '-') {
		st->op = *item == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		item++;
		len--;
	}
	if (len > 7 && imap_word_eq(item + len - 7, 7, ".SILENT")) {
		st->silent = true;
		len -= 7;
	}
	if (!imap_word_eq(item, len, "FLAGS"))
		return imap_fail(c, "Invalid STORE data item (expected [+|-]FLAGS[.SILENT])");
	a = imap_peek(c);
	if (a == NULL)
		return imap_fail(c, "Missing flags");
	if (a->type == IMAP_ARG_LIST) {
		if (!imap_next_flag_list(c, &st->flags))
			return false;
		return imap_expect_end(c);
	}
	return add_flags(c, &st->flags);
}

void imap_store_free(struct imap_store *st)
{
	imap_flags_free(&st->flags);
	*st = (struct imap_store){ 0 };
}
