/* One message as the search criteria see it; see imap_search_msg.h. */
#include "imap/imap_search_msg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/util.h"
#include "imap/imap_session.h"
#include "imap/imap_targets.h"
#include "mail/date.h"
#include "mail/header.h"
#include "mail/mime.h"

/* Header cache rows held at once. */
#define ROWS_BATCH 256

/* ---- the header cache rows ---- */

void imap_search_rows_init(struct imap_search_rows *w, unsigned fields)
{
	memset(w, 0, sizeof(*w));
	w->fields = fields;
	buf_init(&w->arena);
}

void imap_search_rows_free(struct imap_search_rows *w)
{
	free(w->r);
	buf_free(&w->arena);
	memset(w, 0, sizeof(*w));
}

/* The strings go into one arena per batch: a search over 10,000 messages
 * would otherwise allocate two strings per message. */
static void keep_row(void *arg, const struct mbox_headers *h)
{
	struct imap_search_rows *w = arg;
	struct imap_search_row *r = &w->r[w->n++];
	const char *const f[IMAP_HF_COUNT] = {
		h->subject, h->from, h->to, h->cc, h->bcc, h->from_addrs, h->to_addrs, h->cc_addrs,
		h->bcc_addrs, h->message_id, h->in_reply_to, h->references, h->date,
	};
	r->uid = h->uid;
	r->arrival = h->arrival;
	r->size = h->size;
	r->has_sent_day = h->has_sent_day;
	r->sent_day = h->sent_day;
	r->complete = h->complete;
	for (int i = 0; i < IMAP_HF_COUNT; i++) {
		r->off[i] = f[i] != NULL ? w->arena.len : SIZE_MAX;
		if (f[i] != NULL)
			buf_append(&w->arena, f[i], strlen(f[i]) + 1);
	}
}

const struct imap_search_row *imap_search_rows_find(struct imap_session *s,
                                                    struct imap_search_rows *w, uint32_t uid)
{
	if (!w->loaded || uid > w->covered_to) {
		if (w->r == NULL)
			w->r = xcalloc(ROWS_BATCH, sizeof(*w->r));
		w->n = w->next = 0;
		buf_reset(&w->arena);
		if (mbox_headers_read(s->view.ref.ms, &s->view.mb, w->fields, uid, ROWS_BATCH, keep_row, w) !=
		    MBOX_OK)
			w->n = 0;
		w->loaded = true;
		w->covered_to = w->n == ROWS_BATCH ? w->r[w->n - 1].uid : UINT32_MAX;
	}
	while (w->next < w->n && w->r[w->next].uid < uid)
		w->next++;
	return w->next < w->n && w->r[w->next].uid == uid ? &w->r[w->next] : NULL;
}

/* ---- the message text ---- */

static bool load_text(struct imap_search_text *t)
{
	if (t->tried)
		return t->root != NULL;
	struct mbox_msg *m = xcalloc(1, sizeof(*m));   /* 5 KiB: not on the stack */
	t->tried = true;
	m->uid = t->uid;
	m->flags = t->flags;
	bool known = t->base != NULL;
	if (known)
		str_copy(m->base, sizeof(m->base), t->base);
	else
		known = mbox_get(t->s->view.ref.ms, &t->s->view.mb, t->uid, m) == MBOX_OK;
	if (known && mbox_locate(t->s->view.ref.ms, &t->s->view.mb, m) == 0)
		t->buf = imap_read_message(m->path, t->s->ns.cfg->imap.session_memory, &t->len);
	if (t->buf)
		t->root = mime_parse(t->buf, t->len);
	free(m);
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

static const char *folded_text(struct imap_search_text *t)
{
	if (t->folded == NULL) {
		t->folded = xmalloc(t->len ? t->len : 1);
		memcpy(t->folded, t->buf, t->len);
		fold_ascii(t->folded, t->len);
	}
	return t->folded;
}

static void row_header(const struct imap_search_text *t, struct imap_search_header *h)
{
	for (int i = 0; i < IMAP_HF_COUNT; i++)
		h->field[i] = t->row->off[i] != SIZE_MAX ? t->rows->arena.data + t->row->off[i] : NULL;
	h->raw = NULL;
	h->raw_len = 0;
}

/* A header key: from the cache row when it is whole, else from the header
 * in the file, read the same way (imap_search_header.c). */
static int header_key_match(struct imap_search_text *t, const struct imap_search_node *n)
{
	struct imap_search_header h;
	if (t->row != NULL && t->row->complete) {
		row_header(t, &h);
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

int imap_search_text_match(void *arg, const struct imap_search_node *n,
                           const struct imap_search_msg *m)
{
	struct imap_search_text *t = arg;
	(void)m;
	switch (n->key) {
	case IMAP_SK_BCC: case IMAP_SK_CC: case IMAP_SK_FROM: case IMAP_SK_TO:
	case IMAP_SK_SUBJECT: case IMAP_SK_HEADER:
		return header_key_match(t, n);
	case IMAP_SK_BODY:
		if (!load_text(t))
			return 0;
		return contains_folded(folded_text(t) + t->root->body_offset,
		                       (size_t)t->root->body_size, n->str, n->str_len);
	case IMAP_SK_TEXT:
		if (!load_text(t))
			return 0;
		return contains_folded(folded_text(t), t->len, n->str, n->str_len);
	default:
		return 0;
	}
}

int32_t imap_search_sent_day(struct imap_search_text *t, int32_t fallback)
{
	struct mail_field f;
	struct mail_date d;
	if (t->row != NULL)
		return t->row->has_sent_day ? t->row->sent_day : fallback;
	if (!load_text(t) ||
	    !mail_header_find(t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size, "Date", &f) ||
	    !mail_date_parse(f.value, f.value_len, &d))
		return fallback;
	return d.day;
}

void imap_search_text_unload(struct imap_search_text *t)
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
