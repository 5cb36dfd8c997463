/* The ACL commands (RFC 4314 3): SETACL, DELETEACL, GETACL, LISTRIGHTS and
 * MYRIGHTS, over the store's grants. Identifiers are the addresses of users
 * of the owner's domain; "anyone", groups and negative rights are refused
 * (the store refuses every other grantee whoever asks, here too). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "net/server.h"
#include "store/acl_rights.h"
#include "store/store.h"

/* An identifier argument, as the store keeps addresses (lower case). */
static bool next_identifier(struct imap_cursor *c, char *out, size_t len)
{
	const char *id;
	size_t n;
	if (!imap_next_astring(c, &id, &n))
		return false;
	if (n == 0 || n >= len || memchr(id, '\0', n) != NULL)
		return imap_fail(c, "Identifier too long or empty");
	memcpy(out, id, n);
	out[n] = '\0';
	ascii_lower(out);
	return true;
}

/* The mailbox argument resolved, existing, with right `need` (0: any);
 * false after answering. */
static bool acl_mailbox(struct imap_session *s, struct imap_command *cmd, struct imap_cursor *c,
                        struct imap_mailbox_ref *ref, char *name, size_t len, unsigned need)
{
	struct mbox_info mb;
	if (!imap_expect_mailbox(s, cmd, c, name, len))
		return false;
	int rc = imap_ref_open(s, name, ref);
	if (rc == MBOX_OK && need != 0 && !imap_ref_allows(s, cmd->tag, ref, need)) {
		imap_ref_release(s, ref);
		return false;
	}
	if (rc == MBOX_OK)
		rc = mbox_find(ref->ms, ref->name, &mb);
	if (rc != MBOX_OK) {
		imap_ref_release(s, ref);
		imap_tagged(s, cmd->tag, "NO", "%s", imap_mbox_error_text(rc));
		return false;
	}
	return true;
}

static const char *owner_of(const struct imap_session *s, const struct imap_mailbox_ref *ref)
{
	return ref->shared ? ref->owner : s->user;
}

/* Identifiers the store cannot take, with a clearer answer than its own. */
static const char *identifier_refusal(const char *id)
{
	if (id[0] == '-')
		return "Negative rights are not supported";
	if (strcmp(id, "anyone") == 0 || strcmp(id, "authenticated") == 0 || id[0] == '$')
		return "Rights are granted to users of the mailbox's domain only";
	return NULL;
}

static bool syntax_ok(struct imap_session *s, struct imap_command *cmd, struct imap_cursor *c,
                      bool ok)
{
	if (!ok || !imap_expect_end(c)) {
		imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : "Syntax error");
		return false;
	}
	return true;
}

/* The grant after SETACL's "[+-]rights" (RFC 4314 3.1); -1: unknown rights. */
static int new_rights(struct imap_session *s, const struct imap_mailbox_ref *ref, const char *id,
                      const char *text, size_t len, unsigned *out)
{
	unsigned given, now = 0;
	char mode = len > 0 && (text[0] == '+' || text[0] == '-') ? text[0] : '=';
	if (mode != '=') {
		text++;
		len--;
	}
	if (acl_rights_parse(text, len, &given) < 0)
		return -1;
	if (mode != '=' &&
	    store_acl_get(worker_store(s->ns.worker), owner_of(s, ref), ref->name, id, &now) ==
	    STORE_ERROR)
		return -2;
	*out = mode == '+' ? now | given : mode == '-' ? now & ~given : given;
	return 0;
}

static void answer_store(struct imap_session *s, struct imap_command *cmd, int rc, const char *err)
{
	if (rc == STORE_OK)
		imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
	else if (rc == STORE_ERROR)
		imap_tagged(s, cmd->tag, "NO", "[SERVERBUG] The grants cannot be changed now");
	else   /* unknown user, another domain, the owner: err says which */
		imap_tagged(s, cmd->tag, "NO", "[CANNOT] %s", err);
}

void imap_cmd_setacl(struct imap_session *s, struct imap_command *cmd, bool delete)
{
	struct imap_cursor c;
	struct imap_mailbox_ref ref;
	char name[MBOX_NAME_MAX + 1], id[321], err[300] = "";
	const char *text = "";
	size_t len = 0;
	unsigned rights = 0;
	imap_command_args(cmd, &c);
	if (!acl_mailbox(s, cmd, &c, &ref, name, sizeof(name), ACL_ADMIN))
		return;
	bool ok = next_identifier(&c, id, sizeof(id)) && (delete || imap_next_astring(&c, &text, &len));
	if (!syntax_ok(s, cmd, &c, ok)) {
		imap_ref_release(s, &ref);
		return;
	}
	const char *refusal = identifier_refusal(id);
	int rc = delete ? 0 : new_rights(s, &ref, id, text, len, &rights);
	if (rc == -1) {
		/* RFC 4314 3.1: an unknown right is BAD */
		imap_tagged(s, cmd->tag, "BAD", "Unknown rights (supported: lrswipkxtea, and c d)");
	} else if (refusal != NULL) {
		imap_tagged(s, cmd->tag, "NO", "[CANNOT] %s", refusal);
	} else if (rc < 0) {
		answer_store(s, cmd, STORE_ERROR, "");
	} else {
		rc = store_acl_set(worker_store(s->ns.worker), owner_of(s, &ref), ref.name, id, rights,
		                   err, sizeof(err));
		log_event(rc == STORE_OK ? LOG_INFO : LOG_WARN, "imap.setacl", "s", "user", s->user,
		          "s", "owner", owner_of(s, &ref), "s", "mailbox", ref.name, "s", "identifier", id,
		          "i", "rights", (long long)rights, "s", "error", rc == STORE_OK ? NULL : err,
		          NULL);
		answer_store(s, cmd, rc, err);
	}
	imap_ref_release(s, &ref);
}

static void write_grant(void *arg, const struct store_acl_grant *g)
{
	struct imap_session *s = arg;
	char text[ACL_RIGHTS_TEXT_MAX];
	acl_rights_format(g->rights, true, text);
	imap_write(s, " ", 1);
	imap_write_string(s, g->grantee, strlen(g->grantee));
	imap_printf(s, " %s", text);
}

void imap_cmd_getacl(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_mailbox_ref ref;
	char name[MBOX_NAME_MAX + 1], err[256], all[ACL_RIGHTS_TEXT_MAX];
	imap_command_args(cmd, &c);
	if (!acl_mailbox(s, cmd, &c, &ref, name, sizeof(name), ACL_ADMIN))
		return;
	if (!syntax_ok(s, cmd, &c, true)) {
		imap_ref_release(s, &ref);
		return;
	}
	const char *owner = owner_of(s, &ref);
	acl_rights_format(ACL_ALL, true, all);
	imap_printf(s, "* ACL ");
	imap_write_mailbox(s, name);
	imap_write(s, " ", 1);
	imap_write_string(s, owner, strlen(owner));
	imap_printf(s, " %s", all);
	int rc = store_acl_list(worker_store(s->ns.worker), owner, ref.name, write_grant, s, err,
	                        sizeof(err));
	imap_write(s, "\r\n", 2);
	imap_ref_release(s, &ref);
	if (rc != STORE_OK)
		imap_tagged(s, cmd->tag, "NO", "[SERVERBUG] The grants cannot be read now");
	else
		imap_tagged(s, cmd->tag, "OK", "GETACL completed");
}

void imap_cmd_listrights(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_mailbox_ref ref;
	char name[MBOX_NAME_MAX + 1], id[321], all[ACL_RIGHTS_TEXT_MAX];
	imap_command_args(cmd, &c);
	if (!acl_mailbox(s, cmd, &c, &ref, name, sizeof(name), ACL_ADMIN))
		return;
	if (!syntax_ok(s, cmd, &c, next_identifier(&c, id, sizeof(id)))) {
		imap_ref_release(s, &ref);
		return;
	}
	imap_printf(s, "* LISTRIGHTS ");
	imap_write_mailbox(s, name);
	imap_write(s, " ", 1);
	imap_write_string(s, id, strlen(id));
	/* RFC 4314 3.7: the owner always has everything; anyone else may get
	 * each right on its own (c and d stand for kx and et) */
	acl_rights_format(ACL_ALL, false, all);
	if (strcmp(id, owner_of(s, &ref)) == 0)
		imap_printf(s, " %s\r\n", all);
	else
		imap_printf(s, " \"\" l r s w i p k x t e a c d\r\n");
	imap_ref_release(s, &ref);
	imap_tagged(s, cmd->tag, "OK", "LISTRIGHTS completed");
}

void imap_cmd_myrights(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	struct imap_mailbox_ref ref;
	char name[MBOX_NAME_MAX + 1], text[ACL_RIGHTS_TEXT_MAX];
	imap_command_args(cmd, &c);
	/* RFC 4314 3.8: any right will do */
	if (!acl_mailbox(s, cmd, &c, &ref, name, sizeof(name), 0))
		return;
	if (!syntax_ok(s, cmd, &c, true)) {
		imap_ref_release(s, &ref);
		return;
	}
	acl_rights_format(ref.rights, true, text);
	imap_printf(s, "* MYRIGHTS ");
	imap_write_mailbox(s, name);
	imap_printf(s, " %s\r\n", text);
	imap_ref_release(s, &ref);
	imap_tagged(s, cmd->tag, "OK", "MYRIGHTS completed");
}
