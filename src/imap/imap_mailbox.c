/* Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE / UNSUBSCRIBE and
 * STATUS (RFC 9051 6.3.4-6.3.8, 6.3.11). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "imap/imap_status.h"
#include "net/server.h"
#include "store/acl_rights.h"
#include "store/store.h"

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

/* imap.max_mailboxes: CREATE may add the name and each missing parent
 * (in ms: the user's own index, or a shared mailbox's owner's). */
static bool room_for_mailboxes(struct imap_session *s, struct mbox_store *ms, const char *name)
{
	uint32_t have;
	uint32_t adds = 1;
	for (const char *p = name; *p; p++)
		adds += *p == '/';
	if (mbox_count(ms, &have) != MBOX_OK)
		return false;
	return (uint64_t)have + adds <= (uint64_t)s->ns.cfg->imap.max_mailboxes;
}

/* The owner's grants on the parent of a mailbox just made go to it, so that
 * who shares a folder shares what is filed below it (and a sharer with k
 * sees what it made). A failure leaves the new mailbox unshared: logged. */
static void inherit_grants(struct imap_session *s, const char *owner, const char *name)
{
	char parent[MBOX_NAME_MAX + 1], err[256];
	str_copy(parent, sizeof(parent), name);
	char *slash = strrchr(parent, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if (store_acl_inherit(worker_store(s->ns.worker), owner, parent, name, err, sizeof(err)) !=
	    STORE_OK)
		log_event(LOG_WARN, "imap.acl_inherit_failed", "s", "owner", owner, "s", "mailbox", name,
		          "s", "error", err, NULL);
}

/* CREATE below a shared mailbox: k on the parent (RFC 4314 4), in the
 * owner's index. "Shared" and Shared/<owner> themselves are no mailboxes. */
static void create_shared(struct imap_session *s, struct imap_command *cmd, const char *name)
{
	char parent[MBOX_NAME_MAX + 1];
	struct imap_mailbox_ref ref;
	str_copy(parent, sizeof(parent), name);
	char *slash = strrchr(parent, '/');
	*slash = '\0';   /* imap_shared_name: there is one */
	if (imap_ref_open(s, parent, &ref) != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[NOPERM] Mailboxes are made below a shared mailbox "
		            "with the k right");
		return;
	}
	const char *child = name + strlen(parent) - strlen(ref.name);
	struct mbox_info mb;
	if (!imap_ref_allows(s, cmd->tag, &ref, ACL_CREATE)) {
		/* answered */
	} else if (mbox_find(ref.ms, ref.name, &mb) != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[NONEXISTENT] No such mailbox");
	} else if (!room_for_mailboxes(s, ref.ms, child)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many mailboxes");
	} else {
		int rc = mbox_create(ref.ms, child, NULL);
		if (rc == MBOX_OK)
			inherit_grants(s, ref.owner, child);
		reply_mbox(s, cmd, rc);
	}
	imap_ref_release(s, &ref);
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
	if (imap_shared_name(name)) {
		if (strchr(name, '/') != NULL)
			create_shared(s, cmd, name);
		else
			imap_tagged(s, cmd->tag, "NO", "[CANNOT] " IMAP_SHARED_ROOT " is the shared "
			            "mailboxes' namespace");
		return;
	}
	if (!room_for_mailboxes(s, s->ms, name)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many mailboxes");
		return;
	}
	int rc = mbox_create(s->ms, name, NULL);
	if (rc == MBOX_OK)
		inherit_grants(s, s->user, name);
	reply_mbox(s, cmd, rc);
}

/* DELETE: one's own, or a shared one with x (RFC 4314 4); its grants go too. */
void imap_cmd_delete(struct imap_session *s, struct imap_command *cmd)
{
	char name[MBOX_NAME_MAX + 1], err[256];
	struct imap_mailbox_ref ref;
	if (!mailbox_arg(s, cmd, name, sizeof(name)))
		return;
	int rc = imap_ref_open(s, name, &ref);
	if (rc == MBOX_OK && !imap_ref_allows(s, cmd->tag, &ref, ACL_DELETE_MBOX)) {
		imap_ref_release(s, &ref);
		return;
	}
	bool selected = rc == MBOX_OK && s->state == IMAP_SELECTED && s->view.ref.ms == ref.ms &&
	                strcmp(s->view.mb.name, ref.name) == 0;
	if (rc == MBOX_OK)
		rc = mbox_delete(ref.ms, ref.name);
	if (rc == MBOX_OK &&
	    store_acl_drop(worker_store(s->ns.worker), ref.shared ? ref.owner : s->user, ref.name, err,
	                   sizeof(err)) != STORE_OK)
		log_event(LOG_WARN, "imap.acl_drop_failed", "s", "user", s->user, "s", "mailbox", name,
		          "s", "error", err, NULL);
	imap_ref_release(s, &ref);
	if (rc == MBOX_OK && selected) {   /* a refused DELETE leaves the selection alone */
		imap_view_close(s);
		s->state = IMAP_AUTH;
	}
	reply_mbox(s, cmd, rc);
}

/* RENAME of one's own mailboxes, their grants following; shared mailboxes
 * are renamed by their owner only. */
void imap_cmd_rename(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	char from[MBOX_NAME_MAX + 1], to[MBOX_NAME_MAX + 1], err[256];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, from, sizeof(from)) ||
	    !imap_expect_mailbox(s, cmd, &c, to, sizeof(to)))
		return;
	if (imap_shared_name(from) || imap_shared_name(to)) {
		imap_tagged(s, cmd->tag, "NO", "[CANNOT] Shared mailboxes are renamed by their owner");
		return;
	}
	int rc = mbox_rename(s->ms, from, to);
	/* RENAME INBOX moves its messages; INBOX and its grants stay */
	if (rc == MBOX_OK && strcasecmp(from, "INBOX") != 0 &&
	    store_acl_rename(worker_store(s->ns.worker), s->user, from, to, err, sizeof(err)) !=
	    STORE_OK)
		log_event(LOG_WARN, "imap.acl_rename_failed", "s", "user", s->user, "s", "mailbox", from,
		          "s", "error", err, NULL);
	if (rc == MBOX_OK && s->state == IMAP_SELECTED && s->view.ref.ms == s->ms)
		mbox_refresh(s->ms, &s->view.mb);   /* it may be the selected one, or its parent */
	reply_mbox(s, cmd, rc);
}

/* A shared mailbox is subscribed by the name the user knows it by, when the
 * user may know it (any right); unsubscribing is always allowed. */
static int subscribe_shared(struct imap_session *s, const char *name, bool on)
{
	struct imap_mailbox_ref ref;
	if (!on)
		return mbox_subscribe_other(s->ms, name, false);
	int rc = imap_ref_open(s, name, &ref);
	imap_ref_release(s, &ref);
	return rc == MBOX_OK ? mbox_subscribe_other(s->ms, name, true) : rc;
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
	reply_mbox(s, cmd, imap_shared_name(name) ? subscribe_shared(s, name, on)
	                                          : mbox_subscribe(s->ms, name, on));
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
