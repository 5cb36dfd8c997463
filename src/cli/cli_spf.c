/* postern spf check --ip IP --sender ADDRESS --helo NAME: runs the SPF
 * evaluator (src/mailauth/spf_eval.c) on the libunbound resolver with the
 * configured servers, as an inbound SMTP session would, and prints the
 * outcome. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "dns/resolver.h"
#include "mailauth/spf_eval.h"
#include "mailauth/spf_resolver.h"

static const char usage[] = "postern spf check --ip IP --sender ADDRESS --helo NAME";

struct spf_cli {
	struct event_base *base;
	bool done;
};

static void print_outcome(void *arg, const struct spf_outcome *o)
{
	struct spf_cli *s = arg;
	printf("result: %s\n", spf_result_name(o->result));
	printf("identity: %s\n", o->identity);
	printf("domain: %s\n", o->domain);
	printf("reason: %s\n", o->reason);
	if (o->explanation != NULL)
		printf("explanation: %s\n", o->explanation);
	s->done = true;
	event_base_loopbreak(s->base);
}

static int spf_check_run(const struct config *cfg, const struct cli_args *a)
{
	struct spf_cli s = { .base = event_base_new() };
	if (s.base == NULL)
		return CLI_FAIL;
	struct resolver *r = cli_open_resolver(s.base, cfg);
	if (r == NULL) {
		event_base_free(s.base);
		return CLI_FAIL;
	}
	struct spf_dns dns;
	struct spf_resolver *adapter = spf_resolver_new(r, &dns);
	struct spf_request req = { .ip = a->ip, .sender = a->sender, .helo = a->helo,
		                   .receiver = cfg->hostname };
	struct spf_check *c = spf_check_start(&dns, &req, print_outcome, &s);
	/* every query ends within the resolver's deadline, so this ends */
	if (!s.done)
		event_base_dispatch(s.base);
	if (!s.done) {
		spf_check_cancel(c);
		fprintf(stderr, "postern: the SPF check did not finish\n");
	}
	spf_resolver_free(adapter);
	resolver_free(r);
	event_base_free(s.base);
	return s.done ? CLI_OK : CLI_FAIL;
}

int cli_spf(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n"
		       "Evaluates SPF (RFC 7208) for a client address and MAIL FROM address (the\n"
		       "HELO name when --sender is \"\"), asking the DNS servers of the\n"
		       "configuration (dns.servers), and prints the result, the identity and\n"
		       "domain checked, the reason and, for a fail, the domain's explanation.\n",
		       usage);
		return CLI_OK;
	}
	if (a->npos != 1 || strcmp(a->pos[0], "check") != 0)
		return cli_usage_error(usage, "spf needs the word check");
	if (a->ip == NULL || a->helo == NULL || a->sender == NULL)
		return cli_usage_error(usage, "--ip, --sender and --helo are needed");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	int rc = spf_check_run(cfg, a);
	config_free(cfg);
	return rc;
}
