/* SQLite implementation of the quota part of store.h: users' own limits
 * (two columns of users) and usage (quota_usage, schema step 4). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_sqlite_int.h"

static void read_quota(sqlite3_stmt *s, void *arg)
{
	struct store_quota *out = arg;
	memset(out, 0, sizeof(*out));
	out->own_storage_limit = sqlite3_column_type(s, 0) != SQLITE_NULL;
	out->own_message_limit = sqlite3_column_type(s, 1) != SQLITE_NULL;
	out->storage_limit = (uint64_t)sqlite3_column_int64(s, 0);
	out->message_limit = (uint64_t)sqlite3_column_int64(s, 1);
	out->storage = (uint64_t)sqlite3_column_int64(s, 2);
	out->messages = (uint64_t)sqlite3_column_int64(s, 3);
	out->warned = sqlite3_column_int(s, 4) != 0;
}

int store_quota_get(struct store *st, const char *local, const char *domain, struct store_quota *out)
{
	return store_user_row(st->stmt[Q_QUOTA_GET], local, domain, read_quota, out);
}

int store_quota_set_limit(struct store *st, const char *local, const char *domain,
                          enum store_quota_resource res, const uint64_t *limit,
                          char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const char *sql = res == STORE_QUOTA_STORAGE
		? "UPDATE users SET quota_storage = ?3 WHERE local = ?1 AND domain = ?2"
		: "UPDATE users SET quota_messages = ?3 WHERE local = ?1 AND domain = ?2";
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, err, errlen, "prepare");
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	if (limit != NULL)
		sqlite3_bind_int64(s, 3, (sqlite3_int64)*limit);   /* else NULL: the default */
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_db_error(st, err, errlen, "write");
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

#define QUOTA_LIST_COLUMNS \
	"SELECT u.local || '@' || u.domain, " \
	"coalesce(q.storage, 0) + max(coalesce(q.pending_storage, 0), 0), " \
	"coalesce(u.quota_storage, ''), " \
	"coalesce(q.messages, 0) + max(coalesce(q.pending_messages, 0), 0), " \
	"coalesce(u.quota_messages, '') FROM users u LEFT JOIN quota_usage q " \
	"ON q.local = u.local AND q.domain = u.domain "

int store_quota_list(struct store *st, const char *domain, store_row_cb cb, void *arg,
                     char *err, size_t errlen)
{
	if (domain != NULL)
		return store_list_rows(st, QUOTA_LIST_COLUMNS "WHERE u.domain = ?1 "
		                       "ORDER BY u.domain, u.local", domain, cb, arg, err, errlen);
	return store_list_rows(st, QUOTA_LIST_COLUMNS "ORDER BY u.domain, u.local", NULL, cb, arg,
	                       err, errlen);
}

int store_quota_pending(struct store *st, const char *local, const char *domain,
                        struct store_quota_delta *out)
{
	sqlite3_stmt *s;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(st->db, "SELECT pending_storage, pending_messages FROM quota_usage "
	                       "WHERE local = ?1 AND domain = ?2", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->storage = sqlite3_column_int64(s, 0);
		out->messages = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* STORE_OK, STORE_NOT_FOUND when the user is gone (the foreign key), else STORE_ERROR. */
static int step_write(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	return sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_FOREIGNKEY ? STORE_NOT_FOUND
	                                                                         : STORE_ERROR;
}

int store_quota_set_indexed(struct store *st, const char *local, const char *domain,
                            uint64_t storage, uint64_t messages,
                            const struct store_quota_delta *claimed)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	                       "INSERT INTO quota_usage(local, domain, storage, messages, "
	                       "pending_storage, pending_messages) "
	                       "VALUES (lower(?1), lower(?2), ?3, ?4, -?5, -?6) "
	                       "ON CONFLICT(local, domain) DO UPDATE SET storage = ?3, messages = ?4, "
	                       "pending_storage = pending_storage - ?5, "
	                       "pending_messages = pending_messages - ?6");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)storage);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)messages);
	sqlite3_bind_int64(s, 5, claimed ? claimed->storage : 0);
	sqlite3_bind_int64(s, 6, claimed ? claimed->messages : 0);
	int rc = step_write(st, s);
	stmt_cache_done(s);
	return rc;
}

/* ---- deliveries ------------------------------------------------------------ */

static int count_delivery(struct store *st, sqlite3_stmt *add, const struct store_quota_delivery *d)
{
	sqlite3_reset(add);
	sqlite3_bind_text(add, 1, d->local, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 2, d->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(add, 3, (sqlite3_int64)d->size);
	return step_write(st, add);
}

static int set_warned(struct store *st, sqlite3_stmt *flag, const struct store_quota_delivery *d,
                      bool on)
{
	sqlite3_reset(flag);
	sqlite3_bind_int(flag, 1, on);
	sqlite3_bind_text(flag, 2, d->local, -1, SQLITE_STATIC);
	sqlite3_bind_text(flag, 3, d->domain, -1, SQLITE_STATIC);
	return step_write(st, flag);
}

/* One delivery: counted, then its user's state read back for warn(). */
static int add_one(struct store *st, sqlite3_stmt *add, sqlite3_stmt *flag,
                   const struct store_quota_delivery *d, size_t i, store_quota_warn_fn warn,
                   void *arg)
{
	struct store_quota after;
	int rc = count_delivery(st, add, d);
	if (rc != STORE_OK || warn == NULL)
		return rc == STORE_NOT_FOUND ? STORE_OK : rc;   /* a user deleted meanwhile */
	rc = store_quota_get(st, d->local, d->domain, &after);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? STORE_OK : rc;
	int verdict = warn(arg, i, &after);
	if (verdict != 0 && (verdict > 0) != after.warned)
		rc = set_warned(st, flag, d, verdict > 0);
	return rc;
}

int store_quota_add_deliveries(struct store *st, const struct store_quota_delivery *d, size_t n,
                               store_quota_warn_fn warn, void *arg)
{
	sqlite3_stmt *add = NULL, *flag = NULL;
	if (n == 0)
		return STORE_OK;
	if (sqlite3_prepare_v2(st->db,
	                       "INSERT INTO quota_usage(local, domain, pending_storage, pending_messages) "
	                       "VALUES (lower(?1), lower(?2), ?3, 1) ON CONFLICT(local, domain) DO UPDATE "
	                       "SET pending_storage = pending_storage + ?3, "
	                       "pending_messages = pending_messages + 1", -1, &add, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "UPDATE quota_usage SET warned = ?1 "
	                       "WHERE local = ?2 AND domain = ?3", -1, &flag, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_finalize(add);
		sqlite3_finalize(flag);
		return STORE_ERROR;
	}
	int rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = add_one(st, add, flag, &d[i], i, warn, arg);
	sqlite3_finalize(add);
	sqlite3_finalize(flag);
	if (rc == STORE_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return STORE_OK;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERROR;
}
