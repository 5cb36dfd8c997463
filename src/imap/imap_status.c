/* STATUS items (RFC 9051 6.3.11) and the untagged STATUS response. */
#include <stdio.h>
#include <strings.h>

#include "core/util.h"
#include "imap/imap_session.h"
#include "imap/imap_status.h"
#include "store/acl_rights.h"
#include "store/quota.h"

/* the item names, indexed as imap_status_req.items holds them */
static const char *const status_names[] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "HIGHESTMODSEQ", "DELETED",
	"DELETED-STORAGE",
};
enum { STATUS_RECENT = 4, STATUS_HIGHESTMODSEQ = 6, STATUS_DELETED = 7, STATUS_DELETED_STORAGE = 8 };

bool imap_status_parse_items(struct imap_cursor *items, struct imap_status_req *req)
{
	const char *item;
	req->n = 0;
	while (!imap_at_end(items)) {
		if (!imap_next_atom(items, &item) || req->n == ARRAY_LEN(req->items))
			return false;
		size_t k = 0;
		while (k < ARRAY_LEN(status_names) && strcasecmp(item, status_names[k]) != 0)
			k++;
		if (k == ARRAY_LEN(status_names))
			return false;
		req->items[req->n++] = (int)k;
	}
	return true;
}

bool imap_status_wants_modseq(const struct imap_status_req *req)
{
	for (size_t i = 0; i < req->n; i++)
		if (req->items[i] == STATUS_HIGHESTMODSEQ)
			return true;
	return false;
}

/* "* STATUS name (...)" for a mailbox, synced first. */
int imap_status_write(struct imap_session *s, const char *name, const struct imap_status_req *req)
{
	struct mbox_info mb;
	struct imap_mailbox_ref ref;
	char out[512] = "", shown[IMAP_CLIENT_NAME_LEN];
	int rc = imap_ref_open(s, name, &ref);
	/* RFC 4314 4: STATUS needs r; a mailbox without any right is not there */
	if (rc == MBOX_OK && !(ref.rights & ACL_READ))
		rc = ref.rights != 0 ? IMAP_MBOX_NOPERM : MBOX_NOT_FOUND;
	struct mbox_store *ms = ref.ms;
	if (rc == MBOX_OK)
		rc = mbox_find(ms, ref.name, &mb);
	if (rc == MBOX_OK)
		rc = mbox_sync(ms, &mb);
	if (rc == MBOX_OK)
		rc = mbox_find(ms, ref.name, &mb);   /* the counts after the sync */
	uint32_t deleted = 0, recent = 0;
	uint64_t deleted_size = 0;
	for (size_t i = 0; i < req->n && rc == MBOX_OK; i++) {
		if (req->items[i] == STATUS_DELETED)
			rc = mbox_count_deleted(ms, &mb, &deleted);
		else if (req->items[i] == STATUS_DELETED_STORAGE)
			rc = mbox_deleted_size(ms, &mb, &deleted_size);
		else if (req->items[i] == STATUS_RECENT)
			rc = mbox_count_recent(ms, &mb, &recent);   /* not claimed by anyone yet */
	}
	if (rc == MBOX_OK)
		imap_ref_client_name(&ref, mb.name, shown, sizeof(shown));
	imap_ref_release(s, &ref);
	if (rc != MBOX_OK)
		return rc;
	size_t n = 0;
	for (size_t i = 0; i < req->n && n < sizeof(out); i++) {
		/* RFC 9208 4.1.4: DELETED-STORAGE in the unit of STORAGE, 1024 octets */
		unsigned long long v[] = { mb.messages, mb.uidnext, mb.uidvalidity, mb.unseen, recent,
		                           mb.size, mb.highestmodseq, deleted, quota_kib(deleted_size) };
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s %llu", n ? " " : "",
		                      status_names[req->items[i]], v[req->items[i]]);
	}
	imap_printf(s, "* STATUS ");
	imap_write_mailbox(s, shown);
	imap_printf(s, " (%s)\r\n", out);
	return MBOX_OK;
}
