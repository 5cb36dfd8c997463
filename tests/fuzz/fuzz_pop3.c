/* libFuzzer target for src/pop3/pop3_parse.c and src/mail/dotstuff.c.
 *
 * The input goes in as a POP3 command line (keyword, arguments split the way
 * the handlers split them, each argument as a number), and as a stored message
 * through the dot-stuffing encoder, whole and cut in pieces at a place the
 * input chooses, with and without a TOP line limit. Beyond the sanitizers it
 * checks what must hold for any input and abort()s when it does not: the
 * keyword is short and upper case, the output never exceeds its bound, has no
 * bare LF, never has a line "." before the end, ends in CRLF.CRLF, and does not
 * depend on how the input was cut. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/dotstuff.h"
#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void fuzz_line(const char *line, size_t len)
{
	struct pop3_cmdline c;
	char args[POP3_LINE_MAX + 1], *argv[3];
	uint64_t v;
	if (len > POP3_LINE_MAX)
		len = POP3_LINE_MAX;     /* the session never passes more */
	if (pop3_parse_line(line, len, &c) != POP3_PARSE_OK)
		return;
	size_t k = strlen(c.keyword);
	check(k >= 1 && k <= POP3_KEYWORD_MAX);
	for (size_t i = 0; i < k; i++) {
		char ch = c.keyword[i];
		check((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'));
	}
	check(c.args >= line && c.args + c.args_len == line + len);
	memcpy(args, c.args, c.args_len);
	args[c.args_len] = '\0';
	int n = pop3_split_args(args, argv, 3);
	check(n >= -1 && n <= 3);
	for (int i = 0; i < n; i++) {
		check(argv[i][0] != '\0' && strchr(argv[i], ' ') == NULL);
		if (pop3_parse_number(argv[i], &v) == 0)
			check(argv[i][strspn(argv[i], "0123456789")] == '\0');
	}
	(void)pop3_args_empty(args);
}

/* Encodes data in pieces of `piece` octets; returns the output (malloc'd). */
static char *encode(const uint8_t *data, size_t size, size_t piece, bool top, uint64_t lines,
                    size_t *outlen)
{
	char *out = malloc(MAIL_DOTSTUFF_OUT_MAX(size) + MAIL_DOTSTUFF_FINISH_MAX);
	struct mail_dotstuff d;
	size_t o = 0;
	if (out == NULL)
		abort();
	if (top)
		mail_dotstuff_init_top(&d, lines);
	else
		mail_dotstuff_init(&d);
	for (size_t i = 0; i < size; i += piece) {
		size_t n = size - i < piece ? size - i : piece;
		size_t w = mail_dotstuff_encode(&d, (const char *)data + i, n, out + o);
		check(w <= MAIL_DOTSTUFF_OUT_MAX(n));
		o += w;
	}
	size_t f = mail_dotstuff_finish(&d, out + o);
	check(f <= MAIL_DOTSTUFF_FINISH_MAX);
	*outlen = o + f;
	return out;
}

static void check_multiline(const char *out, size_t len)
{
	check(len >= 3 && memcmp(out + len - 3, ".\r\n", 3) == 0);
	check(len == 3 || (len >= 5 && memcmp(out + len - 5, "\r\n.\r\n", 5) == 0));
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\n')
			check(i > 0 && out[i - 1] == '\r');
		/* a line that is just "." only at the very end */
		bool line_start = i == 0 || out[i - 1] == '\n';
		if (line_start && i + 3 <= len && memcmp(out + i, ".\r\n", 3) == 0)
			check(i + 3 == len);
	}
}

static void fuzz_message(const uint8_t *data, size_t size)
{
	size_t piece = size > 0 ? data[0] % 7 + 1 : 1, whole_len, cut_len;
	uint64_t lines = size > 1 ? data[1] % 5 : 0;
	for (int top = 0; top < 2; top++) {
		char *whole = encode(data, size, size ? size : 1, top, lines, &whole_len);
		char *cut = encode(data, size, piece, top, lines, &cut_len);
		check_multiline(whole, whole_len);
		check(whole_len == cut_len && memcmp(whole, cut, whole_len) == 0);
		free(whole);
		free(cut);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_line((const char *)data, size);
	fuzz_message(data, size);
	return 0;
}
