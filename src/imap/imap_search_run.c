/* SEARCH (RFC 9051 6.4.4, ESEARCH RFC 4731): the parsed criteria evaluated
 * over the selected mailbox; text keys read the message only when needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/util.h"
#include "imap/imap_msg.h"
#include "imap/imap_search.h"
#include "imap/imap_session.h"
#include "imap/mime.h"

struct text_ctx {
	struct imap_session *s;
	const struct mbox_msg *m;
	char *buf;
	size_t len;
	struct mime_part *root;
	bool tried;
};

static bool load_text(struct text_ctx *t)
{
	if (!t->tried) {
		struct mbox_msg located = *t->m;
		t->tried = true;
		if (mbox_locate(t->s->ms, &t->s->view.mb, &located) == 0)
			t->buf = imap_read_message(located.path, t->s->cfg->imap.session_memory, &t->len);
		if (t->buf)
			t->root = mime_parse(t->buf, t->len);
	}
	return t->root != NULL;
}

/* Case-insensitive substring search (ASCII folding, UTF-8 bytes as they are). */
static bool contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (strncasecmp(hay + i, needle, nlen) == 0)
			return true;
	return false;
}

static bool header_matches(struct text_ctx *t, const char *field, const char *needle, size_t nlen)
{
	struct mime_header_iter it;
	struct mime_field f;
	mime_header_iter_init(&it, t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size);
	while (mime_header_next(&it, &f)) {
		if (f.name_len != strlen(field) || strncasecmp(f.name, field, f.name_len) != 0)
			continue;
		char *raw = mime_unfold_dup(f.value, f.value_len);
		size_t cap = strlen(raw) * 3 + 1;
		char *dec = xmalloc(cap);
		size_t dl = mime_decode_header(raw, dec, cap);
		bool hit = contains(dec, dl, needle, nlen);
		free(dec);
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
	const char *body = t->buf + t->root->body_offset;
	size_t blen = (size_t)t->root->body_size;
	switch (n->key) {
	case IMAP_SK_BCC: return header_matches(t, "Bcc", n->str, n->str_len);
	case IMAP_SK_CC: return header_matches(t, "Cc", n->str, n->str_len);
	case IMAP_SK_FROM: return header_matches(t, "From", n->str, n->str_len);
	case IMAP_SK_TO: return header_matches(t, "To", n->str, n->str_len);
	case IMAP_SK_SUBJECT: return header_matches(t, "Subject", n->str, n->str_len);
	case IMAP_SK_HEADER: return header_matches(t, n->field, n->str, n->str_len);
	case IMAP_SK_BODY: return contains(body, blen, n->str, n->str_len);
	case IMAP_SK_TEXT: return contains(t->buf, t->len, n->str, n->str_len);
	default: return 0;
	}
}

static void unload(struct text_ctx *t)
{
	if (t->root)
		mime_free(t->root);
	free(t->buf);
	t->root = NULL;
	t->buf = NULL;
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

static int32_t sent_day(struct text_ctx *t, int32_t fallback)
{
	struct mime_field f;
	int64_t when;
	int zone;
	if (!load_text(t) || !mime_header_find(t->buf + t->root->hdr_offset, (size_t)t->root->hdr_size,
	                                        "Date", &f))
		return fallback;
	char *v = mime_unfold_dup(f.value, f.value_len);
	const char *p = v;
	while (*p == ' ')
		p++;
	/* the Date: header is RFC 5322 date-time: "Tue, 1 Jul 2003 10:52:37 +0200" */
	int day, year, hh, mm, ss;
	char mon[4], zs[8] = "+0000";
	const char *comma = strchr(p, ',');
	if (comma)
		p = comma + 1;
	int32_t result = fallback;
	if (sscanf(p, "%d %3s %d %d:%d:%d %7s", &day, mon, &year, &hh, &mm, &ss, zs) >= 6) {
		char imapdate[64];
		snprintf(imapdate, sizeof(imapdate), "%02d-%s-%04d %02d:%02d:%02d %s", day, mon, year, hh, mm,
		         ss, zs);
		if (imap_date_time_parse(imapdate, strlen(imapdate), &when, &zone))
			result = imap_day_of(when, zone);
	}
	free(v);
	return result;
}

static void split_keywords(const char *kw, char store[][256], const char *ptrs[], size_t *n)
{
	*n = 0;
	for (const char *p = kw; *p && *n < 32;) {
		size_t w = strcspn(p, " ");
		if (w > 0 && w < 256) {
			memcpy(store[*n], p, w);
			store[*n][w] = '\0';
			ptrs[*n] = store[*n];
			(*n)++;
		}
		p += w;
		while (*p == ' ')
			p++;
	}
}

void imap_cmd_search(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_search q;
	imap_command_args(cmd, &c);
	enum imap_search_status st = imap_search_parse(&q, &c, 0);
	if (st == IMAP_SEARCH_BADCHARSET) {
		imap_search_free(&q);
		imap_tagged(s, cmd->tag, "NO", "[BADCHARSET %s] Unsupported charset", IMAP_SEARCH_CHARSETS);
		return;
	}
	if (st != IMAP_SEARCH_OK) {
		imap_search_free(&q);
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Bad search criteria");
		return;
	}
	const struct imap_view *v = &s->view;
	struct imap_search_ctx ctx = {
		.max_seq = (uint32_t)v->n, .max_uid = v->n ? v->uids[v->n - 1] : 0, .saved = NULL,
		.text_match = text_match,
	};
	bool sent = uses_sent_date(q.root);
	struct mime_out hits;
	mime_out_init(&hits);
	uint32_t min = 0, max = 0;
	uint64_t count = 0, top_modseq = 0;
	int limit = s->cfg->imap.max_search_results;
	bool over = false;
	uint32_t *matches = NULL;
	for (size_t i = 0; i < v->n && !over; i++) {
		struct mbox_msg m;
		if (mbox_get(s->ms, &v->mb, v->uids[i], &m) != MBOX_OK)
			continue;
		struct text_ctx t = { .s = s, .m = &m };
		char kwstore[32][256];
		const char *kws[32];
		size_t nkw;
		split_keywords(m.keywords, kwstore, kws, &nkw);
		int32_t iday = imap_day_of(m.internaldate, 0);
		struct imap_search_msg sm = {
			.seq = (uint32_t)i + 1, .uid = m.uid, .flags = m.flags, .keywords = kws,
			.nkeywords = nkw, .size = m.size, .internal_day = iday,
			.sent_day = sent ? sent_day(&t, iday) : iday, .modseq = m.modseq,
		};
		ctx.arg = &t;
		if (imap_search_eval(&q, &sm, &ctx) == IMAP_TRI_YES) {
			uint32_t id = cmd->uid ? m.uid : (uint32_t)i + 1;
			if (count == 0)
				min = id;
			max = id;
			if (m.modseq > top_modseq)
				top_modseq = m.modseq;
			matches = xrealloc(matches, (count + 1) * sizeof(uint32_t));
			matches[count++] = id;
			over = limit > 0 && count > (uint64_t)limit;
		}
		unload(&t);
	}
	if (over) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Too many search results");
	} else if (q.esearch) {
		/* RFC 4731: * ESEARCH (TAG "x") UID MIN 1 MAX 9 COUNT 5 ALL 1:5 */
		struct evbuffer *out = bufferevent_get_output(s->bev);
		evbuffer_add_printf(out, "* ESEARCH (TAG \"%s\")%s", cmd->tag, cmd->uid ? " UID" : "");
		if ((q.ret & IMAP_SEARCH_RET_MIN) && count)
			evbuffer_add_printf(out, " MIN %u", min);
		if ((q.ret & IMAP_SEARCH_RET_MAX) && count)
			evbuffer_add_printf(out, " MAX %u", max);
		if (q.ret & IMAP_SEARCH_RET_COUNT)
			evbuffer_add_printf(out, " COUNT %llu", (unsigned long long)count);
		if ((q.ret & IMAP_SEARCH_RET_ALL || q.ret == 0) && count) {
			imap_uid_set_text(matches, count, &hits);
			mime_out_append(&hits, "", 1);
			evbuffer_add_printf(out, " ALL %s", hits.data);
		}
		if (q.uses_modseq && count)
			evbuffer_add_printf(out, " MODSEQ %llu", (unsigned long long)top_modseq);
		evbuffer_add(out, "\r\n", 2);
		imap_tagged(s, cmd->tag, "OK", "SEARCH completed");
	} else {
		struct evbuffer *out = bufferevent_get_output(s->bev);
		evbuffer_add_printf(out, "* SEARCH");
		for (uint64_t i = 0; i < count; i++)
			evbuffer_add_printf(out, " %u", matches[i]);
		if (q.uses_modseq && count)
			evbuffer_add_printf(out, " (MODSEQ %llu)", (unsigned long long)top_modseq);
		evbuffer_add(out, "\r\n", 2);
		imap_tagged(s, cmd->tag, "OK", "SEARCH completed");
	}
	free(matches);
	mime_out_free(&hits);
	imap_search_free(&q);
}
