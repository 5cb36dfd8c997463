/* THREAD and UID THREAD (RFC 5256 4): the criteria run as a search job,
 * the matches threaded by src/mail's algorithms from the index's header
 * cache, the tree written as a THREAD response. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_search.h"
#include "imap/imap_session.h"
#include "mail/thread.h"

struct thread_ctx {
	enum mail_thread_algorithm alg;
};

/* ---- the messages, from the header cache ---- */

#define THREAD_FIELDS (MBOX_HF_MESSAGE_ID | MBOX_HF_IN_REPLY_TO | MBOX_HF_REFERENCES | \
                       MBOX_HF_SORT_SUBJECT)

/* The matched messages' rows; their strings in one arena (offsets until it
 * has stopped growing, then pointers). */
struct gather {
	struct imap_search_matches *m;
	bool uid;
	struct mail_thread_msg *msgs;
	size_t (*offs)[4];              /* message_id, references, in_reply_to, base_subject */
	size_t n;
	struct buf arena;
};

static size_t keep_string(struct buf *arena, const char *s)
{
	if (s == NULL)
		return SIZE_MAX;
	size_t off = arena->len;
	buf_append(arena, s, strlen(s) + 1);
	return off;
}

static void take_row(void *arg, const struct mbox_headers *h)
{
	struct gather *g = arg;
	uint32_t seq = imap_search_matches_seq(g->m, h->uid, true);
	if (seq == 0)
		return;
	g->msgs[g->n] = (struct mail_thread_msg){
		.id = g->uid ? h->uid : seq, .reply_or_fwd = h->reply, .sent = h->sort_date,
	};
	g->offs[g->n][0] = keep_string(&g->arena, h->message_id);
	g->offs[g->n][1] = keep_string(&g->arena, h->references);
	g->offs[g->n][2] = keep_string(&g->arena, h->in_reply_to);
	g->offs[g->n][3] = keep_string(&g->arena, h->sort_subject ? h->sort_subject : "");
	g->n++;
}

/* msgs[0, mid) and msgs[mid, n) each ascending by id (mailbox order): made
 * one ascending run, offs alongside. */
static void merge_runs(struct gather *g, size_t mid)
{
	struct mail_thread_msg *msgs = xcalloc(g->n + 1, sizeof(*msgs));
	size_t (*offs)[4] = xcalloc(g->n + 1, sizeof(*offs));
	size_t a = 0, b = mid;
	for (size_t k = 0; k < g->n; k++) {
		size_t from = b == g->n || (a < mid && g->msgs[a].id < g->msgs[b].id) ? a++ : b++;
		msgs[k] = g->msgs[from];
		memcpy(offs[k], g->offs[from], sizeof(offs[k]));
	}
	free(g->msgs);
	free(g->offs);
	g->msgs = msgs;
	g->offs = offs;
}

/* A match without a header cache row (none could be written: the next
 * search makes it) is not lost: it threads as a message without ids,
 * subject or date. The messages stay in mailbox order. */
static void take_rowless(struct gather *g, const struct imap_search_result *r,
                         const struct imap_view *v)
{
	size_t had = g->n;
	for (size_t i = 0; i < r->n; i++) {
		uint32_t uid = v->uids[r->seqs[i] - 1];
		if (imap_search_matches_seq(g->m, uid, true) == 0)
			continue;
		g->msgs[g->n] = (struct mail_thread_msg){ .id = g->uid ? uid : r->seqs[i] };
		for (int k = 0; k < 4; k++)
			g->offs[g->n][k] = SIZE_MAX;
		g->offs[g->n][3] = keep_string(&g->arena, "");
		g->n++;
	}
	if (g->n > had)
		merge_runs(g, had);
}

static const char *at_offset(const struct buf *arena, size_t off)
{
	return off != SIZE_MAX ? arena->data + off : NULL;
}

static void point_strings(struct gather *g)
{
	for (size_t i = 0; i < g->n; i++) {
		g->msgs[i].message_id = at_offset(&g->arena, g->offs[i][0]);
		g->msgs[i].references = at_offset(&g->arena, g->offs[i][1]);
		g->msgs[i].in_reply_to = at_offset(&g->arena, g->offs[i][2]);
		g->msgs[i].base_subject = at_offset(&g->arena, g->offs[i][3]);
	}
}

/* ---- the response ---- */

enum { OP_NODE, OP_OPEN, OP_CLOSE };
struct op {
	int op;
	int32_t node;
};

/* thread-list = "(" (thread-members / thread-nested) ")": a chain of single
 * children written in a row, two or more children each in parentheses; a
 * dummy (msg < 0) writes no number. Iterative: a thread may be one chain
 * as long as the mailbox. */
static void write_thread(const struct mail_thread *t, const struct mail_thread_msg *m, int32_t top,
                         struct buf *out)
{
	struct op *stack = xmalloc((3 * t->n + 3) * sizeof(struct op));
	size_t sp = 0;
	char num[16];
	stack[sp++] = (struct op){ OP_CLOSE, -1 };
	stack[sp++] = (struct op){ OP_NODE, top };
	stack[sp++] = (struct op){ OP_OPEN, -1 };
	while (sp > 0) {
		struct op o = stack[--sp];
		if (o.op != OP_NODE) {
			buf_append(out, o.op == OP_OPEN ? "(" : ")", 1);
			continue;
		}
		const struct mail_thread_node *nd = &t->nodes[o.node];
		if (nd->msg >= 0) {
			snprintf(num, sizeof(num), "%u", m[nd->msg].id);
			buf_puts(out, num);
		}
		if (nd->child < 0)
			continue;
		if (nd->msg >= 0)
			buf_append(out, " ", 1);
		if (t->nodes[nd->child].next < 0) {
			stack[sp++] = (struct op){ OP_NODE, nd->child };
			continue;
		}
		size_t first = sp, k = 0;
		for (int32_t ch = nd->child; ch >= 0; ch = t->nodes[ch].next, k++) {
			stack[sp++] = (struct op){ OP_CLOSE, -1 };
			stack[sp++] = (struct op){ OP_NODE, ch };
			stack[sp++] = (struct op){ OP_OPEN, -1 };
		}
		/* pushed in order: reverse the groups of three so the first child pops first */
		for (size_t a = 0; a < k / 2; a++)
			for (size_t i = 0; i < 3; i++) {
				struct op tmp = stack[first + 3 * a + i];
				stack[first + 3 * a + i] = stack[first + 3 * (k - 1 - a) + i];
				stack[first + 3 * (k - 1 - a) + i] = tmp;
			}
	}
	free(stack);
}

static void thread_answer(struct imap_session *s, const struct imap_search_result *r, void *arg)
{
	const struct thread_ctx *tc = arg;
	const struct imap_view *v = &s->view;
	struct imap_search_matches m;
	imap_search_matches_init(&m, s, r);
	struct gather g = { &m, r->uid, xcalloc(r->n + 1, sizeof(struct mail_thread_msg)),
	                    xcalloc(r->n + 1, sizeof(*g.offs)), 0, { 0 } };
	buf_init(&g.arena);
	if (mbox_headers_read(s->view.ref.ms, &v->mb, THREAD_FIELDS, 1, 0, take_row, &g) != MBOX_OK) {
		imap_tagged(s, r->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
	} else {
		take_rowless(&g, r, v);
		struct mail_thread t;
		struct buf out;
		point_strings(&g);
		buf_init(&out);
		buf_puts(&out, "* THREAD");
		mail_thread_build(tc->alg, g.msgs, g.n, &t);
		if (t.first >= 0)
			buf_append(&out, " ", 1);   /* thread-data = "THREAD" [SP 1*thread-list] */
		for (int32_t x = t.first; x >= 0; x = t.nodes[x].next)
			write_thread(&t, g.msgs, x, &out);
		buf_puts(&out, "\r\n");
		imap_write(s, out.data, out.len);
		buf_free(&out);
		mail_thread_free(&t);
		imap_tagged(s, r->tag, "OK", "%sTHREAD completed", r->uid ? "UID " : "");
	}
	buf_free(&g.arena);
	free(g.offs);
	free(g.msgs);
	imap_search_matches_free(&m);
}

static const struct imap_search_finish thread_finish = { .answer = thread_answer, .free = free };

/* ---- the command ---- */

void imap_cmd_thread(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search q = { 0 };
	const char *alg;
	struct thread_ctx tc;
	imap_command_args(cmd, &c);
	if (!imap_next_atom(&c, &alg)) {
		imap_search_admit(s, cmd, &q, IMAP_SEARCH_BAD);
		return;
	}
	if (imap_word_eq(alg, strlen(alg), "REFERENCES")) {
		tc.alg = MAIL_THREAD_REFERENCES;
	} else if (imap_word_eq(alg, strlen(alg), "ORDEREDSUBJECT")) {
		tc.alg = MAIL_THREAD_ORDEREDSUBJECT;
	} else {
		imap_tagged(s, cmd->tag, "BAD", "Unknown thread algorithm");
		return;
	}
	enum imap_search_status st =
		imap_search_parse(&q, &c, IMAP_SEARCH_ALLOW_SAVED | IMAP_SEARCH_BARE_CHARSET);
	if (!imap_search_admit(s, cmd, &q, st))
		return;
	struct thread_ctx *ctx = xmalloc(sizeof(*ctx));
	*ctx = tc;
	imap_search_run(s, cmd->tag, cmd->uid, &q, &thread_finish, ctx);
}
