/* The search job (imap_search.h) and SEARCH itself (RFC 9051 6.4.4, ESEARCH
 * RFC 4731): the parsed criteria evaluated over the selected mailbox in time
 * slices. Header keys and sent dates come from the index's header cache
 * (made first where rows are missing, in slices too); BODY and TEXT, and a
 * message whose row is incomplete, read the message file. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_hdrcache.h"
#include "imap/imap_search_msg.h"
#include "imap/imap_session.h"
#include "imap/imap_users.h"

/* A slice stops after this long so that the worker's other sessions are
 * served in between (SEARCH floods, a mailbox's first SORT filling its
 * header cache). */
#define SEARCH_SLICE_MS 10

/* What the criteria need to know of the messages, from the cheapest on:
 * the view's UIDs and flags; those and the header cache (header keys, dates,
 * sizes); every message's row of the index (keywords, MODSEQ, the file for
 * BODY and TEXT). */
enum source { FROM_VIEW, FROM_VIEW_AND_CACHE, FROM_INDEX };

static enum source source_of(const struct imap_search_node *n)
{
	enum source need = FROM_VIEW, k;
	for (; n; n = n->next) {
		switch (n->key) {
		case IMAP_SK_AND: case IMAP_SK_OR: case IMAP_SK_NOT:
			k = source_of(n->child);
			break;
		case IMAP_SK_ALL: case IMAP_SK_SEQSET: case IMAP_SK_UID:
		case IMAP_SK_FLAG: case IMAP_SK_UNFLAG: case IMAP_SK_NEW:
			k = FROM_VIEW;
			break;
		case IMAP_SK_LARGER: case IMAP_SK_SMALLER: case IMAP_SK_BEFORE: case IMAP_SK_ON:
		case IMAP_SK_SINCE:
		case IMAP_SK_SENTBEFORE: case IMAP_SK_SENTON: case IMAP_SK_SENTSINCE:
		case IMAP_SK_BCC: case IMAP_SK_CC: case IMAP_SK_FROM: case IMAP_SK_TO:
		case IMAP_SK_SUBJECT: case IMAP_SK_HEADER:
			k = FROM_VIEW_AND_CACHE;
			break;
		default:
			k = FROM_INDEX;
			break;
		}
		if (k > need)
			need = k;
	}
	return need;
}

/* "ALL" and nothing else (SORT and THREAD mostly ask for that): every
 * message of the view matches, nothing needs to be looked at. */
static bool is_all(const struct imap_search *q)
{
	if (q->root == NULL || q->root->child == NULL)
		return false;
	for (const struct imap_search_node *n = q->root->child; n; n = n->next)
		if (n->key != IMAP_SK_ALL)
			return false;
	return true;
}

static bool uses_sent_date(const struct imap_search_node *n)
{
	for (; n; n = n->next) {
		if (n->key == IMAP_SK_SENTBEFORE || n->key == IMAP_SK_SENTON ||
		    n->key == IMAP_SK_SENTSINCE)
			return true;
		if (n->child && uses_sent_date(n->child))
			return true;
	}
	return false;
}

/* ---- the job: the messages in one query, then slices ------------------------ */

/* What the evaluation needs of a message: a compact copy, not a whole
 * struct mbox_msg (5 KiB with its path buffer) per message. */
struct search_msg {
	uint32_t uid, flags;
	uint64_t size, modseq;
	long long internaldate;
	char *keywords;         /* NULL when none */
	char *base;             /* NULL when collected from the view */
};

struct imap_search_job {
	struct imap_search q;
	bool uid;
	bool sent;
	enum source source;
	bool read_rows;         /* the header cache rows are read alongside */
	bool all;               /* the criteria are ALL: every message matches */
	bool filling;           /* first: making the missing header cache rows */
	uint32_t fill_after;
	char tag[IMAP_TAG_MAX + 1];
	const struct imap_search_finish *finish;
	void *finish_ctx;
	struct search_msg *msgs;
	size_t n, cap, next;
	uint32_t *matches;      /* sequence numbers, ascending */
	uint64_t *match_modseqs;        /* each match's modseq: ESEARCH MIN / MAX report theirs */
	size_t nmatches, capmatches;
	uint64_t top_modseq;
	bool over;
	struct event *ev;
	size_t view_pos;        /* msgs and the view are both in UID order: walk them together */
	struct imap_search_rows rows;
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
	return mbox_changed_since(s->view.ref.ms, &v->mb, v->modseq, overlay_change, j);
}

/* Every message's data in UID order, like the view: from the view when the
 * criteria need no more (the header cache then gives dates and sizes), else
 * every row of the index in one query. */
static int collect(struct imap_session *s, struct imap_search_job *j)
{
	return j->source == FROM_INDEX ? mbox_messages(s->view.ref.ms, &s->view.mb, 1, collect_msg, j)
	                               : collect_from_view(s, j);
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
	imap_search_rows_free(&j->rows);
	buf_free(&j->scratch);
	if (j->finish != NULL && j->finish->free != NULL)
		j->finish->free(j->finish_ctx);
	free(j->msgs);
	free(j->matches);
	free(j->match_modseqs);
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
		j->match_modseqs = xrealloc(j->match_modseqs, j->capmatches * sizeof(uint64_t));
	}
	j->match_modseqs[j->nmatches] = modseq;
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

/* a table of (max UID + 1) entries when it is not much larger than the view */
#define MATCHES_TABLE_SLACK 65536

void imap_search_matches_init(struct imap_search_matches *m, const struct imap_session *s,
                              const struct imap_search_result *r)
{
	const struct imap_view *v = &s->view;
	memset(m, 0, sizeof(*m));
	m->view_uids = v->uids;
	m->view_n = v->n;
	m->max_uid = v->n ? v->uids[v->n - 1] : 0;
	if (m->max_uid <= 4 * v->n + MATCHES_TABLE_SLACK) {
		m->seq_by_uid = xcalloc((size_t)m->max_uid + 1, sizeof(uint32_t));
		for (size_t i = 0; i < r->n; i++)
			m->seq_by_uid[v->uids[r->seqs[i] - 1]] = r->seqs[i];
	} else {
		m->matched = xcalloc(v->n + 1, 1);
		for (size_t i = 0; i < r->n; i++)
			m->matched[r->seqs[i] - 1] = 1;
	}
}

uint32_t imap_search_matches_seq(struct imap_search_matches *m, uint32_t uid, bool take)
{
	uint32_t seq = 0;
	if (m->seq_by_uid != NULL) {
		if (uid <= m->max_uid) {
			seq = m->seq_by_uid[uid];
			if (take)
				m->seq_by_uid[uid] = 0;
		}
		return seq;
	}
	size_t lo = 0, hi = m->view_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->view_uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->view_n && m->view_uids[lo] == uid && m->matched[lo]) {
		seq = (uint32_t)lo + 1;
		if (take)
			m->matched[lo] = 0;
	}
	return seq;
}

void imap_search_matches_free(struct imap_search_matches *m)
{
	free(m->seq_by_uid);
	free(m->matched);
	memset(m, 0, sizeof(*m));
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

/* RFC 7162 3.1.5: the highest modseq of the messages an ESEARCH returns:
 * with only MIN and/or MAX, those; else all matches. */
static uint64_t returned_modseq(const struct imap_search_job *j)
{
	unsigned ret = j->q.ret;
	if (j->nmatches == 0 || ret == 0 || (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT)))
		return j->top_modseq;
	uint64_t m = 0;
	if (ret & IMAP_SEARCH_RET_MIN)
		m = j->match_modseqs[0];
	if ((ret & IMAP_SEARCH_RET_MAX) && j->match_modseqs[j->nmatches - 1] > m)
		m = j->match_modseqs[j->nmatches - 1];
	return m;
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
		imap_search_write_esearch(s, j->tag, j->uid, &j->q, ids, j->nmatches, returned_modseq(j));
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
			imap_seqset_free(&s->view.saved);   /* RFC 5182 2.1: a failed SAVE: "$" empty */
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

/* Size and internal date of a message without a header cache row (one
 * could not be written: the next search makes it), from its index row. */
static bool index_data(struct imap_session *s, uint32_t uid, uint64_t *size, long long *arrival)
{
	struct mbox_msg *m = xcalloc(1, sizeof(*m));   /* 5 KiB: not on the stack */
	bool found = mbox_get(s->view.ref.ms, &s->view.mb, uid, m) == MBOX_OK;
	*size = m->size;
	*arrival = m->internaldate;
	free(m);
	return found;
}

/* Evaluates one message against the criteria. */
static void evaluate(struct imap_session *s, struct imap_search_job *j, const struct search_msg *sm,
                     uint32_t seq, struct imap_search_ctx *ctx, int limit)
{
	struct imap_search_text t = { .s = s, .uid = sm->uid, .flags = sm->flags, .base = sm->base,
	                              .rows = &j->rows, .scratch = &j->scratch };
	uint64_t size = sm->size;
	long long arrival = sm->internaldate;
	if (j->read_rows) {
		t.row = imap_search_rows_find(s, &j->rows, sm->uid);
		if (j->source == FROM_VIEW_AND_CACHE && t.row != NULL) {
			size = t.row->size;
			arrival = t.row->arrival;
		} else if (j->source == FROM_VIEW_AND_CACHE && !index_data(s, sm->uid, &size, &arrival)) {
			return;     /* expunged since the view was made */
		}
	}
	int32_t iday = imap_day_of(arrival, 0);
	struct imap_search_msg msg = {
		.seq = seq, .uid = sm->uid, .flags = sm->flags | imap_view_recent(&s->view, seq),
		.keyword_list = sm->keywords, .size = size, .internal_day = iday,
		.sent_day = j->sent ? imap_search_sent_day(&t, iday) : iday, .modseq = sm->modseq,
	};
	ctx->arg = &t;
	if (imap_search_eval(&j->q, &msg, ctx) == IMAP_TRI_YES)
		add_match(j, seq, sm->modseq, limit);
	imap_search_text_unload(&t);
}

/* Evaluates messages until done (true) or the slice is used up (false). */
static bool search_some(struct imap_session *s, uint64_t start)
{
	struct imap_search_job *j = s->search;
	const struct imap_view *v = &s->view;
	if (j->all) {
		for (size_t i = 0; i < v->n && !j->over; i++)
			add_match(j, (uint32_t)i + 1, 0, s->ns.cfg->imap.max_search_results);
		answer(s, j);
		job_free(s);
		return true;
	}
	struct imap_search_ctx ctx = {
		.max_seq = (uint32_t)v->n, .max_uid = v->n ? v->uids[v->n - 1] : 0,
		.saved = v->saved.nranges ? &v->saved : NULL,
		.text_match = imap_search_text_match,
	};
	int limit = s->ns.cfg->imap.max_search_results;
	/* the clock is read per message only when messages may be read from disk */
	bool reads_files = j->q.uses_body || (!j->read_rows && (j->q.uses_text || j->sent));
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
		if (!j->all && collect(s, j) != MBOX_OK) {
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
	j->source = source_of(j->q.root);
	j->all = is_all(&j->q);
	unsigned fields = imap_search_header_fields(j->q.root);
	bool headers = fields != 0 || j->sent;      /* what the cache answers without the files */
	uint32_t missing = 0;
	if (mbox_headers_missing_count(s->view.ref.ms, &s->view.mb, &missing) != MBOX_OK)
		missing = 1;
	/* dates and sizes alone do not make it worth reading every message to
	 * fill the cache: the index rows have them */
	if (j->source == FROM_VIEW_AND_CACHE && !headers && missing > 0)
		j->source = FROM_INDEX;
	j->read_rows = j->source == FROM_VIEW_AND_CACHE || headers;
	j->filling = (finish != NULL || j->read_rows) && missing > 0;
	j->finish = finish;
	j->finish_ctx = ctx;
	str_copy(j->tag, sizeof(j->tag), tag);
	imap_search_rows_init(&j->rows, fields);
	buf_init(&j->scratch);
	s->search = j;
	imap_cmd_running(s, &search_hooks);
	if (!j->filling && !j->all && collect(s, j) != MBOX_OK) {
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

/* Answers a search that cannot run; a failed SAVE empties "$" (RFC 5182 2.1). */
static void refuse(struct imap_session *s, struct imap_search *q, const char *tag,
                   const char *status, const char *text)
{
	if (q->ret & IMAP_SEARCH_RET_SAVE)
		imap_seqset_free(&s->view.saved);
	imap_tagged(s, tag, status, "%s", text);
	imap_search_free(q);
}

bool imap_search_admit(struct imap_session *s, struct imap_command *cmd, struct imap_search *q,
                       enum imap_search_status st)
{
	static const char badcharset[] = "[BADCHARSET " IMAP_SEARCH_CHARSETS "] Unsupported charset";
	static const char limited[] = "[LIMIT] Too many searches of message text, try again later";
	if (st == IMAP_SEARCH_BADCHARSET) {
		refuse(s, q, cmd->tag, "NO", badcharset);
		return false;
	}
	if (st != IMAP_SEARCH_OK) {
		refuse(s, q, cmd->tag, "BAD", cmd->error ? cmd->error : "Bad search criteria");
		return false;
	}
	/* only full-text searches count: header keys are answered from the
	 * index's header cache, BODY and TEXT scan every octet */
	if (q->uses_body &&
	    !imap_user_search_allowed(s->user, s->ns.cfg->imap.search_rate_limit_per_min)) {
		refuse(s, q, cmd->tag, "NO", limited);
		return false;
	}
	if (q->uses_modseq)
		imap_enable_condstore(s);   /* RFC 7162 3.1: a CONDSTORE-enabling command */
	return true;
}

void imap_cmd_search(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search q;
	imap_command_args(cmd, &c);
	enum imap_search_status st = imap_search_parse(&q, &c, IMAP_SEARCH_ALLOW_SAVED);
	if (imap_search_admit(s, cmd, &q, st))
		imap_search_run(s, cmd->tag, cmd->uid, &q, NULL, NULL);
}
