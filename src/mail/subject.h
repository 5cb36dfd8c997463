/* The base subject of RFC 5256 2.1: a Subject: with the "Re:", "Fwd:",
 * "[list]" leaders and "(fwd)" trailers taken off, which SORT SUBJECT orders
 * by and THREAD groups by. Protocol-neutral: any client threading by
 * subject wants the same. */
#ifndef POSTERN_MAIL_SUBJECT_H
#define POSTERN_MAIL_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends the base subject of subject[0, len) (already decoded to UTF-8,
 * RFC 2047) to out, case kept: the caller compares it casemapped.
 * *reply_or_fwd (may be NULL) says whether a reply or forward marker was
 * taken off (a subj-refwd leader, a "(fwd)" trailer or a "[fwd: ...]"
 * wrapper), which THREAD=REFERENCES step 5 asks. */
void mail_base_subject(const char *subject, size_t len, struct buf *out, bool *reply_or_fwd);

#endif
