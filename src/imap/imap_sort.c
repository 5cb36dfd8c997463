/* SORT and UID SORT (RFC 5256 3), with SORT=DISPLAY's keys (RFC 5957), ESORT's
 * RETURN options (RFC 5267 3.2) and RETURN (SAVE) (RFC 5182 2.4): the
 * criteria run as a search job, the matches are then put in order by the
 * index's header cache in one query (mbox_sort). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_search.h"
#include "imap/imap_session.h"

struct sort_ctx {
	struct mbox_sort_spec keys[MBOX_SORT_KEYS_MAX];
	size_t n;
};

static const struct {
	const char *name;
	enum mbox_sort_key key;
} sort_keys[] = {
	{ "ARRIVAL", MBOX_SORT_ARRIVAL }, { "CC", MBOX_SORT_CC }, { "DATE", MBOX_SORT_DATE },
	{ "FROM", MBOX_SORT_FROM }, { "SIZE", MBOX_SORT_SIZE }, { "SUBJECT", MBOX_SORT_SUBJECT },
	{ "TO", MBOX_SORT_TO }, { "DISPLAYFROM", MBOX_SORT_DISPLAYFROM },
	{ "DISPLAYTO", MBOX_SORT_DISPLAYTO },
};

/* sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
 * sort-criterion = ["REVERSE" SP] sort-key; a second REVERSE undoes the
 * first, as Dovecot reads it. false with the cursor's error set. */
static bool parse_criteria(struct imap_cursor *c, struct sort_ctx *sc)
{
	struct imap_cursor list;
	const char *word;
	bool reverse = false;
	if (!imap_next_list(c, &list))
		return false;
	while (!imap_at_end(&list)) {
		if (!imap_next_atom(&list, &word))
			return false;
		if (imap_word_eq(word, strlen(word), "REVERSE")) {
			reverse = !reverse;
			continue;
		}
		size_t i = 0;
		while (i < ARRAY_LEN(sort_keys) && !imap_word_eq(word, strlen(word), sort_keys[i].name))
			i++;
		if (i == ARRAY_LEN(sort_keys))
			return imap_fail(c, "Unknown sort key");
		if (sc->n == MBOX_SORT_KEYS_MAX)
			return imap_fail(c, "Too many sort keys");
		sc->keys[sc->n++] = (struct mbox_sort_spec){ sort_keys[i].key, reverse };
		reverse = false;
	}
	if (reverse)
		return imap_fail(c, "REVERSE without a sort key");
	if (sc->n == 0)
		return imap_fail(c, "Empty sort criteria");
	return true;
}

/* ---- the answer ---- */

struct sorted {
	struct imap_search_matches *m;
	uint32_t *seqs;         /* the matches in sort order */
	size_t n;
};

static void take_sorted(void *arg, uint32_t uid)
{
	struct sorted *o = arg;
	uint32_t seq = imap_search_matches_seq(o->m, uid, true);
	if (seq != 0)
		o->seqs[o->n++] = seq;
}

/* " 123" at out; returns its length */
static size_t put_number(char *out, uint32_t v)
{
	char tmp[12];
	size_t n = 0, k = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	out[k++] = ' ';
	while (n > 0)
		out[k++] = tmp[--n];
	return k;
}

/* "* SORT 3 1 2\r\n" in one write: a line of 10,000 numbers is not 10,000 printfs */
static void write_sort_response(struct imap_session *s, const struct imap_search_result *r,
                                const uint32_t *ids, size_t n)
{
	struct buf line;
	buf_init(&line);
	buf_reserve(&line, 8 + 11 * n + 48);
	buf_puts(&line, "* SORT");
	for (size_t i = 0; i < n; i++)
		line.len += put_number(line.data + line.len, ids[i]);
	line.data[line.len] = '\0';
	/* RFC 7162 3.1.5: a MODSEQ key adds the highest modseq of the result */
	if (r->q->uses_modseq && n) {
		char tail[48];
		buf_append(&line, tail, (size_t)snprintf(tail, sizeof(tail), " (MODSEQ %llu)",
		                                         (unsigned long long)r->top_modseq));
	}
	buf_puts(&line, "\r\n");
	imap_write(s, line.data, line.len);
	buf_free(&line);
}

/* Writes the matches in the order o holds them, and the tagged OK. */
static void write_sorted(struct imap_session *s, const struct imap_search_result *r,
                         const struct sorted *o)
{
	const struct imap_view *v = &s->view;
	uint32_t *uids = xcalloc(o->n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < o->n; i++)
		uids[i] = v->uids[o->seqs[i] - 1];
	const uint32_t *ids = r->uid ? uids : o->seqs;
	if (r->q->ret & IMAP_SEARCH_RET_SAVE)
		imap_search_save(s, r->q, uids, o->n);
	if (r->q->ret == IMAP_SEARCH_RET_SAVE) {
		/* RFC 5182 2.4: SAVE alone returns nothing */
	} else if (r->q->esearch) {
		imap_search_write_esearch(s, r->tag, r->uid, r->q, ids, o->n, r->top_modseq);
	} else {
		write_sort_response(s, r, ids, o->n);
	}
	free(uids);
	imap_tagged(s, r->tag, "OK", "%sSORT completed", r->uid ? "UID " : "");
}

static void sort_answer(struct imap_session *s, const struct imap_search_result *r, void *arg)
{
	const struct sort_ctx *sc = arg;
	const struct imap_view *v = &s->view;
	struct imap_search_matches m;
	imap_search_matches_init(&m, s, r);
	struct sorted o = { &m, xcalloc(r->n + 1, sizeof(uint32_t)), 0 };
	if (mbox_sort(s->view.ref.ms, &v->mb, sc->keys, sc->n, take_sorted, &o) == MBOX_OK) {
		/* a match without a header cache row (none could be made) is not lost: last */
		for (size_t i = 0; i < r->n; i++)
			if (imap_search_matches_seq(&m, v->uids[r->seqs[i] - 1], true) != 0)
				o.seqs[o.n++] = r->seqs[i];
		write_sorted(s, r, &o);
	} else {
		if (r->q->ret & IMAP_SEARCH_RET_SAVE)
			imap_seqset_free(&s->view.saved);
		imap_tagged(s, r->tag, "NO", "[SERVERBUG] Cannot read the mailbox index");
	}
	imap_search_matches_free(&m);
	free(o.seqs);
}

static const struct imap_search_finish sort_finish = { .answer = sort_answer, .free = free };

/* ---- the command ---- */

void imap_cmd_sort(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search q = { 0 }, ret = { 0 };
	struct sort_ctx *sc = xcalloc(1, sizeof(*sc));
	const unsigned flags = IMAP_SEARCH_ALLOW_SAVED;
	imap_command_args(cmd, &c);
	/* ESORT: SORT RETURN (...) (criteria) charset keys */
	if ((imap_accept_atom(&c, "RETURN") && !imap_search_parse_return(&ret, &c, flags)) ||
	    !parse_criteria(&c, sc)) {
		imap_search_admit(s, cmd, &ret, IMAP_SEARCH_BAD);
		free(sc);
		return;
	}
	enum imap_search_status st = imap_search_parse(&q, &c, flags | IMAP_SEARCH_BARE_CHARSET);
	q.esearch = ret.esearch;
	q.ret = ret.ret;
	if (!imap_search_admit(s, cmd, &q, st)) {
		free(sc);
		return;
	}
	imap_search_run(s, cmd->tag, cmd->uid, &q, &sort_finish, sc);
}
