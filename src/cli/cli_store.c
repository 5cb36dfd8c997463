/* postern store migrate: the one way besides serve to upgrade the database. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

static const char usage[] = "postern store migrate [-c FILE]";

static int migrate(const struct config *cfg)
{
	char err[1024];
	int from, to;
	if (cli_become_service_user(cfg) < 0)
		return CLI_FAIL;
	if (store_migrate(cfg->data_dir, &from, &to, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	if (from == to)
		printf("%s/postern.db: schema version %d, nothing to do\n", cfg->data_dir, to);
	else if (from == 0)
		printf("%s/postern.db: created at schema version %d\n", cfg->data_dir, to);
	else
		printf("%s/postern.db: migrated from schema version %d to %d (backup in %s/backups)\n",
		       cfg->data_dir, from, to, cfg->data_dir);
	return CLI_OK;
}

int cli_store(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nBrings the database to this postern's schema: a backup into "
		       "data_dir/backups,\nthen every pending migration in one transaction. postern "
		       "serve does the same\nat start; other commands refuse an older database "
		       "rather than upgrade it\nunder a server of the old version.\n", usage);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "migrate") != 0)
		return cli_usage_error(usage, "expected 'migrate'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	int rc = migrate(cfg);
	config_free(cfg);
	return rc;
}
