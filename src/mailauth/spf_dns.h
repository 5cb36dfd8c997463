/* The DNS an SPF check asks, as a table of functions: the daemon plugs in
 * src/dns's libunbound resolver (mailauth/spf_resolver.h), the unit tests,
 * the RFC 7208 suite and the fuzzer an in-memory zone. */
#ifndef POSTERN_SPF_DNS_H
#define POSTERN_SPF_DNS_H

#include <stddef.h>

/* The record types SPF asks for (RFC 1035, RFC 3596 numbers). */
enum spf_rr {
	SPF_RR_A = 1,
	SPF_RR_PTR = 12,
	SPF_RR_MX = 15,
	SPF_RR_TXT = 16,
	SPF_RR_AAAA = 28,
};

enum spf_dns_status {
	SPF_DNS_OK,        /* the name exists; n may be 0 (no record of the type) */
	SPF_DNS_NXDOMAIN,  /* RCODE 3 */
	SPF_DNS_TEMPFAIL,  /* timeout, SERVFAIL, network, DNSSEC failure */
};

/* One answer, valid during the callback only. rr[i] is NUL-terminated and
 * len[i] its length (len may be NULL when no record holds a NUL octet):
 *   TXT        the record's strings joined without separators (RFC 7208 3.3)
 *   A, AAAA    the address in text form ("192.0.2.1", "2001:db8::1")
 *   MX         the exchange's host name (preferences play no part in SPF)
 *   PTR        the host name
 * Names may end in a dot. CNAMEs are already followed. */
struct spf_dns_answer {
	enum spf_dns_status st;
	const char *const *rr;
	const size_t *len;
	size_t n;
};

typedef void (*spf_dns_cb)(void *cbarg, const struct spf_dns_answer *ans);

struct spf_dns {
	/* Asks for name's records of type t. Returns an id >= 0, or -1 when the
	 * query cannot be made (the check takes it as a temporary failure). cb
	 * runs once, later, never from inside query(), unless cancelled. */
	int (*query)(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg);
	/* Drops a pending query: its callback will not run. */
	void (*cancel)(void *arg, int id);
	void *arg;
};

#endif
