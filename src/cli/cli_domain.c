/* postern domain add|del|list */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"

static const char usage[] = "postern domain add DOMAIN | del DOMAIN | list  [-c FILE]";

static void print_domain(void *arg, const char *const *cols)
{
	(void)arg;
	printf("%s\n", cols[0]);
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	(void)cfg;
	char err[512], domain[256];
	const char *verb = a->pos[0];
	if (strcmp(verb, "list") == 0 && a->npos == 1)
		return store_domain_list(st, print_domain, NULL, err, sizeof(err)) == STORE_OK
			? CLI_OK : (fprintf(stderr, "postern: %s\n", err), CLI_FAIL);
	if (a->npos != 2 || (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0))
		return cli_usage_error(usage, "expected add DOMAIN, del DOMAIN or list");
	snprintf(domain, sizeof(domain), "%s", a->pos[1]);
	if (!cli_valid_domain(domain))
		return cli_usage_error(usage, "'%s' is not a valid domain name", a->pos[1]);
	int rc = strcmp(verb, "add") == 0 ? store_domain_add(st, domain, err, sizeof(err))
	                                  : store_domain_del(st, domain, err, sizeof(err));
	switch (rc) {
	case STORE_OK:
		printf("domain %s %s\n", domain, strcmp(verb, "add") == 0 ? "added" : "deleted");
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

int cli_domain(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nLocal domains are the ones postern accepts mail for.\n", usage);
		return CLI_OK;
	}
	return cli_run_with_store(a, usage, run);
}
