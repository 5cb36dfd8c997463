/* SRS, the Sender Rewriting Scheme: the envelope sender of mail postern
 * forwards to another domain becomes an address at postern's own domain, so
 * that the next hop's SPF check sees a sender postern is allowed to use;
 * bounces to that address are decoded and sent back to the original sender.
 *
 * The forms are Shevek's (libsrs2, postsrsd):
 *   SRS0=HHHHHH=TT=orig.domain=orig-local@srs.domain
 *   SRS1=HHHHHH=first.forwarder==HHHH=TT=orig.domain=orig-local@srs.domain
 * SRS1 is made when the sender is another forwarder's SRS0 (or SRS1): a
 * bounce then goes straight back to the first forwarder, who decodes its own.
 *
 * HHHHHH is HMAC-SHA256 over the lower-cased fields, its first 30 bits in
 * base32 (RFC 4648 alphabet), compared case-insensitively: hops may fold a
 * local part's case, and base32 loses nothing to that (4 base64 characters
 * compared without case keep about 21 bits; these keep 30). TT is the day
 * (Unix time / 86400) modulo 1024 in two base32 characters; an address older
 * than max_age days, or dated in the future, is refused.
 *
 * Pure: no I/O, no clock (callers pass the time), no allocation. */
#ifndef POSTERN_SRS_H
#define POSTERN_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SRS_KEY_LEN 32
#define SRS_KEYS_MAX 8          /* the first signs, every one verifies */
#define SRS_HASH_CHARS 6
#define SRS_LOCAL_MAX 64        /* RFC 5321 4.5.3.1.1 */
#define SRS_DOMAIN_MAX 255
/* the largest address srs_reverse writes: local part, '@', domain, NUL */
#define SRS_ADDR_MAX (SRS_LOCAL_MAX + 1 + SRS_DOMAIN_MAX + 1)

struct srs {
	unsigned char keys[SRS_KEYS_MAX][SRS_KEY_LEN];
	size_t nkeys;
	char domain[SRS_DOMAIN_MAX + 1];    /* where rewritten addresses live, lower-case */
	int max_age_days;                   /* 1..512: older addresses are refused */
};

enum srs_result {
	SRS_OK = 0,
	SRS_NOT_SRS,            /* reverse: no SRS0= or SRS1= local part */
	SRS_MALFORMED,          /* a field missing, empty or of the wrong shape */
	SRS_BAD_HASH,           /* no key made this hash: forged or altered */
	SRS_EXPIRED,            /* older than max_age days, or dated in the future */
	SRS_TOO_LONG,           /* forward: the new local part would pass 64 octets */
};
const char *srs_result_name(enum srs_result r);

/* The envelope sender to forward mail from `sender` ("local@domain", not
 * empty) with: an SRS0 address, or an SRS1 one when sender is another
 * forwarder's SRS address; sender itself when its domain is srs->domain.
 * Writes a NUL-terminated address into out. SRS_TOO_LONG when the local part
 * would pass 64 octets (the caller keeps the original sender then),
 * SRS_MALFORMED for a sender that cannot be rewritten (no '@', an empty part,
 * a domain with '=' or an address literal), or when out is too small. */
enum srs_result srs_forward(const struct srs *srs, const char *sender, time_t now, char *out,
                            size_t outlen);

/* Whether a local part is in an SRS form (SRS0= or SRS1=, any case). */
bool srs_is_srs_local(const char *local, size_t len);

/* Decodes the local part of an address at srs->domain (len octets, not
 * NUL-terminated necessarily) into where a bounce to it goes: SRS0 to the
 * original sender, SRS1 to the first forwarder's SRS0 address. Checks the
 * hash against every key in constant time and SRS0's age. out must hold
 * SRS_ADDR_MAX octets. */
enum srs_result srs_reverse(const struct srs *srs, const char *local, size_t len, time_t now,
                            char *out, size_t outlen);

#endif
