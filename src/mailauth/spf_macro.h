/* SPF macro strings (RFC 7208 7): checking their syntax and expanding them.
 * Pure functions over the values a check knows (sender, client address, ...),
 * so the record parser, the evaluator, the unit tests and the fuzzer share
 * them. */
#ifndef POSTERN_SPF_MACRO_H
#define POSTERN_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7208 7.3 (and RFC 1035): the longest domain name a query is made for. */
#define SPF_DOMAIN_MAX 253
/* The longest explanation kept (RFC 7208 6.2 sets no bound; a reply line does). */
#define SPF_EXP_MAX 512

/* Where a macro string appears: in a domain-spec (no %{c}, %{r}, %{t}; the
 * result is a domain name), or in the text of an explanation (RFC 7208 6.2:
 * all letters, spaces allowed). */
enum spf_macro_ctx { SPF_MACRO_DOMAIN, SPF_MACRO_EXP };

/* The values macros expand to (RFC 7208 7.2). All NUL-terminated; NULL is "". */
struct spf_macro_vars {
	const char *sender;   /* s: "local@domain" */
	const char *local;    /* l */
	const char *sender_domain; /* o */
	const char *domain;   /* d: the domain being checked */
	const char *ip_dots;  /* i: "192.0.2.1", or 32 dotted nibbles for IPv6 */
	const char *ip_text;  /* c: "192.0.2.1", "2001:db8::1" */
	bool ipv6;            /* v: "ip6" rather than "in-addr" */
	const char *validated; /* p: a validated name of the client, or "unknown" */
	const char *helo;     /* h */
	const char *receiver; /* r: "unknown" when NULL */
	long long now;        /* t: seconds since the epoch */
};

/* True when s[0..len) is a valid macro-string in ctx. *uses_p (may be NULL)
 * is set when it holds a %{p}, whose value needs DNS lookups first. */
bool spf_macro_valid(const char *s, size_t len, enum spf_macro_ctx ctx, bool *uses_p);

/* True when s[0..len) is a valid domain-spec (RFC 7208 7.1): a valid
 * macro-string ending in a macro or in "." and a top label (not all digits),
 * with an optional trailing dot. */
bool spf_domain_spec_valid(const char *s, size_t len, bool *uses_p);

/* Expands a domain-spec into out (at least SPF_DOMAIN_MAX + 1 octets): a
 * trailing dot is removed, and a result over SPF_DOMAIN_MAX octets loses
 * whole labels from its left (RFC 7208 7.3). 0, or -1 when the macro string
 * is invalid or nothing of it fits (a single label over the maximum). */
int spf_expand_domain(const char *s, size_t len, const struct spf_macro_vars *v, char *out,
                      size_t outlen);

/* Expands an explanation text into out; what does not fit is cut off at the
 * end. 0, or -1 when the text is not a valid explanation-string. */
int spf_expand_exp(const char *s, size_t len, const struct spf_macro_vars *v, char *out,
                   size_t outlen);

/* True when name is usable as a DNS query name: labels of 1..63 octets, at
 * most SPF_DOMAIN_MAX octets, one trailing dot allowed. */
bool spf_name_valid(const char *name);

#endif
