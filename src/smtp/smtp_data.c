/* SMTP DATA reader; see smtp_data.h.
 *
 * One octet at a time through a small state machine, so the result cannot
 * depend on how the input was split into reads. The only way to reach DONE
 * is CR LF "." CR LF with the first CR LF either real or implied by the start
 * of data (RFC 5321 4.1.1.4). A lone CR or LF is message content and never
 * makes a line boundary: mail servers that disagree on this are what SMTP
 * smuggling exploits. */
#include "smtp/smtp_data.h"

#include <stdint.h>
#include <string.h>

void smtp_data_init(struct smtp_data_reader *r, size_t max_line)
{
	*r = (struct smtp_data_reader){ .state = SMTP_DATA_SOL, .max_line = max_line };
}

/* RFC 5321 4.5.3.1.6: the limit counts the line as sent, CRLF and any
 * stuffing dot included. */
static void count_line_octet(struct smtp_data_reader *r)
{
	if (r->line_octets < SIZE_MAX)
		r->line_octets++;
	if (r->line_octets > r->max_line)
		r->line_too_long = true;
}

/* An octet inside a line. CR is held back: whether it is content or half
 * of a line end depends on the next octet. */
static void data_line_octet(struct smtp_data_reader *r, unsigned char c, char *out, size_t *n)
{
	if (c == '\r') {
		r->state = SMTP_DATA_CR;
		return;
	}
	if (c == '\n')
		r->bare_lf = true;
	else if (c == '\0')
		r->nul = true;
	out[(*n)++] = (char)c;
	r->state = SMTP_DATA_LINE;
}

/* The held CR turned out not to start a CRLF: it is content. */
static void data_release_bare_cr(struct smtp_data_reader *r, char *out, size_t *n)
{
	r->bare_cr = true;
	out[(*n)++] = '\r';
}

static void data_step(struct smtp_data_reader *r, unsigned char c, char *out, size_t *n)
{
	count_line_octet(r);
	switch (r->state) {
	case SMTP_DATA_SOL:
		if (c == '.')
			r->state = SMTP_DATA_DOT;
		else
			data_line_octet(r, c, out, n);
		break;
	case SMTP_DATA_DOT:
		/* RFC 5321 4.5.2: a leading dot followed by more text is deleted */
		if (c == '\r')
			r->state = SMTP_DATA_DOT_CR;
		else
			data_line_octet(r, c, out, n);
		break;
	case SMTP_DATA_DOT_CR:
		if (c == '\n') {
			r->state = SMTP_DATA_DONE;
			r->line_octets = 0;
			break;
		}
		/* ".\r" then not LF: the dot was stuffing, the CR is content */
		data_release_bare_cr(r, out, n);
		data_line_octet(r, c, out, n);
		break;
	case SMTP_DATA_CR:
		if (c == '\n') {
			out[(*n)++] = '\r';
			out[(*n)++] = '\n';
			r->state = SMTP_DATA_SOL;
			r->line_octets = 0;
			break;
		}
		data_release_bare_cr(r, out, n);
		data_line_octet(r, c, out, n);
		break;
	case SMTP_DATA_LINE:
		data_line_octet(r, c, out, n);
		break;
	case SMTP_DATA_DONE:
		break;
	}
}

/* Inside a line, octets other than CR, LF and NUL change nothing but the
 * line's length: copy a run of them at once (the same result as data_step
 * on each, which the fuzz target checks against a model). */
static size_t data_plain_run(struct smtp_data_reader *r, const unsigned char *in, size_t len,
                             char *out, size_t *n)
{
	size_t run = 0;
	while (run < len && (in[run] > '\r' || (in[run] != '\r' && in[run] != '\n' && in[run] != 0)))
		run++;
	if (run == 0)
		return 0;
	memcpy(out + *n, in, run);
	*n += run;
	r->line_octets = r->line_octets > SIZE_MAX - run ? SIZE_MAX : r->line_octets + run;
	if (r->line_octets > r->max_line)
		r->line_too_long = true;
	return run;
}

size_t smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
                      char *out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t consumed = 0, n = 0;

	while (consumed < len && r->state != SMTP_DATA_DONE) {
		if (r->state == SMTP_DATA_LINE) {
			size_t run = data_plain_run(r, u + consumed, len - consumed, out, &n);
			consumed += run;
			if (run > 0)
				continue;
		}
		data_step(r, u[consumed++], out, &n);
	}
	*outlen = n;
	return consumed;
}
