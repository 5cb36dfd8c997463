/* Parsing an SPF record (RFC 7208 4.5, 4.6, 5, 6, 12) into its terms, with
 * every syntax rule checked up front: RFC 7208 4.6 makes a syntax error
 * anywhere in the record a permerror, even after the term that decides. */
#ifndef POSTERN_SPF_PARSE_H
#define POSTERN_SPF_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest record text evaluated; longer is a permerror. RFC 7208 3.4
 * asks publishers to stay far below (450 octets fit one UDP answer). */
#define SPF_RECORD_MAX 4096

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_mechanism {
	enum spf_mech mech;
	char qual;            /* '+', '-', '~', '?' */
	const char *spec;     /* domain-spec (not expanded), NULL for none */
	size_t speclen;
	bool spec_uses_p;     /* spec holds %{p} */
	int cidr4, cidr6;     /* prefix lengths: 32 and 128 when not given */
	unsigned char addr[16]; /* ip4 (4 octets) or ip6 network */
};

struct spf_record {
	char *text;           /* the record, owned; specs point into it */
	struct spf_mechanism *mech;
	size_t nmech;
	const char *redirect, *exp; /* domain-specs, NULL when absent */
	size_t redirect_len, exp_len;
	bool redirect_uses_p, exp_uses_p;
};

/* RFC 7208 4.5: "v=spf1" (any case) alone or followed by a space. */
bool spf_record_is_spf1(const char *txt, size_t len);

/* Parses an SPF record of len octets. 0, or -1 with a short reason in err
 * (a permerror). rec is released with spf_record_clear() either way. */
int spf_record_parse(const char *txt, size_t len, struct spf_record *rec, char *err,
                     size_t errlen);
void spf_record_clear(struct spf_record *rec);

/* "all", "include", ... for logs. */
const char *spf_mech_name(enum spf_mech m);

#endif
