/* postern alias add|del|list */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/util.h"
#include "smtp/smtp_parse.h"
#include "store/store.h"

static const char usage[] =
	"postern alias add ALIAS TARGET... | del ALIAS [TARGET] | list  [-c FILE]\n"
	"       ALIAS is local@domain, or @domain for a catch-all";

static void print_alias(void *arg, const char *const *cols)
{
	(void)arg;
	printf("%s -> %s\n", cols[0], cols[1]);
}

/* Alias names: "@domain" (catch-all) or local@domain with a local domain. */
static bool split_alias(const char *addr, char *local, size_t llen, char *domain, size_t dlen)
{
	if (addr[0] == '@') {
		local[0] = '\0';
		snprintf(domain, dlen, "%s", addr + 1);
		return cli_valid_domain(domain);
	}
	return cli_split_mailbox(addr, local, llen, domain, dlen);
}

/* Targets are any syntactically valid address, local or remote. */
static bool valid_target(const char *t)
{
	char arg[SMTP_PATH_MAX + 8];
	struct smtp_path p;
	if (bsnprintf(arg, sizeof(arg), "TO:<%s>", t) < 0)
		return false;
	return smtp_parse_path_arg(arg, false, true, &p) == SMTP_PARSE_OK && !p.postmaster &&
	       p.domain[0] != '\0' && p.domain[0] != '[';
}

static int alias_add(struct store *st, const struct cli_args *a, const char *local, const char *domain)
{
	char err[512];
	if (store_domain_exists(st, domain) != 1) {
		fprintf(stderr, "postern: %s is not a local domain\n", domain);
		return CLI_FAIL;
	}
	for (int i = 2; i < a->npos; i++)
		if (!valid_target(a->pos[i]))
			return cli_usage_error(usage, "'%s' is not a valid target address", a->pos[i]);
	for (int i = 2; i < a->npos; i++) {
		int rc = store_alias_add(st, local, domain, a->pos[i], err, sizeof(err));
		if (rc == STORE_EXISTS) {
			printf("alias %s -> %s exists already\n", a->pos[1], a->pos[i]);
		} else if (rc != STORE_OK) {
			fprintf(stderr, "postern: %s\n", err);
			return CLI_FAIL;
		} else {
			printf("alias %s -> %s added\n", a->pos[1], a->pos[i]);
		}
	}
	return CLI_OK;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	(void)cfg;
	char err[512], local[65], domain[256];
	const char *verb = a->pos[0];
	if (strcmp(verb, "list") == 0 && a->npos == 1)
		return store_alias_list(st, print_alias, NULL, err, sizeof(err)) == STORE_OK
			? CLI_OK : (fprintf(stderr, "postern: %s\n", err), CLI_FAIL);
	if (a->npos < 2 || !split_alias(a->pos[1], local, sizeof(local), domain, sizeof(domain)))
		return cli_usage_error(usage, "expected a valid ALIAS address");
	if (strcmp(verb, "add") == 0 && a->npos >= 3)
		return alias_add(st, a, local, domain);
	if (strcmp(verb, "del") == 0 && a->npos <= 3) {
		int rc = store_alias_del(st, local, domain, a->npos == 3 ? a->pos[2] : NULL, err,
		                         sizeof(err));
		if (rc == STORE_OK) {
			printf("alias %s deleted\n", a->pos[1]);
			return CLI_OK;
		}
		fprintf(stderr, "postern: %s\n", rc == STORE_NOT_FOUND ? "no such alias" : err);
		return CLI_FAIL;
	}
	return cli_usage_error(usage, "expected add ALIAS TARGET..., del ALIAS [TARGET] or list");
}

int cli_alias(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nMail to ALIAS goes to every TARGET: local mailboxes directly, "
		       "remote addresses\nthrough the outbound queue, with the original envelope "
		       "sender.\n", usage);
		return CLI_OK;
	}
	return cli_run_with_store(a, usage, run);
}
