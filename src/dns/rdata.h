/* Record data as text: the presentation form of the few record types the
 * command line shows and compares (A, AAAA, MX, PTR, TXT). Pure, so the unit
 * tests can feed it hostile rdata. */
#ifndef POSTERN_RDATA_H
#define POSTERN_RDATA_H

#include <stddef.h>

/* RFC 1035 3.2.2, RFC 3596 2.1 */
enum dns_rrtype {
	DNS_RR_A = 1,
	DNS_RR_PTR = 12,
	DNS_RR_MX = 15,
	DNS_RR_TXT = 16,
	DNS_RR_AAAA = 28,
};

/* "A", "MX", ... */
const char *dns_rrtype_name(enum dns_rrtype t);

/* Writes the text of one rdata of type t:
 *   A, AAAA  the address ("192.0.2.1", "2001:db8::1")
 *   MX       "10 mx.example.org" (the null MX target is ".")
 *   PTR      "host.example.org"
 *   TXT      its strings joined without separators (RFC 7208 3.3, RFC 6376
 *            3.6.2.2), each octet that is not printable ASCII shown as '?'
 * Returns 0, or -1 when the rdata is malformed or does not fit in out. */
int dns_rdata_text(enum dns_rrtype t, const unsigned char *rdata, size_t len, char *out,
                   size_t outlen);

#endif
