/* COPY (RFC 9051 6.4.7) and MOVE (RFC 6851), answered with COPYUID
 * (UIDPLUS, RFC 4315). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_junk_int.h"
#include "imap/imap_session.h"
#include "imap/imap_targets.h"
#include "store/acl_rights.h"

/* The keywords a mailbox has had, and those a COPY would bring, as one
 * set; counting stops past the cap. Each name's case-folded hash is kept
 * beside it, so that a COPY of many messages compares integers. */
struct keyword_set {
	char **names;
	uint32_t *hashes;
	size_t n, cap;
};

static uint32_t keyword_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;       /* FNV-1a over the ASCII lower case */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	return h;
}

static void keyword_set_add(struct keyword_set *k, const char *name, size_t len)
{
	uint32_t h = keyword_hash(name, len);
	if (k->n > IMAP_MAILBOX_KEYWORDS_MAX)
		return;
	for (size_t i = 0; i < k->n; i++)
		if (k->hashes[i] == h && strncasecmp(k->names[i], name, len) == 0 &&
		    k->names[i][len] == '\0')
			return;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 64;
		k->names = xrealloc(k->names, k->cap * sizeof(char *));
		k->hashes = xrealloc(k->hashes, k->cap * sizeof(uint32_t));
	}
	k->hashes[k->n] = h;
	k->names[k->n++] = xstrndup(name, len);
}

static void keyword_set_truncate(struct keyword_set *k, size_t n)
{
	while (k->n > n)
		free(k->names[--k->n]);
}

static void add_known(void *arg, const char *name)
{
	keyword_set_add(arg, name, strlen(name));
}

/* IMAP_MAILBOX_KEYWORDS_MAX for the target, as APPEND and STORE keep it:
 * the messages' keywords that are new there must fit. */
static bool copy_keyword_room(struct imap_session *s, const struct imap_targets *t,
                              struct mbox_store *to_ms, const struct mbox_info *to)
{
	struct keyword_set k = { 0 };
	mbox_keywords(to_ms, to, add_known, &k);
	size_t target = k.n;
	/* every keyword the source mailbox has had: when those fit, the
	 * messages' do, and no message needs reading */
	for (size_t i = 0; i < s->view.nkeywords && k.n <= IMAP_MAILBOX_KEYWORDS_MAX; i++)
		add_known(&k, s->view.keywords[i]);
	if (k.n > IMAP_MAILBOX_KEYWORDS_MAX) {
		keyword_set_truncate(&k, target);
		for (size_t i = 0; i < t->n && k.n <= IMAP_MAILBOX_KEYWORDS_MAX; i++) {
			struct mbox_msg m;
			if (mbox_get(s->view.ref.ms, &s->view.mb, t->uid[i], &m) != MBOX_OK)
				continue;
			for (const char *p = m.keywords; *p;) {
				size_t len = strcspn(p, " ");
				if (len > 0)
					keyword_set_add(&k, p, len);
				p += len + (p[len] == ' ');
			}
		}
	}
	bool room = k.n <= IMAP_MAILBOX_KEYWORDS_MAX;
	keyword_set_truncate(&k, 0);
	free(k.names);
	free(k.hashes);
	return room;
}

/* Whether the command may go ahead; false after answering. */
static bool copy_allowed(struct imap_session *s, struct imap_command *cmd, bool move,
                         const struct imap_targets *t, struct imap_mailbox_ref *to,
                         const struct mbox_info *dst)
{
	if (move && s->view.readonly) {
		imap_tagged(s, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return false;
	}
	/* RFC 6851 3.1 with RFC 4314: MOVE takes the messages away: t and e */
	if (move && !imap_ref_allows(s, cmd->tag, &s->view.ref, ACL_DELETE_MSG | ACL_EXPUNGE))
		return false;
	/* a MOVE within one user's mailboxes leaves the usage as it is; a COPY,
	 * or anything into another user's, adds to its owner's, all or nothing */
	bool same_store = to->ms == s->view.ref.ms;
	if ((!move || !same_store) &&
	    !imap_quota_allows_copy(s, to->shared ? to->owner : s->user, t->uid, t->n)) {
		imap_tagged(s, cmd->tag, "NO", "[OVERQUOTA] Quota exceeded");
		return false;
	}
	if (!copy_keyword_room(s, t, to->ms, dst)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many keywords in the target mailbox");
		return false;
	}
	return true;
}

void imap_cmd_copy(struct imap_session *s, struct imap_command *cmd, bool move)
{
	struct imap_cursor c;
	struct imap_targets t;
	char mbname[MBOX_NAME_MAX + 1];
	struct mbox_info dst;
	imap_command_args(cmd, &c);
	if (imap_targets(s, &c, cmd->uid, &t) < 0 || !imap_next_mailbox(s, &c, mbname, sizeof(mbname))) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Syntax error");
		return;
	}
	struct imap_mailbox_ref to;
	int rc = imap_ref_open(s, mbname, &to);
	if (rc == MBOX_OK && !imap_ref_allows(s, cmd->tag, &to, ACL_INSERT))
		goto out;
	if (rc != MBOX_OK || mbox_find(to.ms, to.name, &dst) != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[TRYCREATE] No such mailbox");
		goto out;
	}
	if (!copy_allowed(s, cmd, move, &t, &to, &dst))
		goto out;
	bool same_store = to.ms == s->view.ref.ms;
	uint32_t *src = xcalloc(t.n + 1, sizeof(uint32_t)), *dstu = xcalloc(t.n + 1, sizeof(uint32_t));
	size_t done = 0;
	enum imap_junk_kind junk = imap_junk_copy_kind(&s->view.mb, &dst);
	for (size_t i = 0; i < t.n; i++) {
		uint32_t nu;
		if (mbox_copy_across(s->view.ref.ms, &s->view.mb, t.uid[i], to.ms, &dst, &nu) == MBOX_OK) {
			src[done] = t.uid[i];
			dstu[done++] = nu;
			/* into or out of Junk: the filter learns (before MOVE's expunge) */
			if (junk && !imap_junk_report(s, s->view.ref.ms, &s->view.mb, t.uid[i], junk))
				junk = IMAP_JUNK_NONE;
		}
	}
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	imap_seqset_text_sorted(src, done, &a);
	imap_seqset_text_sorted(dstu, done, &b);
	if (done == 0 && t.n > 0) {
		imap_tagged(s, cmd->tag, "NO", "%s failed", cmd->name);
	} else if (!move) {
		if (same_store && dst.id == s->view.mb.id)   /* copies into the selected mailbox: new mail there */
			imap_view_update(s, true);
		if (done)
			imap_tagged(s, cmd->tag, "OK", "[COPYUID %u %s %s] COPY completed", dst.uidvalidity,
			            a.data, b.data);
		else
			imap_tagged(s, cmd->tag, "OK", "COPY completed");
	} else {
		/* RFC 6851 3.3: COPYUID untagged, then the EXPUNGEs, then OK */
		if (done)
			imap_untagged(s, "OK [COPYUID %u %s %s] Moved", dst.uidvalidity, a.data, b.data);
		size_t gone = 0;
		for (size_t i = 0; i < done; i++)
			if (mbox_expunge(s->view.ref.ms, &s->view.mb, src[i], false) == MBOX_OK)
				src[gone++] = src[i];
		imap_view_expunge_uids(s, src, gone);
		/* into the selected mailbox itself: the messages are new there */
		if (same_store && dst.id == s->view.mb.id)
			imap_view_update(s, true);
		imap_tagged(s, cmd->tag, "OK", "MOVE completed");
	}
	buf_free(&a);
	buf_free(&b);
	free(src);
	free(dstu);
out:
	imap_ref_release(s, &to);
	imap_targets_free(&t);
}
