/* postern user add|del|list|passwd|import|sender-check|greylist|junk|quota|limits */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/password.h"
#include "auth/scram.h"
#include "core/util.h"
#include "cli/cli.h"
#include "core/config.h"
#include "store/maildir.h"
#include "store/store.h"
#include "store/store_greylist.h"
#include "store/store_junk.h"

static const char usage[] =
	"postern user add ADDRESS | del ADDRESS | passwd ADDRESS | list [DOMAIN]\n"
	"       | import PASSWD-FILE | sender-check ADDRESS on|off | greylist ADDRESS on|off\n"
	"       | junk ADDRESS inbox|junk\n"
	"       | quota [ADDRESS [--storage SIZE|none|default] [--messages N|none|default]]\n"
	"       | limits ADDRESS [--messages-per-minute|-hour|-day N|none|default]\n"
	"                        [--recipients-per-minute|-hour|-day N|none|default]\n"
	"       [--password-stdin] [-c FILE]";

static void print_user(void *arg, const char *const *cols)
{
	(void)arg;
	printf("%s\n", cols[0]);
}

/* The Argon2id hash and the SCRAM-SHA-256 keys are both derived when the
 * password is set: SCRAM needs them and cannot derive them at login. */
static int hash_new_password(const struct cli_args *a, char *hash, size_t hashlen, char *scram,
                             size_t scramlen)
{
	char pw[256];
	struct scram_keys k;
	if (cli_read_password(a, pw, sizeof(pw)) < 0)
		return -1;
	int rc = password_hash(pw, hash, hashlen);
	if (rc == 0)
		rc = scram_keys_new(pw, &k) == 0 && scram_keys_encode(&k, scram, scramlen) == 0 ? 0 : -1;
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(&k, sizeof(k));
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
	char err[512], hash[PASSWORD_HASH_MAX], scram[256], maildir[4096];
	if (store_domain_exists(st, domain) != 1) {
		fprintf(stderr, "postern: %s is not a local domain; add it first: postern domain add %s\n",
		        domain, domain);
		return CLI_FAIL;
	}
	if (store_user_exists(st, local, domain) == 1)
		return report(STORE_EXISTS, "", a->pos[1], "");
	if (hash_new_password(a, hash, sizeof(hash), scram, sizeof(scram)) < 0)
		return CLI_FAIL;
	int rc = store_user_add(st, local, domain, hash, err, sizeof(err));
	if (rc == STORE_OK)
		rc = store_user_set_credentials(st, local, domain, hash, scram, err, sizeof(err));
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(scram, sizeof(scram));
	if (rc == STORE_OK && (maildir_path(cfg->data_dir, domain, local, maildir, sizeof(maildir)) < 0 ||
	                       maildir_ensure(maildir) < 0))
		fprintf(stderr, "postern: warning: cannot create the Maildir now; delivery will create it\n");
	return report(rc, "added", a->pos[1], err);
}

bool cli_passwd_split(char *line, struct cli_passwd_entry *e)
{
	/* user:password:uid:gid:gecos:home:shell:extra, the fields after the
	 * password optional */
	char *fields[6] = { NULL };
	size_t n = 0;
	fields[n++] = line;
	for (char *p = line; *p && n < ARRAY_LEN(fields); p++)
		if (*p == ':') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	if (n < 2)
		return false;
	if (n == ARRAY_LEN(fields))
		fields[5][strcspn(fields[5], ":")] = '\0';   /* the home ends at the shell */
	e->user = fields[0];
	e->password = fields[1];
	e->home = n == ARRAY_LEN(fields) ? fields[5] : "";
	return true;
}

/* One Dovecot passwd-file entry. Hashes are kept as they are (verified at
 * login and upgraded to Argon2id then); {PLAIN} passwords are hashed now,
 * never stored. */
int cli_user_import_entry(struct store *st, const struct config *cfg,
                          const struct cli_passwd_entry *e, int lineno, char *local, size_t llen,
                          char *domain, size_t dlen)
{
	char err[512], hash[PASSWORD_HASH_MAX], maildir[4096];
	char *pw = e->password;
	if (!cli_split_mailbox(e->user, local, llen, domain, dlen))
		return fprintf(stderr, "line %d: '%s' is not a mailbox address, skipped\n", lineno,
		               e->user), CLI_USER_SKIPPED;
	if (store_domain_exists(st, domain) != 1)
		return fprintf(stderr, "line %d: %s is not a local domain, skipped\n", lineno, domain),
		       CLI_USER_SKIPPED;
	if (store_user_exists(st, local, domain) == 1)
		return CLI_USER_EXISTS;
	if (strncmp(pw, "{PLAIN}", 7) == 0) {
		if (password_hash(pw + 7, hash, sizeof(hash)) < 0)
			return CLI_USER_SKIPPED;
	} else if (strcmp(password_scheme_name(pw), "unknown") == 0) {
		return fprintf(stderr, "line %d: %s: unsupported password scheme, skipped\n", lineno,
		               e->user), CLI_USER_SKIPPED;
	} else {
		str_copy(hash, sizeof(hash), pw);
	}
	OPENSSL_cleanse(pw, strlen(pw));
	int rc = store_user_add(st, local, domain, hash, err, sizeof(err));
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc == STORE_EXISTS)
		return CLI_USER_EXISTS;
	if (rc != STORE_OK)
		return fprintf(stderr, "line %d: %s\n", lineno, err), CLI_USER_SKIPPED;
	if (maildir_path(cfg->data_dir, domain, local, maildir, sizeof(maildir)) == 0)
		maildir_ensure(maildir);
	printf("user %s@%s imported\n", local, domain);
	return CLI_USER_IMPORTED;
}

static int import_line(struct store *st, const struct config *cfg, char *line, int lineno)
{
	struct cli_passwd_entry e;
	char local[65], domain[256];
	if (!cli_passwd_split(line, &e))
		return fprintf(stderr, "line %d: no ':' separator, skipped\n", lineno), -1;
	int rc = cli_user_import_entry(st, cfg, &e, lineno, local, sizeof(local), domain,
	                               sizeof(domain));
	if (rc == CLI_USER_EXISTS)
		fprintf(stderr, "line %d: %s@%s exists already, skipped\n", lineno, local, domain);
	return rc == CLI_USER_IMPORTED ? 0 : -1;
}

static int user_import(struct store *st, const struct config *cfg, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[4096];
	int lineno = 0, ok = 0, bad = 0;
	if (f == NULL) {
		fprintf(stderr, "postern: %s: %s\n", path, strerror(errno));
		return CLI_FAIL;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (import_line(st, cfg, line, lineno) == 0)
			ok++;
		else
			bad++;
		OPENSSL_cleanse(line, sizeof(line));
	}
	if (f != stdin)
		fclose(f);
	printf("%d imported, %d skipped\n", ok, bad);
	return bad > 0 && ok == 0 ? CLI_FAIL : CLI_OK;
}

static int sender_check(struct store *st, const char *addr, const char *onoff)
{
	char local[65], domain[256], err[512];
	if (!cli_split_mailbox(addr, local, sizeof(local), domain, sizeof(domain)) ||
	    (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0))
		return cli_usage_error(usage, "expected sender-check ADDRESS on|off");
	/* "off" lets the user send as any address: any_sender = 1 */
	int rc = store_user_set_any_sender(st, local, domain, strcmp(onoff, "off") == 0, err, sizeof(err));
	return report(rc, strcmp(onoff, "on") == 0 ? "must send as its own addresses"
	                                           : "may send as any address", addr, err);
}

/* Whether mail to the user from other servers is greylisted (on, the default). */
static int greylist_switch(struct store *st, const char *addr, const char *onoff)
{
	char local[65], domain[256], err[512];
	if (!cli_split_mailbox(addr, local, sizeof(local), domain, sizeof(domain)) ||
	    (strcmp(onoff, "on") != 0 && strcmp(onoff, "off") != 0))
		return cli_usage_error(usage, "expected greylist ADDRESS on|off");
	bool on = strcmp(onoff, "on") == 0;
	int rc = store_user_set_greylist(st, local, domain, on, err, sizeof(err));
	return report(rc, on ? "is greylisted" : "is not greylisted", addr, err);
}

/* Where mail judged as junk for the user goes: the Junk folder (the default)
 * or the inbox, marked, for users whose mail program sorts for itself. */
static int junk_switch(struct store *st, const char *addr, const char *where)
{
	char local[65], domain[256], err[512];
	if (!cli_split_mailbox(addr, local, sizeof(local), domain, sizeof(domain)) ||
	    (strcmp(where, "inbox") != 0 && strcmp(where, "junk") != 0))
		return cli_usage_error(usage, "expected junk ADDRESS inbox|junk");
	bool to_junk = strcmp(where, "junk") == 0;
	int rc = store_user_set_junk(st, local, domain, to_junk, err, sizeof(err));
	return report(rc, to_junk ? "gets junk in its Junk folder" : "gets junk in its inbox", addr,
	              err);
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	char err[512], local[65], domain[256], hash[PASSWORD_HASH_MAX], scram[256];
	const char *verb = a->pos[0];
	bool quota = strcmp(verb, "quota") == 0;
	if ((a->storage != NULL || a->messages != NULL) && !(quota && a->npos == 2))
		return cli_usage_error(usage, "--storage and --messages go with quota ADDRESS");
	bool limits = strcmp(verb, "limits") == 0;
	if (cli_user_limits_given(a) && !(limits && a->npos == 2))
		return cli_usage_error(usage, "--messages-per-... and --recipients-per-... go with "
		                       "limits ADDRESS");
	if (quota && a->npos == 1)
		return cli_user_quota(st, cfg, a, NULL, NULL);
	if (strcmp(verb, "import") == 0 && a->npos == 2)
		return user_import(st, cfg, a->pos[1]);
	if (strcmp(verb, "sender-check") == 0 && a->npos == 3)
		return sender_check(st, a->pos[1], a->pos[2]);
	if (strcmp(verb, "greylist") == 0 && a->npos == 3)
		return greylist_switch(st, a->pos[1], a->pos[2]);
	if (strcmp(verb, "junk") == 0 && a->npos == 3)
		return junk_switch(st, a->pos[1], a->pos[2]);
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
	if (quota)
		return cli_user_quota(st, cfg, a, local, domain);
	if (limits)
		return cli_user_limits(st, cfg, a, local, domain);
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
		if (hash_new_password(a, hash, sizeof(hash), scram, sizeof(scram)) < 0)
			return CLI_FAIL;
		int rc = store_user_set_credentials(st, local, domain, hash, scram, err, sizeof(err));
		OPENSSL_cleanse(hash, sizeof(hash));
		OPENSSL_cleanse(scram, sizeof(scram));
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
	return cli_run_with_store(a, usage, run);
}
