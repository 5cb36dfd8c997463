/* Mailbox index: the header cache (schema step 7) and SORT over it; see
 * mbox.h. Rows are keyed mailbox_id * 2^32 + uid, so a mailbox is one range
 * of the table, in UID order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "store/mbox_int.h"

#define KEY_OF(id, uid) "((" id ") << 32) + (" uid ")"
#define MAILBOX_RANGE(from_uid) \
	"key BETWEEN " KEY_OF("?1", from_uid) " AND " KEY_OF("?1", "4294967295")

static const char missing_count_sql[] =
	"SELECT max(n_messages - n_headers, 0) FROM mailboxes WHERE id = ?1";

int mbox_headers_missing_count(struct mbox_store *ms, const struct mbox_info *mb, uint32_t *n)
{
	sqlite3_stmt *s = mbox_stmt(ms, missing_count_sql);
	*n = 0;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	int rc = mbox_row_result(sqlite3_step(s));
	if (rc == MBOX_OK)
		*n = (uint32_t)sqlite3_column_int64(s, 0);
	mbox_stmt_done(s);
	return rc;
}

static const char missing_sql[] =
	"SELECT uid, flags, internaldate, size, base FROM messages AS m "
	"WHERE mailbox_id = ?1 AND uid > ?2 AND NOT EXISTS "
	"(SELECT 1 FROM headers WHERE key = " KEY_OF("?1", "m.uid") ") ORDER BY uid LIMIT ?3";

int mbox_headers_missing(struct mbox_store *ms, const struct mbox_info *mb, uint32_t after_uid,
                         size_t max, mbox_msg_cb cb, void *arg)
{
	sqlite3_stmt *s = mbox_stmt(ms, missing_sql);
	struct mbox_msg m;
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, after_uid);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.uid = (uint32_t)sqlite3_column_int64(s, 0);
		m.flags = (uint32_t)sqlite3_column_int64(s, 1);
		m.internaldate = sqlite3_column_int64(s, 2);
		m.size = (uint64_t)sqlite3_column_int64(s, 3);
		str_copy(m.base, sizeof(m.base), (const char *)sqlite3_column_text(s, 4));
		cb(arg, &m);
	}
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* arrival and size come from the message's row: no row, nothing written */
static const char put_sql[] =
	"INSERT OR IGNORE INTO headers(key, arrival, size, sort_date, sent_day, reply, complete, "
	"sort_subject, sort_from, sort_to, sort_cc, sort_display_from, sort_display_to, "
	"subject, from_, to_, cc, bcc, from_addrs, to_addrs, cc_addrs, bcc_addrs, "
	"message_id, in_reply_to, refs, date) "
	"SELECT " KEY_OF("?1", "?2") ", internaldate, size, coalesce(?3, internaldate), ?4, ?5, ?6, "
	"?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25 "
	"FROM messages WHERE mailbox_id = ?1 AND uid = ?2";

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static int put_row(struct mbox_store *ms, const struct mbox_info *mb, const struct mbox_headers *h)
{
	sqlite3_stmt *s = mbox_stmt(ms, put_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, h->uid);
	if (h->has_sent_time)
		sqlite3_bind_int64(s, 3, h->sent_time);
	if (h->has_sent_day)
		sqlite3_bind_int64(s, 4, h->sent_day);
	sqlite3_bind_int(s, 5, h->reply);
	sqlite3_bind_int(s, 6, h->complete);
	const char *const text[] = {
		h->sort_subject, h->sort_from, h->sort_to, h->sort_cc, h->sort_display_from,
		h->sort_display_to, h->subject, h->from, h->to, h->cc, h->bcc, h->from_addrs,
		h->to_addrs, h->cc_addrs, h->bcc_addrs, h->message_id, h->in_reply_to, h->references,
		h->date,
	};
	for (size_t i = 0; i < ARRAY_LEN(text); i++)
		bind_text(s, 7 + (int)i, i < 6 && text[i] == NULL ? "" : text[i]);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* Many rows go into the table and its eight SORT indexes at places all over
 * them: with the connection's small page cache (mbox_open: 32 KiB) every
 * insert would read its pages again. A bigger one while they are written,
 * given back after. */
#define PUT_MANY 64
#define PUT_CACHE "PRAGMA cache_size=-4096"
#define USUAL_CACHE "PRAGMA cache_size=-32"

int mbox_headers_put(struct mbox_store *ms, const struct mbox_info *mb,
                     const struct mbox_headers *rows, size_t n)
{
	if (n == 0 || ms->read_batch)
		return MBOX_OK;
	if (n >= PUT_MANY)
		sqlite3_exec(ms->db, PUT_CACHE, NULL, NULL, NULL);
	int rc = MBOX_ERROR;
	if (sqlite3_exec(ms->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
		rc = MBOX_OK;
		for (size_t i = 0; i < n && rc == MBOX_OK; i++)
			rc = put_row(ms, mb, &rows[i]);
		if (sqlite3_exec(ms->db, rc == MBOX_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
			rc = MBOX_ERROR;
		}
	}
	if (n >= PUT_MANY)
		sqlite3_exec(ms->db, USUAL_CACHE, NULL, NULL, NULL);
	return rc;
}

/* ---- reading ---- */

static const char read_sql[] =
	"SELECT key & 4294967295, arrival, size, sort_date, sent_day, reply, complete, sort_subject, "
	"subject, from_, to_, cc, bcc, from_addrs, to_addrs, cc_addrs, bcc_addrs, message_id, "
	"in_reply_to, refs, date FROM headers WHERE " MAILBOX_RANGE("?2") " ORDER BY key LIMIT ?3";

/* Only the strings asked for are taken out of the row: each costs a
 * conversion, and a search wants one or two of them. */
static void read_row(sqlite3_stmt *s, unsigned fields, struct mbox_headers *h)
{
	const char **text[MBOX_HF_TEXT_COUNT] = {
		&h->subject, &h->from, &h->to, &h->cc, &h->bcc, &h->from_addrs, &h->to_addrs,
		&h->cc_addrs, &h->bcc_addrs, &h->message_id, &h->in_reply_to, &h->references, &h->date,
	};
	memset(h, 0, sizeof(*h));
	h->uid = (uint32_t)sqlite3_column_int64(s, 0);
	h->arrival = sqlite3_column_int64(s, 1);
	h->size = (uint64_t)sqlite3_column_int64(s, 2);
	h->sort_date = sqlite3_column_int64(s, 3);
	h->has_sent_day = sqlite3_column_type(s, 4) != SQLITE_NULL;
	h->sent_day = (int32_t)sqlite3_column_int64(s, 4);
	h->reply = sqlite3_column_int(s, 5) != 0;
	h->complete = sqlite3_column_int(s, 6) != 0;
	if (fields & MBOX_HF_SORT_SUBJECT)
		h->sort_subject = (const char *)sqlite3_column_text(s, 7);
	for (int i = 0; i < MBOX_HF_TEXT_COUNT; i++)
		if (fields & (1u << i))
			*text[i] = (const char *)sqlite3_column_text(s, 8 + i);   /* NULL for NULL */
}

int mbox_headers_read(struct mbox_store *ms, const struct mbox_info *mb, unsigned fields,
                      uint32_t from_uid, size_t max,
                      void (*cb)(void *arg, const struct mbox_headers *h), void *arg)
{
	sqlite3_stmt *s = mbox_stmt(ms, read_sql);
	struct mbox_headers h;
	int rc;
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	sqlite3_bind_int64(s, 2, from_uid);
	sqlite3_bind_int64(s, 3, max > 0 ? (sqlite3_int64)max : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_row(s, fields, &h);
		cb(arg, &h);
	}
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* ---- SORT ---- */

static const char *sort_column(enum mbox_sort_key k)
{
	switch (k) {
	case MBOX_SORT_ARRIVAL: return "arrival";
	case MBOX_SORT_CC: return "sort_cc";
	case MBOX_SORT_DATE: return "sort_date";
	case MBOX_SORT_FROM: return "sort_from";
	case MBOX_SORT_SIZE: return "size";
	case MBOX_SORT_SUBJECT: return "sort_subject";
	case MBOX_SORT_TO: return "sort_to";
	case MBOX_SORT_DISPLAYFROM: return "sort_display_from";
	case MBOX_SORT_DISPLAYTO: return "sort_display_to";
	}
	return "key";
}

/* Keys with an index (key >> 32, column, key): step 7 of the schema. */
static bool has_index(enum mbox_sort_key k)
{
	return k != MBOX_SORT_CC;
}

static bool is_text(enum mbox_sort_key k)
{
	return k != MBOX_SORT_ARRIVAL && k != MBOX_SORT_DATE && k != MBOX_SORT_SIZE;
}

/* Several keys: the rows of the mailbox's range sorted, ties by key, which
 * is UID order. The strings were casemapped when written, so the octet
 * order is the collation's. */
static int sort_rows(struct mbox_store *ms, const struct mbox_info *mb,
                     const struct mbox_sort_spec *keys, size_t n,
                     void (*cb)(void *arg, uint32_t uid), void *arg)
{
	struct buf sql;
	sqlite3_stmt *s;
	buf_init(&sql);
	/* the range of the mailbox's rows, not an index of the first key: each
	 * of its entries would cost a row lookup for the next keys */
	buf_puts(&sql, "SELECT key & 4294967295 FROM headers NOT INDEXED WHERE " MAILBOX_RANGE("0")
	         " ORDER BY ");
	for (size_t i = 0; i < n; i++) {
		buf_puts(&sql, sort_column(keys[i].key));
		buf_puts(&sql, keys[i].reverse ? " DESC, " : ", ");
	}
	buf_puts(&sql, "key");
	int rc = sqlite3_prepare_v2(ms->db, sql.data, -1, &s, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(arg, (uint32_t)sqlite3_column_int64(s, 0));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

/* The UIDs of one run of equal keys, kept until the run ends (REVERSE). */
struct run_buf {
	uint32_t *uids;
	size_t n, cap;
	size_t *starts;             /* where each run begins */
	size_t nruns, capruns;
};

static void run_push(struct run_buf *r, uint32_t uid, bool new_run)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->uids = xrealloc(r->uids, r->cap * sizeof(uint32_t));
	}
	if (new_run) {
		if (r->nruns == r->capruns) {
			r->capruns = r->capruns ? r->capruns * 2 : 256;
			r->starts = xrealloc(r->starts, r->capruns * sizeof(size_t));
		}
		r->starts[r->nruns++] = r->n;
	}
	r->uids[r->n++] = uid;
}

/* One key: its index is walked in (key, UID) order, which is the answer.
 * REVERSE turns the order of the runs of equal keys around, but not the UID
 * order within a run (RFC 5256 3: ties stay in mailbox order). */
static int sort_by_index(struct mbox_store *ms, const struct mbox_info *mb,
                         const struct mbox_sort_spec *key,
                         void (*cb)(void *arg, uint32_t uid), void *arg)
{
	char sql[256];
	sqlite3_stmt *s;
	const char *col = sort_column(key->key);
	snprintf(sql, sizeof(sql), "SELECT key & 4294967295, %s FROM headers INDEXED BY headers_%s "
	         "WHERE key >> 32 = ?1 ORDER BY %s, key", col,
	         col + (strncmp(col, "sort_", 5) == 0 ? 5 : 0), col);
	if (sqlite3_prepare_v2(ms->db, sql, -1, &s, NULL) != SQLITE_OK)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, mb->id);
	struct run_buf r = { 0 };
	struct buf prev = { 0 };
	long long prev_int = 0;
	int rc;
	bool text = is_text(key->key);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(s, 0);
		if (!key->reverse) {
			cb(arg, uid);
			continue;
		}
		bool same;
		if (text) {
			const char *v = (const char *)sqlite3_column_text(s, 1);
			size_t len = (size_t)sqlite3_column_bytes(s, 1);
			same = r.n > 0 && prev.len == len && memcmp(prev.data, v, len) == 0;
			if (!same) {
				buf_reset(&prev);
				buf_append(&prev, v, len);
			}
		} else {
			long long v = sqlite3_column_int64(s, 1);
			same = r.n > 0 && v == prev_int;
			prev_int = v;
		}
		run_push(&r, uid, !same);
	}
	sqlite3_finalize(s);
	for (size_t k = r.nruns; rc == SQLITE_DONE && k-- > 0;) {
		size_t end = k + 1 < r.nruns ? r.starts[k + 1] : r.n;
		for (size_t i = r.starts[k]; i < end; i++)
			cb(arg, r.uids[i]);
	}
	free(r.uids);
	free(r.starts);
	buf_free(&prev);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}

int mbox_sort(struct mbox_store *ms, const struct mbox_info *mb, const struct mbox_sort_spec *keys,
              size_t n, void (*cb)(void *arg, uint32_t uid), void *arg)
{
	if (n > MBOX_SORT_KEYS_MAX)
		return MBOX_INVALID;
	if (n == 1 && has_index(keys[0].key))
		return sort_by_index(ms, mb, &keys[0], cb, arg);
	return sort_rows(ms, mb, keys, n, cb, arg);
}

/* ---- COPY ---- */

#define ROW_COLUMNS "arrival, size, sort_date, sent_day, reply, complete, sort_subject, " \
	"sort_from, sort_to, sort_cc, sort_display_from, sort_display_to, subject, from_, to_, " \
	"cc, bcc, from_addrs, to_addrs, cc_addrs, bcc_addrs, message_id, in_reply_to, refs, date"

static const char copy_sql[] =
	"INSERT OR IGNORE INTO headers(key, " ROW_COLUMNS ") SELECT " KEY_OF("?3", "?4") ", "
	ROW_COLUMNS " FROM headers WHERE key = " KEY_OF("?1", "?2");

int mbox_headers_copy_locked(struct mbox_store *ms, long long from_id, uint32_t uid,
                             long long to_id, uint32_t new_uid)
{
	sqlite3_stmt *s = mbox_stmt(ms, copy_sql);
	if (s == NULL)
		return MBOX_ERROR;
	sqlite3_bind_int64(s, 1, from_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, to_id);
	sqlite3_bind_int64(s, 4, new_uid);
	int rc = sqlite3_step(s);
	mbox_stmt_done(s);
	return rc == SQLITE_DONE ? MBOX_OK : MBOX_ERROR;
}
