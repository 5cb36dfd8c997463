/* postern dnsbl check IP: asks the configured DNS lists (dnsbl.zones,
 * dnswl.zones) about an address through the configured resolver, as port
 * 25 does at connect, and prints what it would do. */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "dns/resolver.h"
#include "filter/dnsbl.h"
#include "mailauth/spf_resolver.h"

static const char usage[] = "postern dnsbl check IP";

struct dnsbl_cli {
	struct event_base *base;
	bool done;
};

static const char *action_name(const struct dnsbl_result *r)
{
	if (r->skipped)
		return "skipped";
	return r->action == DNSBL_REJECT ? "reject" : r->action == DNSBL_JUNK ? "junk" : "accept";
}

static void print_result(void *arg, const struct dnsbl_result *r)
{
	struct dnsbl_cli *s = arg;
	printf("action: %s\n", action_name(r));
	if (!r->skipped) {
		printf("score: %d\n", r->score);
		printf("listed: %s\n", r->listed[0] ? r->listed : "none");
		printf("errors: %s\n", r->errors[0] ? r->errors : "none");
		if (r->action == DNSBL_REJECT)
			printf("reply: %d %s %s\n", r->code, r->enh, r->text);
		printf("header: %.*s\n", (int)strcspn(r->header, "\n"), r->header);
	}
	s->done = true;
	event_base_loopbreak(s->base);
}

static int dnsbl_check_run(const struct config *cfg, const char *ip)
{
	struct dnsbl_cli s = { .base = event_base_new() };
	if (s.base == NULL)
		return CLI_FAIL;
	struct resolver *r = cli_open_resolver(s.base, cfg);
	if (r == NULL) {
		event_base_free(s.base);
		return CLI_FAIL;
	}
	struct spf_dns dns;
	struct spf_resolver *adapter = spf_resolver_new(r, &dns);
	struct dnsbl_env env;
	dnsbl_env_from_config(&env, cfg, &dns, s.base);
	struct dnsbl_check *c = dnsbl_check_start(&env, ip, print_result, &s);
	/* the check's own timeout ends it */
	if (c != NULL && !s.done)
		event_base_dispatch(s.base);
	dnsbl_check_free(c);
	spf_resolver_free(adapter);
	resolver_free(r);
	event_base_free(s.base);
	return s.done ? CLI_OK : CLI_FAIL;
}

int cli_dnsbl(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n"
		       "Asks the DNS lists of the configuration (dnsbl.zones, dnswl.zones) about\n"
		       "an address, through the configured resolver (dns.servers), and prints\n"
		       "what port 25 would do with a client there: the score, the zones that\n"
		       "list it (with their answers), the zones that failed (timeout, tempfail,\n"
		       "refused: the list refuses the resolver), the reply and the header.\n",
		       usage);
		return CLI_OK;
	}
	if (a->npos != 2 || strcmp(a->pos[0], "check") != 0)
		return cli_usage_error(usage, "dnsbl needs the word check and an address");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	int rc = dnsbl_check_run(cfg, a->pos[1]);
	config_free(cfg);
	return rc;
}
