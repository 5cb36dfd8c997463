/* Command-line front end: one binary, subcommands. */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct store;

/* Options common to every subcommand, parsed once by main(). */
struct cli_args {
	const char *config_path;        /* -c FILE; NULL = embedded default */
	bool password_stdin;            /* --password-stdin */
	bool help;                      /* -h / --help */
	bool all;                       /* --all */
	const char *selector;           /* --selector S */
	const char *algorithm;          /* --algorithm A */
	const char *prefix;             /* --prefix DIR (install) */
	const char *user;               /* --user NAME (install) */
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
int cli_auth(struct cli_args *a);
int cli_install(struct cli_args *a);

/* Helpers (cli_common.c) */
/* Loads the configuration, opens the store, runs fn, closes everything. A
 * subcommand whose first positional argument is missing gets usage. */
typedef int (*cli_store_fn)(struct store *st, const struct config *cfg, struct cli_args *a);
int cli_run_with_store(struct cli_args *a, const char *usage, cli_store_fn fn);
struct config *cli_load_config(const struct cli_args *a);   /* prints the error */
struct store *cli_open_store(const struct config *cfg);     /* prints the error */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Validates and lower-cases a domain name (LDH labels). */
bool cli_valid_domain(char *domain);
/* Splits and validates "local@domain" for a mailbox name (letters, digits, . _ -). */
bool cli_split_mailbox(const char *addr, char *local, size_t llen, char *domain, size_t dlen);
/* Reads a new password from stdin (--password-stdin) or a terminal prompt. */
int cli_read_password(const struct cli_args *a, char *out, size_t outlen);

#endif
