/* Dovecot's dovecot-keywords: which IMAP keyword each of the letters a..z
 * in a Maildir file name's flags stands for, one "<index> <name>" per line
 * (0 is 'a'). Names come from another system: only what IMAP allows as a
 * keyword (RFC 9051 flag-keyword: an atom not starting with '\') is kept. */
#ifndef POSTERN_DOVECOT_KEYWORDS_H
#define POSTERN_DOVECOT_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/maildir_keywords.h"

#define DOVECOT_KEYWORDS MAILDIR_KEYWORD_LETTERS
#define DOVECOT_KEYWORD_MAX MAILDIR_KEYWORD_MAX

struct dovecot_keywords {
	char name[DOVECOT_KEYWORDS][DOVECOT_KEYWORD_MAX + 1];   /* "" where none */
};

/* One line of the file (store/maildir_keywords.h reads it): 0, or -1 with
 * *why (the line is ignored), also for a name given to two letters. */
int dovecot_keywords_parse_line(struct dovecot_keywords *kw, const char *line, const char **why);
/* The keywords of a file name's flag letters (after ":2,"), space
 * separated into out; letters without a name are left out and counted in
 * *unknown, as are names that no longer fit. */
void dovecot_keywords_of(const struct dovecot_keywords *kw, const char *info, char *out,
                         size_t outlen, unsigned *unknown);

#endif
