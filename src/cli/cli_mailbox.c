/* postern mailbox share|unshare|acl: shared mailboxes (RFC 4314 rights).
 * The rules (same domain only, the owner's rights fixed) are the store's;
 * IMAP's SETACL goes through the same functions. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "store/acl_rights.h"
#include "store/maildir.h"
#include "store/mbox.h"
#include "store/store.h"

static const char usage[] =
	"postern mailbox share OWNER MAILBOX GRANTEE RIGHTS | unshare OWNER MAILBOX GRANTEE |\n"
	"       acl OWNER [MAILBOX]  [-c FILE]";

static const char help_text[] =
	"\nShares a mailbox of OWNER with GRANTEE, another user of the same domain, who\n"
	"sees it over IMAP as Shared/OWNER/MAILBOX. MAILBOX is the owner's own name for\n"
	"it (INBOX, Projects, Archive/2026). RIGHTS are RFC 4314 letters (they replace\n"
	"the grantee's rights; +RIGHTS adds to them):\n"
	"  l  see it in LIST            r  read (SELECT, FETCH, SEARCH, COPY from)\n"
	"  s  keep \\Seen               w  other flags and keywords\n"
	"  i  APPEND, COPY, MOVE into   p  (accepted, no effect: no posting address)\n"
	"  k  create mailboxes below    x  delete the mailbox\n"
	"  t  set or clear \\Deleted    e  EXPUNGE\n"
	"  a  administer: SETACL, GETACL, DELETEACL, LISTRIGHTS\n"
	"The obsolete c (= kx) and d (= et) are accepted. Common sets: lr (read only),\n"
	"lrs (read, own \\Seen), lrswite (read and file), lrswipkxtea (everything).\n"
	"The owner keeps every right, always. unshare removes the grant; acl lists the\n"
	"grants of one mailbox or of all of the owner's.\n";

static void print_grant(void *arg, const struct store_acl_grant *g)
{
	char text[ACL_RIGHTS_TEXT_MAX];
	(void)arg;
	acl_rights_format(g->rights, false, text);
	printf("%s %s %s\n", g->mailbox, g->grantee, text);
}

/* The owner's mailbox exists: a grant on a name that is not there yet
 * would quietly share whatever is created under it later. */
static int check_mailbox(const struct config *cfg, const char *owner, const char *mailbox)
{
	char local[65], domain[256], maildir[4096], err[512];
	struct mbox_info mb;
	if (!cli_split_mailbox(owner, local, sizeof(local), domain, sizeof(domain)) ||
	    maildir_path(cfg->data_dir, domain, local, maildir, sizeof(maildir)) < 0)
		return cli_usage_error(usage, "'%s' is not a valid OWNER address", owner);
	struct mbox_store *ms = mbox_open(maildir, err, sizeof(err));
	if (ms == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return CLI_FAIL;
	}
	int rc = mbox_find(ms, mailbox, &mb);
	mbox_close(ms);
	if (rc == MBOX_OK)
		return CLI_OK;
	fprintf(stderr, "postern: %s has no mailbox '%s'\n", owner, mailbox);
	return CLI_FAIL;
}

/* RIGHTS, or "+RIGHTS" added to the grant there is now ("-..." would be
 * an option to the argument parser: unshare, or share the rights kept). */
static int new_rights(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                      const char *text, unsigned *out)
{
	unsigned given, now = 0;
	bool add = text[0] == '+';
	const char *letters = add ? text + 1 : text;
	if (acl_rights_parse(letters, strlen(letters), &given) < 0)
		return cli_usage_error(usage, "'%s': rights are letters of lrswipkxtea (or c, d)", text);
	if (add && store_acl_get(st, owner, mailbox, grantee, &now) == STORE_ERROR) {
		fprintf(stderr, "postern: cannot read the grant\n");
		return CLI_FAIL;
	}
	*out = now | given;
	return CLI_OK;
}

static int report(int rc, const char *err)
{
	if (rc == STORE_OK)
		return CLI_OK;
	fprintf(stderr, "postern: %s\n", err);
	return rc == STORE_INVALID ? CLI_USAGE : CLI_FAIL;
}

static int share(struct store *st, const struct config *cfg, const struct cli_args *a)
{
	char err[512], text[ACL_RIGHTS_TEXT_MAX];
	const char *owner = a->pos[1], *mailbox = a->pos[2], *grantee = a->pos[3];
	unsigned rights = 0;
	int rc = new_rights(st, owner, mailbox, grantee, a->pos[4], &rights);
	if (rc == CLI_OK)
		rc = check_mailbox(cfg, owner, mailbox);
	if (rc != CLI_OK)
		return rc;
	rc = report(store_acl_set(st, owner, mailbox, grantee, rights, err, sizeof(err)), err);
	if (rc == CLI_OK) {
		acl_rights_format(rights, false, text);
		printf("%s's %s: %s has %s\n", owner, mailbox, grantee, text[0] ? text : "no rights");
	}
	return rc;
}

static int run(struct store *st, const struct config *cfg, struct cli_args *a)
{
	char err[512];
	const char *verb = a->pos[0];
	if (strcmp(verb, "share") == 0 && a->npos == 5)
		return share(st, cfg, a);
	if (strcmp(verb, "unshare") == 0 && a->npos == 4) {
		int rc = report(store_acl_set(st, a->pos[1], a->pos[2], a->pos[3], 0, err, sizeof(err)),
		                err);
		if (rc == CLI_OK)
			printf("%s's %s: %s has no rights\n", a->pos[1], a->pos[2], a->pos[3]);
		return rc;
	}
	if (strcmp(verb, "acl") == 0 && (a->npos == 2 || a->npos == 3))
		return report(store_acl_list(st, a->pos[1], a->npos == 3 ? a->pos[2] : NULL, print_grant,
		                             NULL, err, sizeof(err)), err);
	return cli_usage_error(usage, "expected share OWNER MAILBOX GRANTEE RIGHTS, "
	                       "unshare OWNER MAILBOX GRANTEE or acl OWNER [MAILBOX]");
}

int cli_mailbox(struct cli_args *a)
{
	if (a->help) {
		printf("usage: %s\n%s", usage, help_text);
		return CLI_OK;
	}
	return cli_run_with_store(a, usage, run);
}
