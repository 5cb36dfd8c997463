#include "import/dovecot_subs.h"

#include <stdbool.h>
#include <string.h>

static bool put(char *out, size_t outlen, size_t *n, char c)
{
	if (*n + 1 >= outlen)
		return false;
	out[(*n)++] = c;
	return true;
}

/* Version 2: TAB between levels, \001-escapes inside them. A level
 * separator or a character no mailbox name has cannot be escaped in. */
static int unescape_v2(const char *line, char *out, size_t outlen, const char **why)
{
	size_t n = 0;
	for (const char *p = line; *p; p++) {
		char c = *p;
		if (c == '\t') {
			c = '/';
		} else if (c == '\001') {
			p++;
			if (*p == '1')
				c = '\001';
			else if (*p == 't' || *p == 'r' || *p == 'n' || *p == '0')
				return *why = "control character in a name", -1;
			else
				return *why = "bad escape", -1;
		}
		if ((c == '/' && (n == 0 || out[n - 1] == '/')) || (unsigned char)c < 0x20)
			return *why = c == '/' ? "empty level" : "control character in a name", -1;
		if (!put(out, outlen, &n, c))
			return *why = "name too long", -1;
	}
	if (n == 0 || out[n - 1] == '/')
		return *why = "empty level", -1;
	out[n] = '\0';
	return 1;
}

static int old_format(const char *line, char *out, size_t outlen, const char **why)
{
	size_t n = 0;
	for (const char *p = line; *p; p++) {
		char c = *p == '.' ? '/' : *p;
		if ((c == '/' && (n == 0 || out[n - 1] == '/')) || (unsigned char)c < 0x20)
			return *why = c == '/' ? "empty level" : "control character in a name", -1;
		if (!put(out, outlen, &n, c))
			return *why = "name too long", -1;
	}
	if (n > 0 && out[n - 1] == '/')
		return *why = "empty level", -1;
	out[n] = '\0';
	return 1;
}

int dovecot_subs_line(struct dovecot_subs *st, const char *line, char *out, size_t outlen,
                      const char **why)
{
	st->lineno++;
	if (st->version == 0) {
		st->version = strcmp(line, "V\t2") == 0 ? 2 : 1;
		if (st->version == 2)
			return 0;
	}
	if (line[0] == '\0')
		return 0;
	return st->version == 2 ? unescape_v2(line, out, outlen, why) : old_format(line, out, outlen, why);
}
