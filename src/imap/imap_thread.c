/* THREAD and UID THREAD (RFC 5256 4): the criteria run as a search job,
 * the matches threaded by src/mail's algorithms from the index's header
 * cache, the tree written as a THREAD response. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_search.h"
#include "imap/imap_session.h"
#include "imap/imap_users.h"
#include "mail/thread.h"

struct thread_ctx {
	enum mail_thread_algorithm alg;
};

/* ---- the messages, from the header cache ---- */

struct gather {
	const struct imap_view *v;
	const uint8_t *matched;         /* by sequence number - 1 */
	bool uid;
	struct mail_thread_msg *msgs;
	size_t n;
};

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void take_row(void *arg, const struct mbox_headers *h)
{
	struct gather *g = arg;
	uint32_t seq = imap_view_seq_of(g->v, h->uid);
	if (seq == 0 || !g->matched[seq - 1])
		return;
	g->msgs[g->n++] = (struct mail_thread_msg){
		.id = g->uid ? h->uid : seq,
		.message_id = dup_or_null(h->message_id), .references = dup_or_null(h->references),
		.in_reply_to = dup_or_null(h->in_reply_to),
		.base_subject = xstrdup(h->sort_subject ? h->sort_subject : ""),
		.reply_or_fwd = h->reply, .sent = h->sort_date,
	};
}

static void free_msgs(struct mail_thread_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)m[i].message_id);
		free((char *)m[i].references);
		free((char *)m[i].in_reply_to);
		free((char *)m[i].base_subject);
	}
	free(m);
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
	uint8_t *matched = xcalloc(v->n + 1, 1);
	for (size_t i = 0; i < r->n; i++)
		matched[r->seqs[i] - 1] = 1;
	struct gather g = { v, matched, r->uid, xcalloc(r->n + 1, sizeof(struct mail_thread_msg)), 0 };
	if (mbox_headers_read(s->ms, &v->mb, MBOX_HEADERS_THREAD, 1, 0, take_row, &g) != MBOX_OK) {
		imap_tagged(s, r->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
	} else {
		struct mail_thread t;
		struct buf out;
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
	free_msgs(g.msgs, g.n);
	free(matched);
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
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Thread algorithm expected");
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
	if (st != IMAP_SEARCH_OK) {
		if (st == IMAP_SEARCH_BADCHARSET)
			imap_tagged(s, cmd->tag, "NO", "[BADCHARSET " IMAP_SEARCH_CHARSETS "] Unsupported charset");
		else
			imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad search criteria");
		imap_search_free(&q);
		return;
	}
	if (q.uses_body &&
	    !imap_user_search_allowed(s->user, s->ns.cfg->imap.search_rate_limit_per_min)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many searches of message text, try again later");
		imap_search_free(&q);
		return;
	}
	struct thread_ctx *ctx = xmalloc(sizeof(*ctx));
	*ctx = tc;
	imap_search_run(s, cmd->tag, cmd->uid, &q, &thread_finish, ctx);
}
