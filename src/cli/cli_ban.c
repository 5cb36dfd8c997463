/* postern ban list | add IP[/CIDR] [--duration D] [--reason R] | del IP[/CIDR]
 *
 * The CLI writes the store; a running server reads the change within
 * BAN_SYNC_INTERVAL_MS (or at once on SIGHUP). Every change is an audit event. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/units.h"
#include "core/util.h"
#include "net/ban.h"
#include "store/store.h"
#include "store/store_ban.h"

static const char usage[] =
	"postern ban list [--all] | add IP[/CIDR] [--duration D] [--reason R] | del IP[/CIDR]"
	"  [-c FILE]";

static void format_time(long long ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%SZ", &tm);
}

struct listing {
	long long now;
	bool all;
	int shown;
};

static void print_ban(void *arg, const struct store_ban *r)
{
	struct listing *l = arg;
	bool active = r->until_ms > l->now;
	if (!active && !l->all)
		return;
	char until[32];
	format_time(r->until_ms, until, sizeof(until));
	printf("%-40s  %s %s  offences %d  %-4s  %s\n", r->key, active ? "until" : "ended", until,
	       r->offences, r->source, r->reason);
	l->shown++;
}

static int list(struct store *st, const struct cli_args *a)
{
	struct listing l = { .now = ban_clock_ms(), .all = a->all };
	long long g;
	if (store_ban_list(st, print_ban, &l, &g) != STORE_OK) {
		fprintf(stderr, "postern: cannot read the bans\n");
		return CLI_FAIL;
	}
	printf("%d banned%s\n", l.shown, a->all ? " or remembered" : "");
	return CLI_OK;
}

/* The offences so far: a ban still remembered counts towards the doubling. */
struct previous {
	const char *key;
	int offences;
};

static void find_previous(void *arg, const struct store_ban *r)
{
	struct previous *p = arg;
	if (strcmp(r->key, p->key) == 0)
		p->offences = r->offences;
}

static int add(struct store *st, const struct config *cfg, const struct cli_args *a,
               const char *key)
{
	uint64_t duration = cfg->ban.duration_ms;
	if (a->duration != NULL && (units_parse_duration(a->duration, &duration) < 0 ||
	                            duration == 0 || duration > 3650ULL * 86400 * 1000))
		return cli_usage_error(usage, "--duration: \"%s\" is no duration (\"30m\", \"2h\", "
		                       "\"7d\", at most 10 years)", a->duration);
	const char *reason = a->reason != NULL ? a->reason : "banned by the admin";
	if (strlen(reason) > STORE_BAN_REASON_MAX)
		return cli_usage_error(usage, "--reason: at most %d characters", STORE_BAN_REASON_MAX);
	struct previous prev = { key, 0 };
	long long g, now = ban_clock_ms();
	if (store_ban_list(st, find_previous, &prev, &g) != STORE_OK)
		return CLI_FAIL;
	struct store_ban r = { .key = key, .until_ms = now + (long long)duration, .created_ms = now,
	                       .offences = prev.offences + 1, .reason = reason, .source = "cli" };
	if (store_ban_put(st, &r, 1, &g) != STORE_OK) {
		fprintf(stderr, "postern: cannot write the ban\n");
		return CLI_FAIL;
	}
	log_security(LOG_WARN, "ban.added", "s", "ip", key, "s", "reason", reason, "s", "source", "cli",
	             "i", "duration_ms", (long long)duration, "i", "until", r.until_ms,
	             "i", "offences", (long long)r.offences, NULL);
	char until[32];
	format_time(r.until_ms, until, sizeof(until));
	printf("%s banned until %s\n", key, until);
	return CLI_OK;
}

static int del(struct store *st, const char *key)
{
	int rc = store_ban_del(st, key);
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "postern: %s is not banned\n", key);
		return CLI_FAIL;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: cannot remove the ban\n");
		return CLI_FAIL;
	}
	log_security(LOG_WARN, "ban.removed", "s", "ip", key, "s", "source", "cli", NULL);
	printf("%s unbanned\n", key);
	return CLI_OK;
}

/* An address the allowlist covers is never refused: say so, ban all the same
 * (the allowlist may change). */
static void warn_allowed(const struct config *cfg, const char *text)
{
	char host[64];
	str_copy(host, sizeof(host), text);
	host[strcspn(host, "/")] = '\0';
	if (cidr_match_any(cfg->ban.allow, cfg->ban.nallow, host))
		fprintf(stderr, "postern: warning: %s is in ban.allow, which wins over any ban\n", host);
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	const char *cmd = a->pos[0];
	if (strcmp(cmd, "list") == 0 && a->npos == 1)
		return list(st, a);
	bool is_add = strcmp(cmd, "add") == 0, is_del = strcmp(cmd, "del") == 0;
	if ((!is_add && !is_del) || a->npos != 2)
		return cli_usage_error(usage, "expected list, add IP[/CIDR] or del IP[/CIDR]");
	char key[64], err[160];
	if (ban_key_parse(a->pos[1], key, sizeof(key), err, sizeof(err)) < 0)
		return cli_usage_error(usage, "%s", err);
	/* the admin's change is a security event: it goes to the audit log */
	if (log_open_audit(cfg->log.audit_file) < 0)
		fprintf(stderr, "postern: warning: cannot open the audit log %s\n", cfg->log.audit_file);
	if (is_del)
		return del(st, key);
	warn_allowed(cfg, a->pos[1]);
	return add(st, cfg, a, key);
}

int cli_ban(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\n"
		       "Clients that misbehave are banned by the server (ban = { ... } in the config):\n"
		       "a banned client's connections are closed at once on every listener.\n"
		       "  list          the bans in force (--all: with the ended ones remembered for\n"
		       "                the doubling)\n"
		       "  add IP[/CIDR] ban an address (an IPv6 one by its /64) or a network, for\n"
		       "                --duration (default ban.duration), with --reason\n"
		       "  del IP[/CIDR] lift a ban and forget it\n"
		       "A running server applies a change within 2 seconds (at once on SIGHUP).\n"
		       "Addresses in ban.allow are never refused.\n", usage);
		return CLI_OK;
	}
	/* JSON events of this command go to stderr, not into the server's log */
	log_open(NULL, LOG_INFO);
	int rc = cli_run_with_store(a, usage, run);
	log_close();
	return rc;
}
