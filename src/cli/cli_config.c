/* postern config check */
#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/privs.h"
#include "core/units.h"
#include "daemon/daemon.h"
#include "daemon/layout.h"
#include "daemon/services.h"
#include "filter/rspamd.h"
#include "net/listener.h"
#include "store/store.h"
#include "tls/tls.h"

static const char usage[] = "postern config check [-c FILE] [--connect]";

/* What each service will enforce, after defaults and services.<name>. */
static void print_policies(const struct config *cfg)
{
	printf("services (listen addresses and effective session policy):\n");
	for (size_t i = 0; i < daemon_nservices; i++) {
		const struct service *svc = &daemon_services[i];
		const struct listen_list *l = config_listen(cfg, svc->id);
		const struct service_policy *p = &cfg->policy[svc->id];
		char cmd[16], idle[16], data[16], wr[16], login[16], sess[16], out[16];
		units_format_duration(p->command_ms, cmd, sizeof(cmd));
		units_format_duration(p->idle_ms, idle, sizeof(idle));
		units_format_duration(p->data_ms, data, sizeof(data));
		units_format_duration(p->write_ms, wr, sizeof(wr));
		units_format_duration(p->login_ms, login, sizeof(login));
		units_format_duration(p->session_ms, sess, sizeof(sess));
		units_format_size(p->output_max, out, sizeof(out));
		printf("  %-12s", service_name(svc));
		if (l->n == 0)
			printf(" (not listening)");
		for (size_t a = 0; a < l->n; a++)
			printf(" %s", l->addrs[a].text);
		printf("  (port %d's role%s%s)", svc->default_port, *svc->summary ? ", " : "",
		       svc->summary);
		printf("\n               connections %d (%d per address), errors %d, output %s\n"
		       "               timeouts: command %s, idle %s, data %s, write %s, login %s, "
		       "session %s\n", p->connections, p->connections_per_ip, p->errors, out,
		       cmd, idle, data, wr, login, sess);
		char win[16], pto[16];
		units_format_duration(p->min_rate_window_ms, win, sizeof(win));
		units_format_duration(p->proxy_timeout_ms, pto, sizeof(pto));
		if (p->min_bytes > 0)
			printf("               slow clients: at least %llu octets per %s\n",
			       (unsigned long long)p->min_bytes, win);
		if (p->proxy_protocol)
			printf("               PROXY protocol: from %zu trusted network(s), within %s\n",
			       p->ntrusted_proxies, pto);
	}
}

/* A log file serve can open for appending: the file writable, or its
 * directory when it does not exist yet. */
static int check_log_path(const char *key, const char *path, char *err, size_t errlen)
{
	if (path == NULL || *path == '\0' || strcmp(path, "-") == 0)
		return 0;
	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s: not writable: %s", key, path, strerror(errno));
		return -1;
	}
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s: cannot be created in %s: %s", key, path, dir, strerror(errno));
	return -1;
}

/* Who reads mail for postmaster@ and abuse@ (serve logs the same warning). */
static void print_postmaster(const struct config *cfg)
{
	char first[322], err[1024];
	if (cfg->npostmaster > 0) {
		printf("postmaster:");
		for (size_t i = 0; i < cfg->npostmaster; i++)
			printf("%s %s", i ? "," : "", cfg->postmaster[i]);
		printf(" (mail for postmaster@ and abuse@ of every domain and %s)\n", cfg->hostname);
		return;
	}
	int rc = store_user_first_readonly(cfg->data_dir, first, sizeof(first), err, sizeof(err));
	if (rc == STORE_OK)
		printf("warning: postmaster not set: mail for postmaster@ and abuse@ goes to the first "
		       "user created, %s;\n  set postmaster = \"you@example.org\"; to choose\n", first);
	else if (rc == STORE_NOT_FOUND)
		printf("warning: postmaster not set and no users yet: mail for postmaster@ and abuse@ "
		       "is refused with 451\n  until the first user is created (it gets that mail), "
		       "or set postmaster = \"you@example.org\";\n");
	else
		printf("warning: postmaster not set; the first user created gets its mail (%s)\n", err);
}

static void print_problem(void *arg, const char *problem)
{
	fprintf(stderr, "postern: %s%s\n", (const char *)arg, problem);
}

/* Ports below the unprivileged start need root or CAP_NET_BIND_SERVICE. */
static int check_ports(const struct config *cfg)
{
	int low = privs_unprivileged_port_start(), problems = 0;
	if (geteuid() == 0 || privs_can_bind_low_ports())
		return 0;
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct listen_list *l = config_listen(cfg, (enum service_id)s);
		for (size_t i = 0; i < l->n; i++) {
			if (l->addrs[i].port >= low)
				continue;
			char advice[512];
			privs_bind_advice(l->addrs[i].port, advice, sizeof(advice));
			fprintf(stderr, "postern: %s: listen.%s %s: %s\n", cfg->source,
			        config_service_names[s], l->addrs[i].text, advice);
			problems++;
		}
	}
	return problems;
}

/* UNIX socket paths serve would refuse: a file that is not a socket, a
 * socket another process listens on. */
static int check_sockets(const struct config *cfg)
{
	int problems = 0;
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct listen_list *l = config_listen(cfg, (enum service_id)s);
		for (size_t i = 0; i < l->n; i++) {
			char err[1024];
			if (l->addrs[i].path[0] == '\0' || listener_check_unix(&l->addrs[i], err, sizeof(err)) == 0)
				continue;
			fprintf(stderr, "postern: %s: listen.%s %s\n", cfg->source, config_service_names[s], err);
			problems++;
		}
	}
	return problems;
}

/* Who serve will run as, and whether its files allow it. */
static int check_identity(const struct config *cfg)
{
	struct service_identity id;
	char err[1024];
	if (privs_resolve(cfg, &id, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return 1;
	}
	if (id.change)
		printf("identity: serve binds as root, then runs as %s:%s keeping only "
		       "CAP_NET_BIND_SERVICE\n", id.user, id.group);
	else if (geteuid() == 0)
		printf("identity: serve stays root (user = \"\"): not for a real server\n");
	if (!cfg->strict_permissions) {
		layout_check(cfg, &id, print_problem, "warning (strict_permissions = false): ");
		return check_ports(cfg);
	}
	return layout_check(cfg, &id, print_problem, "") + check_ports(cfg);
}

/* What serve checks before it listens, without creating or changing
 * anything. Prints each problem; returns how many there were. */
static int check_like_serve(const struct config *cfg)
{
	char err[1024];
	int problems = check_identity(cfg) + check_sockets(cfg), version, latest;
	if (!daemon_has_services(cfg)) {
		fprintf(stderr, "postern: %s: nothing to serve: every listen list is empty\n", cfg->source);
		problems++;
	}
	if (tls_check_files(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s: tls: %s\n", cfg->source, err);
		problems++;
	}
	if (check_log_path("log.file", cfg->log.file, err, sizeof(err)) < 0 ||
	    check_log_path("log.audit_file", cfg->log.audit_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s: %s\n", cfg->source, err);
		problems++;
	}
	if (store_check_schema(cfg->data_dir, &version, &latest, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		problems++;
	} else if (version > 0 && version < latest) {
		printf("database: schema %d; serve upgrades it to %d after a backup\n", version, latest);
	} else if (version == 0) {
		printf("database: none yet in %s; serve creates it\n", cfg->data_dir);
	}
	if (cfg->tls.cert == NULL)
		printf("tls: no certificate configured; serve uses a self-signed one for %s\n",
		       cfg->hostname);
	print_postmaster(cfg);
	return problems;
}

/* --connect: clamd answers PING (clamav.enabled). 0, or 1 with a line. */
static int check_clamav(const struct config *cfg)
{
	char detail[512];
	if (!cfg->clamav.enabled)
		return 0;
	if (cli_clamav_ping(cfg, detail, sizeof(detail)) == 0) {
		printf("clamav: %s\n", detail);
		return 0;
	}
	fprintf(stderr, "postern: %s: clamav: %s\n", cfg->source, detail);
	return 1;
}

/* --connect: rspamd's normal worker and controller answer (rspamd.enabled). */
static int check_rspamd(const struct config *cfg)
{
	if (!cfg->rspamd.enabled)
		return 0;
	char ok[512] = "", err[512];
	struct event_base *base = event_base_new();
	int rc = base ? rspamd_probe(base, &cfg->rspamd, ok, sizeof(ok), err, sizeof(err)) : -1;
	if (base)
		event_base_free(base);
	if (rc < 0) {
		fprintf(stderr, "postern: %s: %s\n", cfg->source, base ? err : "out of memory");
		return 1;
	}
	printf("rspamd: %s\n", ok);
	return 0;
}

/* --connect: the daemons the configuration names answer. Prints each
 * outcome; returns how many did not. */
static int check_connections(const struct config *cfg)
{
	return check_clamav(cfg) + check_rspamd(cfg);
}

int cli_config(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nReads the configuration, validates every key and prints "
		       "FILE:LINE: message\nfor the first problem. Then runs the checks serve runs\n"
		       "before listening, creating nothing: at least one listener, tls.cert and\n"
		       "tls.key load and match, log files writable, the database schema not newer\n"
		       "than this binary, the service user exists, no key or data others can read\n"
		       "or change (strict_permissions), ports below 1024 bindable, UNIX socket\n"
		       "paths free or stale. When all pass, lists each service's listen addresses and\n"
		       "the session policy it will enforce. Says who gets mail for postmaster@ and\n"
		       "abuse@ (the 'postmaster' key, else the first user created).\n"
		       "With --connect, also checks that the daemons configured answer: clamd\n"
		       "(clamav.address) to PING, rspamd's normal worker (rspamd.address, /ping)\n"
		       "and, when rspamd.learn, its controller (rspamd.controller, /stat with\n"
		       "rspamd.password).\n", usage);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "check") != 0)
		return cli_usage_error(usage, "expected 'config check'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	int problems = check_like_serve(cfg);
	int silent = a->connect ? check_connections(cfg) : 0;
	if (problems > 0) {
		fprintf(stderr, "postern: %s: serve would refuse to start (%d problem%s above)\n",
		        cfg->source, problems, problems == 1 ? "" : "s");
		config_free(cfg);
		return CLI_FAIL;
	}
	if (silent > 0) {
		fprintf(stderr, "postern: %s: valid, but %d daemon%s it names did not answer (above)\n",
		        cfg->source, silent, silent == 1 ? "" : "s");
		config_free(cfg);
		return CLI_FAIL;
	}
	printf("%s: configuration ok (hostname %s, data_dir %s)\n", cfg->source, cfg->hostname,
	       cfg->data_dir);
	print_policies(cfg);
	config_free(cfg);
	return CLI_OK;
}
