/* IMAP commands on messages: STORE, COPY/MOVE, SEARCH, EXPUNGE, APPEND, and
 * the helpers they share with FETCH (imap_fetch.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "imap/imap_fetch_parse.h"
#include "imap/imap_msg.h"
#include "imap/imap_search_parse.h"
#include "imap/imap_session.h"
#include "core/buf.h"
#include "mail/mime.h"
#include "store/maildir.h"

/* ---- targets: a sequence set resolved against the view --------------------------- */

/* Adds the view's messages whose UIDs are in lo..hi (missing UIDs skipped). */
static void add_uid_range(struct imap_targets *t, const struct imap_view *v, uint32_t lo, uint32_t hi)
{
	for (size_t i = imap_view_lower_bound(v, lo); i < v->n && v->uids[i] <= hi; i++)
		imap_targets_add(t, (uint32_t)i + 1, v->uids[i]);
}

int imap_targets(struct imap_session *s, struct imap_cursor *c, bool uid, struct imap_targets *t)
{
	struct imap_seqset given;
	struct imap_seqset_iter it;
	uint32_t lo, hi;
	const struct imap_view *v = &s->view;
	memset(t, 0, sizeof(*t));
	if (!imap_next_seqset(c, &given, IMAP_SEQSET_ALLOW_SAVED))
		return -1;
	/* RFC 5182 2.1: "$" names the saved messages, by UID whatever the command */
	const struct imap_seqset *set = given.saved ? &v->saved : &given;
	uid = uid || given.saved;
	uint32_t max = uid ? (v->n ? v->uids[v->n - 1] : 0) : (uint32_t)v->n;
	/* RFC 9051 6.4.5: a message sequence number past EXISTS is an error
	 * (the iterator below clips to the maximum, so look at the set itself) */
	if (!uid && (imap_seqset_highest(set) > v->n || (set->has_star && v->n == 0))) {
		imap_seqset_free(&given);
		imap_fail(c, "Invalid message sequence number");
		return -1;
	}
	imap_seqset_iter_init(&it, set, max);
	while (imap_seqset_iter_next(&it, &lo, &hi)) {
		if (uid) {
			add_uid_range(t, v, lo, hi);
		} else {
			for (uint64_t q = lo; q <= hi; q++)
				imap_targets_add(t, (uint32_t)q, v->uids[q - 1]);
		}
	}
	imap_seqset_free(&given);
	return 0;
}

void imap_targets_add(struct imap_targets *t, uint32_t seq, uint32_t uid)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->seq = xrealloc(t->seq, t->cap * sizeof(uint32_t));
		t->uid = xrealloc(t->uid, t->cap * sizeof(uint32_t));
	}
	t->seq[t->n] = seq;
	t->uid[t->n++] = uid;
}

void imap_targets_free(struct imap_targets *t)
{
	free(t->seq);
	free(t->uid);
	memset(t, 0, sizeof(*t));
}

/* "1:3,5" from sorted UIDs, for UIDPLUS responses. */
void imap_uid_set_text(const uint32_t *uids, size_t n, struct buf *out)
{
	char tmp[32];
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		int len = j > i ? snprintf(tmp, sizeof(tmp), "%s%u:%u", i ? "," : "", uids[i], uids[j])
		                : snprintf(tmp, sizeof(tmp), "%s%u", i ? "," : "", uids[i]);
		buf_append(out, tmp, (size_t)len);
		i = j + 1;
	}
}

/* ---- reading a message ------------------------------------------------------------- */

char *imap_read_message(const char *path, uint64_t limit, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > limit) {
		close(fd);
		return NULL;
	}
	char *buf = xmalloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* ---- STORE -------------------------------------------------------------------------- */

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
	bool too_many;          /* the keywords would not fit */
};

/* STORE's change, decided on the message as it is under the index's lock. */
static int decide_store(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	struct store_decision *d = arg;
	const struct imap_store *st = d->st;
	if (st->unchangedsince && now->modseq > st->unchangedsince_modseq)
		return -1;
	*flags = st->op == IMAP_STORE_REPLACE ? st->flags.system
	       : st->op == IMAP_STORE_ADD ? now->flags | st->flags.system
	       : now->flags & ~st->flags.system;
	if (!apply_keywords(now->keywords, st, keywords, MBOX_KEYWORDS_MAX + 1)) {
		d->too_many = true;
		return -1;
	}
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
	buf_init(&modified);
	for (size_t i = 0; i < t.n; i++) {
		struct mbox_msg m;
		char flags[MBOX_KEYWORDS_MAX + 64];
		struct store_decision d = { &st, false };
		int rc = mbox_update_flags(s->ms, &s->view.mb, t.uid[i], decide_store, &d, &m);
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
		if (st.silent && !s->condstore)
			continue;
		imap_format_flags(m.flags, m.keywords, flags, sizeof(flags));
		char uidpart[24] = "";
		if (cmd->uid)   /* RFC 9051 6.4.9: UID commands report the UID */
			snprintf(uidpart, sizeof(uidpart), "UID %u ", t.uid[i]);
		if (s->condstore || st.unchangedsince)
			imap_untagged(s, "%u FETCH (%sFLAGS (%s) MODSEQ (%llu))", t.seq[i], uidpart, flags,
			              (unsigned long long)m.modseq);
		else
			imap_untagged(s, "%u FETCH (%sFLAGS (%s))", t.seq[i], uidpart, flags);
	}
	if (too_many) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many keywords on a message");
	} else if (nchanged > 0) {
		imap_uid_set_text(changed, nchanged, &modified);
		buf_append(&modified, "", 1);
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

/* ---- COPY / MOVE ------------------------------------------------------------------------ */

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
	if (mbox_find(s->ms, mbname, &dst) != MBOX_OK) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "NO", "[TRYCREATE] No such mailbox");
		return;
	}
	if (move && s->view.readonly) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	uint32_t *src = xcalloc(t.n + 1, sizeof(uint32_t)), *dstu = xcalloc(t.n + 1, sizeof(uint32_t));
	size_t done = 0;
	for (size_t i = 0; i < t.n; i++) {
		uint32_t nu;
		if (mbox_copy(s->ms, &s->view.mb, t.uid[i], &dst, &nu) == MBOX_OK) {
			src[done] = t.uid[i];
			dstu[done++] = nu;
		}
	}
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	imap_uid_set_text(src, done, &a);
	imap_uid_set_text(dstu, done, &b);
	buf_append(&a, "", 1);
	buf_append(&b, "", 1);
	if (done == 0 && t.n > 0) {
		imap_tagged(s, cmd->tag, "NO", "%s failed", cmd->name);
	} else if (!move) {
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
			if (mbox_expunge(s->ms, &s->view.mb, src[i], false) == MBOX_OK)
				src[gone++] = src[i];
		imap_view_expunge_uids(s, src, gone);
		imap_tagged(s, cmd->tag, "OK", "MOVE completed");
	}
	buf_free(&a);
	buf_free(&b);
	free(src);
	free(dstu);
	imap_targets_free(&t);
}

/* ---- EXPUNGE -------------------------------------------------------------------------------- */

void imap_expunge_deleted(struct imap_session *s, const struct imap_targets *t, bool report)
{
	struct imap_view *v = &s->view;
	/* collect first: the view shrinks as EXPUNGEs are reported */
	size_t cand = t ? t->n : v->n;
	uint32_t *uids = xcalloc(cand + 1, sizeof(uint32_t));
	size_t n = 0;
	for (size_t k = 0; k < cand; k++) {
		size_t i = t ? t->seq[k] - 1 : k;
		if (v->flags[i] & MBOX_F_DELETED)
			uids[n++] = v->uids[i];
	}
	size_t gone = 0;
	for (size_t k = 0; k < n; k++)
		if (mbox_expunge(s->ms, &v->mb, uids[k], true) == MBOX_OK)
			uids[gone++] = uids[k];
	if (report)
		imap_view_expunge_uids(s, uids, gone);
	free(uids);
}

void imap_cmd_expunge(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_targets t = { 0 };
	imap_command_args(cmd, &c);
	if (cmd->uid && imap_targets(s, &c, true, &t) < 0) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad UID set");
		return;
	}
	if (s->view.readonly) {
		imap_targets_free(&t);
		imap_tagged(s, cmd->tag, "NO", "[READ-ONLY] Mailbox is read-only");
		return;
	}
	imap_expunge_deleted(s, cmd->uid ? &t : NULL, true);
	imap_targets_free(&t);
	imap_tagged(s, cmd->tag, "OK", "EXPUNGE completed");
}

/* ---- APPEND ----------------------------------------------------------------------------------- */

/* Stores the client's CRLF message the Maildir way (LF), fsync'd, in tmp/. */
static int write_appended(const char *dir, const char *hostname, const char *data, size_t len,
                          char *path, size_t pathlen, uint64_t *vsize)
{
	char name[256];
	size_t lines = 0, out = 0;
	char *lf = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			continue;
		if (data[i] == '\n')
			lines++;
		lf[out++] = data[i];
	}
	*vsize = out + lines;
	int rc = -1;
	if (maildir_unique_name(name, sizeof(name), hostname, out, *vsize) == 0 &&
	    bsnprintf(path, pathlen, "%s/tmp/%s", dir, name) >= 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			rc = write_all(fd, lf, out) == 0 && fdatasync(fd) == 0 ? 0 : -1;
			close(fd);
			if (rc < 0)
				unlink(path);
		}
	}
	free(lf);
	return rc;
}

void imap_cmd_append(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *data;
	size_t len;
	bool binary;
	char mbname[MBOX_NAME_MAX + 1], dir[4096], path[4400];
	struct imap_flags flags = { 0 };
	struct mbox_info mb;
	int64_t when = (int64_t)time(NULL);
	imap_command_args(cmd, &c);
	if (!imap_expect_mailbox(s, cmd, &c, mbname, sizeof(mbname)))
		return;
	if (imap_peek(&c) && imap_peek(&c)->type == IMAP_ARG_LIST && !imap_next_flag_list(&c, &flags)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad flag list");
		return;
	}
	if (imap_peek(&c) && imap_peek(&c)->type == IMAP_ARG_QUOTED) {
		const char *d;
		size_t dl;
		int zone;
		if (!imap_next_string(&c, &d, &dl) || !imap_date_time_parse(d, dl, &when, &zone)) {
			imap_flags_free(&flags);
			imap_tagged(s, cmd->tag, "BAD", "Bad date-time");
			return;
		}
	}
	if (!imap_next_literal(&c, &data, &len, &binary) || !imap_expect_end(&c)) {
		imap_flags_free(&flags);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Message literal expected");
		return;
	}
	struct buf kw;
	buf_init(&kw);
	for (size_t i = 0; i < flags.nkeywords; i++) {
		if (i)
			buf_append(&kw, " ", 1);
		buf_puts(&kw, flags.keywords[i]);
	}
	buf_append(&kw, "", 1);
	uint64_t vsize;
	uint32_t uid;
	int rc = mbox_find(s->ms, mbname, &mb);
	if (rc != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[TRYCREATE] No such mailbox");
	} else if (mbox_dir(s->ms, mb.name, dir, sizeof(dir)) < 0 ||
	           write_appended(dir, s->ns.cfg->hostname, data, len, path, sizeof(path), &vsize) < 0 ||
	           mbox_append_file(s->ms, &mb, path, flags.system, kw.data, when, vsize, &uid) != MBOX_OK) {
		imap_tagged(s, cmd->tag, "NO", "[SERVERBUG] Cannot store the message");
	} else {
		if (s->state == IMAP_SELECTED && strcmp(mb.name, s->view.mb.name) == 0)
			imap_view_update(s, true);
		imap_tagged(s, cmd->tag, "OK", "[APPENDUID %u %u] APPEND completed", mb.uidvalidity, uid);
	}
	buf_free(&kw);
	imap_flags_free(&flags);
}
