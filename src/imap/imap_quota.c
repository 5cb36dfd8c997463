/* QUOTA (RFC 9208): one quota root, "", over all of a user's mailboxes,
 * with the resources STORAGE (units of 1024 octets) and MESSAGE. Limits are
 * the admin's (`postern user quota`): SETQUOTA is refused, as RFC 9208 4.1.3
 * allows, and QUOTASET is not offered. A user without limits has no quota
 * root. Also the OVERQUOTA checks of APPEND and COPY; the rules and the
 * usage are src/store/quota.h's. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "net/server.h"
#include "store/quota.h"
#include "store/resolve.h"
#include "store/store.h"

/* A user's limits and usage (the logged-in user's, or the owner's of a
 * shared mailbox); false when the store fails. */
static bool quota_of(struct imap_session *s, const char *user, struct quota_status *qs)
{
	char local[65], domain[256];
	struct quota_limits defaults = quota_defaults_of(s->ns.cfg);
	if (resolve_split_address(user, local, sizeof(local), domain, sizeof(domain)) < 0)
		return false;
	int rc = quota_status_of(worker_store(s->ns.worker), &defaults, local, domain, qs);
	if (rc == STORE_NOT_FOUND)
		*qs = (struct quota_status){ 0 };   /* deleted meanwhile: nothing to report */
	return rc != STORE_ERROR;
}

static bool user_quota(struct imap_session *s, struct quota_status *qs)
{
	return quota_of(s, s->user, qs);
}

/* `* QUOTA "" (STORAGE used limit MESSAGE used limit)`, limited resources only. */
static void write_quota(struct imap_session *s, const struct quota_status *qs)
{
	char list[128] = "";
	int n = 0;
	if (qs->limits.storage > 0)
		n += snprintf(list, sizeof(list), "STORAGE %" PRIu64 " %" PRIu64,
		              quota_kib(qs->used.storage), qs->limits.storage / 1024);
	if (qs->limits.messages > 0)
		snprintf(list + n, sizeof(list) - (size_t)n, "%sMESSAGE %" PRIu64 " %" PRIu64,
		         n > 0 ? " " : "", qs->used.messages, qs->limits.messages);
	imap_untagged(s, "QUOTA \"\" (%s)", list);
}

void imap_cmd_getquotaroot(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct mbox_info mb;
	struct quota_status qs;
	char name[MBOX_NAME_MAX + 1];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, name, sizeof(name)))
		return;
	if (!imap_expect_end(&c)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Syntax error");
		return;
	}
	int rc = mbox_find(s->ms, name, &mb);
	if (rc != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "%s", imap_mbox_error_text(rc));
		return;
	}
	if (!user_quota(s, &qs)) {
		imap_tagged(s, cmd->tag, "NO", "[UNAVAILABLE] Quota unavailable, try again later");
		return;
	}
	bool root = quota_has_limit(&qs.limits);
	imap_printf(s, "* QUOTAROOT ");
	imap_write_mailbox(s, mb.name);
	imap_printf(s, "%s\r\n", root ? " \"\"" : "");
	if (root)
		write_quota(s, &qs);
	imap_tagged(s, cmd->tag, "OK", "GETQUOTAROOT completed");
}

void imap_cmd_getquota(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct quota_status qs;
	const char *root;
	size_t len;
	imap_command_args(cmd, &c);
	if (!imap_next_astring(&c, &root, &len) || !imap_expect_end(&c)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Quota root expected");
		return;
	}
	if (!user_quota(s, &qs)) {
		imap_tagged(s, cmd->tag, "NO", "[UNAVAILABLE] Quota unavailable, try again later");
		return;
	}
	if (len != 0 || !quota_has_limit(&qs.limits)) {
		imap_tagged(s, cmd->tag, "NO", "[NONEXISTENT] No such quota root");
		return;
	}
	write_quota(s, &qs);
	imap_tagged(s, cmd->tag, "OK", "GETQUOTA completed");
}

void imap_cmd_setquota(struct imap_session *s, struct imap_command *cmd)
{
	imap_tagged(s, cmd->tag, "NO", "[NOPERM] Quotas are set by the administrator");
}

/* Whether the additions fit; logged when they do not. */
static bool fits(struct imap_session *s, const struct quota_status *qs, uint64_t add_storage,
                 uint64_t add_messages)
{
	if (!quota_would_exceed(&qs->limits, &qs->used, add_storage, add_messages))
		return true;
	log_event(LOG_INFO, "imap.over_quota", "s", "session", s->ns.id, "s", "user", s->user,
	          "i", "size", (long long)add_storage, "i", "messages", (long long)add_messages, NULL);
	return false;
}

bool imap_quota_allows(struct imap_session *s, uint64_t add_storage, uint64_t add_messages)
{
	return imap_quota_allows_for(s, s->user, add_storage, add_messages);
}

bool imap_quota_allows_for(struct imap_session *s, const char *user, uint64_t add_storage,
                           uint64_t add_messages)
{
	struct quota_status qs;
	/* a store that cannot be read holds nothing back */
	return !quota_of(s, user, &qs) || fits(s, &qs, add_storage, add_messages);
}

bool imap_quota_allows_copy(struct imap_session *s, const char *user, const uint32_t *uids,
                            size_t n)
{
	struct quota_status qs;
	struct mbox_msg m;
	uint64_t size = 0;
	if (!quota_of(s, user, &qs) || !quota_has_limit(&qs.limits))
		return true;   /* the sizes are read only when something limits them */
	for (size_t i = 0; i < n; i++)
		if (mbox_get(s->view.ref.ms, &s->view.mb, uids[i], &m) == MBOX_OK)
			size += m.size;
	return fits(s, &qs, size, n);
}
