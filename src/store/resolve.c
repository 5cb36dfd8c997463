#include "store/resolve.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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

static enum resolve_result resolve_at(struct store *st, const char *local, const char *domain,
                                      int depth, struct resolved *out);

/* An alias may name its own address among its targets ("keep a copy"):
 * that target is the user's mailbox, not another round of the alias. */
static enum resolve_result self_target(struct store *st, const char *local, const char *domain,
                                       struct resolved *out)
{
	int rc = store_user_exists(st, local, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	return rc > 0 ? add_mailbox(out, local, domain) : RESOLVE_NO_SUCH_USER;
}

static enum resolve_result expand_alias(struct store *st, const char *slocal, const char *sdomain,
                                        const struct target_list *tl, int depth,
                                        struct resolved *out)
{
	for (size_t i = 0; i < tl->n; i++) {
		char tlocal[65], tdomain[256];
		enum resolve_result r;
		if (resolve_split_address(tl->addr[i], tlocal, sizeof(tlocal), tdomain,
		                          sizeof(tdomain)) < 0)
			continue; /* malformed targets are refused at `alias add` */
		if (strcmp(tlocal, slocal) == 0 && strcmp(tdomain, sdomain) == 0)
			r = self_target(st, tlocal, tdomain, out);
		else
			r = resolve_at(st, tlocal, tdomain, depth + 1, out);
		if (r == RESOLVE_NOT_LOCAL)
			r = add_remote(out, tl->addr[i]);
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

static enum resolve_result resolve_at(struct store *st, const char *local, const char *domain,
                                      int depth, struct resolved *out)
{
	struct target_list tl;
	int rc;

	if (depth > RESOLVE_MAX_DEPTH)
		return RESOLVE_TOO_MANY; /* an alias loop ends here */
	rc = store_domain_exists(st, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc == 0)
		return RESOLVE_NOT_LOCAL;

	rc = alias_lookup(st, local, domain, &tl);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc > 0)
		return tl.overflow ? RESOLVE_TOO_MANY : expand_alias(st, local, domain, &tl, depth, out);

	rc = store_user_exists(st, local, domain);
	if (rc < 0)
		return RESOLVE_TEMPFAIL;
	if (rc > 0)
		return add_mailbox(out, local, domain);

	/* subaddressing: user+tag@domain reaches user@domain */
	const char *plus = strchr(local, '+');
	if (plus != NULL && plus != local) {
		char base[65];
		snprintf(base, sizeof(base), "%.*s", (int)(plus - local), local);
		enum resolve_result r = resolve_at(st, base, domain, depth + 1, out);
		if (r != RESOLVE_NO_SUCH_USER)
			return r;
	}

	/* catch-all for the domain, stored with an empty local part */
	if (local[0] != '\0') {
		rc = alias_lookup(st, "", domain, &tl);
		if (rc < 0)
			return RESOLVE_TEMPFAIL;
		if (rc > 0)
			return tl.overflow ? RESOLVE_TOO_MANY : expand_alias(st, "", domain, &tl, depth, out);
	}
	return RESOLVE_NO_SUCH_USER;
}

enum resolve_result resolve_recipient(struct store *st, const char *local, const char *domain,
                                      struct resolved *out)
{
	char l[65], d[256];
	memset(out, 0, sizeof(*out));
	if (strlen(local) >= sizeof(l) || strlen(domain) >= sizeof(d))
		return RESOLVE_NO_SUCH_USER;
	snprintf(l, sizeof(l), "%s", local);
	snprintf(d, sizeof(d), "%s", domain);
	ascii_lower(l);
	ascii_lower(d);
	return resolve_at(st, l, d, 0, out);
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
