/* See store_sql.h. */
#include "store_sql.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"

void store_sql_exec(const char *dir, const char *sql)
{
	char path[4096], *msg = NULL;
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/postern.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_error("%s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		fail();
	}
	sqlite3_close(db);
}

struct store *store_tmp_open(char *dir, size_t len, const char *name)
{
	char err[512];
	snprintf(dir, len, "/tmp/postern-%s-XXXXXX", name);
	assert_non_null(mkdtemp(dir));
	struct store *st = store_open(dir, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open %s: %s", dir, err);
	return st;
}

void store_tmp_remove(struct store *st, const char *dir)
{
	char cmd[4200];
	if (st != NULL)
		store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}
