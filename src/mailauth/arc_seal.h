/* ARC sealing (RFC 8617 5.1): the set of instance N+1 that postern adds to
 * mail it forwards, with the DKIM signer's keys (dkim.h). Streaming, so
 * that it reads the message in the same pass as the ARC verifier whose cv
 * it seals:
 *
 *     s = arc_sealer_new(key, "example.org", "sel", time(NULL));
 *     arc_sealer_header(s, hdr, len, err, errlen);   the chain so far, the
 *                                                    AMS's signed fields
 *     arc_sealer_body(s, chunk, n);                  the body
 *     text = arc_sealer_finish(s, authres, cv, err, errlen);
 *     arc_sealer_free(s);
 *
 * text is "ARC-Seal: ...\nARC-Message-Signature: ...\n
 * ARC-Authentication-Results: ...\n" (LF line ends, folded), to prepend to
 * the message. The AMS signs, c=relaxed/relaxed, the fields the DKIM signer
 * signs plus every DKIM-Signature.
 *
 * Seal with an RSA key: ed25519-sha256 seals verify here, but other ARC
 * implementations (dkimpy, OpenARC) know rsa-sha256 only and fail them. */
#ifndef POSTERN_ARC_SEAL_H
#define POSTERN_ARC_SEAL_H

#include <stddef.h>
#include <time.h>

#include "mailauth/arc.h"

#define ARC_AUTHRES_MAX 8192    /* octets of the Authentication-Results payload */

struct dkim_key;
struct arc_sealer;

/* key, domain and selector are copied or must outlive the sealer (key). */
struct arc_sealer *arc_sealer_new(const struct dkim_key *key, const char *domain,
                                  const char *selector, time_t now);
/* The header block (the empty line may be included; LF or CRLF). 0, or -1
 * with err: a malformed or over-limit block, no From. Only once. */
int arc_sealer_header(struct arc_sealer *s, const char *hdr, size_t len, char *err,
                      size_t errlen);
void arc_sealer_body(struct arc_sealer *s, const void *data, size_t len);
/* authres is our Authentication-Results payload, "authserv-id; spf=pass
 * ...; arc=pass" (one line); cv the status of the chain as it arrived (RFC
 * 8617 5.1.1: none when it has no set, else pass or fail; with fail the seal
 * covers only the new set). Returns the three fields, malloc'd, or NULL
 * with err: a bad or wrong cv, a chain of ARC_MAX_INSTANCE sets already,
 * a broken chain sealed as pass, a bad authres, a bad domain or selector,
 * a crypto failure. Only once. */
char *arc_sealer_finish(struct arc_sealer *s, const char *authres, enum arc_cv cv, char *err,
                        size_t errlen);
void arc_sealer_free(struct arc_sealer *s);

#endif
