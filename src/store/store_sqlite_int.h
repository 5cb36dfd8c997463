/* Internals shared by the SQLite store's files (store_sqlite.c, store_queue.c,
 * store_dkim.c). Nothing outside src/store includes this. */
#ifndef POSTERN_STORE_SQLITE_INT_H
#define POSTERN_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

enum stmt_id { Q_DOMAIN_EXISTS, Q_USER_EXISTS, Q_ALIAS_TARGETS, Q_USER_PASSWORD, Q_QUOTA_GET,
               Q_COUNT };

struct store {
	sqlite3 *db;
	char *data_dir;
	sqlite3_stmt *stmt[Q_COUNT]; /* prepared once: these run on every RCPT */
};

/* Installs postern's busy handler (short waits, 5 s at most). */
void store_busy_wait(sqlite3 *db);
int store_db_error(struct store *st, char *err, size_t errlen, const char *what);
/* Runs a write with up to 4 text arguments (NULL = unbound). STORE_OK,
 * STORE_EXISTS (unique violation), STORE_NOT_FOUND (foreign key) or STORE_ERROR. */
int store_exec_write(struct store *st, const char *sql, const char *const args[4],
                     int *changes, char *err, size_t errlen);
int store_list_rows(struct store *st, const char *sql, const char *arg, store_row_cb cb,
                    void *cbarg, char *err, size_t errlen);
const char *store_now_text(char buf[24]);

#endif
