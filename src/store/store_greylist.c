/* SQLite implementation of store_greylist.h: the tables of schema step 8. */
#include "store/store_greylist.h"

#include <string.h>

#include "core/util.h"
#include "store/store_sqlite_int.h"

static bool key_valid(const struct store_greylist_key *k)
{
	return k->net != NULL && k->sender != NULL && k->rcpt != NULL && k->net[0] != '\0' &&
	       k->rcpt[0] != '\0' && strlen(k->net) <= STORE_GREYLIST_NET_MAX &&
	       strlen(k->sender) <= STORE_GREYLIST_ADDR_MAX &&
	       strlen(k->rcpt) <= STORE_GREYLIST_ADDR_MAX;
}

static void bind_key(sqlite3_stmt *s, const struct store_greylist_key *k)
{
	sqlite3_bind_text(s, 1, k->net, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, k->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, k->rcpt, -1, SQLITE_STATIC);
}

int store_greylist_get(struct store *st, const struct store_greylist_key *k,
                       struct store_greylist_entry *out)
{
	if (!key_valid(k))
		return STORE_INVALID;
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "SELECT first_seen, passed, last_seen FROM greylist "
	        "WHERE net = ?1 AND sender = ?2 AND rcpt = ?3");
	if (s == NULL)
		return STORE_ERROR;
	bind_key(s, k);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->first_seen = sqlite3_column_int64(s, 0);
		out->passed = sqlite3_column_int64(s, 1);
		out->last_seen = sqlite3_column_int64(s, 2);
	}
	stmt_cache_done(s);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	stmt_cache_done(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int put_one(struct store *st, const struct store_greylist_key *k,
                   const struct store_greylist_entry *e)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "INSERT INTO greylist(net, sender, rcpt, first_seen, passed, last_seen) "
	        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(net, sender, rcpt) DO UPDATE SET "
	        "first_seen = excluded.first_seen, passed = excluded.passed, "
	        "last_seen = excluded.last_seen");
	if (s == NULL)
		return STORE_ERROR;
	bind_key(s, k);
	sqlite3_bind_int64(s, 4, e->first_seen);
	sqlite3_bind_int64(s, 5, e->passed);
	sqlite3_bind_int64(s, 6, e->last_seen);
	return step_done(s);
}

/* Drops the oldest entries beyond max_rows: pending ones by first attempt,
 * then passed ones by the time they passed (the index greylist_age). */
static int trim_to_cap(struct store *st, long long max_rows)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "DELETE FROM greylist WHERE rowid IN (SELECT rowid FROM greylist "
	        "ORDER BY passed, first_seen LIMIT max(0, (SELECT n FROM greylist_size) - ?1))");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, max_rows);
	return step_done(s);
}

int store_greylist_put(struct store *st, const struct store_greylist_key *keys,
                       const struct store_greylist_entry *entries, size_t n, long long max_rows)
{
	for (size_t i = 0; i < n; i++)
		if (!key_valid(&keys[i]))
			return STORE_INVALID;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return STORE_ERROR;
	int rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		rc = put_one(st, &keys[i], &entries[i]);
	if (rc == STORE_OK)
		rc = trim_to_cap(st, max_rows);
	if (rc == STORE_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return STORE_OK;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERROR;
}

int store_greylist_net_passes(struct store *st, const char *net, long long since, int limit,
                              int *count)
{
	/* the index greylist_net_passed finds the network's passed entries */
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "SELECT count(*) FROM (SELECT 1 FROM greylist WHERE net = ?1 AND passed > 0 "
	        "AND last_seen >= ?2 LIMIT ?3)");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	sqlite3_bind_int(s, 3, limit);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int(s, 0);
	stmt_cache_done(s);
	return rc == SQLITE_ROW ? STORE_OK : STORE_ERROR;
}

static int expire_batch(struct store *st, const char *sql, long long before, int batch)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db, sql);
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int(s, 2, batch);
	if (step_done(s) != STORE_OK)
		return STORE_ERROR;
	return sqlite3_changes(st->db);
}

int store_greylist_expire(struct store *st, long long pending_before, long long passed_before,
                          int batch)
{
	int pending = expire_batch(st, "DELETE FROM greylist WHERE rowid IN (SELECT rowid FROM "
	                           "greylist WHERE passed = 0 AND first_seen < ?1 LIMIT ?2)",
	                           pending_before, batch);
	if (pending < 0)
		return STORE_ERROR;
	int passed = expire_batch(st, "DELETE FROM greylist WHERE rowid IN (SELECT rowid FROM "
	                          "greylist WHERE last_seen < ?1 AND passed > 0 LIMIT ?2)",
	                          passed_before, batch - pending);
	return passed < 0 ? STORE_ERROR : pending + passed;
}

int store_greylist_count(struct store *st, long long *n)
{
	return store_read_int64(st, "SELECT n FROM greylist_size", n);
}

int store_user_set_greylist(struct store *st, const char *local, const char *domain, bool on,
                            char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { on ? "1" : "0", local, domain, NULL };
	int rc = store_exec_write(st, "UPDATE users SET greylist = ?1 WHERE local = ?2 AND "
	                          "domain = ?3", args, &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_greylist_opted_out(struct store *st, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	if (at == NULL || at == rcpt || (size_t)(at - rcpt) > STORE_GREYLIST_ADDR_MAX)
		return 0;
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "SELECT greylist FROM users WHERE local = ?1 AND domain = ?2");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, rcpt, (int)(at - rcpt), SQLITE_STATIC);
	sqlite3_bind_text(s, 2, at + 1, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), out = 0;
	if (rc == SQLITE_ROW)
		out = sqlite3_column_int(s, 0) == 0;
	stmt_cache_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? out : STORE_ERROR;
}
