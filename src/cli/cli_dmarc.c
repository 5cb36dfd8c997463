/* postern dmarc reports [--day D] | send-reports: the DMARC aggregate data
 * the server recorded, what became of each domain-day's report, and a
 * report run now (src/queue/dmarc_send.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_dmarc.h"

static const char usage[] = "postern dmarc reports [--day YYYY-MM-DD] | send-reports  [-c FILE]";

static void day_text(int64_t day, char out[16])
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* "YYYY-MM-DD" (UTC) to its day number; -1 when it is not one */
static int64_t parse_day(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || tm.tm_year < 70)
		return -1;
	return (int64_t)timegm(&tm) / 86400;
}

static void print_domain(void *arg, const struct store_dmarc_domain *d)
{
	char day[16];
	int *n = arg;
	day_text(d->day, day);
	printf("%s  %-32s  %6lld msgs  %4lld rows  %-10s  p=%s  rua=%s\n", day, d->policy_domain,
	       d->messages, d->nrows, d->passed ? "passed" : "never-pass", d->p,
	       d->rua[0] ? d->rua : "-");
	(*n)++;
}

static void print_row(void *arg, const struct store_dmarc_row *r)
{
	(void)arg;
	printf("    %-39s  %6lld  from=%s  %s  dkim=%s(%s %s)  spf=%s(%s %s)\n", r->source_ip, r->count,
	       r->header_from, r->disposition, r->dkim_aligned ? "pass" : "fail",
	       r->dkim_domain[0] ? r->dkim_domain : "-", r->dkim_result,
	       r->spf_aligned ? "pass" : "fail", r->spf_domain[0] ? r->spf_domain : "-",
	       r->spf_result);
}

static void print_report(void *arg, const struct store_dmarc_report *r)
{
	char day[16];
	int *n = arg;
	day_text(r->day, day);
	printf("%s  %-32s  %-12s  %s%s%s%s\n", day, r->policy_domain, r->status,
	       r->report_id[0] ? "id=" : "", r->report_id, r->rcpts[0] ? " to " : "", r->rcpts);
	if (r->detail[0])
		printf("            %s\n", r->detail);
	(*n)++;
}

struct day_arg {
	struct store *st;
	int64_t day;
};

static void print_domain_rows(void *arg, const struct store_dmarc_domain *d)
{
	struct day_arg *a = arg;
	int n = 0;
	print_domain(&n, d);
	store_dmarc_rows(a->st, a->day, d->policy_domain, print_row, NULL);
}

static int list(struct store *st, const char *day_arg)
{
	int64_t from = 0, to = INT32_MAX, day = -1;
	int n = 0, m = 0;
	if (day_arg != NULL) {
		if ((day = parse_day(day_arg)) < 0)
			return cli_usage_error(usage, "--day takes a date, YYYY-MM-DD (UTC)");
		from = to = day;
	}
	printf("Recorded (completed days are reported at the next run):\n");
	struct day_arg da = { st, day };
	if (store_dmarc_domains(st, from, to, day >= 0 ? print_domain_rows : print_domain,
	                        day >= 0 ? (void *)&da : (void *)&n) != STORE_OK)
		goto fail;
	if (day >= 0) {
		long long nrows, drops;
		if (store_dmarc_day_totals(st, day, &nrows, &drops) != STORE_OK)
			goto fail;
		if (drops > 0)
			printf("  %lld messages not counted: the day's limits of distinct rows were "
			       "reached\n", drops);
	}
	printf("Reports:\n");
	if (store_dmarc_reports(st, from, to, print_report, &m) != STORE_OK)
		goto fail;
	return CLI_OK;
fail:
	fprintf(stderr, "postern: dmarc: cannot read the store\n");
	return CLI_FAIL;
}

static int send_now(struct store *st, const struct config *cfg)
{
	if (!cfg->dmarc.reports) {
		fprintf(stderr, "postern: dmarc.reports is off in the configuration: no report is sent\n");
		return CLI_FAIL;
	}
	if (store_dmarc_set_next_run(st, 0) != STORE_OK) {
		fprintf(stderr, "postern: dmarc: cannot write the store\n");
		return CLI_FAIL;
	}
	log_event(LOG_INFO, "admin.dmarc_send_reports", NULL);
	printf("the running server sends the reports of completed days within seconds\n");
	return CLI_OK;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	if (strcmp(a->pos[0], "reports") == 0 && a->npos == 1)
		return list(st, a->day);
	if (strcmp(a->pos[0], "send-reports") == 0 && a->npos == 1 && a->day == NULL)
		return send_now(st, cfg);
	return cli_usage_error(usage, "unknown subcommand or extra arguments");
}

int cli_dmarc(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nreports lists the DMARC aggregate data inbound mail left, per UTC "
		       "day and policy\ndomain (--day: that day's rows too), and what became of each "
		       "domain-day's\nreport. send-reports makes the running server send the reports of "
		       "completed\ndays now instead of at the next dmarc.report_interval; reports are "
		       "only sent\nwith dmarc.reports = true, only for domains some of whose mail "
		       "passed DMARC,\nonly to authorised mailto: addresses, at most "
		       "dmarc.report_max_per_day.\n", usage);
		return CLI_OK;
	}
	log_open(NULL, LOG_INFO);
	int rc = cli_run_with_store(a, usage, run);
	log_close();
	return rc;
}
