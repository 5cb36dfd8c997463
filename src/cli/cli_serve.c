/* postern serve: the daemon in the foreground. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "mailauth/dkim_signer.h"
#include "imap/imap_session.h"
#include "net/server.h"
#include "queue/runner.h"
#include "smtp/smtp_session.h"
#include "store/commit.h"
#include "store/maildir.h"
#include "store/store.h"
#include "tls/tls.h"

static const char usage[] = "postern serve [-c FILE]";

/* Creates the directories the server writes to, before any thread starts. */
static int prepare_data_dir(const struct config *cfg)
{
	static const char *const subdirs[] = { "", "/mail", "/spool", "/tls" };
	char path[4096];
	for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
		if (bsnprintf(path, sizeof(path), "%s%s", cfg->data_dir, subdirs[i]) < 0 ||
		    mkdir_p(path, 0750) < 0) {
			fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void print_banner(const struct cli_args *a, const struct config *cfg)
{
	const char *c = a->config_path ? a->config_path : NULL;
	printf("postern %s serving %s (data in %s)\n", POSTERN_VERSION, cfg->hostname, cfg->data_dir);
	for (size_t i = 0; i < cfg->listen_smtp.n; i++)
		printf("  smtp         %s\n", cfg->listen_smtp.addrs[i].text);
	for (size_t i = 0; i < cfg->listen_submission.n; i++)
		printf("  submission   %s (STARTTLS, AUTH)\n", cfg->listen_submission.addrs[i].text);
	for (size_t i = 0; i < cfg->listen_submissions.n; i++)
		printf("  submissions  %s (implicit TLS, AUTH)\n", cfg->listen_submissions.addrs[i].text);
	for (size_t i = 0; i < cfg->listen_imap.n; i++)
		printf("  imap         %s (STARTTLS)\n", cfg->listen_imap.addrs[i].text);
	for (size_t i = 0; i < cfg->listen_imaps.n; i++)
		printf("  imaps        %s (implicit TLS)\n", cfg->listen_imaps.addrs[i].text);
	printf("Add a domain and a user (in another terminal):\n"
	       "  postern domain add example.org%s%s\n"
	       "  postern user add alice@example.org%s%s\n"
	       "Then send a test message:\n"
	       "  swaks --server %s --to alice@example.org\n"
	       "Stop with Ctrl-C (SIGTERM); SIGHUP reloads the TLS certificate.\n",
	       c ? " -c " : "", c ? c : "", c ? " -c " : "", c ? c : "",
	       cfg->listen_smtp.n ? cfg->listen_smtp.addrs[0].text : "?");
	fflush(stdout);
}

static int runner_start(void *arg, char *err, size_t errlen)
{
	return queue_runner_start(arg, err, errlen);
}

static void runner_stop(void *arg)
{
	queue_runner_stop(arg);
}

static int sweeper_start(void *arg, char *err, size_t errlen)
{
	return maildir_sweeper_start(arg, err, errlen);
}

static void sweeper_stop(void *arg)
{
	maildir_sweeper_stop(arg);
}

static int serve(const struct cli_args *a, struct config *cfg)
{
	char err[1024];
	struct store *st;
	if (prepare_data_dir(cfg) < 0)
		return CLI_FAIL;
	/* migrations run here, once, before the workers open their own handles */
	if ((st = cli_open_store(cfg)) == NULL)
		return CLI_FAIL;
	store_close(st);
	if (tls_init(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: TLS: %s\n", err);
		return CLI_FAIL;
	}
	struct server *srv = server_new(cfg, err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		tls_cleanup();
		return CLI_FAIL;
	}
	struct queue_runner *runner = queue_runner_new(cfg, server_committer(srv), err, sizeof(err));
	if (runner == NULL) {
		fprintf(stderr, "postern: queue: %s\n", err);
		server_free(srv);
		tls_cleanup();
		return CLI_FAIL;
	}
	struct dkim_signer *signer = dkim_signer_new(cfg->data_dir, err, sizeof(err));
	if (signer == NULL) {
		fprintf(stderr, "postern: dkim: %s\n", err);
		queue_runner_free(runner);
		server_free(srv);
		tls_cleanup();
		return CLI_FAIL;
	}
	committer_set_hooks(server_committer(srv), dkim_signer_sign, signer, queue_runner_wake, runner);
	struct background bg = { runner_start, runner_stop, runner };
	server_add_background(srv, &bg);
	/* what crashed deliveries left in Maildir tmp/ directories: at start, then daily */
	struct maildir_sweeper *sweeper = maildir_sweeper_new(cfg->data_dir, MAILDIR_TMP_MAX_AGE,
	                                                      MAILDIR_SWEEP_INTERVAL);
	server_add_background(srv, &(struct background){ sweeper_start, sweeper_stop, sweeper });
	int rc = CLI_OK;
	if (server_add_service(srv, &smtp_service, &cfg->listen_smtp, err, sizeof(err)) < 0 ||
	    server_add_service(srv, &submission_service, &cfg->listen_submission, err, sizeof(err)) < 0 ||
	    server_add_service(srv, &submissions_service, &cfg->listen_submissions, err, sizeof(err)) < 0 ||
	    server_add_service(srv, &imap_service, &cfg->listen_imap, err, sizeof(err)) < 0 ||
	    server_add_service(srv, &imaps_service, &cfg->listen_imaps, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		rc = CLI_FAIL;
	} else {
		print_banner(a, cfg);
		if (server_run(srv) < 0)
			rc = CLI_FAIL;
	}
	server_free(srv);
	queue_runner_free(runner);
	maildir_sweeper_free(sweeper);
	dkim_signer_free(signer);
	tls_cleanup();
	return rc;
}

int cli_serve(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nRuns postern in the foreground. Without -c it uses the embedded "
		       "default\nconfiguration: data under ./var, SMTP on 127.0.0.1:2525 and [::1]:2525.\n"
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
	if (cfg->listen_smtp.n + cfg->listen_submission.n + cfg->listen_submissions.n +
	    cfg->listen_imap.n + cfg->listen_imaps.n == 0) {
		fprintf(stderr, "postern: %s: nothing to serve: every listen list is empty\n", cfg->source);
		config_free(cfg);
		return CLI_FAIL;
	}
	if (log_open(cfg->log.file, cfg->log.level) < 0 || log_open_audit(cfg->log.audit_file) < 0) {
		fprintf(stderr, "postern: %s: %s\n", cfg->log.file, strerror(errno));
		config_free(cfg);
		return CLI_FAIL;
	}
	int rc = serve(a, cfg);
	log_close();
	config_free(cfg);
	return rc;
}
