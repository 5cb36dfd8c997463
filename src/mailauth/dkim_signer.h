/* Outbound DKIM signing policy: every message queued with an envelope sender
 * in a local domain is signed with each key `postern dkim keygen` made for that
 * domain (an RSA and an Ed25519 key side by side is the RFC 8463 practice). */
#ifndef POSTERN_DKIM_SIGNER_H
#define POSTERN_DKIM_SIGNER_H

#include <stddef.h>

struct msgbuf;
struct dkim_signer;

struct dkim_signer *dkim_signer_new(const char *data_dir, char *err, size_t errlen);
void dkim_signer_free(struct dkim_signer *s);
/* commit_sign_fn for the committer: DKIM-Signature fields or NULL. Thread-safe. */
char *dkim_signer_sign(void *signer, const char *sender, const struct msgbuf *body);
/* The RSA key `postern dkim keygen` made last for domain (lower-case), its
 * selector copied into selector: the key an ARC seal of ours is made with
 * (other ARC implementations verify rsa-sha256 only). NULL when the domain
 * has none, or its file cannot be loaded (logged). Thread-safe; the key
 * lives as long as the signer. */
struct dkim_key;
const struct dkim_key *dkim_signer_rsa_key(struct dkim_signer *s, const char *domain,
                                           char *selector, size_t len);

#endif
