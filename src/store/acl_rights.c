/* Mailbox access rights (RFC 4314 2.1, 2.1.1). */
#include "store/acl_rights.h"

#include <string.h>

/* in bit order: the canonical order of RFC 4314's list */
static const char letters[] = "lrswipkxtea";

/* No rights string is longer in practice; a bound keeps a hostile one cheap. */
#define ACL_RIGHTS_INPUT_MAX 64

int acl_rights_parse(const char *text, size_t len, unsigned *rights)
{
	unsigned r = 0;
	if (len > ACL_RIGHTS_INPUT_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = text[i] != '\0' ? strchr(letters, text[i]) : NULL;
		if (p != NULL)
			r |= 1u << (p - letters);
		else if (text[i] == 'c')
			r |= ACL_CREATE | ACL_DELETE_MBOX;
		else if (text[i] == 'd')
			r |= ACL_EXPUNGE | ACL_DELETE_MSG;
		else
			return -1;
	}
	*rights = r;
	return 0;
}

void acl_rights_format(unsigned rights, bool rfc2086, char out[ACL_RIGHTS_TEXT_MAX])
{
	size_t n = 0;
	for (size_t i = 0; letters[i] != '\0'; i++)
		if (rights & (1u << i))
			out[n++] = letters[i];
	if (rfc2086 && (rights & (ACL_CREATE | ACL_DELETE_MBOX)))
		out[n++] = 'c';
	if (rfc2086 && (rights & (ACL_EXPUNGE | ACL_DELETE_MSG)))
		out[n++] = 'd';
	out[n] = '\0';
}
