/* postern import maildir|dovecot: mail from another server.
 *
 * Privileges: run as root, the command becomes the service user before it
 * writes anything into the data directory, and before it reads a byte of
 * the source tree: the tree is data from elsewhere (file names, contents),
 * so nothing that parses it runs as root. What root alone may read is
 * opened first: the passwd-file (commonly 0600). A tree the service user
 * cannot read is refused with the command that gives it read access. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/util.h"
#include "import/import.h"
#include "import/pop3_uidl_format.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/quota.h"
#include "store/store.h"

static const char usage[] =
	"postern import maildir --user ADDRESS [--layout maildir++|fs] PATH\n"
	"       postern import dovecot --passwd-file FILE --mail-root DIR [--mail-location TEMPLATE]\n"
	"                              [--layout maildir++|fs] [--pop3-uidl-format FORMAT]\n"
	"                              [--user ADDRESS]";

static const char help[] =
	"\n"
	"Copies mail from another server's Maildir tree into postern, so that IMAP and\n"
	"POP3 clients do not notice the move: folders, flags, keywords, internal dates,\n"
	"UIDVALIDITY and UIDs, POP3 UIDLs and subscriptions are kept where the tree has\n"
	"them (Dovecot's dovecot-uidlist, dovecot-keywords and subscriptions files).\n"
	"The source is only read, never changed: keep it as a backup.\n"
	"\n"
	"  maildir      one user's Maildir (it must exist: postern user add). Without\n"
	"               Dovecot's files, UIDs follow the file names' order.\n"
	"  dovecot      every user of a Dovecot passwd-file, created with the password\n"
	"               hash they have (as 'postern user import'), and their mail.\n"
	"\n"
	"  --mail-root DIR          where the users' mail is\n"
	"  --mail-location TEMPLATE a user's Maildir below DIR (default %d/%n/Maildir);\n"
	"                           %u user, %n local part, %d domain, %h home (the\n"
	"                           passwd-file's), ~/ the home; Dovecot's\n"
	"                           'maildir:~/Maildir:LAYOUT=fs' is understood too\n"
	"  --layout maildir++|fs    folders as .A.B directories (default) or A/B\n"
	"  --pop3-uidl-format FMT   Dovecot's pop3_uidl_format (default %08Xu%08Xv), for\n"
	"                           INBOX messages without a saved UIDL; 'none': leave\n"
	"                           those to postern\n"
	"  --user ADDRESS           (dovecot) only this user\n"
	"\n"
	"Run it again after an interruption: it goes on where it stopped and imports\n"
	"nothing twice; a later run also picks up what the source received meanwhile.\n"
	"A mailbox that already holds mail postern received is left alone (its UIDs\n"
	"would clash). It is safe while postern runs: sessions keep working and see the\n"
	"messages arrive; new mail for a folder waits until its import is done.\n"
	"Run as root, it reads the source as the service user: grant read access first\n"
	"(setfacl -R -m u:postern:rX DIR). See docs/migrate.md.\n";

/* What a whole run needs besides the configuration. */
struct run {
	const struct config *cfg;
	struct import_options opt;
	struct import_report report;
	const char *source_root;      /* for the access advice */
};

static unsigned long env_number(const char *name, unsigned long dflt, unsigned long max)
{
	const char *v = getenv(name);
	char *end;
	if (v == NULL || *v == '\0')
		return dflt;
	unsigned long n = strtoul(v, &end, 10);
	return *end == '\0' && n > 0 && n <= max ? n : dflt;
}

/* "maildir:~/Maildir:LAYOUT=fs" -> "~/Maildir" and the layout; NULL when
 * it asks for what the import cannot do. */
static const char *parse_location(const char *loc, char *out, size_t outlen,
                                  enum import_layout *layout)
{
	if (strncmp(loc, "maildir:", 8) == 0)
		loc += 8;
	str_copy(out, outlen, loc);
	char *opt = strchr(out, ':');
	if (opt == NULL)
		return out;
	*opt++ = '\0';
	for (char *o = strtok(opt, ":"); o != NULL; o = strtok(NULL, ":")) {
		if (strcmp(o, "LAYOUT=fs") == 0)
			*layout = IMPORT_LAYOUT_FS;
		else if (strncmp(o, "CONTROL=", 8) == 0)
			return NULL;   /* the uidlists would be elsewhere than the messages */
	}
	return out;
}

static int options_from_args(const struct cli_args *a, const struct config *cfg,
                             struct import_options *opt)
{
	const char *why;
	memset(opt, 0, sizeof(*opt));
	opt->layout = IMPORT_LAYOUT_MAILDIRPP;
	if (a->layout != NULL && strcmp(a->layout, "fs") == 0)
		opt->layout = IMPORT_LAYOUT_FS;
	else if (a->layout != NULL && strcmp(a->layout, "maildir++") != 0)
		return cli_usage_error(usage, "--layout is maildir++ or fs");
	opt->pop3_uidl_format = a->pop3_uidl_format ? a->pop3_uidl_format : "%08Xu%08Xv";
	if (strcmp(opt->pop3_uidl_format, "none") == 0)
		opt->pop3_uidl_format = NULL;
	else if (pop3_uidl_format_check(opt->pop3_uidl_format, &why) < 0)
		return cli_usage_error(usage, "--pop3-uidl-format: %s", why);
	opt->hostname = cfg->hostname;
	opt->message_size_limit = cfg->limits.message_size;
	/* test hooks, documented in docs/migrate.md: small batches and a pause
	 * after each, so that a test can interrupt an import half-way */
	opt->batch = env_number("POSTERN_IMPORT_BATCH", IMPORT_BATCH_DEFAULT, IMPORT_BATCH_MAX);
	opt->batch_delay_ms = (unsigned)env_number("POSTERN_IMPORT_BATCH_DELAY_MS", 0, 60000);
	return CLI_OK;
}

static void explain_denied(const char *path)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *who = pw ? pw->pw_name : "the service user";
	fprintf(stderr, "postern: %s: %s may not read it.\n"
	        "The import reads the source as the service user, never as root (its files come\n"
	        "from elsewhere). Let it read the tree for the import, for example with\n"
	        "  setfacl -R -m u:%s:rX %s\n"
	        "(package acl), or copy the tree where it can read it; then run the same command\n"
	        "again.\n", path, who, who, path);
}

/* One user's tree into the user's mailboxes. CLI_OK, or CLI_FAIL when the
 * run must stop. */
static int import_into(struct run *run, const char *local, const char *domain, const char *src)
{
	char maildir[4096], err[1024], user[400];
	snprintf(user, sizeof(user), "%s@%s", local, domain);
	int rootfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 && errno == EACCES) {
		explain_denied(run->source_root);
		return CLI_FAIL;
	}
	if (rootfd < 0) {
		fprintf(stderr, "postern: %s: %s: %s, skipped\n", user, src, strerror(errno));
		return CLI_OK;
	}
	if (maildir_path(run->cfg->data_dir, domain, local, maildir, sizeof(maildir)) < 0) {
		close(rootfd);
		fprintf(stderr, "postern: %s: not a name for a mail directory\n", user);
		return CLI_FAIL;
	}
	struct mbox_store *ms = mbox_open(maildir, err, sizeof(err));
	/* imported mail counts towards the user's quota (never refused for it) */
	if (ms != NULL)
		quota_follow_index(ms, NULL, run->cfg->data_dir, user);
	int rc = ms ? import_user(ms, rootfd, src, user, &run->opt, &run->report, err, sizeof(err))
	            : -1;
	mbox_close(ms);
	close(rootfd);
	if (rc == 0)
		return CLI_OK;
	if (run->report.access_denied)
		explain_denied(run->source_root);
	else
		fprintf(stderr, "postern: %s: %s\n", user, err);
	return CLI_FAIL;
}

static int finish(struct run *run, int rc)
{
	import_report_summary(&run->report, stdout);
	return rc == CLI_OK && run->report.folders_failed == 0 ? CLI_OK : CLI_FAIL;
}

static int import_maildir(struct run *run, const struct cli_args *a)
{
	char local[65], domain[256];
	if (a->npos != 2 || a->user == NULL)
		return cli_usage_error(usage, "import maildir needs --user ADDRESS and the Maildir's path");
	if (!cli_split_mailbox(a->user, local, sizeof(local), domain, sizeof(domain)))
		return cli_usage_error(usage, "'%s' is not a valid mailbox address", a->user);
	struct store *st = cli_open_store(run->cfg);
	if (st == NULL)
		return CLI_FAIL;
	int exists = store_user_exists(st, local, domain);
	store_close(st);
	if (exists != 1) {
		fprintf(stderr, "postern: no user %s: create it first (postern user add %s)\n", a->user,
		        a->user);
		return CLI_FAIL;
	}
	run->source_root = a->pos[1];
	return finish(run, import_into(run, local, domain, a->pos[1]));
}

/* A user's Maildir from the --mail-location template. */
static int user_source(const struct cli_args *a, const char *tmpl, const char *local,
                       const char *domain, const char *home, char *out, size_t outlen)
{
	char rel[4096];
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 1 < sizeof(rel); p++) {
		const char *v = NULL;
		char user[400];
		if (p == tmpl && p[0] == '~' && (p[1] == '/' || p[1] == '\0'))
			v = home;
		else if (*p == '%' && p[1] != '\0') {
			p++;
			snprintf(user, sizeof(user), "%s@%s", local, domain);
			v = *p == 'u' ? user : *p == 'n' ? local : *p == 'd' ? domain : *p == 'h' ? home
			  : *p == '%' ? "%" : NULL;
			if (v == NULL)
				return -1;
		}
		if (v == NULL) {
			rel[n++] = *p;
			continue;
		}
		if (n + strlen(v) >= sizeof(rel))
			return -1;
		memcpy(rel + n, v, strlen(v));
		n += strlen(v);
	}
	rel[n] = '\0';
	if (rel[0] == '/')
		return bsnprintf(out, outlen, "%s", rel) < 0 ? -1 : 0;
	return bsnprintf(out, outlen, "%s/%s", a->mail_root, rel) < 0 ? -1 : 0;
}

static int dovecot_line(struct run *run, struct store *st, const struct cli_args *a,
                        const char *tmpl, char *line, int lineno)
{
	struct cli_passwd_entry e;
	char local[65], domain[256], src[4096];
	if (!cli_passwd_split(line, &e)) {
		fprintf(stderr, "postern: line %d: no ':' separator, skipped\n", lineno);
		return CLI_OK;
	}
	if (a->user != NULL && strcasecmp(e.user, a->user) != 0)
		return CLI_OK;
	int rc = cli_user_import_entry(st, run->cfg, &e, lineno, local, sizeof(local), domain,
	                               sizeof(domain));
	if (rc == CLI_USER_SKIPPED)
		return CLI_OK;
	if (user_source(a, tmpl, local, domain, e.home, src, sizeof(src)) < 0) {
		fprintf(stderr, "postern: line %d: --mail-location gives no path for %s@%s\n", lineno,
		        local, domain);
		return CLI_FAIL;
	}
	return import_into(run, local, domain, src);
}

static int import_dovecot(struct run *run, const struct cli_args *a)
{
	char tmpl[1024], line[4096];
	int lineno = 0, rc = CLI_OK;
	if (a->npos != 1 || a->passwd_file == NULL || a->mail_root == NULL)
		return cli_usage_error(usage, "import dovecot needs --passwd-file FILE and --mail-root DIR");
	if (parse_location(a->mail_location ? a->mail_location : "%d/%n/Maildir", tmpl,
	                   sizeof(tmpl), &run->opt.layout) == NULL) {
		fprintf(stderr, "postern: --mail-location with CONTROL=: the dovecot-uidlist files are "
		        "not beside the mail; not supported\n");
		return CLI_FAIL;
	}
	run->source_root = a->mail_root;
	/* opened while still root: passwd-files are commonly readable by root only */
	FILE *f = strcmp(a->passwd_file, "-") == 0 ? stdin : fopen(a->passwd_file, "re");
	if (f == NULL) {
		fprintf(stderr, "postern: %s: %s\n", a->passwd_file, strerror(errno));
		return CLI_FAIL;
	}
	struct store *st = cli_open_store(run->cfg);
	while (st != NULL && rc == CLI_OK && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			rc = dovecot_line(run, st, a, tmpl, line, lineno);
		OPENSSL_cleanse(line, sizeof(line));
	}
	if (f != stdin)
		fclose(f);
	if (st == NULL)
		return CLI_FAIL;
	store_close(st);
	return finish(run, rc);
}

int cli_import(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n%s", usage, help);
		return CLI_OK;
	}
	if (a->npos < 1 || (strcmp(a->pos[0], "maildir") != 0 && strcmp(a->pos[0], "dovecot") != 0))
		return cli_usage_error(usage, "expected 'maildir' or 'dovecot'");
	struct config *cfg = cli_load_config(a);
	if (cfg == NULL)
		return CLI_FAIL;
	struct run run = { .cfg = cfg };
	int rc = options_from_args(a, cfg, &run.opt);
	if (rc == CLI_OK) {
		import_report_init(&run.report, isatty(STDOUT_FILENO));
		rc = strcmp(a->pos[0], "maildir") == 0 ? import_maildir(&run, a) : import_dovecot(&run, a);
	}
	config_free(cfg);
	return rc;
}
