/* Addresses: RFC 5322 3.4 address lists as header fields hold them, and
 * splitting an address into local part and domain. */
#ifndef POSTERN_MAIL_ADDRESS_H
#define POSTERN_MAIL_ADDRESS_H

#include <stddef.h>

enum mail_address_kind {
	MAIL_ADDRESS_MAILBOX,           /* name, adl, local, domain */
	MAIL_ADDRESS_GROUP_START,       /* "name:" (name "" for an unnamed group) */
	MAIL_ADDRESS_GROUP_END,         /* ";", or the end of the list in a group */
};

/* Indexes of the parts of a view. */
enum { MAIL_ADDRESS_NAME, MAIL_ADDRESS_ADL, MAIL_ADDRESS_LOCAL, MAIL_ADDRESS_DOMAIN };

/* One element of a list as the parser finds it: s[i] of n[i] octets, NULL
 * when that part is absent. name is the display name (or the last comment
 * of a bare address, "a@b (Name)"), adl the obsolete route ("@a,@b"). A
 * mailbox may lack its local part ("<>") or its domain ("user"). */
struct mail_address_view {
	enum mail_address_kind kind;
	const char *s[4];
	size_t n[4];
};

typedef void mail_address_fn(void *ctx, const struct mail_address_view *v);

/* Parses an address-list value (unfolded or not), calling emit for each
 * element in order; no limit on their number (a caller that renders them
 * caps what it writes). Quoted strings and comments come without their
 * quoting; encoded-words are left as they are. */
void mail_address_list_parse(const char *value, size_t len, mail_address_fn *emit, void *ctx);

/* The same, collected: one entry per element, strings NUL-terminated
 * copies (NULL when absent). Returns the count; *out is allocated (NULL
 * when 0), free with mail_address_list_free(). */
struct mail_address {
	enum mail_address_kind kind;
	char *name, *adl, *local, *domain;
};

size_t mail_address_list_new(const char *value, size_t len, struct mail_address **out);
void mail_address_list_free(struct mail_address *a, size_t n);

/* Splits "local@domain" at its last '@' (a quoted local part may hold
 * one): sets *local_len and returns the domain, or NULL (and the whole
 * string as local part) when there is no '@'. Nothing is checked or
 * copied. */
const char *mail_address_split(const char *addr, size_t *local_len);

#endif
