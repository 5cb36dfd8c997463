/* Internals shared by the SQLite store's files (store_sqlite.c, store_queue.c,
 * store_dkim.c). Nothing outside src/store includes this. */
#ifndef POSTERN_STORE_SQLITE_INT_H
#define POSTERN_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/stmt_cache.h"
#include "store/store.h"

enum stmt_id { Q_DOMAIN_EXISTS, Q_USER_EXISTS, Q_ALIAS_TARGETS, Q_USER_PASSWORD, Q_QUOTA_GET,
               Q_COUNT };

struct store {
	sqlite3 *db;
	char *data_dir;
	sqlite3_stmt *stmt[Q_COUNT]; /* prepared once: these run on every RCPT */
	struct stmt_cache stmts;     /* and these on every login (stmt_cache.h) */
};

/* Installs postern's busy handler (short waits, 5 s at most). */
void store_busy_wait(sqlite3 *db);
int store_db_error(struct store *st, char *err, size_t errlen, const char *what);
/* The one integer a statement without arguments reads (a counter row):
 * STORE_OK with *out, or STORE_ERROR. */
int store_read_int64(struct store *st, const char *sql, long long *out);
/* Runs a write with up to 4 text arguments (NULL = unbound). STORE_OK,
 * STORE_EXISTS (unique violation), STORE_NOT_FOUND (foreign key) or STORE_ERROR. */
int store_exec_write(struct store *st, const char *sql, const char *const args[4],
                     int *changes, char *err, size_t errlen);
int store_list_rows(struct store *st, const char *sql, const char *arg, store_row_cb cb,
                    void *cbarg, char *err, size_t errlen);
const char *store_now_text(char buf[24]);
/* A prepared lookup of one user's row by (?1 local, ?2 domain): read(s, arg)
 * on the row. STORE_OK, STORE_NOT_FOUND or STORE_ERROR; s is reset. */
typedef void (*store_row_reader)(sqlite3_stmt *s, void *arg);
int store_user_row(sqlite3_stmt *s, const char *local, const char *domain,
                   store_row_reader read, void *arg);

#endif
