/* Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE / UNSUBSCRIBE and
 * STATUS (RFC 9051 6.3.4-6.3.8, 6.3.11). */
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "imap/imap_status.h"

/* The tagged answer of a mailbox operation. */
static void reply_mbox(struct imap_session *s, struct imap_command *cmd, int rc)
{
	if (rc != MBOX_OK)
		imap_tagged(s, cmd->tag, "NO", "%s", imap_mbox_error_text(rc));
	else
		imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}

/* The one mailbox name argument of CREATE, DELETE, (UN)SUBSCRIBE; false
 * after answering BAD. */
static bool mailbox_arg(struct imap_session *s, struct imap_command *cmd, char *name, size_t len)
{
	struct imap_cursor c;
	imap_command_args(cmd, &c);
	return imap_expect_mailbox(s, cmd, &c, name, len);
}

/* imap.max_mailboxes: CREATE may add the name and each missing parent. */
static bool room_for_mailboxes(struct imap_session *s, const char *name)
{
	uint32_t have;
	uint32_t adds = 1;
	for (const char *p = name; *p; p++)
		adds += *p == '/';
	if (mbox_count(s->ms, &have) != MBOX_OK)
		return false;
	return (uint64_t)have + adds <= (uint64_t)s->ns.cfg->imap.max_mailboxes;
}

void imap_cmd_create(struct imap_session *s, struct imap_command *cmd)
{
	char name[MBOX_NAME_MAX + 1];
	if (!mailbox_arg(s, cmd, name, sizeof(name)))
		return;
	/* RFC 9051 6.3.4: a trailing separator only says the client wants children */
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '/')
		name[n - 1] = '\0';
	if (!room_for_mailboxes(s, name)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many mailboxes");
		return;
	}
	reply_mbox(s, cmd, mbox_create(s->ms, name, NULL));
}

void imap_cmd_delete(struct imap_session *s, struct imap_command *cmd)
{
	char name[MBOX_NAME_MAX + 1];
	if (!mailbox_arg(s, cmd, name, sizeof(name)))
		return;
	bool selected = s->state == IMAP_SELECTED && strcmp(s->view.mb.name, name) == 0;
	int rc = mbox_delete(s->ms, name);
	if (rc == MBOX_OK && selected) {   /* a refused DELETE leaves the selection alone */
		imap_view_close(s);
		s->state = IMAP_AUTH;
	}
	reply_mbox(s, cmd, rc);
}

void imap_cmd_rename(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	char from[MBOX_NAME_MAX + 1], to[MBOX_NAME_MAX + 1];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, from, sizeof(from)) ||
	    !imap_expect_mailbox(s, cmd, &c, to, sizeof(to)))
		return;
	int rc = mbox_rename(s->ms, from, to);
	if (rc == MBOX_OK && s->state == IMAP_SELECTED)
		mbox_refresh(s->ms, &s->view.mb);   /* it may be the selected one, or its parent */
	reply_mbox(s, cmd, rc);
}

void imap_cmd_subscribe(struct imap_session *s, struct imap_command *cmd, bool on)
{
	char name[MBOX_NAME_MAX + 1];
	uint32_t have;
	if (!mailbox_arg(s, cmd, name, sizeof(name)))
		return;
	/* a subscription may outlive its mailbox: bounded like the mailboxes */
	if (on && (mbox_subscription_count(s->ms, &have) != MBOX_OK ||
	           have >= (uint32_t)s->ns.cfg->imap.max_mailboxes)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many subscriptions");
		return;
	}
	reply_mbox(s, cmd, mbox_subscribe(s->ms, name, on));
}

void imap_cmd_status(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c, items;
	char name[MBOX_NAME_MAX + 1];
	struct imap_status_req req;
	imap_command_args(cmd, &c);
	if (!imap_next_mailbox(s, &c, name, sizeof(name)) || !imap_next_list(&c, &items)) {
		imap_tagged(s, cmd->tag, "BAD", "Mailbox name and status items expected");
		return;
	}
	if (!imap_status_parse_items(&items, &req)) {
		imap_tagged(s, cmd->tag, "BAD", "Unknown status item");
		return;
	}
	if (imap_status_wants_modseq(&req))
		imap_enable_condstore(s);
	int rc = imap_status_write(s, name, &req);
	if (rc != MBOX_OK)
		imap_tagged(s, cmd->tag, "NO", "%s", imap_mbox_error_text(rc));
	else
		imap_tagged(s, cmd->tag, "OK", "STATUS completed");
}
