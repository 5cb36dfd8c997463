/* SQLite implementation of store_ban.h: the tables of schema step 10. */
#include "store/store_ban.h"

#include <string.h>

#include "store/store_sqlite_int.h"

static bool row_valid(const struct store_ban *r)
{
	return r->key != NULL && r->reason != NULL && r->source != NULL && r->key[0] != '\0' &&
	       strlen(r->key) <= STORE_BAN_KEY_MAX && strlen(r->reason) <= STORE_BAN_REASON_MAX &&
	       strlen(r->source) <= STORE_BAN_SOURCE_MAX;
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	stmt_cache_done(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int put_one(struct store *st, const struct store_ban *r)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "INSERT INTO bans(key, until_ms, created_ms, offences, reason, source) "
	        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO UPDATE SET "
	        "until_ms = excluded.until_ms, created_ms = excluded.created_ms, "
	        "offences = excluded.offences, reason = excluded.reason, source = excluded.source");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, r->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->until_ms);
	sqlite3_bind_int64(s, 3, r->created_ms);
	sqlite3_bind_int(s, 4, r->offences);
	sqlite3_bind_text(s, 5, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->source, -1, SQLITE_STATIC);
	return step_done(s);
}

int store_ban_generation(struct store *st, long long *generation)
{
	return store_read_int64(st, "SELECT n FROM ban_generation", generation);
}

int store_ban_put(struct store *st, const struct store_ban *rows, size_t n, long long *generation)
{
	for (size_t i = 0; i < n; i++)
		if (!row_valid(&rows[i]))
			return STORE_INVALID;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERROR;
	int rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = put_one(st, &rows[i]);
	/* read inside the transaction: no other writer's change can hide behind ours */
	if (rc == STORE_OK)
		rc = store_ban_generation(st, generation);
	if (rc == STORE_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return STORE_OK;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERROR;
}

int store_ban_del(struct store *st, const char *key)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db, "DELETE FROM bans WHERE key = ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (step_done(s) != STORE_OK)
		return STORE_ERROR;
	return sqlite3_changes(st->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

static const char *text_col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t != NULL ? (const char *)t : "";
}

int store_ban_list(struct store *st, store_ban_fn fn, void *arg, long long *generation)
{
	/* one read transaction: the rows and the generation agree */
	if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERROR;
	int rc = store_ban_generation(st, generation);
	sqlite3_stmt *s = rc == STORE_OK ? stmt_cache_get(&st->stmts, st->db,
	        "SELECT key, until_ms, created_ms, offences, reason, source FROM bans ORDER BY key")
	        : NULL;
	if (s == NULL) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_ERROR;
	}
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_ban r = {
			.key = text_col(s, 0), .until_ms = sqlite3_column_int64(s, 1),
			.created_ms = sqlite3_column_int64(s, 2), .offences = sqlite3_column_int(s, 3),
			.reason = text_col(s, 4), .source = text_col(s, 5),
		};
		fn(arg, &r);
	}
	stmt_cache_done(s);
	sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
	return step == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_ban_forget(struct store *st, long long before)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db, "DELETE FROM bans WHERE until_ms < ?1");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before);
	if (step_done(s) != STORE_OK)
		return STORE_ERROR;
	return sqlite3_changes(st->db);
}
