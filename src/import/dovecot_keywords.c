#include "import/dovecot_keywords.h"

#include <stdint.h>
#include <string.h>

bool dovecot_keyword_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > DOVECOT_KEYWORD_MAX || name[0] == '\\')
		return false;
	/* RFC 9051 ATOM-CHAR: no atom-specials (and no ']', resp-specials) */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	return true;
}

int dovecot_keywords_parse_line(struct dovecot_keywords *kw, const char *line, const char **why)
{
	unsigned idx = 0;
	const char *p = line;
	if (*p < '0' || *p > '9')
		return *why = "no index", -1;
	while (*p >= '0' && *p <= '9' && idx < 100)
		idx = idx * 10 + (unsigned)(*p++ - '0');
	if (*p != ' ')
		return *why = "no space after the index", -1;
	if (idx >= DOVECOT_KEYWORDS)
		return *why = "index beyond 'z'", -1;
	if (!dovecot_keyword_valid(p + 1))
		return *why = "not a keyword IMAP allows", -1;
	for (unsigned i = 0; i < DOVECOT_KEYWORDS; i++)
		if (i != idx && strcmp(kw->name[i], p + 1) == 0)
			return *why = "the same keyword twice", -1;
	strcpy(kw->name[idx], p + 1);   /* length checked by dovecot_keyword_valid */
	return 0;
}

void dovecot_keywords_of(const struct dovecot_keywords *kw, const char *info, char *out,
                         size_t outlen, unsigned *unknown)
{
	size_t n = 0;
	uint32_t seen = 0;
	out[0] = '\0';
	/* Dovecot's extension: flags end at a ',' (other fields may follow) */
	for (const char *p = info; *p && *p != ','; p++) {
		if (*p < 'a' || *p > 'z')
			continue;                /* system flags (and 'P'): not keywords */
		unsigned i = (unsigned)(*p - 'a');
		if (seen & (1u << i))
			continue;
		seen |= 1u << i;
		size_t len = strlen(kw->name[i]);
		if (len == 0 || n + (n > 0) + len >= outlen) {
			(*unknown)++;
			continue;
		}
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, kw->name[i], len + 1);
		n += len;
	}
}
