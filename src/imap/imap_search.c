/* The search job (imap_search.h) and SEARCH itself (RFC 9051 6.4.4, ESEARCH
 * RFC 4731): the parsed criteria evaluated over the selected mailbox in time
 * slices. Header keys and sent dates come from the index's header cache
 * (made first where rows are missing, in slices too); BODY and TEXT, and a
 * message whose row is incomplete, read the message file. */
#include "imap/imap_search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_hdrcache.h"
#include "imap/imap_search_header.h"
#include "imap/imap_session.h"
#include "imap/imap_targets.h"
#include "imap/imap_users.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/mime.h"
#include "mail/summary.h"

/* A slice stops after this long so that the worker's other sessions are
 * served in between (SEARCH floods, a mailbox's first SORT filling its
 * header cache). */
#define SEARCH_SLICE_MS 10
/* Header cache rows held at once while evaluating. */
#define ROWS_BATCH 128

/* A header cache row, copied out of the store. */
struct cached_row {
	uint32_t uid;
	bool has_sent_day, complete;
	int32_t sent_day;
	char *field[IMAP_HF_COUNT];
};

/* The rows of a stretch of UIDs, read a batch at a time in UID order,
 * alongside the messages. */
struct row_window {
	struct cached_row *r;
	size_t n, next;
	uint32_t covered_to;    /* every row with a UID up to this is in r (or absent) */
	bool loaded;
};

/* ---- one message's text, read when a key needs it ---- */

struct text_ctx {
	struct imap_session *s;
	const struct mbox_msg *m;
	const struct cached_row *row;   /* its header cache row, or NULL */
	char *buf;
	size_t len;
	char *folded;           /* buf in ASCII lower case, made on first use */
	struct mime_part *root;
	bool tried;
	bool summarized;
	struct mail_summary sum;        /* its header as the header keys see it */
	struct buf *scratch;
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

static void row_header(const struct cached_row *row, struct imap_search_header *h)
{
	for (int i = 0; i < IMAP_HF_COUNT; i++)
		h->field[i] = row->field[i];
	h->raw = NULL;
	h->raw_len = 0;
}

/* A header key: from the cache row when it has one whole, else from the
 * header in the file, read the same way (imap_search_header.c). */
static int header_key_match(struct text_ctx *t, const struct imap_search_node *n)
{
	struct imap_search_header h;
	if (t->row != NULL && t->row->complete) {
		row_header(t->row, &h);
		int r = imap_search_header_match(n, &h, t->scratch);
		if (r >= 0)
			return r;
	}
	if (!load_text(t))
		return 0;
	const char *hdr = t->buf + t->root->hdr_offset;
	if (!t->summarized) {
		mail_summary_read(&t->sum, hdr, (size_t)t->root->hdr_size);
		t->summarized = true;
	}
	imap_search_header_of_summary(&h, &t->sum, hdr, (size_t)t->root->hdr_size);
	return imap_search_header_match(n, &h, t->scratch) == 1;
}

static int text_match(void *arg, const struct imap_search_node *n, const struct imap_search_msg *sm)
{
	struct text_ctx *t = arg;
	(void)sm;
	switch (n->key) {
	case IMAP_SK_BCC: case IMAP_SK_CC: case IMAP_SK_FROM: case IMAP_SK_TO:
	case IMAP_SK_SUBJECT: case IMAP_SK_HEADER:
		return header_key_match(t, n);
	case IMAP_SK_BODY:
		if (!load_text(t))
			return 0;
		return contains_folded(folded_text(t) + t->root->body_offset, (size_t)t->root->body_size,
		                       n->str, n->str_len);
	case IMAP_SK_TEXT:
		if (!load_text(t))
			return 0;
		return contains_folded(folded_text(t), t->len, n->str, n->str_len);
	default:
		return 0;
	}
}

static void unload(struct text_ctx *t)
{
	if (t->root)
		mime_free(t->root);
	if (t->summarized)
		mail_summary_free(&t->sum);
	free(t->buf);
	free(t->folded);
	t->root = NULL;
	t->buf = NULL;
	t->folded = NULL;
	t->tried = t->summarized = false;
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

static bool uses_header_key(const struct imap_search_node *n)
{
	for (; n; n = n->next) {
		if (n->key == IMAP_SK_BCC || n->key == IMAP_SK_CC || n->key == IMAP_SK_FROM ||
		    n->key == IMAP_SK_TO || n->key == IMAP_SK_SUBJECT || n->key == IMAP_SK_HEADER)
			return true;
		if (n->child && uses_header_key(n->child))
			return true;
	}
	return false;
}

/* The date of the Date: header in its own zone (RFC 9051 6.4.4), or the
 * fallback (the internal date's) when there is none or it cannot be read:
 * from the cache row when there is one. */
static int32_t sent_day(struct text_ctx *t, int32_t fallback)
{
	struct mail_field f;
	struct mail_date d;
	if (t->row != NULL)
		return t->row->has_sent_day ? t->row->sent_day : fallback;
	if (!load_text(t) ||
	    !mail_header_find(t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size, "Date",
	                      &f) ||
	    !mail_date_parse(f.value, f.value_len, &d))
		return fallback;
	return d.day;
}

/* ---- the job: metadata in one query, then slices ------------------------ */

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
	bool cached;            /* header keys and sent dates read the header cache */
	bool filling;           /* first: making the missing header cache rows */
	uint32_t fill_after;
	char tag[IMAP_TAG_MAX + 1];
	const struct imap_search_finish *finish;
	void *finish_ctx;
	struct search_msg *msgs;
	size_t n, cap, next;
	uint32_t *matches;      /* sequence numbers, ascending */
	size_t nmatches, capmatches;
	uint64_t top_modseq;
	bool over;
	struct event *ev;
	size_t view_pos;        /* msgs and the view are both in UID order: walk them together */
	struct row_window rows;
	struct buf scratch;
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
	if (lo < j->n && j->msgs[lo].uid == m->uid)
		j->msgs[lo].flags = m->flags;
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

/* ---- the header cache rows alongside the messages ---- */

static void rows_clear(struct row_window *w)
{
	for (size_t i = 0; i < w->n; i++)
		for (int f = 0; f < IMAP_HF_COUNT; f++)
			free(w->r[i].field[f]);
	w->n = w->next = 0;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void keep_row(void *arg, const struct mbox_headers *h)
{
	struct row_window *w = arg;
	struct cached_row *r = &w->r[w->n++];
	const char *const f[IMAP_HF_COUNT] = {
		h->subject, h->from, h->to, h->cc, h->bcc, h->from_addrs, h->to_addrs, h->cc_addrs,
		h->bcc_addrs, h->message_id, h->in_reply_to, h->references, h->date,
	};
	r->uid = h->uid;
	r->has_sent_day = h->has_sent_day;
	r->sent_day = h->sent_day;
	r->complete = h->complete;
	for (int i = 0; i < IMAP_HF_COUNT; i++)
		r->field[i] = dup_or_null(f[i]);
}

/* The row of message uid, NULL when it has none; uids come ascending. */
static const struct cached_row *row_of(struct imap_session *s, struct row_window *w, uint32_t uid)
{
	if (!w->loaded || uid > w->covered_to) {
		rows_clear(w);
		if (w->r == NULL)
			w->r = xcalloc(ROWS_BATCH, sizeof(*w->r));
		if (mbox_headers_read(s->ms, &s->view.mb, MBOX_HEADERS_SEARCH, uid, ROWS_BATCH, keep_row,
		                      w) != MBOX_OK)
			rows_clear(w);
		w->loaded = true;
		w->covered_to = w->n == ROWS_BATCH ? w->r[w->n - 1].uid : UINT32_MAX;
	}
	while (w->next < w->n && w->r[w->next].uid < uid)
		w->next++;
	return w->next < w->n && w->r[w->next].uid == uid ? &w->r[w->next] : NULL;
}

/* ---- ending ---- */

static void job_free(struct imap_session *s);
static const struct imap_cmd_hooks search_hooks = { .cancel = job_free };

static void job_release(struct imap_search_job *j)
{
	if (j->ev)
		event_free(j->ev);
	imap_search_free(&j->q);
	for (size_t i = 0; i < j->n; i++) {
		free(j->msgs[i].keywords);
		free(j->msgs[i].base);
	}
	rows_clear(&j->rows);
	free(j->rows.r);
	buf_free(&j->scratch);
	if (j->finish != NULL && j->finish->free != NULL)
		j->finish->free(j->finish_ctx);
	free(j->msgs);
	free(j->matches);
	free(j);
}

static void job_free(struct imap_session *s)
{
	imap_cmd_finished(s, &search_hooks);
	if (s->search != NULL)
		job_release(s->search);
	s->search = NULL;
}

static void add_match(struct imap_search_job *j, uint32_t seq, uint64_t modseq, int limit)
{
	if (j->nmatches == j->capmatches) {
		j->capmatches = j->capmatches ? j->capmatches * 2 : 64;
		j->matches = xrealloc(j->matches, j->capmatches * sizeof(uint32_t));
	}
	j->matches[j->nmatches++] = seq;
	if (modseq > j->top_modseq)
		j->top_modseq = modseq;
	j->over = limit > 0 && j->nmatches > (size_t)limit;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void imap_search_save(struct imap_session *s, const struct imap_search *q, const uint32_t *uids,
                      size_t n)
{
	struct imap_view *v = &s->view;
	uint32_t *keep = xcalloc(n + 1, sizeof(uint32_t));
	size_t k = 0;
	/* RFC 5182 2.4: RETURN (SAVE) with only MIN and/or MAX saves only those */
	bool ends_only = (q->ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) &&
	                 !(q->ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT));
	for (size_t i = 0; i < n; i++) {
		bool end = (i == 0 && (q->ret & IMAP_SEARCH_RET_MIN)) ||
		           (i == n - 1 && (q->ret & IMAP_SEARCH_RET_MAX));
		if (!ends_only || end)
			keep[k++] = uids[i];
	}
	qsort(keep, k, sizeof(uint32_t), cmp_u32);
	imap_seqset_free(&v->saved);
	imap_seqset_from_sorted(&v->saved, keep, k);
	free(keep);
}

void imap_search_write_esearch(struct imap_session *s, const char *tag, bool uid,
                               const struct imap_search *q, const uint32_t *ids, size_t n,
                               uint64_t top_modseq)
{
	/* RFC 4731: * ESEARCH (TAG "x") UID MIN 1 MAX 9 COUNT 5 ALL 1:5 */
	imap_printf(s, "* ESEARCH (TAG \"%s\")%s", tag, uid ? " UID" : "");
	if ((q->ret & IMAP_SEARCH_RET_MIN) && n)
		imap_printf(s, " MIN %u", ids[0]);
	if ((q->ret & IMAP_SEARCH_RET_MAX) && n)
		imap_printf(s, " MAX %u", ids[n - 1]);
	if (q->ret & IMAP_SEARCH_RET_COUNT)
		imap_printf(s, " COUNT %zu", n);
	if ((q->ret & IMAP_SEARCH_RET_ALL || q->ret == 0) && n) {
		struct buf hits;
		buf_init(&hits);
		imap_seqset_text_sorted(ids, n, &hits);
		imap_printf(s, " ALL %s", hits.data);
		buf_free(&hits);
	}
	if (q->uses_modseq && n)
		imap_printf(s, " MODSEQ %llu", (unsigned long long)top_modseq);
	imap_write(s, "\r\n", 2);
}

/* SEARCH's own answer: SEARCH or ESEARCH, numbers or UIDs. */
static void answer_search(struct imap_session *s, struct imap_search_job *j)
{
	const struct imap_view *v = &s->view;
	uint32_t *ids = xcalloc(j->nmatches + 1, sizeof(uint32_t));
	for (size_t i = 0; i < j->nmatches; i++)
		ids[i] = v->uids[j->matches[i] - 1];
	if (j->q.ret & IMAP_SEARCH_RET_SAVE)
		imap_search_save(s, &j->q, ids, j->nmatches);
	if (!j->uid && j->nmatches > 0)
		memcpy(ids, j->matches, j->nmatches * sizeof(uint32_t));
	if (j->q.ret == IMAP_SEARCH_RET_SAVE) {
		/* RFC 5182 2.4: SAVE alone returns nothing */
	} else if (j->q.esearch || s->rev2) {
		/* RFC 9051 6.4.4: IMAP4rev2 answers ESEARCH always */
		imap_search_write_esearch(s, j->tag, j->uid, &j->q, ids, j->nmatches, j->top_modseq);
	} else {
		imap_printf(s, "* SEARCH");
		for (size_t i = 0; i < j->nmatches; i++)
			imap_printf(s, " %u", ids[i]);
		if (j->q.uses_modseq && j->nmatches)
			imap_printf(s, " (MODSEQ %llu)", (unsigned long long)j->top_modseq);
		imap_write(s, "\r\n", 2);
	}
	free(ids);
	imap_tagged(s, j->tag, "OK", "SEARCH completed");
}

static void answer(struct imap_session *s, struct imap_search_job *j)
{
	if (j->over) {
		if (j->q.ret & IMAP_SEARCH_RET_SAVE)
			imap_seqset_free(&s->view.saved);   /* RFC 5182 2.1: a failed SAVE empties "$" */
		imap_tagged(s, j->tag, "NO", "[LIMIT] Too many search results");
		return;
	}
	if (j->finish == NULL) {
		answer_search(s, j);
		return;
	}
	struct imap_search_result r = { j->tag, j->uid, &j->q, j->matches, j->nmatches,
	                                j->top_modseq };
	j->finish->answer(s, &r, j->finish_ctx);
}

/* ---- the slices ---- */

/* Evaluates one message against the criteria. */
static void evaluate(struct imap_session *s, struct imap_search_job *j, const struct search_msg *sm,
                     uint32_t seq, struct imap_search_ctx *ctx, int limit)
{
	/* a full record only for the file lookup of text keys */
	struct mbox_msg *full = NULL;
	if (j->q.uses_text || j->sent) {
		full = xcalloc(1, sizeof(*full));
		full->uid = sm->uid;
		full->flags = sm->flags;
		str_copy(full->base, sizeof(full->base), sm->base);
	}
	struct text_ctx t = { .s = s, .m = full, .scratch = &j->scratch };
	if (j->cached)
		t.row = row_of(s, &j->rows, sm->uid);
	int32_t iday = imap_day_of(sm->internaldate, 0);
	struct imap_search_msg msg = {
		.seq = seq, .uid = sm->uid, .flags = sm->flags,
		.keyword_list = sm->keywords, .size = sm->size, .internal_day = iday,
		.sent_day = j->sent ? sent_day(&t, iday) : iday, .modseq = sm->modseq,
	};
	ctx->arg = &t;
	if (imap_search_eval(&j->q, &msg, ctx) == IMAP_TRI_YES)
		add_match(j, seq, sm->modseq, limit);
	unload(&t);
	free(full);
}

/* Evaluates messages until done (true) or the slice is used up (false). */
static bool search_some(struct imap_session *s, uint64_t start)
{
	struct imap_search_job *j = s->search;
	const struct imap_view *v = &s->view;
	struct imap_search_ctx ctx = {
		.max_seq = (uint32_t)v->n, .max_uid = v->n ? v->uids[v->n - 1] : 0,
		.saved = v->saved.nranges ? &v->saved : NULL,
		.text_match = text_match,
	};
	int limit = s->ns.cfg->imap.max_search_results;
	/* the clock is read per message only when messages may be read from disk */
	bool reads_files = j->q.uses_body || (!j->cached && (j->q.uses_text || j->sent));
	while (j->next < j->n && !j->over) {
		if ((reads_files || j->next % 64 == 0) && now_ms() - start >= SEARCH_SLICE_MS)
			return false;
		struct search_msg *sm = &j->msgs[j->next++];
		while (j->view_pos < v->n && v->uids[j->view_pos] < sm->uid)
			j->view_pos++;
		if (j->view_pos == v->n || v->uids[j->view_pos] != sm->uid)
			continue;   /* not in this session's view (new, or gone) */
		evaluate(s, j, sm, (uint32_t)j->view_pos + 1, &ctx, limit);
	}
	answer(s, j);
	job_free(s);
	return true;
}

/* Every message's index data in one query, in UID order like the view. */
static int collect(struct imap_session *s, struct imap_search_job *j)
{
	return view_only(j->q.root) ? collect_from_view(s, j)
	                            : mbox_messages(s->ms, &s->view.mb, 1, collect_msg, j);
}

/* A slice of the job: the header cache first, then the evaluation. true
 * once answered. */
static bool job_step(struct imap_session *s)
{
	struct imap_search_job *j = s->search;
	uint64_t start = now_ms();
	if (j->filling) {
		if (!imap_hdrcache_fill(s, &s->view.mb, &j->fill_after, start + SEARCH_SLICE_MS))
			return false;
		j->filling = false;
		if (collect(s, j) != MBOX_OK) {
			imap_tagged(s, j->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
			job_free(s);
			return true;
		}
		if (now_ms() - start >= SEARCH_SLICE_MS)
			return false;
	}
	return search_some(s, start);
}

static void on_slice(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)fd;
	(void)what;
	if (!job_step(s)) {
		static const struct timeval now = { 0, 0 };
		evtimer_add(s->search->ev, &now);   /* let the other sessions run first */
		return;
	}
	imap_resume_input(s);
}

void imap_search_run(struct imap_session *s, const char *tag, bool uid, struct imap_search *q,
                     const struct imap_search_finish *finish, void *ctx)
{
	struct imap_search_job *j = xcalloc(1, sizeof(*j));
	j->q = *q;
	*q = (struct imap_search){ 0 };
	j->uid = uid;
	j->sent = uses_sent_date(j->q.root);
	j->finish = finish;
	j->finish_ctx = ctx;
	str_copy(j->tag, sizeof(j->tag), tag);
	j->cached = finish != NULL || j->sent || uses_header_key(j->q.root);
	j->filling = j->cached;
	buf_init(&j->scratch);
	s->search = j;
	imap_cmd_running(s, &search_hooks);
	if (!j->filling && collect(s, j) != MBOX_OK) {
		imap_tagged(s, j->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
		job_free(s);
		return;
	}
	if (job_step(s))
		return;   /* answered at once: the command loop goes on */
	j->ev = evtimer_new(worker_base(s->ns.worker), on_slice, s);
	s->io = IMAP_IO_FETCH;   /* busy: reading waits until the answer is out */
	net_session_pause_input(&s->ns);
	static const struct timeval now = { 0, 0 };
	evtimer_add(j->ev, &now);
}

/* ---- SEARCH ---- */

/* Answers a SEARCH that cannot run; a failed SAVE empties "$" (RFC 5182 2.1). */
static void refuse(struct imap_session *s, struct imap_search *q, const char *tag,
                   const char *status, const char *text)
{
	if (q->ret & IMAP_SEARCH_RET_SAVE)
		imap_seqset_free(&s->view.saved);
	imap_tagged(s, tag, status, "%s", text);
	imap_search_free(q);
}

void imap_cmd_search(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search q;
	imap_command_args(cmd, &c);
	enum imap_search_status st = imap_search_parse(&q, &c, IMAP_SEARCH_ALLOW_SAVED);
	if (st == IMAP_SEARCH_BADCHARSET) {
		refuse(s, &q, cmd->tag, "NO", "[BADCHARSET " IMAP_SEARCH_CHARSETS "] Unsupported charset");
		return;
	}
	if (st != IMAP_SEARCH_OK) {
		refuse(s, &q, cmd->tag, "BAD", cmd->error ? cmd->error : "Bad search criteria");
		return;
	}
	/* only full-text searches count: header keys are answered from the
	 * index's header cache, BODY and TEXT scan every octet */
	if (q.uses_body &&
	    !imap_user_search_allowed(s->user, s->ns.cfg->imap.search_rate_limit_per_min)) {
		refuse(s, &q, cmd->tag, "NO", "[LIMIT] Too many searches of message text, try again later");
		return;
	}
	imap_search_run(s, cmd->tag, cmd->uid, &q, NULL, NULL);
}
