/* SMTP's end of the message checks (src/filter/filter.h). */
#ifndef POSTERN_SMTP_CHECKS_H
#define POSTERN_SMTP_CHECKS_H

#include "filter/filter.h"

struct smtp_session;

/* The session's message through filter_checks (smtp_finish_message). */
struct filter_verdict smtp_check_message(struct smtp_session *s);

#endif
