/* Keywords in a Maildir, Dovecot's way: the file dovecot-keywords in a
 * folder lists "N name" lines, and the lowercase letter 'a' + N in a
 * message file's info part (after ":2,", beside the flag letters) says the
 * message has keyword N. So keywords survive without an index, and a
 * Maildir written by Dovecot keeps its keywords here (and ours there).
 * Letters run out at 26 a folder: further keywords have none. */
#ifndef POSTERN_MAILDIR_KEYWORDS_H
#define POSTERN_MAILDIR_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

#define MAILDIR_KEYWORDS_FILE "dovecot-keywords"
#define MAILDIR_KEYWORD_LETTERS 26
#define MAILDIR_KEYWORD_MAX 255         /* octets of a name kept (IMAP's bound) */

/* A folder's letters: name[i] for letter 'a' + i, NULL when unused. */
struct maildir_keywords {
	char *name[MAILDIR_KEYWORD_LETTERS];
};

/* A name IMAP allows as a keyword (RFC 9051 flag-keyword: an atom, not
 * starting with '\\') of at most MAILDIR_KEYWORD_MAX octets. The file may
 * come from another system: only these are taken from it. */
bool maildir_keyword_valid(const char *name);
/* One line of the file without its line end, "N name": 0 with *index (0
 * for 'a') and *name (pointing into line), or -1 with *why. */
int maildir_keywords_parse_line(const char *line, unsigned *index, const char **name,
                                const char **why);
/* Reads <dir>/dovecot-keywords (a missing file: no letters; lines
 * maildir_keywords_parse_line refuses are skipped). 0, or -1 with errno. */
int maildir_keywords_read(const char *dir, struct maildir_keywords *kw);
/* Writes it whole, in its place at once (a file in tmp/, renamed). */
int maildir_keywords_write(const char *dir, const struct maildir_keywords *kw);
void maildir_keywords_free(struct maildir_keywords *kw);
/* The letter of a keyword (ASCII case-insensitive), or 0. */
char maildir_keyword_letter(const struct maildir_keywords *kw, const char *name, size_t len);
/* The letter of a keyword, giving it the first free one when it has none;
 * 0 when all 26 are taken. *added says the file must be written. */
char maildir_keyword_assign(struct maildir_keywords *kw, const char *name, size_t len, bool *added);

#endif
