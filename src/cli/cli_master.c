/* postern master add|list|remove: master users (auth/master.h), who may log
 * in to any user's mailbox over IMAP and POP3 when auth.master_login is on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/master.h"
#include "auth/password.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "store/store.h"
#include "store/store_master.h"

static const char usage[] =
	"postern master add NAME | remove NAME | list  [--password-stdin] [-c FILE]";

static void print_master(void *arg, const char *const *cols)
{
	int *n = arg;
	time_t created = (time_t)atoll(cols[1]);
	struct tm tm;
	char when[32];
	gmtime_r(&created, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%-32s  added %s\n", cols[0], when);
	(*n)++;
}

static int master_list(struct store *st, const struct config *cfg)
{
	char err[512];
	int n = 0;
	if (store_master_list(st, print_master, &n, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	printf("%d master user%s; master login is %s\n", n, n == 1 ? "" : "s",
	       cfg->auth.master_login ? "on (auth.master_login)"
	                              : "off (set auth.master_login = true to allow it)");
	return CLI_OK;
}

static int master_add(struct store *st, const struct cli_args *a, const char *name)
{
	char pw[256], hash[PASSWORD_HASH_MAX], err[512];
	if (store_master_hash(st, name, hash, sizeof(hash)) == STORE_OK) {
		OPENSSL_cleanse(hash, sizeof(hash));
		fprintf(stderr, "postern: master user %s already exists\n", name);
		return CLI_FAIL;
	}
	/* only the Argon2id hash is kept, as for users; no SCRAM keys: a master
	 * logs in with PLAIN or LOGIN (or IMAP LOGIN, POP3 PASS) inside TLS */
	if (cli_read_password(a, pw, sizeof(pw)) < 0)
		return CLI_FAIL;
	int rc = password_hash(pw, hash, sizeof(hash));
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc < 0) {
		fprintf(stderr, "postern: password hashing failed\n");
		return CLI_FAIL;
	}
	rc = store_master_add(st, name, hash, err, sizeof(err));
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == STORE_EXISTS) {
		fprintf(stderr, "postern: master user %s already exists\n", name);
		return CLI_FAIL;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	log_security(LOG_INFO, "auth.master_added", "s", "master", name, "s", "actor", "cli", NULL);
	printf("master user %s added\n", name);
	return CLI_OK;
}

static int master_remove(struct store *st, const char *name)
{
	char err[512];
	int rc = store_master_del(st, name, err, sizeof(err));
	if (rc == STORE_NOT_FOUND) {
		fprintf(stderr, "postern: no such master user %s\n", name);
		return CLI_FAIL;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	/* the server reads the hash at every login: the next one fails, cached or not */
	log_security(LOG_INFO, "auth.master_removed", "s", "master", name, "s", "actor", "cli", NULL);
	printf("master user %s removed\n", name);
	return CLI_OK;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	const char *verb = a->pos[0];
	if (strcmp(verb, "list") == 0 && a->npos == 1)
		return master_list(st, cfg);
	if ((strcmp(verb, "add") != 0 && strcmp(verb, "remove") != 0) || a->npos != 2)
		return cli_usage_error(usage, "expected add NAME, remove NAME or list");
	char name[MASTER_NAME_MAX + 1];
	if (strlen(a->pos[1]) >= sizeof(name) || !master_name_valid(a->pos[1]))
		return cli_usage_error(usage, "'%s' is not a master user name (1 to %d letters, digits, "
		                       "'.', '_' and '-')", a->pos[1], MASTER_NAME_MAX);
	str_copy(name, sizeof(name), a->pos[1]);
	ascii_lower(name);
	/* adding and removing a master are admin actions: the audit log has them */
	if (log_open_audit(cfg->log.audit_file) < 0)
		fprintf(stderr, "postern: warning: cannot open the audit log %s\n", cfg->log.audit_file);
	return strcmp(verb, "add") == 0 ? master_add(st, a, name) : master_remove(st, name);
}

int cli_master(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nMaster users may log in to any user's mailbox over IMAP and POP3, as\n"
		       "\"user@domain*NAME\" with their own password, or with SASL PLAIN giving the\n"
		       "user as authorization identity and NAME as authentication identity; only\n"
		       "when auth.master_login = true. Never for SMTP submission. Every such login\n"
		       "is in the audit log with both names. Passwords are read at a prompt or with\n"
		       "--password-stdin and stored as Argon2id hashes only.\n", usage);
		return CLI_OK;
	}
	/* JSON events of this command go to stderr, not into the server's log */
	log_open(NULL, LOG_INFO);
	int rc = cli_run_with_store(a, usage, run);
	log_close();
	return rc;
}
