/* The selected mailbox as the client sees it, and telling it what changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_hdrcache.h"
#include "imap/imap_session.h"

void imap_format_flags(uint32_t flags, const char *keywords, char *out, size_t len)
{
	static const struct { uint32_t bit; const char *name; } map[] = {
		{ IMAP_VIEW_RECENT, "\\Recent" },
		{ MBOX_F_SEEN, "\\Seen" }, { MBOX_F_ANSWERED, "\\Answered" },
		{ MBOX_F_FLAGGED, "\\Flagged" }, { MBOX_F_DELETED, "\\Deleted" },
		{ MBOX_F_DRAFT, "\\Draft" },
	};
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (flags & map[i].bit)
			n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? " " : "", map[i].name);
	if (keywords && *keywords && n < len)
		snprintf(out + n, len - n, "%s%s", n ? " " : "", keywords);
}

static void view_add(struct imap_view *v, uint32_t uid, uint32_t flags)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->uids = xrealloc(v->uids, v->cap * sizeof(uint32_t));
		v->flags = xrealloc(v->flags, v->cap * sizeof(uint32_t));
	}
	v->uids[v->n] = uid;
	v->flags[v->n++] = flags;
}

static void collect(void *arg, uint32_t uid, uint32_t flags)
{
	view_add(arg, uid, flags);
}

size_t imap_view_lower_bound(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t imap_view_seq_of(const struct imap_view *v, uint32_t uid)
{
	size_t i = imap_view_lower_bound(v, uid);
	return i < v->n && v->uids[i] == uid ? (uint32_t)i + 1 : 0;
}

uint32_t imap_view_recent(const struct imap_view *v, uint32_t seq)
{
	return seq >= 1 && seq <= v->n ? v->flags[seq - 1] & IMAP_VIEW_RECENT : 0;
}

static size_t count_recent(const struct imap_view *v)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n; i++)
		n += (v->flags[i] & IMAP_VIEW_RECENT) != 0;
	return n;
}

/* \Recent for the messages from index `from` on (those just added to the
 * view) that are this session's (RFC 3501 2.3.2): a read-write session
 * claims the ones nobody has claimed, so that no other session sees them
 * as recent; a read-only one (EXAMINE) shows them and leaves them for the
 * next SELECT. IMAP4rev2 has no \Recent (RFC 9051 2.3.2). */
static void mark_recent(struct imap_session *s, size_t from)
{
	struct imap_view *v = &s->view;
	uint32_t above = v->mb.recent_uid;
	if (s->rev2 || from >= v->n)
		return;
	/* on a copy: the claim reads the mailbox row again, and the view's
	 * UIDNEXT and HIGHESTMODSEQ must stay those of what it reported */
	struct mbox_info now = v->mb;
	if (!v->readonly && mbox_claim_recent(s->view.ref.ms, &now, v->uids[v->n - 1], &above) != MBOX_OK)
		return;
	v->mb.recent_uid = now.recent_uid;
	for (size_t i = from; i < v->n; i++)
		if (v->uids[i] > above)
			v->flags[i] |= IMAP_VIEW_RECENT;
}

void imap_view_close(struct imap_session *s)
{
	imap_ref_release(s, &s->view.ref);
	free(s->view.uids);
	free(s->view.flags);
	imap_seqset_free(&s->view.saved);
	free(s->view.own);
	imap_view_keywords_free(&s->view);
	memset(&s->view, 0, sizeof(s->view));
}

static uint32_t first_unseen(const struct imap_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (!(v->flags[i] & MBOX_F_SEEN))
			return (uint32_t)i + 1;
	return 0;
}

int imap_view_open(struct imap_session *s, struct imap_mailbox_ref *ref, bool readonly)
{
	struct imap_view *v = &s->view;
	v->ref = *ref;
	memset(ref, 0, sizeof(*ref));   /* the view holds its store now */
	int rc = mbox_find(v->ref.ms, v->ref.name, &v->mb);
	if (rc == MBOX_OK)
		rc = mbox_sync(s->view.ref.ms, &v->mb);
	if (rc == MBOX_OK)
		rc = mbox_uid_flags(s->view.ref.ms, &v->mb, collect, v);
	if (rc != MBOX_OK) {
		imap_view_close(s);
		return rc;
	}
	v->readonly = readonly;
	v->modseq = v->mb.highestmodseq;
	mark_recent(s, 0);
	imap_hdrcache_catch_up(s, &v->mb);
	imap_untagged(s, "%zu EXISTS", v->n);
	if (!s->rev2)   /* RFC 9051 removed \Recent */
		imap_untagged(s, "%zu RECENT", count_recent(v));
	imap_view_load_keywords(s);
	imap_view_write_flags(s);
	if (s->rev2) {
		/* RFC 9051 6.3.2: LIST with the name, no UNSEEN (clients SEARCH for it) */
		char name[IMAP_CLIENT_NAME_LEN];
		imap_ref_client_name(&v->ref, v->mb.name, name, sizeof(name));
		imap_write(s, "* LIST () \"/\" ", strlen("* LIST () \"/\" "));
		imap_write_mailbox(s, name);
		imap_write(s, "\r\n", 2);
	} else {
		uint32_t unseen = first_unseen(v);
		if (unseen)
			imap_untagged(s, "OK [UNSEEN %u] First unseen", unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", v->mb.uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", v->mb.uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)v->mb.highestmodseq);
	return MBOX_OK;
}

void imap_view_vanished(struct imap_session *s, bool earlier, const uint32_t *uids, size_t n)
{
	if (n == 0)
		return;
	struct buf set;
	buf_init(&set);
	imap_seqset_text_sorted(uids, n, &set);
	imap_untagged(s, "VANISHED %s%s", earlier ? "(EARLIER) " : "", set.data);
	buf_free(&set);
}

/* Removes expunged UIDs (ascending) from the view in one pass and tells the
 * client: "n EXPUNGE" for each, each number counted after the ones before it
 * are gone, or one "VANISHED set" once QRESYNC is enabled (RFC 7162 3.2.10). */
void imap_view_expunge_uids(struct imap_session *s, const uint32_t *uids, size_t n)
{
	struct imap_view *v = &s->view;
	size_t keep = 0, k = 0, removed = 0;
	if (n == 0)
		return;
	uint32_t *gone = xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < v->n; i++) {
		while (k < n && uids[k] < v->uids[i])
			k++;
		if (k < n && uids[k] == v->uids[i]) {
			if (!s->qresync)
				imap_untagged(s, "%zu EXPUNGE", i + 1 - removed);
			gone[removed++] = v->uids[i];
			continue;
		}
		v->uids[keep] = v->uids[i];
		v->flags[keep++] = v->flags[i];
	}
	v->n = keep;
	if (s->qresync)
		imap_view_vanished(s, false, gone, removed);
	free(gone);
}

void imap_view_expunge_deleted(struct imap_session *s, const uint32_t *seqs, size_t nseqs, bool report)
{
	struct imap_view *v = &s->view;
	/* collect first: the view shrinks as EXPUNGEs are reported */
	size_t cand = seqs ? nseqs : v->n;
	uint32_t *uids = xcalloc(cand + 1, sizeof(uint32_t));
	size_t n = 0;
	for (size_t k = 0; k < cand; k++) {
		size_t i = seqs ? seqs[k] - 1 : k;
		if (v->flags[i] & MBOX_F_DELETED)
			uids[n++] = v->uids[i];
	}
	size_t gone = 0;
	for (size_t k = 0; k < n; k++)
		if (mbox_expunge(s->view.ref.ms, &v->mb, uids[k], true) == MBOX_OK)
			uids[gone++] = uids[k];
	if (report)
		imap_view_expunge_uids(s, uids, gone);
	free(uids);
}

struct update_ctx {
	struct imap_session *s;
	uint32_t last_uid;
	size_t before;
	uint32_t *gone;
	size_t ngone, capgone;
};

static void collect_gone(void *arg, uint32_t uid)
{
	struct update_ctx *u = arg;
	if (u->ngone == u->capgone) {
		u->capgone = u->capgone ? u->capgone * 2 : 16;
		u->gone = xrealloc(u->gone, u->capgone * sizeof(uint32_t));
	}
	u->gone[u->ngone++] = uid;
}

static void compact_own(struct imap_view *v);

void imap_view_note_own(struct imap_session *s, uint32_t uid, uint32_t flags, uint64_t modseq)
{
	struct imap_view *v = &s->view;
	uint32_t seq = imap_view_seq_of(v, uid);
	if (seq)
		v->flags[seq - 1] = flags | imap_view_recent(v, seq);
	if (modseq == 0)
		return;
	/* STOREs without a NOOP in between must not grow it without end: only
	 * the latest change of a message matters, so it never needs more than
	 * one entry per message */
	if (v->nown >= 2 * v->n + 64)
		compact_own(v);
	if (v->nown == v->capown) {
		v->capown = v->capown ? v->capown * 2 : 16;
		v->own = xrealloc(v->own, v->capown * sizeof(*v->own));
	}
	v->own[v->nown++] = (struct imap_own_change){ uid, modseq };
}

static int cmp_own(const void *a, const void *b)
{
	const struct imap_own_change *x = a, *y = b;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->modseq < y->modseq ? -1 : x->modseq > y->modseq;
}

/* Sorted by UID, one entry per UID: its highest modseq. */
static void compact_own(struct imap_view *v)
{
	size_t out = 0;
	qsort(v->own, v->nown, sizeof(*v->own), cmp_own);
	for (size_t i = 0; i < v->nown; i++) {
		if (out > 0 && v->own[out - 1].uid == v->own[i].uid)
			out--;   /* sorted by modseq within a UID: the later one wins */
		v->own[out++] = v->own[i];
	}
	v->nown = out;
}

static bool is_own_change(const struct imap_view *v, uint32_t uid, uint64_t modseq)
{
	struct imap_own_change key = { uid, modseq };
	return v->nown > 0 && bsearch(&key, v->own, v->nown, sizeof(key), cmp_own) != NULL;
}

void imap_view_report_flags(struct imap_session *s, uint32_t seq, const struct mbox_msg *m,
                            bool with_modseq)
{
	char flags[MBOX_KEYWORDS_MAX + 64];
	imap_view_announce_keywords(s, m->keywords);
	imap_format_flags(m->flags | imap_view_recent(&s->view, seq), m->keywords, flags, sizeof(flags));
	if (with_modseq)
		imap_untagged(s, "%u FETCH (UID %u FLAGS (%s) MODSEQ (%llu))", seq, m->uid, flags,
		              (unsigned long long)m->modseq);
	else
		imap_untagged(s, "%u FETCH (UID %u FLAGS (%s))", seq, m->uid, flags);
}

/* A message changed since the last update: new mail, or flags or keywords
 * changed by someone else (this session's own changes were reported when
 * made). */
static void report_change(void *arg, const struct mbox_msg *m)
{
	struct update_ctx *u = arg;
	struct imap_view *v = &u->s->view;
	uint32_t seq = imap_view_seq_of(v, m->uid);
	if (seq == 0) {
		if (m->uid > u->last_uid) { /* new mail */
			view_add(v, m->uid, m->flags);
			imap_view_announce_keywords(u->s, m->keywords);
		}
		return;
	}
	if (is_own_change(v, m->uid, m->modseq))
		return;
	v->flags[seq - 1] = m->flags | imap_view_recent(v, seq);
	imap_view_report_flags(u->s, seq, m, u->s->condstore);
}

void imap_view_update(struct imap_session *s, bool allow_expunge)
{
	struct imap_view *v = &s->view;
	if (s->state != IMAP_SELECTED || !allow_expunge)
		return;   /* RFC 9051 7.4.1: no EXPUNGE during FETCH, STORE or SEARCH */
	if (mbox_sync(s->view.ref.ms, &v->mb) != MBOX_OK || v->mb.highestmodseq == v->modseq)
		return;
	struct update_ctx u = { s, v->n ? v->uids[v->n - 1] : 0, v->n, NULL, 0, 0 };
	/* one snapshot: the new HIGHESTMODSEQ and every change up to it */
	mbox_read_begin(s->view.ref.ms);
	mbox_refresh(s->view.ref.ms, &v->mb);
	mbox_expunged_since(s->view.ref.ms, &v->mb, v->modseq, collect_gone, &u);
	imap_view_expunge_uids(s, u.gone, u.ngone);   /* ascending: the query orders them */
	free(u.gone);
	u.before = v->n;
	if (v->nown > 1)
		qsort(v->own, v->nown, sizeof(*v->own), cmp_own);
	mbox_changed_since(s->view.ref.ms, &v->mb, v->modseq, report_change, &u);
	mbox_read_end(s->view.ref.ms);
	if (v->n != u.before) {
		mark_recent(s, u.before);
		imap_untagged(s, "%zu EXISTS", v->n);
		if (!s->rev2)
			imap_untagged(s, "%zu RECENT", count_recent(v));
		imap_hdrcache_catch_up(s, &v->mb);   /* new mail: its header cache rows */
	}
	v->modseq = v->mb.highestmodseq;
	v->nown = 0;   /* all at or below the new modseq: never looked at again */
}
