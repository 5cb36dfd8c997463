/* postern domain add|del|list|records */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"

static const char usage[] =
	"postern domain add DOMAIN | del DOMAIN | list | records DOMAIN [--check]  [-c FILE]";

static void print_domain(void *arg, const char *const *cols)
{
	(void)arg;
	printf("%s\n", cols[0]);
}

static int add_or_del(struct store *st, const struct config *cfg, const char *verb,
                      const char *domain)
{
	char err[512];
	bool add = strcmp(verb, "add") == 0;
	int rc = add ? store_domain_add(st, domain, err, sizeof(err))
	             : store_domain_del(st, domain, err, sizeof(err));
	switch (rc) {
	case STORE_OK:
		printf("domain %s %s\n", domain, add ? "added" : "deleted");
		if (add) {
			printf("\n");
			cli_records_print(st, cfg, domain);
		}
		return CLI_OK;
	case STORE_EXISTS:
		fprintf(stderr, "postern: domain %s already exists\n", domain);
		return CLI_FAIL;
	case STORE_NOT_FOUND:
		fprintf(stderr, "postern: no domain %s\n", domain);
		return CLI_FAIL;
	case STORE_IN_USE:
		fprintf(stderr, "postern: domain %s still has users or aliases; delete them first\n", domain);
		return CLI_FAIL;
	default:
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	char err[512], domain[256];
	const char *verb = a->pos[0];
	if (a->check && strcmp(verb, "records") != 0)
		return cli_usage_error(usage, "--check goes with records");
	if (strcmp(verb, "list") == 0 && a->npos == 1)
		return store_domain_list(st, print_domain, NULL, err, sizeof(err)) == STORE_OK
			? CLI_OK : (fprintf(stderr, "postern: %s\n", err), CLI_FAIL);
	if (a->npos != 2 || (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0 &&
	                     strcmp(verb, "records") != 0))
		return cli_usage_error(usage, "expected add DOMAIN, del DOMAIN, list or records DOMAIN");
	snprintf(domain, sizeof(domain), "%s", a->pos[1]);
	if (!cli_valid_domain(domain))
		return cli_usage_error(usage, "'%s' is not a valid domain name", a->pos[1]);
	if (strcmp(verb, "records") == 0)
		return a->check ? cli_records_check(st, cfg, domain) : cli_records_print(st, cfg, domain);
	return add_or_del(st, cfg, verb, domain);
}

int cli_domain(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nLocal domains are the ones postern accepts mail for.\n"
		       "records prints the DNS records to publish for one (zone-file lines: MX, SPF,\n"
		       "DKIM, DMARC, the mail host's A/AAAA and the PTR to ask the provider for);\n"
		       "--check looks each up through dns.servers and says ok, missing or differs\n"
		       "(exit 0 only when all are right). add prints the same list.\n", usage);
		return CLI_OK;
	}
	return cli_run_with_store(a, usage, run);
}
