/* STORE (RFC 9051 6.4.6) with .SILENT and UNCHANGEDSINCE (RFC 7162 3.1.3):
 * flags and keywords changed under the index's lock, the change reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_fetch_parse.h"
#include "imap/imap_junk_int.h"
#include "imap/imap_session.h"
#include "store/acl_rights.h"
#include "imap/imap_targets.h"

static bool keyword_present(const char *list, const char *kw)
{
	size_t n = strlen(kw);
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && strncasecmp(p, kw, n) == 0)
			return true;
		p += w;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* The keyword list after a STORE; false when it would not fit (NO [LIMIT]). */
static bool apply_keywords(const char *old, const struct imap_store *st, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	if (st->op != IMAP_STORE_REPLACE) {
		for (const char *p = old; *p;) {
			size_t w = strcspn(p, " ");
			char kw[256];
			snprintf(kw, sizeof(kw), "%.*s", (int)w, p);
			bool removed = false;
			for (size_t i = 0; st->op == IMAP_STORE_REMOVE && i < st->flags.nkeywords; i++)
				removed |= strcasecmp(kw, st->flags.keywords[i]) == 0;
			if (!removed && w > 0)
				n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? " " : "", kw);
			if (n >= len)
				return false;
			p += w;
			while (*p == ' ')
				p++;
		}
	}
	if (st->op == IMAP_STORE_REMOVE)
		return true;
	for (size_t i = 0; i < st->flags.nkeywords; i++) {
		if (keyword_present(out, st->flags.keywords[i]))
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", n ? " " : "",
		                      st->flags.keywords[i]);
		if (n >= len)
			return false;
	}
	return true;
}

struct store_decision {
	const struct imap_store *st;
	uint32_t may_change;    /* the system flags the user has the rights for */
	bool keywords_ok;       /* and keywords (w) */
	bool too_many;          /* the keywords would not fit */
	enum imap_junk_kind junk;       /* $Junk or $NotJunk newly set: the filter learns */
};

/* RFC 4314 4: \Seen needs s, \Deleted t, the other flags and keywords w. */
static uint32_t flags_allowed(unsigned rights)
{
	return (rights & ACL_SEEN ? MBOX_F_SEEN : 0) | (rights & ACL_DELETE_MSG ? MBOX_F_DELETED : 0) |
	       (rights & ACL_WRITE ? MBOX_F_ANSWERED | MBOX_F_FLAGGED | MBOX_F_DRAFT : 0);
}

/* A flag named that the user may not change: NO [NOPERM]. What FLAGS
 * (replace) does not name stays as it is where the user has no right. */
static bool store_permitted(const struct imap_store *st, unsigned rights)
{
	return (st->flags.system & ~flags_allowed(rights)) == 0 &&
	       (st->flags.nkeywords == 0 || (rights & ACL_WRITE)) &&
	       (rights & (ACL_SEEN | ACL_DELETE_MSG | ACL_WRITE)) != 0;
}

/* STORE's change, decided on the message as it is under the index's lock. */
static int decide_store(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	struct store_decision *d = arg;
	const struct imap_store *st = d->st;
	if (st->unchangedsince && now->modseq > st->unchangedsince_modseq)
		return -1;
	uint32_t wanted = st->op == IMAP_STORE_REPLACE ? st->flags.system
	                : st->op == IMAP_STORE_ADD ? now->flags | st->flags.system
	                : now->flags & ~st->flags.system;
	*flags = (wanted & d->may_change) | (now->flags & ~d->may_change);
	if (!d->keywords_ok)
		return 0;   /* keywords came filled with the current ones */
	if (!apply_keywords(now->keywords, st, keywords, MBOX_KEYWORDS_MAX + 1)) {
		d->too_many = true;
		return -1;
	}
	d->junk = imap_junk_store_kind(now->keywords, keywords);
	return 0;
}

void imap_cmd_store(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_targets t;
	struct imap_store st;
	struct buf modified;
	uint32_t *changed = NULL;
	size_t nchanged = 0;
	bool too_many = false;
	imap_command_args(cmd, &c);
	if (imap_targets(s, &c, cmd->uid, &t) < 0) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad sequence set");
		return;
	}
	if (!imap_store_parse(&st, &c)) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad STORE arguments");
		return;
	}
	if (s->view.readonly) {
		imap_targets_free(&t);
		imap_store_free(&st);
		imap_tagged(s, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (!store_permitted(&st, s->view.ref.rights)) {
		imap_targets_free(&t);
		imap_store_free(&st);
		imap_tagged(s, cmd->tag, "NO", "[NOPERM] Permission denied");
		return;
	}
	if (st.op != IMAP_STORE_REMOVE &&
	    !imap_view_keyword_room(&s->view, (const char *const *)st.flags.keywords, st.flags.nkeywords)) {
		imap_targets_free(&t);
		imap_store_free(&st);
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many keywords in this mailbox");
		return;
	}
	if (st.unchangedsince)
		imap_enable_condstore(s);
	buf_init(&modified);
	bool junk_room = true;
	for (size_t i = 0; i < t.n; i++) {
		struct mbox_msg m;
		char flags[MBOX_KEYWORDS_MAX + 64];
		struct store_decision d = { &st, flags_allowed(s->view.ref.rights),
		                            (s->view.ref.rights & ACL_WRITE) != 0, false, IMAP_JUNK_NONE };
		int rc = mbox_update_flags(s->view.ref.ms, &s->view.mb, t.uid[i], decide_store, &d, &m);
		if (rc == MBOX_CONFLICT && d.too_many) {
			too_many = true;
			continue;
		}
		if (rc == MBOX_CONFLICT) {
			changed = xrealloc(changed, (nchanged + 1) * sizeof(uint32_t));
			changed[nchanged++] = cmd->uid ? t.uid[i] : t.seq[i];
			continue;   /* RFC 7162 3.1.3: left alone, reported in MODIFIED */
		}
		if (rc != MBOX_OK && rc != MBOX_UNCHANGED)
			continue;   /* expunged by someone else meanwhile */
		imap_view_note_own(s, t.uid[i], m.flags, rc == MBOX_OK ? m.modseq : 0);
		if (rc == MBOX_OK && d.junk && junk_room)
			junk_room = imap_junk_report(s, s->view.ref.ms, &s->view.mb, t.uid[i], d.junk);
		/* a new keyword changes the mailbox's flags: FLAGS first, even
		 * when .SILENT (RFC 3501 7.2.6) */
		imap_view_announce_keywords(s, m.keywords);
		if (st.silent && !s->condstore)
			continue;
		imap_format_flags(m.flags | imap_view_recent(&s->view, t.seq[i]), m.keywords, flags,
		                  sizeof(flags));
		char uidpart[24] = "";
		/* RFC 9051 6.4.9: UID commands report the UID; RFC 7162 3.1: so does
		 * every FETCH response once CONDSTORE is on, with the MODSEQ */
		if (cmd->uid || s->condstore)
			snprintf(uidpart, sizeof(uidpart), "UID %u ", t.uid[i]);
		if (s->condstore)
			imap_untagged(s, "%u FETCH (%sFLAGS (%s) MODSEQ (%llu))", t.seq[i], uidpart, flags,
			              (unsigned long long)m.modseq);
		else
			imap_untagged(s, "%u FETCH (%sFLAGS (%s))", t.seq[i], uidpart, flags);
	}
	if (too_many) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many keywords on a message");
	} else if (nchanged > 0) {
		imap_seqset_text_sorted(changed, nchanged, &modified);
		imap_tagged(s, cmd->tag, "OK", "[MODIFIED %s] Conditional STORE failed for some",
		            modified.data);
	} else {
		imap_tagged(s, cmd->tag, "OK", "STORE completed");
	}
	free(changed);
	buf_free(&modified);
	imap_store_free(&st);
	imap_targets_free(&t);
}
