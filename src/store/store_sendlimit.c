/* Users' own send rate limits (store_sendlimit.h), in send_limits (schema
 * step 11): one row per user that has any, one column per limit, named as
 * its configuration key. */
#include "store/store_sendlimit.h"

#include <stdio.h>
#include <string.h>

#include "store/store_sqlite_int.h"

static void all_default(struct store_send_limits *out)
{
	for (int w = 0; w < SEND_WHAT_COUNT; w++)
		for (int t = 0; t < SEND_WINDOW_COUNT; t++)
			out->limit[w][t] = STORE_SEND_DEFAULT;
}

int store_send_limits_get(struct store *st, const char *user, struct store_send_limits *out)
{
	all_default(out);
	const char *at = strrchr(user, '@');
	if (at == NULL || at == user)
		return STORE_OK;
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "SELECT messages_per_minute, messages_per_hour, messages_per_day, "
	        "recipients_per_minute, recipients_per_hour, recipients_per_day "
	        "FROM send_limits WHERE local = ?1 AND domain = ?2");
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(s, 1, user, (int)(at - user), SQLITE_STATIC);
	sqlite3_bind_text(s, 2, at + 1, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	for (int i = 0; rc == SQLITE_ROW && i < SEND_WHAT_COUNT * SEND_WINDOW_COUNT; i++)
		if (sqlite3_column_type(s, i) != SQLITE_NULL)
			out->limit[i / SEND_WINDOW_COUNT][i % SEND_WINDOW_COUNT] = sqlite3_column_int64(s, i);
	stmt_cache_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_send_limits_set(struct store *st, const char *local, const char *domain,
                          enum send_what what, enum send_window win, long long value, char *err,
                          size_t errlen)
{
	char sql[256], text[24];
	/* the column is one of six fixed names, never the caller's text */
	const char *col = config_send_rate_name(what, win);
	snprintf(sql, sizeof(sql), "INSERT INTO send_limits (local, domain, %s) VALUES (?1, ?2, ?3) "
	         "ON CONFLICT (local, domain) DO UPDATE SET %s = excluded.%s", col, col, col);
	snprintf(text, sizeof(text), "%lld", value);
	const char *args[4] = { local, domain, value == STORE_SEND_DEFAULT ? NULL : text, NULL };
	int changes = 0;
	/* an unknown user breaks the foreign key: STORE_NOT_FOUND */
	return store_exec_write(st, sql, args, &changes, err, errlen);
}
