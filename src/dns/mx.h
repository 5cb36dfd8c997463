/* MX record handling that needs no network: parsing MX rdata, building the
 * bounded host list, null MX detection (RFC 7505) and the RFC 5321 5.1
 * ordering (by preference, random among equal preferences).
 *
 * The resolver (dns/resolver.c) feeds it the rdata libunbound returns; every
 * function here is pure so the unit tests can drive it with hostile input. */
#ifndef POSTERN_MX_H
#define POSTERN_MX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most MX hosts kept per domain; the ones with the lowest preference win. */
#define MX_MAX_HOSTS 32
/* RFC 1035 3.1: a wire-format name is at most 255 octets, so its presentation
 * form without the trailing dot is at most 253 characters. */
#define MX_NAME_MAX 255

struct mx_host {
	/* lower-case presentation form without the trailing dot ("mx1.example.com");
	 * the root name (a null MX target) is "." */
	char name[MX_NAME_MAX + 1];
	uint16_t pref;
};

struct mx_list {
	struct mx_host host[MX_MAX_HOSTS];
	size_t n;
	bool secure; /* the answer was DNSSEC-validated (for DANE, RFC 7672) */
};

/* Parses one MX rdata (RFC 1035 3.3.9: 16-bit preference, then an
 * uncompressed wire-format name that must end exactly at len). Labels may hold
 * only letters, digits, '-' and '_', so the name is a hostname the resolver
 * can look up again. Returns 0, or -1 when the rdata is malformed (out is
 * then unspecified). */
int mx_parse_rdata(const unsigned char *rdata, size_t len, struct mx_host *out);
/* Parses the uncompressed wire-format host name that fills exactly len
 * octets (an MX target, a PTR rdata) into lower-case presentation form
 * without the trailing dot; the root is ".". The same character rules as
 * mx_parse_rdata(). 0, or -1 when malformed. */
int mx_parse_name(const unsigned char *wire, size_t len, char out[MX_NAME_MAX + 1]);

/* Adds h to l. A name already present keeps the lower of the two preferences
 * (names compare case-insensitively). When l is full, h replaces the entry with
 * the highest preference if its own is lower. Returns 0 when h was stored or
 * merged, -1 when it was dropped. */
int mx_list_add(struct mx_list *l, const struct mx_host *h);

/* RFC 7505 3: true when every host in l is the null target "." (and there is
 * at least one), i.e. the domain declares that it accepts no mail. */
bool mx_list_is_null(const struct mx_list *l);

/* Removes "." targets, which cannot be delivered to, from a list that also
 * names real hosts (RFC 7505 3 forbids the mix; we use the real hosts). */
void mx_list_remove_null(struct mx_list *l);

/* RFC 5321 5.1: orders l by ascending preference and shuffles hosts of equal
 * preference. rand_fn returns a uniformly random 32-bit value; NULL uses the
 * system CSPRNG (getrandom). */
void mx_sort(struct mx_list *l, uint32_t (*rand_fn)(void *), void *rand_arg);

/* True when name is a syntactically valid hostname to query: labels of 1..63
 * characters from [A-Za-z0-9_-], at most 253 characters, one optional trailing
 * dot. Rejects "", ".", escapes, spaces and non-ASCII (IDNs must arrive as
 * A-labels). */
bool mx_name_valid(const char *name);

#endif
