/* Prepared statements kept for the next call, keyed by the address of their
 * SQL text (a string constant): the queries a login or a command runs are
 * parsed once per connection, not once per call. One per SQLite connection;
 * not thread-safe (neither is the connection). */
#ifndef POSTERN_STORE_STMT_CACHE_H
#define POSTERN_STORE_STMT_CACHE_H

#include <sqlite3.h>

#define STMT_CACHE_SIZE 48

struct stmt_cache {
	struct { const char *sql; sqlite3_stmt *st; } e[STMT_CACHE_SIZE];
};

/* The statement for sql, prepared now or before; NULL when it cannot be
 * prepared. Give it back with stmt_cache_done(); never run the same query
 * nested inside itself. */
sqlite3_stmt *stmt_cache_get(struct stmt_cache *c, sqlite3 *db, const char *sql);
/* Resets it and clears its bindings, for the next caller. */
void stmt_cache_done(sqlite3_stmt *st);
/* Finalizes every statement (before the connection closes). */
void stmt_cache_free(struct stmt_cache *c);

#endif
