/* IMAP command assembly; see imap_parse.h.
 *
 * One octet at a time for command text (so the result cannot depend on how
 * the input was split), in blocks for literal data. A literal is announced
 * by "{N}", "{N+}" or "~{N}" as the last thing on a line outside a quoted
 * string (RFC 3501 4.3, RFC 7888, RFC 9051 4.3); its size is checked
 * against the limits before a single octet of it is stored, so "{4294967295}"
 * costs nothing. The text of one command is bounded by max_line as it
 * arrives; a longer line is discarded up to its LF and reported once. */
#include "imap/imap_parse.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* A buffer grown for one large APPEND is not kept for the next command. */
#define READER_KEEP_CAP (64u * 1024)

enum spec_state {
	SPEC_NONE = 0,
	SPEC_BRACE,         /* "{" and digits */
	SPEC_PLUS,          /* "{digits+" */
	SPEC_CLOSED,        /* "{digits}" or "{digits+}" */
	SPEC_BAD,           /* "{" followed by something else */
	SPEC_BAD_CLOSED,    /* ... and then "}" */
};

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static void spec_reset(struct imap_litspec *s)
{
	*s = (struct imap_litspec){ .state = SPEC_NONE };
}

/* Advances the literal-announcement tracker by one octet of command text
 * at buffer offset pos (CR and LF are handled by the caller). */
static void spec_step(struct imap_litspec *s, unsigned char c, size_t pos)
{
	if (s->in_quote) {
		if (s->escape)
			s->escape = false;
		else if (c == '\\')
			s->escape = true;
		else if (c == '"')
			s->in_quote = false;
		s->state = SPEC_NONE;
		s->prev_tilde = false;
		return;
	}
	switch (s->state) {
	case SPEC_BRACE:
		if (is_digit(c)) {
			unsigned d = (unsigned)(c - '0');
			s->value = s->value > (UINT64_MAX - d) / 10 ? UINT64_MAX : s->value * 10 + d;
			s->digits = true;
			return;
		}
		if ((c == '+' || c == '}') && s->digits) {
			s->plus = c == '+';
			s->state = c == '+' ? SPEC_PLUS : SPEC_CLOSED;
			return;
		}
		s->state = SPEC_BAD;
		break;
	case SPEC_PLUS:
		if (c == '}') {
			s->state = SPEC_CLOSED;
			return;
		}
		s->state = SPEC_BAD;
		break;
	default:
		break;
	}
	if (s->state == SPEC_BAD || s->state == SPEC_BAD_CLOSED) {
		if (c == '}') {
			s->state = SPEC_BAD_CLOSED;
			s->plus = s->prev_plus;
			s->prev_plus = false;
			return;
		}
		s->prev_plus = c == '+';
		if (c != ' ' && c != '(' && c != ')' && c != '"' && c != '{')
			return;
	}
	/* outside any announcement */
	s->state = SPEC_NONE;
	if (c == '"') {
		s->in_quote = true;
	} else if (c == '{') {
		s->state = SPEC_BRACE;
		s->value = 0;
		s->digits = false;
		s->plus = false;
		s->prev_plus = false;
		s->tilde = s->prev_tilde;
		s->start = s->tilde && pos > 0 ? pos - 1 : pos;
	}
	s->prev_tilde = c == '~';
}

/* ---- buffer ---- */

static void reader_reserve(struct imap_reader *r, size_t extra, size_t hint)
{
	size_t need = r->len + extra + 1;

	if (need <= r->cap)
		return;
	size_t cap = r->cap < 256 ? 256 : r->cap * 2;
	if (cap < need)
		cap = need;
	/* a literal's final size is known: never grow past it */
	if (hint >= need && cap > hint)
		cap = hint;
	r->buf = xrealloc(r->buf, cap);
	r->cap = cap;
}

static void reader_put(struct imap_reader *r, const char *p, size_t n, size_t hint)
{
	reader_reserve(r, n, hint);
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

static void reader_clear(struct imap_reader *r)
{
	if (r->cap > READER_KEEP_CAP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	r->len = 0;
	if (r->buf != NULL)
		r->buf[0] = '\0';
	r->nlits = 0;
	r->text_octets = 0;
	r->literal_octets = 0;
	r->remaining = 0;
	r->first_line_done = false;
	r->append = false;
	r->cr_pending = false;
	spec_reset(&r->spec);
	r->state = IMAP_RS_LINE;
}

/* ---- lifecycle ---- */

void imap_reader_init(struct imap_reader *r, size_t max_line, size_t max_literal_append,
                      size_t max_literal_other)
{
	*r = (struct imap_reader){
		.max_line = max_line,
		.max_literal_append = max_literal_append,
		.max_literal_other = max_literal_other,
		.max_literal_nonsync = SIZE_MAX,
		.info = { .msg = "" },
	};
	reader_clear(r);
}

void imap_reader_set_nonsync_max(struct imap_reader *r, size_t max)
{
	r->max_literal_nonsync = max;
}

void imap_reader_reset(struct imap_reader *r)
{
	reader_clear(r);
	r->info = (struct imap_read_info){ .msg = "" };
}

void imap_reader_free(struct imap_reader *r)
{
	free(r->buf);
	free(r->lits);
	*r = (struct imap_reader){ 0 };
}

/* ---- tag and verb of the command being read ---- */

/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">. */
static bool is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

static size_t reader_tag_len(const struct imap_reader *r)
{
	size_t n = 0;

	while (n < r->len && is_tag_char((unsigned char)r->buf[n]))
		n++;
	if (n == 0 || n > IMAP_TAG_MAX)
		return 0;
	if (n < r->len && r->buf[n] != ' ' && r->buf[n] != '\r' && r->buf[n] != '\n')
		return 0;
	return n;
}

/* The second word of the first line is APPEND (any case). */
static bool reader_is_append(const struct imap_reader *r)
{
	static const char word[] = "APPEND";
	size_t t = reader_tag_len(r);

	if (t == 0 || t + 1 + 6 > r->len || r->buf[t] != ' ')
		return false;
	const char *w = r->buf + t + 1;
	for (size_t i = 0; i < 6; i++) {
		if ((w[i] & ~0x20) != word[i])
			return false;
	}
	return t + 7 == r->len || w[6] == ' ' || w[6] == '\r' || w[6] == '\n';
}

/* literal: the line ended with a (well-formed) literal announcement */
static void fill_info(struct imap_reader *r, const char *msg, bool literal)
{
	size_t t = reader_tag_len(r);

	if (t > 0)
		memcpy(r->info.tag, r->buf, t);
	r->info.tag[t] = '\0';
	r->info.msg = msg;
	r->info.literal_size = literal ? r->spec.value : 0;
	r->info.nonsync = literal && r->spec.plus;
	r->info.append = r->append;
	r->info.fatal = false;
}

/* Ends the command with an error result; with fatal the stream cannot be
 * resynchronised (a refused {N+} literal is on its way). */
static enum imap_read_result reader_fail(struct imap_reader *r, enum imap_read_result res,
                                         const char *msg, bool fatal)
{
	fill_info(r, msg, r->spec.state == SPEC_CLOSED);
	r->info.fatal = fatal;
	reader_clear(r);
	if (fatal) {
		r->state = IMAP_RS_FATAL;
		r->fatal_result = res;
	}
	return res;
}

/* ---- line ends ---- */

static void literal_finish(struct imap_reader *r)
{
	r->buf[r->len] = '\0';
	r->len++;           /* the NUL after the data belongs to the buffer */
	reader_reserve(r, 0, 0);
	r->buf[r->len] = '\0';
	r->state = IMAP_RS_LINE;
	spec_reset(&r->spec);
}

/* A line ended with a literal announcement the limits allow? */
static enum imap_read_result literal_announced(struct imap_reader *r)
{
	uint64_t n = r->spec.value;
	bool plus = r->spec.plus;
	uint64_t per = r->append ? r->max_literal_append : r->max_literal_other;
	uint64_t budget = r->max_literal_other;

	if (r->append)
		budget = budget + r->max_literal_append < budget ? UINT64_MAX
		                                                 : budget + r->max_literal_append;
	if (r->nlits >= IMAP_LITERALS_MAX)
		return reader_fail(r, IMAP_READ_BAD, "Too many literals", plus);
	/* RFC 7888 4: a refused {N+} cannot be skipped, the client is sending it */
	if ((plus && n > r->max_literal_nonsync) || n > per || n > budget - r->literal_octets)
		return reader_fail(r, IMAP_READ_LITERAL_TOO_BIG, "Literal too big", plus);

	if (r->nlits == r->lits_cap) {
		r->lits_cap = r->lits_cap == 0 ? 4 : r->lits_cap * 2;
		r->lits = xrealloc(r->lits, r->lits_cap * sizeof *r->lits);
	}
	r->lits[r->nlits++] = (struct imap_literal){
		.spec = r->spec.start, .data = r->len, .len = (size_t)n,
		.nonsync = plus, .binary = r->spec.tilde,
	};
	r->literal_octets += n;
	r->remaining = n;
	fill_info(r, "", true);
	spec_reset(&r->spec);
	r->state = IMAP_RS_LITERAL;
	if (n == 0)
		literal_finish(r);
	return plus ? IMAP_READ_MORE : IMAP_READ_CONTINUE;
}

/* At LF: the buffer holds the line with its LF (unless skipping). */
static enum imap_read_result line_end(struct imap_reader *r)
{
	bool skipping = r->state == IMAP_RS_SKIP;

	if (!r->first_line_done) {
		r->first_line_done = true;
		r->append = reader_is_append(r);
	}
	if (r->spec.state == SPEC_CLOSED) {
		if (skipping)
			return reader_fail(r, IMAP_READ_LINE_TOO_LONG, "Command line too long",
			                   r->spec.plus);
		return literal_announced(r);
	}
	if (skipping)
		return reader_fail(r, IMAP_READ_LINE_TOO_LONG, "Command line too long",
		                   r->spec.state == SPEC_BAD_CLOSED && r->spec.plus);
	if (r->spec.state == SPEC_BAD_CLOSED)
		return reader_fail(r, IMAP_READ_BAD, "Invalid literal announcement", r->spec.plus);

	/* the command is complete: drop the line end */
	r->len--;
	/* a literal's data is followed by its NUL, so this CR is command text */
	if (r->len > 0 && r->buf[r->len - 1] == '\r')
		r->len--;
	r->buf[r->len] = '\0';
	if (r->len == 0) {
		reader_clear(r);        /* an empty line is not a command */
		return IMAP_READ_MORE;
	}
	r->state = IMAP_RS_DONE;
	return IMAP_READ_COMMAND;
}

/* One octet of command text. Returns MORE unless it completed an event. */
static enum imap_read_result text_octet(struct imap_reader *r, unsigned char c)
{
	if (r->text_octets < SIZE_MAX)
		r->text_octets++;
	if (r->state == IMAP_RS_LINE && r->text_octets > r->max_line)
		r->state = IMAP_RS_SKIP;    /* the prefix kept still names the tag */
	if (r->state == IMAP_RS_LINE)
		reader_put(r, (const char *)&c, 1, 0);

	if (c == '\n') {
		r->cr_pending = false;
		return line_end(r);
	}
	/* a CR counts as text only when no LF follows it */
	if (r->cr_pending)
		spec_step(&r->spec, '\r', 0);
	r->cr_pending = c == '\r';
	if (c != '\r')
		spec_step(&r->spec, c, r->state == IMAP_RS_LINE ? r->len - 1 : 0);
	return IMAP_READ_MORE;
}

enum imap_read_result imap_reader_feed(struct imap_reader *r, const char *in, size_t len,
                                       size_t *consumed)
{
	size_t i = 0;
	enum imap_read_result res = IMAP_READ_MORE;

	if (r->state == IMAP_RS_FATAL) {
		*consumed = len;
		return r->fatal_result;
	}
	if (r->state == IMAP_RS_DONE)
		reader_clear(r);
	while (i < len && res == IMAP_READ_MORE) {
		if (r->state == IMAP_RS_LITERAL) {
			size_t n = len - i;
			if (n > r->remaining)
				n = (size_t)r->remaining;
			const struct imap_literal *lit = &r->lits[r->nlits - 1];
			if (memchr(in + i, '\0', n) != NULL)
				r->lits[r->nlits - 1].has_nul = true;
			reader_put(r, in + i, n, lit->data + lit->len + 2);
			r->remaining -= n;
			i += n;
			if (r->remaining == 0)
				literal_finish(r);
			continue;
		}
		res = text_octet(r, (unsigned char)in[i++]);
	}
	*consumed = i;
	return res;
}

void imap_reader_command(const struct imap_reader *r, struct imap_raw_command *out)
{
	static const char empty[1] = "";

	*out = (struct imap_raw_command){
		.buf = r->buf != NULL ? r->buf : empty,
		.len = r->state == IMAP_RS_DONE ? r->len : 0,
		.lits = r->lits,
		.nlits = r->state == IMAP_RS_DONE ? r->nlits : 0,
		.append = r->append,
	};
}

const struct imap_read_info *imap_reader_info(const struct imap_reader *r)
{
	return &r->info;
}

void imap_reader_reject_literal(struct imap_reader *r)
{
	if (r->state == IMAP_RS_LITERAL || r->state == IMAP_RS_LINE)
		reader_clear(r);
}
