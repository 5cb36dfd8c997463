/* POP3 command lines (see pop3_parse.h). */
#include "pop3/pop3_parse.h"

#include <ctype.h>
#include <string.h>

static bool is_keyword_char(unsigned char c)
{
	return isascii(c) && isalnum(c);
}

enum pop3_parse_rc pop3_parse_line(const char *line, size_t len, struct pop3_cmdline *out)
{
	size_t i = 0, k = 0;
	memset(out, 0, sizeof(*out));
	out->args = line + len;
	/* a line of text: no NUL, no control characters except tab */
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)line[j];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return POP3_PARSE_BAD;
	}
	while (i < len && line[i] == ' ')
		i++;
	if (i == len)
		return POP3_PARSE_EMPTY;
	for (; i < len && line[i] != ' '; i++) {
		if (!is_keyword_char((unsigned char)line[i]) || k == POP3_KEYWORD_MAX)
			return POP3_PARSE_BAD;
		out->keyword[k++] = (char)toupper((unsigned char)line[i]);
	}
	out->keyword[k] = '\0';
	/* one space: PASS takes the rest of the line as it is (RFC 1939 7), a
	 * password may start with a space; the others split on runs of them */
	if (i < len)
		i++;
	out->args = line + i;
	out->args_len = len - i;
	return POP3_PARSE_OK;
}

int pop3_split_args(char *args, char **argv, int max)
{
	int n = 0;
	char *p = args;
	for (;;) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p == '\0')
			return n;
		if (n == max)
			return -1;
		argv[n++] = p;
		while (*p != '\0' && *p != ' ')
			p++;
	}
}

bool pop3_args_empty(const char *args)
{
	return args[strspn(args, " ")] == '\0';
}

int pop3_parse_number(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	bool overflow = false;
	if (*text == '\0')
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;   /* "+1", "-1", "1x", " 1" */
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	*out = overflow ? UINT64_MAX : v;
	return 0;
}
