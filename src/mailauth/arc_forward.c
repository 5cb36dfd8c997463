#include "mailauth/arc_forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "mail/address.h"
#include "mail/header.h"
#include "mailauth/arc_seal.h"
#include "mailauth/dkim.h"
#include "mailauth/dkim_signer.h"
#include "store/commit.h"
#include "store/msgbuf.h"

#define READ_CHUNK 16384

/* The header block of the stored message, the empty line left out; *body
 * gets where the body starts. NULL with err when there is none within
 * DKIM_HEADER_MAX octets (the sealer refuses larger ones anyway). */
static char *read_header_new(const struct msgbuf *mb, size_t *len, uint64_t *body, char *err,
                             size_t errlen)
{
	size_t cap = READ_CHUNK, n = 0, scan = 0, hdr_len, body_off;
	char *buf = xmalloc(cap);
	for (;;) {
		if (mail_header_block_end(buf, n, &scan, &hdr_len, &body_off)) {
			*len = hdr_len;
			*body = body_off;
			return buf;
		}
		if (n > DKIM_HEADER_MAX) {
			snprintf(err, errlen, "header block larger than %d octets", DKIM_HEADER_MAX);
			break;
		}
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t got = msgbuf_read_at(mb, n, buf + n, cap - n);
		if (got == 0) {
			/* a message of header fields alone: no empty line, no body */
			*len = n;
			*body = n;
			return buf;
		}
		if (got < 0) {
			snprintf(err, errlen, "cannot read the message");
			break;
		}
		n += (size_t)got;
	}
	free(buf);
	return NULL;
}

/* Feeds the sealer the header as the copy will have it (the fields above
 * the message, then the message's own) and the body. 0 or -1 with err. */
static int feed(struct arc_sealer *as, const struct commit_seal *in, char *err, size_t errlen)
{
	size_t hlen;
	uint64_t off;
	char *hdr = read_header_new(in->body, &hlen, &off, err, errlen);
	if (hdr == NULL)
		return -1;
	char *all = xmalloc(in->above_len + hlen + 1);
	memcpy(all, in->above, in->above_len);
	memcpy(all + in->above_len, hdr, hlen);
	free(hdr);
	int rc = arc_sealer_header(as, all, in->above_len + hlen, err, errlen);
	free(all);
	char buf[READ_CHUNK];
	ssize_t got;
	while (rc == 0 && (got = msgbuf_read_at(in->body, off, buf, sizeof(buf))) != 0) {
		if (got < 0) {
			snprintf(err, errlen, "cannot read the message");
			return -1;
		}
		arc_sealer_body(as, buf, (size_t)got);
		off += (uint64_t)got;
	}
	return rc;
}

char *arc_forward_seal(void *arg, const struct commit_seal *in)
{
	struct dkim_signer *signer = arg;
	char domain[256], selector[64], err[256];
	size_t local_len;
	const char *at = mail_address_split(in->sender, &local_len);
	if (at == NULL || snprintf(domain, sizeof(domain), "%s", at) >= (int)sizeof(domain))
		return NULL;    /* forwards always have an SRS sender: not reached */
	ascii_lower(domain);
	const struct dkim_key *key = dkim_signer_rsa_key(signer, domain, selector, sizeof(selector));
	if (key == NULL) {
		log_event(LOG_INFO, "arc.not_sealed", "s", "domain", domain, "s", "reason",
		          "no RSA key for the domain (postern dkim keygen DOMAIN makes one)", NULL);
		return NULL;
	}
	struct arc_sealer *as = arc_sealer_new(key, domain, selector, time(NULL));
	char *set = feed(as, in, err, sizeof(err)) == 0
	            ? arc_sealer_finish(as, in->authres, in->cv, err, sizeof(err)) : NULL;
	arc_sealer_free(as);
	if (set == NULL) {
		log_event(LOG_WARN, "arc.not_sealed", "s", "domain", domain, "s", "reason", err, NULL);
		return NULL;
	}
	log_event(LOG_INFO, "arc.sealed", "s", "domain", domain, "s", "selector", selector,
	          "s", "cv", arc_cv_name(in->cv), NULL);
	return set;
}
