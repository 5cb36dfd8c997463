/* postern srs rotate: a new SRS key (src/mailauth/srs_keys.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mailauth/srs_keys.h"

static const char usage[] = "postern srs rotate  [-c FILE]";

int cli_srs(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nrotate puts a new key in front of data_dir/%s (made when missing) "
		       "and keeps the\none that signed until now, so that the addresses it signed "
		       "still take bounces;\nthe key before that is dropped. Rotate at most once per "
		       "srs.max_age. A running\nserver signs with the new key from its next start.\n",
		       usage, SRS_KEY_FILE);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "rotate") != 0)
		return cli_usage_error(usage, a->npos == 0 ? "missing subcommand" : "expected rotate");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	char err[1024];
	size_t n = 0;
	int rc = CLI_FAIL;
	if (cli_become_service_user(cfg) < 0)
		goto out;
	if (srs_keys_rotate(cfg->data_dir, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: srs: %s\n", err);
		goto out;
	}
	printf("%s/%s: a new signing key, %zu key%s in all; restart postern to sign with it\n",
	       cfg->data_dir, SRS_KEY_FILE, n, n == 1 ? "" : "s");
	rc = CLI_OK;
out:
	config_free(cfg);
	return rc;
}
