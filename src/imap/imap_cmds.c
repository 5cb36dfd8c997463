/* IMAP command table and the commands that need no message data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "auth/sasl_server.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "imap/imap_mutf7.h"
#include "imap/imap_msg.h"
#include "imap/imap_session.h"

/* ---- capabilities ----------------------------------------------------------------- */

void imap_capability_text(struct imap_session *s, char *out, size_t len)
{
	int n = snprintf(out, len, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE "
	                 "UNSELECT UIDPLUS MOVE SPECIAL-USE CONDSTORE QRESYNC ESEARCH SEARCHRES "
	                 "LIST-EXTENDED LIST-STATUS STATUS=SIZE BINARY UTF8=ACCEPT APPENDLIMIT=%llu",
	                 (unsigned long long)s->ns.cfg->imap.append_limit);
	if (n < 0 || (size_t)n >= len)
		return;
	if (s->state == IMAP_NOT_AUTH) {
		if (!s->ns.tls && s->ns.bev != NULL)
			n += snprintf(out + n, len - (size_t)n, " STARTTLS");
		bool login = imap_login_allowed_here(s);
		if (!login && (size_t)n < len)
			n += snprintf(out + n, len - (size_t)n, " LOGINDISABLED");
		/* the mechanisms SMTP offers, in its order, each as AUTH=<name> */
		char mechs[64];
		str_copy(mechs, sizeof(mechs), sasl_server_mechanisms(login));
		for (char *save = NULL, *m = strtok_r(mechs, " ", &save); m != NULL;
		     m = strtok_r(NULL, " ", &save)) {
			if ((size_t)n >= len)
				return;
			n += snprintf(out + n, len - (size_t)n, " AUTH=%s", m);
		}
	}
}

static void cmd_capability(struct imap_session *s, struct imap_command *cmd)
{
	char caps[512];
	imap_capability_text(s, caps, sizeof(caps));
	imap_untagged(s, "CAPABILITY %s", caps);
	imap_tagged(s, cmd->tag, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_session *s, struct imap_command *cmd)
{
	if (s->state == IMAP_SELECTED)
		imap_view_update(s, true);
	imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}

static void cmd_logout(struct imap_session *s, struct imap_command *cmd)
{
	imap_untagged(s, "BYE Logging out");
	imap_tagged(s, cmd->tag, "OK", "LOGOUT completed");
	s->io = IMAP_IO_CLOSING;
	s->state = IMAP_LOGOUT;
	net_session_close(&s->ns);
}

static void cmd_starttls(struct imap_session *s, struct imap_command *cmd)
{
	if (s->ns.tls) {
		imap_tagged(s, cmd->tag, "BAD", "TLS already active");
		return;
	}
	imap_tagged(s, cmd->tag, "OK", "Begin TLS negotiation now");
	imap_begin_starttls(s);
}

static void cmd_id(struct imap_session *s, struct imap_command *cmd)
{
	/* RFC 2971: we say who we are; the client's list is not kept */
	imap_untagged(s, "ID (\"name\" \"postern\" \"version\" \"%s\")", POSTERN_VERSION);
	imap_tagged(s, cmd->tag, "OK", "ID completed");
}

static void cmd_enable(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *word;
	char enabled[128] = "";
	imap_command_args(cmd, &c);
	while (!imap_at_end(&c) && imap_next_atom(&c, &word)) {
		if (strcasecmp(word, "CONDSTORE") == 0 && !s->condstore) {
			s->condstore = true;
			strcat(enabled, " CONDSTORE");
		} else if (strcasecmp(word, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = true;
			strcat(enabled, " IMAP4rev2");
		} else if (strcasecmp(word, "QRESYNC") == 0 && !s->qresync) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
			s->qresync = s->condstore = true;
			strcat(enabled, " QRESYNC");
		} else if (strcasecmp(word, "UTF8=ACCEPT") == 0 && !s->utf8) {
			s->utf8 = true;
			strcat(enabled, " UTF8=ACCEPT");
		}
	}
	imap_untagged(s, "ENABLED%s", enabled);
	imap_tagged(s, cmd->tag, "OK", "ENABLE completed");
}

static void cmd_namespace(struct imap_session *s, struct imap_command *cmd)
{
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, cmd->tag, "OK", "NAMESPACE completed");
}

static void cmd_idle(struct imap_session *s, struct imap_command *cmd)
{
	(void)cmd;
	if (s->state == IMAP_SELECTED)
		imap_view_update(s, true);
	imap_begin_idle(s);
}

/* ---- mailboxes -------------------------------------------------------------------------- */

/* Mailbox names travel in UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855) and in
 * IMAP4rev2 (RFC 9051 5.1), else in modified UTF-7. */
static bool utf8_names(const struct imap_session *s)
{
	return s->utf8 || s->rev2;
}

bool imap_next_mailbox(struct imap_session *s, struct imap_cursor *c, char *out, size_t len)
{
	const char *name;
	size_t n;
	char raw[MBOX_NAME_MAX * 4 + 1];
	if (!imap_next_astring(c, &name, &n))
		return false;
	if (n >= sizeof(raw) || memchr(name, '\0', n) != NULL) {
		imap_fail(c, "Mailbox name too long");
		return false;
	}
	memcpy(raw, name, n);
	raw[n] = '\0';
	/* names travel in modified UTF-7 unless the client enabled UTF8=ACCEPT */
	if (utf8_names(s) || strcasecmp(raw, "INBOX") == 0) {
		if (n >= len) {
			imap_fail(c, "Mailbox name too long");
			return false;
		}
		memcpy(out, raw, n + 1);
		return true;
	}
	if (imap_mutf7_decode(raw, out, len) < 0) {
		imap_fail(c, "Mailbox name is not valid modified UTF-7");
		return false;
	}
	return true;
}

bool imap_expect_mailbox(struct imap_session *s, struct imap_command *cmd, struct imap_cursor *c,
                         char *out, size_t len)
{
	if (imap_next_mailbox(s, c, out, len))
		return true;
	imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Mailbox name expected");
	return false;
}

void imap_write_mailbox(struct imap_session *s, const char *name)
{
	char enc[MBOX_NAME_MAX * 4 + 1];
	if (!utf8_names(s) && imap_mutf7_encode(name, enc, sizeof(enc)) == 0)
		name = enc;
	imap_write_string(s, name, strlen(name));
}



static const char *mbox_error_text(int rc)
{
	switch (rc) {
	case MBOX_EXISTS: return "[ALREADYEXISTS] Mailbox exists";
	case MBOX_NOT_FOUND: return "[NONEXISTENT] No such mailbox";
	case MBOX_INVALID: return "[CANNOT] Invalid or reserved mailbox name";
	case MBOX_IN_USE: return "[INUSE] Mailbox has children";
	default: return "[SERVERBUG] Mailbox operation failed";
	}
}

/* The tagged answer of a mailbox operation. */
static void reply_mbox(struct imap_session *s, struct imap_command *cmd, int rc)
{
	if (rc != MBOX_OK)
		imap_tagged(s, cmd->tag, "NO", "%s", mbox_error_text(rc));
	else
		imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}

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
	mbox_expunged_since(s->ms, &s->view.mb, p->modseq, resync_vanished, &r);
	imap_view_vanished(s, true, r.uids, r.n);
	free(r.uids);
	mbox_changed_since(s->ms, &s->view.mb, p->modseq, resync_changed, &r);
}

static void cmd_select(struct imap_session *s, struct imap_command *cmd, bool readonly)
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
	int rc = imap_view_open(s, name, readonly);
	if (rc != MBOX_OK) {
		s->state = IMAP_AUTH;
		imap_seqset_free(&p.known);
		imap_tagged(s, cmd->tag, "NO", "%s", mbox_error_text(rc));
		return;
	}
	s->state = IMAP_SELECTED;
	if (p.qresync)
		quick_resync(s, &p);
	imap_seqset_free(&p.known);
	imap_tagged(s, cmd->tag, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
	            cmd->name);
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

static void cmd_create(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	char name[MBOX_NAME_MAX + 1];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, name, sizeof(name)))
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

static void cmd_delete(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	char name[MBOX_NAME_MAX + 1];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, name, sizeof(name)))
		return;
	bool selected = s->state == IMAP_SELECTED && strcmp(s->view.mb.name, name) == 0;
	int rc = mbox_delete(s->ms, name);
	if (rc == MBOX_OK && selected) {   /* a refused DELETE leaves the selection alone */
		imap_view_close(s);
		s->state = IMAP_AUTH;
	}
	reply_mbox(s, cmd, rc);
}

static void cmd_rename(struct imap_session *s, struct imap_command *cmd)
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

static void cmd_subscribe(struct imap_session *s, struct imap_command *cmd, bool on)
{
	struct imap_cursor c;
	char name[MBOX_NAME_MAX + 1];
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, name, sizeof(name)))
		return;
	reply_mbox(s, cmd, mbox_subscribe(s->ms, name, on));
}

/* STATUS items (RFC 9051 6.3.11), as a list of names kept in request order. */
static const char *const status_names[] = {
	"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "SIZE", "HIGHESTMODSEQ", "DELETED",
};
enum { STATUS_DELETED = 7 };

struct status_req {
	int items[16];
	size_t n;
};

static bool parse_status_items(struct imap_cursor *items, struct status_req *req)
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

/* "* STATUS name (...)" for a mailbox, synced first. */
static int write_status(struct imap_session *s, const char *name, const struct status_req *req)
{
	struct mbox_info mb;
	char out[512] = "";
	int rc = mbox_find(s->ms, name, &mb);
	if (rc == MBOX_OK)
		rc = mbox_sync(s->ms, &mb);
	if (rc == MBOX_OK)
		rc = mbox_find(s->ms, name, &mb);   /* the counts after the sync */
	uint32_t deleted = 0;
	for (size_t i = 0; i < req->n && rc == MBOX_OK; i++)
		if (req->items[i] == STATUS_DELETED)
			rc = mbox_count_deleted(s->ms, &mb, &deleted);
	if (rc != MBOX_OK)
		return rc;
	size_t n = 0;
	for (size_t i = 0; i < req->n && n < sizeof(out); i++) {
		unsigned long long v[] = { mb.messages, mb.uidnext, mb.uidvalidity, mb.unseen, 0, mb.size,
		                           mb.highestmodseq, deleted };
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s %llu", n ? " " : "",
		                      status_names[req->items[i]], v[req->items[i]]);
	}
	struct evbuffer *o = net_session_output(&s->ns);
	evbuffer_add_printf(o, "* STATUS ");
	imap_write_mailbox(s, mb.name);
	evbuffer_add_printf(o, " (%s)\r\n", out);
	return MBOX_OK;
}

/* LIST wildcards (RFC 9051 6.3.9): '*' matches anything, '%' anything but '/'.
 * Row by row over the pattern (m[j]: the pattern so far matches name[0..j)),
 * so that a pattern of many wildcards costs |pattern| x |name|, never more. */
static bool list_match(const char *pat, const char *name)
{
	bool m[MBOX_NAME_MAX + 2];
	size_t len = strlen(name);
	if (len > MBOX_NAME_MAX)
		return false;
	m[0] = true;
	for (size_t j = 1; j <= len; j++)
		m[j] = false;
	for (; *pat; pat++) {
		if (*pat == '*' || *pat == '%') {
			for (size_t j = 1; j <= len; j++)
				m[j] = m[j] || (m[j - 1] && (*pat == '*' || name[j - 1] != '/'));
		} else {
			for (size_t j = len; j >= 1; j--)
				m[j] = m[j - 1] && name[j - 1] == *pat;
			m[0] = false;
		}
	}
	return m[len];
}

/* LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258): selection options,
 * several patterns, return options; LIST-STATUS (RFC 5819), SPECIAL-USE
 * (RFC 6154). LSUB is LIST (SUBSCRIBED) in the old response form. */
#define LIST_PATTERNS_MAX 64
/* Matching costs pattern length x name length per mailbox: all patterns of
 * one LIST together may be no longer than this. */
#define LIST_PATTERN_OCTETS_MAX 1024

struct list_req {
	bool lsub;
	bool sel_subscribed, sel_special, recursive;
	bool ret_subscribed;
	bool want_status;
	struct status_req status;
	char patterns[LIST_PATTERNS_MAX][2 * MBOX_NAME_MAX + 2];
	size_t npatterns, pattern_octets;
	bool root_query;        /* LIST "" "": the delimiter */
};

struct list_ctx {
	struct imap_session *s;
	const struct list_req *req;
	struct mbox_info *all;
	size_t n, cap;
};

static void collect_mailbox(void *arg, const struct mbox_info *mb)
{
	struct list_ctx *lc = arg;
	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 32;
		lc->all = xrealloc(lc->all, lc->cap * sizeof(struct mbox_info));
	}
	lc->all[lc->n++] = *mb;
}

/* Does a mailbox below name exist (and, with subscribed, is one subscribed)? */
static bool has_children_in(const struct list_ctx *lc, const char *name, bool subscribed)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < lc->n; i++)
		if (strncmp(lc->all[i].name, name, n) == 0 && lc->all[i].name[n] == '/' &&
		    (!subscribed || lc->all[i].subscribed))
			return true;
	return false;
}

static bool pattern_matches(const char *pattern, const char *name)
{
	if (strcasecmp(name, "INBOX") == 0 && strncasecmp(pattern, "INBOX", 5) == 0)
		return list_match(pattern + 5, name + 5);
	return list_match(pattern, name);
}

static bool any_pattern_matches(const struct list_req *req, const char *name)
{
	for (size_t i = 0; i < req->npatterns; i++)
		if (pattern_matches(req->patterns[i], name))
			return true;
	return false;
}

static void list_one(struct list_ctx *lc, const struct mbox_info *mb, bool childinfo_only)
{
	const struct list_req *req = lc->req;
	char attrs[128];
	bool kids = has_children_in(lc, mb->name, false);
	bool show_subscribed = !req->lsub && (req->ret_subscribed || req->sel_subscribed) &&
	                       mb->subscribed;
	snprintf(attrs, sizeof(attrs), "%s%s%s%s", kids ? "\\HasChildren" : "\\HasNoChildren",
	         mb->special_use[0] ? " " : "", mb->special_use, show_subscribed ? " \\Subscribed" : "");
	struct evbuffer *out = net_session_output(&lc->s->ns);
	evbuffer_add_printf(out, "* %s (%s) \"/\" ", req->lsub ? "LSUB" : "LIST", attrs);
	imap_write_mailbox(lc->s, mb->name);
	/* RFC 5258 3.5: listed only for a subscribed mailbox below it */
	if (childinfo_only)
		evbuffer_add_printf(out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	evbuffer_add(out, "\r\n", 2);
}

static bool list_pattern(struct imap_session *s, struct list_req *req, const char *ref,
                         size_t reflen, const char *pat, size_t patlen)
{
	req->pattern_octets += reflen + patlen;
	if (req->npatterns == LIST_PATTERNS_MAX || req->pattern_octets > LIST_PATTERN_OCTETS_MAX)
		return false;
	char *pattern = req->patterns[req->npatterns++];
	snprintf(pattern, sizeof(req->patterns[0]), "%.*s%.*s", (int)reflen, ref, (int)patlen, pat);
	if (!utf8_names(s)) {
		char decoded[sizeof(req->patterns[0])];
		if (imap_mutf7_decode(pattern, decoded, sizeof(decoded)) == 0)
			memcpy(pattern, decoded, strlen(decoded) + 1);
	}
	return true;
}

static bool parse_list_selection(struct imap_cursor *c, struct list_req *req)
{
	struct imap_cursor sel;
	const char *opt;
	if (!imap_next_list(c, &sel))
		return false;
	while (!imap_at_end(&sel)) {
		if (!imap_next_atom(&sel, &opt))
			return false;
		if (strcasecmp(opt, "SUBSCRIBED") == 0)
			req->sel_subscribed = true;
		else if (strcasecmp(opt, "SPECIAL-USE") == 0)
			req->sel_special = true;
		else if (strcasecmp(opt, "RECURSIVEMATCH") == 0)
			req->recursive = true;
		else if (strcasecmp(opt, "REMOTE") != 0)   /* no remote mailboxes here */
			return imap_fail(c, "Unknown LIST selection option");
	}
	/* RFC 5258 3.1: RECURSIVEMATCH only modifies another selection option */
	if (req->recursive && !req->sel_subscribed)
		return imap_fail(c, "RECURSIVEMATCH needs another selection option");
	return true;
}

static bool parse_list_return(struct imap_cursor *c, struct list_req *req)
{
	struct imap_cursor opts, items;
	const char *opt;
	if (!imap_next_list(c, &opts))
		return false;
	while (!imap_at_end(&opts)) {
		if (!imap_next_atom(&opts, &opt))
			return false;
		if (strcasecmp(opt, "SUBSCRIBED") == 0) {
			req->ret_subscribed = true;
		} else if (strcasecmp(opt, "STATUS") == 0) {
			if (!imap_next_list(&opts, &items) || !parse_status_items(&items, &req->status))
				return imap_fail(c, "Bad STATUS return option");
			req->want_status = true;
		} else if (strcasecmp(opt, "CHILDREN") != 0 && strcasecmp(opt, "SPECIAL-USE") != 0) {
			/* children and special-use attributes are in every answer anyway */
			return imap_fail(c, "Unknown LIST return option");
		}
	}
	return true;
}

static bool parse_list(struct imap_session *s, struct imap_cursor *c, struct list_req *req)
{
	const char *ref, *pat;
	size_t reflen, patlen;
	if (!req->lsub && imap_peek(c) && imap_peek(c)->type == IMAP_ARG_LIST &&
	    !parse_list_selection(c, req))
		return false;
	if (!imap_next_astring(c, &ref, &reflen))
		return imap_fail(c, "Reference expected");
	if (!req->lsub && imap_peek(c) && imap_peek(c)->type == IMAP_ARG_LIST) {
		struct imap_cursor pats;   /* RFC 5258: several patterns */
		imap_next_list(c, &pats);
		if (imap_at_end(&pats))
			return imap_fail(c, "Empty pattern list");
		while (!imap_at_end(&pats))
			if (!imap_next_list_mailbox(&pats, &pat, &patlen) ||
			    !list_pattern(s, req, ref, reflen, pat, patlen))
				return imap_fail(c, "Bad mailbox pattern");
	} else {
		if (!imap_next_list_mailbox(c, &pat, &patlen))
			return imap_fail(c, "Mailbox pattern expected");
		req->root_query = patlen == 0 && !req->lsub;
		if (!list_pattern(s, req, ref, reflen, pat, patlen))
			return imap_fail(c, "Mailbox pattern too long");
	}
	if (!req->lsub && imap_accept_atom(c, "RETURN") && !parse_list_return(c, req))
		return false;
	return imap_expect_end(c);
}

static void run_list(struct imap_session *s, const struct list_req *req)
{
	struct list_ctx lc = { s, req, NULL, 0, 0 };
	bool subscribed_only = req->lsub || req->sel_subscribed;
	mbox_list(s->ms, collect_mailbox, &lc);
	for (size_t i = 0; i < lc.n; i++) {
		const struct mbox_info *mb = &lc.all[i];
		if (!any_pattern_matches(req, mb->name) || (req->sel_special && mb->special_use[0] == '\0'))
			continue;
		bool selected = !subscribed_only || mb->subscribed;
		bool childinfo = !selected && req->recursive && has_children_in(&lc, mb->name, true);
		if (!selected && !childinfo)
			continue;
		list_one(&lc, mb, childinfo);
		if (req->want_status && selected)
			write_status(s, mb->name, &req->status);
	}
	free(lc.all);
}

static void cmd_list(struct imap_session *s, struct imap_command *cmd, bool lsub)
{
	struct imap_cursor c;
	struct list_req *req = xcalloc(1, sizeof(*req));
	req->lsub = lsub;
	imap_command_args(cmd, &c);
	if (!parse_list(s, &c, req)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad LIST arguments");
	} else if (req->root_query) {
		/* RFC 9051 6.3.9: the hierarchy delimiter and root */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_tagged(s, cmd->tag, "OK", "LIST completed");
	} else {
		run_list(s, req);
		imap_tagged(s, cmd->tag, "OK", "%s completed", lsub ? "LSUB" : "LIST");
	}
	free(req);
}

static void cmd_status(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c, items;
	char name[MBOX_NAME_MAX + 1];
	struct status_req req;
	imap_command_args(cmd, &c);
	if (!imap_next_mailbox(s, &c, name, sizeof(name)) || !imap_next_list(&c, &items)) {
		imap_tagged(s, cmd->tag, "BAD", "Mailbox name and status items expected");
		return;
	}
	if (!parse_status_items(&items, &req)) {
		imap_tagged(s, cmd->tag, "BAD", "Unknown status item");
		return;
	}
	int rc = write_status(s, name, &req);
	if (rc != MBOX_OK)
		imap_tagged(s, cmd->tag, "NO", "%s", mbox_error_text(rc));
	else
		imap_tagged(s, cmd->tag, "OK", "STATUS completed");
}

static void cmd_close(struct imap_session *s, struct imap_command *cmd, bool expunge)
{
	/* CLOSE expunges silently (RFC 9051 6.4.1); UNSELECT does not */
	if (expunge && !s->view.readonly)
		imap_expunge_deleted(s, NULL, false);
	imap_view_close(s);
	s->state = IMAP_AUTH;
	imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}

/* ---- the table --------------------------------------------------------------------------- */

enum { ST_NA = 1 << IMAP_NOT_AUTH, ST_AU = 1 << IMAP_AUTH, ST_SE = 1 << IMAP_SELECTED };

struct imap_cmd_def {
	const char *name;
	unsigned states;
	bool uid_ok;            /* may follow UID */
	int id;
};

enum {
	C_CAPABILITY, C_NOOP, C_LOGOUT, C_STARTTLS, C_LOGIN, C_AUTHENTICATE, C_ID, C_ENABLE,
	C_NAMESPACE, C_SELECT, C_EXAMINE, C_CREATE, C_DELETE, C_RENAME, C_SUBSCRIBE, C_UNSUBSCRIBE,
	C_LIST, C_LSUB, C_STATUS, C_APPEND, C_CHECK, C_CLOSE, C_UNSELECT, C_EXPUNGE, C_SEARCH,
	C_FETCH, C_STORE, C_COPY, C_MOVE, C_IDLE,
};

static const struct imap_cmd_def commands[] = {
	{ "CAPABILITY", ST_NA | ST_AU | ST_SE, false, C_CAPABILITY },
	{ "NOOP", ST_NA | ST_AU | ST_SE, false, C_NOOP },
	{ "LOGOUT", ST_NA | ST_AU | ST_SE, false, C_LOGOUT },
	{ "STARTTLS", ST_NA, false, C_STARTTLS },
	{ "LOGIN", ST_NA, false, C_LOGIN },
	{ "AUTHENTICATE", ST_NA, false, C_AUTHENTICATE },
	{ "ID", ST_NA | ST_AU | ST_SE, false, C_ID },
	{ "ENABLE", ST_AU, false, C_ENABLE },
	{ "NAMESPACE", ST_AU | ST_SE, false, C_NAMESPACE },
	{ "SELECT", ST_AU | ST_SE, false, C_SELECT },
	{ "EXAMINE", ST_AU | ST_SE, false, C_EXAMINE },
	{ "CREATE", ST_AU | ST_SE, false, C_CREATE },
	{ "DELETE", ST_AU | ST_SE, false, C_DELETE },
	{ "RENAME", ST_AU | ST_SE, false, C_RENAME },
	{ "SUBSCRIBE", ST_AU | ST_SE, false, C_SUBSCRIBE },
	{ "UNSUBSCRIBE", ST_AU | ST_SE, false, C_UNSUBSCRIBE },
	{ "LIST", ST_AU | ST_SE, false, C_LIST },
	{ "LSUB", ST_AU | ST_SE, false, C_LSUB },
	{ "STATUS", ST_AU | ST_SE, false, C_STATUS },
	{ "APPEND", ST_AU | ST_SE, false, C_APPEND },
	{ "CHECK", ST_SE, false, C_CHECK },
	{ "CLOSE", ST_SE, false, C_CLOSE },
	{ "UNSELECT", ST_SE, false, C_UNSELECT },
	{ "EXPUNGE", ST_SE, true, C_EXPUNGE },
	{ "SEARCH", ST_SE, true, C_SEARCH },
	{ "FETCH", ST_SE, true, C_FETCH },
	{ "STORE", ST_SE, true, C_STORE },
	{ "COPY", ST_SE, true, C_COPY },
	{ "MOVE", ST_SE, true, C_MOVE },
	{ "IDLE", ST_AU | ST_SE, false, C_IDLE },
};

static void run(struct imap_session *s, struct imap_command *cmd, int id)
{
	switch (id) {
	case C_CAPABILITY: cmd_capability(s, cmd); break;
	case C_NOOP: cmd_noop(s, cmd); break;
	case C_CHECK: cmd_noop(s, cmd); break;
	case C_LOGOUT: cmd_logout(s, cmd); break;
	case C_STARTTLS: cmd_starttls(s, cmd); break;
	case C_LOGIN: imap_cmd_login(s, cmd); break;
	case C_AUTHENTICATE: imap_cmd_authenticate(s, cmd); break;
	case C_ID: cmd_id(s, cmd); break;
	case C_ENABLE: cmd_enable(s, cmd); break;
	case C_NAMESPACE: cmd_namespace(s, cmd); break;
	case C_SELECT: cmd_select(s, cmd, false); break;
	case C_EXAMINE: cmd_select(s, cmd, true); break;
	case C_CREATE: cmd_create(s, cmd); break;
	case C_DELETE: cmd_delete(s, cmd); break;
	case C_RENAME: cmd_rename(s, cmd); break;
	case C_SUBSCRIBE: cmd_subscribe(s, cmd, true); break;
	case C_UNSUBSCRIBE: cmd_subscribe(s, cmd, false); break;
	case C_LIST: cmd_list(s, cmd, false); break;
	case C_LSUB: cmd_list(s, cmd, true); break;
	case C_STATUS: cmd_status(s, cmd); break;
	case C_APPEND: imap_cmd_append(s, cmd); break;
	case C_CLOSE: cmd_close(s, cmd, true); break;
	case C_UNSELECT: cmd_close(s, cmd, false); break;
	case C_EXPUNGE: imap_cmd_expunge(s, cmd); break;
	case C_SEARCH: imap_cmd_search(s, cmd); break;
	case C_FETCH: imap_cmd_fetch(s, cmd); break;
	case C_STORE: imap_cmd_store(s, cmd); break;
	case C_COPY: imap_cmd_copy(s, cmd, false); break;
	case C_MOVE: imap_cmd_copy(s, cmd, true); break;
	case C_IDLE: cmd_idle(s, cmd); break;
	}
}

void imap_dispatch(struct imap_session *s, struct imap_command *cmd)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct imap_cmd_def *d = &commands[i];
		if (strcmp(d->name, cmd->name) != 0)
			continue;
		if (cmd->uid && !d->uid_ok)
			break;
		if (!(d->states & (1u << s->state))) {
			imap_tagged(s, cmd->tag, "BAD", "%s not allowed %s", cmd->name,
			            s->state == IMAP_NOT_AUTH ? "before login" :
			            s->state == IMAP_AUTH ? "without a selected mailbox" : "now");
			return;
		}
		run(s, cmd, d->id);
		return;
	}
	char text[IMAP_TAG_MAX + 64];
	/* counted like a syntax error: a client probing verbs is not a mail client */
	snprintf(text, sizeof(text), "Unknown command %s%.*s", cmd->uid ? "UID " : "", 40, cmd->name);
	imap_protocol_error(s, cmd->tag, text);
}
