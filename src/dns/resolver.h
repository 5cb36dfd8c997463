/* Asynchronous DNS for the outbound queue.
 *
 * libunbound runs its resolver in a background thread of its own
 * (ub_ctx_async(ctx, 1)); answers come back over a pipe that the owning
 * libevent loop watches, and ub_process() runs the callbacks on the loop's
 * thread. So nothing here blocks the loop, and every callback runs on it.
 *
 * One resolver per event loop, used only by the thread that runs that loop
 * (creating it before that thread starts, and freeing it after the thread
 * has been joined, is fine). A callback is never called from inside the call
 * that started its query, runs exactly once unless the query is cancelled
 * (or the resolver freed) first, and may itself start, cancel or free
 * anything, including the resolver. Every query ends within the resolver's
 * timeout: a lookup that libunbound has not answered by then ends with
 * DNS_TEMPFAIL. */
#ifndef POSTERN_RESOLVER_H
#define POSTERN_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns/mx.h"

struct event_base;
struct resolver;

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,   /* the name does not exist: permanent */
	DNS_NULL_MX,    /* RFC 7505: the domain accepts no mail: permanent */
	DNS_NO_ADDRESS, /* the host exists but has no A or AAAA record: permanent */
	DNS_TEMPFAIL,   /* SERVFAIL, REFUSED, timeout, network, unusable answer: retry later */
	DNS_BOGUS,      /* DNSSEC validation failed (only with a trust anchor): retry later */
};

/* "ok", "nxdomain", ...: for logs. */
const char *dns_status_str(enum dns_status st);
/* True for the statuses that will not change by retrying soon. */
bool dns_status_permanent(enum dns_status st);

#define RESOLVER_MAX_ADDRS 16
/* The deadline of each query. */
#define RESOLVER_TIMEOUT_MS 30000

struct dns_addr_list {
	/* AF_INET6 and AF_INET addresses, interleaved starting with IPv6 so that
	 * one broken address family does not hold up the other; port 0 */
	struct sockaddr_storage addr[RESOLVER_MAX_ADDRS];
	size_t n;
	bool secure; /* both the A and the AAAA answer were DNSSEC-validated */
};

/* mx is never NULL; mx->n is 0 unless st == DNS_OK. When the domain exists
 * but has no MX record (RFC 5321 5.1), the list holds the domain itself with
 * preference 0. mx->secure is the DNSSEC state of the answer that decided st. */
typedef void (*resolver_mx_cb)(void *arg, enum dns_status st, const struct mx_list *mx);
/* addrs is never NULL; addrs->n is 0 unless st == DNS_OK. */
typedef void (*resolver_addr_cb)(void *arg, enum dns_status st,
                                 const struct dns_addr_list *addrs);

/* servers: "IP" or "IP@PORT" (IPv4 or IPv6) forwarders to ask, in order of
 * preference to libunbound; nservers == 0 uses /etc/resolv.conf and /etc/hosts.
 * Returns NULL with err filled on failure. */
struct resolver *resolver_new(struct event_base *base, const char *const *servers,
                              size_t nservers, char *err, size_t errlen);

/* Turn on DNSSEC validation. ta is a trust anchor in zone-file form
 * ("example. DS 12345 13 2 ...") or, for the _file variant, a file of them
 * (e.g. /usr/share/dns/root.key). Only before the first query; 0 or -1. */
int resolver_add_ta(struct resolver *r, const char *ta, char *err, size_t errlen);
int resolver_add_ta_file(struct resolver *r, const char *path, char *err, size_t errlen);

/* libunbound answers some special-use zones itself (RFC 6761/6303: "test.",
 * "invalid.", "onion.", "home.arpa.", "localhost.", local reverse zones) and
 * never asks the servers about them. This lets queries under zone through to
 * the servers: for test setups whose private server serves "test.". Only
 * before the first query; 0 or -1. */
int resolver_allow_zone(struct resolver *r, const char *zone, char *err, size_t errlen);


/* The records of one answer as their wire rdata (valid during the callback
 * only); n is 0 unless st == DNS_OK. */
struct dns_rrset {
	const unsigned char *const *data;
	const size_t *len;
	size_t n;
	bool secure;
};
typedef void (*resolver_rr_cb)(void *arg, enum dns_status st, const struct dns_rrset *rrs);

/* Each returns a query id > 0, or -1 (invalid name, or libunbound failed). */
int resolver_mx(struct resolver *r, const char *domain, resolver_mx_cb cb, void *arg);
/* Queries A and AAAA in parallel and calls back once with both. */
int resolver_addrs(struct resolver *r, const char *host, resolver_addr_cb cb, void *arg);

/* Any record type (TXT, PTR, ... for SPF), answered as raw rdata. name may
 * hold any printable ASCII octet (SPF macros put '+', '=' or '%' there; they
 * are escaped for libunbound) in labels of 1..63 octets. */
int resolver_query(struct resolver *r, const char *name, int rrtype, resolver_rr_cb cb,
                   void *arg);

/* Cancels a pending query: its callback will not run. 0, or -1 when id is not
 * pending (already answered, cancelled, or unknown). */
int resolver_cancel(struct resolver *r, int id);


/* Cancels every pending query (their callbacks are not called) and frees r.
 * Waits for libunbound's thread to exit, so call it at shutdown, not per
 * message. NULL is a no-op. */
void resolver_free(struct resolver *r);

#endif
