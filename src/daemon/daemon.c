#include "daemon/daemon.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "daemon/services.h"
#include "mailauth/dkim_signer.h"
#include "net/server.h"
#include "queue/runner.h"
#include "store/commit.h"
#include "store/maildir.h"
#include "store/resolve.h"
#include "store/store.h"
#include "tls/tls.h"

bool daemon_has_services(const struct config *cfg)
{
	for (size_t i = 0; i < daemon_nservices; i++)
		if (config_listen(cfg, daemon_services[i].id)->n > 0)
			return true;
	return false;
}

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

/* Configured postmaster addresses that reach nobody are skipped when mail
 * for postmaster@ arrives: say so now, not when the admin wonders. */
static void warn_unreachable_postmasters(const struct config *cfg, struct store *st)
{
	struct resolve_admin admin = resolve_admin_of(cfg);
	struct resolved *r = xmalloc(sizeof(*r));
	for (size_t i = 0; i < cfg->npostmaster; i++)
		if (resolve_postmaster_address(st, &admin, cfg->postmaster[i], r) == RESOLVE_NO_SUCH_USER)
			log_event(LOG_WARN, "config.postmaster_unreachable", "s", "address",
			          cfg->postmaster[i], "s", "config", cfg->source, "s", "hint",
			          "no user or alias by that name: create it, or change 'postmaster'", NULL);
	free(r);
}

/* Mail for postmaster@ and abuse@ needs somebody to read it (RFC 5321
 * 4.5.1): while that is only the default, say who it is and how to choose. */
static void warn_postmaster(const struct config *cfg, struct store *st)
{
	char first[322];
	if (cfg->npostmaster > 0) {
		warn_unreachable_postmasters(cfg, st);
		return;
	}
	int rc = store_user_first(st, first, sizeof(first));
	if (rc == STORE_ERROR)
		return;
	log_event(LOG_WARN, "config.postmaster_unset", "s", "user", rc == STORE_OK ? first : NULL,
	          "s", "config", cfg->source, "s", "hint", rc == STORE_OK
	          ? "'postmaster' is not set: mail for postmaster@ and abuse@ of every domain and the "
	            "server's notices go to this user, the first one created; set postmaster = "
	            "\"you@example.org\"; to choose"
	          : "'postmaster' is not set and there are no users yet: mail for postmaster@ and "
	            "abuse@ is refused with 451 until the first user is created (it gets that mail), "
	            "or set postmaster = \"you@example.org\";", NULL);
}

/* Migrations run here, once, before the workers open their own handles. */
static int migrate_store(const struct config *cfg)
{
	char err[1024];
	struct store *st = store_open(cfg->data_dir, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	warn_postmaster(cfg, st);
	store_close(st);
	return 0;
}

static void print_banner(const struct config *cfg, const char *config_path)
{
	const char *c = config_path;
	printf("postern %s serving %s (data in %s)\n", POSTERN_VERSION, cfg->hostname, cfg->data_dir);
	for (size_t i = 0; i < daemon_nservices; i++) {
		const struct service *svc = &daemon_services[i];
		const struct listen_list *l = config_listen(cfg, svc->id);
		for (size_t a = 0; a < l->n; a++)
			printf("  %-12s %s%s%s%s\n", service_name(svc), l->addrs[a].text,
			       *svc->summary ? " (" : "", svc->summary, *svc->summary ? ")" : "");
	}
	printf("Add a domain and a user (in another terminal):\n"
	       "  postern domain add example.org%s%s\n"
	       "  postern user add alice@example.org%s%s\n"
	       "Then send a test message:\n"
	       "  swaks --server %s --to alice@example.org\n"
	       "Stop with Ctrl-C (SIGTERM); SIGHUP reloads the TLS certificate.\n",
	       c ? " -c " : "", c ? c : "", c ? " -c " : "", c ? c : "",
	       cfg->listen[SVC_SMTP].n ? cfg->listen[SVC_SMTP].addrs[0].text : "?");
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

static int bind_services(struct server *srv)
{
	char err[1024];
	for (size_t i = 0; i < daemon_nservices; i++) {
		if (server_add_service(srv, &daemon_services[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "postern: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* The parts that need each other, made and freed in order. */
struct daemon {
	const struct config *cfg;
	struct committer *committer;
	struct threadpool *pool;
	struct server *srv;
	struct queue_runner *runner;
	struct dkim_signer *signer;
	struct maildir_sweeper *sweeper;
};

static void daemon_free(struct daemon *d)
{
	/* the committer first: its completions target the worker loops */
	committer_free(d->committer);
	threadpool_free(d->pool);
	server_free(d->srv);
	queue_runner_free(d->runner);
	maildir_sweeper_free(d->sweeper);
	dkim_signer_free(d->signer);
	tls_cleanup();
}

static struct store *open_worker_store(void *arg, char *err, size_t errlen)
{
	const struct daemon *d = arg;
	return store_open(d->cfg->data_dir, err, errlen);
}

static int daemon_build(struct daemon *d, struct config *cfg)
{
	char err[1024];
	d->cfg = cfg;
	/* Argon2id needs 19 MiB per check; glibc would raise its mmap threshold
	 * after the first one and keep those blocks in the pool threads' arenas
	 * for good. A fixed threshold gives them back to the system each time. */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	if (tls_init(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: TLS: %s\n", err);
		return -1;
	}
	/* several committers keep several fsyncs in flight: the journal batches them */
	if ((d->committer = committer_new(4, cfg->hostname, cfg->data_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	if ((d->pool = threadpool_new(2)) == NULL) {
		fprintf(stderr, "postern: cannot start the thread pool\n");
		return -1;
	}
	struct server_resources res = { d->committer, d->pool, open_worker_store, store_close, d };
	if ((d->srv = server_new(cfg, &res, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	if ((d->runner = queue_runner_new(cfg, d->committer, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: queue: %s\n", err);
		return -1;
	}
	if ((d->signer = dkim_signer_new(cfg->data_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: dkim: %s\n", err);
		return -1;
	}
	committer_set_hooks(d->committer, dkim_signer_sign, d->signer,
	                    queue_runner_wake, d->runner);
	struct background bg = { runner_start, runner_stop, d->runner };
	server_add_background(d->srv, &bg);
	/* what crashed deliveries left in Maildir tmp/ directories: at start, then daily */
	d->sweeper = maildir_sweeper_new(cfg->data_dir, MAILDIR_TMP_MAX_AGE, MAILDIR_SWEEP_INTERVAL);
	server_add_background(d->srv, &(struct background){ sweeper_start, sweeper_stop, d->sweeper });
	return bind_services(d->srv);
}

int daemon_serve(struct config *cfg, const char *config_path)
{
	struct daemon d = { 0 };
	if (prepare_data_dir(cfg) < 0 || migrate_store(cfg) < 0)
		return -1;
	int rc = daemon_build(&d, cfg);
	if (rc == 0) {
		print_banner(cfg, config_path);
		rc = server_run(d.srv);
	}
	daemon_free(&d);
	return rc;
}
