/* SQLite implementation of store_master.h: the table master_users(name,
 * password, created). */
#include "store/store_master.h"

#include "core/util.h"
#include "store/store_sqlite_int.h"

int store_master_add(struct store *st, const char *name, const char *hash, char *err,
                     size_t errlen)
{
	char now[24];
	const char *args[4] = { name, hash, store_now_text(now), NULL };
	return store_exec_write(st, "INSERT INTO master_users(name, password, created) "
	                        "VALUES (lower(?1), ?2, ?3)", args, NULL, err, errlen);
}

int store_master_del(struct store *st, const char *name, char *err, size_t errlen)
{
	int changes = 0;
	const char *args[4] = { name, NULL, NULL, NULL };
	int rc = store_exec_write(st, "DELETE FROM master_users WHERE name = ?1", args, &changes,
	                          err, errlen);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

int store_master_hash(struct store *st, const char *name, char *out, size_t outlen)
{
	sqlite3_stmt *s;
	int result = STORE_NOT_FOUND;
	out[0] = '\0';
	if (sqlite3_prepare_v2(st->db, "SELECT password FROM master_users WHERE name = ?1", -1, &s,
	                       NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(s, 0);
		str_copy(out, outlen, h ? h : "");
		result = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		result = STORE_ERROR;
	}
	sqlite3_finalize(s);
	return result;
}

int store_master_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen)
{
	return store_list_rows(st, "SELECT name, created FROM master_users ORDER BY name", NULL, cb,
	                       arg, err, errlen);
}
