/* postern user add|del|list|passwd */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/password.h"
#include "cli/cli.h"
#include "core/config.h"
#include "store/maildir.h"
#include "store/store.h"

static const char usage[] =
	"postern user add ADDRESS | del ADDRESS | passwd ADDRESS | list [DOMAIN]"
	"  [--password-stdin] [-c FILE]";

static void print_user(void *arg, const char *const *cols)
{
	(void)arg;
	printf("%s\n", cols[0]);
}

static int hash_new_password(const struct cli_args *a, char *hash, size_t hashlen)
{
	char pw[256];
	if (cli_read_password(a, pw, sizeof(pw)) < 0)
		return -1;
	int rc = password_hash(pw, hash, hashlen);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc < 0)
		fprintf(stderr, "postern: password hashing failed\n");
	return rc;
}

static int report(int rc, const char *what, const char *addr, const char *err)
{
	switch (rc) {
	case STORE_OK:
		printf("user %s %s\n", addr, what);
		return CLI_OK;
	case STORE_EXISTS:
		fprintf(stderr, "postern: user %s already exists\n", addr);
		return CLI_FAIL;
	case STORE_NOT_FOUND:
		fprintf(stderr, "postern: no such user %s (or its domain is not local: "
		        "see 'postern domain list')\n", addr);
		return CLI_FAIL;
	default:
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
}

static int user_add(struct store *st, const struct config *cfg, const struct cli_args *a,
                    const char *local, const char *domain)
{
	char err[512], hash[PASSWORD_HASH_MAX], maildir[4096];
	if (store_domain_exists(st, domain) != 1) {
		fprintf(stderr, "postern: %s is not a local domain; add it first: postern domain add %s\n",
		        domain, domain);
		return CLI_FAIL;
	}
	if (store_user_exists(st, local, domain) == 1)
		return report(STORE_EXISTS, "", a->pos[1], "");
	if (hash_new_password(a, hash, sizeof(hash)) < 0)
		return CLI_FAIL;
	int rc = store_user_add(st, local, domain, hash, err, sizeof(err));
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == STORE_OK && (maildir_path(cfg->data_dir, domain, local, maildir, sizeof(maildir)) < 0 ||
	                       maildir_ensure(maildir) < 0))
		fprintf(stderr, "postern: warning: cannot create the Maildir now; delivery will create it\n");
	return report(rc, "added", a->pos[1], err);
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	char err[512], local[65], domain[256], hash[PASSWORD_HASH_MAX];
	const char *verb = a->pos[0];
	if (strcmp(verb, "list") == 0 && a->npos <= 2) {
		if (store_user_list(st, a->npos == 2 ? a->pos[1] : NULL, print_user, NULL, err,
		                    sizeof(err)) != STORE_OK) {
			fprintf(stderr, "postern: %s\n", err);
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	if (a->npos != 2)
		return cli_usage_error(usage, "expected %s ADDRESS", verb);
	if (!cli_split_mailbox(a->pos[1], local, sizeof(local), domain, sizeof(domain)))
		return cli_usage_error(usage, "'%s' is not a valid mailbox address (letters, digits, "
		                       "'.', '_' and '-' before the @)", a->pos[1]);
	if (strcmp(verb, "add") == 0)
		return user_add(st, cfg, a, local, domain);
	if (strcmp(verb, "del") == 0) {
		int rc = report(store_user_del(st, local, domain, err, sizeof(err)), "deleted",
		                a->pos[1], err);
		if (rc == CLI_OK)
			printf("(its Maildir under %s/mail/%s/%s was kept)\n", cfg->data_dir, domain, local);
		return rc;
	}
	if (strcmp(verb, "passwd") == 0) {
		if (store_user_exists(st, local, domain) != 1)
			return report(STORE_NOT_FOUND, "", a->pos[1], "");
		if (hash_new_password(a, hash, sizeof(hash)) < 0)
			return CLI_FAIL;
		int rc = store_user_set_password(st, local, domain, hash, err, sizeof(err));
		OPENSSL_cleanse(hash, sizeof(hash));
		return report(rc, "password changed", a->pos[1], err);
	}
	return cli_usage_error(usage, "unknown subcommand '%s'", verb);
}

int cli_user(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n\nPasswords are never taken from the command line: give them at the "
		       "prompt,\nor on standard input with --password-stdin. They are stored as Argon2id "
		       "hashes.\n", usage);
		return CLI_OK;
	}
	if (a->npos < 1)
		return cli_usage_error(usage, "missing subcommand");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	struct store *st = cli_open_store(cfg);
	int rc = st ? run(st, cfg, a) : CLI_FAIL;
	store_close(st);
	config_free(cfg);
	return rc;
}
