/* SQLite implementation of the queue part of store.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "store/store_sqlite_int.h"

static const char *const status_names[] = { "pending", "delivered", "bounced" };

#define ROW_COLUMNS \
	"r.id, m.id, m.sender, r.rcpt, r.domain, m.path, r.status, r.last_error, m.size, " \
	"m.smtputf8, m.held, m.warned, r.attempts, m.created, r.next_attempt"

static const char *text_col(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

static void read_row(sqlite3_stmt *s, struct queue_row *r)
{
	r->rcpt_id = sqlite3_column_int64(s, 0);
	r->msg_id = text_col(s, 1);
	r->sender = text_col(s, 2);
	r->rcpt = text_col(s, 3);
	r->domain = text_col(s, 4);
	r->path = text_col(s, 5);
	r->status = text_col(s, 6);
	r->last_error = sqlite3_column_type(s, 7) == SQLITE_NULL ? NULL : text_col(s, 7);
	r->size = (unsigned long long)sqlite3_column_int64(s, 8);
	r->smtputf8 = sqlite3_column_int(s, 9) != 0;
	r->held = sqlite3_column_int(s, 10) != 0;
	r->warned = sqlite3_column_int(s, 11) != 0;
	r->attempts = sqlite3_column_int(s, 12);
	r->created = sqlite3_column_int64(s, 13);
	r->next_attempt = sqlite3_column_int64(s, 14);
}

/* Runs a row query; binds: text a (if non-NULL) as ?1, int n1 as ?2, int n2 as ?3. */
/* Runs a query for queue rows: ?1 the text a (when not NULL), ?2 .. ?4 the
 * numbers n1 .. n3 (those the query has). */
static int query_rows(struct store *st, const char *sql, const char *a, long long n1, long long n2,
                      long long n3, store_queue_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct queue_row row;
	int rc, count = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	if (a != NULL)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, n1);
	sqlite3_bind_int64(s, 3, n2);
	if (sqlite3_bind_parameter_count(s) >= 4)
		sqlite3_bind_int64(s, 4, n3);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		read_row(s, &row);
		cb(arg, &row);
		count++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? count : STORE_ERROR;
}

void store_set_durable(struct store *st)
{
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
}

static int insert_rcpt(sqlite3_stmt *s, const char *msg_id, const char *rcpt, long long now)
{
	const char *at = strrchr(rcpt, '@');
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, rcpt, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, at ? at + 1 : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, now);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
}

int store_queue_add(struct store *st, const struct queue_entry *e, char *err, size_t errlen)
{
	sqlite3_stmt *m = NULL, *r = NULL;
	int ok = 0;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(st, err, errlen, "queue begin");
	if (sqlite3_prepare_v2(st->db, "INSERT INTO queue_messages(id, sender, path, size, smtputf8, "
	                       "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &m, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(st->db, "INSERT INTO queue_rcpts(msg_id, rcpt, domain, next_attempt, "
	                       "updated) VALUES (?1, ?2, lower(?3), ?4, ?4)", -1, &r, NULL) == SQLITE_OK) {
		sqlite3_bind_text(m, 1, e->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(m, 2, e->sender, -1, SQLITE_STATIC);
		sqlite3_bind_text(m, 3, e->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(m, 4, (sqlite3_int64)e->size);
		sqlite3_bind_int(m, 5, e->smtputf8);
		sqlite3_bind_int64(m, 6, e->created);
		ok = sqlite3_step(m) == SQLITE_DONE;
		for (size_t i = 0; ok && i < e->nrcpts; i++)
			ok = insert_rcpt(r, e->id, e->rcpts[i], e->created) == 0;
	}
	sqlite3_finalize(m);
	sqlite3_finalize(r);
	if (!ok || sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_error(st, err, errlen, "queue insert");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_queue_due(struct store *st, long long now, int limit, int per_domain_rows,
                    store_queue_cb cb, void *arg)
{
	/* the oldest rows of every domain, at most per_domain_rows each: one
	 * domain's backlog (busy, or waiting for its connections) must not fill
	 * the batch and starve the others */
	return query_rows(st, "SELECT " ROW_COLUMNS " FROM queue_rcpts r JOIN queue_messages m "
	                  "ON m.id = r.msg_id WHERE r.id IN (SELECT id FROM (SELECT r2.id, "
	                  "row_number() OVER (PARTITION BY r2.domain ORDER BY r2.next_attempt, "
	                  "r2.id) AS n FROM queue_rcpts r2 JOIN queue_messages m2 "
	                  "ON m2.id = r2.msg_id WHERE r2.status = 'pending' AND m2.held = 0 "
	                  "AND r2.next_attempt <= ?2) WHERE n <= ?4) "
	                  "ORDER BY r.next_attempt, r.id LIMIT ?3", NULL, now, limit, per_domain_rows,
	                  cb, arg);
}

int store_queue_defer_domain(struct store *st, const char *domain, long long until)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "UPDATE queue_rcpts SET next_attempt = ?2 WHERE domain = ?1 "
	                       "AND status = 'pending' AND next_attempt < ?2", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, until);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_queue_update(struct store *st, long long rcpt_id, enum queue_status status, int attempts,
                       long long next_attempt, const char *last_error)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "UPDATE queue_rcpts SET status = ?1, attempts = ?2, "
	                       "next_attempt = ?3, last_error = ?4, updated = ?5 WHERE id = ?6",
	                       -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, status_names[status], -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, attempts);
	sqlite3_bind_int64(s, 3, next_attempt);
	if (last_error)
		sqlite3_bind_text(s, 4, last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (long long)time(NULL));
	sqlite3_bind_int64(s, 6, rcpt_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_queue_set_warned(struct store *st, const char *msg_id)
{
	const char *args[4] = { msg_id, NULL, NULL, NULL };
	return store_exec_write(st, "UPDATE queue_messages SET warned = 1 WHERE id = ?1", args,
	                        NULL, NULL, 0);
}

int store_queue_to_warn(struct store *st, long long before, store_queue_cb cb, void *arg)
{
	return query_rows(st, "SELECT " ROW_COLUMNS " FROM queue_rcpts r JOIN queue_messages m "
	                  "ON m.id = r.msg_id WHERE r.status = 'pending' AND m.warned = 0 "
	                  "AND m.created <= ?2 AND ?3 = ?3 ORDER BY m.id, r.id", NULL, before, 0, 0, cb, arg);
}

int store_queue_finished(struct store *st, store_queue_cb cb, void *arg)
{
	return query_rows(st, "SELECT " ROW_COLUMNS " FROM queue_rcpts r JOIN queue_messages m "
	                  "ON m.id = r.msg_id WHERE NOT EXISTS (SELECT 1 FROM queue_rcpts p WHERE "
	                  "p.msg_id = m.id AND p.status = 'pending') AND ?2 = ?3 ORDER BY m.id, r.id",
	                  NULL, 0, 0, 0, cb, arg);
}

int store_queue_list(struct store *st, const char *msg_id, store_queue_cb cb, void *arg)
{
	if (msg_id != NULL)
		return query_rows(st, "SELECT " ROW_COLUMNS " FROM queue_rcpts r JOIN queue_messages m "
		                  "ON m.id = r.msg_id WHERE m.id = ?1 AND ?2 = ?3 ORDER BY r.id",
		                  msg_id, 0, 0, 0, cb, arg);
	return query_rows(st, "SELECT " ROW_COLUMNS " FROM queue_rcpts r JOIN queue_messages m "
	                  "ON m.id = r.msg_id WHERE ?2 = ?3 ORDER BY m.created, m.id, r.id",
	                  NULL, 0, 0, 0, cb, arg);
}

int store_queue_retry(struct store *st, const char *msg_id)
{
	int changes = 0;
	const char *args[4] = { msg_id, NULL, NULL, NULL };
	int rc = msg_id
		? store_exec_write(st, "UPDATE queue_rcpts SET next_attempt = 0 WHERE msg_id = ?1 AND "
		                   "status = 'pending'", args, &changes, NULL, 0)
		: store_exec_write(st, "UPDATE queue_rcpts SET next_attempt = 0 WHERE status = 'pending'",
		                   args, &changes, NULL, 0);
	if (rc == STORE_OK && changes == 0 && msg_id != NULL)
		return STORE_NOT_FOUND;
	return rc;
}

int store_queue_hold(struct store *st, const char *msg_id, bool hold)
{
	int changes = 0;
	const char *args[4] = { msg_id, hold ? "1" : "0", NULL, NULL };
	int rc = store_exec_write(st, "UPDATE queue_messages SET held = ?2 WHERE id = ?1", args,
	                          &changes, NULL, 0);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_queue_delete(struct store *st, const char *msg_id, char *path_out, size_t pathlen)
{
	sqlite3_stmt *s;
	int found = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT path FROM queue_messages WHERE id = ?1", -1, &s,
	                       NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, msg_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(path_out, pathlen, "%s", text_col(s, 0));
		found = 1;
	}
	sqlite3_finalize(s);
	if (!found)
		return STORE_NOT_FOUND;
	const char *args[4] = { msg_id, NULL, NULL, NULL };
	/* no fsync needed: if this is lost in a crash, the finished message is
	 * found and removed again (its recipients are all marked done) */
	sqlite3_exec(st->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	int rc = store_exec_write(st, "DELETE FROM queue_messages WHERE id = ?1", args, NULL, NULL, 0);
	sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	return rc;
}

int store_queue_has_path(struct store *st, const char *path)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM queue_messages WHERE path = ?1", -1, &s,
	                       NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : STORE_ERROR;
}

/* ---- DKIM keys ---------------------------------------------------------------- */

int store_dkim_add(struct store *st, const char *domain, const char *selector,
                   const char *algorithm, const char *path, char *err, size_t errlen)
{
	char now[24];
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO dkim_keys(domain, selector, algorithm, path, "
	                       "created) VALUES (lower(?1), ?2, ?3, ?4, ?5)", -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, err, errlen, "prepare");
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, algorithm, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, store_now_text(now), -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT)
		return STORE_EXISTS;
	return store_db_error(st, err, errlen, "dkim insert");
}

int store_dkim_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                    char *err, size_t errlen)
{
	if (domain != NULL)
		return store_list_rows(st, "SELECT domain, selector, algorithm, path FROM dkim_keys "
		                       "WHERE domain = ?1 ORDER BY created, selector", domain, cb, arg,
		                       err, errlen);
	return store_list_rows(st, "SELECT domain, selector, algorithm, path FROM dkim_keys "
	                       "ORDER BY domain, created, selector", NULL, cb, arg, err, errlen);
}
