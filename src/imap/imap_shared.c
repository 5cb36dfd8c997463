/* Shared mailboxes (RFC 4314) in the "Shared/" namespace (RFC 2342): the
 * user's grants in the store decide what a name under it reaches; the
 * owner's index is opened as the owner's own sessions open it (one per
 * user and worker), so that changes, IDLE and modseqs are one mailbox's
 * for everyone, and its usage counts against the owner's quota. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "imap/imap_session.h"
#include "imap/imap_users.h"
#include "net/server.h"
#include "store/acl_rights.h"
#include "store/maildir.h"
#include "store/resolve.h"
#include "store/store.h"

bool imap_shared_name(const char *name)
{
	size_t n = strlen(IMAP_SHARED_ROOT);
	return strncmp(name, IMAP_SHARED_ROOT, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

static int own_ref(struct imap_session *s, const char *name, struct imap_mailbox_ref *ref)
{
	ref->ms = s->ms;
	ref->rights = ACL_ALL;
	str_copy(ref->name, sizeof(ref->name), name);
	return MBOX_OK;
}

/* "Shared/<owner>/<name>": the owner (lower-cased) and its name for it. */
static bool split_shared(const char *name, char *owner, size_t olen, const char **rest)
{
	const char *o = name + strlen(IMAP_SHARED_ROOT "/");
	const char *slash = strchr(o, '/');
	if (!imap_shared_name(name) || name[strlen(IMAP_SHARED_ROOT)] != '/' || slash == NULL ||
	    slash == o || slash[1] == '\0' || (size_t)(slash - o) >= olen)
		return false;
	memcpy(owner, o, (size_t)(slash - o));
	owner[slash - o] = '\0';
	ascii_lower(owner);
	*rest = slash + 1;
	return true;
}

/* The owner's index on this worker, as its own sessions hold it. */
static struct mbox_store *acquire_owner(struct imap_session *s, const char *owner)
{
	char local[65], domain[256], maildir[4096], err[512] = "";
	struct mbox_store *ms = NULL;
	if (resolve_split_address(owner, local, sizeof(local), domain, sizeof(domain)) == 0 &&
	    maildir_path(s->ns.cfg->data_dir, domain, local, maildir, sizeof(maildir)) == 0)
		ms = imap_store_acquire(s->ns.worker, owner, maildir, err, sizeof(err));
	if (ms == NULL)
		log_event(LOG_ERROR, "imap.shared_unavailable", "s", "user", s->user, "s", "owner", owner,
		          "s", "error", err, NULL);
	return ms;
}

int imap_ref_open(struct imap_session *s, const char *name, struct imap_mailbox_ref *ref)
{
	const char *rest;
	unsigned rights = 0;
	memset(ref, 0, sizeof(*ref));
	if (!imap_shared_name(name))
		return own_ref(s, name, ref);
	if (!split_shared(name, ref->owner, sizeof(ref->owner), &rest) ||
	    strcmp(ref->owner, s->user) == 0 || strlen(rest) >= sizeof(ref->name))
		return MBOX_NOT_FOUND;
	/* the store refuses grants across domains; it answers none for them too */
	int rc = store_acl_get(worker_store(s->ns.worker), ref->owner, rest, s->user, &rights);
	if (rc != STORE_OK || rights == 0)
		return rc == STORE_ERROR ? MBOX_ERROR : MBOX_NOT_FOUND;
	if ((ref->ms = acquire_owner(s, ref->owner)) == NULL)
		return MBOX_ERROR;
	ref->shared = true;
	ref->rights = rights;
	str_copy(ref->name, sizeof(ref->name), rest);
	return MBOX_OK;
}

void imap_ref_release(struct imap_session *s, struct imap_mailbox_ref *ref)
{
	if (ref->shared && ref->ms != NULL)
		imap_store_release(s->ns.worker, ref->ms);
	memset(ref, 0, sizeof(*ref));
}

bool imap_ref_allows(struct imap_session *s, const char *tag, const struct imap_mailbox_ref *ref,
                     unsigned need)
{
	if ((ref->rights & need) == need)
		return true;
	/* RFC 4314 6: no right at all and the mailbox must look absent */
	if (ref->rights == 0)
		imap_tagged(s, tag, "NO", "[NONEXISTENT] No such mailbox");
	else
		imap_tagged(s, tag, "NO", "[NOPERM] Permission denied");
	return false;
}

void imap_ref_client_name(const struct imap_mailbox_ref *ref, const char *name, char *out,
                          size_t len)
{
	if (ref->shared)
		snprintf(out, len, IMAP_SHARED_ROOT "/%s/%s", ref->owner, name);
	else
		str_copy(out, len, name);
}
