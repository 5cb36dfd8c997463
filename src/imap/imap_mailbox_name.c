/* Mailbox names in arguments and responses (UTF-8 or modified UTF-7, as
 * the client chose) and the text of a failed mailbox operation. */
#include <string.h>
#include <strings.h>

#include "mail/mutf7.h"
#include "imap/imap_session.h"

bool imap_next_mailbox(struct imap_session *s, struct imap_cursor *c, char *out, size_t len)
{
	const char *name;
	size_t n;
	char raw[MBOX_NAME_MAX * 4 + 1];
	if (!imap_next_astring(c, &name, &n))
		return false;
	if (n >= sizeof(raw) || memchr(name, '\0', n) != NULL) {
		imap_fail(c, "Mailbox name too long");
		return false;
	}
	memcpy(raw, name, n);
	raw[n] = '\0';
	/* names travel in modified UTF-7 unless the client enabled UTF8=ACCEPT */
	if (imap_client_utf8(s) || strcasecmp(raw, "INBOX") == 0) {
		if (n >= len) {
			imap_fail(c, "Mailbox name too long");
			return false;
		}
		memcpy(out, raw, n + 1);
		return true;
	}
	/* A name that is not modified UTF-7 names no mailbox (Dovecot answers NO,
	 * not BAD): it becomes "", which no mailbox has and CREATE refuses. */
	if (mutf7_decode(raw, out, len) < 0)
		out[0] = '\0';
	return true;
}

bool imap_expect_mailbox(struct imap_session *s, struct imap_command *cmd, struct imap_cursor *c,
                         char *out, size_t len)
{
	if (imap_next_mailbox(s, c, out, len))
		return true;
	imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Mailbox name expected");
	return false;
}

void imap_write_mailbox(struct imap_session *s, const char *name)
{
	char enc[MBOX_NAME_MAX * 4 + 1];
	if (!imap_client_utf8(s) && mutf7_encode(name, enc, sizeof(enc)) == 0)
		name = enc;
	imap_write_string(s, name, strlen(name));
}

const char *imap_mbox_error_text(int rc)
{
	switch (rc) {
	case MBOX_EXISTS: return "[ALREADYEXISTS] Mailbox exists";
	case MBOX_NOT_FOUND: return "[NONEXISTENT] No such mailbox";
	case MBOX_INVALID: return "[CANNOT] Invalid or reserved mailbox name";
	case MBOX_IN_USE: return "[INUSE] Mailbox has children";
	case IMAP_MBOX_NOPERM: return "[NOPERM] Permission denied";
	default: return "[SERVERBUG] Mailbox operation failed";
	}
}
