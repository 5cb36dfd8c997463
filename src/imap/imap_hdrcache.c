/* Filling the header cache of the mailbox index; see imap_hdrcache.h. */
#include "imap/imap_hdrcache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/casemap.h"
#include "core/util.h"
#include "imap/imap_session.h"
#include "mail/header.h"
#include "mail/summary.h"

/* Messages looked up at a time, and at most written per transaction: one
 * transaction per time slice (not per few messages) keeps the writes of the
 * table and its SORT indexes together. */
#define FILL_LOOKUP 32
#define FILL_MAX 1024

/* One row being made: the summary owns the text, keys the casemapped keys. */
struct row {
	struct mbox_headers h;
	struct mail_summary sum;
	char *keys[6];
};

/* Cuts s to at most max octets at a character boundary; false when it had to. */
static bool cut_head(char *s, size_t max)
{
	if (s == NULL || strlen(s) <= max)
		return true;
	size_t n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
	return false;
}

/* References keep their end: the nearest ancestors are what threading needs
 * most. Cut at a '<', so no id is left half. */
static bool cut_tail(char *s, size_t max)
{
	size_t len = s != NULL ? strlen(s) : 0;
	if (len <= max)
		return true;
	char *from = strchr(s + (len - max), '<');
	size_t keep = from != NULL ? strlen(from) : 0;
	memmove(s, from != NULL ? from : s + len, keep + 1);
	return false;
}

static char *sort_key(const char *s)
{
	struct buf b;
	buf_init(&b);
	casemap_append(&b, s, strlen(s));
	cut_head(b.data, IMAP_HDRCACHE_KEY_MAX);
	return b.data;
}

static void row_make(struct row *r, uint32_t uid, const char *hdr, size_t len, bool whole)
{
	struct mail_summary *m = &r->sum;
	mail_summary_read(m, hdr, len);
	bool complete = whole;
	char *const fields[] = {
		m->subject, m->from, m->to, m->cc, m->bcc, m->from_addrs, m->to_addrs, m->cc_addrs,
		m->bcc_addrs, m->message_id, m->in_reply_to, m->date,
	};
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		complete &= cut_head(fields[i], IMAP_HDRCACHE_FIELD_MAX);
	complete &= cut_tail(m->references, IMAP_HDRCACHE_FIELD_MAX);
	const char *const keys[6] = { m->base_subject, m->first_from, m->first_to, m->first_cc,
	                              m->display_from, m->display_to };
	for (size_t i = 0; i < 6; i++)
		r->keys[i] = sort_key(keys[i]);
	r->h = (struct mbox_headers){
		.uid = uid, .has_sent_time = m->has_date, .sent_time = m->sent_time,
		.has_sent_day = m->has_date, .sent_day = m->sent_day, .reply = m->reply_or_fwd,
		.complete = complete,
		.sort_subject = r->keys[0], .sort_from = r->keys[1], .sort_to = r->keys[2],
		.sort_cc = r->keys[3], .sort_display_from = r->keys[4], .sort_display_to = r->keys[5],
		.subject = m->subject, .from = m->from, .to = m->to, .cc = m->cc, .bcc = m->bcc,
		.from_addrs = m->from_addrs, .to_addrs = m->to_addrs, .cc_addrs = m->cc_addrs,
		.bcc_addrs = m->bcc_addrs, .message_id = m->message_id, .in_reply_to = m->in_reply_to,
		.references = m->references, .date = m->date,
	};
}

static void row_free(struct row *r)
{
	mail_summary_free(&r->sum);
	for (size_t i = 0; i < 6; i++)
		free(r->keys[i]);
}

/* The header block of a message file, read until its empty line or
 * IMAP_HDRCACHE_HEADER_MAX octets (*whole false then); NULL when unreadable. */
static char *read_header(const char *path, size_t *len, bool *whole)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 8192, got = 0, scan = 0, hdr_len = 0, body = 0;
	char *buf = xmalloc(cap + 1);
	*whole = false;
	for (;;) {
		if (got == cap) {
			if (cap >= IMAP_HDRCACHE_HEADER_MAX)
				break;
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + got, cap - got);
		if (n <= 0) {
			*whole = n == 0;    /* a message that is all header */
			break;
		}
		got += (size_t)n;
		if (mail_header_block_end(buf, got, &scan, &hdr_len, &body)) {
			got = hdr_len;
			*whole = true;
			break;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* ---- filling ---- */

struct batch {
	struct imap_session *s;
	const struct mbox_info *mb;
	struct row *rows;           /* FILL_MAX */
	size_t n;
	uint32_t last_uid;
};

/* A message without a row: read its file. One that cannot be read gets an
 * empty, incomplete row all the same, so SORT still lists it and SEARCH
 * goes to the file (which finds nothing either). */
static void fill_one(void *arg, const struct mbox_msg *m)
{
	struct batch *b = arg;
	struct mbox_msg located = *m;
	char *hdr = NULL;
	size_t len = 0;
	bool whole = false;
	if (mbox_locate(b->s->view.ref.ms, b->mb, &located) == 0)
		hdr = read_header(located.path, &len, &whole);
	row_make(&b->rows[b->n++], m->uid, hdr != NULL ? hdr : "", len, hdr != NULL && whole);
	b->last_uid = m->uid;
	free(hdr);
}

/* Writes the rows made, in one transaction. */
static void batch_flush(struct batch *b)
{
	struct mbox_headers *h = xcalloc(b->n + 1, sizeof(*h));
	for (size_t i = 0; i < b->n; i++)
		h[i] = b->rows[i].h;
	mbox_headers_put(b->s->view.ref.ms, b->mb, h, b->n);
	for (size_t i = 0; i < b->n; i++)
		row_free(&b->rows[i]);
	free(h);
	b->n = 0;
}

bool imap_hdrcache_fill(struct imap_session *s, const struct mbox_info *mb, uint32_t *after_uid,
                        uint64_t deadline_ms)
{
	struct batch b = { .s = s, .mb = mb, .rows = xcalloc(FILL_MAX, sizeof(struct row)),
	                   .n = 0, .last_uid = *after_uid };
	bool done = false;
	for (;;) {
		size_t before = b.n;
		int rc = mbox_headers_missing(s->view.ref.ms, mb, b.last_uid, FILL_LOOKUP, fill_one, &b);
		if (rc != MBOX_OK) {
			done = true;    /* the index cannot tell: answer with what there is */
			break;
		}
		if (b.n - before < FILL_LOOKUP) {
			done = true;
			break;
		}
		if (b.n + FILL_LOOKUP > FILL_MAX || now_ms() >= deadline_ms)
			break;
	}
	batch_flush(&b);
	*after_uid = b.last_uid;
	free(b.rows);
	return done;
}

void imap_hdrcache_catch_up(struct imap_session *s, const struct mbox_info *mb)
{
	uint32_t missing = 0, after = 0;
	if (mbox_headers_missing_count(s->view.ref.ms, mb, &missing) == MBOX_OK && missing > 0)
		imap_hdrcache_fill(s, mb, &after, now_ms() + IMAP_HDRCACHE_CATCH_UP_MS);
}

void imap_hdrcache_put_message(struct mbox_store *ms, const struct mbox_info *mb, uint32_t uid,
                               const char *msg, size_t len)
{
	struct row r;
	size_t scan = 0, hdr_len = len, body;
	if (!mail_header_block_end(msg, len, &scan, &hdr_len, &body))
		hdr_len = len;      /* no empty line: all header */
	bool whole = hdr_len <= IMAP_HDRCACHE_HEADER_MAX;
	if (!whole)
		hdr_len = IMAP_HDRCACHE_HEADER_MAX;
	row_make(&r, uid, msg, hdr_len, whole);
	mbox_headers_put(ms, mb, &r.h, 1);
	row_free(&r);
}
