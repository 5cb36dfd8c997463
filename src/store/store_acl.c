/* SQLite implementation of the shared mailboxes' grants (store.h, RFC 4314
 * ACLs). The table's grantee has no domain column of its own: a grantee is
 * of the owner's domain by construction, and the check below only gives
 * the clearer answer. */
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/util.h"
#include "store/acl_rights.h"
#include "store/mbox.h"
#include "store/resolve.h"
#include "store/store_sqlite_int.h"

struct acl_who {
	char local[65], domain[256];
};

static bool split_who(const char *addr, struct acl_who *w)
{
	return addr != NULL && resolve_split_address(addr, w->local, sizeof(w->local), w->domain,
	                                             sizeof(w->domain)) == 0 && w->local[0] != '\0';
}

/* "INBOX" in any case is INBOX; other names are the owner's exactly. */
static const char *canonical_mailbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0 ? "INBOX" : name;
}

static bool mailbox_name_ok(const char *name)
{
	return strcasecmp(name, "INBOX") == 0 || mbox_name_valid(name);
}

static sqlite3_stmt *prepare(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return NULL;
	return s;
}

static void bind_owner(sqlite3_stmt *s, const struct acl_who *owner)
{
	sqlite3_bind_text(s, 1, owner->local, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, owner->domain, -1, SQLITE_STATIC);
}

/* Runs a prepared write to its end and finalizes it. */
static int finish_write(struct store *st, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(err, errlen, "no such user");
		return STORE_NOT_FOUND;   /* a user deleted meanwhile (foreign key) */
	}
	return store_db_error(st, err, errlen, "write");
}

/* Who may be a grantee of owner's mailboxes, and the mailbox name. */
static int check_grant(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                       struct acl_who *o, struct acl_who *g, char *err, size_t errlen)
{
	if (!split_who(owner, o)) {
		snprintf(err, errlen, "'%.100s' is not an address", owner);
		return STORE_INVALID;
	}
	if (!split_who(grantee, g)) {
		snprintf(err, errlen, "'%.100s' is not an address (grants are to users only)", grantee);
		return STORE_INVALID;
	}
	if (!mailbox_name_ok(mailbox)) {
		snprintf(err, errlen, "'%.100s' is not a valid mailbox name", mailbox);
		return STORE_INVALID;
	}
	if (strcmp(o->domain, g->domain) != 0) {
		snprintf(err, errlen, "%.100s is not of %.100s's domain: mailboxes are shared only "
		         "within a domain", grantee, owner);
		return STORE_DENIED;
	}
	if (strcmp(o->local, g->local) == 0) {
		snprintf(err, errlen, "the owner's rights are all of them, always");
		return STORE_DENIED;
	}
	int has_owner = store_user_exists(st, o->local, o->domain);
	int has_grantee = has_owner == 1 ? store_user_exists(st, g->local, g->domain) : has_owner;
	if (has_owner < 0 || has_grantee < 0)
		return store_db_error(st, err, errlen, "read");
	if (has_owner == 0 || has_grantee == 0) {
		snprintf(err, errlen, "no such user %.100s", has_owner == 0 ? owner : grantee);
		return STORE_NOT_FOUND;
	}
	return STORE_OK;
}

int store_acl_set(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                  unsigned rights, char *err, size_t errlen)
{
	struct acl_who o, g;
	char text[ACL_RIGHTS_TEXT_MAX];
	if ((rights & ~(unsigned)ACL_ALL) != 0) {
		snprintf(err, errlen, "unknown rights");
		return STORE_INVALID;
	}
	int rc = check_grant(st, owner, mailbox, grantee, &o, &g, err, errlen);
	if (rc != STORE_OK)
		return rc;
	mailbox = canonical_mailbox(mailbox);
	acl_rights_format(rights, false, text);
	sqlite3_stmt *s = prepare(st, rights == 0
		? "DELETE FROM mailbox_acl WHERE owner_local = ?1 AND owner_domain = ?2 "
		  "AND mailbox = ?3 AND grantee_local = ?4"
		: "INSERT INTO mailbox_acl(owner_local, owner_domain, mailbox, grantee_local, rights, "
		  "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET rights = ?5");
	if (s == NULL)
		return store_db_error(st, err, errlen, "prepare");
	bind_owner(s, &o);
	sqlite3_bind_text(s, 3, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, g.local, -1, SQLITE_STATIC);
	if (rights != 0) {
		sqlite3_bind_text(s, 5, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)time(NULL));
	}
	return finish_write(st, s, err, errlen);
}

int store_acl_get(struct store *st, const char *owner, const char *mailbox, const char *grantee,
                  unsigned *rights)
{
	struct acl_who o, g;
	if (!split_who(owner, &o) || !split_who(grantee, &g) || strcmp(o.domain, g.domain) != 0)
		return STORE_NOT_FOUND;
	sqlite3_stmt *s = prepare(st, "SELECT rights FROM mailbox_acl WHERE owner_local = ?1 AND "
	                          "owner_domain = ?2 AND mailbox = ?3 AND grantee_local = ?4");
	if (s == NULL)
		return STORE_ERROR;
	bind_owner(s, &o);
	sqlite3_bind_text(s, 3, canonical_mailbox(mailbox), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, g.local, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), result = STORE_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);
		result = text != NULL && acl_rights_parse(text, strlen(text), rights) == 0
		         ? STORE_OK : STORE_ERROR;
	} else if (rc != SQLITE_DONE) {
		result = STORE_ERROR;
	}
	sqlite3_finalize(s);
	return result;
}

/* Rows of (owner address, mailbox, grantee address, rights) to cb. */
static int read_grants(struct store *st, sqlite3_stmt *s, store_acl_cb cb, void *arg, char *err,
                       size_t errlen)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *rights = (const char *)sqlite3_column_text(s, 3);
		struct store_acl_grant g = {
			.owner = (const char *)sqlite3_column_text(s, 0),
			.mailbox = (const char *)sqlite3_column_text(s, 1),
			.grantee = (const char *)sqlite3_column_text(s, 2),
		};
		/* rows are written through store_acl_set only; one that does not
		 * parse (edited by hand) grants nothing */
		if (rights == NULL || acl_rights_parse(rights, strlen(rights), &g.rights) < 0)
			continue;
		cb(arg, &g);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? STORE_OK : store_db_error(st, err, errlen, "read");
}

#define GRANT_COLUMNS "owner_local || '@' || owner_domain, mailbox, " \
                      "grantee_local || '@' || owner_domain, rights"

int store_acl_list(struct store *st, const char *owner, const char *mailbox, store_acl_cb cb,
                   void *arg, char *err, size_t errlen)
{
	struct acl_who o;
	if (!split_who(owner, &o)) {
		snprintf(err, errlen, "'%.100s' is not an address", owner);
		return STORE_INVALID;
	}
	sqlite3_stmt *s = prepare(st, "SELECT " GRANT_COLUMNS " FROM mailbox_acl WHERE "
	                          "owner_local = ?1 AND owner_domain = ?2 AND (?3 IS NULL OR "
	                          "mailbox = ?3) ORDER BY mailbox, grantee_local");
	if (s == NULL)
		return store_db_error(st, err, errlen, "prepare");
	bind_owner(s, &o);
	if (mailbox != NULL)
		sqlite3_bind_text(s, 3, canonical_mailbox(mailbox), -1, SQLITE_STATIC);
	return read_grants(st, s, cb, arg, err, errlen);
}

int store_acl_granted_to(struct store *st, const char *grantee, store_acl_cb cb, void *arg,
                         char *err, size_t errlen)
{
	struct acl_who g;
	if (!split_who(grantee, &g))
		return STORE_OK;   /* nobody grants anything to a non-address */
	sqlite3_stmt *s = prepare(st, "SELECT " GRANT_COLUMNS " FROM mailbox_acl WHERE "
	                          "grantee_local = ?1 AND owner_domain = ?2 "
	                          "ORDER BY owner_local, mailbox");
	if (s == NULL)
		return store_db_error(st, err, errlen, "prepare");
	bind_owner(s, &g);
	return read_grants(st, s, cb, arg, err, errlen);
}

/* A write about one owner's mailboxes, with text arguments ?3 and ?4. */
static int owner_write(struct store *st, const char *sql, const char *owner, const char *a3,
                       const char *a4, char *err, size_t errlen)
{
	struct acl_who o;
	if (!split_who(owner, &o)) {
		snprintf(err, errlen, "'%.100s' is not an address", owner);
		return STORE_INVALID;
	}
	sqlite3_stmt *s = prepare(st, sql);
	if (s == NULL)
		return store_db_error(st, err, errlen, "prepare");
	bind_owner(s, &o);
	sqlite3_bind_text(s, 3, a3, -1, SQLITE_STATIC);
	if (a4 != NULL)
		sqlite3_bind_text(s, 4, a4, -1, SQLITE_STATIC);
	return finish_write(st, s, err, errlen);
}

int store_acl_rename(struct store *st, const char *owner, const char *from, const char *to,
                     char *err, size_t errlen)
{
	/* the mailbox and those below it ("from/..."), never "fromage" */
	return owner_write(st, "UPDATE OR REPLACE mailbox_acl SET mailbox = ?4 || "
	                   "substr(mailbox, length(?3) + 1) WHERE owner_local = ?1 AND "
	                   "owner_domain = ?2 AND (mailbox = ?3 OR "
	                   "substr(mailbox, 1, length(?3) + 1) = ?3 || '/')",
	                   owner, canonical_mailbox(from), canonical_mailbox(to), err, errlen);
}

int store_acl_drop(struct store *st, const char *owner, const char *mailbox, char *err,
                   size_t errlen)
{
	return owner_write(st, "DELETE FROM mailbox_acl WHERE owner_local = ?1 AND "
	                   "owner_domain = ?2 AND mailbox = ?3", owner, canonical_mailbox(mailbox),
	                   NULL, err, errlen);
}

int store_acl_inherit(struct store *st, const char *owner, const char *parent, const char *child,
                      char *err, size_t errlen)
{
	return owner_write(st, "INSERT OR IGNORE INTO mailbox_acl(owner_local, owner_domain, mailbox, "
	                   "grantee_local, rights, created) SELECT owner_local, owner_domain, ?4, "
	                   "grantee_local, rights, unixepoch() FROM mailbox_acl WHERE "
	                   "owner_local = ?1 AND owner_domain = ?2 AND mailbox = ?3",
	                   owner, canonical_mailbox(parent), child, err, errlen);
}
