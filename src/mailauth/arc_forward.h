/* ARC sealing of the mail postern forwards (RFC 8617 5.1): the committer's
 * seal hook (store/commit.h). A copy an alias forwards to another domain
 * leaves with an SRS envelope sender at srs.domain; it is sealed as that
 * same domain, with the RSA key `postern dkim keygen` made last for it, so
 * that the next hop sees one identity for the forwarder in SPF, DKIM and
 * ARC. No such key: the copy leaves unsealed, and the log says why. */
#ifndef POSTERN_ARC_FORWARD_H
#define POSTERN_ARC_FORWARD_H

struct commit_seal;

/* commit_seal_fn; arg is the daemon's struct dkim_signer (its keys). */
char *arc_forward_seal(void *signer, const struct commit_seal *in);

#endif
