/* Dovecot's subscriptions file (a Maildir++ root's "subscriptions").
 * Version 2 starts with "V<TAB>2" and an empty line, then one mailbox per
 * line with its levels separated by TABs, each level escaped (\001 then
 * '1', 't', 'r', 'n' or '0' for \001, TAB, CR, LF, NUL). Older files have
 * one name per line, levels separated by the namespace separator ('.' or
 * '/'; postern's names have no '.', so both split). Level names are as on
 * disk (IMAP modified UTF-7). */
#ifndef POSTERN_DOVECOT_SUBS_H
#define POSTERN_DOVECOT_SUBS_H

#include <stddef.h>

struct dovecot_subs {
	unsigned version;       /* 0: nothing read yet; 1 old; 2 */
	unsigned lineno;
};

/* Feeds the file's lines in order. 1 with the name (levels joined by '/',
 * still modified UTF-7) in out; 0 for a line that names nothing (the
 * header, empty lines); -1 with *why for a line that cannot be a name. */
int dovecot_subs_line(struct dovecot_subs *st, const char *line, char *out, size_t outlen,
                      const char **why);

#endif
