/* INTERIM (branch arcseal, issue #23), NOT FOR RELEASE: until the port-25
 * checks (src/mailauth/inbound.c) give the real Authentication-Results and
 * ARC status, mail taken on port 25 has forwards sealed with an empty result
 * ("hostname; none") and an ARC chain it carries counted as pass WITHOUT
 * being verified. The lead replaces the one call in smtp_finish_message()
 * with the real job.arc_authres / job.arc_cv and deletes this file (and
 * smtp_session.arc_authres_interim) at merge. */
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/util.h"
#include "mail/header.h"
#include "smtp/smtp_session.h"
#include "store/msgbuf.h"

#define INTERIM_HEADER_READ (64 * 1024)

/* Whether the first INTERIM_HEADER_READ octets hold an ARC-Seal field. */
static bool has_arc_seal(const struct msgbuf *mb)
{
	char *buf = xmalloc(INTERIM_HEADER_READ);
	ssize_t n = msgbuf_read_at(mb, 0, buf, INTERIM_HEADER_READ);
	size_t scan = 0, hlen = n > 0 ? (size_t)n : 0, body;
	struct mail_field f;
	mail_header_block_end(buf, hlen, &scan, &hlen, &body);
	bool found = n > 0 && mail_header_find(buf, hlen, "arc-seal", &f);
	free(buf);
	return found;
}

void smtp_arc_interim(struct smtp_session *s)
{
	if (s->mode->origin != FILTER_FROM_MX)
		return;
	snprintf(s->arc_authres_interim, sizeof(s->arc_authres_interim), "%s; none",
	         s->ns.cfg->hostname);
	s->job.arc_authres = s->arc_authres_interim;
	s->job.arc_cv = has_arc_seal(s->msg) ? ARC_CV_PASS : ARC_CV_NONE;
}
