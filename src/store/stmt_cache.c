#include "store/stmt_cache.h"

#include <stddef.h>

sqlite3_stmt *stmt_cache_get(struct stmt_cache *c, sqlite3 *db, const char *sql)
{
	size_t i = 0;
	for (; i < STMT_CACHE_SIZE && c->e[i].sql != NULL; i++)
		if (c->e[i].sql == sql)
			return c->e[i].st;
	if (i == STMT_CACHE_SIZE) {
		/* more queries than slots (never with the queries of today): give
		 * up a slot that is not running, so nothing is ever left unfinalized */
		for (i = STMT_CACHE_SIZE; i > 0 && sqlite3_stmt_busy(c->e[i - 1].st); i--)
			;
		if (i == 0)
			return NULL;
		i--;
		sqlite3_finalize(c->e[i].st);
		c->e[i].sql = NULL;
		c->e[i].st = NULL;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		return NULL;
	c->e[i].sql = sql;
	c->e[i].st = st;
	return st;
}

void stmt_cache_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void stmt_cache_free(struct stmt_cache *c)
{
	for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
		sqlite3_finalize(c->e[i].st);
		c->e[i].sql = NULL;
		c->e[i].st = NULL;
	}
}
