/* postern serve: the daemon in the foreground. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "daemon/daemon.h"

static const char usage[] = "postern serve [-c FILE]";

int cli_serve(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nRuns postern in the foreground. Without -c it reads $POSTERN_CONFIG, "
		       "else\n/etc/postern/postern.conf when it exists, else the embedded default "
		       "configuration:\ndata under ./var, SMTP on 127.0.0.1:2525 and [::1]:2525, "
		       "submission on 2587\nand 2465, IMAP on 2143 and 2993, POP3 on 2110 and 2995 "
		       "(127.0.0.1).\n"
		       "It serves every service with a listen list: smtp, submission, submissions, "
		       "imap,\nimaps, pop3 (STLS) and pop3s (implicit TLS).\n"
		       "Started as root it binds its ports, opens its logs and reads its TLS key, then "
		       "runs\nas the configured user (default postern) keeping only "
		       "CAP_NET_BIND_SERVICE.\n"
		       "Logs are JSON lines on standard error (or log.file).\n"
		       "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the certificate and "
		       "reopens the log.\n", usage);
		return CLI_OK;
	}
	if (a->npos != 0)
		return cli_usage_error(usage, "serve takes no arguments");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	if (!daemon_has_services(cfg)) {
		fprintf(stderr, "postern: %s: nothing to serve: every listen list is empty\n", cfg->source);
		config_free(cfg);
		return CLI_FAIL;
	}
	if (log_open(cfg->log.file, cfg->log.level) < 0 || log_open_audit(cfg->log.audit_file) < 0) {
		fprintf(stderr, "postern: %s: %s\n", cfg->log.file, strerror(errno));
		config_free(cfg);
		return CLI_FAIL;
	}
	int rc = daemon_serve(cfg, a->config_path) == 0 ? CLI_OK : CLI_FAIL;
	log_close();
	config_free(cfg);
	return rc;
}
