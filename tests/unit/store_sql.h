/* For the store's unit tests: a store in a directory of its own under
 * /tmp, and SQL run straight on its postern.db (to make a database as an
 * older schema step left it). */
#ifndef POSTERN_TEST_STORE_SQL_H
#define POSTERN_TEST_STORE_SQL_H

#include <stddef.h>

struct store;

/* Makes /tmp/postern-NAME-XXXXXX in dir (64 octets or more) and opens a
 * store there; the test fails when it cannot. */
struct store *store_tmp_open(char *dir, size_t len, const char *name);
/* Closes st (NULL is fine) and removes dir with everything in it. */
void store_tmp_remove(struct store *st, const char *dir);

/* Runs sql on dir/postern.db; the test fails when it does not succeed. */
void store_sql_exec(const char *dir, const char *sql);

#endif
