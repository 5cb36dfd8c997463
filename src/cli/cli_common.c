#include "cli/cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/config.h"
#include "core/privs.h"
#include "core/util.h"
#include "daemon/layout.h"
#include "dns/resolver.h"
#include "mail/address.h"
#include "store/store.h"

/* The embedded default keeps its data in ./var of the current directory: a
 * CLI command there only makes sense where a server already made one. */
static bool embedded_data_exists(void)
{
	struct config *cfg = NULL;
	char err[256], db[4096];
	if (config_load_string(config_default_text, "(embedded default)", &cfg, err, sizeof(err)) < 0)
		return false;
	bool exists = bsnprintf(db, sizeof(db), "%s/postern.db", cfg->data_dir) >= 0 &&
	              access(db, F_OK) == 0;
	config_free(cfg);
	return exists;
}

/* Without -c: $POSTERN_CONFIG, else the system file when it exists. */
static void find_config(struct cli_args *a)
{
	const char *env = getenv("POSTERN_CONFIG");
	if (a->config_path != NULL)
		return;
	if (env != NULL && *env != '\0')
		a->config_path = env;
	else if (access(CLI_SYSTEM_CONFIG, F_OK) == 0)
		a->config_path = CLI_SYSTEM_CONFIG;
}

struct config *cli_load_config(struct cli_args *a)
{
	struct config *cfg = NULL;
	char err[1024];
	find_config(a);
	if (a->config_path == NULL && !a->embedded_ok && !embedded_data_exists()) {
		fprintf(stderr, "postern: no configuration: no -c FILE, POSTERN_CONFIG is not set and "
		        "%s does not exist; the embedded default (data in ./var) is for `postern "
		        "serve`, and ./var here has no database. Pass -c FILE, or run this where "
		        "`postern serve` runs.\n", CLI_SYSTEM_CONFIG);
		return NULL;
	}
	int rc = a->config_path
		? config_load_file(a->config_path, &cfg, err, sizeof(err))
		: config_load_string(config_default_text, "(embedded default)", &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return NULL;
	}
	return cfg;
}

/* Run as root, a command writes as the service user, so that nothing in
 * the data directory is owned by root (the server could not change it). */
int cli_become_service_user(const struct config *cfg)
{
	struct service_identity id;
	char err[1024];
	if (privs_resolve(cfg, &id, err, sizeof(err)) < 0 ||
	    (id.change && layout_prepare(cfg, &id, err, sizeof(err)) < 0) ||
	    privs_become(&id, err, sizeof(err)) < 0) {
		fprintf(stderr, "postern: %s\n", err);
		return -1;
	}
	return 0;
}

struct store *cli_open_store(const struct config *cfg)
{
	char err[1024];
	if (cli_become_service_user(cfg) < 0)
		return NULL;
	struct store *st = store_open(cfg->data_dir, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "postern: %s\n", err);
	return st;
}

int cli_run_with_store(struct cli_args *a, const char *usage, cli_store_fn fn)
{
	if (a->npos < 1)
		return cli_usage_error(usage, "missing subcommand");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	struct store *st = cli_open_store(cfg);
	int rc = st ? fn(st, cfg, a) : CLI_FAIL;
	store_close(st);
	config_free(cfg);
	return rc;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;
	fputs("postern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return CLI_USAGE;
}

bool cli_valid_domain(char *d)
{
	size_t len = strlen(d), label = 0;
	if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.' || d[0] == '-' ||
	    d[len - 1] == '-')
		return false;
	for (char *p = d; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0 || p[-1] == '-' || p[1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return false;
		if (++label > 63)
			return false;
	}
	ascii_lower(d);
	return true;
}

static bool valid_local(const char *l)
{
	size_t len = strlen(l);
	/* strict on purpose: the local part becomes a directory name, and '+' is
	 * the subaddress separator */
	if (len == 0 || len > 64 || l[0] == '.' || l[len - 1] == '.' || strstr(l, "..") != NULL)
		return false;
	for (const char *p = l; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return true;
}

bool cli_split_mailbox(const char *addr, char *local, size_t llen, char *domain, size_t dlen)
{
	size_t local_len;
	const char *dom = mail_address_split(addr, &local_len);
	if (dom == NULL || local_len >= llen || strlen(dom) >= dlen)
		return false;
	memcpy(local, addr, local_len);
	local[local_len] = '\0';
	snprintf(domain, dlen, "%s", dom);
	ascii_lower(local);
	return valid_local(local) && cli_valid_domain(domain);
}

static int read_line(FILE *f, char *out, size_t outlen)
{
	if (fgets(out, (int)outlen, f) == NULL)
		return -1;
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '\r')
		out[--n] = '\0';
	return 0;
}

static int prompt_password(const char *prompt, char *out, size_t outlen)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return -1;
	fputs(prompt, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	int rc = read_line(tty, out, outlen);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return rc;
}

int cli_read_password(const struct cli_args *a, char *out, size_t outlen)
{
	if (a->password_stdin) {
		if (read_line(stdin, out, outlen) < 0 || out[0] == '\0') {
			fprintf(stderr, "postern: no password on standard input\n");
			return -1;
		}
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "postern: not a terminal: pass the password with --password-stdin\n");
		return -1;
	}
	char again[256];
	if (prompt_password("New password: ", out, outlen) < 0 ||
	    prompt_password("Repeat password: ", again, sizeof(again)) < 0) {
		fprintf(stderr, "postern: cannot read the password\n");
		return -1;
	}
	int same = strcmp(out, again) == 0;
	OPENSSL_cleanse(again, sizeof(again));
	if (!same || out[0] == '\0') {
		fprintf(stderr, "postern: %s\n", same ? "empty password" : "passwords do not match");
		return -1;
	}
	return 0;
}

struct resolver *cli_open_resolver(struct event_base *base, const struct config *cfg)
{
	char err[512];
	struct resolver *r = resolver_new(base, (const char *const *)cfg->dns.servers,
	                                  cfg->dns.nservers, err, sizeof(err));
	for (size_t i = 0; r != NULL && i < cfg->dns.nallow_zones; i++) {
		if (resolver_allow_zone(r, cfg->dns.allow_zones[i], err, sizeof(err)) < 0) {
			resolver_free(r);
			r = NULL;
		}
	}
	if (r == NULL)
		fprintf(stderr, "postern: DNS resolver: %s\n", err);
	return r;
}
