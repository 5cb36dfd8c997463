/* The scratch map on SQLite: a temporary database (an empty file name) is
 * an on-disk B-tree that SQLite deletes on close; its page cache is the
 * only memory it takes, and that is capped here. */
#include "store/scratch.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

enum { Q_PUT, Q_GET, Q_DEL, Q_COUNT_KEYS, Q_NEXT, Q_N };

static const char *const queries[Q_N] = {
	[Q_PUT] = "INSERT OR IGNORE INTO m(k, v) VALUES (?1, ?2)",
	[Q_GET] = "SELECT v FROM m WHERE k = ?1",
	[Q_DEL] = "DELETE FROM m WHERE k = ?1",
	[Q_COUNT_KEYS] = "SELECT count(*) FROM m",
	[Q_NEXT] = "SELECT k, v FROM m WHERE k > ?1 ORDER BY k LIMIT ?2",
};

struct scratch_map {
	sqlite3 *db;
	sqlite3_stmt *st[Q_N];
	char *path;             /* removed at the end; NULL for SQLite's own temporary file */
};

struct scratch_map *scratch_map_new(const char *path, char *err, size_t errlen)
{
	struct scratch_map *m = xcalloc(1, sizeof(*m));
	/* "" is a private database in a temporary file; 2 MiB of cache at most,
	 * no journal: nothing here has to survive a crash */
	if (path != NULL) {
		m->path = xstrdup(path);
		unlink(path);   /* a leftover of a run that was killed */
	}
	if (sqlite3_open_v2(path ? path : "", &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(m->db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
	                 "PRAGMA cache_size=-2048; PRAGMA temp_store=FILE; "
	                 "CREATE TABLE m (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;",
	                 NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v3(m->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &m->st[i],
		                       NULL) != SQLITE_OK)
			goto fail;
	return m;
fail:
	snprintf(err, errlen, "cannot make a temporary file: %s",
	         m->db ? sqlite3_errmsg(m->db) : "out of memory");
	scratch_map_free(m);
	return NULL;
}

void scratch_map_free(struct scratch_map *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(m->st[i]);
	sqlite3_close(m->db);
	if (m->path != NULL)
		unlink(m->path);
	free(m->path);
	free(m);
}

int scratch_map_begin(struct scratch_map *m)
{
	return sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

int scratch_map_commit(struct scratch_map *m)
{
	return sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static sqlite3_stmt *stmt(struct scratch_map *m, int q)
{
	sqlite3_reset(m->st[q]);
	sqlite3_clear_bindings(m->st[q]);
	return m->st[q];
}

int scratch_map_put(struct scratch_map *m, const char *key, const char *value)
{
	sqlite3_stmt *s = stmt(m, Q_PUT);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(m->db) == 1 ? 0 : 1;
}

int scratch_map_get(struct scratch_map *m, const char *key, char *value, size_t vlen)
{
	sqlite3_stmt *s = stmt(m, Q_GET);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		str_copy(value, vlen, (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int scratch_map_del(struct scratch_map *m, const char *key)
{
	sqlite3_stmt *s = stmt(m, Q_DEL);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

long long scratch_map_count(struct scratch_map *m)
{
	sqlite3_stmt *s = stmt(m, Q_COUNT_KEYS);
	long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	return n;
}

int scratch_map_next(struct scratch_map *m, const char *after, int max, scratch_map_cb cb,
                     void *arg)
{
	sqlite3_stmt *s = stmt(m, Q_NEXT);
	int n = 0, rc;
	sqlite3_bind_text(s, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cb(arg, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1));
		n++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? n : -1;
}
