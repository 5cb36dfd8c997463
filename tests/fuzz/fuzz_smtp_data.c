/* libFuzzer target for src/smtp/smtp_data.c.
 *
 * The first input octet picks a split point; the rest is DATA-phase input.
 * It is fed three ways (in one call, in two pieces cut at the split point,
 * and one octet at a time) and each result must be identical, and equal to
 * what a simple line-by-line reference model of RFC 5321 4.1.1.4 / 4.5.2
 * computes. Any difference, or an output longer than the input plus the
 * one CR that may be held between calls, is an abort(). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small, so that short inputs reach the line length limit too. */
#define FUZZ_MAX_LINE 16

struct result {
	uint8_t *out;
	size_t outlen;
	size_t consumed;
	bool done, bare_lf, bare_cr, nul, line_too_long;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool holds_cr(const struct smtp_data_reader *r)
{
	return r->state == SMTP_DATA_CR || r->state == SMTP_DATA_DOT_CR;
}

/* Feeds one piece and appends its output, checking the per-call contract. */
static void feed_piece(struct smtp_data_reader *r, const uint8_t *in, size_t len,
                       uint8_t *scratch, struct result *res)
{
	size_t held = holds_cr(r) ? 1 : 0, outlen = 0;
	bool was_done = smtp_data_done(r);
	size_t used = smtp_data_feed(r, (const char *)in, len, (char *)scratch, &outlen);

	check(used <= len);
	check(outlen <= len + held);
	check(used == len || smtp_data_done(r));
	check(!was_done || (used == 0 && outlen == 0));
	memcpy(res->out + res->outlen, scratch, outlen);
	res->outlen += outlen;
	res->consumed += used;
}

static void finish(const struct smtp_data_reader *r, struct result *res)
{
	res->done = smtp_data_done(r);
	res->bare_lf = r->bare_lf;
	res->bare_cr = r->bare_cr;
	res->nul = r->nul;
	res->line_too_long = r->line_too_long;
}

static void feed_split(const uint8_t *in, size_t len, size_t cut, uint8_t *scratch,
                       struct result *res)
{
	struct smtp_data_reader r;

	smtp_data_init(&r, FUZZ_MAX_LINE);
	feed_piece(&r, in, cut, scratch, res);
	feed_piece(&r, in + cut, len - cut, scratch, res);
	finish(&r, res);
}

static void feed_bytewise(const uint8_t *in, size_t len, uint8_t *scratch, struct result *res)
{
	struct smtp_data_reader r;

	smtp_data_init(&r, FUZZ_MAX_LINE);
	for (size_t i = 0; i < len; i++)
		feed_piece(&r, in + i, 1, scratch, res);
	finish(&r, res);
}

/* Index of the CR of the first CRLF at or after pos, or len. */
static size_t find_crlf(const uint8_t *in, size_t len, size_t pos)
{
	for (; pos + 1 < len; pos++) {
		if (in[pos] == '\r' && in[pos + 1] == '\n')
			return pos;
	}
	return len;
}

/* Reference model: lines are what CRLF separates, nothing else. "." alone
 * ends the data; a leading dot is removed; any CR or LF inside a line is
 * bare, except a CR at the very end of the input, which is held. Any NUL in
 * the content is flagged. */
static void reference_model(const uint8_t *in, size_t len, struct result *res)
{
	size_t pos = 0;

	while (pos < len) {
		size_t eol = find_crlf(in, len, pos);
		bool complete = eol < len;
		size_t start = pos, stop = eol;

		if ((complete ? eol - pos + 2 : len - pos) > FUZZ_MAX_LINE)
			res->line_too_long = true;
		if (complete && eol - pos == 1 && in[pos] == '.') {
			res->done = true;
			res->consumed = eol + 2;
			return;
		}
		if (start < stop && in[start] == '.')
			start++;
		if (!complete && start < stop && in[stop - 1] == '\r')
			stop--;
		for (size_t i = start; i < stop; i++) {
			res->bare_lf |= in[i] == '\n';
			res->bare_cr |= in[i] == '\r';
			res->nul |= in[i] == '\0';
			res->out[res->outlen++] = in[i];
		}
		if (complete) {
			res->out[res->outlen++] = '\r';
			res->out[res->outlen++] = '\n';
		}
		pos = complete ? eol + 2 : len;
	}
	res->consumed = len;
}

static void check_same(const struct result *a, const struct result *b)
{
	check(a->outlen == b->outlen);
	check(a->outlen == 0 || memcmp(a->out, b->out, a->outlen) == 0);
	check(a->consumed == b->consumed);
	check(a->done == b->done);
	check(a->bare_lf == b->bare_lf);
	check(a->bare_cr == b->bare_cr);
	check(a->nul == b->nul);
	check(a->line_too_long == b->line_too_long);
}

/* Whatever was consumed up to DONE ends in CRLF "." CRLF, or is ".\r\n". */
static void check_terminator(const uint8_t *in, const struct result *res)
{
	if (!res->done)
		return;
	check(res->consumed >= 3 && memcmp(in + res->consumed - 3, ".\r\n", 3) == 0);
	check(res->consumed == 3 || (res->consumed >= 5 &&
	                             memcmp(in + res->consumed - 5, "\r\n", 2) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;

	const uint8_t *in = data + 1;
	size_t len = size - 1;
	/* scale 0..255 onto 0..len so every length can be cut anywhere */
	size_t cut = ((size_t)data[0] * (len + 1)) >> 8;
	uint8_t *buf = malloc(5 * (len + 2));
	if (buf == NULL)
		return 0;
	struct result once = { .out = buf }, split = { .out = buf + (len + 2) },
	              bytewise = { .out = buf + 2 * (len + 2) }, model = { .out = buf + 3 * (len + 2) };
	uint8_t *scratch = buf + 4 * (len + 2);

	feed_split(in, len, len, scratch, &once);
	check(once.outlen <= len);
	check_terminator(in, &once);
	feed_split(in, len, cut, scratch, &split);
	check_same(&once, &split);
	feed_bytewise(in, len, scratch, &bytewise);
	check_same(&once, &bytewise);
	reference_model(in, len, &model);
	check_same(&once, &model);
	free(buf);
	return 0;
}
