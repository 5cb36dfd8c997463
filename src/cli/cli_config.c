/* postern config check */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/units.h"
#include "daemon/services.h"

static const char usage[] = "postern config check [-c FILE]";

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
	}
}

int cli_config(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nReads the configuration, validates every key and prints "
		       "FILE:LINE: message for the first problem; when there is none, lists each\n"
		       "service's listen addresses and the session policy it will enforce.\n", usage);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "check") != 0)
		return cli_usage_error(usage, "expected 'config check'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	printf("%s: configuration ok (hostname %s, data_dir %s)\n", cfg->source, cfg->hostname,
	       cfg->data_dir);
	print_policies(cfg);
	config_free(cfg);
	return CLI_OK;
}
