/* EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, 6.4.9). */
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "imap/imap_targets.h"
#include "store/acl_rights.h"

void imap_cmd_expunge(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_targets t = { 0 };
	imap_command_args(cmd, &c);
	if (cmd->uid && imap_targets(s, &c, true, &t) < 0) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad UID set");
		return;
	}
	if (s->view.readonly) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (!imap_ref_allows(s, cmd->tag, &s->view.ref, ACL_EXPUNGE)) {
		imap_targets_free(&t);
		return;
	}
	if (!cmd->uid)
		imap_view_expunge_deleted(s, NULL, 0, true);
	else if (t.n > 0)   /* an empty UID set expunges nothing */
		imap_view_expunge_deleted(s, t.seq, t.n, true);
	/* a message another session expunged first (both had it \Deleted) is
	 * gone all the same: say so now, not at some later NOOP */
	imap_view_update(s, true);
	imap_targets_free(&t);
	imap_tagged(s, cmd->tag, "OK", "EXPUNGE completed");
}
