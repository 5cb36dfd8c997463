/* For the store's unit tests: SQL run straight on a data directory's
 * postern.db, to make a database as an older schema step left it. */
#ifndef POSTERN_TEST_STORE_SQL_H
#define POSTERN_TEST_STORE_SQL_H

/* Runs sql on dir/postern.db; the test fails when it does not succeed. */
void store_sql_exec(const char *dir, const char *sql);

#endif
