/* Unit tests for src/imap/imap_reader.c: command assembly, synchronising
 * and non-synchronising literals, literal8, limits (literal bombs, long
 * lines, LITERAL-), malformed announcements, and the same events for every
 * split of the input. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"
#include "imap/imap_parse.h"

/* ---- helpers ---- */

/* Assembles one command from in (answering "+" by feeding on) and parses it. */
struct harness {
	struct imap_reader r;
	struct imap_command cmd;
	struct imap_cursor c;
	int rc;
};

static void h_parse_len(struct harness *h, const char *in, size_t len, unsigned flags)
{
	size_t off = 0, used;
	enum imap_read_result res = IMAP_READ_MORE;

	imap_reader_init(&h->r, IMAP_LINE_MAX_DEFAULT, IMAP_LITERAL_APPEND_MAX_DEFAULT,
	                 IMAP_LITERAL_OTHER_MAX_DEFAULT);
	while (off < len) {
		res = imap_reader_feed(&h->r, in + off, len - off, &used);
		off += used;
		if (res == IMAP_READ_COMMAND)
			break;
		assert_true(res == IMAP_READ_MORE || res == IMAP_READ_CONTINUE);
	}
	assert_int_equal(res, IMAP_READ_COMMAND);
	assert_int_equal(off, len);

	struct imap_raw_command raw;
	imap_reader_command(&h->r, &raw);
	h->rc = imap_command_parse(&h->cmd, &raw, flags);
	imap_command_args(&h->cmd, &h->c);
}

static void h_parse(struct harness *h, const char *in)
{
	h_parse_len(h, in, strlen(in), 0);
}

static void h_free(struct harness *h)
{
	imap_command_free(&h->cmd);
	imap_reader_free(&h->r);
}

/* The events of feeding input in pieces: result, consumed total so far, and
 * for commands the assembled buffer. */
struct event {
	enum imap_read_result res;
	size_t at;
	char *buf;
	size_t len;
	size_t nlits;
	char tag[IMAP_TAG_MAX + 1];
	uint64_t literal_size;
	bool fatal;
};

#define EVENTS_MAX 32

/* Feeds in, cut at the offsets in cuts[] (ascending), into a small-limit
 * reader; records every event. Returns the number of events. */
static size_t run_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        struct event *ev)
{
	struct imap_reader r;
	size_t n = 0, pos = 0;

	imap_reader_init(&r, 64, 100, 10);
	imap_reader_set_nonsync_max(&r, 8);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		while (pos < end) {
			size_t used;
			enum imap_read_result res = imap_reader_feed(&r, in + pos, end - pos, &used);
			pos += used;
			if (res == IMAP_READ_MORE)
				continue;
			assert_true(n < EVENTS_MAX);
			struct event *e = &ev[n++];
			*e = (struct event){ .res = res, .at = pos };
			if (res == IMAP_READ_COMMAND) {
				struct imap_raw_command raw;
				imap_reader_command(&r, &raw);
				e->buf = malloc(raw.len + 1);
				memcpy(e->buf, raw.buf, raw.len + 1);
				e->len = raw.len;
				e->nlits = raw.nlits;
			} else {
				const struct imap_read_info *info = imap_reader_info(&r);
				strcpy(e->tag, info->tag);
				e->literal_size = info->literal_size;
				e->fatal = info->fatal;
			}
			if (res == IMAP_READ_LITERAL_TOO_BIG || res == IMAP_READ_BAD ||
			    res == IMAP_READ_LINE_TOO_LONG) {
				if (e->fatal) {
					pos = len;      /* the session closes */
					end = len;
					k = ncuts;
				}
			}
		}
	}
	imap_reader_free(&r);
	return n;
}

static void events_free(struct event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ev[i].buf);
}

static void events_equal(const struct event *a, size_t na, const struct event *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].res, b[i].res);
		assert_int_equal(a[i].at, b[i].at);
		assert_int_equal(a[i].len, b[i].len);
		assert_int_equal(a[i].nlits, b[i].nlits);
		if (a[i].buf != NULL)
			assert_memory_equal(a[i].buf, b[i].buf, a[i].len + 1);
		assert_string_equal(a[i].tag, b[i].tag);
		assert_int_equal(a[i].literal_size, b[i].literal_size);
		assert_int_equal(a[i].fatal, b[i].fatal);
	}
}

/* ---- reader ---- */

static void test_reader_simple(void **state)
{
	struct imap_reader r;
	struct imap_raw_command raw;
	size_t used;
	(void)state;

	imap_reader_init(&r, 1024, 4096, 1024);
	assert_int_equal(imap_reader_feed(&r, "a1 NOOP\r\nb2", 11, &used), IMAP_READ_COMMAND);
	assert_int_equal(used, 9);
	imap_reader_command(&r, &raw);
	assert_int_equal(raw.len, 7);
	assert_string_equal(raw.buf, "a1 NOOP");
	assert_int_equal(raw.nlits, 0);
	assert_false(raw.append);
	/* the rest starts the next command */
	assert_int_equal(imap_reader_feed(&r, "b2", 2, &used), IMAP_READ_MORE);
	assert_int_equal(imap_reader_feed(&r, " CHECK\n", 7, &used), IMAP_READ_COMMAND);
	imap_reader_command(&r, &raw);
	assert_string_equal(raw.buf, "b2 CHECK");
	/* empty lines are skipped */
	assert_int_equal(imap_reader_feed(&r, "\r\n\n\r\nc NOOP\r\n", 13, &used), IMAP_READ_COMMAND);
	assert_int_equal(used, 13);
	imap_reader_command(&r, &raw);
	assert_string_equal(raw.buf, "c NOOP");
	/* a CR not before LF is text */
	assert_int_equal(imap_reader_feed(&r, "d X\ry\r\n", 7, &used), IMAP_READ_COMMAND);
	imap_reader_command(&r, &raw);
	assert_string_equal(raw.buf, "d X\ry");
	imap_reader_free(&r);
}

static void test_reader_sync_literal(void **state)
{
	struct imap_reader r;
	struct imap_raw_command raw;
	size_t used;
	const char *in2 = "user {4}\r\n";
	(void)state;

	imap_reader_init(&r, 1024, 4096, 1024);
	assert_int_equal(imap_reader_feed(&r, "a LOGIN {4}\r\n", 13, &used), IMAP_READ_CONTINUE);
	assert_int_equal(used, 13);
	assert_int_equal(imap_reader_info(&r)->literal_size, 4);
	assert_string_equal(imap_reader_info(&r)->tag, "a");
	assert_false(imap_reader_info(&r)->nonsync);
	assert_int_equal(imap_reader_feed(&r, in2, strlen(in2), &used), IMAP_READ_CONTINUE);
	assert_int_equal(used, strlen(in2));
	assert_int_equal(imap_reader_feed(&r, "pa", 2, &used), IMAP_READ_MORE);
	assert_int_equal(imap_reader_feed(&r, "ss\r\n", 4, &used), IMAP_READ_COMMAND);
	imap_reader_command(&r, &raw);
	assert_int_equal(raw.nlits, 2);
	assert_int_equal(raw.lits[0].spec, 8);
	assert_int_equal(raw.lits[0].len, 4);
	assert_memory_equal(raw.buf + raw.lits[0].data, "user", 5);     /* NUL after the data */
	assert_memory_equal(raw.buf + raw.lits[1].data, "pass", 5);
	assert_int_equal(raw.len, raw.lits[1].data + 5);
	assert_false(raw.lits[0].nonsync);

	struct imap_command cmd;
	struct imap_cursor c;
	const char *s1, *s2;
	size_t l1, l2;
	assert_int_equal(imap_command_parse(&cmd, &raw, 0), 0);
	assert_string_equal(cmd.name, "LOGIN");
	imap_command_args(&cmd, &c);
	assert_true(imap_next_astring(&c, &s1, &l1));
	assert_true(imap_next_astring(&c, &s2, &l2));
	assert_true(imap_expect_end(&c));
	assert_string_equal(s1, "user");
	assert_string_equal(s2, "pass");
	imap_command_free(&cmd);
	imap_reader_free(&r);
}

static void test_reader_nonsync_literal(void **state)
{
	struct harness h;
	const char *s;
	size_t len;
	(void)state;

	/* no CONTINUE for {N+}; the data may contain CRLF and braces */
	h_parse(&h, "a LOGIN {6+}\r\nu\r\n{1} {3+}\r\np\"w\r\n");
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_astring(&h.c, &s, &len));
	assert_int_equal(len, 6);
	assert_memory_equal(s, "u\r\n{1}", 6);
	assert_true(imap_next_string(&h.c, &s, &len));
	assert_string_equal(s, "p\"w");
	assert_true(imap_expect_end(&h.c));
	h_free(&h);

	struct imap_reader r;
	size_t used;
	imap_reader_init(&r, 1024, 4096, 1024);
	assert_int_equal(imap_reader_feed(&r, "a LOGIN {2+}\r\nab {0}\r\n\r\n", 24, &used),
	                 IMAP_READ_CONTINUE);   /* only the synchronising {0} */
	assert_int_equal(imap_reader_feed(&r, "\r\n", 2, &used), IMAP_READ_COMMAND);
	imap_reader_free(&r);
}

static void test_reader_literal8_and_nul(void **state)
{
	struct harness h;
	static const char in[] = "a APPEND INBOX ~{4+}\r\na\0b\n\r\n";
	const char *data;
	size_t len;
	bool binary;
	(void)state;

	h_parse_len(&h, in, sizeof in - 1, 0);
	assert_int_equal(h.rc, 0);
	assert_true(h.r.append);
	assert_string_equal(h.cmd.name, "APPEND");
	assert_true(imap_next_astring(&h.c, &data, &len));
	const struct imap_arg *lit = imap_peek(&h.c);
	assert_non_null(lit);
	assert_true(lit->flags & IMAP_ARGF_BINARY);
	assert_true(lit->flags & IMAP_ARGF_NUL);
	/* a string accessor refuses it, the literal accessor gives it */
	struct imap_cursor copy = h.c;
	const char *err = NULL;
	copy.error = &err;
	assert_false(imap_next_astring(&copy, &data, &len));
	assert_string_equal(err, "Binary literal not allowed here");
	assert_true(imap_next_literal(&h.c, &data, &len, &binary));
	assert_true(binary);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "a\0b\n", 4);
	h_free(&h);

	/* a plain literal with NUL: refused unless the caller allows it */
	static const char in2[] = "a X {3+}\r\na\0b\r\n";
	h_parse_len(&h, in2, sizeof in2 - 1, 0);
	assert_int_equal(h.rc, -1);
	assert_string_equal(h.cmd.error, "NUL octet in literal");
	assert_string_equal(h.cmd.tag, "a");
	h_free(&h);
	h_parse_len(&h, in2, sizeof in2 - 1, IMAP_PARSE_ALLOW_NUL);
	assert_int_equal(h.rc, 0);
	assert_true(imap_next_literal(&h.c, &data, &len, &binary));
	assert_false(binary);
	assert_int_equal(len, 3);
	h_free(&h);
}

static void test_reader_literal_bomb(void **state)
{
	struct imap_reader r;
	size_t used;
	const char *in = "a APPEND INBOX {4294967295}\r\n";
	(void)state;

	imap_reader_init(&r, IMAP_LINE_MAX_DEFAULT, IMAP_LITERAL_APPEND_MAX_DEFAULT,
	                 IMAP_LITERAL_OTHER_MAX_DEFAULT);
	assert_int_equal(imap_reader_feed(&r, in, strlen(in), &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_int_equal(used, strlen(in));
	const struct imap_read_info *info = imap_reader_info(&r);
	assert_string_equal(info->tag, "a");
	assert_int_equal(info->literal_size, 4294967295u);
	assert_true(info->append);
	assert_false(info->nonsync);
	assert_false(info->fatal);
	assert_true(r.cap < 4096);          /* nothing was allocated for it */
	/* the client sends nothing for a refused {N}: the next command reads */
	assert_int_equal(imap_reader_feed(&r, "b NOOP\r\n", 8, &used), IMAP_READ_COMMAND);

	/* absurd digit counts saturate */
	in = "c LOGIN {99999999999999999999999999}\r\n";
	assert_int_equal(imap_reader_feed(&r, in, strlen(in), &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_int_equal(imap_reader_info(&r)->literal_size, UINT64_MAX);
	assert_false(imap_reader_info(&r)->append);

	/* a refused {N+}: the data is coming, the stream is lost */
	in = "d APPEND INBOX {4294967295+}\r\nFrom: x\r\n";
	assert_int_equal(imap_reader_feed(&r, in, strlen(in), &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_int_equal(used, strlen(in) - 9);
	assert_true(imap_reader_info(&r)->fatal);
	assert_true(imap_reader_info(&r)->nonsync);
	assert_true(r.cap < 4096);
	assert_int_equal(imap_reader_feed(&r, "e NOOP\r\n", 8, &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_int_equal(used, 8);
	imap_reader_reset(&r);
	assert_int_equal(imap_reader_feed(&r, "e NOOP\r\n", 8, &used), IMAP_READ_COMMAND);
	imap_reader_free(&r);
}

static void test_reader_literal_limits(void **state)
{
	struct imap_reader r;
	size_t used;
	char line[128];
	(void)state;

	imap_reader_init(&r, 1024, 1000, 100);
	/* APPEND: up to max_literal_append per literal */
	assert_int_equal(imap_reader_feed(&r, "a APPEND x {1000}\r\n", 19, &used), IMAP_READ_CONTINUE);
	imap_reader_reject_literal(&r);
	assert_int_equal(imap_reader_feed(&r, "a append x {1001}\r\n", 19, &used),
	                 IMAP_READ_LITERAL_TOO_BIG);
	assert_true(imap_reader_info(&r)->append);
	/* other commands: max_literal_other, for all literals together */
	assert_int_equal(imap_reader_feed(&r, "b LOGIN {101}\r\n", 15, &used),
	                 IMAP_READ_LITERAL_TOO_BIG);
	assert_false(imap_reader_info(&r)->append);
	assert_int_equal(imap_reader_feed(&r, "b LOGIN {60+}\r\n", 15, &used), IMAP_READ_MORE);
	memset(line, 'x', 60);
	assert_int_equal(imap_reader_feed(&r, line, 60, &used), IMAP_READ_MORE);
	assert_int_equal(imap_reader_feed(&r, " {41}\r\n", 7, &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_string_equal(imap_reader_info(&r)->tag, "b");
	assert_int_equal(imap_reader_feed(&r, "c LOGIN {40}\r\n", 14, &used), IMAP_READ_CONTINUE);
	imap_reader_reject_literal(&r);
	/* APPENDx is not APPEND */
	assert_int_equal(imap_reader_feed(&r, "a APPENDX x {101}\r\n", 19, &used),
	                 IMAP_READ_LITERAL_TOO_BIG);
	assert_false(imap_reader_info(&r)->append);

	/* LITERAL-: {N+} above 4096 is refused (and fatal), {N} is fine */
	imap_reader_free(&r);
	imap_reader_init(&r, 1024, 10000, 10000);
	imap_reader_set_nonsync_max(&r, IMAP_LITERAL_MINUS_MAX);
	assert_int_equal(imap_reader_feed(&r, "a X {4097}\r\n", 12, &used), IMAP_READ_CONTINUE);
	imap_reader_reject_literal(&r);
	assert_int_equal(imap_reader_feed(&r, "a X {4096+}\r\n", 13, &used), IMAP_READ_MORE);
	imap_reader_reset(&r);
	assert_int_equal(imap_reader_feed(&r, "a X {4097+}\r\n", 13, &used),
	                 IMAP_READ_LITERAL_TOO_BIG);
	assert_true(imap_reader_info(&r)->fatal);
	imap_reader_free(&r);
}

static void test_reader_line_too_long(void **state)
{
	struct imap_reader r;
	struct imap_raw_command raw;
	size_t used, size = 1024 * 1024;
	char *big = malloc(size);
	(void)state;

	memcpy(big, "t1 SEARCH ", 10);
	memset(big + 10, 'x', size - 12);
	memcpy(big + size - 2, "\r\n", 2);
	imap_reader_init(&r, IMAP_LINE_MAX_DEFAULT, IMAP_LITERAL_APPEND_MAX_DEFAULT,
	                 IMAP_LITERAL_OTHER_MAX_DEFAULT);
	/* in pieces, as a network would deliver it */
	for (size_t off = 0; off < size;) {
		size_t n = size - off < 4000 ? size - off : 4000;
		enum imap_read_result res = imap_reader_feed(&r, big + off, n, &used);
		off += used;
		if (off < size)
			assert_int_equal(res, IMAP_READ_MORE);
		else
			assert_int_equal(res, IMAP_READ_LINE_TOO_LONG);
	}
	assert_string_equal(imap_reader_info(&r)->tag, "t1");
	assert_false(imap_reader_info(&r)->fatal);
	assert_true(r.cap <= 2 * IMAP_LINE_MAX_DEFAULT);
	assert_int_equal(imap_reader_feed(&r, "t2 NOOP\r\n", 9, &used), IMAP_READ_COMMAND);
	imap_reader_command(&r, &raw);
	assert_string_equal(raw.buf, "t2 NOOP");

	/* too long after a literal; the line ends with {N+}: fatal */
	imap_reader_free(&r);
	imap_reader_init(&r, 32, 100, 100);
	assert_int_equal(imap_reader_feed(&r, "t3 X {2}\r\n", 10, &used), IMAP_READ_CONTINUE);
	assert_int_equal(imap_reader_feed(&r, "ab 0123456789012345678901234567 {5+}\r\n", 38, &used),
	                 IMAP_READ_LINE_TOO_LONG);
	assert_string_equal(imap_reader_info(&r)->tag, "t3");
	assert_true(imap_reader_info(&r)->fatal);
	assert_int_equal(imap_reader_info(&r)->literal_size, 5);
	imap_reader_reset(&r);
	/* exactly max_line octets (CRLF included) is fine, one more is not */
	assert_int_equal(imap_reader_feed(&r, "t4 X 6789012345678901234567890\r\n", 32, &used),
	                 IMAP_READ_COMMAND);
	assert_int_equal(imap_reader_feed(&r, "t5 X 67890123456789012345678901\r\n", 33, &used),
	                 IMAP_READ_LINE_TOO_LONG);
	/* a tag too long to echo */
	memset(big, 'a', 200);
	memcpy(big + 200, " X {101}\r\n", 11);
	imap_reader_free(&r);
	imap_reader_init(&r, 1024, 100, 100);
	assert_int_equal(imap_reader_feed(&r, big, 211, &used), IMAP_READ_LITERAL_TOO_BIG);
	assert_int_equal(imap_reader_info(&r)->tag[0], '\0');
	/* no tag at all */
	assert_int_equal(imap_reader_feed(&r, "{1}\r\n", 5, &used), IMAP_READ_CONTINUE);
	assert_int_equal(imap_reader_info(&r)->tag[0], '\0');
	imap_reader_reject_literal(&r);
	imap_reader_free(&r);
	free(big);
}

static void test_reader_bad_literal(void **state)
{
	struct imap_reader r;
	struct imap_raw_command raw;
	size_t used;
	(void)state;

	imap_reader_init(&r, 1024, 100, 100);
	assert_int_equal(imap_reader_feed(&r, "a LOGIN {abc}\r\n", 15, &used), IMAP_READ_BAD);
	assert_string_equal(imap_reader_info(&r)->tag, "a");
	assert_false(imap_reader_info(&r)->fatal);
	assert_int_equal(imap_reader_feed(&r, "b X {}\r\n", 8, &used), IMAP_READ_BAD);
	assert_int_equal(imap_reader_feed(&r, "c X {+}\r\n", 9, &used), IMAP_READ_BAD);
	assert_int_equal(imap_reader_feed(&r, "d X {1 2}\r\n", 11, &used), IMAP_READ_BAD);
	assert_int_equal(imap_reader_feed(&r, "e X {12a+}\r\n", 12, &used), IMAP_READ_BAD);
	assert_true(imap_reader_info(&r)->fatal);
	imap_reader_reset(&r);
	/* not announcements: the parser reports these */
	assert_int_equal(imap_reader_feed(&r, "f X {5\r\n", 8, &used), IMAP_READ_COMMAND);
	assert_int_equal(imap_reader_feed(&r, "g X foo}\r\n", 10, &used), IMAP_READ_COMMAND);
	assert_int_equal(imap_reader_feed(&r, "h X {5}x\r\n", 10, &used), IMAP_READ_COMMAND);
	/* inside a quoted string a brace is text */
	assert_int_equal(imap_reader_feed(&r, "i X \"{5}\"\r\n", 11, &used), IMAP_READ_COMMAND);
	assert_int_equal(imap_reader_feed(&r, "j X \"\\\" {5}\"\r\n", 14, &used), IMAP_READ_COMMAND);
	imap_reader_command(&r, &raw);
	assert_string_equal(raw.buf, "j X \"\\\" {5}\"");
	assert_int_equal(raw.nlits, 0);
	/* an unterminated quote ends with the line */
	assert_int_equal(imap_reader_feed(&r, "k X \"{5}\r\n", 10, &used), IMAP_READ_COMMAND);
	assert_int_equal(imap_reader_feed(&r, "l X {5}\r\n", 9, &used), IMAP_READ_CONTINUE);
	imap_reader_free(&r);
}

static void test_reader_too_many_literals(void **state)
{
	struct imap_reader r;
	size_t used;
	enum imap_read_result res = IMAP_READ_MORE;
	(void)state;

	imap_reader_init(&r, 1024 * 1024, 100, 100000);
	assert_int_equal(imap_reader_feed(&r, "a X", 3, &used), IMAP_READ_MORE);
	for (int i = 0; i <= IMAP_LITERALS_MAX && res == IMAP_READ_MORE; i++)
		res = imap_reader_feed(&r, " {1+}\r\nx", 8, &used);
	assert_int_equal(res, IMAP_READ_BAD);
	assert_string_equal(imap_reader_info(&r)->msg, "Too many literals");
	assert_true(imap_reader_info(&r)->fatal);
	imap_reader_free(&r);
}

/* Every input gives the same events whether fed at once, byte by byte, or
 * cut in two or three at every position. */
static void test_reader_split_points(void **state)
{
	static const struct {
		const char *in;
		size_t len;
	} inputs[] = {
#define IN(s) { s, sizeof s - 1 }
		IN("a LOGIN {4}\r\nuser {4}\r\npass\r\nb NOOP\r\n"),
		IN("a LOGIN {4+}\r\nu\r\n} {2+}\r\n\r\n\r\nb X\n"),
		IN("a APPEND I ~{5}\r\n\0\r\n\0x (\\S) {0}\r\n\r\n"),
		IN("a X \"{3}\" {3}\r\n{3}\r\n\r\n"),
		IN("a X {abc}\r\nb X {999}\r\nc NOOP\r\n"),
		IN("a X 0123456789012345678901234567890123456789012345678901234567890123\r\nb Y\r\n"),
		IN("a X {2}\r\nxy 01234567890123456789012345678901234567890123456789012345678 {3}\r\nc\r\n"),
		IN("a X {9+}\r\n123456789\r\nb Y {9+}\r\n"),
		IN("\r\n\r\na\rb\r\r\n{1}\r\n\r\n"),
		IN("a X {1}\r\r\n\r\n\n"),
#undef IN
	};
	struct event whole[EVENTS_MAX], split[EVENTS_MAX];
	size_t cuts[256];
	(void)state;

	for (size_t t = 0; t < ARRAY_LEN(inputs); t++) {
		const char *in = inputs[t].in;
		size_t len = inputs[t].len;
		size_t nw = run_split(in, len, NULL, 0, whole);
		assert_true(nw > 0);

		assert_true(len <= ARRAY_LEN(cuts));
		for (size_t i = 0; i + 1 < len; i++)
			cuts[i] = i + 1;
		size_t ns = run_split(in, len, cuts, len - 1, split);
		events_equal(whole, nw, split, ns);
		events_free(split, ns);

		for (size_t i = 1; i < len; i++) {
			for (size_t j = i; j < len; j += 7) {
				size_t two[2] = { i, j };
				ns = run_split(in, len, two, 2, split);
				events_equal(whole, nw, split, ns);
				events_free(split, ns);
			}
		}
		events_free(whole, nw);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_simple),
		cmocka_unit_test(test_reader_sync_literal),
		cmocka_unit_test(test_reader_nonsync_literal),
		cmocka_unit_test(test_reader_literal8_and_nul),
		cmocka_unit_test(test_reader_literal_bomb),
		cmocka_unit_test(test_reader_literal_limits),
		cmocka_unit_test(test_reader_line_too_long),
		cmocka_unit_test(test_reader_bad_literal),
		cmocka_unit_test(test_reader_too_many_literals),
		cmocka_unit_test(test_reader_split_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
