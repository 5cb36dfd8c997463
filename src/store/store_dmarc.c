/* SQLite implementation of store_dmarc.h: the tables of schema step 7. An
 * event is one INSERT into the view dmarc_events; its trigger does the
 * counting and the caps inside that one statement. */
#include "store/store_dmarc.h"

#include <string.h>

#include "core/util.h"
#include "store/store_sqlite_int.h"

static bool one_of(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static bool text_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max;
}

/* Only the values RFC 7489 appendix C's schema knows reach a report. */
static bool event_valid(const struct dmarc_agg_event *ev)
{
	static const char *const policies[] = { "none", "quarantine", "reject", NULL };
	static const char *const sub_policies[] = { "", "none", "quarantine", "reject", NULL };
	static const char *const dkim_results[] = { "none", "pass", "fail", "policy", "neutral",
	                                            "temperror", "permerror", NULL };
	static const char *const spf_results[] = { "none", "neutral", "pass", "fail", "softfail",
	                                           "temperror", "permerror", NULL };
	return ev->day > 0 && ev->pct <= 100 &&
	       text_ok(ev->policy_domain, STORE_DMARC_DOMAIN_MAX) && ev->policy_domain[0] != '\0' &&
	       text_ok(ev->header_from, STORE_DMARC_DOMAIN_MAX) && ev->header_from[0] != '\0' &&
	       text_ok(ev->source_ip, STORE_DMARC_IP_MAX) && ev->source_ip[0] != '\0' &&
	       text_ok(ev->rua, STORE_DMARC_RUA_MAX) &&
	       text_ok(ev->dkim_domain, STORE_DMARC_DOMAIN_MAX) &&
	       text_ok(ev->spf_domain, STORE_DMARC_DOMAIN_MAX) &&
	       ev->p != NULL && one_of(ev->p, policies) &&
	       ev->sp != NULL && one_of(ev->sp, sub_policies) &&
	       ev->disposition != NULL && one_of(ev->disposition, policies) &&
	       ev->dkim_result != NULL && one_of(ev->dkim_result, dkim_results) &&
	       ev->spf_result != NULL && one_of(ev->spf_result, spf_results) &&
	       (ev->adkim == 'r' || ev->adkim == 's') && (ev->aspf == 'r' || ev->aspf == 's');
}

int store_dmarc_record(struct store *st, const struct dmarc_agg_event *ev)
{
	if (!event_valid(ev))
		return STORE_INVALID;
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	        "INSERT INTO dmarc_events(day, policy_domain, source_ip, header_from, disposition, "
	        "dkim_aligned, spf_aligned, dkim_domain, dkim_result, spf_domain, spf_result, "
	        "dmarc_pass, p, sp, pct, adkim, aspf, rua, max_domain_rows, max_day_rows) "
	        "VALUES (?1, lower(?2), lower(?3), lower(?4), ?5, ?6, ?7, lower(?8), ?9, lower(?10), "
	        "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)");
	if (s == NULL)
		return STORE_ERROR;
	char adkim[2] = { ev->adkim, '\0' }, aspf[2] = { ev->aspf, '\0' };
	sqlite3_bind_int64(s, 1, ev->day);
	sqlite3_bind_text(s, 2, ev->policy_domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->source_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ev->header_from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, ev->disposition, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, ev->dkim_aligned);
	sqlite3_bind_int(s, 7, ev->spf_aligned);
	sqlite3_bind_text(s, 8, ev->dkim_domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, ev->dkim_result, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, ev->spf_domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, ev->spf_result, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 12, ev->dmarc_pass);
	sqlite3_bind_text(s, 13, ev->p, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 14, ev->sp, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 15, (int)ev->pct);
	sqlite3_bind_text(s, 16, adkim, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 17, aspf, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 18, ev->rua, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 19, STORE_DMARC_ROWS_PER_DOMAIN);
	sqlite3_bind_int(s, 20, STORE_DMARC_ROWS_PER_DAY);
	int rc = sqlite3_step(s);
	stmt_cache_done(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

int store_dmarc_domains(struct store *st, int64_t from_day, int64_t to_day,
                        store_dmarc_domain_cb cb, void *arg)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT d.day, d.policy_domain, d.p, d.sp, d.adkim, d.aspf, d.rua, d.pct, "
	                       "d.passed, d.nrows, (SELECT coalesce(sum(count), 0) FROM dmarc_rows r "
	                       "WHERE r.day = d.day AND r.policy_domain = d.policy_domain) "
	                       "FROM dmarc_domains d WHERE d.day BETWEEN ?1 AND ?2 "
	                       "ORDER BY d.day, d.policy_domain", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, from_day);
	sqlite3_bind_int64(s, 2, to_day);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_dmarc_domain d = {
			.day = sqlite3_column_int64(s, 0), .policy_domain = col_text(s, 1),
			.p = col_text(s, 2), .sp = col_text(s, 3), .adkim = col_text(s, 4),
			.aspf = col_text(s, 5), .rua = col_text(s, 6),
			.pct = (unsigned)sqlite3_column_int(s, 7), .passed = sqlite3_column_int(s, 8) != 0,
			.nrows = sqlite3_column_int64(s, 9), .messages = sqlite3_column_int64(s, 10),
		};
		cb(arg, &d);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_dmarc_rows(struct store *st, int64_t day, const char *policy_domain,
                     store_dmarc_row_cb cb, void *arg)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT day, policy_domain, source_ip, header_from, disposition, "
	                       "dkim_aligned, spf_aligned, dkim_domain, dkim_result, spf_domain, "
	                       "spf_result, count FROM dmarc_rows WHERE day = ?1 "
	                       "AND (?2 IS NULL OR policy_domain = lower(?2)) "
	                       "ORDER BY policy_domain, count DESC, source_ip", -1, &s,
	                       NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, day);
	if (policy_domain != NULL)
		sqlite3_bind_text(s, 2, policy_domain, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_dmarc_row r = {
			.day = sqlite3_column_int64(s, 0), .policy_domain = col_text(s, 1),
			.source_ip = col_text(s, 2), .header_from = col_text(s, 3),
			.disposition = col_text(s, 4), .dkim_aligned = sqlite3_column_int(s, 5) != 0,
			.spf_aligned = sqlite3_column_int(s, 6) != 0, .dkim_domain = col_text(s, 7),
			.dkim_result = col_text(s, 8), .spf_domain = col_text(s, 9),
			.spf_result = col_text(s, 10), .count = sqlite3_column_int64(s, 11),
		};
		cb(arg, &r);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* A query of one row of integers: STORE_OK (zeros when there is no row) or STORE_ERROR. */
static int select_ints(struct store *st, const char *sql, int64_t arg, long long *a, long long *b)
{
	sqlite3_stmt *s;
	*a = 0;
	if (b != NULL)
		*b = 0;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, arg);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*a = sqlite3_column_int64(s, 0);
		if (b != NULL)
			*b = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_dmarc_day_totals(struct store *st, int64_t day, long long *nrows, long long *drops)
{
	return select_ints(st, "SELECT nrows, drops FROM dmarc_days WHERE day = ?1", day, nrows,
	                   drops);
}

/* ---- outcomes ---------------------------------------------------------------- */

static int exec(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? STORE_OK : STORE_ERROR;
}

static int step_once(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	return rc == SQLITE_CONSTRAINT ? STORE_EXISTS : STORE_ERROR;
}

static int insert_outcome(struct store *st, const struct store_dmarc_report *r)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO dmarc_reports(day, policy_domain, status, "
	                       "report_id, rcpts, detail, created) "
	                       "VALUES (?1, lower(?2), ?3, ?4, ?5, ?6, ?7)", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, r->day);
	sqlite3_bind_text(s, 2, r->policy_domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->report_id ? r->report_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->rcpts ? r->rcpts : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->detail ? r->detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, r->created);
	return step_once(s);
}

/* The domain-day's rows go; the day keeps room for as many new ones. */
static int forget_domain_day(struct store *st, int64_t day, const char *policy_domain)
{
	static const char *const sql[] = {
		("UPDATE dmarc_days SET nrows = max(nrows - coalesce((SELECT nrows FROM dmarc_domains "
		 "WHERE day = ?1 AND policy_domain = lower(?2)), 0), 0) WHERE day = ?1"),
		"DELETE FROM dmarc_rows WHERE day = ?1 AND policy_domain = lower(?2)",
		"DELETE FROM dmarc_domains WHERE day = ?1 AND policy_domain = lower(?2)",
	};
	for (size_t i = 0; i < ARRAY_LEN(sql); i++) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(st->db, sql[i], -1, &s, NULL) != SQLITE_OK)
			return STORE_ERROR;
		sqlite3_bind_int64(s, 1, day);
		sqlite3_bind_text(s, 2, policy_domain, -1, SQLITE_STATIC);
		if (step_once(s) != STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
}

int store_dmarc_report_done(struct store *st, const struct store_dmarc_report *r)
{
	if (exec(st, "BEGIN IMMEDIATE") != STORE_OK)
		return STORE_ERROR;
	int rc = insert_outcome(st, r);
	if (rc == STORE_OK)
		rc = forget_domain_day(st, r->day, r->policy_domain);
	if (rc == STORE_OK && exec(st, "COMMIT") == STORE_OK)
		return STORE_OK;
	exec(st, "ROLLBACK");
	return rc == STORE_EXISTS ? STORE_EXISTS : STORE_ERROR;
}

int store_dmarc_reports(struct store *st, int64_t from_day, int64_t to_day,
                        store_dmarc_report_cb cb, void *arg)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT day, policy_domain, status, report_id, rcpts, detail, "
	                       "created FROM dmarc_reports WHERE day BETWEEN ?1 AND ?2 "
	                       "ORDER BY day, policy_domain", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, from_day);
	sqlite3_bind_int64(s, 2, to_day);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_dmarc_report r = {
			.day = sqlite3_column_int64(s, 0), .policy_domain = col_text(s, 1),
			.status = col_text(s, 2), .report_id = col_text(s, 3), .rcpts = col_text(s, 4),
			.detail = col_text(s, 5), .created = sqlite3_column_int64(s, 6),
		};
		cb(arg, &r);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_dmarc_reports_sent_since(struct store *st, long long since, long long *n)
{
	return select_ints(st, "SELECT count(*) FROM dmarc_reports WHERE created >= ?1 "
	                   "AND status = 'sent'", since, n, NULL);
}

static int delete_before(struct store *st, const char *sql, int64_t day)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, day);
	return step_once(s);
}

int store_dmarc_expire(struct store *st, int64_t data_before, int64_t reports_before)
{
	if (exec(st, "BEGIN IMMEDIATE") != STORE_OK)
		return STORE_ERROR;
	int rc = STORE_OK;
	if (delete_before(st, "DELETE FROM dmarc_rows WHERE day < ?1", data_before) != STORE_OK ||
	    delete_before(st, "DELETE FROM dmarc_domains WHERE day < ?1", data_before) != STORE_OK ||
	    delete_before(st, "DELETE FROM dmarc_days WHERE day < ?1", data_before) != STORE_OK ||
	    delete_before(st, "DELETE FROM dmarc_reports WHERE day < ?1", reports_before) != STORE_OK)
		rc = STORE_ERROR;
	if (rc == STORE_OK && exec(st, "COMMIT") == STORE_OK)
		return STORE_OK;
	exec(st, "ROLLBACK");
	return STORE_ERROR;
}

/* ---- the schedule ------------------------------------------------------------ */

int store_dmarc_next_run(struct store *st, long long *at)
{
	sqlite3_stmt *s = stmt_cache_get(&st->stmts, st->db,
	                                 "SELECT value FROM dmarc_state WHERE key = 'next_run'");
	if (s == NULL)
		return STORE_ERROR;
	*at = 0;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*at = sqlite3_column_int64(s, 0);
	stmt_cache_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

int store_dmarc_set_next_run(struct store *st, long long at)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO dmarc_state(key, value) VALUES ('next_run', ?1) "
	                       "ON CONFLICT(key) DO UPDATE SET value = ?1", -1, &s, NULL) != SQLITE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, at);
	return step_once(s);
}
