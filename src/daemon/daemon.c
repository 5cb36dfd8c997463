#include "daemon/daemon.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/known_networks.h"
#include "auth/login.h"
#include "core/config.h"
#include "core/log.h"
#include "core/privs.h"
#include "core/threadpool.h"
#include "core/util.h"
#include "daemon/junk_learn.h"
#include "daemon/layout.h"
#include "daemon/services.h"
#include "daemon/sockets.h"
#include "mailauth/arc_forward.h"
#include "mailauth/dkim_signer.h"
#include "mailauth/orgdomain.h"
#include "mailauth/srs_keys.h"
#include "net/server.h"
#include "queue/runner.h"
#include "store/commit.h"
#include "store/maildir.h"
#include "store/quota.h"
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
static void warn_postmaster(const struct config *cfg)
{
	char first[322], err[1024];
	struct store *st = store_open(cfg->data_dir, err, sizeof(err));
	if (st == NULL)
		return;   /* the workers' own store_open reports why */
	if (cfg->npostmaster > 0) {
		warn_unreachable_postmasters(cfg, st);
		store_close(st);
		return;
	}
	int rc = store_user_first(st, first, sizeof(first));
	store_close(st);
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
	int from, to;
	if (store_migrate(cfg->data_dir, &from, &to, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	return 0;
}

/* The commands the banner suggests must work when pasted: the binary by
 * its real path, the configuration by its absolute one. */
static void banner_command(const char *config_path, char *out, size_t outlen)
{
	char exe[PATH_MAX], conf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		snprintf(exe, sizeof(exe), "postern");
	else
		exe[n] = '\0';
	if (config_path == NULL)
		snprintf(out, outlen, "%s", exe);
	else
		snprintf(out, outlen, "%s -c %s", exe,
		         realpath(config_path, conf) != NULL ? conf : config_path);
}

static void print_banner(const struct config *cfg, const char *config_path)
{
	char cmd[2 * PATH_MAX + 8], cwd[PATH_MAX];
	banner_command(config_path, cmd, sizeof(cmd));
	printf("postern %s serving %s (data in %s)\n", POSTERN_VERSION, cfg->hostname, cfg->data_dir);
	for (size_t i = 0; i < daemon_nservices; i++) {
		const struct service *svc = &daemon_services[i];
		const struct listen_list *l = config_listen(cfg, svc->id);
		for (size_t a = 0; a < l->n; a++)
			printf("  %-12s %s%s%s%s\n", service_name(svc), l->addrs[a].text,
			       *svc->summary ? " (" : "", svc->summary, *svc->summary ? ")" : "");
	}
	if (config_path == NULL && getcwd(cwd, sizeof(cwd)) != NULL)
		printf("Add a domain and a user (in another terminal, in %s):\n", cwd);
	else
		printf("Add a domain and a user (in another terminal):\n");
	printf("  %s domain add example.org\n"
	       "  %s user add alice@example.org\n"
	       "Then send a test message:\n"
	       "  swaks --server %s --to alice@example.org\n"
	       "Stop with Ctrl-C (SIGTERM); SIGHUP reloads the TLS certificate.\n",
	       cmd, cmd, cfg->listen[SVC_SMTP].n ? cfg->listen[SVC_SMTP].addrs[0].text : "?");
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
	struct srs srs;                 /* read by every worker; keys loaded once, at start */
	struct orgdomain *orgdomain;    /* the public suffix list (DMARC), read by every worker */
	struct maildir_sweeper *sweeper;
	struct local_sockets sockets;   /* bound before the privilege drop */
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
	orgdomain_close(d->orgdomain);
	OPENSSL_cleanse(&d->srs, sizeof(d->srs));
	login_cache_stop();     /* the workers and the pool are gone */
	local_sockets_close(&d->sockets);
	tls_cleanup();
}

static struct store *open_worker_store(void *arg, char *err, size_t errlen)
{
	const struct daemon *d = arg;
	return store_open(d->cfg->data_dir, err, errlen);
}

/* srs.enabled: the key (made on first start) and the rules the workers use. */
static int load_srs(struct srs *srs, const struct config *cfg)
{
	char err[1024];
	if (!cfg->srs.enabled)
		return 0;
	if (srs_keys_load(srs, cfg->data_dir, true, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: srs: %s\n", err);
		return -1;
	}
	snprintf(srs->domain, sizeof(srs->domain), "%s", cfg->srs.domain);
	srs->max_age_days = cfg->srs.max_age_days;
	return 0;
}

/* The public suffix list, and a word about its age: a list older than the
 * suffixes a sender uses misjudges its organisational domain (Debian 12's
 * is from February 2023; dmarc.psl_file points at a newer one). */
static struct orgdomain *load_orgdomain(const struct config *cfg)
{
	char err[1024], date[32] = "unknown";
	struct orgdomain *od = orgdomain_open(cfg->dmarc.psl_file, err, sizeof(err));
	if (od == NULL) {
		fprintf(stderr, "postern: dmarc.psl_file: %s\n", err);
		return NULL;
	}
	time_t t = orgdomain_list_time(od);
	struct tm tm;
	if (t > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	log_event(LOG_INFO, "dmarc.public_suffix_list", "s", "file", orgdomain_list_source(od),
	          "s", "date", date, NULL);
	return od;
}

static int daemon_build(struct daemon *d, struct config *cfg)
{
	char err[1024];
	d->cfg = cfg;
	/* Argon2id needs 19 MiB per check; glibc would raise its mmap threshold
	 * after the first one and keep those blocks in the pool threads' arenas
	 * for good. A fixed threshold gives them back to the system each time. */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	/* before any thread that checks passwords exists */
	if (login_cache_start(cfg->auth.cache_ttl_ms, (size_t)cfg->auth.cache_size) < 0) {
		fprintf(stderr, "postern: cannot make the credentials cache's key\n");
		return -1;
	}
	known_networks_configure(&cfg->auth.known_networks);
	/* several committers keep several fsyncs in flight: the journal batches them */
	if ((d->committer = committer_new(4, cfg->hostname, cfg->data_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	struct quota_limits quota_defaults = quota_defaults_of(cfg);
	committer_set_quota_defaults(d->committer, &quota_defaults);
	if ((d->pool = threadpool_new(2)) == NULL) {
		fprintf(stderr, "postern: cannot start the thread pool\n");
		return -1;
	}
	if (load_srs(&d->srs, cfg) < 0 || (d->orgdomain = load_orgdomain(cfg)) == NULL)
		return -1;
	struct server_resources res = {
		.committer = d->committer, .pool = d->pool, .srs = cfg->srs.enabled ? &d->srs : NULL,
		.orgdomain = d->orgdomain,
		.prebound = d->sockets.fds, .nprebound = d->sockets.n,
		.open_store = open_worker_store, .close_store = store_close, .arg = d,
	};
	if ((d->srv = server_new(cfg, &res, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	if ((d->runner = queue_runner_new(cfg, d->committer, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: queue: %s\n", err);
		return -1;
	}
	queue_runner_set_srs(d->runner, cfg->srs.enabled ? &d->srs : NULL);
	if ((d->signer = dkim_signer_new(cfg->data_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "postern: dkim: %s\n", err);
		return -1;
	}
	committer_set_hooks(d->committer, dkim_signer_sign, d->signer,
	                    queue_runner_wake, d->runner);
	committer_set_sealer(d->committer, arc_forward_seal, d->signer);
	junk_learn_install(cfg);
	struct background bg = { runner_start, runner_stop, d->runner };
	server_add_background(d->srv, &bg);
	/* what crashed deliveries left in Maildir tmp/ directories: at start, then daily */
	d->sweeper = maildir_sweeper_new(cfg->data_dir, MAILDIR_TMP_MAX_AGE, MAILDIR_SWEEP_INTERVAL);
	server_add_background(d->srv, &(struct background){ sweeper_start, sweeper_stop, d->sweeper });
	return bind_services(d->srv);
}

static int init_tls(const struct config *cfg)
{
	char err[1024];
	if (tls_init(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: TLS: %s\n", err);
		return -1;
	}
	return 0;
}

static void print_problem(void *arg, const char *problem)
{
	(void)arg;
	fprintf(stderr, "postern: %s\n", problem);
}

static void log_problem(void *arg, const char *problem)
{
	(void)arg;
	log_event(LOG_WARN, "server.permissions", "s", "problem", problem, NULL);
}

/* strict_permissions: refuse to start on files others can read or change. */
static int check_permissions(const struct config *cfg, const struct service_identity *id)
{
	if (!cfg->strict_permissions) {
		layout_check(cfg, id, log_problem, NULL);
		return 0;
	}
	if (layout_check(cfg, id, print_problem, NULL) == 0)
		return 0;
	fprintf(stderr, "postern: %s: refusing to start (strict_permissions = true); run the "
	        "commands above, or set strict_permissions = false\n", cfg->source);
	return -1;
}

static void log_identity(const struct config *cfg, const struct service_identity *id)
{
	if (geteuid() == 0) {
		log_event(LOG_WARN, "server.running_as_root", "s", "config", cfg->source, "s", "hint",
		          "set user (default \"postern\") so that the server gives up root", NULL);
		return;
	}
	log_event(LOG_INFO, "server.identity", "i", "uid", (long long)geteuid(),
	          "i", "gid", (long long)getegid(), "s", "user", id->change ? id->user : "",
	          "b", "bind_low_ports", privs_can_bind_low_ports(), NULL);
	/* a key only root can read loaded now, but a SIGHUP reload would fail */
	if (cfg->tls.key != NULL && access(cfg->tls.key, R_OK) < 0)
		log_event(LOG_WARN, "tls.key_unreadable", "s", "path", cfg->tls.key, "s", "hint",
		          "the service user cannot read it: a reload (SIGHUP) will keep the old "
		          "certificate; see docs/deploy.md", NULL);
}

/* What needs root happens first: the data directory made and owned, the log
 * files handed over, a configured TLS key read, the UNIX sockets made and
 * given to their owners. Then root is given up before any thread starts
 * (capabilities are per thread) and before a byte is read from the network. */
static int become_service_user(const struct config *cfg, struct local_sockets *sockets,
                               bool *tls_loaded)
{
	struct service_identity id;
	char err[1024];
	if (privs_resolve(cfg, &id, err, sizeof(err)) < 0 ||
	    layout_prepare(cfg, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	if (check_permissions(cfg, &id) < 0)
		return -1;
	if (id.change && log_chown(id.uid, id.gid) < 0) {
		fprintf(stderr, "postern: cannot hand the log files to %s: %s\n", id.user, strerror(errno));
		return -1;
	}
	/* a configured key may be readable by root only; the self-signed one is
	 * made in data_dir, as the service user */
	*tls_loaded = cfg->tls.cert != NULL;
	if (*tls_loaded && init_tls(cfg) < 0)
		return -1;
	if (local_sockets_bind(cfg, &id, sockets, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	if (privs_drop_for_serve(&id, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	log_identity(cfg, &id);
	return 0;
}

int daemon_serve(struct config *cfg, const char *config_path)
{
	struct daemon d = { 0 };
	bool tls_loaded = false;
	if (become_service_user(cfg, &d.sockets, &tls_loaded) < 0 || migrate_store(cfg) < 0 ||
	    (!tls_loaded && init_tls(cfg) < 0)) {
		local_sockets_close(&d.sockets);
		if (tls_loaded)
			tls_cleanup();
		return -1;
	}
	warn_postmaster(cfg);
	int rc = daemon_build(&d, cfg);
	if (rc == 0) {
		print_banner(cfg, config_path);
		rc = server_run(d.srv);
	}
	daemon_free(&d);
	return rc;
}
