/* The MIME line parser: one pass over the message, building the part tree
 * (RFC 2045, RFC 2046 5.1, RFC 5322 2.2). Field values are handed to
 * mime_param.c as they complete; field lines are split by the header
 * reader (lenient, header.c). IMAP's renderings live in src/imap. */
#include "mail/mime.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "mail/header.h"
#include "mail/mime_int.h"

/* The header fields the tree keeps: MIME ones for every part, the
 * envelope ones for message headers only. */
enum field_id {
	F_NONE = -1,
	F_CTYPE, F_CTE, F_CID, F_CDESC, F_CDISP, F_CLANG, F_CLOC, F_CMD5,
	F_DATE, F_SUBJECT, F_FROM, F_SENDER, F_REPLY_TO, F_TO, F_CC, F_BCC,
	F_IN_REPLY_TO, F_MESSAGE_ID,
	F_COUNT
};
#define F_FIRST_ENVELOPE F_DATE

static const char *const field_names[F_COUNT] = {
	"content-type", "content-transfer-encoding", "content-id", "content-description",
	"content-disposition", "content-language", "content-location", "content-md5",
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
	"in-reply-to", "message-id",
};

/* A part on the path from the root to the one being read. The counters
 * are the LFs and bare LFs (no CR before) in the input before its header
 * and its body: with them, line counts and CRLF sizes of any region come
 * from two subtractions, and no line is looked at twice. */
struct open_part {
	struct mime_part *p;
	struct mime_part *last_child;
	uint64_t hdr_lf, hdr_bare, body_lf, body_bare;
};

struct boundary {
	const char *s;      /* the multipart's boundary parameter value */
	size_t len;
	unsigned int depth; /* of the multipart */
};

struct line {
	size_t start, content_end, end;  /* end: after the LF */
	unsigned int eol;                /* 0 none (last line), 1 LF, 2 CRLF */
};

struct parser {
	struct mime_store store;
	struct open_part open[MIME_MAX_DEPTH + 2];
	unsigned int top;          /* open[top].p is the part being read */
	bool in_header;            /* ... and it is in its header */
	struct boundary bnd[MIME_MAX_DEPTH + 1];
	unsigned int nbnd;
	unsigned int nparts;
	bool overflow;             /* MIME_MAX_PARTS reached: no more boundaries */
	uint64_t lf, bare;         /* before the current line */
	unsigned int prev_eol;     /* line end of the previous line */
	/* the header field being unfolded */
	enum field_id field;
	uint32_t seen;             /* fields of this part already met: first wins */
	unsigned int nfields;
	struct buf fbuf;
};

char *mime_store_dup(struct mime_store *st, const char *s, size_t n)
{
	size_t left = st->used < MIME_STORE_MAX ? MIME_STORE_MAX - st->used : 0;
	char *d;

	if (n > left)
		n = left;
	d = xmalloc(n + 1);
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	st->used += n + 1;
	return d;
}

static void set_type(struct mime_part *p, const char *type, const char *subtype)
{
	free(p->type);
	free(p->subtype);
	p->type = xstrdup(type);
	p->subtype = xstrdup(subtype);
}

static bool type_is(const struct mime_part *p, const char *type, const char *subtype)
{
	return p->type != NULL && strcmp(p->type, type) == 0 &&
	       (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

static struct mime_part *new_part(struct parser *ps, struct mime_part *parent)
{
	struct mime_part *c = xcalloc(1, sizeof *c);

	ps->nparts++;
	c->parent = parent;
	if (parent != NULL) {
		struct open_part *o = &ps->open[parent->depth];
		c->depth = parent->depth + 1;
		if (o->last_child == NULL)
			parent->children = c;
		else
			o->last_child->next = c;
		o->last_child = c;
		parent->nchildren++;
	}
	return c;
}

/* Makes c the part being read, its header starting at offset. */
static void open_part(struct parser *ps, struct mime_part *c, uint64_t offset, uint64_t lf,
                      uint64_t bare)
{
	struct open_part *o = &ps->open[c->depth];

	memset(o, 0, sizeof *o);
	o->p = c;
	o->hdr_lf = lf;
	o->hdr_bare = bare;
	c->hdr_offset = offset;
	ps->top = c->depth;
	ps->in_header = true;
	ps->field = F_NONE;
	ps->seen = 0;
	ps->nfields = 0;
}

/* ---- header fields ---- */

static enum field_id field_lookup(const char *name, size_t n, bool message)
{
	for (int i = 0; i < F_COUNT; i++) {
		if (i >= F_FIRST_ENVELOPE && !message)
			break;
		if (mail_eq_nocase(name, n, field_names[i]))
			return (enum field_id)i;
	}
	return F_NONE;
}

static void field_append(struct parser *ps, const char *s, size_t n)
{
	size_t flen = ps->fbuf.len;
	if (n > MIME_FIELD_MAX - flen)
		n = MIME_FIELD_MAX - flen;
	if (n == 0)
		return;
	buf_append(&ps->fbuf, s, n);
	/* values are kept as C strings: a NUL would cut them short */
	for (size_t i = flen; i < flen + n; i++)
		if (ps->fbuf.data[i] == '\0')
			ps->fbuf.data[i] = (char)0x80;
}

static void field_finish(struct parser *ps)
{
	struct mime_part *p = ps->open[ps->top].p;
	struct mime_envelope *env = p->envelope;
	const char *v = ps->fbuf.data != NULL ? ps->fbuf.data : "";
	size_t n = ps->fbuf.len;
	char **dst = NULL;

	if (ps->field == F_NONE)
		return;
	while (n > 0 && (mail_is_wsp(v[0]) || v[0] == '\r')) {
		v++;
		n--;
	}
	while (n > 0 && (mail_is_wsp(v[n - 1]) || v[n - 1] == '\r'))
		n--;
	switch (ps->field) {
	case F_CTYPE: mime_parse_content_type(&ps->store, p, v, n); break;
	case F_CTE: p->encoding = mime_parse_encoding(&ps->store, v, n); break;
	case F_CDISP: mime_parse_disposition(&ps->store, p, v, n); break;
	case F_CLANG: mime_parse_language(&ps->store, p, v, n); break;
	case F_CID: dst = &p->id; break;
	case F_CDESC: dst = &p->description; break;
	case F_CLOC: dst = &p->location; break;
	case F_CMD5: dst = &p->md5; break;
	case F_DATE: dst = &env->date; break;
	case F_SUBJECT: dst = &env->subject; break;
	case F_FROM: dst = &env->from; break;
	case F_SENDER: dst = &env->sender; break;
	case F_REPLY_TO: dst = &env->reply_to; break;
	case F_TO: dst = &env->to; break;
	case F_CC: dst = &env->cc; break;
	case F_BCC: dst = &env->bcc; break;
	case F_IN_REPLY_TO: dst = &env->in_reply_to; break;
	case F_MESSAGE_ID: dst = &env->message_id; break;
	default: break;
	}
	if (dst != NULL && *dst == NULL)
		*dst = mime_store_dup(&ps->store, v, n);
	ps->field = F_NONE;
}

static void header_line(struct parser *ps, const char *line, size_t n)
{
	const struct mime_part *p = ps->open[ps->top].p;
	size_t name_len, colon;
	enum field_id id;

	/* RFC 5322 2.2.3: unfolding removes the line end, keeps the blank */
	if (mail_is_wsp(line[0])) {
		if (ps->field != F_NONE)
			field_append(ps, line, n);
		return;
	}
	field_finish(ps);
	if (++ps->nfields > MIME_MAX_FIELDS)
		return;
	if (!mail_header_line_split(line, n, MAIL_HEADER_LENIENT, &name_len, &colon))
		return;     /* not a field (Dovecot keeps it as header junk too) */
	id = field_lookup(line, name_len, p->envelope != NULL);
	if (id == F_NONE || (ps->seen & (1u << id)) != 0)
		return;
	ps->seen |= 1u << id;
	ps->field = id;
	buf_reset(&ps->fbuf);
	field_append(ps, line + colon + 1, n - colon - 1);
}

/* ---- part types and containers ---- */

static void demote(struct mime_part *p)
{
	set_type(p, "application", "octet-stream");
	p->flags &= ~(unsigned int)(MIME_PART_MULTIPART | MIME_PART_MESSAGE | MIME_PART_TEXT);
	p->flags |= MIME_PART_LIMITED;
}

/* Once the header is read: defaults, flags, and whether the part may be a
 * container within the limits. Returns the child message to open for a
 * message/rfc822 part, else NULL. */
static struct mime_part *settle_type(struct parser *ps, struct mime_part *p)
{
	if (p->type == NULL) {
		const struct mime_part *parent = p->parent;
		/* RFC 2046 5.1.5: in a digest the default is message/rfc822 */
		if (parent != NULL && (parent->flags & MIME_PART_MULTIPART) &&
		    strcmp(parent->subtype, "digest") == 0)
			set_type(p, "message", "rfc822");
		else
			set_type(p, "text", "plain");
	}
	if (strcmp(p->type, "text") == 0) {
		p->flags |= MIME_PART_TEXT;
	} else if (strcmp(p->type, "multipart") == 0) {
		if (p->depth >= MIME_MAX_DEPTH)
			demote(p);
		else
			p->flags |= MIME_PART_MULTIPART;
	} else if (type_is(p, "message", "rfc822")) {
		if (p->depth >= MIME_MAX_DEPTH || ps->nparts >= MIME_MAX_PARTS) {
			demote(p);
		} else {
			struct mime_part *c = new_part(ps, p);
			p->flags |= MIME_PART_MESSAGE;
			c->envelope = xcalloc(1, sizeof *c->envelope);
			return c;
		}
	}
	return NULL;
}

/* The empty line ended the header of the part being read. */
static void end_header(struct parser *ps, const struct line *l)
{
	struct open_part *o = &ps->open[ps->top];
	struct mime_part *p = o->p, *child;
	uint64_t lf = ps->lf + (l->eol > 0), bare = ps->bare + (l->eol == 1);

	field_finish(ps);
	p->hdr_size = l->end - p->hdr_offset;
	p->hdr_crlf_size = p->hdr_size + (bare - o->hdr_bare);
	p->body_offset = l->end;
	o->body_lf = lf;
	o->body_bare = bare;
	ps->in_header = false;
	child = settle_type(ps, p);
	if (child != NULL) {
		open_part(ps, child, l->end, lf, bare);
		return;
	}
	if (p->flags & MIME_PART_MULTIPART) {
		const char *b = mime_param_get(p->params, p->nparams, "boundary");
		/* without a boundary: a multipart with no parts (as Dovecot) */
		if (b != NULL && b[0] != '\0' && ps->nbnd < ARRAY_LEN(ps->bnd)) {
			ps->bnd[ps->nbnd].s = b;
			ps->bnd[ps->nbnd].len = strlen(b);
			ps->bnd[ps->nbnd].depth = p->depth;
			ps->nbnd++;
		}
	}
}

/* Ends the part open at depth d at offset end (counters lf, bare there). */
static void close_part(struct parser *ps, unsigned int d, uint64_t end, uint64_t lf,
                       uint64_t bare)
{
	struct open_part *o = &ps->open[d];
	struct mime_part *p = o->p;

	if (d == ps->top && ps->in_header) {
		struct mime_part *child;
		/* the header never ended: all header, empty body */
		field_finish(ps);
		if (end < p->hdr_offset) {
			/* the next line is a boundary that takes the line end
			 * before it: an empty part, where that boundary starts
			 * (an empty message inside a message/rfc822 part too) */
			p->hdr_offset = end;
			o->hdr_lf = lf;
			o->hdr_bare = bare;
		}
		p->flags |= MIME_PART_NO_BLANK;
		p->hdr_size = end - p->hdr_offset;
		p->hdr_crlf_size = p->hdr_size + (bare - o->hdr_bare);
		p->body_offset = end;
		o->body_lf = lf;
		o->body_bare = bare;
		ps->in_header = false;
		child = settle_type(ps, p);
		if (child != NULL) {
			/* an encapsulated message with nothing in it */
			child->hdr_offset = child->body_offset = end;
			child->flags |= MIME_PART_NO_BLANK;
			(void)settle_type(ps, child);
		}
	}
	if (end < p->body_offset) {
		/* RFC 2046 5.1.1: a boundary right after the empty line takes
		 * its line end, so the header is one line end shorter and the
		 * body empty (as Dovecot counts the part; unlike Dovecot, a
		 * message/rfc822 part around it shrinks the same) */
		if (end < p->hdr_offset) {
			end = p->hdr_offset;
			lf = o->hdr_lf;
			bare = o->hdr_bare;
		}
		p->hdr_size = end - p->hdr_offset;
		p->hdr_crlf_size = p->hdr_size + (bare - o->hdr_bare);
		p->body_offset = end;
		o->body_lf = lf;
		o->body_bare = bare;
	}
	p->body_size = end - p->body_offset;
	p->body_crlf_size = p->body_size + (bare - o->body_bare);
	p->body_lines = lf - o->body_lf;
}

/* ---- boundaries ---- */

static bool all_wsp(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!mail_is_wsp(s[i]))
			return false;
	return true;
}

/* Which open boundary the line ("--" removed) is, or -1: innermost first
 * (RFC 2046 5.1.2), a longer boundary before a shorter prefix of it. The
 * boundary must be followed by nothing, white space (transport padding,
 * RFC 2046 5.1.1) or "--": unlike Dovecot, which takes any line starting
 * with it, so that boundaries "b1" and "b10" or a body line "--frontier2"
 * under boundary "frontier" do not cut parts short (Thunderbird is strict
 * the same way). */
static int boundary_match(const struct parser *ps, const char *s, size_t n, bool *close)
{
	int best = -1;

	for (int k = (int)ps->nbnd - 1; k >= 0; k--) {
		const struct boundary *b = &ps->bnd[k];
		const char *tail;
		size_t tn;

		if (b->len > n || memcmp(s, b->s, b->len) != 0)
			continue;
		tail = s + b->len;
		tn = n - b->len;
		if (!(tn >= 2 && tail[0] == '-' && tail[1] == '-') && !all_wsp(tail, tn))
			continue;
		if (best < 0 || b->len > ps->bnd[best].len)
			best = k;
	}
	if (best >= 0) {
		size_t bl = ps->bnd[best].len;
		*close = n >= bl + 2 && s[bl] == '-' && s[bl + 1] == '-';
	}
	return best;
}

/* Returns false when the line is to be read as if it were no boundary. */
static bool on_boundary(struct parser *ps, int k, bool close, const struct line *l)
{
	unsigned int depth = ps->bnd[k].depth;
	struct mime_part *m = ps->open[depth].p, *c;
	/* RFC 2046 5.1.1: the line end before the boundary line is part of it */
	uint64_t end = l->start - ps->prev_eol;
	uint64_t lf = ps->lf - (ps->prev_eol > 0), bare = ps->bare - (ps->prev_eol == 1);

	if (!close && ps->nparts >= MIME_MAX_PARTS) {
		/* the part being read takes in the rest of the message */
		ps->overflow = true;
		m->flags |= MIME_PART_LIMITED;
		return false;
	}
	for (unsigned int d = ps->top; d > depth; d--)
		close_part(ps, d, end, lf, bare);
	ps->top = depth;
	ps->in_header = false;
	/* inner multiparts that never saw their close delimiter end here */
	ps->nbnd = (unsigned int)k + 1;
	if (close) {
		/* the rest up to an outer boundary is this multipart's epilogue */
		ps->nbnd = (unsigned int)k;
		return true;
	}
	c = new_part(ps, m);
	open_part(ps, c, l->end, ps->lf + (l->eol > 0), ps->bare + (l->eol == 1));
	return true;
}

static void parse_line(struct parser *ps, const char *buf, const struct line *l)
{
	const char *s = buf + l->start;
	size_t n = l->content_end - l->start;

	if (!ps->overflow && ps->nbnd > 0 && n >= 2 && s[0] == '-' && s[1] == '-') {
		bool close = false;
		int k = boundary_match(ps, s + 2, n - 2, &close);
		if (k >= 0 && on_boundary(ps, k, close, l))
			return;
	}
	if (!ps->in_header)
		return;
	if (n == 0)
		end_header(ps, l);
	else
		header_line(ps, s, n);
}

struct mime_part *mime_parse(const char *buf, size_t len)
{
	struct parser ps;
	struct mime_part *root;
	size_t pos = 0;

	memset(&ps, 0, sizeof ps);
	root = new_part(&ps, NULL);
	root->envelope = xcalloc(1, sizeof *root->envelope);
	open_part(&ps, root, 0, 0, 0);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		struct line l = { .start = pos };

		if (nl != NULL) {
			l.content_end = (size_t)(nl - buf);
			l.end = l.content_end + 1;
			l.eol = 1;
			if (l.content_end > pos && buf[l.content_end - 1] == '\r') {
				l.content_end--;
				l.eol = 2;
			}
		} else {
			l.content_end = l.end = len;
			l.eol = 0;
		}
		parse_line(&ps, buf, &l);
		if (l.eol > 0) {
			ps.lf++;
			ps.bare += l.eol == 1;
		}
		ps.prev_eol = l.eol;
		pos = l.end;
	}
	for (unsigned int d = ps.top + 1; d-- > 0;)
		close_part(&ps, d, len, ps.lf, ps.bare);
	buf_free(&ps.fbuf);
	return root;
}

/* ---- the tree ---- */

static void envelope_free(struct mime_envelope *e)
{
	if (e == NULL)
		return;
	free(e->date);
	free(e->subject);
	free(e->from);
	free(e->sender);
	free(e->reply_to);
	free(e->to);
	free(e->cc);
	free(e->bcc);
	free(e->in_reply_to);
	free(e->message_id);
	free(e);
}

void mime_free(struct mime_part *p)
{
	while (p != NULL) {
		struct mime_part *next = p->next;
		/* recursion only as deep as the tree: MIME_MAX_DEPTH + 1 */
		mime_free(p->children);
		free(p->type);
		free(p->subtype);
		mime_params_free(p->params, p->nparams);
		mime_params_free(p->disp_params, p->ndisp_params);
		free(p->id);
		free(p->description);
		free(p->md5);
		free(p->location);
		free(p->encoding);
		free(p->disposition);
		for (unsigned int i = 0; i < p->nlanguages; i++)
			free(p->languages[i]);
		free(p->languages);
		envelope_free(p->envelope);
		free(p);
		/* the root has no siblings: only children lists are walked */
		p = next;
	}
}

unsigned int mime_count_parts(const struct mime_part *root)
{
	unsigned int n = 1;

	for (const struct mime_part *c = root->children; c != NULL; c = c->next)
		n += mime_count_parts(c);
	return n;
}

const char *mime_param_get(const struct mime_param *params, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (mail_eq_nocase(params[i].name, strlen(params[i].name), name))
			return params[i].value;
	return NULL;
}
