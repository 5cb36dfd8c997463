/* postern domain records DOMAIN [--check]: the DNS records to publish for a
 * local domain (also printed by `domain add`), and whether DNS has them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/util.h"
#include "dns/lookup.h"
#include "mailauth/dkim.h"
#include "mailauth/zone_check.h"
#include "mailauth/zone_records.h"
#include "store/store.h"

/* The most DKIM keys of one domain listed. */
#define DKIM_KEYS_MAX 16

/* Everything the record list is built from, and the list. */
struct records {
	char addr[ZONE_ADDRS_MAX][64];
	const char *addr_ptr[ZONE_ADDRS_MAX];
	struct zone_dkim_key dkim[DKIM_KEYS_MAX];
	size_t ndkim;
	int dkim_errors;             /* keys in the store whose file did not load */
	struct zone_input in;
	struct zone_list list;
};

/* store_dkim_list callback; cols: domain, selector, algorithm, path. */
static void collect_dkim(void *arg, const char *const *cols)
{
	struct records *rs = arg;
	char record[DKIM_RECORD_MAX], err[512];
	if (rs->ndkim == DKIM_KEYS_MAX)
		return;
	if (dkim_dns_record_of_file(cols[3], record, sizeof(record), err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: DKIM key %s of %s: %s\n", cols[1], cols[0], err);
		rs->dkim_errors++;
		return;
	}
	struct zone_dkim_key *k = &rs->dkim[rs->ndkim++];
	k->selector = xstrdup(cols[1]);
	k->algorithm = xstrdup(cols[2]);
	k->record = xstrdup(record);
}

static void records_free(struct records *rs)
{
	for (size_t i = 0; i < rs->ndkim; i++) {
		free((char *)rs->dkim[i].selector);
		free((char *)rs->dkim[i].algorithm);
		free((char *)rs->dkim[i].record);
	}
	zone_list_free(&rs->list);
}

/* Fills rs for a local domain; CLI_OK, or CLI_FAIL with the reason printed. */
static int records_load(struct store *st, const struct config *cfg, const char *domain,
                        struct records *rs)
{
	char err[512];
	memset(rs, 0, sizeof(*rs));
	int exists = store_domain_exists(st, domain);
	if (exists != 1) {
		if (exists == 0)
			fprintf(stderr, "postern: %s is not a local domain\n", domain);
		else
			fprintf(stderr, "postern: cannot read the domains\n");
		return CLI_FAIL;
	}
	if (store_dkim_list(st, domain, collect_dkim, rs, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	size_t naddrs = zone_server_addrs(cfg, rs->addr, ZONE_ADDRS_MAX);
	for (size_t i = 0; i < naddrs; i++)
		rs->addr_ptr[i] = rs->addr[i];
	rs->in = (struct zone_input){ .domain = domain, .hostname = cfg->hostname,
		                      .addrs = rs->addr_ptr, .naddrs = naddrs,
		                      .dkim = rs->dkim, .ndkim = rs->ndkim };
	zone_records_build(&rs->in, &rs->list);
	return CLI_OK;
}

static void print_line(const struct zone_record *r, const char *prefix)
{
	char line[8192];
	if (zone_record_line(r, line, sizeof(line)) == 0)
		printf("%s%s\n", prefix, line);
}

static void print_listing(const struct records *rs)
{
	printf("; DNS records for %s, mail host %s\n", rs->in.domain, rs->in.hostname);
	for (size_t i = 0; i < rs->list.n; i++) {
		printf("; %s\n", rs->list.rec[i].comment);
		print_line(&rs->list.rec[i], "");
	}
	if (rs->in.ndkim == 0)
		printf("; no DKIM key yet: 'postern dkim keygen %s' makes one; its record then "
		       "shows here\n", rs->in.domain);
	if (rs->in.naddrs == 0)
		printf("; the server's public addresses are not known (no global address in "
		       "listen.smtp, no\n; queue.source_ipv4/6): publish A/AAAA records of %s and "
		       "ask for PTR records yourself\n", rs->in.hostname);
}

int cli_records_print(struct store *st, const struct config *cfg, const char *domain)
{
	struct records rs;
	int rc = records_load(st, cfg, domain, &rs);
	if (rc == CLI_OK) {
		print_listing(&rs);
		rc = rs.dkim_errors ? CLI_FAIL : CLI_OK;
	}
	records_free(&rs);
	return rc;
}

/* ---- --check ---- */

static const char *kind_label(const struct zone_record *r)
{
	switch (r->kind) {
	case ZONE_MX: return "MX";
	case ZONE_SPF: return "SPF";
	case ZONE_DKIM: return "DKIM";
	case ZONE_DMARC: return "DMARC";
	case ZONE_ADDR: return r->type == DNS_RR_AAAA ? "AAAA" : "A";
	case ZONE_PTR: return "PTR";
	}
	return "?";
}

/* Prints r's verdict on its answer; true when it is ok. */
static bool judge(const struct records *rs, const struct zone_record *r,
                  const struct dns_answer *ans)
{
	char detail[1024];
	enum zone_verdict v = zone_check(r, &rs->in, ans->st, (const char *const *)ans->text,
	                                 ans->n, detail, sizeof(detail));
	/* an A/AAAA line names its address: the host has one line per address */
	bool addr = r->kind == ZONE_ADDR;
	printf("%-13s %-5s %s%s%s%s: %s\n", zone_verdict_name(v), kind_label(r), r->owner,
	       addr ? " (" : "", addr ? r->subject : "", addr ? ")" : "", detail);
	if (v != ZONE_CHECK_OK)
		print_line(r, "      publish: ");
	return v == ZONE_CHECK_OK;
}

/* Looks every record up at once and prints the verdicts; how many are ok. */
static size_t check_all(struct dns_lookup *dns, const struct records *rs)
{
	struct dns_answer *ans = xcalloc(rs->list.n ? rs->list.n : 1, sizeof(*ans));
	for (size_t i = 0; i < rs->list.n; i++)
		dns_lookup_add(dns, rs->list.rec[i].owner, rs->list.rec[i].type, &ans[i]);
	dns_lookup_wait(dns);
	size_t good = 0;
	for (size_t i = 0; i < rs->list.n; i++) {
		good += judge(rs, &rs->list.rec[i], &ans[i]);
		dns_answer_clear(&ans[i]);
	}
	free(ans);
	return good;
}

static struct dns_lookup *open_lookup(const struct config *cfg)
{
	char err[512];
	struct dns_lookup *dns = dns_lookup_new((const char *const *)cfg->dns.servers,
	                                        cfg->dns.nservers,
	                                        (const char *const *)cfg->dns.allow_zones,
	                                        cfg->dns.nallow_zones, err, sizeof(err));
	if (dns == NULL)
		fprintf(stderr, "postern: DNS: %s\n", err);
	return dns;
}

int cli_records_check(struct store *st, const struct config *cfg, const char *domain)
{
	struct records rs;
	int rc = records_load(st, cfg, domain, &rs);
	struct dns_lookup *dns = rc == CLI_OK ? open_lookup(cfg) : NULL;
	if (dns != NULL) {
		size_t good = check_all(dns, &rs);
		if (rs.ndkim == 0)
			printf("(no DKIM key yet: 'postern dkim keygen %s' makes one)\n", domain);
		if (good == rs.list.n)
			printf("all %zu records are published\n", good);
		else
			printf("%zu of %zu records need attention\n", rs.list.n - good, rs.list.n);
		rc = good == rs.list.n && rs.dkim_errors == 0 ? CLI_OK : CLI_FAIL;
	} else {
		rc = CLI_FAIL;
	}
	dns_lookup_free(dns);
	records_free(&rs);
	return rc;
}
