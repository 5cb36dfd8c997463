/* Command-line front end: one binary, subcommands. */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct store;

#define CLI_KEYS_MAX 8

/* Options common to every subcommand, parsed once by main(). */
struct cli_args {
	const char *config_path;        /* -c FILE, $POSTERN_CONFIG or the system file;
	                                 * NULL = embedded default */
	bool embedded_ok;               /* the command may run on the embedded default */
	bool password_stdin;            /* --password-stdin */
	bool help;                      /* -h / --help */
	bool all;                       /* --all */
	bool check;                     /* --check */
	bool connect;                   /* --connect (config check) */
	const char *selector;           /* --selector S */
	const char *algorithm;          /* --algorithm A */
	const char *prefix;             /* --prefix DIR (install) */
	const char *user;               /* --user NAME (install), ADDRESS (import) */
	const char *passwd_file;        /* --passwd-file FILE (import dovecot) */
	const char *mail_root;          /* --mail-root DIR (import dovecot) */
	const char *mail_location;      /* --mail-location TEMPLATE (import dovecot) */
	const char *layout;             /* --layout maildir++|fs (import) */
	const char *pop3_uidl_format;   /* --pop3-uidl-format FORMAT (import dovecot) */
	const char *storage;            /* --storage SIZE|none|default (user quota) */
	const char *messages;           /* --messages N|none|default (user quota) */
	/* --messages-per-minute N|none|default ... --recipients-per-day (user
	 * limits), by [enum send_what][enum send_window] (core/config.h) */
	const char *send_rates[2][3];
	const char *domain;             /* --domain D (dkim arc-seal) */
	const char *signing_key;        /* --signing-key PEM (dkim arc-seal) */
	const char *authres;            /* --authres "ID; results" (dkim arc-seal) */
	const char *cv;                 /* --cv none|pass|fail (dkim arc-seal) */
	const char *keys[CLI_KEYS_MAX];  /* --key NAME=FILE (dkim verify), repeatable */
	int nkeys;
	const char *ip;                 /* --ip ADDRESS (spf check) */
	const char *sender;             /* --sender ADDRESS (spf check) */
	const char *helo;               /* --helo NAME (spf check) */
	const char *day;                /* --day YYYY-MM-DD (dmarc reports) */
	const char *from;               /* --from ADDRESS (rspamd check) */
	const char *duration;           /* --duration D (ban add) */
	const char *reason;             /* --reason TEXT (ban add) */
	const char *rcpts[CLI_KEYS_MAX]; /* --rcpt ADDRESS (rspamd check), repeatable */
	int nrcpts;
	const char *pos[16];            /* positional arguments after the subcommand */
	int npos;
};

/* Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_serve(struct cli_args *a);
int cli_config(struct cli_args *a);
int cli_domain(struct cli_args *a);
int cli_user(struct cli_args *a);
int cli_alias(struct cli_args *a);
int cli_queue(struct cli_args *a);
int cli_dkim(struct cli_args *a);
/* cli_dkim_verify.c: `dkim verify FILE [--key NAME=FILE]...` (no store). */
int cli_dkim_verify(struct cli_args *a, const char *usage);
int cli_auth(struct cli_args *a);
int cli_store(struct cli_args *a);
int cli_master(struct cli_args *a);
int cli_mailbox(struct cli_args *a);
int cli_spf(struct cli_args *a);
int cli_dnsbl(struct cli_args *a);
int cli_srs(struct cli_args *a);
int cli_ban(struct cli_args *a);
int cli_dmarc(struct cli_args *a);
/* cli_clamav.c: `clamav scan FILE`; and clamd's PING for config check
 * --connect: 0 on PONG, else -1; detail says what happened. */
int cli_clamav(struct cli_args *a);
int cli_clamav_ping(const struct config *cfg, char *detail, size_t len);
int cli_rspamd(struct cli_args *a);

/* cli_records.c: the DNS records to publish for a local domain, and whether
 * DNS has them (exit code CLI_OK when all do). */
int cli_records_print(struct store *st, const struct config *cfg, const char *domain);
int cli_records_check(struct store *st, const struct config *cfg, const char *domain);
int cli_install(struct cli_args *a);

/* cli_import.c: postern import maildir|dovecot */
int cli_import(struct cli_args *a);

/* cli_user.c: users from a Dovecot passwd-file (user import, import dovecot). */
struct cli_passwd_entry {
	char *user, *password, *home;   /* in the line; home "" when not given */
};
/* Splits a passwd-file line (user:password:uid:gid:gecos:home:shell:extra)
 * in place; false when it has no ':'. */
bool cli_passwd_split(char *line, struct cli_passwd_entry *e);
enum { CLI_USER_IMPORTED, CLI_USER_EXISTS, CLI_USER_SKIPPED };
/* Creates the user of an entry with its password hash as it is ({PLAIN}
 * ones hashed now); local and domain get the address. Says on stderr why
 * an entry is skipped (lineno names it). CLI_USER_*. */
int cli_user_import_entry(struct store *st, const struct config *cfg,
                          const struct cli_passwd_entry *e, int lineno, char *local, size_t llen,
                          char *domain, size_t dlen);

/* cli_quota.c: `user quota`: shows a user's limits and usage after setting
 * --storage / --messages; local NULL lists every user's. */
int cli_user_quota(struct store *st, const struct config *cfg, const struct cli_args *a,
                   const char *local, const char *domain);
/* cli_user_limits.c: `user limits ADDRESS [--messages-per-hour N|none|default]...`:
 * sets the options given, then shows the user's send rate limits. */
int cli_user_limits(struct store *st, const struct config *cfg, const struct cli_args *a,
                    const char *local, const char *domain);
/* Whether any --messages-per-... / --recipients-per-... option was given. */
bool cli_user_limits_given(const struct cli_args *a);

/* Helpers (cli_common.c) */
/* Loads the configuration, opens the store, runs fn, closes everything. A
 * subcommand whose first positional argument is missing gets usage. */
typedef int (*cli_store_fn)(struct store *st, const struct config *cfg, struct cli_args *a);
int cli_run_with_store(struct cli_args *a, const char *usage, cli_store_fn fn);
/* The configuration file when -c is not given. */
#define CLI_SYSTEM_CONFIG "/etc/postern/postern.conf"
/* -c FILE, else $POSTERN_CONFIG, else CLI_SYSTEM_CONFIG when it exists, else
 * the embedded default (serve, config check, or where ./var has a database).
 * Sets a->config_path to the file used. Prints the error. */
struct config *cli_load_config(struct cli_args *a);
/* Started as root: becomes the configured service user (after making the
 * data directory it owns). Prints the error. */
int cli_become_service_user(const struct config *cfg);
struct store *cli_open_store(const struct config *cfg);     /* the same, then opens; prints */
/* The libunbound resolver of dns.servers and dns.allow_zones on base; prints
 * the error. */
struct event_base;
struct resolver *cli_open_resolver(struct event_base *base, const struct config *cfg);
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Validates and lower-cases a domain name (LDH labels). */
bool cli_valid_domain(char *domain);
/* Splits and validates "local@domain" for a mailbox name (letters, digits, . _ -). */
bool cli_split_mailbox(const char *addr, char *local, size_t llen, char *domain, size_t dlen);
/* Reads a new password from stdin (--password-stdin) or a terminal prompt. */
int cli_read_password(const struct cli_args *a, char *out, size_t outlen);

#endif
