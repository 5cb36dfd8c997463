/* SQLite implementation of store_auth.h: the auth rate limiter's state in
 * the tables auth_failures(kind, key, ts) and auth_blocks(kind, key, until,
 * reason, created) of schema version 3, and the known networks in
 * auth_known_networks(user, network, last_login) of version 10. */
#include "store/store_auth.h"

#include <time.h>

#include "core/util.h"
#include "store/store_sqlite_int.h"

/* The statement for sql (a string constant: every login runs these, so they
 * are prepared once per connection) with kind bound as ?1 and key as ?2. */
static int prepare_key(struct store *st, const char *sql, const char *kind, const char *key,
                       sqlite3_stmt **s)
{
	if ((*s = stmt_cache_get(&st->stmts, st->db, sql)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(*s, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(*s, 2, key, -1, SQLITE_STATIC);
	return STORE_OK;
}

/* Steps a write statement to completion and gives it back to the cache. */
static int finish_write(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	stmt_cache_done(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_auth_add_failure(struct store *st, const char *kind, const char *key, long long ts_ms)
{
	sqlite3_stmt *s;
	if (prepare_key(st, "INSERT INTO auth_failures(kind, key, ts) VALUES (?1, ?2, ?3)",
	                kind, key, &s) < 0)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 3, ts_ms);
	return finish_write(s);
}

int store_auth_count_failures(struct store *st, const char *kind, const char *key,
                              long long since_ms)
{
	sqlite3_stmt *s;
	int result = STORE_ERROR;
	/* served by the index auth_failures_key(kind, key, ts) */
	if (prepare_key(st, "SELECT count(*) FROM auth_failures WHERE kind = ?1 AND key = ?2 "
	                "AND ts >= ?3", kind, key, &s) < 0)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 3, since_ms);
	if (sqlite3_step(s) == SQLITE_ROW) {
		long long n = sqlite3_column_int64(s, 0);
		result = n > 1000000000 ? 1000000000 : (int)n;
	}
	stmt_cache_done(s);
	return result;
}

int store_auth_block(struct store *st, const char *kind, const char *key, long long until_ms,
                     const char *reason)
{
	sqlite3_stmt *s;
	/* a shorter block never cuts a longer one short; a block that replaces an
	 * older one brings its own reason and creation time */
	if (prepare_key(st, "INSERT INTO auth_blocks(kind, key, until, reason, created) "
	                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(kind, key) DO UPDATE SET "
	                "reason = CASE WHEN excluded.until > until THEN excluded.reason ELSE reason END, "
	                "created = CASE WHEN excluded.until > until THEN excluded.created ELSE created END, "
	                "until = max(until, excluded.until)", kind, key, &s) < 0)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 3, until_ms);
	sqlite3_bind_text(s, 4, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, wall_ms());
	return finish_write(s);
}

long long store_auth_blocked_until(struct store *st, const char *kind, const char *key,
                                   long long now_ms)
{
	sqlite3_stmt *s;
	long long result = -1;
	if (prepare_key(st, "SELECT until FROM auth_blocks WHERE kind = ?1 AND key = ?2 "
	                "AND until > ?3", kind, key, &s) < 0)
		return -1;
	sqlite3_bind_int64(s, 3, now_ms);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		result = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		result = 0;
	stmt_cache_done(s);
	return result;
}

static int delete_key(struct store *st, const char *sql, const char *kind, const char *key,
                      int *changes)
{
	sqlite3_stmt *s;
	if (prepare_key(st, sql, kind, key, &s) < 0 || finish_write(s) < 0)
		return STORE_ERROR;
	*changes += sqlite3_changes(st->db);
	return STORE_OK;
}

int store_auth_unblock(struct store *st, const char *kind, const char *key)
{
	int changes = 0;
	/* a savepoint rather than BEGIN: it nests if a caller holds a transaction */
	if (sqlite3_exec(st->db, "SAVEPOINT auth_unblock", NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERROR;
	if (delete_key(st, "DELETE FROM auth_blocks WHERE kind = ?1 AND key = ?2", kind, key,
	               &changes) < 0 ||
	    delete_key(st, "DELETE FROM auth_failures WHERE kind = ?1 AND key = ?2", kind, key,
	               &changes) < 0 ||
	    sqlite3_exec(st->db, "RELEASE auth_unblock", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(st->db, "ROLLBACK TO auth_unblock; RELEASE auth_unblock", NULL, NULL, NULL);
		return STORE_ERROR;
	}
	return changes > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int store_auth_clear_failures(struct store *st, const char *kind, const char *key)
{
	int changes = 0;
	return delete_key(st, "DELETE FROM auth_failures WHERE kind = ?1 AND key = ?2", kind, key,
	                  &changes);
}

int store_auth_list_blocks(struct store *st, long long now_ms, store_row_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc, count = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT kind, key, until, reason FROM auth_blocks "
	                       "WHERE until > ?1 ORDER BY kind, key", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, now_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *cols[4];
		for (int i = 0; i < 4; i++) {
			const char *t = (const char *)sqlite3_column_text(s, i);
			cols[i] = t ? t : "";
		}
		cb(arg, cols);
		count++;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? count : STORE_ERROR;
}

static int prune_batch(struct store *st, const char *sql, long long before_ms)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db, sql);
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before_ms);
	sqlite3_bind_int(s, 2, STORE_AUTH_PRUNE_BATCH);
	if (finish_write(s) < 0)
		return STORE_ERROR;
	return sqlite3_changes(st->db);
}

int store_auth_prune(struct store *st, long long before_ms)
{
	/* rows are appended in time order, so walking by rowid finds the old ones
	 * first and the LIMIT ends the scan early: there is no index on ts alone */
	int failures = prune_batch(st, "DELETE FROM auth_failures WHERE rowid IN (SELECT rowid "
	                           "FROM auth_failures WHERE ts < ?1 ORDER BY rowid LIMIT ?2)",
	                           before_ms);
	if (failures < 0)
		return STORE_ERROR;
	int blocks = prune_batch(st, "DELETE FROM auth_blocks WHERE rowid IN (SELECT rowid "
	                         "FROM auth_blocks WHERE until <= ?1 LIMIT ?2)", before_ms);
	if (blocks < 0)
		return STORE_ERROR;
	return failures + blocks;
}

/* ---- known networks ------------------------------------------------------------ */

int store_auth_network_remember(struct store *st, const char *user, const char *network,
                                long long now_ms, int keep)
{
	sqlite3_stmt *s;
	if (prepare_key(st, "INSERT INTO auth_known_networks(user, network, last_login) "
	                "VALUES (?1, ?2, ?3) ON CONFLICT(user, network) DO UPDATE SET "
	                "last_login = max(last_login, excluded.last_login)", user, network, &s) < 0)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 3, now_ms);
	if (finish_write(s) < 0)
		return STORE_ERROR;
	/* a user has a handful of rows: the primary key's prefix finds them */
	if ((s = stmt_cache_get(&st->stmts, st->db,
	                        "DELETE FROM auth_known_networks WHERE user = ?1 AND network NOT IN "
	                        "(SELECT network FROM auth_known_networks WHERE user = ?1 "
	                        "ORDER BY last_login DESC, network LIMIT ?2)")) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, keep);
	return finish_write(s);
}

long long store_auth_network_last_login(struct store *st, const char *user, const char *network)
{
	sqlite3_stmt *s;
	long long result = -1;
	if (prepare_key(st, "SELECT last_login FROM auth_known_networks WHERE user = ?1 "
	                "AND network = ?2", user, network, &s) < 0)
		return -1;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		result = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		result = 0;
	stmt_cache_done(s);
	return result;
}

int store_auth_network_prune(struct store *st, long long before_ms)
{
	/* served by the index auth_known_networks_age */
	return prune_batch(st, "DELETE FROM auth_known_networks WHERE rowid IN (SELECT rowid "
	                   "FROM auth_known_networks WHERE last_login < ?1 LIMIT ?2)", before_ms);
}
