/* SELECT and EXAMINE with their CONDSTORE / QRESYNC parameters (RFC 9051
 * 6.3.2-3, RFC 7162 3.1.8, 3.2.5), and CLOSE / UNSELECT. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "store/acl_rights.h"

/* SELECT / EXAMINE parameters (RFC 7162 3.1.8, 3.2.5):
 * "(CONDSTORE)" or "(QRESYNC (uidvalidity modseq [known-uids [seq-match]]))". */
struct select_params {
	bool condstore, qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;     /* no ranges: every UID is known */
};

static bool parse_qresync(struct imap_cursor *c, struct select_params *p)
{
	struct imap_cursor q;
	if (!imap_next_list(c, &q) || !imap_next_nz_number(&q, &p->uidvalidity) ||
	    !imap_next_number64(&q, &p->modseq))
		return false;
	if (p->modseq == 0)
		return imap_fail(c, "QRESYNC needs a positive mod-sequence");
	const struct imap_arg *a = imap_peek(&q);
	if (a != NULL && a->type != IMAP_ARG_LIST &&
	    !imap_next_seqset(&q, &p->known, IMAP_SEQSET_NO_STAR))
		return false;
	/* seq-match-data only helps a server that forgot old expunges; we keep them
	 * all, so it is checked for syntax and not needed */
	struct imap_cursor m;
	struct imap_seqset seqs = { 0 }, uids = { 0 };
	bool ok = true;
	if (imap_peek(&q) != NULL)
		ok = imap_next_list(&q, &m) && imap_next_seqset(&m, &seqs, IMAP_SEQSET_NO_STAR) &&
		     imap_next_seqset(&m, &uids, IMAP_SEQSET_NO_STAR) && imap_expect_end(&m);
	imap_seqset_free(&seqs);
	imap_seqset_free(&uids);
	return ok && imap_expect_end(&q);
}

static bool parse_select_params(struct imap_session *s, struct imap_cursor *c,
                                struct select_params *p)
{
	struct imap_cursor list;
	if (imap_at_end(c))
		return true;
	if (!imap_next_list(c, &list))
		return false;
	while (!imap_at_end(&list)) {
		if (imap_accept_atom(&list, "CONDSTORE")) {
			p->condstore = true;
		} else if (imap_accept_atom(&list, "QRESYNC")) {
			if (!s->qresync)
				return imap_fail(c, "QRESYNC must be enabled first");
			if (p->qresync)
				return imap_fail(c, "QRESYNC given twice");
			p->qresync = true;
			if (!parse_qresync(&list, p))
				return false;
		} else {
			return imap_fail(c, "Unknown SELECT parameter");
		}
	}
	return imap_expect_end(c);
}

struct resync_ctx {
	struct imap_session *s;
	const struct imap_seqset *known;
	uint32_t *uids;
	size_t n, cap;
};

static void resync_vanished(void *arg, uint32_t uid)
{
	struct resync_ctx *r = arg;
	if (r->known->nranges > 0 && !imap_seqset_contains(r->known, uid, UINT32_MAX))
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->uids = xrealloc(r->uids, r->cap * sizeof(uint32_t));
	}
	r->uids[r->n++] = uid;
}

static void resync_changed(void *arg, const struct mbox_msg *m)
{
	struct resync_ctx *r = arg;
	uint32_t seq = imap_view_seq_of(&r->s->view, m->uid);
	if (seq != 0)
		imap_view_report_flags(r->s, seq, m, true);
}

/* RFC 7162 3.2.5.1: what changed since the client's last visit, when the
 * mailbox is still the one it knew (same UIDVALIDITY). */
static void quick_resync(struct imap_session *s, const struct select_params *p)
{
	if (p->uidvalidity != s->view.mb.uidvalidity)
		return;
	struct resync_ctx r = { s, &p->known, NULL, 0, 0 };
	mbox_expunged_since(s->view.ref.ms, &s->view.mb, p->modseq, resync_vanished, &r);
	imap_view_vanished(s, true, r.uids, r.n);
	free(r.uids);
	mbox_changed_since(s->view.ref.ms, &s->view.mb, p->modseq, resync_changed, &r);
}

void imap_cmd_select(struct imap_session *s, struct imap_command *cmd, bool readonly)
{
	struct imap_cursor c;
	char name[MBOX_NAME_MAX + 1];
	struct select_params p = { 0 };
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, name, sizeof(name)))
		return;
	if (!parse_select_params(s, &c, &p)) {
		imap_seqset_free(&p.known);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad SELECT parameters");
		return;
	}
	if (p.condstore)
		s->condstore = true;   /* RFC 7162 3.1.8: a CONDSTORE-enabling command */
	if (s->state == IMAP_SELECTED) {
		imap_view_close(s);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	struct imap_mailbox_ref ref;
	int rc = imap_ref_open(s, name, &ref);
	if (rc == MBOX_OK && !imap_ref_allows(s, cmd->tag, &ref, ACL_READ)) {
		imap_ref_release(s, &ref);
		s->state = IMAP_AUTH;
		imap_seqset_free(&p.known);
		return;
	}
	/* RFC 4314 4: without a right that changes the mailbox, it is read-only */
	if (!(ref.rights & (ACL_SEEN | ACL_WRITE | ACL_DELETE_MSG | ACL_EXPUNGE)))
		readonly = true;
	if (rc == MBOX_OK)
		rc = imap_view_open(s, &ref, readonly);
	if (rc != MBOX_OK) {
		s->state = IMAP_AUTH;
		imap_seqset_free(&p.known);
		imap_tagged(s, cmd->tag, "NO", "%s", imap_mbox_error_text(rc));
		return;
	}
	s->state = IMAP_SELECTED;
	if (p.qresync)
		quick_resync(s, &p);
	imap_seqset_free(&p.known);
	imap_tagged(s, cmd->tag, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
	            cmd->name);
}

void imap_cmd_close(struct imap_session *s, struct imap_command *cmd, bool expunge)
{
	/* CLOSE expunges silently (RFC 9051 6.4.1); UNSELECT does not */
	if (expunge && !s->view.readonly && (s->view.ref.rights & ACL_EXPUNGE))
		imap_view_expunge_deleted(s, NULL, 0, false);
	imap_view_close(s);
	s->state = IMAP_AUTH;
	imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}
