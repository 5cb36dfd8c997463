/* DMARC policy discovery (RFC 7489 6.6.3) over the caller's TXT lookup;
 * see dmarc.h. At most two lookups: _dmarc.<From domain>, then, when that
 * has no record and the organisational domain differs,
 * _dmarc.<organisational domain>. */
#include "mailauth/dmarc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct dmarc_discovery {
	const struct dmarc_dns *dns;
	const struct orgdomain *od;
	dmarc_discover_done_fn *done;
	void *arg;
	struct dmarc_found found;
	bool asking_org;        /* the second lookup is under way */
	bool starting;          /* inside dmarc_discover(): it frees */
	bool finished;
	bool cancelled;
};

static void discovery_finish(struct dmarc_discovery *d)
{
	if (!d->cancelled)
		d->done(d->arg, &d->found);
	d->finished = true;
	if (!d->starting)
		free(d);
}

static void lookup_txt_done(void *arg, enum dmarc_dns_status st, const struct dmarc_txt *txts,
                            size_t ntxts);

static void ask(struct dmarc_discovery *d, const char *domain)
{
	char name[ORGDOMAIN_NAME_MAX + 8];

	snprintf(d->found.policy_domain, sizeof(d->found.policy_domain), "%s", domain);
	/* a name too long for DNS has no record */
	if (bsnprintf(name, sizeof(name), "_dmarc.%s", domain) < 0 || strlen(name) > 253) {
		lookup_txt_done(d, DMARC_DNS_NONE, NULL, 0);
		return;
	}
	if (d->dns->lookup_txt(d->dns->ctx, name, lookup_txt_done, d) < 0) {
		d->found.status = DMARC_FOUND_TEMPERROR;
		snprintf(d->found.why, sizeof(d->found.why), "cannot start the lookup of %s", name);
		discovery_finish(d);
	}
}

/* Keeps the one DMARC record among txts; the status of the set. */
static enum dmarc_found_status pick_record(struct dmarc_found *f, const struct dmarc_txt *txts,
                                           size_t ntxts)
{
	const struct dmarc_txt *rec = NULL;
	size_t count = 0;

	for (size_t i = 0; i < ntxts; i++) {
		if (!dmarc_is_record(txts[i].s, txts[i].n))
			continue;   /* "records that do not start with v=DMARC1 are discarded" */
		rec = &txts[i];
		count++;
	}
	if (count == 0)
		return DMARC_FOUND_NONE;
	if (count > 1) {
		snprintf(f->why, sizeof(f->why), "%zu DMARC records at _dmarc.%s", count,
		         f->policy_domain);
		return DMARC_FOUND_PERMERROR;
	}
	if (dmarc_record_parse(rec->s, rec->n, &f->rec, f->why, sizeof(f->why)) != DMARC_RECORD_OK)
		return DMARC_FOUND_PERMERROR;
	return DMARC_FOUND_RECORD;
}

static void lookup_txt_done(void *arg, enum dmarc_dns_status st, const struct dmarc_txt *txts,
                            size_t ntxts)
{
	struct dmarc_discovery *d = arg;
	char org[ORGDOMAIN_NAME_MAX];

	if (d->cancelled) {
		discovery_finish(d);
		return;
	}
	if (st == DMARC_DNS_TEMPFAIL) {
		d->found.status = DMARC_FOUND_TEMPERROR;
		snprintf(d->found.why, sizeof(d->found.why), "DNS failure for _dmarc.%s",
		         d->found.policy_domain);
		discovery_finish(d);
		return;
	}
	d->found.status = st == DMARC_DNS_FOUND ? pick_record(&d->found, txts, ntxts)
	                                        : DMARC_FOUND_NONE;
	/* RFC 7489 6.6.3 step 3: only when there is no record at all does the
	 * organisational domain's count; several or a broken one end the search */
	if (d->found.status == DMARC_FOUND_NONE && !d->asking_org &&
	    orgdomain_find(d->od, d->found.from_domain, org, sizeof(org)) == 0 &&
	    strcmp(org, d->found.from_domain) != 0) {
		d->asking_org = true;
		d->found.at_org = true;
		ask(d, org);
		return;
	}
	if (d->found.status == DMARC_FOUND_NONE)
		snprintf(d->found.policy_domain, sizeof(d->found.policy_domain), "%s",
		         d->found.from_domain);
	discovery_finish(d);
}

struct dmarc_discovery *dmarc_discover(const struct dmarc_dns *dns, const struct orgdomain *od,
                                       const char *from_domain, dmarc_discover_done_fn *done,
                                       void *arg)
{
	struct dmarc_discovery *d = xcalloc(1, sizeof(*d));

	*d = (struct dmarc_discovery){ .dns = dns, .od = od, .done = done, .arg = arg,
	                               .starting = true };
	if (orgdomain_normalize(from_domain, d->found.from_domain,
	                        sizeof(d->found.from_domain)) < 0) {
		d->found.status = DMARC_FOUND_PERMERROR;
		snprintf(d->found.why, sizeof(d->found.why), "From domain is not a domain name");
		done(arg, &d->found);
		free(d);
		return NULL;
	}
	ask(d, d->found.from_domain);
	d->starting = false;
	if (d->finished) {
		free(d);
		return NULL;
	}
	return d;
}

void dmarc_discover_cancel(struct dmarc_discovery *d)
{
	if (d != NULL)
		d->cancelled = true;
}
