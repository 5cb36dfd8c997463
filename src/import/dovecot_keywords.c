#include "import/dovecot_keywords.h"

#include <stdint.h>
#include <string.h>

#include "store/maildir_keywords.h"

int dovecot_keywords_parse_line(struct dovecot_keywords *kw, const char *line, const char **why)
{
	unsigned idx;
	const char *name;
	if (maildir_keywords_parse_line(line, &idx, &name, why) < 0)
		return -1;
	for (unsigned i = 0; i < DOVECOT_KEYWORDS; i++)
		if (i != idx && strcmp(kw->name[i], name) == 0)
			return *why = "the same keyword twice", -1;
	strcpy(kw->name[idx], name);   /* length checked by maildir_keyword_valid */
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
