/* postern auth blocked|unblock */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/ratelimit.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_auth.h"

static const char usage[] = "postern auth blocked | unblock IP|USER|\"IP USER\"  [-c FILE]";

struct block_list {
	int n;
};

static void print_block(void *arg, const char *const *cols)
{
	struct block_list *bl = arg;
	time_t until = (time_t)(atoll(cols[2]) / 1000);
	struct tm tm;
	char when[32];
	gmtime_r(&until, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%-7s  %-40s  until %s  (%s)\n", cols[0], cols[1], when, cols[3]);
	bl->n++;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	if (strcmp(a->pos[0], "blocked") == 0 && a->npos == 1) {
		struct block_list bl = { 0 };
		if (store_auth_list_blocks(st, ratelimit_clock_ms(), print_block, &bl) < 0) {
			fprintf(stderr, "postern: cannot read the block list\n");
			return CLI_FAIL;
		}
		printf("%d blocked\n", bl.n);
		return CLI_OK;
	}
	if (strcmp(a->pos[0], "unblock") == 0 && a->npos == 2) {
		/* the admin action is a security event too: it goes to the audit log */
		if (log_open_audit(cfg->log.audit_file) < 0)
			fprintf(stderr, "postern: warning: cannot open the audit log %s\n", cfg->log.audit_file);
		struct ratelimit_backend b = ratelimit_store_backend(st);
		int rc = ratelimit_unblock(&b, NULL, a->pos[1], "cli");
		if (rc == STORE_NOT_FOUND) {
			fprintf(stderr, "postern: %s is not blocked\n", a->pos[1]);
			return CLI_FAIL;
		}
		if (rc != STORE_OK) {
			fprintf(stderr, "postern: cannot update the block list\n");
			return CLI_FAIL;
		}
		printf("%s unblocked\n", a->pos[1]);
		return CLI_OK;
	}
	return cli_usage_error(usage, "expected 'blocked' or 'unblock IP|USER'");
}

int cli_auth(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nIPs and users blocked by the authentication limiter (too many "
		       "failed logins).\nBlocks expire by themselves; unblock lifts one now and "
		       "forgets its failures.\n", usage);
		return CLI_OK;
	}
	/* JSON events of this command go to stderr, not into the server's log */
	log_open(NULL, LOG_INFO);
	int rc = cli_run_with_store(a, usage, run);
	log_close();
	return rc;
}
