/* DMARC aggregate data in the store: counting, the caps and their drops,
 * hostile events refused, outcomes, retention, the run schedule and the
 * schema step (from step 6; a newer database refused untouched). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_sql.h"
#include "core/util.h"
#include "store/store.h"
#include "store/store_dmarc.h"

#define DAY 20000

struct fixture {
	char dir[64];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	fx->st = store_tmp_open(fx->dir, sizeof(fx->dir), "dmarc");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	store_tmp_remove(fx->st, fx->dir);
	free(fx);
	return 0;
}

static struct dmarc_agg_event event(const char *domain, const char *ip)
{
	struct dmarc_agg_event ev = {
		.day = DAY, .policy_domain = domain, .header_from = domain, .source_ip = ip,
		.p = "reject", .sp = "", .pct = 100, .adkim = 'r', .aspf = 's',
		.rua = "mailto:dmarc@example.com!10m", .disposition = "none", .dmarc_pass = true,
		.dkim_aligned = true, .spf_aligned = false, .dkim_domain = domain,
		.dkim_result = "pass", .spf_domain = "bounce.example.net", .spf_result = "pass",
	};
	return ev;
}

struct seen {
	char text[4096];
	int n;
};

static void on_row(void *arg, const struct store_dmarc_row *r)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);
	snprintf(s->text + len, sizeof(s->text) - len, "%s %s %s %s %d%d %s/%s %s/%s %lld|",
	         r->policy_domain, r->source_ip, r->header_from, r->disposition, r->dkim_aligned,
	         r->spf_aligned, r->dkim_domain, r->dkim_result, r->spf_domain, r->spf_result,
	         r->count);
	s->n++;
}

static void on_domain(void *arg, const struct store_dmarc_domain *d)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);
	snprintf(s->text + len, sizeof(s->text) - len, "%lld %s p=%s sp=%s pct=%u %s%s %s pass=%d "
	         "rows=%lld msgs=%lld|", (long long)d->day, d->policy_domain, d->p, d->sp, d->pct,
	         d->adkim, d->aspf, d->rua, d->passed, d->nrows, d->messages);
	s->n++;
}

static void test_counting(void **state)
{
	struct fixture *fx = *state;
	struct dmarc_agg_event ev = event("Example.ORG", "192.0.2.1");
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	ev.source_ip = "2001:DB8::1";
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	/* another outcome from the same source is another row */
	ev.disposition = "reject";
	ev.dmarc_pass = ev.dkim_aligned = false;
	ev.dkim_result = "fail";
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	struct seen rows = { "", 0 }, doms = { "", 0 };
	assert_int_equal(store_dmarc_rows(fx->st, DAY, NULL, on_row, &rows), STORE_OK);
	assert_string_equal(rows.text,
	        "example.org 192.0.2.1 example.org none 10 example.org/pass bounce.example.net/pass 3|"
	        "example.org 2001:db8::1 example.org none 10 example.org/pass bounce.example.net/pass 1|"
	        "example.org 2001:db8::1 example.org reject 00 example.org/fail "
	        "bounce.example.net/pass 1|");
	assert_int_equal(store_dmarc_domains(fx->st, DAY, DAY, on_domain, &doms), STORE_OK);
	assert_string_equal(doms.text, "20000 example.org p=reject sp= pct=100 rs "
	                    "mailto:dmarc@example.com!10m pass=1 rows=3 msgs=5|");
	/* another day is apart */
	doms.text[0] = '\0';
	assert_int_equal(store_dmarc_domains(fx->st, DAY + 1, DAY + 5, on_domain, &doms), STORE_OK);
	assert_string_equal(doms.text, "");
}

/* A domain whose mail never passed is marked so, whatever its volume. */
static void test_passed_flag(void **state)
{
	struct fixture *fx = *state;
	struct dmarc_agg_event ev = event("forged.example", "198.51.100.7");
	ev.dmarc_pass = ev.dkim_aligned = false;
	ev.dkim_result = "fail";
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	struct seen doms = { "", 0 };
	assert_int_equal(store_dmarc_domains(fx->st, DAY, DAY, on_domain, &doms), STORE_OK);
	assert_non_null(strstr(doms.text, "pass=0 rows=1 msgs=5|"));
	ev.dmarc_pass = true;
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	doms.text[0] = '\0';
	assert_int_equal(store_dmarc_domains(fx->st, DAY, DAY, on_domain, &doms), STORE_OK);
	assert_non_null(strstr(doms.text, "pass=1 rows=1 msgs=6|"));
}

static void test_hostile_events_refused(void **state)
{
	struct fixture *fx = *state;
	char longname[300];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	struct dmarc_agg_event ev;
#define REFUSED(field, value) \
	do { ev = event("example.org", "192.0.2.1"); ev.field = value; \
	     assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_INVALID); } while (0)
	REFUSED(policy_domain, longname);
	REFUSED(policy_domain, "");
	REFUSED(header_from, NULL);
	REFUSED(source_ip, "192.0.2.1 and some more text to overflow it 12345");
	REFUSED(disposition, "<script>");
	REFUSED(p, "monitor");
	REFUSED(sp, "quarantine ");
	REFUSED(dkim_result, "PASS");
	REFUSED(spf_result, "hardfail");
	REFUSED(adkim, 'x');
	REFUSED(pct, 101);
	REFUSED(day, 0);
	REFUSED(dkim_domain, longname);
#undef REFUSED
	struct seen doms = { "", 0 };
	assert_int_equal(store_dmarc_domains(fx->st, 0, DAY * 2, on_domain, &doms), STORE_OK);
	assert_int_equal(doms.n, 0);
	/* hostile text that is in bounds is kept as it is (the report escapes it) */
	ev = event("example.org", "<&\"'>");
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	struct seen rows = { "", 0 };
	assert_int_equal(store_dmarc_rows(fx->st, DAY, "EXAMPLE.org", on_row, &rows), STORE_OK);
	assert_non_null(strstr(rows.text, "example.org <&\"'> example.org"));
}

/* A flood of sources for one domain stops at its cap; a flood of forged
 * domains at the day's; each event beyond is counted as dropped, and rows
 * already known are still counted. */
static void test_caps(void **state)
{
	struct fixture *fx = *state;
	char ip[64], domain[64];
	long long nrows, drops;
	struct dmarc_agg_event ev = event("flood.example", "");
	for (int i = 0; i < STORE_DMARC_ROWS_PER_DOMAIN + 10; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		ev.source_ip = ip;
		assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	}
	assert_int_equal(store_dmarc_day_totals(fx->st, DAY, &nrows, &drops), STORE_OK);
	assert_int_equal(nrows, STORE_DMARC_ROWS_PER_DOMAIN);
	assert_int_equal(drops, 10);
	ev.source_ip = "10.0.0.1";            /* known: counted */
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	assert_int_equal(store_dmarc_day_totals(fx->st, DAY, &nrows, &drops), STORE_OK);
	assert_int_equal(drops, 10);
	struct seen rows = { "", 0 };
	assert_int_equal(store_dmarc_rows(fx->st, DAY, "flood.example", on_row, &rows), STORE_OK);
	assert_int_equal(rows.n, STORE_DMARC_ROWS_PER_DOMAIN);
	assert_non_null(strstr(rows.text, "flood.example 10.0.0.1 flood.example none 10 "
	                       "flood.example/pass bounce.example.net/pass 2|"));

	/* forged domains, one row each, up to the day's cap */
	int extra = STORE_DMARC_ROWS_PER_DAY - STORE_DMARC_ROWS_PER_DOMAIN;
	for (int i = 0; i < extra + 5; i++) {
		snprintf(domain, sizeof(domain), "f%d.example", i);
		ev = event(domain, "192.0.2.9");
		assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	}
	assert_int_equal(store_dmarc_day_totals(fx->st, DAY, &nrows, &drops), STORE_OK);
	assert_int_equal(nrows, STORE_DMARC_ROWS_PER_DAY);
	assert_int_equal(drops, 15);
	/* another day has room */
	ev.day = DAY + 1;
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	assert_int_equal(store_dmarc_day_totals(fx->st, DAY + 1, &nrows, &drops), STORE_OK);
	assert_int_equal(nrows, 1);
	assert_int_equal(drops, 0);
	/* a domain-day reported gives its room back */
	struct store_dmarc_report r = { .day = DAY, .policy_domain = "flood.example",
	                                .status = "not-passed", .created = 1 };
	assert_int_equal(store_dmarc_report_done(fx->st, &r), STORE_OK);
	assert_int_equal(store_dmarc_day_totals(fx->st, DAY, &nrows, &drops), STORE_OK);
	assert_int_equal(nrows, STORE_DMARC_ROWS_PER_DAY - STORE_DMARC_ROWS_PER_DOMAIN);
}

static void on_report(void *arg, const struct store_dmarc_report *r)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);
	snprintf(s->text + len, sizeof(s->text) - len, "%lld %s %s %s [%s] %s|", (long long)r->day,
	         r->policy_domain, r->status, r->report_id, r->rcpts, r->detail);
	s->n++;
}

static void test_outcomes_and_retention(void **state)
{
	struct fixture *fx = *state;
	struct dmarc_agg_event ev = event("example.org", "192.0.2.1");
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	ev = event("other.example", "192.0.2.1");
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	struct store_dmarc_report r = {
		.day = DAY, .policy_domain = "Example.org", .status = "sent", .report_id = "x.1",
		.rcpts = "dmarc@example.com", .detail = "", .created = 1000,
	};
	assert_int_equal(store_dmarc_report_done(fx->st, &r), STORE_OK);
	/* once per domain-day: a second outcome changes nothing */
	r.status = "no-rua";
	assert_int_equal(store_dmarc_report_done(fx->st, &r), STORE_EXISTS);
	struct seen s = { "", 0 };
	assert_int_equal(store_dmarc_reports(fx->st, 0, DAY * 2, on_report, &s), STORE_OK);
	assert_string_equal(s.text, "20000 example.org sent x.1 [dmarc@example.com] |");
	s.text[0] = '\0';
	assert_int_equal(store_dmarc_domains(fx->st, DAY, DAY, on_domain, &s), STORE_OK);
	assert_null(strstr(s.text, " example.org "));        /* its data went with it */
	assert_non_null(strstr(s.text, "other.example"));
	long long n;
	assert_int_equal(store_dmarc_reports_sent_since(fx->st, 1000, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_dmarc_reports_sent_since(fx->st, 1001, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* retention */
	assert_int_equal(store_dmarc_expire(fx->st, DAY + 1, DAY), STORE_OK);
	s.text[0] = '\0';
	assert_int_equal(store_dmarc_domains(fx->st, 0, DAY * 2, on_domain, &s), STORE_OK);
	assert_string_equal(s.text, "");
	assert_int_equal(store_dmarc_reports(fx->st, 0, DAY * 2, on_report, &s), STORE_OK);
	assert_non_null(strstr(s.text, "x.1"));
	assert_int_equal(store_dmarc_expire(fx->st, DAY + 1, DAY + 1), STORE_OK);
	s.text[0] = '\0';
	assert_int_equal(store_dmarc_reports(fx->st, 0, DAY * 2, on_report, &s), STORE_OK);
	assert_string_equal(s.text, "");
}

static void test_schedule(void **state)
{
	struct fixture *fx = *state;
	long long at = -1;
	assert_int_equal(store_dmarc_next_run(fx->st, &at), STORE_OK);
	assert_int_equal(at, 0);
	assert_int_equal(store_dmarc_set_next_run(fx->st, 12345), STORE_OK);
	assert_int_equal(store_dmarc_next_run(fx->st, &at), STORE_OK);
	assert_int_equal(at, 12345);
	assert_int_equal(store_dmarc_set_next_run(fx->st, 0), STORE_OK);
	assert_int_equal(store_dmarc_next_run(fx->st, &at), STORE_OK);
	assert_int_equal(at, 0);
}

/* Schema step 7 on a database as step 6 left it: refused by store_open
 * until migrated, then the data is recorded. */
static void test_migration_from_step_6(void **state)
{
	struct fixture *fx = *state;
	char err[512];
	int from = 0, to = 0;
	assert_int_equal(store_domain_add(fx->st, "example.org", err, sizeof(err)), STORE_OK);
	store_close(fx->st);
	fx->st = NULL;
	store_sql_exec(fx->dir, "DROP TRIGGER dmarc_event_recorded; DROP VIEW dmarc_events;"
	         "DROP TRIGGER dmarc_row_added; DROP TABLE dmarc_rows; DROP TABLE dmarc_domains;"
	         "DROP TABLE dmarc_days; DROP TABLE dmarc_reports; DROP TABLE dmarc_state;"
	         /* and what later steps added */
	         "DROP TABLE greylist; DROP TABLE greylist_size; ALTER TABLE users DROP COLUMN greylist;"
	         "ALTER TABLE users DROP COLUMN junk; DROP TABLE auth_known_networks; DROP TABLE send_limits;"
	         "DROP TABLE bans; DROP TABLE ban_generation;"
	         "PRAGMA user_version = 6;");
	assert_null(store_open(fx->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), 0);
	assert_int_equal(from, 6);
	assert_true(to >= 7);
	fx->st = store_open(fx->dir, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_domain_exists(fx->st, "example.org"), 1);
	struct dmarc_agg_event ev = event("example.org", "192.0.2.1");
	assert_int_equal(store_dmarc_record(fx->st, &ev), STORE_OK);
	struct seen rows = { "", 0 };
	assert_int_equal(store_dmarc_rows(fx->st, DAY, NULL, on_row, &rows), STORE_OK);
	assert_int_equal(rows.n, 1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = xmalloc(8 << 20);
	*len = fread(buf, 1, 8 << 20, f);
	fclose(f);
	return buf;
}

/* A database of a later schema (a newer postern's) is refused and left as it is. */
static void test_newer_schema_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512], path[128];
	store_close(fx->st);
	fx->st = NULL;
	store_sql_exec(fx->dir, "CREATE TABLE dmarc_future(x); PRAGMA user_version = 99;");
	snprintf(path, sizeof(path), "%s/postern.db", fx->dir);
	size_t n1, n2;
	char *before = slurp(path, &n1);
	assert_null(store_open(fx->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	int from, to;
	assert_int_equal(store_migrate(fx->dir, &from, &to, err, sizeof(err)), -1);
	char *after = slurp(path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passed_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_events_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcomes_and_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_step_6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("store_dmarc", tests, NULL, NULL);
}
