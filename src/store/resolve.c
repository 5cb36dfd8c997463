#include "store/resolve.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/util.h"

struct target_list {
	char addr[RESOLVE_MAX_TARGETS][257];
	size_t n;
	bool overflow;
};

static void collect_target(void *arg, const char *const *cols)
{
	struct target_list *tl = arg;
	if (tl->n >= RESOLVE_MAX_TARGETS) {
		tl->overflow = true;
		return;
	}
	snprintf(tl->addr[tl->n++], sizeof(tl->addr[0]), "%s", cols[0]);
}

int resolve_split_address(const char *addr, char *local, size_t locallen, char *domain,
                          size_t domainlen)
{
	const char *at = strrchr(addr, '@');
	if (at == NULL || at[1] == '\0' || (size_t)(at - addr) >= locallen ||
	    strlen(at + 1) >= domainlen)
		return -1;
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	snprintf(domain, domainlen, "%s", at + 1);
	ascii_lower(local);
	ascii_lower(domain);
	return 0;
}

static enum resolve_result add_mailbox(struct resolved *out, const char *local, const char *domain)
{
	for (size_t i = 0; i < out->nmailbox; i++)
		if (strcmp(out->mailbox[i].local, local) == 0 && strcmp(out->mailbox[i].domain, domain) == 0)
			return RESOLVE_OK; /* the same mailbox reached twice gets one copy */
	if (out->nmailbox + out->nremote >= RESOLVE_MAX_TARGETS)
		return RESOLVE_TOO_MANY;
	snprintf(out->mailbox[out->nmailbox].local, sizeof(out->mailbox[0].local), "%s", local);
	snprintf(out->mailbox[out->nmailbox].domain, sizeof(out->mailbox[0].domain), "%s", domain);
	out->nmailbox++;
	return RESOLVE_OK;
}

static enum resolve_result add_remote(struct resolved *out, const char *addr)
{
	for (size_t i = 0; i < out->nremote; i++)
		if (strcmp(out->remote[i], addr) == 0)
			return RESOLVE_OK;
	if (out->nmailbox + out->nremote >= RESOLVE_MAX_TARGETS)
		return RESOLVE_TOO_MANY;
	snprintf(out->remote[out->nremote++], sizeof(out->remote[0]), "%s", addr);
	return RESOLVE_OK;
}

/* One resolution: the store, the admin rule and what was found so far. */
struct resolve_run {
	struct store *st;
	const struct resolve_admin *admin;  /* NULL: no admin rule */
	bool in_admin;                      /* expanding the postmaster list: no admin rule inside */
	struct resolved *out;
};

static enum resolve_result resolve_at(struct resolve_run *run, const char *local,
                                      const char *domain, int depth);

/* An alias may name its own address among its targets ("keep a copy"):
 * that target is the user's mailbox, not another round of the alias. */
static enum resolve_result self_target(struct resolve_run *run, const char *local,
                                       const char *domain)
{
	int rc = store_user_exists(run->st, local, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	return rc > 0 ? add_mailbox(run->out, local, domain) : RESOLVE_NO_SUCH_USER;
}

static enum resolve_result expand_alias(struct resolve_run *run, const char *slocal,
                                        const char *sdomain, const struct target_list *tl,
                                        int depth)
{
	for (size_t i = 0; i < tl->n; i++) {
		char tlocal[65], tdomain[256];
		enum resolve_result r;
		if (resolve_split_address(tl->addr[i], tlocal, sizeof(tlocal), tdomain,
		                          sizeof(tdomain)) < 0)
			continue; /* malformed targets are refused at `alias add` */
		if (strcmp(tlocal, slocal) == 0 && strcmp(tdomain, sdomain) == 0)
			r = self_target(run, tlocal, tdomain);
		else
			r = resolve_at(run, tlocal, tdomain, depth + 1);
		if (r == RESOLVE_NOT_LOCAL)
			r = add_remote(run->out, tl->addr[i]);
		if (r != RESOLVE_OK)
			return r;
	}
	return RESOLVE_OK;
}

/* Looks up alias targets of local@domain; 1 if it is an alias, 0 if not. */
static int alias_lookup(struct store *st, const char *local, const char *domain,
                        struct target_list *tl)
{
	tl->n = 0;
	tl->overflow = false;
	return store_alias_targets(st, local, domain, collect_target, tl);
}

/* ---- the admin's addresses -------------------------------------------------- */

struct resolve_admin resolve_admin_of(const struct config *cfg)
{
	return (struct resolve_admin){ cfg->hostname, cfg->postmaster, cfg->npostmaster };
}

bool resolve_admin_match(const struct resolve_admin *admin, const char *local, const char *domain,
                         bool local_domain)
{
	if (admin == NULL || (strcasecmp(local, "postmaster") != 0 && strcasecmp(local, "abuse") != 0))
		return false;
	/* the hostname is a domain for these two only: RFC 5321 4.5.1 wants
	 * postmaster@ of every name the server answers to */
	return local_domain || (admin->hostname != NULL && strcasecmp(domain, admin->hostname) == 0);
}

/* No postmaster configured: the first user created is the admin. */
static enum resolve_result first_user_target(struct resolve_run *run)
{
	char addr[322], local[65], domain[256];
	int rc = store_user_first(run->st, addr, sizeof(addr));
	if (rc == STORE_NOT_FOUND)
		return RESOLVE_NO_ADMIN;
	if (rc != STORE_OK || resolve_split_address(addr, local, sizeof(local), domain,
	                                            sizeof(domain)) < 0)
		return RESOLVE_TEMPFAIL;
	return add_mailbox(run->out, local, domain);
}

/* What one configured postmaster address reaches, added to run->out:
 * RESOLVE_NO_SUCH_USER when nobody. Runs with the admin rule off. */
static enum resolve_result one_postmaster(struct resolve_run *run, const char *addr, int depth)
{
	char local[65], domain[256];
	if (resolve_split_address(addr, local, sizeof(local), domain, sizeof(domain)) < 0)
		return RESOLVE_NO_SUCH_USER;   /* the config loader refuses such addresses */
	enum resolve_result r = resolve_at(run, local, domain, depth + 1);
	if (r != RESOLVE_NOT_LOCAL)
		return r;
	/* postmaster@hostname, the hostname no local domain: that is this server
	 * itself, and sending it out would come straight back */
	if (resolve_admin_match(run->admin, local, domain, false))
		return RESOLVE_NO_SUCH_USER;
	return add_remote(run->out, addr);
}

/* postmaster@ and abuse@: the configured addresses, local or remote. The
 * rule does not apply inside them (postmaster = "postmaster@d" with no
 * such user must not go round in circles). */
static enum resolve_result expand_admin(struct resolve_run *run, int depth)
{
	if (run->admin->npostmaster == 0)
		return first_user_target(run);
	bool reached = false, was = run->in_admin;
	enum resolve_result r = RESOLVE_OK;
	run->in_admin = true;
	for (size_t i = 0; i < run->admin->npostmaster; i++) {
		r = one_postmaster(run, run->admin->postmaster[i], depth);
		if (r == RESOLVE_NO_SUCH_USER)
			continue;   /* skipped: `serve` warns about it at start */
		if (r != RESOLVE_OK)
			break;
		reached = true;
	}
	run->in_admin = was;
	if (r != RESOLVE_OK && r != RESOLVE_NO_SUCH_USER)
		return r;
	return reached ? RESOLVE_OK : RESOLVE_NO_ADMIN;
}

static bool admin_rule(const struct resolve_run *run, const char *local, const char *domain,
                       bool local_domain)
{
	return !run->in_admin && resolve_admin_match(run->admin, local, domain, local_domain);
}

/* ---- resolution --------------------------------------------------------------- */

static enum resolve_result resolve_at(struct resolve_run *run, const char *local,
                                      const char *domain, int depth)
{
	struct target_list tl;
	int rc;

	if (depth > RESOLVE_MAX_DEPTH)
		return RESOLVE_TOO_MANY; /* an alias loop ends here */
	rc = store_domain_exists(run->st, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc == 0)
		return admin_rule(run, local, domain, false) ? expand_admin(run, depth) : RESOLVE_NOT_LOCAL;

	rc = alias_lookup(run->st, local, domain, &tl);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc > 0)
		return tl.overflow ? RESOLVE_TOO_MANY : expand_alias(run, local, domain, &tl, depth);

	rc = store_user_exists(run->st, local, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc > 0)
		return add_mailbox(run->out, local, domain);

	/* after the store's own postmaster@d and abuse@d: an admin who made them meant it */
	if (admin_rule(run, local, domain, true))
		return expand_admin(run, depth);

	/* subaddressing: user+tag@domain reaches user@domain */
	const char *plus = strchr(local, '+');
	if (plus != NULL && plus != local) {
		char base[65];
		snprintf(base, sizeof(base), "%.*s", (int)(plus - local), local);
		enum resolve_result r = resolve_at(run, base, domain, depth + 1);
		if (r != RESOLVE_NO_SUCH_USER)
			return r;
	}

	/* catch-all for the domain, stored with an empty local part */
	if (local[0] != '\0') {
		rc = alias_lookup(run->st, "", domain, &tl);
		if (rc < 0)
			return RESOLVE_TEMPFAIL;
		if (rc > 0)
			return tl.overflow ? RESOLVE_TOO_MANY : expand_alias(run, "", domain, &tl, depth);
	}
	return RESOLVE_NO_SUCH_USER;
}

enum resolve_result resolve_recipient(struct store *st, const struct resolve_admin *admin,
                                      const char *local, const char *domain, struct resolved *out)
{
	char l[65], d[256];
	struct resolve_run run = { st, admin, false, out };
	memset(out, 0, sizeof(*out));
	if (strlen(local) >= sizeof(l) || strlen(domain) >= sizeof(d))
		return RESOLVE_NO_SUCH_USER;
	snprintf(l, sizeof(l), "%s", local);
	snprintf(d, sizeof(d), "%s", domain);
	ascii_lower(l);
	ascii_lower(d);
	return resolve_at(&run, l, d, 0);
}

enum resolve_result resolve_postmaster_address(struct store *st, const struct resolve_admin *admin,
                                               const char *addr, struct resolved *out)
{
	struct resolve_run run = { st, admin, true, out };
	memset(out, 0, sizeof(*out));
	return one_postmaster(&run, addr, 0);
}

struct owner_check {
	const char *user;
	bool found;
};

static void check_target(void *arg, const char *const *cols)
{
	struct owner_check *oc = arg;
	if (strcasecmp(cols[0], oc->user) == 0)
		oc->found = true;
}

int resolve_sender_allowed(struct store *st, const char *user, const char *addr)
{
	char local[65], domain[256];
	if (strcasecmp(user, addr) == 0)
		return 1;
	if (resolve_split_address(addr, local, sizeof(local), domain, sizeof(domain)) < 0)
		return 0;
	struct owner_check oc = { user, false };
	if (store_alias_targets(st, local, domain, check_target, &oc) < 0)
		return -1;
	if (oc.found)
		return 1;
	/* user+tag@domain is the user's own address */
	char *plus = strchr(local, '+');
	if (plus != NULL && plus != local) {
		char base[322];
		*plus = '\0';
		snprintf(base, sizeof(base), "%s@%s", local, domain);
		return resolve_sender_allowed(st, user, base);
	}
	return 0;
}
