/* The DNS records an administrator publishes for a mail domain: MX, SPF,
 * DKIM, DMARC, the mail host's A/AAAA and the PTR to ask the hosting provider
 * for. Built from plain values (no store, no network), so that the CLI, a
 * future admin API and the tests share one list; checked against DNS by
 * zone_check.h. */
#ifndef POSTERN_ZONE_RECORDS_H
#define POSTERN_ZONE_RECORDS_H

#include <stddef.h>

#include "dns/rdata.h"

struct config;

#define ZONE_NAME_MAX 256
/* The most server addresses listed. */
#define ZONE_ADDRS_MAX 16

enum zone_kind {
	ZONE_MX,
	ZONE_SPF,
	ZONE_DKIM,
	ZONE_DMARC,
	ZONE_ADDR,   /* the mail host's A or AAAA */
	ZONE_PTR,    /* reverse DNS, set by whoever owns the address */
};

struct zone_record {
	enum zone_kind kind;
	char owner[ZONE_NAME_MAX];  /* fully qualified, without the trailing dot */
	enum dns_rrtype type;
	/* presentation form as dns_rdata_text() writes it: "10 mx.example.org"
	 * (MX), the text of a TXT, an address (A, AAAA), a host name (PTR) */
	char *value;
	char subject[64];           /* DKIM: the selector; A, AAAA, PTR: the address */
	char comment[320];          /* what the record is for, one line */
};

struct zone_list {
	struct zone_record *rec;
	size_t n, cap;
};

/* A DKIM public key of the domain: dkim_dns_record() of the key. */
struct zone_dkim_key {
	const char *selector, *algorithm, *record;
};

struct zone_input {
	const char *domain, *hostname;
	const char *const *addrs;   /* the server's public addresses (zone_server_addrs) */
	size_t naddrs;
	const struct zone_dkim_key *dkim;
	size_t ndkim;
};

/* Appends every record of in to out (zero it first); release with
 * zone_list_free(). */
void zone_records_build(const struct zone_input *in, struct zone_list *out);
/* Appends the TXT record of one DKIM key of domain. */
void zone_records_add_dkim(struct zone_list *l, const char *domain,
                           const struct zone_dkim_key *k);
void zone_list_free(struct zone_list *l);

/* The SPF record postern recommends: "v=spf1 mx ip4:... ip6:... -all". */
void zone_spf_value(const char *const *addrs, size_t naddrs, char *out, size_t outlen);

/* One zone-file line to paste: "owner. IN TYPE data", host names with their
 * trailing dot, TXT text quoted and cut into strings of at most 250 octets
 * (RFC 1035 3.3.14: 255 at most), in parentheses when there are several.
 * 0, or -1 when out is too small. */
int zone_record_line(const struct zone_record *r, char *out, size_t outlen);

/* The server's public addresses as outside hosts see them: the SMTP listen
 * addresses that are global unicast (ip_is_global: not a wildcard, loopback or
 * private one), then queue.source_ipv4 and queue.source_ipv6; canonical text,
 * each once. Returns how many were written to out (at most max). */
size_t zone_server_addrs(const struct config *cfg, char (*out)[64], size_t max);

#endif
