/* Where a user's junk goes (store_junk.h), in users.junk (schema step 9). */
#include "store/store_junk.h"

#include <string.h>

#include "store/store_sqlite_int.h"

int store_user_set_junk(struct store *st, const char *local, const char *domain, bool to_junk,
                        char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { to_junk ? "1" : "0", local, domain, NULL };
	int rc = store_exec_write(st, "UPDATE users SET junk = ?1 WHERE local = ?2 AND domain = ?3",
	                          args, &changes, err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_user_junk_to_folder(struct store *st, const char *user)
{
	const char *at = strrchr(user, '@');
	if (at == NULL || at == user)
		return 1;
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "SELECT junk FROM users WHERE local = ?1 AND domain = ?2");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, user, (int)(at - user), SQLITE_STATIC);
	sqlite3_bind_text(s, 2, at + 1, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), out = 1;
	if (rc == SQLITE_ROW)
		out = sqlite3_column_int(s, 0) != 0;
	stmt_cache_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? out : STORE_ERROR;
}
