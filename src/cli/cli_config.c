/* postern config check */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"

static const char usage[] = "postern config check [-c FILE]";

int cli_config(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nReads the configuration, validates every key and prints "
		       "FILE:LINE: message for the first problem.\n", usage);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "check") != 0)
		return cli_usage_error(usage, "expected 'config check'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	printf("%s: configuration ok (hostname %s, data_dir %s)\n", cfg->source, cfg->hostname,
	       cfg->data_dir);
	config_free(cfg);
	return CLI_OK;
}
