#include "daemon/services.h"

#include "core/util.h"
#include "imap/imap_session.h"
#include "pop3/pop3_session.h"
#include "smtp/smtp_session.h"

/* Adding a service: a row here, its name in core/config_services.c, and its
 * protocol's session_ops. Binding, caps, timeouts and the banner follow. */
const struct service daemon_services[] = {
	{ SVC_SMTP, 25, SERVICE_TLS_STARTTLS, "", &smtp_session_ops },
	{ SVC_SUBMISSION, 587, SERVICE_TLS_STARTTLS, "STARTTLS, AUTH", &smtp_session_ops },
	{ SVC_SUBMISSIONS, 465, SERVICE_TLS_IMPLICIT, "implicit TLS, AUTH", &smtp_session_ops },
	{ SVC_IMAP, 143, SERVICE_TLS_STARTTLS, "STARTTLS", &imap_session_ops },
	{ SVC_IMAPS, 993, SERVICE_TLS_IMPLICIT, "implicit TLS", &imap_session_ops },
	{ SVC_POP3, 110, SERVICE_TLS_STARTTLS, "STLS", &pop3_session_ops },
	{ SVC_POP3S, 995, SERVICE_TLS_IMPLICIT, "implicit TLS", &pop3_session_ops },
	/* a mode of the SMTP state machine (src/smtp/smtp_mode.c) */
	{ SVC_LMTP, 24, SERVICE_TLS_NONE, "local delivery, no TLS or AUTH", &smtp_session_ops },
};
const size_t daemon_nservices = ARRAY_LEN(daemon_services);
