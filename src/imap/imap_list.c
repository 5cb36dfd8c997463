/* LIST and LSUB (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258) selection
 * and return options, LIST-STATUS (RFC 5819) and SPECIAL-USE (RFC 6154). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "imap/imap_cmds.h"
#include "mail/mutf7.h"
#include "imap/imap_session.h"
#include "imap/imap_status.h"
#include "net/server.h"
#include "store/acl_rights.h"
#include "store/store.h"

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
	struct imap_status_req status;
	char patterns[LIST_PATTERNS_MAX][2 * MBOX_NAME_MAX + 2];
	size_t npatterns, pattern_octets;
	bool root_query;        /* LIST "" "": the delimiter */
};

struct list_ctx {
	struct imap_session *s;
	const struct list_req *req;
	struct mbox_info *all;          /* the mailboxes that exist */
	size_t n, cap;
	struct name_list { char **v; size_t n, cap; } subs;   /* subscribed names, sorted */
	struct name_list holders;       /* Shared, Shared/<owner>: \\Noselect parents */
	bool *sub_matches;              /* subs.v[i] matches a pattern (list_subscribed) */
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

static void name_add(struct name_list *l, const char *name)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xrealloc(l->v, l->cap * sizeof(char *));
	}
	l->v[l->n++] = xstrdup(name);
}

static void names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* One of the user's own: a name under Shared/ (made before it was the
 * shared namespace) cannot be reached, and is not listed. */
static void collect_own(void *arg, const struct mbox_info *mb)
{
	if (!imap_shared_name(mb->name))
		collect_mailbox(arg, mb);
}

static bool name_listed(const struct name_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

/* A mailbox shared with the user and visible to it (l): listed under
 * Shared/<owner>/, those two levels being \Noselect parents. */
static void collect_shared(void *arg, const struct store_acl_grant *g)
{
	struct list_ctx *lc = arg;
	struct mbox_info mb = { 0 };
	char owner_root[IMAP_CLIENT_NAME_LEN];
	if (!(g->rights & ACL_LOOKUP) ||
	    bsnprintf(mb.name, sizeof(mb.name), IMAP_SHARED_ROOT "/%s/%s", g->owner, g->mailbox) < 0)
		return;   /* a name too long to be named in a command is not listed either */
	collect_mailbox(lc, &mb);
	snprintf(owner_root, sizeof(owner_root), IMAP_SHARED_ROOT "/%s", g->owner);
	if (!name_listed(&lc->holders, IMAP_SHARED_ROOT))
		name_add(&lc->holders, IMAP_SHARED_ROOT);
	if (!name_listed(&lc->holders, owner_root))
		name_add(&lc->holders, owner_root);
}

static void collect_subscription(void *arg, const char *name)
{
	name_add(&((struct list_ctx *)arg)->subs, name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* (the store lists them in name order, which is strcmp's) */
static bool is_subscribed(const struct list_ctx *lc, const char *name)
{
	return lc->subs.n > 0 &&
	       bsearch(&name, lc->subs.v, lc->subs.n, sizeof(char *), cmp_names) != NULL;
}

static const struct mbox_info *find_mailbox(const struct list_ctx *lc, const char *name)
{
	for (size_t i = 0; i < lc->n; i++)
		if (strcmp(lc->all[i].name, name) == 0)
			return &lc->all[i];
	return NULL;
}

static bool is_below(const char *name, const char *parent)
{
	size_t n = strlen(parent);
	return strncmp(name, parent, n) == 0 && name[n] == '/';
}

/* Does a mailbox below name exist? */
static bool has_children_in(const struct list_ctx *lc, const char *name)
{
	for (size_t i = 0; i < lc->n; i++)
		if (is_below(lc->all[i].name, name))
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

/* A subscribed name below name that no pattern matches: name stands for it
 * in the answer (RFC 5258 3.5 CHILDINFO; RFC 3501 6.3.9: LSUB "%" gives
 * "foo" \Noselect for a subscribed "foo/bar"). One that matches is listed
 * itself, and needs no parent to say it is there. */
static bool has_unlisted_subscribed_child(const struct list_ctx *lc, const char *name)
{
	for (size_t i = 0; i < lc->subs.n; i++)
		if (!lc->sub_matches[i] && is_below(lc->subs.v[i], name))
			return true;
	return false;
}

/* One response line: attrs ("\HasChildren \Sent ..."), then the name,
 * then CHILDINFO for a parent listed for its subscribed children. */
static void list_line(struct list_ctx *lc, const char *name, const char *attrs, bool childinfo)
{
	const struct list_req *req = lc->req;
	imap_printf(lc->s, "* %s (%s) \"/\" ", req->lsub ? "LSUB" : "LIST", attrs);
	imap_write_mailbox(lc->s, name);
	if (childinfo)
		imap_printf(lc->s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	imap_write(lc->s, "\r\n", 2);
}

/* The attributes of an existing mailbox: children, special use and, when
 * asked for (RETURN (SUBSCRIBED), or selected by it), \Subscribed. */
static void mailbox_attrs(const struct list_ctx *lc, const struct mbox_info *mb, bool subscribed,
                          char *out, size_t len)
{
	const struct list_req *req = lc->req;
	bool show_subscribed = !req->lsub && (req->ret_subscribed || req->sel_subscribed) && subscribed;
	snprintf(out, len, "%s%s%s%s", has_children_in(lc, mb->name) ? "\\HasChildren" : "\\HasNoChildren",
	         mb->special_use[0] ? " " : "", mb->special_use, show_subscribed ? " \\Subscribed" : "");
}

static bool list_pattern(struct imap_session *s, struct list_req *req, const char *ref,
                         size_t reflen, const char *pat, size_t patlen)
{
	req->pattern_octets += reflen + patlen;
	if (req->npatterns == LIST_PATTERNS_MAX || req->pattern_octets > LIST_PATTERN_OCTETS_MAX)
		return false;
	char *pattern = req->patterns[req->npatterns++];
	snprintf(pattern, sizeof(req->patterns[0]), "%.*s%.*s", (int)reflen, ref, (int)patlen, pat);
	if (!imap_client_utf8(s)) {
		char decoded[sizeof(req->patterns[0])];
		if (mutf7_decode(pattern, decoded, sizeof(decoded)) == 0)
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
			if (!imap_next_list(&opts, &items) || !imap_status_parse_items(&items, &req->status))
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

/* LIST without SUBSCRIBED: the mailboxes that exist and match. */
static void list_existing(struct list_ctx *lc)
{
	const struct list_req *req = lc->req;
	char attrs[160];
	for (size_t i = 0; i < lc->n; i++) {
		const struct mbox_info *mb = &lc->all[i];
		if (!any_pattern_matches(req, mb->name) || (req->sel_special && mb->special_use[0] == '\0'))
			continue;
		mailbox_attrs(lc, mb, is_subscribed(lc, mb->name), attrs, sizeof(attrs));
		list_line(lc, mb->name, attrs, false);
		if (req->want_status)
			imap_status_write(lc->s, mb->name, &req->status);
	}
	for (size_t i = 0; i < lc->holders.n && !req->sel_special; i++)
		if (any_pattern_matches(req, lc->holders.v[i]))
			list_line(lc, lc->holders.v[i], "\\Noselect \\HasChildren", false);
}

/* The subscribed names and, for LSUB and RECURSIVEMATCH, their parents
 * (one may stand for its subscribed children): sorted, each once. */
static void subscribed_and_parents(const struct list_ctx *lc, struct name_list *out)
{
	for (size_t i = 0; i < lc->subs.n; i++) {
		char name[MBOX_NAME_MAX + 1];
		str_copy(name, sizeof(name), lc->subs.v[i]);
		name_add(out, name);
		if (!lc->req->lsub && !lc->req->recursive)
			continue;
		for (char *slash = strrchr(name, '/'); slash != NULL; slash = strrchr(name, '/')) {
			*slash = '\0';
			name_add(out, name);
		}
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(char *), cmp_names);
	size_t kept = 0;
	for (size_t i = 0; i < out->n; i++) {
		if (kept > 0 && strcmp(out->v[kept - 1], out->v[i]) == 0)
			free(out->v[i]);
		else
			out->v[kept++] = out->v[i];
	}
	out->n = kept;
}

/* LSUB and LIST (SUBSCRIBED [RECURSIVEMATCH]): the subscribed names that
 * match, existing or not (RFC 5258 3.1: \NonExistent), and with LSUB or
 * RECURSIVEMATCH the parents that stand for subscribed children. */
static void list_subscribed(struct list_ctx *lc)
{
	const struct list_req *req = lc->req;
	struct name_list names = { 0 };
	char attrs[160];
	/* matched once each: every parent looks at every subscription */
	lc->sub_matches = xcalloc(lc->subs.n + 1, sizeof(bool));
	for (size_t i = 0; i < lc->subs.n; i++)
		lc->sub_matches[i] = any_pattern_matches(req, lc->subs.v[i]);
	subscribed_and_parents(lc, &names);
	for (size_t i = 0; i < names.n; i++) {
		const char *name = names.v[i];
		if (!any_pattern_matches(req, name))
			continue;
		const struct mbox_info *mb = find_mailbox(lc, name);
		bool subscribed = is_subscribed(lc, name);
		bool stands_for = !subscribed && has_unlisted_subscribed_child(lc, name);
		if ((!subscribed && !stands_for) ||
		    (req->sel_special && (mb == NULL || mb->special_use[0] == '\0')))
			continue;
		if (req->lsub)
			str_copy(attrs, sizeof(attrs), mb == NULL || stands_for ? "\\Noselect" : "");
		else if (mb != NULL)
			mailbox_attrs(lc, mb, subscribed, attrs, sizeof(attrs));
		else
			str_copy(attrs, sizeof(attrs), subscribed ? "\\Subscribed \\NonExistent" : "\\NonExistent");
		list_line(lc, name, attrs, !req->lsub && stands_for);
		if (req->want_status && subscribed && mb != NULL)
			imap_status_write(lc->s, name, &req->status);
	}
	names_free(&names);
	free(lc->sub_matches);
	lc->sub_matches = NULL;
}

static void run_list(struct imap_session *s, const struct list_req *req)
{
	struct list_ctx lc = { .s = s, .req = req };
	char err[256];
	mbox_list(s->ms, collect_own, &lc);
	/* a store that cannot be read lists one's own mailboxes all the same */
	store_acl_granted_to(worker_store(s->ns.worker), s->user, collect_shared, &lc, err,
	                     sizeof(err));
	mbox_subscriptions(s->ms, collect_subscription, &lc);
	if (req->lsub || req->sel_subscribed)
		list_subscribed(&lc);
	else
		list_existing(&lc);
	names_free(&lc.subs);
	names_free(&lc.holders);
	free(lc.all);
}

void imap_cmd_list(struct imap_session *s, struct imap_command *cmd, bool lsub)
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
