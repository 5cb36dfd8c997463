/* The Authentication-Results header field (RFC 8601): writing postern's
 * one field (spf, dkim per signature, dmarc, arc) and, in incoming mail,
 * finding the fields that claim postern's authserv-id, which a receiver
 * must remove (RFC 8601 5) since nobody but us may speak for us. */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/header.h"

/* Each value written is cut to this many octets (a d=, a domain, an
 * address fit easily); so is a reason= */
#define AUTHRES_VALUE_MAX 256
#define AUTHRES_PROPS_MAX 4

struct authres_prop {
	const char *name;               /* "smtp.mailfrom", "header.d" */
	const char *value;              /* NULL or "": the property is left out */
};

/* One resinfo: "method=result (comment) reason=... ptype.prop=value..." */
struct authres_entry {
	const char *method;             /* "spf", "dkim", "dmarc", "arc": a keyword */
	const char *result;             /* "pass", "fail"... : a keyword */
	const char *comment;            /* NULL, or text for a comment after the result */
	const char *reason;             /* NULL, or reason="..." (RFC 8601 2.7) */
	struct authres_prop props[AUTHRES_PROPS_MAX];
	size_t nprops;
};

/* Entries for the usual methods. The strings are the caller's and must
 * outlive the entry. */
/* spf: smtp.mailfrom=<the reverse-path's address>, or smtp.helo=<name>
 * when the null reverse-path made SPF check the HELO name */
void authres_spf(struct authres_entry *e, const char *result, const char *mailfrom,
                 const char *helo);
/* dkim: header.d, header.s and the first 8 characters of b= (RFC 6008) */
void authres_dkim(struct authres_entry *e, const char *result, const char *d, const char *s,
                  const char *b);
/* dmarc: header.from and policy.dmarc (the policy applied); comment
 * such as "p=reject dis=junk" */
void authres_dmarc(struct authres_entry *e, const char *result, const char *from_domain,
                   const char *policy, const char *comment);
void authres_arc(struct authres_entry *e, const char *result);

/* The whole field, "Authentication-Results: id;\n\tspf=...;\n\t...\n",
 * with LF line ends (as the spool keeps them), every continuation line
 * starting with a tab, lines of at most 78 octets where the values allow
 * it. With no entries: "id; none". Entries whose method or result is not a
 * keyword are left out. Allocated: free() it; *len its length. */
char *authres_header_new(const char *authserv_id, const struct authres_entry *e, size_t n,
                         size_t *len);

/* ---- reading ---- */

/* The authserv-id at the start of a field's value (raw: folds, comments
 * and quoting as sent; RFC 8601 2.2), unquoted into out. 0, or -1 when the
 * value starts with no authserv-id, or it does not fit out. */
int authres_read_id(const char *value, size_t len, char *out, size_t outlen);

/* Whether a field value claims authserv_id (case-insensitive, RFC 8601
 * 2.5); a value too long for any id is not a claim. */
bool authres_claims_id(const char *value, size_t len, const char *authserv_id);

/* Whether a header field is an Authentication-Results field that claims
 * authserv_id: the caller leaves such fields out of the message it stores. */
bool authres_field_claims(const struct mail_field *f, const char *authserv_id);
/* The result a payload ("authserv-id; spf=pass ...; dmarc=fail ...", as an
 * ARC-Authentication-Results carries it, unfolded) gives method: the first
 * resinfo of that method, its result keyword copied to out. 0, or -1 when
 * there is none or it does not fit. */
int authres_method_result(const char *payload, const char *method, char *out, size_t outlen);

#endif
