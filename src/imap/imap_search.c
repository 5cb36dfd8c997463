/* SEARCH (RFC 9051 6.4.4, ESEARCH RFC 4731): the parsed criteria evaluated
 * over the selected mailbox; text keys read the message only when needed. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/util.h"
#include "imap/imap_targets.h"
#include "imap/imap_search_parse.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "imap/imap_users.h"
#include "core/buf.h"
#include "mail/address.h"
#include "mail/date.h"
#include "mail/encoded_word.h"
#include "mail/header.h"
#include "mail/mime.h"

struct text_ctx {
	struct imap_session *s;
	const struct mbox_msg *m;
	char *buf;
	size_t len;
	char *folded;           /* buf in ASCII lower case, made on first use */
	struct mime_part *root;
	bool tried;
};

static bool load_text(struct text_ctx *t)
{
	if (!t->tried) {
		struct mbox_msg located = *t->m;
		t->tried = true;
		if (mbox_locate(t->s->ms, &t->s->view.mb, &located) == 0)
			t->buf = imap_read_message(located.path, t->s->ns.cfg->imap.session_memory, &t->len);
		if (t->buf)
			t->root = mime_parse(t->buf, t->len);
	}
	return t->root != NULL;
}

static void fold_ascii(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
}

/* Case-insensitive substring search (ASCII folding, UTF-8 bytes as they are)
 * in an already folded haystack: memmem is linear, so a long needle against a
 * big message costs their sum, not their product. */
static bool contains_folded(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	char *n = xmalloc(nlen);
	memcpy(n, needle, nlen);
	fold_ascii(n, nlen);
	bool hit = memmem(hay, hlen, n, nlen) != NULL;
	free(n);
	return hit;
}

static const char *folded_text(struct text_ctx *t)
{
	if (t->folded == NULL) {
		t->folded = xmalloc(t->len ? t->len : 1);
		memcpy(t->folded, t->buf, t->len);
		fold_ascii(t->folded, t->len);
	}
	return t->folded;
}

/* A header value with its encoded-words decoded, folded, searched. */
static bool decoded_contains(const char *raw, const char *needle, size_t nlen)
{
	size_t cap = strlen(raw) * 3 + 1;
	char *dec = xmalloc(cap);
	size_t dl = mail_encoded_words_decode(raw, dec, cap);
	fold_ascii(dec, dl);
	bool hit = contains_folded(dec, dl, needle, nlen);
	free(dec);
	return hit;
}

static void append_address(void *ctx, const struct mail_address_view *v)
{
	struct buf *out = ctx;
	if (out->len > 0)
		buf_puts(out, ", ");
	if (v->kind == MAIL_ADDRESS_GROUP_END) {
		buf_puts(out, ";");
		return;
	}
	if (v->s[MAIL_ADDRESS_NAME] != NULL)
		buf_append(out, v->s[MAIL_ADDRESS_NAME], v->n[MAIL_ADDRESS_NAME]);
	if (v->kind == MAIL_ADDRESS_GROUP_START) {
		buf_puts(out, ":");
		return;
	}
	buf_puts(out, " <");
	if (v->s[MAIL_ADDRESS_LOCAL] != NULL)
		buf_append(out, v->s[MAIL_ADDRESS_LOCAL], v->n[MAIL_ADDRESS_LOCAL]);
	if (v->s[MAIL_ADDRESS_DOMAIN] != NULL) {
		buf_puts(out, "@");
		buf_append(out, v->s[MAIL_ADDRESS_DOMAIN], v->n[MAIL_ADDRESS_DOMAIN]);
	}
	buf_puts(out, ">");
}

/* FROM, TO, CC, BCC search the addresses as well as the text: "name
 * <local@domain>" per mailbox, comments, quoting and white space gone, so
 * that "user@domain.org" finds <user (comment)@ domain.org> (Dovecot
 * matches the same way). */
static bool addresses_contain(const char *raw, const char *needle, size_t nlen)
{
	struct buf norm;
	buf_init(&norm);
	mail_address_list_parse(raw, strlen(raw), append_address, &norm);
	bool hit = norm.len > 0 && decoded_contains(norm.data, needle, nlen);
	buf_free(&norm);
	return hit;
}

static bool header_matches(struct text_ctx *t, const char *field, bool addresses,
                           const char *needle, size_t nlen)
{
	struct mail_header_iter it;
	struct mail_field f;
	mail_header_iter_init(&it, t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size,
	                      MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		if (!mail_field_is(&f, field))
			continue;
		char *raw = mail_unfold_dup(f.value, f.value_len);
		bool hit = decoded_contains(raw, needle, nlen) ||
		           (addresses && addresses_contain(raw, needle, nlen));
		free(raw);
		if (hit)
			return true;
	}
	return false;
}

static int text_match(void *arg, const struct imap_search_node *n, const struct imap_search_msg *sm)
{
	struct text_ctx *t = arg;
	(void)sm;
	if (!load_text(t))
		return 0;
	size_t boff = (size_t)t->root->body_offset, blen = (size_t)t->root->body_size;
	switch (n->key) {
	case IMAP_SK_BCC: return header_matches(t, "Bcc", true, n->str, n->str_len);
	case IMAP_SK_CC: return header_matches(t, "Cc", true, n->str, n->str_len);
	case IMAP_SK_FROM: return header_matches(t, "From", true, n->str, n->str_len);
	case IMAP_SK_TO: return header_matches(t, "To", true, n->str, n->str_len);
	case IMAP_SK_SUBJECT: return header_matches(t, "Subject", false, n->str, n->str_len);
	case IMAP_SK_HEADER: return header_matches(t, n->field, false, n->str, n->str_len);
	case IMAP_SK_BODY: return contains_folded(folded_text(t) + boff, blen, n->str, n->str_len);
	case IMAP_SK_TEXT: return contains_folded(folded_text(t), t->len, n->str, n->str_len);
	default: return 0;
	}
}

static void unload(struct text_ctx *t)
{
	if (t->root)
		mime_free(t->root);
	free(t->buf);
	free(t->folded);
	t->root = NULL;
	t->buf = NULL;
	t->folded = NULL;
	t->tried = false;
}

static bool uses_sent_date(const struct imap_search_node *n)
{
	for (; n; n = n->next) {
		if (n->key == IMAP_SK_SENTBEFORE || n->key == IMAP_SK_SENTON || n->key == IMAP_SK_SENTSINCE)
			return true;
		if (n->child && uses_sent_date(n->child))
			return true;
	}
	return false;
}

/* The date of the Date: header in its own zone (RFC 9051 6.4.4), or the
 * fallback (the internal date's) when there is none or it cannot be read. */
static int32_t sent_day(struct text_ctx *t, int32_t fallback)
{
	struct mail_field f;
	struct mail_date d;
	if (!load_text(t) ||
	    !mail_header_find(t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size, "Date",
	                      &f) ||
	    !mail_date_parse(f.value, f.value_len, &d))
		return fallback;
	return d.day;
}

/* ---- the search as a job: metadata in one query, then slices ------------------------ */

/* Text searches read message files: a slice stops after this long so that the
 * worker's other sessions are served in between (SEARCH floods). */
#define SEARCH_SLICE_MS 10

/* What the evaluation needs of a message: a compact copy, not a whole
 * struct mbox_msg (5 KiB with its path buffer) per message. */
struct search_msg {
	uint32_t uid, flags;
	uint64_t size, modseq;
	long long internaldate;
	char *keywords;         /* NULL when none */
	char *base;
};

struct imap_search_job {
	struct imap_search q;
	bool uid;
	bool sent;
	char tag[IMAP_TAG_MAX + 1];
	struct search_msg *msgs;
	size_t n, cap, next;
	uint32_t *matches;
	uint64_t *match_modseqs;        /* each match's modseq: ESEARCH MIN / MAX report theirs */
	size_t nmatches, capmatches;
	uint64_t top_modseq;
	bool over;
	struct event *ev;
	size_t view_pos;        /* msgs and the view are both in UID order: walk them together */
};

static void collect_msg(void *arg, const struct mbox_msg *m)
{
	struct imap_search_job *j = arg;
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 256;
		j->msgs = xrealloc(j->msgs, j->cap * sizeof(struct search_msg));
	}
	struct search_msg *sm = &j->msgs[j->n++];
	sm->uid = m->uid;
	sm->flags = m->flags;
	sm->size = m->size;
	sm->modseq = m->modseq;
	sm->internaldate = m->internaldate;
	sm->keywords = m->keywords[0] ? xstrdup(m->keywords) : NULL;
	sm->base = xstrdup(m->base);
}

/* True when the criteria need nothing but UIDs and flags (the common "UNSEEN",
 * "FLAGGED", "UID x:y"): the session's view has those. */
static bool view_only(const struct imap_search_node *n)
{
	for (; n; n = n->next) {
		switch (n->key) {
		case IMAP_SK_AND: case IMAP_SK_OR: case IMAP_SK_NOT:
			if (!view_only(n->child))
				return false;
			break;
		case IMAP_SK_ALL: case IMAP_SK_SEQSET: case IMAP_SK_UID:
		case IMAP_SK_FLAG: case IMAP_SK_UNFLAG: case IMAP_SK_NEW:
			break;
		default:
			return false;
		}
	}
	return true;
}

/* A flag change made since the view was last brought up to date (by this
 * session or another): the search must see the flags as they are now. */
static void overlay_change(void *arg, const struct mbox_msg *m)
{
	struct imap_search_job *j = arg;
	size_t lo = 0, hi = j->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (j->msgs[mid].uid < m->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < j->n && j->msgs[lo].uid == m->uid)   /* \Recent is the view's own */
		j->msgs[lo].flags = m->flags | (j->msgs[lo].flags & IMAP_VIEW_RECENT);
}

/* The view's UIDs and flags, with the changes since its modseq laid over
 * them: a few rows from the modseq index instead of every message's. */
static int collect_from_view(struct imap_session *s, struct imap_search_job *j)
{
	const struct imap_view *v = &s->view;
	j->n = j->cap = v->n;
	j->msgs = xcalloc(v->n ? v->n : 1, sizeof(struct search_msg));
	for (size_t i = 0; i < v->n; i++) {
		j->msgs[i].uid = v->uids[i];
		j->msgs[i].flags = v->flags[i];
	}
	return mbox_changed_since(s->ms, &v->mb, v->modseq, overlay_change, j);
}

static void job_free(struct imap_session *s);
static const struct imap_cmd_hooks search_hooks = { .cancel = job_free };

static void job_free(struct imap_session *s)
{
	imap_cmd_finished(s, &search_hooks);
	struct imap_search_job *j = s->search;
	if (j == NULL)
		return;
	if (j->ev)
		event_free(j->ev);
	imap_search_free(&j->q);
	for (size_t i = 0; i < j->n; i++) {
		free(j->msgs[i].keywords);
		free(j->msgs[i].base);
	}
	free(j->msgs);
	free(j->matches);
	free(j->match_modseqs);
	free(j);
	s->search = NULL;
}


static void add_match(struct imap_search_job *j, uint32_t id, uint64_t modseq, int limit)
{
	if (j->nmatches == j->capmatches) {
		j->capmatches = j->capmatches ? j->capmatches * 2 : 64;
		j->matches = xrealloc(j->matches, j->capmatches * sizeof(uint32_t));
		j->match_modseqs = xrealloc(j->match_modseqs, j->capmatches * sizeof(uint64_t));
	}
	j->match_modseqs[j->nmatches] = modseq;
	j->matches[j->nmatches++] = id;
	if (modseq > j->top_modseq)
		j->top_modseq = modseq;
	j->over = limit > 0 && j->nmatches > (size_t)limit;
}

/* RFC 5182 2.4: RETURN (SAVE) keeps the result as UIDs for "$"; with only
 * MIN and/or MAX beside it, only those. */
static void save_result(struct imap_session *s, const struct imap_search_job *j)
{
	struct imap_view *v = &s->view;
	uint32_t *uids = xcalloc(j->nmatches + 1, sizeof(uint32_t));
	size_t n = 0;
	bool ends_only = (j->q.ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) &&
	                 !(j->q.ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT));
	for (size_t i = 0; i < j->nmatches; i++) {
		bool end = (i == 0 && (j->q.ret & IMAP_SEARCH_RET_MIN)) ||
		           (i == j->nmatches - 1 && (j->q.ret & IMAP_SEARCH_RET_MAX));
		if (ends_only && !end)
			continue;
		uids[n++] = j->uid ? j->matches[i] : v->uids[j->matches[i] - 1];
	}
	imap_seqset_free(&v->saved);
	imap_seqset_from_sorted(&v->saved, uids, n);
	free(uids);
}

/* RFC 7162 3.1.5: the highest modseq of the messages the ESEARCH returns:
 * with only MIN and/or MAX, those; else all matches. */
static uint64_t returned_modseq(const struct imap_search_job *j)
{
	unsigned ret = j->q.ret;
	if (ret == 0 || (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)))
		return j->top_modseq;
	uint64_t m = 0;
	if (ret & IMAP_SEARCH_RET_MIN)
		m = j->match_modseqs[0];
	if ((ret & IMAP_SEARCH_RET_MAX) && j->match_modseqs[j->nmatches - 1] > m)
		m = j->match_modseqs[j->nmatches - 1];
	return m;
}

static void write_esearch(struct imap_session *s, struct imap_search_job *j)
{
	/* RFC 4731: * ESEARCH (TAG "x") UID MIN 1 MAX 9 COUNT 5 ALL 1:5 */
	imap_printf(s, "* ESEARCH (TAG \"%s\")%s", j->tag, j->uid ? " UID" : "");
	if ((j->q.ret & IMAP_SEARCH_RET_MIN) && j->nmatches)
		imap_printf(s, " MIN %u", j->matches[0]);
	if ((j->q.ret & IMAP_SEARCH_RET_MAX) && j->nmatches)
		imap_printf(s, " MAX %u", j->matches[j->nmatches - 1]);
	if (j->q.ret & IMAP_SEARCH_RET_COUNT)
		imap_printf(s, " COUNT %zu", j->nmatches);
	if ((j->q.ret & IMAP_SEARCH_RET_ALL || j->q.ret == 0) && j->nmatches) {
		struct buf hits;
		buf_init(&hits);
		imap_seqset_text_sorted(j->matches, j->nmatches, &hits);
		imap_printf(s, " ALL %s", hits.data);
		buf_free(&hits);
	}
	if (j->q.uses_modseq && j->nmatches)
		imap_printf(s, " MODSEQ %llu", (unsigned long long)returned_modseq(j));
	imap_write(s, "\r\n", 2);
}

static void answer(struct imap_session *s, struct imap_search_job *j)
{
	if (j->over) {
		if (j->q.ret & IMAP_SEARCH_RET_SAVE)
			imap_seqset_free(&s->view.saved);   /* RFC 5182 2.1: a failed SAVE empties "$" */
		imap_tagged(s, j->tag, "NO", "[LIMIT] Too many search results");
		return;
	}
	if (j->q.ret & IMAP_SEARCH_RET_SAVE)
		save_result(s, j);
	if (j->q.ret == IMAP_SEARCH_RET_SAVE) {
		/* RFC 5182 2.4: SAVE alone returns nothing */
	} else if (j->q.esearch || s->rev2) {
		write_esearch(s, j);   /* RFC 9051 6.4.4: IMAP4rev2 answers ESEARCH always */
	} else {
		imap_printf(s, "* SEARCH");
		for (size_t i = 0; i < j->nmatches; i++)
			imap_printf(s, " %u", j->matches[i]);
		if (j->q.uses_modseq && j->nmatches)
			imap_printf(s, " (MODSEQ %llu)", (unsigned long long)j->top_modseq);
		imap_write(s, "\r\n", 2);
	}
	imap_tagged(s, j->tag, "OK", "SEARCH completed");
}

/* Evaluates messages until done (true) or the slice is used up (false). */
static bool search_some(struct imap_session *s)
{
	struct imap_search_job *j = s->search;
	const struct imap_view *v = &s->view;
	struct imap_search_ctx ctx = {
		.max_seq = (uint32_t)v->n, .max_uid = v->n ? v->uids[v->n - 1] : 0,
		.saved = v->saved.nranges ? &v->saved : NULL,
		.text_match = text_match,
	};
	uint64_t start = now_ms();
	int limit = s->ns.cfg->imap.max_search_results;
	bool reads_files = j->q.uses_text || j->sent;
	while (j->next < j->n && !j->over) {
		/* the clock is read per message only when messages are read from disk */
		if ((reads_files || j->next % 64 == 0) && now_ms() - start >= SEARCH_SLICE_MS)
			return false;
		struct search_msg *sm = &j->msgs[j->next++];
		while (j->view_pos < v->n && v->uids[j->view_pos] < sm->uid)
			j->view_pos++;
		if (j->view_pos == v->n || v->uids[j->view_pos] != sm->uid)
			continue;   /* not in this session's view (new, or gone) */
		uint32_t seq = (uint32_t)j->view_pos + 1;
		/* a full record only for the file lookup of text keys */
		struct mbox_msg *full = NULL;
		if (j->q.uses_text || j->sent) {
			full = xcalloc(1, sizeof(*full));
			full->uid = sm->uid;
			full->flags = sm->flags;
			str_copy(full->base, sizeof(full->base), sm->base);
		}
		struct text_ctx t = { .s = s, .m = full };
		int32_t iday = imap_day_of(sm->internaldate, 0);
		struct imap_search_msg msg = {
			.seq = seq, .uid = sm->uid, .flags = sm->flags | imap_view_recent(v, seq),
			.keyword_list = sm->keywords, .size = sm->size, .internal_day = iday,
			.sent_day = j->sent ? sent_day(&t, iday) : iday, .modseq = sm->modseq,
		};
		ctx.arg = &t;
		if (imap_search_eval(&j->q, &msg, &ctx) == IMAP_TRI_YES)
			add_match(j, j->uid ? sm->uid : seq, sm->modseq, limit);
		unload(&t);
		free(full);
	}
	answer(s, j);
	job_free(s);
	return true;
}

static void on_slice(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)fd;
	(void)what;
	if (!search_some(s)) {
		static const struct timeval now = { 0, 0 };
		evtimer_add(s->search->ev, &now);   /* let the other sessions run first */
		return;
	}
	imap_resume_input(s);
}

/* Answers a SEARCH that cannot run; a failed SAVE empties "$" (RFC 5182 2.1). */
static void refuse(struct imap_session *s, struct imap_search_job *j, const char *tag,
                   const char *status, const char *text)
{
	if (j->q.ret & IMAP_SEARCH_RET_SAVE)
		imap_seqset_free(&s->view.saved);
	imap_tagged(s, tag, status, "%s", text);
	if (s->search == j) {
		job_free(s);
	} else {
		imap_search_free(&j->q);
		free(j);
	}
}

void imap_cmd_search(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search_job *j = xcalloc(1, sizeof(*j));
	imap_command_args(cmd, &c);
	enum imap_search_status st = imap_search_parse(&j->q, &c, IMAP_SEARCH_ALLOW_SAVED);
	if (st == IMAP_SEARCH_BADCHARSET) {
		refuse(s, j, cmd->tag, "NO", "[BADCHARSET " IMAP_SEARCH_CHARSETS "] Unsupported charset");
		return;
	}
	if (st != IMAP_SEARCH_OK) {
		refuse(s, j, cmd->tag, "BAD", cmd->error ? cmd->error : "Bad search criteria");
		return;
	}
	/* only full-text searches count: a header key reads a few lines of each
	 * message (and a client sends them all the time), BODY and TEXT scan
	 * every octet */
	if (j->q.uses_body &&
	    !imap_user_search_allowed(s->user, s->ns.cfg->imap.search_rate_limit_per_min)) {
		refuse(s, j, cmd->tag, "NO", "[LIMIT] Too many searches of message text, try again later");
		return;
	}
	if (j->q.uses_modseq)
		imap_enable_condstore(s);
	j->uid = cmd->uid;
	j->sent = uses_sent_date(j->q.root);
	str_copy(j->tag, sizeof(j->tag), cmd->tag);
	s->search = j;
	imap_cmd_running(s, &search_hooks);
	/* every message's index data in one query, in UID order like the view */
	int rc = view_only(j->q.root) ? collect_from_view(s, j)
	                               : mbox_messages(s->ms, &s->view.mb, 1, collect_msg, j);
	if (rc != MBOX_OK) {
		refuse(s, j, cmd->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
		return;
	}
	if (search_some(s))
		return;   /* answered at once: the command loop goes on */
	j->ev = evtimer_new(worker_base(s->ns.worker), on_slice, s);
	s->io = IMAP_IO_FETCH;   /* busy: reading waits until the answer is out */
	net_session_pause_input(&s->ns);
	static const struct timeval now = { 0, 0 };
	evtimer_add(j->ev, &now);
}
