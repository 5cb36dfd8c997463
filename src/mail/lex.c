/* Lexing helpers shared by the readers in src/mail (see lex.h). */
#include "mail/lex.h"

bool mail_eq_nocase(const char *s, size_t n, const char *lit)
{
	size_t i = 0;

	for (; i < n; i++)
		if (lit[i] == '\0' || mail_lower(s[i]) != mail_lower(lit[i]))
			return false;
	return lit[i] == '\0';
}

size_t mail_skip_cfws(const char *v, size_t n, size_t i)
{
	while (i < n) {
		if (mail_is_wsp(v[i]) || v[i] == '\r' || v[i] == '\n') {
			i++;
		} else if (v[i] == '(') {
			unsigned int depth = 0;
			for (; i < n; i++) {
				if (v[i] == '\\' && i + 1 < n) {
					i++;
				} else if (v[i] == '(') {
					depth++;
				} else if (v[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return i;
}
