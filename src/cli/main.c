/* postern: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

static const char usage_text[] =
	"usage: postern <command> [options]\n"
	"\n"
	"Commands:\n"
	"  serve                         run the mail server (foreground): SMTP, submission,\n"
	"                                LMTP, IMAP and POP3, as the listen keys say\n"
	"  config check [--connect]      validate the configuration and exit; --connect also\n"
	"                                asks the daemons it names (clamd, rspamd)\n"
	"  domain add|del|list           manage local domains\n"
	"  domain records DOMAIN [--check]\n"
	"                                the DNS records to publish (MX, SPF, DKIM, DMARC,\n"
	"                                A/AAAA, PTR); --check looks each one up\n"
	"  user add|del|list|passwd|import|sender-check|greylist|junk\n"
	"                                manage mailboxes (password via prompt or --password-stdin)\n"
	"  user quota [ADDRESS] [--storage SIZE] [--messages N]\n"
	"                                a user's limits and usage (none, or default: the\n"
	"                                configured quota); without ADDRESS every user's\n"
	"  user limits ADDRESS [--messages-per-hour N] [--recipients-per-day N] ...\n"
	"                                a user's send rate limits (messages and recipients\n"
	"                                per minute, hour, day; none, or default: rate_limit.user)\n"
	"  alias add|del|list            manage aliases (to local or remote addresses)\n"
	"  mailbox share|unshare|acl     share a user's mailbox with users of its domain\n"
	"                                (RFC 4314 rights; see 'postern mailbox --help')\n"
	"  queue list|show|retry|delete|hold|release   inspect and steer the outbound queue\n"
	"  dkim keygen|show DOMAIN       DKIM signing keys and the DNS records to publish\n"
	"  dkim verify FILE [--key NAME=FILE]...\n"
	"                                check a message's DKIM signatures, keys from files\n"
	"  dkim arc-verify FILE [--key NAME=FILE]..., dkim arc-seal FILE --signing-key PEM ...\n"
	"                                check a message's ARC chain; add an ARC set to it\n"
	"  spf check --ip IP --sender ADDRESS --helo NAME\n"
	"                                evaluate SPF (RFC 7208) as inbound mail would be, with\n"
	"                                the configured DNS (dns.servers); --sender \"\" checks\n"
	"                                the HELO name\n"
	"  dnsbl check IP                ask the DNS block- and allowlists (dnsbl.zones,\n"
	"                                dnswl.zones) about an address, as port 25 would\n"
	"  dmarc reports [--day YYYY-MM-DD], dmarc send-reports\n"
	"                                DMARC aggregate data of inbound mail and the reports\n"
	"                                sent of it (dmarc.reports); send the due ones now\n"
	"  clamav scan FILE              scan a message with clamd as port 25 would (the\n"
	"                                clamav group) and print the verdict\n"
	"  rspamd check FILE [--from A] [--rcpt B]... [--ip IP] [--helo H] [--user U]\n"
	"                                scan a message with rspamd as port 25 would\n"
	"                                (rspamd = { ... }) and print the verdict and headers\n"
	"  rspamd learn spam|ham FILE    train rspamd's classifier with a message\n"
	"  srs rotate                    a new SRS key for forwarded mail's senders (the\n"
	"                                previous one keeps verifying)\n"
	"  auth blocked|unblock          the login failure limiter's blocks\n"
	"  ban list [--all], ban add IP[/CIDR] [--duration D] [--reason R], ban del IP[/CIDR]\n"
	"                                clients banned for misbehaving (ban = { ... }) and\n"
	"                                the admin's own bans; a running server applies a\n"
	"                                change within 2 s\n"
	"  master add|remove NAME, master list\n"
	"                                master users, who may log in to any mailbox over\n"
	"                                IMAP and POP3 as user*NAME (auth.master_login)\n"
	"  store migrate                 upgrade the database to this binary's schema (after a\n"
	"                                backup; serve does it at start)\n"
	"  install [--prefix DIR] [--user NAME]\n"
	"                                set up a real server: service user, directories,\n"
	"                                /etc/postern/postern.conf (never overwritten)\n"
	"  import maildir --user ADDRESS PATH\n"
	"  import dovecot --passwd-file FILE --mail-root DIR\n"
	"                                move mail from Dovecot or any Maildir, keeping UIDs,\n"
	"                                flags, keywords, dates, POP3 UIDLs and subscriptions\n"
	"                                (see 'postern import --help')\n"
	"\n"
	"Options (every command):\n"
	"  -c, --config FILE             configuration file; without it: $POSTERN_CONFIG, else\n"
	"                                /etc/postern/postern.conf when it exists, else the\n"
	"                                embedded default (data under ./var, SMTP on\n"
	"                                127.0.0.1:2525) for serve and config check, and for\n"
	"                                other commands where ./var already has a database\n"
	"  -h, --help                    help for a command, e.g. 'postern user --help'\n"
	"  --version                     print the version\n";

struct command {
	const char *name;
	int (*run)(struct cli_args *a);
	bool embedded_ok;       /* may run on the embedded default anywhere */
};

static const struct command commands[] = {
	{ "serve", cli_serve, true },
	{ "config", cli_config, true },
	{ "domain", cli_domain, false },
	{ "user", cli_user, false },
	{ "alias", cli_alias, false },
	{ "mailbox", cli_mailbox, false },
	{ "queue", cli_queue, false },
	{ "dkim", cli_dkim, false },
	{ "srs", cli_srs, false },
	{ "dmarc", cli_dmarc, false },
	{ "clamav", cli_clamav, true },
	{ "auth", cli_auth, false },
	{ "ban", cli_ban, false },
	{ "master", cli_master, false },
	{ "store", cli_store, false },
	{ "install", cli_install, true },
	{ "import", cli_import, false },
	{ "spf", cli_spf, true },
	{ "rspamd", cli_rspamd, true },
	{ "dnsbl", cli_dnsbl, true },
};

/* Options with a value: "--name VALUE" or "--name=VALUE". */
static const char **value_option(struct cli_args *a, const char *arg)
{
	const struct { const char *name; const char **field; } opts[] = {
		{ "--selector", &a->selector }, { "--algorithm", &a->algorithm },
		{ "--prefix", &a->prefix }, { "--user", &a->user }, { "--passwd-file", &a->passwd_file },
		{ "--mail-root", &a->mail_root }, { "--mail-location", &a->mail_location },
		{ "--layout", &a->layout }, { "--pop3-uidl-format", &a->pop3_uidl_format },
		{ "--storage", &a->storage }, { "--messages", &a->messages },
		{ "--ip", &a->ip }, { "--sender", &a->sender }, { "--helo", &a->helo },
		{ "--day", &a->day }, { "--from", &a->from },
		{ "--domain", &a->domain }, { "--signing-key", &a->signing_key },
		{ "--authres", &a->authres }, { "--cv", &a->cv },
		{ "--messages-per-minute", &a->send_rates[0][0] },
		{ "--messages-per-hour", &a->send_rates[0][1] },
		{ "--messages-per-day", &a->send_rates[0][2] },
		{ "--recipients-per-minute", &a->send_rates[1][0] },
		{ "--recipients-per-hour", &a->send_rates[1][1] },
		{ "--recipients-per-day", &a->send_rates[1][2] },
		{ "--duration", &a->duration }, { "--reason", &a->reason },
	};
	size_t len = strcspn(arg, "=");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == len && strncmp(arg, opts[i].name, len) == 0)
			return opts[i].field;
	return NULL;
}

static int parse_args(int argc, char **argv, struct cli_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		const char **value;
		if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
			if (++i == argc) {
				fprintf(stderr, "postern: %s needs a file name\n", arg);
				return -1;
			}
			a->config_path = argv[i];
		} else if (strncmp(arg, "--config=", 9) == 0) {
			a->config_path = arg + 9;
		} else if (strcmp(arg, "--password-stdin") == 0) {
			a->password_stdin = true;
		} else if (strcmp(arg, "--all") == 0) {
			a->all = true;
		} else if (strcmp(arg, "--check") == 0) {
			a->check = true;
		} else if (strcmp(arg, "--connect") == 0) {
			a->connect = true;
		} else if (strcmp(arg, "--rcpt") == 0 || strncmp(arg, "--rcpt=", 7) == 0) {
			const char *v = arg[6] == '=' ? arg + 7 : ++i < argc ? argv[i] : NULL;
			if (v == NULL || a->nrcpts == CLI_KEYS_MAX) {
				fprintf(stderr, "postern: --rcpt needs a value (at most %d times)\n",
				        CLI_KEYS_MAX);
				return -1;
			}
			a->rcpts[a->nrcpts++] = v;
		} else if (strcmp(arg, "--key") == 0 || strncmp(arg, "--key=", 6) == 0) {
			const char *v = arg[5] == '=' ? arg + 6 : ++i < argc ? argv[i] : NULL;
			if (v == NULL || a->nkeys == CLI_KEYS_MAX) {
				fprintf(stderr, "postern: --key needs a value (at most %d times)\n",
				        CLI_KEYS_MAX);
				return -1;
			}
			a->keys[a->nkeys++] = v;
		} else if ((value = value_option(a, arg)) != NULL) {
			if (strchr(arg, '=') != NULL) {
				*value = strchr(arg, '=') + 1;
			} else if (++i == argc) {
				fprintf(stderr, "postern: %s needs a value\n", arg);
				return -1;
			} else {
				*value = argv[i];
			}
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			a->help = true;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "postern: unknown option %s (see postern --help)\n", arg);
			return -1;
		} else if (a->npos < (int)(sizeof(a->pos) / sizeof(a->pos[0]))) {
			a->pos[a->npos++] = arg;
		} else {
			fprintf(stderr, "postern: too many arguments\n");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_args a;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("postern %s\n", POSTERN_VERSION);
		return CLI_OK;
	}
	store_sqlite_configure();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (parse_args(argc, argv, &a) < 0)
			return CLI_USAGE;
		a.embedded_ok = commands[i].embedded_ok;
		return commands[i].run(&a);
	}
	fprintf(stderr, "postern: unknown command '%s'\n\n%s", argv[1], usage_text);
	return CLI_USAGE;
}
